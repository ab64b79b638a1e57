//! CSV records to values and back, with Spark's CSV options and null/NaN conventions.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::{DataType, Schema, Value, format_double};

use super::builders::{Cell, RecordBuilder};
use super::malformed::{Malformed, ReadContext};
use super::{Chunks, Csv, Projection, TimestampFormat, parse_cell};

/// Parses a whole file into typed columns, chunk by chunk, and builds the rows from them.
/// The corrupt-record column, if any, takes no field from the input; every other column is
/// parsed (those the projection leaves out too, so malformed records are found as before) but
/// only the columns read are kept.
pub(super) fn read<R: Row>(
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
    bytes: &[u8],
    ctx: &ReadContext<'_>,
    projection: &Projection,
    chunks: &mut Chunks<'_, R>,
) -> Result<()> {
    let data_columns = data_columns(ctx);
    let mut builder = RecordBuilder::new(ctx, |i| projection.reads(i), projection.max_chunk_rows());
    for_each_record(opts, bytes, ctx, |record, line, raw| {
        let malformed = record_cells(
            record,
            &data_columns,
            opts,
            timestamp_format,
            ctx,
            &mut builder,
        );
        builder.end_record(ctx, line, malformed, raw, chunks)
    })?;
    builder.flush(ctx, chunks)?;
    chunks.finish()
}

/// A record's fields as text: checked as UTF-8 once for the whole record (an ASCII record, the
/// usual one, in one pass over its bytes), or — a record that is not valid UTF-8 — decoded field
/// by field, each invalid sequence replaced, as Spark's reader does.
enum RecordText {
    Utf8(::csv::StringRecord),
    Bytes(::csv::ByteRecord),
}

impl RecordText {
    fn new(record: ::csv::ByteRecord) -> Self {
        match ::csv::StringRecord::from_byte_record(record) {
            Ok(text) => RecordText::Utf8(text),
            Err(e) => RecordText::Bytes(e.into_byte_record()),
        }
    }

    /// The record's buffer back, for the next record.
    fn into_byte_record(self) -> ::csv::ByteRecord {
        match self {
            RecordText::Utf8(text) => text.into_byte_record(),
            RecordText::Bytes(bytes) => bytes,
        }
    }

    fn len(&self) -> usize {
        match self {
            RecordText::Utf8(text) => text.len(),
            RecordText::Bytes(bytes) => bytes.len(),
        }
    }

    fn fields(&self) -> Fields<'_> {
        match self {
            RecordText::Utf8(text) => Fields::Utf8(text.iter()),
            RecordText::Bytes(bytes) => Fields::Bytes(bytes.iter()),
        }
    }
}

/// The fields of a [`RecordText`], in order.
enum Fields<'r> {
    Utf8(::csv::StringRecordIter<'r>),
    Bytes(::csv::ByteRecordIter<'r>),
}

impl<'r> Iterator for Fields<'r> {
    type Item = Cow<'r, str>;

    #[inline]
    fn next(&mut self) -> Option<Cow<'r, str>> {
        match self {
            Fields::Utf8(fields) => fields.next().map(Cow::Borrowed),
            Fields::Bytes(fields) => fields.next().map(String::from_utf8_lossy),
        }
    }
}

/// Walks a file's CSV records (the header skipped if there is one), calling `f` with each
/// record, its line number and a function giving its raw text (line breaks trimmed) for the
/// corrupt-record column and the malformed-record log: what the typed reader and the
/// value reader share.
fn for_each_record(
    opts: &Csv,
    bytes: &[u8],
    ctx: &ReadContext<'_>,
    mut f: impl FnMut(&RecordText, u64, &dyn Fn() -> String) -> Result<()>,
) -> Result<()> {
    let mut reader = reader(opts, bytes);
    // The one record buffer, moved into each record's text and back out of it.
    let mut buffer = Some(::csv::ByteRecord::new());
    let mut first = true;
    loop {
        let mut record = buffer.take().expect("the record buffer is back");
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(Error::Source {
                    source_name: ctx.file.to_string(),
                    message: format!("cannot read CSV: {e}"),
                });
            }
        }
        if std::mem::take(&mut first) && opts.header {
            buffer = Some(record);
            continue;
        }
        let (start_byte, line) = record
            .position()
            .map_or((0, 0), |p| (p.byte() as usize, p.line()));
        let end_byte = (reader.position().byte() as usize).min(bytes.len());
        let raw = || {
            let raw = &bytes[start_byte.min(end_byte)..end_byte];
            let is_break = |b: &u8| *b == b'\n' || *b == b'\r';
            let from = raw.iter().position(|b| !is_break(b)).unwrap_or(raw.len());
            let to = raw
                .iter()
                .rposition(|b| !is_break(b))
                .map_or(from, |i| i + 1);
            String::from_utf8_lossy(&raw[from..to]).into_owned()
        };
        let text = RecordText::new(record);
        f(&text, line, &raw)?;
        buffer = Some(text.into_byte_record());
    }
    Ok(())
}

/// Parses one record's fields into the builder's columns, in schema order; returns why the
/// record is malformed, if it is (as [`record_values`], typed).
fn record_cells(
    record: &RecordText,
    data_columns: &[usize],
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
    ctx: &ReadContext<'_>,
    builder: &mut RecordBuilder,
) -> Option<Malformed> {
    let schema = ctx.schema;
    // As Spark's UnivocityParser: a wrong number of fields makes the record malformed, but the
    // fields present are still parsed (missing ones null, extra ones ignored).
    let mut malformed = (record.len() != data_columns.len()).then(|| {
        Malformed::record(format!(
            "expected {} fields, found {}",
            data_columns.len(),
            record.len()
        ))
    });
    let mut fields = record.fields();
    for &i in data_columns {
        let Some(text) = fields.next() else {
            builder.set(i, None);
            continue;
        };
        // Spark reads an empty field as null, quoted (`""`) or not, with the default
        // `nullValue`.
        if text.is_empty() || *text == *opts.null_value {
            builder.set(i, None);
            continue;
        }
        let field = schema.fields()[i];
        if field.data_type == DataType::String && !builder.keeps(i) {
            // Any text is a string: nothing to check, nothing to keep.
            builder.set_unread(i);
            continue;
        }
        match parse_field_cell(&text, field.data_type, opts, timestamp_format) {
            Ok(cell) => builder.set(i, Some(cell)),
            Err(message) => {
                malformed.get_or_insert_with(|| Malformed::field(field.name, message));
                builder.set(i, None);
            }
        }
    }
    malformed
}

fn parse_field_cell(
    text: &str,
    data_type: DataType,
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
) -> Result<Cell, String> {
    if data_type == DataType::Double {
        if text == opts.nan_value {
            return Ok(Cell::Double(f64::NAN));
        }
        if text == opts.positive_inf {
            return Ok(Cell::Double(f64::INFINITY));
        }
        if text == opts.negative_inf {
            return Ok(Cell::Double(f64::NEG_INFINITY));
        }
    }
    parse_cell(text, data_type, timestamp_format)
}

/// The record-at-a-time reader, through values: the reader before typed columns, kept as
/// the property tests' reference (`fuzz.rs`: both read every input alike).
#[cfg(test)]
pub(super) fn read_values(
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
    bytes: &[u8],
    ctx: &ReadContext<'_>,
) -> Result<Vec<Vec<Value>>> {
    let data_columns = data_columns(ctx);
    let mut rows = Vec::new();
    for_each_record(opts, bytes, ctx, |record, line, raw| {
        let (values, malformed) = record_values(record, &data_columns, opts, timestamp_format, ctx);
        if let Some(values) = ctx.finish(line, values, malformed, raw)? {
            rows.push(values);
        }
        Ok(())
    })?;
    Ok(rows)
}

/// Parses a message payload as exactly one CSV record (Spark's `from_csv`): no record, or
/// more than one, makes it malformed. `header` does not apply to a payload.
pub(super) fn read_one(
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
    bytes: &[u8],
    ctx: &ReadContext<'_>,
) -> Result<Option<Vec<Value>>> {
    let data_columns = data_columns(ctx);
    let mut reader = reader(opts, bytes);
    let mut record = ::csv::ByteRecord::new();
    let raw = || {
        let text = String::from_utf8_lossy(bytes);
        text.trim_end_matches(['\r', '\n']).to_string()
    };
    let (values, malformed) = match reader.read_byte_record(&mut record) {
        Ok(true) => {
            let record = RecordText::new(record);
            let (values, malformed) =
                record_values(&record, &data_columns, opts, timestamp_format, ctx);
            let mut rest = ::csv::ByteRecord::new();
            match reader.read_byte_record(&mut rest) {
                Ok(false) => (values, malformed),
                _ => (
                    values,
                    Some(Malformed::record("expected one CSV record, found more")),
                ),
            }
        }
        Ok(false) => (
            vec![Value::Null; ctx.schema.len()],
            Some(Malformed::record("empty CSV record")),
        ),
        Err(e) => (
            vec![Value::Null; ctx.schema.len()],
            Some(Malformed::record(format!("cannot read CSV: {e}"))),
        ),
    };
    ctx.finish(1, values, malformed, raw)
}

/// The schema columns read from the input, in order (all but the corrupt-record column).
fn data_columns(ctx: &ReadContext<'_>) -> Vec<usize> {
    (0..ctx.schema.len())
        .filter(|&i| ctx.is_data_column(i))
        .collect()
}

fn reader<'b>(opts: &Csv, bytes: &'b [u8]) -> ::csv::Reader<&'b [u8]> {
    // `prepare` checked that these are ASCII.
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(opts.sep as u8)
        .quote(opts.quote as u8)
        .escape(Some(opts.escape as u8))
        .from_reader(bytes)
}

/// One record's values in schema order, and why it is malformed, if it is.
fn record_values(
    record: &RecordText,
    data_columns: &[usize],
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
    ctx: &ReadContext<'_>,
) -> (Vec<Value>, Option<Malformed>) {
    let schema = ctx.schema;
    let mut values = vec![Value::Null; schema.len()];
    // As Spark's UnivocityParser: a wrong number of fields makes the record malformed, but the
    // fields present are still parsed (missing ones null, extra ones ignored).
    let mut malformed = (record.len() != data_columns.len()).then(|| {
        Malformed::record(format!(
            "expected {} fields, found {}",
            data_columns.len(),
            record.len()
        ))
    });
    for (text, &i) in record.fields().zip(data_columns) {
        // Spark reads an empty field as null, quoted (`""`) or not, with the default
        // `nullValue`.
        if text.is_empty() || text == opts.null_value {
            continue;
        }
        let field = schema.fields()[i];
        match parse_field(&text, field.data_type, opts, timestamp_format) {
            Ok(v) => values[i] = v,
            Err(message) => {
                malformed.get_or_insert_with(|| Malformed::field(field.name, message));
            }
        }
    }
    (values, malformed)
}

fn parse_field(
    text: &str,
    data_type: DataType,
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
) -> Result<Value, String> {
    parse_field_cell(text, data_type, opts, timestamp_format).map(Value::from)
}

/// Encodes rows as CSV lines (and a header line first when asked).
pub(super) fn write<R: Row>(
    opts: &Csv,
    timestamp_format: Option<&TimestampFormat>,
    schema: Schema,
    rows: &[R],
) -> Vec<u8> {
    let mut out = String::new();
    if opts.header {
        for (i, name) in schema.names().into_iter().enumerate() {
            if i > 0 {
                out.push(opts.sep);
            }
            push_field(&mut out, name, opts);
        }
        out.push('\n');
    }
    for row in rows {
        for (i, value) in row.to_values().iter().enumerate() {
            if i > 0 {
                out.push(opts.sep);
            }
            match value {
                Value::Null => out.push_str(&opts.null_value),
                // Spark writes an empty string as `""` so that it reads back as "" not null.
                Value::String(s) if s.is_empty() => {
                    out.push(opts.quote);
                    out.push(opts.quote);
                }
                Value::String(s) => push_field(&mut out, s, opts),
                Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Int(v) => out.push_str(&v.to_string()),
                Value::Long(v) => out.push_str(&v.to_string()),
                Value::Double(d) => out.push_str(&format_double(*d)),
                Value::Timestamp(ts) => push_field(
                    &mut out,
                    &TimestampFormat::write(timestamp_format, *ts),
                    opts,
                ),
                // `prepare` rejects these column types for CSV.
                Value::Window(_) | Value::StringArray(_) | Value::Binary(_) | Value::Headers(_) => {
                }
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Writes a field, quoted when it contains the separator, a quote, the escape character or a
/// line break, with quotes and escapes inside escaped by `escape`.
fn push_field(out: &mut String, text: &str, opts: &Csv) {
    let needs_quotes = text
        .chars()
        .any(|c| c == opts.sep || c == opts.quote || c == opts.escape || c == '\n' || c == '\r');
    if !needs_quotes {
        out.push_str(text);
        return;
    }
    out.push(opts.quote);
    for c in text.chars() {
        if c == opts.quote || c == opts.escape {
            out.push(opts.escape);
        }
        out.push(c);
    }
    out.push(opts.quote);
}
