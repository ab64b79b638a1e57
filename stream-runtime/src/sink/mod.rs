//! Sinks: where each micro-batch's output rows go (Spark's `writeStream.format(...)`).
//!
//! A sink receives every batch with its id. A batch re-run after a failure comes with the same
//! id, so a sink that remembers the last id it accepted can stay idempotent. The sinks that can
//! take rows as they come (console, memory, Kafka, `foreach`) also implement
//! [`ContinuousSink`](crate::continuous::ContinuousSink), for continuous queries.

pub mod console;
pub mod file;
pub mod foreach;
pub mod foreach_batch;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod memory;

use std::future::Future;
use std::path::PathBuf;

use crate::error::Result;
use crate::pipeline::OutputMode;
use crate::row::Row;

pub use console::ConsoleSink;
pub use file::FileSink;
pub use foreach::{ForeachSink, ForeachWriter};
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
    /// A directory the sink may keep its own files in, inside the query's checkpoint
    /// (`sinks/0`); `None` when the query has no checkpoint.
    pub metadata_dir: Option<PathBuf>,
    /// Whether the query resumes a checkpoint that has planned or committed batches (false for
    /// a new checkpoint, and for a query without one).
    pub resuming: bool,
}

impl SinkContext {
    /// A context for a new query without a checkpoint.
    pub fn new(query_name: Option<String>, output_mode: OutputMode) -> Self {
        SinkContext {
            query_name,
            output_mode,
            metadata_dir: None,
            resuming: false,
        }
    }
}

/// What a sink has durably committed, in the query's batch numbering: checked against the
/// checkpoint at start (see `docs/checkpoint.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkCommitLog {
    /// Where the sink records its commits (the file sink's `_spark_metadata`).
    pub log_dir: PathBuf,
    /// The last batch committed (`None`: none yet), in the query's numbering.
    pub last_batch: Option<u64>,
    /// The sink's own batch id of the query's batch 0 (its log's files are named by those).
    pub batch_id_offset: u64,
    /// A batch whose commit record is missing although batches before and after it have one.
    pub missing_entry: Option<u64>,
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

    /// What the sink has committed so far, if it keeps such a record (called after `open`).
    fn commit_log(&self) -> Option<SinkCommitLog> {
        None
    }

    /// Accepts one batch. The batch counts as committed once this returns `Ok`.
    fn add_batch(&mut self, batch: SinkBatch<R>) -> impl Future<Output = Result<()>> + Send;
}
