//! Throughput of generated pipelines, each beside a hand-written Rust baseline for the same job
//! and the same query driven through the full runtime. Criterion reports rows/s
//! (`Throughput::Elements`); see BENCHMARKS.md for the medians and ratios.
//!
//! ```sh
//! cargo bench --bench throughput                      # everything (several minutes)
//! cargo bench --bench throughput -- case1             # one case
//! SLUICE_BENCH_FULL=1 cargo bench --bench throughput -- case5   # adds the 10 M-key point
//! ```
//!
//! Every case has up to four rows:
//! - `generated`: the `pipeline!` struct driven directly, batch by batch, the watermark advanced
//!   between batches as the engine does (no source, no sink, no tokio);
//! - `runtime_10k` / `runtime_1m`: the same query through the engine: a memory stream holding
//!   the input in batches of 10 000 or 1 000 000 rows, `Trigger::AvailableNow`, a sink that drops
//!   the rows;
//! - `handwritten`: the tightest loop for the same job written by hand (hashbrown, integer keys,
//!   no allocation per row), with the same semantics (late rows, eviction, emission).
//!
//! The `threads_*` groups run cases 1, 2, 3 and 5 (1 M keys) through the engine on 1, 2, ...
//! worker threads (`.parallelism(n)`, up to the machine's cores): the thread curve.

// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluice::prelude::*;
use sluice::{BatchContext, OutputMode};

#[path = "common/mod.rs"]
mod common;
use common::*;

/// The two runtime rows of a case: batches of 10 000 and of 1 000 000 rows, on one thread.
fn bench_runtime<P>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rows: &[P::Input],
) where
    P: Pipeline + Default + sluice::pipeline::SupportsAppend,
{
    let rt = runtime();
    for (name, batch) in [("runtime_10k", 10_000), ("runtime_1m", 1_000_000)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || stream_of(rows, batch),
                |s| run_engine::<P>(&rt, s, 1),
                BatchSize::LargeInput,
            )
        });
    }
}

// ------------------------------------------------------------------------------------------
// Benchmarks
// ------------------------------------------------------------------------------------------

const ROWS: usize = 1_000_000;
// Batches of 1 M rows, the size the runtime rows are compared at.
const BATCH: usize = 1_000_000;

/// One case's four rows: the generated pipeline driven directly, the hand-written job, and the
/// pipeline through the engine at two batch sizes.
fn compare<P>(
    c: &mut Criterion,
    group: &str,
    samples: usize,
    rows: &[P::Input],
    handwritten: impl Fn(&[P::Input]) -> usize,
) where
    P: Pipeline + Default + sluice::pipeline::SupportsAppend,
{
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(samples);
    g.bench_function("generated", |b| {
        b.iter_batched(
            P::default,
            |p| drive(p, rows, BATCH, OutputMode::Append),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("handwritten", |b| b.iter(|| handwritten(rows)));
    bench_runtime::<P>(&mut g, rows);
    g.finish();
}

fn case1(c: &mut Criterion) {
    compare::<RoomStats>(c, "case1_sensor_windows", 20, &sensors(ROWS), |r| {
        handwritten::room_stats_job(r, BATCH)
    });
}

fn case2(c: &mut Criterion) {
    compare::<RateRoomStats>(c, "case2_rate_fused_prefix", 20, &rate_rows(ROWS), |r| {
        handwritten::rate_stats_job(r, BATCH)
    });
}

fn case3(c: &mut Criterion) {
    compare::<HighTemp>(c, "case3_filter_project", 20, &sensors(ROWS), |r| {
        handwritten::high_temp_job(r, BATCH)
    });
}

fn case4(c: &mut Criterion) {
    // 10 000 keys, a row every millisecond of event time (each key every 10 s, so about six
    // rows per key and minute); each row lands in two windows.
    compare::<Sliding>(
        c,
        "case4_sliding_10k_keys",
        10,
        &keyed(ROWS, 10_000, MS),
        |r| handwritten::windowed_job(r, BATCH, 120_000_000, 60_000_000),
    );
}

fn case5(c: &mut Criterion) {
    let mut key_counts = vec![10_i64, 1_000, 100_000, 1_000_000];
    if std::env::var_os("SLUICE_BENCH_FULL").is_some() {
        key_counts.push(10_000_000);
    }
    let mut g = c.benchmark_group("case5_key_cardinality");
    g.sample_size(10);
    for keys in key_counts {
        // Every key appears at least once per minute window; at least 1 M rows.
        let n = (keys as usize).max(ROWS);
        let step = (60_000_000 / n as i64).max(1);
        let rows = keyed(n, keys, step);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("generated", keys), &rows, |b, rows| {
            b.iter_batched(
                Tumbling::new,
                |p| drive(p, rows, n, OutputMode::Append),
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("handwritten", keys), &rows, |b, rows| {
            b.iter(|| handwritten::windowed_job(rows, n, 60_000_000, 60_000_000))
        });
        // State bytes per group, printed once per key count (not timed).
        let mut p = Tumbling::new();
        let mut ctx = BatchContext::for_pipeline::<Tumbling>(OutputMode::Append);
        let mut out = Vec::new();
        p.process(&rows, &mut ctx, &mut out).expect("process");
        let groups = p.state_rows();
        println!(
            "case5 keys={keys}: {groups} groups, {} state bytes, {:.1} bytes/group (key + accumulators need 32)",
            p.state_bytes(),
            p.state_bytes() as f64 / groups as f64
        );
    }
    g.finish();
}

fn case6(c: &mut Criterion) {
    // 100 000 keys, each touched once per batch; emission cost of update vs complete mode.
    let rows = keyed(100_000, 100_000, MS);
    let mut g = c.benchmark_group("case6_emission_100k_groups");
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(20);
    for (name, mode) in [
        ("update", OutputMode::Update),
        ("complete", OutputMode::Complete),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    // A warm state: the keys exist already, so the batch measures updates and emission.
                    let mut p = KeyCounts::new();
                    let mut ctx = BatchContext::for_pipeline::<KeyCounts>(mode);
                    let mut out = Vec::new();
                    p.process(&rows, &mut ctx, &mut out).expect("process");
                    p.finish_batch(&mut ctx, &mut out).expect("finish");
                    ctx.advance(None, Timestamp::EPOCH);
                    (p, ctx)
                },
                |(mut p, mut ctx)| {
                    let mut out = Vec::with_capacity(rows.len());
                    p.process(&rows, &mut ctx, &mut out).expect("process");
                    p.finish_batch(&mut ctx, &mut out).expect("finish");
                    out.len()
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.bench_function("process_only", |b| {
        b.iter_batched(
            || {
                let mut p = KeyCounts::new();
                let mut ctx = BatchContext::for_pipeline::<KeyCounts>(OutputMode::Append);
                let mut out = Vec::new();
                p.process(&rows, &mut ctx, &mut out).expect("process");
                (p, ctx)
            },
            |(mut p, mut ctx)| {
                let mut out = Vec::new();
                p.process(&rows, &mut ctx, &mut out).expect("process");
                p.state_rows()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn case7(c: &mut Criterion) {
    // Every reading delivered twice: half the rows are duplicates; 10 000 keys, a reading per
    // millisecond, keys evicted a minute after their event time.
    compare::<operators::UniqueReadings>(
        c,
        "case7_dedup_half_duplicates",
        20,
        &operators::duplicated(ROWS),
        |r| operators::handwritten::dedup_job(r, BATCH),
    );
}

fn case8(c: &mut Criterion) {
    // 10 000 keys, each every 10 s in bursts of 100 s: ten-row sessions closed after each burst.
    compare::<operators::KeySessions>(
        c,
        "case8_sessions_10k_keys",
        20,
        &operators::bursts(ROWS, 10_000),
        |r| operators::handwritten::sessions_job(r, BATCH),
    );
}

fn case9(c: &mut Criterion) {
    // Lines of eight words: eight output rows per input row.
    compare::<operators::SentenceWords>(
        c,
        "case9_explode_split",
        20,
        &operators::sentences(ROWS / 4),
        |r| operators::handwritten::words_job(r, BATCH),
    );
}

fn case10(c: &mut Criterion) {
    // 1 M impressions and 1 M clicks of 10 000 ads, 100 000 rows of each side per batch; a
    // 30-second watermark on each side, clicks joined 0–20 s after their impressions.
    const SIDE_BATCH: usize = operators::JOIN_SIDE_BATCH;
    let (impressions, clicks, rows) = operators::ad_input(ROWS);
    let streams = || {
        let (left, right) = (
            MemoryStream::new().max_batches_per_trigger(1),
            MemoryStream::new().max_batches_per_trigger(1),
        );
        for (l, r) in impressions
            .chunks(SIDE_BATCH)
            .zip(clicks.chunks(SIDE_BATCH))
        {
            left.add_data(l.to_vec());
            right.add_data(r.to_vec());
        }
        (left, right)
    };
    let rt = runtime();

    // The jobs' results, once (not timed): the generated and the hand-written job must do the
    // same work, and the engine emit what the generated pipeline emits.
    let mut p = operators::AdClicks::new();
    let emitted = drive_mut(&mut p, &rows, 2 * SIDE_BATCH, OutputMode::Append);
    let by_hand = operators::handwritten::join_job(&impressions, &clicks, SIDE_BATCH);
    let (left, right) = streams();
    let (read, engine_emitted, _) = run_join_engine::<operators::AdClicks>(&rt, left, right, 1);
    eprintln!(
        "case10: {} input rows; joined rows emitted: generated {emitted}, hand-written {}, \
         runtime {engine_emitted}; state rows held at the end: generated {}, hand-written {}",
        rows.len(),
        by_hand.emitted,
        p.state_rows(),
        by_hand.state_rows,
    );
    assert_eq!(
        emitted, by_hand.emitted,
        "generated and hand-written emit alike"
    );
    assert_eq!(
        p.state_rows(),
        by_hand.state_rows,
        "and hold the same state"
    );
    assert_eq!(
        engine_emitted, emitted as u64,
        "the engine emits what the pipeline does"
    );
    assert_eq!(read, rows.len() as u64, "the engine reads every row");
    let (left, right) = streams();
    let (_, on_two, _) = run_join_engine::<operators::AdClicks>(&rt, left, right, 2);
    assert_eq!(on_two, engine_emitted, "and the same rows on two threads");

    let mut g = c.benchmark_group("case10_stream_join_10k_ads");
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(10);
    g.bench_function("generated", |b| {
        b.iter_batched(
            operators::AdClicks::new,
            |p| drive(p, &rows, 2 * SIDE_BATCH, OutputMode::Append),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("handwritten", |b| {
        b.iter(|| operators::handwritten::join_job(&impressions, &clicks, SIDE_BATCH).emitted)
    });
    g.bench_function("runtime", |b| {
        b.iter_batched(
            streams,
            |(l, r)| run_join_engine::<operators::AdClicks>(&rt, l, r, 1),
            BatchSize::LargeInput,
        )
    });
    // The join's keys split over two workers (the sides' clauses stay on the query's task).
    g.bench_function("runtime_2_threads", |b| {
        b.iter_batched(
            streams,
            |(l, r)| run_join_engine::<operators::AdClicks>(&rt, l, r, 2),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The memory-bandwidth bound: a sequential read of a large buffer, in bytes/s. Divide by the
/// input bytes per row (printed) for the rows/s no pipeline can beat.
fn bandwidth(c: &mut Criterion) {
    let words: Vec<u64> = (0..(256 << 20) / 8).collect();
    println!(
        "input bytes per row: Sensor {} (+ the room name's heap bytes, shared here), RateRow {}, Keyed {}",
        std::mem::size_of::<Sensor>(),
        std::mem::size_of::<RateRow>(),
        std::mem::size_of::<Keyed>()
    );
    let mut g = c.benchmark_group("memory_bandwidth");
    g.throughput(Throughput::Bytes((words.len() * 8) as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("sequential_read", |b| {
        b.iter(|| words.iter().fold(0u64, |a, w| a.wrapping_add(*w)))
    });
    g.finish();
}

/// One case through the engine on 1, 2, ... threads (up to the cores, at least 2): `rows` in
/// batches of `batch` rows.
fn thread_curve<P>(c: &mut Criterion, group: &str, rows: &[P::Input], batch: usize)
where
    P: Pipeline + Default + sluice::pipeline::SupportsAppend,
{
    let rt = runtime();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(10);
    let most = sluice::executor::default_parallelism().max(2);
    let mut threads: Vec<usize> = vec![1, 2, 4, 8, 16, 32];
    threads.retain(|&t| t <= most);
    if !threads.contains(&most) {
        threads.push(most);
    }
    for t in threads {
        g.bench_with_input(BenchmarkId::new("threads", t), &t, |b, &t| {
            b.iter_batched(
                || stream_of(rows, batch),
                |s| run_engine::<P>(&rt, s, t),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

const CURVE_ROWS: usize = 4_000_000;

fn threads(c: &mut Criterion) {
    thread_curve::<RoomStats>(c, "threads_case1", &sensors(CURVE_ROWS), BATCH);
    thread_curve::<RateRoomStats>(c, "threads_case2", &rate_rows(CURVE_ROWS), BATCH);
    thread_curve::<HighTemp>(c, "threads_case3", &sensors(CURVE_ROWS), BATCH);
    // 1 M keys, every key once in one 1-minute window: one batch of 1 M rows.
    let n = 1_000_000;
    thread_curve::<Tumbling>(c, "threads_case5_1m_keys", &keyed(n, n as i64, 60), n);
    // Every reading twice, keys evicted a minute after their event time (case 7).
    thread_curve::<operators::UniqueReadings>(
        c,
        "threads_case7_dedup",
        &operators::duplicated(CURVE_ROWS),
        BATCH,
    );
    // 10 000 keys in 100-second bursts, sessions closed after each (case 8).
    thread_curve::<operators::KeySessions>(
        c,
        "threads_case8_sessions",
        &operators::bursts(CURVE_ROWS, 10_000),
        BATCH,
    );
}

criterion_group!(
    benches, case1, case2, case3, case4, case5, case6, case7, case8, case9, case10, threads,
    bandwidth
);
criterion_main!(benches);
