//! `explode` and its variants, `drop duplicates` and session windows, end to end: generated
//! pipelines driven by hand for the row-level rules (what a generator emits, where filters and
//! watermarks sit around it), and through the engine (`MemoryStream`, one push per batch,
//! `Trigger::AvailableNow`) for the stateful ones — exact rows per batch, watermarks, the
//! progress's counters, no-data batches.

mod common;

use sluice::prelude::*;
use sluice::{BatchContext, OutputMode};

use common::run_available_now;

sluice::pipeline! {
    schema Line { ts: Timestamp, text: Option<String>, n: i64 }
    schema Tagged { id: i64, tags: Option<Vec<String>> }

    // --- generators ----------------------------------------------------------------------------

    query Words from Line { select ts, word = explode(split(text, " ")), n; }
    query WordsOfParts from Line {
        with parts = split(text, " ");
        select ts, word = explode(parts), n;
    }
    query Positions from Line { select n, (pos, word) = posexplode(split(text, ",")); }
    query OuterWords from Line { select n, word = explode_outer(split(text, ",")); }
    query OuterPositions from Tagged { select id, (pos, tag) = posexplode_outer(tags); }
    query TagRows from Tagged { select id, tag = explode(tags); where tag != "x"; }
    query BareExplode from Tagged { select explode(tags); }
    query BarePositions from Tagged { select posexplode(tags); }
    query Pairs from Tagged {
        select id, a = explode(tags), tags;
        select id, a, b = explode(tags);
    }
    query LongWords from Line {
        with word = explode(split(text, " "));
        where length(word) > 3;
        select n, word;
    }
    query FirstWords from Line { select word = explode(split(text, " ")); limit 3; }
    query ExplodeThenWatermark from Line {
        select ts, word = explode(split(text, " "));
        watermark ts delay 1 second;
    }
    query WatermarkThenExplode from Line {
        watermark ts delay 1 second;
        select ts, word = explode(split(text, " "));
    }

    // --- deduplication -------------------------------------------------------------------------

    schema Reading { ts: Timestamp, device: String, value: f64 }
    schema MaybeKey { k: Option<String>, n: i64 }

    query Unique from Reading { drop duplicates; }
    query ByDeviceAndTime from Reading {
        watermark ts delay 10 seconds;
        drop duplicates (device, ts);
    }
    query ByDevice from Reading {
        watermark ts delay 10 seconds;
        drop duplicates (device);
    }
    query Within from Reading {
        watermark ts delay 10 seconds;
        drop duplicates within watermark (device);
    }
    query ByValue from Reading { drop duplicates (value); }
    query ByMaybeKey from MaybeKey { drop duplicates (k); }
    query FirstDevices from Reading { drop duplicates (device); limit 2; }
    query UniqueLinesWords from Line {
        drop duplicates (text);
        select n, word = explode(split(text, " "));
    }
    query DedupThenFilter from Reading {
        drop duplicates (device);
        where value > 1;
    }

    // --- session windows -----------------------------------------------------------------------

    schema Click { ts: Timestamp, user: String, page: String, ms: i64 }
    schema MaybeClick { ts: Option<Timestamp>, user: String }

    query SessionStats from Click {
        watermark ts delay 10 seconds;
        group by session_window(ts, 5 seconds), user;
        aggregate n = count(*), pages = count(page), lo = min(page), hi = max(page),
                  avg_ms = avg(ms), total = sum(ms);
    }
    query BusiestSessions from Click {
        group by session_window(ts, 5 seconds), user;
        aggregate n = count(*);
        order by n desc, user;
        limit 2;
    }
    query BusySessions from Click {
        watermark ts delay 10 seconds;
        group by session_window(ts, 5 seconds), user;
        aggregate n = count(*);
        where n > 1;
        select user, start = session_window.start, end = session_window.end, n;
    }
    query SessionsPerPage from Click {
        group by session_window(ts, 5 seconds), user, page;
        aggregate n = count(*);
    }
    query MaybeSessions from MaybeClick {
        group by session_window(ts, 5 seconds), user;
        aggregate n = count(*);
    }
}

const T0: i64 = 1_704_103_200_000_000; // 2024-01-01T10:00:00Z

fn at(secs: i64) -> Timestamp {
    Timestamp::from_micros(T0 + secs * 1_000_000)
}

/// Seconds after 10:00:00.
fn secs(t: Timestamp) -> i64 {
    (t.as_micros() - T0) / 1_000_000
}

fn line(secs: i64, text: Option<&str>, n: i64) -> Line {
    Line {
        ts: at(secs),
        text: text.map(str::to_string),
        n,
    }
}

fn tagged(id: i64, tags: Option<&[&str]>) -> Tagged {
    Tagged {
        id,
        tags: tags.map(|t| t.iter().map(|s| s.to_string()).collect()),
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

/// Runs a stateless pipeline over `rows` as one batch, by hand.
fn run<P: Pipeline + Default>(rows: &[P::Input]) -> Vec<P::Output> {
    let mut p = P::default();
    let mut ctx = BatchContext::for_pipeline::<P>(OutputMode::Append);
    let mut out = Vec::new();
    p.process(rows, &mut ctx, &mut out).unwrap();
    p.finish_batch(&mut ctx, &mut out).unwrap();
    out
}

// --- generators --------------------------------------------------------------------------------

#[test]
fn explode_emits_one_row_per_element_with_the_other_columns_repeated() {
    let out = run::<Words>(&[
        line(1, Some("the cat"), 1),
        line(2, None, 2),
        line(3, Some(""), 3),
        line(4, Some("a  b"), 4),
    ]);
    let got: Vec<(i64, String, i64)> = out
        .iter()
        .map(|r| (secs(r.ts), r.word.clone(), r.n))
        .collect();
    // A null array gives no row; splitting "" gives one empty word, two spaces an empty word
    // between them (Spark's split keeps empty strings).
    assert_eq!(
        got,
        [
            (1, s("the"), 1),
            (1, s("cat"), 1),
            (3, s(""), 3),
            (4, s("a"), 4),
            (4, s(""), 4),
            (4, s("b"), 4)
        ]
    );
}

#[test]
fn a_split_column_explodes_as_the_split_itself() {
    let rows = [
        line(1, Some("the cat"), 1),
        line(2, None, 2),
        line(4, Some("a  b"), 4),
    ];
    let direct: Vec<(String, i64)> = run::<Words>(&rows)
        .into_iter()
        .map(|r| (r.word, r.n))
        .collect();
    let through: Vec<(String, i64)> = run::<WordsOfParts>(&rows)
        .into_iter()
        .map(|r| (r.word, r.n))
        .collect();
    assert_eq!(through, direct);
    assert_eq!(through.len(), 5);
}

#[test]
fn posexplode_numbers_the_elements_from_zero() {
    let out = run::<Positions>(&[line(0, Some("x,y"), 1), line(0, None, 2)]);
    assert_eq!(
        out,
        [
            PositionsRow {
                n: 1,
                pos: 0,
                word: s("x")
            },
            PositionsRow {
                n: 1,
                pos: 1,
                word: s("y")
            }
        ]
    );
}

#[test]
fn the_outer_generators_give_one_row_of_nulls_for_a_null_or_empty_array() {
    let out = run::<OuterWords>(&[
        line(0, Some("x,y"), 1),
        line(0, None, 2),
        line(0, Some(""), 3),
    ]);
    let got: Vec<(i64, Option<String>)> = out.iter().map(|r| (r.n, r.word.clone())).collect();
    assert_eq!(
        got,
        [
            (1, Some(s("x"))),
            (1, Some(s("y"))),
            (2, None),
            (3, Some(s("")))
        ]
    );
    let out = run::<OuterPositions>(&[
        tagged(1, Some(&["a", "b"])),
        tagged(2, Some(&[])),
        tagged(3, None),
    ]);
    let got: Vec<(i64, Option<i32>, Option<String>)> =
        out.iter().map(|r| (r.id, r.pos, r.tag.clone())).collect();
    assert_eq!(
        got,
        [
            (1, Some(0), Some(s("a"))),
            (1, Some(1), Some(s("b"))),
            (2, None, None),
            (3, None, None)
        ]
    );
    // Typed as Spark types them: the outer generators' columns are nullable.
    let fields: Vec<String> = OuterPositionsRow::SCHEMA
        .fields()
        .iter()
        .map(|f| format!("{}:{}:{}", f.name, f.data_type.sql_name(), f.nullable))
        .collect();
    assert_eq!(
        fields,
        ["id:BIGINT:false", "pos:INT:true", "tag:STRING:true"]
    );
}

#[test]
fn an_array_column_explodes_and_filters_on_the_element_run_per_element() {
    let out = run::<TagRows>(&[tagged(1, Some(&["x", "y", "z"])), tagged(2, None)]);
    let got: Vec<(i64, String)> = out.iter().map(|r| (r.id, r.tag.clone())).collect();
    assert_eq!(got, [(1, s("y")), (1, s("z"))]);
    // A generator without a name gives Spark's column names, `col` and `pos`.
    let out = run::<BareExplode>(&[tagged(1, Some(&["a"]))]);
    assert_eq!(out, [BareExplodeRow { col: s("a") }]);
    let out = run::<BarePositions>(&[tagged(1, Some(&["a"]))]);
    assert_eq!(
        out,
        [BarePositionsRow {
            pos: 0,
            col: s("a")
        }]
    );
}

#[test]
fn two_generators_in_successive_selects_nest() {
    let out = run::<Pairs>(&[tagged(1, Some(&["a", "b"])), tagged(2, Some(&["c"]))]);
    let got: Vec<(i64, String, String)> = out
        .iter()
        .map(|r| (r.id, r.a.clone(), r.b.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (1, s("a"), s("a")),
            (1, s("a"), s("b")),
            (1, s("b"), s("a")),
            (1, s("b"), s("b")),
            (2, s("c"), s("c"))
        ]
    );
}

#[test]
fn a_generator_in_with_and_a_filter_on_what_it_produces() {
    let out = run::<LongWords>(&[line(0, Some("the quick brown fox"), 7)]);
    let got: Vec<(i64, String)> = out.iter().map(|r| (r.n, r.word.clone())).collect();
    assert_eq!(got, [(7, s("quick")), (7, s("brown"))]);
}

#[test]
fn a_limit_after_explode_counts_exploded_rows_across_batches() {
    let mut p = FirstWords::default();
    let mut ctx = BatchContext::for_pipeline::<FirstWords>(OutputMode::Append);
    let mut out = Vec::new();
    p.process(&[line(0, Some("a b"), 1)], &mut ctx, &mut out)
        .unwrap();
    p.process(
        &[line(0, Some("c d"), 2), line(0, Some("e"), 3)],
        &mut ctx,
        &mut out,
    )
    .unwrap();
    let words: Vec<&str> = out.iter().map(|r| r.word.as_str()).collect();
    assert_eq!(words, ["a", "b", "c"]);
}

#[tokio::test]
async fn a_watermark_after_explode_sees_only_the_exploded_rows() {
    // A line with no words (null) at 10:01:40, then a word at 10:00:05: a watermark defined
    // after the explode never sees the first line; one defined before it does.
    let input = || {
        let stream = MemoryStream::<Line>::new().max_batches_per_trigger(1);
        stream.add_data([line(100, None, 1)]);
        stream.add_data([line(5, Some("a"), 2)]);
        stream
    };
    let (after, _) = run_available_now::<ExplodeThenWatermark, _>(input(), Append).await;
    let (before, _) = run_available_now::<WatermarkThenExplode, _>(input(), Append).await;
    let watermarks = |q: &StreamingQuery| -> Vec<Option<Timestamp>> {
        q.recent_progress().iter().map(|p| p.watermark()).collect()
    };
    assert_eq!(
        watermarks(&after),
        [Some(Timestamp::EPOCH), Some(Timestamp::EPOCH)]
    );
    assert_eq!(watermarks(&before), [Some(Timestamp::EPOCH), Some(at(99))]);
}

// --- deduplication ------------------------------------------------------------------------------

fn reading(secs: i64, device: &str, value: f64) -> Reading {
    Reading {
        ts: at(secs),
        device: device.to_string(),
        value,
    }
}

/// `(seconds, device, value)` of a batch's rows.
fn readings<R>(rows: &[R], f: impl Fn(&R) -> (Timestamp, &str, f64)) -> Vec<(i64, String, f64)> {
    rows.iter()
        .map(|r| {
            let (t, d, v) = f(r);
            (secs(t), d.to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn every_column_is_the_key_when_none_is_named() {
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data([
        reading(0, "a", 1.0),
        reading(0, "a", 1.0),
        reading(0, "a", 2.0),
    ]);
    stream.add_data([reading(0, "a", 1.0), reading(1, "a", 1.0)]);
    let (q, batches) = run_available_now::<Unique, _>(stream, Append).await;
    let got: Vec<Vec<(i64, String, f64)>> = batches
        .iter()
        .map(|(_, rows)| readings(rows, |r| (r.ts, &r.device, r.value)))
        .collect();
    assert_eq!(
        got,
        [
            vec![(0, s("a"), 1.0), (0, s("a"), 2.0)],
            vec![(1, s("a"), 1.0)]
        ]
    );
    let p = q.recent_progress();
    assert_eq!(p.len(), 2, "no watermark: no no-data batch");
    let op = &p[1].state_operators[0];
    assert_eq!(op.operator_name, "dedupe");
    assert_eq!(op.num_rows_total, 3);
    assert_eq!(op.custom_metrics["numDroppedDuplicateRows"], 1);
    assert_eq!(
        p[0].state_operators[0].custom_metrics["numDroppedDuplicateRows"],
        1
    );
}

#[tokio::test]
async fn within_the_watermark_a_key_is_dropped_until_the_delay_after_its_first_row() {
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data([
        reading(0, "a", 1.0),
        reading(5, "a", 2.0),
        reading(3, "b", 3.0),
    ]);
    stream.add_data([reading(30, "c", 4.0)]);
    // Under 10:00:20: `a` (expires at 10:00:10) and `b` (10:00:13) are still held while the
    // batch runs, so both rows are duplicates; both keys are evicted at its end.
    stream.add_data([reading(8, "a", 5.0), reading(21, "b", 6.0)]);
    // Late against 10:00:20: a@9 is dropped; a@22 is a new first row.
    stream.add_data([reading(9, "a", 7.0), reading(22, "a", 8.0)]);
    let (q, batches) = run_available_now::<Within, _>(stream, Append).await;
    let got: Vec<Vec<(i64, String, f64)>> = batches
        .iter()
        .map(|(_, rows)| readings(rows, |r| (r.ts, &r.device, r.value)))
        .collect();
    assert_eq!(
        got,
        [
            vec![(0, s("a"), 1.0), (3, s("b"), 3.0)],
            vec![(30, s("c"), 4.0)],
            vec![],
            vec![(22, s("a"), 8.0)],
        ]
    );
    let p = q.recent_progress();
    let watermarks: Vec<Option<i64>> = p.iter().map(|p| p.watermark().map(secs)).collect();
    let epoch = secs(Timestamp::EPOCH);
    assert_eq!(watermarks, [Some(epoch), Some(-5), Some(20), Some(20)]);
    let op = |i: usize| &p[i].state_operators[0];
    assert_eq!(op(0).operator_name, "dedupeWithinWatermark");
    assert_eq!(op(2).custom_metrics["numDroppedDuplicateRows"], 2);
    assert_eq!(op(2).num_rows_removed, 2);
    assert_eq!(op(3).num_rows_dropped_by_watermark, 1);
    assert_eq!(op(3).num_rows_total, 2, "c and the new a");
}

#[tokio::test]
async fn a_watermark_runs_no_data_batches_that_evict_keys_holding_the_event_time() {
    let input = || {
        let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
        stream.add_data([reading(0, "a", 1.0), reading(100, "b", 2.0)]);
        stream
    };
    // The watermark moves to 10:01:30: a no-data batch runs and evicts (a, 10:00:00).
    let (q, batches) = run_available_now::<ByDeviceAndTime, _>(input(), Append).await;
    assert_eq!(batches.len(), 2);
    let p = q.recent_progress();
    assert_eq!(p[1].num_input_rows, 0);
    assert_eq!(p[1].watermark(), Some(at(90)));
    assert_eq!(p[1].state_operators[0].num_rows_removed, 1);
    assert_eq!(p[1].state_operators[0].num_rows_total, 1);
    // Keyed by the device alone, nothing can be evicted, but Spark still runs the batch.
    let (q, batches) = run_available_now::<ByDevice, _>(input(), Append).await;
    assert_eq!(batches.len(), 2);
    let p = q.recent_progress();
    assert_eq!(p[1].state_operators[0].num_rows_removed, 0);
    assert_eq!(p[1].state_operators[0].num_rows_total, 2);
}

#[test]
fn doubles_deduplicate_by_their_bits_with_every_nan_one_value() {
    let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
    assert!(other_nan.is_nan());
    let out = run::<ByValue>(&[
        reading(0, "a", f64::NAN),
        reading(0, "b", other_nan),
        reading(0, "c", 0.0),
        reading(0, "d", -0.0),
        reading(0, "e", 0.0),
    ]);
    let devices: Vec<&str> = out.iter().map(|r| r.device.as_str()).collect();
    assert_eq!(devices, ["a", "c", "d"]);
}

#[test]
fn a_null_key_is_a_key_like_any_other() {
    let rows = [
        MaybeKey { k: None, n: 1 },
        MaybeKey { k: None, n: 2 },
        MaybeKey {
            k: Some(s("x")),
            n: 3,
        },
    ];
    let out = run::<ByMaybeKey>(&rows);
    let ns: Vec<i64> = out.iter().map(|r| r.n).collect();
    assert_eq!(ns, [1, 3]);
}

#[tokio::test]
async fn a_limit_after_the_deduplication_still_remembers_every_key() {
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data([
        reading(0, "a", 1.0),
        reading(0, "a", 2.0),
        reading(0, "b", 3.0),
        reading(0, "c", 4.0),
    ]);
    stream.add_data([reading(0, "c", 5.0), reading(0, "d", 6.0)]);
    let (q, batches) = run_available_now::<FirstDevices, _>(stream, Append).await;
    let got: Vec<Vec<String>> = batches
        .iter()
        .map(|(_, rows)| rows.iter().map(|r| r.device.clone()).collect())
        .collect();
    assert_eq!(got, [vec![s("a"), s("b")], vec![]]);
    // As Spark's local limit consumes its whole input, `c` was seen by the deduplication: the
    // second `c` is a duplicate, `d` is new.
    let p = q.recent_progress();
    assert_eq!(
        p[1].state_operators[0].custom_metrics["numDroppedDuplicateRows"],
        1
    );
    assert_eq!(p[1].state_operators[0].num_rows_total, 4);
}

#[test]
fn stateless_clauses_after_the_deduplication_see_only_first_rows() {
    let out = run::<UniqueLinesWords>(&[line(0, Some("a b"), 1), line(0, Some("a b"), 2)]);
    let got: Vec<(i64, String)> = out.iter().map(|r| (r.n, r.word.clone())).collect();
    assert_eq!(got, [(1, s("a")), (1, s("b"))]);
    // A filter after the deduplication is not moved before it: `a`'s first row (value 1) is
    // the one kept, and the filter then drops it, so the second `a` never comes out.
    let out = run::<DedupThenFilter>(&[
        reading(0, "a", 1.0),
        reading(0, "a", 5.0),
        reading(0, "b", 2.0),
    ]);
    let devices: Vec<&str> = out.iter().map(|r| r.device.as_str()).collect();
    assert_eq!(devices, ["b"]);
}

// --- session windows --------------------------------------------------------------------------------

fn click(secs: i64, user: &str, page: &str, ms: i64) -> Click {
    Click {
        ts: at(secs),
        user: user.to_string(),
        page: page.to_string(),
        ms,
    }
}

#[tokio::test]
async fn complete_mode_re_emits_every_session_and_drops_late_rows() {
    let stream = MemoryStream::<Click>::new().max_batches_per_trigger(1);
    stream.add_data([
        click(0, "u", "a", 10),
        click(3, "u", "b", 20),
        click(20, "v", "a", 5),
    ]);
    // Under 10:00:10 (late against the epoch): u@9 opens [9, 14), apart from [0, 8).
    stream.add_data([click(9, "u", "c", 30)]);
    // Late against 10:00:10: u@4 (its session ends at 9) is dropped; u@6 (ends at 11) extends
    // [0, 8) to [0, 11), which now touches [9, 14): they merge.
    stream.add_data([click(4, "u", "d", 40), click(6, "u", "e", 50)]);
    let (q, batches) = run_available_now::<SessionStats, _>(stream, Complete).await;
    let rows = |i: usize| -> Vec<String> {
        let mut rows: Vec<String> = batches[i]
            .1
            .iter()
            .map(|r| {
                format!(
                    "{} [{}, {}) n={} pages={} lo={:?} hi={:?} avg={:?} total={:?}",
                    r.user,
                    secs(r.session_window.start),
                    secs(r.session_window.end),
                    r.n,
                    r.pages,
                    r.lo,
                    r.hi,
                    r.avg_ms,
                    r.total
                )
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(batches.len(), 3, "complete mode runs no no-data batch");
    assert_eq!(
        rows(1),
        [
            "u [0, 8) n=2 pages=2 lo=\"a\" hi=\"b\" avg=15.0 total=30",
            "u [9, 14) n=1 pages=1 lo=\"c\" hi=\"c\" avg=30.0 total=30",
            "v [20, 25) n=1 pages=1 lo=\"a\" hi=\"a\" avg=5.0 total=5",
        ]
    );
    assert_eq!(
        rows(2),
        [
            "u [0, 14) n=4 pages=4 lo=\"a\" hi=\"e\" avg=27.5 total=110",
            "v [20, 25) n=1 pages=1 lo=\"a\" hi=\"a\" avg=5.0 total=5",
        ]
    );
    let p = q.recent_progress();
    let op = &p[2].state_operators[0];
    assert_eq!(op.operator_name, "sessionWindowStateStoreSaveExec");
    assert_eq!(op.num_rows_dropped_by_watermark, 1);
    assert_eq!(op.num_rows_total, 2, "one session per user");
}

#[tokio::test]
async fn append_mode_emits_closed_sessions_after_the_filter_of_the_aggregated_rows() {
    let stream = MemoryStream::<Click>::new().max_batches_per_trigger(1);
    stream.add_data([
        click(0, "u", "a", 1),
        click(2, "u", "a", 1),
        click(10, "v", "a", 1),
    ]);
    stream.add_data([click(40, "x", "a", 1)]);
    let (q, batches) = run_available_now::<BusySessions, _>(stream, Append).await;
    let got: Vec<Vec<(String, i64, i64, i64)>> = batches
        .iter()
        .map(|(_, rows)| {
            rows.iter()
                .map(|r| (r.user.clone(), secs(r.start), secs(r.end), r.n))
                .collect()
        })
        .collect();
    // The no-data batch under 10:00:30 closes u [0, 7) and v [10, 15); v has one click, which
    // `where n > 1` filters out.
    assert_eq!(got, [vec![], vec![], vec![(s("u"), 0, 7, 2)]]);
    let p = q.recent_progress();
    assert_eq!(p[2].num_input_rows, 0);
    assert_eq!(p[2].state_operators[0].num_rows_removed, 2);
    assert_eq!(
        p[2].state_operators[0].num_rows_total, 1,
        "x's session stays open"
    );
}

#[tokio::test]
async fn complete_mode_sorts_and_limits_sessions() {
    let stream = MemoryStream::<Click>::new();
    stream.add_data([
        click(0, "u", "a", 1),
        click(1, "u", "a", 1),
        click(2, "v", "a", 1),
        click(10, "w", "a", 1),
        click(11, "w", "a", 1),
        click(12, "w", "a", 1),
    ]);
    let (_, batches) = run_available_now::<BusiestSessions, _>(stream, Complete).await;
    let got: Vec<(String, i64)> = batches[0].1.iter().map(|r| (r.user.clone(), r.n)).collect();
    assert_eq!(got, [(s("w"), 3), (s("u"), 2)]);
}

#[test]
fn sessions_are_per_key_and_rows_without_an_event_time_open_none() {
    let mut p = SessionsPerPage::default();
    let mut ctx = BatchContext::for_pipeline::<SessionsPerPage>(OutputMode::Complete);
    let mut out = Vec::new();
    let rows = [
        click(0, "u", "a", 1),
        click(2, "u", "b", 1),
        click(3, "u", "a", 1),
    ];
    p.process(&rows, &mut ctx, &mut out).unwrap();
    p.finish_batch(&mut ctx, &mut out).unwrap();
    let mut got: Vec<(String, i64, i64, i64)> = out
        .iter()
        .map(|r| {
            let w = r.session_window;
            (r.page.clone(), secs(w.start), secs(w.end), r.n)
        })
        .collect();
    got.sort();
    assert_eq!(got, [(s("a"), 0, 8, 2), (s("b"), 2, 7, 1)]);

    let mut p = MaybeSessions::default();
    let mut ctx = BatchContext::for_pipeline::<MaybeSessions>(OutputMode::Complete);
    let mut out = Vec::new();
    let rows = [
        MaybeClick {
            ts: None,
            user: s("u"),
        },
        MaybeClick {
            ts: Some(at(0)),
            user: s("u"),
        },
    ];
    p.process(&rows, &mut ctx, &mut out).unwrap();
    p.finish_batch(&mut ctx, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].n, 1);
}

#[test]
fn update_mode_by_name_is_refused_with_sparks_message() {
    let err = SessionStats::read_stream(MemoryStream::<Click>::new())
        .write_stream()
        .output_mode_named("update")
        .foreach_batch(|_, _: Vec<SessionStatsRow>| {})
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: update. This output mode is not supported for session window streaming aggregations on streaming DataFrames/DataSets."
    );
}
