//! The join on several workers against the join on one: the golden scenario's batches (with
//! null keys and keys of several rows added) under every join type give the same rows, counters
//! and state on 2 and 3 workers as on one; the keys really are spread; and the state written
//! per partition (or whole, as before it was split) restores on any number of workers.

use super::*;
use crate::operator::join::symmetric::tests::{
    FullOuter, Inner, LeftOuter, LeftSemi, RightOuter, at, batch, ev, golden,
};
use crate::test_rows::{Event, JoinedEvents};
use crate::time::Timestamp;

type Batches = Vec<(Vec<Event>, Vec<Event>, Timestamp)>;

/// The golden batches, with rows of a null key on both sides and a second impression of `ad1`
/// and of `ad4`.
fn batches() -> Batches {
    let mut batches = golden();
    let null_key = |mm, ss| Event {
        ts: Some(at(mm, ss)),
        key: None,
        value: None,
    };
    batches[0].0.push(null_key(0, 1));
    batches[0].0.push(ev(0, 2, "ad1"));
    batches[1].1.push(null_key(0, 25));
    batches[1].0.push(ev(0, 19, "ad4"));
    batches
}

/// What one batch did: its rows (sorted), its counters (late rows dropped, state rows updated
/// and removed), and the rows each side holds after it.
type Outcome = (Vec<String>, (u64, u64, u64), (usize, usize));

fn run_batches<Q: StreamJoinQuery<Left = Event, Right = Event, Output = JoinedEvents>>(
    join: &mut PartitionedJoin<Q>,
    exec: &Executor,
    batches: &[(Vec<Event>, Vec<Event>, Timestamp)],
    first_id: usize,
) -> Vec<Outcome> {
    let mut late = match first_id {
        0 => Timestamp::EPOCH,
        id => golden()[id - 1].2,
    };
    batches
        .iter()
        .enumerate()
        .map(|(i, (left, right, watermark))| {
            let mut ctx = batch((first_id + i) as u64, Some(*watermark), Some(late));
            late = *watermark;
            let mut out = Vec::new();
            join.run_batch(
                &mut left.clone(),
                &mut right.clone(),
                &mut ctx,
                &mut out,
                Some(exec),
            )
            .unwrap();
            let mut rows: Vec<String> = out
                .iter()
                .map(|r| format!("{:?} {:?} {:?} {:?}", r.l_key, r.l_ts, r.r_key, r.r_ts))
                .collect();
            rows.sort();
            let m = ctx.metrics();
            let counters = (
                m.rows_dropped_by_watermark,
                m.state_rows_updated,
                m.state_rows_removed,
            );
            (rows, counters, join.side_rows())
        })
        .collect()
}

fn join_on<Q: StreamJoinQuery>(partitions: usize, workers: usize) -> PartitionedJoin<Q> {
    let mut join = PartitionedJoin::default();
    join.configure(partitions, workers);
    join
}

fn same_on_every_worker_count<Q>()
where
    Q: StreamJoinQuery<Left = Event, Right = Event, Output = JoinedEvents, Key = String>,
{
    let one = Executor::new(1, 100).unwrap();
    let expected = run_batches(&mut join_on::<Q>(4, 1), &one, &batches(), 0);
    assert!(
        expected.iter().any(|(rows, _, _)| !rows.is_empty()),
        "{:?}: the scenario joins something",
        Q::JOIN_TYPE
    );
    for (partitions, workers) in [(4, 2), (5, 3), (2, 2)] {
        let exec = Executor::new(workers, 100).unwrap();
        let mut join = join_on::<Q>(partitions, workers);
        let got = run_batches(&mut join, &exec, &batches(), 0);
        assert_eq!(
            got,
            expected,
            "{:?} on {workers} workers, {partitions} partitions",
            Q::JOIN_TYPE
        );
    }
}

#[test]
fn every_join_type_gives_the_same_rows_counters_and_state_on_several_workers() {
    same_on_every_worker_count::<Inner>();
    same_on_every_worker_count::<LeftOuter>();
    same_on_every_worker_count::<RightOuter>();
    same_on_every_worker_count::<FullOuter>();
    same_on_every_worker_count::<LeftSemi>();
}

#[test]
fn each_key_is_held_by_the_worker_of_its_partition_and_null_keys_by_worker_0() {
    let exec = Executor::new(2, 100).unwrap();
    let mut join = join_on::<LeftOuter>(4, 2);
    let all = batches();
    run_batches(&mut join, &exec, &all[..2], 0);
    for (w, j) in join.joins.iter().enumerate() {
        assert!(j.state_rows() > 0, "worker {w} holds rows of some keys");
        for key in j.left.by_key.keys().chain(j.right.by_key.keys()) {
            assert_eq!(worker(Some(key), 4, 2), w, "key {key}");
        }
    }
    let unkeyed: Vec<usize> = join
        .joins
        .iter()
        .map(|j| j.left.unkeyed.len() + j.right.unkeyed.len())
        .collect();
    assert_eq!(unkeyed, [2, 0]);
}

#[test]
fn partition_snapshots_restore_on_any_number_of_workers() {
    let all = batches();
    let one = Executor::new(1, 100).unwrap();
    let expected = run_batches(&mut join_on::<FullOuter>(4, 1), &one, &all, 0);

    let two = Executor::new(2, 100).unwrap();
    let mut join = join_on::<FullOuter>(4, 2);
    run_batches(&mut join, &two, &all[..3], 0);
    let pieces = join.snapshot_partitions(4).unwrap();
    assert_eq!(pieces.len(), 4);
    for workers in [1, 2, 3] {
        let exec = Executor::new(workers, 100).unwrap();
        let mut restored = join_on::<FullOuter>(4, workers);
        restored
            .restore_pieces(pieces.iter().map(Vec::as_slice))
            .unwrap();
        assert_eq!(restored.side_rows(), join.side_rows(), "{workers} workers");
        let rest = run_batches(&mut restored, &exec, &all[3..], 3);
        assert_eq!(rest, expected[3..], "restored on {workers} workers");
    }

    // A checkpoint written when the state was whole: all of it in partition 0.
    let mut whole = join_on::<FullOuter>(4, 1);
    run_batches(&mut whole, &one, &all[..3], 0);
    let old = [whole.joins[0].snapshot().unwrap(), Vec::new(), Vec::new()];
    let mut restored = join_on::<FullOuter>(4, 2);
    restored
        .restore_pieces(old.iter().map(Vec::as_slice))
        .unwrap();
    assert!(restored.joins.iter().all(|j| j.state_rows() > 0));
    let rest = run_batches(&mut restored, &two, &all[3..], 3);
    assert_eq!(rest, expected[3..]);
}

#[test]
fn a_join_moved_to_more_workers_keeps_its_rows() {
    let all = batches();
    let one = Executor::new(1, 100).unwrap();
    let expected = run_batches(&mut join_on::<LeftOuter>(4, 1), &one, &all, 0);
    let mut join = join_on::<LeftOuter>(4, 1);
    run_batches(&mut join, &one, &all[..2], 0);
    join.configure(4, 3);
    let three = Executor::new(3, 100).unwrap();
    assert_eq!(run_batches(&mut join, &three, &all[2..], 2), expected[2..]);
}
