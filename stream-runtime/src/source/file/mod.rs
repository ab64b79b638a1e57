//! The file source: Spark's `FileStreamSource`. A directory is watched for new files, each
//! processed exactly once, in modification-time order; the schema comes from the row type.
//!
//! Offsets are positions in the source's [`FileLog`]; see `docs/io.md` for the policies on
//! files still being written, empty files, files that vanish and malformed records.

mod log;

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::{Csv, FileFormat, Json, ParseMode, PreparedFormat, ReadContext};
use crate::row::Row;

use super::{Backlog, BacklogUnit, ReadLimit, RowChunk, Source, SourceContext};

pub use log::{FileLog, LOG_FILE_NAME, LoggedFile};

/// Spark's default `columnNameOfCorruptRecord`.
pub const CORRUPT_RECORD_COLUMN: &str = "_corrupt_record";

/// How long a file that does not look complete must stay unmodified before it is read.
pub const DEFAULT_SETTLE_TIME: Duration = Duration::from_secs(1);

/// The file source's offset: how many files of its [`FileLog`] have been handed out. Printed in
/// progress reports as Spark prints a file source's offset, `{"logOffset": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileOffset {
    /// Files `0..log_offset` of the log are covered.
    #[serde(rename = "logOffset")]
    pub log_offset: u64,
}

/// The order new files are processed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileOrder {
    /// By modification time, then name (Spark's order).
    #[default]
    ModificationTime,
    /// By file name.
    Name,
}

/// Reads a directory of CSV, JSON lines or Parquet files as a stream of rows of type `R`.
///
/// Options keep Spark's names: `max_files_per_trigger` (`maxFilesPerTrigger`), `latest_first`
/// (`latestFirst`), `path_glob_filter` (`pathGlobFilter`), `mode`,
/// `column_name_of_corrupt_record` (`columnNameOfCorruptRecord`), `ignore_missing_files`
/// (`spark.sql.files.ignoreMissingFiles`), `ignore_corrupt_files`
/// (`spark.sql.files.ignoreCorruptFiles`); the format's own options are on [`Csv`], [`Json`]
/// and `Parquet`.
///
/// Files whose names start with `.` or `_` are ignored, as in Spark. When the directory is a
/// file sink's output (it has `_spark_metadata`), only the files of committed batches are read.
///
/// ```no_run
/// use stream_runtime::format::Csv;
/// use stream_runtime::row::RateRow;
/// use stream_runtime::source::FileSource;
/// let source = FileSource::<RateRow>::new("input/", Csv::new().header(true))
///     .max_files_per_trigger(1)
///     .path_glob_filter("*.csv");
/// # let _ = source;
/// ```
pub struct FileSource<R> {
    dir: PathBuf,
    format: FileFormat,
    prepared: Option<PreparedFormat>,
    mode: ParseMode,
    corrupt_column: String,
    max_files_per_trigger: Option<usize>,
    latest_first: bool,
    order: FileOrder,
    glob: Option<String>,
    pattern: Option<glob::Pattern>,
    settle_time: Duration,
    ignore_missing_files: bool,
    ignore_corrupt_files: bool,
    log: FileLog,
    metadata_dir: Option<PathBuf>,
    snapshot: Option<u64>,
    /// Files the last listing found ready and did not log (over `max_files_per_trigger`).
    unlogged: u64,
    rows: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for FileSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("dir", &self.dir)
            .field("format", &self.format)
            .field("mode", &self.mode)
            .field("max_files_per_trigger", &self.max_files_per_trigger)
            .field("latest_first", &self.latest_first)
            .field("order", &self.order)
            .field("path_glob_filter", &self.glob)
            .field("logged_files", &self.log.len())
            .finish_non_exhaustive()
    }
}

impl<R: Row> FileSource<R> {
    /// Reads the files of `dir` in `format` (Spark's `readStream.format(...).load(dir)`).
    pub fn new(dir: impl Into<PathBuf>, format: impl Into<FileFormat>) -> Self {
        FileSource {
            dir: dir.into(),
            format: format.into(),
            prepared: None,
            mode: ParseMode::default(),
            corrupt_column: CORRUPT_RECORD_COLUMN.to_string(),
            max_files_per_trigger: None,
            latest_first: false,
            order: FileOrder::default(),
            glob: None,
            pattern: None,
            settle_time: DEFAULT_SETTLE_TIME,
            ignore_missing_files: false,
            ignore_corrupt_files: false,
            log: FileLog::new(),
            metadata_dir: None,
            snapshot: None,
            unlogged: 0,
            rows: PhantomData,
        }
    }

    /// CSV files with Spark's default options (`readStream.csv(dir)`).
    pub fn csv(dir: impl Into<PathBuf>) -> Self {
        FileSource::new(dir, Csv::new())
    }

    /// JSON lines files (`readStream.json(dir)`).
    pub fn json(dir: impl Into<PathBuf>) -> Self {
        FileSource::new(dir, Json::new())
    }

    /// Parquet files (`readStream.parquet(dir)`).
    #[cfg(feature = "parquet")]
    pub fn parquet(dir: impl Into<PathBuf>) -> Self {
        FileSource::new(dir, crate::format::Parquet::new())
    }

    /// Spark's `mode`: what to do with malformed records (default [`ParseMode::Permissive`]).
    pub fn mode(mut self, mode: ParseMode) -> Self {
        self.mode = mode;
        self
    }

    /// Spark's `columnNameOfCorruptRecord` (default `_corrupt_record`): the nullable string
    /// column, if the row type has one, that receives the raw text of malformed records in
    /// `Permissive` mode.
    pub fn column_name_of_corrupt_record(mut self, name: impl Into<String>) -> Self {
        self.corrupt_column = name.into();
        self
    }

    /// Spark's `maxFilesPerTrigger`: at most `n` new files per micro-batch (at least 1).
    /// Ignored by `Trigger::Once`, which reads everything available.
    pub fn max_files_per_trigger(mut self, n: usize) -> Self {
        self.max_files_per_trigger = Some(n.max(1));
        self
    }

    /// Spark's `latestFirst`: process the newest files first (useful with a large backlog and
    /// `max_files_per_trigger`).
    pub fn latest_first(mut self, latest_first: bool) -> Self {
        self.latest_first = latest_first;
        self
    }

    /// The order of new files (default: modification time, as Spark).
    pub fn order(mut self, order: FileOrder) -> Self {
        self.order = order;
        self
    }

    /// Spark's `pathGlobFilter`: only file names matching this glob (`*`, `?`, `[a-z]`) are
    /// read, e.g. `*.csv`.
    pub fn path_glob_filter(mut self, glob: impl Into<String>) -> Self {
        self.glob = Some(glob.into());
        self
    }

    /// How long a file that does not look complete (a text file not ending in a newline, a
    /// Parquet file without its footer, an empty file) must stay unmodified before it is read
    /// (default [`DEFAULT_SETTLE_TIME`]). Files written elsewhere and moved in are never
    /// half-written, and are read at once.
    pub fn file_settle_time(mut self, settle_time: Duration) -> Self {
        self.settle_time = settle_time;
        self
    }

    /// Spark's `ignoreMissingFiles`: a logged file deleted before it was read is skipped
    /// instead of failing the query.
    pub fn ignore_missing_files(mut self, ignore: bool) -> Self {
        self.ignore_missing_files = ignore;
        self
    }

    /// Spark's `ignoreCorruptFiles`: a file that cannot be decoded at all (e.g. a Parquet file
    /// that is not Parquet) is skipped instead of failing the query.
    pub fn ignore_corrupt_files(mut self, ignore: bool) -> Self {
        self.ignore_corrupt_files = ignore;
        self
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files logged so far, in processing order.
    pub fn file_log(&self) -> &FileLog {
        &self.log
    }

    fn source_error(&self, message: impl Into<String>) -> Error {
        Error::Source {
            source_name: self.description(),
            message: message.into(),
        }
    }

    /// New files that are ready to read, in processing order.
    fn discover(&self) -> Result<Vec<LoggedFile>> {
        let committed = crate::sink::file::committed_file_names(&self.dir)?;
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::io(format!("cannot list {}", self.dir.display()), e))?;
        let now = SystemTime::now();
        let mut found = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("cannot list {}", self.dir.display()), e))?;
            // The log records names as text; a name that is not UTF-8 could not be read back.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || name.starts_with('_') || self.log.contains(&name) {
                continue;
            }
            if let Some(committed) = &committed
                && !committed.contains(&name)
            {
                continue;
            }
            if let Some(p) = &self.pattern
                && !p.matches(&name)
            {
                continue;
            }
            // A file deleted since the listing simply is not discovered.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let settled = now
                .duration_since(modified)
                .is_ok_and(|age| age >= self.settle_time);
            // Committed sink output is complete by construction.
            let ready =
                settled || committed.is_some() || self.looks_complete(&entry.path(), meta.len());
            if !ready {
                continue;
            }
            let modification_time = modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            found.push(LoggedFile {
                name,
                size: meta.len(),
                modification_time,
            });
        }
        match self.order {
            FileOrder::ModificationTime => {
                found.sort_by(|a, b| {
                    (a.modification_time, &a.name).cmp(&(b.modification_time, &b.name))
                });
            }
            FileOrder::Name => found.sort_by(|a, b| a.name.cmp(&b.name)),
        }
        if self.latest_first {
            found.reverse();
        }
        Ok(found)
    }

    fn looks_complete(&self, path: &Path, len: u64) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        if len == 0 {
            return false;
        }
        let tail_len = 4.min(len);
        let mut tail = vec![0; tail_len as usize];
        let read = std::fs::File::open(path).and_then(|mut f| {
            f.seek(SeekFrom::Start(len - tail_len))?;
            f.read_exact(&mut tail)
        });
        read.is_ok() && self.format.looks_complete(&tail)
    }

    /// Logs up to `max` new files (persisting the log before any offset names them).
    fn log_new_files(&mut self, max: Option<usize>) -> Result<()> {
        let mut found = self.discover()?;
        let ready = found.len();
        if let Some(max) = max {
            found.truncate(max);
        }
        self.unlogged = (ready - found.len()) as u64;
        if found.is_empty() {
            return Ok(());
        }
        self.log.extend(found);
        if let Some(dir) = &self.metadata_dir {
            self.log.save(dir)?;
        }
        Ok(())
    }

    fn read_file(&self, file: &LoggedFile) -> Result<Vec<R>> {
        let prepared = self.prepared.as_ref().expect("file source opened");
        let path = self.dir.join(&file.name);
        let display = path.display().to_string();
        let mut bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.ignore_missing_files {
                    return Ok(Vec::new());
                }
                return Err(self.source_error(format!(
                    "[FAILED_READ_FILE.FILE_NOT_EXIST] Encountered error while reading file {display}. File does not exist. It is possible the underlying files have been updated; set ignore_missing_files to skip such files."
                )));
            }
            Err(e) => return Err(Error::io(format!("cannot read {display}"), e)),
        };
        // Only the bytes present when the file was logged, so a re-run reads the same records.
        if prepared.format().is_line_based() && (bytes.len() as u64) > file.size {
            bytes.truncate(file.size as usize);
        }
        let ctx = ReadContext::new(&display, R::SCHEMA, self.mode, &self.corrupt_column)?;
        match prepared.read::<R>(&bytes, &ctx) {
            Err(Error::Source { message, .. }) if self.ignore_corrupt_files => {
                let _ = message;
                Ok(Vec::new())
            }
            Err(Error::Source { message, .. }) => Err(self.source_error(format!(
                "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file {display}: {message}"
            ))),
            other => other,
        }
    }
}

impl<R: Row> Source for FileSource<R> {
    type Row = R;
    type Offset = FileOffset;

    fn description(&self) -> String {
        let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("FileStreamSource[file:{}]", dir.display())
    }

    fn open(&mut self, ctx: &SourceContext) -> Result<()> {
        self.prepared = Some(self.format.prepare(R::SCHEMA)?);
        // Checks the corrupt-record column once, before any file is read.
        ReadContext::new("", R::SCHEMA, self.mode, &self.corrupt_column)?;
        self.pattern = match &self.glob {
            Some(glob) => Some(glob::Pattern::new(glob).map_err(|e| {
                Error::InvalidArgument(format!("invalid pathGlobFilter `{glob}`: {e}"))
            })?),
            None => None,
        };
        if !self.dir.is_dir() {
            let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
            return Err(Error::Analysis(format!(
                "[PATH_NOT_FOUND] Path does not exist: file:{}.",
                dir.display()
            )));
        }
        self.metadata_dir = ctx.metadata_dir.clone();
        if let Some(dir) = &self.metadata_dir
            && let Some(log) = FileLog::load(dir)?
        {
            self.log = log;
        }
        Ok(())
    }

    fn latest_offset(
        &mut self,
        start: Option<&FileOffset>,
        limit: ReadLimit,
    ) -> Result<Option<FileOffset>> {
        let start = start.map_or(0, |o| o.log_offset);
        if start > self.log.len() as u64 {
            // New files would be logged below the query's offset and never read.
            return Err(self.source_error(format!(
                "the query's offset {start} is beyond the {} files in the file source log; the source's metadata directory does not belong to this checkpoint",
                self.log.len()
            )));
        }
        let cap = match limit {
            ReadLimit::Configured => self.max_files_per_trigger,
            ReadLimit::AllAvailable => None,
        };
        if self.snapshot.is_none() {
            // Files logged but not yet handed out come first; new ones fill the rest.
            let pending = (self.log.len() as u64).saturating_sub(start) as usize;
            let room = cap.map(|c| c.saturating_sub(pending));
            if room != Some(0) {
                self.log_new_files(room)?;
            }
        }
        if self.log.is_empty() {
            return Ok(None);
        }
        let mut end = self.log.len() as u64;
        if let Some(snapshot) = self.snapshot {
            end = end.min(snapshot);
        }
        if let Some(cap) = cap {
            end = end.min(start + cap as u64);
        }
        Ok(Some(FileOffset {
            log_offset: end.max(start),
        }))
    }

    fn get_batch(
        &mut self,
        start: Option<&FileOffset>,
        end: &FileOffset,
    ) -> Result<Vec<RowChunk<R>>> {
        let start = start.map_or(0, |o| o.log_offset) as usize;
        let end = end.log_offset as usize;
        if end > self.log.len() || start > end {
            return Err(self.source_error(format!(
                "offsets {start}..{end} are beyond the {} files in the file source log",
                self.log.len()
            )));
        }
        self.log.files()[start..end]
            .iter()
            .map(|f| self.read_file(f).map(RowChunk::Owned))
            .collect()
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.log_new_files(None)?;
        self.snapshot = Some(self.log.len() as u64);
        Ok(())
    }

    fn counts_rows_after_scan_filters(&self) -> bool {
        true
    }

    /// The files not read yet: those logged after `processed`, and those the last listing
    /// found ready but did not log yet (over `max_files_per_trigger`; a file that appeared
    /// since is counted from the next listing). Under `AvailableNow`, the files of the run's
    /// snapshot not read yet.
    fn backlog(&self, processed: Option<&FileOffset>) -> Option<Backlog> {
        let read = processed.map_or(0, |o| o.log_offset);
        let known = match self.snapshot {
            Some(snapshot) => snapshot,
            None => self.log.len() as u64 + self.unlogged,
        };
        Some(Backlog::new(BacklogUnit::Files, known.saturating_sub(read)))
    }
}

#[cfg(test)]
mod tests;
