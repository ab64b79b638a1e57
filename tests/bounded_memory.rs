//! Memory does not grow with the batch: the rate source at 2 M rows/s under a 20-second trigger
//! (40 M rows, 640 MB of rows, in one micro-batch) through a windowed aggregation keeps the
//! process's peak resident memory under 100 MB, because the batch is generated, processed and
//! dropped a chunk at a time.
//!
//! The peak (`VmHWM` in `/proc/self/status`) is a property of a whole process, so the test runs
//! the query in a child: this binary re-executed with `SLUICE_MEMORY_PROBE` set, running only
//! [`memory_probe`], which prints what it measured.

use std::process::Command;
use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    query Sensors from Rate {
        select timestamp,
               room_name = concat("Room_", value % 5),
               temperature = 20 + value % 10 + (value % 3) / 10.0;
    }

    query RoomWindows from Sensors {
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate count = count(), avg_temp = avg(temperature);
    }
}

const ROWS_PER_SECOND: u64 = 2_000_000;
const TRIGGER_SECONDS: u64 = 20;
const PEAK_LIMIT_KB: u64 = 100 * 1024;

/// A field of `/proc/self/status`, in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The child: runs the query until its first batch with data (20 s of the rate source, on the
/// paused tokio clock) has run, then prints the rows it read and the process's peak RSS.
#[test]
#[ignore = "the child process of `peak_memory_stays_under_100_mb_for_a_40_m_row_batch`"]
fn memory_probe() {
    assert!(
        std::env::var_os("SLUICE_MEMORY_PROBE").is_some(),
        "run by `peak_memory_stays_under_100_mb_for_a_40_m_row_batch` in a fresh process"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let before_kb = status_kb("VmHWM:");
    let rows = runtime.block_on(async {
        let query = RoomWindows::read_stream(RateSource::new().rows_per_second(ROWS_PER_SECOND))
            .write_stream()
            .output_mode(Append)
            .trigger(Trigger::ProcessingTime(Duration::from_secs(
                TRIGGER_SECONDS,
            )))
            .clock(Clock::starting_at(Timestamp::from_secs(1_700_000_000)))
            .foreach_batch(|_, rows: Vec<RoomWindowsRow>| drop(rows))
            .start()
            .unwrap();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let read: u64 = query
                .recent_progress()
                .iter()
                .map(|p| p.num_input_rows)
                .sum();
            if read > 0 {
                query.stop().await;
                break read;
            }
        }
    });
    println!(
        "probe: rows={rows} peak_kb={} before_kb={before_kb}",
        status_kb("VmHWM:")
    );
}

#[test]
fn peak_memory_stays_under_100_mb_for_a_40_m_row_batch() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "memory_probe", "--ignored", "--nocapture"])
        .env("SLUICE_MEMORY_PROBE", "1")
        .output()
        .expect("the probe runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the probe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("probe: "))
        .unwrap_or_else(|| panic!("no probe line in:\n{stdout}"));
    let field = |name: &str| -> u64 {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    let (rows, peak_kb) = (field("rows"), field("peak_kb"));
    eprintln!("{line}");
    // One batch of 20 s: 40 M rows (640 MB of rate rows were it materialised).
    assert_eq!(rows, ROWS_PER_SECOND * TRIGGER_SECONDS);
    assert!(
        peak_kb < PEAK_LIMIT_KB,
        "peak RSS {peak_kb} kB for a batch of {rows} rows (limit {PEAK_LIMIT_KB} kB)"
    );
}
