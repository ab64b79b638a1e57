//! The file sink: Spark's `FileStreamSink`, with exactly-once output. Each batch's rows go to
//! part files, then a metadata log entry (`_spark_metadata/<batchId>`, Spark's format) records
//! which files the batch wrote. Only files named by the log are committed output: readers
//! ([`committed_files`], [`read_committed`], and the file source) ignore anything else, such as
//! the files of a batch that crashed half-way.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use crate::durable_file;
use crate::error::{Error, Result};
use crate::format::{Csv, FileFormat, Json, ParseMode, PreparedFormat, ReadContext};
use crate::pipeline::OutputMode;
use crate::row::Row;

use super::{Sink, SinkBatch, SinkCommitLog, SinkContext};

mod log;

pub use log::METADATA_DIR;
use log::{SinkFileStatus, committed, read_log};

/// Writes each batch's rows as files in a directory: JSON lines, CSV or Parquet.
///
/// Append mode only, as Spark's file sink. A batch writes at most one part file per
/// `max_records_per_file` rows (Spark's `maxRecordsPerFile`; default unlimited, so one file;
/// none for an empty batch), named `part-<batch>-<n>.<format>`, then commits them in
/// `_spark_metadata/<batch>`. A batch id that is already committed is skipped (the engine
/// re-runs the last batch after a crash); a batch that crashed before its commit is written
/// again, replacing its own files, so readers never see a row twice. As in Spark, give each
/// query its own output directory: a new query's batches whose ids are already committed there
/// are skipped.
///
/// ```no_run
/// use sluice::format::Json;
/// use sluice::row::RateRow;
/// use sluice::sink::FileSink;
/// let sink = FileSink::<RateRow>::new("out/", Json::new()).max_records_per_file(10_000);
/// # let _ = sink;
/// ```
pub struct FileSink<R> {
    dir: PathBuf,
    format: FileFormat,
    prepared: Option<PreparedFormat>,
    max_records_per_file: usize,
    continue_existing_output: bool,
    /// Added to the query's batch ids: non-zero when this query continues another's output.
    batch_id_offset: u64,
    last_committed: Option<u64>,
    commit_log: Option<SinkCommitLog>,
    rows: PhantomData<fn(R)>,
}

/// Where the file sink keeps its batch numbering, in the checkpoint's `sinks/0`.
const NUMBERING_FILE: &str = "file-sink.json";

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Numbering {
    batch_id_offset: u64,
}

impl<R> fmt::Debug for FileSink<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSink")
            .field("dir", &self.dir)
            .field("format", &self.format)
            .field("max_records_per_file", &self.max_records_per_file)
            .field("last_committed", &self.last_committed)
            .finish_non_exhaustive()
    }
}

impl<R: Row> FileSink<R> {
    /// Writes files in `format` into `dir` (Spark's `writeStream.format(...).start(dir)`).
    pub fn new(dir: impl Into<PathBuf>, format: impl Into<FileFormat>) -> Self {
        FileSink {
            dir: dir.into(),
            format: format.into(),
            prepared: None,
            max_records_per_file: 0,
            continue_existing_output: false,
            batch_id_offset: 0,
            last_committed: None,
            commit_log: None,
            rows: PhantomData,
        }
    }

    /// JSON lines with Spark's defaults.
    pub fn json(dir: impl Into<PathBuf>) -> Self {
        FileSink::new(dir, Json::new())
    }

    /// CSV with Spark's defaults (no header).
    pub fn csv(dir: impl Into<PathBuf>) -> Self {
        FileSink::new(dir, Csv::new())
    }

    /// Parquet with Spark's defaults (snappy).
    #[cfg(feature = "parquet")]
    pub fn parquet(dir: impl Into<PathBuf>) -> Self {
        FileSink::new(dir, crate::format::Parquet::new())
    }

    /// Spark's `maxRecordsPerFile`: at most `n` rows per part file (0: unlimited).
    pub fn max_records_per_file(mut self, n: usize) -> Self {
        self.max_records_per_file = n;
        self
    }

    /// Lets a query with a new checkpoint write into a directory that already holds another
    /// query's committed batches: its batches are committed after them (this query's batch 0
    /// becomes the batch after the last one there), and the numbering is kept in the
    /// checkpoint so a restart goes on with it. Without it, `start()` refuses such a
    /// directory: the new query's batch ids would be taken for the old ones and skipped.
    pub fn continue_existing_output(mut self, continue_output: bool) -> Self {
        self.continue_existing_output = continue_output;
        self
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The offset between the query's batch ids and the ids in `_spark_metadata`: kept in the
    /// checkpoint, chosen once when a new query continues existing output.
    fn numbering(&self, ctx: &SinkContext, last: Option<u64>) -> Result<u64> {
        let saved = ctx.metadata_dir.as_ref().map(|d| d.join(NUMBERING_FILE));
        if let Some(path) = &saved
            && path.exists()
        {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            let numbering: Numbering =
                serde_json::from_slice(&bytes).map_err(|e| Error::Checkpoint {
                    path: path.clone(),
                    message: format!("unreadable file sink numbering: {e}"),
                })?;
            return Ok(numbering.batch_id_offset);
        }
        if !self.continue_existing_output || ctx.resuming {
            return Ok(0);
        }
        let offset = last.map_or(0, |l| l + 1);
        if let Some(path) = &saved {
            let bytes = serde_json::to_vec(&Numbering {
                batch_id_offset: offset,
            })
            .expect("a numbering serialises");
            durable_file::write_file(path, &bytes)?;
        }
        Ok(offset)
    }
}

impl<R: Row> Sink<R> for FileSink<R> {
    fn description(&self) -> String {
        let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("FileSink[file:{}]", dir.display())
    }

    fn open(&mut self, ctx: &SinkContext) -> Result<()> {
        if ctx.output_mode != OutputMode::Append {
            return Err(Error::Analysis(format!(
                "Data source {} does not support {} output mode",
                self.format.short_name(),
                ctx.output_mode
            )));
        }
        self.prepared = Some(self.format.prepare(R::SCHEMA)?);
        let metadata = self.dir.join(METADATA_DIR);
        std::fs::create_dir_all(&metadata)
            .map_err(|e| Error::io(format!("cannot create {}", metadata.display()), e))?;
        let log = read_log(&self.dir)?;
        let ids: Vec<u64> = log.iter().map(|e| e.batch_id).collect();
        self.last_committed = ids.last().copied();
        self.batch_id_offset = self.numbering(ctx, self.last_committed)?;
        // Entries before the latest compaction may be deleted (Spark compacts its log).
        let from = log.iter().rposition(|e| e.compact).unwrap_or(0);
        let missing_entry = ids[from..]
            .windows(2)
            .find(|w| w[1] > w[0] + 1)
            .map(|w| w[0] + 1);
        self.commit_log = Some(SinkCommitLog {
            log_dir: metadata,
            last_batch: self
                .last_committed
                .filter(|&l| l >= self.batch_id_offset)
                .map(|l| l - self.batch_id_offset),
            batch_id_offset: self.batch_id_offset,
            missing_entry,
        });
        Ok(())
    }

    fn commit_log(&self) -> Option<SinkCommitLog> {
        self.commit_log.clone()
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        let batch_id = batch.batch_id + self.batch_id_offset;
        // A batch already committed is being run again after a crash.
        if self.last_committed.is_some_and(|last| batch_id <= last) {
            return Ok(());
        }
        let prepared = self.prepared.clone().expect("file sink opened");
        let dir = self.dir.clone();
        let max = self.max_records_per_file;
        // Encoding and fsync block; keep them off the query's async worker.
        tokio::task::spawn_blocking(move || {
            write_batch(&dir, &prepared, batch_id, &batch.rows, max)
        })
        .await
        .map_err(|e| Error::Sink {
            sink_name: self.description(),
            message: format!("the writer task failed: {e}"),
        })??;
        self.last_committed = Some(batch_id);
        Ok(())
    }
}

fn part_prefix(batch_id: u64) -> String {
    format!("part-{batch_id:05}-")
}

/// Writes one batch's part files, then its log entry.
fn write_batch<R: Row>(
    dir: &Path,
    prepared: &PreparedFormat,
    batch_id: u64,
    rows: &[R],
    max_records_per_file: usize,
) -> Result<()> {
    remove_uncommitted_parts(dir, batch_id)?;
    let per_file = if max_records_per_file == 0 {
        rows.len().max(1)
    } else {
        max_records_per_file
    };
    let ext = prepared.format().extension();
    let mut statuses = Vec::new();
    for (n, chunk) in rows.chunks(per_file).enumerate() {
        let path = dir.join(format!("{}{n:05}.{ext}", part_prefix(batch_id)));
        let bytes = prepared.write(chunk)?;
        durable_file::write_file(&path, &bytes)?;
        let meta = std::fs::metadata(&path)
            .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))?;
        let modification_time = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        statuses.push(SinkFileStatus::added(&path, meta.len(), modification_time));
    }
    log::write_entry(dir, batch_id, &statuses)
}

/// Removes what an earlier, uncommitted attempt at this batch left behind.
fn remove_uncommitted_parts(dir: &Path, batch_id: u64) -> Result<()> {
    let prefix = part_prefix(batch_id);
    let hidden = format!(".{prefix}");
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) || name.starts_with(&hidden) {
            std::fs::remove_file(entry.path())
                .map_err(|e| Error::io(format!("cannot remove {}", entry.path().display()), e))?;
        }
    }
    Ok(())
}

/// The files a file sink committed into `dir`, in commit order. Files of batches that never
/// committed are not listed. Fails if `dir` is not a file sink's output.
pub fn committed_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    committed(dir)?.ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{} is not a file sink's output: it has no {METADATA_DIR} directory",
            dir.display()
        ))
    })
}

/// The names of the committed files in `dir` if it is a file sink's output (the file source
/// reads only those).
pub(crate) fn committed_file_names(dir: &Path) -> Result<Option<HashSet<String>>> {
    Ok(committed(dir)?.map(|files| {
        files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    }))
}

/// Reads every committed row of the sink output in `dir`, in commit order. Any malformed
/// record is an error ([`ParseMode::FailFast`]).
pub fn read_committed<R: Row>(
    dir: impl AsRef<Path>,
    format: impl Into<FileFormat>,
) -> Result<Vec<R>> {
    let prepared = format.into().prepare(R::SCHEMA)?;
    let mut rows = Vec::new();
    for path in committed_files(dir)? {
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let display = path.display().to_string();
        let ctx = ReadContext::new(&display, R::SCHEMA, ParseMode::FailFast, "")?;
        rows.extend(prepared.read::<R>(&bytes, &ctx)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
