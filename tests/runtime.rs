//! The micro-batch engine end to end: triggers, watermark timing across batches, output modes,
//! stop/await, error surfacing, progress, and several queries at once. Time-dependent tests run
//! under a paused tokio clock, so they are exact and never sleep for real.

use std::time::Duration;

use sluice::prelude::*;

mod common;
use common::{run_available_now, typed_collector as collector};
use sluice::sink::console::ConsoleCapture;

sluice::pipeline! {
    schema Event { ts: Timestamp, key: String, value: f64 }

    /// Every rate row, unchanged.
    query RateRows from Rate {
        select *;
    }

    query Counts from Event {
        group by key;
        aggregate count = count(), total = sum(value);
    }

    query Windowed from Event {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count();
        select key, start = window.start, count;
    }

    query Ratio from Event {
        select key, ratio = 100 / value;
    }

    query GlobalCount from Rate {
        aggregate count = count();
    }
}

const T0: i64 = 1_704_103_200_000_000; // 2024-01-01T10:00:00Z

fn ev(secs: i64, key: &str, value: f64) -> Event {
    Event {
        ts: Timestamp::from_micros(T0 + secs * 1_000_000),
        key: key.to_string(),
        value,
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_micros(T0 + secs * 1_000_000)
}

#[tokio::test]
async fn default_trigger_processes_each_push_and_updates_keys() {
    let stream = MemoryStream::<Event>::new();
    let (batches, sink) = collector();
    let q = Counts::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(sink)
        .start()
        .unwrap();
    stream.add_data([ev(0, "a", 1.0), ev(1, "b", 2.0), ev(2, "a", 3.0)]);
    q.process_all_available().await.unwrap();
    stream.add_data([ev(3, "b", 5.0)]);
    q.process_all_available().await.unwrap();
    stream.add_data([]);
    q.process_all_available().await.unwrap();
    q.stop().await;
    let got = batches.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![
            (
                0,
                vec![
                    CountsRow {
                        key: "a".into(),
                        count: 2,
                        total: 4.0
                    },
                    CountsRow {
                        key: "b".into(),
                        count: 1,
                        total: 2.0
                    }
                ]
            ),
            (
                1,
                vec![CountsRow {
                    key: "b".into(),
                    count: 2,
                    total: 7.0
                }]
            ),
            (2, vec![]),
        ]
    );
    assert!(!q.is_active());
    assert_eq!(q.status().message, "Stopped");
    assert!(q.exception().is_none());
}

#[tokio::test]
async fn complete_mode_re_emits_everything_even_for_an_empty_batch() {
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(0, "a", 1.0)]);
    stream.add_data([]);
    stream.add_data([ev(1, "b", 1.0)]);
    let (q, batches) = run_available_now::<Counts, _>(stream, Complete).await;
    let got: Vec<(u64, usize)> = batches.iter().map(|(id, rows)| (*id, rows.len())).collect();
    assert_eq!(got, vec![(0, 1), (1, 1), (2, 2)]);
    let progress = q.recent_progress();
    assert_eq!(
        progress
            .iter()
            .map(|p| p.num_input_rows)
            .collect::<Vec<_>>(),
        vec![1, 0, 1]
    );
    assert_eq!(progress[2].state_operators[0].num_rows_total, 2);
    assert_eq!(progress[2].sink.num_output_rows, 2);
}

#[tokio::test]
async fn watermark_timing_late_rows_and_the_no_data_batch() {
    // 10 s windows, 10 s watermark delay, append mode, one push per batch.
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(5, "a", 1.0), ev(25, "a", 1.0)]); // max 25 s -> watermark 15 s
    stream.add_data([ev(14, "a", 1.0), ev(8, "a", 1.0)]); // 14: window ends 20 > 0, kept; 8: window ends 10 > 0 (prev wm 0), kept and final
    stream.add_data([ev(9, "a", 1.0), ev(16, "a", 1.0)]); // prev wm 15: window [0,10) ends 10 <= 15 -> dropped; 16 kept
    let (q, got) = run_available_now::<Windowed, _>(stream, Append).await;
    let row = |s: i64, count: i64| WindowedRow {
        key: "a".into(),
        start: at(s),
        count,
    };
    // Batch 2: 9 s is late (its window ends at 10 s <= the previous watermark, 15 s) and dropped;
    // 16 s joins [10, 20), which the watermark (still 15 s) does not close. The watermark did not
    // move after batch 2, so no no-data batch runs.
    assert_eq!(got, vec![(0, vec![]), (1, vec![row(0, 2)]), (2, vec![])]);
    let progress = q.recent_progress();
    let wms: Vec<Option<Timestamp>> = progress.iter().map(|p| p.watermark()).collect();
    assert_eq!(
        wms,
        vec![Some(Timestamp::EPOCH), Some(at(15)), Some(at(15))]
    );
    assert_eq!(progress[2].rows_dropped_by_watermark(), 1);
    assert_eq!(
        progress[2].state_operators[0].num_rows_total, 2,
        "[10, 20) and [20, 30) stay open"
    );
}

#[tokio::test]
async fn a_no_data_batch_flushes_append_mode() {
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(5, "a", 1.0)]);
    stream.add_data([ev(100, "b", 1.0)]); // pushes the watermark to 90 s after this batch
    let (q, got) = run_available_now::<Windowed, _>(stream, Append).await;
    assert_eq!(got.len(), 3, "two data batches and one no-data batch");
    assert_eq!(got[1], (1, vec![]));
    assert_eq!(
        got[2],
        (
            2,
            vec![WindowedRow {
                key: "a".into(),
                start: at(0),
                count: 1
            }]
        )
    );
    let last = q.last_progress().unwrap();
    assert_eq!(last.batch_id, 2);
    assert_eq!(last.num_input_rows, 0);
    assert_eq!(last.watermark(), Some(at(90)));
    assert_eq!(
        last.state_operators[0].num_rows_total, 1,
        "window [100, 110) of b is still open"
    );
}

#[tokio::test]
async fn update_mode_gets_no_data_batch_but_emits_nothing_in_it() {
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(5, "a", 1.0)]);
    stream.add_data([ev(100, "b", 1.0)]);
    let (q, got) = run_available_now::<Windowed, _>(stream, Update).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], (2, vec![]));
    assert_eq!(
        q.last_progress().unwrap().state_operators[0].num_rows_removed,
        1
    );
}

#[tokio::test]
async fn complete_mode_never_gets_a_no_data_batch() {
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(5, "a", 1.0)]);
    stream.add_data([ev(100, "b", 1.0)]);
    let (q, _) = run_available_now::<Windowed, _>(stream, Complete).await;
    assert_eq!(q.recent_progress().len(), 2);
}

#[tokio::test]
async fn once_runs_a_single_batch_with_everything() {
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(0, "a", 1.0)]);
    stream.add_data([ev(1, "a", 1.0)]);
    let (batches, sink) = collector();
    let q = Counts::read_stream(stream)
        .write_stream()
        .output_mode(Update)
        .trigger(Trigger::Once)
        .foreach_batch(sink)
        .start()
        .unwrap();
    q.await_termination().await.unwrap();
    let got = batches.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![(
            0,
            vec![CountsRow {
                key: "a".into(),
                count: 2,
                total: 2.0
            }]
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn processing_time_trigger_fires_on_interval_boundaries() {
    // The clock starts 1.5 s past a 5 s boundary: the first batch runs at once, then at
    // multiples of 5 s, like Spark's ProcessingTimeExecutor.
    let start = Timestamp::from_millis(1_700_000_001_500);
    let q = RateRows::read_stream(RateSource::new().rows_per_second(2))
        .write_stream()
        .trigger(Trigger::ProcessingTime(Duration::from_secs(5)))
        .clock(Clock::starting_at(start))
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(12_000)).await;
    q.stop().await;
    let progress = q.recent_progress();
    let times: Vec<i64> = progress
        .iter()
        .map(|p| p.timestamp.as_millis() - start.as_millis())
        .collect();
    assert_eq!(times, vec![0, 3_500, 8_500]);
    // The rate source's offsets are whole seconds since the start: 0, 3, 8 -> 0, 6, 10 rows.
    let rows: Vec<u64> = progress.iter().map(|p| p.num_input_rows).collect();
    assert_eq!(rows, vec![0, 6, 10]);
}

#[tokio::test(start_paused = true)]
async fn rate_source_rows_are_contiguous_across_batches() {
    let start = Timestamp::from_millis(1_700_000_000_000);
    let (batches, sink) = collector::<RateRowsRow>();
    let q = RateRows::read_stream(RateSource::new().rows_per_second(3))
        .write_stream()
        .clock(Clock::starting_at(start))
        .foreach_batch(sink)
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(4_050)).await;
    q.stop().await;
    let got = batches.lock().unwrap().clone();
    let values: Vec<i64> = got
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.value))
        .collect();
    assert_eq!(values, (0..12).collect::<Vec<_>>());
    // Batch 0 is Spark's empty first batch (offset 0), then one batch per second.
    assert_eq!(
        got.iter().map(|(_, r)| r.len()).collect::<Vec<_>>(),
        vec![0, 3, 3, 3, 3]
    );
    // Row n of second s is stamped s + n/3 s.
    let stamps: Vec<i64> = got[2]
        .1
        .iter()
        .map(|r| r.timestamp.as_millis() - start.as_millis())
        .collect();
    assert_eq!(stamps, vec![1_000, 1_333, 1_667]);
}

#[tokio::test]
async fn failures_surface_through_the_handle() {
    let stream = MemoryStream::<Event>::new();
    let q = Ratio::read_stream(stream.clone())
        .write_stream()
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    stream.add_data([ev(0, "a", 4.0), ev(1, "b", 0.0)]);
    let err = q.await_termination().await.unwrap_err();
    assert_eq!(err.cause.error_class(), Some("DIVIDE_BY_ZERO"));
    assert!(!q.is_active());
    assert!(
        q.status()
            .message
            .starts_with("Terminated with exception: [DIVIDE_BY_ZERO]")
    );
    assert!(q.exception().is_some());
    assert!(q.process_all_available().await.is_err());
}

#[tokio::test]
async fn a_panicking_sink_fails_the_query_without_hanging() {
    let stream = MemoryStream::<Event>::new();
    let q = Counts::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(|_, _: Vec<CountsRow>| -> () { panic!("sink exploded") })
        .start()
        .unwrap();
    stream.add_data([ev(0, "a", 1.0)]);
    let err = q.await_termination().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the query panicked: sink exploded"),
        "{err}"
    );
}

#[tokio::test]
async fn sink_errors_fail_the_query() {
    let stream = MemoryStream::<Event>::new();
    let q = Counts::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(|id, _: Vec<CountsRow>| if id == 1 { Err("disk full") } else { Ok(()) })
        .start()
        .unwrap();
    stream.add_data([ev(0, "a", 1.0)]);
    q.process_all_available().await.unwrap();
    stream.add_data([ev(0, "a", 1.0)]);
    let err = q.await_termination().await.unwrap_err();
    assert_eq!(err.cause.to_string(), "sink ForeachBatchSink: disk full");
    assert_eq!(
        q.recent_progress().len(),
        1,
        "the failed batch is not committed"
    );
}

#[tokio::test]
async fn output_modes_by_name_are_checked_at_start() {
    let start = |mode: &str| {
        Counts::read_stream(MemoryStream::<Event>::new())
            .write_stream()
            .output_mode_named(mode)
            .foreach_batch(|_, _| ())
            .start()
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        start("foo").unwrap_err(),
        "[STREAMING_OUTPUT_MODE.INVALID] Invalid streaming output mode: foo. Accepted output modes are 'Append', 'Complete', 'Update'."
    );
    assert_eq!(
        start("append").unwrap_err(),
        "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: append. This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets."
    );
    assert!(start("Update").is_ok());
    let stateless = RateRows::read_stream(RateSource::new())
        .write_stream()
        .output_mode_named("complete")
        .foreach_batch(|_, _| ())
        .start()
        .map(|_| ());
    assert_eq!(
        stateless.unwrap_err().to_string(),
        "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: complete. This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets."
    );
}

#[tokio::test]
async fn two_queries_read_one_memory_stream() {
    let stream = MemoryStream::<Event>::new();
    let (a, sink_a) = collector();
    let (b, sink_b) = collector();
    let qa = Counts::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .foreach_batch(sink_a)
        .start()
        .unwrap();
    let qb = Ratio::read_stream(stream.clone())
        .write_stream()
        .foreach_batch(sink_b)
        .start()
        .unwrap();
    stream.add_data([ev(0, "a", 2.0), ev(1, "a", 4.0)]);
    qa.process_all_available().await.unwrap();
    qb.process_all_available().await.unwrap();
    qa.stop().await;
    qb.stop().await;
    assert_eq!(
        a.lock().unwrap()[0].1,
        vec![CountsRow {
            key: "a".into(),
            count: 2,
            total: 6.0
        }]
    );
    assert_eq!(
        b.lock().unwrap()[0].1,
        vec![
            RatioRow {
                key: "a".into(),
                ratio: 50.0
            },
            RatioRow {
                key: "a".into(),
                ratio: 25.0
            }
        ]
    );
    assert_ne!(qa.id(), qb.id());
}

#[tokio::test]
async fn memory_sink_is_readable_while_running() {
    let stream = MemoryStream::<Event>::new();
    let q = Counts::read_stream(stream.clone())
        .write_stream()
        .output_mode(Complete)
        .format(MemorySink::new())
        .query_name("runtime_test_counts")
        .start()
        .unwrap();
    stream.add_data([ev(0, "b", 1.0), ev(1, "a", 1.0)]);
    q.process_all_available().await.unwrap();
    let table = sluice::sink::memory::table::<CountsRow>("runtime_test_counts").unwrap();
    let keys: Vec<String> = table
        .rows_sorted_by_key(|r| r.key.clone())
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, vec!["a", "b"]);
    stream.add_data([ev(2, "c", 1.0)]);
    q.process_all_available().await.unwrap();
    assert_eq!(
        table.len(),
        3,
        "complete mode replaces the table with the whole result"
    );
    q.stop().await;
    let missing = Counts::read_stream(MemoryStream::<Event>::new())
        .write_stream()
        .output_mode(Complete)
        .format(MemorySink::new())
        .start();
    assert_eq!(
        missing.unwrap_err().to_string(),
        "queryName must be specified for memory sink"
    );
}

#[tokio::test]
async fn global_aggregate_emits_its_row_every_batch() {
    let stream = MemoryStream::<RateRow>::new().max_batches_per_trigger(1);
    stream.add_data([]);
    stream.add_data([
        RateRow {
            timestamp: at(0),
            value: 1,
        },
        RateRow {
            timestamp: at(0),
            value: 2,
        },
    ]);
    stream.add_data([]);
    let (_, batches) = run_available_now::<GlobalCount, _>(stream, Complete).await;
    let got: Vec<Vec<i64>> = batches
        .iter()
        .map(|(_, r)| r.iter().map(|r| r.count).collect())
        .collect();
    assert_eq!(got, vec![vec![0], vec![2], vec![2]]);
}

#[tokio::test]
async fn console_sink_prints_spark_layout() {
    // Spark's console output for the oracle's stateless_filter_project batches 0 and 1
    // (`filter(value > 25).select(ts, key, value * 2 as v2)`, truncate = false).
    sluice::pipeline! {
        schema In { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }
        query Doubled from In {
            where value > 25;
            select ts, key, v2 = value * 2;
        }
    }
    let t = |s: &str| Timestamp::parse(s).ok();
    let stream = MemoryStream::<In>::new().max_batches_per_trigger(1);
    stream.add_data([
        In {
            ts: t("2024-01-01T10:00:05Z"),
            key: Some("a".into()),
            value: Some(10.0),
        },
        In {
            ts: t("2024-01-01T10:00:01Z"),
            key: Some("b".into()),
            value: Some(30.0),
        },
        In {
            ts: t("2024-01-01T10:00:09.999Z"),
            key: Some("b".into()),
            value: Some(26.0),
        },
    ]);
    stream.add_data([]);
    let (sink, capture): (ConsoleSink, ConsoleCapture) =
        ConsoleSink::new().truncate(false).capture();
    let q = Doubled::read_stream(stream)
        .write_stream()
        .format(sink)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    q.await_termination().await.unwrap();
    let spark = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/spark-oracle/golden/stateless_filter_project/console.txt"
    ))
    .unwrap();
    let first_two_batches: String = spark.split_inclusive('\n').take(18).collect();
    assert_eq!(capture.text(), first_two_batches);
}

#[tokio::test]
async fn progress_reports_spark_figures() {
    let stream = MemoryStream::<Event>::new();
    let q = Windowed::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .query_name("progress_test")
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    stream.add_data([ev(5, "a", 1.0), ev(7, "b", 1.0), ev(30, "a", 1.0)]);
    q.process_all_available().await.unwrap();
    // Idle after batch 0, the default trigger runs a no-data batch: the watermark moved to 20 s
    // and the query is stateful in update mode.
    stream.add_data([ev(1, "a", 1.0)]);
    q.process_all_available().await.unwrap();
    q.stop().await;
    let p = q.recent_progress();
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].name.as_deref(), Some("progress_test"));
    assert_eq!(p[0].num_input_rows, 3);
    assert_eq!(p[0].event_time.max, Some(at(30)));
    assert_eq!(p[0].event_time.min, Some(at(5)));
    assert_eq!(p[0].event_time.watermark, Some(Timestamp::EPOCH));
    assert_eq!(p[0].state_operators[0].num_rows_total, 3);
    assert_eq!(p[0].state_operators[0].num_rows_updated, 3);
    // Batch 1: no input, watermark 20 s evicts [0, 10) of a and b.
    assert_eq!(p[1].num_input_rows, 0);
    assert_eq!(p[1].watermark(), Some(at(20)));
    assert_eq!(p[1].state_operators[0].num_rows_removed, 2);
    assert_eq!(p[1].state_operators[0].num_rows_total, 1);
    let json: serde_json::Value = serde_json::from_str(&p[1].json()).unwrap();
    assert_eq!(json["batchId"], 1);
    assert_eq!(json["eventTime"]["watermark"], "2024-01-01T10:00:20.000Z");
    assert_eq!(json["sources"][0]["startOffset"], 1);
    assert_eq!(json["sources"][0]["endOffset"], 1);
    assert_eq!(json["id"], q.id().to_string());
    // Batch 2: the row at 1 s belongs to [0, 10), which ended before the previous watermark.
    assert_eq!(p[2].num_input_rows, 1);
    assert_eq!(p[2].rows_dropped_by_watermark(), 1);
    assert_eq!(p[2].state_operators[0].num_rows_updated, 0);
    assert_eq!(p[2].sources[0].end_offset, serde_json::json!(2));
}

#[tokio::test(start_paused = true)]
async fn await_termination_with_timeout() {
    let q = RateRows::read_stream(RateSource::new())
        .write_stream()
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    assert!(
        !q.await_termination_timeout(Duration::from_secs(2))
            .await
            .unwrap()
    );
    assert!(q.is_active());
    q.stop().await;
    assert!(
        q.await_termination_timeout(Duration::from_secs(2))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn bad_source_options_fail_start() {
    let err = RateRows::read_stream(RateSource::new().rows_per_second(0))
        .write_stream()
        .foreach_batch(|_, _| ())
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid value '0'. The option 'rowsPerSecond' must be positive"
    );
}
