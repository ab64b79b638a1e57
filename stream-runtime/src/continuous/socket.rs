//! The socket source, continuously: each line reaches the query as soon as it is read (Spark's
//! `TextSocketContinuousStream`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::arrivals::Arrivals;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::row::TextLine;
use crate::source::SocketSource;
use crate::source::socket::Buffer;

use super::source::{ContinuousReader, ContinuousSource};

impl ContinuousSource for SocketSource {
    /// The number of lines read, as in micro-batch execution.
    type Position = u64;
    type Reader = SocketReader;

    /// A reader of the lines the source's connection receives. A query restarted after `start`
    /// lines numbers this connection's lines after them (a socket cannot replay what an earlier
    /// connection sent).
    fn continuous_reader(&mut self, start: Option<&u64>, _clock: Clock) -> Result<SocketReader> {
        let buffer = Arc::clone(self.buffer());
        let (next, arrivals) = {
            let mut b = buffer.lock().expect("socket buffer lock");
            if let Some(&start) = start {
                let shift = start.saturating_sub(b.base);
                b.base += shift;
            }
            (b.base, Arc::clone(&b.arrivals))
        };
        Ok(SocketReader {
            buffer,
            arrivals,
            next,
            name: self.to_string(),
        })
    }
}

/// Reads a [`SocketSource`]'s lines as its connection receives them.
#[derive(Debug)]
pub struct SocketReader {
    buffer: Arc<Mutex<Buffer>>,
    arrivals: Arc<Arrivals>,
    /// The number of the next line.
    next: u64,
    name: String,
}

impl ContinuousReader for SocketReader {
    type Row = TextLine;
    type Position = u64;

    /// Once the connection closed (without `reconnect`) and every line was read, fails with
    /// the reason, as in micro-batch execution.
    fn poll(&mut self, deadline: Instant, out: &mut Vec<TextLine>) -> Result<()> {
        loop {
            let seen = self.arrivals.seen();
            {
                let buffer = self.buffer.lock().expect("socket buffer lock");
                let total = buffer.total();
                if total > self.next {
                    let from = (self.next - buffer.base) as usize;
                    out.extend(buffer.lines.range(from..).cloned());
                    self.next = total;
                    return Ok(());
                }
                if let Some(why) = &buffer.closed {
                    return Err(Error::Source {
                        source_name: self.name.clone(),
                        message: format!(
                            "{why} after {total} lines; every line received was processed"
                        ),
                    });
                }
            }
            if Instant::now() >= deadline {
                return Ok(());
            }
            self.arrivals.wait_past(seen, deadline);
        }
    }

    fn position(&self) -> u64 {
        self.next
    }

    /// Drops the committed lines from the buffer.
    fn commit(&mut self, end: &u64) -> Result<()> {
        let mut buffer = self.buffer.lock().expect("socket buffer lock");
        let drop = end
            .saturating_sub(buffer.base)
            .min(buffer.lines.len() as u64);
        buffer.lines.drain(..drop as usize);
        buffer.base += drop;
        Ok(())
    }
}
