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
//! cargo bench --features parquet --bench readers                    # criterion
//! cargo bench --features parquet --bench readers -- --interleaved   # what BENCHMARKS.md quotes
//! ```
//!
//! `--interleaved` times each reader and its baseline in turn, round after round, so a machine
//! shared with other work loads both alike. `--count <case> <sluice|arrow|none>` runs one read
//! of one case once (`csv`, `json`, `parquet`, `parquet_2_of_4`; `none` only writes the files),
//! for counting its instructions — which do not move with the machine's load:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/deps/readers-<hash> --count csv sluice
//! ```

// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use criterion::{Criterion, Throughput, criterion_group};
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

/// Each reader and its baseline in turn, round after round, so both see the same load; prints
/// the median milliseconds, rows/s and bytes/s of each, and the ratio reader / baseline. With
/// `count` (a case and a job), runs that job once instead.
fn interleaved(count: Option<(&str, &str)>) {
    const ROUNDS: usize = 30;
    let rate = rate_rows();
    let parquet: FileFormat = Parquet::new().into();
    let csv: FileFormat = Csv::new().into();
    let json: FileFormat = Json::new().into();
    let files = [
        parquet.write_rows(&rate).unwrap(),
        csv.write_rows(&rate).unwrap(),
        json.write_rows(&rate).unwrap(),
        parquet.write_rows(&wide_rows()).unwrap(),
    ];
    let two_of_four = Projection::columns(Wide::SCHEMA, &["timestamp", "value"]);
    let all = Projection::all();
    type Job<'a> = Box<dyn Fn() -> usize + 'a>;
    let cases: Vec<(&str, usize, Job<'_>, Job<'_>)> = vec![
        (
            "Parquet, 2 columns",
            0,
            Box::new(|| sluice_read::<RateRow>(&parquet, &files[0], &all)),
            Box::new(|| arrow_parquet(&files[0], &[0, 1])),
        ),
        (
            "CSV",
            1,
            Box::new(|| sluice_read::<RateRow>(&csv, &files[1], &all)),
            Box::new(|| arrow_csv(&files[1])),
        ),
        (
            "JSON lines",
            2,
            Box::new(|| sluice_read::<RateRow>(&json, &files[2], &all)),
            Box::new(|| arrow_json(&files[2])),
        ),
        (
            "Parquet, 2 of 4 columns",
            3,
            Box::new(|| sluice_read::<Wide>(&parquet, &files[3], &two_of_four)),
            Box::new(|| arrow_parquet(&files[3], &[0, 1])),
        ),
    ];
    if let Some((case, job)) = count {
        let names = ["parquet", "csv", "json", "parquet_2_of_4"];
        let i = names
            .iter()
            .position(|n| *n == case)
            .unwrap_or_else(|| panic!("--count: a case of {names:?}, not {case}"));
        let rows = match job {
            "sluice" => cases[i].2(),
            "arrow" => cases[i].3(),
            "none" => ROWS,
            other => panic!("--count: a job of sluice, arrow or none, not {other}"),
        };
        assert_eq!(rows, ROWS);
        return;
    }
    let mut times = vec![(Vec::new(), Vec::new()); cases.len()];
    let time = |job: &Job<'_>| {
        let started = std::time::Instant::now();
        assert_eq!(job(), ROWS);
        started.elapsed().as_secs_f64() * 1e3
    };
    for round in 0..ROUNDS {
        for (i, (_, _, sluice, arrow)) in cases.iter().enumerate() {
            // Rotating which goes first.
            if round % 2 == 0 {
                times[i].0.push(time(sluice));
                times[i].1.push(time(arrow));
            } else {
                times[i].1.push(time(arrow));
                times[i].0.push(time(sluice));
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("{ROUNDS} rounds of 1 M rows; medians");
    println!(
        "| file | bytes | Sluice ms | arrow-rs ms | Sluice rows/s | Sluice MB/s | arrow-rs rows/s | Sluice / arrow-rs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for ((name, file, _, _), (s, a)) in cases.iter().zip(&mut times) {
        let (s, a) = (median(s), median(a));
        let bytes = files[*file].len();
        println!(
            "| {name} | {bytes} | {s:.1} | {a:.1} | {:.1} M | {:.0} | {:.1} M | {:.2} |",
            ROWS as f64 / s / 1e3,
            bytes as f64 / s / 1e3,
            ROWS as f64 / a / 1e3,
            s / a
        );
    }
}

criterion_group!(benches, readers);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--interleaved") {
        interleaved(None);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--count") {
        let (Some(case), Some(job)) = (args.get(at + 1), args.get(at + 2)) else {
            panic!("--count <case> <sluice|arrow|none>");
        };
        interleaved(Some((case, job)));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
