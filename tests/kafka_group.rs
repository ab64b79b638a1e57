//! What the test broker (Tansu 0.6.0, `tests/common/kafka.rs`) implements of Kafka's
//! consumer-group protocol, as librdkafka uses it: the ground scale-out stands on
//! (`docs/scale-out.md`).
//!
//! Plain rdkafka `BaseConsumer`s subscribe with one `group.id` to a 6-partition topic with the
//! cooperative-sticky assignor: FindCoordinator, JoinGroup, SyncGroup and Heartbeat must give
//! two members disjoint halves; LeaveGroup (a closed consumer) must hand its partitions to the
//! other; OffsetCommit / OffsetFetch must carry a member's position to the partition's next
//! owner; and a member killed with `SIGKILL` (a child process: the test binary re-executed as
//! `group_member_worker`) must lose its partitions to the survivor once its session times out.

#![cfg(feature = "kafka")]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice::rdkafka::client::ClientContext;
use sluice::rdkafka::config::ClientConfig;
use sluice::rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use sluice::rdkafka::message::Message;
use sluice::rdkafka::{Offset, TopicPartitionList};

use common::kafka::{Broker, TIMEOUT, note, topic, uuid_like};

const PARTITIONS: i32 = 6;
/// Short, so that a killed member's partitions move within seconds.
const SESSION_TIMEOUT_MS: u64 = 3000;

/// Records every rebalance a member goes through, as `assign [0, 1, 2]` / `revoke [3]`.
#[derive(Default)]
struct Events {
    log: Mutex<Vec<String>>,
}

impl ClientContext for Events {}

impl ConsumerContext for Events {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let text = match rebalance {
            Rebalance::Assign(tpl) => format!("assign {:?}", partitions_of(tpl)),
            Rebalance::Revoke(tpl) => format!("revoke {:?}", partitions_of(tpl)),
            Rebalance::Error(e) => format!("error {e}"),
        };
        self.log.lock().unwrap().push(text);
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> BTreeSet<i32> {
    tpl.elements().iter().map(|e| e.partition()).collect()
}

type Member = BaseConsumer<Events>;

fn member(bootstrap: &str, group: &str, topic: &str) -> Member {
    let consumer: Member = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", SESSION_TIMEOUT_MS.to_string())
        .set("heartbeat.interval.ms", "300")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create_with_context(Events::default())
        .expect("a group member");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// The partitions a member owns now.
fn owned(consumer: &Member) -> BTreeSet<i32> {
    partitions_of(&consumer.assignment().expect("the assignment"))
}

/// Polls every member (the only way librdkafka serves a rebalance to a `BaseConsumer`) until
/// `done` holds of their assignments, or panics after `within`, showing what they own.
fn poll_until(members: &[&Member], within: Duration, done: impl Fn(&[BTreeSet<i32>]) -> bool) {
    let deadline = Instant::now() + within;
    loop {
        for m in members {
            // Messages are not the point here; a poll serves the group protocol.
            let _ = m.poll(Duration::from_millis(20));
        }
        let owned: Vec<BTreeSet<i32>> = members.iter().map(|m| owned(m)).collect();
        if done(&owned) {
            return;
        }
        let logs: Vec<Vec<String>> = members
            .iter()
            .map(|m| m.context().log.lock().unwrap().clone())
            .collect();
        assert!(
            Instant::now() < deadline,
            "the group did not settle within {within:?}: members own {owned:?}; rebalances {logs:?}"
        );
    }
}

fn all() -> BTreeSet<i32> {
    (0..PARTITIONS).collect()
}

/// Two members split the six partitions three and three, disjointly; when one closes (a
/// LeaveGroup), the other gets all six. Cooperative: the survivor is only ever assigned more,
/// never revoked what it kept.
#[test]
fn two_members_split_the_partitions_and_a_leaving_member_hands_them_over() {
    let broker = Broker::start();
    let topic = topic("group-split");
    broker.create_topic(&topic, PARTITIONS);
    let group = format!("group-{}", uuid_like());

    let a = member(&broker.bootstrap, &group, &topic);
    poll_until(&[&a], TIMEOUT, |o| o[0] == all());
    assert!(
        matches!(a.rebalance_protocol(), RebalanceProtocol::Cooperative),
        "the cooperative-sticky assignor is not in use"
    );

    let b = member(&broker.bootstrap, &group, &topic);
    let started = Instant::now();
    poll_until(&[&a, &b], Duration::from_secs(30), |o| {
        o[0].len() == 3 && o[1].len() == 3 && o[0].is_disjoint(&o[1])
    });
    note(&format!("two members split 3/3 in {:?}", started.elapsed()));
    let a_log = a.context().log.lock().unwrap().clone();
    note(&format!(
        "rebalances: a {a_log:?}, b {:?}",
        b.context().log.lock().unwrap()
    ));
    // Incremental: `a` first got all six, then gave up three — and was never revoked the rest.
    assert_eq!(
        a_log.first().unwrap(),
        "assign {0, 1, 2, 3, 4, 5}",
        "{a_log:?}"
    );
    let revoked: Vec<&String> = a_log.iter().filter(|e| e.starts_with("revoke")).collect();
    assert_eq!(revoked.len(), 1, "{a_log:?}");
    let b_owned = owned(&b);
    assert_eq!(
        *revoked[0],
        format!("revoke {b_owned:?}"),
        "a gave up exactly what b got: {a_log:?}"
    );

    drop(b); // closes the consumer: LeaveGroup
    let started = Instant::now();
    poll_until(&[&a], Duration::from_secs(30), |o| o[0] == all());
    // A clean leave rebalances at once, without waiting for the session timeout.
    let handover = started.elapsed();
    note(&format!(
        "after a leave, the survivor owned all six in {handover:?}"
    ));
    assert!(
        handover < Duration::from_millis(SESSION_TIMEOUT_MS),
        "a LeaveGroup took {handover:?}, as long as a session timeout"
    );
}

/// A member's committed offsets (OffsetCommit) are what the group fetches back (OffsetFetch),
/// and what the partition's next owner starts consuming from.
#[test]
fn committed_offsets_carry_over_to_the_next_owner() {
    let broker = Broker::start();
    let topic = topic("group-commit");
    broker.create_topic(&topic, PARTITIONS);
    let producer = broker.producer();
    for p in 0..PARTITIONS {
        for i in 0..5 {
            producer.send(&topic, p, None, &format!("p{p}-{i}"));
        }
    }
    let group = format!("group-{}", uuid_like());

    let a = member(&broker.bootstrap, &group, &topic);
    poll_until(&[&a], TIMEOUT, |o| o[0] == all());
    // Partition p committed at offset p % 5 (0 = nothing consumed but a commit at 0).
    let mut commit = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        commit
            .add_partition_offset(&topic, p, Offset::Offset(i64::from(p % 5)))
            .unwrap();
    }
    a.commit(&commit, CommitMode::Sync).expect("OffsetCommit");
    let fetched = a
        .committed_offsets(commit.clone(), TIMEOUT)
        .expect("OffsetFetch");
    for p in 0..PARTITIONS {
        assert_eq!(
            fetched.find_partition(&topic, p).unwrap().offset(),
            Offset::Offset(i64::from(p % 5)),
            "partition {p}"
        );
    }
    drop(a);

    // The next member of the group starts every partition at its committed offset.
    let b = member(&broker.bootstrap, &group, &topic);
    let mut first: std::collections::BTreeMap<i32, (i64, String)> = Default::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.len() < PARTITIONS as usize {
        assert!(Instant::now() < deadline, "first records seen: {first:?}");
        if let Some(m) = b.poll(Duration::from_millis(100)) {
            let m = m.expect("a record");
            first.entry(m.partition()).or_insert_with(|| {
                (
                    m.offset(),
                    String::from_utf8_lossy(m.payload().unwrap()).into_owned(),
                )
            });
        }
    }
    for p in 0..PARTITIONS {
        let at = i64::from(p % 5);
        assert_eq!(first[&p], (at, format!("p{p}-{at}")), "partition {p}");
    }
}

/// A member in a child process, killed with SIGKILL: it sends no LeaveGroup, so its
/// partitions move to the survivor only when the coordinator expires its session.
#[test]
fn a_killed_members_partitions_move_after_the_session_timeout() {
    let broker = Broker::start();
    let topic = topic("group-kill");
    broker.create_topic(&topic, PARTITIONS);
    let group = format!("group-{}", uuid_like());

    let a = member(&broker.bootstrap, &group, &topic);
    poll_until(&[&a], TIMEOUT, |o| o[0] == all());

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["group_member_worker", "--exact", "--nocapture"])
        .env(
            "SLUICE_KAFKA_GROUP_MEMBER",
            format!("{}|{group}|{topic}", broker.bootstrap),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<BTreeSet<i32>>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(owned) = line.strip_prefix("MEMBER_OWNS ") {
                let set = owned
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().unwrap())
                    .collect();
                let _ = tx.send(set);
            }
        }
    });
    // Wait until the child and `a` split the partitions.
    let mut child_owns = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let _ = a.poll(Duration::from_millis(20));
        while let Ok(set) = rx.try_recv() {
            child_owns = set;
        }
        let mine = owned(&a);
        if child_owns.len() == 3 && mine.len() == 3 && mine.is_disjoint(&child_owns) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no split: a owns {mine:?}, the child {child_owns:?}"
        );
    }

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = Instant::now();
    poll_until(&[&a], Duration::from_secs(30), |o| o[0] == all());
    let moved = killed.elapsed();
    note(&format!(
        "a SIGKILLed member's partitions moved after {moved:?} (session timeout {SESSION_TIMEOUT_MS} ms)"
    ));
    // Not before its session could have expired: the coordinator did not learn of the kill
    // any other way. (Heartbeats of the dead member stop at once; allow one heartbeat's slack.)
    assert!(
        moved >= Duration::from_millis(SESSION_TIMEOUT_MS - 500),
        "the partitions moved after {moved:?}, before the session timeout"
    );
}

/// The member process of [`a_killed_members_partitions_move_after_the_session_timeout`]:
/// joins the group named in `SLUICE_KAFKA_GROUP_MEMBER` (`bootstrap|group|topic`) and polls
/// until killed, printing its assignment (`MEMBER_OWNS 0,3,5`) whenever it changes.
#[test]
fn group_member_worker() {
    let Ok(config) = std::env::var("SLUICE_KAFKA_GROUP_MEMBER") else {
        return;
    };
    let parts: Vec<&str> = config.split('|').collect();
    let [bootstrap, group, topic] = parts[..] else {
        panic!("bad member config {config}")
    };
    let consumer = member(bootstrap, group, topic);
    let mut last = None;
    loop {
        let _ = consumer.poll(Duration::from_millis(20));
        let now = owned(&consumer);
        if last.as_ref() != Some(&now) {
            let list: Vec<String> = now.iter().map(ToString::to_string).collect();
            eprintln!("MEMBER_OWNS {}", list.join(","));
            last = Some(now);
        }
    }
}
