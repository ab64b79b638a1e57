//! JSON lines to values and back, with the conversions Spark's `JacksonParser` and
//! `JacksonGenerator` make.

use std::borrow::Cow;

use serde_json::Value as J;

use crate::error::Result;
use crate::row::Row;
use crate::time::{Timestamp, Window};
use crate::value::{DataType, Header, Schema, Value, base64_decode, base64_encode, format_double};

use super::builders::{Cell, RecordBuilder};
use super::malformed::{Malformed, ReadContext};
use super::{Chunks, Json, Projection, TimestampFormat, parse_cell};

/// Parses a whole file, one JSON object per line (blank lines are skipped), into typed
/// columns, chunk by chunk, and builds the rows from them. Only the schema's fields are
/// converted (the others are checked to be JSON and skipped); every data column is converted,
/// those the projection leaves out too, so malformed records are found as before.
pub(super) fn read<R: Row>(
    timestamp_format: Option<&TimestampFormat>,
    bytes: &[u8],
    ctx: &ReadContext<'_>,
    projection: &Projection,
    chunks: &mut Chunks<'_, R>,
) -> Result<()> {
    let mut builder = RecordBuilder::new(ctx, |i| projection.reads(i), projection.max_chunk_rows());
    let columns: Vec<Option<Column>> = ctx
        .schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            ctx.is_data_column(i).then_some(Column {
                name: f.name,
                data_type: f.data_type,
                // Any JSON value reads into a string: nothing to check, nothing to keep.
                unread_string: f.data_type == DataType::String && !builder.keeps(i),
            })
        })
        .collect();
    let mut slots: Vec<Option<Converted>> = (0..columns.len()).map(|_| None).collect();
    // The JVM decodes invalid UTF-8 as U+FFFD, and so does Spark's reader: a file that is
    // valid UTF-8 (nearly every one) is checked once and its lines borrowed, the others are
    // decoded line by line.
    let lines: Box<dyn Iterator<Item = Cow<'_, str>>> = match std::str::from_utf8(bytes) {
        Ok(text) => Box::new(text.split('\n').map(Cow::Borrowed)),
        Err(_) => Box::new(bytes.split(|&b| b == b'\n').map(String::from_utf8_lossy)),
    };
    for (n, line) in lines.enumerate() {
        let text = line.strip_suffix('\r').unwrap_or(&line);
        if text.bytes().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let malformed = record_cells(text, &columns, &mut slots, timestamp_format, &mut builder);
        builder.end_record(ctx, n as u64 + 1, malformed, || text.to_string(), chunks)?;
    }
    builder.flush(ctx, chunks)?;
    chunks.finish()
}

/// A schema column that lines' fields are read into.
struct Column {
    name: &'static str,
    data_type: DataType,
    /// A string column the query does not read: its values are neither converted nor kept.
    unread_string: bool,
}

/// What a line's field of a column became, converted as the line was read.
enum Converted {
    /// A cell of the column's type (`None`: null).
    Cell(Option<Cell>),
    /// A value of an unread string column, and whether it was null.
    Unread { null: bool },
    /// Why the value does not convert.
    Bad(String),
}

impl Column {
    fn convert(&self, field: Field<'_>, timestamp_format: Option<&TimestampFormat>) -> Converted {
        if self.unread_string {
            return Converted::Unread {
                null: matches!(field, Field::Null),
            };
        }
        match from_field_cell(field, self.data_type, timestamp_format) {
            Ok(cell) => Converted::Cell(cell),
            Err(message) => Converted::Bad(message),
        }
    }
}

/// A field's value as the line holds it: scalars as they are, a string borrowed from the line
/// when it has no escapes, arrays and objects as JSON values.
#[derive(Debug)]
enum Field<'de> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'de, str>),
    Nested(J),
}

impl Field<'_> {
    /// The field as a JSON value (what the general conversion and its messages take).
    fn into_json(self) -> J {
        match self {
            Field::Null => J::Null,
            Field::Bool(b) => J::Bool(b),
            Field::I64(i) => J::from(i),
            Field::U64(u) => J::from(u),
            Field::F64(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            Field::Str(s) => J::String(s.into_owned()),
            Field::Nested(json) => json,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Field<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> serde::de::Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Field<'de>, E> {
        Ok(Field::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Field<'de>, E> {
        Ok(Field::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Field<'de>, E> {
        Ok(Field::I64(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Field<'de>, E> {
        // As `serde_json::Value` holds it: a non-negative integer is a `u64` only past `i64`.
        Ok(i64::try_from(u).map_or(Field::U64(u), Field::I64))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Field<'de>, E> {
        Ok(Field::F64(f))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
        use serde::Deserialize;
        J::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Field::Nested)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        use serde::Deserialize;
        J::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Field::Nested)
    }
}

/// A field as a typed cell of `data_type`: the common cases straight from the line (no JSON
/// value built, a string borrowed until it is kept), every other one — and every error —
/// through [`from_json_cell`], so both give the same cells and the same messages.
fn from_field_cell(
    field: Field<'_>,
    data_type: DataType,
    timestamp_format: Option<&TimestampFormat>,
) -> Result<Option<Cell>, String> {
    let cell = match (data_type, &field) {
        (_, Field::Null) => return Ok(None),
        (DataType::Long, Field::I64(i)) => Some(Cell::Long(*i)),
        (DataType::Int, Field::I64(i)) => i32::try_from(*i).ok().map(Cell::Int),
        (DataType::Double, Field::F64(f)) => Some(Cell::Double(*f)),
        (DataType::Double, Field::I64(i)) => Some(Cell::Double(*i as f64)),
        (DataType::Boolean, Field::Bool(b)) => Some(Cell::Boolean(*b)),
        (DataType::Timestamp, Field::Str(s)) => {
            parse_cell(s, DataType::Timestamp, timestamp_format).ok()
        }
        (DataType::Timestamp, Field::I64(i)) => i.checked_mul(1_000_000).map(Cell::Timestamp),
        _ => None,
    };
    match (cell, field) {
        (Some(cell), _) => Ok(Some(cell)),
        // The string itself, moved (no copy when the line had to unescape it).
        (None, Field::Str(s)) if data_type == DataType::String => {
            Ok(Some(Cell::String(s.into_owned())))
        }
        (None, field) => from_json_cell(&field.into_json(), data_type, timestamp_format),
    }
}

/// Parses one line into the builder's columns; returns why it is malformed, if it is (as
/// [`read_record`], typed).
fn record_cells(
    text: &str,
    columns: &[Option<Column>],
    slots: &mut [Option<Converted>],
    timestamp_format: Option<&TimestampFormat>,
    builder: &mut RecordBuilder,
) -> Option<Malformed> {
    slots.iter_mut().for_each(|s| *s = None);
    let mut de = serde_json::Deserializer::from_str(text);
    let line = Line {
        columns,
        slots,
        timestamp_format,
    };
    let parsed = serde::Deserializer::deserialize_any(&mut de, line)
        .and_then(|object| de.end().map(|()| object));
    let mut malformed = match parsed {
        Ok(Ok(())) => None,
        Ok(Err(kind)) => Some(Malformed::record(format!(
            "expected a JSON object, found {kind}"
        ))),
        Err(e) => Some(Malformed::record(format!("invalid JSON: {e}"))),
    };
    let object = malformed.is_none();
    for (i, column) in columns.iter().enumerate() {
        let Some(column) = column else { continue };
        let converted = if object { slots[i].take() } else { None };
        match converted {
            None | Some(Converted::Unread { null: true }) => builder.set(i, None),
            Some(Converted::Unread { null: false }) => builder.set_unread(i),
            Some(Converted::Cell(cell)) => builder.set(i, cell),
            Some(Converted::Bad(message)) => {
                malformed.get_or_insert_with(|| Malformed::field(column.name, message));
                builder.set(i, None);
            }
        }
    }
    malformed
}

/// Visits one JSON line: an object's fields of the schema are converted into `slots` (the last
/// of a repeated name wins, as in a JSON object read whole), the others skipped; any other
/// JSON value is walked to its end and named (`Err("an array")`).
struct Line<'s> {
    columns: &'s [Option<Column>],
    slots: &'s mut [Option<Converted>],
    timestamp_format: Option<&'s TimestampFormat>,
}

/// A field name, as the index of the schema column it names.
struct Key<'s>(&'s [Option<Column>]);

impl<'de> serde::de::DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.name == key)))
    }
}

impl<'de> serde::de::Visitor<'de> for Line<'_> {
    type Value = Result<(), &'static str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key_seed(Key(self.columns))? {
            match (key, key.and_then(|i| self.columns[i].as_ref())) {
                (Some(i), Some(column)) => {
                    let field = map.next_value::<Field<'de>>()?;
                    self.slots[i] = Some(column.convert(field, self.timestamp_format));
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Ok(()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Err("an array"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
}

/// The record-at-a-time reader, through values: the reader before typed columns, kept as
/// the property tests' reference (`fuzz.rs`: both read every input alike).
#[cfg(test)]
pub(super) fn read_values(
    timestamp_format: Option<&TimestampFormat>,
    bytes: &[u8],
    ctx: &ReadContext<'_>,
) -> Result<Vec<Vec<Value>>> {
    let mut rows = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if let Some(values) = read_record(&text, n as u64 + 1, timestamp_format, ctx)? {
            rows.push(values);
        }
    }
    Ok(rows)
}

/// Parses one record: a JSON object (one line of a file, or a whole message payload, which
/// may span lines), under the context's malformed-record policy.
pub(super) fn read_record(
    text: &str,
    line: u64,
    timestamp_format: Option<&TimestampFormat>,
    ctx: &ReadContext<'_>,
) -> Result<Option<Vec<Value>>> {
    let schema = ctx.schema;
    let mut values = vec![Value::Null; schema.len()];
    let malformed = match serde_json::from_str::<J>(text) {
        Ok(J::Object(object)) => {
            let mut malformed = None;
            for (i, field) in schema.fields().iter().enumerate() {
                if !ctx.is_data_column(i) {
                    continue;
                }
                let Some(json) = object.get(field.name) else {
                    continue;
                };
                match from_json(json, field.data_type, timestamp_format) {
                    Ok(v) => values[i] = v,
                    Err(message) => {
                        malformed.get_or_insert_with(|| Malformed::field(field.name, message));
                    }
                }
            }
            malformed
        }
        Ok(other) => Some(Malformed::record(format!(
            "expected a JSON object, found {}",
            kind(&other)
        ))),
        Err(e) => Some(Malformed::record(format!("invalid JSON: {e}"))),
    };
    ctx.finish(line, values, malformed, || text.to_string())
}

fn kind(json: &J) -> &'static str {
    match json {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

fn from_json(
    json: &J,
    data_type: DataType,
    timestamp_format: Option<&TimestampFormat>,
) -> Result<Value, String> {
    from_json_cell(json, data_type, timestamp_format).map(|c| c.map_or(Value::Null, Value::from))
}

/// A JSON value as a typed cell of `data_type` (`None`: null), with Spark's `JacksonParser`
/// conversions: the one converter of JSON values, for values and for typed columns alike.
fn from_json_cell(
    json: &J,
    data_type: DataType,
    timestamp_format: Option<&TimestampFormat>,
) -> Result<Option<Cell>, String> {
    let bad = || {
        format!(
            "cannot convert {} {json} to {}",
            kind(json),
            data_type.sql_name().to_lowercase()
        )
    };
    Ok(Some(match (data_type, json) {
        (_, J::Null) => return Ok(None),
        (DataType::String, J::String(s)) => Cell::String(s.clone()),
        // Spark reads any other JSON value into a string column as its text.
        (DataType::String, other) => Cell::String(other.to_string()),
        (DataType::Int, J::Number(n)) => Cell::Int(
            n.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(bad)?,
        ),
        (DataType::Long, J::Number(n)) => Cell::Long(n.as_i64().ok_or_else(bad)?),
        (DataType::Double, J::Number(n)) => Cell::Double(n.as_f64().ok_or_else(bad)?),
        (DataType::Double, J::String(s)) => Cell::Double(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" | "+Infinity" | "INF" | "+INF" => f64::INFINITY,
            "-Infinity" | "-INF" => f64::NEG_INFINITY,
            _ => return Err(bad()),
        }),
        (DataType::Boolean, J::Bool(b)) => Cell::Boolean(*b),
        (DataType::Timestamp, J::String(s)) => {
            parse_cell(s, DataType::Timestamp, timestamp_format)?
        }
        // A JSON integer in a timestamp column is seconds since the epoch, as in Spark.
        (DataType::Timestamp, J::Number(n)) => Cell::Timestamp(
            n.as_i64()
                .and_then(|s| s.checked_mul(1_000_000))
                .ok_or_else(bad)?,
        ),
        (DataType::Window, J::Object(o)) => {
            let bound = |name: &str| match o.get(name) {
                Some(J::String(s)) => match parse_cell(s, DataType::Timestamp, timestamp_format) {
                    Ok(Cell::Timestamp(ts)) => Some(Timestamp::from_micros(ts)),
                    _ => None,
                },
                _ => None,
            };
            match (bound("start"), bound("end")) {
                (Some(start), Some(end)) => Cell::Window(Window { start, end }),
                _ => return Err(bad()),
            }
        }
        (DataType::StringArray, J::Array(items)) => Cell::StringArray(
            items
                .iter()
                .map(|item| match item {
                    J::String(s) => Ok(s.clone()),
                    // array<string> elements are not nullable.
                    J::Null => Err(bad()),
                    other => Ok(other.to_string()),
                })
                .collect::<Result<_, _>>()?,
        ),
        // Spark's JacksonParser reads a binary column from base64 text.
        (DataType::Binary, J::String(s)) => Cell::Binary(base64_decode(s).ok_or_else(bad)?),
        (DataType::Headers, J::Array(items)) => Cell::Headers(
            items
                .iter()
                .map(|item| {
                    let J::Object(o) = item else {
                        return Err(bad());
                    };
                    let key = match o.get("key") {
                        Some(J::String(k)) => k.clone(),
                        _ => return Err(bad()),
                    };
                    let value = match o.get("value") {
                        None | Some(J::Null) => None,
                        Some(J::String(v)) => Some(base64_decode(v).ok_or_else(bad)?),
                        Some(_) => return Err(bad()),
                    };
                    Ok(Header { key, value })
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(bad()),
    }))
}

/// Encodes rows as JSON lines, fields in schema order.
pub(super) fn write<R: Row>(
    opts: &Json,
    timestamp_format: Option<&TimestampFormat>,
    schema: Schema,
    rows: &[R],
) -> Vec<u8> {
    let mut out = String::new();
    for row in rows {
        out.push('{');
        let mut first = true;
        for (field, value) in schema.fields().iter().zip(row.to_values()) {
            if value.is_null() && !opts.write_null_fields {
                continue;
            }
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            out.push_str(&J::String(field.name.to_string()).to_string());
            out.push(':');
            push_value(&mut out, &value, timestamp_format);
        }
        out.push_str("}\n");
    }
    out.into_bytes()
}

fn push_value(out: &mut String, value: &Value, timestamp_format: Option<&TimestampFormat>) {
    let quoted = |s: &str| J::String(s.to_string()).to_string();
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(v) => out.push_str(&v.to_string()),
        Value::Long(v) => out.push_str(&v.to_string()),
        // The JVM's digits (`1.0E7` is valid JSON); Jackson quotes NaN and the infinities.
        Value::Double(d) if d.is_finite() => out.push_str(&format_double(*d)),
        Value::Double(d) => out.push_str(&quoted(&format_double(*d))),
        Value::String(s) => out.push_str(&quoted(s)),
        Value::Timestamp(ts) => {
            out.push_str(&quoted(&TimestampFormat::write(timestamp_format, *ts)))
        }
        Value::Window(w) => {
            out.push_str("{\"start\":");
            out.push_str(&quoted(&TimestampFormat::write(timestamp_format, w.start)));
            out.push_str(",\"end\":");
            out.push_str(&quoted(&TimestampFormat::write(timestamp_format, w.end)));
            out.push('}');
        }
        Value::StringArray(items) => out.push_str(&J::from(items.clone()).to_string()),
        // Jackson writes binary as base64 text.
        Value::Binary(bytes) => out.push_str(&quoted(&base64_encode(bytes))),
        Value::Headers(headers) => out.push_str(
            &J::Array(headers.iter().map(crate::value::header_json).collect()).to_string(),
        ),
    }
}
