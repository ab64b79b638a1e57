//! File source and file sink: a directory of CSV sensor readings, watched for new files, turned
//! into per-room statistics over 10-second windows and written as JSON lines with exactly-once
//! output (the seed's "File sources (JSON, CSV, Parquet)" and "File sink").
//!
//! The example makes its own input: a writer drops a CSV file into a temporary directory every
//! second (written elsewhere, then moved in, as a producer should). It prints the committed
//! output at the end.
//!
//! ```sh
//! cargo run --example file_source                  # runs for 20 seconds
//! cargo run --example file_source -- --seconds 8
//! ```

use std::path::Path;
use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// One CSV line: `timestamp,room,temperature`.
    pub schema SensorReading { timestamp: Timestamp, room: String, temperature: Option<f64> }

    /// Per-room statistics over 10-second windows, final 5 seconds after each window ends.
    pub query RoomStats from SensorReading {
        watermark timestamp delay 5 seconds;
        group by window(timestamp, 10 seconds), room;
        aggregate readings = count(), avg_temp = avg(temperature), max_temp = max(temperature);
        select room, start = window.start, end = window.end, readings, avg_temp, max_temp;
    }
}

/// `--seconds N` (or `SLUICE_SECONDS`), else `default`.
fn run_seconds(default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .or_else(|| {
            std::env::var("SLUICE_SECONDS")
                .ok()
                .and_then(|s| s.parse().ok())
        })
        .unwrap_or(default)
}

/// Writes file `n`: five readings stamped now, one per room, one of them unparsable.
fn write_readings(staging: &Path, input: &Path, n: u64) -> std::io::Result<()> {
    let now = Timestamp::now();
    let mut csv = String::from("timestamp,room,temperature\n");
    for room in 0..5u64 {
        let temperature = if (n + room).is_multiple_of(13) {
            "sensor-error".to_string()
        } else {
            format!("{:.1}", 20.0 + ((n * 7 + room * 3) % 50) as f64 / 10.0)
        };
        csv.push_str(&format!("{},Room_{room},{temperature}\n", now.to_rfc3339()));
    }
    let name = format!("readings-{n:05}.csv");
    std::fs::write(staging.join(&name), csv)?;
    // Moving a finished file in means the source never sees it half-written.
    std::fs::rename(staging.join(&name), input.join(&name))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = run_seconds(20);
    let work = tempfile::tempdir()?;
    let (staging, input, output) = (
        work.path().join("staging"),
        work.path().join("input"),
        work.path().join("output"),
    );
    for dir in [&staging, &input, &output] {
        std::fs::create_dir_all(dir)?;
    }

    // The first file is there before the query starts, so its first batch has data.
    write_readings(&staging, &input, 0)?;
    let writer = {
        let (staging, input) = (staging.clone(), input.clone());
        tokio::spawn(async move {
            let mut n = 1;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Err(e) = write_readings(&staging, &input, n) {
                    eprintln!("cannot write input: {e}");
                    return;
                }
                n += 1;
            }
        })
    };

    // Spark: spark.readStream.schema(...).option("header", True)
    //            .option("maxFilesPerTrigger", 2).csv(input)
    let source = FileSource::<SensorReading>::new(&input, Csv::new().header(true))
        .max_files_per_trigger(2)
        .path_glob_filter("*.csv");
    // Spark: .writeStream.format("json").outputMode("append").trigger(processingTime="2 seconds")
    let query = RoomStats::read_stream(source)
        .write_stream()
        .output_mode(Append)
        .format(FileSink::json(&output))
        .trigger(Trigger::processing_time("2 seconds")?)
        .start()?;
    println!("Reading CSV files from {}", input.display());
    println!(
        "Writing JSON lines to {}; running for {seconds} seconds...",
        output.display()
    );
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    writer.abort();
    query.stop().await;

    if let Some(progress) = query.last_progress() {
        println!(
            "Last batch: {} (input rows {}, watermark {})",
            progress.batch_id,
            progress.num_input_rows,
            progress
                .event_time
                .watermark
                .map_or("none".to_string(), |w| w.to_string())
        );
    }
    let files = sluice::sink::file::committed_files(&output)?;
    println!("{} committed output files; their rows:", files.len());
    for row in sluice::sink::file::read_committed::<RoomStatsRow>(&output, Json::new())? {
        let show = |v: Option<f64>| v.map_or("NULL".to_string(), |v| format!("{v:.2}"));
        println!(
            "{} [{}, {}) readings={} avg={} max={}",
            row.room,
            row.start,
            row.end,
            row.readings,
            show(row.avg_temp),
            show(row.max_temp)
        );
    }
    Ok(())
}
