//! The seed's section 5, "Tumbling window": readings counted in 10-second windows, shown as
//! `window_start`, `window_end`, `count` in update mode on the console (`truncate = false`).
//!
//! ```sh
//! cargo run --release --example tumbling_window              # runs for 25 seconds
//! cargo run --release --example tumbling_window -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `tumbling_window`: events per 10-second window.
    pub query TumblingWindow from SensorStream {
        group by window(timestamp, 10 seconds);
        aggregate count = count();
        select window_start = window.start, window_end = window.end, count;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(25);
    let tumbling_query = TumblingWindow::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!("Tumbling window query (10-second windows) started...");
    // Run long enough to see multiple windows.
    common::sleep(seconds).await;

    tumbling_query.stop().await;
    println!("Tumbling window query stopped.");
    Ok(())
}
