//! The seed's section 5, "Sliding window": readings and average temperature per room in
//! 20-second windows sliding every 10 seconds (each reading counts in two windows), in update
//! mode on the console (`truncate = false`).
//!
//! ```sh
//! cargo run --release --example sliding_window               # runs for 30 seconds
//! cargo run --release --example sliding_window -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `sliding_window`: 20-second windows every 10 seconds, per room.
    pub query SlidingWindow from SensorStream {
        group by window(timestamp, 20 seconds, 10 seconds), room_name;
        aggregate num_readings = count(*), avg_temp = avg(temperature);
        select room_name, window_start = window.start, window_end = window.end,
               num_readings, avg_temp;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(30);
    let sliding_query = SlidingWindow::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!("Sliding window query (20s window, 10s slide) started...");
    common::sleep(seconds).await;

    sliding_query.stop().await;
    println!("Sliding window query stopped.");
    Ok(())
}
