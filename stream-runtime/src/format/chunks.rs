//! How a reader hands rows on: the columns it decodes ([`Projection`]) and the bounded chunks
//! it yields them in.

use std::fmt;

use crate::error::Result;
#[cfg(feature = "parquet")]
use crate::format::parquet;
use crate::value::Schema;

/// The rows a reader yields at most at a time, by default: chunks of 8 192 rows keep what is
/// decoded but not yet processed small (a few hundred kB for typical rows) while amortising
/// the per-chunk work.
pub const DEFAULT_CHUNK_ROWS: usize = 8192;

/// Which columns of the row type a reader decodes, and how many rows it yields at a time.
///
/// A query reads only some of its input's columns; the file source is told which
/// ([`Source::prune_columns`](crate::source::Source::prune_columns)) and decodes only those
/// from Parquet (Spark's required schema); the other fields of the rows hold their type's
/// default or null. Text formats still parse every column, so malformed records are found as
/// before (see `docs/io.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Per schema column, whether it is read; `None`: every column.
    pub(super) columns: Option<Vec<bool>>,
    pub(super) chunk_rows: usize,
}

impl Default for Projection {
    fn default() -> Self {
        Projection::all()
    }
}

impl Projection {
    /// Every column, in chunks of [`DEFAULT_CHUNK_ROWS`].
    pub fn all() -> Self {
        Projection {
            columns: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }

    /// Only the columns of `schema` named in `names` (names not in the schema are ignored).
    pub fn columns(schema: Schema, names: &[&str]) -> Self {
        Projection {
            columns: Some(
                schema
                    .fields()
                    .iter()
                    .map(|f| names.contains(&f.name))
                    .collect(),
            ),
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }

    /// Yields chunks of at most `rows` rows (at least 1).
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// The most rows a chunk holds.
    pub fn max_chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    /// Whether schema column `i` is read.
    pub fn reads(&self, i: usize) -> bool {
        self.columns
            .as_ref()
            .is_none_or(|c| c.get(i).copied().unwrap_or(false))
    }
}

/// What a reader reads: a text file's contents, or row groups of an opened Parquet file
/// (`None`: all).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'b> {
    Text(&'b [u8]),
    #[cfg(feature = "parquet")]
    Parquet(&'b parquet::read::ParquetFile, Option<&'b [usize]>),
}

/// Where a reader puts its rows: it appends them to [`Chunks::out`] and calls
/// [`Chunks::flush`] after each batch of records it decoded; chunks of at least the chunk
/// size go to the callback, if there is one, or all rows stay for [`Chunks::into_rows`].
pub(crate) struct Chunks<'f, R> {
    pub(super) rows: Vec<R>,
    pub(super) chunk_rows: usize,
    pub(super) on_chunk: Option<&'f mut dyn FnMut(Vec<R>) -> Result<()>>,
    /// Rows the reader said are still coming ([`Chunks::expect_rows`]): each new chunk is
    /// sized for them up front.
    expected: usize,
}

impl<'f, R> Chunks<'f, R> {
    /// Chunks of about `chunk_rows` rows (a reader's batch may end past it) go to `on_chunk`.
    pub(crate) fn new(
        chunk_rows: usize,
        on_chunk: &'f mut dyn FnMut(Vec<R>) -> Result<()>,
    ) -> Self {
        Chunks {
            rows: Vec::new(),
            chunk_rows,
            on_chunk: Some(on_chunk),
            expected: 0,
        }
    }

    /// Every row is kept, in one vector.
    pub(crate) fn collect() -> Self {
        Chunks {
            rows: Vec::new(),
            chunk_rows: usize::MAX,
            on_chunk: None,
            expected: 0,
        }
    }

    /// Makes room for `rows` rows a reader knows are coming (a Parquet file's row count), up
    /// to one chunk: the rows are then built without the vector growing under them.
    #[cfg(feature = "parquet")]
    pub(crate) fn expect_rows(&mut self, rows: usize) {
        self.expected = rows;
        self.rows.reserve(rows.min(self.chunk_rows));
    }

    /// Where a reader appends rows.
    pub(crate) fn out(&mut self) -> &mut Vec<R> {
        &mut self.rows
    }

    /// Hands on the rows appended so far if they fill a chunk.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.rows.len() >= self.chunk_rows {
            self.expected = self.expected.saturating_sub(self.rows.len());
            self.finish()?;
            // The next chunk is built without growing under its rows when their number is
            // known (a Parquet file's); otherwise it grows as text records come.
            self.rows.reserve(self.expected.min(self.chunk_rows));
        }
        Ok(())
    }

    /// Hands on what is left (the reader is done).
    pub(crate) fn finish(&mut self) -> Result<()> {
        match &mut self.on_chunk {
            Some(f) if !self.rows.is_empty() => f(std::mem::take(&mut self.rows)),
            _ => Ok(()),
        }
    }

    /// The rows kept, when there is no callback.
    pub(crate) fn into_rows(self) -> Vec<R> {
        self.rows
    }
}

impl<R> fmt::Debug for Chunks<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks").finish_non_exhaustive()
    }
}
