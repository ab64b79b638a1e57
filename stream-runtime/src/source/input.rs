//! A batch's input as Spark plans it: a list of *input partitions* (Spark's `InputPartition`),
//! each read on its own by one task, in chunks of bounded size, only when a task gets to it.
//!
//! Sources split a batch the way their data is split — the rate source by `num_partitions` and
//! into blocks of rows, the file source by file (a file cut along its pieces when a batch has
//! fewer files than tasks), Kafka by topic partition, a memory stream by added batch — and
//! produce the rows lazily, so a batch's rows are never all in memory at once: peak memory
//! depends on the chunk size and the number of tasks, not on the batch's size.

use std::fmt;
use std::sync::Arc;

use super::RowChunk;
use crate::error::Result;

/// The default upper bound on the rows of one chunk.
pub const DEFAULT_CHUNK_ROWS: usize = 64 * 1024;

/// The fewest rows a source cuts a partition of its own to: below this, a task costs more than
/// the rows it would take off another thread.
pub const MIN_SPLIT_ROWS: usize = 4096;

/// How a batch should be read: how many tasks will read it, and how large a chunk may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPlan {
    /// The number of tasks that will read the batch in parallel: a source may split its input
    /// into at least this many partitions so every task has work.
    pub tasks: usize,
    /// The most rows a chunk should hold.
    pub chunk_rows: usize,
}

impl ReadPlan {
    /// Into how many contiguous pieces a source may cut `rows` rows it could split anywhere
    /// (a memory batch, a block of generated values), given that `pieces` would give every task
    /// one: at most `pieces`, and none smaller than [`MIN_SPLIT_ROWS`] rows.
    ///
    /// ```
    /// use sluice::source::ReadPlan;
    /// let plan = ReadPlan { tasks: 4, chunk_rows: 1024 };
    /// assert_eq!(plan.splits(1_000_000, 4), 4);
    /// assert_eq!(plan.splits(10_000, 4), 2);
    /// assert_eq!(plan.splits(100, 4), 1);
    /// ```
    pub fn splits(&self, rows: usize, pieces: usize) -> usize {
        pieces.min(rows / MIN_SPLIT_ROWS).max(1)
    }
}

impl Default for ReadPlan {
    fn default() -> Self {
        ReadPlan {
            tasks: 1,
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }
}

/// One input partition: its rows, chunk by chunk, in order.
pub trait PartitionReader<R>: Send {
    /// The next chunk (at most `max_rows` rows when the source can bound it), or `None` when the
    /// partition is exhausted.
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk<R>>>;
}

/// One input partition, boxed: a batch's partitions may come from different readers.
pub type Partition<R> = Box<dyn PartitionReader<R>>;

/// The input partitions of one batch, in order: the batch's rows are those of the partitions
/// concatenated (a stateless query's output keeps that order, whatever reads them).
pub struct BatchInput<R> {
    partitions: Vec<Partition<R>>,
}

impl<R> fmt::Debug for BatchInput<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchInput")
            .field("partitions", &self.partitions.len())
            .finish()
    }
}

impl<R: Send + Sync + 'static> BatchInput<R> {
    /// A batch without input (Spark's no-data batch).
    pub fn empty() -> Self {
        BatchInput {
            partitions: Vec::new(),
        }
    }

    /// A batch of the given partitions, in order.
    pub fn new(partitions: Vec<Partition<R>>) -> Self {
        BatchInput { partitions }
    }

    /// A batch of rows already read: each chunk one partition.
    pub fn from_chunks(chunks: Vec<RowChunk<R>>) -> Self {
        BatchInput {
            partitions: chunks
                .into_iter()
                .map(|c| Box::new(Chunks::one(c)) as Partition<R>)
                .collect(),
        }
    }

    /// The number of partitions.
    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    /// Whether the batch has no partition.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The partitions, in order.
    pub fn into_partitions(self) -> Vec<Partition<R>> {
        self.partitions
    }

    /// Reads every chunk of every partition in order on the calling thread, calling `f` on
    /// each; returns the rows read.
    pub fn for_each_chunk(
        self,
        chunk_rows: usize,
        mut f: impl FnMut(&[R]) -> Result<()>,
    ) -> Result<u64> {
        let mut rows = 0;
        for mut partition in self.partitions {
            while let Some(chunk) = partition.next_chunk(chunk_rows)? {
                rows += chunk.len() as u64;
                f(&chunk)?;
            }
        }
        Ok(rows)
    }
}

/// A partition of rows already in memory, handed out chunk by chunk as they are.
#[derive(Debug)]
pub struct Chunks<R> {
    chunks: std::vec::IntoIter<RowChunk<R>>,
}

impl<R> Chunks<R> {
    /// A partition of one chunk.
    pub fn one(rows: RowChunk<R>) -> Self {
        Chunks::many(vec![rows])
    }

    /// A partition of these chunks, in order.
    pub fn many(chunks: Vec<RowChunk<R>>) -> Self {
        Chunks {
            chunks: chunks.into_iter(),
        }
    }
}

impl<R: Send + Sync + 'static> PartitionReader<R> for Chunks<R> {
    fn next_chunk(&mut self, _max_rows: usize) -> Result<Option<RowChunk<R>>> {
        Ok(self.chunks.next())
    }
}

/// A partition whose rows a function generates, `[start, end)` of some index, at most
/// `max_rows` at a time (the rate source's values).
pub struct Generated<F> {
    next: u64,
    end: u64,
    generate: F,
}

impl<F> fmt::Debug for Generated<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generated")
            .field("next", &self.next)
            .field("end", &self.end)
            .finish()
    }
}

impl<F> Generated<F> {
    /// Rows for the indexes `start..end`, generated by `generate(from, to)`.
    pub fn new(start: u64, end: u64, generate: F) -> Self {
        Generated {
            next: start,
            end,
            generate,
        }
    }
}

impl<R, F> PartitionReader<R> for Generated<F>
where
    R: Send + Sync + 'static,
    F: FnMut(u64, u64) -> Vec<R> + Send,
{
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk<R>>> {
        if self.next >= self.end {
            return Ok(None);
        }
        let to = self
            .end
            .min(self.next.saturating_add(max_rows.max(1) as u64));
        let rows = (self.generate)(self.next, to);
        self.next = to;
        Ok(Some(RowChunk::Owned(rows)))
    }
}

/// Rows shared with other readers (a range of them), handed out in slices of at most
/// `max_rows`.
#[derive(Debug)]
pub struct SharedRows<R> {
    rows: Arc<[R]>,
    next: usize,
    end: usize,
}

impl<R> SharedRows<R> {
    /// A partition reading `rows`.
    pub fn new(rows: Arc<[R]>) -> Self {
        let end = rows.len();
        SharedRows { rows, next: 0, end }
    }

    /// A partition reading `rows[range]`.
    pub fn range(rows: Arc<[R]>, range: std::ops::Range<usize>) -> Self {
        let end = range.end.min(rows.len());
        SharedRows {
            rows,
            next: range.start.min(end),
            end,
        }
    }

    /// `rows` cut into `pieces` contiguous partitions of nearly equal size, in order.
    pub fn split(rows: &Arc<[R]>, pieces: usize) -> Vec<SharedRows<R>> {
        let (n, pieces) = (rows.len(), pieces.max(1));
        (0..pieces)
            .map(|i| SharedRows::range(Arc::clone(rows), n * i / pieces..n * (i + 1) / pieces))
            .collect()
    }
}

impl<R: Send + Sync + 'static> PartitionReader<R> for SharedRows<R> {
    fn next_chunk(&mut self, max_rows: usize) -> Result<Option<RowChunk<R>>> {
        if self.next >= self.end {
            return Ok(None);
        }
        // Chunks are ranges of the shared rows: nothing is copied.
        let to = self.end.min(self.next.saturating_add(max_rows.max(1)));
        let range = self.next..to;
        self.next = to;
        Ok(Some(RowChunk::SharedRange(Arc::clone(&self.rows), range)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_partitions_come_in_bounded_chunks_in_order() {
        let mut p = Generated::new(3, 11, |a, b| (a..b).collect::<Vec<u64>>());
        let mut seen = Vec::new();
        while let Some(c) = PartitionReader::<u64>::next_chunk(&mut p, 3).unwrap() {
            assert!(c.len() <= 3);
            seen.extend_from_slice(&c);
        }
        assert_eq!(seen, (3..11).collect::<Vec<_>>());
    }

    #[test]
    fn shared_rows_split_into_ranges_that_cover_them_in_order() {
        let rows: Arc<[u64]> = Arc::from((0..10).collect::<Vec<u64>>());
        let parts = SharedRows::split(&rows, 3);
        assert_eq!(parts.len(), 3);
        let input = BatchInput::new(
            parts
                .into_iter()
                .map(|p| Box::new(p) as Partition<u64>)
                .collect(),
        );
        let mut seen = Vec::new();
        input
            .for_each_chunk(2, |c| {
                seen.push(c.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                vec![0, 1],
                vec![2],
                vec![3, 4],
                vec![5],
                vec![6, 7],
                vec![8, 9]
            ]
        );
    }

    #[test]
    fn a_batch_reads_its_partitions_in_order() {
        let input = BatchInput::new(vec![
            Box::new(Generated::new(0, 5, |a, b| (a..b).collect::<Vec<u64>>())),
            Box::new(Chunks::one(RowChunk::Owned(vec![100, 101]))),
            Box::new(SharedRows::new(Arc::from(vec![7_u64, 8, 9]))),
        ]);
        assert_eq!(input.len(), 3);
        let mut seen = Vec::new();
        let rows = input
            .for_each_chunk(2, |c| {
                seen.push(c.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(rows, 10);
        assert_eq!(
            seen,
            [
                vec![0, 1],
                vec![2, 3],
                vec![4],
                vec![100, 101],
                vec![7, 8],
                vec![9]
            ]
        );
    }
}
