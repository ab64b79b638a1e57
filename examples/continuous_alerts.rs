//! The seed's section 3 alert ("Filter and transform the stream") with the last trigger of its
//! section 8, "Continuous: low-latency (experimental)": readings above 25 °C tagged
//! `HIGH TEMPERATURE ALERT`, each handed to the sink as soon as the rate source generates its
//! reading. The console prints every one-second epoch when it commits, as Spark's console does
//! with a continuous trigger; a second query's `foreach` writer takes the same alerts one by
//! one and reports how long after their readings they arrived.
//!
//! ```sh
//! cargo run --release --example continuous_alerts             # runs for 10 seconds
//! cargo run --release --example continuous_alerts -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};

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
    // The seed's cell, with `trigger(continuous="1 second")`.
    let alert_query = HighTempStream::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .trigger(Trigger::continuous("1 second")?)
        .start()?;

    // The same alerts, one at a time: how long after its reading (the rate source's timestamp)
    // each one reaches the writer.
    let clock = Clock::system();
    let delays = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&delays);
    let timed_query = HighTempStream::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .clock(clock)
        .foreach(move |alert: HighTempStreamRow| {
            let delay = clock.now().as_micros() - alert.timestamp.as_micros();
            seen.lock().unwrap().push(delay);
        })
        .trigger(Trigger::continuous("1 second")?)
        .start()?;

    println!("Continuous alert stream started. Running for {seconds} seconds...");
    common::sleep(seconds).await;

    alert_query.stop().await;
    timed_query.stop().await;
    println!("Alert query stopped.");
    let mut delays = delays.lock().unwrap().clone();
    delays.sort_unstable();
    match (delays.get(delays.len() / 2), delays.last()) {
        (Some(median), Some(slowest)) => println!(
            "{} alerts reached the writer {:.3} ms after their readings (median; the slowest {:.3} ms).",
            delays.len(),
            *median as f64 / 1000.0,
            *slowest as f64 / 1000.0
        ),
        _ => println!("No alert arrived."),
    }
    Ok(())
}
