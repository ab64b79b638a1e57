//! What the examples share: how long they run, and the seed's sensor stream.
//!
//! Not an example itself: cargo builds `examples/*.rs` and `examples/*/main.rs`, and this
//! directory has no `main.rs`. Each example includes it with
//! `#[macro_use] #[path = "common/mod.rs"] mod common;`.

// Each example uses only some of these helpers.
#![allow(dead_code, unused_macros)]

use std::time::Duration;

/// How long a step of an example runs, in seconds: `--seconds N` on the command line, else the
/// `SLUICE_SECONDS` environment variable, else `default` (the seed's `time.sleep(default)`).
/// An example with several `time.sleep(...)` steps runs each of them this long when overridden.
pub(crate) fn seconds(default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let from_args = args
        .iter()
        .position(|a| a == "--seconds")
        .map(|i| (args.get(i + 1).cloned().unwrap_or_default(), "--seconds"));
    let from_env = || {
        std::env::var("SLUICE_SECONDS")
            .ok()
            .map(|v| (v, "SLUICE_SECONDS"))
    };
    match from_args.or_else(from_env) {
        None => default,
        Some((text, what)) => text.trim().parse().unwrap_or_else(|_| {
            eprintln!("{what} expects a whole number of seconds, found `{text}`");
            std::process::exit(2)
        }),
    }
}

/// The seed's `time.sleep(seconds)`.
pub(crate) async fn sleep(seconds: u64) {
    tokio::time::sleep(Duration::from_secs(seconds)).await;
}

/// `seconds` as the seed words a run time: "1 minute", "90 seconds".
pub(crate) fn run_time(seconds: u64) -> String {
    match seconds {
        60 => "1 minute".to_string(),
        1 => "1 second".to_string(),
        n => format!("{n} seconds"),
    }
}

/// A boolean as Python's `print` shows it (`True` / `False`).
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `sluice::pipeline!` with the seed's `sensor_stream` defined first, so the queries given can
/// read `from SensorStream`.
///
/// `pipeline!` fuses a chain of queries at compile time, so a query and the queries it reads
/// live in one invocation; this macro is how the examples of the seed's sections 3 to 9 share
/// the one definition of the sensor stream, as the notebook's cells share the `sensor_stream`
/// variable. The translation of the seed's cell:
///
/// ```text
/// rate_stream.select(col("timestamp"), col("value"),
///                    (col("value") % 5).cast("string").alias("room_id"),
///                    (20 + (col("value") % 10) + (col("value") % 3) / 10.0).alias("temperature"),
///                    (50 + (col("value") % 20)).alias("humidity"))
///            .withColumn("room_name", expr("concat('Room_', room_id)"))
///            .select("timestamp", "room_name", "temperature", "humidity")
/// ```
macro_rules! sensor_pipeline {
    ($($queries:tt)*) => {
        sluice::pipeline! {
            /// The seed's `sensor_stream`: the rate source's rows as temperature and humidity
            /// readings from five rooms.
            pub query SensorStream from Rate {
                select timestamp,
                       value,
                       room_id = cast(value % 5 as string),
                       temperature = 20 + value % 10 + (value % 3) / 10.0,
                       humidity = 50 + value % 20;
                with room_name = concat("Room_", room_id);
                select timestamp, room_name, temperature, humidity;
            }

            $($queries)*
        }
    };
}
