//! Typed columns: what the file readers decode a chunk of records into, and what a [`Row`]
//! type builds its rows from, one column at a time, without a dynamic [`Value`] per cell.
//!
//! A reader fills a [`Columns`] — one [`Column`] per schema column, in schema order, each
//! either borrowed from a decoder's buffers (Parquet's Arrow arrays) or owned (values parsed
//! from text) — and calls [`Row::from_columns`]. `pipeline!` generates that method for every
//! declared schema: per field, a typed [`ColumnReader`] taken once per chunk, then one loop
//! that moves or copies each row's cells into the struct.
//!
//! [`Row`]: crate::row::Row
//! [`Row::from_columns`]: crate::row::Row::from_columns

use std::borrow::Cow;

use crate::row::RowError;
use crate::time::{Timestamp, Window};
use crate::value::{ColumnType, Header, Value, ValueTypeError};

/// Which cells of a column are null.
#[derive(Debug, Clone)]
pub enum Nulls<'a> {
    /// A validity bitmap (a set bit is a value), starting at bit `offset`: Arrow's layout.
    Bitmap {
        /// The bitmap's bytes, least significant bit first.
        bits: &'a [u8],
        /// The bit of the column's first cell.
        offset: usize,
    },
    /// One flag per cell, `true` for a value.
    Flags(Vec<bool>),
}

impl Nulls<'_> {
    /// Whether cell `i` holds a value.
    #[inline]
    pub fn is_valid(&self, i: usize) -> bool {
        match self {
            Nulls::Bitmap { bits, offset } => {
                let bit = i + offset;
                bits[bit / 8] & (1 << (bit % 8)) != 0
            }
            Nulls::Flags(flags) => flags[i],
        }
    }
}

/// A column of fixed-width values, with its nulls (`None`: no null). A null cell holds an
/// arbitrary value.
#[derive(Debug, Clone)]
pub struct Values<'a, T: Clone> {
    /// One value per cell.
    pub values: Cow<'a, [T]>,
    /// Which cells are null.
    pub nulls: Option<Nulls<'a>>,
}

impl<'a, T: Clone> Values<'a, T> {
    /// A column without nulls.
    pub fn new(values: impl Into<Cow<'a, [T]>>) -> Self {
        Values {
            values: values.into(),
            nulls: None,
        }
    }

    /// A column with nulls where `nulls` says so.
    pub fn with_nulls(values: impl Into<Cow<'a, [T]>>, nulls: Option<Nulls<'a>>) -> Self {
        Values {
            values: values.into(),
            nulls,
        }
    }
}

/// A column of strings or bytes: borrowed from Arrow-style buffers (`offsets`, `data`), or
/// owned cells that rows take without copying.
#[derive(Debug, Clone)]
pub enum Bytes<'a> {
    /// Cell `i` is `data[offsets[i]..offsets[i + 1]]`.
    Buffers {
        /// `len + 1` offsets into `data`.
        offsets: &'a [i32],
        /// The cells' bytes, back to back.
        data: &'a [u8],
        /// Which cells are null.
        nulls: Option<Nulls<'a>>,
    },
    /// One cell each (`None`: null).
    Owned(Vec<Option<Vec<u8>>>),
    /// One string cell each (`None`: null).
    OwnedStrings(Vec<Option<String>>),
}

/// One column of a chunk of records, typed by its Spark type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Column<'a> {
    /// Not read — the query does not use it — or missing from the input: every cell is null
    /// (a column that is not nullable gets its type's default, `0`, `""`, the epoch).
    Absent,
    /// `BOOLEAN`.
    Boolean(Values<'a, bool>),
    /// `INT`.
    Int(Values<'a, i32>),
    /// `BIGINT`.
    Long(Values<'a, i64>),
    /// `DOUBLE`.
    Double(Values<'a, f64>),
    /// `TIMESTAMP`, microseconds since the epoch.
    Timestamp(Values<'a, i64>),
    /// `STRUCT<start, end>` of a window.
    Window(Values<'a, Window>),
    /// `STRING`: UTF-8 bytes (checked by the reader).
    String(Bytes<'a>),
    /// `BINARY`.
    Binary(Bytes<'a>),
    /// `ARRAY<STRING>`.
    StringArray(Vec<Option<Vec<String>>>),
    /// Kafka headers.
    Headers(Vec<Option<Vec<Header>>>),
}

/// A chunk of records as typed columns, one per schema column in schema order, each `len`
/// cells long.
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    len: usize,
    columns: Vec<Column<'a>>,
}

impl<'a> Columns<'a> {
    /// `len` records in `columns` (one per schema column, each `len` cells or absent).
    pub fn new(len: usize, columns: Vec<Column<'a>>) -> Self {
        Columns { len, columns }
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The columns, in schema order, for building rows: missing trailing columns are absent.
    pub fn into_columns(self) -> impl Iterator<Item = Column<'a>> {
        self.columns
            .into_iter()
            .chain(std::iter::repeat_with(|| Column::Absent))
    }

    /// The value of column `column`, row `row` (the slow path, for row types without a
    /// columnar builder).
    pub fn value(&self, column: usize, row: usize) -> Value {
        self.columns
            .get(column)
            .map_or(Value::Null, |c| c.value(row))
    }
}

impl Column<'_> {
    /// The cell `i` as a dynamic value.
    pub fn value(&self, i: usize) -> Value {
        fn fixed<T: Clone>(v: &Values<'_, T>, i: usize, f: impl Fn(T) -> Value) -> Value {
            match &v.nulls {
                Some(n) if !n.is_valid(i) => Value::Null,
                _ => f(v.values[i].clone()),
            }
        }
        match self {
            Column::Absent => Value::Null,
            Column::Boolean(v) => fixed(v, i, Value::Boolean),
            Column::Int(v) => fixed(v, i, Value::Int),
            Column::Long(v) => fixed(v, i, Value::Long),
            Column::Double(v) => fixed(v, i, Value::Double),
            Column::Timestamp(v) => fixed(v, i, |t| Value::Timestamp(Timestamp::from_micros(t))),
            Column::Window(v) => fixed(v, i, Value::Window),
            Column::String(b) => bytes_cell(b, i).map_or(Value::Null, |b| {
                Value::String(String::from_utf8_lossy(&b).into_owned())
            }),
            Column::Binary(b) => bytes_cell(b, i).map_or(Value::Null, |b| Value::Binary(b.into())),
            Column::StringArray(v) => v[i].clone().map_or(Value::Null, Value::StringArray),
            Column::Headers(v) => v[i].clone().map_or(Value::Null, Value::Headers),
        }
    }
}

fn bytes_cell<'b>(b: &'b Bytes<'_>, i: usize) -> Option<Cow<'b, [u8]>> {
    match b {
        Bytes::Buffers {
            offsets,
            data,
            nulls,
        } => {
            if nulls.as_ref().is_some_and(|n| !n.is_valid(i)) {
                return None;
            }
            Some(Cow::Borrowed(
                &data[offsets[i] as usize..offsets[i + 1] as usize],
            ))
        }
        Bytes::Owned(v) => v[i].as_deref().map(Cow::Borrowed),
        Bytes::OwnedStrings(v) => v[i].as_deref().map(|s| Cow::Borrowed(s.as_bytes())),
    }
}

/// Reads the cells of one column into a row field's Rust type.
pub trait ColumnReader<T> {
    /// Cell `i`; each cell is read at most once (owned cells are moved out).
    fn get(&mut self, i: usize) -> T;
}

/// A Rust type a row field can have, read from a [`Column`]: `bool`, `i32`, `i64`, `f64`,
/// `String`, `Timestamp`, `Window`, `Vec<u8>`, `Vec<String>`, `Vec<Header>`, and each in an
/// `Option`.
pub trait FromColumn: Sized {
    /// Its reader over one chunk's column.
    type Reader<'a>: ColumnReader<Self>;

    /// A reader of `column`, which must hold this type's Spark type (or be absent). `name`
    /// names the column in the error.
    fn reader<'a>(column: Column<'a>, name: &'static str) -> Result<Self::Reader<'a>, RowError>;
}

/// Takes the next column of a chunk and makes a reader of it (used by generated code).
#[doc(hidden)]
#[inline]
pub fn column_reader<'a, T: FromColumn>(
    columns: &mut impl Iterator<Item = Column<'a>>,
    name: &'static str,
) -> Result<T::Reader<'a>, RowError> {
    T::reader(columns.next().unwrap_or(Column::Absent), name)
}

fn mismatch<T: ColumnType>(name: &'static str, column: &Column<'_>) -> RowError {
    let found = match column {
        Column::Absent => "NULL",
        Column::Boolean(_) => "BOOLEAN",
        Column::Int(_) => "INT",
        Column::Long(_) => "BIGINT",
        Column::Double(_) => "DOUBLE",
        Column::Timestamp(_) => "TIMESTAMP",
        Column::Window(_) => "STRUCT<start: TIMESTAMP, end: TIMESTAMP>",
        Column::String(_) => "STRING",
        Column::Binary(_) => "BINARY",
        Column::StringArray(_) => "ARRAY<STRING>",
        Column::Headers(_) => "ARRAY<STRUCT<key: STRING, value: BINARY>>",
    };
    RowError::Type {
        column: name,
        source: ValueTypeError {
            expected: T::DATA_TYPE.sql_name(),
            found: found.to_string(),
        },
    }
}

/// How a field type is made from a fixed-width column's native value (`i64` microseconds
/// into a `Timestamp`, and the identity for the others): a trait, so each reader's cell
/// conversion is inlined into the row loop.
pub trait FromNative<S>: Sized {
    /// The field value of a native value.
    fn from_native(native: S) -> Self;
}

macro_rules! identity_native {
    ($($ty:ty),*) => {$(
        impl FromNative<$ty> for $ty {
            #[inline(always)]
            fn from_native(native: $ty) -> Self {
                native
            }
        }
    )*};
}

identity_native!(bool, i32, i64, f64, Window);

impl FromNative<i64> for Timestamp {
    #[inline(always)]
    fn from_native(micros: i64) -> Self {
        Timestamp::from_micros(micros)
    }
}

/// A reader of a fixed-width column.
#[derive(Debug)]
pub struct FixedReader<'a, S: Clone, T> {
    values: Option<Values<'a, S>>,
    field: std::marker::PhantomData<fn() -> T>,
}

impl<S: Copy, T: Default + FromNative<S>> ColumnReader<T> for FixedReader<'_, S, T> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> T {
        match &self.values {
            Some(v) => T::from_native(v.values[i]),
            None => T::default(),
        }
    }
}

impl<S: Copy, T: FromNative<S>> ColumnReader<Option<T>> for FixedReader<'_, S, T> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> Option<T> {
        let v = self.values.as_ref()?;
        match &v.nulls {
            Some(n) if !n.is_valid(i) => None,
            _ => Some(T::from_native(v.values[i])),
        }
    }
}

macro_rules! fixed_column {
    ($ty:ty, $variant:ident, $source:ty) => {
        impl FromColumn for $ty {
            type Reader<'a> = FixedReader<'a, $source, $ty>;
            #[inline]
            fn reader<'a>(
                column: Column<'a>,
                name: &'static str,
            ) -> Result<Self::Reader<'a>, RowError> {
                fixed_reader::<$ty, $source>(column, name)
            }
        }
        impl FromColumn for Option<$ty> {
            type Reader<'a> = FixedReader<'a, $source, $ty>;
            #[inline]
            fn reader<'a>(
                column: Column<'a>,
                name: &'static str,
            ) -> Result<Self::Reader<'a>, RowError> {
                fixed_reader::<$ty, $source>(column, name)
            }
        }
        impl<'a> FixedValues<'a, $source> for $ty {
            fn values(column: Column<'a>) -> Result<Option<Values<'a, $source>>, Column<'a>> {
                match column {
                    Column::$variant(v) => Ok(Some(v)),
                    Column::Absent => Ok(None),
                    other => Err(other),
                }
            }
        }
    };
}

/// The fixed-width column variant a field type reads.
trait FixedValues<'a, S: Clone>: ColumnType {
    #[allow(clippy::type_complexity)]
    fn values(column: Column<'a>) -> Result<Option<Values<'a, S>>, Column<'a>>;
}

fn fixed_reader<'a, T: FixedValues<'a, S>, S: Clone>(
    column: Column<'a>,
    name: &'static str,
) -> Result<FixedReader<'a, S, T>, RowError> {
    match T::values(column) {
        Ok(values) => Ok(FixedReader {
            values,
            field: std::marker::PhantomData,
        }),
        Err(other) => Err(mismatch::<T>(name, &other)),
    }
}

fixed_column!(bool, Boolean, bool);
fixed_column!(i32, Int, i32);
fixed_column!(i64, Long, i64);
fixed_column!(f64, Double, f64);
fixed_column!(Timestamp, Timestamp, i64);
fixed_column!(Window, Window, Window);

/// A reader of a string or bytes column.
#[derive(Debug)]
pub struct BytesReader<'a> {
    bytes: Option<Bytes<'a>>,
}

impl BytesReader<'_> {
    #[inline(always)]
    fn bytes(&mut self, i: usize) -> Option<Vec<u8>> {
        match self.bytes.as_mut()? {
            Bytes::Buffers {
                offsets,
                data,
                nulls,
            } => {
                if nulls.as_ref().is_some_and(|n| !n.is_valid(i)) {
                    return None;
                }
                Some(data[offsets[i] as usize..offsets[i + 1] as usize].to_vec())
            }
            Bytes::Owned(v) => v[i].take(),
            Bytes::OwnedStrings(v) => v[i].take().map(String::into_bytes),
        }
    }

    #[inline(always)]
    fn string(&mut self, i: usize) -> Option<String> {
        match self.bytes.as_mut()? {
            Bytes::Buffers {
                offsets,
                data,
                nulls,
            } => {
                if nulls.as_ref().is_some_and(|n| !n.is_valid(i)) {
                    return None;
                }
                let cell = &data[offsets[i] as usize..offsets[i + 1] as usize];
                // Readers check UTF-8; a cell that is not is decoded as the JVM decodes it.
                Some(String::from_utf8_lossy(cell).into_owned())
            }
            Bytes::Owned(v) => v[i]
                .take()
                .map(|b| String::from_utf8(b).unwrap_or_else(|e| lossy(e.as_bytes()))),
            Bytes::OwnedStrings(v) => v[i].take(),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl ColumnReader<String> for BytesReader<'_> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> String {
        self.string(i).unwrap_or_default()
    }
}

impl ColumnReader<Option<String>> for BytesReader<'_> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> Option<String> {
        self.string(i)
    }
}

impl ColumnReader<Vec<u8>> for BytesReader<'_> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> Vec<u8> {
        self.bytes(i).unwrap_or_default()
    }
}

impl ColumnReader<Option<Vec<u8>>> for BytesReader<'_> {
    #[inline(always)]
    fn get(&mut self, i: usize) -> Option<Vec<u8>> {
        self.bytes(i)
    }
}

macro_rules! bytes_column {
    ($ty:ty, $variant:ident) => {
        impl FromColumn for $ty {
            type Reader<'a> = BytesReader<'a>;
            fn reader<'a>(
                column: Column<'a>,
                name: &'static str,
            ) -> Result<Self::Reader<'a>, RowError> {
                match column {
                    Column::$variant(b) => Ok(BytesReader { bytes: Some(b) }),
                    Column::Absent => Ok(BytesReader { bytes: None }),
                    other => Err(mismatch::<$ty>(name, &other)),
                }
            }
        }
        impl FromColumn for Option<$ty> {
            type Reader<'a> = BytesReader<'a>;
            fn reader<'a>(
                column: Column<'a>,
                name: &'static str,
            ) -> Result<Self::Reader<'a>, RowError> {
                <$ty as FromColumn>::reader(column, name)
            }
        }
    };
}

bytes_column!(String, String);
bytes_column!(Vec<u8>, Binary);

/// A reader of a column of owned cells (arrays, headers).
#[derive(Debug)]
pub struct OwnedReader<T> {
    cells: Option<Vec<Option<T>>>,
}

impl<T: Default> ColumnReader<T> for OwnedReader<T> {
    #[inline]
    fn get(&mut self, i: usize) -> T {
        self.cells
            .as_mut()
            .and_then(|c| c[i].take())
            .unwrap_or_default()
    }
}

impl<T> ColumnReader<Option<T>> for OwnedReader<T> {
    #[inline]
    fn get(&mut self, i: usize) -> Option<T> {
        self.cells.as_mut().and_then(|c| c[i].take())
    }
}

macro_rules! owned_column {
    ($ty:ty, $variant:ident) => {
        impl FromColumn for $ty {
            type Reader<'a> = OwnedReader<$ty>;
            fn reader<'a>(
                column: Column<'a>,
                name: &'static str,
            ) -> Result<Self::Reader<'a>, RowError> {
                match column {
                    Column::$variant(cells) => Ok(OwnedReader { cells: Some(cells) }),
                    Column::Absent => Ok(OwnedReader { cells: None }),
                    other => Err(mismatch::<$ty>(name, &other)),
                }
            }
        }
        impl FromColumn for Option<$ty> {
            type Reader<'a> = OwnedReader<$ty>;
            fn reader<'a>(
                column: Column<'a>,
                name: &'static str,
            ) -> Result<Self::Reader<'a>, RowError> {
                <$ty as FromColumn>::reader(column, name)
            }
        }
    };
}

owned_column!(Vec<String>, StringArray);
owned_column!(Vec<Header>, Headers);

/// Builds rows through [`Row::from_values`], one [`Value`] per cell: the default
/// [`Row::from_columns`] for row types written by hand.
///
/// [`Row::from_values`]: crate::row::Row::from_values
/// [`Row::from_columns`]: crate::row::Row::from_columns
pub fn rows_from_values<R: crate::row::Row>(
    columns: Columns<'_>,
    out: &mut Vec<R>,
) -> Result<(), RowError> {
    let width = R::SCHEMA.len();
    out.reserve(columns.len());
    for row in 0..columns.len() {
        let values = (0..width).map(|c| columns.value(c, row)).collect();
        out.push(R::from_values(values)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
