//! The micro-batch loop (Spark's `MicroBatchExecution`): a trigger fires, the source's latest
//! offset is read, a batch is planned from the last committed offset, the pipeline runs under
//! the current watermark, the sink receives the output, the batch is committed, the watermark
//! advances for the next batch, and progress is recorded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::checkpoint::{
    CHECKPOINT_VERSION, Checkpoint, CommitRecord, OffsetRecord, Recovery, decode_offset,
};
use crate::clock::Clock;
use crate::error::Result;
use crate::executor::Executor;
use crate::failpoint;
use crate::pipeline::{BatchContext, EventTimeStats, OutputMode, Pipeline, PipelineKind};
use crate::progress::{
    EventTimeProgress, SinkProgress, SourceProgress, StateOperatorProgress, StreamingQueryProgress,
};
use crate::query::Shared;
use crate::sink::{Sink, SinkBatch};
use crate::source::{BatchInput, Offset, ReadLimit, Source, SourceMetrics};
use crate::time::Timestamp;
use crate::trigger::{Trigger, next_batch_time};
use crate::watermark::WatermarkTracker;

/// How long the default trigger waits before asking an idle source again (Spark's
/// `spark.sql.streaming.pollingDelay`).
const POLLING_DELAY: Duration = Duration::from_millis(10);

/// Everything one running query owns.
pub(crate) struct QueryRun<P, S, K>
where
    P: Pipeline,
    S: Source<Row = P::Input>,
    K: Sink<P::Output>,
{
    pub(crate) pipeline: P,
    pub(crate) source: S,
    pub(crate) sink: K,
    pub(crate) mode: OutputMode,
    pub(crate) trigger: Trigger,
    pub(crate) clock: Clock,
    pub(crate) shared: Arc<Shared>,
    pub(crate) state: EngineState<S::Offset>,
    pub(crate) checkpoint: Option<Checkpoint>,
    pub(crate) recovery: Recovery,
    /// The threads batches run on.
    pub(crate) executor: Executor,
    /// The state partitions (the checkpoint's when there is one).
    pub(crate) state_partitions: usize,
}

/// Where the query stands between batches.
#[derive(Debug, Clone)]
pub(crate) struct EngineState<O> {
    /// The id the next batch gets.
    pub(crate) batch_id: u64,
    /// The end offset of the last committed batch.
    pub(crate) committed: Option<O>,
    pub(crate) watermark: WatermarkTracker,
    /// The watermark the last batch ran under (the next batch's late-row threshold).
    pub(crate) last_batch_watermark: Option<Timestamp>,
    last_trigger_start: Option<Timestamp>,
    /// Rows the last batch emitted: the next batch's output starts with that capacity, so a
    /// steady stream allocates its output once per batch instead of growing it repeatedly.
    last_output_rows: usize,
    /// A batch recovered from the checkpoint, planned but not committed: it runs first, exactly
    /// as recorded.
    pending: Option<OffsetRecord>,
}

impl<O> EngineState<O> {
    pub(crate) fn new(info: &crate::pipeline::PipelineInfo) -> Self {
        EngineState {
            batch_id: 0,
            committed: None,
            watermark: WatermarkTracker::new(info.watermarks),
            last_batch_watermark: info.has_watermark().then_some(Timestamp::EPOCH),
            last_trigger_start: None,
            last_output_rows: 0,
            pending: None,
        }
    }
}

/// A batch about to run: what it reads and what it runs under.
struct Planned<O> {
    batch_id: u64,
    start: Option<O>,
    end: O,
    latest: Option<O>,
    has_data: bool,
    watermark: Option<Timestamp>,
    late_watermark: Option<Timestamp>,
    batch_timestamp: Timestamp,
    started: Instant,
    latest_offset_ms: u64,
}

impl<O: Offset> Planned<O> {
    fn record(&self) -> OffsetRecord {
        OffsetRecord {
            version: CHECKPOINT_VERSION,
            batch_id: self.batch_id,
            start: self.start.as_ref().map(|o| serde_json::json!(o)),
            end: serde_json::json!(self.end),
            has_data: self.has_data,
            watermark_us: self.watermark.map(Timestamp::as_micros),
            late_watermark_us: self.late_watermark.map(Timestamp::as_micros),
            batch_timestamp_us: self.batch_timestamp.as_micros(),
        }
    }

    fn from_record(record: &OffsetRecord) -> Result<Self> {
        let start = match &record.start {
            Some(v) => Some(decode_offset(v)?),
            None => None,
        };
        Ok(Planned {
            batch_id: record.batch_id,
            start,
            end: decode_offset(&record.end)?,
            latest: None,
            has_data: record.has_data,
            watermark: record.watermark_us.map(Timestamp::from_micros),
            late_watermark: record.late_watermark_us.map(Timestamp::from_micros),
            batch_timestamp: Timestamp::from_micros(record.batch_timestamp_us),
            started: Instant::now(),
            latest_offset_ms: 0,
        })
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl<P, S, K> QueryRun<P, S, K>
where
    P: Pipeline,
    S: Source<Row = P::Input>,
    K: Sink<P::Output>,
{
    /// Runs the query until it stops, finishes (`Once`, `AvailableNow`) or fails.
    pub(crate) async fn run(mut self) -> Result<()> {
        let result = match self.recover() {
            Ok(()) => self.run_triggers().await,
            Err(e) => Err(e),
        };
        self.source.stop();
        result
    }

    /// Restores the state of the last committed batch: the latest snapshot, then the committed
    /// batches after it replayed from their recorded offsets (their output was delivered
    /// before, so it is dropped). A batch planned but not committed is kept to run first.
    fn recover(&mut self) -> Result<()> {
        self.pipeline
            .configure_state(self.state_partitions, self.executor.threads());
        let recovery = std::mem::take(&mut self.recovery);
        if let Some((offsets, commit)) = recovery.committed {
            self.shared
                .set_status("Recovering state from the checkpoint", false, true);
            if P::INFO.is_stateful() {
                if let Some((_, parts)) = &recovery.snapshot {
                    self.pipeline.restore_partitions(parts)?;
                }
                for record in &recovery.replay {
                    let plan = Planned::from_record(record)?;
                    self.execute(&plan)?;
                }
                // What replaying counted was reported by the batches that first read it.
                let _ = self.source.take_metrics();
            }
            self.state.batch_id = offsets.batch_id + 1;
            self.state.committed = Some(decode_offset(&offsets.end)?);
            self.state.watermark = WatermarkTracker::restored(
                P::INFO.watermarks,
                Timestamp::from_micros(commit.next_watermark_us.unwrap_or(0)),
                &commit.node_watermarks_ms,
            );
            self.state.last_batch_watermark = offsets.watermark_us.map(Timestamp::from_micros);
        }
        self.state.pending = recovery.pending;
        Ok(())
    }

    async fn run_triggers(&mut self) -> Result<()> {
        match self.trigger {
            Trigger::Default => loop {
                if self.shared.stop_requested() {
                    return Ok(());
                }
                if !self.attempt(ReadLimit::Configured).await? {
                    self.idle(
                        self.clock
                            .now()
                            .plus_micros(POLLING_DELAY.as_micros() as i64),
                    )
                    .await;
                }
            },
            Trigger::ProcessingTime(_) => {
                let interval = self.trigger.interval_millis();
                loop {
                    if self.shared.stop_requested() {
                        return Ok(());
                    }
                    let trigger_ms = self.clock.now_millis();
                    let next = next_batch_time(trigger_ms, interval);
                    self.attempt(ReadLimit::Configured).await?;
                    self.idle(Timestamp::from_millis(next)).await;
                }
            }
            Trigger::Once => {
                self.attempt(ReadLimit::AllAvailable).await?;
                Ok(())
            }
            Trigger::AvailableNow => {
                self.source.prepare_for_available_now()?;
                self.shared
                    .set_available_now_backlog(self.source.backlog(self.state.committed.as_ref()));
                while !self.shared.stop_requested() && self.attempt(ReadLimit::Configured).await? {}
                Ok(())
            }
        }
    }

    /// Waits until the clock reads `until`, or a stop or `process_all_available` request.
    fn idle(&self, until: Timestamp) -> impl std::future::Future<Output = ()> + Send + 'static {
        // Owns what it needs, so the loop's future holds no `&self` across the wait.
        let (clock, shared) = (self.clock, Arc::clone(&self.shared));
        async move {
            if shared.stop_requested() {
                return;
            }
            tokio::select! {
                () = clock.sleep_until(until) => {}
                () = shared.wake.notified() => {}
            }
        }
    }

    /// One trigger: runs a batch if there is new data, or if the watermark moved and a
    /// stateful operator could evict (Spark's no-data batch). Returns whether a batch ran.
    async fn attempt(&mut self, limit: ReadLimit) -> Result<bool> {
        if let Some(record) = self.state.pending.take() {
            let plan = Planned::from_record(&record)?;
            self.shared
                .set_status("Processing new data", plan.has_data, true);
            self.run_batch(plan).await?;
            return Ok(true);
        }
        let requests = self.shared.all_available_requested();
        let started = Instant::now();
        let batch_timestamp = self.clock.now();
        let latest = self
            .source
            .latest_offset(self.state.committed.as_ref(), limit)?;
        let latest_offset_ms = ms(started.elapsed());
        let has_data = latest.is_some() && latest != self.state.committed;
        let info = &P::INFO;
        let watermark_moved = match self.state.last_batch_watermark {
            Some(last) => self.state.watermark.current() > last,
            None => false,
        };
        let no_data_batch = !has_data
            && self.state.batch_id > 0
            && info.wants_no_data_batch(self.mode)
            && watermark_moved;
        if !(has_data || no_data_batch) {
            self.shared.all_available_served(requests);
            self.shared
                .set_status("Waiting for data to arrive", false, false);
            self.shared.record_idle(batch_timestamp);
            return Ok(false);
        }
        let end = if has_data {
            latest.clone().expect("new data has an offset")
        } else {
            self.state
                .committed
                .clone()
                .expect("a no-data batch follows a batch")
        };
        self.shared
            .set_status("Processing new data", has_data, true);
        let plan = Planned {
            batch_id: self.state.batch_id,
            start: self.state.committed.clone(),
            end,
            latest,
            has_data,
            watermark: info.has_watermark().then(|| self.state.watermark.current()),
            late_watermark: self.state.last_batch_watermark,
            batch_timestamp,
            started,
            latest_offset_ms,
        };
        self.run_batch(plan).await?;
        self.shared
            .set_status("Waiting for next trigger", false, false);
        Ok(true)
    }

    /// Reads a planned batch and runs the pipeline over it; returns the output rows, the context
    /// (statistics) and how many rows were read, with the time spent reading.
    fn execute(
        &mut self,
        plan: &Planned<S::Offset>,
    ) -> Result<(Vec<P::Output>, BatchContext, u64, u64)> {
        let info = &P::INFO;
        let get_started = Instant::now();
        // The batch's input partitions; their rows are read as tasks get to them.
        let input = if plan.has_data {
            self.source
                .read_batch(plan.start.as_ref(), &plan.end, self.executor.read_plan())?
        } else {
            BatchInput::empty()
        };
        let get_batch_ms = ms(get_started.elapsed());
        let mut ctx = BatchContext::new(
            plan.batch_id,
            self.mode,
            plan.watermark,
            plan.late_watermark,
            plan.batch_timestamp,
            info.watermarks.len(),
        );
        let mut out = Vec::with_capacity(self.state.last_output_rows);
        let read_rows = self
            .pipeline
            .run_batch(input, &mut ctx, &mut out, &self.executor)?;
        Ok((out, ctx, read_rows, get_batch_ms))
    }

    async fn run_batch(&mut self, plan: Planned<S::Offset>) -> Result<()> {
        let info = &P::INFO;
        let wal_started = Instant::now();
        failpoint::hit("before_offsets", plan.batch_id);
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.write_offsets(&plan.record())?;
        }
        failpoint::hit("after_offsets", plan.batch_id);
        let wal_ms = ms(wal_started.elapsed());

        let add_started = Instant::now();
        let (out, ctx, read_rows, get_batch_ms) = self.execute(&plan)?;
        let num_output_rows = out.len() as u64;
        self.state.last_output_rows = out.len();
        self.sink
            .add_batch(SinkBatch {
                batch_id: plan.batch_id,
                rows: out,
                output_mode: self.mode,
            })
            .await?;
        let add_batch_ms = ms(add_started.elapsed());
        failpoint::hit("after_sink", plan.batch_id);

        let commit_started = Instant::now();
        self.source.commit(&plan.end)?;
        self.state.committed = Some(plan.end.clone());
        self.state.watermark.update(ctx.event_time_stats());
        self.state.last_batch_watermark = plan.watermark;
        self.state.batch_id = plan.batch_id + 1;
        if let Some(checkpoint) = &mut self.checkpoint {
            if info.is_stateful() && checkpoint.snapshot_due(plan.batch_id) {
                let parts = self
                    .pipeline
                    .snapshot_partitions(checkpoint.state_partitions())?;
                checkpoint.write_snapshot(plan.batch_id, &parts)?;
            }
            checkpoint.write_commit(&CommitRecord {
                version: CHECKPOINT_VERSION,
                batch_id: plan.batch_id,
                next_watermark_us: info
                    .has_watermark()
                    .then(|| self.state.watermark.current().as_micros()),
                node_watermarks_ms: self.state.watermark.node_watermarks_ms(),
            })?;
            failpoint::hit("after_commit", plan.batch_id);
            checkpoint.purge(plan.batch_id)?;
        }
        let commit_ms = ms(commit_started.elapsed());

        let num_input_rows =
            if info.has_scan_filters && self.source.counts_rows_after_scan_filters() {
                ctx.scanned_rows()
            } else {
                read_rows
            };
        // What the source counted while reading (malformed rows, files that changed), and
        // what it knows about the stream ahead (a Kafka source's lag behind the latest offsets).
        let mut source_metrics = self.source.take_metrics();
        source_metrics.custom.extend(self.source.metrics(&plan.end));
        let progress = self.progress(
            &plan,
            &ctx,
            (num_input_rows, source_metrics),
            num_output_rows,
            [get_batch_ms, add_batch_ms, wal_ms, commit_ms],
        );
        self.state.last_trigger_start = Some(plan.batch_timestamp);
        self.shared.record_progress(progress);
        Ok(())
    }

    fn progress(
        &self,
        plan: &Planned<S::Offset>,
        ctx: &BatchContext,
        (num_input_rows, source_metrics): (u64, SourceMetrics),
        num_output_rows: u64,
        [get_batch_ms, add_batch_ms, wal_ms, commit_ms]: [u64; 4],
    ) -> StreamingQueryProgress {
        let info = &P::INFO;
        let total_ms = ms(plan.started.elapsed());
        let input_rate = match self.state.last_trigger_start {
            Some(last) if plan.batch_timestamp > last => {
                num_input_rows as f64
                    / ((plan.batch_timestamp.as_micros() - last.as_micros()) as f64 / 1e6)
            }
            _ => 0.0,
        };
        let processed_rate = num_input_rows as f64 / (total_ms.max(1) as f64 / 1000.0);
        let mut stats = EventTimeStats::default();
        for s in ctx.event_time_stats() {
            stats.merge(s);
        }
        let event_time = EventTimeProgress {
            avg: stats.avg(),
            max: (stats.count > 0).then(|| Timestamp::from_micros(stats.max)),
            min: (stats.count > 0).then(|| Timestamp::from_micros(stats.min)),
            watermark: ctx.watermark(),
        };
        let metrics = ctx.metrics();
        let state_operators = match info.kind {
            PipelineKind::Stateless => Vec::new(),
            _ => vec![StateOperatorProgress {
                operator_name: info.kind.operator_name().to_string(),
                num_rows_total: self.pipeline.state_rows() as u64,
                num_rows_updated: metrics.state_rows_updated,
                num_rows_removed: metrics.state_rows_removed,
                memory_used_bytes: self.pipeline.state_bytes() as u64,
                num_rows_dropped_by_watermark: metrics.rows_dropped_by_watermark,
                custom_metrics: metrics.custom_metrics(info.kind),
            }],
        };
        let to_json = |o: &Option<S::Offset>| {
            o.as_ref()
                .map_or(serde_json::Value::Null, |o| serde_json::json!(o))
        };
        StreamingQueryProgress {
            id: self.shared.id,
            run_id: self.shared.run_id,
            name: self.shared.name.clone(),
            timestamp: plan.batch_timestamp,
            batch_id: plan.batch_id,
            batch_duration: total_ms,
            num_input_rows,
            input_rows_per_second: input_rate,
            processed_rows_per_second: processed_rate,
            duration_ms: BTreeMap::from([
                ("latestOffset".to_string(), plan.latest_offset_ms),
                ("getBatch".to_string(), get_batch_ms),
                ("addBatch".to_string(), add_batch_ms),
                ("walCommit".to_string(), wal_ms),
                ("commitOffsets".to_string(), commit_ms),
                ("triggerExecution".to_string(), total_ms),
            ]),
            event_time,
            state_operators,
            sources: vec![SourceProgress {
                description: self.source.description(),
                start_offset: to_json(&plan.start),
                end_offset: to_json(&Some(plan.end.clone())),
                latest_offset: to_json(&plan.latest),
                num_input_rows,
                input_rows_per_second: input_rate,
                processed_rows_per_second: processed_rate,
                num_malformed_rows: source_metrics.malformed_rows,
                num_malformed_rows_dropped: source_metrics.malformed_rows_dropped,
                metrics: source_metrics.custom,
                backlog: self
                    .shared
                    .backlog_progress(self.source.backlog(Some(&plan.end))),
            }],
            sink: SinkProgress {
                description: self.sink.description(),
                num_output_rows,
            },
            num_malformed_records: ctx.malformed_records(),
        }
    }
}
