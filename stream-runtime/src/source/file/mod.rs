//! The file source: Spark's `FileStreamSource`. A directory is watched for new files, each
//! processed exactly once, in modification-time order; the schema comes from the row type.
//!
//! Offsets are positions in the source's [`FileLog`]; see `docs/io.md` for the policies on
//! files still being written, empty files, files that vanish and malformed records.

mod dead_letter;
mod log;
mod read;
mod reader;
mod readiness;

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use read::{looks_complete, millis_since_epoch};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::{Csv, FileFormat, Json, ParseMode, PreparedFormat, Projection, ReadContext};
use crate::row::Row;

use super::{
    Backlog, BacklogUnit, BatchInput, ReadLimit, ReadPlan, RowChunk, Source, SourceContext,
    SourceMetrics,
};

pub use log::{FileLog, LOG_FILE_NAME, LoggedFile};
pub use readiness::{
    DEFAULT_SETTLE_TIME, DEFAULT_UNTERMINATED_LINE_TIMEOUT, FILES_CHANGED_AFTER_READ,
};
use readiness::{Listed, Readiness, Verdict};

/// Spark's default `columnNameOfCorruptRecord`.
pub const CORRUPT_RECORD_COLUMN: &str = "_corrupt_record";

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
/// Beyond Spark: a file is read once it has settled ([`FileSource::settle_time`]), never with
/// a last line cut short ([`FileSource::unterminated_line_timeout`]); changes made to a file
/// after it was read are reported; malformed records are counted in the progress and logged;
/// [`FileSource::skip_file`] and [`FileSource::dead_letter_dir`] are ways past a `FailFast`
/// stop (see `docs/io.md`).
///
/// ```no_run
/// use sluice::format::Csv;
/// use sluice::row::RateRow;
/// use sluice::source::FileSource;
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
    readiness: Readiness,
    ignore_missing_files: bool,
    ignore_corrupt_files: bool,
    skip_files: HashSet<String>,
    /// Files `0..committed` of the log belong to committed batches (known on a restart).
    committed: usize,
    dead_letter_dir: Option<PathBuf>,
    metrics: SourceMetrics,
    log: FileLog,
    metadata_dir: Option<PathBuf>,
    snapshot: Option<u64>,
    /// Files the last listing found ready and did not log (over `max_files_per_trigger`).
    unlogged: u64,
    /// The columns read (all unless the query said which it reads).
    projection: Projection,
    /// What reading a file needs, shared with the threads that read (built at the first read).
    reader: Option<std::sync::Arc<reader::FileReader>>,
    /// The rows of a piece of a file as it is read ([`reader::PIECE_ROWS`]; fewer in tests).
    piece_rows: usize,
    /// The next batches' files, being read while the current batch is processed.
    read_ahead: std::collections::VecDeque<reader::ReadAhead<R>>,
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
            readiness: Readiness::new(),
            ignore_missing_files: false,
            ignore_corrupt_files: false,
            skip_files: HashSet::new(),
            committed: 0,
            dead_letter_dir: None,
            metrics: SourceMetrics::default(),
            log: FileLog::new(),
            metadata_dir: None,
            snapshot: None,
            unlogged: 0,
            projection: Projection::all(),
            reader: None,
            piece_rows: reader::PIECE_ROWS,
            read_ahead: std::collections::VecDeque::new(),
            rows: PhantomData,
        }
    }

    /// Reads files in pieces of at most about `rows` rows (tests cut small files).
    #[cfg(test)]
    pub(crate) fn piece_rows(mut self, rows: usize) -> Self {
        self.piece_rows = rows;
        self
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

    /// How long a file's size and modification time must stay the same before it is read
    /// (default [`DEFAULT_SETTLE_TIME`], 1 s), so a file still being written is not read
    /// half-way. `Duration::ZERO` declares that files are moved into the directory complete
    /// (written elsewhere, then renamed): each is read as soon as it is listed, a last line
    /// without a line terminator included.
    pub fn settle_time(mut self, settle_time: Duration) -> Self {
        self.readiness.settle_time = settle_time;
        self
    }

    /// How long a settled file that does not look complete — a text file whose last line has
    /// no line terminator, a Parquet file without its footer — must stay unchanged before it
    /// is read anyway, last line included (default [`DEFAULT_UNTERMINATED_LINE_TIMEOUT`],
    /// 10 s). Until then the source takes it for a file whose writer is half-way through a
    /// line. Has no effect with a zero [`FileSource::settle_time`].
    pub fn unterminated_line_timeout(mut self, timeout: Duration) -> Self {
        self.readiness.unterminated_line_timeout = timeout;
        self
    }

    /// Reads the file of this name (in the source directory) as empty: the way past a file
    /// that stopped a `FailFast` query, without moving or editing it. Its batch runs without
    /// its rows; a warning says so each time it is skipped. Can be given several times.
    pub fn skip_file(mut self, name: impl Into<String>) -> Self {
        self.skip_files.insert(name.into());
        self
    }

    /// Keeps every record the malformed-record policy drops (`DropMalformed`, or `Permissive`
    /// when a column that is not nullable cannot be read) as a JSON line in a file of `dir`:
    /// the file, the line, the field, the error and the raw record. One file per source file,
    /// rewritten if its batch runs again, so a record is never kept twice.
    pub fn dead_letter_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dead_letter_dir = Some(dir.into());
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

    /// New files that are ready to read, in processing order, and how many others are still
    /// settling. Files already logged are checked for changes made after they were read.
    fn discover(&mut self) -> Result<(Vec<LoggedFile>, usize)> {
        let committed = crate::sink::file::committed_file_names(&self.dir)?;
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::io(format!("cannot list {}", self.dir.display()), e))?;
        let now = SystemTime::now();
        let scan_logged = self.readiness.change_scan_due(now);
        let mut found = Vec::new();
        let mut unsettled = 0;
        let mut listed = HashSet::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("cannot list {}", self.dir.display()), e))?;
            // The log records names as text; a name that is not UTF-8 could not be read back.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || name.starts_with('_') {
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
            if let Some(logged) = self.log.get(&name) {
                // Files already read are looked at (one `stat` each) at most once a second.
                if scan_logged
                    && !logged.rejected
                    && let Ok(meta) = entry.metadata()
                    && meta.is_file()
                    && self
                        .readiness
                        .changed_after_read(&entry.path(), logged.size, meta.len())
                {
                    self.metrics.add_custom(FILES_CHANGED_AFTER_READ, 1);
                }
                continue;
            }
            // A file deleted since the listing simply is not discovered.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let path = entry.path();
            listed.insert(name.clone());
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let listing = Listed {
                size: meta.len(),
                modified,
            };
            // Committed sink output is complete by construction.
            let verdict = if committed.is_some() {
                Verdict::Ready
            } else {
                let format = &self.format;
                self.readiness.judge(&path, &name, listing, now, || {
                    looks_complete(format, &path, listing.size)
                })
            };
            match verdict {
                Verdict::Ready => {}
                Verdict::Unsettled => {
                    unsettled += 1;
                    continue;
                }
                Verdict::Held => continue,
            }
            found.push(LoggedFile {
                name,
                size: meta.len(),
                modification_time: millis_since_epoch(modified),
                rejected: false,
            });
        }
        self.readiness.retain_listed(&listed);
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
        Ok((found, unsettled))
    }

    /// Logs every file there is for a query that reads what is available and ends
    /// (`Trigger::Once`, `AvailableNow`): files still settling are waited for, up to the
    /// settle time, and a settled file is taken whole, a last line without a terminator
    /// included.
    fn log_available_now(&mut self) -> Result<()> {
        self.readiness.end_of_input = true;
        let deadline = std::time::Instant::now() + self.readiness.settle_time * 2;
        loop {
            let (found, unsettled) = self.discover()?;
            if unsettled == 0 || std::time::Instant::now() >= deadline {
                if unsettled > 0 {
                    tracing::info!(
                        "{}: {unsettled} files are still being written and are left for a later run",
                        self.dir.display()
                    );
                }
                return self.log_files(found, None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Logs up to `max` new files (persisting the log before any offset names them).
    fn log_new_files(&mut self, max: Option<usize>) -> Result<()> {
        let (found, _) = self.discover()?;
        self.log_files(found, max)
    }

    fn log_files(&mut self, mut found: Vec<LoggedFile>, max: Option<usize>) -> Result<()> {
        let ready = found.len();
        if let Some(max) = max {
            found.truncate(max);
        }
        self.unlogged = (ready - found.len()) as u64;
        if found.is_empty() {
            return Ok(());
        }
        for f in &found {
            self.readiness.logged(&f.name);
        }
        self.log.extend(found);
        if let Some(dir) = &self.metadata_dir {
            self.log.save(dir)?;
        }
        Ok(())
    }

    fn save_log(&self) -> Result<()> {
        match &self.metadata_dir {
            Some(dir) => self.log.save(dir),
            None => Ok(()),
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
            if limit == ReadLimit::AllAvailable {
                self.log_available_now()?;
            } else if room != Some(0) {
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
        let (start, end) = self.batch_range(start, end)?;
        let files = self.read_files(start, end)?;
        // One chunk per file (a file's pieces joined).
        Ok(files
            .into_iter()
            .map(|pieces| match pieces.len() {
                1 => RowChunk::Owned(pieces.into_iter().next().unwrap_or_default()),
                _ => RowChunk::Owned(pieces.into_iter().flatten().collect()),
            })
            .collect())
    }

    fn read_batch(
        &mut self,
        start: Option<&FileOffset>,
        end: &FileOffset,
        plan: ReadPlan,
    ) -> Result<BatchInput<R>> {
        let (start, end) = self.batch_range(start, end)?;
        Ok(read::partitions(self.read_files(start, end)?, plan))
    }

    fn prune_columns(&mut self, columns: &'static [&'static str]) {
        self.projection = Projection::columns(R::SCHEMA, columns);
        self.reader = None;
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.log_available_now()?;
        self.snapshot = Some(self.log.len() as u64);
        Ok(())
    }

    fn counts_rows_after_scan_filters(&self) -> bool {
        true
    }

    fn check_recorded_offset(&self, batch_id: u64, end: &FileOffset) -> Result<()> {
        if end.log_offset <= self.log.len() as u64 {
            return Ok(());
        }
        let path = self
            .metadata_dir
            .as_ref()
            .map_or_else(|| PathBuf::from(LOG_FILE_NAME), |d| d.join(LOG_FILE_NAME));
        let state = if self.log.is_empty() {
            "is missing or empty".to_string()
        } else {
            format!("lists only {} files", self.log.len())
        };
        Err(Error::Checkpoint {
            path,
            message: format!(
                "batch {batch_id} read up to file {} of the file source log, which {state}: the \
                 log was deleted or replaced, and the query would read files again or skip \
                 them. Restore it, or start from a new checkpoint location",
                end.log_offset
            ),
        })
    }

    fn resume_after(&mut self, committed_end: &FileOffset) {
        self.committed = committed_end.log_offset as usize;
    }

    fn commit(&mut self, end: &FileOffset) -> Result<()> {
        self.committed = self.committed.max(end.log_offset as usize);
        Ok(())
    }

    fn stop(&mut self) {
        // A read ahead still running finishes on its own; its rows are dropped.
        self.read_ahead.clear();
    }

    fn take_metrics(&mut self) -> SourceMetrics {
        std::mem::take(&mut self.metrics)
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
