//! Reading Parquet with the `parquet` crate's Arrow reader: only the columns the query reads
//! (the projection is pushed into the decoder), a row group's rows in chunks of a bounded
//! size, each chunk's Arrow arrays lent to the row type's columnar builder
//! ([`Row::from_columns`]) without a dynamic value per cell.
//!
//! Columns are matched by name. A column may be narrower than the schema's (`INT8`/`INT16`/
//! `INT32` into `BIGINT`, `FLOAT` into `DOUBLE`) and timestamps may be microseconds (Spark's
//! `TIMESTAMP_MICROS`), milliseconds, Spark's legacy `INT96` or a `DATE` (midnight, UTC).

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType as A, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::ParquetMetaData;

use crate::columns::{Bytes, Column, Columns, Nulls, Values};
use crate::error::{Error, Result};
use crate::format::malformed::{Decision, ReadContext};
use crate::format::{Chunks, Projection};
use crate::row::Row;
use crate::time::{MICROS_PER_DAY, Window};
use crate::value::DataType;

use super::error;

/// A Parquet file opened for reading: its bytes and its footer, parsed once and shared by the
/// readers of its row groups.
#[derive(Debug, Clone)]
pub(crate) struct ParquetFile {
    bytes: bytes::Bytes,
    metadata: ArrowReaderMetadata,
}

impl ParquetFile {
    /// Parses the footer of a file's contents.
    pub(crate) fn open(bytes: bytes::Bytes, file: &str) -> Result<Self> {
        // The schema comes from the Parquet types alone (an Arrow schema a writer embedded
        // could ask for dictionary or view arrays).
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let metadata = guard(file, || {
            ArrowReaderMetadata::load(&bytes, options)
                .map_err(|e| error(file, format!("not a Parquet file: {e}")))
        })?;
        check_chunk_ranges(metadata.metadata(), bytes.len() as u64).map_err(|e| error(file, e))?;
        Ok(ParquetFile { bytes, metadata })
    }

    /// The number of row groups.
    pub(crate) fn row_groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    /// Reads the rows of row groups `groups` (all when `None`) in chunks of at most
    /// `projection.max_chunk_rows()` rows, under the context's malformed-record policy. Row numbers
    /// in messages count from the file's first row.
    pub(crate) fn read<R: Row>(
        &self,
        groups: Option<&[usize]>,
        ctx: &ReadContext<'_>,
        projection: &Projection,
        chunks: &mut Chunks<'_, R>,
    ) -> Result<()> {
        let result = guard(ctx.file, || {
            self.read_groups(groups, ctx, projection, chunks)
        });
        match result {
            // A decoder error or panic on a damaged file: say what is damaged, if the pages
            // show it.
            Err(Error::Source {
                source_name,
                message,
            }) if message.contains("decoder") => Err(match super::damage::diagnose(&self.bytes) {
                Some(found) => error(ctx.file, found),
                None => Error::Source {
                    source_name,
                    message,
                },
            }),
            other => other,
        }
    }

    fn read_groups<R: Row>(
        &self,
        groups: Option<&[usize]>,
        ctx: &ReadContext<'_>,
        projection: &Projection,
        chunks: &mut Chunks<'_, R>,
    ) -> Result<()> {
        let schema = ctx.schema;
        let parquet_schema = self.metadata.metadata().file_metadata().schema_descr();
        let roots = parquet_schema.root_schema().get_fields();
        // Per schema column read: its root column in the file, if the file has it.
        let wanted: Vec<(usize, Option<usize>)> = (0..schema.len())
            .filter(|&i| ctx.is_data_column(i) && projection.reads(i))
            .map(|i| {
                let name = schema.fields()[i].name;
                (i, roots.iter().position(|f| f.name() == name))
            })
            .collect();
        let mut file_columns: Vec<usize> = wanted.iter().filter_map(|(_, r)| *r).collect();
        file_columns.sort_unstable();
        file_columns.dedup();
        let groups: Vec<usize> = match groups {
            Some(g) => g.to_vec(),
            None => (0..self.row_groups()).collect(),
        };
        let group_rows: Vec<i64> = self
            .metadata
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        let leaves: Vec<usize> = (0..parquet_schema.num_columns())
            .filter(|&leaf| {
                let root = parquet_schema.get_column_root_idx(leaf);
                file_columns.binary_search(&root).is_ok()
            })
            .collect();
        super::damage::check_byte_array_dictionaries(&self.bytes, &leaves, &groups)
            .map_err(|e| error(ctx.file, e))?;
        chunks.expect_rows(groups.iter().map(|&g| group_rows[g].max(0) as usize).sum());
        for group in groups {
            let first_row: i64 = group_rows[..group].iter().sum();
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                self.bytes.clone(),
                self.metadata.clone(),
            )
            .with_projection(ProjectionMask::roots(parquet_schema, file_columns.clone()))
            .with_row_groups(vec![group])
            .with_batch_size(projection.max_chunk_rows())
            .build()
            .map_err(|e| {
                error(
                    ctx.file,
                    format!("cannot read Parquet rows (the decoder failed: {e})"),
                )
            })?;
            let mut row = first_row as u64;
            for batch in reader {
                let batch = batch.map_err(|e| {
                    error(
                        ctx.file,
                        format!("cannot read Parquet rows (the decoder failed: {e})"),
                    )
                })?;
                self.rows::<R>(&batch, &wanted, &file_columns, row, ctx, chunks.out())?;
                row += batch.num_rows() as u64;
                chunks.flush()?;
            }
        }
        chunks.finish()
    }

    /// Appends one decoded batch's rows to `out`, after the malformed-record policy.
    fn rows<R: Row>(
        &self,
        batch: &RecordBatch,
        wanted: &[(usize, Option<usize>)],
        file_columns: &[usize],
        first_row: u64,
        ctx: &ReadContext<'_>,
        out: &mut Vec<R>,
    ) -> Result<()> {
        let schema = ctx.schema;
        let len = batch.num_rows();
        let mut columns: Vec<Column<'_>> = vec![Column::Absent; schema.len()];
        // The first column read that is not nullable and missing from the file: null in every
        // row.
        let mut missing_strict: Option<&'static str> = None;
        let mut converted = Vec::with_capacity(wanted.len());
        for &(i, root) in wanted {
            let field = schema.fields()[i];
            let Some(root) = root else {
                if !field.nullable && missing_strict.is_none() {
                    missing_strict = Some(field.name);
                }
                continue;
            };
            let position = file_columns
                .binary_search(&root)
                .expect("every root read is in the projection");
            let array = batch.column(position);
            let column = convert(array.as_ref(), field.data_type).ok_or_else(|| {
                error(
                    ctx.file,
                    format!(
                        "Parquet column cannot be converted: column `{}`, expected {}, found {}",
                        field.name,
                        field.data_type.sql_name(),
                        array.data_type()
                    ),
                )
            })?;
            converted.push((root, i, column));
        }
        // A row's malformed field is its first null one that is not nullable, in the file's
        // column order (as the record reader visited them).
        converted.sort_by_key(|(root, _, _)| *root);
        let mut strict_columns = Vec::new();
        for (_, i, column) in converted {
            if !schema.fields()[i].nullable {
                strict_columns.push(i);
            }
            columns[i] = column;
        }
        let strict: Vec<(&'static str, &Nulls<'_>)> = strict_columns
            .iter()
            .filter_map(|&i| column_nulls(&columns[i]).map(|n| (schema.fields()[i].name, n)))
            .collect();

        let mut keep: Option<Vec<bool>> = None;
        if !strict.is_empty() || missing_strict.is_some() {
            let mut clean_run = 0u64;
            for r in 0..len {
                let null_in = strict
                    .iter()
                    .find(|(_, nulls)| !nulls.is_valid(r))
                    .map(|(name, _)| *name)
                    .or(missing_strict);
                let Some(name) = null_in else {
                    clean_run += 1;
                    continue;
                };
                ctx.count_clean(std::mem::take(&mut clean_run));
                let line = first_row + r as u64 + 1;
                let malformed = Some(crate::format::malformed::Malformed::field(
                    name,
                    "null value in a column that is not nullable",
                ));
                let decision = ctx.decide(line, Some(name), malformed, || {
                    record_text(&self.bytes, line - 1)
                })?;
                if decision == Decision::Drop {
                    keep.get_or_insert_with(|| vec![true; len])[r] = false;
                }
            }
            ctx.count_clean(clean_run);
        } else {
            ctx.count_clean(len as u64);
        }
        let before = out.len();
        R::from_columns(Columns::new(len, columns), out)
            .map_err(|e| error(ctx.file, format!("cannot build a row: {e}")))?;
        if let Some(keep) = keep {
            let mut flags = keep.into_iter();
            let built = out.split_off(before);
            out.extend(built.into_iter().filter(|_| flags.next().unwrap_or(true)));
        }
        Ok(())
    }
}

/// Runs `f`, turning a panic of the decoder (its assertions on inconsistent data) into a read
/// error: a damaged file must fail the read, never the process.
fn guard<T>(file: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(error(
            file,
            format!("damaged Parquet file (the decoder failed: {why})"),
        ))
    })
}

/// Checks, from the footer alone, that every column chunk lies inside the file (the decoder
/// asserts it, and would panic).
fn check_chunk_ranges(metadata: &ParquetMetaData, len: u64) -> Result<(), String> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
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
        }
    }
    Ok(())
}

/// The text of row `row` (0-based) as the `parquet` crate's record API prints it
/// (`{ts: 2024-01-01 10:00:01 +00:00, key: "a", value: null}`): what a dead letter keeps of a
/// dropped Parquet row. Only dropped rows need it, so it re-reads the file row by row.
fn record_text(bytes: &bytes::Bytes, row: u64) -> String {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let text = || {
        let reader = SerializedFileReader::new(bytes.clone()).ok()?;
        let row = reader.get_row_iter(None).ok()?.nth(row as usize)?.ok()?;
        Some(row.to_string())
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(text))
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn column_nulls<'c, 'a>(column: &'c Column<'a>) -> Option<&'c Nulls<'a>> {
    match column {
        Column::Boolean(v) => v.nulls.as_ref(),
        Column::Int(v) => v.nulls.as_ref(),
        Column::Long(v) | Column::Timestamp(v) => v.nulls.as_ref(),
        Column::Double(v) => v.nulls.as_ref(),
        Column::Window(v) => v.nulls.as_ref(),
        Column::String(Bytes::Buffers { nulls, .. })
        | Column::Binary(Bytes::Buffers { nulls, .. }) => nulls.as_ref(),
        _ => None,
    }
}

fn nulls(array: &dyn Array) -> Option<Nulls<'_>> {
    let nulls = array.nulls().filter(|n| n.null_count() > 0)?;
    Some(Nulls::Bitmap {
        bits: nulls.buffer().as_slice(),
        offset: nulls.offset(),
    })
}

/// The array's values, borrowed when they have the column's width already.
fn primitive<T: ArrowPrimitiveType>(array: &dyn Array) -> Values<'_, T::Native> {
    let array = array.as_primitive::<T>();
    Values::with_nulls(array.values().as_ref(), nulls(array))
}

/// The array's values converted to another width.
fn widened<T: ArrowPrimitiveType, U: Clone>(
    array: &dyn Array,
    f: impl Fn(T::Native) -> U,
) -> Values<'_, U> {
    let array = array.as_primitive::<T>();
    Values::with_nulls(
        array.values().iter().map(|v| f(*v)).collect::<Vec<_>>(),
        nulls(array),
    )
}

fn timestamps(array: &dyn Array) -> Option<Values<'_, i64>> {
    Some(match array.data_type() {
        A::Timestamp(TimeUnit::Microsecond, _) => primitive::<TimestampMicrosecondType>(array),
        A::Timestamp(TimeUnit::Millisecond, _) => {
            widened::<TimestampMillisecondType, i64>(array, |v| v.saturating_mul(1_000))
        }
        // Spark's legacy INT96 timestamps come through as nanoseconds.
        A::Timestamp(TimeUnit::Nanosecond, _) => {
            widened::<TimestampNanosecondType, i64>(array, |v| v.div_euclid(1_000))
        }
        A::Timestamp(TimeUnit::Second, _) => {
            widened::<TimestampSecondType, i64>(array, |v| v.saturating_mul(1_000_000))
        }
        A::Date32 => widened::<Date32Type, i64>(array, |d| i64::from(d) * MICROS_PER_DAY),
        _ => return None,
    })
}

/// An Arrow array as a column of `data_type`, if the types are compatible.
fn convert(array: &dyn Array, data_type: DataType) -> Option<Column<'_>> {
    Some(match (data_type, array.data_type()) {
        (_, A::Null) => Column::Absent,
        (DataType::Boolean, A::Boolean) => {
            let b = array.as_boolean();
            Column::Boolean(Values::with_nulls(
                b.values().iter().collect::<Vec<_>>(),
                nulls(b),
            ))
        }
        (DataType::Int, A::Int32) => Column::Int(primitive::<Int32Type>(array)),
        (DataType::Int, A::Int16) => Column::Int(widened::<Int16Type, i32>(array, i32::from)),
        (DataType::Int, A::Int8) => Column::Int(widened::<Int8Type, i32>(array, i32::from)),
        (DataType::Long, A::Int64) => Column::Long(primitive::<Int64Type>(array)),
        (DataType::Long, A::Int32) => Column::Long(widened::<Int32Type, i64>(array, i64::from)),
        (DataType::Long, A::Int16) => Column::Long(widened::<Int16Type, i64>(array, i64::from)),
        (DataType::Long, A::Int8) => Column::Long(widened::<Int8Type, i64>(array, i64::from)),
        (DataType::Double, A::Float64) => Column::Double(primitive::<Float64Type>(array)),
        (DataType::Double, A::Float32) => {
            Column::Double(widened::<Float32Type, f64>(array, f64::from))
        }
        (DataType::Timestamp, _) => Column::Timestamp(timestamps(array)?),
        (DataType::String, A::Utf8) => {
            let s = array.as_string::<i32>();
            Column::String(Bytes::Buffers {
                offsets: s.value_offsets(),
                data: s.values().as_slice(),
                nulls: nulls(s),
            })
        }
        (DataType::Binary, A::Binary) => {
            let b = array.as_binary::<i32>();
            Column::Binary(Bytes::Buffers {
                offsets: b.value_offsets(),
                data: b.values().as_slice(),
                nulls: nulls(b),
            })
        }
        // A STRING-annotated column read into a binary column: its bytes, as Spark's cast.
        (DataType::Binary, A::Utf8) => {
            let s = array.as_string::<i32>();
            Column::Binary(Bytes::Buffers {
                offsets: s.value_offsets(),
                data: s.values().as_slice(),
                nulls: nulls(s),
            })
        }
        (DataType::Window, A::Struct(fields)) => {
            let s = array.as_struct();
            let bound = |name: &str| {
                let i = fields.iter().position(|f| f.name() == name)?;
                timestamps(s.column(i).as_ref())
            };
            let (start, end) = (bound("start")?, bound("end")?);
            // A window with a null bound is null, as the record reader had it.
            let valid = |i: usize| {
                s.is_valid(i)
                    && start.nulls.as_ref().is_none_or(|n| n.is_valid(i))
                    && end.nulls.as_ref().is_none_or(|n| n.is_valid(i))
            };
            let windows: Vec<Window> = (0..s.len())
                .map(|i| Window {
                    start: crate::time::Timestamp::from_micros(start.values[i]),
                    end: crate::time::Timestamp::from_micros(end.values[i]),
                })
                .collect();
            let flags: Vec<bool> = (0..s.len()).map(valid).collect();
            let has_nulls = flags.iter().any(|v| !v);
            Column::Window(Values::with_nulls(
                windows,
                has_nulls.then_some(Nulls::Flags(flags)),
            ))
        }
        _ => return None,
    })
}
