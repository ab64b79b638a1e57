//! A stream enriched with a static table: sensors send readings that carry only a device id;
//! the device inventory (which room each device is in, and the temperature it should stay
//! under) is a static table, exported as a CSV file and read once when the queries start.
//!
//! - `Enriched` is an inner join: a reading of a device the inventory does not know is dropped.
//! - `Unassigned` is a left outer join: every reading is kept, the inventory's columns null
//!   where the device is unknown, and the query keeps only those rows — the readings nobody
//!   will look at.
//! - `RoomAlerts` joins and aggregates in the same row loop: per room and 10-second window, how
//!   many readings were over the device's limit.
//!
//! ```sh
//! cargo run --release --example device_enrichment                 # runs for 10 seconds
//! cargo run --release --example device_enrichment -- --seconds 3
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// A sensor reading: the device that took it, and nothing about where it is.
    pub schema Reading { event_time: Timestamp, device: String, temperature: f64 }

    /// The inventory: one row per device.
    pub table Device { id: String, room: String, max_temp: f64 }

    /// `readings.join(devices, readings.device == devices.id)`
    pub query Enriched from Reading join Device on device == id {
        select event_time, device, room, temperature, over_limit = temperature > max_temp;
    }

    /// `readings.join(devices, readings.device == devices.id, "left_outer")
    /// .filter(col("room").isNull())`
    pub query Unassigned from Reading left join Device on device == id {
        where room is null;
        select event_time, device, temperature;
    }

    /// Readings over their device's limit, counted per room and 10-second window.
    pub query RoomAlerts from Reading join Device on device == id and temperature > max_temp {
        watermark event_time delay 5 seconds;
        group by window(event_time, 10 seconds), room;
        aggregate alerts = count(*), hottest = max(temperature);
    }
}

/// The devices of the inventory, and one (`dev-x`) it does not list.
const DEVICES: [&str; 5] = ["dev-a", "dev-b", "dev-c", "dev-d", "dev-x"];

/// The inventory as a CSV export: `id,room,max_temp`.
const INVENTORY: &str =
    "dev-a,kitchen,24.0\ndev-b,hall,20.0\ndev-c,bedroom,20.5\ndev-d,kitchen,24.0\n";

/// The readings of second `second`: one per device.
fn readings(second: i64) -> Vec<Reading> {
    let base = Timestamp::parse("2024-01-01T10:00:00Z").expect("a valid timestamp");
    DEVICES
        .iter()
        .enumerate()
        .map(|(i, device)| Reading {
            event_time: base.plus_micros(second * 1_000_000),
            device: device.to_string(),
            temperature: 19.0 + ((second * 3 + i as i64 * 7) % 60) as f64 / 10.0,
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(10);
    let dir = tempfile::tempdir()?;
    let inventory = dir.path().join("devices.csv");
    std::fs::write(&inventory, INVENTORY)?;

    let stream = MemoryStream::<Reading>::new();
    // The table read once from the export, and hashed by `id`.
    let enriched = Enriched::read_stream(stream.clone())
        .with_table_file(Csv::new(), &inventory)?
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .query_name("enriched")
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    // The same table given as rows by the program.
    let devices: Vec<Device> = INVENTORY
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Device {
                id: f[0].to_string(),
                room: f[1].to_string(),
                max_temp: f[2].parse().expect("a number"),
            }
        })
        .collect();
    let unassigned = Unassigned::read_stream(stream.clone())
        .with_table(devices.clone())
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .query_name("unassigned")
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    let alerts = RoomAlerts::read_stream(stream.clone())
        .with_table(devices)
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .query_name("room_alerts")
        .trigger(Trigger::processing_time("1 second")?)
        .start()?;
    println!("Enriching the readings of {} devices...", DEVICES.len());

    // Two seconds of readings per second of wall time.
    let batches = seconds as i64 * 2;
    for second in 0..batches {
        stream.add_data(readings(second));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for query in [&enriched, &unassigned, &alerts] {
        query.process_all_available().await?;
        query.stop().await;
    }

    let rows = |q: &StreamingQuery| -> u64 {
        q.recent_progress()
            .iter()
            .map(|p| p.sink.num_output_rows)
            .sum()
    };
    let sent = batches as u64 * DEVICES.len() as u64;
    println!("\nDevice enrichment stopped.");
    println!(
        "Readings: {sent}, enriched: {}, from devices the inventory does not list: {}",
        rows(&enriched),
        rows(&unassigned)
    );
    if rows(&enriched) + rows(&unassigned) == sent {
        println!("Every reading was either enriched or reported as unassigned.");
    } else {
        println!("Some readings were lost!");
    }
    Ok(())
}
