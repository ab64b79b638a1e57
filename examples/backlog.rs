//! A backlog read with `Trigger::AvailableNow`, shown as a progress bar: a directory of CSV
//! sensor readings (written first, into a temporary directory) is read four files per batch
//! until everything that was there at the start is done, then the query stops. Each progress
//! report says how many of the run's files are done (`sources[0].backlog`), and a
//! `StreamingQueryListener` moves the bar (`indicatif`; drawn only on a terminal).
//!
//! ```sh
//! cargo run --release --example backlog                 # 240 files of 5 000 readings
//! cargo run --release --example backlog -- --files 40     # or SLUICE_BACKLOG_FILES=40
//! ```

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sluice::listener::QueryProgressEvent;
use sluice::prelude::*;
use sluice::sink::memory;

sluice::pipeline! {
    /// A reading of the backlog's CSV files.
    pub schema Reading { timestamp: Timestamp, room_name: String, temperature: f64 }

    /// Readings and average temperature per room, over the whole backlog.
    pub query RoomTotals from Reading {
        group by room_name;
        aggregate readings = count(), avg_temp = avg(temperature);
    }
}

const ROWS_PER_FILE: usize = 5_000;

/// `files` CSV files of readings from five rooms, one second apart.
fn write_backlog(dir: &std::path::Path, files: usize) -> std::io::Result<()> {
    let start = Timestamp::parse("2024-01-01T10:00:00Z").expect("a valid timestamp");
    for f in 0..files {
        let mut text = String::with_capacity(ROWS_PER_FILE * 48);
        for r in 0..ROWS_PER_FILE {
            let n = (f * ROWS_PER_FILE + r) as i64;
            let ts = start.plus_micros(n * 1_000_000).to_rfc3339();
            let room = n % 5;
            let temperature = 20.0 + (n % 10) as f64 + (n % 3) as f64 / 10.0;
            text.push_str(&format!("{ts},Room_{room},{temperature}\n"));
        }
        std::fs::write(dir.join(format!("readings-{f:04}.csv")), text)?;
    }
    Ok(())
}

/// Moves the bar to the files done of the run's total, as each batch reports them.
#[derive(Debug)]
struct BacklogBar(ProgressBar);

impl StreamingQueryListener for BacklogBar {
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        let Some(backlog) = event.progress.sources[0].backlog.as_ref() else {
            return;
        };
        if let (Some(done), Some(total)) = (backlog.done, backlog.total) {
            self.0.set_length(total);
            self.0.set_position(done);
            self.0
                .set_message(format!("batch {}", event.progress.batch_id));
        }
    }
}

/// How many files: `--files N`, else `SLUICE_BACKLOG_FILES`, else 240.
fn files_arg() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--files")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("SLUICE_BACKLOG_FILES").ok())
        .map_or(240, |n| {
            n.parse().expect("the number of files is a whole number")
        })
}

#[tokio::main]
async fn main() -> Result<(), sluice::Error> {
    let files = files_arg();
    let dir = std::env::temp_dir().join(format!("sluice-backlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| sluice::Error::io("cannot create the backlog", e))?;
    write_backlog(&dir, files).map_err(|e| sluice::Error::io("cannot write the backlog", e))?;
    println!(
        "Backlog: {files} files of {ROWS_PER_FILE} readings in {}",
        dir.display()
    );

    let bar = ProgressBar::new(files as u64).with_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} files {msg} ({elapsed})")
            .expect("a valid template"),
    );
    let listener: Arc<dyn StreamingQueryListener> = Arc::new(BacklogBar(bar.clone()));
    sluice::streams().add_listener(listener.clone());

    let query = RoomTotals::read_stream(FileSource::<Reading>::csv(&dir).max_files_per_trigger(4))
        .write_stream()
        .output_mode(Complete)
        .format(MemorySink::new())
        .query_name("room_totals")
        .trigger(Trigger::AvailableNow)
        .start()?;
    query
        .await_termination()
        .await
        .map_err(|e| sluice::Error::Analysis(e.to_string()))?;
    sluice::streams().remove_listener(&listener);
    bar.finish();

    let last = query.last_progress().expect("the backlog had files");
    let backlog = last.sources[0]
        .backlog
        .as_ref()
        .expect("the file source reports its backlog");
    println!(
        "Read {} of {} files in {} batches.",
        backlog.done.unwrap_or(0),
        backlog.total.unwrap_or(0),
        last.batch_id + 1
    );
    let table = memory::table::<RoomTotalsRow>("room_totals").expect("the memory table");
    let rows = table.rows_sorted_by_column("room_name")?;
    println!("{}", MemoryTable::show_rows_string(&rows, 20, false));
    std::fs::remove_dir_all(&dir).map_err(|e| sluice::Error::io("cannot remove the backlog", e))?;
    Ok(())
}
