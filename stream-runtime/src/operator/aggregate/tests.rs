//! The aggregation operator's rules, with hand-written query specs (no macro).

use super::*;
use crate::operator::accumulator::{Accumulator, Count, SumI64};
use crate::time::Timestamp;
use crate::value::{DataType, Field, Schema, Value};

/// An event: `(event time in seconds, key, value)`.
#[derive(Debug, Clone, PartialEq)]
struct Event(i64, &'static str, i64);

impl Row for Event {
    const SCHEMA: Schema = Schema::new(&[]);
    fn to_values(&self) -> Vec<Value> {
        Vec::new()
    }
    fn from_values(_: Vec<Value>) -> Result<Self, crate::row::RowError> {
        unreachable!()
    }
}

/// An output row: `(window start in seconds, key, count, sum)`.
#[derive(Debug, Clone, PartialEq)]
struct Out(i64, String, i64, Option<i64>);

impl Row for Out {
    const SCHEMA: Schema = Schema::new(&[Field::new("n", DataType::Long, false)]);
    fn to_values(&self) -> Vec<Value> {
        Vec::new()
    }
    fn from_values(_: Vec<Value>) -> Result<Self, crate::row::RowError> {
        unreachable!()
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
struct Acc(Count, SumI64);

impl Accumulators for Acc {
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.0.merge(&other.0)?;
        self.1.merge(&other.1)
    }
}

const SECOND: i64 = 1_000_000;
const SIZE: i64 = 10 * SECOND;

/// `watermark ts; group by window(ts, 10 s), key; aggregate count(), sum(value)`, written
/// by hand the way `pipeline!` generates it.
struct Windowed;

impl AggregateQuery for Windowed {
    type Input = Event;
    type Output = Out;
    type Key = (i64, String);
    type Acc = Acc;
    type SortKey = ();
    const EVICTS: bool = true;

    fn map<G: GroupSink<(i64, String), Acc>>(
        input: &[Event],
        ctx: &mut BatchContext,
        groups: &mut G,
    ) -> Result<(), Error> {
        let mut stats = crate::batch::EventTimeStats::default();
        for Event(ts, key, value) in input {
            stats.observe(ts * SECOND);
            let start = crate::time::last_window_start(ts * SECOND, SIZE);
            if groups.is_late(start + SIZE) {
                continue;
            }
            let acc = groups.group((start, key.to_string()));
            acc.0.update(())?;
            acc.1.update(*value)?;
        }
        ctx.observe_event_times(0, &stats);
        Ok(())
    }

    fn final_at(key: &(i64, String)) -> Option<i64> {
        Some(key.0 + SIZE)
    }

    fn emit(
        key: &(i64, String),
        acc: &Acc,
        _: &BatchContext,
    ) -> Result<Option<Emitted<Self>>, Error> {
        let row = Out(
            key.0 / SECOND,
            key.1.clone(),
            acc.0.finish(),
            acc.1.finish(),
        );
        Ok(Some((row, ())))
    }
}

/// Runs batches through the operator as the engine does (the watermark of each batch given),
/// returning each batch's sorted output and counters `(dropped, updated, removed)`.
fn run<Q: AggregateQuery<Input = Event, Output = Out>>(
    op: &mut Aggregation<Q>,
    mode: OutputMode,
    batches: &[(&[Event], i64)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    run_from(0, op, mode, batches)
}

/// [`run`], the first batch having id `first_batch`.
fn run_from<Q: AggregateQuery<Input = Event, Output = Out>>(
    first_batch: u64,
    op: &mut Aggregation<Q>,
    mode: OutputMode,
    batches: &[(&[Event], i64)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    let mut ctx = BatchContext::new(
        first_batch,
        mode,
        Some(Timestamp::from_secs(batches[0].1)),
        Some(Timestamp::EPOCH),
        Timestamp::EPOCH,
        1,
    );
    let mut results = Vec::new();
    for (i, (rows, watermark)) in batches.iter().enumerate() {
        if i > 0 {
            ctx.advance(Some(Timestamp::from_secs(*watermark)), Timestamp::EPOCH);
        }
        // Two chunks per batch, as a source may deliver them.
        let (a, b) = rows.split_at(rows.len() / 2);
        op.process(a, &mut ctx).unwrap();
        op.process(b, &mut ctx).unwrap();
        let mut out = Vec::new();
        op.finish_batch(&mut ctx, &mut out).unwrap();
        out.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
        let m = ctx.metrics();
        results.push((
            out,
            (
                m.rows_dropped_by_watermark,
                m.state_rows_updated,
                m.state_rows_removed,
            ),
        ));
    }
    results
}

fn out(start: i64, key: &str, count: i64, sum: i64) -> Out {
    Out(start, key.to_string(), count, Some(sum))
}

// Batch 0 runs under watermark 0; batch 1 under 15 s (so [0, 10) is final), batch 2 under 30 s.
const B0: &[Event] = &[Event(1, "a", 1), Event(12, "a", 2), Event(3, "b", 4)];
const B1: &[Event] = &[Event(5, "a", 8), Event(14, "b", 16)];
const B2: &[Event] = &[Event(8, "a", 32), Event(25, "a", 64)];

#[test]
fn append_emits_each_window_once_when_the_watermark_passes_its_end() {
    let mut op = Aggregation::<Windowed>::default();
    let r = run(&mut op, OutputMode::Append, &[(B0, 0), (B1, 15), (B2, 30)]);
    // Batch 0: nothing is final yet.
    assert_eq!(r[0], (vec![], (0, 3, 0)));
    // Batch 1 runs under 15 s: `a@5` is late only against the *previous* watermark (0), so
    // it is counted, and [0, 10) is then emitted (end 10 <= 15) and evicted.
    assert_eq!(
        r[1],
        (vec![out(0, "a", 2, 9), out(0, "b", 1, 4)], (0, 2, 2))
    );
    // Batch 2: `a@8` is late against 15 s (its window ended at 10) and dropped; [10, 20) is
    // final under 30 s; [20, 30) is final too (end 30 <= 30).
    assert_eq!(
        r[2],
        (
            vec![out(10, "a", 1, 2), out(10, "b", 1, 16), out(20, "a", 1, 64)],
            (1, 1, 3)
        )
    );
    assert_eq!(op.state_rows(), 0);
}

#[test]
fn update_emits_the_groups_updated_in_the_batch_then_evicts_silently() {
    let mut op = Aggregation::<Windowed>::default();
    let r = run(&mut op, OutputMode::Update, &[(B0, 0), (B1, 15), (B2, 30)]);
    assert_eq!(
        r[0].0,
        [out(0, "a", 1, 1), out(0, "b", 1, 4), out(10, "a", 1, 2)]
    );
    // The whole current aggregate, not a delta; [0, 10) is emitted, then evicted.
    assert_eq!(
        r[1],
        (vec![out(0, "a", 2, 9), out(10, "b", 1, 16)], (0, 2, 2))
    );
    assert_eq!(r[2], (vec![out(20, "a", 1, 64)], (1, 1, 3)));
}

#[test]
fn complete_emits_everything_and_never_drops_nor_evicts() {
    let mut op = Aggregation::<Windowed>::default();
    let r = run(
        &mut op,
        OutputMode::Complete,
        &[(B0, 0), (B1, 15), (B2, 30)],
    );
    assert_eq!(
        r[2],
        (
            vec![
                out(0, "a", 3, 41),
                out(0, "b", 1, 4),
                out(10, "a", 1, 2),
                out(10, "b", 1, 16),
                out(20, "a", 1, 64)
            ],
            (0, 2, 0)
        )
    );
}

#[test]
fn a_snapshot_restores_the_groups() {
    let mut op = Aggregation::<Windowed>::default();
    run(&mut op, OutputMode::Complete, &[(B0, 0)]);
    let bytes = op.snapshot().unwrap();
    let mut restored = Aggregation::<Windowed>::default();
    restored.restore(&bytes).unwrap();
    assert_eq!(restored.state_rows(), 3);
    let a = run_from(1, &mut op, OutputMode::Complete, &[(B1, 15)]);
    let b = run_from(1, &mut restored, OutputMode::Complete, &[(B1, 15)]);
    assert_eq!(a, b);
    assert_eq!(a[0].1, (0, 2, 0), "two groups updated in batch 1");
    assert!(
        Aggregation::<Windowed>::default().restore(b"junk").is_err(),
        "a snapshot of another layout is refused"
    );
}

/// `aggregate count(), sum(value)` over everything, sorted by nothing; and a keyed count
/// sorted by count descending, limited to 2.
struct Global;

impl AggregateQuery for Global {
    type Input = Event;
    type Output = Out;
    type Key = ();
    type Acc = Acc;
    type SortKey = ();

    fn global_key() -> Option<()> {
        Some(())
    }

    fn map<G: GroupSink<(), Acc>>(
        input: &[Event],
        _: &mut BatchContext,
        groups: &mut G,
    ) -> Result<(), Error> {
        for e in input {
            let acc = groups.group(());
            acc.0.update(())?;
            acc.1.update(e.2)?;
        }
        Ok(())
    }

    fn emit(_: &(), acc: &Acc, _: &BatchContext) -> Result<Option<Emitted<Self>>, Error> {
        Ok(Some((
            Out(0, String::new(), acc.0.finish(), acc.1.finish()),
            (),
        )))
    }
}

#[test]
fn a_global_aggregate_has_one_row_even_before_any_input() {
    let mut op = Aggregation::<Global>::default();
    let r = run(
        &mut op,
        OutputMode::Complete,
        &[(&[], 0), (B0, 0), (&[], 0)],
    );
    // Spark's aggregate of no rows: count 0, sum null.
    assert_eq!(r[0].0, [Out(0, String::new(), 0, None)]);
    assert_eq!(op.state_rows(), 1);
    assert_eq!(r[1].0, [Out(0, String::new(), 3, Some(7))]);
    assert_eq!(r[2].0, r[1].0, "re-emitted in a batch without input");
    let r = run(
        &mut Aggregation::<Global>::default(),
        OutputMode::Update,
        &[(&[], 0)],
    );
    assert_eq!(r[0].0, [Out(0, String::new(), 0, None)]);
}

struct Top2;

impl AggregateQuery for Top2 {
    type Input = Event;
    type Output = Out;
    type Key = String;
    type Acc = Acc;
    type SortKey = (i64, String);
    const SORTED: bool = true;
    const LIMIT: Option<u64> = Some(2);

    fn map<G: GroupSink<String, Acc>>(
        input: &[Event],
        _: &mut BatchContext,
        groups: &mut G,
    ) -> Result<(), Error> {
        for e in input {
            groups.group_ref(e.1).0.update(())?;
        }
        Ok(())
    }

    fn emit(key: &String, acc: &Acc, _: &BatchContext) -> Result<Option<Emitted<Self>>, Error> {
        let n = acc.0.finish();
        // `having count > 1`
        Ok((n > 1).then(|| (Out(0, key.clone(), n, None), (n, key.clone()))))
    }

    fn compare(a: &(i64, String), b: &(i64, String)) -> Ordering {
        b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1))
    }
}

#[test]
fn complete_mode_sorts_filters_and_limits_the_result() {
    let rows = [
        Event(1, "x", 0),
        Event(1, "y", 0),
        Event(1, "y", 0),
        Event(1, "z", 0),
        Event(1, "z", 0),
        Event(1, "z", 0),
        Event(1, "w", 0),
        Event(1, "w", 0),
    ];
    let mut op = Aggregation::<Top2>::default();
    let mut ctx = BatchContext::new(0, OutputMode::Complete, None, None, Timestamp::EPOCH, 0);
    op.process(&rows, &mut ctx).unwrap();
    let mut out = Vec::new();
    op.finish_batch(&mut ctx, &mut out).unwrap();
    // z (3), then w and y (2) by name; x (1) fails the filter; the limit keeps two.
    assert_eq!(
        out,
        [Out(0, "z".into(), 3, None), Out(0, "w".into(), 2, None)]
    );
}

/// [`run`] through [`Aggregation::run_batch`] on `threads` workers, each batch's rows split
/// into one partition per row (so every task sees a few groups, and groups span tasks).
fn run_parallel(
    threads: usize,
    op: &mut Aggregation<Windowed>,
    mode: OutputMode,
    batches: &[(&[Event], i64)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    let exec = Executor::new(threads, 1).unwrap();
    let mut ctx = BatchContext::new(
        0,
        mode,
        Some(Timestamp::from_secs(batches[0].1)),
        Some(Timestamp::EPOCH),
        Timestamp::EPOCH,
        1,
    );
    let mut results = Vec::new();
    for (i, (rows, watermark)) in batches.iter().enumerate() {
        if i > 0 {
            ctx.advance(Some(Timestamp::from_secs(*watermark)), Timestamp::EPOCH);
        }
        let input = BatchInput::from_chunks(
            rows.iter()
                .map(|r| crate::source::RowChunk::Owned(vec![r.clone()]))
                .collect(),
        );
        let mut out = Vec::new();
        let read = op.run_batch(input, &mut ctx, &mut out, &exec).unwrap();
        assert_eq!(read, rows.len() as u64);
        out.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
        let m = ctx.metrics();
        results.push((
            out,
            (
                m.rows_dropped_by_watermark,
                m.state_rows_updated,
                m.state_rows_removed,
            ),
        ));
    }
    results
}

#[test]
fn every_parallelism_gives_the_serial_output_and_counters() {
    let batches: &[(&[Event], i64)] = &[(B0, 0), (B1, 15), (B2, 30)];
    for mode in [OutputMode::Append, OutputMode::Update, OutputMode::Complete] {
        let serial = run(&mut Aggregation::<Windowed>::default(), mode, batches);
        for threads in [1, 2, 3, 4] {
            let mut op = Aggregation::<Windowed>::default();
            let parallel = run_parallel(threads, &mut op, mode, batches);
            assert_eq!(parallel, serial, "{mode:?} on {threads} threads");
        }
    }
}

#[test]
fn partitioned_snapshots_restore_on_any_number_of_workers() {
    let mut op = Aggregation::<Windowed>::default();
    op.configure(4, 3);
    run_parallel(3, &mut op, OutputMode::Update, &[(B0, 0)]);
    let parts = op.snapshot_partitions(4).unwrap();
    assert_eq!(parts.len(), 4);
    // Each group is in exactly the partition its key hashes to.
    let mut seen = 0;
    for (p, bytes) in parts.iter().enumerate() {
        let (groups, _): Snapshot<(i64, String), Acc> = state::decode(bytes).unwrap();
        for (key, _) in &groups {
            assert_eq!(partition_of(HASHER.hash_one(key), 4), p);
        }
        seen += groups.len();
    }
    assert_eq!(seen, 3);
    for workers in [1, 2, 4] {
        let mut restored = Aggregation::<Windowed>::default();
        restored.configure(4, workers);
        restored.restore_partitions(&parts).unwrap();
        assert_eq!(restored.state_rows(), 3);
        // The restored state continues exactly like the original.
        let mut original = Aggregation::<Windowed>::default();
        original.configure(4, 1);
        original.restore_partitions(&parts).unwrap();
        let a = run_from(1, &mut original, OutputMode::Update, &[(B1, 15)]);
        let b = run_parallel(workers, &mut restored, OutputMode::Update, &[(B1, 15)]);
        assert_eq!(a[0].0, b[0].0, "{workers} workers");
    }
}
