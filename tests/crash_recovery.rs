//! Kill a query's process at any moment, restart it, lose nothing, double nothing.
//!
//! The test binary re-executes itself as a worker (`crash_worker`, inert unless
//! `SLUICE_CRASH_WORKER` is set; the harness is `tests/common/crash.rs`): a windowed
//! aggregation over a directory of CSV files, written by the file sink as JSON lines, with a
//! checkpoint. The parent kills workers with `SIGKILL`
//!
//! - at every failpoint of every batch (`SLUICE_FAILPOINT`, see `stream-runtime/src/failpoint.rs`:
//!   before the offset log, mid-batch, after the sink wrote but before the commit, halfway
//!   through a state snapshot, after the commit), and
//! - at pseudo-random instants,
//!
//! restarts them until one finishes, and checks that the committed output equals an
//! uninterrupted run's, batch by batch, row for row. Needs `--features failpoints`;
//! `cargo test --features failpoints --test crash_recovery -- --ignored` runs the stress
//! version, which kills workers until 500 have died (CI runs it; see `.ci/run`).

#![cfg(feature = "failpoints")]

mod common;

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use sluice::prelude::*;

use common::crash::{self, CrashRun, Output};

sluice::pipeline! {
    schema Reading { ts: Timestamp, key: String, value: f64 }

    query Windows from Reading {
        watermark ts delay 5 seconds;
        group by window(ts, 10 seconds), key;
        aggregate n = count(), total = sum(value);
        select key, start = window.start, n, total;
    }
}

const FILES: usize = 12;

/// The worker: runs the query to completion (`Trigger::AvailableNow`) over the directories named
/// in `SLUICE_CRASH_WORKER` (`input|output|checkpoint`).
#[test]
fn crash_worker() {
    let Ok(config) = std::env::var("SLUICE_CRASH_WORKER") else {
        return;
    };
    let dirs: Vec<&str> = config.split('|').collect();
    let [input, output, checkpoint] = dirs[..] else {
        panic!("bad worker config {config}")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let query = Windows::read_stream(
            FileSource::<Reading>::csv(input)
                .max_files_per_trigger(1)
                .settle_time(Duration::ZERO),
        )
        .write_stream()
        .output_mode(Append)
        .format(FileSink::json(output))
        .checkpoint_location(checkpoint)
        .snapshot_interval(2)
        // Two reduce workers over four state partitions whatever the machine: a kill can land
        // between the partition files of one snapshot.
        .parallelism(2)
        .state_partitions(4)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
        query.await_termination().await.unwrap();
    });
}

/// Twelve files of 40 readings: event time moves forward ten seconds per file with a spread that
/// makes some rows late, five keys.
fn write_input(dir: &Path) {
    for f in 0..FILES {
        let mut text = String::new();
        for i in 0..40u64 {
            let secs = f as u64 * 10 + (i * 7) % 16;
            let key = ["a", "b", "c", "d", "e"][(i as usize + f) % 5];
            text.push_str(&format!(
                "2024-01-01T10:{:02}:{:02}Z,{key},{}\n",
                secs / 60,
                secs % 60,
                (i * 3 + f as u64) % 17
            ));
        }
        if f == FILES - 1 {
            // A far-future reading moves the watermark past every window: the no-data batch
            // flushes them.
            text.push_str("2024-01-01T11:00:00Z,z,1\n");
        }
        let path = dir.join(format!("batch-{f:03}.csv"));
        fs::write(&path, text).unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + f as u64);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
}

struct Run {
    input: tempfile::TempDir,
    output: tempfile::TempDir,
    checkpoint: tempfile::TempDir,
}

impl CrashRun for Run {
    const WORKER: &'static str = "crash_worker";
    const CONFIG_VAR: &'static str = "SLUICE_CRASH_WORKER";
    type Shared = ();

    fn new(_: &()) -> Run {
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
            "{}|{}|{}",
            self.input.path().display(),
            self.output.path().display(),
            self.checkpoint.path().display()
        )
    }

    fn output_dir(&self) -> &Path {
        self.output.path()
    }
}

fn reference() -> Output {
    let out = crash::reference::<Run>(&());
    assert!(
        out.len() >= FILES / 2,
        "the reference run emits windows in many batches: {out:?}"
    );
    let rows: usize = out.values().map(Vec::len).sum();
    assert!(rows > 50, "{rows} rows");
    out
}

#[test]
fn killed_at_every_failpoint_of_every_batch() {
    let expected = reference();
    let killed = crash::run_scenarios::<Run>(&(), crash::every_failpoint(&expected), &expected);
    assert!(killed >= 50, "only {killed} failpoints were reached");
}

#[test]
fn killed_at_random_instants() {
    let expected = reference();
    let killed = crash::run_scenarios::<Run>(
        &(),
        crash::random_instants::<Run>(&(), 12, 0x5eed),
        &expected,
    );
    assert!(killed > 0, "no worker was killed");
}

#[test]
#[ignore = "stress: 500 kills; run with --features failpoints -- --ignored (CI does)"]
fn killed_at_random_instants_stress() {
    let expected = reference();
    // Rounds of scenarios until 500 workers died (a kill instant after a run's end kills none).
    let (mut killed, mut round) = (0, 0);
    while killed < 500 {
        let scenarios = crash::random_instants::<Run>(&(), 100, 0xdecaf + round);
        killed += crash::run_scenarios::<Run>(&(), scenarios, &expected);
        round += 1;
    }
    eprintln!(
        "{killed} workers killed in {round} rounds of 100 scenarios; output exact every time"
    );
}
