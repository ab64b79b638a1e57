//! The queries of the seed's exercise solutions (click stream, stock prices, IoT devices),
//! each the very `pipeline!` its example runs (the example files are compiled in here as
//! modules), on deterministic input: the rate source under a paused clock, or a memory stream.
//! Every test checks the exact rows of every batch.

// Each example file brings its own `mod common;` (the examples' shared helpers), so that
// module is compiled once per example here.
#![allow(clippy::duplicate_mod)]

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "../examples/click_stream.rs"]
pub mod click_stream;

#[allow(dead_code)]
#[path = "../examples/stock_monitoring.rs"]
pub mod stock_monitoring;

#[allow(dead_code)]
#[path = "../examples/iot_monitoring.rs"]
pub mod iot_monitoring;

use common::{Collector, at, clock_at, run_for};
use sluice::prelude::*;

#[tokio::test(start_paused = true)]
async fn click_stream_queries_run_together() {
    use click_stream::{ClickAgg, Purchases};

    // Both queries start at 10:00:29, each with its own rate source (as in Spark), so the
    // second batch crosses into the window starting at 10:00:30.
    let clock = clock_at("10:00:29");
    let (counts, purchases) = (Collector::new(), Collector::new());
    let agg_query = ClickAgg::read_stream(RateSource::new().rows_per_second(10))
        .write_stream()
        .output_mode(Update)
        .foreach_batch(counts.sink())
        .clock(clock)
        .start()
        .unwrap();
    let purchase_query = Purchases::read_stream(RateSource::new().rows_per_second(10))
        .write_stream()
        .output_mode(Append)
        .foreach_batch(purchases.sink())
        .clock(clock)
        .start()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    agg_query.stop().await;
    purchase_query.stop().await;

    // window_start | page | action | count: values 0-9, then 10-19; value 9 (and 19) is the
    // only purchase of each ten.
    assert_eq!(
        counts.sorted(),
        batches![
            0 => [],
            1 => [
                "2024-01-01 10:00:00 | about | purchase | 1",
                "2024-01-01 10:00:00 | about | view | 1",
                "2024-01-01 10:00:00 | cart | click | 1",
                "2024-01-01 10:00:00 | cart | view | 1",
                "2024-01-01 10:00:00 | checkout | click | 1",
                "2024-01-01 10:00:00 | checkout | view | 1",
                "2024-01-01 10:00:00 | home | view | 2",
                "2024-01-01 10:00:00 | products | click | 1",
                "2024-01-01 10:00:00 | products | view | 1",
            ],
            2 => [
                "2024-01-01 10:00:30 | about | purchase | 1",
                "2024-01-01 10:00:30 | about | view | 1",
                "2024-01-01 10:00:30 | cart | click | 1",
                "2024-01-01 10:00:30 | cart | view | 1",
                "2024-01-01 10:00:30 | checkout | click | 1",
                "2024-01-01 10:00:30 | checkout | view | 1",
                "2024-01-01 10:00:30 | home | view | 2",
                "2024-01-01 10:00:30 | products | click | 1",
                "2024-01-01 10:00:30 | products | view | 1",
            ],
        ]
    );
    // timestamp | user_id | page
    assert_eq!(
        purchases.in_order(),
        batches![
            0 => [],
            1 => ["2024-01-01 10:00:29.9 | 9 | about"],
            2 => ["2024-01-01 10:00:30.9 | 19 | about"],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stock_moving_average_every_30_seconds() {
    let out = Collector::new();
    let query = stock_monitoring::MovingAvg::read_stream(RateSource::new().rows_per_second(15))
        .write_stream()
        .output_mode(Update)
        // The averages below are sums of doubles taken in input order; on more threads the
        // input is summed per partition and the last digits differ (docs/parallelism.md).
        .parallelism(1)
        .foreach_batch(out.sink())
        .trigger(Trigger::processing_time("30 seconds").unwrap())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    // The seed's 90 seconds (and a little more, to see the trigger at 90 seconds).
    run_for(&query, 95_000).await;
    // symbol | window_start | avg, min, max price | price_change_pct | total_volume
    assert_eq!(
        out.sorted(),
        batches![
            0 => [],
            1 => [
                "AAPL | 2024-01-01 10:00:00 | 122.75 | 100.0 | 145.5 | 45.5 | 2092500",
                "AMZN | 2024-01-01 10:00:00 | 126.0499999999999 | 103.3 | 148.8 | 44.04646660212973 | 2119500",
                "GOOGL | 2024-01-01 10:00:00 | 123.85000000000021 | 101.1 | 146.6 | 45.004945598417414 | 2101500",
                "MSFT | 2024-01-01 10:00:00 | 124.9500000000001 | 102.2 | 147.7 | 44.520547945205465 | 2110500",
                "TSLA | 2024-01-01 10:00:00 | 127.14999999999979 | 104.4 | 149.9 | 43.5823754789272 | 2128500",
            ],
            2 => [
                "AAPL | 2024-01-01 10:00:00 | 122.75 | 100.0 | 145.5 | 45.5 | 4235000",
                "AMZN | 2024-01-01 10:00:00 | 126.0499999999996 | 103.3 | 148.8 | 44.04646660212973 | 4289000",
                "GOOGL | 2024-01-01 10:00:00 | 123.8499999999998 | 101.1 | 146.6 | 45.004945598417414 | 4253000",
                "MSFT | 2024-01-01 10:00:00 | 124.9500000000004 | 102.2 | 147.7 | 44.520547945205465 | 4271000",
                "TSLA | 2024-01-01 10:00:00 | 127.15000000000022 | 104.4 | 149.9 | 43.5823754789272 | 4307000",
            ],
            3 => [
                "AAPL | 2024-01-01 10:01:00 | 122.75 | 100.0 | 145.5 | 45.5 | 2192500",
                "AMZN | 2024-01-01 10:01:00 | 126.0499999999999 | 103.3 | 148.8 | 44.04646660212973 | 2219500",
                "GOOGL | 2024-01-01 10:01:00 | 123.85000000000021 | 101.1 | 146.6 | 45.004945598417414 | 2201500",
                "MSFT | 2024-01-01 10:01:00 | 124.9500000000001 | 102.2 | 147.7 | 44.520547945205465 | 2210500",
                "TSLA | 2024-01-01 10:01:00 | 127.14999999999979 | 104.4 | 149.9 | 43.5823754789272 | 2228500",
            ],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stock_price_alerts_once_a_window_is_final() {
    let out = Collector::new();
    let query = stock_monitoring::PriceAlerts::read_stream(RateSource::new().rows_per_second(15))
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 185_500).await;
    // Batch 0 reads nothing; then every second a batch with data and one without (the
    // watermark moved). The trades of second 180 (batch 361) move the watermark past 10:01:00,
    // so the next batch finalizes the window of 10:00, where every symbol moved more than 5 %.
    let (emitted, batches) = out.non_empty_sorted();
    assert_eq!(batches, 371);
    assert_eq!(
        emitted,
        batches![
            362 => [
                "AAPL | 2024-01-01 10:00:00 | 45.5 | SIGNIFICANT PRICE MOVEMENT",
                "AMZN | 2024-01-01 10:00:00 | 44.04646660212973 | SIGNIFICANT PRICE MOVEMENT",
                "GOOGL | 2024-01-01 10:00:00 | 45.004945598417414 | SIGNIFICANT PRICE MOVEMENT",
                "MSFT | 2024-01-01 10:00:00 | 44.520547945205465 | SIGNIFICANT PRICE MOVEMENT",
                "TSLA | 2024-01-01 10:00:00 | 43.5823754789272 | SIGNIFICANT PRICE MOVEMENT",
            ],
        ]
    );
    assert_eq!(query.recent_progress().last().unwrap().batch_id, 370);
}

#[tokio::test(start_paused = true)]
async fn stock_price_alerts_skip_small_moves() {
    // Only windows whose price moved by more than 5 % raise an alert.
    let trades = MemoryStream::new();
    let out = Collector::new();
    let query = stock_monitoring::PriceAlerts::read_stream(trades.clone())
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .start()
        .unwrap();
    let trade = |time: &str, value| RateRow {
        timestamp: at(time),
        value,
    };
    // AAPL (value % 5 == 0) at 100.0 and 105.5: +5.5 %; TSLA (value % 5 == 4) at 144.4 and
    // 149.9 (values 44 and 49): +3.8 %. A trade at 10:03 closes the window of 10:00.
    trades.add_data([
        trade("10:00:10", 0),
        trade("10:00:20", 5),
        trade("10:00:30", 44),
        trade("10:00:40", 49),
    ]);
    query.process_all_available().await.unwrap();
    trades.add_data([trade("10:03:00", 2)]);
    query.process_all_available().await.unwrap();
    query.stop().await;
    let (emitted, _) = out.non_empty_sorted();
    assert_eq!(
        emitted,
        batches![3 => ["AAPL | 2024-01-01 10:00:00 | 5.5 | SIGNIFICANT PRICE MOVEMENT"]]
    );
}

#[tokio::test(start_paused = true)]
async fn stock_volume_leaders_every_30_seconds() {
    let out = Collector::new();
    let query = stock_monitoring::VolumeLeaders::read_stream(RateSource::new().rows_per_second(15))
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(out.sink())
        .trigger(Trigger::processing_time("30 seconds").unwrap())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    run_for(&query, 95_000).await;
    // In order: the top 3 by total volume, largest first.
    assert_eq!(
        out.in_order(),
        batches![
            0 => [],
            1 => ["TSLA | 2128500", "AMZN | 2119500", "MSFT | 2110500"],
            2 => ["TSLA | 4307000", "AMZN | 4289000", "MSFT | 4271000"],
            3 => ["TSLA | 6535500", "AMZN | 6508500", "MSFT | 6481500"],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stock_volume_leaders_reorder() {
    let trades = MemoryStream::new();
    let out = Collector::new();
    let query = stock_monitoring::VolumeLeaders::read_stream(trades.clone())
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(out.sink())
        .start()
        .unwrap();
    let trade = |value| RateRow {
        timestamp: at("10:00:00"),
        value,
    };
    // Volume is 1000 + (value % 500) * 100.
    for values in [vec![495, 1, 2, 3], vec![499, 498]] {
        trades.add_data(values.into_iter().map(trade));
        query.process_all_available().await.unwrap();
    }
    query.stop().await;
    assert_eq!(
        out.in_order(),
        batches![
            0 => ["AAPL | 50500", "AMZN | 1300", "MSFT | 1200"],
            1 => ["AMZN | 52100", "TSLA | 50900", "AAPL | 50500"],
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn iot_sliding_windows_final_a_minute_after_their_end() {
    let out = Collector::new();
    let query = iot_monitoring::IotStats::read_stream(RateSource::new().rows_per_second(8))
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .clock(clock_at("10:00:00"))
        .start()
        .unwrap();
    // The seed's 3 minutes.
    run_for(&query, 180_500).await;
    // A batch with data every second, each followed by a no-data batch (the watermark moved).
    // The readings of second 120 (batch 241) move the watermark past 10:01:00: the
    // window [09:59, 10:01) is final, with the first minute's 480 readings, 16 per device and
    // metric (a device's metric always reads the same value). The next window ends at 10:02
    // and needs readings from 10:03 on.
    let (emitted, batches) = out.non_empty_sorted();
    assert_eq!(batches, 361);
    assert_eq!(
        emitted,
        batches![
            242 => [
                "device_0 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 30.0 | 30.0 | 30.0",
                "device_0 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 40.0 | 40.0 | 40.0",
                "device_0 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 20.0 | 20.0 | 20.0",
                "device_1 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 21.1 | 21.1 | 21.1",
                "device_1 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 31.10000000000001 | 31.1 | 31.1",
                "device_1 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 41.10000000000001 | 41.1 | 41.1",
                "device_2 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 42.2 | 42.2 | 42.2",
                "device_2 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 22.199999999999992 | 22.2 | 22.2",
                "device_2 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 32.199999999999996 | 32.2 | 32.2",
                "device_3 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 33.300000000000004 | 33.3 | 33.3",
                "device_3 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 43.29999999999999 | 43.3 | 43.3",
                "device_3 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 23.300000000000008 | 23.3 | 23.3",
                "device_4 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 24.399999999999995 | 24.4 | 24.4",
                "device_4 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 34.39999999999999 | 34.4 | 34.4",
                "device_4 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 44.399999999999984 | 44.4 | 44.4",
                "device_5 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 45.0 | 45.0 | 45.0",
                "device_5 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 25.0 | 25.0 | 25.0",
                "device_5 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 35.0 | 35.0 | 35.0",
                "device_6 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 36.10000000000001 | 36.1 | 36.1",
                "device_6 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 46.100000000000016 | 46.1 | 46.1",
                "device_6 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 26.10000000000001 | 26.1 | 26.1",
                "device_7 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 27.199999999999992 | 27.2 | 27.2",
                "device_7 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 37.2 | 37.2 | 37.2",
                "device_7 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 47.20000000000001 | 47.2 | 47.2",
                "device_8 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 48.29999999999999 | 48.3 | 48.3",
                "device_8 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 28.300000000000008 | 28.3 | 28.3",
                "device_8 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 38.3 | 38.3 | 38.3",
                "device_9 | humidity | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 39.39999999999999 | 39.4 | 39.4",
                "device_9 | pressure | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 49.399999999999984 | 49.4 | 49.4",
                "device_9 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 16 | 29.39999999999999 | 29.4 | 29.4",
            ],
        ]
    );
}

/// The example's late-data check: a reading older than the watermark, arriving after its
/// windows were finalized, is dropped and counted in the progress.
#[tokio::test(start_paused = true)]
async fn iot_late_reading_beyond_the_watermark_is_dropped() {
    let check = iot_monitoring::late_data_check().await.unwrap();
    let final_windows = vec![
        "device_0 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 2 | 20.0 | 20.0 | 20.0",
        "device_0 | temperature | 2024-01-01 10:00:00 | 2024-01-01 10:02:00 | 2 | 20.0 | 20.0 | 20.0",
    ];
    let lines =
        |rows: &[iot_monitoring::IotStatsRow]| rows.iter().map(common::line).collect::<Vec<_>>();
    assert_eq!(lines(&check.before), final_windows);
    assert_eq!(lines(&check.after), final_windows);
    let late = &check.late_batch;
    // Batches: 0 on time, 1 no-data, 2 the reading at 10:03:30, 3 no-data (emits), 4 late.
    assert_eq!(late.batch_id, 4);
    assert_eq!(late.num_input_rows, 1);
    assert_eq!(late.watermark(), Some(at("10:02:30")));
    assert_eq!(
        late.rows_dropped_by_watermark(),
        2,
        "one per sliding window"
    );
    assert_eq!(late.sink.num_output_rows, 0);
}

/// The same reading, pushed before the watermark passed its windows, is counted in both.
#[tokio::test(start_paused = true)]
async fn iot_same_reading_on_time_is_counted() {
    let [on_time, closing, late] = iot_monitoring::late_data_batches();
    let readings = MemoryStream::new();
    let out = Collector::new();
    let query = iot_monitoring::IotStats::read_stream(readings.clone())
        .write_stream()
        .output_mode(Append)
        .foreach_batch(out.sink())
        .start()
        .unwrap();
    for batch in [on_time, late, closing] {
        readings.add_data(batch);
        query.process_all_available().await.unwrap();
    }
    query.stop().await;
    assert!(
        query
            .recent_progress()
            .iter()
            .all(|p| p.rows_dropped_by_watermark() == 0)
    );
    // Batches: 0 on time, 1 no-data, 2 the reading at 10:00:40 (the watermark stays), 3 the
    // reading at 10:03:30, 4 no-data (emits).
    let (emitted, _) = out.non_empty_sorted();
    assert_eq!(
        emitted,
        batches![
            4 => [
                "device_0 | temperature | 2024-01-01 09:59:00 | 2024-01-01 10:01:00 | 3 | 20.0 | 20.0 | 20.0",
                "device_0 | temperature | 2024-01-01 10:00:00 | 2024-01-01 10:02:00 | 3 | 20.0 | 20.0 | 20.0",
            ],
        ]
    );
}
