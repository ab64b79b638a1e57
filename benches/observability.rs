//! What watching a query costs it: the seed's windowed aggregation through the engine (1 M
//! sensor rows in batches of 10 000, so 100 batches and 100 progress reports a run), in one
//! process, with the live page off, on with nobody looking, on with a client polling it ten
//! times a second, and with a listener.
//!
//! ```sh
//! cargo bench --features ui --bench observability -- --interleaved   # what BENCHMARKS.md quotes
//! cargo bench --features ui --bench observability -- --noplot        # criterion, one row after another
//! ```
//!
//! `--interleaved` runs the four set-ups in turn, round after round (rotating which goes first),
//! and prints each one's median and quartiles: on a shared machine whose load drifts over
//! minutes, rows measured one after another differ by more than what is measured, while
//! interleaved rounds see the same drift. The criterion rows run the page-off case again last,
//! which shows that drift.

// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use sluice::listener::{QueryProgressEvent, StreamingQueryListener};

#[path = "common/mod.rs"]
mod common;
use common::*;

const ROWS: usize = 1_000_000;
const BATCH: usize = 10_000;

/// A client that asks the page for what an open query page and a Prometheus server ask for,
/// every 100 ms, until told to stop: the list, the newest query's details and its last 100
/// progress reports, and `/metrics`.
fn poll(base: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async {
            let client = reqwest::Client::new();
            let mut requests = 0;
            while !stop.load(Ordering::SeqCst) {
                let list: serde_json::Value = client
                    .get(format!("{base}api/queries"))
                    .send()
                    .await
                    .expect("the list")
                    .json()
                    .await
                    .expect("JSON");
                requests += 1;
                if let Some(run) = list.as_array().and_then(|l| l.last()) {
                    let run = run["runId"].as_str().expect("a run id");
                    for path in [
                        format!("api/queries/{run}"),
                        format!("api/queries/{run}/progress?last=100"),
                    ] {
                        let body = client
                            .get(format!("{base}{path}"))
                            .send()
                            .await
                            .expect("a query")
                            .bytes()
                            .await
                            .expect("a body");
                        std::hint::black_box(body);
                        requests += 1;
                    }
                }
                let metrics = client
                    .get(format!("{base}metrics"))
                    .send()
                    .await
                    .expect("metrics")
                    .text()
                    .await
                    .expect("text");
                std::hint::black_box(metrics);
                requests += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            requests
        })
    })
}

#[derive(Debug)]
struct CountBatches(std::sync::atomic::AtomicU64);

impl StreamingQueryListener for CountBatches {
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        self.0
            .fetch_add(event.progress.num_input_rows, Ordering::Relaxed);
    }
}

fn observability(c: &mut Criterion) {
    let rows = sensors(ROWS);
    let rt = runtime();
    let mut g = c.benchmark_group("observability_seed_windows_10k_batches");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(30);
    let run = |g: &mut criterion::BenchmarkGroup<'_, _>, name: &str| {
        g.bench_function(name, |b| {
            b.iter_batched(
                || stream_of(&rows, BATCH),
                |s| run_engine::<RoomStats>(&rt, s, 1),
                BatchSize::LargeInput,
            )
        });
    };

    run(&mut g, "page_off");

    let ui = sluice::ui::serve("127.0.0.1:0").expect("the page starts");
    run(&mut g, "page_on_nobody_looking");

    let stop = Arc::new(AtomicBool::new(false));
    let poller = poll(ui.url(), Arc::clone(&stop));
    run(&mut g, "page_on_polled_10_per_second");
    stop.store(true, Ordering::SeqCst);
    let requests = poller.join().expect("the poller");
    eprintln!("the poller made {requests} requests");
    ui.shutdown();

    let listener: Arc<dyn StreamingQueryListener> =
        Arc::new(CountBatches(std::sync::atomic::AtomicU64::new(0)));
    sluice::streams().add_listener(Arc::clone(&listener));
    run(&mut g, "listener");
    sluice::streams().remove_listener(&listener);

    run(&mut g, "page_off_again");
    g.finish();
}

/// The set-ups compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Setup {
    PageOff,
    NobodyLooking,
    Polled,
    Listener,
}

impl Setup {
    const ALL: [Setup; 4] = [
        Setup::PageOff,
        Setup::NobodyLooking,
        Setup::Polled,
        Setup::Listener,
    ];

    fn name(self) -> &'static str {
        match self {
            Setup::PageOff => "page off",
            Setup::NobodyLooking => "page on, nobody looking",
            Setup::Polled => "page on, polled 10 times a second",
            Setup::Listener => "a listener",
        }
    }
}

/// Rounds of the four set-ups in turn; prints the median, quartiles and ratio of each.
fn interleaved() {
    const ROUNDS: usize = 40;
    const RUNS: usize = 3;
    let rows = sensors(ROWS);
    let rt = runtime();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); Setup::ALL.len()];
    for round in 0..ROUNDS {
        for k in 0..Setup::ALL.len() {
            let i = (round + k) % Setup::ALL.len();
            let setup = Setup::ALL[i];
            let ui = (setup == Setup::NobodyLooking || setup == Setup::Polled)
                .then(|| sluice::ui::serve("127.0.0.1:0").expect("the page starts"));
            let stop = Arc::new(AtomicBool::new(false));
            let poller = (setup == Setup::Polled).then(|| {
                let poller = poll(ui.as_ref().unwrap().url(), Arc::clone(&stop));
                std::thread::sleep(Duration::from_millis(150));
                poller
            });
            let listener: Option<Arc<dyn StreamingQueryListener>> = (setup == Setup::Listener)
                .then(|| {
                    let l: Arc<dyn StreamingQueryListener> =
                        Arc::new(CountBatches(std::sync::atomic::AtomicU64::new(0)));
                    sluice::streams().add_listener(Arc::clone(&l));
                    l
                });
            for _ in 0..RUNS {
                let stream = stream_of(&rows, BATCH);
                let started = std::time::Instant::now();
                let (read, stream) = run_engine::<RoomStats>(&rt, stream, 1);
                times[i].push(started.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(read);
                drop(stream);
            }
            stop.store(true, Ordering::SeqCst);
            if let Some(p) = poller {
                p.join().expect("the poller");
            }
            if let Some(ui) = ui {
                ui.shutdown();
            }
            if let Some(l) = listener {
                sluice::streams().remove_listener(&l);
            }
        }
    }
    let quantile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    let base = quantile(&mut times[0].clone(), 0.5);
    println!(
        "{ROUNDS} rounds x {RUNS} runs of 1 M rows in batches of 10 000; milliseconds per run"
    );
    println!("| set-up | median | p25 | p75 | M rows/s | median / page off |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (setup, t) in Setup::ALL.iter().zip(&mut times) {
        let median = quantile(t, 0.5);
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.3} |",
            setup.name(),
            median,
            quantile(t, 0.25),
            quantile(t, 0.75),
            ROWS as f64 / median / 1e3,
            median / base
        );
    }
}

criterion_group!(benches, observability);

fn main() {
    if std::env::args().any(|a| a == "--interleaved") {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
