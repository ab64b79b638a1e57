//! The two sources of a stream-stream join, read as one: each batch reads a range of each
//! source (Spark's offset log records one offset per source), and the rows reach the join's
//! pipeline tagged with their side ([`Sided`]).
//!
//! The pair is an ordinary [`Source`], so the engine, the offset and commit logs and the
//! recovery of a batch need nothing of their own for two inputs: the pair's offset is both
//! sources' offsets (`{"left": ..., "right": ...}`), a batch has data when either source moved,
//! and a replayed batch reads exactly the two ranges it first read. The left source keeps its
//! metadata in the checkpoint's `sources/0`, the right one in `sources/1`, as Spark numbers a
//! query's sources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::input::{BatchInput, Partition, PartitionReader, ReadPlan};
use super::{Backlog, ReadLimit, RowChunk, Source, SourceContext, SourceMetrics};
use crate::error::Result;
use crate::row::Row;
use crate::value::{Schema, Value};

/// A row of one side of a stream-stream join.
#[derive(Debug, Clone, PartialEq)]
pub enum Sided<L, R> {
    /// A row of the left source.
    Left(L),
    /// A row of the right source.
    Right(R),
}

impl<L: Row, R: Row> Row for Sided<L, R> {
    /// A tagged row has no columns of its own: its side's row has them.
    const SCHEMA: Schema = Schema::new(&[]);

    fn to_values(&self) -> Vec<Value> {
        match self {
            Sided::Left(l) => l.to_values(),
            Sided::Right(r) => r.to_values(),
        }
    }

    fn from_values(values: Vec<Value>) -> std::result::Result<Self, crate::row::RowError> {
        // Which side values belong to cannot be told from them: a left row is assumed.
        L::from_values(values).map(Sided::Left)
    }
}

/// The offset of a [`JoinSources`] pair: each source's (`None` before it has any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinOffset<A, B> {
    /// The left source's offset.
    pub left: Option<A>,
    /// The right source's offset.
    pub right: Option<B>,
}

/// The left and right sources of a stream-stream join, read as one source of [`Sided`] rows.
#[derive(Debug)]
pub struct JoinSources<A, B> {
    left: A,
    right: B,
}

impl<A, B> JoinSources<A, B> {
    /// The pair: `left` feeds the join's left side, `right` its right side.
    pub fn new(left: A, right: B) -> Self {
        JoinSources { left, right }
    }
}

/// A partition of one side, its chunks tagged with the side.
struct Tagged<R, F> {
    inner: Partition<R>,
    tag: F,
}

impl<R, T, F> PartitionReader<T> for Tagged<R, F>
where
    R: Clone + Send + Sync + 'static,
    F: Fn(R) -> T + Send,
{
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk<T>>> {
        Ok(self.inner.next_chunk(max_rows)?.map(|chunk| {
            let rows = match chunk {
                RowChunk::Owned(rows) => rows.into_iter().map(&self.tag).collect(),
                shared => shared.iter().cloned().map(&self.tag).collect(),
            };
            RowChunk::Owned(rows)
        }))
    }
}

/// The range `(start, end]` of one side, `None` where the side did not move.
fn side_range<'o, O: PartialEq>(
    start: Option<&'o Option<O>>,
    end: &'o Option<O>,
) -> Option<(Option<&'o O>, &'o O)> {
    let end = end.as_ref()?;
    let start = start.and_then(Option::as_ref);
    (start != Some(end)).then_some((start, end))
}

fn sibling_dir(ctx: &SourceContext, index: usize) -> SourceContext {
    let mut side = ctx.clone();
    if let Some(dir) = &ctx.metadata_dir
        && index > 0
    {
        let parent = dir
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        side.metadata_dir = Some(parent.join(index.to_string()));
    }
    side
}

impl<A, B> Source for JoinSources<A, B>
where
    A: Source,
    B: Source,
{
    type Row = Sided<A::Row, B::Row>;
    type Offset = JoinOffset<A::Offset, B::Offset>;

    fn description(&self) -> String {
        format!(
            "JoinSources[left: {}, right: {}]",
            self.left.description(),
            self.right.description()
        )
    }

    fn open(&mut self, ctx: &SourceContext) -> Result<()> {
        self.left.open(&sibling_dir(ctx, 0))?;
        self.right.open(&sibling_dir(ctx, 1))
    }

    fn latest_offset(
        &mut self,
        start: Option<&Self::Offset>,
        limit: ReadLimit,
    ) -> Result<Option<Self::Offset>> {
        let left = self
            .left
            .latest_offset(start.and_then(|s| s.left.as_ref()), limit)?
            .or_else(|| start.and_then(|s| s.left.clone()));
        let right = self
            .right
            .latest_offset(start.and_then(|s| s.right.as_ref()), limit)?
            .or_else(|| start.and_then(|s| s.right.clone()));
        Ok((left.is_some() || right.is_some()).then_some(JoinOffset { left, right }))
    }

    fn get_batch(
        &mut self,
        start: Option<&Self::Offset>,
        end: &Self::Offset,
    ) -> Result<Vec<RowChunk<Self::Row>>> {
        let mut chunks = Vec::new();
        if let Some((s, e)) = side_range(start.map(|s| &s.left), &end.left) {
            for chunk in self.left.get_batch(s, e)? {
                chunks.push(RowChunk::Owned(
                    chunk.iter().cloned().map(Sided::Left).collect(),
                ));
            }
        }
        if let Some((s, e)) = side_range(start.map(|s| &s.right), &end.right) {
            for chunk in self.right.get_batch(s, e)? {
                chunks.push(RowChunk::Owned(
                    chunk.iter().cloned().map(Sided::Right).collect(),
                ));
            }
        }
        Ok(chunks)
    }

    /// The left side's partitions, then the right side's: the join reads all of a batch's
    /// left rows before its right rows, as Spark's symmetric hash join does.
    fn read_batch(
        &mut self,
        start: Option<&Self::Offset>,
        end: &Self::Offset,
        plan: ReadPlan,
    ) -> Result<BatchInput<Self::Row>> {
        let mut partitions: Vec<Partition<Self::Row>> = Vec::new();
        if let Some((s, e)) = side_range(start.map(|s| &s.left), &end.left) {
            for inner in self.left.read_batch(s, e, plan)?.into_partitions() {
                partitions.push(Box::new(Tagged {
                    inner,
                    tag: Sided::Left,
                }));
            }
        }
        if let Some((s, e)) = side_range(start.map(|s| &s.right), &end.right) {
            for inner in self.right.read_batch(s, e, plan)?.into_partitions() {
                partitions.push(Box::new(Tagged {
                    inner,
                    tag: Sided::Right,
                }));
            }
        }
        Ok(BatchInput::new(partitions))
    }

    fn commit(&mut self, end: &Self::Offset) -> Result<()> {
        if let Some(l) = &end.left {
            self.left.commit(l)?;
        }
        if let Some(r) = &end.right {
            self.right.commit(r)?;
        }
        Ok(())
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.left.prepare_for_available_now()?;
        self.right.prepare_for_available_now()
    }

    fn checkpoint_metadata(&self) -> Option<serde_json::Value> {
        let (l, r) = (
            self.left.checkpoint_metadata(),
            self.right.checkpoint_metadata(),
        );
        (l.is_some() || r.is_some()).then(|| serde_json::json!({ "left": l, "right": r }))
    }

    fn restore_metadata(&mut self, metadata: serde_json::Value) -> Result<()> {
        if let Some(l) = metadata.get("left").filter(|v| !v.is_null()) {
            self.left.restore_metadata(l.clone())?;
        }
        if let Some(r) = metadata.get("right").filter(|v| !v.is_null()) {
            self.right.restore_metadata(r.clone())?;
        }
        Ok(())
    }

    /// Both sides' backlogs, in the left one's unit when they differ (the sum is then only
    /// indicative), their partitions prefixed `left/` and `right/`.
    fn backlog(&self, processed: Option<&Self::Offset>) -> Option<Backlog> {
        let l = self.left.backlog(processed.and_then(|p| p.left.as_ref()));
        let r = self.right.backlog(processed.and_then(|p| p.right.as_ref()));
        let unit = l.as_ref().or(r.as_ref())?.unit;
        let mut partitions = BTreeMap::new();
        let mut pending = 0;
        for (side, b) in [("left", l), ("right", r)] {
            if let Some(b) = b {
                pending += b.pending;
                for (p, n) in b.partitions {
                    partitions.insert(format!("{side}/{p}"), n);
                }
            }
        }
        Some(Backlog {
            unit,
            pending,
            partitions,
        })
    }

    /// Whether either source counts only the rows that pass a side's scan filters (the query
    /// then counts each side's rows as that side's pipeline reports them).
    fn counts_rows_after_scan_filters(&self) -> bool {
        self.left.counts_rows_after_scan_filters() || self.right.counts_rows_after_scan_filters()
    }

    fn check_query(&self, stateful: bool) -> Result<()> {
        self.left.check_query(stateful)?;
        self.right.check_query(stateful)
    }

    fn check_recorded_offset(&self, batch_id: u64, end: &Self::Offset) -> Result<()> {
        if let Some(l) = &end.left {
            self.left.check_recorded_offset(batch_id, l)?;
        }
        if let Some(r) = &end.right {
            self.right.check_recorded_offset(batch_id, r)?;
        }
        Ok(())
    }

    fn resume_after(&mut self, committed_end: &Self::Offset) {
        if let Some(l) = &committed_end.left {
            self.left.resume_after(l);
        }
        if let Some(r) = &committed_end.right {
            self.right.resume_after(r);
        }
    }

    fn take_metrics(&mut self) -> SourceMetrics {
        let (l, r) = (self.left.take_metrics(), self.right.take_metrics());
        let mut custom = BTreeMap::new();
        for (side, m) in [("left", &l), ("right", &r)] {
            for (k, v) in &m.custom {
                custom.insert(format!("{side}.{k}"), v.clone());
            }
        }
        SourceMetrics {
            malformed_rows: l.malformed_rows + r.malformed_rows,
            malformed_rows_dropped: l.malformed_rows_dropped + r.malformed_rows_dropped,
            custom,
        }
    }

    fn stop(&mut self) {
        self.left.stop();
        self.right.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::RateRow;
    use crate::source::MemoryStream;
    use crate::time::Timestamp;

    fn rate(v: i64) -> RateRow {
        RateRow {
            timestamp: Timestamp::from_secs(v),
            value: v,
        }
    }

    fn rows(input: BatchInput<Sided<RateRow, RateRow>>) -> Vec<(char, i64)> {
        let mut out = Vec::new();
        input
            .for_each_chunk(16, |chunk| {
                for r in chunk {
                    out.push(match r {
                        Sided::Left(l) => ('L', l.value),
                        Sided::Right(r) => ('R', r.value),
                    });
                }
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn a_batch_reads_the_range_each_side_moved_left_rows_first() {
        let (l, r) = (
            MemoryStream::<RateRow>::new(),
            MemoryStream::<RateRow>::new(),
        );
        let mut pair = JoinSources::new(l.clone(), r.clone());
        pair.open(&SourceContext::new(crate::clock::Clock::system()))
            .unwrap();
        assert_eq!(
            pair.latest_offset(None, ReadLimit::Configured).unwrap(),
            None
        );

        r.add_data(vec![rate(10)]);
        l.add_data(vec![rate(1), rate(2)]);
        let first = pair
            .latest_offset(None, ReadLimit::Configured)
            .unwrap()
            .expect("both sides have data");
        let input = pair.read_batch(None, &first, ReadPlan::default()).unwrap();
        assert_eq!(rows(input), [('L', 1), ('L', 2), ('R', 10)]);

        // Only the right side moves: the left range is empty.
        r.add_data(vec![rate(11)]);
        let second = pair
            .latest_offset(Some(&first), ReadLimit::Configured)
            .unwrap()
            .unwrap();
        assert_eq!(second.left, first.left, "the left side did not move");
        let input = pair
            .read_batch(Some(&first), &second, ReadPlan::default())
            .unwrap();
        assert_eq!(rows(input), [('R', 11)]);

        // The offset is both sources' offsets, and reads back.
        let json = serde_json::to_value(&second).unwrap();
        assert!(
            json.get("left").is_some() && json.get("right").is_some(),
            "{json}"
        );
        let back: JoinOffset<_, _> = serde_json::from_value(json).unwrap();
        assert_eq!(back, second);
        // Nothing new on either side: the latest offset is the start (no new data).
        assert_eq!(
            pair.latest_offset(Some(&second), ReadLimit::Configured)
                .unwrap(),
            Some(second)
        );
    }
}
