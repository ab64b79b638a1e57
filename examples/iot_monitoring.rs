//! The seed's exercise 3 solution, "IoT Device Monitoring with Watermarks": the rate source
//! (8 rows per second) as readings of ten devices, with statistics per device and metric in
//! 2-minute windows sliding every minute, under a 1-minute watermark, in append mode on the
//! console (`truncate = false`): a window is printed once, a minute after its end.
//!
//! Then the exercise's last task, "verify that late data beyond the watermark is dropped": the
//! same query over readings pushed by hand into a memory stream, where a reading older than
//! the watermark arrives after its windows were finalized. The query's progress counts it as
//! dropped, and the finalized windows stay as they were.
//!
//! ```sh
//! cargo run --release --example iot_monitoring               # runs for 3 minutes
//! cargo run --release --example iot_monitoring -- --seconds 10
//! ```

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use sluice::prelude::*;
use sluice::progress::StreamingQueryProgress;

sluice::pipeline! {
    /// The seed's `iot_stream`: device, metric and value of each reading.
    pub query IotStream from Rate {
        select timestamp,
               device_id = concat("device_", cast(value % 10 as string)),
               metric_type = case when value % 3 == 0 then "temperature"
                                  when value % 3 == 1 then "humidity"
                                  else "pressure" end,
               value = 20 + value % 30 + (value % 5) / 10.0;
    }

    /// The seed's `iot_stats`: statistics per device and metric in sliding windows.
    pub query IotStats from IotStream {
        watermark timestamp delay 1 minute;
        group by window(timestamp, 2 minutes, 1 minute), device_id, metric_type;
        aggregate num_readings = count(*),
                  avg_value = avg(value),
                  min_value = min(value),
                  max_value = max(value);
        select device_id, metric_type, window_start = window.start, window_end = window.end,
               num_readings, avg_value, min_value, max_value;
    }
}

/// A reading of the late-data check, as the rate source would produce it: `value` 0, 30, 60,
/// ... is a `temperature` of `device_0`, `value` 1 a `humidity` of `device_1`.
fn reading(time: &str, value: i64) -> RateRow {
    RateRow {
        timestamp: Timestamp::parse(time).expect("a valid timestamp"),
        value,
    }
}

/// The readings of the late-data check, one micro-batch each.
pub fn late_data_batches() -> [Vec<RateRow>; 3] {
    [
        // On time: two temperatures of device_0, in the windows [09:59, 10:01) and
        // [10:00, 10:02).
        vec![
            reading("2024-01-01T10:00:10Z", 0),
            reading("2024-01-01T10:00:50Z", 30),
        ],
        // A reading at 10:03:30 moves the watermark to 10:02:30: both windows are final.
        vec![reading("2024-01-01T10:03:30Z", 1)],
        // Late: a device_0 temperature at 10:00:40, whose windows both ended before 10:02:30.
        vec![reading("2024-01-01T10:00:40Z", 60)],
    ]
}

/// What the late-data check saw.
#[derive(Debug)]
pub struct LateDataCheck {
    /// The finalized windows before the late reading arrived, by window start.
    pub before: Vec<IotStatsRow>,
    /// The progress of the batch that read the late reading.
    pub late_batch: Arc<StreamingQueryProgress>,
    /// The finalized windows after it, by window start.
    pub after: Vec<IotStatsRow>,
}

/// Runs [`IotStats`] in append mode over [`late_data_batches`], into the memory table
/// `iot_late_data_check`, one batch at a time.
pub async fn late_data_check() -> Result<LateDataCheck, Box<dyn std::error::Error>> {
    let [on_time, closing, late] = late_data_batches();
    let readings = MemoryStream::new();
    let sink = MemorySink::new();
    let table = sink.table();
    let query = IotStats::read_stream(readings.clone())
        .write_stream()
        .output_mode(Append)
        .format(sink)
        .query_name("iot_late_data_check")
        .start()?;

    readings.add_data(on_time);
    query.process_all_available().await?;
    readings.add_data(closing);
    query.process_all_available().await?;
    let before = table.rows_sorted_by_column("window_start")?;

    readings.add_data(late);
    query.process_all_available().await?;
    let late_batch = query.last_progress().expect("the late reading's batch ran");
    let after = table.rows_sorted_by_column("window_start")?;
    query.stop().await;
    Ok(LateDataCheck {
        before,
        late_batch,
        after,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(180);

    let iot_query = IotStats::read_stream(RateSource::new().rows_per_second(8))
        .write_stream()
        .output_mode(Append)
        .format(ConsoleSink::new().truncate(false))
        .start()?;

    println!("IoT monitoring with watermark started...");
    println!("Windows will be finalized 1 minute after their end time.\n");
    // Run for 3 minutes to see multiple windows.
    common::sleep(seconds).await;

    iot_query.stop().await;
    println!("\nIoT monitoring stopped.");

    println!("\nVerifying that late data beyond the watermark is dropped...");
    let check = late_data_check().await?;
    let show = |rows: &[IotStatsRow]| MemoryTable::show_rows_string(rows, 20, false);
    println!("Readings at 10:00:10 and 10:00:50 (device_0), then 10:03:30 (device_1).");
    println!("Windows finalized by the watermark:");
    println!("{}", show(&check.before));
    let p = &check.late_batch;
    let watermark = p.watermark().map_or("none".to_string(), |w| w.to_string());
    println!(
        "A late reading at 10:00:40 (device_0) arrives in batch {} under the watermark {watermark}:",
        p.batch_id
    );
    println!(
        "  input rows: {}, rows dropped by the watermark: {} (one per window of the reading)",
        p.num_input_rows,
        p.rows_dropped_by_watermark()
    );
    println!("Windows finalized by the watermark, after the late reading:");
    println!("{}", show(&check.after));
    if check.before == check.after {
        println!("The late reading was dropped: the finalized windows are unchanged.");
    } else {
        println!("The finalized windows changed!");
    }
    Ok(())
}
