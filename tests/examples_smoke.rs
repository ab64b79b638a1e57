//! Runs every example binary for a short time (`--seconds 2`, all at once) and checks that it
//! exits successfully and printed what the seed's cell prints: its messages and, for queries
//! writing to the console, at least one batch.
//!
//! The binaries are the ones `cargo test` builds next to this test (`target/<profile>/examples`);
//! when this test runs alone (`cargo test --test examples_smoke`), build them first with
//! `cargo build --examples`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Each example, and text its output must contain.
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "backlog",
        &[
            "Backlog: 20 files of 5000 readings",
            "Read 20 of 20 files in 5 batches.",
            "|Room_4   |20000   |",
        ],
    ),
    #[cfg(feature = "ui")]
    (
        "live_page",
        &[
            "Live page: http://127.0.0.1:",
            "JSON API: http://127.0.0.1:",
            "== Streaming query `room_windows` (RoomWindows) ==",
            "Live page stopped.",
        ],
    ),
    ("quickstart", &["Batch: ", "Query stopped."]),
    (
        "file_source",
        &[
            "Reading CSV files from ",
            "Last batch: ",
            "committed output files; their rows:",
        ],
    ),
    (
        "rate_source",
        &[
            "Is streaming: True\n\nSchema:\nroot\n |-- timestamp: timestamp",
            "Batch: ",
            "Streaming query started. Will show data for 2 seconds...",
            "\nQuery stopped.\n",
        ],
    ),
    (
        "sensor_stream",
        &[
            "Sensor stream schema:\nroot\n |-- timestamp: timestamp (nullable = false)\n |-- room_name: string",
        ],
    ),
    (
        "high_temp_alerts",
        &["Batch: ", "|alert_type", "Alert query stopped."],
    ),
    (
        "global_count",
        &["Batch: ", "|count|", "Global count query stopped."],
    ),
    (
        "room_stats",
        &["Batch: ", "|avg_humidity", "Room statistics query stopped."],
    ),
    (
        "tumbling_window",
        &["Batch: ", "|window_start", "Tumbling window query stopped."],
    ),
    (
        "sliding_window",
        &["Batch: ", "|num_readings", "Sliding window query stopped."],
    ),
    (
        "watermark",
        &["Batch: ", "|avg_temp", "Watermarked query stopped."],
    ),
    (
        "output_modes",
        &[
            "=== COMPLETE MODE ===",
            "Batch: ",
            "Complete mode query stopped.",
            "=== UPDATE MODE ===",
            "Update mode query stopped.",
        ],
    ),
    (
        "fixed_interval_trigger",
        &["Batch: ", "Triggered query stopped."],
    ),
    (
        "memory_sink",
        &[
            "Querying the in-memory table:\n+---------+--------------+--------+------------+\n|room_name|total_readings|avg_temp|avg_humidity|",
            "Querying again after 2 more seconds:",
            "Memory query stopped.",
        ],
    ),
    (
        "click_stream",
        &[
            "Batch: ",
            "|action",
            "|user_id",
            "Click stream queries stopped.",
        ],
    ),
    (
        "stock_monitoring",
        &[
            "Batch: ",
            "|price_change_pct|total_volume|",
            "|alert|",
            "|symbol|total_volume|",
            "Stock monitoring stopped.",
        ],
    ),
    (
        "iot_monitoring",
        &[
            "Batch: ",
            "IoT monitoring stopped.",
            "rows dropped by the watermark: 2",
            "The late reading was dropped: the finalized windows are unchanged.",
        ],
    ),
];

/// How long one example may take, at most.
const TIMEOUT: Duration = Duration::from_secs(60);

fn examples_dir() -> PathBuf {
    // target/<profile>/deps/examples_smoke-<hash> → target/<profile>/examples
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples")
}

/// Runs one example; returns its stdout and how long it took, or what went wrong.
fn run(name: &str) -> Result<(String, Duration), String> {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        return Err(format!(
            "{} is missing: `cargo test` builds the examples (or run `cargo build --examples`)",
            path.display()
        ));
    }
    let started = Instant::now();
    let mut child = Command::new(&path)
        .args(["--seconds", "2"])
        .env_remove("SLUICE_SECONDS")
        // The live page on a free port; a small backlog.
        .env("SLUICE_UI_ADDRESS", "127.0.0.1:0")
        .env("SLUICE_BACKLOG_FILES", "20")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
    // Read the pipes while the example runs, so a full pipe cannot block it.
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).map(|_| text)
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stdout = stdout
        .join()
        .expect("stdout reader")
        .map_err(|e| e.to_string())?;
    let stderr = stderr
        .join()
        .expect("stderr reader")
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!(
            "exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ));
    }
    if !stderr.is_empty() {
        return Err(format!("wrote to stderr:\n{stderr}"));
    }
    Ok((stdout, elapsed))
}

#[test]
fn every_example_runs_and_prints_its_cell() {
    let started = Instant::now();
    let runs: Vec<_> = EXAMPLES
        .iter()
        .map(|&(name, _)| (name, thread::spawn(move || run(name))))
        .collect();
    let mut failures = Vec::new();
    for ((name, handle), (_, expected)) in runs.into_iter().zip(EXAMPLES) {
        match handle.join().expect("runner thread") {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok((stdout, elapsed)) => {
                eprintln!("{name}: {:.1} s", elapsed.as_secs_f64());
                for text in *expected {
                    if !stdout.contains(text) {
                        failures.push(format!("{name}: no {text:?} in its output:\n{stdout}"));
                    }
                }
            }
        }
    }
    eprintln!(
        "all {} examples: {:.1} s",
        EXAMPLES.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_example_file_is_smoke_tested() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the examples directory")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    files.sort();
    // `live_page` needs the `ui` feature (`required-features` in Cargo.toml): without it, it
    // is not built, so not run.
    #[cfg(not(feature = "ui"))]
    files.retain(|f| f != "live_page");
    let mut listed: Vec<String> = EXAMPLES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}
