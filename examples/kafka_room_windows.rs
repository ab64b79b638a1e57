//! Kafka, consuming: the readings `kafka_sensor_producer` writes, parsed from JSON
//! (`parse value as json Reading`, Spark's `from_json(col("value").cast("string"), schema)`),
//! in the seed's 10-second windows per room under a 30-second watermark; each window's update
//! goes to a second topic as JSON and to the console.
//!
//! Needs the cargo feature `kafka` and a broker (without one, it says how to start one):
//!
//! ```sh
//! cargo run --release --features kafka --example kafka_room_windows                 # 60 seconds
//! cargo run --release --features kafka --example kafka_room_windows -- --seconds 10 --input sensor-readings --output room-windows
//! ```
//!
//! Update mode shows each window as it fills; append mode would print a window once, when the
//! watermark (30 seconds behind the latest reading) has passed its end.

#[path = "common/mod.rs"]
mod common;
#[path = "common/kafka.rs"]
mod kafka;

use sluice::prelude::*;

sluice::pipeline! {
    /// A reading as `kafka_sensor_producer` writes it.
    pub schema Reading {
        timestamp: Timestamp,
        room_name: String,
        temperature: f64,
        humidity: i64,
    }

    /// The seed's windowed aggregation with a watermark, over the topic's readings.
    pub query RoomWindows from Kafka {
        parse value as json Reading mode drop_malformed;
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate count = count(*), avg_temp = avg(temperature), max_temp = max(temperature);
        select room_name, window_start = window.start, window_end = window.end, count, avg_temp, max_temp;
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(60);
    let servers = kafka::bootstrap();
    let input = kafka::arg("input", "sensor-readings");
    let output = kafka::arg("output", "room-windows");
    kafka::create_topics(&servers, &[&input, &output]).await?;
    let source = || {
        KafkaSource::new()
            .bootstrap_servers(&servers)
            .subscribe([input.as_str()])
            .starting_offsets(StartingOffsets::Earliest)
    };

    let to_kafka = RoomWindows::read_stream(source())
        .write_stream()
        .output_mode(Update)
        .format(kafka::one_record_per_request(
            KafkaSink::new()
                .bootstrap_servers(&servers)
                .topic(&output)
                .key_column("room_name")
                .value_json(),
        ))
        .trigger(Trigger::processing_time("2 seconds")?)
        .start()?;
    let to_console = RoomWindows::read_stream(source())
        .write_stream()
        .output_mode(Update)
        .format(ConsoleSink::new().truncate(false))
        .trigger(Trigger::processing_time("2 seconds")?)
        .start()?;
    println!("Reading {input} at {servers}; windows go to {output} and the console...");
    common::sleep(seconds).await;
    to_kafka.stop().await;
    to_console.stop().await;
    for query in [&to_kafka, &to_console] {
        if let Some(e) = query.exception() {
            return Err(sluice::Error::InvalidArgument(e.to_string()));
        }
    }
    let windows: u64 = to_kafka
        .recent_progress()
        .iter()
        .map(|p| p.sink.num_output_rows)
        .sum();
    println!("Wrote {windows} window updates to {output}. Kafka queries stopped.");
    Ok(())
}
