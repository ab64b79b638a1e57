//! Kill a deduplication and a session-window aggregation at any moment, restart them, lose
//! nothing, double nothing: the state they checkpoint (the keys seen with their expiry, the open
//! sessions with their accumulators) comes back exactly.
//!
//! The harness is `tests/common/crash.rs` (see `tests/crash_recovery.rs`): this binary
//! re-executes itself as a worker running one query to completion over a directory of CSV
//! files, into the file sink, with a checkpoint and a snapshot every two batches; the parent
//! kills workers with `SIGKILL` at every failpoint of every batch and at random instants,
//! restarts them until one finishes, and checks that the committed output equals an
//! uninterrupted run's, batch by batch, row for row. Needs `--features failpoints`.

#![cfg(feature = "failpoints")]

mod common;

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use sluice::prelude::*;

use common::crash::{self, CrashRun, Output};

sluice::pipeline! {
    schema Reading { ts: Timestamp, key: String, value: f64 }

    /// Each (key, ts) once; keys evicted 5 seconds after their event time.
    query Unique from Reading {
        watermark ts delay 5 seconds;
        drop duplicates (key, ts);
        select key, ts, value;
    }

    /// Per key, sessions of readings less than 3 seconds apart.
    query Sessions from Reading {
        watermark ts delay 5 seconds;
        group by session_window(ts, 3 seconds), key;
        aggregate n = count(), total = sum(value), top = max(value);
        select key, start = session_window.start, end = session_window.end, n, total, top;
    }
}

const FILES: usize = 12;

/// The worker: runs the query named in `SLUICE_OPERATOR_WORKER` (`unique|sessions`, then
/// `input|output|checkpoint`) to completion.
#[test]
fn operator_worker() {
    let Ok(config) = std::env::var("SLUICE_OPERATOR_WORKER") else {
        return;
    };
    let parts: Vec<&str> = config.split('|').collect();
    let [query, input, output, checkpoint] = parts[..] else {
        panic!("bad worker config {config}")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = || {
        FileSource::<Reading>::csv(input)
            .max_files_per_trigger(1)
            .settle_time(Duration::ZERO)
    };
    runtime.block_on(async {
        let query = match query {
            "unique" => Unique::read_stream(source())
                .write_stream()
                .output_mode(Append)
                .format(FileSink::json(output))
                .checkpoint_location(checkpoint)
                .snapshot_interval(2)
                // Two workers over four state partitions whatever the machine (both queries):
                // the state is snapshotted per partition, and a kill can land between the files.
                .parallelism(2)
                .state_partitions(4)
                .trigger(Trigger::AvailableNow)
                .start()
                .unwrap(),
            "sessions" => Sessions::read_stream(source())
                .write_stream()
                .output_mode(Append)
                .format(FileSink::json(output))
                .checkpoint_location(checkpoint)
                .snapshot_interval(2)
                .parallelism(2)
                .state_partitions(4)
                .trigger(Trigger::AvailableNow)
                .start()
                .unwrap(),
            other => panic!("unknown query {other}"),
        };
        query.await_termination().await.unwrap();
    });
}

/// Twelve files of 30 readings, five keys, event time moving forward ten seconds per file with
/// a spread that makes some rows late; each file repeats a third of the previous file's rows
/// (duplicates across batches) and some of its own (duplicates within a batch).
fn write_input(dir: &Path) {
    let row = |f: u64, i: u64| {
        let secs = f * 10 + (i * 7) % 13;
        let key = ["a", "b", "c", "d", "e"][((i + f) % 5) as usize];
        format!(
            "2024-01-01T10:{:02}:{:02}Z,{key},{}\n",
            secs / 60,
            secs % 60,
            (i * 3 + f) % 17
        )
    };
    for f in 0..FILES as u64 {
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&row(f, i));
            if i % 7 == 0 {
                text.push_str(&row(f, i));
            }
            if f > 0 && i % 3 == 0 {
                text.push_str(&row(f - 1, i));
            }
        }
        if f == FILES as u64 - 1 {
            // A far-future reading moves the watermark past everything: the no-data batch
            // evicts every key and closes every session.
            text.push_str("2024-01-01T11:00:00Z,z,1\n");
        }
        let path = dir.join(format!("batch-{f:03}.csv"));
        fs::write(&path, text).unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + f);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
}

/// One run of a query: its input, output and checkpoint directories.
struct Run<const SESSIONS: bool> {
    input: tempfile::TempDir,
    output: tempfile::TempDir,
    checkpoint: tempfile::TempDir,
}

impl<const SESSIONS: bool> CrashRun for Run<SESSIONS> {
    const WORKER: &'static str = "operator_worker";
    const CONFIG_VAR: &'static str = "SLUICE_OPERATOR_WORKER";
    type Shared = ();

    fn new(_: &()) -> Self {
        let run = Run {
            input: tempfile::tempdir().unwrap(),
            output: tempfile::tempdir().unwrap(),
            checkpoint: tempfile::tempdir().unwrap(),
        };
        write_input(run.input.path());
        run
    }

    fn config(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            if SESSIONS { "sessions" } else { "unique" },
            self.input.path().display(),
            self.output.path().display(),
            self.checkpoint.path().display()
        )
    }

    fn output_dir(&self) -> &Path {
        self.output.path()
    }
}

/// An uninterrupted run's output, checked to exercise the state: output in many batches.
fn reference<const SESSIONS: bool>() -> Output {
    let out = crash::reference::<Run<SESSIONS>>(&());
    assert!(
        out.len() >= FILES / 2,
        "the reference run emits in many batches: {out:?}"
    );
    out
}

#[test]
fn deduplication_killed_at_every_failpoint_of_every_batch() {
    let expected = reference::<false>();
    let rows: usize = expected.values().map(Vec::len).sum();
    // 12 files of 30 distinct readings, minus the late ones, plus the far-future one.
    assert!((300..=361).contains(&rows), "{rows} rows");
    let killed =
        crash::run_scenarios::<Run<false>>(&(), crash::every_failpoint(&expected), &expected);
    assert!(killed >= 50, "only {killed} failpoints were reached");
}

#[test]
fn session_windows_killed_at_every_failpoint_of_every_batch() {
    let expected = reference::<true>();
    let rows: usize = expected.values().map(Vec::len).sum();
    assert!(rows > 20, "{rows} sessions");
    let killed =
        crash::run_scenarios::<Run<true>>(&(), crash::every_failpoint(&expected), &expected);
    assert!(killed >= 50, "only {killed} failpoints were reached");
}

#[test]
fn both_killed_at_random_instants() {
    let expected = reference::<false>();
    let scenarios = crash::random_instants::<Run<false>>(&(), 8, 0xd0d0);
    assert!(crash::run_scenarios::<Run<false>>(&(), scenarios, &expected) > 0);
    let expected = reference::<true>();
    let scenarios = crash::random_instants::<Run<true>>(&(), 8, 0x5e55);
    assert!(crash::run_scenarios::<Run<true>>(&(), scenarios, &expected) > 0);
}
