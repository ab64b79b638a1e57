//! Session-window aggregation: Spark's `SessionWindowStateStoreRestoreExec` /
//! `MergingSessionsExec` / `SessionWindowStateStoreSaveExec` for `group by
//! session_window(ts, gap), keys...`.
//!
//! Per group key, the state holds the open sessions, sorted by start, none touching another;
//! each has its `[start, end)` and the accumulators of its rows. A row at event time `t` opens the
//! session `[t, t + gap)`; sessions merge when they overlap or touch (Spark merges a session
//! whose start is at or before the current one's end), so a row may extend one session or
//! bridge two, whose accumulators then merge ([`Accumulators::merge`]). Rules, as Spark has them:
//!
//! - a row is late when its own session's end, `t + gap`, is at or before the *previous* batch's
//!   watermark, and is dropped — in every output mode (Spark filters late rows before restoring
//!   the sessions, complete mode included);
//! - append mode emits a session once the *current* watermark reaches its end, and evicts it; a
//!   row arriving before then may still extend it or merge it with another;
//! - complete mode emits every session each batch and evicts nothing;
//! - update mode is not supported (a session emitted as updated could still merge with
//!   another): Spark's `[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION]`.
//!
//! The operator is generic over a [`SessionQuery`], which `pipeline!` implements per query: the
//! key (the group keys without the session) and accumulator types, the fused prefix feeding rows
//! into sessions ([`SessionQuery::map`]), and how a session becomes an output row. The row loop
//! reaches a session through [`SessionSink::session`]: a hash of the typed key, one probe, then
//! the key's few sessions searched from the latest.
//!
//! On several threads ([`SessionAggregation::run_batch`]) the keys are split by hash into the
//! state partitions (each snapshotted on its own), owned by the workers; every worker runs the
//! row loop over every chunk and places the rows of the keys it owns (`operator/keyed.rs`), so
//! a key's rows reach its sessions in input order, as on one thread. The rows of another
//! worker's keys are fed to a scratch accumulator that is never read.

use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::hash::{BuildHasher, Hash};

use hashbrown::{Equivalent, HashTable};

use super::accumulator::Accumulators;
use super::aggregate::GroupKey;
use super::keyed::{Owner, run_on_every_worker};
use super::result::{limit_appended, sort_and_limit};
use crate::batch::BatchContext;
use crate::error::Error;
use crate::executor::Executor;
use crate::output_mode::{OutputMode, SESSION_WINDOW_IN_UPDATE};
use crate::row::Row;
use crate::source::BatchInput;
use crate::state::{self, FixedState, partition_of, worker_of};
use crate::time::{Timestamp, Window};

/// The hasher of the session table (fixed seed, as every state table).
const HASHER: FixedState = state::fixed_state();

/// What `pipeline!` generates for one session-window aggregation, and [`SessionAggregation`]
/// runs.
pub trait SessionQuery: Sized + Send + 'static {
    /// The rows the query reads.
    type Input: Row;
    /// The rows it emits.
    type Output: Row;
    /// The group keys other than the session window.
    type Key: GroupKey;
    /// The accumulators of one session.
    type Acc: Accumulators;
    /// The values an `order by` sorts on (`()` when the result is not sorted).
    type SortKey: Send + 'static;

    /// The session gap, in µs: a row at `t` opens the session `[t, t + GAP)`.
    const GAP: i64;
    /// Whether the session window is over the watermarked event time: only then are rows late
    /// and sessions closed by the watermark.
    const EVICTS: bool = false;
    /// Whether the result is sorted (`order by`; complete mode only).
    const SORTED: bool = false;
    /// A `limit` on the result.
    const LIMIT: Option<u64> = None;

    /// Runs the fused stateless prefix over `input`, feeding each row that reaches the
    /// aggregation into its session: `sessions.is_late(t + GAP)` first for queries that evict
    /// (the row is skipped when it returns true), then `sessions.session(key, t)` and the
    /// accumulators' updates. Records event-time statistics for the watermark in `ctx`.
    fn map<S: SessionSink<Self::Key, Self::Acc>>(
        input: &[Self::Input],
        ctx: &mut BatchContext,
        sessions: &mut S,
    ) -> Result<(), Error>;

    /// The output row of a session, with its sort key; `None` when a filter after the
    /// aggregation rejects it.
    fn emit(
        key: &Self::Key,
        session: Window,
        acc: &Self::Acc,
        ctx: &BatchContext,
    ) -> Result<Option<EmittedSession<Self>>, Error>;

    /// The `order by` comparison of two sort keys.
    fn compare(a: &Self::SortKey, b: &Self::SortKey) -> Ordering {
        let _ = (a, b);
        Ordering::Equal
    }
}

/// A session's output row and the values it sorts by.
pub type EmittedSession<Q> = (<Q as SessionQuery>::Output, <Q as SessionQuery>::SortKey);

/// Where the prefix of a session-window aggregation puts its rows.
pub trait SessionSink<K, A> {
    /// Whether a row whose own session ends at `session_end` µs is late, judged against the
    /// previous batch's watermark. A late row is counted as dropped and must be skipped.
    fn is_late(&mut self, session_end: i64) -> bool;

    /// The accumulators of the session of `key` that a row at `event_time` µs belongs to: a new
    /// session `[event_time, event_time + gap)`, or an existing one it extends, or the merge of
    /// the sessions it bridges.
    fn session(&mut self, key: K, event_time: i64) -> Result<&mut A, Error>;

    /// [`SessionSink::session`] through a borrowed form of the key (`&str` for a `String` key
    /// part), which is turned into an owned key only when the key is new.
    fn session_ref<Q>(&mut self, key: &Q, event_time: i64) -> Result<&mut A, Error>
    where
        Q: Hash + Equivalent<K> + ?Sized,
        for<'q> K: From<&'q Q>;
}

/// One open session.
#[derive(Debug, Clone)]
struct Session<A> {
    /// Inclusive start (µs).
    start: i64,
    /// Exclusive end (µs): the latest row's event time plus the gap.
    end: i64,
    acc: A,
    /// `batch_id + 1` of the last batch that changed the session (0: none since a restore).
    updated_in: u64,
}

/// A snapshot's content: every key's sessions as `(start, end, accumulators)`, and the rows a
/// limit let through.
type Snapshot<K, A> = (Vec<(K, Vec<(i64, i64, A)>)>, u64);

/// Every key with its sessions.
type Table<K, A> = HashTable<(K, Vec<Session<A>>)>;

/// The keys of one worker's state partitions, with their sessions.
struct Keys<K, A> {
    keys: Table<K, A>,
    /// Sessions held, over these keys.
    sessions: usize,
}

impl<K, A> Default for Keys<K, A> {
    fn default() -> Self {
        Keys {
            keys: HashTable::new(),
            sessions: 0,
        }
    }
}

impl<K: GroupKey, A> Keys<K, A> {
    fn insert(&mut self, hash: u64, key: K, sessions: Vec<Session<A>>) {
        self.sessions += sessions.len();
        self.keys
            .insert_unique(hash, (key, sessions), |(k, _)| HASHER.hash_one(k));
    }
}

/// The state of a session-window aggregation, and the rules that run it.
pub struct SessionAggregation<Q: SessionQuery> {
    /// One table per worker (one when the query runs on one thread). In each, per key, its
    /// sessions sorted by start; no two touch.
    tables: Vec<Keys<Q::Key, Q::Acc>>,
    /// The state partitions the keys are split into.
    partitions: usize,
    /// Rows a `limit` let through so far (append mode).
    emitted: u64,
}

impl<Q: SessionQuery> Default for SessionAggregation<Q> {
    fn default() -> Self {
        SessionAggregation {
            tables: vec![Keys::default()],
            partitions: super::aggregate::DEFAULT_STATE_PARTITIONS,
            emitted: 0,
        }
    }
}

impl<Q: SessionQuery> Debug for SessionAggregation<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionAggregation")
            .field(
                "keys",
                &self.tables.iter().map(|t| t.keys.len()).sum::<usize>(),
            )
            .field("sessions", &self.state_rows())
            .field("tables", &self.tables.len())
            .finish()
    }
}

impl<Q: SessionQuery> SessionAggregation<Q> {
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
            for (key, sessions) in table.keys {
                self.insert(key, sessions);
            }
        }
    }

    fn insert(&mut self, key: Q::Key, sessions: Vec<Session<Q::Acc>>) {
        let hash = HASHER.hash_one(&key);
        let t = worker_of(hash, self.partitions, self.tables.len());
        self.tables[t].insert(hash, key, sessions);
    }

    /// Feeds one chunk of a batch's input into the sessions (see [`SessionQuery::map`]), on
    /// the calling thread: once per table, each placing the rows of its keys.
    pub fn process(&mut self, input: &[Q::Input], ctx: &mut BatchContext) -> Result<(), Error> {
        let (workers, partitions) = (self.tables.len(), self.partitions);
        for (worker, keys) in self.tables.iter_mut().enumerate() {
            let owner = match workers {
                1 => Owner::All,
                _ => Owner::Worker {
                    worker,
                    workers,
                    partitions,
                },
            };
            // Every pass sees every row: the first one's statistics are the batch's.
            let mut pass = if worker == 0 { None } else { Some(ctx.fork()) };
            place::<Q>(input, pass.as_mut().unwrap_or(ctx), keys, owner)?;
            if let Some(pass) = pass {
                let m = pass.metrics();
                ctx.add_state_rows_updated(m.state_rows_updated);
                ctx.add_state_rows_removed(m.state_rows_removed);
            }
        }
        Ok(())
    }

    /// Runs a batch on the executor's threads — the row loop over every chunk, on one thread,
    /// or on every worker for the keys it owns — then [`SessionAggregation::finish_batch`].
    /// Returns the rows read.
    pub fn run_batch(
        &mut self,
        input: BatchInput<Q::Input>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        self.configure(self.partitions, exec.threads());
        let rows = if self.tables.len() == 1 {
            input.for_each_chunk(exec.chunk_rows(), |chunk| self.process(chunk, ctx))?
        } else {
            let partitions = self.partitions;
            run_on_every_worker(
                input,
                ctx,
                exec,
                partitions,
                &mut self.tables,
                |chunk, task_ctx, keys, owner| place::<Q>(chunk, task_ctx, keys, owner),
            )?
        };
        self.finish_batch(ctx, out)?;
        Ok(rows)
    }

    /// Ends the batch: in complete mode emits every session (sorted and limited if the query
    /// says so); in append mode evicts and emits the sessions the current watermark closed.
    pub fn finish_batch(
        &mut self,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
    ) -> Result<(), Error> {
        match ctx.output_mode() {
            OutputMode::Complete => {
                let mut rows = Vec::with_capacity(self.state_rows());
                for (key, sessions) in self.tables.iter().flat_map(|t| &t.keys) {
                    for s in sessions {
                        if let Some(row) = Q::emit(key, window(s), &s.acc, ctx)? {
                            rows.push(row);
                        }
                    }
                }
                let compare = Q::SORTED.then_some(Q::compare as fn(&_, &_) -> Ordering);
                sort_and_limit(rows, compare, Q::LIMIT, out);
            }
            OutputMode::Append => {
                let start = out.len();
                if let (true, Some(watermark)) = (Q::EVICTS, ctx.watermark()) {
                    let watermark = watermark.as_micros();
                    let mut removed = 0;
                    let mut failed = None;
                    for table in &mut self.tables {
                        let before = removed;
                        table.keys.retain(|(key, sessions)| {
                            // Sorted by start, hence by end: the closed sessions come first.
                            let closed = sessions.partition_point(|s| s.end <= watermark);
                            for s in sessions.drain(..closed) {
                                removed += 1;
                                if failed.is_none() {
                                    match Q::emit(key, window(&s), &s.acc, ctx) {
                                        Ok(Some((row, _))) => out.push(row),
                                        Ok(None) => {}
                                        Err(e) => failed = Some(e),
                                    }
                                }
                            }
                            !sessions.is_empty()
                        });
                        table.sessions -= removed - before;
                    }
                    ctx.add_state_rows_removed(removed as u64);
                    if let Some(e) = failed {
                        return Err(e);
                    }
                }
                limit_appended(out, start, Q::LIMIT, &mut self.emitted);
            }
            OutputMode::Update => {
                return Err(Error::Analysis(SESSION_WINDOW_IN_UPDATE.to_string()));
            }
        }
        Ok(())
    }

    /// Number of sessions held (Spark's state rows: one per session).
    pub fn state_rows(&self) -> usize {
        self.tables.iter().map(|t| t.sessions).sum()
    }

    /// An estimate of the memory the state uses, in bytes.
    pub fn state_bytes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| {
                t.keys.allocation_size()
                    + t.keys
                        .iter()
                        .map(|(_, s)| s.capacity() * size_of::<Session<Q::Acc>>())
                        .sum::<usize>()
            })
            .sum()
    }

    /// Serialises the whole state in one piece: every key's sessions, and the rows a limit let
    /// through.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        Ok(self.encode_partitions(1)?.remove(0))
    }

    /// Serialises the state one state partition at a time, `partitions` of them: the keys
    /// whose hash falls in each, with their sessions (the limit's count rides with partition 0).
    pub fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        self.encode_partitions(partitions.max(1))
    }

    fn encode_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        type Part<'a, K, A> = Vec<(&'a K, Vec<(i64, i64, &'a A)>)>;
        let mut parts: Vec<Part<'_, Q::Key, Q::Acc>> =
            (0..partitions).map(|_| Vec::new()).collect();
        for (key, sessions) in self.tables.iter().flat_map(|t| &t.keys) {
            let sessions: Vec<_> = sessions.iter().map(|s| (s.start, s.end, &s.acc)).collect();
            parts[partition_of(HASHER.hash_one(key), partitions)].push((key, sessions));
        }
        parts
            .iter()
            .enumerate()
            .map(|(p, keys)| state::encode(&(keys, if p == 0 { self.emitted } else { 0 })))
            .collect()
    }

    /// Replaces the state with one written by [`SessionAggregation::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.restore_partitions(&[bytes])
    }

    /// Replaces the state with the partitions written by
    /// [`SessionAggregation::snapshot_partitions`] (or one piece, as a checkpoint written
    /// before the state was partitioned holds in partition 0); each key goes to the table it
    /// belongs to now.
    pub fn restore_partitions(&mut self, parts: &[impl AsRef<[u8]>]) -> Result<(), Error> {
        let decoded: Vec<Snapshot<Q::Key, Q::Acc>> = parts
            .iter()
            .map(|bytes| state::decode(bytes.as_ref()))
            .collect::<Result<_, _>>()?;
        self.tables = (0..self.tables.len()).map(|_| Keys::default()).collect();
        self.emitted = 0;
        for (keys, emitted) in decoded {
            self.emitted += emitted;
            for (key, sessions) in keys {
                let sessions = sessions
                    .into_iter()
                    .map(|(start, end, acc)| Session {
                        start,
                        end,
                        acc,
                        updated_in: 0,
                    })
                    .collect();
                self.insert(key, sessions);
            }
        }
        Ok(())
    }
}

/// Runs the row loop of `Q` over `input` into the sessions of `keys`, for the keys `owner`
/// decides, with its counters reported to `ctx`.
fn place<Q: SessionQuery>(
    input: &[Q::Input],
    ctx: &mut BatchContext,
    keys: &mut Keys<Q::Key, Q::Acc>,
    owner: Owner,
) -> Result<(), Error> {
    let mut merge = Merge::<Q> {
        late: ctx.late_watermark().map_or(i64::MIN, Timestamp::as_micros),
        mark: ctx.batch_id() + 1,
        keys,
        owner,
        scratch: Q::Acc::default(),
        dropped: 0,
        updated: 0,
        removed: 0,
    };
    let result = Q::map(input, ctx, &mut merge);
    let (dropped, updated, removed) = (merge.dropped, merge.updated, merge.removed);
    ctx.add_dropped_by_watermark(dropped);
    ctx.add_state_rows_updated(updated);
    ctx.add_state_rows_removed(removed);
    result
}

fn window<A>(s: &Session<A>) -> Window {
    Window {
        start: Timestamp::from_micros(s.start),
        end: Timestamp::from_micros(s.end),
    }
}

/// The [`SessionSink`] that places rows into the operator's sessions in place.
struct Merge<'s, Q: SessionQuery> {
    keys: &'s mut Keys<Q::Key, Q::Acc>,
    /// Which keys are placed here; another worker's rows go to `scratch`.
    owner: Owner,
    /// What the row loop updates for a row of a key placed elsewhere: reset for each such
    /// row (so that it cannot overflow where the key's own session would not), never read.
    scratch: Q::Acc,
    late: i64,
    /// `batch_id + 1`: the mark of a session changed in this batch.
    mark: u64,
    dropped: u64,
    updated: u64,
    removed: u64,
}

impl<Q: SessionQuery> Merge<'_, Q> {
    /// The session of the key's `sessions` that a row at `t` belongs to, created, extended or
    /// merged as needed.
    #[inline]
    fn place<'a>(
        sessions: &'a mut Vec<Session<Q::Acc>>,
        t: i64,
        mark: u64,
        counters: (&mut usize, &mut u64, &mut u64),
    ) -> Result<&'a mut Q::Acc, Error> {
        let (held, updated, removed) = counters;
        let end = t.saturating_add(Q::GAP);
        // Sorted by start and disjoint, the sessions are sorted by end too: the first one that
        // ends at or after `t` is found from the latest (a row usually extends the latest).
        let n = sessions.len();
        let mut first = n;
        while first > 0 && sessions[first - 1].end >= t {
            first -= 1;
        }
        // It and the following ones touch the row's session while they start at or before its
        // end.
        let mut last = first;
        while last < n && sessions[last].start <= end {
            last += 1;
        }
        if first == last {
            sessions.insert(
                first,
                Session {
                    start: t,
                    end,
                    acc: Q::Acc::default(),
                    updated_in: mark,
                },
            );
            *held += 1;
            *updated += 1;
            return Ok(&mut sessions[first].acc);
        }
        // The row bridges sessions `first..last`: they become one, their accumulators merged in
        // start order, as Spark's merge of sorted sessions does.
        let merged_end = sessions[last - 1].end.max(end);
        for next in first + 1..last {
            let (head, tail) = sessions.split_at_mut(next);
            head[first].acc.merge(&tail[0].acc)?;
        }
        if last > first + 1 {
            sessions.drain(first + 1..last);
            *held -= last - first - 1;
            *removed += (last - first - 1) as u64;
        }
        let s = &mut sessions[first];
        s.start = s.start.min(t);
        s.end = merged_end;
        if s.updated_in != mark {
            s.updated_in = mark;
            *updated += 1;
        }
        Ok(&mut s.acc)
    }
}

impl<Q: SessionQuery> SessionSink<Q::Key, Q::Acc> for Merge<'_, Q> {
    #[inline]
    fn is_late(&mut self, session_end: i64) -> bool {
        if session_end <= self.late {
            self.dropped += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn session(&mut self, key: Q::Key, event_time: i64) -> Result<&mut Q::Acc, Error> {
        let hash = HASHER.hash_one(&key);
        if !self.owner.owns(hash) {
            self.scratch = Q::Acc::default();
            return Ok(&mut self.scratch);
        }
        let Keys { keys, sessions } = &mut *self.keys;
        let (_, list) = match keys.find_entry(hash, |(k, _)| *k == key) {
            Ok(found) => found.into_mut(),
            Err(absent) => absent
                .into_table()
                .insert_unique(hash, (key, Vec::new()), |(k, _)| HASHER.hash_one(k))
                .into_mut(),
        };
        Self::place(
            list,
            event_time,
            self.mark,
            (sessions, &mut self.updated, &mut self.removed),
        )
    }

    #[inline]
    fn session_ref<R>(&mut self, key: &R, event_time: i64) -> Result<&mut Q::Acc, Error>
    where
        R: Hash + Equivalent<Q::Key> + ?Sized,
        for<'q> Q::Key: From<&'q R>,
    {
        let hash = HASHER.hash_one(key);
        if !self.owner.owns(hash) {
            self.scratch = Q::Acc::default();
            return Ok(&mut self.scratch);
        }
        let Keys { keys, sessions } = &mut *self.keys;
        let (_, list) = match keys.find_entry(hash, |(k, _)| key.equivalent(k)) {
            Ok(found) => found.into_mut(),
            Err(absent) => absent
                .into_table()
                .insert_unique(hash, (Q::Key::from(key), Vec::new()), |(k, _)| {
                    HASHER.hash_one(k)
                })
                .into_mut(),
        };
        Self::place(
            list,
            event_time,
            self.mark,
            (sessions, &mut self.updated, &mut self.removed),
        )
    }
}

#[cfg(test)]
mod tests;
