//! A deduplicated IoT event stream: four sensors send a reading every second, and the network
//! delivers some of them twice — a retry arrives with the next batch, or the same batch. The
//! query drops the duplicates with Spark's `dropDuplicates` keyed by the reading and its event
//! time, under a 10-second watermark, so the state keeps only the last few seconds of keys;
//! the console shows each reading once (append mode).
//!
//! ```sh
//! cargo run --release --example iot_deduplication                 # runs for 20 seconds
//! cargo run --release --example iot_deduplication -- --seconds 5
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// A sensor reading as it arrives: retries repeat the sensor, sequence number and event
    /// time of the reading they retry.
    pub schema Reading {
        event_time: Timestamp,
        sensor: String,
        seq: i64,
        temperature: f64,
    }

    /// `withWatermark("event_time", "10 seconds").dropDuplicates(["sensor", "seq", "event_time"])`
    pub query UniqueReadings from Reading {
        watermark event_time delay 10 seconds;
        drop duplicates (sensor, seq, event_time);
    }
}

/// How many readings each sensor sends per second of event time.
const SENSORS: [&str; 4] = ["sensor-a", "sensor-b", "sensor-c", "sensor-d"];

/// The readings of second `second` (event time 10:00:00 + `second`), and the retries of some
/// of them: every third reading is delivered twice in the same batch, every fifth again in
/// the next one.
fn deliveries(second: i64) -> Vec<Reading> {
    let base = Timestamp::parse("2024-01-01T10:00:00Z").expect("a valid timestamp");
    let reading = |second: i64, i: usize| Reading {
        event_time: base.plus_micros(second * 1_000_000),
        sensor: SENSORS[i].to_string(),
        seq: second,
        temperature: 20.0 + ((second * 7 + i as i64 * 3) % 50) as f64 / 10.0,
    };
    let mut rows = Vec::new();
    for i in 0..SENSORS.len() {
        let n = second * SENSORS.len() as i64 + i as i64;
        rows.push(reading(second, i));
        if n % 3 == 0 {
            rows.push(reading(second, i));
        }
        if second > 0 && (n - SENSORS.len() as i64) % 5 == 0 {
            // The retry of the previous second's reading of this sensor.
            rows.push(reading(second - 1, i));
        }
    }
    rows
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(20);
    let readings = MemoryStream::<Reading>::new();
    let query = UniqueReadings::read_stream(readings.clone())
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    println!("Deduplicating the readings of {} sensors...", SENSORS.len());

    // Four batches of deliveries per second of wall time, one second of readings each.
    let mut delivered = 0;
    let batches = seconds * 4;
    for second in 0..batches as i64 {
        let rows = deliveries(second);
        delivered += rows.len();
        readings.add_data(rows);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    query.process_all_available().await?;
    query.stop().await;

    let progress = query.recent_progress();
    let emitted: u64 = progress.iter().map(|p| p.sink.num_output_rows).sum();
    let duplicates: u64 = progress
        .iter()
        .flat_map(|p| &p.state_operators)
        .filter_map(|op| op.custom_metrics.get("numDroppedDuplicateRows"))
        .sum();
    let held = progress
        .last()
        .and_then(|p| p.state_operators.first())
        .map_or(0, |op| op.num_rows_total);
    let sent = batches as usize * SENSORS.len();
    println!("\nDeduplicated readings query stopped.");
    println!("Readings sent: {sent}, deliveries: {delivered}, duplicates dropped: {duplicates}");
    println!("Readings emitted: {emitted}; keys held by the state at the end: {held}");
    if emitted as usize == sent && delivered as u64 == emitted + duplicates {
        println!("Every reading came out exactly once.");
    } else {
        println!("Some readings were lost or repeated!");
    }
    Ok(())
}
