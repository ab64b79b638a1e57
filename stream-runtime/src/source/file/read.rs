//! Reading one logged file: only the bytes it had when logged, under the malformed-record
//! policy, with its counts, its dead letters, and the `rejected` mark that lets a fixed file be
//! read again in full.

use std::path::Path;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::format::{FileFormat, ReadContext};
use crate::row::Row;

use super::{FileSource, LoggedFile, dead_letter};

impl<R: Row> FileSource<R> {
    /// Reads the `index`-th logged file.
    pub(super) fn read_file(&mut self, index: usize) -> Result<Vec<R>> {
        let file = self.log.files()[index].clone();
        let path = self.dir.join(&file.name);
        let shown = path.display().to_string();
        if self.skip_files.contains(&file.name) {
            // A committed batch is read again only to rebuild state, which must come out as
            // it was: its files are never skipped.
            if index < self.committed {
                tracing::warn!(
                    "{shown} belongs to a committed batch: skip_file does not apply to it, its \
                     rows were already processed"
                );
            } else {
                tracing::warn!("{shown} is skipped (skip_file): its batch runs without its rows");
                return Ok(Vec::new());
            }
        }
        let mut bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.ignore_missing_files {
                    tracing::warn!(
                        "{shown} no longer exists and is skipped (ignore_missing_files)"
                    );
                    return Ok(Vec::new());
                }
                return Err(self.source_error(format!(
                    "[FAILED_READ_FILE.FILE_NOT_EXIST] Encountered error while reading file {shown}. File does not exist. It is possible the underlying files have been updated; put the file back, skip it with skip_file(\"{}\"), or set ignore_missing_files to skip every missing file.",
                    file.name
                )));
            }
            Err(e) => return Err(Error::io(format!("cannot read {shown}"), e)),
        };
        let file = self.refresh_rejected(index, &path, bytes.len() as u64)?;
        let prepared = self.prepared.as_ref().expect("file source opened");
        // Only the bytes present when the file was logged, so a re-run reads the same records.
        if prepared.format().is_line_based() && (bytes.len() as u64) > file.size {
            bytes.truncate(file.size as usize);
        }
        let mut ctx = ReadContext::new(&shown, R::SCHEMA, self.mode, &self.corrupt_column)?;
        if self.dead_letter_dir.is_some() {
            ctx = ctx.keep_rejected();
        }
        let read = prepared.read::<R>(&bytes, &ctx);
        ctx.log_summary();
        let counts = ctx.counts();
        match read {
            Ok(rows) => {
                self.metrics.malformed_rows += counts.malformed;
                self.metrics.malformed_rows_dropped += counts.dropped;
                let rejected = ctx.take_rejected();
                if let Some(dir) = &self.dead_letter_dir
                    && !rejected.is_empty()
                {
                    dead_letter::write(dir, index, &file.name, &shown, &rejected)?;
                }
                if file.rejected {
                    self.log.file_mut(index).rejected = false;
                    self.save_log()?;
                }
                Ok(rows)
            }
            Err(e @ Error::MalformedRecord { .. }) => {
                tracing::error!(
                    "{shown} stopped the query (FAILFAST). To go on: fix or replace the file \
                     (it is read again in full), skip it with skip_file(\"{}\"), or read with \
                     ParseMode::DropMalformed and a dead_letter_dir to keep the bad records",
                    file.name
                );
                self.log.file_mut(index).rejected = true;
                self.save_log()?;
                Err(e)
            }
            Err(Error::Source { message, .. }) if self.ignore_corrupt_files => {
                tracing::warn!(
                    "{shown} cannot be read and is skipped (ignore_corrupt_files): {message}"
                );
                Ok(Vec::new())
            }
            Err(Error::Source { message, .. }) => Err(self.source_error(format!(
                "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file {shown}: {message}"
            ))),
            Err(other) => Err(other),
        }
    }

    /// A file whose last read was rejected is looked at again: if it was fixed or replaced
    /// since (its size or modification time changed), the log records its new size, so it is
    /// read in full. Its batch never reached the sink, so reading other bytes is safe.
    fn refresh_rejected(&mut self, index: usize, path: &Path, size: u64) -> Result<LoggedFile> {
        let file = &self.log.files()[index];
        if !file.rejected {
            return Ok(file.clone());
        }
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_or(0, millis_since_epoch);
        if size != file.size || modified != file.modification_time {
            tracing::info!(
                "{} changed since it was rejected: it is read again in full ({size} bytes)",
                path.display()
            );
            let file = self.log.file_mut(index);
            file.size = size;
            file.modification_time = modified;
            self.save_log()?;
        }
        Ok(self.log.files()[index].clone())
    }
}

pub(super) fn millis_since_epoch(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether a file's contents look complete: its last bytes, as the format judges them.
pub(super) fn looks_complete(format: &FileFormat, path: &Path, len: u64) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    if len == 0 {
        // Nothing is cut short in an empty file.
        return true;
    }
    let tail_len = 4.min(len);
    let mut tail = vec![0; tail_len as usize];
    let read = std::fs::File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(len - tail_len))?;
        f.read_exact(&mut tail)
    });
    read.is_ok() && format.looks_complete(&tail)
}
