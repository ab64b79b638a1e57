//! Where groups live: a hash table of `(key, group)` per reduce worker, the sink that updates it
//! in place (one thread), the partial aggregation a map task builds (many threads), and the
//! merge of partials into the tables.
//!
//! A group's key is hashed once per row with the fixed-seed [`HASHER`]; the same hash picks the
//! group's *state partition* (fixed for a checkpoint, the unit of snapshots) and, through it,
//! the reduce worker whose table holds the group.

use std::hash::{BuildHasher, Hash};

use hashbrown::{Equivalent, HashTable};

use super::{GroupKey, GroupSink};
use crate::batch::BatchContext;
use crate::error::Error;
use crate::operator::accumulator::Accumulators;
use crate::output_mode::OutputMode;
use crate::state::{self, FixedState, worker_of};

/// The hasher of every group table (fixed seed: the same partitions and order on every run of
/// the same binary).
pub(super) const HASHER: FixedState = state::fixed_state();

/// One group in the state: its accumulators and the last batch that updated it.
#[derive(Debug, Clone, Default)]
pub(super) struct Group<A> {
    pub(super) acc: A,
    /// `batch_id + 1` of the last batch that updated the group (0: none since a restore).
    pub(super) updated_in: u64,
}

/// A table of groups.
pub(super) struct Table<K, A> {
    pub(super) groups: HashTable<(K, Group<A>)>,
    /// Keys updated in the current batch, in the order they were first updated (update mode).
    pub(super) touched: Vec<K>,
}

impl<K, A> Table<K, A> {
    pub(super) fn new() -> Self {
        Table {
            groups: HashTable::new(),
            touched: Vec::new(),
        }
    }
}

impl<K: GroupKey, A: Accumulators> Table<K, A> {
    /// Inserts a group known to be absent (a restore, a redistribution).
    pub(super) fn insert(&mut self, hash: u64, key: K, acc: A) {
        self.groups
            .insert_unique(hash, (key, Group { acc, updated_in: 0 }), |(k, _)| {
                HASHER.hash_one(k)
            });
    }

    /// Merges a map task's partial groups into this table, marking each group updated in this
    /// batch; returns how many groups were updated for the first time in the batch.
    pub(super) fn merge(
        &mut self,
        partial: HashTable<(K, A)>,
        mark: u64,
        track: bool,
    ) -> Result<u64, Error> {
        let mut updated = 0;
        for (key, acc) in partial {
            let hash = HASHER.hash_one(&key);
            let (group_key, group) = match self.groups.find_entry(hash, |(k, _)| *k == key) {
                Ok(found) => {
                    let (k, g) = found.into_mut();
                    g.acc.merge(&acc)?;
                    (&*k, g)
                }
                Err(absent) => {
                    let (k, g) = absent
                        .into_table()
                        .insert_unique(hash, (key, Group { acc, updated_in: 0 }), |(k, _)| {
                            HASHER.hash_one(k)
                        })
                        .into_mut();
                    (&*k, g)
                }
            };
            if group.updated_in != mark {
                group.updated_in = mark;
                updated += 1;
                if track {
                    self.touched.push(group_key.clone());
                }
            }
        }
        Ok(updated)
    }
}

/// What a batch's context says about how groups are updated: the mark of this batch, whether
/// updated keys are listed (update mode), and the late-row threshold.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchMarks {
    /// `batch_id + 1`: the mark of a group updated in this batch.
    pub(super) mark: u64,
    /// Whether updated keys are listed for update-mode emission.
    pub(super) track: bool,
    /// Rows whose window ends at or before this are late.
    pub(super) late: i64,
}

impl BatchMarks {
    pub(super) fn of(ctx: &BatchContext) -> Self {
        BatchMarks {
            mark: ctx.batch_id() + 1,
            track: ctx.output_mode() == OutputMode::Update,
            late: ctx.late_threshold(),
        }
    }
}

/// The [`GroupSink`] that updates one table in place, tracking the groups updated in this
/// batch: the single-threaded path, where no exchange is needed.
pub(super) struct Upsert<'s, K, A> {
    table: &'s mut Table<K, A>,
    marks: BatchMarks,
    pub(super) updated: u64,
    pub(super) dropped: u64,
}

impl<'s, K, A> Upsert<'s, K, A> {
    pub(super) fn new(table: &'s mut Table<K, A>, marks: BatchMarks) -> Self {
        Upsert {
            table,
            marks,
            updated: 0,
            dropped: 0,
        }
    }
}

/// Marks a group updated in this batch (once per batch), listing its key for update mode.
#[inline]
fn touch<'g, K, A>(
    group: &'g mut Group<A>,
    touched: &mut Vec<K>,
    key: impl FnOnce() -> K,
    marks: BatchMarks,
    updated: &mut u64,
) -> &'g mut A {
    if group.updated_in != marks.mark {
        group.updated_in = marks.mark;
        *updated += 1;
        if marks.track {
            touched.push(key());
        }
    }
    &mut group.acc
}

impl<K: GroupKey, A: Accumulators> GroupSink<K, A> for Upsert<'_, K, A> {
    #[inline]
    fn is_late(&mut self, event_end: i64) -> bool {
        if event_end <= self.marks.late {
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
        touch(
            group,
            touched,
            || group_key.clone(),
            self.marks,
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
        touch(
            group,
            touched,
            || group_key.clone(),
            self.marks,
            &mut self.updated,
        )
    }
}

/// A map task's partial aggregation (Spark's partial `HashAggregate` before the exchange): the
/// groups of the rows it read, already split by the reduce worker they go to.
pub(super) struct Partial<K, A> {
    /// One table per reduce worker.
    pub(super) tables: Vec<HashTable<(K, A)>>,
    /// The state partitions (a group's partition `p` goes to reduce worker `p % workers`).
    partitions: usize,
    late: i64,
    pub(super) dropped: u64,
}

impl<K, A> Partial<K, A> {
    pub(super) fn new(workers: usize, partitions: usize, late: i64) -> Self {
        Partial {
            tables: (0..workers).map(|_| HashTable::new()).collect(),
            partitions,
            late,
            dropped: 0,
        }
    }
}

impl<K: GroupKey, A: Accumulators> GroupSink<K, A> for Partial<K, A> {
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
        let t = worker_of(hash, self.partitions, self.tables.len());
        let table = &mut self.tables[t];
        let (_, acc) = match table.find_entry(hash, |(k, _)| *k == key) {
            Ok(found) => found.into_mut(),
            Err(absent) => absent
                .into_table()
                .insert_unique(hash, (key, A::default()), |(k, _)| HASHER.hash_one(k))
                .into_mut(),
        };
        acc
    }

    #[inline]
    fn group_ref<Q>(&mut self, key: &Q) -> &mut A
    where
        Q: Hash + Equivalent<K> + ?Sized,
        for<'q> K: From<&'q Q>,
    {
        let hash = HASHER.hash_one(key);
        let t = worker_of(hash, self.partitions, self.tables.len());
        let table = &mut self.tables[t];
        let (_, acc) = match table.find_entry(hash, |(k, _)| key.equivalent(k)) {
            Ok(found) => found.into_mut(),
            Err(absent) => absent
                .into_table()
                .insert_unique(hash, (K::from(key), A::default()), |(k, _)| {
                    HASHER.hash_one(k)
                })
                .into_mut(),
        };
        acc
    }
}
