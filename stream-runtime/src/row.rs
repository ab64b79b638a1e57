//! The [`Row`] trait every typed row implements (generated output rows, declared input schemas,
//! the built-in source rows), and the built-in row types: [`RateRow`], [`TextLine`] and
//! [`KafkaRow`].

use std::fmt::Debug;

use crate::columns::{Columns, column_reader};
use crate::time::Timestamp;
use crate::value::{ColumnType, DataType, Field, Header, Schema, Value, ValueTypeError};

/// A typed row with a static [`Schema`].
///
/// `pipeline!` implements this for every row struct it generates; sources produce rows of a
/// `Row` type and sinks consume them. Conversions to and from [`Value`]s are used only at the
/// edges (console, files, memory tables); pipelines read the fields directly.
pub trait Row: Clone + Debug + Send + Sync + 'static {
    /// The columns of this row type.
    const SCHEMA: Schema;

    /// The column values, in schema order.
    fn to_values(&self) -> Vec<Value>;

    /// Builds a row from column values in schema order.
    fn from_values(values: Vec<Value>) -> Result<Self, RowError>;

    /// Builds a chunk's rows from typed columns (one per schema column, in schema order) and
    /// appends them to `out`: how the file readers build rows, without a [`Value`] per cell.
    /// `pipeline!` generates a columnar builder; the default goes through
    /// [`Row::from_values`].
    fn from_columns(columns: Columns<'_>, out: &mut Vec<Self>) -> Result<(), RowError> {
        crate::columns::rows_from_values(columns, out)
    }
}

/// An error building a typed row from dynamic values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    /// Wrong number of values.
    #[error("expected {expected} columns, found {found}")]
    Arity {
        /// Columns in the schema.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A value of the wrong type for a column.
    #[error("column `{column}`: {source}")]
    Type {
        /// The column name.
        column: &'static str,
        /// The mismatch.
        source: ValueTypeError,
    },
}

/// Reads the next column value while building a row from values (used by generated code).
#[doc(hidden)]
pub fn take_column<T: ColumnType>(
    values: &mut std::vec::IntoIter<Value>,
    column: &'static str,
) -> Result<T, RowError> {
    let value = values.next().unwrap_or(Value::Null);
    T::from_value(value).map_err(|source| RowError::Type { column, source })
}

/// Checks the number of values before building a row from them (used by generated code).
#[doc(hidden)]
pub fn check_arity(values: &[Value], expected: usize) -> Result<(), RowError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(RowError::Arity {
            expected,
            found: values.len(),
        })
    }
}

/// A row of the rate source: Spark's `rate` format schema
/// (`timestamp: timestamp, value: long`).
///
/// In a `pipeline!`, `from Rate` reads rows of this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RateRow {
    /// When the row was generated.
    pub timestamp: Timestamp,
    /// A counter: 0, 1, 2, ... with no gaps or repeats.
    pub value: i64,
}

static RATE_FIELDS: [Field; 2] = [
    Field::new("timestamp", DataType::Timestamp, false),
    Field::new("value", DataType::Long, false),
];

impl Row for RateRow {
    const SCHEMA: Schema = Schema::new(&RATE_FIELDS);

    fn to_values(&self) -> Vec<Value> {
        vec![Value::Timestamp(self.timestamp), Value::Long(self.value)]
    }

    fn from_values(values: Vec<Value>) -> Result<Self, RowError> {
        check_arity(&values, 2)?;
        let mut it = values.into_iter();
        Ok(RateRow {
            timestamp: take_column(&mut it, "timestamp")?,
            value: take_column(&mut it, "value")?,
        })
    }

    fn from_columns(columns: Columns<'_>, out: &mut Vec<Self>) -> Result<(), RowError> {
        use crate::columns::ColumnReader;
        let n = columns.len();
        let mut columns = columns.into_columns();
        let mut timestamp = column_reader::<Timestamp>(&mut columns, "timestamp")?;
        let mut value = column_reader::<i64>(&mut columns, "value")?;
        out.reserve(n);
        for i in 0..n {
            out.push(RateRow {
                timestamp: timestamp.get(i),
                value: value.get(i),
            });
        }
        Ok(())
    }
}

/// A line of text: the socket source's row (Spark's `socket` format, `value: string`), with the
/// time it was received when the source is asked to include it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TextLine {
    /// The line, without its line terminator.
    pub value: String,
    /// When the line was received (Spark's `includeTimestamp` option).
    pub timestamp: Timestamp,
}

static TEXT_LINE_FIELDS: [Field; 2] = [
    Field::new("value", DataType::String, false),
    Field::new("timestamp", DataType::Timestamp, false),
];

impl Row for TextLine {
    const SCHEMA: Schema = Schema::new(&TEXT_LINE_FIELDS);

    fn to_values(&self) -> Vec<Value> {
        vec![
            Value::String(self.value.clone()),
            Value::Timestamp(self.timestamp),
        ]
    }

    fn from_values(values: Vec<Value>) -> Result<Self, RowError> {
        check_arity(&values, 2)?;
        let mut it = values.into_iter();
        Ok(TextLine {
            value: take_column(&mut it, "value")?,
            timestamp: take_column(&mut it, "timestamp")?,
        })
    }
}

/// A Kafka record: Spark's `kafka` source schema. In a `pipeline!`, `from Kafka` reads rows of
/// this type.
///
/// Spark names the timestamp type column `timestampType`; here it is `timestamp_type`, a Rust
/// field name. Spark adds `headers` only with `includeHeaders`; this row always has the column,
/// null unless the source was asked to include headers (and for a record without headers, as
/// in Spark).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct KafkaRow {
    /// The record's key (null when it has none).
    pub key: Option<Vec<u8>>,
    /// The record's value (null for a tombstone).
    pub value: Option<Vec<u8>>,
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp (milliseconds, as Kafka keeps it).
    pub timestamp: Timestamp,
    /// What the timestamp means: `0` create time, `1` log-append time, `-1` none (Kafka's
    /// `TimestampType` ids, as Spark reports them).
    pub timestamp_type: i32,
    /// The record's headers, with `include_headers(true)`.
    pub headers: Option<Vec<Header>>,
}

static KAFKA_FIELDS: [Field; 8] = [
    Field::new("key", DataType::Binary, true),
    Field::new("value", DataType::Binary, true),
    Field::new("topic", DataType::String, false),
    Field::new("partition", DataType::Int, false),
    Field::new("offset", DataType::Long, false),
    Field::new("timestamp", DataType::Timestamp, false),
    Field::new("timestamp_type", DataType::Int, false),
    Field::new("headers", DataType::Headers, true),
];

impl Row for KafkaRow {
    const SCHEMA: Schema = Schema::new(&KAFKA_FIELDS);

    fn to_values(&self) -> Vec<Value> {
        vec![
            self.key.to_value(),
            self.value.to_value(),
            Value::String(self.topic.clone()),
            Value::Int(self.partition),
            Value::Long(self.offset),
            Value::Timestamp(self.timestamp),
            Value::Int(self.timestamp_type),
            self.headers.to_value(),
        ]
    }

    fn from_values(values: Vec<Value>) -> Result<Self, RowError> {
        check_arity(&values, 8)?;
        let mut it = values.into_iter();
        Ok(KafkaRow {
            key: take_column(&mut it, "key")?,
            value: take_column(&mut it, "value")?,
            topic: take_column(&mut it, "topic")?,
            partition: take_column(&mut it, "partition")?,
            offset: take_column(&mut it, "offset")?,
            timestamp: take_column(&mut it, "timestamp")?,
            timestamp_type: take_column(&mut it, "timestamp_type")?,
            headers: take_column(&mut it, "headers")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_row_round_trips_through_values() {
        let row = RateRow {
            timestamp: Timestamp::from_secs(5),
            value: 7,
        };
        let values = row.to_values();
        assert_eq!(RateRow::from_values(values).unwrap(), row);
        assert_eq!(
            RateRow::from_values(vec![Value::Long(1)]),
            Err(RowError::Arity {
                expected: 2,
                found: 1
            })
        );
        let kafka = KafkaRow {
            key: None,
            value: Some(b"v".to_vec()),
            topic: "t".into(),
            partition: 1,
            offset: 7,
            timestamp: Timestamp::from_millis(5),
            timestamp_type: 0,
            headers: Some(vec![Header::new("h", *b"x")]),
        };
        assert_eq!(KafkaRow::from_values(kafka.to_values()).unwrap(), kafka);
        assert!(matches!(
            RateRow::from_values(vec![Value::Long(1), Value::Long(1)]),
            Err(RowError::Type {
                column: "timestamp",
                ..
            })
        ));
    }
}
