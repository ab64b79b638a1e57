//! One query run by several processes sharing a topic's partitions through a Kafka consumer
//! group (`KafkaSource::consumer_group`, `docs/scale-out.md`), against a real broker (Tansu,
//! `tests/common/kafka.rs`).
//!
//! The members are this test binary re-executed as `scale_out_member`, each with a checkpoint
//! and a file sink of its own; the union of their committed output must equal one process's
//! run over the same input, row for row: with a clean split no row is missing or doubled; with
//! a member killed by `SIGKILL` mid-stream no row is missing, and a row is doubled only where
//! the model allows it (a partition of the killed member, read again from the group's last
//! committed offset by its next owner).

#![cfg(feature = "kafka")]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sluice::prelude::*;

use common::kafka::{Broker, note};
use common::members::{
    Dirs, Member, PARTITIONS, at_most_doubled, committed_rows, member_process, produce_keyed,
    read_more_than_once, topic_and_group, wait_for_split,
};

sluice::pipeline! {
    /// Every record, its key and value as text.
    query Records from Kafka {
        select partition, offset, key = cast(key as string), text = cast(value as string);
    }

    schema Reading { room: String }

    /// Readings per room: state, which members cannot share yet.
    query Rooms from Kafka {
        parse value as json Reading mode drop_malformed;
        group by room;
        aggregate n = count();
    }
}

/// A member: runs `Records` as a member of the group named in `SLUICE_SCALE_OUT_MEMBER`
/// (`bootstrap|topic|group|output|checkpoint`) until killed, or stopped (`query.stop()`: the
/// batch in flight committed, then LeaveGroup) when its standard input closes; printing the
/// partitions it owns (`MEMBER_PARTITIONS t-0,t-3`) whenever a batch's progress shows them
/// changed, and the commits the group refused (`MEMBER_REJECTED n`).
#[test]
fn scale_out_member() {
    let Ok(config) = std::env::var("SLUICE_SCALE_OUT_MEMBER") else {
        return;
    };
    let parts: Vec<&str> = config.split('|').collect();
    let [bootstrap, topic, group, output, checkpoint] = parts[..] else {
        panic!("bad member config {config}")
    };
    let (runtime, stop) = member_process();
    runtime.block_on(async {
        let query = Records::read_stream(
            KafkaSource::new()
                .bootstrap_servers(bootstrap)
                .subscribe([topic])
                .starting_offsets(StartingOffsets::Earliest)
                .consumer_group(group)
                .option("kafka.session.timeout.ms", "6000")
                .option("kafka.heartbeat.interval.ms", "300")
                .max_offsets_per_trigger(12)
                .poll_timeout(Duration::from_secs(10)),
        )
        .write_stream()
        .format(FileSink::json(output))
        .checkpoint_location(checkpoint)
        .trigger(Trigger::ProcessingTime(Duration::from_millis(50)))
        .start()
        .unwrap();
        let (mut last, mut last_rejected) = (None, None);
        while !stop.load(Ordering::SeqCst) {
            if let Some(p) = query.last_progress() {
                let metrics = &p.sources[0].metrics;
                let owned = metrics.get("groupPartitions").cloned();
                if owned != last {
                    eprintln!("MEMBER_PARTITIONS {}", owned.clone().unwrap_or_default());
                    last = owned;
                }
                let rejected = metrics.get("groupCommitsRejected").cloned();
                if rejected.is_some() && rejected != last_rejected {
                    eprintln!("MEMBER_REJECTED {}", rejected.clone().unwrap_or_default());
                    last_rejected = rejected;
                }
            }
            assert!(query.exception().is_none(), "{:?}", query.exception());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        query.stop().await;
        assert!(query.exception().is_none(), "{:?}", query.exception());
    });
}

/// A member running `Records` with its own checkpoint and sink.
fn start_member(broker: &Broker, topic: &str, group: &str) -> Member {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    restart_member(broker, topic, group, dirs)
}

/// A member running `Records` over `dirs` (output, checkpoint): new or a stopped member's.
fn restart_member(broker: &Broker, topic: &str, group: &str, dirs: Dirs) -> Member {
    let config = format!(
        "{}|{topic}|{group}|{}|{}",
        broker.bootstrap,
        dirs.0.path().display(),
        dirs.1.path().display()
    );
    Member::spawn(
        "scale_out_member",
        "SLUICE_SCALE_OUT_MEMBER",
        config,
        Some(dirs),
    )
}

/// Sends records `range` of the input: record `n` has key `k<n % 12>`, goes to the partition
/// `(n % 12) % 6` and has the value `v<n>`.
fn produce(broker: &Broker, topic: &str, range: std::ops::Range<u64>) {
    produce_keyed(broker, topic, range, |n| format!("v{n}"));
}

/// One process's run over the whole topic (no group): the rows every member run must equal.
fn single_run(broker: &Broker, topic: &str) -> Vec<String> {
    let output = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let query = Records::read_stream(
            KafkaSource::new()
                .bootstrap_servers(&broker.bootstrap)
                .subscribe([topic])
                .starting_offsets(StartingOffsets::Earliest)
                .poll_timeout(Duration::from_secs(10)),
        )
        .write_stream()
        .format(FileSink::json(output.path()))
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
        query.await_termination().await.unwrap();
    });
    committed_rows(output.path())
}

/// The members' committed rows, all together (sorted), once they hold at least `expected`
/// distinct rows and have written nothing more for a second.
fn union_when_done(members: &[&Member], expected: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let union = || {
        let mut all: Vec<String> = members.iter().flat_map(|m| m.rows()).collect();
        all.sort();
        all
    };
    loop {
        let all = union();
        let mut distinct = all.clone();
        distinct.dedup();
        if distinct.len() >= expected {
            std::thread::sleep(Duration::from_secs(1));
            let again = union();
            if again.len() == all.len() {
                return again;
            }
            continue;
        }
        if Instant::now() >= deadline {
            let mut per_partition: BTreeMap<i32, BTreeSet<u64>> = BTreeMap::new();
            for row in &distinct {
                per_partition
                    .entry(partition_of(row))
                    .or_default()
                    .insert(sequence_of(row));
            }
            let last: BTreeMap<i32, Option<&u64>> = per_partition
                .iter()
                .map(|(p, seq)| (*p, seq.last()))
                .collect();
            panic!(
                "the members committed {} of {expected} rows; the last row read of each partition: {last:?}",
                distinct.len()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The partition of an output row (`{"partition":3,...}`).
fn partition_of(row: &str) -> i32 {
    let value: serde_json::Value = serde_json::from_str(row).unwrap();
    value["partition"].as_i64().unwrap() as i32
}

/// A member joins a running group; waits until the group's partitions are split evenly among
/// all of them.
fn join(members: &mut Vec<Member>, broker: &Broker, topic: &str, group: &str) {
    members.push(start_member(broker, topic, group));
    let each = PARTITIONS as usize / members.len();
    let mut all: Vec<&mut Member> = members.iter_mut().collect();
    wait_for_split(&mut all, Some(each));
}

/// Members join one by one while the input arrives (one, then two, then three of them, the
/// partitions moving at each join): what they commit together is one process's output, no
/// row missing; and once all three run, each reads a share of the input.
///
/// A row may appear twice: Tansu 0.6.0 has no JoinGroup barrier and can, for a moment, assign
/// a partition to two members (`docs/scale-out.md`); on a Kafka broker a clean rebalance
/// doubles nothing. The test reports how many rows were doubled.
#[test]
fn members_joining_mid_stream_together_equal_one_process() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "scale-out");
    let mut members = Vec::new();
    join(&mut members, &broker, &topic, &group);
    produce(&broker, &topic, 0..60);
    join(&mut members, &broker, &topic, &group);
    produce(&broker, &topic, 60..120);
    join(&mut members, &broker, &topic, &group);
    // The rest arrives while the three share the partitions two by two.
    produce(&broker, &topic, 120..300);

    let expected = single_run(&broker, &topic);
    assert_eq!(expected.len(), 300);
    let all = union_when_done(&members.iter().collect::<Vec<_>>(), expected.len());
    let doubled = at_most_doubled(&all);
    note(&format!("rows read twice: {}", doubled.len()));
    let mut distinct = all;
    distinct.dedup();
    assert_eq!(
        distinct, expected,
        "the members' rows differ from one process's"
    );
    for (n, member) in members.iter().enumerate() {
        let late = member
            .rows()
            .iter()
            .filter(|r| {
                let v: serde_json::Value = serde_json::from_str(r).unwrap();
                v["text"].as_str().unwrap()[1..].parse::<u64>().unwrap() >= 120
            })
            .count();
        assert!(late > 0, "member {n} read none of the last rows");
    }
}

/// A member killed with SIGKILL mid-stream: its partitions move to the two others after the
/// session timeout, which resume them from the group's committed offsets. Nothing is missing;
/// a row appears twice only if it is of a partition the killed member owned (it had reached
/// its sink, not yet its commit to the group).
#[test]
fn a_killed_members_partitions_are_resumed_by_the_others() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "scale-out-kill");

    // Three start at the same instant.
    let mut a = start_member(&broker, &topic, &group);
    let mut b = start_member(&broker, &topic, &group);
    let mut c = start_member(&broker, &topic, &group);
    wait_for_split(&mut [&mut a, &mut b, &mut c], Some(2));
    produce(&broker, &topic, 0..150);
    // Kill `c` while it has rows of its own to read.
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.rows().len() < 10 {
        assert!(Instant::now() < deadline, "c read nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    let c_owned = c.owned().clone();
    c.kill();
    let killed = Instant::now();
    produce(&broker, &topic, 150..300);
    wait_for_split(&mut [&mut a, &mut b], None);
    note(&format!(
        "the killed member's partitions moved within {:?}",
        killed.elapsed()
    ));

    let expected = single_run(&broker, &topic);
    assert_eq!(expected.len(), 300);
    let mut all = union_when_done(&[&a, &b, &c], expected.len());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for row in &all {
        *counts.entry(row.clone()).or_default() += 1;
    }
    let doubled: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(r, _)| r)
        .collect();
    note(&format!(
        "rows read twice after the kill: {}",
        doubled.len()
    ));
    for row in &doubled {
        assert!(
            c_owned.contains(&partition_of(row)) && counts[*row] == 2,
            "{row} appears {} times, and c owned {c_owned:?}",
            counts[*row]
        );
    }
    all.dedup();
    assert_eq!(all, expected, "rows are missing");
}

/// The number `n` of an output row (`{"text":"v<n>",...}`): the order in which it was sent.
fn sequence_of(row: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(row).unwrap();
    value["text"].as_str().unwrap()[1..].parse().unwrap()
}

/// All three members stopped (each finishes and commits its batch in flight, then leaves the
/// group) and started again over their checkpoints and sinks, while the group may hand each a
/// different share of the partitions: they resume exactly where they stopped. Nothing read
/// before the stop is read again, nothing is missing, and each member's batches go on from
/// its own checkpoint's numbering (its sink's earlier batches untouched).
#[test]
fn members_stopped_together_resume_from_their_checkpoints() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "scale-out-restart");

    let mut members: Vec<Member> = (0..3)
        .map(|_| start_member(&broker, &topic, &group))
        .collect();
    wait_for_split(&mut members.iter_mut().collect::<Vec<_>>(), Some(2));
    produce(&broker, &topic, 0..150);
    union_when_done(&members.iter().collect::<Vec<_>>(), 150);
    let before: Vec<common::crash::Output> = members
        .iter()
        .map(|m| common::crash::output(m.output()))
        .collect();
    note(&format!(
        "before the stop the members own {:?}",
        members
            .iter_mut()
            .map(|m| m.owned().clone())
            .collect::<Vec<_>>()
    ));
    let dirs: Vec<_> = members.into_iter().map(Member::stop).collect();
    assert_eq!(
        broker.group_offsets(&group, &topic, PARTITIONS),
        (0..PARTITIONS)
            .map(|p| (p, broker.latest(&topic, p)))
            .collect::<BTreeMap<_, _>>(),
        "the stopped members committed every partition to its end"
    );

    let members: Vec<Member> = dirs
        .into_iter()
        .map(|dirs| restart_member(&broker, &topic, &group, dirs.expect("its own directories")))
        .collect();
    // Sent at once, while the group may still be settling: a member reports its partitions
    // only with a batch's progress, and one that owns again what it owned before has no batch
    // to run until records arrive. Rows read twice while the group settles are allowed (Tansu's
    // missing JoinGroup barrier); rows read before the stop must never be read again.
    produce(&broker, &topic, 150..300);

    let expected = single_run(&broker, &topic);
    assert_eq!(expected.len(), 300);
    let all = union_when_done(&members.iter().collect::<Vec<_>>(), expected.len());
    let doubled = at_most_doubled(&all);
    note(&format!(
        "rows read twice after the restart: {}",
        doubled.len()
    ));
    let mut distinct = all;
    distinct.dedup();
    assert_eq!(distinct, expected, "rows are missing");
    for (n, (member, before)) in members.iter().zip(&before).enumerate() {
        let after = common::crash::output(member.output());
        let last_before = before.keys().next_back().copied();
        for (batch, rows) in &after {
            match before.get(batch) {
                Some(earlier) => assert_eq!(rows, earlier, "member {n} rewrote batch {batch}"),
                None => {
                    assert!(
                        last_before.is_none_or(|last| *batch > last),
                        "member {n}'s batch {batch} is not after its batches before the stop"
                    );
                    let reread: Vec<&String> =
                        rows.iter().filter(|r| sequence_of(r) < 150).collect();
                    assert!(
                        reread.is_empty(),
                        "member {n} read again after the restart: {reread:?}"
                    );
                }
            }
        }
    }
}

/// A member frozen (SIGSTOP) longer than the session timeout loses its partitions to the
/// others, which read on; let go on (SIGCONT), it rejoins the group and shares the partitions
/// again. Nothing is missing; of the rows sent while it was frozen, the only ones read twice
/// are of the partitions it owned (when it wakes it may read a batch of them before it hears
/// that they are gone; Tansu 0.6.0 does not fence its commit, `docs/scale-out.md`), and the
/// group's committed offsets end at the end of every partition.
#[test]
fn a_frozen_member_rejoins_without_losing_rows() {
    let broker = Broker::start();
    let (topic, group) = topic_and_group(&broker, "scale-out-freeze");

    let mut a = start_member(&broker, &topic, &group);
    let mut b = start_member(&broker, &topic, &group);
    let mut c = start_member(&broker, &topic, &group);
    wait_for_split(&mut [&mut a, &mut b, &mut c], Some(2));
    produce(&broker, &topic, 0..150);
    union_when_done(&[&a, &b, &c], 150);
    let c_owned = c.owned().clone();
    c.signal("STOP");
    let frozen = Instant::now();
    wait_for_split(&mut [&mut a, &mut b], None);
    note(&format!(
        "the frozen member's partitions moved within {:?}",
        frozen.elapsed()
    ));
    // The others read rows of the frozen member's partitions while it sleeps.
    produce(&broker, &topic, 150..300);
    union_when_done(&[&a, &b, &c], 300);
    c.signal("CONT");
    wait_for_split(&mut [&mut a, &mut b, &mut c], None);
    produce(&broker, &topic, 300..360);

    let expected = single_run(&broker, &topic);
    assert_eq!(expected.len(), 360);
    let mut all = union_when_done(&[&a, &b, &c], expected.len());
    // Rows sent while the member was frozen are read again only if they are of its partitions:
    // it read them on waking, before it heard they were gone, and — Tansu fencing no
    // OffsetCommit (docs/scale-out.md) — the offset it then commits may move the group's back,
    // so the partition's next owner reads them once more: a row may be read three times. Rows
    // sent after it rejoined may be read twice by any two members, Tansu's missing JoinGroup
    // barrier again.
    let (while_frozen, after): (Vec<_>, Vec<_>) = read_more_than_once(&all)
        .into_iter()
        .partition(|(row, _)| sequence_of(row) < 300);
    note(&format!(
        "rows read more than once: {} sent while the member was frozen (at most {} times), {} after it rejoined; commits the group refused the woken member: {}",
        while_frozen.len(),
        while_frozen.iter().map(|(_, n)| *n).max().unwrap_or(0),
        after.len(),
        c.report("REJECTED").unwrap_or_else(|| "0".into())
    ));
    for (row, n) in &after {
        assert_eq!(
            *n, 2,
            "{row}, sent after the member rejoined, was read {n} times"
        );
    }
    for (row, _) in &while_frozen {
        let readers: Vec<(usize, u64)> = [&a, &b, &c]
            .iter()
            .enumerate()
            .flat_map(|(n, m)| {
                common::crash::output(m.output())
                    .into_iter()
                    .filter(|(_, rows)| rows.contains(row))
                    .map(move |(batch, _)| (n, batch))
            })
            .collect();
        assert!(
            c_owned.contains(&partition_of(row)),
            "{row} was read again (member, batch: {readers:?}), and the frozen member owned {c_owned:?}"
        );
    }
    all.dedup();
    assert_eq!(all, expected, "rows are missing");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ends: BTreeMap<i32, i64> = (0..PARTITIONS)
        .map(|p| (p, broker.latest(&topic, p)))
        .collect();
    while broker.group_offsets(&group, &topic, PARTITIONS) != ends {
        assert!(
            Instant::now() < deadline,
            "the group's offsets {:?} did not reach the ends {ends:?}",
            broker.group_offsets(&group, &topic, PARTITIONS)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A query with state is refused at start, before it joins the group (the state of a
/// partition would not follow the partition to its next owner), and so is a member that does
/// not `subscribe`.
#[test]
fn members_refuse_a_query_with_state_and_a_pattern() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, sink) = common::typed_collector::<RoomsRow>();
    let error = runtime
        .block_on(async {
            Rooms::read_stream(
                KafkaSource::new()
                    .bootstrap_servers("127.0.0.1:9")
                    .subscribe(["readings"])
                    .consumer_group("rooms"),
            )
            .write_stream()
            .output_mode(Update)
            .foreach_batch(sink)
            .start()
        })
        .expect_err("a stateful member is refused");
    assert_eq!(
        error.to_string(),
        "consumer_group(\"rooms\"): a query with state (an aggregation or a deduplication) cannot share its input partitions with other processes this way: the state of a partition would not move with the partition when the group reassigns it. Run a query per partition with sluice::scale_out::PartitionedQuery (its state moves with its partition; docs/scale-out.md), or run it in one process (without consumer_group)"
    );
    // A group assigns the partitions of subscribed topics only.
    let (_, sink) = common::typed_collector::<RecordsRow>();
    let error = runtime
        .block_on(async {
            Records::read_stream(
                KafkaSource::new()
                    .bootstrap_servers("127.0.0.1:9")
                    .subscribe_pattern("readings-.*")
                    .consumer_group("records"),
            )
            .write_stream()
            .foreach_batch(sink)
            .start()
        })
        .expect_err("a pattern member is refused");
    assert_eq!(
        error.to_string(),
        "consumer_group needs subscribe: the group assigns the partitions of subscribed topics, not of a pattern or of assigned partitions"
    );
}
