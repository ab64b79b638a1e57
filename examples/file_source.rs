//! File source and file sink: a directory of CSV sensor readings, watched for new files, turned
//! into per-room statistics over 10-second windows and written as JSON lines with exactly-once
//! output (the seed's "File sources (JSON, CSV, Parquet)" and "File sink").
//!
//! The example makes its own input: a writer drops a CSV file into a temporary directory every
//! second (written elsewhere, then moved in, as a producer should, so the source is told
//! `settle_time(Duration::ZERO)`). Each file replays ten seconds of a sensor log, so windows
//! become final while the example runs: from about four seconds on, output files are
//! committed. It prints them at the end.
//!
//! ```sh
//! cargo run --example file_source                  # runs for 20 seconds
//! cargo run --example file_source -- --seconds 6
//! ```

use std::path::Path;
use std::time::Duration;

use sluice::prelude::*;

#[path = "common/mod.rs"]
mod common;

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

/// Writes file `n`: ten seconds of the log from `start + 10 s × n`, a reading from each of
/// five rooms every two seconds, a few of them unparsable (`sensor-error`).
fn write_readings(staging: &Path, input: &Path, start: Timestamp, n: u64) -> std::io::Result<()> {
    let mut csv = String::from("timestamp,room,temperature\n");
    for second in (0..10u64).step_by(2) {
        let at = start.plus_micros(((n * 10 + second) * 1_000_000) as i64);
        for room in 0..5u64 {
            let temperature = if (n + second + room).is_multiple_of(13) {
                "sensor-error".to_string()
            } else {
                format!(
                    "{:.1}",
                    20.0 + ((n * 7 + second + room * 3) % 50) as f64 / 10.0
                )
            };
            csv.push_str(&format!("{},Room_{room},{temperature}\n", at.to_rfc3339()));
        }
    }
    let name = format!("readings-{n:05}.csv");
    std::fs::write(staging.join(&name), csv)?;
    // Moving a finished file in means the source never sees it half-written.
    std::fs::rename(staging.join(&name), input.join(&name))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(20);
    // The log replayed starts at a minute boundary, so its windows are 10-second aligned.
    let start = Timestamp::from_micros(Timestamp::now().as_micros() / 60_000_000 * 60_000_000);
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
    write_readings(&staging, &input, start, 0)?;
    let writer = {
        let (staging, input) = (staging.clone(), input.clone());
        tokio::spawn(async move {
            let mut n = 1;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Err(e) = write_readings(&staging, &input, start, n) {
                    eprintln!("cannot write input: {e}");
                    return;
                }
                n += 1;
            }
        })
    };

    // Spark: spark.readStream.schema(...).option("header", True)
    //            .option("maxFilesPerTrigger", 2).csv(input)
    // Files are moved in complete: no need to wait for them to settle.
    let source = FileSource::<SensorReading>::new(&input, Csv::new().header(true))
        .max_files_per_trigger(2)
        .path_glob_filter("*.csv")
        .settle_time(Duration::ZERO);
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

    let malformed: u64 = query
        .recent_progress()
        .iter()
        .map(|p| p.sources[0].num_malformed_rows)
        .sum();
    println!("Malformed readings kept with a null temperature: {malformed}");
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
