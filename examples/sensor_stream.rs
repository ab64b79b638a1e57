//! The seed's section 3, "Transform rate stream into sensor data": the rate source's rows
//! reshaped into temperature and humidity readings from five rooms, and the schema of that
//! stream (`printSchema`). The cell only defines the stream; the following examples run
//! queries on it.
//!
//! ```sh
//! cargo run --release --example sensor_stream
//! ```

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use sluice::prelude::*;

// The seed's `sensor_stream` (its definition is in `common/mod.rs`, shared by the examples
// of sections 3 to 9).
sensor_pipeline! {}

fn main() {
    let sensor_stream = SensorStream::read_stream(RateSource::new().rows_per_second(5));

    println!("Sensor stream schema:");
    sensor_stream.print_schema();
}
