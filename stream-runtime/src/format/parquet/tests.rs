//! The Arrow reader's typed decoding: every column type and its nulls, narrower types widened,
//! the legacy timestamp encodings, the projection, and chunks of bounded size.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Float32Builder, Float64Builder, Int8Builder,
    Int16Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    TimestampMillisecondBuilder, TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;

use crate::error::Error;
use crate::format::{Chunks, FileFormat, Input, Parquet, ParseMode, Projection, ReadContext};
use crate::row::Row;
use crate::test_rows::{Event, StrictEvent, at, event};
use crate::time::Timestamp;

use super::read::ParquetFile;

/// A Parquet file of these columns, written by the Arrow writer (which can write types
/// Sluice's own writer does not: narrower integers, floats, milliseconds, dates).
fn arrow_file(columns: Vec<(&str, ArrayRef)>, rows_per_group: usize) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn read<R: Row>(bytes: &[u8], mode: ParseMode, projection: &Projection) -> crate::Result<Vec<R>> {
    let prepared = FileFormat::from(Parquet::new()).prepare(R::SCHEMA)?;
    let ctx = ReadContext::new("in.parquet", R::SCHEMA, mode, "_corrupt_record")?;
    let file = ParquetFile::open(bytes.to_vec().into(), "in.parquet")?;
    let mut chunks = Chunks::collect();
    prepared.read_chunks(Input::Parquet(&file, None), &ctx, projection, &mut chunks)?;
    Ok(chunks.into_rows())
}

crate::test_rows::test_row!(Widened {
    b: Option<bool>,
    i: Option<i32>,
    l: Option<i64>,
    d: Option<f64>,
    s: Option<String>,
    t: Option<Timestamp>,
    bin: Option<Vec<u8>>,
});

#[test]
fn every_type_decodes_typed_with_its_nulls_and_narrower_types_widen() {
    let mut b = BooleanBuilder::new();
    b.append_value(true);
    b.append_null();
    b.append_value(false);
    let mut i = Int16Builder::new();
    i.append_value(-7);
    i.append_value(300);
    i.append_null();
    let mut l = Int8Builder::new();
    l.append_null();
    l.append_value(-128);
    l.append_value(127);
    let mut d = Float32Builder::new();
    d.append_value(1.5);
    d.append_null();
    d.append_value(f32::NAN);
    let mut s = StringBuilder::new();
    s.append_value("é");
    s.append_value("");
    s.append_null();
    let mut t = TimestampMillisecondBuilder::new();
    t.append_value(1_704_103_201_000);
    t.append_null();
    t.append_value(-1);
    let mut bin = BinaryBuilder::new();
    bin.append_null();
    bin.append_value(b"\x00\xff");
    bin.append_value(b"");
    let bytes = arrow_file(
        vec![
            ("b", Arc::new(b.finish()) as ArrayRef),
            ("i", Arc::new(i.finish())),
            ("l", Arc::new(l.finish())),
            ("d", Arc::new(d.finish())),
            ("s", Arc::new(s.finish())),
            ("t", Arc::new(t.finish())),
            ("bin", Arc::new(bin.finish())),
        ],
        1024,
    );
    let rows: Vec<Widened> = read(&bytes, ParseMode::FailFast, &Projection::all()).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (
            &rows[0].b,
            rows[0].i,
            rows[0].l,
            rows[0].d,
            &rows[0].s,
            rows[0].t,
            &rows[0].bin
        ),
        (
            &Some(true),
            Some(-7),
            None,
            Some(1.5),
            &Some("é".to_string()),
            Some(at(1_000)),
            &None
        )
    );
    assert_eq!(
        (
            &rows[1].b,
            rows[1].i,
            rows[1].l,
            rows[1].d,
            &rows[1].s,
            rows[1].t,
            &rows[1].bin
        ),
        (
            &None,
            Some(300),
            Some(-128),
            None,
            &Some(String::new()),
            None,
            &Some(vec![0, 255])
        )
    );
    assert_eq!(
        (rows[2].b, rows[2].i, rows[2].l),
        (Some(false), None, Some(127))
    );
    assert!(rows[2].d.unwrap().is_nan());
    assert_eq!(
        (&rows[2].s, rows[2].t),
        (&None, Some(Timestamp::from_micros(-1_000)))
    );
    assert_eq!(rows[2].bin, Some(Vec::new()));
}

crate::test_rows::test_row!(Times {
    micros: Timestamp,
    nanos: Option<Timestamp>,
    date: Option<Timestamp>,
    n32: i64,
    n64: Option<i64>,
    d64: f64,
    i32s: i32,
});

#[test]
fn timestamps_in_every_unit_and_dates_read_as_microseconds() {
    let mut micros = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut nanos = TimestampNanosecondBuilder::new();
    let mut date = Date32Builder::new();
    let mut n32 = Int32Builder::new();
    let mut n64 = Int64Builder::new();
    let mut d64 = Float64Builder::new();
    let mut i32s = Int32Builder::new();
    for k in 0..3i64 {
        micros.append_value(1_704_103_200_000_007 + k);
        // Before the epoch too: nanoseconds round down to the microsecond, as Spark's INT96.
        nanos.append_value(-1_500 + k * 1_000);
        date.append_value(19_723 + k as i32);
        n32.append_value(k as i32 - 1);
        n64.append_option((k != 1).then_some(k << 40));
        d64.append_value(k as f64 / 4.0);
        i32s.append_value(i32::MAX - k as i32);
    }
    let bytes = arrow_file(
        vec![
            ("micros", Arc::new(micros.finish()) as ArrayRef),
            ("nanos", Arc::new(nanos.finish())),
            ("date", Arc::new(date.finish())),
            ("n32", Arc::new(n32.finish())),
            ("n64", Arc::new(n64.finish())),
            ("d64", Arc::new(d64.finish())),
            ("i32s", Arc::new(i32s.finish())),
        ],
        1024,
    );
    let rows: Vec<Times> = read(&bytes, ParseMode::FailFast, &Projection::all()).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r.micros.as_micros())
            .collect::<Vec<_>>(),
        [
            1_704_103_200_000_007,
            1_704_103_200_000_008,
            1_704_103_200_000_009
        ]
    );
    assert_eq!(
        rows.iter()
            .map(|r| r.nanos.unwrap().as_micros())
            .collect::<Vec<_>>(),
        [-2, -1, 0]
    );
    assert_eq!(
        rows[1].date,
        Some(Timestamp::from_micros(19_724 * crate::time::MICROS_PER_DAY))
    );
    assert_eq!(rows.iter().map(|r| r.n32).collect::<Vec<_>>(), [-1, 0, 1]);
    assert_eq!(
        rows.iter().map(|r| r.n64).collect::<Vec<_>>(),
        [Some(0), None, Some(2 << 40)]
    );
    assert_eq!(
        rows.iter().map(|r| r.d64).collect::<Vec<_>>(),
        [0.0, 0.25, 0.5]
    );
    assert_eq!(rows[2].i32s, i32::MAX - 2);
}

crate::test_rows::test_row!(KeyAsNumber {
    ts: Option<Timestamp>,
    key: Option<i64>,
    value: Option<f64>,
});

crate::test_rows::test_row!(WithStrictUnused {
    ts: Option<Timestamp>,
    absent: i64,
    value: Option<f64>,
});

fn events_file() -> Vec<u8> {
    let events: Vec<Event> = (0..5)
        .map(|i| event(i * 1_000, Some(["a", "b"][i as usize % 2]), Some(i as f64)))
        .collect();
    FileFormat::from(Parquet::new())
        .prepare(Event::SCHEMA)
        .unwrap()
        .write(&events)
        .unwrap()
}

#[test]
fn only_the_columns_read_are_decoded() {
    let bytes = events_file();
    // `key` holds strings; a schema declaring it a number cannot read it...
    let err = read::<KeyAsNumber>(&bytes, ParseMode::FailFast, &Projection::all()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "source in.parquet: Parquet column cannot be converted: column `key`, expected BIGINT, found Utf8"
    );
    // ...unless the query does not read it: then it is not decoded, and the field is null.
    let projection = Projection::columns(KeyAsNumber::SCHEMA, &["ts", "value"]);
    let rows: Vec<KeyAsNumber> = read(&bytes, ParseMode::FailFast, &projection).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[3],
        KeyAsNumber {
            ts: Some(at(3_000)),
            key: None,
            value: Some(3.0)
        }
    );
    // A column that is not nullable and missing from the file makes every row malformed when
    // it is read, and nothing when it is not.
    let all: crate::Result<Vec<WithStrictUnused>> =
        read(&bytes, ParseMode::FailFast, &Projection::all());
    assert!(
        matches!(&all, Err(Error::MalformedRecord { line: 1, field: Some(f), .. }) if f == "absent"),
        "{all:?}"
    );
    let projection = Projection::columns(WithStrictUnused::SCHEMA, &["value"]);
    let rows: Vec<WithStrictUnused> = read(&bytes, ParseMode::FailFast, &projection).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.ts, r.absent, r.value))
            .collect::<Vec<_>>(),
        (0..5)
            .map(|i| (None, 0, Some(i as f64)))
            .collect::<Vec<_>>()
    );
    // Nothing read at all: the rows still come, one per record.
    let none = Projection::columns(Event::SCHEMA, &[]);
    assert_eq!(
        read::<Event>(&bytes, ParseMode::FailFast, &none)
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn rows_come_in_chunks_of_bounded_size_across_row_groups() {
    let mut ts = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut key = StringBuilder::new();
    let mut value = Float64Builder::new();
    for i in 0..10i64 {
        // Row 7 has no `ts`: malformed for a schema where it is required.
        ts.append_option((i != 7).then_some(at(i * 1_000).as_micros()));
        key.append_value(format!("k{i}"));
        value.append_value(i as f64);
    }
    let bytes = arrow_file(
        vec![
            ("ts", Arc::new(ts.finish()) as ArrayRef),
            ("key", Arc::new(key.finish())),
            ("value", Arc::new(value.finish())),
        ],
        4,
    );
    let file = ParquetFile::open(bytes.into(), "in.parquet").unwrap();
    assert_eq!(file.row_groups(), 3);
    let prepared = FileFormat::from(Parquet::new())
        .prepare(StrictEvent::SCHEMA)
        .unwrap();
    let ctx = ReadContext::new(
        "in.parquet",
        StrictEvent::SCHEMA,
        ParseMode::DropMalformed,
        "_corrupt_record",
    )
    .unwrap()
    .keep_rejected();
    let mut sizes = Vec::new();
    let mut keys = Vec::new();
    let mut on_chunk = |chunk: Vec<StrictEvent>| {
        sizes.push(chunk.len());
        keys.extend(chunk.into_iter().map(|r| r.key.unwrap()));
        Ok(())
    };
    let projection = Projection::all().chunk_rows(3);
    let mut chunks = Chunks::new(projection.max_chunk_rows(), &mut on_chunk);
    prepared
        .read_chunks(Input::Parquet(&file, None), &ctx, &projection, &mut chunks)
        .unwrap();
    // Row groups of 4, 4 and 2 rows decoded 3 at a time: batches of 3, 1, 3, 1, 2 rows, a
    // chunk handed on once it holds 3 or more; row 7 (the second group's last) is dropped.
    assert_eq!(sizes, [3, 4, 2]);
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k8", "k9"]);
    let counts = ctx.counts();
    assert_eq!(
        (counts.records, counts.malformed, counts.dropped),
        (10, 1, 1)
    );
    let rejected = ctx.take_rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].line, 8,
        "rows are numbered from the file's first"
    );
    assert_eq!(rejected[0].record, "{ts: null, key: \"k7\", value: 7.0}");

    // Row groups are units of work of their own: the last alone.
    let ctx = ReadContext::new(
        "in.parquet",
        StrictEvent::SCHEMA,
        ParseMode::FailFast,
        "_corrupt_record",
    )
    .unwrap();
    let mut chunks = Chunks::collect();
    prepared
        .read_chunks(
            Input::Parquet(&file, Some(&[2])),
            &ctx,
            &projection,
            &mut chunks,
        )
        .unwrap();
    let rows: Vec<StrictEvent> = chunks.into_rows();
    assert_eq!(
        rows.iter().map(|r| r.ts).collect::<Vec<_>>(),
        [at(8_000), at(9_000)]
    );
}
