//! Checkpoints within one process: a query started again with the same checkpoint location
//! resumes after its last committed batch with its state, watermark and source position, and a
//! batch that failed before its commit is re-run with exactly the same input. (Killing real
//! processes at many points is `tests/crash_recovery.rs`.)

use std::time::Duration;

use sluice::prelude::*;

mod common;
use common::{TypedBatches as Batches, typed_collector as collector};

sluice::pipeline! {
    schema Event { ts: Timestamp, key: String, value: i64 }

    query Totals from Event {
        group by key;
        aggregate count = count(), total = sum(value);
    }

    query Windowed from Event {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count(), total = sum(value);
        select key, start = window.start, count, total;
    }

    query Limited from Event {
        limit 3;
    }

    query RateRows from Rate {
        select *;
    }
}

const T0: i64 = 1_704_103_200_000_000;

fn ev(secs: i64, key: &str, value: i64) -> Event {
    Event {
        ts: Timestamp::from_micros(T0 + secs * 1_000_000),
        key: key.into(),
        value,
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_micros(T0 + secs * 1_000_000)
}

async fn run_totals(
    stream: &MemoryStream<Event>,
    dir: &std::path::Path,
    interval: u64,
) -> (StreamingQuery, Batches<TotalsRow>) {
    let (batches, sink) = collector();
    let q = Totals::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .checkpoint_location(dir)
        .snapshot_interval(interval)
        .trigger(Trigger::AvailableNow)
        .foreach_batch(sink)
        .start()
        .unwrap();
    q.await_termination().await.unwrap();
    (q, batches)
}

#[tokio::test]
async fn resumes_after_the_last_commit_with_its_state() {
    for interval in [1, 2, 10] {
        let dir = tempfile::tempdir().unwrap();
        let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
        stream.add_data([ev(0, "a", 1), ev(1, "b", 10)]);
        stream.add_data([ev(2, "a", 2)]);
        stream.add_data([ev(3, "b", 20)]);
        let (first, batches) = run_totals(&stream, dir.path(), interval).await;
        assert_eq!(batches.lock().unwrap().len(), 3);

        stream.add_data([ev(4, "a", 3), ev(5, "c", 100)]);
        let (second, batches) = run_totals(&stream, dir.path(), interval).await;
        let got = batches.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![(
                3,
                vec![
                    TotalsRow {
                        key: "a".into(),
                        count: 3,
                        total: 6
                    },
                    TotalsRow {
                        key: "c".into(),
                        count: 1,
                        total: 100
                    },
                ]
            )],
            "snapshot interval {interval}: batch ids continue and the state was restored"
        );
        assert_eq!(first.id(), second.id(), "the query id is the checkpoint's");
        assert_ne!(first.run_id(), second.run_id());
        assert_eq!(
            second.last_progress().unwrap().sources[0].start_offset,
            serde_json::json!(3)
        );
    }
}

#[tokio::test]
async fn an_uncommitted_batch_is_re_run_with_exactly_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(0, "a", 1)]);
    stream.add_data([ev(1, "a", 2), ev(1, "b", 5)]);
    // The sink fails on batch 1: its offsets are logged, its commit is not.
    let failing = Totals::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .checkpoint_location(dir.path())
        .trigger(Trigger::AvailableNow)
        .foreach_batch(|id, _: Vec<TotalsRow>| if id == 1 { Err("sink down") } else { Ok(()) })
        .start()
        .unwrap();
    assert!(failing.await_termination().await.is_err());
    assert!(dir.path().join("offsets/1").exists());
    assert!(!dir.path().join("commits/1").exists());

    // More data arrives before the restart; the re-run of batch 1 must not include it.
    stream.add_data([ev(2, "a", 4)]);
    let (_, batches) = run_totals(&stream, dir.path(), 10).await;
    let got = batches.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![
            (
                1,
                vec![
                    TotalsRow {
                        key: "a".into(),
                        count: 2,
                        total: 3
                    },
                    TotalsRow {
                        key: "b".into(),
                        count: 1,
                        total: 5
                    },
                ]
            ),
            (
                2,
                vec![TotalsRow {
                    key: "a".into(),
                    count: 3,
                    total: 7
                }]
            ),
        ]
    );
}

#[tokio::test]
async fn the_watermark_and_windows_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    stream.add_data([ev(5, "a", 1), ev(25, "a", 1)]); // watermark 15 s after this batch
    let run = |stream: MemoryStream<Event>| {
        let (batches, sink) = collector::<WindowedRow>();
        let q = Windowed::read_stream(stream)
            .write_stream()
            .output_mode(Append)
            .checkpoint_location(dir.path())
            .snapshot_interval(1)
            .trigger(Trigger::AvailableNow)
            .foreach_batch(sink)
            .start()
            .unwrap();
        (q, batches)
    };
    let (q, batches) = run(stream.clone());
    q.await_termination().await.unwrap();
    // Batch 0 emits nothing; the no-data batch 1 runs under 15 s and closes [0, 10).
    let first: Vec<u64> = batches.lock().unwrap().iter().map(|(id, _)| *id).collect();
    assert_eq!(first, vec![0, 1]);
    assert_eq!(
        batches.lock().unwrap()[1].1,
        vec![WindowedRow {
            key: "a".into(),
            start: at(0),
            count: 1,
            total: 1
        }]
    );

    // After the restart: a row for [0, 10) is late (the previous batch ran under 15 s) and the
    // open window [20, 30) still holds the row at 25 s.
    stream.add_data([ev(6, "a", 1), ev(28, "a", 1), ev(60, "b", 1)]);
    let (q, batches) = run(stream.clone());
    q.await_termination().await.unwrap();
    let progress = q.recent_progress();
    assert_eq!(progress[0].batch_id, 2);
    assert_eq!(progress[0].watermark(), Some(at(15)));
    assert_eq!(progress[0].rows_dropped_by_watermark(), 1);
    let got = batches.lock().unwrap().clone();
    // Batch 3 (no data) runs under 50 s and emits [20, 30) with both rows.
    assert_eq!(
        got.last().unwrap(),
        &(
            3,
            vec![WindowedRow {
                key: "a".into(),
                start: at(20),
                count: 2,
                total: 2
            }]
        )
    );
}

#[tokio::test]
async fn a_global_limit_remembers_what_it_let_through() {
    let dir = tempfile::tempdir().unwrap();
    let stream = MemoryStream::<Event>::new();
    stream.add_data([ev(0, "a", 1), ev(1, "b", 2)]);
    let run = || {
        let (batches, sink) = collector::<LimitedRow>();
        let q = Limited::read_stream(stream.clone())
            .write_stream()
            .checkpoint_location(dir.path())
            .trigger(Trigger::AvailableNow)
            .foreach_batch(sink)
            .start()
            .unwrap();
        (q, batches)
    };
    let (q, first) = run();
    q.await_termination().await.unwrap();
    assert_eq!(first.lock().unwrap()[0].1.len(), 2);
    stream.add_data([ev(2, "c", 3), ev(3, "d", 4)]);
    let (q, second) = run();
    q.await_termination().await.unwrap();
    let rows = &second.lock().unwrap()[0].1;
    assert_eq!(
        rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        vec!["c"],
        "3 rows in all"
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_source_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_millis(1_700_000_000_000);
    let run = |clock: Clock| {
        let (batches, sink) = collector::<RateRowsRow>();
        let q = RateRows::read_stream(RateSource::new().rows_per_second(2))
            .write_stream()
            .checkpoint_location(dir.path())
            .clock(clock)
            .foreach_batch(sink)
            .start()
            .unwrap();
        (q, batches)
    };
    let (q, first) = run(Clock::starting_at(start));
    tokio::time::sleep(Duration::from_millis(3_050)).await;
    q.stop().await;
    // Restart 10 s later: the rate source keeps its original start time, so the next batch
    // covers the 10 s the query was down, with no gap and no repeat.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (q, second) = run(Clock::starting_at(start.plus_micros(13_050_000)));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    q.stop().await;
    let values = |b: &Batches<RateRowsRow>| -> Vec<i64> {
        b.lock()
            .unwrap()
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(|r| r.value))
            .collect()
    };
    let before = values(&first);
    let after = values(&second);
    assert_eq!(before, (0..6).collect::<Vec<_>>());
    assert_eq!(after, (6..28).collect::<Vec<_>>());
    let first_after = &second.lock().unwrap()[0];
    assert_eq!(first_after.0, 4, "batch ids continue");
    assert_eq!(
        first_after.1[0].timestamp,
        start.plus_micros(3_000_000),
        "value 6 is stamped at 3 s"
    );
}

#[tokio::test]
async fn a_different_query_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stream = MemoryStream::<Event>::new();
    stream.add_data([ev(0, "a", 1)]);
    let (_, _) = run_totals(&stream, dir.path(), 1).await;
    let err = Windowed::read_stream(stream)
        .write_stream()
        .output_mode(Update)
        .checkpoint_location(dir.path())
        .foreach_batch(|_, _| ())
        .start()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("written by a different query (pipeline `Totals`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupt_snapshot_falls_back_to_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    for i in 0..4 {
        stream.add_data([ev(i, "a", 1)]);
    }
    let (_, _) = run_totals(&stream, dir.path(), 1).await;
    // Damage the newest snapshot, in the state partition that holds the group: the restart
    // restores batch 2's and replays batch 3.
    let newest = std::fs::read_dir(dir.path().join("state/0"))
        .unwrap()
        .map(|p| p.unwrap().path().join("3.snapshot"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 1);
    std::fs::write(&newest, &bytes).unwrap();
    stream.add_data([ev(9, "a", 1)]);
    let (_, batches) = run_totals(&stream, dir.path(), 1).await;
    assert_eq!(
        batches.lock().unwrap().clone(),
        vec![(
            4,
            vec![TotalsRow {
                key: "a".into(),
                count: 5,
                total: 5
            }]
        )]
    );
}

/// Runs `Totals` to the end of `stream` on `threads` threads, asking for `partitions` state
/// partitions.
async fn run_totals_on(
    stream: &MemoryStream<Event>,
    dir: &std::path::Path,
    threads: usize,
    partitions: usize,
) -> Batches<TotalsRow> {
    let (batches, sink) = collector();
    let q = Totals::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .checkpoint_location(dir)
        .snapshot_interval(1)
        .parallelism(threads)
        .state_partitions(partitions)
        .trigger(Trigger::AvailableNow)
        .foreach_batch(sink)
        .start()
        .unwrap();
    q.await_termination().await.unwrap();
    batches
}

#[tokio::test]
async fn a_restart_on_other_threads_keeps_the_checkpoints_state_partitions() {
    let (logs, _guard) = common::LogCapture::start();
    let dir = tempfile::tempdir().unwrap();
    let stream = MemoryStream::<Event>::new().max_batches_per_trigger(1);
    let keys: Vec<String> = (0..20).map(|k| format!("k{k:02}")).collect();
    for value in [1, 2] {
        stream.add_data(keys.iter().map(|k| ev(0, k, value)));
    }
    let first = run_totals_on(&stream, dir.path(), 4, 4).await;
    assert_eq!(first.lock().unwrap().len(), 2);
    // One snapshot file per state partition, the groups spread over them.
    let sizes: Vec<u64> = (0..4)
        .map(|p| {
            std::fs::metadata(dir.path().join(format!("state/0/{p}/1.snapshot")))
                .unwrap()
                .len()
        })
        .collect();
    // A partition without groups is 50 bytes: the header and an empty list with a zero count.
    assert!(
        sizes.iter().all(|&s| s > 50),
        "every partition holds groups: {sizes:?}"
    );
    assert!(!dir.path().join("state/0/4").exists());

    // On one thread, asked for 8 partitions: the checkpoint's 4 are kept, the state is whole.
    stream.add_data(keys.iter().map(|k| ev(1, k, 4)));
    let second = run_totals_on(&stream, dir.path(), 1, 8).await;
    let batches = second.lock().unwrap().clone();
    assert_eq!(batches.len(), 1);
    let (id, mut rows) = batches[0].clone();
    assert_eq!(id, 2);
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let expected: Vec<TotalsRow> = keys
        .iter()
        .map(|k| TotalsRow {
            key: k.clone(),
            count: 3,
            total: 7,
        })
        .collect();
    assert_eq!(rows, expected);
    assert!(!dir.path().join("state/0/4").exists());
    let warned = logs.lines_with("state partitions");
    assert_eq!(warned.len(), 1, "{}", logs.text());
    assert!(
        warned[0].contains("the checkpoint was created with 4 state partitions; the query keeps them (it was asked for 8)"),
        "{}",
        warned[0]
    );
}
