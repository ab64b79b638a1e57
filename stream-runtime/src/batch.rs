//! What one micro-batch runs under and reports back: the [`BatchContext`] (watermarks,
//! thresholds, processing time), the event-time statistics a watermark node collects
//! ([`EventTimeStats`]) and the operator counters of the progress ([`OperatorMetrics`]).

use std::collections::BTreeMap;

use crate::output_mode::OutputMode;
use crate::pipeline::{Pipeline, PipelineKind};
use crate::time::Timestamp;

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
    /// Rows a deduplication dropped as duplicates (Spark's `numDroppedDuplicateRows`).
    pub duplicates_dropped: u64,
}

impl OperatorMetrics {
    /// The figures of the progress's `customMetrics` for an operator of this kind: a
    /// deduplication's `numDroppedDuplicateRows`.
    pub fn custom_metrics(&self, kind: PipelineKind) -> BTreeMap<String, u64> {
        match kind {
            PipelineKind::Deduplication { .. } => BTreeMap::from([(
                "numDroppedDuplicateRows".to_string(),
                self.duplicates_dropped,
            )]),
            _ => BTreeMap::new(),
        }
    }
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
    /// The static table of a stream-static join, shared by every task of the batch (see
    /// `operator::join`).
    pub(crate) static_table: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
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
            static_table: None,
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

    /// A context for one task of this batch (a map task on a worker thread): the same batch,
    /// watermarks and processing time, with statistics and counters of its own, folded back
    /// with [`BatchContext::absorb`].
    pub fn fork(&self) -> BatchContext {
        BatchContext {
            event_time: vec![EventTimeStats::default(); self.event_time.len()],
            metrics: OperatorMetrics::default(),
            scanned_rows: 0,
            malformed_records: 0,
            ..self.clone()
        }
    }

    /// A context for one input of a query with several (a side of a stream-stream join): as
    /// [`BatchContext::fork`], with `nodes` watermark nodes of its own, folded back with
    /// [`BatchContext::absorb_nodes`].
    pub fn fork_nodes(&self, nodes: usize) -> BatchContext {
        BatchContext {
            event_time: vec![EventTimeStats::default(); nodes],
            ..self.fork()
        }
    }

    /// Adds the statistics and counters of a context made by [`BatchContext::fork_nodes`]: its
    /// watermark nodes are this context's from `first_node` on.
    pub fn absorb_nodes(&mut self, side: &BatchContext, first_node: usize) {
        for (i, stats) in side.event_time.iter().enumerate() {
            if let Some(mine) = self.event_time.get_mut(first_node + i) {
                mine.merge(stats);
            }
        }
        self.absorb_counters(side);
    }

    /// A context for an operator after another in the same batch (an aggregation after a
    /// stream-stream join): as [`BatchContext::fork_nodes`], running under the watermarks the
    /// operator before it propagates (Spark's `PropagateWatermarkSimulator`): `watermark` for
    /// eviction, `late_watermark` for late rows. Its counters are folded back with
    /// [`BatchContext::absorb_counters`].
    pub fn downstream(
        &self,
        nodes: usize,
        watermark: Option<Timestamp>,
        late_watermark: Option<Timestamp>,
    ) -> BatchContext {
        BatchContext {
            watermark,
            late_watermark,
            ..self.fork_nodes(nodes)
        }
    }

    /// Adds the counters of another context of this batch (not its event-time statistics).
    pub fn absorb_counters(&mut self, other: &BatchContext) {
        let mut counters = other.clone();
        counters.event_time.clear();
        self.absorb(&counters);
    }

    /// Adds a task's statistics and counters (see [`BatchContext::fork`]) to this context's.
    pub fn absorb(&mut self, task: &BatchContext) {
        for (mine, theirs) in self.event_time.iter_mut().zip(&task.event_time) {
            mine.merge(theirs);
        }
        self.metrics.rows_dropped_by_watermark += task.metrics.rows_dropped_by_watermark;
        self.metrics.state_rows_updated += task.metrics.state_rows_updated;
        self.metrics.state_rows_removed += task.metrics.state_rows_removed;
        self.metrics.duplicates_dropped += task.metrics.duplicates_dropped;
        self.scanned_rows += task.scanned_rows;
        self.malformed_records += task.malformed_records;
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
    /// ([`PipelineInfo::has_scan_filters`](crate::pipeline::PipelineInfo::has_scan_filters)).
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

    /// Adds to the count of rows a deduplication dropped as duplicates.
    #[inline]
    pub fn add_duplicates_dropped(&mut self, n: u64) {
        self.metrics.duplicates_dropped += n;
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
