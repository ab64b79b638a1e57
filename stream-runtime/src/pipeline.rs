//! The contract between `pipeline!` and the runtime: the [`Pipeline`] trait every generated
//! pipeline implements, and the static facts it carries ([`PipelineInfo`]).
//!
//! One micro-batch drives a pipeline like this:
//!
//! 1. [`Pipeline::process`] is called once per chunk of the batch's input rows. A stateless
//!    pipeline pushes its output rows straight into `out`; a stateful one folds the rows into
//!    its state, dropping rows that are late with respect to the *previous* batch's watermark
//!    ([`BatchContext::late_threshold`]), and reports event-time statistics so the runtime can
//!    advance the watermark.
//! 2. [`Pipeline::finish_batch`] is called once. A stateful pipeline emits according to the
//!    output mode — every group (complete), the groups changed in this batch (update), the
//!    windows the *current* watermark closed (append) — and evicts state the watermark made
//!    final ([`BatchContext::eviction_threshold`]).
//!
//! The stateful work itself is done by the runtime's operators ([`crate::operator`]); a
//! generated pipeline holds one and delegates to it.

use crate::error::Error;
use crate::executor::Executor;
use crate::row::Row;
use crate::source::BatchInput;
use crate::time::MICROS_PER_MILLI;

pub use crate::batch::{BatchContext, EventTimeStats, OperatorMetrics};
pub use crate::output_mode::{
    APPEND_AGGREGATION_WITHOUT_WATERMARK, Aggregates, Append, COMPLETE_WITHOUT_AGGREGATION,
    Complete, FinalisesGroups, LIMIT_IN_UPDATE, NamedOutputMode, OutputMode, OutputModeFor,
    SESSION_WINDOW_IN_UPDATE, SORT_NOT_IN_COMPLETE, SupportsAppend, SupportsComplete,
    SupportsUpdate, Unlimited, Unsorted, Update, WithoutOuterStreamJoin, WithoutSessionWindow,
    WithoutStreamJoin,
};

/// A compiled streaming query: what `pipeline!` generates for each `query`.
///
/// Implementations are plain structs holding their state in hash maps keyed by the exact typed
/// group key; the runtime owns one per running query.
pub trait Pipeline: Send + 'static {
    /// The rows this pipeline reads: the source's row type.
    type Input: Row;
    /// The rows this pipeline emits.
    type Output: Row;

    /// Static facts about the query: name, watermarks, which output modes it supports.
    const INFO: PipelineInfo;

    /// Processes one chunk of a micro-batch's input rows.
    ///
    /// Stateless pipelines append their output rows to `out`; stateful pipelines update their
    /// state and normally leave `out` alone until [`Pipeline::finish_batch`].
    fn process(
        &mut self,
        input: &[Self::Input],
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
    ) -> Result<(), Error>;

    /// Ends the micro-batch: emits rows for the output mode and evicts state the current
    /// watermark made final. The default does nothing (stateless pipelines).
    fn finish_batch(
        &mut self,
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
    ) -> Result<(), Error> {
        let _ = (ctx, out);
        Ok(())
    }

    /// Number of state rows (groups) held.
    fn state_rows(&self) -> usize {
        0
    }

    /// An estimate of the memory the state uses, in bytes.
    fn state_bytes(&self) -> usize {
        0
    }

    /// Serialises the state for a checkpoint snapshot.
    fn snapshot_state(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }

    /// Replaces the state with one read from a checkpoint snapshot.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let _ = bytes;
        Ok(())
    }

    /// Runs one batch: its input partitions through the pipeline — on the executor's threads
    /// where the pipeline can use them — then [`Pipeline::finish_batch`]. Returns the rows read.
    ///
    /// The default reads the partitions in order on the calling thread, one chunk at a time,
    /// through [`Pipeline::process`]. Generated pipelines run stateless queries' partitions in
    /// parallel (their output in partition order) and aggregations as map tasks, an exchange
    /// and reduce tasks (see [`crate::operator`]).
    fn run_batch(
        &mut self,
        input: BatchInput<Self::Input>,
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        let rows =
            input.for_each_chunk(exec.chunk_rows(), |chunk| self.process(chunk, ctx, out))?;
        self.finish_batch(ctx, out)?;
        Ok(rows)
    }

    /// Fixes the state partitions (those of the checkpoint) and the number of reduce workers
    /// the state is spread over. The default does nothing: the state is kept whole.
    fn configure_state(&mut self, partitions: usize, workers: usize) {
        let _ = (partitions, workers);
    }

    /// The state, one payload per state partition (`partitions` of them), for a checkpoint
    /// that snapshots each partition on its own. The default puts the whole state
    /// ([`Pipeline::snapshot_state`]) in partition 0 and leaves the others empty.
    fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        let mut parts = vec![Vec::new(); partitions.max(1)];
        parts[0] = self.snapshot_state()?;
        Ok(parts)
    }

    /// Replaces the state with payloads written by [`Pipeline::snapshot_partitions`]. The
    /// default restores partition 0 with [`Pipeline::restore_state`].
    fn restore_partitions(&mut self, parts: &[Vec<u8>]) -> Result<(), Error> {
        match parts.first() {
            Some(bytes) => self.restore_state(bytes),
            None => Ok(()),
        }
    }
}

/// What kind of operator the query ends in, as far as the runtime cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineKind {
    /// No state: filters and projections only.
    Stateless,
    /// A streaming aggregation (`group by ... aggregate ...`).
    Aggregation {
        /// Whether the group key contains the watermarked event-time column or a window over it,
        /// so the watermark drops late rows and evicts finished groups.
        evicts_on_watermark: bool,
    },
    /// A stateless query with a global `limit`: the state is the count of rows emitted.
    Limit,
    /// A query without aggregation that drops duplicates (`drop duplicates`, and perhaps a
    /// `limit` after it).
    Deduplication {
        /// `drop duplicates within watermark` (Spark's `dropDuplicatesWithinWatermark`).
        within_watermark: bool,
        /// Whether a watermark is defined before the deduplication: only then does the
        /// watermark reach it (late rows, eviction, no-data batches).
        watermarked: bool,
        /// Whether keys expire: the key holds the watermarked event time, or `within
        /// watermark`. Otherwise every key is kept forever.
        evicts_on_watermark: bool,
    },
    /// A session-window aggregation (`group by session_window(...), ... aggregate ...`).
    SessionWindow {
        /// Whether the session window is over the watermarked event-time column, so the
        /// watermark drops late rows and closes sessions.
        evicts_on_watermark: bool,
    },
    /// A stream-stream join (`from A join B on ...`).
    StreamJoin {
        /// Whether the watermark expires some of its state (a side's rows or keys), so a
        /// batch without data runs when the watermark moves.
        evicts_state: bool,
    },
}

impl PipelineKind {
    /// The name of the query's stateful operator in the progress (Spark's `operatorName`).
    pub fn operator_name(self) -> &'static str {
        match self {
            PipelineKind::Stateless => "",
            PipelineKind::Aggregation { .. } => "stateStoreSave",
            PipelineKind::Limit => "globalLimit",
            PipelineKind::Deduplication {
                within_watermark: false,
                ..
            } => "dedupe",
            PipelineKind::Deduplication {
                within_watermark: true,
                ..
            } => "dedupeWithinWatermark",
            PipelineKind::SessionWindow { .. } => "sessionWindowStateStoreSaveExec",
            PipelineKind::StreamJoin { .. } => "symmetricHashJoin",
        }
    }
}

/// A `watermark <column> delay <interval>` clause: Spark's `withWatermark`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatermarkSpec {
    /// The event-time column.
    pub column: &'static str,
    /// The delay, in microseconds.
    pub delay_micros: i64,
}

impl WatermarkSpec {
    /// The delay in milliseconds, the unit Spark's watermark arithmetic uses.
    pub const fn delay_millis(&self) -> i64 {
        self.delay_micros / MICROS_PER_MILLI
    }
}

/// Static facts about a compiled pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PipelineInfo {
    /// The query's name in the DSL.
    pub name: &'static str,
    /// What the query ends in.
    pub kind: PipelineKind,
    /// Watermark clauses, in plan order (each is one of Spark's `EventTimeWatermark` nodes).
    pub watermarks: &'static [WatermarkSpec],
    /// For each output mode that this pipeline cannot run in, Spark's reason.
    pub unsupported_modes: &'static [(OutputMode, &'static str)],
    /// A hash of the compiled plan; a checkpoint written by a different plan is refused.
    pub fingerprint: u64,
    /// A readable rendering of the plan (`explain`).
    pub plan: &'static str,
    /// Whether some filters compare a source column with a literal: Spark pushes those into a
    /// file scan, so a file source counts only the rows that pass them as input rows.
    pub has_scan_filters: bool,
    /// The input columns the query reads, in input order (`None`: unknown, every column):
    /// what a file source decodes (Spark's required schema, pushed into the scan). The other
    /// fields of the input rows it builds hold their type's default or null.
    pub input_columns: Option<&'static [&'static str]>,
}

impl PipelineInfo {
    /// Whether the query has at least one watermark.
    pub fn has_watermark(&self) -> bool {
        !self.watermarks.is_empty()
    }

    /// Whether the query keeps state across batches.
    pub fn is_stateful(&self) -> bool {
        !matches!(self.kind, PipelineKind::Stateless)
    }

    /// Checks at `start()` that the pipeline supports `mode`, with Spark's error text if not.
    /// (The typed API checks the same rule at compile time; this covers output modes given as
    /// strings.)
    pub fn check_output_mode(&self, mode: OutputMode) -> Result<(), Error> {
        match self.unsupported_modes.iter().find(|(m, _)| *m == mode) {
            Some((_, reason)) => Err(Error::Analysis((*reason).to_string())),
            None => Ok(()),
        }
    }

    /// Whether Spark would run a batch without new data to let the watermark evict state, when
    /// the watermark moved past the one the last batch ran under (each operator's
    /// `shouldRunAnotherBatch`): an aggregation or a session-window aggregation with a
    /// watermark, in append or update mode; a deduplication the watermark reaches, in any mode;
    /// a stream-stream join whose state the watermark expires.
    pub fn wants_no_data_batch(&self, mode: OutputMode) -> bool {
        let evicting_mode = matches!(mode, OutputMode::Append | OutputMode::Update);
        match self.kind {
            PipelineKind::Aggregation { .. } | PipelineKind::SessionWindow { .. } => {
                self.has_watermark() && evicting_mode
            }
            PipelineKind::Deduplication { watermarked, .. } => watermarked,
            // Spark's `StreamingSymmetricHashJoinExec.shouldRunAnotherBatch`: a state
            // watermark predicate exists and the watermark moved, in any mode.
            PipelineKind::StreamJoin { evicts_state } => evicts_state,
            PipelineKind::Stateless | PipelineKind::Limit => false,
        }
    }
}
