//! The streaming aggregation operator (Spark's `StateStoreRestoreExec` / `StateStoreSaveExec`
//! pair around a hash aggregate): the groups of a `group by ... aggregate ...` query in hash
//! tables keyed by the exact group key; late rows dropped against the previous batch's
//! watermark; emission per output mode; eviction of the groups the watermark made final;
//! `order by` / `limit` on the result; snapshots, one per state partition.
//!
//! The operator is generic over an [`AggregateQuery`], which `pipeline!` implements for each
//! aggregation: the key and accumulator types, the fused stateless prefix that feeds rows into
//! groups ([`AggregateQuery::map`]), when a group is final, and how a group becomes an output
//! row. Everything Spark defines about *when* rows are dropped, emitted and evicted lives here,
//! once, and is tested here without a macro.
//!
//! A batch runs on one thread or on many ([`Aggregation::run_batch`]):
//!
//! - one thread: the prefix updates the one table in place (no exchange, no partial state);
//! - `n` threads: each map task runs the prefix over the input partitions it takes and builds a
//!   partial aggregation split by reduce worker (Spark's partial aggregate before the
//!   exchange); each reduce worker then merges the partials meant for it into its own table
//!   (the accumulators' `merge`), and emission and eviction run over every table.
//!
//! A group's place is decided by the hash of its key: its *state partition* (fixed when a
//! checkpoint is created, Spark's `spark.sql.shuffle.partitions`; each is snapshotted on its
//! own) and, through it, the reduce worker holding it (`partition % workers`), so a query can
//! restart with another number of threads from the same checkpoint.

mod table;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash};

use hashbrown::{Equivalent, HashTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::table::{BatchMarks, HASHER, Partial, Table, Upsert};
use super::accumulator::Accumulators;
use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::output_mode::OutputMode;
use crate::row::Row;
use crate::source::BatchInput;
use crate::state::{self, partition_of, worker_of};

/// The state partitions of a query when nothing else decides them (a pipeline driven by hand;
/// the engine uses the checkpoint's or the writer's).
pub const DEFAULT_STATE_PARTITIONS: usize = 16;

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

/// The state of a streaming aggregation, and the rules that run it.
pub struct Aggregation<Q: AggregateQuery> {
    /// One table per reduce worker (one when the query runs on one thread).
    tables: Vec<Table<Q::Key, Q::Acc>>,
    /// The state partitions the groups are split into.
    partitions: usize,
    /// Rows a `limit` let through so far (append mode).
    emitted: u64,
}

impl<Q: AggregateQuery> Debug for Aggregation<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aggregation")
            .field("groups", &self.state_rows())
            .field("tables", &self.tables.len())
            .field("partitions", &self.partitions)
            .field("emitted", &self.emitted)
            .finish()
    }
}

impl<Q: AggregateQuery> Default for Aggregation<Q> {
    fn default() -> Self {
        Aggregation {
            tables: vec![Table::new()],
            partitions: DEFAULT_STATE_PARTITIONS,
            emitted: 0,
        }
    }
}

/// What one reduce worker does: the partial groups to merge into its table, and how many groups
/// of the table they updated.
type ReduceTask<'t, Q> = (
    &'t mut Table<<Q as AggregateQuery>::Key, <Q as AggregateQuery>::Acc>,
    Vec<HashTable<(<Q as AggregateQuery>::Key, <Q as AggregateQuery>::Acc)>>,
    u64,
);

/// A snapshot's content: groups, and the rows a limit let through.
type Snapshot<K, A> = (Vec<(K, A)>, u64);

impl<Q: AggregateQuery> Aggregation<Q> {
    /// The state partitions and the number of reduce workers (tables) the groups are spread
    /// over; groups already held move to their table.
    pub fn configure(&mut self, partitions: usize, workers: usize) {
        let old = state::resplit(
            &mut self.tables,
            &mut self.partitions,
            partitions,
            workers,
            Table::new,
        );
        for table in old.into_iter().flatten() {
            for (key, group) in table.groups {
                self.insert(key, group.acc);
            }
        }
    }

    /// The state partitions.
    pub fn partitions(&self) -> usize {
        self.partitions
    }

    fn insert(&mut self, key: Q::Key, acc: Q::Acc) {
        let hash = HASHER.hash_one(&key);
        let t = worker_of(hash, self.partitions, self.tables.len());
        self.tables[t].insert(hash, key, acc);
    }

    /// Feeds one chunk of a batch's input into the state (see [`AggregateQuery::map`]), on the
    /// calling thread.
    pub fn process(&mut self, input: &[Q::Input], ctx: &mut BatchContext) -> Result<(), Error> {
        let marks = BatchMarks::of(ctx);
        if let [table] = self.tables.as_mut_slice() {
            let mut upsert = Upsert::new(table, marks);
            let result = Q::map(input, ctx, &mut upsert);
            let (dropped, updated) = (upsert.dropped, upsert.updated);
            ctx.add_dropped_by_watermark(dropped);
            ctx.add_state_rows_updated(updated);
            return result;
        }
        let mut partial = Partial::new(self.tables.len(), self.partitions, marks.late);
        Q::map(input, ctx, &mut partial)?;
        ctx.add_dropped_by_watermark(partial.dropped);
        for (table, groups) in self.tables.iter_mut().zip(partial.tables) {
            let updated = table.merge(groups, marks.mark, marks.track)?;
            ctx.add_state_rows_updated(updated);
        }
        Ok(())
    }

    /// Runs a batch on the executor's threads: the input partitions through the prefix into the
    /// groups (in place on one thread; partial aggregations merged by reduce workers on
    /// several), then [`Aggregation::finish_batch`]. Returns the rows read.
    pub fn run_batch(
        &mut self,
        input: BatchInput<Q::Input>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        self.configure(self.partitions, exec.threads());
        let chunk_rows = exec.chunk_rows();
        let rows = if self.tables.len() == 1 {
            input.for_each_chunk(chunk_rows, |chunk| self.process(chunk, ctx))?
        } else {
            self.exchange(input, ctx, exec)?
        };
        self.finish_batch(ctx, out)?;
        Ok(rows)
    }

    /// The map side (prefix and partial aggregation per input partition, on the workers) and
    /// the reduce side (each worker merging the partials meant for its table).
    fn exchange(
        &mut self,
        input: BatchInput<Q::Input>,
        ctx: &mut BatchContext,
        exec: &Executor,
    ) -> Result<u64, Error> {
        let marks = BatchMarks::of(ctx);
        let (workers, partitions) = (self.tables.len(), self.partitions);
        let chunk_rows = exec.chunk_rows();
        let base: &BatchContext = ctx;
        // One partial aggregation per input partition (not per worker, which partitions a
        // worker gets varies from run to run), merged in partition order: a batch's result does
        // not depend on how the partitions were scheduled (floating-point sums included).
        let (contexts, tasks) = exec.run_partitions(
            input,
            |_| base.fork(),
            |task_ctx, mut reader| {
                let mut partial = Partial::new(workers, partitions, marks.late);
                let mut rows = 0;
                while let Some(chunk) = reader.next_chunk(chunk_rows)? {
                    rows += chunk.len() as u64;
                    Q::map(&chunk, task_ctx, &mut partial)?;
                }
                Ok((rows, partial))
            },
        )?;
        for task_ctx in &contexts {
            ctx.absorb(task_ctx);
        }
        // The exchange: every task's groups for table `t` go to reduce worker `t`.
        let mut reduce: Vec<ReduceTask<'_, Q>> =
            self.tables.iter_mut().map(|t| (t, Vec::new(), 0)).collect();
        let mut rows = 0;
        for (task_rows, partial) in tasks {
            rows += task_rows;
            ctx.add_dropped_by_watermark(partial.dropped);
            for (t, groups) in partial.tables.into_iter().enumerate() {
                reduce[t].1.push(groups);
            }
        }
        exec.run_each(&mut reduce, |_, (table, partials, updated)| {
            for groups in partials.drain(..) {
                *updated += table.merge(groups, marks.mark, marks.track)?;
            }
            Ok(())
        })?;
        ctx.add_state_rows_updated(reduce.iter().map(|(_, _, u)| u).sum());
        Ok(rows)
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
        match ctx.output_mode() {
            OutputMode::Complete => {
                let mut rows = Vec::with_capacity(self.state_rows().max(1));
                if let Some(key) = Q::global_key() {
                    self.emit_global(key, ctx, &mut rows)?;
                } else {
                    for table in &self.tables {
                        for (key, group) in &table.groups {
                            push(&mut rows, Q::emit(key, &group.acc, ctx)?);
                        }
                    }
                }
                sort_and_limit::<Q>(rows, out);
            }
            OutputMode::Update => {
                if let Some(key) = Q::global_key() {
                    // The global group is emitted every batch, as in complete mode.
                    let mut rows = Vec::with_capacity(1);
                    self.emit_global(key, ctx, &mut rows)?;
                    sort_and_limit::<Q>(rows, out);
                } else {
                    for table in &mut self.tables {
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
                }
                if let Some(watermark) = eviction_threshold::<Q>(ctx) {
                    let mut removed = 0;
                    for table in &mut self.tables {
                        let before = table.groups.len();
                        table
                            .groups
                            .retain(|(key, _)| !is_final::<Q>(key, watermark));
                        removed += (before - table.groups.len()) as u64;
                    }
                    ctx.add_state_rows_removed(removed);
                }
            }
            OutputMode::Append => {
                let start = out.len();
                if let Some(watermark) = eviction_threshold::<Q>(ctx) {
                    let mut removed = 0;
                    for table in &mut self.tables {
                        for (key, group) in table
                            .groups
                            .extract_if(|(key, _)| is_final::<Q>(key, watermark))
                        {
                            removed += 1;
                            if let Some((row, _)) = Q::emit(&key, &group.acc, ctx)? {
                                out.push(row);
                            }
                        }
                    }
                    ctx.add_state_rows_removed(removed);
                }
                super::result::limit_appended(out, start, Q::LIMIT, &mut self.emitted);
            }
        }
        Ok(())
    }

    /// Emits the one group of a global aggregation: its accumulators, or empty ones before any
    /// row arrived.
    fn emit_global(
        &self,
        key: Q::Key,
        ctx: &BatchContext,
        rows: &mut Vec<Emitted<Q>>,
    ) -> Result<(), Error> {
        let found = self
            .tables
            .iter()
            .find_map(|t| t.groups.iter().next().map(|(k, g)| (k, &g.acc)));
        let row = match found {
            Some((key, acc)) => Q::emit(key, acc, ctx)?,
            None => Q::emit(&key, &Q::Acc::default(), ctx)?,
        };
        push(rows, row);
        Ok(())
    }

    /// Number of groups held.
    pub fn state_rows(&self) -> usize {
        self.tables.iter().map(|t| t.groups.len()).sum()
    }

    /// An estimate of the memory the state uses, in bytes.
    pub fn state_bytes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| t.groups.allocation_size() + t.touched.capacity() * size_of::<Q::Key>())
            .sum()
    }

    /// Serialises the whole state in one piece: every group and the rows a limit let through.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        let groups: Vec<(&Q::Key, &Q::Acc)> = self
            .tables
            .iter()
            .flat_map(|t| t.groups.iter().map(|(k, g)| (k, &g.acc)))
            .collect();
        state::encode(&(groups, self.emitted))
    }

    /// Serialises the state one state partition at a time, `partitions` of them: the groups
    /// whose key hashes to each partition (the limit's count rides with partition 0).
    pub fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        let partitions = partitions.max(1);
        let mut parts: Vec<Vec<(&Q::Key, &Q::Acc)>> = vec![Vec::new(); partitions];
        for table in &self.tables {
            for (key, group) in &table.groups {
                parts[partition_of(HASHER.hash_one(key), partitions)].push((key, &group.acc));
            }
        }
        parts
            .iter()
            .enumerate()
            .map(|(p, groups)| state::encode(&(groups, if p == 0 { self.emitted } else { 0 })))
            .collect()
    }

    /// Replaces the state with one written by [`Aggregation::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.restore_partitions(&[bytes])
    }

    /// Replaces the state with the partitions written by [`Aggregation::snapshot_partitions`]
    /// (or one piece by [`Aggregation::snapshot`]); each group goes to the table its key
    /// belongs to now.
    pub fn restore_partitions(&mut self, parts: &[impl AsRef<[u8]>]) -> Result<(), Error> {
        let mut emitted = 0;
        let decoded: Vec<Snapshot<Q::Key, Q::Acc>> = parts
            .iter()
            .map(|bytes| state::decode(bytes.as_ref()))
            .collect::<Result<_, _>>()?;
        self.tables = (0..self.tables.len()).map(|_| Table::new()).collect();
        for (groups, part_emitted) in decoded {
            emitted += part_emitted;
            for (key, acc) in groups {
                self.insert(key, acc);
            }
        }
        self.emitted = emitted;
        Ok(())
    }
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
