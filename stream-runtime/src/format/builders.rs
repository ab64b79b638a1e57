//! Typed column builders for the text readers: a record's fields are parsed straight into one
//! vector per column (no dynamic value per cell, no vector per record), a record the
//! malformed-record policy drops is taken back out, and every chunk of records becomes a
//! [`Columns`] for the row type's columnar builder.

use crate::columns::{Bytes, Column, Columns, Nulls, Values};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::time::Window;
use crate::value::{DataType, Header, Schema};

use super::Chunks;
use super::malformed::{Decision, Malformed, ReadContext};

/// One column's cells so far.
#[derive(Debug)]
enum Cells {
    Boolean(Vec<bool>),
    Int(Vec<i32>),
    Long(Vec<i64>),
    Double(Vec<f64>),
    Timestamp(Vec<i64>),
    Window(Vec<Window>),
    String(Vec<Option<String>>),
    Binary(Vec<Option<Vec<u8>>>),
    StringArray(Vec<Option<Vec<String>>>),
    Headers(Vec<Option<Vec<Header>>>),
    /// A column the query does not read: its fields are still parsed (so malformed records
    /// are found as before) but nothing is kept.
    Unread,
}

/// A parsed cell, typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Boolean(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Timestamp(i64),
    Window(Window),
    String(String),
    Binary(Vec<u8>),
    StringArray(Vec<String>),
    Headers(Vec<Header>),
}

impl From<Cell> for crate::value::Value {
    fn from(cell: Cell) -> Self {
        use crate::value::Value;
        match cell {
            Cell::Boolean(b) => Value::Boolean(b),
            Cell::Int(v) => Value::Int(v),
            Cell::Long(v) => Value::Long(v),
            Cell::Double(v) => Value::Double(v),
            Cell::Timestamp(v) => Value::Timestamp(crate::time::Timestamp::from_micros(v)),
            Cell::Window(w) => Value::Window(w),
            Cell::String(s) => Value::String(s),
            Cell::Binary(b) => Value::Binary(b),
            Cell::StringArray(a) => Value::StringArray(a),
            Cell::Headers(h) => Value::Headers(h),
        }
    }
}

/// One column being built: its cells and which are values.
#[derive(Debug)]
struct ColumnBuilder {
    cells: Cells,
    valid: Vec<bool>,
    has_null: bool,
}

impl ColumnBuilder {
    fn new(data_type: DataType, read: bool) -> Self {
        let cells = if !read {
            Cells::Unread
        } else {
            match data_type {
                DataType::Boolean => Cells::Boolean(Vec::new()),
                DataType::Int => Cells::Int(Vec::new()),
                DataType::Long => Cells::Long(Vec::new()),
                DataType::Double => Cells::Double(Vec::new()),
                DataType::Timestamp => Cells::Timestamp(Vec::new()),
                DataType::Window => Cells::Window(Vec::new()),
                DataType::String => Cells::String(Vec::new()),
                DataType::Binary => Cells::Binary(Vec::new()),
                DataType::StringArray => Cells::StringArray(Vec::new()),
                DataType::Headers => Cells::Headers(Vec::new()),
            }
        };
        ColumnBuilder {
            cells,
            valid: Vec::new(),
            has_null: false,
        }
    }

    /// Appends a cell (`None`: null). The cell has the column's type (the readers parse by
    /// it).
    #[inline]
    fn push(&mut self, cell: Option<Cell>) {
        let is_value = cell.is_some();
        match (&mut self.cells, cell) {
            (Cells::Unread, _) => return,
            (Cells::Boolean(v), c) => v.push(matches!(c, Some(Cell::Boolean(true)))),
            (Cells::Int(v), c) => v.push(if let Some(Cell::Int(x)) = c { x } else { 0 }),
            (Cells::Long(v), c) => v.push(if let Some(Cell::Long(x)) = c { x } else { 0 }),
            (Cells::Double(v), c) => v.push(if let Some(Cell::Double(x)) = c {
                x
            } else {
                0.0
            }),
            (Cells::Timestamp(v), c) => v.push(if let Some(Cell::Timestamp(x)) = c {
                x
            } else {
                0
            }),
            (Cells::Window(v), c) => v.push(if let Some(Cell::Window(x)) = c {
                x
            } else {
                Window::default()
            }),
            (Cells::String(v), c) => v.push(if let Some(Cell::String(x)) = c {
                Some(x)
            } else {
                None
            }),
            (Cells::Binary(v), c) => v.push(if let Some(Cell::Binary(x)) = c {
                Some(x)
            } else {
                None
            }),
            (Cells::StringArray(v), c) => v.push(if let Some(Cell::StringArray(x)) = c {
                Some(x)
            } else {
                None
            }),
            (Cells::Headers(v), c) => v.push(if let Some(Cell::Headers(x)) = c {
                Some(x)
            } else {
                None
            }),
        }
        self.valid.push(is_value);
        self.has_null |= !is_value;
    }

    /// Takes the last cell back out (a dropped record).
    fn pop(&mut self) {
        match &mut self.cells {
            Cells::Unread => return,
            Cells::Boolean(v) => drop(v.pop()),
            Cells::Int(v) => drop(v.pop()),
            Cells::Long(v) | Cells::Timestamp(v) => drop(v.pop()),
            Cells::Double(v) => drop(v.pop()),
            Cells::Window(v) => drop(v.pop()),
            Cells::String(v) => drop(v.pop()),
            Cells::Binary(v) => drop(v.pop()),
            Cells::StringArray(v) => drop(v.pop()),
            Cells::Headers(v) => drop(v.pop()),
        }
        self.valid.pop();
    }

    /// The cells as a column, leaving the builder empty.
    fn take(&mut self) -> Column<'static> {
        let nulls = if self.has_null {
            Some(Nulls::Flags(std::mem::take(&mut self.valid)))
        } else {
            self.valid.clear();
            None
        };
        self.has_null = false;
        fn fixed<T: Clone>(v: &mut Vec<T>, nulls: Option<Nulls<'static>>) -> Values<'static, T> {
            Values::with_nulls(std::mem::take(v), nulls)
        }
        match &mut self.cells {
            Cells::Unread => Column::Absent,
            Cells::Boolean(v) => Column::Boolean(fixed(v, nulls)),
            Cells::Int(v) => Column::Int(fixed(v, nulls)),
            Cells::Long(v) => Column::Long(fixed(v, nulls)),
            Cells::Double(v) => Column::Double(fixed(v, nulls)),
            Cells::Timestamp(v) => Column::Timestamp(fixed(v, nulls)),
            Cells::Window(v) => Column::Window(fixed(v, nulls)),
            Cells::String(v) => Column::String(Bytes::OwnedStrings(std::mem::take(v))),
            Cells::Binary(v) => Column::Binary(Bytes::Owned(std::mem::take(v))),
            Cells::StringArray(v) => Column::StringArray(std::mem::take(v)),
            Cells::Headers(v) => Column::Headers(std::mem::take(v)),
        }
    }
}

/// The columns of the records read so far, for one chunk at a time.
#[derive(Debug)]
pub(crate) struct RecordBuilder {
    schema: Schema,
    columns: Vec<ColumnBuilder>,
    /// The corrupt-record column, which takes no field from the input.
    corrupt: Option<usize>,
    /// Records kept in the current chunk.
    len: usize,
    chunk_rows: usize,
    /// The first column of the current record, in schema order, that is not nullable and is
    /// null so far.
    strict_null: Option<usize>,
}

impl RecordBuilder {
    /// Builders for the context's schema; `reads(i)` says whether column `i` is kept.
    pub(crate) fn new(
        ctx: &ReadContext<'_>,
        reads: impl Fn(usize) -> bool,
        chunk_rows: usize,
    ) -> Self {
        let schema = ctx.schema;
        RecordBuilder {
            schema,
            columns: schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    ColumnBuilder::new(f.data_type, reads(i) || ctx.corrupt_column == Some(i))
                })
                .collect(),
            corrupt: ctx.corrupt_column,
            len: 0,
            chunk_rows,
            strict_null: None,
        }
    }

    /// Whether column `i`'s cells are kept (the query reads it).
    pub(crate) fn keeps(&self, i: usize) -> bool {
        !matches!(self.columns[i].cells, Cells::Unread)
    }

    /// Sets column `i` of the current record to a value that is not kept (a column the query
    /// does not read).
    #[inline]
    pub(crate) fn set_unread(&mut self, i: usize) {
        debug_assert!(!self.keeps(i));
    }

    /// Sets column `i` of the current record (each data column exactly once per record, in
    /// schema order).
    #[inline]
    pub(crate) fn set(&mut self, i: usize, cell: Option<Cell>) {
        if cell.is_none() && !self.schema.fields()[i].nullable && self.strict_null.is_none() {
            self.strict_null = Some(i);
        }
        self.columns[i].push(cell);
    }

    /// Ends the current record under the context's policy: kept, kept with its raw text in
    /// the corrupt-record column, dropped, or the query stopped (`FailFast`). A full chunk of
    /// rows goes to `chunks`.
    pub(crate) fn end_record<R: Row>(
        &mut self,
        ctx: &ReadContext<'_>,
        line: u64,
        malformed: Option<Malformed>,
        raw: impl FnOnce() -> String,
        chunks: &mut Chunks<'_, R>,
    ) -> Result<()> {
        let unrepresentable = self
            .strict_null
            .take()
            .map(|i| self.schema.fields()[i].name);
        let decision = ctx.decide(line, unrepresentable, malformed, raw);
        let corrupt = match decision {
            Ok(Decision::Keep) => None,
            Ok(Decision::KeepCorrupt(raw)) => Some(raw),
            Ok(Decision::Drop) | Err(_) => {
                for (i, c) in self.columns.iter_mut().enumerate() {
                    if Some(i) != self.corrupt {
                        c.pop();
                    }
                }
                return decision.map(|_| ());
            }
        };
        if let Some(i) = self.corrupt {
            self.columns[i].push(corrupt.map(Cell::String));
        }
        self.len += 1;
        if self.len >= self.chunk_rows {
            self.flush(ctx, chunks)?;
        }
        Ok(())
    }

    /// Builds the rows of the records kept so far into `chunks`.
    pub(crate) fn flush<R: Row>(
        &mut self,
        ctx: &ReadContext<'_>,
        chunks: &mut Chunks<'_, R>,
    ) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let columns = self.columns.iter_mut().map(ColumnBuilder::take).collect();
        let len = std::mem::take(&mut self.len);
        R::from_columns(Columns::new(len, columns), chunks.out()).map_err(|e| Error::Source {
            source_name: ctx.file.to_string(),
            message: format!("cannot build a row: {e}"),
        })?;
        chunks.flush()
    }
}

#[cfg(test)]
mod tests {
    use crate::format::{Chunks, Csv, FileFormat, Input, Json, ParseMode, Projection, ReadContext};
    use crate::row::Row;
    use crate::test_rows::{EventWithCorrupt, StrictEvent, at};

    /// Reads `bytes` in chunks of `chunk_rows`; returns each chunk's rows.
    fn chunks<R: Row>(
        format: FileFormat,
        mode: ParseMode,
        bytes: &[u8],
        chunk_rows: usize,
    ) -> Vec<Vec<R>> {
        let prepared = format.prepare(R::SCHEMA).unwrap();
        let ctx = ReadContext::new("in.txt", R::SCHEMA, mode, "_corrupt_record").unwrap();
        let projection = Projection::all().chunk_rows(chunk_rows);
        let mut got = Vec::new();
        let mut on_chunk = |rows: Vec<R>| {
            got.push(rows);
            Ok(())
        };
        let mut out = Chunks::new(projection.max_chunk_rows(), &mut on_chunk);
        prepared
            .read_chunks(Input::Text(bytes), &ctx, &projection, &mut out)
            .unwrap();
        got
    }

    #[test]
    fn text_files_are_read_in_chunks_of_kept_records() {
        // Seven records; the third has no timestamp, so a schema requiring one drops it.
        let csv: String = (0..7)
            .map(|i| match i {
                2 => format!(",k{i},{i}\n"),
                _ => format!("{},k{i},{i}\n", at(i * 1_000).to_rfc3339()),
            })
            .collect();
        let got: Vec<Vec<StrictEvent>> = chunks(
            Csv::new().into(),
            ParseMode::DropMalformed,
            csv.as_bytes(),
            2,
        );
        let keys: Vec<Vec<&str>> = got
            .iter()
            .map(|c| c.iter().map(|r| r.key.as_deref().unwrap()).collect())
            .collect();
        assert_eq!(keys, [vec!["k0", "k1"], vec!["k3", "k4"], vec!["k5", "k6"]]);

        let json: String = (0..5)
            .map(|i| match i {
                1 => "not json\n".to_string(),
                _ => format!("{{\"key\":\"k{i}\",\"value\":{i}}}\n"),
            })
            .collect();
        let got: Vec<Vec<EventWithCorrupt>> = chunks(
            Json::new().into(),
            ParseMode::Permissive,
            json.as_bytes(),
            3,
        );
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
        assert_eq!(got[0][1]._corrupt_record.as_deref(), Some("not json"));
        assert_eq!(got[0][1].key, None);
        assert_eq!(
            (got[1][1].key.as_deref(), got[1][1].value),
            (Some("k4"), Some(4.0))
        );
    }
}
