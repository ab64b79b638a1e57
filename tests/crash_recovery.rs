//! Kill a query's process at any moment, restart it, lose nothing, double nothing.
//!
//! The test binary re-executes itself as a worker (`crash_worker`, inert unless
//! `SLUICE_CRASH_WORKER` is set): a windowed aggregation over a directory of CSV files, written
//! by the file sink as JSON lines, with a checkpoint. The parent kills workers with `SIGKILL`
//!
//! - at every failpoint of every batch (`SLUICE_FAILPOINT`, see `stream-runtime/src/failpoint.rs`:
//!   before the offset log, mid-batch, after the sink wrote but before the commit, halfway
//!   through a state snapshot, after the commit), and
//! - at pseudo-random instants,
//!
//! restarts them until one finishes, and checks that the committed output equals an
//! uninterrupted run's, batch by batch, row for row. Needs `--features failpoints`;
//! `cargo test --release --features failpoints --test crash_recovery -- --ignored` runs the
//! 500-kill stress version.

#![cfg(feature = "failpoints")]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use sluice::prelude::*;

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
const POINTS: [&str; 5] = [
    "before_offsets",
    "after_offsets",
    "after_sink",
    "mid_snapshot",
    "after_commit",
];

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

enum Outcome {
    /// The worker finished the query.
    Finished,
    /// The worker was killed (at the failpoint, or at the deadline).
    Killed,
}

impl Run {
    fn new() -> Run {
        let run = Run {
            input: tempfile::tempdir().unwrap(),
            output: tempfile::tempdir().unwrap(),
            checkpoint: tempfile::tempdir().unwrap(),
        };
        write_input(run.input.path());
        run
    }

    /// Starts a worker; kills it with SIGKILL when it reports reaching `failpoint`, or at
    /// `deadline`.
    fn worker(&self, failpoint: Option<(&str, u64)>, deadline: Option<Duration>) -> Outcome {
        let config = format!(
            "{}|{}|{}",
            self.input.path().display(),
            self.output.path().display(),
            self.checkpoint.path().display()
        );
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "crash_worker",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SLUICE_CRASH_WORKER", config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if let Some((point, batch)) = failpoint {
            cmd.env("SLUICE_FAILPOINT", format!("{point}:{batch}"));
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (hit_tx, hit_rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("SLUICE_FAILPOINT_HIT") {
                    let _ = hit_tx.send(line.clone());
                }
                log.push_str(&line);
                log.push('\n');
            }
            log
        });
        let started = Instant::now();
        loop {
            if hit_rx.try_recv().is_ok() {
                child.kill().unwrap();
                child.wait().unwrap();
                reader.join().unwrap();
                return Outcome::Killed;
            }
            if let Some(status) = child.try_wait().unwrap() {
                let log = reader.join().unwrap();
                assert!(status.success(), "the worker failed: {status}\n{log}");
                return Outcome::Finished;
            }
            if deadline.is_some_and(|d| started.elapsed() >= d) {
                child.kill().unwrap();
                child.wait().unwrap();
                reader.join().unwrap();
                return Outcome::Killed;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Restarts workers until one finishes.
    fn finish(&self) {
        for _ in 0..20 {
            if let Outcome::Finished = self.worker(None, None) {
                return;
            }
        }
        panic!("the query never finished");
    }

    /// The committed output, batch by batch, each batch's rows sorted.
    fn output(&self) -> BTreeMap<u64, Vec<String>> {
        let mut batches: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for file in sluice::sink::file::committed_files(self.output.path()).unwrap() {
            let batch = batch_of(&file);
            let rows = batches.entry(batch).or_default();
            rows.extend(
                fs::read_to_string(&file)
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
        for rows in batches.values_mut() {
            rows.sort();
        }
        batches
    }
}

/// `part-00003-00000.json` → 3.
fn batch_of(file: &Path) -> u64 {
    let name = file.file_name().unwrap().to_str().unwrap();
    name.split('-')
        .nth(1)
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("not a part file: {name}"))
}

fn reference() -> BTreeMap<u64, Vec<String>> {
    let run = Run::new();
    run.finish();
    let out = run.output();
    assert!(
        out.len() >= FILES / 2,
        "the reference run emits windows in many batches: {out:?}"
    );
    let rows: usize = out.values().map(Vec::len).sum();
    assert!(rows > 50, "{rows} rows");
    out
}

/// A small deterministic generator for the random kill instants.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One worker start of a scenario: stop it at a failpoint, or kill it at a deadline.
type Step = (Option<(&'static str, u64)>, Option<Duration>);

/// Runs `kills` scenarios on two threads; each kills one or more workers, then finishes the
/// query; returns the number of workers killed.
fn run_scenarios(scenarios: Vec<Vec<Step>>, expected: &BTreeMap<u64, Vec<String>>) -> usize {
    let chunks: Vec<Vec<_>> = {
        let mid = scenarios.len() / 2;
        let mut s = scenarios;
        let second = s.split_off(mid);
        vec![s, second]
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    let mut killed = 0;
                    for steps in chunk {
                        let run = Run::new();
                        for (failpoint, deadline) in &steps {
                            if let Outcome::Killed = run.worker(*failpoint, *deadline) {
                                killed += 1;
                            }
                        }
                        run.finish();
                        let got = run.output();
                        assert_eq!(&got, expected, "after kills {steps:?}");
                    }
                    killed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

#[test]
fn killed_at_every_failpoint_of_every_batch() {
    let expected = reference();
    let batches = expected.keys().max().copied().unwrap() + 1;
    let mut scenarios = Vec::new();
    for point in POINTS {
        for batch in 0..batches {
            scenarios.push(vec![(Some((point, batch)), None)]);
        }
    }
    // Two kills in a row: mid-batch, then again after the sink wrote the re-run batch.
    for batch in [2, 5] {
        scenarios.push(vec![
            (Some(("after_offsets", batch)), None),
            (Some(("after_sink", batch)), None),
        ]);
    }
    let killed = run_scenarios(scenarios, &expected);
    assert!(killed >= 50, "only {killed} failpoints were reached");
}

fn random_kills(scenarios: usize, seed: u64) {
    let expected = reference();
    let started = Instant::now();
    Run::new().finish();
    let run_time = started.elapsed().as_micros() as u64;
    let mut rng = XorShift(seed);
    let scenarios = (0..scenarios)
        .map(|_| {
            // One to three kills at instants spread over a whole run.
            (0..1 + rng.next() % 3)
                .map(|_| {
                    (
                        None,
                        Some(Duration::from_micros(rng.next() % (run_time + 1))),
                    )
                })
                .collect()
        })
        .collect();
    run_scenarios(scenarios, &expected);
}

#[test]
fn killed_at_random_instants() {
    random_kills(12, 0x5eed);
}

#[test]
#[ignore = "stress: hundreds of random kills; run with --release --features failpoints -- --ignored"]
fn killed_at_random_instants_stress() {
    random_kills(250, 0xdecaf);
}
