//! Parquet files: read with the `parquet` crate's Arrow reader into typed rows ([`read`]),
//! written with its column writers from rows' values.

mod damage;
pub(crate) mod read;

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::parser::parse_message_type;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::{DataType, Schema, Value};

use super::{Parquet, ParquetCompression};

fn error(ctx_file: &str, message: impl std::fmt::Display) -> Error {
    Error::Source {
        source_name: ctx_file.to_string(),
        message: message.to_string(),
    }
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

#[cfg(test)]
mod tests;
