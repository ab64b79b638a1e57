//! Reading a batch's logged files: each only up to the bytes it had when logged, under the
//! malformed-record policy, with its counts, its dead letters, and the `rejected` mark that
//! lets a fixed file be read again in full. The reading itself is [`super::reader`]'s; this
//! is the source's bookkeeping around it.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::row::Row;
use crate::source::input::Chunks;
use crate::source::{BatchInput, Partition, ReadPlan, RowChunk};

use super::reader::{FileRead, FileReader, FileTask, ReadAhead, read_all};

/// How many batches the file source reads ahead of the one the engine processes: two, so
/// that with one file a batch both cores decode while the engine folds the current batch.
const READ_AHEAD_BATCHES: usize = 2;
use super::{FileOffset, FileSource, LoggedFile, dead_letter};

impl<R: Row> FileSource<R> {
    /// The log indexes of the files in `(start, end]`, checked against the log.
    pub(super) fn batch_range(
        &self,
        start: Option<&FileOffset>,
        end: &FileOffset,
    ) -> Result<(usize, usize)> {
        let start = start.map_or(0, |o| o.log_offset) as usize;
        let end = end.log_offset as usize;
        if end > self.log.len() || start > end {
            return Err(self.source_error(format!(
                "offsets {start}..{end} are beyond the {} files in the file source log",
                self.log.len()
            )));
        }
        Ok((start, end))
    }

    /// Reads logged files `start..end` (a batch): files are read in parallel, or were read
    /// ahead while the previous batch ran; what each read found is then recorded file by
    /// file, in log order, as a sequential read would. Returns each file's rows, in pieces
    /// ([`FileReader::read_pieces`]), as the batch's files are listed (a skipped file has none).
    pub(super) fn read_files(&mut self, start: usize, end: usize) -> Result<Vec<Vec<Vec<R>>>> {
        let mut tasks = Vec::with_capacity(end - start);
        let mut skipped = Vec::new();
        for index in start..end {
            match self.plan_read(index)? {
                Some(task) => tasks.push(task),
                None => skipped.push(index),
            }
        }
        let reader = self.reader();
        let ahead = self.read_ahead.pop_front();
        if ahead.as_ref().is_some_and(|a| a.tasks != tasks) {
            // Another range than the one read ahead (a different batch size): start afresh.
            self.read_ahead.clear();
        }
        let reads = match ahead {
            Some(ahead) if ahead.tasks == tasks => {
                let reads = ahead.finish();
                // A file that changed or vanished since it was read ahead is read again.
                let stale = tasks
                    .iter()
                    .zip(&reads)
                    .any(|(t, r)| std::fs::metadata(&t.path).ok().map(|m| m.len()) != r.size);
                if stale {
                    read_all(&reader, &tasks)
                } else {
                    reads
                }
            }
            _ => read_all(&reader, &tasks),
        };
        let mut files = Vec::with_capacity(end - start);
        let mut reads = tasks.iter().zip(reads).peekable();
        for index in start..end {
            if skipped.contains(&index) {
                files.push(Vec::new());
                continue;
            }
            let Some((task, read)) = reads.next() else {
                break;
            };
            files.push(self.record_read(task, read)?.chunks);
        }
        self.start_read_ahead(start, end);
        Ok(files)
    }

    /// The reader of this source's files.
    fn reader(&mut self) -> Arc<FileReader> {
        if self.reader.is_none() {
            self.reader = Some(Arc::new(FileReader {
                prepared: self.prepared.clone().expect("file source opened"),
                mode: self.mode,
                corrupt_column: self.corrupt_column.clone(),
                keep_rejected: self.dead_letter_dir.is_some(),
                projection: self.projection.clone(),
                piece_rows: self.piece_rows,
            }));
        }
        Arc::clone(self.reader.as_ref().expect("just set"))
    }

    /// Starts reading the files of the next [`READ_AHEAD_BATCHES`] batches after
    /// `start..end`, each of the same size, as far as the log names them already and none
    /// needs the source's attention first (skipped, rejected).
    fn start_read_ahead(&mut self, start: usize, end: usize) {
        let size = end - start;
        if size == 0 || !ReadAhead::<R>::worthwhile() {
            return;
        }
        for batch in 0..READ_AHEAD_BATCHES {
            let first = end + batch * size;
            let next = first..(first + size).min(self.log.len());
            if next.is_empty() {
                return;
            }
            if let Some(ahead) = self.read_ahead.get(batch) {
                if ahead.tasks.first().map(|t| t.index) == Some(first) {
                    continue;
                }
                self.read_ahead.truncate(batch);
            }
            let mut tasks = Vec::with_capacity(next.len());
            for index in next {
                let file = &self.log.files()[index];
                if file.rejected || self.skip_files.contains(&file.name) {
                    return;
                }
                tasks.push(FileTask {
                    index,
                    path: self.dir.join(&file.name),
                    limit: file.size,
                });
            }
            let reader = self.reader();
            match ReadAhead::start(reader, tasks) {
                Some(ahead) => self.read_ahead.push_back(ahead),
                None => return,
            }
        }
    }

    /// What reading the `index`-th logged file takes, or `None` when it is skipped.
    fn plan_read(&mut self, index: usize) -> Result<Option<FileTask>> {
        let file = self.log.files()[index].clone();
        let path = self.dir.join(&file.name);
        if self.skip_files.contains(&file.name) {
            let shown = path.display();
            // A committed batch is read again only to rebuild state, which must come out as
            // it was: its files are never skipped.
            if index < self.committed {
                tracing::warn!(
                    "{shown} belongs to a committed batch: skip_file does not apply to it, its \
                     rows were already processed"
                );
            } else {
                tracing::warn!("{shown} is skipped (skip_file): its batch runs without its rows");
                return Ok(None);
            }
        }
        let file = if file.rejected {
            match std::fs::metadata(&path) {
                Ok(meta) => self.refresh_rejected(index, &path, meta.len())?,
                Err(_) => file,
            }
        } else {
            file
        };
        Ok(Some(FileTask {
            index,
            path,
            limit: file.size,
        }))
    }

    /// Records what reading a file found — its counts, its dead letters, whether it was
    /// rejected — and returns its rows, or the error that stops the batch.
    fn record_read(&mut self, task: &FileTask, read: FileRead<R>) -> Result<FileRead<R>> {
        let index = task.index;
        let shown = task.shown();
        let name = self.log.files()[index].name.clone();
        if read.size.is_none() && read.result.is_ok() {
            if self.ignore_missing_files {
                tracing::warn!("{shown} no longer exists and is skipped (ignore_missing_files)");
                return Ok(FileRead {
                    chunks: Vec::new(),
                    ..read
                });
            }
            return Err(self.source_error(format!(
                "[FAILED_READ_FILE.FILE_NOT_EXIST] Encountered error while reading file {shown}. File does not exist. It is possible the underlying files have been updated; put the file back, skip it with skip_file(\"{name}\"), or set ignore_missing_files to skip every missing file."
            )));
        }
        let FileRead {
            chunks,
            counts,
            rejected,
            size,
            result,
        } = read;
        match result {
            Ok(()) => {
                self.metrics.malformed_rows += counts.malformed;
                self.metrics.malformed_rows_dropped += counts.dropped;
                if let Some(dir) = &self.dead_letter_dir
                    && !rejected.is_empty()
                {
                    dead_letter::write(dir, index, &name, &shown, &rejected)?;
                }
                if self.log.files()[index].rejected {
                    self.log.file_mut(index).rejected = false;
                    self.save_log()?;
                }
                Ok(FileRead {
                    chunks,
                    counts,
                    rejected: Vec::new(),
                    size,
                    result: Ok(()),
                })
            }
            Err(e @ Error::MalformedRecord { .. }) => {
                tracing::error!(
                    "{shown} stopped the query (FAILFAST). To go on: fix or replace the file \
                     (it is read again in full), skip it with skip_file(\"{name}\"), or read with \
                     ParseMode::DropMalformed and a dead_letter_dir to keep the bad records"
                );
                self.log.file_mut(index).rejected = true;
                self.save_log()?;
                Err(e)
            }
            Err(Error::Source { message, .. }) if self.ignore_corrupt_files => {
                tracing::warn!(
                    "{shown} cannot be read and is skipped (ignore_corrupt_files): {message}"
                );
                Ok(FileRead {
                    chunks: Vec::new(),
                    counts,
                    rejected: Vec::new(),
                    size,
                    result: Ok(()),
                })
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

/// A batch's files as input partitions: each file one partition or, when the batch has
/// fewer files than `plan.tasks`, cut into as many partitions of contiguous pieces as give
/// every task a share (Spark splits a large file into several partitions too). The
/// partitions come in file order, each file's in row order, so the batch's rows are the
/// files' in log order, as one thread would read them.
pub(super) fn partitions<R: Send + Sync + 'static>(
    files: Vec<Vec<Vec<R>>>,
    plan: ReadPlan,
) -> BatchInput<R> {
    let per_file = plan.tasks.div_ceil(files.len().max(1));
    let mut partitions: Vec<Partition<R>> = Vec::with_capacity(files.len() * per_file);
    for pieces in files {
        let rows: usize = pieces.iter().map(Vec::len).sum();
        let parts = plan.splits(rows, per_file).min(pieces.len()).max(1);
        // A piece goes to the partition its middle row falls in, so the partitions hold
        // nearly equal numbers of rows, in order.
        let mut grouped: Vec<Vec<RowChunk<R>>> = (0..parts).map(|_| Vec::new()).collect();
        let mut before = 0;
        for piece in pieces {
            let middle = before + piece.len() / 2;
            let part = (middle * parts / rows.max(1)).min(parts - 1);
            before += piece.len();
            grouped[part].push(RowChunk::Owned(piece));
        }
        partitions.extend(
            grouped
                .into_iter()
                .map(|chunks| Box::new(Chunks::many(chunks)) as Partition<R>),
        );
    }
    BatchInput::new(partitions)
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
