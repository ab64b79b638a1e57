//! Parquet files to values and back, with the `parquet` crate's record reader and column
//! writers (no Arrow: a micro-batch's file is small, and Arrow would double the build).

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::record::Field as P;
use parquet::schema::parser::parse_message_type;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::time::{MICROS_PER_DAY, Timestamp, Window};
use crate::value::{DataType, Schema, Value};

use super::malformed::{Malformed, ReadContext};
use super::{Parquet, ParquetCompression};

fn error(ctx_file: &str, message: impl std::fmt::Display) -> Error {
    Error::Source {
        source_name: ctx_file.to_string(),
        message: message.to_string(),
    }
}

/// Reads every row of a Parquet file, matching columns by name.
pub(super) fn read(bytes: &[u8], ctx: &ReadContext<'_>) -> Result<Vec<Vec<Value>>> {
    // A damaged file must fail the read, never the process: the decoder's assertions on
    // inconsistent metadata become a read error.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_rows(bytes, ctx))).unwrap_or_else(
        |panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(error(
                ctx.file,
                format!("damaged Parquet file (the decoder failed: {why})"),
            ))
        },
    )
}

/// Checks what the decoder would otherwise assert (and panic on): column chunks inside the
/// file, and a dictionary page before any page encoded with it.
fn check_damage(reader: &SerializedFileReader<bytes::Bytes>, len: u64) -> Result<(), String> {
    use parquet::basic::Encoding;
    use parquet::column::page::Page;

    for (g, group) in reader.metadata().row_groups().iter().enumerate() {
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let size = column.compressed_size();
            if start < 0 || size < 0 || (start as u64).saturating_add(size as u64) > len {
                return Err(format!(
                    "damaged Parquet file: column chunk {c} of row group {g} lies outside the file ({start}+{size} of {len} bytes)"
                ));
            }
            let mut pages = reader
                .get_row_group(g)
                .and_then(|r| r.get_column_page_reader(c))
                .map_err(|e| format!("damaged Parquet file: {e}"))?;
            let mut dictionary = false;
            while let Some(page) = pages
                .get_next_page()
                .map_err(|e| format!("damaged Parquet file: {e}"))?
            {
                let encoding = match page {
                    Page::DictionaryPage { .. } => {
                        dictionary = true;
                        continue;
                    }
                    Page::DataPage { encoding, .. } | Page::DataPageV2 { encoding, .. } => encoding,
                };
                if matches!(
                    encoding,
                    Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY
                ) && !dictionary
                {
                    return Err(format!(
                        "damaged Parquet file: column chunk {c} of row group {g} has a dictionary-encoded page but no dictionary"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn read_rows(bytes: &[u8], ctx: &ReadContext<'_>) -> Result<Vec<Vec<Value>>> {
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes))
        .map_err(|e| error(ctx.file, format!("not a Parquet file: {e}")))?;
    check_damage(&reader, bytes.len() as u64).map_err(|e| error(ctx.file, e))?;
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| error(ctx.file, format!("cannot read Parquet rows: {e}")))?;
    let schema = ctx.schema;
    let mut out = Vec::new();
    for (n, row) in rows.enumerate() {
        let row = row.map_err(|e| error(ctx.file, format!("cannot read Parquet rows: {e}")))?;
        let mut values = vec![Value::Null; schema.len()];
        let mut malformed = None;
        for (name, field) in row.get_column_iter() {
            let Some(i) = schema.index_of(name).filter(|&i| ctx.is_data_column(i)) else {
                continue;
            };
            let column = schema.fields()[i];
            match convert(field, column.data_type) {
                Some(v) => values[i] = v,
                None => {
                    return Err(error(
                        ctx.file,
                        format!(
                            "Parquet column cannot be converted: column `{name}`, expected {}, found {field:?}",
                            column.data_type.sql_name()
                        ),
                    ));
                }
            }
            if values[i].is_null() && !column.nullable {
                malformed.get_or_insert_with(|| {
                    Malformed::field(column.name, "null value in a column that is not nullable")
                });
            }
        }
        if let Some(values) = ctx.finish(n as u64 + 1, values, malformed, || row.to_string())? {
            out.push(values);
        }
    }
    Ok(out)
}

fn convert(field: &P, data_type: DataType) -> Option<Value> {
    Some(match (data_type, field) {
        (_, P::Null) => Value::Null,
        (DataType::Boolean, P::Bool(b)) => Value::Boolean(*b),
        (DataType::Int, P::Byte(v)) => Value::Int(i32::from(*v)),
        (DataType::Int, P::Short(v)) => Value::Int(i32::from(*v)),
        (DataType::Int, P::Int(v)) => Value::Int(*v),
        (DataType::Long, P::Byte(v)) => Value::Long(i64::from(*v)),
        (DataType::Long, P::Short(v)) => Value::Long(i64::from(*v)),
        (DataType::Long, P::Int(v)) => Value::Long(i64::from(*v)),
        (DataType::Long, P::Long(v)) => Value::Long(*v),
        (DataType::Double, P::Float(v)) => Value::Double(f64::from(*v)),
        (DataType::Double, P::Double(v)) => Value::Double(*v),
        (DataType::String, P::Str(s)) => Value::String(s.clone()),
        (DataType::Binary, P::Bytes(b)) => Value::Binary(b.data().to_vec()),
        // A STRING-annotated column read into a binary column: its bytes, as Spark's cast.
        (DataType::Binary, P::Str(s)) => Value::Binary(s.as_bytes().to_vec()),
        (DataType::Timestamp, P::TimestampMicros(v)) => {
            Value::Timestamp(Timestamp::from_micros(*v))
        }
        // Spark's legacy INT96 timestamps come through as milliseconds.
        (DataType::Timestamp, P::TimestampMillis(v)) => {
            Value::Timestamp(Timestamp::from_millis(*v))
        }
        (DataType::Timestamp, P::Date(days)) => {
            Value::Timestamp(Timestamp::from_micros(i64::from(*days) * MICROS_PER_DAY))
        }
        (DataType::Window, P::Group(row)) => {
            let mut start = None;
            let mut end = None;
            for (name, f) in row.get_column_iter() {
                let ts = match convert(f, DataType::Timestamp)? {
                    Value::Timestamp(ts) => Some(ts),
                    _ => None,
                };
                match name.as_str() {
                    "start" => start = ts,
                    "end" => end = ts,
                    _ => {}
                }
            }
            Value::Window(Window {
                start: start?,
                end: end?,
            })
        }
        _ => return None,
    })
}

fn repetition(nullable: bool) -> &'static str {
    if nullable { "optional" } else { "required" }
}

/// The Parquet schema of a row type, as Spark writes the same Spark types.
fn message_type(schema: Schema) -> String {
    let mut text = String::from("message spark_schema {\n");
    for f in schema.fields() {
        let rep = repetition(f.nullable);
        let name = f.name;
        let line = match f.data_type {
            DataType::Boolean => format!("{rep} boolean {name};"),
            DataType::Int => format!("{rep} int32 {name};"),
            DataType::Long => format!("{rep} int64 {name};"),
            DataType::Double => format!("{rep} double {name};"),
            DataType::String => format!("{rep} binary {name} (STRING);"),
            DataType::Binary => format!("{rep} binary {name};"),
            DataType::Timestamp => format!("{rep} int64 {name} (TIMESTAMP(MICROS,true));"),
            DataType::Window => format!(
                "{rep} group {name} {{ required int64 start (TIMESTAMP(MICROS,true)); required int64 end (TIMESTAMP(MICROS,true)); }}"
            ),
            // `prepare` rejects these for Parquet.
            DataType::StringArray | DataType::Headers => continue,
        };
        text.push_str("  ");
        text.push_str(&line);
        text.push('\n');
    }
    text.push('}');
    text
}

/// One leaf column's values and definition levels.
struct Leaf<T> {
    values: Vec<T>,
    defs: Vec<i16>,
}

impl<T> Leaf<T> {
    fn new() -> Self {
        Leaf {
            values: Vec::new(),
            defs: Vec::new(),
        }
    }

    fn push(&mut self, value: Option<T>) {
        match value {
            Some(v) => {
                self.values.push(v);
                self.defs.push(1);
            }
            None => self.defs.push(0),
        }
    }
}

fn write_leaf<T: parquet::data_type::DataType>(
    group: &mut SerializedRowGroupWriter<'_, &mut Vec<u8>>,
    leaf: &Leaf<T::T>,
    nullable: bool,
) -> parquet::errors::Result<()> {
    let mut column = group
        .next_column()?
        .expect("the Parquet schema has a column per leaf");
    let defs = nullable.then_some(leaf.defs.as_slice());
    column.typed::<T>().write_batch(&leaf.values, defs, None)?;
    column.close()
}

/// Encodes rows as a Parquet file with one row group.
pub(super) fn write<R: Row>(opts: &Parquet, schema: Schema, rows: &[R]) -> Result<Vec<u8>> {
    let fail = |e: parquet::errors::ParquetError| Error::Sink {
        sink_name: "parquet".into(),
        message: format!("cannot write Parquet: {e}"),
    };
    let parquet_schema = Arc::new(parse_message_type(&message_type(schema)).map_err(fail)?);
    let compression = match opts.compression {
        ParquetCompression::Snappy => Compression::SNAPPY,
        ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
    };
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(compression)
            .build(),
    );
    let values: Vec<Vec<Value>> = rows.iter().map(Row::to_values).collect();
    let mut buffer = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buffer, parquet_schema, props).map_err(fail)?;
    let mut group = writer.next_row_group().map_err(fail)?;
    for (i, field) in schema.fields().iter().enumerate() {
        let column = values.iter().map(|row| &row[i]);
        let nullable = field.nullable;
        let result = match field.data_type {
            DataType::Boolean => {
                let mut leaf = Leaf::new();
                column.for_each(|v| {
                    leaf.push(match v {
                        Value::Boolean(b) => Some(*b),
                        _ => None,
                    })
                });
                write_leaf::<BoolType>(&mut group, &leaf, nullable)
            }
            DataType::Int => {
                let mut leaf = Leaf::new();
                column.for_each(|v| {
                    leaf.push(match v {
                        Value::Int(x) => Some(*x),
                        _ => None,
                    })
                });
                write_leaf::<Int32Type>(&mut group, &leaf, nullable)
            }
            DataType::Long | DataType::Timestamp => {
                let mut leaf = Leaf::new();
                column.for_each(|v| {
                    leaf.push(match v {
                        Value::Long(x) => Some(*x),
                        Value::Timestamp(ts) => Some(ts.as_micros()),
                        _ => None,
                    })
                });
                write_leaf::<Int64Type>(&mut group, &leaf, nullable)
            }
            DataType::Double => {
                let mut leaf = Leaf::new();
                column.for_each(|v| {
                    leaf.push(match v {
                        Value::Double(x) => Some(*x),
                        _ => None,
                    })
                });
                write_leaf::<DoubleType>(&mut group, &leaf, nullable)
            }
            DataType::String => {
                let mut leaf = Leaf::new();
                column.for_each(|v| {
                    leaf.push(match v {
                        Value::String(s) => Some(ByteArray::from(s.as_bytes().to_vec())),
                        _ => None,
                    })
                });
                write_leaf::<ByteArrayType>(&mut group, &leaf, nullable)
            }
            DataType::Window => {
                // Two required leaves under the group; a null window is defined at level 0.
                let mut starts = Leaf::new();
                let mut ends = Leaf::new();
                for v in column {
                    let w = match v {
                        Value::Window(w) => Some(*w),
                        _ => None,
                    };
                    starts.push(w.map(|w| w.start.as_micros()));
                    ends.push(w.map(|w| w.end.as_micros()));
                }
                write_leaf::<Int64Type>(&mut group, &starts, nullable)
                    .and_then(|()| write_leaf::<Int64Type>(&mut group, &ends, nullable))
            }
            DataType::Binary => {
                let mut leaf = Leaf::new();
                column.for_each(|v| {
                    leaf.push(match v {
                        Value::Binary(b) => Some(ByteArray::from(b.clone())),
                        _ => None,
                    })
                });
                write_leaf::<ByteArrayType>(&mut group, &leaf, nullable)
            }
            DataType::StringArray | DataType::Headers => Ok(()),
        };
        result.map_err(fail)?;
    }
    group.close().map_err(fail)?;
    writer.close().map_err(fail)?;
    Ok(buffer)
}
