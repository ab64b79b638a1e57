//! Stream-stream joins end to end: two `MemoryStream`s read as one batch each per trigger
//! (`max_batches_per_trigger(1)`, `Trigger::AvailableNow`), every join type over the data of
//! Spark's golden `stream_stream_inner_join` scenario — exact rows per batch, the watermark
//! each batch ran under, no-data batches, the state's counters — and the restart of a join
//! from its checkpoint.

mod common;

use std::sync::Arc;

use sluice::StreamingQueryProgress;
use sluice::prelude::*;

use common::at;

sluice::pipeline! {
    schema Event { ts: Timestamp, key: String, value: f64 }

    /// The impressions: `withWatermark("ts", "30 seconds")`, renamed.
    query Impressions from Event {
        watermark ts delay 30 seconds;
        select imp_ts = ts, ad = key, imp_v = value;
    }

    /// The clicks, likewise.
    query Clicks from Event {
        watermark ts delay 30 seconds;
        select click_ts = ts, click_ad = key, click_v = value;
    }

    /// A click within 20 seconds after its impression.
    query Matched from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select *;
    }

    query ImpressionsAndClicks from Impressions left outer join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select ad, imp_ts, click_ts;
    }

    query ClicksAndImpressions from Impressions right join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select ad, click_ad, click_ts;
    }

    query Everything from Impressions full outer join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select ad, click_ad;
    }

    query Clicked from Impressions left semi join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select ad, imp_ts;
    }

    /// `.groupBy(window("click_ts", "10 seconds")).count()` after the inner join.
    query ClicksPerWindow from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        group by window(click_ts, 10 seconds);
        aggregate count = count(*);
    }

    /// `.groupBy(window("imp_ts", "10 seconds")).agg(count("*"), sum("click_v"))`.
    query ImpressionWindows from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        group by window(imp_ts, 10 seconds);
        aggregate n = count(*), s = sum(click_v);
    }

    /// The left outer join, counted per impression window: unmatched impressions count too,
    /// in the batch the join emits them.
    query ReachPerWindow from Impressions left join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        group by window(imp_ts, 10 seconds);
        aggregate count = count(*);
    }

    /// Keys that equate the watermarked times: both sides' rows expire by key, once the
    /// watermark passes the time they hold (Spark's state key predicate).
    query SameInstant from Impressions join Clicks on ad == click_ad and imp_ts == click_ts {
        select ad, imp_ts;
    }

    query SameInstantOrNot from Impressions left join Clicks on ad == click_ad and imp_ts == click_ts {
        select ad, imp_ts, click_ts;
    }

    /// Matches per ad, in update mode (an inner join may run in it).
    query MatchesPerAd from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        group by ad;
        aggregate count = count(*);
    }
}

fn ev(time: &str, key: &str, value: f64) -> Event {
    Event {
        ts: at(time),
        key: key.to_string(),
        value,
    }
}

/// The golden scenario's batches: (impressions, clicks).
fn golden() -> Vec<(Vec<Event>, Vec<Event>)> {
    vec![
        (
            vec![
                ev("10:00:00", "ad1", 1.0),
                ev("10:00:05", "ad2", 2.0),
                ev("10:00:06", "ad3", 3.0),
            ],
            vec![ev("10:00:10", "ad1", 10.0)],
        ),
        (
            vec![ev("10:00:20", "ad4", 4.0)],
            vec![ev("10:00:30", "ad2", 20.0), ev("10:00:21", "ad4", 40.0)],
        ),
        (
            vec![ev("10:01:00", "ad5", 5.0), ev("10:00:10", "ad6", 6.0)],
            vec![ev("10:00:12", "ad3", 30.0)],
        ),
        (
            vec![ev("10:02:00", "ad7", 7.0)],
            vec![ev("10:01:05", "ad5", 50.0), ev("10:00:15", "ad6", 60.0)],
        ),
        (vec![], vec![ev("10:03:00", "zz", 0.0)]),
        (
            vec![ev("10:04:00", "ad8", 8.0)],
            vec![ev("10:05:00", "zz", 0.0)],
        ),
    ]
}

/// Each batch: its id, its rows as text (sorted), and the watermark it ran under.
type Run = Vec<(u64, Vec<String>, Option<Timestamp>)>;

async fn run<P>() -> Run
where
    P: ReadStreams<LeftInput = Event, RightInput = Event>
        + Pipeline<Input = sluice::source::Sided<Event, Event>>
        + sluice::pipeline::SupportsAppend,
{
    run_in::<P>("append").await
}

/// [`run`] in output mode `mode` (by name, checked at start as Spark's `outputMode`).
async fn run_in<P>(mode: &str) -> Run
where
    P: ReadStreams<LeftInput = Event, RightInput = Event>
        + Pipeline<Input = sluice::source::Sided<Event, Event>>,
{
    run_over::<P>(golden(), mode).await
}

/// [`run_in`] over `batches` (impressions, clicks) instead of the golden scenario's.
async fn run_over<P>(batches: Vec<(Vec<Event>, Vec<Event>)>, mode: &str) -> Run
where
    P: ReadStreams<LeftInput = Event, RightInput = Event>
        + Pipeline<Input = sluice::source::Sided<Event, Event>>,
{
    let (left, right) = (MemoryStream::new(), MemoryStream::new());
    for (l, r) in batches {
        left.add_data(l);
        right.add_data(r);
    }
    let collector = common::Collector::new();
    let query = P::read_streams(
        left.max_batches_per_trigger(1),
        right.max_batches_per_trigger(1),
    )
    .write_stream()
    .output_mode_named(mode)
    .foreach_batch(collector.sink::<P::Output>())
    .trigger(Trigger::AvailableNow)
    .start()
    .expect("the join starts");
    query.await_termination().await.expect("the join runs");
    let progress: Vec<Arc<StreamingQueryProgress>> = query.recent_progress();
    collector
        .sorted()
        .into_iter()
        .map(|(id, rows)| {
            let watermark = progress
                .iter()
                .find(|p| p.batch_id == id)
                .and_then(|p| p.event_time.watermark);
            (id, rows, watermark)
        })
        .collect()
}

fn rows(run: &Run) -> Vec<Vec<String>> {
    run.iter().map(|(_, rows, _)| rows.clone()).collect()
}

/// The watermark each batch ran under.
fn watermarks(run: &Run) -> Vec<Option<Timestamp>> {
    run.iter().map(|(_, _, w)| *w).collect()
}

#[tokio::test]
async fn an_inner_join_emits_each_pair_in_the_batch_its_second_row_arrives() {
    let run = run::<Matched>().await;
    // Spark's: the minimum of the sides' watermarks, then a no-data batch for the last one.
    assert_eq!(
        watermarks(&run),
        [
            Some(Timestamp::EPOCH),
            Some(at("09:59:36")),
            Some(at("09:59:50")),
            Some(at("10:00:00")),
            Some(at("10:00:35")),
            Some(at("10:01:30")),
            Some(at("10:03:30")),
        ]
    );
    assert_eq!(
        rows(&run),
        [
            vec!["2024-01-01 10:00:00 | ad1 | 1.0 | 2024-01-01 10:00:10 | ad1 | 10.0"],
            vec!["2024-01-01 10:00:20 | ad4 | 4.0 | 2024-01-01 10:00:21 | ad4 | 40.0"],
            vec!["2024-01-01 10:00:06 | ad3 | 3.0 | 2024-01-01 10:00:12 | ad3 | 30.0"],
            vec![
                "2024-01-01 10:00:10 | ad6 | 6.0 | 2024-01-01 10:00:15 | ad6 | 60.0",
                "2024-01-01 10:01:00 | ad5 | 5.0 | 2024-01-01 10:01:05 | ad5 | 50.0",
            ],
            vec![],
            vec![],
            vec![],
        ]
    );
}

#[tokio::test]
async fn a_left_outer_join_emits_an_unmatched_impression_once_the_watermark_expires_it() {
    let run = run::<ImpressionsAndClicks>().await;
    assert_eq!(
        rows(&run),
        [
            vec!["ad1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:10"],
            vec!["ad4 | 2024-01-01 10:00:20 | 2024-01-01 10:00:21"],
            vec!["ad3 | 2024-01-01 10:00:06 | 2024-01-01 10:00:12"],
            vec![
                "ad5 | 2024-01-01 10:01:00 | 2024-01-01 10:01:05",
                "ad6 | 2024-01-01 10:00:10 | 2024-01-01 10:00:15",
            ],
            // Watermark 10:00:35: impressions at or before 10:00:14.999 can match no future
            // click; ad2's click (10:00:30) came 25 s after it.
            vec!["ad2 | 2024-01-01 10:00:05 | NULL"],
            vec![],
            // Watermark 10:03:30, in the no-data batch: ad7 (10:02:00) never clicked.
            vec!["ad7 | 2024-01-01 10:02:00 | NULL"],
        ]
    );
}

#[tokio::test]
async fn a_right_outer_join_emits_an_unmatched_click_once_the_watermark_expires_it() {
    let run = run::<ClicksAndImpressions>().await;
    assert_eq!(
        rows(&run),
        [
            vec!["ad1 | ad1 | 2024-01-01 10:00:10"],
            vec!["ad4 | ad4 | 2024-01-01 10:00:21"],
            vec!["ad3 | ad3 | 2024-01-01 10:00:12"],
            vec![
                "ad5 | ad5 | 2024-01-01 10:01:05",
                "ad6 | ad6 | 2024-01-01 10:00:15",
            ],
            // Clicks at or before 10:00:34.999 expire: ad2's never matched.
            vec!["NULL | ad2 | 2024-01-01 10:00:30"],
            vec![],
            vec!["NULL | zz | 2024-01-01 10:03:00"],
        ]
    );
}

#[tokio::test]
async fn a_full_outer_join_emits_both_sides_unmatched_rows() {
    let run = run::<Everything>().await;
    assert_eq!(
        rows(&run),
        [
            vec!["ad1 | ad1"],
            vec!["ad4 | ad4"],
            vec!["ad3 | ad3"],
            vec!["ad5 | ad5", "ad6 | ad6"],
            vec!["NULL | ad2", "ad2 | NULL"],
            vec![],
            vec!["NULL | zz", "ad7 | NULL"],
        ]
    );
}

#[tokio::test]
async fn a_left_semi_join_emits_each_clicked_impression_once() {
    let run = run::<Clicked>().await;
    assert_eq!(
        rows(&run),
        [
            vec!["ad1 | 2024-01-01 10:00:00"],
            vec!["ad4 | 2024-01-01 10:00:20"],
            vec!["ad3 | 2024-01-01 10:00:06"],
            vec!["ad5 | 2024-01-01 10:01:00", "ad6 | 2024-01-01 10:00:10"],
            vec![],
            vec![],
            vec![],
        ]
    );
}

#[tokio::test]
async fn the_progress_reports_the_joins_state() {
    let (left, right) = (MemoryStream::new(), MemoryStream::new());
    for (l, r) in golden().into_iter().take(2) {
        left.add_data(l);
        right.add_data(r);
    }
    let query = Matched::read_streams(
        left.max_batches_per_trigger(1),
        right.max_batches_per_trigger(1),
    )
    .write_stream()
    .foreach_batch(|_, _: Vec<MatchedRow>| {})
    .trigger(Trigger::AvailableNow)
    .start()
    .unwrap();
    query.await_termination().await.unwrap();
    let progress = query.recent_progress();
    let ops: Vec<_> = progress
        .iter()
        .map(|p| {
            let op = &p.state_operators[0];
            (
                p.num_input_rows,
                op.operator_name.clone(),
                op.num_rows_total,
                op.num_rows_updated,
            )
        })
        .collect();
    // Batch 0: 3 impressions and 1 click, all stored; batch 1: 1 impression and 2 clicks
    // more; then a no-data batch, as the watermark moved (09:59:36 to 09:59:50), which expires
    // nothing yet.
    assert_eq!(
        ops,
        [
            (4, "symmetricHashJoin".to_string(), 4, 4),
            (3, "symmetricHashJoin".to_string(), 7, 3),
            (0, "symmetricHashJoin".to_string(), 7, 0),
        ]
    );
}

// The aggregations after a join: Spark 4.3.0's output for the same queries over the same data
// (the oracle's method, `SPARK_LOCAL_IP=127.0.0.1 python` with PySpark 4.3.0): the windows are
// emitted when the watermark the join propagates — the global watermark less the impressions'
// 20-second range and 1 ms, 10:00:14.999 in batch 4, 10:01:09.999 in batch 5, 10:03:09.999 in
// the final no-data batch — passes their end.

#[tokio::test]
async fn a_windowed_count_after_a_join_runs_under_the_watermark_the_join_propagates() {
    assert_eq!(
        rows(&run::<ClicksPerWindow>().await),
        [
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![
                "{2024-01-01 10:00:10, 2024-01-01 10:00:20} | 3",
                "{2024-01-01 10:00:20, 2024-01-01 10:00:30} | 1",
            ],
            vec!["{2024-01-01 10:01:00, 2024-01-01 10:01:10} | 1"],
        ]
    );
    assert_eq!(
        rows(&run::<ImpressionWindows>().await),
        [
            vec![],
            vec![],
            vec![],
            vec![],
            vec!["{2024-01-01 10:00:00, 2024-01-01 10:00:10} | 2 | 40.0"],
            vec![
                "{2024-01-01 10:00:10, 2024-01-01 10:00:20} | 1 | 60.0",
                "{2024-01-01 10:00:20, 2024-01-01 10:00:30} | 1 | 40.0",
            ],
            vec!["{2024-01-01 10:01:00, 2024-01-01 10:01:10} | 1 | 50.0"],
        ]
    );
}

#[tokio::test]
async fn an_outer_joins_unmatched_rows_reach_the_aggregation_in_the_batch_they_are_emitted() {
    assert_eq!(
        rows(&run::<ReachPerWindow>().await),
        [
            vec![],
            vec![],
            vec![],
            vec![],
            // ad1, ad3 and the unmatched ad2, emitted by the join in this batch.
            vec!["{2024-01-01 10:00:00, 2024-01-01 10:00:10} | 3"],
            vec![
                "{2024-01-01 10:00:10, 2024-01-01 10:00:20} | 1",
                "{2024-01-01 10:00:20, 2024-01-01 10:00:30} | 1",
            ],
            vec![
                "{2024-01-01 10:01:00, 2024-01-01 10:01:10} | 1",
                "{2024-01-01 10:02:00, 2024-01-01 10:02:10} | 1",
            ],
        ]
    );
}

#[tokio::test]
async fn an_inner_join_runs_in_update_mode() {
    assert_eq!(
        rows(&run_in::<MatchesPerAd>("update").await),
        [
            vec!["ad1 | 1"],
            vec!["ad4 | 1"],
            vec!["ad3 | 1"],
            vec!["ad5 | 1", "ad6 | 1"],
            vec![],
            vec![],
            vec![],
        ]
    );
    // Without an aggregation too: the pairs, as in append mode.
    assert_eq!(
        rows(&run_in::<Matched>("update").await),
        rows(&run::<Matched>().await)
    );
}

#[tokio::test]
async fn spark_refuses_update_for_outer_joins_and_complete_for_any_stream_join() {
    let start = |mode: &str| {
        ImpressionsAndClicks::read_streams(MemoryStream::new(), MemoryStream::new())
            .write_stream()
            .output_mode_named(mode)
            .foreach_batch(|_, _: Vec<ImpressionsAndClicksRow>| {})
            .start()
            .map(|_| ())
    };
    assert_eq!(
        start("update").unwrap_err().to_string(),
        "LeftOuter join between two streaming DataFrames/Datasets is not supported in Update output mode, only in Append output mode"
    );
    let complete = MatchesPerAd::read_streams(MemoryStream::new(), MemoryStream::new())
        .write_stream()
        .output_mode_named("complete")
        .foreach_batch(|_, _: Vec<MatchesPerAdRow>| {})
        .start()
        .map(|_| ());
    assert_eq!(
        complete.unwrap_err().to_string(),
        "Inner join between two streaming DataFrames/Datasets is not supported in Complete output mode, only in Append and Update output modes"
    );
}

#[tokio::test]
async fn a_join_and_the_aggregation_after_it_restart_from_their_checkpoint() {
    let checkpoint = tempfile::tempdir().unwrap();
    let (left, right) = (MemoryStream::<Event>::new(), MemoryStream::<Event>::new());
    let start = |collector: &common::Collector| {
        ClicksPerWindow::read_streams(
            left.clone().max_batches_per_trigger(1),
            right.clone().max_batches_per_trigger(1),
        )
        .write_stream()
        .checkpoint_location(checkpoint.path())
        .foreach_batch(collector.sink::<ClicksPerWindowRow>())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap()
    };
    let batches = golden();
    // Four batches, then the query stops; the rest of the input comes while it is down.
    for (l, r) in batches[..4].iter().cloned() {
        left.add_data(l);
        right.add_data(r);
    }
    let first = common::Collector::new();
    start(&first).await_termination().await.unwrap();
    for (l, r) in batches[4..].iter().cloned() {
        left.add_data(l);
        right.add_data(r);
    }
    let second = common::Collector::new();
    start(&second).await_termination().await.unwrap();
    let mut restarted = first.sorted();
    restarted.extend(second.sorted());
    let ids: Vec<u64> = restarted.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (0..8).collect::<Vec<u64>>(),
        "the restart goes on from batch 4"
    );
    // The first run ended with a no-data batch (batch 4: its input moved the watermark), so
    // the later batches are numbered one on; the rows emitted are an uninterrupted run's, each
    // window once: both sides' kept rows and the open windows came back.
    let rows =
        |batches: Vec<Vec<String>>| -> Vec<String> { batches.into_iter().flatten().collect() };
    assert_eq!(
        rows(restarted.into_iter().map(|(_, rows)| rows).collect()),
        rows(self::rows(&run::<ClicksPerWindow>().await)),
    );
}

/// The size of each state partition's newest snapshot file of operator 0.
fn newest_snapshot_sizes(checkpoint: &std::path::Path, partitions: usize) -> Vec<u64> {
    (0..partitions)
        .map(|p| {
            let dir = checkpoint.join(format!("state/0/{p}"));
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|e| e == "snapshot"))
                .max_by_key(|path| {
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    stem.parse::<u64>().unwrap()
                })
                .map(|path| std::fs::metadata(path).unwrap().len())
                .unwrap_or_else(|| panic!("no snapshot in {}", dir.display()))
        })
        .collect()
}

#[tokio::test]
async fn a_join_on_two_threads_restores_its_partitioned_state_on_one() {
    let checkpoint = tempfile::tempdir().unwrap();
    let (left, right) = (MemoryStream::<Event>::new(), MemoryStream::<Event>::new());
    let start = |collector: &common::Collector, threads: usize| {
        Everything::read_streams(
            left.clone().max_batches_per_trigger(1),
            right.clone().max_batches_per_trigger(1),
        )
        .write_stream()
        .checkpoint_location(checkpoint.path())
        .snapshot_interval(1)
        .parallelism(threads)
        .state_partitions(4)
        .foreach_batch(collector.sink::<EverythingRow>())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap()
    };
    let batches = golden();
    for (l, r) in batches[..3].iter().cloned() {
        left.add_data(l);
        right.add_data(r);
    }
    let first = common::Collector::new();
    start(&first, 2).await_termination().await.unwrap();
    // Each partition is snapshotted on its own: the six ads held are spread over them (an
    // empty partition's file is the smallest).
    let sizes = newest_snapshot_sizes(checkpoint.path(), 4);
    let smallest = *sizes.iter().min().unwrap();
    assert!(
        sizes.iter().filter(|&&s| s > smallest).count() >= 2,
        "the join's rows are spread over the partitions: {sizes:?}"
    );
    for (l, r) in batches[3..].iter().cloned() {
        left.add_data(l);
        right.add_data(r);
    }
    let second = common::Collector::new();
    start(&second, 1).await_termination().await.unwrap();
    let mut restarted = first.sorted();
    restarted.extend(second.sorted());
    let rows =
        |batches: Vec<Vec<String>>| -> Vec<String> { batches.into_iter().flatten().collect() };
    // Every pair once and every unmatched row once, as an uninterrupted run on one thread.
    let mut got = rows(restarted.into_iter().map(|(_, rows)| rows).collect());
    let mut expected = rows(self::rows(&run::<Everything>().await));
    got.sort();
    expected.sort();
    assert!(expected.len() >= 8, "{expected:?}");
    assert_eq!(got, expected);
}

/// Spark 4.3.0's output for `ad = click_ad AND imp_ts = click_ts` over these batches, inner and
/// left outer: the keys hold the watermarked time, so both sides' rows leave by key — `c`
/// (10:00:40), never clicked, is emitted alone once the watermark (10:01:10) passes it, in the
/// final no-data batch.
#[tokio::test]
async fn keys_holding_the_event_time_expire_the_state_by_key() {
    let batches = || {
        vec![
            (
                vec![ev("10:00:00", "a", 1.0), ev("10:00:05", "b", 2.0)],
                vec![ev("10:00:00", "a", 10.0)],
            ),
            (
                vec![ev("10:00:40", "c", 3.0)],
                vec![ev("10:00:05", "b", 20.0), ev("10:00:50", "z", 0.0)],
            ),
            (
                vec![ev("10:01:40", "d", 4.0)],
                vec![ev("10:01:50", "z", 0.0)],
            ),
        ]
    };
    let inner = run_over::<SameInstant>(batches(), "append").await;
    assert_eq!(
        watermarks(&inner),
        [
            Some(Timestamp::EPOCH),
            Some(at("09:59:30")),
            Some(at("10:00:10")),
            Some(at("10:01:10")),
        ]
    );
    assert_eq!(
        rows(&inner),
        [
            vec!["a | 2024-01-01 10:00:00"],
            vec!["b | 2024-01-01 10:00:05"],
            vec![],
            vec![],
        ]
    );
    assert_eq!(
        rows(&run_over::<SameInstantOrNot>(batches(), "append").await),
        [
            vec!["a | 2024-01-01 10:00:00 | 2024-01-01 10:00:00"],
            vec!["b | 2024-01-01 10:00:05 | 2024-01-01 10:00:05"],
            vec![],
            vec!["c | 2024-01-01 10:00:40 | NULL"],
        ]
    );
}
