//! The contract between `pipeline!` and the runtime: the [`Pipeline`] trait every generated
//! pipeline implements, the per-batch [`BatchContext`] it runs under, and the output modes with
//! their compile-time marker traits ([`SupportsAppend`], [`SupportsComplete`],
//! [`SupportsUpdate`]).
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

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::row::Row;
use crate::time::{MICROS_PER_MILLI, Timestamp};

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

    /// Whether Spark would run a batch without new data to let the watermark evict state:
    /// a stateful operator with a watermark, in append or update mode, when the watermark moved
    /// past the one the last batch ran under.
    pub fn wants_no_data_batch(&self, mode: OutputMode) -> bool {
        matches!(self.kind, PipelineKind::Aggregation { .. })
            && self.has_watermark()
            && matches!(mode, OutputMode::Append | OutputMode::Update)
    }
}

/// How a stateful query's result reaches the sink: Spark's `outputMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OutputMode {
    /// Only new rows: rows of a stateless query, or windows the watermark has closed.
    Append,
    /// The whole result table, every batch.
    Complete,
    /// The rows (groups) that changed in this batch.
    Update,
}

impl OutputMode {
    /// Spark's name (`Append`, `Complete`, `Update`).
    pub const fn name(self) -> &'static str {
        match self {
            OutputMode::Append => "Append",
            OutputMode::Complete => "Complete",
            OutputMode::Update => "Update",
        }
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutputMode {
    type Err = Error;

    /// Parses `append`, `complete` or `update`, case-insensitively, as Spark's
    /// `outputMode(String)` does.
    ///
    /// ```
    /// use stream_runtime::pipeline::OutputMode;
    /// assert_eq!("Update".parse::<OutputMode>().unwrap(), OutputMode::Update);
    /// assert_eq!(
    ///     "foo".parse::<OutputMode>().unwrap_err().to_string(),
    ///     "[STREAMING_OUTPUT_MODE.INVALID] Invalid streaming output mode: foo. \
    ///      Accepted output modes are 'Append', 'Complete', 'Update'."
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "append" => Ok(OutputMode::Append),
            "complete" => Ok(OutputMode::Complete),
            "update" => Ok(OutputMode::Update),
            _ => Err(Error::InvalidArgument(format!(
                "[STREAMING_OUTPUT_MODE.INVALID] Invalid streaming output mode: {s}. Accepted output modes are 'Append', 'Complete', 'Update'."
            ))),
        }
    }
}

/// Spark's rejection of append mode for an aggregation that no watermark can finalise.
pub const APPEND_AGGREGATION_WITHOUT_WATERMARK: &str = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: append. This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets.";
/// Spark's rejection of complete mode for a query without aggregation.
pub const COMPLETE_WITHOUT_AGGREGATION: &str = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: complete. This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets.";
/// Spark's rejection of sorting outside complete mode.
pub const SORT_NOT_IN_COMPLETE: &str = "Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode";
/// Spark's rejection of a limit in update mode.
pub const LIMIT_IN_UPDATE: &str =
    "Limits are not supported on streaming DataFrames/Datasets in Update output mode";

/// Output mode `append` (Spark's default): emit only rows that will never change. Passed to
/// `DataStreamWriter::output_mode`, where an unsupported mode is a compile error.
#[derive(Debug, Default, Clone, Copy)]
pub struct Append;
/// Output mode `complete`: emit the whole result table every batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct Complete;
/// Output mode `update`: emit the rows that changed in the batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct Update;

/// Implemented by pipelines that may run in append mode: those without aggregation, and
/// aggregations grouped by an event-time window (or the event-time column) under a watermark;
/// in both cases only if they do not sort.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: append is not supported by `{Self}`",
    label = "`{Self}` aggregates without a watermark on its group key, or sorts its result",
    note = "Spark: \"This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets\"",
    note = "Spark: \"Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode\"",
    note = "append mode emits a group once, when the watermark has made it final: add `watermark <ts> delay <interval>;` and group by `window(<ts>, <size>)` (or by `<ts>` itself), or use `.output_mode(Update)` or `.output_mode(Complete)`"
)]
pub trait SupportsAppend: Pipeline {}

/// Implemented by pipelines that may run in complete mode: those with an aggregation.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: complete is not supported by `{Self}`",
    label = "`{Self}` has no streaming aggregation",
    note = "Spark: \"This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets\"",
    note = "complete mode re-emits the whole result table every batch, which needs a `group by ... aggregate ...`; use `.output_mode(Append)` for a query without aggregation"
)]
pub trait SupportsComplete: Pipeline {}

/// Implemented by pipelines that may run in update mode: every pipeline except those that sort
/// or limit their result.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: update is not supported by `{Self}`",
    label = "`{Self}` sorts or limits its result",
    note = "Spark: \"Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode\"",
    note = "Spark: \"Limits are not supported on streaming DataFrames/Datasets in Update output mode\"",
    note = "use `.output_mode(Complete)` to sort or limit an aggregation's result, or `.output_mode(Append)` to limit a query without aggregation"
)]
pub trait SupportsUpdate: Pipeline {}

/// "Output mode `Self` can run pipeline `P`": the bound `DataStreamWriter::start` checks.
/// The typed modes ([`Append`], [`Complete`], [`Update`]) satisfy it through the `Supports*`
/// traits, so an unsupported mode does not compile; a mode named by a string is checked when
/// the query starts.
pub trait OutputModeFor<P: Pipeline> {
    /// The mode, or Spark's error if `P` cannot run in it.
    fn resolve(&self) -> Result<OutputMode, Error>;
}

impl<P: SupportsAppend> OutputModeFor<P> for Append {
    fn resolve(&self) -> Result<OutputMode, Error> {
        Ok(OutputMode::Append)
    }
}
impl<P: SupportsComplete> OutputModeFor<P> for Complete {
    fn resolve(&self) -> Result<OutputMode, Error> {
        Ok(OutputMode::Complete)
    }
}
impl<P: SupportsUpdate> OutputModeFor<P> for Update {
    fn resolve(&self) -> Result<OutputMode, Error> {
        Ok(OutputMode::Update)
    }
}

/// An output mode given by name (`"append"`, `"complete"`, `"update"`), as Spark's
/// `outputMode(String)`: parsed and checked against the pipeline when the query starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOutputMode(pub String);

impl<P: Pipeline> OutputModeFor<P> for NamedOutputMode {
    fn resolve(&self) -> Result<OutputMode, Error> {
        let mode: OutputMode = self.0.parse()?;
        P::INFO.check_output_mode(mode)?;
        Ok(mode)
    }
}

/// Event-time statistics of the rows one watermark node saw in a batch (Spark's
/// `EventTimeStats`): they feed the watermark and the `eventTime` part of the progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTimeStats {
    /// Latest event time seen (µs).
    pub max: i64,
    /// Earliest event time seen (µs).
    pub min: i64,
    /// Sum of the event times seen (µs), for the average.
    pub sum: i128,
    /// Rows seen.
    pub count: u64,
}

impl Default for EventTimeStats {
    fn default() -> Self {
        EventTimeStats {
            max: i64::MIN,
            min: i64::MAX,
            sum: 0,
            count: 0,
        }
    }
}

impl EventTimeStats {
    /// Records one event time.
    #[inline]
    pub fn observe(&mut self, micros: i64) {
        self.max = self.max.max(micros);
        self.min = self.min.min(micros);
        self.sum += i128::from(micros);
        self.count += 1;
    }

    /// Merges another set of statistics into this one.
    pub fn merge(&mut self, other: &EventTimeStats) {
        self.max = self.max.max(other.max);
        self.min = self.min.min(other.min);
        self.sum += other.sum;
        self.count += other.count;
    }

    /// The mean event time, if any row was seen.
    pub fn avg(&self) -> Option<Timestamp> {
        (self.count > 0).then(|| Timestamp::from_micros((self.sum / i128::from(self.count)) as i64))
    }
}

/// Counters a pipeline reports for one batch (the `stateOperators` part of the progress).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperatorMetrics {
    /// Input rows (row-window pairs for sliding windows) dropped because they were late.
    pub rows_dropped_by_watermark: u64,
    /// State rows written in this batch.
    pub state_rows_updated: u64,
    /// State rows evicted in this batch.
    pub state_rows_removed: u64,
}

/// What one micro-batch runs under, and what it reports back.
///
/// The runtime creates one per batch; generated code reads the thresholds and writes the
/// statistics.
#[derive(Debug, Clone)]
pub struct BatchContext {
    batch_id: u64,
    output_mode: OutputMode,
    watermark: Option<Timestamp>,
    late_watermark: Option<Timestamp>,
    batch_timestamp: Timestamp,
    event_time: Vec<EventTimeStats>,
    metrics: OperatorMetrics,
    scanned_rows: u64,
    malformed_records: u64,
}

impl BatchContext {
    /// A context for batch `batch_id`.
    ///
    /// `watermark` is the watermark the batch runs under (`None` when the query has none);
    /// `late_watermark` the one the previous batch ran under; `batch_timestamp` is the batch's
    /// processing time (what `current_timestamp()` returns); `watermark_nodes` the number of
    /// watermark clauses in the plan.
    pub fn new(
        batch_id: u64,
        output_mode: OutputMode,
        watermark: Option<Timestamp>,
        late_watermark: Option<Timestamp>,
        batch_timestamp: Timestamp,
        watermark_nodes: usize,
    ) -> Self {
        BatchContext {
            batch_id,
            output_mode,
            watermark,
            late_watermark,
            batch_timestamp,
            event_time: vec![EventTimeStats::default(); watermark_nodes],
            metrics: OperatorMetrics::default(),
            scanned_rows: 0,
            malformed_records: 0,
        }
    }

    /// A context for driving a pipeline by hand (tests, benchmarks): batch 0, no watermark
    /// yet, processing time at the epoch.
    pub fn for_pipeline<P: Pipeline>(output_mode: OutputMode) -> Self {
        let watermark = P::INFO.has_watermark().then_some(Timestamp::EPOCH);
        BatchContext::new(
            0,
            output_mode,
            watermark,
            watermark,
            Timestamp::EPOCH,
            P::INFO.watermarks.len(),
        )
    }

    /// Moves this context on to the next batch with the given watermark, as the runtime does:
    /// the old watermark becomes the late-row threshold, statistics are cleared.
    pub fn advance(&mut self, watermark: Option<Timestamp>, batch_timestamp: Timestamp) {
        self.batch_id += 1;
        self.late_watermark = self.watermark;
        self.watermark = watermark;
        self.batch_timestamp = batch_timestamp;
        self.event_time
            .iter_mut()
            .for_each(|s| *s = EventTimeStats::default());
        self.metrics = OperatorMetrics::default();
        self.scanned_rows = 0;
        self.malformed_records = 0;
    }

    /// The batch id.
    pub fn batch_id(&self) -> u64 {
        self.batch_id
    }

    /// The output mode the query runs in.
    pub fn output_mode(&self) -> OutputMode {
        self.output_mode
    }

    /// The watermark this batch runs under.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.watermark
    }

    /// The watermark the previous batch ran under.
    pub fn late_watermark(&self) -> Option<Timestamp> {
        self.late_watermark
    }

    /// The batch's processing time: what `current_timestamp()` returns for every row of the
    /// batch.
    #[inline]
    pub fn batch_timestamp(&self) -> Timestamp {
        self.batch_timestamp
    }

    /// A row whose window ends at or before this many µs is late and dropped
    /// (`i64::MIN` when nothing is late).
    ///
    /// Spark judges lateness against the watermark of the *previous* batch
    /// (`PropagateWatermarkSimulator`), and never in complete mode.
    #[inline]
    pub fn late_threshold(&self) -> i64 {
        match (self.output_mode, self.late_watermark) {
            (OutputMode::Complete, _) | (_, None) => i64::MIN,
            (_, Some(w)) => w.as_micros(),
        }
    }

    /// Groups whose window ends at or before this many µs are final: emitted (append) and
    /// evicted. `None` when nothing is evicted (no watermark, or complete mode).
    #[inline]
    pub fn eviction_threshold(&self) -> Option<i64> {
        match (self.output_mode, self.watermark) {
            (OutputMode::Complete, _) | (_, None) => None,
            (_, Some(w)) => Some(w.as_micros()),
        }
    }

    /// Merges the event-time statistics of watermark node `node`.
    #[inline]
    pub fn observe_event_times(&mut self, node: usize, stats: &EventTimeStats) {
        if let Some(s) = self.event_time.get_mut(node) {
            s.merge(stats);
        }
    }

    /// The event-time statistics per watermark node.
    pub fn event_time_stats(&self) -> &[EventTimeStats] {
        &self.event_time
    }

    /// Counters reported so far.
    pub fn metrics(&self) -> OperatorMetrics {
        self.metrics
    }

    /// Adds to the count of rows dropped as late.
    #[inline]
    pub fn add_dropped_by_watermark(&mut self, n: u64) {
        self.metrics.rows_dropped_by_watermark += n;
    }

    /// Adds to the count of state rows written.
    #[inline]
    pub fn add_state_rows_updated(&mut self, n: u64) {
        self.metrics.state_rows_updated += n;
    }

    /// Adds to the count of input rows that passed the scan-level filters
    /// ([`PipelineInfo::has_scan_filters`]).
    #[inline]
    pub fn add_scanned_rows(&mut self, n: u64) {
        self.scanned_rows += n;
    }

    /// Adds to the count of malformed payloads met by `parse` clauses
    /// ([`crate::format::PayloadDecoder`]).
    #[inline]
    pub fn add_malformed_records(&mut self, n: u64) {
        self.malformed_records += n;
    }

    /// Malformed payloads met so far in this batch (kept with nulls, dropped, or failed).
    pub fn malformed_records(&self) -> u64 {
        self.malformed_records
    }

    /// Input rows that passed the scan-level filters so far.
    pub fn scanned_rows(&self) -> u64 {
        self.scanned_rows
    }

    /// Adds to the count of state rows evicted.
    #[inline]
    pub fn add_state_rows_removed(&mut self, n: u64) {
        self.metrics.state_rows_removed += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_spark() {
        let w0 = Timestamp::from_secs(100);
        let w1 = Timestamp::from_secs(130);
        let ctx = BatchContext::new(
            3,
            OutputMode::Append,
            Some(w1),
            Some(w0),
            Timestamp::EPOCH,
            1,
        );
        assert_eq!(
            ctx.late_threshold(),
            w0.as_micros(),
            "late rows: previous watermark"
        );
        assert_eq!(
            ctx.eviction_threshold(),
            Some(w1.as_micros()),
            "eviction: current"
        );
        let ctx = BatchContext::new(
            3,
            OutputMode::Complete,
            Some(w1),
            Some(w0),
            Timestamp::EPOCH,
            1,
        );
        assert_eq!(
            ctx.late_threshold(),
            i64::MIN,
            "complete mode drops nothing"
        );
        assert_eq!(
            ctx.eviction_threshold(),
            None,
            "complete mode evicts nothing"
        );
        let ctx = BatchContext::new(0, OutputMode::Update, None, None, Timestamp::EPOCH, 0);
        assert_eq!(ctx.late_threshold(), i64::MIN);
        assert_eq!(ctx.eviction_threshold(), None);
    }

    #[test]
    fn advancing_moves_the_watermark_into_the_late_threshold() {
        let mut ctx = BatchContext::new(
            0,
            OutputMode::Append,
            Some(Timestamp::EPOCH),
            Some(Timestamp::EPOCH),
            Timestamp::EPOCH,
            1,
        );
        ctx.observe_event_times(
            0,
            &EventTimeStats {
                max: 5,
                min: 1,
                sum: 6,
                count: 2,
            },
        );
        ctx.add_dropped_by_watermark(2);
        ctx.advance(Some(Timestamp::from_secs(10)), Timestamp::from_secs(1));
        assert_eq!(ctx.batch_id(), 1);
        assert_eq!(ctx.late_watermark(), Some(Timestamp::EPOCH));
        assert_eq!(ctx.watermark(), Some(Timestamp::from_secs(10)));
        assert_eq!(ctx.event_time_stats()[0].count, 0);
        assert_eq!(ctx.metrics(), OperatorMetrics::default());
    }

    #[test]
    fn event_time_stats() {
        let mut s = EventTimeStats::default();
        assert_eq!(s.avg(), None);
        s.observe(10);
        s.observe(30);
        assert_eq!((s.min, s.max, s.count), (10, 30, 2));
        assert_eq!(s.avg(), Some(Timestamp::from_micros(20)));
    }
}
