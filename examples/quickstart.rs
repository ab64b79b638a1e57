//! Quickstart: the seed's sensor stream from the rate source, 10-second windows per room under
//! a 30-second watermark, printed to the console every two seconds in update mode.
//!
//! ```sh
//! cargo run --release --example quickstart            # runs for 30 seconds
//! cargo run --release --example quickstart -- --seconds 5
//! ```

#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sluice::pipeline! {
    /// The rate source's rows reshaped into sensor readings (the seed's `sensor_stream`).
    pub query SensorReadings from Rate {
        select timestamp,
               room_name = concat("Room_", value % 5),
               temperature = 20 + value % 10 + (value % 3) / 10.0,
               humidity = 50 + value % 20;
    }

    /// Per-room statistics over 10-second windows, final 30 seconds after each window ends.
    pub query RoomWindows from SensorReadings {
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate readings = count(), avg_temp = avg(temperature), max_temp = max(temperature);
        select room_name, start = window.start, end = window.end, readings, avg_temp, max_temp;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(30);
    let query = RoomWindows::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .trigger(Trigger::processing_time("2 seconds")?)
        .start()?;
    println!("Windowed room statistics started; running for {seconds} seconds...");
    common::sleep(seconds).await;
    query.stop().await;
    println!("Query stopped.");
    Ok(())
}
