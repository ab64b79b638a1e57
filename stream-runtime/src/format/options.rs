//! The formats' options, with Spark's names: [`Csv`], [`Json`], [`Parquet`], and the
//! `timestampFormat` they share.

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// The default `timestampFormat` for writing, as Spark's JSON and CSV writers use it:
/// `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`, i.e. `2024-01-01T10:00:05.000Z` in UTC.
pub const DEFAULT_WRITE_TIMESTAMP_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
const DEFAULT_WRITE_TIMESTAMP_CHRONO: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// A `timestampFormat` option, translated once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimestampFormat {
    pub(super) chrono: String,
}

impl TimestampFormat {
    pub(super) fn new(spark_pattern: &str) -> Result<Self> {
        spark_syntax::datetime_pattern::spark_pattern_to_chrono(spark_pattern)
            .map(|chrono| TimestampFormat { chrono })
            .map_err(|e| Error::InvalidArgument(format!("option `timestampFormat`: {e}")))
    }

    /// Parses with the pattern, or with Spark's default parser when no pattern was given.
    pub(super) fn parse(format: Option<&TimestampFormat>, text: &str) -> Option<Timestamp> {
        match format {
            Some(f) => Timestamp::parse_with_format(text, &f.chrono).ok(),
            None => Timestamp::parse(text).ok(),
        }
    }

    pub(super) fn write(format: Option<&TimestampFormat>, ts: Timestamp) -> String {
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
    pub(super) header: bool,
    pub(super) sep: char,
    pub(super) quote: char,
    pub(super) escape: char,
    pub(super) null_value: String,
    pub(super) nan_value: String,
    pub(super) positive_inf: String,
    pub(super) negative_inf: String,
    pub(super) timestamp_format: Option<String>,
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
    pub(super) timestamp_format: Option<String>,
    pub(super) write_null_fields: bool,
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
    pub(super) compression: ParquetCompression,
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
