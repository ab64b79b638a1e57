//! Streaming deduplication: Spark's `StreamingDeduplicateExec` (`dropDuplicates`) and
//! `StreamingDeduplicateWithinWatermarkExec` (`dropDuplicatesWithinWatermark`).
//!
//! The state is the set of keys seen, each with the event time (µs) at or before which the
//! watermark lets it go ([`DedupEntry::expires`]). What that time is depends on the query:
//!
//! - `drop duplicates (k, ts)` with a watermark on `ts`: the key's own event time — Spark evicts
//!   a key once the watermark passes the event time it contains;
//! - `drop duplicates (k)` (no event time in the key, or no watermark): never
//!   ([`NEVER_EXPIRES`]) — the state grows with every new key, as in Spark;
//! - `drop duplicates within watermark (k)`: the event time of the key's first row plus the
//!   watermark delay — a duplicate arriving within the delay of the first row is dropped. Only
//!   this one is stored beside the key ([`Expiring`]); in the other cases the entry is the key
//!   itself, which `pipeline!` teaches its expiry.
//!
//! Rows are filtered in the generated row loop, as they arrive: [`Deduplication::batch`] gives
//! the loop a [`SeenKeys`] to ask whether a row is late ([`SeenKeys::is_late`]) and whether its
//! key is new ([`SeenKeys::first`]: a hash of the typed key, one probe, an insert only for a new
//! key). [`Deduplication::finish_batch`] evicts. Rules, as Spark has them:
//!
//! - a row whose event time is at or before the *previous* batch's watermark is late and dropped
//!   (`numRowsDroppedByWatermark`), in every output mode, when the deduplication's input has a
//!   watermarked column; a null event time is never late;
//! - the first row of a key passes, every later one is dropped (`numDroppedDuplicateRows`);
//! - at the end of the batch, keys that expire at or before the *current* watermark are
//!   forgotten (`numRemovedStateRows`).
//!
//! On several threads ([`Deduplication::run_batch`]) the keys are split by the hash of the key
//! into state partitions (each snapshotted on its own) owned by the workers, and every worker
//! runs the row loop ([`DedupQuery::map`]) over every chunk of the batch, deciding the rows
//! whose key it owns (`operator/keyed.rs`): a key's first row is the one a single thread would
//! keep, whichever worker owns it. The rows of one worker come before the next one's in the
//! output (a batch's order is not guaranteed, as in Spark).

use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash};

use hashbrown::hash_table::Entry;
use hashbrown::{Equivalent, HashTable};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::keyed::{Owner, run_on_every_worker};
use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::row::Row;
use crate::source::BatchInput;
use crate::state::{self, FixedState, partition_of, worker_of};

/// The hasher of the table of keys seen (fixed seed, as every state table).
const HASHER: FixedState = state::fixed_state();

/// The expiry of a key the watermark never evicts.
pub const NEVER_EXPIRES: i64 = i64::MAX;

/// What a deduplication stores per key: the key, and when the watermark lets it go. The key
/// struct `pipeline!` generates is its own entry when its expiry follows from it (never, or the
/// event time it holds); [`Expiring`] carries one beside the key.
pub trait DedupEntry: Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// What entries are compared and hashed by.
    type Key: Hash + Eq;

    /// The key.
    fn key(&self) -> &Self::Key;

    /// The event time (µs) at or before which the watermark evicts the entry
    /// ([`NEVER_EXPIRES`]: never).
    fn expires(&self) -> i64;
}

/// A key with the expiry of its first row: `drop duplicates within watermark`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring<K> {
    /// The key.
    pub key: K,
    /// The first row's event time plus the watermark delay (µs).
    pub expires: i64,
}

impl<K> DedupEntry for Expiring<K>
where
    K: Hash + Eq + Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    type Key = K;

    #[inline]
    fn key(&self) -> &K {
        &self.key
    }

    #[inline]
    fn expires(&self) -> i64 {
        self.expires
    }
}

/// What `pipeline!` generates for a query that drops duplicates, and
/// [`Deduplication::run_batch`] runs: its row loop.
pub trait DedupQuery: Send + 'static {
    /// The rows the query reads.
    type Input: Row;
    /// The rows it emits.
    type Output: Row;
    /// What the state stores per key.
    type Entry: DedupEntry;

    /// Runs the fused row loop over `input`: the prefix, then `seen.is_late(...)` and
    /// `seen.first(...)` (the row is skipped when they say so), then the clauses after the
    /// deduplication, each row that passes pushed to `out`. Records event-time statistics in
    /// `ctx`.
    fn map(
        input: &[Self::Input],
        ctx: &mut BatchContext,
        seen: &mut SeenKeys<'_, Self::Entry>,
        out: &mut Vec<Self::Output>,
    ) -> Result<(), Error>;
}

/// The keys of one worker's state partitions.
struct Keys<E> {
    seen: HashTable<E>,
    /// The earliest expiry in the table (`NEVER_EXPIRES` when empty), so that a batch whose
    /// watermark cannot evict anything does not scan the table.
    earliest: i64,
}

impl<E> Default for Keys<E> {
    fn default() -> Self {
        Keys {
            seen: HashTable::new(),
            earliest: NEVER_EXPIRES,
        }
    }
}

impl<E: DedupEntry> Keys<E> {
    fn insert(&mut self, hash: u64, entry: E) {
        self.earliest = self.earliest.min(entry.expires());
        self.seen.insert_unique(hash, entry, hash_of);
    }
}

/// The keys a deduplication has seen.
pub struct Deduplication<E> {
    /// One table per worker (one when the query runs on one thread).
    tables: Vec<Keys<E>>,
    /// The state partitions the keys are split into.
    partitions: usize,
}

impl<E> Default for Deduplication<E> {
    fn default() -> Self {
        Deduplication {
            tables: vec![Keys::default()],
            partitions: crate::operator::aggregate::DEFAULT_STATE_PARTITIONS,
        }
    }
}

impl<E> Debug for Deduplication<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deduplication")
            .field(
                "keys",
                &self.tables.iter().map(|t| t.seen.len()).sum::<usize>(),
            )
            .field("tables", &self.tables.len())
            .field("partitions", &self.partitions)
            .finish()
    }
}

#[inline]
fn hash_of<E: DedupEntry>(entry: &E) -> u64 {
    HASHER.hash_one(entry.key())
}

impl<E: DedupEntry> Deduplication<E> {
    /// The state partitions and the number of workers (tables) the keys are spread over; keys
    /// already held move to their table.
    pub fn configure(&mut self, partitions: usize, workers: usize) {
        let old = state::resplit(
            &mut self.tables,
            &mut self.partitions,
            partitions,
            workers,
            Keys::default,
        );
        for table in old.into_iter().flatten() {
            for entry in table.seen {
                self.insert(entry);
            }
        }
    }

    fn insert(&mut self, entry: E) {
        let hash = hash_of(&entry);
        let t = worker_of(hash, self.partitions, self.tables.len());
        self.tables[t].insert(hash, entry);
    }

    /// The row loop's view of the state for one chunk of a batch on one thread: lateness and
    /// first sight. Its counters reach the batch's progress through [`SeenKeys::report`].
    pub fn batch(&mut self, ctx: &BatchContext) -> SeenKeys<'_, E> {
        self.configure(self.partitions, 1);
        SeenKeys::new(&mut self.tables[0], ctx, Owner::All)
    }

    /// Runs a batch on the executor's threads — the row loop of `Q` over every chunk, on one
    /// thread, or on every worker for the keys it owns — then [`Deduplication::finish_batch`].
    /// Returns the rows read.
    pub fn run_batch<Q: DedupQuery<Entry = E>>(
        &mut self,
        input: BatchInput<Q::Input>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        self.configure(self.partitions, exec.threads());
        let chunk_rows = exec.chunk_rows();
        let rows = if self.tables.len() == 1 {
            input.for_each_chunk(chunk_rows, |chunk| {
                decide::<Q>(chunk, ctx, &mut self.tables[0], Owner::All, out)
            })?
        } else {
            self.run_on_workers::<Q>(input, ctx, out, exec)?
        };
        self.finish_batch(ctx);
        Ok(rows)
    }

    fn run_on_workers<Q: DedupQuery<Entry = E>>(
        &mut self,
        input: BatchInput<Q::Input>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        let partitions = self.partitions;
        let mut workers: Vec<(&mut Keys<E>, Vec<Q::Output>)> = self
            .tables
            .iter_mut()
            .map(|keys| (keys, Vec::new()))
            .collect();
        let rows = run_on_every_worker(
            input,
            ctx,
            exec,
            partitions,
            &mut workers,
            |chunk, task_ctx, (keys, rows), owner| decide::<Q>(chunk, task_ctx, keys, owner, rows),
        )?;
        out.reserve(workers.iter().map(|(_, rows)| rows.len()).sum());
        for (_, rows) in &mut workers {
            out.append(rows);
        }
        Ok(rows)
    }

    /// Ends the batch: forgets the keys that expire at or before the watermark this batch ran
    /// under (Spark evicts in every output mode).
    pub fn finish_batch(&mut self, ctx: &mut BatchContext) {
        let Some(watermark) = ctx.watermark().map(|w| w.as_micros()) else {
            return;
        };
        let mut removed = 0;
        for table in &mut self.tables {
            if table.earliest > watermark {
                continue;
            }
            let before = table.seen.len();
            let mut earliest = NEVER_EXPIRES;
            table.seen.retain(|entry| {
                let expires = entry.expires();
                let keep = expires > watermark;
                if keep {
                    earliest = earliest.min(expires);
                }
                keep
            });
            table.earliest = earliest;
            removed += (before - table.seen.len()) as u64;
        }
        if removed > 0 {
            ctx.add_state_rows_removed(removed);
        }
    }

    /// Number of keys held.
    pub fn state_rows(&self) -> usize {
        self.tables.iter().map(|t| t.seen.len()).sum()
    }

    /// An estimate of the memory the state uses, in bytes.
    pub fn state_bytes(&self) -> usize {
        self.tables.iter().map(|t| t.seen.allocation_size()).sum()
    }

    /// Serialises the whole state in one piece: every entry.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        let entries: Vec<&E> = self.tables.iter().flat_map(|t| t.seen.iter()).collect();
        state::encode(&entries)
    }

    /// Serialises the state one state partition at a time, `partitions` of them: the entries
    /// whose key hashes to each.
    pub fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        let partitions = partitions.max(1);
        let mut parts: Vec<Vec<&E>> = vec![Vec::new(); partitions];
        for entry in self.tables.iter().flat_map(|t| t.seen.iter()) {
            parts[partition_of(hash_of(entry), partitions)].push(entry);
        }
        parts.iter().map(state::encode).collect()
    }

    /// Replaces the state with one written by [`Deduplication::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.restore_partitions(&[bytes])
    }

    /// Replaces the state with the partitions written by
    /// [`Deduplication::snapshot_partitions`] (or one piece by [`Deduplication::snapshot`],
    /// as a checkpoint written before the state was partitioned holds in partition 0); each
    /// entry goes to the table its key belongs to now.
    pub fn restore_partitions(&mut self, parts: &[impl AsRef<[u8]>]) -> Result<(), Error> {
        let decoded: Vec<Vec<E>> = parts
            .iter()
            .map(|bytes| state::decode(bytes.as_ref()))
            .collect::<Result<_, _>>()?;
        self.tables = (0..self.tables.len()).map(|_| Keys::default()).collect();
        for entry in decoded.into_iter().flatten() {
            self.insert(entry);
        }
        Ok(())
    }
}

/// Runs the row loop of `Q` over `input` against `keys`, deciding the rows of the keys `owner`
/// decides, with its counters reported to `ctx`.
fn decide<Q: DedupQuery>(
    input: &[Q::Input],
    ctx: &mut BatchContext,
    keys: &mut Keys<Q::Entry>,
    owner: Owner,
    out: &mut Vec<Q::Output>,
) -> Result<(), Error> {
    let mut seen = SeenKeys::new(keys, ctx, owner);
    let result = Q::map(input, ctx, &mut seen, out);
    seen.report(ctx);
    result
}

/// What the generated row loop asks a [`Deduplication`] during one chunk of a batch.
pub struct SeenKeys<'s, E> {
    keys: &'s mut Keys<E>,
    /// Which keys this view decides; the others' rows are skipped, uncounted.
    owner: Owner,
    /// Rows at or before this event time (µs) are late: the previous batch's watermark.
    late: i64,
    /// The earliest expiry, kept here while the chunk runs.
    earliest: i64,
    dropped: u64,
    inserted: u64,
    duplicates: u64,
}

impl<E> Debug for SeenKeys<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeenKeys")
            .field("late", &self.late)
            .field("inserted", &self.inserted)
            .finish()
    }
}

impl<'s, E: DedupEntry> SeenKeys<'s, E> {
    fn new(keys: &'s mut Keys<E>, ctx: &BatchContext, owner: Owner) -> Self {
        SeenKeys {
            late: ctx.late_watermark().map_or(i64::MIN, |w| w.as_micros()),
            earliest: keys.earliest,
            keys,
            owner,
            dropped: 0,
            inserted: 0,
            duplicates: 0,
        }
    }

    /// Whether a row with this event time (µs) is late, judged against the previous batch's
    /// watermark; a late row is counted as dropped and must be skipped.
    #[inline]
    pub fn is_late(&mut self, event_time: i64) -> bool {
        if event_time <= self.late {
            self.dropped += 1;
            true
        } else {
            false
        }
    }

    /// Whether the key of `entry` is seen for the first time: the entry is then remembered
    /// until the watermark reaches its expiry, and the row passes. A duplicate is counted and
    /// must be skipped, as must (uncounted) a row whose key another worker owns.
    #[inline]
    pub fn first(&mut self, entry: E) -> bool {
        let hash = hash_of(&entry);
        if !self.owner.owns(hash) {
            return false;
        }
        // One probe finds the key or the slot for it: unlike a group, a key is often new.
        match self
            .keys
            .seen
            .entry(hash, |e| e.key() == entry.key(), hash_of)
        {
            Entry::Occupied(_) => {
                self.duplicates += 1;
                false
            }
            Entry::Vacant(slot) => {
                self.inserted += 1;
                self.earliest = self.earliest.min(entry.expires());
                slot.insert(entry);
                true
            }
        }
    }

    /// [`SeenKeys::first`] through a borrowed form of the key (`&str` for a `String` part):
    /// a duplicate allocates nothing; the entry is built, by `entry`, only for a new key.
    #[inline]
    pub fn first_ref<Q>(&mut self, key: &Q, entry: impl FnOnce() -> E) -> bool
    where
        Q: Hash + Equivalent<E::Key> + ?Sized,
    {
        let hash = HASHER.hash_one(key);
        if !self.owner.owns(hash) {
            return false;
        }
        match self
            .keys
            .seen
            .entry(hash, |e| key.equivalent(e.key()), hash_of)
        {
            Entry::Occupied(_) => {
                self.duplicates += 1;
                false
            }
            Entry::Vacant(slot) => {
                let entry = entry();
                self.inserted += 1;
                self.earliest = self.earliest.min(entry.expires());
                slot.insert(entry);
                true
            }
        }
    }

    /// Reports the chunk's counters to the batch: rows dropped as late, keys added, duplicates
    /// dropped.
    pub fn report(self, ctx: &mut BatchContext) {
        self.keys.earliest = self.earliest;
        ctx.add_dropped_by_watermark(self.dropped);
        ctx.add_state_rows_updated(self.inserted);
        ctx.add_duplicates_dropped(self.duplicates);
    }
}

/// The expiry of a key for `drop duplicates within watermark`: the first row's event time plus
/// the watermark delay, in Spark's millisecond precision. A null event time counts as the epoch
/// (Spark reads the null field of its state row as 0).
#[inline]
pub fn expires_within_watermark(event_time: Option<i64>, delay_millis: i64) -> i64 {
    event_time
        .unwrap_or(0)
        .saturating_add(delay_millis.saturating_mul(crate::time::MICROS_PER_MILLI))
}

#[cfg(test)]
mod tests;
