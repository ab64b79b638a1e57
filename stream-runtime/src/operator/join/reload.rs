//! A static table read again between batches: Spark re-reads a static DataFrame's files at
//! every batch; `with_table_file_reloaded` reads them again when they changed.
//!
//! A query given a [`TableReload`] looks at the table's files before each batch — their names,
//! sizes and modification times ([`refresh_table`], the first thing its generated `process` /
//! `run_batch` does) — and, when any changed, reads them again, hashes the rows and installs
//! the new table, which every row of that batch then probes: a batch never sees half of one
//! table and half of another. A read that fails (a file removed, unreadable) fails the query
//! with that error, as Spark's batch would; replace a table file atomically (write a new file,
//! rename it over the old one) so a batch never reads it half written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::format::FileFormat;

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

/// Where a query's static table comes from and what its files looked like when last read (see
/// the [module](self)).
#[derive(Debug, Clone)]
pub struct TableReload {
    format: FileFormat,
    path: PathBuf,
    read: Stamp,
    /// The batch the files were last looked at for.
    checked: Option<u64>,
    reloads: u64,
}

impl TableReload {
    /// Reads the table at `path` in `format` for `query` now, and remembers how to read it
    /// again.
    pub fn install<P: JoinTable>(
        query: &mut P,
        format: FileFormat,
        path: impl Into<PathBuf>,
    ) -> Result<()> {
        let path = path.into();
        let read = stamp(&path)?;
        let rows = read_table(format.clone(), &path)?;
        query.set_table(Arc::new(P::hash_table(rows)));
        query.set_reload(TableReload {
            format,
            path,
            read,
            checked: None,
            reloads: 0,
        });
        Ok(())
    }

    /// How many times the table was read again since the query started.
    pub fn reloads(&self) -> u64 {
        self.reloads
    }

    /// Whether the files changed since they were read; asked once per batch.
    fn changed(&mut self, batch_id: u64) -> Result<bool> {
        if self.checked == Some(batch_id) {
            return Ok(false);
        }
        self.checked = Some(batch_id);
        Ok(stamp(&self.path)? != self.read)
    }
}

/// Before a batch: reads the query's table again if it has a [`TableReload`] and its files
/// changed.
pub fn refresh_table<P: JoinTable>(query: &mut P, batch_id: u64) -> Result<()> {
    let Some(reload) = query.reload_mut() else {
        return Ok(());
    };
    if !reload.changed(batch_id)? {
        return Ok(());
    }
    let (format, path) = (reload.format.clone(), reload.path.clone());
    let now = stamp(&path)?;
    let rows = read_table(format, &path)?;
    query.set_table(Arc::new(P::hash_table(rows)));
    if let Some(reload) = query.reload_mut() {
        reload.read = now;
        reload.reloads += 1;
    }
    tracing::info!(
        table = %path.display(),
        batch = batch_id,
        "the static table changed: read again"
    );
    Ok(())
}
