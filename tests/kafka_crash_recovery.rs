//! Kill a query reading Kafka at any moment, restart it, lose nothing, double nothing.
//!
//! The crash-recovery harness (`tests/common/crash.rs`) with a Kafka topic as the source: a
//! real broker (Tansu, `tests/common/kafka.rs`) holds 160 JSON readings over three partitions;
//! the worker parses them (`parse value as json Reading`), runs the seed's windowed
//! aggregation under a watermark in append mode, and writes the file sink, with a checkpoint,
//! `max_offsets_per_trigger(20)` and `Trigger::AvailableNow`. Workers are killed with `SIGKILL`
//! at every failpoint of every batch and at random instants, restarted until one finishes, and
//! the committed output must equal an uninterrupted run's, batch by batch, row for row: the
//! offset ranges come from the checkpoint, never from the consumer group.

#![cfg(all(feature = "kafka", feature = "failpoints"))]

mod common;

use std::path::Path;
use std::time::Duration;

use sluice::prelude::*;

use common::crash::{self, CrashRun, Output};
use common::kafka::{Broker, topic};

sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temp: f64 }

    query RoomWindows from Kafka {
        parse value as json Reading mode drop_malformed;
        watermark ts delay 5 seconds;
        group by window(ts, 10 seconds), room;
        aggregate n = count(), avg_temp = avg(temp);
        select room, start = window.start, n, avg_temp;
    }
}

const CHUNKS: u64 = 8;
const PER_CHUNK: u64 = 20;

/// The worker: runs the query to completion over the topic and directories named in
/// `SLUICE_KAFKA_CRASH_WORKER` (`bootstrap|topic|output|checkpoint`).
#[test]
fn kafka_crash_worker() {
    let Ok(config) = std::env::var("SLUICE_KAFKA_CRASH_WORKER") else {
        return;
    };
    let parts: Vec<&str> = config.split('|').collect();
    let [bootstrap, topic, output, checkpoint] = parts[..] else {
        panic!("bad worker config {config}")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let query = RoomWindows::read_stream(
            KafkaSource::new()
                .bootstrap_servers(bootstrap)
                .subscribe([topic])
                .starting_offsets(StartingOffsets::Earliest)
                .max_offsets_per_trigger(PER_CHUNK)
                .poll_timeout(Duration::from_secs(10)),
        )
        .write_stream()
        .output_mode(Append)
        .format(FileSink::json(output))
        .checkpoint_location(checkpoint)
        .snapshot_interval(2)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
        query.await_termination().await.unwrap();
    });
}

/// A broker and a topic of readings: event time moves forward ten seconds per chunk with a
/// spread that makes some rows late, five rooms, one malformed record per chunk, and a final
/// far-future reading that moves the watermark past every window.
struct Input {
    broker: Broker,
    topic: String,
}

impl Input {
    fn new() -> Input {
        let broker = Broker::start();
        let topic = topic("crash-readings");
        broker.create_topic(&topic, 3);
        let producer = broker.producer();
        for c in 0..CHUNKS {
            for i in 0..PER_CHUNK {
                let secs = c * 10 + (i * 7) % 16;
                let room = ["a", "b", "c", "d", "e"][((i + c) % 5) as usize];
                let value = if i == 13 {
                    "not json".to_string()
                } else {
                    format!(
                        r#"{{"ts":"2024-01-01T10:{:02}:{:02}Z","room":"{room}","temp":{}}}"#,
                        secs / 60,
                        secs % 60,
                        (i * 3 + c) % 17
                    )
                };
                producer.send(&topic, (i % 3) as i32, None, &value);
            }
        }
        producer.send(
            &topic,
            0,
            None,
            r#"{"ts":"2024-01-01T11:00:00Z","room":"z","temp":1}"#,
        );
        Input { broker, topic }
    }
}

struct Run {
    bootstrap: String,
    topic: String,
    output: tempfile::TempDir,
    checkpoint: tempfile::TempDir,
}

impl CrashRun for Run {
    const WORKER: &'static str = "kafka_crash_worker";
    const CONFIG_VAR: &'static str = "SLUICE_KAFKA_CRASH_WORKER";
    type Shared = Input;

    fn new(input: &Input) -> Run {
        Run {
            bootstrap: input.broker.bootstrap.clone(),
            topic: input.topic.clone(),
            output: tempfile::tempdir().unwrap(),
            checkpoint: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.bootstrap,
            self.topic,
            self.output.path().display(),
            self.checkpoint.path().display()
        )
    }

    fn output_dir(&self) -> &Path {
        self.output.path()
    }
}

fn reference(input: &Input) -> Output {
    let out = crash::reference::<Run>(input);
    assert!(
        out.len() >= CHUNKS as usize / 2,
        "the reference run emits windows in many batches: {out:?}"
    );
    let rows: usize = out.values().map(Vec::len).sum();
    assert!(rows > 20, "{rows} rows");
    out
}

#[test]
fn killed_at_every_failpoint_of_every_batch() {
    let input = Input::new();
    let expected = reference(&input);
    let killed = crash::run_scenarios::<Run>(&input, crash::every_failpoint(&expected), &expected);
    assert!(killed >= 30, "only {killed} failpoints were reached");
}

#[test]
fn killed_at_random_instants() {
    let input = Input::new();
    let expected = reference(&input);
    let scenarios = crash::random_instants::<Run>(&input, 12, 0x5eed);
    crash::run_scenarios::<Run>(&input, scenarios, &expected);
}
