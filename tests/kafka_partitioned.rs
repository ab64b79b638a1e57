//! A query with state shared by several processes, a query per partition
//! (`sluice::scale_out::PartitionedQuery`, `docs/scale-out.md`), against a real broker (Tansu,
//! `tests/common/kafka.rs`), the members real processes (`tests/common/members.rs`).
//!
//! The query counts each key's records; all of a key's records are in one partition. Every
//! update a partition's query commits must be exact: a key's count `n` with its greatest
//! sequence number `last` means exactly the key's records up to `last` were counted, once. A
//! partition that moved without its state would count again from one; one processed by two
//! members at once, or replayed into kept state, would count some records twice.

#![cfg(feature = "kafka")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sluice::prelude::*;
use sluice::scale_out::{PartitionTask, PartitionedQuery};

use common::kafka::{Broker, note, topic, uuid_like};
use common::members::{
    KEYS, Member, PARTITIONS, member_process, produce_keyed, topic_and_group, wait_for_split,
};

sluice::pipeline! {
    schema Reading { key: String, seq: i64 }

    /// A record re-keyed by its group key, for the topic that partitions by it.
    query Rekey from Kafka {
        parse value as json Reading mode fail_fast;
        select key, seq;
    }

    /// Records per key, and the greatest sequence number counted.
    query Counts from Kafka {
        parse value as json Reading mode fail_fast;
        group by key;
        aggregate n = count(), last = max(seq);
    }
}

/// A member: runs `Counts` per partition it is assigned, as a member of the group named in
/// `SLUICE_PARTITIONED_MEMBER` (`mode|bootstrap|topic|group|output root|checkpoint root`),
/// until killed or its standard input closes; prints the partitions whose queries it runs
/// (`MEMBER_PARTITIONS 0,3`) and those assigned to it but still held by their previous owner
/// (`MEMBER_WAITING 1`) when they change.
///
/// Mode `counts`: over `topic`, keyed by the group key. Mode `repartition`: first `Rekey` per
/// partition of `topic` (group `<group>-rekey`) into `<topic>-repartition` keyed by the group
/// key, then `Counts` per partition of that topic (group `group`); the first stage's partitions
/// are printed as `MEMBER_REKEY 0,3`.
#[test]
fn partitioned_member() {
    let Ok(config) = std::env::var("SLUICE_PARTITIONED_MEMBER") else {
        return;
    };
    let parts: Vec<String> = config.split('|').map(str::to_string).collect();
    let [mode, bootstrap, topic, group, output, checkpoints] = &parts[..] else {
        panic!("bad member config {config}")
    };
    let (runtime, stop) = member_process();
    let checkpoints = PathBuf::from(checkpoints);
    let member = |group: &str, topic: &str, root: PathBuf| {
        PartitionedQuery::new(bootstrap, group, topic)
            .checkpoint_root(root)
            .option("kafka.session.timeout.ms", "6000")
            .option("kafka.heartbeat.interval.ms", "300")
    };
    let source = {
        let servers = bootstrap.clone();
        move |task: &PartitionTask| {
            task.source(
                KafkaSource::new()
                    .bootstrap_servers(&servers)
                    .starting_offsets(StartingOffsets::Earliest)
                    .max_offsets_per_trigger(4)
                    .poll_timeout(Duration::from_secs(10)),
            )
        }
    };
    let counts = {
        let output = PathBuf::from(output);
        let source = source.clone();
        move |task: &PartitionTask| {
            Counts::read_stream(source(task))
                .write_stream()
                .output_mode(Update)
                .foreach_batch(batch_writer(output.join(task.partition().to_string())))
                .checkpoint_location(task.checkpoint_location())
                .parallelism(1)
                .trigger(Trigger::ProcessingTime(Duration::from_millis(50)))
                .start()
        }
    };
    let (rekey, count) = runtime.block_on(async {
        match mode.as_str() {
            "counts" => (
                None,
                member(group, topic, checkpoints).start(counts).unwrap(),
            ),
            "repartition" => {
                let repartition = format!("{topic}-repartition");
                let servers = bootstrap.clone();
                let target = repartition.clone();
                let rekey = member(&format!("{group}-rekey"), topic, checkpoints.join("rekey"))
                    .start(move |task| {
                        Rekey::read_stream(source(task))
                            .write_stream()
                            .format(
                                KafkaSink::new()
                                    .bootstrap_servers(&servers)
                                    .topic(&target)
                                    .key_column("key")
                                    .value_json()
                                    // One record per produce request: Tansu 0.6.0's
                                    // ListOffsets is wrong after a request of several.
                                    .option("kafka.linger.ms", "0")
                                    .option("kafka.batch.num.messages", "1"),
                            )
                            .checkpoint_location(task.checkpoint_location())
                            .parallelism(1)
                            .trigger(Trigger::ProcessingTime(Duration::from_millis(50)))
                            .start()
                    })
                    .unwrap();
                let count = member(group, &repartition, checkpoints.join("count"))
                    .start(counts)
                    .unwrap();
                (Some(rekey), count)
            }
            other => panic!("unknown member mode {other}"),
        }
    });
    let list = |ps: &[i32]| {
        ps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let (mut last, mut last_waiting, mut last_rekey) = (None, None, None);
    while !stop.load(Ordering::SeqCst) {
        let running = count.running();
        if last.as_ref() != Some(&running) {
            eprintln!("MEMBER_PARTITIONS {}", list(&running));
            last = Some(running.clone());
        }
        // Assigned here, but their previous owner still holds their checkpoints.
        let waiting: Vec<i32> = count
            .assigned()
            .into_iter()
            .filter(|p| !running.contains(p))
            .collect();
        if last_waiting.as_ref() != Some(&waiting) {
            eprintln!("MEMBER_WAITING {}", list(&waiting));
            last_waiting = Some(waiting);
        }
        if let Some(rekey) = &rekey {
            let running = rekey.running();
            if last_rekey.as_ref() != Some(&running) {
                eprintln!("MEMBER_REKEY {}", list(&running));
                last_rekey = Some(running);
            }
            assert!(rekey.exception().is_none(), "{:?}", rekey.exception());
        }
        assert!(count.exception().is_none(), "{:?}", count.exception());
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(rekey) = rekey {
        rekey.stop_blocking().unwrap();
    }
    count.stop_blocking().unwrap();
}

/// A `foreach_batch` sink idempotent by batch id: batch `b`'s rows go to `<dir>/<b>.json`,
/// written whole (a temporary file renamed), so a batch run again after a crash writes the
/// same file again.
fn batch_writer(dir: PathBuf) -> impl FnMut(u64, Vec<CountsRow>) -> std::io::Result<()> {
    move |batch, rows| {
        std::fs::create_dir_all(&dir)?;
        let text: String = rows
            .iter()
            .map(|r| serde_json::json!({"key": r.key, "n": r.n, "last": r.last}).to_string() + "\n")
            .collect();
        let part = dir.join(format!(".{batch}.json.tmp"));
        std::fs::write(&part, text)?;
        std::fs::rename(part, dir.join(format!("{batch}.json")))
    }
}

/// The directories all members share: the partitions' sinks and checkpoints.
struct Shared {
    output: tempfile::TempDir,
    checkpoints: tempfile::TempDir,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            output: tempfile::tempdir().unwrap(),
            checkpoints: tempfile::tempdir().unwrap(),
        }
    }

    fn member(&self, broker: &Broker, topic: &str, group: &str) -> Member {
        self.member_in("counts", broker, topic, group)
    }

    /// A member in `mode` (`counts` or `repartition`, see `partitioned_member`).
    fn member_in(&self, mode: &str, broker: &Broker, topic: &str, group: &str) -> Member {
        let config = format!(
            "{mode}|{}|{topic}|{group}|{}|{}",
            broker.bootstrap,
            self.output.path().display(),
            self.checkpoints.path().display()
        );
        Member::spawn(
            "partitioned_member",
            "SLUICE_PARTITIONED_MEMBER",
            config,
            None,
        )
    }
}

/// Sends records `range`: record `n` is `{"key":"k<n % 12>","seq":n}`, keyed by its key, in
/// partition `(n % 12) % 6`.
fn produce(broker: &Broker, topic: &str, range: std::ops::Range<u64>) {
    produce_keyed(broker, topic, range, |n| {
        format!(r#"{{"key":"k{}","seq":{n}}}"#, n % KEYS)
    });
}

/// One committed update: a key's count and greatest sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Update {
    n: u64,
    last: u64,
}

/// Every update each partition's sink committed, per key, in batch order.
fn updates(output: &Path) -> BTreeMap<String, Vec<(i32, u64, Update)>> {
    let mut all: BTreeMap<String, Vec<(i32, u64, Update)>> = BTreeMap::new();
    for partition in 0..PARTITIONS {
        let dir = output.join(partition.to_string());
        if !dir.exists() {
            continue;
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(batch) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            for row in std::fs::read_to_string(&path).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(row).unwrap();
                let update = Update {
                    n: v["n"].as_u64().unwrap(),
                    last: v["last"].as_u64().unwrap(),
                };
                all.entry(v["key"].as_str().unwrap().to_string())
                    .or_default()
                    .push((partition, batch, update));
            }
        }
    }
    for updates in all.values_mut() {
        updates.sort_by_key(|(_, batch, _)| *batch);
    }
    all
}

/// Waits until every key's last update counts `per_key` records (at most 120 s).
fn wait_for_counts(output: &Path, per_key: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let latest: BTreeMap<String, u64> = updates(output)
            .into_iter()
            .map(|(k, u)| (k, u.last().unwrap().2.n))
            .collect();
        if latest.len() == KEYS as usize && latest.values().all(|n| *n == per_key) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the counts did not reach {per_key}: {latest:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Checks every committed update: a key's updates are in its partition's sink only, their
/// counts grow batch after batch, and each is exact — `n` is the number of the key's records
/// up to `last` (key `k<i>`'s records are `i, i + 12, i + 24, ...`). Returns the updates.
fn check_exact(output: &Path) -> usize {
    let mut count = 0;
    for (key, updates) in updates(output) {
        let i: u64 = key[1..].parse().unwrap();
        let mut previous = 0;
        for (partition, batch, update) in updates {
            assert_eq!(
                partition as u64,
                i % PARTITIONS as u64,
                "{key} in partition {partition}'s sink"
            );
            assert_eq!(
                update.n,
                (update.last - i) / KEYS + 1,
                "{key}: batch {batch} of partition {partition} counted {} records up to {}",
                update.n,
                update.last
            );
            assert!(
                update.n > previous,
                "{key}: batch {batch} of partition {partition} counts {} after {previous}",
                update.n
            );
            previous = update.n;
            count += 1;
        }
    }
    count
}

/// Two members share the partitions' queries; a third joins (partitions move to it, each
/// query stopped where it was and started in the new process from the partition's
/// checkpoint); then one of the first two is killed with SIGKILL mid-stream (its partitions'
/// queries resume in the others from their checkpoints after the session timeout). Every
/// update committed along the way is exact, and the final counts are the input's.
#[test]
fn a_partitions_state_follows_it_to_its_next_member() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "partitioned");
    let shared = Shared::new();

    let mut a = shared.member(&broker, &topic, &group);
    let mut b = shared.member(&broker, &topic, &group);
    wait_for_split(&mut [&mut a, &mut b], Some(3));
    produce(&broker, &topic, 0..120);
    wait_for_counts(shared.output.path(), 10);

    let mut c = shared.member(&broker, &topic, &group);
    wait_for_split(&mut [&mut a, &mut b, &mut c], Some(2));
    note(&format!(
        "after the join: {:?}",
        [&mut a, &mut b, &mut c].map(|m| m.owned().clone())
    ));
    produce(&broker, &topic, 120..360);
    // Kill `b` while its queries read (four records per batch, so it takes a while).
    let deadline = Instant::now() + Duration::from_secs(30);
    while updates(shared.output.path())
        .values()
        .all(|u| u.last().unwrap().2.n <= 10)
    {
        assert!(Instant::now() < deadline, "nothing was read after the join");
        std::thread::sleep(Duration::from_millis(5));
    }
    let b_owned = b.owned().clone();
    b.kill();
    let killed = Instant::now();
    wait_for_split(&mut [&mut a, &mut c], None);
    note(&format!(
        "the killed member's partitions {b_owned:?} resumed elsewhere within {:?}",
        killed.elapsed()
    ));
    wait_for_counts(shared.output.path(), 30);
    let checked = check_exact(shared.output.path());
    note(&format!("{checked} committed updates, all exact"));
}

/// The latest count of every key.
fn latest_counts(output: &Path) -> BTreeMap<String, u64> {
    updates(output)
        .into_iter()
        .map(|(k, u)| (k, u.last().unwrap().2.n))
        .collect()
}

/// A member frozen (SIGSTOP) past its session: the group gives its partitions to the others,
/// but they cannot start them while the frozen process holds their checkpoints, so nobody
/// processes them meanwhile (the lock fences the frozen member instead of the group's
/// generation). Woken (SIGCONT), it hears it lost them, stops their queries, and the others
/// resume them from their checkpoints. Every update is exact.
#[test]
fn a_frozen_members_partitions_wait_for_it_to_let_go() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "partitioned-freeze");
    let shared = Shared::new();

    let mut a = shared.member(&broker, &topic, &group);
    let mut b = shared.member(&broker, &topic, &group);
    let mut c = shared.member(&broker, &topic, &group);
    wait_for_split(&mut [&mut a, &mut b, &mut c], Some(2));
    produce(&broker, &topic, 0..120);
    wait_for_counts(shared.output.path(), 10);
    let c_owned = c.owned().clone();
    c.signal("STOP");
    produce(&broker, &topic, 120..240);

    // The others are assigned the frozen member's partitions after its session expires, and
    // wait for their checkpoints.
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiting = |m: &Member| -> BTreeSet<i32> {
        m.report("WAITING")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|p| p.parse().unwrap())
            .collect()
    };
    while waiting(&a)
        .union(&waiting(&b))
        .copied()
        .collect::<BTreeSet<_>>()
        != c_owned
    {
        assert!(
            Instant::now() < deadline,
            "the frozen member's partitions {c_owned:?} were not reassigned: waiting {:?} and {:?}",
            waiting(&a),
            waiting(&b)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Meanwhile the other partitions are read to the end, and the frozen member's not at all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counts = latest_counts(shared.output.path());
        let of_c = |key: &String| {
            c_owned.contains(&((key[1..].parse::<u64>().unwrap() % PARTITIONS as u64) as i32))
        };
        if counts
            .iter()
            .all(|(k, n)| *n == if of_c(k) { 10 } else { 20 })
        {
            break;
        }
        assert!(
            counts.iter().all(|(k, n)| !of_c(k) || *n == 10),
            "a partition of the frozen member was processed: {counts:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the others did not read on: {counts:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(waiting(&a).len() + waiting(&b).len(), c_owned.len());

    c.signal("CONT");
    wait_for_counts(shared.output.path(), 20);
    let checked = check_exact(shared.output.path());
    note(&format!("{checked} committed updates, all exact"));
}

/// Every member stopped cleanly, then as many started again over the same checkpoints: each
/// partition's query resumes from its checkpoint, state and offsets, wherever the group puts
/// it now. Every update is exact.
#[test]
fn members_stopped_together_resume_every_partitions_state() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "partitioned-restart");
    let shared = Shared::new();

    let mut members: Vec<Member> = (0..3)
        .map(|_| shared.member(&broker, &topic, &group))
        .collect();
    wait_for_split(&mut members.iter_mut().collect::<Vec<_>>(), Some(2));
    produce(&broker, &topic, 0..120);
    wait_for_counts(shared.output.path(), 10);
    for member in members {
        member.stop();
    }
    // Sent while no member runs.
    produce(&broker, &topic, 120..180);
    let mut members: Vec<Member> = (0..3)
        .map(|_| shared.member(&broker, &topic, &group))
        .collect();
    wait_for_counts(shared.output.path(), 15);
    wait_for_split(&mut members.iter_mut().collect::<Vec<_>>(), Some(2));
    produce(&broker, &topic, 180..240);
    wait_for_counts(shared.output.path(), 20);
    let checked = check_exact(shared.output.path());
    note(&format!("{checked} committed updates, all exact"));
}

/// Sends records `range` scattered over the partitions whatever their group key: record `n` is
/// `{"key":"k<n % 12>","seq":n}`, keyed `r<n>`, in partition `(n / 12) % 6`, so every key has
/// records in every partition.
fn produce_scattered(broker: &Broker, topic: &str, range: std::ops::Range<u64>) {
    let producer = broker.producer();
    for n in range {
        producer.send(
            topic,
            ((n / KEYS) % PARTITIONS as u64) as i32,
            Some(&format!("r{n}")),
            &format!(r#"{{"key":"k{}","seq":{n}}}"#, n % KEYS),
        );
    }
}

/// The repartition path, for a group key that is not the topic's key (as Kafka Streams does
/// it): every member runs a stateless query per input partition (`Rekey`, its own group) that
/// writes each record to `<topic>-repartition` keyed by the group key, so all of a key's
/// records land in one partition of it, and the counting query per partition of that topic
/// (a second group). A second member joins mid-stream; both stages' partitions move with their
/// checkpoints. The repartition topic holds every input record once, each key's in one
/// partition; every key's count grows batch after batch in that partition's sink and ends at
/// the key's number of records.
#[test]
fn a_group_key_that_is_not_the_topics_key_goes_through_a_repartition_topic() {
    let broker = Broker::start();
    let topic = topic("partitioned-rekey");
    let repartition = format!("{topic}-repartition");
    broker.create_topic(&topic, PARTITIONS);
    broker.create_topic(&repartition, PARTITIONS);
    let group = format!("partitioned-rekey-{}", uuid_like());
    let shared = Shared::new();

    let mut a = shared.member_in("repartition", &broker, &topic, &group);
    wait_for_split(&mut [&mut a], Some(PARTITIONS as usize));
    produce_scattered(&broker, &topic, 0..180);
    wait_for_counts(shared.output.path(), 15);
    let mut b = shared.member_in("repartition", &broker, &topic, &group);
    wait_for_split(&mut [&mut a, &mut b], Some(3));
    produce_scattered(&broker, &topic, 180..360);
    wait_for_counts(shared.output.path(), 30);
    note(&format!(
        "rekeying at the end: {:?} and {:?}",
        a.report("REKEY"),
        b.report("REKEY")
    ));

    let mut by_key: BTreeMap<String, (BTreeSet<i32>, Vec<u64>)> = BTreeMap::new();
    for record in broker.read_all(&repartition, PARTITIONS) {
        let v: serde_json::Value = serde_json::from_str(record.value.as_deref().unwrap()).unwrap();
        let key = v["key"].as_str().unwrap().to_string();
        assert_eq!(record.key.as_deref(), Some(key.as_str()));
        let entry = by_key.entry(key).or_default();
        entry.0.insert(record.partition);
        entry.1.push(v["seq"].as_u64().unwrap());
    }
    assert_eq!(by_key.len(), KEYS as usize);
    for (key, (partitions, mut seqs)) in by_key.clone() {
        let i: u64 = key[1..].parse().unwrap();
        assert_eq!(partitions.len(), 1, "{key} is in partitions {partitions:?}");
        seqs.sort();
        let expected: Vec<u64> = (0..30).map(|j| i + j * KEYS).collect();
        assert_eq!(seqs, expected, "{key}'s records in the repartition topic");
    }
    for (key, updates) in updates(shared.output.path()) {
        let mut previous = 0;
        for (partition, batch, update) in updates {
            assert!(
                by_key[&key].0.contains(&partition),
                "{key} counted in partition {partition}'s sink"
            );
            assert!(
                update.n > previous && update.n <= 30,
                "{key}: batch {batch} of partition {partition} counts {} after {previous}",
                update.n
            );
            previous = update.n;
        }
    }
}

/// Settings `PartitionedQuery` cannot take are refused at start, with what to do.
#[test]
fn a_partitioned_query_refuses_what_it_cannot_run() {
    let start = |query: PartitionedQuery| -> String {
        query
            .start(|_: &PartitionTask| -> sluice::Result<StreamingQuery> {
                unreachable!("no partition is started")
            })
            .expect_err("refused")
            .to_string()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let query = || PartitionedQuery::new("127.0.0.1:9", "g", "t");
    assert_eq!(
        start(query()),
        "PartitionedQuery needs checkpoint_root: each partition's state is kept there, where its next owner reads it"
    );
    assert_eq!(
        start(query().checkpoint_root("/tmp/x")),
        "PartitionedQuery::start must be called within a Tokio runtime"
    );
    let _runtime = runtime.enter();
    assert_eq!(
        start(
            query()
                .checkpoint_root("/tmp/x")
                .option("session.timeout.ms", "6000")
        ),
        "unknown partitioned query option `session.timeout.ms`: Kafka client settings start with `kafka.`"
    );
    assert_eq!(
        start(
            query()
                .checkpoint_root("/tmp/x")
                .option("kafka.group.id", "other")
        ),
        "Kafka option 'group.id' is not supported: the group is the one given to PartitionedQuery::new, and it commits no offsets (they are in the partitions' checkpoints)"
    );
}

/// A partition's query that cannot start fails the member: it stops its other queries, leaves
/// the group, and `stop()` returns the error.
#[test]
fn a_partition_that_cannot_start_fails_the_member() {
    let broker = Broker::start();
    let topic = topic("partitioned-fail");
    broker.create_topic(&topic, 2);
    let checkpoints = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers = broker.bootstrap.clone();
    let member = runtime
        .block_on(async {
            PartitionedQuery::new(&broker.bootstrap, format!("g-{}", uuid_like()), &topic)
                .checkpoint_root(checkpoints.path())
                .start(move |task| {
                    // Partition 1's source also subscribes: `start` refuses it.
                    let mut source = KafkaSource::new().bootstrap_servers(&servers);
                    if task.partition() == 1 {
                        source = source.subscribe([task.topic()]);
                    }
                    Counts::read_stream(task.source(source))
                        .write_stream()
                        .output_mode(Update)
                        .foreach_batch(|_, _| ())
                        .checkpoint_location(task.checkpoint_location())
                        .start()
                })
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while member.exception().is_none() {
        assert!(Instant::now() < deadline, "the member did not fail");
        std::thread::sleep(Duration::from_millis(20));
    }
    let error = runtime
        .block_on(member.stop())
        .expect_err("the member failed")
        .to_string();
    assert!(
        error.starts_with("source consumer group g-")
            && error.ends_with(&format!(
                ": the query of partition {topic}-1 could not start: Only one of the following options can be specified for Kafka source: subscribe, subscribe_pattern, assign."
            )),
        "{error}"
    );
}
