//! The seed's section 4, "Global aggregation": the number of sensor readings so far, in
//! complete mode on the console.
//!
//! ```sh
//! cargo run --release --example global_count                 # runs for 10 seconds
//! cargo run --release --example global_count -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `global_count`: `sensor_stream.groupBy().count()`.
    pub query GlobalCount from SensorStream {
        group by ();
        aggregate count = count();
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(10);
    // Complete mode: a global aggregation's state is the whole result.
    let global_query = GlobalCount::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Complete)
        .format(ConsoleSink::new())
        .start()?;

    println!("Global count query started. Running for {seconds} seconds...");
    common::sleep(seconds).await;

    global_query.stop().await;
    println!("Global count query stopped.");
    Ok(())
}
