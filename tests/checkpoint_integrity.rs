//! A checkpoint that was damaged, shared or paired with the wrong output is refused at
//! `start()` with an error naming the file and the way out — never run into lost or doubled
//! output. Two real processes contend for one checkpoint: the test binary re-executes itself
//! as a worker (`lock_worker`, inert unless `SLUICE_LOCK_WORKER` is set), as
//! `tests/crash_recovery.rs` does.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    schema Reading { ts: Timestamp, key: String, value: f64 }

    /// 10-second windows per key, final once the watermark (5 s) passes.
    query Windows from Reading {
        watermark ts delay 5 seconds;
        group by window(ts, 10 seconds), key;
        aggregate n = count(), total = sum(value);
        select key, start = window.start, n, total;
    }

    query RateRows from Rate {
        select *;
    }
}

/// Six files of ten readings, ten seconds of event time each.
fn write_input(dir: &Path) {
    for f in 0..6u64 {
        let mut text = String::new();
        for i in 0..10u64 {
            let secs = f * 10 + i;
            text.push_str(&format!(
                "2024-01-01T10:{:02}:{:02}Z,{},{}\n",
                secs / 60,
                secs % 60,
                ["a", "b"][(i % 2) as usize],
                i
            ));
        }
        fs::write(dir.join(format!("{f}.csv")), text).unwrap();
    }
}

struct Dirs {
    input: tempfile::TempDir,
    output: tempfile::TempDir,
    checkpoint: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        let dirs = Dirs {
            input: tempfile::tempdir().unwrap(),
            output: tempfile::tempdir().unwrap(),
            checkpoint: tempfile::tempdir().unwrap(),
        };
        write_input(dirs.input.path());
        dirs
    }

    /// Starts the windowed query over the input, into the output, with the checkpoint, one
    /// file per batch, to the end of the input.
    fn start(
        &self,
        sink: FileSink<WindowsRow>,
        checkpoint: &Path,
    ) -> sluice::Result<StreamingQuery> {
        Windows::read_stream(
            FileSource::<Reading>::csv(self.input.path())
                .max_files_per_trigger(1)
                .order(sluice::source::FileOrder::Name)
                .settle_time(Duration::ZERO),
        )
        .write_stream()
        .output_mode(Append)
        .format(sink)
        .checkpoint_location(checkpoint)
        .trigger(Trigger::AvailableNow)
        .start()
    }

    async fn run(&self) {
        let query = self
            .start(FileSink::json(self.output.path()), self.checkpoint.path())
            .unwrap();
        query.await_termination().await.unwrap();
    }

    fn output_rows(&self) -> Vec<WindowsRow> {
        sluice::sink::file::read_committed(self.output.path(), Json::new()).unwrap()
    }

    fn start_error(&self) -> String {
        self.start(FileSink::json(self.output.path()), self.checkpoint.path())
            .expect_err("the start is refused")
            .to_string()
    }
}

/// The case: `commits/` deleted after a run. A restart used to take every batch for
/// uncommitted, re-run only the last and lose the windows it had finalized; it is refused.
#[tokio::test]
async fn a_deleted_commit_log_is_refused() {
    let dirs = Dirs::new();
    dirs.run().await;
    let rows = dirs.output_rows();
    assert!(rows.len() >= 8, "{rows:?}");
    fs::remove_dir_all(dirs.checkpoint.path().join("commits")).unwrap();
    fs::write(
        dirs.input.path().join("6.csv"),
        "2024-01-01T10:02:00Z,a,1\n",
    )
    .unwrap();
    let err = dirs.start_error();
    assert!(
        err.starts_with(&format!(
            "checkpoint {}: commits/ is empty, yet batch ",
            dirs.checkpoint.path().join("commits/0").display()
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "Restore the commit log from a backup, or start from a new checkpoint location"
        ),
        "{err}"
    );
    assert_eq!(dirs.output_rows(), rows, "nothing was written");
}

/// The sink's output deleted (or a different output directory) under a checkpoint that
/// committed batches into it.
#[tokio::test]
async fn an_output_that_lost_committed_batches_is_refused() {
    let dirs = Dirs::new();
    dirs.run().await;
    let metadata = dirs.output.path().join("_spark_metadata");
    let last: u64 = fs::read_dir(&metadata)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
        .max()
        .unwrap();
    fs::remove_file(metadata.join(last.to_string())).unwrap();
    let err = dirs.start_error();
    assert!(
        err.starts_with(&format!(
            "checkpoint {}: the output's last committed batch is {}, but the checkpoint {} has committed batches up to {last}",
            metadata.join((last - 1).to_string()).display(),
            last - 1,
            dirs.checkpoint.path().display()
        )),
        "{err}"
    );
    fs::remove_dir_all(&metadata).unwrap();
    let err = dirs.start_error();
    assert!(
        err.contains("but the output directory holds none of them"),
        "{err}"
    );
}

/// The file source's log deleted from the checkpoint: the recorded offsets name files it no
/// longer lists.
#[tokio::test]
async fn a_deleted_file_source_log_is_refused() {
    let dirs = Dirs::new();
    dirs.run().await;
    let log = dirs
        .checkpoint
        .path()
        .join("sources/0/file-source-log.json");
    fs::remove_file(&log).unwrap();
    let err = dirs.start_error();
    assert!(
        err.starts_with(&format!("checkpoint {}: batch ", log.display()))
            && err.contains("of the file source log, which is missing or empty"),
        "{err}"
    );
}

/// A new checkpoint writing into an output directory that already has committed batches used
/// to write nothing (its batch ids were taken); it is refused, and
/// `continue_existing_output(true)` appends after the existing batches.
#[tokio::test]
async fn a_new_checkpoint_into_existing_output_is_refused_or_continues() {
    let dirs = Dirs::new();
    dirs.run().await;
    let first = dirs.output_rows();
    let fresh = tempfile::tempdir().unwrap();
    let err = dirs
        .start(FileSink::json(dirs.output.path()), fresh.path())
        .expect_err("refused")
        .to_string();
    let metadata = dirs.output.path().join("_spark_metadata");
    assert!(
        err.starts_with(&format!(
            "checkpoint {}: the output directory already holds batches up to ",
            metadata.display()
        )) && err.contains(&format!(
            "committed by another query, and the checkpoint {} starts from batch 0",
            fresh.path().display()
        )) && err.contains("FileSink::continue_existing_output(true)"),
        "{err}"
    );
    let batches_before = committed_batches(dirs.output.path());

    let query = dirs
        .start(
            FileSink::json(dirs.output.path()).continue_existing_output(true),
            fresh.path(),
        )
        .unwrap();
    query.await_termination().await.unwrap();
    let rows = dirs.output_rows();
    assert_eq!(
        rows.len(),
        2 * first.len(),
        "the same windows again, after the first ones"
    );
    assert_eq!(&rows[..first.len()], &first[..]);
    let mut again = rows[first.len()..].to_vec();
    let mut want = first.clone();
    let key = |r: &WindowsRow| (r.start, r.key.clone());
    again.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(again, want);
    let batches_after = committed_batches(dirs.output.path());
    assert_eq!(
        batches_after[..batches_before.len()],
        batches_before[..],
        "the existing batches are untouched"
    );
    assert!(batches_after[batches_before.len()] == batches_before.last().unwrap() + 1);

    // A restart of the new query keeps its numbering: a new file, one new batch after the rest.
    fs::write(
        dirs.input.path().join("6.csv"),
        "2024-01-01T10:05:00Z,c,1\n",
    )
    .unwrap();
    let query = dirs
        .start(
            FileSink::json(dirs.output.path()).continue_existing_output(true),
            fresh.path(),
        )
        .unwrap();
    query.await_termination().await.unwrap();
    let batches = committed_batches(dirs.output.path());
    assert_eq!(batches[..batches_after.len()], batches_after[..]);
    let next = batches_after.last().unwrap() + 1;
    assert_eq!(
        batches[batches_after.len()..],
        (next..next + (batches.len() - batches_after.len()) as u64).collect::<Vec<_>>()[..],
        "the restart's batches follow on"
    );
    assert!(batches.len() > batches_after.len());
    // The new reading's watermark finalizes the last windows of the old input.
    let mut finalized: Vec<(String, Timestamp)> = dirs.output_rows()[rows.len()..]
        .iter()
        .map(|r| (r.key.clone(), r.start))
        .collect();
    finalized.sort();
    let start = Timestamp::parse("2024-01-01T10:00:50Z").unwrap();
    assert_eq!(
        finalized,
        [("a".to_string(), start), ("b".to_string(), start)]
    );
}

/// The batch ids in an output's `_spark_metadata`, ascending.
fn committed_batches(output: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = fs::read_dir(output.join("_spark_metadata"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// The worker: starts a rate query with the checkpoint in `SLUICE_LOCK_WORKER`, prints
/// `STARTED <pid>` (or `REFUSED <error>`), then runs until killed.
#[test]
fn lock_worker() {
    let Ok(checkpoint) = std::env::var("SLUICE_LOCK_WORKER") else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let started = RateRows::read_stream(RateSource::new().rows_per_second(10))
            .write_stream()
            .foreach_batch(|_, _| ())
            .checkpoint_location(&checkpoint)
            .trigger(Trigger::processing_time("100 milliseconds").unwrap())
            .start();
        match started {
            Ok(query) => {
                println!("STARTED {}", std::process::id());
                query.await_termination().await.unwrap();
            }
            Err(e) => {
                println!("REFUSED {e}");
                std::process::exit(3);
            }
        }
    });
}

/// A worker process on `checkpoint`; its first line of output, and its stderr lines.
struct Worker {
    child: Child,
    first_line: String,
    stderr: mpsc::Receiver<String>,
}

fn worker(checkpoint: &Path) -> Worker {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "lock_worker",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SLUICE_LOCK_WORKER", checkpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The test harness prints `test lock_worker ... ` before the worker's own output.
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(at) = line.find("STARTED").or_else(|| line.find("REFUSED")) {
                let _ = tx.send(line[at..].to_string());
            }
        }
    });
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    let first_line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the worker reports whether it started");
    Worker {
        child,
        first_line,
        stderr: err_rx,
    }
}

/// The exit code of `child` once it exits; `None` (and the child killed) if it runs on.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

/// Two processes, one checkpoint: the second is refused, naming the first; once the first is
/// killed (its lock left behind), a third takes the stale lock over.
#[test]
fn a_second_process_on_a_checkpoint_is_refused() {
    let checkpoint = tempfile::tempdir().unwrap();
    let mut first = worker(checkpoint.path());
    let pid = first.child.id();
    assert_eq!(first.first_line, format!("STARTED {pid}"));

    let mut second = worker(checkpoint.path());
    let status = wait_at_most(&mut second.child, Duration::from_secs(30));
    assert_eq!(status, Some(3), "{}", second.first_line);
    let lock = checkpoint.path().join("lock");
    assert!(
        second.first_line.starts_with(&format!(
            "REFUSED checkpoint {}: the checkpoint is in use by process {pid} on host `",
            lock.display()
        )),
        "{}",
        second.first_line
    );
    assert!(
        second.first_line.contains("Stop the other query first"),
        "{}",
        second.first_line
    );

    // SIGKILL: the lock file still names the dead process.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(
        fs::read_to_string(&lock)
            .unwrap()
            .contains(&format!("\"pid\":{pid}"))
    );
    let mut third = worker(checkpoint.path());
    assert_eq!(third.first_line, format!("STARTED {}", third.child.id()));
    let took_over = third
        .stderr
        .recv_timeout(Duration::from_secs(10))
        .expect("the worker logs the takeover");
    assert!(
        took_over.contains(&format!(
            "taking over the lock left by process {pid} on host"
        )),
        "{took_over}"
    );
    third.child.kill().unwrap();
    third.child.wait().unwrap();
}
