//! The query's task: one thread that reads the source, runs the pipeline and writes to the sink
//! as rows arrive, and ends an epoch every interval (Spark's long-running continuous tasks,
//! with the epoch markers their readers and writers exchange).
//!
//! A thread of its own rather than a tokio task: rows are due at any microsecond (the rate
//! source's at 100 k rows/s come every 10 µs), and tokio's timers tick in milliseconds. The
//! task never blocks on the checkpoint: an ended epoch is handed to the query's
//! [`coordinator`](super::coordinator), which commits it while the next epoch's rows flow.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::batch::BatchContext;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::pipeline::{OutputMode, Pipeline};
use crate::query::Shared;
use crate::time::Timestamp;
use crate::trigger::next_batch_time;

use super::sink::{ContinuousSink, EpochCommit};
use super::source::ContinuousReader;

/// The longest a read waits before the task looks at a stop request again.
const STOP_CHECK: Duration = Duration::from_millis(10);

/// How many ended epochs may wait for their commit (Spark's
/// `spark.sql.streaming.continuous.epochBacklogQueueSize`).
pub(crate) const EPOCH_BACKLOG: usize = 10_000;

/// An epoch the task ended, for the coordinator to commit.
pub(crate) struct EndedEpoch<O> {
    pub(crate) epoch: u64,
    /// Where it started (the previous epoch's end; `None` for a new query's first).
    pub(crate) start: Option<O>,
    pub(crate) end: O,
    /// Whether the reader's position moved during the epoch (it read rows, or skipped over
    /// empty batches of a memory stream).
    pub(crate) has_data: bool,
    /// When it started and ended, on the query's clock, and when it started on the monotonic
    /// clock (for durations).
    pub(crate) started_at: Timestamp,
    pub(crate) ended_at: Timestamp,
    pub(crate) started: Instant,
    pub(crate) input_rows: u64,
    pub(crate) output_rows: u64,
    /// Time spent running the pipeline and writing to the sink (the rest was waiting for rows).
    pub(crate) busy: Duration,
    /// Payloads the query's `parse` clauses found malformed.
    pub(crate) malformed_records: u64,
    /// `process_all_available` calls made before the epoch started.
    pub(crate) all_available_requests: u64,
    /// What completes the epoch at the sink.
    pub(crate) commit: EpochCommit,
}

/// What the task tells the coordinator.
pub(crate) enum Event<O> {
    /// An epoch ended.
    Epoch(EndedEpoch<O>),
    /// The task finished: stopped (after ending its last epoch), halted, or failed.
    Finished(Result<()>),
}

/// Everything the task owns.
pub(crate) struct Task<P, R, K>
where
    R: ContinuousReader,
{
    pub(crate) pipeline: P,
    pub(crate) reader: R,
    pub(crate) sink: K,
    pub(crate) mode: OutputMode,
    pub(crate) interval: Duration,
    pub(crate) clock: Clock,
    pub(crate) shared: Arc<Shared>,
    /// Set by the coordinator when it failed: stop at once, ending no epoch.
    pub(crate) halt: Arc<AtomicBool>,
    /// The epoch to run next, and where it starts.
    pub(crate) epoch: u64,
    pub(crate) start: Option<R::Position>,
    pub(crate) events: mpsc::Sender<Event<R::Position>>,
    /// Epochs the coordinator committed, by their end position.
    pub(crate) committed: std_mpsc::Receiver<R::Position>,
}

impl<P, R, K> Task<P, R, K>
where
    P: Pipeline,
    R: ContinuousReader<Row = P::Input>,
    K: ContinuousSink<P::Output>,
{
    /// Runs epochs until the query stops or fails; runs on the task's thread.
    pub(crate) fn run(mut self) {
        precise_sleeps();
        let result = self.run_epochs();
        // The coordinator drains the queue until this message, so it is always received.
        let _ = self.events.blocking_send(Event::Finished(result));
    }

    fn run_epochs(&mut self) -> Result<()> {
        let interval_ms = self.interval.as_millis().max(1) as i64;
        let mut input = Vec::new();
        let mut output = Vec::new();
        loop {
            let requests = self.shared.all_available_requested();
            let began = self.reader.position();
            let started = Instant::now();
            let started_at = self.clock.now();
            // Epochs end at multiples of the interval, as Spark's trigger executor fires.
            let now_ms = started_at.as_millis();
            let deadline = started
                + Duration::from_millis((next_batch_time(now_ms, interval_ms) - now_ms) as u64);
            let mut ctx = BatchContext::new(self.epoch, self.mode, None, None, started_at, 0);
            let (mut input_rows, mut output_rows, mut busy) = (0u64, 0u64, Duration::ZERO);
            self.sink.begin_epoch(self.epoch)?;
            let stopping = loop {
                if self.halt.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let stop = self.shared.stop_requested();
                let now = Instant::now();
                if stop || now >= deadline {
                    break stop;
                }
                self.reader
                    .poll(deadline.min(now + STOP_CHECK), &mut input)?;
                if input.is_empty() {
                    continue;
                }
                let processing = Instant::now();
                self.pipeline.process(&input, &mut ctx, &mut output)?;
                input_rows += input.len() as u64;
                output_rows += output.len() as u64;
                input.clear();
                self.sink.write_rows(&mut output)?;
                output.clear();
                busy += processing.elapsed();
            };
            let end = self.reader.position();
            let commit = self.sink.end_epoch(self.epoch)?;
            self.reader.end_epoch()?;
            let ended = EndedEpoch {
                epoch: self.epoch,
                start: self.start.take(),
                has_data: end != began,
                end: end.clone(),
                started_at,
                ended_at: self.clock.now(),
                started,
                input_rows,
                output_rows,
                busy,
                malformed_records: ctx.malformed_records(),
                all_available_requests: requests,
                commit,
            };
            if self.events.try_send(Event::Epoch(ended)).is_err() {
                // Full (the coordinator fell `EPOCH_BACKLOG` epochs behind) or gone (it failed
                // and stopped listening, which `halt` reports on the next turn).
                if !self.halt.load(Ordering::SeqCst) {
                    return Err(Error::Execution {
                        class: "INTERNAL_ERROR",
                        message: "Size of the epoch queue has exceeded its maximum".into(),
                    });
                }
                return Ok(());
            }
            while let Ok(committed) = self.committed.try_recv() {
                self.reader.commit(&committed)?;
            }
            if stopping {
                return Ok(());
            }
            self.epoch += 1;
            self.start = Some(end);
        }
    }
}

/// Asks the kernel to wake the task's sleeps on time: Linux lets a sleeping thread oversleep by
/// its timer slack (50 µs by default) to batch wake-ups; a reader waiting for a row due in
/// 10 µs should not. Best effort, and a no-op elsewhere.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
    }
}
