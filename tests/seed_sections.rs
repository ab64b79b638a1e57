//! The queries of the seed's sections 2 to 9 (and of the quickstart), each the very
//! `pipeline!` its example runs (the example files are compiled in here as modules), on
//! deterministic input: the rate source under a paused clock, or a memory stream. Every test
//! checks the exact rows of every batch.

// Each example file brings its own `mod common;` (the examples' shared helpers), so that
// module is compiled once per example here.
#![allow(clippy::duplicate_mod)]

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "../examples/rate_source.rs"]
pub mod rate_source;

#[allow(dead_code)]
#[path = "../examples/sensor_stream.rs"]
pub mod sensor_stream;

#[allow(dead_code)]
#[path = "../examples/high_temp_alerts.rs"]
pub mod high_temp_alerts;

#[allow(dead_code)]
#[path = "../examples/global_count.rs"]
pub mod global_count;

#[allow(dead_code)]
#[path = "../examples/room_stats.rs"]
pub mod room_stats;

#[allow(dead_code)]
#[path = "../examples/tumbling_window.rs"]
pub mod tumbling_window;

#[allow(dead_code)]
#[path = "../examples/sliding_window.rs"]
pub mod sliding_window;

#[allow(dead_code)]
#[path = "../examples/watermark.rs"]
pub mod watermark;

#[allow(dead_code)]
#[path = "../examples/output_modes.rs"]
pub mod output_modes;

#[allow(dead_code)]
#[path = "../examples/fixed_interval_trigger.rs"]
pub mod fixed_interval_trigger;

#[allow(dead_code)]
#[path = "../examples/memory_sink.rs"]
pub mod memory_sink;

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
pub mod quickstart;

use common::{Collector, at, clock_at, run_for};
use sluice::prelude::*;

/// The rate source at the seed's 5 rows per second.
fn rate() -> RateSource {
    RateSource::new().rows_per_second(5)
}

#[test]
fn rate_stream_is_streaming_with_spark_schema() {
    let frame = rate_source::RateStream::read_stream(rate());
    assert!(frame.is_streaming());
    assert_eq!(
        frame.schema().tree_string(),
        "root\n \
         |-- timestamp: timestamp (nullable = false)\n \
         |-- value: long (nullable = false)\n"
    );
}

#[tokio::test(start_paused = true)]
async fn rate_to_console_prints_spark_batches() {
    let (console, printed) = ConsoleSink::new().truncate(false).num_rows(10).capture();
    let query = rate_source::RateStream::read_stream(rate())
        .write_stream()
        .output_mode(Append)
        .format(console)
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 2_500).await;
    assert_eq!(
        printed.text(),
        "-------------------------------------------\n\
         Batch: 0\n\
         -------------------------------------------\n\
         +---------+-----+\n\
         |timestamp|value|\n\
         +---------+-----+\n\
         +---------+-----+\n\
         \n\
         -------------------------------------------\n\
         Batch: 1\n\
         -------------------------------------------\n\
         +---------------------+-----+\n\
         |timestamp            |value|\n\
         +---------------------+-----+\n\
         |2024-01-01 10:00:00  |0    |\n\
         |2024-01-01 10:00:00.2|1    |\n\
         |2024-01-01 10:00:00.4|2    |\n\
         |2024-01-01 10:00:00.6|3    |\n\
         |2024-01-01 10:00:00.8|4    |\n\
         +---------------------+-----+\n\
         \n\
         -------------------------------------------\n\
         Batch: 2\n\
         -------------------------------------------\n\
         +---------------------+-----+\n\
         |timestamp            |value|\n\
         +---------------------+-----+\n\
         |2024-01-01 10:00:01  |5    |\n\
         |2024-01-01 10:00:01.2|6    |\n\
         |2024-01-01 10:00:01.4|7    |\n\
         |2024-01-01 10:00:01.6|8    |\n\
         |2024-01-01 10:00:01.8|9    |\n\
         +---------------------+-----+\n\
         \n"
    );
}

#[test]
fn sensor_stream_schema() {
    let frame = sensor_stream::SensorStream::read_stream(rate());
    assert!(frame.is_streaming());
    assert_eq!(
        frame.schema().tree_string(),
        "root\n \
         |-- timestamp: timestamp (nullable = false)\n \
         |-- room_name: string (nullable = false)\n \
         |-- temperature: double (nullable = false)\n \
         |-- humidity: long (nullable = false)\n"
    );
}

#[tokio::test(start_paused = true)]
async fn sensor_stream_readings() {
    let out = Collector::new();
    let query = sensor_stream::SensorStream::read_stream(rate())
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 2_500).await;
    assert_eq!(
        out.in_order(),
        batches![
            0 => [],
            1 => [
                "2024-01-01 10:00:00 | Room_0 | 20.0 | 50",
                "2024-01-01 10:00:00.2 | Room_1 | 21.1 | 51",
                "2024-01-01 10:00:00.4 | Room_2 | 22.2 | 52",
                "2024-01-01 10:00:00.6 | Room_3 | 23.0 | 53",
                "2024-01-01 10:00:00.8 | Room_4 | 24.1 | 54",
            ],
            2 => [
                "2024-01-01 10:00:01 | Room_0 | 25.2 | 55",
                "2024-01-01 10:00:01.2 | Room_1 | 26.0 | 56",
                "2024-01-01 10:00:01.4 | Room_2 | 27.1 | 57",
                "2024-01-01 10:00:01.6 | Room_3 | 28.2 | 58",
                "2024-01-01 10:00:01.8 | Room_4 | 29.0 | 59",
            ],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn high_temperature_alerts() {
    let out = Collector::new();
    let query = high_temp_alerts::HighTempStream::read_stream(rate())
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 3_500).await;
    // Values 0-4 are 20.0-24.1 °C; 5-9 are 25.2-29.0 °C; 10-14 are 20.1-24.2 °C.
    assert_eq!(
        out.in_order(),
        batches![
            0 => [],
            1 => [],
            2 => [
                "2024-01-01 10:00:01 | Room_0 | 25.2 | HIGH TEMPERATURE ALERT",
                "2024-01-01 10:00:01.2 | Room_1 | 26.0 | HIGH TEMPERATURE ALERT",
                "2024-01-01 10:00:01.4 | Room_2 | 27.1 | HIGH TEMPERATURE ALERT",
                "2024-01-01 10:00:01.6 | Room_3 | 28.2 | HIGH TEMPERATURE ALERT",
                "2024-01-01 10:00:01.8 | Room_4 | 29.0 | HIGH TEMPERATURE ALERT",
            ],
            3 => [],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn high_temperature_threshold_is_strict() {
    // 25.0 °C (value 15) is not an alert, 25.1 °C (value 25) is.
    let readings = MemoryStream::new();
    let out = Collector::new();
    let query = high_temp_alerts::HighTempStream::read_stream(readings.clone())
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .start()
        .unwrap();
    readings.add_data([15, 25].map(|value| RateRow {
        timestamp: at("10:00:00"),
        value,
    }));
    query.process_all_available().await.unwrap();
    query.stop().await;
    assert_eq!(
        out.in_order(),
        batches![0 => ["2024-01-01 10:00:00 | Room_0 | 25.1 | HIGH TEMPERATURE ALERT"]]
    );
}

#[tokio::test(start_paused = true)]
async fn global_count_in_complete_mode() {
    let out = Collector::new();
    let query = global_count::GlobalCount::read_stream(rate())
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 2_500).await;
    // One row per batch, 0 before any reading arrived.
    assert_eq!(
        out.in_order(),
        batches![0 => ["0"], 1 => ["5"], 2 => ["10"]]
    );
}

#[tokio::test(start_paused = true)]
async fn room_statistics_in_update_mode() {
    let out = Collector::new();
    let query = room_stats::RoomStats::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 2_500).await;
    // room_name | num_readings | avg, max, min temperature | avg_humidity
    assert_eq!(
        out.sorted(),
        batches![
            0 => [],
            1 => [
                "Room_0 | 1 | 20.0 | 20.0 | 20.0 | 50.0",
                "Room_1 | 1 | 21.1 | 21.1 | 21.1 | 51.0",
                "Room_2 | 1 | 22.2 | 22.2 | 22.2 | 52.0",
                "Room_3 | 1 | 23.0 | 23.0 | 23.0 | 53.0",
                "Room_4 | 1 | 24.1 | 24.1 | 24.1 | 54.0",
            ],
            2 => [
                "Room_0 | 2 | 22.6 | 25.2 | 20.0 | 52.5",
                "Room_1 | 2 | 23.55 | 26.0 | 21.1 | 53.5",
                "Room_2 | 2 | 24.65 | 27.1 | 22.2 | 54.5",
                "Room_3 | 2 | 25.6 | 28.2 | 23.0 | 55.5",
                "Room_4 | 2 | 26.55 | 29.0 | 24.1 | 56.5",
            ],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn tumbling_windows_in_update_mode() {
    let out = Collector::new();
    let query = tumbling_window::TumblingWindow::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:08"))
        .start()
        .unwrap();
    run_for(&query, 3_500).await;
    // Readings at 10:00:08.x and 10:00:09.x fall in [10:00:00, 10:00:10); 10:00:10.x starts
    // the next window, and update mode shows only that one.
    assert_eq!(
        out.sorted(),
        batches![
            0 => [],
            1 => ["2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 5"],
            2 => ["2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 10"],
            3 => ["2024-01-01 10:00:10 | 2024-01-01 10:00:20 | 5"],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn sliding_windows_in_update_mode() {
    let out = Collector::new();
    let query = sliding_window::SlidingWindow::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:08"))
        .start()
        .unwrap();
    run_for(&query, 3_500).await;
    // Every reading counts in two 20-second windows, 10 seconds apart.
    assert_eq!(
        out.sorted(),
        batches![
            0 => [],
            1 => [
                "Room_0 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 1 | 20.0",
                "Room_0 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 1 | 20.0",
                "Room_1 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 1 | 21.1",
                "Room_1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 1 | 21.1",
                "Room_2 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 1 | 22.2",
                "Room_2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 1 | 22.2",
                "Room_3 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 1 | 23.0",
                "Room_3 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 1 | 23.0",
                "Room_4 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 1 | 24.1",
                "Room_4 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 1 | 24.1",
            ],
            2 => [
                "Room_0 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 2 | 22.6",
                "Room_0 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 2 | 22.6",
                "Room_1 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 2 | 23.55",
                "Room_1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 2 | 23.55",
                "Room_2 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 2 | 24.65",
                "Room_2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 2 | 24.65",
                "Room_3 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 2 | 25.6",
                "Room_3 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 2 | 25.6",
                "Room_4 | 2024-01-01 09:59:50 | 2024-01-01 10:00:10 | 2 | 26.55",
                "Room_4 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 2 | 26.55",
            ],
            3 => [
                "Room_0 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 3 | 21.76666666666667",
                "Room_0 | 2024-01-01 10:00:10 | 2024-01-01 10:00:30 | 1 | 20.1",
                "Room_1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 3 | 22.766666666666666",
                "Room_1 | 2024-01-01 10:00:10 | 2024-01-01 10:00:30 | 1 | 21.2",
                "Room_2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 3 | 23.766666666666666",
                "Room_2 | 2024-01-01 10:00:10 | 2024-01-01 10:00:30 | 1 | 22.0",
                "Room_3 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 3 | 24.76666666666667",
                "Room_3 | 2024-01-01 10:00:10 | 2024-01-01 10:00:30 | 1 | 23.1",
                "Room_4 | 2024-01-01 10:00:00 | 2024-01-01 10:00:20 | 3 | 25.766666666666666",
                "Room_4 | 2024-01-01 10:00:10 | 2024-01-01 10:00:30 | 1 | 24.2",
            ],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn watermarked_windows_in_append_mode() {
    let out = Collector::new();
    let query = watermark::WatermarkedStream::read_stream(rate())
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    // The seed's 45 seconds.
    run_for(&query, 45_500).await;
    // Batch 0 reads nothing; then every second a batch with the second's readings, followed by
    // a batch without data because the watermark moved (Spark's no-data batch). The readings
    // of second 40 (batch 81) move the watermark to 10:00:10.8, past the end of the first
    // window, which the next batch emits; nothing else is final yet.
    let (emitted, batches) = out.non_empty_sorted();
    assert_eq!(batches, 91);
    assert_eq!(
        emitted,
        batches![
            82 => [
                "Room_0 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 10 | 22.59",
                "Room_1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 10 | 23.599999999999998",
                "Room_2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 10 | 24.609999999999996",
                "Room_3 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 10 | 25.59",
                "Room_4 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 10 | 26.6",
            ],
        ]
    );
    let progress = query.recent_progress();
    assert_eq!(progress[81].num_input_rows, 5);
    assert_eq!(progress[82].num_input_rows, 0);
    assert_eq!(progress[82].watermark(), Some(at("10:00:10.8")));
    // The emitted window's 5 groups leave the state: 5 rooms in each of the windows
    // [10:00:00, 10:00:10) to [10:00:40, 10:00:50) before, 4 windows after, and still 4 at
    // the end (readings up to 10:00:44.8): the watermark bounds the state.
    let state = |batch: usize| {
        let s = &progress[batch].state_operators[0];
        (s.num_rows_total, s.num_rows_removed)
    };
    assert_eq!(state(81), (25, 0));
    assert_eq!(state(82), (20, 5));
    assert_eq!(state(90), (20, 0));
}

/// `TestAgg` first in complete mode, then in update mode, each for the seed's 12 seconds with
/// a 5-second trigger, one after the other.
#[tokio::test(start_paused = true)]
async fn output_modes_complete_then_update() {
    let clock = clock_at("10:00:00");
    let complete = Collector::new();
    let complete_query = output_modes::TestAgg::read_stream(rate())
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(complete.sink())
        .trigger(Trigger::processing_time("5 seconds").unwrap())
        .clock(clock)
        .start()
        .unwrap();
    run_for(&complete_query, 12_000).await;

    let update = Collector::new();
    let update_query = output_modes::TestAgg::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(update.sink())
        .trigger(Trigger::processing_time("5 seconds").unwrap())
        .clock(clock)
        .start()
        .unwrap();
    run_for(&update_query, 12_000).await;

    // Triggers at 10:00:00, :05, :10; 25 readings per 5 seconds, 5 per room.
    assert_eq!(
        complete.sorted(),
        batches![
            0 => [],
            1 => ["Room_0 | 5", "Room_1 | 5", "Room_2 | 5", "Room_3 | 5", "Room_4 | 5"],
            2 => ["Room_0 | 10", "Room_1 | 10", "Room_2 | 10", "Room_3 | 10", "Room_4 | 10"],
        ]
    );
    // Started at 10:00:12: the triggers stay on multiples of 5 seconds, so the first one after
    // the start (10:00:15) reads 3 seconds of readings, the next (10:00:20) 5 more.
    assert_eq!(
        update.sorted(),
        batches![
            0 => [],
            1 => ["Room_0 | 3", "Room_1 | 3", "Room_2 | 3", "Room_3 | 3", "Room_4 | 3"],
            2 => ["Room_0 | 8", "Room_1 | 8", "Room_2 | 8", "Room_3 | 8", "Room_4 | 8"],
        ]
    );
}

/// The difference the seed's section 7 describes: after a batch with readings of one room
/// only, complete mode shows every room and update mode only that one.
#[tokio::test(start_paused = true)]
async fn complete_shows_every_room_update_only_changed_ones() {
    let readings = MemoryStream::new();
    let (complete, update) = (Collector::new(), Collector::new());
    let complete_query = output_modes::TestAgg::read_stream(readings.clone())
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(complete.sink())
        .start()
        .unwrap();
    let update_query = output_modes::TestAgg::read_stream(readings.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(update.sink())
        .start()
        .unwrap();
    let reading = |value| RateRow {
        timestamp: at("10:00:00"),
        value,
    };
    // Room_0, Room_1 and Room_2; then Room_1 only, twice.
    for values in [vec![0, 1, 2, 5], vec![6], vec![11]] {
        readings.add_data(values.into_iter().map(reading));
        complete_query.process_all_available().await.unwrap();
        update_query.process_all_available().await.unwrap();
    }
    complete_query.stop().await;
    update_query.stop().await;
    assert_eq!(
        complete.sorted(),
        batches![
            0 => ["Room_0 | 2", "Room_1 | 1", "Room_2 | 1"],
            1 => ["Room_0 | 2", "Room_1 | 2", "Room_2 | 1"],
            2 => ["Room_0 | 2", "Room_1 | 3", "Room_2 | 1"],
        ]
    );
    assert_eq!(
        update.sorted(),
        batches![
            0 => ["Room_0 | 2", "Room_1 | 1", "Room_2 | 1"],
            1 => ["Room_1 | 2"],
            2 => ["Room_1 | 3"],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn fixed_interval_trigger_every_five_seconds() {
    let out = Collector::new();
    let query = fixed_interval_trigger::TriggeredStream::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .trigger(Trigger::processing_time("5 seconds").unwrap())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    // The seed's 16 seconds: triggers at 0, 5, 10 and 15 seconds.
    run_for(&query, 16_000).await;
    assert_eq!(
        out.sorted(),
        batches![
            0 => [],
            1 => ["Room_0 | 5", "Room_1 | 5", "Room_2 | 5", "Room_3 | 5", "Room_4 | 5"],
            2 => ["Room_0 | 10", "Room_1 | 10", "Room_2 | 10", "Room_3 | 10", "Room_4 | 10"],
            3 => ["Room_0 | 15", "Room_1 | 15", "Room_2 | 15", "Room_3 | 15", "Room_4 | 15"],
        ]
    );
    let starts: Vec<Timestamp> = query
        .recent_progress()
        .iter()
        .map(|p| p.timestamp)
        .collect();
    assert_eq!(
        starts,
        [
            at("10:00:00"),
            at("10:00:05"),
            at("10:00:10"),
            at("10:00:15")
        ]
    );
}

/// Section 8's one-time trigger: everything available, in one batch, then the query stops.
#[tokio::test(start_paused = true)]
async fn once_trigger_processes_everything_available_then_stops() {
    let readings = MemoryStream::new();
    for values in [[0, 1], [2, 5]] {
        readings.add_data(values.map(|value| RateRow {
            timestamp: at("10:00:00"),
            value,
        }));
    }
    let out = Collector::new();
    let query = fixed_interval_trigger::TriggeredStream::read_stream(readings.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .trigger(Trigger::Once)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    assert!(!query.is_active());
    assert_eq!(query.status().message, "Stopped");
    assert_eq!(
        out.sorted(),
        batches![0 => ["Room_0 | 2", "Room_1 | 1", "Room_2 | 1"]]
    );
}

/// `availableNow`: everything available at the start, in batches of the source's size.
#[tokio::test(start_paused = true)]
async fn available_now_trigger_processes_what_is_there_then_stops() {
    let readings = MemoryStream::new().max_batches_per_trigger(1);
    for values in [[0, 1], [2, 5]] {
        readings.add_data(values.map(|value| RateRow {
            timestamp: at("10:00:00"),
            value,
        }));
    }
    let out = Collector::new();
    let query = fixed_interval_trigger::TriggeredStream::read_stream(readings.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    assert_eq!(
        out.sorted(),
        batches![
            0 => ["Room_0 | 1", "Room_1 | 1"],
            1 => ["Room_0 | 2", "Room_2 | 1"],
        ]
    );
}

/// The progress and status a running query reports (the seed's "monitor streaming query
/// progress and metrics").
#[tokio::test(start_paused = true)]
async fn progress_and_status() {
    let query = room_stats::RoomStats::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .format(MemorySink::new())
        .query_name("room_stats_progress")
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(query.is_active());
    assert_eq!(query.name(), Some("room_stats_progress"));
    assert_eq!(query.status().message, "Waiting for data to arrive");
    let progress = query.recent_progress();
    assert_eq!(
        progress
            .iter()
            .map(|p| (p.batch_id, p.num_input_rows, p.timestamp))
            .collect::<Vec<_>>(),
        [
            (0, 0, at("10:00:00")),
            (1, 5, at("10:00:01")),
            (2, 5, at("10:00:02")),
        ]
    );
    let last = query.last_progress().unwrap();
    assert_eq!(last.input_rows_per_second, 5.0);
    assert_eq!(last.sink.num_output_rows, 5);
    assert_eq!(last.state_operators[0].num_rows_total, 5);
    assert_eq!(
        last.sources[0].description,
        "RateStreamV2[rowsPerSecond=5, rampUpTimeSeconds=0, numPartitions=1]"
    );
    let json: serde_json::Value = serde_json::from_str(&last.json()).unwrap();
    assert_eq!(json["batchId"], 2);
    assert_eq!(json["numInputRows"], 5);
    assert_eq!(json["name"], "room_stats_progress");
    assert_eq!(json["timestamp"], "2024-01-01T10:00:02.000Z");
    query.stop().await;
    assert!(!query.is_active());
    assert_eq!(query.status().message, "Stopped");
    assert!(query.exception().is_none());
}

#[tokio::test(start_paused = true)]
async fn memory_sink_table_read_twice_while_running() {
    use memory_sink::{RoomStatsTable, RoomStatsTableRow, show_sorted_by_room};
    use sluice::sink::memory;

    let query = RoomStatsTable::read_stream(rate())
        .write_stream()
        .output_mode(Complete)
        .format(MemorySink::new())
        .query_name("room_stats_table")
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    let table = memory::table::<RoomStatsTableRow>("room_stats_table").unwrap();

    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    query.process_all_available().await.unwrap();
    // 10 seconds: 50 readings, 10 per room.
    assert_eq!(
        show_sorted_by_room(&table).unwrap(),
        "+---------+--------------+------------------+------------+\n\
         |room_name|total_readings|avg_temp          |avg_humidity|\n\
         +---------+--------------+------------------+------------+\n\
         |Room_0   |10            |22.59             |56.5        |\n\
         |Room_1   |10            |23.599999999999998|57.5        |\n\
         |Room_2   |10            |24.609999999999996|58.5        |\n\
         |Room_3   |10            |25.59             |59.5        |\n\
         |Room_4   |10            |26.6              |60.5        |\n\
         +---------+--------------+------------------+------------+\n"
    );

    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    query.process_all_available().await.unwrap();
    assert_eq!(
        show_sorted_by_room(&table).unwrap(),
        "+---------+--------------+------------------+------------+\n\
         |room_name|total_readings|avg_temp          |avg_humidity|\n\
         +---------+--------------+------------------+------------+\n\
         |Room_0   |15            |22.433333333333334|57.0        |\n\
         |Room_1   |15            |23.433333333333334|58.0        |\n\
         |Room_2   |15            |24.433333333333334|59.0        |\n\
         |Room_3   |15            |25.433333333333337|60.0        |\n\
         |Room_4   |15            |26.433333333333334|61.0        |\n\
         +---------+--------------+------------------+------------+\n"
    );
    query.stop().await;
}

#[tokio::test(start_paused = true)]
async fn quickstart_room_windows() {
    let out = Collector::new();
    let query = quickstart::RoomWindows::read_stream(rate())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(out.sink())
        .trigger(Trigger::processing_time("2 seconds").unwrap())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 5_000).await;
    // room_name | start | end | readings | avg_temp | max_temp
    assert_eq!(
        out.sorted(),
        batches![
            0 => [],
            1 => [
                "Room_0 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 2 | 22.6 | 25.2",
                "Room_1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 2 | 23.55 | 26.0",
                "Room_2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 2 | 24.65 | 27.1",
                "Room_3 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 2 | 25.6 | 28.2",
                "Room_4 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 2 | 26.55 | 29.0",
            ],
            2 => [
                "Room_0 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 4 | 22.575000000000003 | 25.2",
                "Room_1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 4 | 23.6 | 26.1",
                "Room_2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 4 | 24.625 | 27.2",
                "Room_3 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 4 | 25.575000000000003 | 28.2",
                "Room_4 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10 | 4 | 26.6 | 29.1",
            ],
        ]
    );
}
