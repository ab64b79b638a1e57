//! The seed's section 4, "Grouped aggregation": per-room statistics (readings, average, maximum
//! and minimum temperature, average humidity) in update mode on the console
//! (`truncate = false`).
//!
//! ```sh
//! cargo run --release --example room_stats                   # runs for 15 seconds
//! cargo run --release --example room_stats -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `room_stats`: statistics per room.
    pub query RoomStats from SensorStream {
        group by room_name;
        aggregate num_readings = count(*),
                  avg_temperature = avg(temperature),
                  max_temperature = max(temperature),
                  min_temperature = min(temperature),
                  avg_humidity = avg(humidity);
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(15);
    // Update mode: only the rooms whose statistics changed in a batch are shown.
    let room_query = RoomStats::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!("Room statistics query started. Running for {seconds} seconds...");
    common::sleep(seconds).await;

    room_query.stop().await;
    println!("Room statistics query stopped.");
    Ok(())
}
