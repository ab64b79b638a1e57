//! Streaming reads: what a source implements to deliver rows as they arrive (Spark's
//! `ContinuousStream` and `ContinuousPartitionReader`).
//!
//! At start the query asks the source for a [`ContinuousReader`] positioned after the last
//! committed epoch; the query's task then polls the reader for rows as they come, and at the end
//! of each epoch reads its [`position`](ContinuousReader::position), which the checkpoint's
//! offset log records. A restart makes a new reader at the position of the last committed epoch,
//! so the rows read after it are read again (at least once).

use std::time::Instant;

use crate::clock::Clock;
use crate::error::Result;
use crate::row::Row;
use crate::source::{Offset, Source};

/// A source that can stream: the rate source (rows at their timestamps), the memory stream
/// (rows as added), the socket source (lines as read) and the Kafka source (records as
/// polled). Starting a query with a continuous trigger on any other source does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not support continuous processing",
    label = "this source cannot stream rows as they arrive",
    note = "Spark: \"Data source <name> does not support continuous processing.\"",
    note = "the sources that can: `RateSource`, `MemoryStream`, `SocketSource` and `KafkaSource`; read this one with a micro-batch trigger"
)]
pub trait ContinuousSource: Source {
    /// Where a reader stands: the offset an epoch ends at, as the offset log records it. It
    /// may differ from the source's micro-batch offset (the rate source counts rows here,
    /// seconds there).
    type Position: Offset;
    /// The reader the query's task reads with.
    type Reader: ContinuousReader<Row = Self::Row, Position = Self::Position>;

    /// A reader starting after `start` (`None`: where a new query starts), reading processing
    /// time from `clock`. Called once, after [`Source::open`]; an error fails `start()`.
    fn continuous_reader(
        &mut self,
        start: Option<&Self::Position>,
        clock: Clock,
    ) -> Result<Self::Reader>;
}

/// Reads a source's rows as they arrive, on the query's task (a thread of its own).
pub trait ContinuousReader: Send + 'static {
    /// The rows it reads.
    type Row: Row;
    /// Its positions.
    type Position: Offset;

    /// Appends the rows that arrived to `out`, waiting for them until `deadline` at most: it
    /// returns as soon as it appended some, or at the deadline with none. A reader must not
    /// wait much past the deadline (the task ends epochs and sees a stop there).
    fn poll(&mut self, deadline: Instant, out: &mut Vec<Self::Row>) -> Result<()>;

    /// The position after the last row returned by `poll`: where an epoch ending now ends.
    fn position(&self) -> Self::Position;

    /// An epoch ended at [`position`](Self::position); the Kafka reader looks for partitions
    /// added to its subscription here.
    fn end_epoch(&mut self) -> Result<()> {
        Ok(())
    }

    /// Every row up to `end` is committed and will never be read again (the socket source
    /// drops those lines from its buffer).
    fn commit(&mut self, end: &Self::Position) -> Result<()> {
        let _ = end;
        Ok(())
    }
}
