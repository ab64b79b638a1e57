//! Reading files into typed rows, apart from the source's bookkeeping: a [`FileReader`] holds
//! what reading needs (the format, the parse mode, the projection) and can be shared by
//! threads; [`FileReader::read`] reads one [`FileTask`] — one file — in chunks of bounded
//! size and reports what the malformed-record policy did, for the source to record in order.
//!
//! A batch's files are read in parallel ([`read_all`]), and the file source reads the next
//! batch's files ahead while the engine processes the current one ([`ReadAhead`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::format::{
    Chunks, Input, MalformedCounts, ParseMode, PreparedFormat, Projection, ReadContext, Rejected,
};
use crate::row::Row;

/// The rows of a piece of a file as it is read: the unit a batch's input partitions are cut
/// along (see `FileSource::read_batch`). Large enough that a piece's bookkeeping is nothing
/// beside its rows, small enough that a 1 M-row file gives each of a few threads a share.
pub(crate) const PIECE_ROWS: usize = 64 * 1024;

/// What reading a file needs, shared by the threads that read a batch's files.
#[derive(Debug, Clone)]
pub(crate) struct FileReader {
    pub(crate) prepared: PreparedFormat,
    pub(crate) mode: ParseMode,
    pub(crate) corrupt_column: String,
    pub(crate) keep_rejected: bool,
    pub(crate) projection: Projection,
    /// The rows of a piece ([`PIECE_ROWS`]).
    pub(crate) piece_rows: usize,
}

/// One unit of work: the `index`-th logged file, read up to `limit` bytes (line formats
/// read only the bytes a file had when it was logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileTask {
    pub(crate) index: usize,
    pub(crate) path: PathBuf,
    pub(crate) limit: u64,
}

impl FileTask {
    /// The file as messages name it.
    pub(crate) fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

/// What reading one file gave.
#[derive(Debug)]
pub(crate) struct FileRead<R> {
    /// The rows, in pieces (see [`FileReader::read_pieces`]).
    pub(crate) chunks: Vec<Vec<R>>,
    /// What the malformed-record policy did.
    pub(crate) counts: MalformedCounts,
    /// The records it dropped, when they are kept for dead letters.
    pub(crate) rejected: Vec<Rejected>,
    /// The size of the file when it was read (`None`: it does not exist).
    pub(crate) size: Option<u64>,
    /// How the read ended: the rows are complete only on `Ok`.
    pub(crate) result: Result<()>,
}

impl FileReader {
    /// Reads one file, keeping its rows in the result in pieces of about `piece_rows` rows,
    /// in order: the pieces a batch's input partitions are made of.
    pub(crate) fn read_pieces<R: Row>(&self, task: &FileTask) -> FileRead<R> {
        let mut pieces = Vec::new();
        let rows = self.piece_rows.max(1);
        let mut keep = |piece| {
            pieces.push(piece);
            Ok(())
        };
        let mut outcome = self.read_into(task, Chunks::new(rows, &mut keep));
        outcome.chunks = pieces;
        outcome
    }

    fn read_into<R: Row>(&self, task: &FileTask, mut chunks: Chunks<'_, R>) -> FileRead<R> {
        let shown = task.shown();
        let mut outcome = FileRead {
            chunks: Vec::new(),
            counts: MalformedCounts::default(),
            rejected: Vec::new(),
            size: None,
            result: Ok(()),
        };
        let mut bytes = match std::fs::read(&task.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return outcome,
            Err(e) => {
                outcome.result = Err(Error::io(format!("cannot read {shown}"), e));
                return outcome;
            }
        };
        outcome.size = Some(bytes.len() as u64);
        if self.prepared.format().is_line_based() && (bytes.len() as u64) > task.limit {
            bytes.truncate(task.limit as usize);
        }
        let ctx = match ReadContext::new(&shown, R::SCHEMA, self.mode, &self.corrupt_column) {
            Ok(ctx) if self.keep_rejected => ctx.keep_rejected(),
            Ok(ctx) => ctx,
            Err(e) => {
                outcome.result = Err(e);
                return outcome;
            }
        };
        outcome.result = match self.prepared.format() {
            #[cfg(feature = "parquet")]
            crate::format::FileFormat::Parquet(_) => {
                crate::format::parquet::read::ParquetFile::open(bytes.into(), &shown).and_then(
                    |file| {
                        self.prepared.read_chunks(
                            Input::Parquet(&file, None),
                            &ctx,
                            &self.projection,
                            &mut chunks,
                        )
                    },
                )
            }
            _ => {
                self.prepared
                    .read_chunks(Input::Text(&bytes), &ctx, &self.projection, &mut chunks)
            }
        };
        ctx.log_summary();
        outcome.counts = ctx.counts();
        outcome.rejected = ctx.take_rejected();
        outcome
    }
}

/// How many threads read a batch's files: the cores the process may use.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Reads every task, on up to as many threads as there are cores and tasks, and returns the
/// results in task order. Each thread logs through the caller's `tracing` dispatcher.
pub(crate) fn read_all<R: Row>(reader: &FileReader, tasks: &[FileTask]) -> Vec<FileRead<R>> {
    let threads = threads().min(tasks.len());
    if threads <= 1 {
        return tasks.iter().map(|t| reader.read_pieces(t)).collect();
    }
    let next = AtomicUsize::new(0);
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let mut results: Vec<(usize, FileRead<R>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(task) = tasks.get(i) else { break };
                            done.push((i, reader.read_pieces(task)));
                        }
                        done
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The next batch's files, being read on a thread of their own while the engine processes
/// the current batch.
#[derive(Debug)]
pub(crate) struct ReadAhead<R> {
    pub(crate) tasks: Vec<FileTask>,
    handle: JoinHandle<Vec<FileRead<R>>>,
}

impl<R: Row> ReadAhead<R> {
    /// Starts reading `tasks` in the background (`None` if no thread could be started: the
    /// files are then read when their batch runs).
    pub(crate) fn start(reader: Arc<FileReader>, tasks: Vec<FileTask>) -> Option<Self> {
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let background = tasks.clone();
        let handle = std::thread::Builder::new()
            .name("sluice-file-read-ahead".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || read_all(&reader, &background))
            })
            .ok()?;
        Some(ReadAhead { tasks, handle })
    }

    /// Whether more than one core may be used, so reading ahead runs beside the engine.
    pub(crate) fn worthwhile() -> bool {
        threads() > 1
    }

    /// The results, once read.
    pub(crate) fn finish(self) -> Vec<FileRead<R>> {
        self.handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}
