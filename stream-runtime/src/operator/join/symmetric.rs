//! The stream-stream join: Spark's `StreamingSymmetricHashJoinExec`, over a spec
//! ([`StreamJoinQuery`]) `pipeline!` implements per query.
//!
//! Each side keeps the rows it has seen in state, hashed by the join key, each with a
//! `matched` flag (Spark's state format 2). A batch runs, as Spark's does:
//!
//! 1. every new left row that is not late (event time after the *previous* batch's watermark)
//!    and passes the left-only part of the condition probes the right state; the joined rows
//!    that pass the rest of the condition are emitted, and the left row is stored;
//! 2. every new right row probes the left state — which now holds this batch's left rows, so a
//!    pair arriving in one batch is joined once — and is stored, unless the state watermark
//!    already expires it (and it is not an unmatched row an outer join must still emit);
//! 3. the state the watermark expired is removed: in an outer join, the outer side's removed
//!    rows that never matched are emitted padded with nulls.
//!
//! A row expires ([`StateExpiry`]) when the join key holds a watermarked event time that the
//! watermark passed (Spark's key predicate), or when its own event time is at or before the
//! side's *state watermark*: the earliest event time a future row of the other side can still
//! match, solved from the time-range condition (Spark's value predicate,
//! `StreamingJoinHelper.getStateValueWatermark`). A left row `l` joined on `r.ts >= l.ts and
//! r.ts <= l.ts + 20 s` expires once `l.ts <= watermark - 20 s - 1 ms`.

use std::collections::HashMap;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::batch::BatchContext;
use crate::error::Error;
use crate::row::Row;
use crate::state::{self, FixedState, fixed_state};
use crate::time::{MICROS_PER_MILLI, Timestamp};

/// The kind of a stream-stream join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamJoinType {
    /// Pairs that match.
    Inner,
    /// Pairs that match, and every left row that never matched, padded with nulls once its
    /// state expires.
    LeftOuter,
    /// Pairs that match, and every right row that never matched, padded with nulls once its
    /// state expires.
    RightOuter,
    /// Both outer joins at once.
    FullOuter,
    /// Each left row once, when it first matches; no right columns.
    LeftSemi,
}

impl StreamJoinType {
    fn left_outer(self) -> bool {
        matches!(self, StreamJoinType::LeftOuter | StreamJoinType::FullOuter)
    }

    fn right_outer(self) -> bool {
        matches!(self, StreamJoinType::RightOuter | StreamJoinType::FullOuter)
    }
}

/// One conjunct of the time-range condition, solved for one side's event time: rows of this
/// side with an event time before `watermark + offset` can match no future row of the other
/// side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBound {
    /// What the condition adds to the other side's watermark, in µs.
    pub offset_micros: i64,
    /// Whether the conjunct's comparison is `<=` / `>=` (the bound is then inclusive: Spark
    /// keeps rows 1 ms earlier).
    pub inclusive: bool,
}

/// When a side's stored rows expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateExpiry {
    /// Never: the state grows without bound (no watermark reaches this side's rows).
    Never,
    /// When the watermark passes the event time the join key holds
    /// ([`StreamJoinQuery::key_event_time`]; Spark's state key watermark predicate).
    Key,
    /// When the side's state watermark passes the row's event time
    /// ([`StreamJoinQuery::left_event_time`] / `right_event_time`): the earliest of the
    /// bounds (Spark's state value watermark predicate).
    Value(&'static [TimeBound]),
}

impl StateExpiry {
    /// The event time (µs) at or before which a row (or key) of this side expires, under the
    /// global watermark `watermark`; `None` when nothing expires.
    ///
    /// Spark's arithmetic, in milliseconds: the bound `watermark + offset` truncated to a
    /// millisecond, minus 1 ms when inclusive; the earliest bound wins.
    ///
    /// With `l.ts >= r.ts - 20 s` (from `r.ts <= l.ts + 20 s`, inclusive) and a watermark of
    /// 100 s, a left row expires at or before 79.999 s; under key expiry, at or before 100 s.
    pub fn threshold(self, watermark: Option<Timestamp>) -> Option<i64> {
        let w_ms = watermark?.as_millis();
        match self {
            StateExpiry::Never => None,
            StateExpiry::Key => Some(w_ms * MICROS_PER_MILLI),
            StateExpiry::Value(bounds) => bounds
                .iter()
                .map(|b| {
                    let ms = (w_ms * MICROS_PER_MILLI + b.offset_micros) / MICROS_PER_MILLI;
                    (ms - i64::from(b.inclusive)) * MICROS_PER_MILLI
                })
                .min(),
        }
    }
}

/// What `pipeline!` generates for a stream-stream join: the two sides' row types, the key,
/// the condition split as Spark splits it, and how state expires.
pub trait StreamJoinQuery: Send + 'static {
    /// The left side's rows (what the left side's clauses produce).
    type Left: Row + Serialize + DeserializeOwned;
    /// The right side's rows.
    type Right: Row + Serialize + DeserializeOwned;
    /// The join key: the equated columns, owned.
    type Key: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static;
    /// A joined row.
    type Output: Row;

    /// The kind of join.
    const JOIN_TYPE: StreamJoinType;
    /// When the left side's stored rows expire.
    const LEFT_EXPIRY: StateExpiry;
    /// When the right side's stored rows expire.
    const RIGHT_EXPIRY: StateExpiry;

    /// A left row's key; `None` when a part of it is null (a null key matches nothing).
    fn left_key(row: &Self::Left) -> Option<Self::Key>;
    /// A right row's key; `None` when a part of it is null.
    fn right_key(row: &Self::Right) -> Option<Self::Key>;

    /// The left side's watermarked event time (`None`: null, or the side has no watermark):
    /// a row at or before the previous batch's watermark is late and dropped.
    fn left_event_time(row: &Self::Left) -> Option<Timestamp>;
    /// The right side's watermarked event time.
    fn right_event_time(row: &Self::Right) -> Option<Timestamp>;

    /// The event time a key holds ([`StateExpiry::Key`]); `None` for other expiries.
    fn key_event_time(key: &Self::Key) -> Option<Timestamp> {
        let _ = key;
        None
    }

    /// The conjuncts of the condition that read only the left side (Spark's pre-join
    /// filter): a left row failing them matches nothing and is not stored. An error is an
    /// ANSI error of the condition (an overflow).
    fn left_only(row: &Self::Left, ctx: &BatchContext) -> Result<bool, Error> {
        let _ = (row, ctx);
        Ok(true)
    }
    /// The conjuncts that read only the right side.
    fn right_only(row: &Self::Right, ctx: &BatchContext) -> Result<bool, Error> {
        let _ = (row, ctx);
        Ok(true)
    }
    /// The conjuncts that read both sides (besides the key equalities).
    fn both(left: &Self::Left, right: &Self::Right, ctx: &BatchContext) -> Result<bool, Error> {
        let _ = (left, right, ctx);
        Ok(true)
    }

    /// The joined row: a pair, or one side padded with nulls (a left semi join emits
    /// `joined(Some(left), None)`).
    fn joined(left: Option<&Self::Left>, right: Option<&Self::Right>) -> Self::Output;
}

/// A stored row and whether it has matched a row of the other side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Stored<R> {
    row: R,
    matched: bool,
}

/// One side's state: rows by key, plus the rows whose key is null (they match nothing, but an
/// outer join still emits them when they expire).
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, R: Serialize"))]
#[serde(bound(deserialize = "K: DeserializeOwned + Hash + Eq, R: DeserializeOwned"))]
pub(super) struct SideState<K, R> {
    #[serde(with = "keyed")]
    pub(super) by_key: HashMap<K, Vec<Stored<R>>, FixedState>,
    pub(super) unkeyed: Vec<Stored<R>>,
}

/// Some of a side's state, borrowed, serialised as the [`SideState`] it reads back as: the
/// keyed rows as a list of pairs, then the unkeyed rows.
#[derive(Serialize)]
#[serde(bound(serialize = "K: Serialize, R: Serialize"))]
pub(super) struct SideView<'a, K, R> {
    pub(super) by_key: Vec<(&'a K, &'a Vec<Stored<R>>)>,
    pub(super) unkeyed: &'a [Stored<R>],
}

/// The keyed rows as a list of pairs (a snapshot does not depend on the hasher).
mod keyed {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &HashMap<K, V, FixedState>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(d: D) -> Result<HashMap<K, V, FixedState>, D::Error>
    where
        K: DeserializeOwned + Hash + Eq,
        V: DeserializeOwned,
        D: Deserializer<'de>,
    {
        let pairs: Vec<(K, V)> = Deserialize::deserialize(d)?;
        let mut map = HashMap::with_capacity_and_hasher(pairs.len(), fixed_state());
        map.extend(pairs);
        Ok(map)
    }
}

/// The event time a key holds (see [`StreamJoinQuery::key_event_time`]).
type KeyTime<K> = dyn Fn(&K) -> Option<Timestamp>;

impl<K: Hash + Eq, R> SideState<K, R> {
    pub(super) fn new() -> Self {
        SideState {
            by_key: HashMap::with_hasher(fixed_state()),
            unkeyed: Vec::new(),
        }
    }

    fn rows(&self) -> usize {
        self.by_key.values().map(Vec::len).sum::<usize>() + self.unkeyed.len()
    }

    /// Moves `other`'s rows into this side: a key's rows after those already held.
    pub(super) fn merge(&mut self, other: SideState<K, R>) {
        for (key, rows) in other.by_key {
            self.by_key.entry(key).or_default().extend(rows);
        }
        self.unkeyed.extend(other.unkeyed);
    }

    fn append(&mut self, key: Option<K>, row: R, matched: bool) {
        let stored = Stored { row, matched };
        match key {
            Some(k) => self.by_key.entry(k).or_default().push(stored),
            None => self.unkeyed.push(stored),
        }
    }

    /// Removes the rows that expired at `threshold` — by key (`key_time`) or by their own event
    /// time (`row_time`) — and hands each removed row to `removed`; returns how many.
    ///
    /// Generic over the row's time and the sink (not `dyn`): the check runs for every stored row
    /// of every batch, and inlined it is a load and a compare.
    fn remove_expired(
        &mut self,
        threshold: i64,
        key_time: Option<&KeyTime<K>>,
        row_time: impl Fn(&R) -> Option<Timestamp>,
        mut removed: impl FnMut(Stored<R>),
    ) -> u64 {
        let expired = |t: Option<Timestamp>| t.is_some_and(|t| t.as_micros() <= threshold);
        let mut count = 0;
        self.by_key.retain(|key, rows| {
            if let Some(key_time) = key_time {
                if expired(key_time(key)) {
                    count += rows.len() as u64;
                    rows.drain(..).for_each(&mut removed);
                    return false;
                }
                return true;
            }
            let mut i = 0;
            while i < rows.len() {
                if expired(row_time(&rows[i].row)) {
                    count += 1;
                    removed(rows.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            !rows.is_empty()
        });
        // A null key holds no event time: under key expiry those rows expire at once (a
        // watermark is defined), under value expiry by their own time.
        let mut i = 0;
        while i < self.unkeyed.len() {
            if key_time.is_some() || expired(row_time(&self.unkeyed[i].row)) {
                count += 1;
                removed(self.unkeyed.swap_remove(i));
            } else {
                i += 1;
            }
        }
        count
    }
}

/// The state and the batch logic of a stream-stream join.
pub struct SymmetricHashJoin<Q: StreamJoinQuery> {
    pub(super) left: SideState<Q::Key, Q::Left>,
    pub(super) right: SideState<Q::Key, Q::Right>,
}

impl<Q: StreamJoinQuery> Default for SymmetricHashJoin<Q> {
    fn default() -> Self {
        SymmetricHashJoin {
            left: SideState::new(),
            right: SideState::new(),
        }
    }
}

impl<Q: StreamJoinQuery> std::fmt::Debug for SymmetricHashJoin<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricHashJoin")
            .field("left_rows", &self.left.rows())
            .field("right_rows", &self.right.rows())
            .finish()
    }
}

/// Whether a row is late: its event time is at or before the previous batch's watermark.
fn is_late(t: Option<Timestamp>, late: Option<Timestamp>) -> bool {
    matches!((t, late), (Some(t), Some(w)) if t.as_micros() <= w.as_micros())
}

impl<Q: StreamJoinQuery> SymmetricHashJoin<Q> {
    /// Runs one batch: `left` and `right` are the batch's new rows of each side (a `Vec`, or
    /// a `drain` of a buffer that keeps its capacity); the joined rows go to `out`.
    pub fn run_batch(
        &mut self,
        left: impl IntoIterator<Item = Q::Left>,
        right: impl IntoIterator<Item = Q::Right>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
    ) -> Result<(), Error> {
        let left = left.into_iter().map(|l| (Q::left_key(&l), l));
        let right = right.into_iter().map(|r| (Q::right_key(&r), r));
        self.run_keyed(left, right, ctx, out)
    }

    /// [`SymmetricHashJoin::run_batch`] over rows whose keys are already taken (as routing
    /// them to their worker takes them: `PartitionedJoin`).
    pub(super) fn run_keyed(
        &mut self,
        left: impl IntoIterator<Item = (Option<Q::Key>, Q::Left)>,
        right: impl IntoIterator<Item = (Option<Q::Key>, Q::Right)>,
        ctx: &mut BatchContext,
        out: &mut Vec<Q::Output>,
    ) -> Result<(), Error> {
        let join = Q::JOIN_TYPE;
        let late = ctx.late_watermark();
        let mut dropped = 0;
        let mut updated = 0;

        // 1. New left rows against the right state; every left row is stored (it has not met
        //    this batch's right rows yet), except a left semi join's matched rows.
        for (key, l) in left {
            if is_late(Q::left_event_time(&l), late) {
                dropped += 1;
                continue;
            }
            if !Q::left_only(&l, ctx)? {
                if join.left_outer() {
                    out.push(Q::joined(Some(&l), None));
                }
                continue;
            }
            let mut matched = false;
            if let Some(rows) = key.as_ref().and_then(|k| self.right.by_key.get_mut(k)) {
                for r in rows.iter_mut() {
                    if !Q::both(&l, &r.row, ctx)? {
                        continue;
                    }
                    matched = true;
                    r.matched = true;
                    if join == StreamJoinType::LeftSemi {
                        break;
                    }
                    out.push(Q::joined(Some(&l), Some(&r.row)));
                }
            }
            if join == StreamJoinType::LeftSemi && matched {
                out.push(Q::joined(Some(&l), None));
                continue;
            }
            self.left.append(key, l, matched);
            updated += 1;
        }

        // 2. New right rows against the left state (this batch's left rows included).
        let right_threshold = Q::RIGHT_EXPIRY.threshold(ctx.watermark());
        for (key, r) in right {
            if is_late(Q::right_event_time(&r), late) {
                dropped += 1;
                continue;
            }
            if !Q::right_only(&r, ctx)? {
                if join.right_outer() {
                    out.push(Q::joined(None, Some(&r)));
                }
                continue;
            }
            let mut matched = false;
            if let Some(rows) = key.as_ref().and_then(|k| self.left.by_key.get_mut(k)) {
                for l in rows.iter_mut() {
                    // A left semi join emits each left row once, on its first match.
                    if join == StreamJoinType::LeftSemi && l.matched {
                        continue;
                    }
                    if !Q::both(&l.row, &r, ctx)? {
                        continue;
                    }
                    matched = true;
                    l.matched = true;
                    if join == StreamJoinType::LeftSemi {
                        out.push(Q::joined(Some(&l.row), None));
                    } else {
                        out.push(Q::joined(Some(&l.row), Some(&r)));
                    }
                }
            }
            // A right row the state watermark already expires is not stored — it has met every
            // left row it can — unless an outer join must still emit it unmatched.
            let expiring = right_threshold.is_some_and(|threshold| {
                let t = match Q::RIGHT_EXPIRY {
                    StateExpiry::Key => key.as_ref().and_then(Q::key_event_time),
                    _ => Q::right_event_time(&r),
                };
                t.is_some_and(|t| t.as_micros() <= threshold)
            });
            if !expiring || (join.right_outer() && !matched) {
                self.right.append(key, r, matched);
                updated += 1;
            }
        }

        // 3. Expired state; an outer side's unmatched rows are emitted as they go.
        let mut removed = 0;
        if let Some(threshold) = Q::LEFT_EXPIRY.threshold(ctx.watermark()) {
            let key_time = matches!(Q::LEFT_EXPIRY, StateExpiry::Key)
                .then_some(&Q::key_event_time as &KeyTime<Q::Key>);
            let emit = join.left_outer();
            removed += self.left.remove_expired(
                threshold,
                key_time,
                Q::left_event_time,
                |s: Stored<Q::Left>| {
                    if emit && !s.matched {
                        out.push(Q::joined(Some(&s.row), None));
                    }
                },
            );
        }
        if let Some(threshold) = right_threshold {
            let key_time = matches!(Q::RIGHT_EXPIRY, StateExpiry::Key)
                .then_some(&Q::key_event_time as &KeyTime<Q::Key>);
            let emit = join.right_outer();
            removed += self.right.remove_expired(
                threshold,
                key_time,
                Q::right_event_time,
                |s: Stored<Q::Right>| {
                    if emit && !s.matched {
                        out.push(Q::joined(None, Some(&s.row)));
                    }
                },
            );
        }
        ctx.add_dropped_by_watermark(dropped);
        ctx.add_state_rows_updated(updated);
        ctx.add_state_rows_removed(removed);
        Ok(())
    }

    /// The watermark the join propagates to an operator after it, under the global watermark
    /// `watermark` (Spark's `produceOutputWatermark`): the earliest of it and the sides' state
    /// watermarks, since a row the join still holds may yet be emitted (an outer join's
    /// unmatched row, with its own event time).
    pub fn output_watermark(watermark: Option<Timestamp>) -> Option<Timestamp> {
        let w = watermark?;
        let w_us = w.as_millis() * MICROS_PER_MILLI;
        let earliest = [
            Q::LEFT_EXPIRY.threshold(Some(w)),
            Q::RIGHT_EXPIRY.threshold(Some(w)),
        ]
        .into_iter()
        .flatten()
        .fold(w_us, i64::min);
        Some(Timestamp::from_micros(earliest))
    }

    /// Rows held, both sides.
    pub fn state_rows(&self) -> usize {
        self.left.rows() + self.right.rows()
    }

    /// Rows held by the left side and by the right side.
    pub fn side_rows(&self) -> (usize, usize) {
        (self.left.rows(), self.right.rows())
    }

    /// An estimate of the memory the state uses, in bytes.
    pub fn state_bytes(&self) -> usize {
        let entry = |k: usize, r: usize| k + r + std::mem::size_of::<bool>();
        self.left.rows() * entry(size_of::<Q::Key>(), size_of::<Q::Left>())
            + self.right.rows() * entry(size_of::<Q::Key>(), size_of::<Q::Right>())
    }

    /// Serialises both sides' state.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        state::encode(&(&self.left, &self.right))
    }

    /// Replaces the state with one written by [`SymmetricHashJoin::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let (left, right) = state::decode(bytes)?;
        self.left = left;
        self.right = right;
        Ok(())
    }
}

#[cfg(test)]
#[path = "symmetric_tests.rs"]
pub(super) mod tests;
