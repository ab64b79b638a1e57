//! The memory stream, continuously: each batch `add_data` appends reaches the query as soon as
//! it is added (Spark's `ContinuousMemoryStream`, for tests).

use std::time::Instant;

use crate::clock::Clock;
use crate::error::Result;
use crate::row::Row;
use crate::source::MemoryStream;

use super::source::{ContinuousReader, ContinuousSource};

impl<R: Row> ContinuousSource for MemoryStream<R> {
    /// The number of batches read, as in micro-batch execution.
    type Position = u64;
    type Reader = MemoryReader<R>;

    fn continuous_reader(&mut self, start: Option<&u64>, _clock: Clock) -> Result<MemoryReader<R>> {
        Ok(MemoryReader {
            stream: self.clone(),
            next: start.copied().unwrap_or(0),
        })
    }
}

/// Reads a [`MemoryStream`]'s batches as they are added.
#[derive(Debug)]
pub struct MemoryReader<R> {
    stream: MemoryStream<R>,
    /// The index of the next batch.
    next: u64,
}

impl<R: Row> ContinuousReader for MemoryReader<R> {
    type Row = R;
    type Position = u64;

    fn poll(&mut self, deadline: Instant, out: &mut Vec<R>) -> Result<()> {
        let arrivals = std::sync::Arc::clone(self.stream.arrivals());
        loop {
            let seen = arrivals.seen();
            let batches = self.stream.batches_from(self.next as usize);
            if !batches.is_empty() {
                for batch in &batches {
                    out.extend_from_slice(batch);
                }
                self.next += batches.len() as u64;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Ok(());
            }
            arrivals.wait_past(seen, deadline);
        }
    }

    fn position(&self) -> u64 {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::RateRow;
    use crate::time::Timestamp;
    use std::time::Duration;

    fn row(value: i64) -> RateRow {
        RateRow {
            timestamp: Timestamp::EPOCH,
            value,
        }
    }

    #[test]
    fn batches_arrive_as_they_are_added() {
        let stream = MemoryStream::<RateRow>::new();
        stream.add_data([row(1), row(2)]);
        let mut reader = stream
            .clone()
            .continuous_reader(None, Clock::system())
            .unwrap();
        let mut rows = Vec::new();
        reader
            .poll(Instant::now() + Duration::from_secs(10), &mut rows)
            .unwrap();
        assert_eq!(rows, [row(1), row(2)]);
        assert_eq!(reader.position(), 1);
        // A batch added from another thread wakes the waiting reader.
        let adder = {
            let stream = stream.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                stream.add_data([]);
                stream.add_data([row(3)]);
            })
        };
        rows.clear();
        while reader.position() < 3 {
            reader
                .poll(Instant::now() + Duration::from_secs(10), &mut rows)
                .unwrap();
        }
        adder.join().unwrap();
        assert_eq!(rows, [row(3)]);
        // Nothing more: the read ends at its deadline.
        let started = Instant::now();
        reader
            .poll(started + Duration::from_millis(20), &mut rows)
            .unwrap();
        assert_eq!(rows, [row(3)]);
        assert!(started.elapsed() >= Duration::from_millis(20));
        // A reader after position 2 starts with the third batch.
        let mut later = stream
            .clone()
            .continuous_reader(Some(&2), Clock::system())
            .unwrap();
        let mut rows = Vec::new();
        later
            .poll(Instant::now() + Duration::from_secs(10), &mut rows)
            .unwrap();
        assert_eq!(rows, [row(3)]);
    }
}
