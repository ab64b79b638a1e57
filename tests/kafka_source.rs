//! The Kafka source against a real broker (Tansu, started per test on a loopback port by
//! `tests/common/kafka.rs`): exact rows and offsets per batch over several partitions,
//! `max_offsets_per_trigger` splitting a backlog, starting offsets, headers, new topics,
//! data loss, and a broker that stops answering mid-query.

#![cfg(feature = "kafka")]

mod common;

use std::time::Duration;

use sluice::prelude::*;
use sluice::source::kafka::KafkaOffset;

use common::kafka::{Broker, topic};
use common::typed_collector;

sluice::pipeline! {
    /// Every record, its value as text.
    pub query Records from Kafka {
        select topic, partition, offset, key = cast(key as string), text = cast(value as string);
    }

    /// The same, with the headers.
    pub query WithHeaders from Kafka {
        select offset, headers, header_text = cast(headers as string);
    }
}

/// `(topic, partition, offset, key, value)`.
type Seen = (String, i32, i64, Option<String>, Option<String>);

fn seen(rows: &[RecordsRow]) -> Vec<Seen> {
    rows.iter()
        .map(|r| {
            (
                r.topic.clone(),
                r.partition,
                r.offset,
                r.key.clone(),
                r.text.clone(),
            )
        })
        .collect()
}

fn source(broker: &Broker, topic: &str) -> KafkaSource {
    KafkaSource::new()
        .bootstrap_servers(&broker.bootstrap)
        .subscribe([topic])
        .starting_offsets(StartingOffsets::Earliest)
        .poll_timeout(Duration::from_secs(10))
}

/// Runs `Records` over `source` with `Trigger::AvailableNow` (and a checkpoint, if given);
/// returns each batch's rows as the sink received them, and the query. (The source plans a
/// batch as one input partition per topic partition, so the rows come in partition order, each
/// partition's in offset order, at any parallelism.)
async fn available_now(
    source: KafkaSource,
    checkpoint: Option<&std::path::Path>,
) -> (StreamingQuery, Vec<(u64, Vec<Seen>)>) {
    let (batches, sink) = typed_collector::<RecordsRow>();
    let mut writer = Records::read_stream(source)
        .write_stream()
        .trigger(Trigger::AvailableNow)
        .foreach_batch(sink);
    if let Some(dir) = checkpoint {
        writer = writer.checkpoint_location(dir);
    }
    let query = writer.start().expect("the query starts");
    query.await_termination().await.expect("the query runs");
    let mut out = Vec::new();
    for (id, rows) in batches.lock().unwrap().iter() {
        out.push((*id, seen(rows)));
    }
    (query, out)
}

fn rec(topic: &str, partition: i32, offset: i64, key: &str, value: &str) -> Seen {
    (
        topic.to_string(),
        partition,
        offset,
        Some(key.to_string()),
        Some(value.to_string()),
    )
}

fn offsets(progress: &sluice::StreamingQueryProgress) -> (String, String) {
    let source = &progress.sources[0];
    (
        source.start_offset.to_string(),
        source.end_offset.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_rows_and_offsets_per_batch_over_three_partitions() {
    let broker = Broker::start();
    let t = topic("readings");
    broker.create_topic(&t, 3);
    let producer = broker.producer();
    producer.send(&t, 0, Some("a"), "a0");
    producer.send(&t, 2, Some("c"), "c0");
    producer.send(&t, 0, Some("a"), "a1");
    producer.send(&t, 2, Some("c"), "c1");
    producer.send(&t, 2, Some("c"), "c2");
    let checkpoint = tempfile::tempdir().unwrap();

    let (query, batches) = available_now(source(&broker, &t), Some(checkpoint.path())).await;
    assert_eq!(
        batches,
        [(
            0,
            vec![
                rec(&t, 0, 0, "a", "a0"),
                rec(&t, 0, 1, "a", "a1"),
                rec(&t, 2, 0, "c", "c0"),
                rec(&t, 2, 1, "c", "c1"),
                rec(&t, 2, 2, "c", "c2"),
            ]
        )]
    );
    let p = query.last_progress().unwrap();
    assert_eq!(p.num_input_rows, 5);
    assert_eq!(p.sources[0].description, format!("KafkaV2[Subscribe[{t}]]"));
    // Spark's offset JSON; partition 1 is empty.
    assert_eq!(
        offsets(&p),
        (
            "null".to_string(),
            format!(r#"{{"{t}":{{"0":2,"1":0,"2":3}}}}"#)
        )
    );

    // More records, read by the same query restarted from its checkpoint: batch 1 exactly.
    producer.send(&t, 1, Some("b"), "b0");
    producer.send(&t, 0, None, "a2");
    let (query, batches) = available_now(source(&broker, &t), Some(checkpoint.path())).await;
    assert_eq!(
        batches,
        [(
            1,
            vec![
                (t.clone(), 0, 2, None, Some("a2".to_string())),
                rec(&t, 1, 0, "b", "b0"),
            ]
        )]
    );
    assert_eq!(
        offsets(&query.last_progress().unwrap()),
        (
            format!(r#"{{"{t}":{{"0":2,"1":0,"2":3}}}}"#),
            format!(r#"{{"{t}":{{"0":3,"1":1,"2":3}}}}"#)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_offsets_per_trigger_splits_a_backlog_as_spark_does() {
    let broker = Broker::start();
    let t = topic("backlog");
    broker.create_topic(&t, 3);
    let producer = broker.producer();
    for i in 0..6 {
        producer.send(&t, 0, None, &format!("a{i}"));
    }
    for i in 0..3 {
        producer.send(&t, 1, None, &format!("b{i}"));
    }
    let (query, batches) =
        available_now(source(&broker, &t).max_offsets_per_trigger(4), None).await;
    // Spark's proration: 4 offsets shared 6:3 → 2 and 1 per batch (rounded down).
    let values: Vec<(u64, Vec<String>)> = batches
        .iter()
        .map(|(id, rows)| (*id, rows.iter().map(|r| r.4.clone().unwrap()).collect()))
        .collect();
    assert_eq!(
        values,
        [
            (0, vec!["a0".into(), "a1".into(), "b0".into()]),
            (1, vec!["a2".into(), "a3".into(), "b1".into()]),
            (2, vec!["a4".into(), "a5".into(), "b2".into()]),
        ]
    );
    let ends: Vec<String> = query
        .recent_progress()
        .iter()
        .map(|p| p.sources[0].end_offset.to_string())
        .collect();
    assert_eq!(
        ends,
        [
            format!(r#"{{"{t}":{{"0":2,"1":1,"2":0}}}}"#),
            format!(r#"{{"{t}":{{"0":4,"1":2,"2":0}}}}"#),
            format!(r#"{{"{t}":{{"0":6,"1":3,"2":0}}}}"#),
        ]
    );
    // The backlog after each batch, as Spark's source metrics.
    let first = &query.recent_progress()[0].sources[0].metrics;
    assert_eq!(first["maxOffsetsBehindLatest"], "4");
    assert_eq!(first["minOffsetsBehindLatest"], "0");
    assert_eq!(first["avgOffsetsBehindLatest"], "2.0");
    let last = &query.last_progress().unwrap().sources[0].metrics;
    assert_eq!(last["maxOffsetsBehindLatest"], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_offsets_latest_and_specific() {
    let broker = Broker::start();
    let t = topic("start");
    broker.create_topic(&t, 2);
    let producer = broker.producer();
    producer.send(&t, 0, None, "old-a0");
    producer.send(&t, 0, None, "old-a1");
    producer.send(&t, 1, None, "old-b0");

    // Latest: a new query sees only what comes after it started.
    let (batches, sink) = typed_collector::<RecordsRow>();
    let query = Records::read_stream(source(&broker, &t).starting_offsets(StartingOffsets::Latest))
        .write_stream()
        .foreach_batch(sink)
        .start()
        .unwrap();
    query.process_all_available().await.unwrap();
    producer.send(&t, 1, None, "new-b1");
    query.process_all_available().await.unwrap();
    query.stop().await;
    let values: Vec<String> = batches
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.text.clone().unwrap()))
        .collect();
    assert_eq!(values, ["new-b1"]);
    assert_eq!(
        query.recent_progress()[0].sources[0].end_offset.to_string(),
        format!(r#"{{"{t}":{{"0":2,"1":1}}}}"#),
        "batch 0 starts at the offsets that were latest when the query started"
    );

    // Specific offsets, with Spark's -2 (earliest).
    let specific = StartingOffsets::parse(&format!(r#"{{"{t}":{{"0":1,"1":-2}}}}"#)).unwrap();
    let (_, batches) = available_now(source(&broker, &t).starting_offsets(specific), None).await;
    let values: Vec<String> = batches[0].1.iter().map(|r| r.4.clone().unwrap()).collect();
    assert_eq!(values, ["old-a1", "old-b0", "new-b1"]);

    // Every partition must be named, as in Spark.
    let partial = StartingOffsets::parse(&format!(r#"{{"{t}":{{"0":1}}}}"#)).unwrap();
    let e = Records::read_stream(source(&broker, &t).starting_offsets(partial))
        .write_stream()
        .foreach_batch(|_, _| ())
        .start()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "If starting_offsets contains specific offsets, you must specify all TopicPartitions.\nUse -1 for latest, -2 for earliest.\nSpecified: {{{t}-0}} Assigned: {{{t}-0, {t}-1}}"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_checked_at_start() {
    let broker = Broker::start();
    let start = |s: KafkaSource| {
        Records::read_stream(s)
            .write_stream()
            .foreach_batch(|_, _| ())
            .start()
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        start(KafkaSource::new().bootstrap_servers(&broker.bootstrap)),
        "One of the following options must be specified for Kafka source: subscribe, subscribe_pattern, assign."
    );
    assert_eq!(
        start(KafkaSource::new().subscribe(["t"])),
        "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer"
    );
    assert_eq!(
        start(
            KafkaSource::new()
                .bootstrap_servers(&broker.bootstrap)
                .subscribe(["t"])
                .subscribe_pattern("t.*")
        ),
        "Only one of the following options can be specified for Kafka source: subscribe, subscribe_pattern, assign."
    );
    assert!(
        start(
            KafkaSource::new()
                .bootstrap_servers(&broker.bootstrap)
                .subscribe(["t"])
                .option("kafka.auto.offset.reset", "earliest")
        )
        .starts_with("Kafka option 'auto.offset.reset' is not supported. Instead set the source option starting_offsets(...)")
    );
    assert!(
        start(
            KafkaSource::new()
                .bootstrap_servers(&broker.bootstrap)
                .subscribe(["t"])
                .option("maxOffsetsPerTrigger", "10")
        )
        .starts_with("unknown Kafka source option `maxOffsetsPerTrigger`")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_assigned_partitions() {
    let broker = Broker::start();
    let t = topic("headers");
    broker.create_topic(&t, 2);
    let producer = broker.producer();
    producer.send_with_headers(&t, 1, None, "x", &[("trace", "t1"), ("kind", "k")]);
    producer.send(&t, 1, None, "y");
    producer.send(&t, 0, None, "not assigned");
    let (batches, sink) = typed_collector::<WithHeadersRow>();
    let query = WithHeaders::read_stream(
        KafkaSource::new()
            .bootstrap_servers(&broker.bootstrap)
            .assign([(t.as_str(), 1)])
            .starting_offsets(StartingOffsets::Earliest)
            .include_headers(true),
    )
    .write_stream()
    .trigger(Trigger::AvailableNow)
    .foreach_batch(sink)
    .start()
    .unwrap();
    query.await_termination().await.unwrap();
    let rows = batches.lock().unwrap()[0].1.clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].headers,
        Some(vec![
            Header::new("trace", *b"t1"),
            Header::new("kind", *b"k")
        ])
    );
    assert_eq!(
        rows[0].header_text.as_deref(),
        Some("[{trace, t1}, {kind, k}]")
    );
    // A record without headers has null headers, as in Spark.
    assert_eq!(rows[1].headers, None);
    assert_eq!(
        query.last_progress().unwrap().sources[0].description,
        format!("KafkaV2[Assign[{t}-1]]")
    );
}

// Tansu 0.6.0 cannot add partitions to a topic (CreatePartitions is unsupported), so the
// partitions found later are those of a topic created later; the source treats both alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_picks_up_topics_created_later_from_their_start() {
    let broker = Broker::start();
    let prefix = topic("pattern");
    let first = format!("{prefix}-one");
    broker.create_topic(&first, 1);
    let producer = broker.producer();
    producer.send(&first, 0, None, "1a");
    let (batches, sink) = typed_collector::<RecordsRow>();
    let query = Records::read_stream(
        KafkaSource::new()
            .bootstrap_servers(&broker.bootstrap)
            .subscribe_pattern(format!("{prefix}-.*"))
            .starting_offsets(StartingOffsets::Earliest),
    )
    .write_stream()
    .foreach_batch(sink)
    .start()
    .unwrap();
    query.process_all_available().await.unwrap();
    let second = format!("{prefix}-two");
    broker.create_topic(&second, 1);
    producer.send(&second, 0, None, "2a");
    producer.send(&second, 0, None, "2b");
    // Both records of the new topic, whenever the query noticed it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        query.process_all_available().await.unwrap();
        let n: usize = batches.lock().unwrap().iter().map(|(_, r)| r.len()).sum();
        if n == 3 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    query.stop().await;
    let mut values: Vec<(String, i64, String)> = batches
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, rows)| {
            rows.iter()
                .map(|r| (r.topic.clone(), r.offset, r.text.clone().unwrap()))
        })
        .collect();
    values.sort();
    assert_eq!(
        values,
        [
            (first.clone(), 0, "1a".to_string()),
            (second.clone(), 0, "2a".to_string()),
            (second.clone(), 1, "2b".to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_going_backwards_are_data_loss() {
    let broker = Broker::start();
    let t = topic("recreated");
    broker.create_topic(&t, 1);
    let producer = broker.producer();
    for i in 0..4 {
        producer.send(&t, 0, None, &format!("old{i}"));
    }
    let strict = tempfile::tempdir().unwrap();
    let lenient = tempfile::tempdir().unwrap();
    available_now(source(&broker, &t), Some(strict.path())).await;
    available_now(source(&broker, &t), Some(lenient.path())).await;

    // The topic is deleted and created again: its offsets start over, below the committed 4.
    broker.delete_topic(&t);
    broker.create_topic(&t, 1);
    producer.send(&t, 0, None, "new0");
    producer.send(&t, 0, None, "new1");
    producer.send(&t, 0, None, "new2");

    let query = Records::read_stream(source(&broker, &t))
        .write_stream()
        .trigger(Trigger::AvailableNow)
        .checkpoint_location(strict.path())
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    let e = query.await_termination().await.unwrap_err();
    assert_eq!(
        e.cause.to_string(),
        format!(
            "source KafkaV2[Subscribe[{t}]]: Partition {t}-0's offset was changed from 4 to 3, some data may have been missed. Some data may have been lost because they are not available in Kafka any more; either the data was aged out by Kafka or the topic may have been deleted before all the data in the topic was processed. If you don't want your streaming query to fail on such cases, set the source option fail_on_data_loss(false)."
        )
    );

    // With fail_on_data_loss(false) the query goes on from the new offsets, as Spark does, and
    // reports what it skipped.
    let (query, batches) = available_now(
        source(&broker, &t).fail_on_data_loss(false),
        Some(lenient.path()),
    )
    .await;
    assert_eq!(batches, [(1, vec![])]);
    let p = query.last_progress().unwrap();
    assert_eq!(p.sources[0].metrics["offsetsLost"], "3");
    assert_eq!(
        p.sources[0].metrics["dataLoss"],
        format!("Partition {t}-0's offset was changed from 4 to 3")
    );
    producer.send(&t, 0, None, "new3");
    let (_, batches) = available_now(
        source(&broker, &t).fail_on_data_loss(false),
        Some(lenient.path()),
    )
    .await;
    assert_eq!(
        batches,
        [(2, vec![(t.clone(), 0, 3, None, Some("new3".into()))])]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_stops_answering_fails_the_query_and_a_restart_loses_nothing() {
    let broker = Broker::start();
    let t = topic("outage");
    broker.create_topic(&t, 2);
    let producer = broker.producer();
    producer.send(&t, 0, None, "before-0");
    producer.send(&t, 1, None, "before-1");
    let checkpoint = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let impatient = || {
        source(&broker, &t)
            .poll_timeout(Duration::from_secs(2))
            .fetch_offset_num_retries(1)
    };
    let query = Records::read_stream(impatient())
        .write_stream()
        .format(FileSink::json(output.path()))
        .checkpoint_location(checkpoint.path())
        .start()
        .unwrap();
    query.process_all_available().await.unwrap();
    broker.pause();
    let e = tokio::time::timeout(Duration::from_secs(60), query.await_termination())
        .await
        .expect("the query fails within its timeouts")
        .unwrap_err();
    let message = e.cause.to_string();
    assert!(
        message.starts_with(&format!("source KafkaV2[Subscribe[{t}]]: cannot fetch ")),
        "{message}"
    );
    assert!(message.contains("after 2 attempts"), "{message}");
    broker.resume();
    producer.send(&t, 0, None, "after-0");

    // Restarted from its checkpoint, the query reads on from where it stopped.
    let query = Records::read_stream(impatient())
        .write_stream()
        .format(FileSink::json(output.path()))
        .checkpoint_location(checkpoint.path())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let mut values: Vec<String> =
        sluice::sink::file::read_committed::<RecordsRow>(output.path(), Json::new())
            .unwrap()
            .into_iter()
            .map(|r| r.text.unwrap())
            .collect();
    values.sort();
    assert_eq!(values, ["after-0", "before-0", "before-1"]);
}

#[test]
fn offsets_round_trip_spark_json() {
    let o: KafkaOffset = serde_json::from_str(r#"{"t":{"0":5,"1":7}}"#).unwrap();
    assert_eq!(o.get("t", 1), Some(7));
    assert_eq!(o.to_json(), r#"{"t":{"0":5,"1":7}}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_offsets_per_trigger_waits_for_enough_records_or_the_delay() {
    let broker = Broker::start();
    let t = topic("min");
    broker.create_topic(&t, 1);
    let producer = broker.producer();
    let (batches, sink) = typed_collector::<RecordsRow>();
    let query = Records::read_stream(
        source(&broker, &t)
            .starting_offsets(StartingOffsets::Latest)
            .min_offsets_per_trigger(3)
            .max_trigger_delay(Duration::from_secs(3)),
    )
    .write_stream()
    .foreach_batch(sink)
    .start()
    .unwrap();
    let values = |b: &common::TypedBatches<RecordsRow>| -> Vec<Vec<String>> {
        b.lock()
            .unwrap()
            .iter()
            .map(|(_, rows)| rows.iter().map(|r| r.text.clone().unwrap()).collect())
            .collect()
    };
    let wait_for = |n: usize| {
        let batches = batches.clone();
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while batches.lock().unwrap().len() < n {
                assert!(std::time::Instant::now() < deadline, "no batch {n}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    // As in Spark, the first trigger runs at once (here an empty batch 0).
    wait_for(1).await;
    producer.send(&t, 0, None, "r0");
    producer.send(&t, 0, None, "r1");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        values(&batches),
        [Vec::<String>::new()],
        "two records are not enough"
    );
    producer.send(&t, 0, None, "r2");
    wait_for(2).await;
    producer.send(&t, 0, None, "r3");
    // One record: it waits for `max_trigger_delay` since the last batch.
    let lonely = std::time::Instant::now();
    wait_for(3).await;
    assert!(
        lonely.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        lonely.elapsed()
    );
    query.stop().await;
    assert_eq!(
        values(&batches),
        [
            vec![],
            vec!["r0".to_string(), "r1".into(), "r2".into()],
            vec!["r3".into()]
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_once_reads_everything_in_one_batch() {
    let broker = Broker::start();
    let t = topic("once");
    broker.create_topic(&t, 2);
    let producer = broker.producer();
    for i in 0..5 {
        producer.send(&t, i % 2, None, &format!("r{i}"));
    }
    let (batches, sink) = typed_collector::<RecordsRow>();
    let query = Records::read_stream(source(&broker, &t).max_offsets_per_trigger(2))
        .write_stream()
        .trigger(Trigger::Once)
        .foreach_batch(sink)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let batches = batches.lock().unwrap();
    // `Trigger::Once` ignores `max_offsets_per_trigger`, as Spark's `ReadLimit.allAvailable`.
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].1.len(), 5);
}
