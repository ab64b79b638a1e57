//! Kafka, producing: the seed's sensor readings (the rate source as temperature and humidity
//! readings from five rooms) written to a Kafka topic as JSON, one record per reading, keyed by
//! room — Spark's `to_json(struct(*))` into `writeStream.format("kafka")`.
//!
//! Needs the cargo feature `kafka` and a broker (without one, it says how to start one):
//!
//! ```sh
//! tansu broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://tansu/ &
//! cargo run --release --features kafka --example kafka_sensor_producer               # 30 seconds
//! cargo run --release --features kafka --example kafka_sensor_producer -- --seconds 5 --bootstrap 127.0.0.1:9092 --topic sensor-readings
//! ```
//!
//! Then `kafka_room_windows` reads the topic.

#[macro_use]
#[path = "common/mod.rs"]
mod common;
#[path = "common/kafka.rs"]
mod kafka;

use sluice::prelude::*;

sensor_pipeline! {}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let seconds = common::seconds(30);
    let servers = kafka::bootstrap();
    let topic = kafka::arg("topic", "sensor-readings");
    kafka::create_topics(&servers, &[&topic]).await?;

    let query = SensorStream::read_stream(RateSource::new().rows_per_second(5))
        .write_stream()
        .format(kafka::one_record_per_request(
            KafkaSink::new()
                .bootstrap_servers(&servers)
                .topic(&topic)
                .key_column("room_name")
                .value_json(),
        ))
        .start()?;
    println!("Writing sensor readings to Kafka topic {topic} at {servers}...");
    common::sleep(seconds).await;
    query.stop().await;
    if let Some(e) = query.exception() {
        return Err(sluice::Error::InvalidArgument(e.to_string()));
    }
    let written: u64 = query
        .recent_progress()
        .iter()
        .map(|p| p.sink.num_output_rows)
        .sum();
    println!("Wrote {written} readings to {topic}. Producer stopped.");
    Ok(())
}
