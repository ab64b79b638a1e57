//! What the Kafka examples share: where the broker is, a clear message when there is none, and
//! creating their topics. Included by `examples/kafka_*.rs` with
//! `#[path = "common/kafka.rs"] mod kafka;`.

// Each example uses only some of these helpers.
#![allow(dead_code)]

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use sluice::rdkafka::ClientConfig;
use sluice::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use sluice::rdkafka::client::DefaultClientContext;
use sluice::rdkafka::types::RDKafkaErrorCode;

/// The value of `--<name> VALUE` on the command line, or `default`.
pub(crate) fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    let flag = format!("--{name}");
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// The brokers: `--bootstrap host:port`, default `127.0.0.1:9092`. Exits with a message saying
/// how to start a broker when nothing listens there.
pub(crate) fn bootstrap() -> String {
    let servers = arg("bootstrap", "127.0.0.1:9092");
    let reachable = servers.split(',').any(|server| {
        server
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
    });
    if !reachable {
        eprintln!(
            "No Kafka broker at {servers}. Start one, e.g. Tansu (an Apache-2.0 Kafka-protocol broker in Rust):

    cargo install tansu --locked --version 0.6.0 --features dynostore
    tansu broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://tansu/

or point this example at your brokers with `--bootstrap host:port`."
        );
        std::process::exit(2);
    }
    servers
}

/// Creates `topics` (three partitions each) unless they exist.
pub(crate) async fn create_topics(servers: &str, topics: &[&str]) -> Result<(), sluice::Error> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .map_err(|e| sluice::Error::InvalidArgument(e.to_string()))?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, 3, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .map_err(|e| sluice::Error::InvalidArgument(e.to_string()))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, e)) => {
                return Err(sluice::Error::InvalidArgument(format!(
                    "cannot create topic {topic}: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// The sink settings the examples write with. Tansu 0.6.0 reports wrong latest offsets after a
/// produce request carrying more than one record, so one record goes per request; a Kafka
/// broker does not need these two lines.
pub(crate) fn one_record_per_request(
    sink: sluice::prelude::KafkaSink,
) -> sluice::prelude::KafkaSink {
    sink.option("kafka.linger.ms", "0")
        .option("kafka.batch.num.messages", "1")
}
