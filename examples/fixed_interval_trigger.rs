//! The seed's section 8, "Triggers": readings counted per room with a fixed-interval trigger,
//! a batch every 5 seconds, in update mode on the console.
//!
//! ```sh
//! cargo run --release --example fixed_interval_trigger       # runs for 16 seconds
//! cargo run --release --example fixed_interval_trigger -- --seconds 6
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `triggered_stream`: readings per room.
    pub query TriggeredStream from SensorStream {
        group by room_name;
        aggregate count = count();
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(16);
    println!("Starting query with 5-second trigger interval...");
    println!("Notice it processes exactly every 5 seconds\n");

    let trigger_query = TriggeredStream::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new())
        .trigger(Trigger::processing_time("5 seconds")?)
        .start()?;

    // See 3 triggers.
    common::sleep(seconds).await;
    trigger_query.stop().await;
    println!("Triggered query stopped.");
    Ok(())
}
