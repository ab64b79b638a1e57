//! The Sluice side of the side-by-side with Spark (`benches/spark/run.sh`): one query over a
//! directory of Parquet files of the seed's rate rows (`timestamp`, `value`), read with
//! `maxFilesPerTrigger` 1 and `Trigger::AvailableNow`, every output row consumed by a
//! `foreach_batch` sink. Prints one line: `query rows seconds rows_per_second`.
//!
//! ```sh
//! cargo run --release --features parquet --example spark_side_by_side -- windowed /tmp/seed-files
//! ```
//!
//! Queries: `windowed` (the seed's 10-second windows per room, 30 s watermark, append),
//! `alerts` (the stateless high-temperature alert, append), `keyed` (a count per room,
//! update).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sluice::prelude::*;

sluice::pipeline! {
    /// The seed's `sensor_stream`, computed from the rate rows in the files.
    pub query SensorStream from Rate {
        select timestamp, value,
               room_id = cast(value % 5 as string),
               temperature = 20 + value % 10 + (value % 3) / 10.0,
               humidity = 50 + value % 20;
        with room_name = concat("Room_", room_id);
        select timestamp, room_name, temperature, humidity;
    }

    /// The seed's windowed aggregation.
    pub query RoomWindows from SensorStream {
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate count = count(*), avg_temp = avg(temperature), max_temp = max(temperature);
    }

    /// The seed's high-temperature alert.
    pub query Alerts from SensorStream {
        where temperature > 25;
        select timestamp, room_name, temperature, alert_type = "HIGH TEMPERATURE ALERT";
    }

    /// A count per room.
    pub query RoomCounts from SensorStream {
        group by room_name;
        aggregate count = count(*);
    }
}

fn source(dir: &str) -> FileSource<RateRow> {
    FileSource::parquet(dir)
        .max_files_per_trigger(1)
        .settle_time(Duration::ZERO)
}

/// Runs `P` over the files to the end; returns the input rows read.
async fn run<P, M>(pipeline_source: sluice::StreamingFrame<P, FileSource<RateRow>>, mode: M) -> u64
where
    P: Pipeline<Input = RateRow>,
    M: sluice::pipeline::OutputModeFor<P> + Send + 'static,
{
    let consumed = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&consumed);
    let query = pipeline_source
        .write_stream()
        .output_mode(mode)
        .trigger(Trigger::AvailableNow)
        .foreach_batch(move |_, rows: Vec<P::Output>| {
            seen.fetch_add(black_box(rows).len() as u64, Ordering::Relaxed);
        })
        .start()
        .expect("the query starts");
    query.await_termination().await.expect("the query runs");
    black_box(consumed.load(Ordering::Relaxed));
    query
        .recent_progress()
        .iter()
        .map(|p| p.num_input_rows)
        .sum()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(query), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: spark_side_by_side windowed|alerts|keyed <dir>");
        std::process::exit(2);
    };
    let started = Instant::now();
    let rows = match query.as_str() {
        "windowed" => run(RoomWindows::read_stream(source(dir)), Append).await,
        "alerts" => run(Alerts::read_stream(source(dir)), Append).await,
        "keyed" => run(RoomCounts::read_stream(source(dir)), Update).await,
        other => {
            eprintln!("unknown query `{other}`: windowed, alerts or keyed");
            std::process::exit(2);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{query} {rows} {seconds:.3} {:.0}",
        rows as f64 / seconds.max(1e-9)
    );
}
