//! Continuous processing (`Trigger::continuous`): rows reach the sink as they arrive, epochs are
//! written to the checkpoint and committed, a restart resumes after the last committed epoch
//! (reading an uncommitted one again), and the query reports, stops and fails like any other.
//!
//! These tests run on real time (a continuous query's task is a thread reading the system's
//! clock); they wait for what they check, never for a fixed time, except where a test shows that
//! nothing more arrives.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice::listener::{QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent};
use sluice::prelude::*;
use sluice::sink::foreach::ForeachError;

sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temperature: f64 }

    /// The seed's alert, over readings pushed into a memory stream.
    query Alerts from Reading {
        where temperature > 25;
        select ts, room, temperature, alert = "HIGH TEMPERATURE ALERT";
    }

    /// The socket's lines, upper-cased, with their length.
    query Shouted from TextLine {
        select line = upper(value), n = length(value);
    }

    /// The words of each reading's room name, one row each (Spark's checker rejects `explode`
    /// continuously; Sluice runs it, see docs/continuous.md).
    query RoomWords from Reading {
        select ts, word = explode(split(room, " ")), temperature;
        where word != "";
    }

    /// The static side of a stream-static join: the floor of each room.
    table Room { name: String, floor: i64 }

    /// Each reading with its room's floor (Spark's checker rejects joins continuously; Sluice
    /// runs a stream-static join, a per-row lookup, see docs/continuous.md).
    query Located from Reading join Room on room == name {
        select ts, room, floor, temperature;
    }

    /// The rate source's rows, as they come.
    query Counted from Rate {
        select timestamp, value, even = value % 2 == 0;
    }
}

fn reading(second: i64, room: &str, temperature: f64) -> Reading {
    Reading {
        ts: Timestamp::parse("2024-01-01T10:00:00Z")
            .unwrap()
            .plus_micros(second * 1_000_000),
        room: room.into(),
        temperature,
    }
}

fn alert(second: i64, room: &str, temperature: f64) -> AlertsRow {
    let r = reading(second, room, temperature);
    AlertsRow {
        ts: r.ts,
        room: r.room,
        temperature: r.temperature,
        alert: "HIGH TEMPERATURE ALERT".into(),
    }
}

/// Waits until `done` holds, for 30 s at most.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A `foreach` writer collecting every row, with the epoch it came in.
#[derive(Clone)]
struct Collect<R> {
    rows: Arc<Mutex<Vec<(u64, R)>>>,
    epoch: u64,
}

impl<R> Default for Collect<R> {
    fn default() -> Self {
        Collect {
            rows: Arc::default(),
            epoch: 0,
        }
    }
}

impl<R> Collect<R> {
    fn rows(&self) -> Vec<R>
    where
        R: Clone,
    {
        self.rows
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }
}

impl<R: Send + 'static> sluice::sink::ForeachWriter<R> for Collect<R> {
    fn open(&mut self, _partition_id: u64, epoch_id: u64) -> Result<bool, ForeachError> {
        self.epoch = epoch_id;
        Ok(true)
    }
    fn process(&mut self, row: R) -> Result<(), ForeachError> {
        self.rows.lock().unwrap().push((self.epoch, row));
        Ok(())
    }
}

/// The checkpoint's offset log: epoch → (start, end, has data).
fn offset_log(dir: &Path) -> BTreeMap<u64, (serde_json::Value, serde_json::Value, bool)> {
    fs::read_dir(dir.join("offsets"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let id: u64 = e.file_name().to_str().unwrap().parse().unwrap();
            let record: serde_json::Value =
                serde_json::from_slice(&fs::read(e.path()).unwrap()).unwrap();
            (
                id,
                (
                    record["start"].clone(),
                    record["end"].clone(),
                    record["has_data"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

/// The epochs with a commit record.
fn commits(dir: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = fs::read_dir(dir.join("commits"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn continuous(interval: &str) -> sluice::trigger::ContinuousTrigger {
    Trigger::continuous(interval).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_reach_the_sink_as_they_arrive_exactly() {
    let input = MemoryStream::<Reading>::new();
    let out = Collect::<AlertsRow>::default();
    // Epochs of an hour: every row below arrives within the first one, so what the writer
    // sees is the pipeline's work row by row, not an epoch's commit.
    let query = Alerts::read_stream(input.clone())
        .write_stream()
        .foreach(out.clone())
        .trigger(continuous("1 hour"))
        .start()
        .unwrap();
    input.add_data([reading(0, "a", 20.0), reading(1, "b", 30.0)]);
    eventually("the first alert", || out.rows().len() == 1).await;
    assert_eq!(out.rows(), [alert(1, "b", 30.0)]);
    input.add_data([reading(2, "c", 26.5), reading(3, "a", 25.0)]);
    input.add_data([]);
    input.add_data([reading(4, "a", 99.0)]);
    eventually("the other alerts", || out.rows().len() == 3).await;
    assert_eq!(
        out.rows(),
        [
            alert(1, "b", 30.0),
            alert(2, "c", 26.5),
            alert(4, "a", 99.0)
        ]
    );
    // All of it in the first epoch, which is still open: nothing was reported yet.
    assert!(
        out.rows
            .lock()
            .unwrap()
            .iter()
            .all(|(epoch, _)| *epoch == 0)
    );
    assert!(query.last_progress().is_none());
    assert!(query.is_active());
    query.stop().await;
    assert!(!query.is_active());
    // Stopping ended and committed the epoch: its progress counts every row.
    let last = query.last_progress().expect("the stopped epoch's progress");
    assert_eq!(last.batch_id, 0);
    assert_eq!(last.num_input_rows, 5);
    assert_eq!(last.sink.num_output_rows, 3);
    assert_eq!(last.sources[0].start_offset, serde_json::Value::Null);
    assert_eq!(last.sources[0].end_offset, serde_json::json!(4));
    assert!(query.exception().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exploded_column_gives_its_rows_as_each_input_row_arrives() {
    let input = MemoryStream::<Reading>::new();
    let out = Collect::<RoomWordsRow>::default();
    let query = RoomWords::read_stream(input.clone())
        .write_stream()
        .foreach(out.clone())
        .trigger(continuous("1 hour"))
        .start()
        .unwrap();
    let word = |second: i64, word: &str, temperature: f64| RoomWordsRow {
        ts: reading(second, "", temperature).ts,
        word: word.into(),
        temperature,
    };
    input.add_data([reading(0, "north  hall", 20.0), reading(1, "", 21.0)]);
    eventually("the first words", || out.rows().len() == 2).await;
    assert_eq!(out.rows(), [word(0, "north", 20.0), word(0, "hall", 20.0)]);
    input.add_data([reading(2, "attic", 22.5)]);
    eventually("the next word", || out.rows().len() == 3).await;
    assert_eq!(out.rows()[2], word(2, "attic", 22.5));
    query.stop().await;
    let last = query.last_progress().expect("the stopped epoch's progress");
    assert_eq!((last.num_input_rows, last.sink.num_output_rows), (3, 3));
    assert!(query.exception().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_static_join_gives_each_match_as_its_row_arrives() {
    let input = MemoryStream::<Reading>::new();
    let out = Collect::<LocatedRow>::default();
    let rooms = vec![
        Room {
            name: "attic".into(),
            floor: 3,
        },
        Room {
            name: "cellar".into(),
            floor: -1,
        },
    ];
    let query = Located::read_stream(input.clone())
        .with_table(rooms)
        .write_stream()
        .foreach(out.clone())
        .trigger(continuous("1 hour"))
        .start()
        .unwrap();
    let located = |second: i64, room: &str, floor: i64, temperature: f64| LocatedRow {
        ts: reading(second, room, temperature).ts,
        room: room.into(),
        floor,
        temperature,
    };
    input.add_data([reading(0, "attic", 20.0), reading(1, "garage", 21.0)]);
    eventually("the first match", || out.rows().len() == 1).await;
    assert_eq!(out.rows(), [located(0, "attic", 3, 20.0)]);
    input.add_data([reading(2, "cellar", 12.5)]);
    eventually("the next match", || out.rows().len() == 2).await;
    assert_eq!(out.rows()[1], located(2, "cellar", -1, 12.5));
    query.stop().await;
    let last = query.last_progress().expect("the stopped epoch's progress");
    assert_eq!((last.num_input_rows, last.sink.num_output_rows), (3, 2));
    assert!(query.exception().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_sink_gets_each_epoch_when_it_commits() {
    let input = MemoryStream::<Reading>::new();
    let query = Alerts::read_stream(input.clone())
        .write_stream()
        .format(MemorySink::new())
        .query_name("continuous_alerts")
        .trigger(continuous("50 milliseconds"))
        .start()
        .unwrap();
    let table = sluice::sink::memory::table::<AlertsRow>("continuous_alerts").unwrap();
    input.add_data([reading(0, "a", 20.0), reading(1, "b", 30.0)]);
    query.process_all_available().await.unwrap();
    assert_eq!(table.rows(), [alert(1, "b", 30.0)]);
    input.add_data([reading(2, "c", 26.5)]);
    input.add_data([reading(3, "d", 31.0)]);
    query.process_all_available().await.unwrap();
    assert_eq!(
        table.rows(),
        [
            alert(1, "b", 30.0),
            alert(2, "c", 26.5),
            alert(3, "d", 31.0)
        ]
    );
    // Each epoch that read data reported its progress, with consecutive offsets.
    let recent = query.recent_progress();
    assert_eq!(recent.iter().map(|p| p.num_input_rows).sum::<u64>(), 4);
    assert_eq!(
        recent.iter().map(|p| p.sink.num_output_rows).sum::<u64>(),
        3
    );
    for pair in recent.windows(2) {
        assert!(pair[0].batch_id < pair[1].batch_id);
        assert_eq!(
            pair[1].sources[0].start_offset,
            pair[0].sources[0].end_offset
        );
    }
    assert_eq!(
        recent.last().unwrap().sources[0].end_offset,
        serde_json::json!(3)
    );
    query.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epochs_are_checkpointed_and_a_restart_resumes_after_the_last_committed() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let input = MemoryStream::<Reading>::new();
    let start = |name: &str| {
        Alerts::read_stream(input.clone())
            .write_stream()
            .format(MemorySink::new())
            .query_name(name)
            .checkpoint_location(&checkpoint)
            .trigger(continuous("50 milliseconds"))
            .start()
            .unwrap()
    };
    let first = start("checkpointed_first");
    input.add_data([reading(1, "b", 30.0)]);
    input.add_data([reading(2, "c", 26.5)]);
    first.process_all_available().await.unwrap();
    first.stop().await;
    let log = offset_log(&checkpoint);
    let epochs: Vec<u64> = log.keys().copied().collect();
    // Every epoch is logged, then committed; consecutive, each starting where the one before
    // ended; the last ends after the second batch.
    assert_eq!(commits(&checkpoint), epochs);
    assert_eq!(epochs, (0..epochs.len() as u64).collect::<Vec<_>>());
    assert_eq!(log[&0].0, serde_json::Value::Null);
    for pair in epochs.windows(2) {
        assert_eq!(log[&pair[1]].0, log[&pair[0]].1);
    }
    let last = *epochs.last().unwrap();
    assert_eq!(log[&last].1, serde_json::json!(2));
    assert_eq!(
        log.values().filter(|(_, _, has_data)| *has_data).count() as u64,
        first.recent_progress().len() as u64,
        "an epoch with data is one progress report"
    );

    // A restart reads only what came after the last committed epoch, in new epochs.
    input.add_data([reading(3, "d", 31.0), reading(4, "e", 10.0)]);
    let second = start("checkpointed_second");
    assert_eq!(second.id(), first.id(), "the query id survives a restart");
    second.process_all_available().await.unwrap();
    let table = sluice::sink::memory::table::<AlertsRow>("checkpointed_second").unwrap();
    assert_eq!(table.rows(), [alert(3, "d", 31.0)]);
    let resumed = &second.recent_progress()[0];
    assert!(
        resumed.batch_id > last,
        "epoch ids go on from the checkpoint"
    );
    assert_eq!(resumed.sources[0].start_offset, serde_json::json!(2));
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_that_did_not_commit_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let input = MemoryStream::<Reading>::new();
    // Runs the query until its writer has `n` alerts, then stops it.
    let run = |n: usize| {
        let input = input.clone();
        let checkpoint = checkpoint.clone();
        async move {
            let out = Collect::<AlertsRow>::default();
            let query = Alerts::read_stream(input)
                .write_stream()
                .foreach(out.clone())
                .checkpoint_location(&checkpoint)
                .trigger(continuous("1 hour"))
                .start()
                .unwrap();
            eventually("the alerts", || out.rows().len() == n).await;
            query.stop().await;
            (query, out.rows.lock().unwrap().clone())
        }
    };
    input.add_data([reading(1, "b", 30.0)]);
    let (_, rows) = run(1).await;
    assert_eq!(rows, [(0, alert(1, "b", 30.0))]);
    input.add_data([reading(2, "c", 26.5)]);
    let (_, rows) = run(1).await;
    assert_eq!(rows, [(1, alert(2, "c", 26.5))]);
    assert_eq!(commits(&checkpoint), [0, 1]);
    // As if the process died after logging epoch 1's offsets, before its commit.
    fs::remove_file(checkpoint.join("commits/1")).unwrap();
    let (third, rows) = run(1).await;
    assert_eq!(
        rows,
        [(1, alert(2, "c", 26.5))],
        "epoch 1's rows again, under its id: at least once"
    );
    let again = third.last_progress().unwrap();
    assert_eq!(again.batch_id, 1);
    assert_eq!(again.sources[0].start_offset, serde_json::json!(1));
    assert_eq!(again.sources[0].end_offset, serde_json::json!(2));
    assert_eq!(commits(&checkpoint), [0, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_prints_each_epoch_as_spark_does() {
    let input = MemoryStream::<Reading>::new();
    let (console, captured) = ConsoleSink::new().truncate(false).capture();
    let query = Alerts::read_stream(input.clone())
        .write_stream()
        .format(console)
        .trigger(continuous("20 milliseconds"))
        .start()
        .unwrap();
    input.add_data([reading(1, "b", 30.0), reading(2, "c", 26.5)]);
    eventually("the alerts printed", || {
        captured.text().contains("|2024-01-01 10:00:02|c   |")
    })
    .await;
    query.stop().await;
    // Every epoch is printed when it commits, the empty ones too, as Spark's console does at
    // every checkpoint interval; the two alerts came in one of them.
    let banner = |epoch: usize| {
        format!(
            "-------------------------------------------\nBatch: {epoch}\n-------------------------------------------\n"
        )
    };
    let empty = "+---+----+-----------+-----+
|ts |room|temperature|alert|
+---+----+-----------+-----+
+---+----+-----------+-----+

";
    let alerts = "+-------------------+----+-----------+----------------------+
|ts                 |room|temperature|alert                 |
+-------------------+----+-----------+----------------------+
|2024-01-01 10:00:01|b   |30.0       |HIGH TEMPERATURE ALERT|
|2024-01-01 10:00:02|c   |26.5       |HIGH TEMPERATURE ALERT|
+-------------------+----+-----------+----------------------+

";
    let text = captured.text();
    let mut rest = text.as_str();
    let mut tables = Vec::new();
    let mut epoch = 0;
    while !rest.is_empty() {
        rest = rest
            .strip_prefix(banner(epoch).as_str())
            .unwrap_or_else(|| panic!("epoch {epoch} is next in {text}"));
        let table = if rest.starts_with(empty) {
            empty
        } else {
            alerts
        };
        rest = rest
            .strip_prefix(table)
            .unwrap_or_else(|| panic!("epoch {epoch}'s table in {text}"));
        tables.push(table);
        epoch += 1;
    }
    assert_eq!(tables.iter().filter(|t| **t == alerts).count(), 1, "{text}");
}

/// Records the events of one query run.
#[derive(Default)]
struct Heard {
    events: Mutex<Vec<String>>,
    run_id: Mutex<Option<uuid::Uuid>>,
}

impl StreamingQueryListener for Heard {
    fn on_query_started(&self, event: &QueryStartedEvent) {
        if Some(event.run_id) == *self.run_id.lock().unwrap()
            || event.name.as_deref() == Some("heard")
        {
            self.events.lock().unwrap().push("started".into());
        }
    }
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        if Some(event.progress.run_id) == *self.run_id.lock().unwrap() {
            self.events
                .lock()
                .unwrap()
                .push(format!("progress {}", event.progress.num_input_rows));
        }
    }
    fn on_query_terminated(&self, event: &QueryTerminatedEvent) {
        if Some(event.run_id) == *self.run_id.lock().unwrap() {
            self.events.lock().unwrap().push("terminated".into());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuous_query_registers_reports_and_explains_like_any_other() {
    let heard = Arc::new(Heard::default());
    sluice::streams().add_listener(heard.clone());
    let input = MemoryStream::<Reading>::new();
    let query = Alerts::read_stream(input.clone())
        .write_stream()
        .format(MemorySink::new())
        .query_name("heard")
        .trigger(continuous("20 milliseconds"))
        .start()
        .unwrap();
    *heard.run_id.lock().unwrap() = Some(query.run_id());
    assert!(
        sluice::streams()
            .active()
            .iter()
            .any(|q| q.run_id() == query.run_id())
    );
    assert_eq!(query.explain().trigger, "Continuous(20 milliseconds)");
    assert!(
        query
            .explain()
            .to_string()
            .contains("\nTrigger:     Continuous(20 milliseconds)\n")
    );
    assert_eq!(query.status().message, "Running");
    assert!(query.status().is_trigger_active);
    input.add_data([reading(1, "b", 30.0), reading(2, "a", 1.0)]);
    query.process_all_available().await.unwrap();
    query.stop().await;
    eventually("the termination heard", || {
        heard.events.lock().unwrap().last().map(String::as_str) == Some("terminated")
    })
    .await;
    assert_eq!(
        *heard.events.lock().unwrap(),
        ["started", "progress 2", "terminated"]
    );
    assert_eq!(query.status().message, "Stopped");
    let as_dyn: Arc<dyn StreamingQueryListener> = heard;
    assert!(sluice::streams().remove_listener(&as_dyn));
}

/// Fails on a reading of exactly 99 °C.
struct Failing;

impl sluice::sink::ForeachWriter<AlertsRow> for Failing {
    fn process(&mut self, row: AlertsRow) -> Result<(), ForeachError> {
        if row.temperature == 99.0 {
            Err(format!("cannot write the alert of room {}", row.room).into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_writer_terminates_the_query_with_its_error() {
    let input = MemoryStream::<Reading>::new();
    let query = Alerts::read_stream(input.clone())
        .write_stream()
        .foreach(Failing)
        .query_name("failing")
        .trigger(continuous("1 hour"))
        .start()
        .unwrap();
    input.add_data([reading(1, "b", 30.0), reading(2, "z", 99.0)]);
    let err = query.await_termination().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "query failing terminated with exception: sink ForeachSink: cannot write the alert of room z"
    );
    assert!(!query.is_active());
    assert_eq!(
        query.exception().unwrap().cause.to_string(),
        "sink ForeachSink: cannot write the alert of room z"
    );
    assert!(
        query
            .status()
            .message
            .starts_with("Terminated with exception")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_lines_arrive_as_they_are_read() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Collect::<ShoutedRow>::default();
    let query = Shouted::read_stream(SocketSource::new("127.0.0.1", port))
        .write_stream()
        .foreach(out.clone())
        .trigger(continuous("30 milliseconds"))
        .start()
        .unwrap();
    let (mut server, _) = listener.accept().unwrap();
    server.write_all(b"hello\n").unwrap();
    eventually("the first line", || out.rows().len() == 1).await;
    server.write_all(b"continuous world\nlast").unwrap();
    drop(server);
    // Every line is processed, then the query fails: the server closed the connection.
    let err = query.await_termination().await.unwrap_err();
    assert_eq!(
        err.cause.to_string(),
        format!(
            "source TextSocketV2[host: 127.0.0.1, port: {port}]: the server closed the connection after 3 lines; every line received was processed"
        )
    );
    let lines: Vec<(String, i32)> = out.rows().into_iter().map(|r| (r.line, r.n)).collect();
    assert_eq!(
        lines,
        [
            ("HELLO".to_string(), 5),
            ("CONTINUOUS WORLD".to_string(), 16),
            ("LAST".to_string(), 4)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_source_streams_its_rows_in_order_and_resumes_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let out = Collect::<CountedRow>::default();
    let start = || {
        Counted::read_stream(RateSource::new().rows_per_second(2000))
            .write_stream()
            .foreach(out.clone())
            .checkpoint_location(&checkpoint)
            .trigger(continuous("50 milliseconds"))
            .start()
            .unwrap()
    };
    let first = start();
    eventually("300 rows", || out.rows().len() >= 300).await;
    first.stop().await;
    let stopped_at = out.rows().len();
    let second = start();
    eventually("300 more rows", || out.rows().len() >= stopped_at + 300).await;
    second.stop().await;
    let rows = out.rows();
    // 0, 1, 2, ... across the restart: nothing lost, nothing twice (both runs stopped cleanly,
    // committing their last epoch).
    let values: Vec<i64> = rows.iter().map(|r| r.value).collect();
    assert_eq!(values, (0..rows.len() as i64).collect::<Vec<_>>());
    // Each row stamped when it was due: half a millisecond apart from the stream's start, which
    // the checkpoint kept across the restart.
    let origin = rows[0].timestamp.as_micros();
    for r in &rows {
        assert_eq!(r.timestamp.as_micros(), origin + r.value * 500);
        assert_eq!(r.even, r.value % 2 == 0);
    }
    let log = offset_log(&checkpoint);
    let (_, (_, end, _)) = log.last_key_value().unwrap();
    assert_eq!(*end, serde_json::json!({ "nextValue": rows.len() }));
}

#[test]
fn an_interval_must_be_positive() {
    assert_eq!(
        Trigger::continuous("0 seconds").unwrap_err().to_string(),
        "the interval of a continuous trigger must be positive: it is how often the query checkpoints its progress"
    );
    assert!(Trigger::continuous("soon").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_micro_batch_checkpoint_of_the_rate_source_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let once = Counted::read_stream(RateSource::new())
        .write_stream()
        .foreach(|_: CountedRow| ())
        .checkpoint_location(&checkpoint)
        .trigger(Trigger::Once)
        .start()
        .unwrap();
    once.await_termination().await.unwrap();
    // Its offsets count seconds; a continuous rate source counts rows.
    let err = Counted::read_stream(RateSource::new())
        .write_stream()
        .foreach(|_: CountedRow| ())
        .checkpoint_location(&checkpoint)
        .trigger(continuous("1 second"))
        .start()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "checkpoint {}: batch 0 ended at 0, which is not a position of this source in continuous execution (",
            checkpoint.join("offsets/0").display()
        )),
        "{err}"
    );
    assert!(err.ends_with("Use a new checkpoint location"), "{err}");
}
