//! Continuous processing from Kafka to Kafka against a real broker (Tansu, see
//! `tests/common/kafka.rs`): each record is copied as soon as it is polled, epochs record the
//! per-partition offsets reached, and a restart goes on after the last committed epoch.

#![cfg(feature = "kafka")]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use sluice::prelude::*;

use sluice::rdkafka::consumer::{BaseConsumer, Consumer};
use sluice::rdkafka::message::Message;
use sluice::rdkafka::{Offset, TopicPartitionList};

use common::kafka::{Broker, Record, topic};

sluice::pipeline! {
    /// Every record, its value upper-cased, into the same partition of the output topic.
    pub query Shout from Kafka {
        select key, partition, value = upper(cast(value as string));
    }
}

fn source(broker: &Broker) -> KafkaSource {
    KafkaSource::new()
        .bootstrap_servers(&broker.bootstrap)
        .starting_offsets(StartingOffsets::Earliest)
        .poll_timeout(Duration::from_secs(10))
}

fn start(broker: &Broker, input: &str, output: &str, checkpoint: &Path) -> StreamingQuery {
    run(
        broker,
        source(broker).subscribe([input]),
        output,
        checkpoint,
    )
}

fn run(broker: &Broker, source: KafkaSource, output: &str, checkpoint: &Path) -> StreamingQuery {
    Shout::read_stream(source)
        .write_stream()
        .format(
            KafkaSink::new()
                .bootstrap_servers(&broker.bootstrap)
                .topic(output),
        )
        .checkpoint_location(checkpoint)
        .trigger(Trigger::continuous("100 milliseconds").unwrap())
        .start()
        .unwrap()
}

/// Reads an output topic's two partitions from their start as records arrive. (By reading
/// them, not by asking for the latest offsets, which Tansu 0.6.0 gets wrong after some
/// produce requests; see the harness.)
struct Output {
    consumer: BaseConsumer,
    records: Vec<Record>,
}

impl Output {
    fn new(broker: &Broker, topic: &str) -> Output {
        let consumer = broker.consumer();
        let mut partitions = TopicPartitionList::new();
        for p in 0..2 {
            partitions
                .add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&partitions).unwrap();
        Output {
            consumer,
            records: Vec::new(),
        }
    }

    /// Waits until `n` records arrived; returns them in partition and offset order.
    async fn until(&mut self, n: usize) -> Vec<Record> {
        let started = Instant::now();
        while self.records.len() < n {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{n} records did not arrive: {:?}",
                self.records
            );
            match self.consumer.poll(Duration::ZERO) {
                Some(message) => {
                    let m = message.expect("a record");
                    self.records.push(Record {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        value: m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
                        headers: Vec::new(),
                    });
                }
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        let mut records = self.records.clone();
        records.sort_by_key(|r| (r.partition, r.offset));
        records
    }
}

fn record(partition: i32, offset: i64, key: &str, value: &str) -> Record {
    Record {
        partition,
        offset,
        key: Some(key.into()),
        value: Some(value.into()),
        headers: Vec::new(),
    }
}

/// The end offset of the last epoch in the checkpoint's offset log.
fn last_epoch_end(checkpoint: &Path) -> serde_json::Value {
    let last = std::fs::read_dir(checkpoint.join("offsets"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(checkpoint.join("offsets").join(last.to_string())).unwrap(),
    )
    .unwrap();
    record["end"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_copied_as_they_are_polled_and_a_restart_goes_on_after_the_last_epoch() {
    let broker = Broker::start();
    let (input, output) = (topic("continuous-in"), topic("continuous-out"));
    broker.create_topic(&input, 2);
    broker.create_topic(&output, 2);
    let producer = broker.producer();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");

    let mut copied = Output::new(&broker, &output);
    let query = start(&broker, &input, &output, &checkpoint);
    producer.send(&input, 0, Some("a"), "first");
    producer.send(&input, 1, Some("b"), "second");
    producer.send(&input, 0, Some("c"), "third");
    let records = copied.until(3).await;
    query.stop().await;
    assert!(query.exception().is_none(), "{:?}", query.exception());
    assert_eq!(
        records,
        [
            record(0, 0, "a", "FIRST"),
            record(0, 1, "c", "THIRD"),
            record(1, 0, "b", "SECOND"),
        ]
    );
    // The last epoch ended after every record, in Spark's offset JSON.
    assert_eq!(
        last_epoch_end(&checkpoint),
        serde_json::json!({ &input: { "0": 2, "1": 1 } })
    );
    let progress = query.recent_progress();
    assert_eq!(progress.iter().map(|p| p.num_input_rows).sum::<u64>(), 3);
    assert_eq!(
        progress.last().unwrap().sources[0].description,
        format!("KafkaV2[Subscribe[{input}]]")
    );

    // Records sent while the query is down are copied by the next run, and only those.
    producer.send(&input, 1, Some("d"), "fourth");
    let query = start(&broker, &input, &output, &checkpoint);
    copied.until(4).await;
    producer.send(&input, 1, Some("e"), "fifth");
    let records = copied.until(5).await;
    query.stop().await;
    assert!(query.exception().is_none(), "{:?}", query.exception());
    // Nothing more arrives: no record was copied twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        copied
            .consumer
            .poll(Duration::from_millis(200))
            .map(|m| m.is_ok()),
        None
    );
    assert_eq!(
        records,
        [
            record(0, 0, "a", "FIRST"),
            record(0, 1, "c", "THIRD"),
            record(1, 0, "b", "SECOND"),
            record(1, 1, "d", "FOURTH"),
            record(1, 2, "e", "FIFTH"),
        ]
    );
    assert_eq!(
        last_epoch_end(&checkpoint),
        serde_json::json!({ &input: { "0": 2, "1": 3 } })
    );
}

// Tansu 0.6.0 cannot add partitions to a topic (CreatePartitions is unsupported), so the
// partitions found later are those of a topic created later; the reader treats both alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_while_the_query_runs_is_read_from_its_start() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let broker = Broker::start();
    let prefix = topic("continuous-pattern");
    let (first, second) = (format!("{prefix}-one"), format!("{prefix}-two"));
    let output = topic("continuous-patterned");
    broker.create_topic(&first, 1);
    broker.create_topic(&output, 2);
    let producer = broker.producer();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let mut copied = Output::new(&broker, &output);
    let query = run(
        &broker,
        source(&broker).subscribe_pattern(format!("{prefix}-.*")),
        &output,
        &checkpoint,
    );
    producer.send(&first, 0, Some("a"), "before");
    copied.until(1).await;
    // An epoch's end finds the new topic's partition and reads it from offset 0.
    broker.create_topic(&second, 1);
    producer.send(&second, 0, Some("b"), "after");
    producer.send(&second, 0, Some("c"), "later");
    let records = copied.until(3).await;
    query.stop().await;
    assert!(query.exception().is_none(), "{:?}", query.exception());
    assert_eq!(
        records,
        [
            record(0, 0, "a", "BEFORE"),
            record(0, 1, "b", "AFTER"),
            record(0, 2, "c", "LATER")
        ]
    );
    assert_eq!(
        last_epoch_end(&checkpoint),
        serde_json::json!({ &first: { "0": 1 }, &second: { "0": 2 } })
    );
}

/// A continuous reader reads every partition it is given and has no point between batches at
/// which to take or give up partitions: a consumer group is refused when the query starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_group_is_refused_with_the_continuous_trigger() {
    let broker = Broker::start();
    let input = topic("continuous-group-in");
    broker.create_topic(&input, 2);
    let dir = tempfile::tempdir().unwrap();
    let err = Shout::read_stream(source(&broker).subscribe([input]).consumer_group("members"))
        .write_stream()
        .format(
            KafkaSink::new()
                .bootstrap_servers(&broker.bootstrap)
                .topic("unused"),
        )
        .checkpoint_location(dir.path().join("checkpoint"))
        .trigger(Trigger::continuous("100 milliseconds").unwrap())
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "consumer_group(\"members\"): a continuous query cannot share its \
         input partitions with other processes yet; run it with a micro-batch trigger, or in \
         one process (without consumer_group)"
    );
}
