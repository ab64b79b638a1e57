//! The epoch coordinator (Spark's `EpochCoordinator` and the commit half of
//! `ContinuousExecution`): commits the epochs the task ends, one after the other, and reports
//! each one's progress.
//!
//! For epoch N: write `offsets/N` (where the epoch started and ended), complete the sink's
//! [`EpochCommit`](super::EpochCommit) (print, add to the memory table, wait for Kafka's
//! acknowledgements), write `commits/N`, tell the task's reader (the socket source drops the
//! lines), record the progress. The task meanwhile runs the next epochs; a restart resumes
//! after the last epoch whose commit was written.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::checkpoint::{CHECKPOINT_VERSION, Checkpoint, CommitRecord, OffsetRecord};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::progress::{EventTimeProgress, SinkProgress, SourceProgress, StreamingQueryProgress};
use crate::query::Shared;
use crate::source::Offset;

use super::sink::EpochCommit;
use super::task::{EndedEpoch, Event};

/// What the coordinator owns.
pub(crate) struct Coordinator<O> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) checkpoint: Option<Checkpoint>,
    pub(crate) source_description: String,
    pub(crate) sink_description: String,
    /// Tells the task which epochs committed.
    pub(crate) committed: std_mpsc::Sender<O>,
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn json<O: Offset>(o: Option<&O>) -> serde_json::Value {
    o.map_or(serde_json::Value::Null, |o| serde_json::json!(o))
}

impl<O: Offset> Coordinator<O> {
    /// Commits epochs until the task finishes; then waits for its thread, so it never outlives
    /// the query. A failure here halts the task first.
    pub(crate) async fn run(
        mut self,
        mut events: mpsc::Receiver<Event<O>>,
        halt: Arc<AtomicBool>,
        thread: JoinHandle<()>,
    ) -> Result<()> {
        let mut finished = false;
        let result = loop {
            match events.recv().await {
                Some(Event::Epoch(epoch)) => {
                    if let Err(e) = self.commit(epoch).await {
                        break Err(e);
                    }
                }
                Some(Event::Finished(result)) => {
                    finished = true;
                    break result;
                }
                // The task's thread ended without a word: it panicked (see below).
                None => {
                    finished = true;
                    break Ok(());
                }
            }
        };
        if !finished {
            halt.store(true, Ordering::SeqCst);
            while let Some(event) = events.recv().await {
                if matches!(event, Event::Finished(_)) {
                    break;
                }
            }
        }
        let joined = tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|e| internal(format!("the continuous task could not be joined: {e}")))?;
        if let Err(payload) = joined {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            return Err(internal(format!("the query panicked: {msg}")));
        }
        result
    }

    async fn commit(&mut self, mut epoch: EndedEpoch<O>) -> Result<()> {
        let id = epoch.epoch;
        let has_data = epoch.has_data;
        failpoint::hit("before_offsets", id);
        let wal_started = Instant::now();
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.write_offsets(&OffsetRecord {
                version: CHECKPOINT_VERSION,
                batch_id: id,
                start: epoch.start.as_ref().map(|o| serde_json::json!(o)),
                end: serde_json::json!(epoch.end),
                has_data,
                watermark_us: None,
                late_watermark_us: None,
                batch_timestamp_us: epoch.started_at.as_micros(),
            })?;
        }
        let wal_ms = ms(wal_started.elapsed());
        failpoint::hit("after_offsets", id);

        let sink_started = Instant::now();
        std::mem::replace(&mut epoch.commit, EpochCommit::done())
            .complete()
            .await?;
        let sink_ms = ms(sink_started.elapsed());
        failpoint::hit("after_sink", id);

        let commit_started = Instant::now();
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.write_commit(&CommitRecord {
                version: CHECKPOINT_VERSION,
                batch_id: id,
                next_watermark_us: None,
                node_watermarks_ms: Vec::new(),
            })?;
            failpoint::hit("after_commit", id);
            checkpoint.purge(id)?;
        }
        let commit_ms = ms(commit_started.elapsed());
        // The task may have finished already (a stop): then nothing is left to trim.
        let _ = self.committed.send(epoch.end.clone());

        if has_data {
            let progress = self.progress(&epoch, [wal_ms, sink_ms, commit_ms]);
            self.shared.record_progress(progress);
        } else {
            // Nothing new arrived during the epoch: what was there when it started is
            // processed and committed.
            self.shared
                .all_available_served(epoch.all_available_requests);
            self.shared.record_idle(epoch.started_at);
        }
        Ok(())
    }

    fn progress(
        &self,
        epoch: &EndedEpoch<O>,
        [wal_ms, sink_ms, commit_ms]: [u64; 3],
    ) -> StreamingQueryProgress {
        let total_ms = ms(epoch.started.elapsed());
        // Rows arrived over the epoch; they were processed in the time the task was busy.
        let input_seconds =
            (epoch.ended_at.as_micros() - epoch.started_at.as_micros()) as f64 / 1e6;
        let rows = epoch.input_rows as f64;
        let input_rate = if input_seconds > 0.0 {
            rows / input_seconds
        } else {
            0.0
        };
        let busy = epoch.busy.as_secs_f64();
        let processed_rate = if busy > 0.0 { rows / busy } else { 0.0 };
        StreamingQueryProgress {
            id: self.shared.id,
            run_id: self.shared.run_id,
            name: self.shared.name.clone(),
            timestamp: epoch.started_at,
            batch_id: epoch.epoch,
            batch_duration: total_ms,
            num_input_rows: epoch.input_rows,
            input_rows_per_second: input_rate,
            processed_rows_per_second: processed_rate,
            duration_ms: BTreeMap::from([
                ("processing".to_string(), ms(epoch.busy)),
                ("walCommit".to_string(), wal_ms),
                ("addBatch".to_string(), sink_ms),
                ("commitOffsets".to_string(), commit_ms),
                ("triggerExecution".to_string(), total_ms),
            ]),
            event_time: EventTimeProgress::default(),
            state_operators: Vec::new(),
            sources: vec![SourceProgress {
                description: self.source_description.clone(),
                start_offset: json(epoch.start.as_ref()),
                end_offset: json(Some(&epoch.end)),
                latest_offset: serde_json::Value::Null,
                num_input_rows: epoch.input_rows,
                input_rows_per_second: input_rate,
                processed_rows_per_second: processed_rate,
                num_malformed_rows: 0,
                num_malformed_rows_dropped: 0,
                metrics: BTreeMap::new(),
                backlog: None,
            }],
            sink: SinkProgress {
                description: self.sink_description.clone(),
                num_output_rows: epoch.output_rows,
            },
            num_malformed_records: epoch.malformed_records,
        }
    }
}

fn internal(message: String) -> Error {
    Error::Execution {
        class: "INTERNAL_ERROR",
        message,
    }
}
