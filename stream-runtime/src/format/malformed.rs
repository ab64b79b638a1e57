//! Spark's `FailureSafeParser`: what becomes of a record that did not parse cleanly, under
//! the reader's [`ParseMode`]. Every such record is counted, the first few of a file are
//! logged with their file and line, and the ones dropped can be kept for a dead-letter file.

use std::cell::{Cell, RefCell};

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

/// A record a malformed-record policy dropped: what a dead-letter file keeps of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejected {
    /// 1-based line (CSV, JSON) or row (Parquet) number.
    pub(crate) line: u64,
    pub(crate) field: Option<String>,
    pub(crate) message: String,
    /// The record's raw text.
    pub(crate) record: String,
}

/// How many malformed records of a file are logged one by one (the rest are summed up).
pub(crate) const LOGGED_PER_FILE: u64 = 3;

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
    records: Cell<u64>,
    /// Malformed records seen so far (kept, dropped or failed).
    pub(crate) malformed: Cell<u64>,
    dropped: Cell<u64>,
    /// `Some` when dropped records are kept for a dead-letter file.
    rejected: Option<RefCell<Vec<Rejected>>>,
}

/// What the policy did to one file's records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MalformedCounts {
    /// Records read (kept, nulled or dropped).
    pub(crate) records: u64,
    /// Records the policy acted on: kept with nulls, or dropped.
    pub(crate) malformed: u64,
    /// Of those, the records dropped.
    pub(crate) dropped: u64,
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
            records: Cell::new(0),
            malformed: Cell::new(0),
            dropped: Cell::new(0),
            rejected: None,
        })
    }

    /// A context for one payload of a `parse` clause (`column` names it in errors), whose rows
    /// hold every column as nullable.
    pub(crate) fn for_payload(
        column: &'a str,
        schema: Schema,
        mode: ParseMode,
        corrupt_column: Option<usize>,
    ) -> Self {
        ReadContext {
            file: column,
            schema,
            mode,
            corrupt_column,
            nullable_rows: true,
            records: Cell::new(0),
            malformed: Cell::new(0),
            dropped: Cell::new(0),
            rejected: None,
        }
    }

    /// Keeps the records the policy drops, for [`ReadContext::take_rejected`].
    pub(crate) fn keep_rejected(mut self) -> Self {
        self.rejected = Some(RefCell::new(Vec::new()));
        self
    }

    /// What the policy did so far; logs a summary when more records were malformed than were
    /// logged one by one.
    pub(crate) fn counts(&self) -> MalformedCounts {
        MalformedCounts {
            records: self.records.get(),
            malformed: self.malformed.get(),
            dropped: self.dropped.get(),
        }
    }

    /// Logs the file's totals if any record was malformed (call once, after the read).
    pub(crate) fn log_summary(&self) {
        let counts = self.counts();
        if counts.malformed == 0 {
            return;
        }
        let hint = if counts.malformed == counts.records {
            "; every record is malformed: is the file in another format, or the schema wrong?"
        } else {
            ""
        };
        tracing::warn!(
            "{}: {} of {} records malformed, {} dropped ({}){hint}",
            self.file,
            counts.malformed,
            counts.records,
            counts.dropped,
            self.mode,
        );
    }

    /// The records dropped so far, if they are kept.
    pub(crate) fn take_rejected(&self) -> Vec<Rejected> {
        self.rejected.as_ref().map(|r| r.take()).unwrap_or_default()
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
        malformed: Option<Malformed>,
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
        match self.decide(line, unrepresentable, malformed, raw)? {
            Decision::Keep => Ok(Some(values)),
            Decision::KeepCorrupt(raw) => {
                if let Some(i) = self.corrupt_column {
                    values[i] = Value::String(raw);
                }
                Ok(Some(values))
            }
            Decision::Drop => Ok(None),
        }
    }

    /// Counts `n` records that parsed cleanly (typed readers count clean runs at once).
    #[cfg(feature = "parquet")]
    pub(crate) fn count_clean(&self, n: u64) {
        self.records.set(self.records.get() + n);
    }

    /// The parse mode's decision on one record, for readers that build typed columns rather
    /// than values: `unrepresentable` names the first column, in schema order, that is not
    /// nullable and came out null (if one did); `malformed` why the record did not parse.
    pub(crate) fn decide(
        &self,
        line: u64,
        unrepresentable: Option<&'static str>,
        mut malformed: Option<Malformed>,
        raw: impl FnOnce() -> String,
    ) -> Result<Decision> {
        if malformed.is_none()
            && let Some(name) = unrepresentable
        {
            malformed = Some(Malformed::field(
                name,
                "null value in a column that is not nullable",
            ));
        }
        self.records.set(self.records.get() + 1);
        let Some(malformed) = malformed else {
            return Ok(Decision::Keep);
        };
        let seen = self.malformed.get() + 1;
        self.malformed.set(seen);
        let drop = match self.mode {
            ParseMode::FailFast => {
                tracing::error!(
                    "malformed record in {}, line {line}: {}; FAILFAST stops the query",
                    self.file,
                    malformed.message,
                );
                return Err(Error::MalformedRecord {
                    file: self.file.to_string(),
                    line,
                    field: malformed.field,
                    message: malformed.message,
                });
            }
            ParseMode::DropMalformed => true,
            ParseMode::Permissive => unrepresentable.is_some() && !self.nullable_rows,
        };
        if seen <= LOGGED_PER_FILE {
            let action = if drop { "dropped" } else { "kept with nulls" };
            tracing::warn!(
                "malformed record in {}, line {line}{}: {}; {action} ({})",
                self.file,
                malformed
                    .field
                    .as_deref()
                    .map(|f| format!(", field `{f}`"))
                    .unwrap_or_default(),
                malformed.message,
                self.mode,
            );
        }
        if drop {
            self.dropped.set(self.dropped.get() + 1);
            if let Some(rejected) = &self.rejected {
                rejected.borrow_mut().push(Rejected {
                    line,
                    field: malformed.field,
                    message: malformed.message,
                    record: raw(),
                });
            }
            return Ok(Decision::Drop);
        }
        Ok(match self.corrupt_column {
            Some(_) => Decision::KeepCorrupt(raw()),
            None => Decision::Keep,
        })
    }
}

/// What the parse mode does with one record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Keep the row as parsed.
    Keep,
    /// Keep it, with its raw text in the corrupt-record column.
    KeepCorrupt(String),
    /// Drop it.
    Drop,
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
