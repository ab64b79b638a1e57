//! Runs every example binary for a short time (`--seconds 2`, all at once) and checks that it
//! exits successfully and printed what the seed's cell prints: its messages and, for queries
//! writing to the console, at least one batch.
//!
//! The binaries are the ones `cargo test` builds next to this test (`target/<profile>/examples`);
//! when this test runs alone (`cargo test --test examples_smoke`), build them first with
//! `cargo build --examples`.

mod common;

use std::path::PathBuf;
use std::thread;
use std::time::Instant;

use common::examples::{self, run};

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
        "continuous_alerts",
        &[
            "Continuous alert stream started. Running for 2 seconds...",
            "Batch: 0\n",
            "|alert_type",
            "Alert query stopped.",
        ],
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
        "socket_word_count",
        &[
            "Serving lines on 127.0.0.1:",
            "Batch: ",
            "|  word|count|",
            "|stream|",
            "Word count query stopped.",
        ],
    ),
    (
        "iot_deduplication",
        &[
            "|event_time",
            "Readings sent: 32, deliveries: 49, duplicates dropped: 17",
            "Every reading came out exactly once.",
        ],
    ),
    (
        "device_enrichment",
        &[
            "|event_time         |device|room   |temperature|over_limit|",
            "|window",
            "|alerts|hottest|",
            "Readings: 20, enriched: 16, from devices the inventory does not list: 4",
            "Every reading was either enriched or reported as unassigned.",
        ],
    ),
    (
        "ad_attribution",
        &[
            "|clicked_at",
            "|click_time",
            "|false  |",
            "Impressions: 32, attributed clicks: 4, impressions reported: 32",
            "Every impression was reported exactly once.",
        ],
    ),
    (
        "user_sessions",
        &[
            "|session_start      |session_end        |clicks|active_seconds|",
            "|2024-01-01 10:00:00|2024-01-01 10:00:48|7     |18            |",
            "User sessions query stopped.",
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

/// The arguments an example runs with: two seconds, and for the socket word count its own line
/// server.
fn args(name: &str) -> Vec<&'static str> {
    match name {
        "socket_word_count" => vec!["--serve", "--seconds", "2"],
        _ => vec!["--seconds", "2"],
    }
}

#[test]
fn every_example_runs_and_prints_its_cell() {
    let started = Instant::now();
    let runs: Vec<_> = EXAMPLES
        .iter()
        .map(|&(name, _)| (name, thread::spawn(move || run(name, &args(name)))))
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

/// `file_source` commits output files within six seconds (each input file replays ten seconds
/// of readings), and refuses a bad `--seconds` with exit code 2, like the other examples.
#[test]
fn file_source_writes_output_in_six_seconds_and_refuses_bad_arguments() {
    let (stdout, _) = examples::run("file_source", &["--seconds", "6"]).unwrap();
    let files: usize = stdout
        .lines()
        .find_map(|l| l.strip_suffix(" committed output files; their rows:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no file count in:\n{stdout}"));
    assert!(files > 0, "no output file committed:\n{stdout}");
    assert!(stdout.contains(" readings=5 "), "{stdout}");
    let err = examples::run_failing("file_source", &["--seconds", "abc"]).unwrap_err();
    assert_eq!(
        err,
        "2\n--seconds expects a whole number of seconds, found `abc`\n"
    );
}

#[test]
fn every_example_file_is_smoke_tested() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    // The Kafka examples need a broker: `tests/kafka_examples.rs` runs them.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the examples directory")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_string)
        })
        .filter(|name| !name.starts_with("kafka_"))
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

/// The Sluice side of the side-by-side with Spark (`benches/spark/`) runs each of its queries
/// over a directory of Parquet files of the seed's rows and reports every row it read.
#[cfg(feature = "parquet")]
#[test]
fn the_spark_side_by_side_binary_reads_every_row() {
    use sluice::format::{FileFormat, Parquet};
    use sluice::prelude::Timestamp;
    use sluice::row::RateRow;

    let dir = tempfile::tempdir().unwrap();
    let format = FileFormat::from(Parquet::new());
    for file in 0..3i64 {
        let rows: Vec<RateRow> = (0..1_000)
            .map(|i| {
                let value = file * 1_000 + i;
                RateRow {
                    timestamp: Timestamp::from_micros(1_704_103_200_000_000 + value * 1_000),
                    value,
                }
            })
            .collect();
        let path = dir.path().join(format!("part-{file}.parquet"));
        std::fs::write(path, format.write_rows(&rows).unwrap()).unwrap();
    }
    for query in ["windowed", "alerts", "keyed"] {
        let (stdout, _) =
            run("spark_side_by_side", &[query, dir.path().to_str().unwrap()]).unwrap();
        let fields: Vec<&str> = stdout.split_whitespace().collect();
        assert_eq!(fields[..2], [query, "3000"], "{stdout}");
    }
}
