//! The file source with files that misbehave: files still being written, files changed after
//! they were read, malformed records (counted and logged in every mode), and the supported
//! ways past a file that stopped a `FailFast` query. Real files and real time: readiness
//! depends on modification times.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::prelude::*;
use sluice::progress::StreamingQueryProgress;
use sluice::source::FileOrder;

mod common;
use common::{LogCapture, typed_collector};

sluice::pipeline! {
    /// The readings: `ts,device,reading`, every column required.
    schema Reading { ts: Timestamp, device: String, reading: f64 }

    /// Readings per device and 10-second window.
    query DeviceWindows from Reading {
        group by window(ts, 10 seconds), device;
        aggregate readings = count(), max_reading = max(reading);
        select device, start = window.start, readings, max_reading;
    }

    /// The readings as read.
    query Readings from Reading {
        select ts, device, reading;
    }

    /// Readings whose value may be missing.
    schema LooseReading { ts: Timestamp, device: Option<String>, reading: Option<f64> }

    query LooseReadings from LooseReading {
        select ts, device, reading;
    }
}

fn at(time: &str) -> Timestamp {
    Timestamp::parse(&format!("2024-01-01T{time}Z")).unwrap()
}

/// Waits (real time) until `done` holds, at most `limit`.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// The scenario: a CSV file is written half-way (its last line cut in the middle of a
/// number), the writer pauses 2.5 s, then finishes it. The window must count all three
/// readings with their true maximum, in `PERMISSIVE` and in `FAILFAST` mode alike.
async fn half_written_file(mode: ParseMode) {
    let dir = tempfile::tempdir().unwrap();
    let (batches, sink) = typed_collector::<DeviceWindowsRow>();
    let query = DeviceWindows::read_stream(
        FileSource::<Reading>::new(dir.path(), Csv::new().header(true)).mode(mode),
    )
    .write_stream()
    .output_mode(Update)
    .foreach_batch(sink)
    .start()
    .unwrap();
    let path = dir.path().join("readings.csv");
    fs::write(
        &path,
        "ts,device,reading\n2024-01-01T10:00:11Z,devM,1.0\n2024-01-01T10:00:12Z,devM,1",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    append(&path, "2.5\n2024-01-01T10:00:13Z,devM,3.0\n");
    let emitted = || -> Vec<DeviceWindowsRow> {
        batches
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, rows)| rows.clone())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || !emitted().is_empty()).await,
        "the file was never read"
    );
    // Give a wrong second reading of the file every chance to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    query.stop().await;
    assert!(query.exception().is_none(), "{:?}", query.exception());
    assert_eq!(
        emitted(),
        [DeviceWindowsRow {
            device: "devM".into(),
            start: at("10:00:10"),
            readings: 3,
            max_reading: 12.5,
        }],
        "mode {mode}: the window has all three readings, read once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_still_being_written_is_read_whole_permissive() {
    half_written_file(ParseMode::Permissive).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_still_being_written_is_read_whole_fail_fast() {
    half_written_file(ParseMode::FailFast).await;
}

/// A file written at once without a final line terminator is still read, last line included,
/// once it has stayed unchanged for the unterminated-line timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_line_without_terminator_is_read_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.csv"),
        "2024-01-01T10:00:01Z,d,1.0\n2024-01-01T10:00:02Z,d,2.0",
    )
    .unwrap();
    let (batches, sink) = typed_collector::<ReadingsRow>();
    let started = Instant::now();
    let query = Readings::read_stream(
        FileSource::<Reading>::csv(dir.path())
            .settle_time(Duration::from_millis(100))
            .unterminated_line_timeout(Duration::from_millis(1500)),
    )
    .write_stream()
    .foreach_batch(sink)
    .start()
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !batches
            .lock()
            .unwrap()
            .is_empty())
        .await,
        "never read"
    );
    let waited = started.elapsed();
    query.stop().await;
    let rows: Vec<f64> = batches.lock().unwrap()[0]
        .1
        .iter()
        .map(|r| r.reading)
        .collect();
    assert_eq!(rows, [1.0, 2.0], "the last line is read too");
    assert!(
        waited >= Duration::from_millis(1400),
        "read after {waited:?}, before the unterminated-line timeout"
    );
}

/// Lines appended to a file after it was read are not read, but reported: a warning naming the
/// file, and `numFilesChangedAfterRead` in the next batch's progress.
#[tokio::test]
async fn lines_appended_after_a_file_was_read_are_reported() {
    let (logs, _guard) = LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.csv");
    fs::write(&first, "2024-01-01T10:00:01Z,d,1.0\n").unwrap();
    let (batches, sink) = typed_collector::<ReadingsRow>();
    let query =
        Readings::read_stream(FileSource::<Reading>::csv(dir.path()).settle_time(Duration::ZERO))
            .write_stream()
            .foreach_batch(sink)
            .start()
            .unwrap();
    query.process_all_available().await.unwrap();
    append(&first, "2024-01-01T10:00:02Z,d,2.0\n");
    // Files already read are looked at once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fs::write(dir.path().join("b.csv"), "2024-01-01T10:00:03Z,d,3.0\n").unwrap();
    query.process_all_available().await.unwrap();
    query.process_all_available().await.unwrap();
    query.stop().await;
    let readings: Vec<Vec<f64>> = batches
        .lock()
        .unwrap()
        .iter()
        .map(|(_, rows)| rows.iter().map(|r| r.reading).collect())
        .collect();
    assert_eq!(
        readings,
        [vec![1.0], vec![3.0]],
        "the appended line is not read"
    );
    let progress = query.recent_progress();
    let changed: Vec<Option<&str>> = progress
        .iter()
        .map(|p| {
            p.sources[0]
                .metrics
                .get("numFilesChangedAfterRead")
                .map(String::as_str)
        })
        .collect();
    assert_eq!(changed, [None, Some("1")]);
    let json: serde_json::Value = serde_json::from_str(&progress[1].json()).unwrap();
    assert_eq!(
        json["sources"][0]["metrics"]["numFilesChangedAfterRead"],
        "1"
    );
    let warnings = logs.lines_with("changed after it was read");
    assert_eq!(warnings.len(), 1, "reported once: {}", logs.text());
    assert!(
        warnings[0].contains(&format!(
            "{} changed after it was read: 27 bytes were appended",
            first.display()
        )),
        "{}",
        warnings[0]
    );
}

fn source_figures(p: &StreamingQueryProgress) -> (u64, u64, u64) {
    let s = &p.sources[0];
    (
        s.num_input_rows,
        s.num_malformed_rows,
        s.num_malformed_rows_dropped,
    )
}

/// Runs `Readings` over `dir` to the end (available now) with `mode`; returns the rows read,
/// each batch's `(input, malformed, dropped)` figures and the query's progress.
async fn run_readings(
    source: FileSource<Reading>,
) -> (Vec<ReadingsRow>, Vec<Arc<StreamingQueryProgress>>) {
    let (batches, sink) = typed_collector::<ReadingsRow>();
    let query = Readings::read_stream(source.settle_time(Duration::ZERO).max_files_per_trigger(1))
        .write_stream()
        .foreach_batch(sink)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let rows = batches
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, rows)| rows.clone())
        .collect();
    (rows, query.recent_progress())
}

/// `PERMISSIVE` drops a row whose required timestamp does not parse: counted per batch and
/// logged with its file and line.
#[tokio::test]
async fn rows_dropped_by_permissive_are_counted_and_logged() {
    let (logs, _guard) = LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.csv"),
        "2024-01-01T10:00:01Z,d,1.0\nnot-a-time,d,2.0\n2024-01-01T10:00:03Z,d,3.0\n",
    )
    .unwrap();
    let (rows, progress) = run_readings(FileSource::csv(dir.path())).await;
    assert_eq!(
        rows.iter().map(|r| r.reading).collect::<Vec<_>>(),
        [1.0, 3.0]
    );
    assert_eq!(
        progress
            .iter()
            .map(|p| source_figures(p))
            .collect::<Vec<_>>(),
        [(2, 1, 1)]
    );
    let json: serde_json::Value = serde_json::from_str(&progress[0].json()).unwrap();
    assert_eq!(json["sources"][0]["numMalformedRows"], 1);
    assert_eq!(json["sources"][0]["numMalformedRowsDropped"], 1);
    let file = dir.path().join("a.csv").display().to_string();
    assert_eq!(
        logs.lines_with("malformed record in"),
        [format!(
            " WARN malformed record in {file}, line 2, field `ts`: cannot parse `not-a-time` as timestamp; dropped (PERMISSIVE)"
        )]
    );
    assert_eq!(
        logs.lines_with("records malformed"),
        [format!(
            " WARN {file}: 1 of 3 records malformed, 1 dropped (PERMISSIVE)"
        )]
    );
}

/// Rows kept with nulls are counted too, and `DROPMALFORMED` counts what it drops; only the
/// first three malformed records of a file are logged one by one.
#[tokio::test]
async fn nulled_and_dropped_rows_are_counted_in_every_mode() {
    let (logs, _guard) = LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..6 {
        // Every other reading is unparsable.
        let value = if i % 2 == 0 {
            format!("{i}.0")
        } else {
            "n/a".into()
        };
        text.push_str(&format!("2024-01-01T10:00:0{i}Z,d,{value}\n"));
    }
    fs::write(dir.path().join("a.csv"), &text).unwrap();

    let (logs_permissive, progress) = {
        let (batches, sink) = typed_collector::<LooseReadingsRow>();
        let query = LooseReadings::read_stream(
            FileSource::<LooseReading>::csv(dir.path()).settle_time(Duration::ZERO),
        )
        .write_stream()
        .foreach_batch(sink)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
        query.await_termination().await.unwrap();
        let readings: Vec<Option<f64>> = batches.lock().unwrap()[0]
            .1
            .iter()
            .map(|r| r.reading)
            .collect();
        assert_eq!(
            readings,
            [Some(0.0), None, Some(2.0), None, Some(4.0), None]
        );
        (
            logs.lines_with("kept with nulls").len(),
            query.recent_progress(),
        )
    };
    assert_eq!(
        source_figures(&progress[0]),
        (6, 3, 0),
        "nulled, not dropped"
    );
    assert_eq!(logs_permissive, 3);

    let (rows, progress) =
        run_readings(FileSource::csv(dir.path()).mode(ParseMode::DropMalformed)).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(source_figures(&progress[0]), (3, 3, 3));
    assert_eq!(logs.lines_with("; dropped (DROPMALFORMED)").len(), 3);
}

/// A JSON lines file read as CSV: every record is malformed, so every row is dropped (the
/// columns are required) — counted, logged, and the summary says what is probably wrong.
#[tokio::test]
async fn a_json_file_read_as_csv_is_counted_and_explained() {
    let (logs, _guard) = LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.csv"),
        "{\"ts\":\"2024-01-01T10:00:11Z\",\"device\":\"devM\",\"reading\":1.0}\n\
         {\"ts\":\"2024-01-01T10:00:12Z\",\"device\":\"devM\",\"reading\":12.5}\n\
         {\"ts\":\"2024-01-01T10:00:13Z\",\"device\":\"devM\",\"reading\":3.0}\n",
    )
    .unwrap();
    let (rows, progress) = run_readings(FileSource::csv(dir.path())).await;
    assert!(rows.is_empty());
    assert_eq!(source_figures(&progress[0]), (0, 3, 3));
    let summary = logs.lines_with("records malformed");
    assert_eq!(summary.len(), 1, "{}", logs.text());
    assert!(
        summary[0].ends_with(
            "3 of 3 records malformed, 3 dropped (PERMISSIVE); every record is malformed: is the file in another format, or the schema wrong?"
        ),
        "{}",
        summary[0]
    );
}

/// `FAILFAST` logs the record that stopped the query, and how to go on.
#[tokio::test]
async fn fail_fast_logs_the_record_and_the_ways_out() {
    let (logs, _guard) = LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.csv"), "2024-01-01T10:00:01Z,d,oops\n").unwrap();
    let query = Readings::read_stream(
        FileSource::<Reading>::csv(dir.path())
            .mode(ParseMode::FailFast)
            .settle_time(Duration::ZERO),
    )
    .write_stream()
    .foreach_batch(|_, _| ())
    .trigger(Trigger::AvailableNow)
    .start()
    .unwrap();
    query.await_termination().await.unwrap_err();
    let text = logs.text();
    assert!(
        text.contains("ERROR malformed record in ")
            && text.contains(
                "bad.csv, line 1: cannot parse `oops` as double; FAILFAST stops the query"
            ),
        "{text}"
    );
    assert!(
        text.contains("skip it with skip_file(\"bad.csv\")"),
        "{text}"
    );
}

/// Three files, the second one malformed: a `FAILFAST` query with a checkpoint stops on it.
/// Returns the input directory and the checkpoint directory.
async fn stopped_by_a_bad_file() -> (tempfile::TempDir, tempfile::TempDir) {
    let input = tempfile::tempdir().unwrap();
    let checkpoint = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("1.csv", "2024-01-01T10:00:01Z,d,1.0\n"),
        (
            "2.csv",
            "2024-01-01T10:00:02Z,d,2.0\n2024-01-01T10:00:03Z,d,three\n",
        ),
        ("3.csv", "2024-01-01T10:00:04Z,d,4.0\n"),
    ] {
        fs::write(input.path().join(name), body).unwrap();
    }
    let (_, err) = run_checkpointed(input.path(), checkpoint.path(), |s| {
        s.mode(ParseMode::FailFast)
    })
    .await;
    let err = err.expect("the bad file stops the query");
    assert!(
        err.contains("2.csv, line 2, field `reading`: cannot parse `three` as double"),
        "{err}"
    );
    (input, checkpoint)
}

/// Runs `Readings` over `input` with a checkpoint, one file per batch, to the end; returns
/// the readings of every batch and the error, if it failed.
async fn run_checkpointed(
    input: &Path,
    checkpoint: &Path,
    options: impl FnOnce(FileSource<Reading>) -> FileSource<Reading>,
) -> (Vec<(u64, Vec<f64>)>, Option<String>) {
    let (batches, sink) = typed_collector::<ReadingsRow>();
    let source = FileSource::<Reading>::csv(input)
        .settle_time(Duration::ZERO)
        .max_files_per_trigger(1)
        .order(FileOrder::Name);
    let query = Readings::read_stream(options(source))
        .write_stream()
        .foreach_batch(sink)
        .checkpoint_location(checkpoint)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    let err = query
        .await_termination()
        .await
        .err()
        .map(|e| e.cause.to_string());
    let readings = batches
        .lock()
        .unwrap()
        .iter()
        .map(|(id, rows)| (*id, rows.iter().map(|r| r.reading).collect()))
        .collect();
    (readings, err)
}

/// Recovery 1: fix the file in place (here it grows) or replace it; the restart reads it again
/// in full, not cut to the length it had when it failed.
#[tokio::test]
async fn fail_fast_recovery_by_fixing_the_file() {
    let (input, checkpoint) = stopped_by_a_bad_file().await;
    fs::write(
        input.path().join("2.csv"),
        "2024-01-01T10:00:02Z,d,2.0\n2024-01-01T10:00:03Z,d,3.0\n2024-01-01T10:00:03.5Z,d,3.5\n",
    )
    .unwrap();
    let (batches, err) = run_checkpointed(input.path(), checkpoint.path(), |s| {
        s.mode(ParseMode::FailFast)
    })
    .await;
    assert_eq!(err, None);
    assert_eq!(batches, [(1, vec![2.0, 3.0, 3.5]), (2, vec![4.0])]);
}

/// Recovery 2: skip the file by name; its batch runs without its rows.
#[tokio::test]
async fn fail_fast_recovery_by_skipping_the_file() {
    let (input, checkpoint) = stopped_by_a_bad_file().await;
    let (batches, err) = run_checkpointed(input.path(), checkpoint.path(), |s| {
        s.mode(ParseMode::FailFast).skip_file("2.csv")
    })
    .await;
    assert_eq!(err, None);
    assert_eq!(batches, [(1, vec![]), (2, vec![4.0])]);
}

/// Recovery 3: read on with `DROPMALFORMED` and a dead-letter directory, which keeps the
/// rejected record with its file, line and error.
#[tokio::test]
async fn fail_fast_recovery_with_a_dead_letter_directory() {
    let (input, checkpoint) = stopped_by_a_bad_file().await;
    let dead = tempfile::tempdir().unwrap();
    let (batches, err) = run_checkpointed(input.path(), checkpoint.path(), |s| {
        s.mode(ParseMode::DropMalformed)
            .dead_letter_dir(dead.path())
    })
    .await;
    assert_eq!(err, None);
    assert_eq!(batches, [(1, vec![2.0]), (2, vec![4.0])]);
    let names: Vec<String> = fs::read_dir(dead.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["00001-2.csv.json"]);
    let letter: serde_json::Value = serde_json::from_str(
        fs::read_to_string(dead.path().join("00001-2.csv.json"))
            .unwrap()
            .trim_end(),
    )
    .unwrap();
    assert_eq!(
        letter,
        serde_json::json!({
            "file": input.path().join("2.csv").display().to_string(),
            "line": 2,
            "field": "reading",
            "error": "cannot parse `three` as double",
            "record": "2024-01-01T10:00:03Z,d,three",
        })
    );
}

/// Moving the bad file away fails with `FILE_NOT_EXIST`, which names the ways out; with
/// `ignore_missing_files` the restart goes on.
#[tokio::test]
async fn fail_fast_recovery_by_removing_the_file() {
    let (input, checkpoint) = stopped_by_a_bad_file().await;
    fs::remove_file(input.path().join("2.csv")).unwrap();
    let (_, err) = run_checkpointed(input.path(), checkpoint.path(), |s| {
        s.mode(ParseMode::FailFast)
    })
    .await;
    let err = err.unwrap();
    assert!(
        err.contains("[FAILED_READ_FILE.FILE_NOT_EXIST]")
            && err.contains(
                "put the file back, skip it with skip_file(\"2.csv\"), or set ignore_missing_files"
            ),
        "{err}"
    );
    let (batches, err) = run_checkpointed(input.path(), checkpoint.path(), |s| {
        s.mode(ParseMode::FailFast).ignore_missing_files(true)
    })
    .await;
    assert_eq!(err, None);
    assert_eq!(batches, [(1, vec![]), (2, vec![4.0])]);
}

/// A query that reads what is there and ends (`AvailableNow`) waits for a file written just
/// before it started to settle, and takes a settled file whole, last line and all.
#[tokio::test]
async fn available_now_waits_for_files_to_settle() {
    let (logs, _guard) = LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.csv"),
        "2024-01-01T10:00:01Z,d,1.0\n2024-01-01T10:00:02Z,d,2.0",
    )
    .unwrap();
    let started = Instant::now();
    let (batches, sink) = typed_collector::<ReadingsRow>();
    let query = Readings::read_stream(FileSource::<Reading>::csv(dir.path()))
        .write_stream()
        .foreach_batch(sink)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let readings: Vec<Vec<f64>> = batches
        .lock()
        .unwrap()
        .iter()
        .map(|(_, rows)| rows.iter().map(|r| r.reading).collect())
        .collect();
    assert_eq!(readings, [vec![1.0, 2.0]], "{}", logs.text());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "read before it settled"
    );
}
