//! End-to-end latency: how long after its timestamp a row reaches the sink, with the
//! continuous trigger and with the default micro-batch trigger, at several input rates.
//!
//! ```sh
//! cargo bench --bench latency                                 # every rate and set-up (~3 min)
//! cargo bench --bench latency -- --seconds 3 --rounds 4 100000  # one rate, 4 rounds of 3 s
//! ```
//!
//! The rate source stamps each row with the instant it is due (its `timestamp`; the continuous
//! reader generates it then, the micro-batch source when the second it belongs to has passed).
//! The query is the seed's sensor stream (projections of the rate rows: room, temperature,
//! humidity), and the sink a `foreach` writer that reads the query's clock for every row and
//! keeps `now - timestamp`. The first second of each run is left out (the query starting).
//!
//! Four set-ups per rate: the machine's own floor (a thread that sleeps until each row is due,
//! as the continuous rate reader does, and measures how late it woke — no query at all), the
//! continuous trigger, the continuous trigger with a checkpoint (an offset and a commit file
//! fsynced every epoch), and the default micro-batch trigger; run in turn, for two rounds of
//! 5 s each by default, rotating which goes first. Printed: rows measured, then the median, 99th
//! and 99.9th percentiles and the maximum, over every row of every round. Not a criterion
//! benchmark: latency is a distribution over rows, not a time per iteration. Numbers are in
//! BENCHMARKS.md.

#![allow(missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// The seed's `sensor_stream`, keeping the rate source's timestamp.
    pub query Readings from Rate {
        select timestamp,
               room_name = concat("Room_", cast(value % 5 as string)),
               temperature = 20 + value % 10 + (value % 3) / 10.0,
               humidity = 50 + value % 20;
    }
}

/// Latencies in µs of the rows after the warm-up.
#[derive(Default)]
struct Samples {
    latencies: Vec<u32>,
}

/// How a run executes.
#[derive(Clone, Copy)]
enum Setup {
    /// No query: a thread sleeping until each row is due.
    Floor,
    Continuous,
    ContinuousCheckpointed,
    MicroBatch,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Floor => "floor: a sleeping thread, no query",
            Setup::Continuous => "continuous",
            Setup::ContinuousCheckpointed => "continuous, with a checkpoint",
            Setup::MicroBatch => "micro-batch (default trigger)",
        }
    }
}

/// The machine's floor: a thread sleeping until each row of `rate` rows/s is due, with the
/// timer slack the continuous task uses, keeping how late it woke for each row.
fn floor(rate: u64, seconds: u64) -> Vec<u32> {
    std::thread::spawn(move || {
        #[cfg(target_os = "linux")]
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
        let clock = Clock::system();
        let start = clock.now().as_micros() + 1_000_000;
        let rows = rate * seconds.saturating_sub(1);
        let mut latencies = Vec::with_capacity(rows as usize);
        let mut v = 0u64;
        while v < rows {
            let now = clock.now().as_micros();
            let due = start + (v * 1_000_000 / rate) as i64;
            if due > now {
                std::thread::sleep(Duration::from_micros((due - now) as u64));
                continue;
            }
            while v < rows && start + ((v * 1_000_000 / rate) as i64) <= now {
                let due = start + (v * 1_000_000 / rate) as i64;
                latencies.push((now - due) as u32);
                v += 1;
            }
        }
        latencies
    })
    .join()
    .unwrap()
}

/// Runs the query at `rate` rows/s for `seconds` as `setup` says, and returns the latencies.
async fn run(rate: u64, seconds: u64, setup: Setup) -> Vec<u32> {
    if let Setup::Floor = setup {
        return floor(rate, seconds);
    }
    let clock = Clock::system();
    let warm_up = clock.now().plus_micros(1_000_000);
    let samples = Arc::new(Mutex::new(Samples {
        latencies: Vec::with_capacity((rate * seconds) as usize),
    }));
    let sink = Arc::clone(&samples);
    let writer = move |row: ReadingsRow| {
        let now = clock.now();
        if row.timestamp >= warm_up {
            let latency = (now.as_micros() - row.timestamp.as_micros()).max(0) as u32;
            sink.lock().unwrap().latencies.push(latency);
        }
    };
    let checkpoint = tempfile::tempdir().unwrap();
    let frame = Readings::read_stream(RateSource::new().rows_per_second(rate))
        .write_stream()
        .clock(clock)
        .foreach(writer);
    let every_second = Trigger::continuous("1 second").unwrap();
    let query = match setup {
        Setup::Continuous => frame.trigger(every_second).start(),
        Setup::ContinuousCheckpointed => frame
            .trigger(every_second)
            .checkpoint_location(checkpoint.path())
            .start(),
        Setup::MicroBatch => frame.start(),
        Setup::Floor => unreachable!("no query"),
    }
    .unwrap();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    query.stop().await;
    if let Some(e) = query.exception() {
        panic!("the query failed: {e}");
    }
    std::mem::take(&mut samples.lock().unwrap().latencies)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn show(micros: u32) -> String {
    if micros >= 10_000 {
        format!("{:.0} ms", micros as f64 / 1000.0)
    } else {
        format!("{:.3} ms", micros as f64 / 1000.0)
    }
}

const SETUPS: [Setup; 4] = [
    Setup::Floor,
    Setup::Continuous,
    Setup::ContinuousCheckpointed,
    Setup::MicroBatch,
];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (mut seconds, mut rounds) = (5, 2);
    let mut rates = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => seconds = args[i + 1].parse().expect("--seconds N"),
            "--rounds" => rounds = args[i + 1].parse().expect("--rounds N"),
            rate => {
                rates.push(rate.parse::<u64>().expect("a rate in rows per second"));
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    if rates.is_empty() {
        rates = vec![1_000, 10_000, 100_000, 1_000_000];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| set-up | rows/s | rows measured | p50 | p99 | p99.9 | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for &rate in &rates {
        // The set-ups in turn, round after round, rotating which goes first: a shared
        // machine's load drifts over minutes, and interleaved runs see the same drift.
        let mut latencies: Vec<Vec<u32>> = vec![Vec::new(); SETUPS.len()];
        for round in 0..rounds {
            for k in 0..SETUPS.len() {
                let which = (k + round) % SETUPS.len();
                let got = runtime.block_on(run(rate, seconds, SETUPS[which]));
                latencies[which].extend(got);
            }
        }
        for (setup, latencies) in SETUPS.iter().zip(&mut latencies) {
            assert!(
                !latencies.is_empty(),
                "no row was measured at {rate} rows/s"
            );
            latencies.sort_unstable();
            println!(
                "| {} | {rate} | {} | {} | {} | {} | {} |",
                setup.name(),
                latencies.len(),
                show(percentile(latencies, 0.50)),
                show(percentile(latencies, 0.99)),
                show(percentile(latencies, 0.999)),
                show(*latencies.last().unwrap()),
            );
        }
    }
}
