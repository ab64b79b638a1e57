//! Streaming writes: what a sink implements to take rows as they come (Spark's `StreamingWrite`
//! and its `DataWriter`s).
//!
//! The query's task hands each group of rows the pipeline emits to
//! [`write_rows`](ContinuousSink::write_rows) at once. When an epoch ends it calls
//! [`end_epoch`](ContinuousSink::end_epoch), which returns the epoch's [`EpochCommit`]: the
//! work that makes the epoch's rows durable or visible (the Kafka sink's acknowledgements, the
//! console's table). The query awaits it after writing the epoch's offsets, and commits the
//! epoch once it completed, as Spark's epoch coordinator commits the writer before the query.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::Result;
use crate::row::Row;
use crate::sink::Sink;

/// What completes an epoch at the sink, awaited by the query before it commits the epoch.
pub struct EpochCommit {
    work: Pin<Box<dyn Future<Output = Result<()>> + Send>>,
}

impl fmt::Debug for EpochCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EpochCommit")
    }
}

impl EpochCommit {
    /// An epoch whose rows are already where they belong (the `foreach` writer's).
    pub fn done() -> Self {
        EpochCommit::new(async { Ok(()) })
    }

    /// An epoch completed by `work`; an error fails the query before the epoch commits.
    pub fn new(work: impl Future<Output = Result<()>> + Send + 'static) -> Self {
        EpochCommit {
            work: Box::pin(work),
        }
    }

    /// Runs the work.
    pub(crate) async fn complete(self) -> Result<()> {
        self.work.await
    }
}

/// A sink that takes rows as they come: the console, the memory sink, the Kafka sink and the
/// `foreach` writer. Starting a query with a continuous trigger into any other sink does not
/// compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not supported with continuous trigger",
    label = "this sink cannot take rows as they come",
    note = "Spark: \"'foreachBatch' is not supported with continuous trigger\"; only sinks that write row by row run continuously",
    note = "the sinks that can: `ConsoleSink`, `MemorySink`, `KafkaSink` and `ForeachSink` (`.foreach(writer)`); write to this one with a micro-batch trigger"
)]
pub trait ContinuousSink<R: Row>: Sink<R> {
    /// Epoch `epoch` starts: the rows written next belong to it (the `foreach` writer is
    /// opened for it).
    fn begin_epoch(&mut self, epoch: u64) -> Result<()> {
        let _ = epoch;
        Ok(())
    }

    /// Takes the rows the pipeline just emitted (leaving `rows` empty).
    fn write_rows(&mut self, rows: &mut Vec<R>) -> Result<()>;

    /// Epoch `epoch` ends; what it returns completes it (see [`EpochCommit`]).
    fn end_epoch(&mut self, epoch: u64) -> Result<EpochCommit>;
}
