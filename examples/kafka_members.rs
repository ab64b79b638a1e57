//! Several processes sharing one query's work through a Kafka consumer group: the seed's
//! high-temperature alert over the readings `kafka_sensor_producer` writes, run by `--members N`
//! processes at once. Each member joins the group, reads only the partitions the group assigns
//! it, keeps a checkpoint of its own and prints its alerts; when one stops, the others take its
//! partitions over. See `docs/scale-out.md`.
//!
//! Needs the cargo feature `kafka` and a broker (without one, it says how to start one):
//!
//! ```sh
//! cargo run --release --features kafka --example kafka_sensor_producer -- --seconds 10
//! cargo run --release --features kafka --example kafka_members -- --members 3 --seconds 20
//! # or one member per terminal (or per machine), the same group and a checkpoint each:
//! cargo run --release --features kafka --example kafka_members -- --member a --checkpoint /var/lib/alerts/a
//! ```
//!
//! With `--members N` the example starts N copies of itself as member processes (`--member 1`
//! to `--member N`), waits for them and prints what each read.
//!
//! `--stateful` runs a query with state instead: readings per room (the producer keys each
//! record by its room, so all of a room's readings are in one partition), a query per
//! partition (`sluice::scale_out::PartitionedQuery`) in whichever member the group assigns the
//! partition to, every partition's checkpoint under one directory all members share
//! (`--checkpoint`), so a partition's counts move with it:
//!
//! ```sh
//! cargo run --release --features kafka --example kafka_members -- --members 3 --stateful
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "common/kafka.rs"]
mod kafka;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use sluice::prelude::*;
use sluice::scale_out::PartitionedQuery;

sluice::pipeline! {
    /// A reading as `kafka_sensor_producer` writes it.
    pub schema Reading {
        timestamp: Timestamp,
        room_name: String,
        temperature: f64,
        humidity: i64,
    }

    /// The seed's `high_temp_stream`, over the topic's readings: stateless, so its partitions
    /// can move between members freely.
    pub query Alerts from Kafka {
        parse value as json Reading mode drop_malformed;
        where temperature > 25;
        select timestamp, room_name, temperature, partition, alert_type = "HIGH TEMPERATURE ALERT";
    }

    /// Readings and average temperature per room: state, kept per partition (a room's
    /// readings are all in one partition).
    pub query RoomCounts from Kafka {
        parse value as json Reading mode drop_malformed;
        group by room_name;
        aggregate readings = count(*), avg_temp = avg(temperature);
    }
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let members: usize = kafka::arg("members", "0").parse().unwrap_or_else(|_| {
        eprintln!("--members expects a number of member processes");
        std::process::exit(2)
    });
    if members > 0 {
        return run_members(members);
    }
    let seconds = common::seconds(20);
    let servers = kafka::bootstrap();
    let input = kafka::arg("input", "sensor-readings");
    let group = kafka::arg("group", "sensor-alerts");
    let member = kafka::arg("member", "1");
    let checkpoint = match kafka::arg("checkpoint", "") {
        dir if dir.is_empty() => std::env::temp_dir().join(format!("sluice-members-{member}")),
        dir => PathBuf::from(dir),
    };
    kafka::create_topics(&servers, &[&input]).await?;
    if std::env::args().any(|a| a == "--stateful") {
        return run_partitioned(&servers, &input, &group, &member, checkpoint, seconds).await;
    }
    let query = Alerts::read_stream(
        KafkaSource::new()
            .bootstrap_servers(&servers)
            .subscribe([input.as_str()])
            .starting_offsets(StartingOffsets::Earliest)
            .consumer_group(&group)
            // Kafka's minimum session timeout: a member that dies hands its partitions on
            // after about this long.
            .option("kafka.session.timeout.ms", "6000"),
    )
    .write_stream()
    .format(ConsoleSink::new().truncate(false))
    .checkpoint_location(&checkpoint)
    .trigger(Trigger::processing_time("1 second")?)
    .start()?;
    println!("Member {member} of group {group}, reading {input} at {servers}...");
    common::sleep(seconds).await;
    query.stop().await;
    if let Some(e) = query.exception() {
        return Err(sluice::Error::InvalidArgument(e.to_string()));
    }
    let progress = query.recent_progress();
    let rows: u64 = progress.iter().map(|p| p.num_input_rows).sum();
    let alerts: u64 = progress.iter().map(|p| p.sink.num_output_rows).sum();
    let partitions = progress
        .iter()
        .rev()
        .find_map(|p| p.sources[0].metrics.get("groupPartitions").cloned())
        .unwrap_or_default();
    println!(
        "Member {member} read {rows} readings ({alerts} alerts); its partitions at the end: [{partitions}]"
    );
    Ok(())
}

/// One member of a query per partition: `RoomCounts` for each partition the group assigns
/// this process, each partition's checkpoint under `root` (shared by all members).
async fn run_partitioned(
    servers: &str,
    input: &str,
    group: &str,
    member: &str,
    root: PathBuf,
    seconds: u64,
) -> Result<(), sluice::Error> {
    let reader = servers.to_string();
    let partitioned = PartitionedQuery::new(servers, group, input)
        .checkpoint_root(&root)
        .option("kafka.session.timeout.ms", "6000")
        .start(move |task| {
            RoomCounts::read_stream(
                task.source(
                    KafkaSource::new()
                        .bootstrap_servers(&reader)
                        .starting_offsets(StartingOffsets::Earliest),
                ),
            )
            .write_stream()
            .query_name(format!("room-counts-{}", task.partition()))
            .output_mode(Update)
            .format(ConsoleSink::new().truncate(false))
            .checkpoint_location(task.checkpoint_location())
            // One input partition per query: no thread pool each.
            .parallelism(1)
            .trigger(Trigger::processing_time("1 second")?)
            .start()
        })?;
    println!("Member {member} of group {group}, a query per partition of {input} at {servers}...");
    common::sleep(seconds).await;
    let ran = partitioned.running();
    let rows: u64 = partitioned
        .queries()
        .values()
        .flat_map(|q| q.recent_progress())
        .map(|p| p.num_input_rows)
        .sum();
    partitioned.stop().await?;
    let partitions: Vec<String> = ran.iter().map(|p| format!("{input}-{p}")).collect();
    println!(
        "Member {member} read {rows} readings (a query per partition); its partitions at the end: [{}]",
        partitions.join(",")
    );
    Ok(())
}

/// Starts `n` copies of this program as members 1 to `n`, each with its own checkpoint, waits
/// for them, and passes each member's last line on.
fn run_members(n: usize) -> Result<(), sluice::Error> {
    let exe = std::env::current_exe().map_err(|e| sluice::Error::io("this example's path", e))?;
    let base = std::env::temp_dir().join(format!("sluice-members-{}", std::process::id()));
    let stateful = std::env::args().any(|a| a == "--stateful");
    let forwarded: Vec<String> = ["seconds", "bootstrap", "input", "group"]
        .iter()
        .flat_map(|name| {
            let flag = format!("--{name}");
            let args: Vec<String> = std::env::args().collect();
            args.iter()
                .position(|a| *a == flag)
                .and_then(|i| args.get(i + 1).cloned())
                .map(|value| vec![flag, value])
                .unwrap_or_default()
        })
        .collect();
    println!("Starting {n} members...");
    let children: Vec<_> = (1..=n)
        .map(|member| {
            Command::new(&exe)
                .args(&forwarded)
                .args(["--member", &member.to_string()])
                .args(stateful.then_some("--stateful"))
                .arg("--checkpoint")
                // A checkpoint each, or (a query per partition) one root all share.
                .arg(if stateful {
                    base.clone()
                } else {
                    base.join(member.to_string())
                })
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| sluice::Error::io("starting a member", e))
        })
        .collect::<Result<_, _>>()?;
    let mut failed = false;
    for child in children {
        let out = child
            .wait_with_output()
            .map_err(|e| sluice::Error::io("waiting for a member", e))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.lines().rev().find(|l| l.starts_with("Member ")) {
            Some(line) if out.status.success() => println!("{line}"),
            _ => {
                failed = true;
                println!("a member failed ({})", out.status);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&base);
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
