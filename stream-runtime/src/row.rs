//! The [`Row`] trait every typed row implements (generated output rows, declared input schemas,
//! the built-in source rows), and the built-in row types: [`RateRow`] and [`TextLine`].

use std::fmt::Debug;

use crate::time::Timestamp;
use crate::value::{ColumnType, DataType, Field, Schema, Value, ValueTypeError};

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
        assert!(matches!(
            RateRow::from_values(vec![Value::Long(1), Value::Long(1)]),
            Err(RowError::Type {
                column: "timestamp",
                ..
            })
        ));
    }
}
