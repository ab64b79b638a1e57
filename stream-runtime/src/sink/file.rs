//! The file sink: Spark's `FileStreamSink`, with exactly-once output. Each batch's rows go to
//! part files, then a metadata log entry (`_spark_metadata/<batchId>`, Spark's format) records
//! which files the batch wrote. Only files named by the log are committed output: readers
//! ([`committed_files`], [`read_committed`], and the file source) ignore anything else, such as
//! the files of a batch that crashed half-way.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{Error, Result};
use crate::format::{Csv, FileFormat, Json, ParseMode, PreparedFormat, ReadContext};
use crate::pipeline::OutputMode;
use crate::row::Row;

use super::{Sink, SinkBatch, SinkContext};

/// The metadata log's directory inside the output directory (Spark's name).
pub const METADATA_DIR: &str = "_spark_metadata";
const LOG_VERSION: &str = "v1";

/// Writes each batch's rows as files in a directory: JSON lines, CSV or Parquet.
///
/// Append mode only, as Spark's file sink. A batch writes at most one part file per
/// `max_records_per_file` rows (Spark's `maxRecordsPerFile`; default unlimited, so one file;
/// none for an empty batch), named `part-<batch>-<n>.<format>`, then commits them in
/// `_spark_metadata/<batch>`. A batch id that is already committed is skipped (the engine
/// re-runs the last batch after a crash); a batch that crashed before its commit is written
/// again, replacing its own files, so readers never see a row twice.
///
/// ```no_run
/// use stream_runtime::format::Json;
/// use stream_runtime::row::RateRow;
/// use stream_runtime::sink::FileSink;
/// let sink = FileSink::<RateRow>::new("out/", Json::new()).max_records_per_file(10_000);
/// # let _ = sink;
/// ```
pub struct FileSink<R> {
    dir: PathBuf,
    format: FileFormat,
    prepared: Option<PreparedFormat>,
    max_records_per_file: usize,
    last_committed: Option<u64>,
    rows: PhantomData<fn(R)>,
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
            last_committed: None,
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

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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
        self.last_committed = read_log(&self.dir)?.last().map(|e| e.batch_id);
        Ok(())
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        if self
            .last_committed
            .is_some_and(|last| batch.batch_id <= last)
        {
            return Ok(());
        }
        let prepared = self.prepared.clone().expect("file sink opened");
        let dir = self.dir.clone();
        let max = self.max_records_per_file;
        let batch_id = batch.batch_id;
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
        atomic::write_file(&path, &bytes)?;
        let meta = std::fs::metadata(&path)
            .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))?;
        let modification_time = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        statuses.push(SinkFileStatus {
            path: file_uri(&path),
            size: meta.len(),
            is_dir: false,
            modification_time,
            block_replication: 1,
            block_size: 32 * 1024 * 1024,
            action: "add".to_string(),
        });
    }
    let mut entry = String::from(LOG_VERSION);
    for status in &statuses {
        entry.push('\n');
        entry.push_str(&serde_json::to_string(status).expect("a file status serialises"));
    }
    atomic::write_file(
        &dir.join(METADATA_DIR).join(batch_id.to_string()),
        entry.as_bytes(),
    )
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

/// One line of a metadata log entry: Spark's `SinkFileStatus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SinkFileStatus {
    path: String,
    size: u64,
    is_dir: bool,
    modification_time: i64,
    block_replication: u32,
    block_size: u64,
    action: String,
}

/// One batch's entry of the metadata log.
#[derive(Debug)]
struct LogEntry {
    batch_id: u64,
    /// Spark compacts the log every few batches into `<batch>.compact`, which lists every file
    /// committed up to that batch.
    compact: bool,
    files: Vec<SinkFileStatus>,
}

/// The metadata log of the sink output in `dir`, by batch id; empty if there is none.
fn read_log(dir: &Path) -> Result<Vec<LogEntry>> {
    let metadata = dir.join(METADATA_DIR);
    let entries = match std::fs::read_dir(&metadata) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot list {}", metadata.display()), e)),
    };
    let mut log = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (number, compact) = match name.strip_suffix(".compact") {
            Some(n) => (n, true),
            None => (name.as_str(), false),
        };
        // Anything else (temporary files of an interrupted write) is not part of the log.
        let Ok(batch_id) = number.parse::<u64>() else {
            continue;
        };
        let path = entry.path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let mut lines = text.lines();
        if lines.next() != Some(LOG_VERSION) {
            return Err(Error::Checkpoint {
                path,
                message: format!("file sink log entry does not start with `{LOG_VERSION}`"),
            });
        }
        let files = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| Error::Checkpoint {
                    path: path.clone(),
                    message: format!("unreadable file sink log entry: {e}"),
                })
            })
            .collect::<Result<_>>()?;
        log.push(LogEntry {
            batch_id,
            compact,
            files,
        });
    }
    log.sort_by_key(|e| (e.batch_id, !e.compact));
    Ok(log)
}

/// The committed files of the sink output in `dir`, in the order they were committed, or
/// `None` if `dir` holds no metadata log.
fn committed(dir: &Path) -> Result<Option<Vec<PathBuf>>> {
    if !dir.join(METADATA_DIR).is_dir() {
        return Ok(None);
    }
    let mut files: Vec<String> = Vec::new();
    for entry in read_log(dir)? {
        if entry.compact {
            files.clear();
        }
        for status in entry.files {
            match status.action.as_str() {
                "delete" => files.retain(|f| *f != status.path),
                _ => files.push(status.path),
            }
        }
    }
    Ok(Some(files.iter().map(|uri| resolve(dir, uri)).collect()))
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

/// A `file://` URI for a path, as Spark records paths in the log.
fn file_uri(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:=,+@".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// A logged path, resolved inside `dir` so that a moved output directory still reads: the
/// recorded path if it still exists, else the file of that name in `dir`.
fn resolve(dir: &Path, uri: &str) -> PathBuf {
    let raw = uri
        .strip_prefix("file://")
        .or_else(|| uri.strip_prefix("file:"))
        .unwrap_or(uri);
    let decoded = percent_decode(raw);
    let recorded = PathBuf::from(&decoded);
    if recorded.is_file() {
        return recorded;
    }
    let name = decoded.rsplit('/').next().unwrap_or(&decoded);
    dir.join(name)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
