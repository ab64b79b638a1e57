//! Spark's `FailureSafeParser`: what becomes of a record that did not parse cleanly, under
//! the reader's [`ParseMode`].

use std::cell::Cell;

use crate::error::{Error, Result};
use crate::value::{DataType, Schema, Value};

use super::ParseMode;

/// Why a record is malformed: the first field that failed (if one did) and what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Malformed {
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

impl Malformed {
    pub(crate) fn record(message: impl Into<String>) -> Self {
        Malformed {
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn field(field: &str, message: impl Into<String>) -> Self {
        Malformed {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

/// What a reader needs to turn records of one file into rows.
#[derive(Debug)]
pub(crate) struct ReadContext<'a> {
    /// The file, as errors name it.
    pub(crate) file: &'a str,
    pub(crate) schema: Schema,
    pub(crate) mode: ParseMode,
    /// The column that receives the raw text of malformed records, if the schema has it.
    pub(crate) corrupt_column: Option<usize>,
    /// Whether the rows built hold every column as nullable, whatever the schema says (a
    /// `parse` clause's columns): `Permissive` then keeps a row with a null in a column the
    /// schema declares not nullable, instead of dropping it.
    pub(crate) nullable_rows: bool,
    /// Malformed records seen so far (kept, dropped or failed).
    pub(crate) malformed: Cell<u64>,
}

impl<'a> ReadContext<'a> {
    /// A context for `file`; `corrupt_column_name` is Spark's `columnNameOfCorruptRecord`. A
    /// column of that name must be a nullable string.
    pub(crate) fn new(
        file: &'a str,
        schema: Schema,
        mode: ParseMode,
        corrupt_column_name: &str,
    ) -> Result<Self> {
        Ok(ReadContext {
            file,
            schema,
            mode,
            corrupt_column: corrupt_column_index(schema, corrupt_column_name)?,
            nullable_rows: false,
            malformed: Cell::new(0),
        })
    }

    /// Whether column `i` is read from the input (every column but the corrupt-record one).
    pub(crate) fn is_data_column(&self, i: usize) -> bool {
        self.corrupt_column != Some(i)
    }

    /// Applies the parse mode to one record: `Ok(Some(values))` keeps a row, `Ok(None)` drops
    /// it, `Err` stops the query (`FailFast`). `values` holds one value per schema column (the
    /// corrupt-record column null); `raw` produces the record's text.
    pub(crate) fn finish(
        &self,
        line: u64,
        mut values: Vec<Value>,
        mut malformed: Option<Malformed>,
        raw: impl FnOnce() -> String,
    ) -> Result<Option<Vec<Value>>> {
        // Null in a column that cannot hold it makes the row malformed; the row cannot be kept
        // with nulls either, so PERMISSIVE drops it.
        let unrepresentable = self
            .schema
            .fields()
            .iter()
            .zip(&values)
            .enumerate()
            .find(|(i, (f, v))| self.is_data_column(*i) && !f.nullable && v.is_null())
            .map(|(_, (f, _))| f.name);
        if malformed.is_none()
            && let Some(name) = unrepresentable
        {
            malformed = Some(Malformed::field(
                name,
                "null value in a column that is not nullable",
            ));
        }
        let Some(malformed) = malformed else {
            return Ok(Some(values));
        };
        self.malformed.set(self.malformed.get() + 1);
        match self.mode {
            ParseMode::FailFast => Err(Error::MalformedRecord {
                file: self.file.to_string(),
                line,
                field: malformed.field,
                message: malformed.message,
            }),
            ParseMode::DropMalformed => Ok(None),
            ParseMode::Permissive if unrepresentable.is_some() && !self.nullable_rows => Ok(None),
            ParseMode::Permissive => {
                if let Some(i) = self.corrupt_column {
                    values[i] = Value::String(raw());
                }
                Ok(Some(values))
            }
        }
    }
}

pub(crate) fn corrupt_column_index(schema: Schema, name: &str) -> Result<Option<usize>> {
    let Some(i) = schema.index_of(name) else {
        return Ok(None);
    };
    let field = schema.fields()[i];
    if field.data_type != DataType::String || !field.nullable {
        return Err(Error::Analysis(format!(
            "The field for corrupt records must be string type and nullable: `{name}` is {}",
            if field.nullable {
                field.data_type.sql_name().to_string()
            } else {
                format!("{} NOT NULL", field.data_type.sql_name())
            }
        )));
    }
    Ok(Some(i))
}
