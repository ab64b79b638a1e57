//! The crash-recovery harness shared by `tests/crash_recovery.rs` (files in) and
//! `tests/kafka_crash_recovery.rs` (Kafka in): the test binary re-executes itself as a worker
//! running one query to completion with a checkpoint and a file sink; the parent kills workers
//! with `SIGKILL` at failpoints (`SLUICE_FAILPOINT`) or at instants, restarts them until one
//! finishes, and compares the committed output with an uninterrupted run's, batch by batch.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every failpoint of a batch (see `stream-runtime/src/failpoint.rs`).
pub(crate) const POINTS: [&str; 5] = [
    "before_offsets",
    "after_offsets",
    "after_sink",
    "mid_snapshot",
    "after_commit",
];

/// What a worker start ended in.
pub(crate) enum Outcome {
    /// The worker finished the query.
    Finished,
    /// The worker was killed (at the failpoint, or at the deadline).
    Killed,
}

/// One query's directories and how to start its worker.
pub(crate) trait CrashRun: Sync {
    /// The name of the worker test in this binary (`crash_worker`).
    const WORKER: &'static str;
    /// The environment variable the worker reads its configuration from.
    const CONFIG_VAR: &'static str;
    /// What every run of a test shares (a broker and its input topic, or nothing).
    type Shared: Sync;
    /// A fresh run: input prepared, output and checkpoint empty.
    fn new(shared: &Self::Shared) -> Self;
    /// The worker's configuration.
    fn config(&self) -> String;
    /// Where the file sink writes.
    fn output_dir(&self) -> &Path;
}

/// One worker start of a scenario: stop it at a failpoint, or kill it at a deadline.
pub(crate) type Step = (Option<(&'static str, u64)>, Option<Duration>);

/// The committed output, batch by batch, each batch's rows sorted.
pub(crate) type Output = BTreeMap<u64, Vec<String>>;

/// Starts a worker; kills it with SIGKILL when it reports reaching `failpoint`, or at
/// `deadline`.
pub(crate) fn worker<R: CrashRun>(
    run: &R,
    failpoint: Option<(&str, u64)>,
    deadline: Option<Duration>,
) -> Outcome {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([R::WORKER, "--exact", "--nocapture", "--test-threads", "1"])
        .env(R::CONFIG_VAR, run.config())
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
pub(crate) fn finish<R: CrashRun>(run: &R) {
    for _ in 0..20 {
        if let Outcome::Finished = worker(run, None, None) {
            return;
        }
    }
    panic!("the query never finished");
}

/// The committed output of the file sink in `dir`, batch by batch, rows sorted.
pub(crate) fn output(dir: &Path) -> Output {
    let mut batches: Output = BTreeMap::new();
    for file in sluice::sink::file::committed_files(dir).unwrap() {
        let rows = batches.entry(batch_of(&file)).or_default();
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

/// `part-00003-00000.json` → 3.
fn batch_of(file: &Path) -> u64 {
    let name = file.file_name().unwrap().to_str().unwrap();
    name.split('-')
        .nth(1)
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("not a part file: {name}"))
}

/// An uninterrupted run's output.
pub(crate) fn reference<R: CrashRun>(shared: &R::Shared) -> Output {
    let run = R::new(shared);
    finish(&run);
    output(run.output_dir())
}

/// A small deterministic generator for the random kill instants.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs the scenarios on two threads; each kills one or more workers, then finishes the query
/// and compares its output with `expected`; returns the number of workers killed.
pub(crate) fn run_scenarios<R: CrashRun>(
    shared: &R::Shared,
    scenarios: Vec<Vec<Step>>,
    expected: &Output,
) -> usize {
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
                        let run = R::new(shared);
                        for (failpoint, deadline) in &steps {
                            if let Outcome::Killed = worker(&run, *failpoint, *deadline) {
                                killed += 1;
                            }
                        }
                        finish(&run);
                        let got = output(run.output_dir());
                        assert_eq!(&got, expected, "after kills {steps:?}");
                    }
                    killed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// One scenario per failpoint of every batch of `expected`, plus two double kills.
pub(crate) fn every_failpoint(expected: &Output) -> Vec<Vec<Step>> {
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
    scenarios
}

/// `n` scenarios of one to three kills at instants spread over an uninterrupted run.
pub(crate) fn random_instants<R: CrashRun>(
    shared: &R::Shared,
    n: usize,
    seed: u64,
) -> Vec<Vec<Step>> {
    let started = Instant::now();
    finish(&R::new(shared));
    let run_time = started.elapsed().as_micros() as u64;
    let mut rng = XorShift(seed);
    (0..n)
        .map(|_| {
            (0..1 + rng.next() % 3)
                .map(|_| {
                    (
                        None,
                        Some(Duration::from_micros(rng.next() % (run_time + 1))),
                    )
                })
                .collect()
        })
        .collect()
}
