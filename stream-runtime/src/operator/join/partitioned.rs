//! A stream-stream join on every worker: the join keys split by hash into the state partitions,
//! one [`SymmetricHashJoin`] per worker holding the keys of the partitions `p` with
//! `p % workers == w` (as the aggregation's reduce workers do).
//!
//! Unlike a deduplication's or a session window's, a join's input is materialised before it
//! runs — the sides' rows after their own clauses — so each new row goes once to the worker of
//! its key, and nothing is computed twice. A key's rows reach its worker in input order, and a
//! join decides each key on its own (a row probes, and is stored under, its own key; state
//! expires by time), so each worker emits for its keys exactly the rows one thread would. The
//! workers' outputs are concatenated in worker order: within a batch the joined rows come in
//! another order than on one thread, as Spark's do from one shuffle partition to the next.
//! Rows with a null key match nothing; worker 0 holds them all, so that they expire (and an
//! outer join emits them) wherever the batch runs.
//!
//! Each state partition is snapshotted on its own, a piece in the layout of a whole join's
//! snapshot ([`SymmetricHashJoin::snapshot`]); restoring re-routes every key, so a checkpoint
//! restores on any number of workers, and one written when the join's state was kept whole
//! (all of it in partition 0) restores too.

use std::hash::{BuildHasher, Hash};

use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::state::{self, FixedState, partition_of, worker_of};

use super::symmetric::{SideState, SideView, StreamJoinQuery, SymmetricHashJoin};

const HASHER: FixedState = state::fixed_state();

/// A stream-stream join's state spread over workers (see the [module](self)).
pub struct PartitionedJoin<Q: StreamJoinQuery> {
    /// One join per worker.
    joins: Vec<SymmetricHashJoin<Q>>,
    /// The state partitions the keys are split into.
    partitions: usize,
}

impl<Q: StreamJoinQuery> Default for PartitionedJoin<Q> {
    fn default() -> Self {
        PartitionedJoin {
            joins: vec![SymmetricHashJoin::default()],
            partitions: 1,
        }
    }
}

impl<Q: StreamJoinQuery> std::fmt::Debug for PartitionedJoin<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedJoin")
            .field("partitions", &self.partitions)
            .field("workers", &self.joins)
            .finish()
    }
}

/// The new rows of one worker's keys (each with its key, taken once to route it), and what
/// joining them produced.
struct WorkerBatch<Q: StreamJoinQuery> {
    left: Vec<(Option<Q::Key>, Q::Left)>,
    right: Vec<(Option<Q::Key>, Q::Right)>,
    ctx: BatchContext,
    out: Vec<Q::Output>,
}

/// The worker of a key (`None`: a null key, held by worker 0).
fn worker(key: Option<&impl Hash>, partitions: usize, workers: usize) -> usize {
    match key {
        Some(key) if workers > 1 => worker_of(HASHER.hash_one(key), partitions, workers),
        _ => 0,
    }
}

/// Splits a side's rows over `workers` by the worker of their key.
fn split<K: Hash + Eq, R>(
    side: SideState<K, R>,
    partitions: usize,
    workers: usize,
) -> Vec<SideState<K, R>> {
    let mut sides: Vec<SideState<K, R>> = (0..workers).map(|_| SideState::new()).collect();
    for (key, rows) in side.by_key {
        let w = worker(Some(&key), partitions, workers);
        sides[w].by_key.insert(key, rows);
    }
    sides[0].unkeyed = side.unkeyed;
    sides
}

/// The rows of every worker's side (`side`) whose key is of state partition `p` of `n`; the
/// unkeyed rows go with partition 0.
fn view<'a, K: Hash + 'a, R: 'a>(
    sides: impl Iterator<Item = &'a SideState<K, R>>,
    p: usize,
    n: usize,
) -> SideView<'a, K, R> {
    let mut by_key = Vec::new();
    let mut unkeyed: &[_] = &[];
    for (w, side) in sides.enumerate() {
        by_key.extend(
            side.by_key
                .iter()
                .filter(|(key, _)| partition_of(HASHER.hash_one(key), n) == p),
        );
        if w == 0 && p == 0 {
            unkeyed = &side.unkeyed;
        }
    }
    SideView { by_key, unkeyed }
}

impl<Q: StreamJoinQuery> PartitionedJoin<Q> {
    /// The state partitions and the number of workers the keys are spread over; rows already
    /// held move to the worker of their key.
    pub fn configure(&mut self, partitions: usize, workers: usize) {
        let old = state::resplit(
            &mut self.joins,
            &mut self.partitions,
            partitions,
            workers,
            SymmetricHashJoin::default,
        );
        for join in old.into_iter().flatten() {
            self.insert(join);
        }
    }

    /// Moves a join's rows to the workers of their keys.
    fn insert(&mut self, join: SymmetricHashJoin<Q>) {
        let (partitions, workers) = (self.partitions, self.joins.len());
        let lefts = split(join.left, partitions, workers);
        let rights = split(join.right, partitions, workers);
        for ((mine, left), right) in self.joins.iter_mut().zip(lefts).zip(rights) {
            mine.left.merge(left);
            mine.right.merge(right);
        }
    }

    /// Runs one batch: `left` and `right` are the batch's new rows of each side (drained, their
    /// capacity kept); each goes to the worker of its key, and the workers join on `exec`'s
    /// threads (or one after the other, without one). The joined rows go to `out`, in worker
    /// order; the workers' counters are added to `ctx`.
    pub fn run_batch(
        &mut self,
        left: &mut Vec<Q::Left>,
        right: &mut Vec<Q::Right>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
        exec: Option<&Executor>,
    ) -> Result<(), Error> {
        let (partitions, workers) = (self.partitions, self.joins.len());
        if workers == 1 {
            return self.joins[0].run_batch(left.drain(..), right.drain(..), ctx, out);
        }
        let mut batches: Vec<WorkerBatch<Q>> = (0..workers)
            .map(|_| WorkerBatch {
                left: Vec::new(),
                right: Vec::new(),
                ctx: ctx.fork(),
                out: Vec::new(),
            })
            .collect();
        for row in left.drain(..) {
            let key = Q::left_key(&row);
            let w = worker(key.as_ref(), partitions, workers);
            batches[w].left.push((key, row));
        }
        for row in right.drain(..) {
            let key = Q::right_key(&row);
            let w = worker(key.as_ref(), partitions, workers);
            batches[w].right.push((key, row));
        }
        let mut work: Vec<(&mut SymmetricHashJoin<Q>, &mut WorkerBatch<Q>)> =
            self.joins.iter_mut().zip(batches.iter_mut()).collect();
        let run =
            |_: usize, (join, batch): &mut (&mut SymmetricHashJoin<Q>, &mut WorkerBatch<Q>)| {
                let WorkerBatch {
                    left,
                    right,
                    ctx,
                    out,
                } = &mut **batch;
                join.run_keyed(left.drain(..), right.drain(..), ctx, out)
            };
        match exec {
            Some(exec) => exec.run_each(&mut work, run)?,
            None => work
                .iter_mut()
                .enumerate()
                .try_for_each(|(i, item)| run(i, item))?,
        }
        for batch in &mut batches {
            ctx.absorb_counters(&batch.ctx);
            out.append(&mut batch.out);
        }
        Ok(())
    }

    /// Rows held, both sides, every worker.
    pub fn state_rows(&self) -> usize {
        self.joins.iter().map(SymmetricHashJoin::state_rows).sum()
    }

    /// Rows held by the left side and by the right side, every worker.
    pub fn side_rows(&self) -> (usize, usize) {
        self.joins
            .iter()
            .map(SymmetricHashJoin::side_rows)
            .fold((0, 0), |(l, r), (jl, jr)| (l + jl, r + jr))
    }

    /// An estimate of the memory the state uses, in bytes.
    pub fn state_bytes(&self) -> usize {
        self.joins.iter().map(SymmetricHashJoin::state_bytes).sum()
    }

    /// The rows of state partition `p` of `n`, in the layout of a whole join's snapshot.
    fn snapshot_piece(&self, p: usize, n: usize) -> Result<Vec<u8>, Error> {
        let left = view(self.joins.iter().map(|j| &j.left), p, n);
        let right = view(self.joins.iter().map(|j| &j.right), p, n);
        state::encode(&(left, right))
    }

    /// The whole state, as one snapshot.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        self.snapshot_piece(0, 1)
    }

    /// The state, one snapshot per state partition (`partitions` of them).
    pub fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        let n = partitions.max(1);
        (0..n).map(|p| self.snapshot_piece(p, n)).collect()
    }

    /// Replaces the state with pieces written by [`PartitionedJoin::snapshot`] or
    /// [`PartitionedJoin::snapshot_partitions`] (an empty piece holds nothing); each key goes to
    /// the worker it belongs to now.
    pub fn restore_pieces<'a>(
        &mut self,
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), Error> {
        self.joins = (0..self.joins.len())
            .map(|_| SymmetricHashJoin::default())
            .collect();
        for bytes in pieces {
            if bytes.is_empty() {
                continue;
            }
            let mut join = SymmetricHashJoin::default();
            join.restore(bytes)?;
            self.insert(join);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "partitioned_tests.rs"]
mod tests;
