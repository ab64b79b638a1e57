//! Query listeners (Spark's `StreamingQueryListener`), `explain()`, and the backlog an
//! available-now run reports: real queries, real events, exact values.
//!
//! The listeners of a process hear every query of it, and the tests of this file run at once,
//! so each test looks only at the events of its own query runs.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use sluice::listener::{
    QueryIdleEvent, QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent,
};
use sluice::prelude::*;
use sluice::source::BacklogUnit;
use uuid::Uuid;

mod common;
use common::{at, clock_at};

sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temperature: f64 }

    /// Readings per room in 10-second windows, final 10 s after a window ends.
    query RoomWindows from Reading {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), room;
        aggregate n = count(), avg_temp = avg(temperature);
        select room, start = window.start, n, avg_temp;
    }

    /// Readings above 25 °C.
    query HotReadings from Reading {
        where temperature > 25;
        select ts, room, temperature;
    }

    /// Fails with DIVIDE_BY_ZERO on a reading of 0 °C.
    query Inverse from Reading {
        select room, inverse = 1 / temperature;
    }
}

fn reading(secs: i64, room: &str, temperature: f64) -> Reading {
    Reading {
        ts: at("10:00:00").plus_micros(secs * 1_000_000),
        room: room.to_string(),
        temperature,
    }
}

/// What a listener heard.
#[derive(Debug, Clone)]
enum Heard {
    Started(QueryStartedEvent),
    Progress(QueryProgressEvent),
    Idle(QueryIdleEvent),
    Terminated(QueryTerminatedEvent),
}

impl Heard {
    fn run_id(&self) -> Uuid {
        match self {
            Heard::Started(e) => e.run_id,
            Heard::Progress(e) => e.progress.run_id,
            Heard::Idle(e) => e.run_id,
            Heard::Terminated(e) => e.run_id,
        }
    }
}

/// A listener that records every event, and lets a test wait for one.
#[derive(Debug, Default)]
struct Recorder {
    heard: Mutex<Vec<Heard>>,
    changed: Condvar,
}

impl Recorder {
    fn add() -> Arc<Recorder> {
        let recorder = Arc::new(Recorder::default());
        sluice::streams().add_listener(recorder.clone());
        recorder
    }

    fn push(&self, heard: Heard) {
        self.heard.lock().unwrap().push(heard);
        self.changed.notify_all();
    }

    /// The events of `run_id` so far.
    fn of(&self, run_id: Uuid) -> Vec<Heard> {
        let heard = self.heard.lock().unwrap();
        heard
            .iter()
            .filter(|h| h.run_id() == run_id)
            .cloned()
            .collect()
    }

    /// The events of `run_id` once its termination has been heard (events are delivered on
    /// the listener thread, after the query's own bookkeeping).
    fn until_terminated(&self, run_id: Uuid) -> Vec<Heard> {
        let heard = self.heard.lock().unwrap();
        let (heard, timeout) = self
            .changed
            .wait_timeout_while(heard, Duration::from_secs(30), |h| {
                !h.iter()
                    .any(|e| matches!(e, Heard::Terminated(t) if t.run_id == run_id))
            })
            .unwrap();
        assert!(!timeout.timed_out(), "no termination heard for {run_id}");
        heard
            .iter()
            .filter(|h| h.run_id() == run_id)
            .cloned()
            .collect()
    }
}

impl StreamingQueryListener for Recorder {
    fn on_query_started(&self, event: &QueryStartedEvent) {
        self.push(Heard::Started(event.clone()));
    }
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        self.push(Heard::Progress(event.clone()));
    }
    fn on_query_idle(&self, event: &QueryIdleEvent) {
        self.push(Heard::Idle(event.clone()));
    }
    fn on_query_terminated(&self, event: &QueryTerminatedEvent) {
        self.push(Heard::Terminated(event.clone()));
    }
}

#[tokio::test]
async fn listeners_hear_start_then_each_progress_then_termination() {
    let recorder = Recorder::add();
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data([reading(1, "a", 21.0), reading(2, "b", 22.0)]);
    stream.add_data([reading(3, "a", 23.0)]);
    stream.add_data([reading(30, "a", 24.0)]);
    let q = RoomWindows::read_stream(stream)
        .write_stream()
        .output_mode(Append)
        .query_name("listened")
        .trigger(Trigger::AvailableNow)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    // `on_query_started` ran inside `start()`.
    match q_events(&recorder, &q).as_slice() {
        [Heard::Started(e)] => {
            assert_eq!(e.id, q.id());
            assert_eq!(e.name.as_deref(), Some("listened"));
            assert_eq!(e.timestamp, q.start_timestamp());
        }
        other => panic!("expected the start event alone, got {other:?}"),
    }
    q.await_termination().await.unwrap();
    let heard = recorder.until_terminated(q.run_id());
    let progress: Vec<_> = heard
        .iter()
        .filter_map(|h| match h {
            Heard::Progress(e) => Some(e.progress.clone()),
            _ => None,
        })
        .collect();
    let recent = q.recent_progress();
    assert_eq!(recent.len(), 4, "three data batches and a no-data batch");
    assert_eq!(progress.len(), recent.len());
    for (heard, kept) in progress.iter().zip(&recent) {
        assert!(
            Arc::ptr_eq(heard, kept),
            "the event carries the handle's report"
        );
    }
    assert!(matches!(heard.first(), Some(Heard::Started(_))));
    match heard.last() {
        Some(Heard::Terminated(e)) => {
            assert_eq!(e.id, q.id());
            assert_eq!(e.exception, None);
            assert_eq!(e.error_class_on_exception, None);
        }
        other => panic!("expected the termination last, got {other:?}"),
    }
    assert!(
        !heard.iter().any(|h| matches!(h, Heard::Idle(_))),
        "an available-now run that always had work is never idle"
    );
    let as_dyn: Arc<dyn StreamingQueryListener> = recorder;
    assert!(sluice::streams().remove_listener(&as_dyn));
}

fn q_events(recorder: &Recorder, q: &StreamingQuery) -> Vec<Heard> {
    recorder.of(q.run_id())
}

#[tokio::test]
async fn a_failed_query_reports_its_error_to_listeners() {
    let recorder = Recorder::add();
    let stream = MemoryStream::<Reading>::new();
    let q = Inverse::read_stream(stream.clone())
        .write_stream()
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    stream.add_data([reading(0, "a", 0.0)]);
    let err = q.await_termination().await.unwrap_err();
    let heard = recorder.until_terminated(q.run_id());
    let Some(Heard::Terminated(e)) = heard.last() else {
        panic!("expected the termination last, got {heard:?}");
    };
    assert_eq!(e.exception, Some(err.cause.to_string()));
    assert!(
        e.exception
            .as_deref()
            .unwrap()
            .starts_with("[DIVIDE_BY_ZERO]"),
        "{:?}",
        e.exception
    );
    assert_eq!(
        e.error_class_on_exception.as_deref(),
        Some("DIVIDE_BY_ZERO")
    );
    assert!(Arc::ptr_eq(e.error.as_ref().unwrap(), &err.cause));
    assert!(
        !heard.iter().any(|h| matches!(h, Heard::Progress(_))),
        "the failed batch made no progress"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_events_come_first_then_every_ten_seconds_without_a_batch() {
    let recorder = Recorder::add();
    let stream = MemoryStream::<Reading>::new();
    let t0 = at("10:00:00");
    let q = HotReadings::read_stream(stream.clone())
        .write_stream()
        .clock(clock_at("10:00:00"))
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(25)).await;
    stream.add_data([reading(0, "a", 30.0)]);
    tokio::time::sleep(Duration::from_secs(20)).await;
    q.stop().await;
    let heard = recorder.until_terminated(q.run_id());
    let idle: Vec<Timestamp> = heard
        .iter()
        .filter_map(|h| match h {
            Heard::Idle(e) => Some(e.timestamp),
            _ => None,
        })
        .collect();
    let batch = q.last_progress().expect("the pushed batch ran");
    assert_eq!(q.recent_progress().len(), 1);
    // The first idle trigger, then 10 s apart; after the batch, 10 s after it ended.
    assert_eq!(
        idle,
        [
            t0,
            t0.plus_micros(10_000_000),
            t0.plus_micros(20_000_000),
            batch
                .timestamp
                .plus_micros((batch.batch_duration as i64 + 10_000) * 1_000),
        ]
    );
    assert!(batch.timestamp >= t0.plus_micros(25_000_000));
    let ids: Vec<Uuid> = heard
        .iter()
        .filter_map(|h| match h {
            Heard::Idle(e) => Some(e.id),
            _ => None,
        })
        .collect();
    assert!(ids.iter().all(|&id| id == q.id()));
}

#[tokio::test]
async fn explain_shows_the_runtime_side_and_the_compiled_plan() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("rooms");
    let q = RoomWindows::read_stream(MemoryStream::<Reading>::new())
        .write_stream()
        .output_mode(Update)
        .query_name("rooms")
        .trigger(Trigger::processing_time("5 seconds").unwrap())
        .checkpoint_location(&checkpoint)
        .snapshot_interval(3)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    let expected = format!(
        "== Streaming query `rooms` (RoomWindows) ==
Source:      MemoryStream[ts,room,temperature]
Sink:        ForeachBatchSink
Output mode: Update
Trigger:     ProcessingTime(5 seconds)
Checkpoint:  {} (a state snapshot every 3 batches)
State:       aggregation, finished groups evicted by the watermark
Watermark:   ts, 10 seconds
== Compiled plan ==
{}
",
        checkpoint.display(),
        <RoomWindows as Pipeline>::INFO.plan
    );
    assert_eq!(q.explain().to_string(), expected);
    assert!(q.explain().compiled_plan.contains("RoomWindows"));
    q.stop().await;

    let stateless = HotReadings::read_stream(MemoryStream::<Reading>::new())
        .write_stream()
        .format(MemorySink::new())
        .query_name("hot")
        .start()
        .unwrap();
    let text = stateless.explain().to_string();
    assert!(
        text.contains("\nSink:        MemorySink\nOutput mode: Append\nTrigger:     Default\nCheckpoint:  none\nState:       none (stateless)\nWatermark:   none\n"),
        "{text}"
    );
    stateless.stop().await;
}

/// `(pending, done, total)` of each batch's first source.
fn backlogs(q: &StreamingQuery) -> Vec<(BacklogUnit, u64, Option<u64>, Option<u64>)> {
    q.recent_progress()
        .iter()
        .map(|p| {
            let b = p.sources[0].backlog.as_ref().expect("a backlog");
            (b.backlog.unit, b.backlog.pending, b.done, b.total)
        })
        .collect()
}

#[tokio::test]
async fn an_available_now_run_reports_the_rows_done_of_its_backlog() {
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data((0..3).map(|i| reading(i, "a", 30.0)));
    stream.add_data((0..2).map(|i| reading(i, "b", 30.0)));
    stream.add_data((0..5).map(|i| reading(i, "c", 30.0)));
    let q = HotReadings::read_stream(stream)
        .write_stream()
        .trigger(Trigger::AvailableNow)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    q.await_termination().await.unwrap();
    let rows = BacklogUnit::Rows;
    assert_eq!(
        backlogs(&q),
        [
            (rows, 7, Some(3), Some(10)),
            (rows, 5, Some(5), Some(10)),
            (rows, 0, Some(10), Some(10)),
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&q.last_progress().unwrap().json()).unwrap();
    assert_eq!(
        json["sources"][0]["backlog"],
        serde_json::json!({"unit": "rows", "pending": 0, "done": 10, "total": 10})
    );
    assert_eq!(json["sources"][0]["numMalformedRows"], 0);
}

fn write_csv_files(dir: &std::path::Path, n: usize) {
    for i in 0..n {
        std::fs::write(
            dir.join(format!("{i:02}.csv")),
            format!("2024-01-01T10:00:{i:02}Z,room{i},{}\n", 20 + i),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn an_available_now_run_over_files_reports_the_files_done() {
    let dir = tempfile::tempdir().unwrap();
    write_csv_files(dir.path(), 5);
    let source = FileSource::<Reading>::csv(dir.path())
        .max_files_per_trigger(2)
        .settle_time(Duration::ZERO);
    let q = HotReadings::read_stream(source)
        .write_stream()
        .trigger(Trigger::AvailableNow)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    q.await_termination().await.unwrap();
    let files = BacklogUnit::Files;
    assert_eq!(
        backlogs(&q),
        [
            (files, 3, Some(2), Some(5)),
            (files, 1, Some(4), Some(5)),
            (files, 0, Some(5), Some(5)),
        ]
    );
}

#[tokio::test]
async fn a_running_file_query_reports_files_not_read_yet() {
    let dir = tempfile::tempdir().unwrap();
    write_csv_files(dir.path(), 5);
    let source = FileSource::<Reading>::csv(dir.path())
        .max_files_per_trigger(2)
        .settle_time(Duration::ZERO);
    let q = HotReadings::read_stream(source)
        .write_stream()
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    q.process_all_available().await.unwrap();
    let files = BacklogUnit::Files;
    // No available-now run: what is left, with no total.
    assert_eq!(
        backlogs(&q),
        [
            (files, 3, None, None),
            (files, 1, None, None),
            (files, 0, None, None)
        ]
    );
    q.stop().await;
}
