//! Kill a stream-stream join at any moment, restart it, lose nothing, double nothing: both
//! sides' state (the rows kept, with whether each has matched) and both sources' offsets come
//! back exactly, so a restarted left outer join emits each pair once and each unmatched
//! impression once, in the batch an uninterrupted run emits it.
//!
//! The harness is `tests/common/crash.rs` (see `tests/crash_recovery.rs`): this binary
//! re-executes itself as a worker running the join to completion over two directories of CSV
//! files (impressions, clicks), into the file sink, with a checkpoint and a snapshot every two
//! batches, the join on two workers with its state in four partitions (each snapshotted on its
//! own); the parent kills workers with `SIGKILL` at every failpoint of every batch and at
//! random instants, restarts them until one finishes, and checks that the committed output
//! equals an uninterrupted run's, batch by batch, row for row. Needs `--features failpoints`.

#![cfg(feature = "failpoints")]

mod common;

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use sluice::prelude::*;

use common::crash::{self, CrashRun, Output};

sluice::pipeline! {
    schema Event { ts: Timestamp, key: String, value: f64 }

    query Impressions from Event {
        watermark ts delay 10 seconds;
        select imp_ts = ts, ad = key, imp_v = value;
    }

    query Clicks from Event {
        watermark ts delay 10 seconds;
        select click_ts = ts, click_ad = key;
    }

    /// Every impression, with the clicks that came within 8 seconds after it; an impression
    /// nobody clicked is emitted alone once the watermark expires it.
    query Attributed from Impressions left outer join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 8 seconds {
        select ad, imp_ts, imp_v, click_ts;
    }
}

const FILES: usize = 12;

/// The worker: runs the join over `left|right|output|checkpoint` (`SLUICE_JOIN_WORKER`).
#[test]
fn join_worker() {
    let Ok(config) = std::env::var("SLUICE_JOIN_WORKER") else {
        return;
    };
    let parts: Vec<&str> = config.split('|').collect();
    let [left, right, output, checkpoint] = parts[..] else {
        panic!("bad worker config {config}")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = |dir: &str| {
        FileSource::<Event>::csv(dir)
            .max_files_per_trigger(1)
            .settle_time(Duration::ZERO)
    };
    runtime.block_on(async {
        let query = Attributed::read_streams(source(left), source(right))
            .write_stream()
            .output_mode(Append)
            .format(FileSink::json(output))
            .checkpoint_location(checkpoint)
            .snapshot_interval(2)
            // The join's keys spread over two workers, its state in four partitions, each
            // snapshotted on its own.
            .parallelism(2)
            .state_partitions(4)
            .trigger(Trigger::AvailableNow)
            .start()
            .unwrap();
        query.await_termination().await.unwrap();
    });
}

/// Twelve files a side. Impressions: 20 a file over 20 ads, event time moving ten seconds per
/// file with some disorder. Clicks: for a third of the impressions one 0–11 s after it (some
/// too late to match), a few for ads never shown, and some late rows. The last file of each side holds a
/// far-future row that moves the watermark past everything: the no-data batch after it emits
/// every impression still unmatched.
fn write_input(left: &Path, right: &Path) {
    let time = |secs: u64| format!("2024-01-01T10:{:02}:{:02}Z", secs / 60, secs % 60);
    for f in 0..FILES as u64 {
        let (mut imps, mut clicks) = (String::new(), String::new());
        for i in 0..20 {
            let secs = 60 + f * 10 + (i * 7) % 11;
            let ad = format!("ad{}", (i * 3 + f) % 20);
            imps.push_str(&format!("{},{ad},{}\n", time(secs), i + 100 * f));
            if i % 3 == 0 {
                let delay = (i * 5 + f) % 12;
                clicks.push_str(&format!("{},{ad},0\n", time(secs + delay)));
            }
            if i % 9 == 0 {
                clicks.push_str(&format!("{},zz{i},0\n", time(secs)));
            }
        }
        if f > 2 {
            // Late: before the watermark of the previous batch.
            clicks.push_str(&format!("{},ad1,0\n", time(f * 10 - 25)));
        }
        if f == FILES as u64 - 1 {
            imps.push_str("2024-01-01T11:00:00Z,far,0\n");
            clicks.push_str("2024-01-01T11:00:00Z,far,0\n");
        }
        for (dir, text) in [(left, &imps), (right, &clicks)] {
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
}

/// One run of the join: its inputs, output and checkpoint directories.
struct Run {
    left: tempfile::TempDir,
    right: tempfile::TempDir,
    output: tempfile::TempDir,
    checkpoint: tempfile::TempDir,
}

impl CrashRun for Run {
    const WORKER: &'static str = "join_worker";
    const CONFIG_VAR: &'static str = "SLUICE_JOIN_WORKER";
    type Shared = ();

    fn new(_: &()) -> Self {
        let run = Run {
            left: tempfile::tempdir().unwrap(),
            right: tempfile::tempdir().unwrap(),
            output: tempfile::tempdir().unwrap(),
            checkpoint: tempfile::tempdir().unwrap(),
        };
        write_input(run.left.path(), run.right.path());
        run
    }

    fn config(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.left.path().display(),
            self.right.path().display(),
            self.output.path().display(),
            self.checkpoint.path().display()
        )
    }

    fn output_dir(&self) -> &Path {
        self.output.path()
    }
}

/// An uninterrupted run's output, checked to exercise the state: pairs in many batches, and
/// unmatched impressions emitted when they expire.
fn reference() -> Output {
    let out = crash::reference::<Run>(&());
    assert!(
        out.len() >= FILES / 2,
        "the reference run emits in many batches: {:?}",
        out.keys()
    );
    let (pairs, unmatched): (Vec<&String>, Vec<&String>) = out
        .values()
        .flatten()
        .partition(|row| row.contains("click_ts"));
    assert!(
        pairs.len() > 40 && unmatched.len() > 100,
        "{} pairs, {} unmatched impressions",
        pairs.len(),
        unmatched.len()
    );
    out
}

#[test]
fn a_left_outer_join_killed_at_every_failpoint_of_every_batch() {
    let expected = reference();
    let rows: usize = expected.values().map(Vec::len).sum();
    // 240 impressions and the far one, each emitted at least once (unmatched or with its
    // clicks).
    assert!(rows >= 241, "{rows} rows");
    let killed = crash::run_scenarios::<Run>(&(), crash::every_failpoint(&expected), &expected);
    assert!(killed >= 50, "only {killed} failpoints were reached");
}

#[test]
fn a_left_outer_join_killed_at_random_instants() {
    let expected = reference();
    let scenarios = crash::random_instants::<Run>(&(), 8, 0x101e);
    assert!(crash::run_scenarios::<Run>(&(), scenarios, &expected) > 0);
}
