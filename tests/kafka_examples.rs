//! The Kafka examples against a real broker (Tansu, `tests/common/kafka.rs`): the producer
//! writes the seed's sensor readings as JSON, the windowed aggregation reads them and writes
//! window updates to a second topic and the console; without a broker, an example says how to
//! start one. The binaries are the ones `cargo test --features kafka` builds.

#![cfg(feature = "kafka")]

mod common;

use common::examples::run;
use common::kafka::{Broker, topic};

#[test]
fn the_kafka_examples_run_against_a_broker() {
    let broker = Broker::start();
    let readings = topic("sensor-readings");
    let windows = topic("room-windows");
    let (stdout, _) = run(
        "kafka_sensor_producer",
        &[
            "--seconds",
            "3",
            "--bootstrap",
            &broker.bootstrap,
            "--topic",
            &readings,
        ],
    )
    .unwrap();
    assert!(
        stdout.starts_with(&format!(
            "Writing sensor readings to Kafka topic {readings} at {}...\n",
            broker.bootstrap
        )),
        "{stdout}"
    );
    assert!(stdout.contains(" readings to "), "{stdout}");
    let records = broker.read_all(&readings, 3);
    assert!(
        records.len() >= 5,
        "{} readings in 3 seconds",
        records.len()
    );
    let first = records.iter().find(|r| r.offset == 0).unwrap();
    let value = first.value.as_deref().unwrap();
    // The whole row as JSON, keyed by room.
    let json: serde_json::Value = serde_json::from_str(value).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["humidity", "room_name", "temperature", "timestamp"]
    );
    assert_eq!(first.key.as_deref(), json["room_name"].as_str());

    let (stdout, _) = run(
        "kafka_room_windows",
        &[
            "--seconds",
            "4",
            "--bootstrap",
            &broker.bootstrap,
            "--input",
            &readings,
            "--output",
            &windows,
        ],
    )
    .unwrap();
    assert!(stdout.contains("Batch: 0"), "{stdout}");
    assert!(
        stdout.contains("|room_name|window_start       |window_end         |count|avg_temp"),
        "{stdout}"
    );
    assert!(stdout.contains("Kafka queries stopped."), "{stdout}");
    let updates = broker.read_all(&windows, 3);
    assert!(!updates.is_empty(), "no window updates in {windows}");
    for u in &updates {
        let json: serde_json::Value = serde_json::from_str(u.value.as_deref().unwrap()).unwrap();
        assert_eq!(u.key.as_deref(), json["room_name"].as_str(), "{json}");
        assert!(json["count"].as_i64().unwrap() >= 1, "{json}");
        assert!(
            json["window_start"].as_str().unwrap().ends_with("0.000Z"),
            "{json}"
        );
    }
    // Every reading was counted once in the final updates of its window.
    let mut last: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for u in &updates {
        let json: serde_json::Value = serde_json::from_str(u.value.as_deref().unwrap()).unwrap();
        let key = (
            json["room_name"].as_str().unwrap().to_string(),
            json["window_start"].as_str().unwrap().to_string(),
        );
        let count = json["count"].as_i64().unwrap();
        let slot = last.entry(key).or_default();
        *slot = (*slot).max(count);
    }
    assert_eq!(last.values().sum::<i64>(), records.len() as i64);
}

#[test]
fn without_a_broker_an_example_says_how_to_start_one() {
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = nowhere.local_addr().unwrap().to_string();
    drop(nowhere);
    let e = run(
        "kafka_sensor_producer",
        &["--seconds", "1", "--bootstrap", &address],
    )
    .unwrap_err();
    assert!(e.starts_with("exited with exit status: 2"), "{e}");
    assert!(
        e.contains(&format!(
            "No Kafka broker at {address}. Start one, e.g. Tansu"
        )),
        "{e}"
    );
    assert!(
        e.contains("tansu broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://tansu/"),
        "{e}"
    );
}

/// Runs `kafka_members --members 2 <extra>` over a new topic of three partitions of readings
/// (`kafka_sensor_producer`, two seconds), checks that between them the two members own every
/// partition of it at the end, and returns the readings written and the readings the members
/// say they read.
fn run_two_members(broker: &Broker, name: &str, extra: &[&str]) -> (usize, usize) {
    let readings = topic(&format!("{name}-readings"));
    run(
        "kafka_sensor_producer",
        &[
            "--seconds",
            "2",
            "--bootstrap",
            &broker.bootstrap,
            "--topic",
            &readings,
        ],
    )
    .unwrap();
    let records = broker.read_all(&readings, 3);
    assert!(!records.is_empty());
    let group = topic(&format!("{name}-group"));
    let mut args = vec![
        "--members",
        "2",
        "--seconds",
        "14",
        "--bootstrap",
        &broker.bootstrap,
        "--input",
        &readings,
        "--group",
        &group,
    ];
    args.extend(extra);
    let (stdout, _) = run("kafka_members", &args).unwrap();
    assert!(stdout.starts_with("Starting 2 members...\n"), "{stdout}");
    let summaries: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("Member "))
        .collect();
    assert_eq!(summaries.len(), 2, "{stdout}");
    let mut read = 0;
    let mut owned = Vec::new();
    for (i, line) in summaries.iter().enumerate() {
        let prefix = format!("Member {} read ", i + 1);
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line}"));
        read += rest.split(' ').next().unwrap().parse::<usize>().unwrap();
        let partitions = rest.split('[').nth(1).unwrap().trim_end_matches(']');
        owned.extend(
            partitions
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    owned.sort();
    // A member's last line says what it owned when it stopped, and the two stop a moment
    // apart: a partition that moved in between is in both lines.
    owned.dedup();
    let every: Vec<String> = (0..3).map(|p| format!("{readings}-{p}")).collect();
    assert_eq!(owned, every, "{stdout}");
    (records.len(), read)
}

/// `kafka_members --members 2` starts two member processes of one consumer group over a topic of
/// three partitions: between them they own every partition at the end and read every reading
/// (at least once: a row read by a member just before a partition moved is read again by the
/// next owner; `docs/scale-out.md`).
#[test]
fn the_members_example_shares_a_topic_between_processes() {
    let broker = Broker::start();
    let (written, read) = run_two_members(&broker, "member", &[]);
    assert!(
        read >= written && read <= 2 * written,
        "{read} readings read of {written}"
    );
}

/// `kafka_members --members 2 --stateful` runs readings per room as a query per partition in two
/// member processes: between them they run the queries of every partition at the end, and no
/// reading is counted twice (a member counts the readings of the partitions it runs at the
/// end; the exactness of a partition's state as it moves is `tests/kafka_partitioned.rs`'s).
#[test]
fn the_members_example_runs_a_query_per_partition() {
    let broker = Broker::start();
    let (written, read) = run_two_members(&broker, "partitioned", &["--stateful"]);
    assert!(
        read > 0 && read <= written,
        "{read} readings counted of {written}"
    );
}
