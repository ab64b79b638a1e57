//! The seed's section 2, "Reading Streaming Data": a rate source generating 5 rows per second
//! (`isStreaming`, `printSchema`), written unchanged to the console in append mode with
//! `truncate = false` and `numRows = 10`.
//!
//! ```sh
//! cargo run --release --example rate_source                  # runs for 10 seconds
//! cargo run --release --example rate_source -- --seconds 3
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

sluice::pipeline! {
    /// The seed's `rate_stream`: the rate source's `timestamp` and `value` columns, unchanged.
    pub query RateStream from Rate {
        select *;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    // Create a streaming DataFrame using rate source: 5 rows per second.
    let rate_stream = RateStream::read_stream(RateSource::new().rows_per_second(5));

    // Check if it's a streaming DataFrame.
    println!(
        "Is streaming: {}",
        common::py_bool(rate_stream.is_streaming())
    );
    println!("\nSchema:");
    rate_stream.print_schema();

    // Write to the console sink to see the data: this starts a streaming query.
    let seconds = common::seconds(10);
    let query = rate_stream
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false).num_rows(10))
        .start()?;

    println!("Streaming query started. Will show data for {seconds} seconds...");
    common::sleep(seconds).await;

    query.stop().await;
    println!("\nQuery stopped.");
    Ok(())
}
