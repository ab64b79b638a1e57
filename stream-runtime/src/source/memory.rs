//! A source a program pushes rows into: Spark's `MemoryStream`, for tests and examples.

use std::sync::{Arc, Mutex};

use crate::arrivals::Arrivals;
use crate::error::Result;
use crate::row::Row;

use super::input::SharedRows;
use super::{Backlog, BacklogUnit, BatchInput, Partition, ReadLimit, ReadPlan, RowChunk, Source};

/// An in-memory stream. Each [`MemoryStream::add_data`] call appends one batch of rows and
/// advances the offset by one (an empty call too, as in Spark). Clones share the data, and
/// each query reading a clone keeps its own position, so several queries can read one stream.
///
/// ```
/// use sluice::row::RateRow;
/// use sluice::source::MemoryStream;
/// use sluice::time::Timestamp;
/// let stream = MemoryStream::<RateRow>::new();
/// assert_eq!(stream.add_data(vec![RateRow { timestamp: Timestamp::EPOCH, value: 0 }]), 1);
/// assert_eq!(stream.add_data(vec![]), 2);
/// ```
#[derive(Debug)]
pub struct MemoryStream<R> {
    batches: Arc<Mutex<Vec<Arc<[R]>>>>,
    /// Signalled by `add_data`, for continuous readers waiting for rows.
    arrivals: Arc<Arrivals>,
    max_batches_per_trigger: Option<usize>,
    snapshot: Option<u64>,
}

impl<R> Clone for MemoryStream<R> {
    fn clone(&self) -> Self {
        MemoryStream {
            batches: Arc::clone(&self.batches),
            arrivals: Arc::clone(&self.arrivals),
            max_batches_per_trigger: self.max_batches_per_trigger,
            snapshot: None,
        }
    }
}

impl<R: Row> Default for MemoryStream<R> {
    fn default() -> Self {
        MemoryStream::new()
    }
}

impl<R: Row> MemoryStream<R> {
    /// An empty stream.
    pub fn new() -> Self {
        MemoryStream {
            batches: Arc::new(Mutex::new(Vec::new())),
            arrivals: Arc::default(),
            max_batches_per_trigger: None,
            snapshot: None,
        }
    }

    /// Caps how many pushed batches one micro-batch reads (default: all available). With 1,
    /// every `add_data` call becomes exactly one micro-batch.
    pub fn max_batches_per_trigger(mut self, n: usize) -> Self {
        self.max_batches_per_trigger = Some(n.max(1));
        self
    }

    /// Appends a batch of rows; returns the new latest offset.
    pub fn add_data(&self, rows: impl IntoIterator<Item = R>) -> u64 {
        let latest = {
            let mut batches = self.batches.lock().expect("memory stream lock");
            batches.push(rows.into_iter().collect::<Vec<R>>().into());
            batches.len() as u64
        };
        self.arrivals.signal();
        latest
    }

    /// The latest offset (number of batches added).
    pub fn latest(&self) -> u64 {
        self.batches.lock().expect("memory stream lock").len() as u64
    }

    /// The batches added after the first `from` (for a continuous reader).
    pub(crate) fn batches_from(&self, from: usize) -> Vec<Arc<[R]>> {
        let batches = self.batches.lock().expect("memory stream lock");
        batches.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// What `add_data` signals (for a continuous reader waiting for rows).
    pub(crate) fn arrivals(&self) -> &Arc<Arrivals> {
        &self.arrivals
    }
}

impl<R: Row> Source for MemoryStream<R> {
    type Row = R;
    type Offset = u64;

    fn description(&self) -> String {
        format!("MemoryStream[{}]", R::SCHEMA.names().join(","))
    }

    fn latest_offset(&mut self, start: Option<&u64>, limit: ReadLimit) -> Result<Option<u64>> {
        let mut latest = self.latest();
        if let Some(cap) = self.snapshot {
            latest = latest.min(cap);
        }
        if latest == 0 {
            return Ok(None);
        }
        let start = start.copied().unwrap_or(0);
        if let (ReadLimit::Configured, Some(max)) = (limit, self.max_batches_per_trigger) {
            latest = latest.min(start + max as u64);
        }
        Ok(Some(latest))
    }

    fn get_batch(&mut self, start: Option<&u64>, end: &u64) -> Result<Vec<RowChunk<R>>> {
        let batches = self.batches.lock().expect("memory stream lock");
        let start = start.copied().unwrap_or(0) as usize;
        Ok(batches[start..*end as usize]
            .iter()
            .map(|b| RowChunk::Shared(Arc::clone(b)))
            .collect())
    }

    /// One partition per batch of rows added (as Spark's `MemoryStream` plans them), a large
    /// one cut into contiguous pieces so every task gets a share (see [`ReadPlan::splits`]),
    /// handed out in chunks of at most `plan.chunk_rows` rows.
    fn read_batch(
        &mut self,
        start: Option<&u64>,
        end: &u64,
        plan: ReadPlan,
    ) -> Result<BatchInput<R>> {
        let batches = self.batches.lock().expect("memory stream lock");
        let start = start.copied().unwrap_or(0) as usize;
        let mut partitions: Vec<Partition<R>> = Vec::new();
        for rows in &batches[start..*end as usize] {
            let pieces = plan.splits(rows.len(), plan.tasks);
            for piece in SharedRows::split(rows, pieces) {
                partitions.push(Box::new(piece));
            }
        }
        Ok(BatchInput::new(partitions))
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.snapshot = Some(self.latest());
        Ok(())
    }

    /// The rows of the batches added and not read yet (under `AvailableNow`, of those added
    /// before the run started).
    fn backlog(&self, processed: Option<&u64>) -> Option<Backlog> {
        let batches = self.batches.lock().expect("memory stream lock");
        let end = self
            .snapshot
            .map_or(batches.len(), |s| (s as usize).min(batches.len()));
        let start = processed.map_or(0, |&o| o as usize).min(end);
        let rows = batches[start..end].iter().map(|b| b.len() as u64).sum();
        Some(Backlog::new(BacklogUnit::Rows, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::RateRow;
    use crate::time::Timestamp;

    fn row(v: i64) -> RateRow {
        RateRow {
            timestamp: Timestamp::EPOCH,
            value: v,
        }
    }

    #[test]
    fn offsets_and_limits() {
        let s = MemoryStream::new().max_batches_per_trigger(1);
        let mut reader = s.clone();
        assert_eq!(
            reader.latest_offset(None, ReadLimit::Configured).unwrap(),
            None
        );
        s.add_data([row(1), row(2)]);
        s.add_data([]);
        s.add_data([row(3)]);
        assert_eq!(
            reader.latest_offset(None, ReadLimit::Configured).unwrap(),
            Some(1)
        );
        assert_eq!(
            reader
                .latest_offset(Some(&1), ReadLimit::Configured)
                .unwrap(),
            Some(2)
        );
        assert_eq!(
            reader
                .latest_offset(Some(&1), ReadLimit::AllAvailable)
                .unwrap(),
            Some(3)
        );
        let chunks = reader.get_batch(Some(&1), &3).unwrap();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].is_empty());
        assert_eq!(chunks[1][0].value, 3);
        reader.prepare_for_available_now().unwrap();
        s.add_data([row(4)]);
        assert_eq!(
            reader
                .latest_offset(Some(&3), ReadLimit::AllAvailable)
                .unwrap(),
            Some(3)
        );
    }

    #[test]
    fn backlog_counts_the_rows_not_read_yet() {
        let s = MemoryStream::new();
        let mut reader = s.clone();
        assert_eq!(reader.backlog(None).unwrap().pending, 0);
        s.add_data([row(1), row(2)]);
        s.add_data([row(3)]);
        let backlog = reader.backlog(None).unwrap();
        assert_eq!(backlog.unit, BacklogUnit::Rows);
        assert_eq!(backlog.pending, 3);
        assert!(backlog.partitions.is_empty());
        assert_eq!(reader.backlog(Some(&1)).unwrap().pending, 1);
        assert_eq!(reader.backlog(Some(&2)).unwrap().pending, 0);
        // An available-now run counts only what was there when it started.
        reader.prepare_for_available_now().unwrap();
        s.add_data([row(4), row(5), row(6)]);
        assert_eq!(reader.backlog(Some(&1)).unwrap().pending, 1);
        assert_eq!(reader.backlog(Some(&2)).unwrap().pending, 0);
    }
}
