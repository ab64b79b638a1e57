//! Sinks: where each micro-batch's output rows go (Spark's `writeStream.format(...)`).
//!
//! A sink receives every batch with its id. A batch re-run after a failure comes with the same
//! id, so a sink that remembers the last id it accepted can stay idempotent.

pub mod console;
pub mod file;
pub mod foreach_batch;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod memory;

use std::future::Future;

use crate::error::Result;
use crate::pipeline::OutputMode;
use crate::row::Row;

pub use console::ConsoleSink;
pub use file::FileSink;
pub use foreach_batch::ForeachBatchSink;
#[cfg(feature = "kafka")]
pub use kafka::KafkaSink;
pub use memory::{MemorySink, MemoryTable};

/// One micro-batch's output.
#[derive(Debug, Clone)]
pub struct SinkBatch<R> {
    /// The batch id (consecutive from 0; the same id again after a restart re-runs it).
    pub batch_id: u64,
    /// The rows, in the order the pipeline emitted them.
    pub rows: Vec<R>,
    /// The query's output mode: in complete mode `rows` is the whole result table.
    pub output_mode: OutputMode,
}

/// What a sink is told when its query starts.
#[derive(Debug, Clone)]
pub struct SinkContext {
    /// The query name (`query_name`), if any.
    pub query_name: Option<String>,
    /// The output mode.
    pub output_mode: OutputMode,
}

/// A streaming sink for rows of type `R`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sink for the query's `{R}` rows",
    label = "the query needs a sink before `start`",
    note = "choose one before `.start()`: `.format(<sink>)` (`ConsoleSink::new()`, `MemorySink::new()`, `FileSink::json(dir)`, ...) or `.foreach_batch(|batch_id, rows| ...)`"
)]
pub trait Sink<R: Row>: Send + 'static {
    /// A description for progress reports.
    fn description(&self) -> String;

    /// Called once when the query starts; an error refuses the start.
    fn open(&mut self, ctx: &SinkContext) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Accepts one batch. The batch counts as committed once this returns `Ok`.
    fn add_batch(&mut self, batch: SinkBatch<R>) -> impl Future<Output = Result<()>> + Send;
}
