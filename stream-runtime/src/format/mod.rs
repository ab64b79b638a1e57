//! File formats shared by the file source and the file sink: CSV, JSON lines and (with the
//! `parquet` feature) Parquet, with Spark's option names, and Spark's policies for malformed
//! input ([`ParseMode`]).
//!
//! A format turns a file's bytes into rows of a [`Row`] type and rows back into bytes. The
//! schema always comes from the row type (`R::SCHEMA`): as in Spark, a streaming file source
//! never infers one.

mod builders;
mod chunks;
mod csv;
mod json;
mod malformed;
mod options;
#[cfg(feature = "parquet")]
pub(crate) mod parquet;
mod payload;

use std::fmt;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::{DataType, Field, Schema};

use builders::Cell;

pub(crate) use chunks::{Chunks, Input};
pub use chunks::{DEFAULT_CHUNK_ROWS, Projection};
pub(crate) use malformed::{MalformedCounts, ReadContext, Rejected};
pub(crate) use options::TimestampFormat;
pub use options::{Csv, DEFAULT_WRITE_TIMESTAMP_FORMAT, Json};
#[cfg(feature = "parquet")]
pub use options::{Parquet, ParquetCompression};
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
