//! The streaming aggregation operator (Spark's `StateStoreRestoreExec` / `StateStoreSaveExec`
//! pair around a hash aggregate): the groups of a `group by ... aggregate ...` query in a hash
//! table keyed by the exact group key; late rows dropped against the previous batch's watermark; emission per output mode; eviction of the groups the watermark made final;
//! `order by` / `limit` on the result; snapshots.
//!
//! The operator is generic over an [`AggregateQuery`], which `pipeline!` implements for each
//! aggregation: the key and accumulator types, the fused stateless prefix that feeds rows into
//! groups ([`AggregateQuery::map`]), when a group is final, and how a group becomes an output
//! row. Everything Spark defines about *when* rows are dropped, emitted and evicted lives here,
//! once, and is tested here without a macro.

use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash};

use hashbrown::{Equivalent, HashTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::accumulator::Accumulators;
use crate::error::Error;
use crate::output_mode::OutputMode;
use crate::pipeline::BatchContext;
use crate::row::Row;
use crate::state::{self, FixedState};

/// The hasher of every group table (fixed seed: the same order on every run).
const HASHER: FixedState = state::fixed_state();

/// A group key as the state holds it: the exact typed key tuple (a window as its start in µs),
/// owned.
pub trait GroupKey:
    Clone + Eq + Hash + Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
}
impl<T: Clone + Eq + Hash + Debug + Send + Sync + Serialize + DeserializeOwned + 'static> GroupKey
    for T
{
}

/// What `pipeline!` generates for one streaming aggregation, and [`Aggregation`] runs.
pub trait AggregateQuery: Sized + Send + 'static {
    /// The rows the query reads.
    type Input: Row;
    /// The rows it emits.
    type Output: Row;
    /// The group key (`()` for a global aggregation).
    type Key: GroupKey;
    /// The accumulators of one group.
    type Acc: Accumulators;
    /// The values an `order by` sorts on (`()` when the result is not sorted).
    type SortKey: Send + 'static;

    /// Whether groups are keyed by the watermarked event time (a window over it, or the column
    /// itself): only then can the watermark drop late rows and make groups final.
    const EVICTS: bool = false;
    /// Whether the result is sorted (`order by`; complete mode only).
    const SORTED: bool = false;
    /// A `limit` on the result.
    const LIMIT: Option<u64> = None;

    /// Runs the fused stateless prefix over `input`, feeding each row that reaches the
    /// aggregation into its group: `groups.is_late(end)` first for queries that evict (the row is
    /// skipped when it returns true), then `groups.group(key)` and the accumulators' updates.
    /// Records event-time statistics for the watermark in `ctx`.
    fn map<G: GroupSink<Self::Key, Self::Acc>>(
        input: &[Self::Input],
        ctx: &mut BatchContext,
        groups: &mut G,
    ) -> Result<(), Error>;

    /// For a global aggregation (no `group by` keys), the key of its one group (`()`): that
    /// group exists, and is emitted in complete and update mode, even before any row arrived, as
    /// Spark's aggregate of no rows (`count` 0, other aggregates null). `None` for a keyed
    /// aggregation.
    fn global_key() -> Option<Self::Key> {
        None
    }

    /// The event time (µs) at or before which the watermark makes the group of `key` final: its
    /// window's end, or its event time when grouped by the column itself. `None`: never final
    /// (a null event time). Called only when [`AggregateQuery::EVICTS`].
    fn final_at(key: &Self::Key) -> Option<i64> {
        let _ = key;
        None
    }

    /// The output row of a group, with its sort key; `None` when a filter after the aggregation
    /// (Spark's `having`) rejects it.
    fn emit(
        key: &Self::Key,
        acc: &Self::Acc,
        ctx: &BatchContext,
    ) -> Result<Option<Emitted<Self>>, Error>;

    /// The `order by` comparison of two sort keys.
    fn compare(a: &Self::SortKey, b: &Self::SortKey) -> Ordering {
        let _ = (a, b);
        Ordering::Equal
    }
}

/// A group's output row and the values it sorts by.
pub type Emitted<Q> = (
    <Q as AggregateQuery>::Output,
    <Q as AggregateQuery>::SortKey,
);

/// A snapshot's content: every group, and the rows a limit let through.
type Snapshot<K, A> = (Vec<(K, A)>, u64);

/// Where the prefix of an aggregation puts its rows: the operator's state itself
/// ([`Aggregation::process`]), or a partial aggregation of part of the input that is merged
/// into the state later.
pub trait GroupSink<K, A> {
    /// Whether a row whose window (or event time) ends at `event_end` µs is late, judged against
    /// the previous batch's watermark (Spark's `PropagateWatermarkSimulator`; never in complete
    /// mode). A late row is counted as dropped and must be skipped.
    fn is_late(&mut self, event_end: i64) -> bool;

    /// The accumulators of the group of `key`, created empty if the group is new.
    fn group(&mut self, key: K) -> &mut A;

    /// [`GroupSink::group`] through a borrowed form of the key (`&str` for a `String` key
    /// part), which is turned into an owned key only when the group is new.
    fn group_ref<Q>(&mut self, key: &Q) -> &mut A
    where
        Q: Hash + Equivalent<K> + ?Sized,
        for<'q> K: From<&'q Q>;
}

/// One group in the state: its accumulators and the last batch that updated it.
#[derive(Debug, Clone, Default)]
struct Group<A> {
    acc: A,
    /// `batch_id + 1` of the last batch that updated the group (0: none since a restore).
    updated_in: u64,
}

/// A table of groups.
struct Table<K, A> {
    groups: HashTable<(K, Group<A>)>,
    /// Keys updated in the current batch, in the order they were first updated (update mode).
    touched: Vec<K>,
}

impl<K, A> Table<K, A> {
    fn new() -> Self {
        Table {
            groups: HashTable::new(),
            touched: Vec::new(),
        }
    }
}

/// The state of a streaming aggregation, and the rules that run it.
pub struct Aggregation<Q: AggregateQuery> {
    table: Table<Q::Key, Q::Acc>,
    /// Rows a `limit` let through so far (append mode).
    emitted: u64,
}

impl<Q: AggregateQuery> Debug for Aggregation<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aggregation")
            .field("groups", &self.state_rows())
            .field("emitted", &self.emitted)
            .finish()
    }
}

impl<Q: AggregateQuery> Default for Aggregation<Q> {
    fn default() -> Self {
        Aggregation {
            table: Table::new(),
            emitted: 0,
        }
    }
}

impl<Q: AggregateQuery> Aggregation<Q> {
    /// Feeds one chunk of a batch's input into the state (see [`AggregateQuery::map`]).
    pub fn process(&mut self, input: &[Q::Input], ctx: &mut BatchContext) -> Result<(), Error> {
        let mut upsert = Upsert::new(&mut self.table, ctx);
        let result = Q::map(input, ctx, &mut upsert);
        let (dropped, updated) = (upsert.dropped, upsert.updated);
        ctx.add_dropped_by_watermark(dropped);
        ctx.add_state_rows_updated(updated);
        result
    }

    /// Ends the batch: emits per output mode and evicts the groups the current watermark made
    /// final.
    ///
    /// - Complete: every group (sorted and limited if the query says so); nothing is evicted.
    /// - Update: the groups updated in this batch, then the final groups are evicted silently
    ///   (a group updated and made final in the same batch is emitted once, then gone).
    /// - Append: the groups made final are evicted and emitted, each exactly once.
    pub fn finish_batch(
        &mut self,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
    ) -> Result<(), Error> {
        let table = &mut self.table;
        match ctx.output_mode() {
            OutputMode::Complete => {
                let mut rows = Vec::with_capacity(table.groups.len().max(1));
                if let Some(key) = Q::global_key() {
                    emit_global::<Q>(table, key, ctx, &mut rows)?;
                } else {
                    for (key, group) in &table.groups {
                        push(&mut rows, Q::emit(key, &group.acc, ctx)?);
                    }
                }
                sort_and_limit::<Q>(rows, out);
            }
            OutputMode::Update => {
                if let Some(key) = Q::global_key() {
                    // The global group is emitted every batch, as in complete mode.
                    let mut rows = Vec::with_capacity(1);
                    emit_global::<Q>(table, key, ctx, &mut rows)?;
                    sort_and_limit::<Q>(rows, out);
                } else {
                    let mut touched = std::mem::take(&mut table.touched);
                    for key in touched.drain(..) {
                        let hash = HASHER.hash_one(&key);
                        if let Some((key, group)) = table.groups.find(hash, |(k, _)| *k == key)
                            && let Some((row, _)) = Q::emit(key, &group.acc, ctx)?
                        {
                            out.push(row);
                        }
                    }
                    table.touched = touched;
                }
                if let Some(watermark) = eviction_threshold::<Q>(ctx) {
                    let before = table.groups.len();
                    table
                        .groups
                        .retain(|(key, _)| !is_final::<Q>(key, watermark));
                    ctx.add_state_rows_removed((before - table.groups.len()) as u64);
                }
            }
            OutputMode::Append => {
                let start = out.len();
                if let Some(watermark) = eviction_threshold::<Q>(ctx) {
                    let mut removed = 0;
                    for (key, group) in table
                        .groups
                        .extract_if(|(key, _)| is_final::<Q>(key, watermark))
                    {
                        removed += 1;
                        if let Some((row, _)) = Q::emit(&key, &group.acc, ctx)? {
                            out.push(row);
                        }
                    }
                    ctx.add_state_rows_removed(removed);
                }
                super::result::limit_appended(out, start, Q::LIMIT, &mut self.emitted);
            }
        }
        Ok(())
    }

    /// Number of groups held.
    pub fn state_rows(&self) -> usize {
        self.table.groups.len()
    }

    /// An estimate of the memory the state uses, in bytes.
    pub fn state_bytes(&self) -> usize {
        self.table.groups.allocation_size() + self.table.touched.capacity() * size_of::<Q::Key>()
    }

    /// Serialises the state: every group (key and accumulators) and the rows a limit let
    /// through.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        let groups: Vec<(&Q::Key, &Q::Acc)> =
            self.table.groups.iter().map(|(k, g)| (k, &g.acc)).collect();
        state::encode(&(groups, self.emitted))
    }

    /// Replaces the state with one written by [`Aggregation::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let (groups, emitted): Snapshot<Q::Key, Q::Acc> = state::decode(bytes)?;
        let mut table = Table::new();
        table
            .groups
            .reserve(groups.len(), |(k, _)| HASHER.hash_one(k));
        for (key, acc) in groups {
            let hash = HASHER.hash_one(&key);
            table
                .groups
                .insert_unique(hash, (key, Group { acc, updated_in: 0 }), |(k, _)| {
                    HASHER.hash_one(k)
                });
        }
        self.table = table;
        self.emitted = emitted;
        Ok(())
    }
}

/// Emits the one group of a global aggregation: its accumulators, or empty ones before any row
/// arrived.
fn emit_global<Q: AggregateQuery>(
    table: &Table<Q::Key, Q::Acc>,
    key: Q::Key,
    ctx: &BatchContext,
    rows: &mut Vec<Emitted<Q>>,
) -> Result<(), Error> {
    let row = match table.groups.iter().next() {
        Some((key, group)) => Q::emit(key, &group.acc, ctx)?,
        None => Q::emit(&key, &Q::Acc::default(), ctx)?,
    };
    push(rows, row);
    Ok(())
}

/// The current watermark, when this batch evicts by it: queries keyed by event time, in append
/// and update mode.
fn eviction_threshold<Q: AggregateQuery>(ctx: &BatchContext) -> Option<i64> {
    if Q::EVICTS {
        ctx.eviction_threshold()
    } else {
        None
    }
}

/// `order by` and `limit` on a complete result.
fn sort_and_limit<Q: AggregateQuery>(rows: Vec<Emitted<Q>>, out: &mut Vec<Q::Output>) {
    let compare = Q::SORTED.then_some(Q::compare as fn(&_, &_) -> Ordering);
    super::result::sort_and_limit(rows, compare, Q::LIMIT, out);
}

fn push<R, S>(rows: &mut Vec<(R, S)>, row: Option<(R, S)>) {
    if let Some(row) = row {
        rows.push(row);
    }
}

#[inline]
fn is_final<Q: AggregateQuery>(key: &Q::Key, watermark: i64) -> bool {
    Q::final_at(key).is_some_and(|end| end <= watermark)
}

/// The [`GroupSink`] that updates the operator's state in place, tracking the groups updated in
/// this batch.
struct Upsert<'s, K, A> {
    table: &'s mut Table<K, A>,
    /// `batch_id + 1`: the mark of a group updated in this batch.
    mark: u64,
    /// Whether updated keys are listed for update-mode emission.
    track: bool,
    late: i64,
    updated: u64,
    dropped: u64,
}

impl<'s, K, A> Upsert<'s, K, A> {
    fn new(table: &'s mut Table<K, A>, ctx: &BatchContext) -> Self {
        Upsert {
            table,
            mark: ctx.batch_id() + 1,
            track: ctx.output_mode() == OutputMode::Update,
            late: ctx.late_threshold(),
            updated: 0,
            dropped: 0,
        }
    }

    /// Marks a group updated in this batch (once per batch), listing its key for update mode.
    #[inline]
    fn touch<'g>(
        group: &'g mut Group<A>,
        touched: &mut Vec<K>,
        key: impl FnOnce() -> K,
        mark: u64,
        track: bool,
        updated: &mut u64,
    ) -> &'g mut A {
        if group.updated_in != mark {
            group.updated_in = mark;
            *updated += 1;
            if track {
                touched.push(key());
            }
        }
        &mut group.acc
    }
}

impl<K: GroupKey, A: Accumulators> GroupSink<K, A> for Upsert<'_, K, A> {
    #[inline]
    fn is_late(&mut self, event_end: i64) -> bool {
        if event_end <= self.late {
            self.dropped += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn group(&mut self, key: K) -> &mut A {
        let hash = HASHER.hash_one(&key);
        let Table { groups, touched } = &mut *self.table;
        // A plain probe first: most rows hit an existing group, and probing for "found or
        // where to insert" in one pass costs every hit the work of the rare miss.
        let (group_key, group) = match groups.find_entry(hash, |(k, _)| *k == key) {
            Ok(found) => found.into_mut(),
            Err(absent) => absent
                .into_table()
                .insert_unique(hash, (key, Group::default()), |(k, _)| HASHER.hash_one(k))
                .into_mut(),
        };
        let group_key = &*group_key;
        Self::touch(
            group,
            touched,
            || group_key.clone(),
            self.mark,
            self.track,
            &mut self.updated,
        )
    }

    #[inline]
    fn group_ref<Q>(&mut self, key: &Q) -> &mut A
    where
        Q: Hash + Equivalent<K> + ?Sized,
        for<'q> K: From<&'q Q>,
    {
        let hash = HASHER.hash_one(key);
        let Table { groups, touched } = &mut *self.table;
        let (group_key, group) = match groups.find_entry(hash, |(k, _)| key.equivalent(k)) {
            Ok(found) => found.into_mut(),
            Err(absent) => absent
                .into_table()
                .insert_unique(hash, (K::from(key), Group::default()), |(k, _)| {
                    HASHER.hash_one(k)
                })
                .into_mut(),
        };
        let group_key = &*group_key;
        Self::touch(
            group,
            touched,
            || group_key.clone(),
            self.mark,
            self.track,
            &mut self.updated,
        )
    }
}

#[cfg(test)]
mod tests {
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
}
