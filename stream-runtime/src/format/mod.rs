//! File formats shared by the file source and the file sink: CSV, JSON lines and (with the
//! `parquet` feature) Parquet, with Spark's option names, and Spark's policies for malformed
//! input ([`ParseMode`]).
//!
//! A format turns a file's bytes into rows of a [`Row`] type and rows back into bytes. The
//! schema always comes from the row type (`R::SCHEMA`): as in Spark, a streaming file source
//! never infers one.

mod builders;
mod csv;
mod json;
mod malformed;
#[cfg(feature = "parquet")]
pub(crate) mod parquet;
mod payload;

use std::fmt;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::time::Timestamp;
use crate::value::{DataType, Field, Schema};

use builders::Cell;

pub(crate) use malformed::{MalformedCounts, ReadContext, Rejected};
pub use payload::PayloadDecoder;
#[doc(hidden)]
pub use payload::take_decoded;

/// What a reader does with a record it cannot parse: Spark's `mode` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseMode {
    /// Spark's `PERMISSIVE` (the default): fields that do not parse become null and the row is
    /// kept, with the raw record in the corrupt-record column (`_corrupt_record`) when the
    /// schema has one. A row that cannot be kept that way — a bad or missing value in a
    /// column that is not nullable — is dropped, as in `DropMalformed`.
    #[default]
    Permissive,
    /// Spark's `DROPMALFORMED`: malformed records are dropped.
    DropMalformed,
    /// Spark's `FAILFAST`: the first malformed record stops the query with
    /// [`Error::MalformedRecord`].
    FailFast,
}

impl fmt::Display for ParseMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseMode::Permissive => "PERMISSIVE",
            ParseMode::DropMalformed => "DROPMALFORMED",
            ParseMode::FailFast => "FAILFAST",
        })
    }
}

impl std::str::FromStr for ParseMode {
    type Err = Error;

    /// Parses Spark's option values, in any case: `PERMISSIVE`, `DROPMALFORMED`, `FAILFAST`.
    ///
    /// ```
    /// use sluice::format::ParseMode;
    /// assert_eq!("failFast".parse::<ParseMode>().unwrap(), ParseMode::FailFast);
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "PERMISSIVE" => Ok(ParseMode::Permissive),
            "DROPMALFORMED" => Ok(ParseMode::DropMalformed),
            "FAILFAST" => Ok(ParseMode::FailFast),
            _ => Err(Error::InvalidArgument(format!(
                "unknown parse mode `{s}`; expected PERMISSIVE, DROPMALFORMED or FAILFAST"
            ))),
        }
    }
}

/// The default `timestampFormat` for writing, as Spark's JSON and CSV writers use it:
/// `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`, i.e. `2024-01-01T10:00:05.000Z` in UTC.
pub const DEFAULT_WRITE_TIMESTAMP_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
const DEFAULT_WRITE_TIMESTAMP_CHRONO: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// A `timestampFormat` option, translated once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimestampFormat {
    chrono: String,
}

impl TimestampFormat {
    fn new(spark_pattern: &str) -> Result<Self> {
        spark_syntax::datetime_pattern::spark_pattern_to_chrono(spark_pattern)
            .map(|chrono| TimestampFormat { chrono })
            .map_err(|e| Error::InvalidArgument(format!("option `timestampFormat`: {e}")))
    }

    /// Parses with the pattern, or with Spark's default parser when no pattern was given.
    fn parse(format: Option<&TimestampFormat>, text: &str) -> Option<Timestamp> {
        match format {
            Some(f) => Timestamp::parse_with_format(text, &f.chrono).ok(),
            None => Timestamp::parse(text).ok(),
        }
    }

    fn write(format: Option<&TimestampFormat>, ts: Timestamp) -> String {
        ts.format_with(format.map_or(DEFAULT_WRITE_TIMESTAMP_CHRONO, |f| &f.chrono))
    }
}

/// CSV: Spark's `csv` format, one record per line.
///
/// Options keep Spark's names: `header`, `sep`, `quote`, `escape`, `nullValue`, `nanValue`,
/// `positiveInf`, `negativeInf`, `timestampFormat`. Reading: an empty field (quoted or not), or
/// one equal to `nullValue`, is null (strings too); blank lines are skipped; with `header` the
/// first line of every file is skipped; a quoted field may span lines. Writing: null is written as `nullValue`, an empty string as `""`,
/// doubles as the JVM prints them (`1.0E7`, `NaN`), timestamps as `2024-01-01T10:00:05.000Z`.
///
/// ```
/// use sluice::format::Csv;
/// let csv = Csv::new().header(true).sep(';').null_value("NA");
/// assert!(csv.has_header());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Csv {
    header: bool,
    sep: char,
    quote: char,
    escape: char,
    null_value: String,
    nan_value: String,
    positive_inf: String,
    negative_inf: String,
    timestamp_format: Option<String>,
}

impl Default for Csv {
    fn default() -> Self {
        Csv::new()
    }
}

impl Csv {
    /// Spark's defaults: no header, `,` separator, `"` quote, `\` escape, empty `nullValue`.
    pub fn new() -> Self {
        Csv {
            header: false,
            sep: ',',
            quote: '"',
            escape: '\\',
            null_value: String::new(),
            nan_value: "NaN".into(),
            positive_inf: "Inf".into(),
            negative_inf: "-Inf".into(),
            timestamp_format: None,
        }
    }

    /// Spark's `header`: the first line of each file names the columns (read: skipped, since
    /// the schema comes from the row type; write: a header line starts every part file).
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// Whether `header` is on.
    pub fn has_header(&self) -> bool {
        self.header
    }

    /// Spark's `sep` (alias `delimiter`): the field separator, one ASCII character.
    pub fn sep(mut self, sep: char) -> Self {
        self.sep = sep;
        self
    }

    /// Spark's `quote`: the quote character, one ASCII character.
    pub fn quote(mut self, quote: char) -> Self {
        self.quote = quote;
        self
    }

    /// Spark's `escape`: escapes a quote inside a quoted field (default `\`).
    pub fn escape(mut self, escape: char) -> Self {
        self.escape = escape;
        self
    }

    /// Spark's `nullValue`: the text of a null field (default empty).
    pub fn null_value(mut self, text: impl Into<String>) -> Self {
        self.null_value = text.into();
        self
    }

    /// Spark's `nanValue`: the text of a NaN double (default `NaN`).
    pub fn nan_value(mut self, text: impl Into<String>) -> Self {
        self.nan_value = text.into();
        self
    }

    /// Spark's `positiveInf` (default `Inf`); `Infinity` is read as well.
    pub fn positive_inf(mut self, text: impl Into<String>) -> Self {
        self.positive_inf = text.into();
        self
    }

    /// Spark's `negativeInf` (default `-Inf`); `-Infinity` is read as well.
    pub fn negative_inf(mut self, text: impl Into<String>) -> Self {
        self.negative_inf = text.into();
        self
    }

    /// Spark's `timestampFormat`, a Spark datetime pattern such as `yyyy-MM-dd HH:mm:ss`.
    /// Without it, reading accepts ISO 8601 forms (`2024-01-01T10:00:05.000Z`,
    /// `2024-01-01 10:00:05`, `2024-01-01`) and writing uses
    /// [`DEFAULT_WRITE_TIMESTAMP_FORMAT`].
    pub fn timestamp_format(mut self, pattern: impl Into<String>) -> Self {
        self.timestamp_format = Some(pattern.into());
        self
    }
}

/// JSON lines: Spark's `json` format, one JSON object per line.
///
/// Reading: fields are matched by name (a missing field is null); a double column also accepts
/// `"NaN"`, `"Infinity"` and `"-Infinity"`; a string column takes any JSON value's text; a
/// timestamp column takes text (see `timestampFormat`) or seconds since the epoch; a line that
/// is not a JSON object is malformed. Writing: fields in schema order, null fields left out
/// (Spark's `ignoreNullFields`), timestamps as `2024-01-01T10:00:05.000Z`, doubles as the JVM
/// prints them, NaN and infinities as strings.
///
/// ```
/// use sluice::format::Json;
/// let json = Json::new().timestamp_format("yyyy-MM-dd HH:mm:ss");
/// # let _ = json;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Json {
    timestamp_format: Option<String>,
    write_null_fields: bool,
}

impl Json {
    /// Spark's defaults.
    pub fn new() -> Self {
        Json::default()
    }

    /// Spark's `timestampFormat` (see [`Csv::timestamp_format`]).
    pub fn timestamp_format(mut self, pattern: impl Into<String>) -> Self {
        self.timestamp_format = Some(pattern.into());
        self
    }

    /// Spark's `ignoreNullFields` (default `true`): `false` writes null fields as `null`.
    pub fn ignore_null_fields(mut self, ignore: bool) -> Self {
        self.write_null_fields = !ignore;
        self
    }
}

/// Parquet: Spark's `parquet` format (the `parquet` cargo feature).
///
/// Columns are matched by name. Timestamps are written as `INT64` microseconds adjusted to
/// UTC; reading also accepts milliseconds and Spark's legacy `INT96`. Windows are written as a
/// group `{start, end}`; `array<string>` columns are not supported.
#[cfg(feature = "parquet")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parquet {
    compression: ParquetCompression,
}

/// Parquet's `compression` option.
#[cfg(feature = "parquet")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParquetCompression {
    /// `snappy`, Spark's default.
    #[default]
    Snappy,
    /// `none` / `uncompressed`.
    Uncompressed,
}

#[cfg(feature = "parquet")]
impl Default for Parquet {
    fn default() -> Self {
        Parquet::new()
    }
}

#[cfg(feature = "parquet")]
impl Parquet {
    /// Spark's defaults (snappy compression).
    pub fn new() -> Self {
        Parquet {
            compression: ParquetCompression::Snappy,
        }
    }

    /// Spark's `compression` option for writing.
    pub fn compression(mut self, compression: ParquetCompression) -> Self {
        self.compression = compression;
        self
    }
}

/// A file format with its options: what `format("csv")`, `format("json")` or
/// `format("parquet")` with `option(...)` calls choose in Spark.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FileFormat {
    /// CSV.
    Csv(Csv),
    /// JSON lines.
    Json(Json),
    /// Parquet.
    #[cfg(feature = "parquet")]
    Parquet(Parquet),
}

impl From<Csv> for FileFormat {
    fn from(csv: Csv) -> Self {
        FileFormat::Csv(csv)
    }
}

impl From<Json> for FileFormat {
    fn from(json: Json) -> Self {
        FileFormat::Json(json)
    }
}

#[cfg(feature = "parquet")]
impl From<Parquet> for FileFormat {
    fn from(parquet: Parquet) -> Self {
        FileFormat::Parquet(parquet)
    }
}

impl FileFormat {
    /// Spark's short name: `csv`, `json`, `parquet`.
    pub fn short_name(&self) -> &'static str {
        match self {
            FileFormat::Csv(_) => "csv",
            FileFormat::Json(_) => "json",
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => "parquet",
        }
    }

    /// The extension of the files the sink writes.
    pub fn extension(&self) -> &'static str {
        self.short_name()
    }

    /// Whether records are lines of text (so a file is complete once it ends with `\n`).
    pub(crate) fn is_line_based(&self) -> bool {
        match self {
            FileFormat::Csv(_) | FileFormat::Json(_) => true,
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => false,
        }
    }

    /// Whether a file's contents look complete: line formats end with a newline, Parquet ends
    /// with its footer magic.
    pub(crate) fn looks_complete(&self, tail: &[u8]) -> bool {
        match self {
            FileFormat::Csv(_) | FileFormat::Json(_) => tail.last() == Some(&b'\n'),
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => tail.ends_with(b"PAR1"),
        }
    }

    /// Reads one file's contents as rows of `R`, as the file source reads each file: columns
    /// matched as the format matches them, malformed records handled by `mode`, only the
    /// columns `projection` names decoded (Parquet). For programs and benchmarks that read a
    /// file directly.
    ///
    /// ```
    /// use sluice::format::{Csv, FileFormat, ParseMode, Projection};
    /// use sluice::row::RateRow;
    /// let rows: Vec<RateRow> = FileFormat::from(Csv::new())
    ///     .read_rows(b"2024-01-01T10:00:00Z,7\n", ParseMode::FailFast, &Projection::all())
    ///     .unwrap();
    /// assert_eq!(rows[0].value, 7);
    /// ```
    pub fn read_rows<R: Row>(
        &self,
        bytes: &[u8],
        mode: ParseMode,
        projection: &Projection,
    ) -> Result<Vec<R>> {
        let prepared = self.prepare(R::SCHEMA)?;
        let ctx = ReadContext::new("<bytes>", R::SCHEMA, mode, "_corrupt_record")?;
        let mut chunks = Chunks::collect();
        prepared.read_chunks(Input::Text(bytes), &ctx, projection, &mut chunks)?;
        Ok(chunks.into_rows())
    }

    /// Encodes rows as one file's contents, as the file sink writes a part file.
    pub fn write_rows<R: Row>(&self, rows: &[R]) -> Result<Vec<u8>> {
        self.prepare(R::SCHEMA)?.write(rows)
    }

    /// Checks the options and that every column of `schema` can be read and written in this
    /// format, with Spark's messages.
    pub(crate) fn prepare(&self, schema: Schema) -> Result<PreparedFormat> {
        let name = match self {
            FileFormat::Csv(_) => "CSV",
            FileFormat::Json(_) => "JSON",
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => "Parquet",
        };
        for field in schema.fields() {
            let supported = match self {
                // Spark's CSV source has no binary type either.
                FileFormat::Csv(_) => !matches!(
                    field.data_type,
                    DataType::Window | DataType::StringArray | DataType::Binary | DataType::Headers
                ),
                FileFormat::Json(_) => true,
                #[cfg(feature = "parquet")]
                FileFormat::Parquet(_) => {
                    !matches!(field.data_type, DataType::StringArray | DataType::Headers)
                }
            };
            if !supported {
                return Err(unsupported_type(name, field));
            }
        }
        let timestamp_format = match self {
            FileFormat::Csv(c) => c.timestamp_format.as_deref(),
            FileFormat::Json(j) => j.timestamp_format.as_deref(),
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => None,
        }
        .map(TimestampFormat::new)
        .transpose()?;
        if let FileFormat::Csv(c) = self {
            for (option, ch) in [("sep", c.sep), ("quote", c.quote), ("escape", c.escape)] {
                if !ch.is_ascii() {
                    return Err(Error::InvalidArgument(format!(
                        "the CSV option `{option}` must be a single ASCII character, found `{ch}`"
                    )));
                }
            }
        }
        Ok(PreparedFormat {
            format: self.clone(),
            timestamp_format,
        })
    }
}

fn unsupported_type(format: &str, field: &Field) -> Error {
    Error::Analysis(format!(
        "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The {format} datasource doesn't support the column `{}` of the type \"{}\".",
        field.name,
        field.data_type.sql_name()
    ))
}

/// A format whose options were checked against a schema, ready to read and write.
#[derive(Debug, Clone)]
pub(crate) struct PreparedFormat {
    format: FileFormat,
    timestamp_format: Option<TimestampFormat>,
}

impl PreparedFormat {
    pub(crate) fn format(&self) -> &FileFormat {
        &self.format
    }

    /// Parses one file's contents into rows, applying the context's malformed-record policy.
    pub(crate) fn read<R: Row>(&self, bytes: &[u8], ctx: &ReadContext<'_>) -> Result<Vec<R>> {
        let mut chunks = Chunks::collect();
        let projection = Projection::all();
        match &self.format {
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => {
                let file = parquet::read::ParquetFile::open(
                    ::bytes::Bytes::copy_from_slice(bytes),
                    ctx.file,
                )?;
                self.read_chunks(Input::Parquet(&file, None), ctx, &projection, &mut chunks)?;
            }
            _ => self.read_chunks(Input::Text(bytes), ctx, &projection, &mut chunks)?,
        }
        Ok(chunks.into_rows())
    }

    /// Reads `input` — a text file's contents, or row groups of a Parquet file — into
    /// `chunks`, decoding the columns `projection` reads (records in batches of at most
    /// `projection.max_chunk_rows()`), applying the context's malformed-record policy.
    pub(crate) fn read_chunks<R: Row>(
        &self,
        input: Input<'_>,
        ctx: &ReadContext<'_>,
        projection: &Projection,
        chunks: &mut Chunks<'_, R>,
    ) -> Result<()> {
        let ts = self.timestamp_format.as_ref();
        match (&self.format, input) {
            (FileFormat::Csv(c), Input::Text(bytes)) => {
                csv::read(c, ts, bytes, ctx, projection, chunks)
            }
            (FileFormat::Json(_), Input::Text(bytes)) => {
                json::read(ts, bytes, ctx, projection, chunks)
            }
            #[cfg(feature = "parquet")]
            (FileFormat::Parquet(_), Input::Parquet(file, groups)) => {
                file.read(groups, ctx, projection, chunks)
            }
            #[cfg(feature = "parquet")]
            (FileFormat::Parquet(_), Input::Text(bytes)) => {
                parquet::read::ParquetFile::open(::bytes::Bytes::copy_from_slice(bytes), ctx.file)?
                    .read(None, ctx, projection, chunks)
            }
            #[cfg(feature = "parquet")]
            (_, Input::Parquet(..)) => unreachable!("a Parquet file is read as Parquet"),
        }
    }

    /// Reads a text file record by record through values, as the readers did before typed
    /// columns: the reference the property tests hold the typed readers to.
    #[cfg(test)]
    pub(crate) fn read_by_values<R: Row>(
        &self,
        bytes: &[u8],
        ctx: &ReadContext<'_>,
    ) -> Result<Vec<R>> {
        let ts = self.timestamp_format.as_ref();
        let values = match &self.format {
            FileFormat::Csv(c) => csv::read_values(c, ts, bytes, ctx)?,
            FileFormat::Json(_) => json::read_values(ts, bytes, ctx)?,
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(_) => unreachable!("text formats only"),
        };
        values
            .into_iter()
            .map(|v| {
                R::from_values(v).map_err(|e| Error::Source {
                    source_name: ctx.file.to_string(),
                    message: format!("cannot build a row: {e}"),
                })
            })
            .collect()
    }

    /// Encodes rows as one file's contents.
    pub(crate) fn write<R: Row>(&self, rows: &[R]) -> Result<Vec<u8>> {
        let schema = R::SCHEMA;
        let ts = self.timestamp_format.as_ref();
        match &self.format {
            FileFormat::Csv(c) => Ok(csv::write(c, ts, schema, rows)),
            FileFormat::Json(j) => Ok(json::write(j, ts, schema, rows)),
            #[cfg(feature = "parquet")]
            FileFormat::Parquet(p) => parquet::write(p, schema, rows),
        }
    }
}

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
    columns: Option<Vec<bool>>,
    chunk_rows: usize,
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
    rows: Vec<R>,
    chunk_rows: usize,
    on_chunk: Option<&'f mut dyn FnMut(Vec<R>) -> Result<()>>,
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
        }
    }

    /// Every row is kept, in one vector.
    pub(crate) fn collect() -> Self {
        Chunks {
            rows: Vec::new(),
            chunk_rows: usize::MAX,
            on_chunk: None,
        }
    }

    /// Makes room for `rows` rows a reader knows are coming (a Parquet file's row count), up
    /// to one chunk: the rows are then built without the vector growing under them.
    #[cfg(feature = "parquet")]
    pub(crate) fn expect_rows(&mut self, rows: usize) {
        self.rows.reserve(rows.min(self.chunk_rows));
    }

    /// Where a reader appends rows.
    pub(crate) fn out(&mut self) -> &mut Vec<R> {
        &mut self.rows
    }

    /// Hands on the rows appended so far if they fill a chunk.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.rows.len() >= self.chunk_rows {
            self.finish()?;
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

/// Parses a text field (a CSV field, a JSON string in a timestamp column) as a typed cell of
/// `data_type`: the one parser of text fields, for values and for typed columns alike.
fn parse_cell(
    text: &str,
    data_type: DataType,
    timestamp_format: Option<&TimestampFormat>,
) -> Result<Cell, String> {
    let bad = || {
        format!(
            "cannot parse `{text}` as {}",
            data_type.sql_name().to_lowercase()
        )
    };
    Ok(match data_type {
        DataType::String => Cell::String(text.to_string()),
        // The JVM's Integer.parseInt / Long.parseLong: no surrounding whitespace.
        DataType::Int => Cell::Int(text.parse().map_err(|_| bad())?),
        DataType::Long => Cell::Long(text.parse().map_err(|_| bad())?),
        DataType::Double => Cell::Double(crate::functions::parse_f64(text).ok_or_else(bad)?),
        // Scala's `toBoolean`: `true` or `false`, in any case.
        DataType::Boolean => {
            if text.eq_ignore_ascii_case("true") {
                Cell::Boolean(true)
            } else if text.eq_ignore_ascii_case("false") {
                Cell::Boolean(false)
            } else {
                return Err(bad());
            }
        }
        DataType::Timestamp => Cell::Timestamp(
            TimestampFormat::parse(timestamp_format, text)
                .ok_or_else(bad)?
                .as_micros(),
        ),
        DataType::Window | DataType::StringArray | DataType::Binary | DataType::Headers => {
            return Err(bad());
        }
    })
}

#[cfg(test)]
mod tests;
