//! The seed's section 7, "Output Modes in Detail": one aggregation (readings per room) run
//! first in complete mode, then in update mode, each with a 5-second processing-time trigger.
//! Complete mode shows every room at every trigger; update mode only the rooms that changed.
//!
//! ```sh
//! cargo run --release --example output_modes                 # 12 seconds per mode
//! cargo run --release --example output_modes -- --seconds 6
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `test_agg`: the same aggregation for both output modes.
    pub query TestAgg from SensorStream {
        group by room_name;
        aggregate count = count(*);
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(12);

    // Complete mode: shows ALL rooms every time.
    println!("\n=== COMPLETE MODE ===");
    println!("Shows all rooms every trigger (even unchanged ones)\n");

    let complete_query = TestAgg::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Complete)
        .format(ConsoleSink::new())
        .trigger(Trigger::processing_time("5 seconds")?)
        .start()?;

    common::sleep(seconds).await;
    complete_query.stop().await;
    println!("\nComplete mode query stopped.");

    // Update mode: shows only CHANGED rooms.
    println!("\n=== UPDATE MODE ===");
    println!("Shows only rooms with new data since last trigger\n");

    let update_query = TestAgg::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new())
        .trigger(Trigger::processing_time("5 seconds")?)
        .start()?;

    common::sleep(seconds).await;
    update_query.stop().await;
    println!("\nUpdate mode query stopped.");
    Ok(())
}
