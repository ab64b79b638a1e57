//! The seed's section 3, "Filter and transform the stream": sensor readings above 25 °C, tagged
//! `HIGH TEMPERATURE ALERT`, appended to the console (`truncate = false`).
//!
//! ```sh
//! cargo run --release --example high_temp_alerts             # runs for 10 seconds
//! cargo run --release --example high_temp_alerts -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sensor_pipeline! {
    /// The seed's `high_temp_stream`: alert when the temperature is too high (> 25 °C).
    pub query HighTempStream from SensorStream {
        where temperature > 25;
        select timestamp, room_name, temperature, alert_type = "HIGH TEMPERATURE ALERT";
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(10);
    let alert_query = HighTempStream::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!("High temperature alert stream started. Running for {seconds} seconds...");
    common::sleep(seconds).await;

    alert_query.stop().await;
    println!("Alert query stopped.");
    Ok(())
}
