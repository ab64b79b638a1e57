//! The seed's section 6, "Watermarking for Late Data": per-room readings and average
//! temperature in 10-second windows under a 30-second watermark, in append mode on the console
//! (`truncate = false`): a window is printed once, when the watermark has passed its end.
//!
//! ```sh
//! cargo run --release --example watermark                    # runs for 45 seconds
//! cargo run --release --example watermark -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `watermarked_stream`: wait up to 30 seconds for late data.
    pub query WatermarkedStream from SensorStream {
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate count = count(*), avg_temp = avg(temperature);
        select room_name, start = window.start, end = window.end, count, avg_temp;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(45);
    // With a watermark, append mode works for windowed aggregations.
    let watermark_query = WatermarkedStream::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!("Watermarked window query started (30s watermark)...");
    println!("Windows will be finalized after watermark delay...");
    // Wait longer than the watermark delay.
    common::sleep(seconds).await;

    watermark_query.stop().await;
    println!("Watermarked query stopped.");
    Ok(())
}
