//! The join's batch logic against a hand-written spec: Spark's golden `stream_stream_inner_join`
//! scenario (impressions joined with clicks on the ad, a click within 20 s after its
//! impression, 30 s watermarks on both sides), and the same data under every other join type,
//! worked out by hand from Spark's rules (see the module docs).

use super::*;
use crate::error::Error;
use crate::output_mode::OutputMode;
use crate::test_rows::{Event, JoinedEvents};

/// The golden scenario's condition: `ad = click_ad AND click_ts >= imp_ts AND click_ts <=
/// imp_ts + interval 20 seconds`.
macro_rules! spec {
    ($name:ident, $join:expr) => {
        pub(crate) struct $name;
        impl StreamJoinQuery for $name {
            type Left = Event;
            type Right = Event;
            type Key = String;
            type Output = JoinedEvents;
            const JOIN_TYPE: StreamJoinType = $join;
            // `click_ts <= imp_ts + 20 s`: imp_ts >= watermark - 20 s.
            const LEFT_EXPIRY: StateExpiry = StateExpiry::Value(&[TimeBound {
                offset_micros: -20_000_000,
                inclusive: true,
            }]);
            // `click_ts >= imp_ts`: click_ts >= watermark.
            const RIGHT_EXPIRY: StateExpiry = StateExpiry::Value(&[TimeBound {
                offset_micros: 0,
                inclusive: true,
            }]);
            fn left_key(row: &Event) -> Option<String> {
                row.key.clone()
            }
            fn right_key(row: &Event) -> Option<String> {
                row.key.clone()
            }
            fn left_event_time(row: &Event) -> Option<Timestamp> {
                row.ts
            }
            fn right_event_time(row: &Event) -> Option<Timestamp> {
                row.ts
            }
            fn both(l: &Event, r: &Event, _: &BatchContext) -> Result<bool, Error> {
                Ok(match (l.ts, r.ts) {
                    (Some(l), Some(r)) => r >= l && r.as_micros() <= l.as_micros() + 20_000_000,
                    _ => false,
                })
            }
            fn joined(l: Option<&Event>, r: Option<&Event>) -> JoinedEvents {
                JoinedEvents {
                    l_ts: l.and_then(|l| l.ts),
                    l_key: l.and_then(|l| l.key.clone()),
                    r_ts: r.and_then(|r| r.ts),
                    r_key: r.and_then(|r| r.key.clone()),
                }
            }
        }
    };
}

spec!(Inner, StreamJoinType::Inner);
spec!(LeftOuter, StreamJoinType::LeftOuter);
spec!(RightOuter, StreamJoinType::RightOuter);
spec!(FullOuter, StreamJoinType::FullOuter);
spec!(LeftSemi, StreamJoinType::LeftSemi);

/// The context of batch `id` of a two-watermark query in append mode, running under
/// `watermark`, `late` the previous batch's.
pub(crate) fn batch(
    id: u64,
    watermark: Option<Timestamp>,
    late: Option<Timestamp>,
) -> BatchContext {
    BatchContext::new(id, OutputMode::Append, watermark, late, Timestamp::EPOCH, 2)
}

/// `10:mm:ss` on 2024-01-01.
pub(crate) fn at(mm: i64, ss: i64) -> Timestamp {
    Timestamp::from_secs(1_704_103_200 + mm * 60 + ss)
}

pub(crate) fn ev(mm: i64, ss: i64, key: &str) -> Event {
    Event {
        ts: Some(at(mm, ss)),
        key: Some(key.into()),
        value: None,
    }
}

/// The golden scenario's batches: (left rows, right rows, the watermark Spark ran it under).
pub(crate) fn golden() -> Vec<(Vec<Event>, Vec<Event>, Timestamp)> {
    vec![
        (
            vec![ev(0, 0, "ad1"), ev(0, 5, "ad2"), ev(0, 6, "ad3")],
            vec![ev(0, 10, "ad1")],
            Timestamp::EPOCH,
        ),
        (
            vec![ev(0, 20, "ad4")],
            vec![ev(0, 30, "ad2"), ev(0, 21, "ad4")],
            at(-1, 36),
        ),
        (
            vec![ev(1, 0, "ad5"), ev(0, 10, "ad6")],
            vec![ev(0, 12, "ad3")],
            at(-1, 50),
        ),
        (
            vec![ev(2, 0, "ad7")],
            vec![ev(1, 5, "ad5"), ev(0, 15, "ad6")],
            at(0, 0),
        ),
        (vec![], vec![ev(3, 0, "zz")], at(0, 35)),
        (vec![ev(4, 0, "ad8")], vec![ev(5, 0, "zz")], at(1, 30)),
        // Spark's no-data batch: the watermark moved.
        (vec![], vec![], at(3, 30)),
    ]
}

/// Runs the golden batches; each batch's output as (left key, left second, right key, right
/// second) sorted, `-` for a null side.
fn run<Q: StreamJoinQuery<Left = Event, Right = Event, Output = JoinedEvents>>(
    join: &mut SymmetricHashJoin<Q>,
) -> Vec<Vec<String>> {
    let mut late = Timestamp::EPOCH;
    golden()
        .into_iter()
        .enumerate()
        .map(|(id, (left, right, watermark))| {
            let mut ctx = batch(id as u64, Some(watermark), Some(late));
            late = watermark;
            let mut out = Vec::new();
            join.run_batch(left, right, &mut ctx, &mut out).unwrap();
            let show = |k: &Option<String>, t: &Option<Timestamp>| match (k, t) {
                (Some(k), Some(t)) => format!("{k}@{}", (t.as_micros() / 1_000_000) % 3600),
                _ => "-".to_string(),
            };
            let mut rows: Vec<String> = out
                .iter()
                .map(|r| format!("{} {}", show(&r.l_key, &r.l_ts), show(&r.r_key, &r.r_ts)))
                .collect();
            rows.sort();
            rows
        })
        .collect()
}

fn batches(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|b| b.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn the_inner_join_matches_sparks_golden_output_batch_by_batch() {
    let mut join = SymmetricHashJoin::<Inner>::default();
    assert_eq!(
        run(&mut join),
        batches(&[
            &["ad1@0 ad1@10"],
            &["ad4@20 ad4@21"],
            &["ad3@6 ad3@12"],
            &["ad5@60 ad5@65", "ad6@10 ad6@15"],
            &[],
            &[],
            &[],
        ])
    );
    // Under the last watermark (10:03:30) the left keeps impressions after 10:03:10 (ad8),
    // the right clicks after 10:03:30 (the second zz).
    assert_eq!(join.side_rows(), (1, 1));
}

#[test]
fn a_left_outer_join_emits_unmatched_impressions_when_their_state_expires() {
    let mut join = SymmetricHashJoin::<LeftOuter>::default();
    assert_eq!(
        run(&mut join),
        batches(&[
            &["ad1@0 ad1@10"],
            &["ad4@20 ad4@21"],
            &["ad3@6 ad3@12"],
            &["ad5@60 ad5@65", "ad6@10 ad6@15"],
            // Watermark 10:00:35: impressions at or before 10:00:14.999 expire; ad2's click
            // came 25 s after it, too late to match.
            &["ad2@5 -"],
            &[],
            // Watermark 10:03:30: ad7 (10:02:00) expires unmatched.
            &["ad7@120 -"],
        ])
    );
}

#[test]
fn a_right_outer_join_emits_unmatched_clicks_when_their_state_expires() {
    let mut join = SymmetricHashJoin::<RightOuter>::default();
    assert_eq!(
        run(&mut join),
        batches(&[
            &["ad1@0 ad1@10"],
            &["ad4@20 ad4@21"],
            &["ad3@6 ad3@12"],
            &["ad5@60 ad5@65", "ad6@10 ad6@15"],
            // Clicks at or before 10:00:34.999 expire: ad2's (10:00:30) never matched.
            &["- ad2@30"],
            &[],
            &["- zz@180"],
        ])
    );
}

#[test]
fn a_full_outer_join_emits_both_sides_unmatched_rows() {
    let mut join = SymmetricHashJoin::<FullOuter>::default();
    assert_eq!(
        run(&mut join),
        batches(&[
            &["ad1@0 ad1@10"],
            &["ad4@20 ad4@21"],
            &["ad3@6 ad3@12"],
            &["ad5@60 ad5@65", "ad6@10 ad6@15"],
            &["- ad2@30", "ad2@5 -"],
            &[],
            &["- zz@180", "ad7@120 -"],
        ])
    );
}

#[test]
fn a_left_semi_join_emits_each_impression_once_on_its_first_click() {
    let mut join = SymmetricHashJoin::<LeftSemi>::default();
    let out = run(&mut join);
    // A second click for ad1 within the range, in a later batch: ad1 is not emitted again.
    let mut ctx = batch(7, None, None);
    let mut more = Vec::new();
    let mut fresh = SymmetricHashJoin::<LeftSemi>::default();
    fresh
        .run_batch(
            vec![ev(0, 0, "ad1")],
            vec![ev(0, 1, "ad1")],
            &mut ctx,
            &mut more,
        )
        .unwrap();
    fresh
        .run_batch(vec![], vec![ev(0, 2, "ad1")], &mut ctx, &mut more)
        .unwrap();
    assert_eq!(more.len(), 1, "{more:?}");
    assert_eq!(more[0].r_key, None, "a semi join has no right columns");
    assert_eq!(
        out,
        batches(&[
            &["ad1@0 -"],
            &["ad4@20 -"],
            &["ad3@6 -"],
            &["ad5@60 -", "ad6@10 -"],
            &[],
            &[],
            &[],
        ])
    );
}

#[test]
fn late_rows_are_dropped_against_the_previous_batchs_watermark() {
    let mut join = SymmetricHashJoin::<Inner>::default();
    let mut ctx = batch(3, Some(at(1, 0)), Some(at(0, 30)));
    let mut out = Vec::new();
    // 10:00:30 is at the previous watermark: late. 10:00:31 is not.
    join.run_batch(
        vec![ev(0, 30, "a"), ev(0, 31, "b")],
        vec![ev(0, 30, "a"), ev(0, 45, "b")],
        &mut ctx,
        &mut out,
    )
    .unwrap();
    assert_eq!(ctx.metrics().rows_dropped_by_watermark, 2);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].l_key.as_deref(), Some("b"));
}

#[test]
fn a_right_row_its_state_watermark_expires_is_stored_only_by_a_right_outer_join() {
    // Watermark 10:01:00: a click at 10:00:50 (after the previous watermark, 10:00:00) is not
    // late, but the right state watermark (10:00:59.999) already expires it.
    let batch = |join: &mut dyn FnMut(&mut BatchContext, &mut Vec<JoinedEvents>)| {
        let mut ctx = batch(1, Some(at(1, 0)), Some(at(0, 0)));
        let mut out = Vec::new();
        join(&mut ctx, &mut out);
        (ctx.metrics(), out)
    };
    let mut inner = SymmetricHashJoin::<Inner>::default();
    let (metrics, out) = batch(&mut |ctx, out| {
        inner
            .run_batch(vec![], vec![ev(0, 50, "x")], ctx, out)
            .unwrap();
    });
    assert!(out.is_empty());
    assert_eq!(metrics.state_rows_updated, 0);
    assert_eq!(inner.state_rows(), 0);

    let mut outer = SymmetricHashJoin::<RightOuter>::default();
    let (metrics, out) = batch(&mut |ctx, out| {
        outer
            .run_batch(vec![], vec![ev(0, 50, "x")], ctx, out)
            .unwrap();
    });
    // Stored, then expired in the same batch: emitted with nulls at once.
    assert_eq!(metrics.state_rows_updated, 1);
    assert_eq!(metrics.state_rows_removed, 1);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].l_key.as_deref(), out[0].r_key.as_deref()),
        (None, Some("x"))
    );
}

#[test]
fn null_keys_match_nothing_and_an_outer_join_still_emits_them() {
    let mut join = SymmetricHashJoin::<FullOuter>::default();
    let null_key = |ss| Event {
        ts: Some(at(0, ss)),
        key: None,
        value: None,
    };
    let mut ctx = batch(0, Some(at(0, 0)), None);
    let mut out = Vec::new();
    join.run_batch(vec![null_key(1)], vec![null_key(2)], &mut ctx, &mut out)
        .unwrap();
    assert!(out.is_empty(), "null keys do not match: {out:?}");
    let mut ctx = batch(1, Some(at(5, 0)), None);
    join.run_batch(vec![], vec![], &mut ctx, &mut out).unwrap();
    assert_eq!(out.len(), 2, "both expire unmatched: {out:?}");
    assert_eq!(join.state_rows(), 0);
}

#[test]
fn the_state_survives_a_snapshot() {
    let mut join = SymmetricHashJoin::<LeftOuter>::default();
    let mut ctx = batch(0, Some(Timestamp::EPOCH), None);
    let mut out = Vec::new();
    join.run_batch(
        vec![ev(0, 0, "ad1"), ev(0, 5, "ad2")],
        vec![ev(0, 10, "ad1")],
        &mut ctx,
        &mut out,
    )
    .unwrap();
    let bytes = join.snapshot().unwrap();
    let mut restored = SymmetricHashJoin::<LeftOuter>::default();
    restored.restore(&bytes).unwrap();
    assert_eq!(restored.side_rows(), (2, 1));
    // The matched flags came back too: only ad2 is emitted unmatched when both expire.
    let mut ctx = batch(1, Some(at(5, 0)), None);
    let mut out = Vec::new();
    restored
        .run_batch(vec![], vec![], &mut ctx, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].l_key.as_deref(), Some("ad2"));
}

#[test]
fn the_state_watermark_is_sparks_millisecond_arithmetic() {
    let left = StateExpiry::Value(&[TimeBound {
        offset_micros: -20_000_000,
        inclusive: true,
    }]);
    let w = Timestamp::from_secs(100);
    assert_eq!(left.threshold(Some(w)), Some(79_999_000));
    assert_eq!(StateExpiry::Key.threshold(Some(w)), Some(100_000_000));
    assert_eq!(StateExpiry::Never.threshold(Some(w)), None);
    assert_eq!(left.threshold(None), None);
    // The earliest bound wins; a strict one keeps no extra millisecond; sub-millisecond
    // offsets truncate to the millisecond (toward zero), as Spark's `toLong` does.
    let two = StateExpiry::Value(&[
        TimeBound {
            offset_micros: -5_000_000,
            inclusive: false,
        },
        TimeBound {
            offset_micros: -1_500,
            inclusive: true,
        },
    ]);
    assert_eq!(two.threshold(Some(w)), Some(95_000_000));
    assert_eq!(
        StateExpiry::Value(&[TimeBound {
            offset_micros: -1_500,
            inclusive: false
        }])
        .threshold(Some(w)),
        // 99 998.5 ms, truncated.
        Some(99_998_000)
    );
    // The watermark a join propagates: the earliest of the global one and the sides'.
    assert_eq!(
        SymmetricHashJoin::<Inner>::output_watermark(Some(at(1, 30))),
        Some(at(1, 10).plus_micros(-1_000))
    );
}
