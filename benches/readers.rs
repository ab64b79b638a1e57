//! The file readers beside the raw arrow-rs decode of the same columns of the same file: the
//! seed's rate rows (`timestamp`, `value`, 1 ms apart), 1 M rows, as Parquet (snappy, written
//! by Sluice's file sink writer), CSV and JSON lines. Each `sluice` row reads the file's bytes
//! into typed rows (`RateRow`) as the file source does; each `arrow` row decodes the same
//! bytes into Arrow record batches of 8 192 rows with arrow-rs's own reader of that format
//! (`parquet`'s Arrow reader, `arrow-csv`, `arrow-json`), the baseline. A fourth case reads
//! two of the four columns of a wider Parquet file (the projection). Criterion reports rows/s;
//! the file sizes are printed once, for bytes/s (see BENCHMARKS.md).
//!
//! ```sh
//! cargo bench --features parquet --bench readers
//! ```

// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice::format::{Csv, FileFormat, Json, Parquet, ParseMode, Projection};
use sluice::prelude::*;
use sluice::row::RateRow;

const ROWS: usize = 1_000_000;
const BATCH: usize = 8192;
const T0: i64 = 1_704_103_200_000_000; // 2024-01-01T10:00:00Z

sluice::pipeline! {
    /// The seed's sensor readings with their rate counter: four columns, two of which a
    /// windowed count per room over `value` would not read.
    pub schema Wide { timestamp: Timestamp, value: i64, room_name: String, temperature: f64 }
}

fn rate_rows() -> Vec<RateRow> {
    (0..ROWS as i64)
        .map(|v| RateRow {
            timestamp: Timestamp::from_micros(T0 + v * 1_000),
            value: v,
        })
        .collect()
}

fn wide_rows() -> Vec<Wide> {
    (0..ROWS as i64)
        .map(|v| Wide {
            timestamp: Timestamp::from_micros(T0 + v * 1_000),
            value: v,
            room_name: format!("Room_{}", v % 5),
            temperature: 20.0 + (v % 10) as f64 + (v % 3) as f64 / 10.0,
        })
        .collect()
}

fn arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            false,
        ),
        Field::new("value", DataType::Int64, false),
    ]))
}

/// Decodes Parquet bytes with the Arrow reader: the named root columns, in batches.
fn arrow_parquet(bytes: &[u8], roots: &[usize]) -> usize {
    let bytes = bytes::Bytes::copy_from_slice(bytes);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH)
        .build()
        .unwrap();
    reader.map(|b| black_box(b.unwrap()).num_rows()).sum()
}

fn arrow_csv(bytes: &[u8]) -> usize {
    let reader = arrow_csv::ReaderBuilder::new(arrow_schema())
        .with_batch_size(BATCH)
        .build(bytes)
        .unwrap();
    reader.map(|b| black_box(b.unwrap()).num_rows()).sum()
}

fn arrow_json(bytes: &[u8]) -> usize {
    let reader = arrow_json::ReaderBuilder::new(arrow_schema())
        .with_batch_size(BATCH)
        .build(bytes)
        .unwrap();
    reader.map(|b| black_box(b.unwrap()).num_rows()).sum()
}

fn sluice_read<R: Row>(format: &FileFormat, bytes: &[u8], projection: &Projection) -> usize {
    let rows: Vec<R> = format
        .read_rows(bytes, ParseMode::Permissive, projection)
        .unwrap();
    black_box(rows).len()
}

fn readers(c: &mut Criterion) {
    let rows = rate_rows();
    let formats: [(&str, FileFormat); 3] = [
        ("parquet", Parquet::new().into()),
        ("csv", Csv::new().into()),
        ("json", Json::new().into()),
    ];
    for (name, format) in formats {
        let bytes = format.write_rows(&rows).unwrap();
        eprintln!("{name}: {ROWS} rows, {} bytes", bytes.len());
        let projection = Projection::all();
        assert_eq!(sluice_read::<RateRow>(&format, &bytes, &projection), ROWS);
        let mut g = c.benchmark_group(format!("read_{name}"));
        g.throughput(Throughput::Elements(ROWS as u64));
        g.sample_size(20);
        g.bench_function("sluice", |b| {
            b.iter(|| sluice_read::<RateRow>(&format, &bytes, &projection))
        });
        g.bench_function("arrow", |b| {
            b.iter(|| match name {
                "parquet" => arrow_parquet(&bytes, &[0, 1]),
                "csv" => arrow_csv(&bytes),
                _ => arrow_json(&bytes),
            })
        });
        g.finish();
    }

    // Two of four columns of a wider file: the projection is pushed into both readers.
    let format: FileFormat = Parquet::new().into();
    let bytes = format.write_rows(&wide_rows()).unwrap();
    eprintln!("parquet (4 columns): {ROWS} rows, {} bytes", bytes.len());
    let projection = Projection::columns(Wide::SCHEMA, &["timestamp", "value"]);
    let mut g = c.benchmark_group("read_parquet_2_of_4_columns");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(20);
    g.bench_function("sluice", |b| {
        b.iter(|| sluice_read::<Wide>(&format, &bytes, &projection))
    });
    g.bench_function("sluice_all_columns", |b| {
        b.iter(|| sluice_read::<Wide>(&format, &bytes, &Projection::all()))
    });
    g.bench_function("arrow", |b| b.iter(|| arrow_parquet(&bytes, &[0, 1])));
    g.finish();
}

criterion_group!(benches, readers);
criterion_main!(benches);
