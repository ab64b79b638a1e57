//! JSON lines to values and back, with the conversions Spark's `JacksonParser` and
//! `JacksonGenerator` make.

use serde_json::Value as J;

use crate::error::Result;
use crate::row::Row;
use crate::time::{Timestamp, Window};
use crate::value::{DataType, Header, Schema, Value, base64_decode, base64_encode, format_double};

use super::malformed::{Malformed, ReadContext};
use super::{Json, TimestampFormat, parse_text};

/// Parses a whole file, one JSON object per line; blank lines are skipped.
pub(super) fn read(
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
        // The JVM decodes invalid UTF-8 as U+FFFD, and so does Spark's reader.
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
    let bad = || {
        format!(
            "cannot convert {} {json} to {}",
            kind(json),
            data_type.sql_name().to_lowercase()
        )
    };
    Ok(match (data_type, json) {
        (_, J::Null) => Value::Null,
        (DataType::String, J::String(s)) => Value::String(s.clone()),
        // Spark reads any other JSON value into a string column as its text.
        (DataType::String, other) => Value::String(other.to_string()),
        (DataType::Int, J::Number(n)) => Value::Int(
            n.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(bad)?,
        ),
        (DataType::Long, J::Number(n)) => Value::Long(n.as_i64().ok_or_else(bad)?),
        (DataType::Double, J::Number(n)) => Value::Double(n.as_f64().ok_or_else(bad)?),
        (DataType::Double, J::String(s)) => Value::Double(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" | "+Infinity" | "INF" | "+INF" => f64::INFINITY,
            "-Infinity" | "-INF" => f64::NEG_INFINITY,
            _ => return Err(bad()),
        }),
        (DataType::Boolean, J::Bool(b)) => Value::Boolean(*b),
        (DataType::Timestamp, J::String(s)) => {
            parse_text(s, DataType::Timestamp, timestamp_format)?
        }
        // A JSON integer in a timestamp column is seconds since the epoch, as in Spark.
        (DataType::Timestamp, J::Number(n)) => Value::Timestamp(Timestamp::from_micros(
            n.as_i64()
                .and_then(|s| s.checked_mul(1_000_000))
                .ok_or_else(bad)?,
        )),
        (DataType::Window, J::Object(o)) => {
            let bound = |name: &str| match o.get(name) {
                Some(J::String(s)) => match parse_text(s, DataType::Timestamp, timestamp_format) {
                    Ok(Value::Timestamp(ts)) => Some(ts),
                    _ => None,
                },
                _ => None,
            };
            match (bound("start"), bound("end")) {
                (Some(start), Some(end)) => Value::Window(Window { start, end }),
                _ => return Err(bad()),
            }
        }
        (DataType::StringArray, J::Array(items)) => Value::StringArray(
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
        (DataType::Binary, J::String(s)) => Value::Binary(base64_decode(s).ok_or_else(bad)?),
        (DataType::Headers, J::Array(items)) => Value::Headers(
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
    })
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
