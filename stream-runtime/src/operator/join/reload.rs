//! A static table re-read between batches: Spark re-reads a static DataFrame's files at every
//! batch; `with_table_file_reloaded` does it when they changed.
//!
//! [`ReloadedTable`] wraps the query's pipeline: before each batch (a micro-batch, or the first
//! rows of a continuous epoch) it looks at the table's files — their names, sizes and
//! modification times — and, when any changed, reads them again, hashes the rows and installs
//! the new table, which every row of that batch then probes. A batch never sees half of one
//! table and half of another. A read that fails (a file removed, unreadable, or not in the
//! format) fails the query with that error, as Spark's batch would; replace a table file
//! atomically (write a new file, rename it over the old one) so a batch never reads it half
//! written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::batch::BatchContext;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::format::FileFormat;
use crate::pipeline::{Pipeline, PipelineInfo};
use crate::source::BatchInput;

use super::file::{read_table, table_files};
use super::static_table::JoinTable;

/// What a table's files looked like when they were read: name, size, modification time.
type Stamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn stamp(path: &Path) -> Result<Stamp> {
    table_files(path)?
        .into_iter()
        .map(|file| {
            let meta = std::fs::metadata(&file).map_err(|e| Error::Source {
                source_name: file.display().to_string(),
                message: format!("cannot read the static table: {e}"),
            })?;
            Ok((file, meta.len(), meta.modified().ok()))
        })
        .collect()
}

/// A query whose static table is read again from its files when they change (see the
/// [module](self)); made by `StreamingFrame::with_table_file_reloaded`.
pub struct ReloadedTable<P> {
    inner: P,
    format: FileFormat,
    path: PathBuf,
    read: Stamp,
    /// The batch the files were last looked at for.
    checked: Option<u64>,
    reloads: u64,
}

impl<P> std::fmt::Debug for ReloadedTable<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadedTable")
            .field("path", &self.path)
            .field("reloads", &self.reloads)
            .finish()
    }
}

impl<P: Pipeline + JoinTable> ReloadedTable<P> {
    /// `inner` given the table read from `path` in `format` now, and again whenever its files
    /// change.
    pub fn new(mut inner: P, format: FileFormat, path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let read = stamp(&path)?;
        let rows = read_table(format.clone(), &path)?;
        inner.set_table(Arc::new(P::hash_table(rows)));
        Ok(ReloadedTable {
            inner,
            format,
            path,
            read,
            checked: None,
            reloads: 0,
        })
    }

    /// How many times the table was read again since the query started.
    pub fn reloads(&self) -> u64 {
        self.reloads
    }

    /// Reads the table again if its files changed since they were last read; once per batch.
    fn refresh(&mut self, batch_id: u64) -> Result<()> {
        if self.checked == Some(batch_id) {
            return Ok(());
        }
        self.checked = Some(batch_id);
        let now = stamp(&self.path)?;
        if now != self.read {
            let rows = read_table(self.format.clone(), &self.path)?;
            self.inner.set_table(Arc::new(P::hash_table(rows)));
            self.read = now;
            self.reloads += 1;
            tracing::info!(
                table = %self.path.display(),
                batch = batch_id,
                "the static table changed: read again"
            );
        }
        Ok(())
    }
}

impl<P: Pipeline + JoinTable> Pipeline for ReloadedTable<P> {
    type Input = P::Input;
    type Output = P::Output;

    const INFO: PipelineInfo = P::INFO;

    fn process(
        &mut self,
        input: &[Self::Input],
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
    ) -> Result<(), Error> {
        self.refresh(ctx.batch_id())?;
        self.inner.process(input, ctx, out)
    }

    fn finish_batch(
        &mut self,
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
    ) -> Result<(), Error> {
        self.inner.finish_batch(ctx, out)
    }

    fn state_rows(&self) -> usize {
        self.inner.state_rows()
    }

    fn state_bytes(&self) -> usize {
        self.inner.state_bytes()
    }

    fn snapshot_state(&self) -> Result<Vec<u8>, Error> {
        self.inner.snapshot_state()
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.inner.restore_state(bytes)
    }

    fn run_batch(
        &mut self,
        input: BatchInput<Self::Input>,
        ctx: &mut BatchContext,
        out: &mut Vec<Self::Output>,
        exec: &Executor,
    ) -> Result<u64, Error> {
        self.refresh(ctx.batch_id())?;
        self.inner.run_batch(input, ctx, out, exec)
    }

    fn configure_state(&mut self, partitions: usize, workers: usize) {
        self.inner.configure_state(partitions, workers);
    }

    fn snapshot_partitions(&self, partitions: usize) -> Result<Vec<Vec<u8>>, Error> {
        self.inner.snapshot_partitions(partitions)
    }

    fn restore_partitions(&mut self, parts: &[Vec<u8>]) -> Result<(), Error> {
        self.inner.restore_partitions(parts)
    }
}

// The query's rules are its own: the wrapper satisfies what the query does.
macro_rules! same_rules {
    ($($rule:path),* $(,)?) => {
        $(impl<P: $rule + JoinTable> $rule for ReloadedTable<P> {})*
    };
}

same_rules!(
    crate::output_mode::FinalisesGroups,
    crate::output_mode::Unsorted,
    crate::output_mode::Aggregates,
    crate::output_mode::Unlimited,
    crate::output_mode::WithoutSessionWindow,
    crate::output_mode::WithoutStreamJoin,
    crate::continuous::rules::NoWatermark,
    crate::continuous::rules::NoDeduplication,
    crate::continuous::rules::NoAggregation,
    crate::continuous::rules::NoLimit,
    crate::continuous::rules::NoCurrentTime,
    crate::continuous::rules::NoStreamJoin,
);
