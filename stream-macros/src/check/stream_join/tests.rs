//! The checker's rules for stream-stream joins: state bounds, validity, names.

use crate::check::testing::{errors, plan, render};
use crate::plan::{Expiry, StreamJoin, StreamJoinKind};

/// Two sides over one schema, each with a 30 s watermark on its own renamed time.
const SIDES: &str = "
    schema E { ts: Timestamp, k: String, v: f64 }
    query A from E { watermark ts delay 30 seconds; select a_ts = ts, a_k = k, a_v = v; }
    query B from E { watermark ts delay 30 seconds; select b_ts = ts, b_k = k; }
    query Plain from E { select p_ts = ts, p_k = k; }
";

fn join(query: &str) -> StreamJoin {
    plan(&format!("{SIDES} {query}"))
        .stream_join
        .expect("a stream-stream join")
}

#[test]
fn a_time_range_bounds_each_sides_state_as_sparks_solver_does() {
    // `b_ts <= a_ts + 20 s`: a row of A can match no B row once a_ts < W - 20 s (inclusive:
    // 1 ms kept); `b_ts >= a_ts`: a B row, once b_ts < W.
    let j = join(
        "query J from A join B on a_k == b_k and b_ts >= a_ts and b_ts <= a_ts + interval 20 seconds { select *; }",
    );
    assert_eq!(j.left_expiry, Expiry::Value(vec![(-20_000_000, true)]));
    assert_eq!(j.right_expiry, Expiry::Value(vec![(0, true)]));
    assert_eq!(j.keys.len(), 1);
    assert!(j.left_only.is_none() && j.right_only.is_none());
    assert!(j.both.is_some());

    // Strict comparisons keep no extra millisecond; the operands may be written either way
    // round, and an interval subtracted.
    let j = join(
        "query J from A join B on a_k == b_k and a_ts < b_ts and a_ts > b_ts - interval 1 minute { select *; }",
    );
    assert_eq!(j.left_expiry, Expiry::Value(vec![(-60_000_000, false)]));
    assert_eq!(j.right_expiry, Expiry::Value(vec![(0, false)]));
}

#[test]
fn a_watermarked_time_in_the_keys_expires_both_sides_by_key() {
    let j = join("query J from A join B on a_k == b_k and a_ts == b_ts { select *; }");
    assert_eq!(
        (j.left_expiry.clone(), j.right_expiry.clone()),
        (Expiry::Key, Expiry::Key)
    );
    assert_eq!(j.key_time, Some(1));
}

#[test]
fn a_side_without_a_watermark_keeps_its_rows_and_bounds_no_other_side() {
    // Plain has no watermark: B's rows cannot be bounded by it, and Plain's rows are never
    // expired (Plain has no event-time column).
    let j = join(
        "query J from Plain join B on p_k == b_k and b_ts >= p_ts and b_ts <= p_ts + interval 20 seconds { select *; }",
    );
    assert_eq!(j.left_expiry, Expiry::Never);
    assert_eq!(j.right_expiry, Expiry::Never);
    // A condition the solver cannot use (a product, a column of a third kind) gives nothing.
    let j = join("query J from A join B on a_k == b_k and a_v > 1 { select *; }");
    assert_eq!(j.left_expiry, Expiry::Never);
    assert!(j.left_only.is_some(), "`a_v > 1` reads the left side only");
}

#[test]
fn outer_and_semi_joins_need_a_bounded_state() {
    for (kind, spark) in [
        ("left outer", "LeftOuter"),
        ("right outer", "RightOuter"),
        ("full outer", "FullOuter"),
        ("left semi", "LeftSemi"),
    ] {
        let errs = errors(&format!(
            "{SIDES} query J from A {kind} join B on a_k == b_k {{ select *; }}"
        ));
        let first_lines: Vec<&str> = errs.iter().filter_map(|e| e.lines().next()).collect();
        assert_eq!(
            first_lines,
            [format!(
                "Stream-stream {spark} join between two streaming DataFrame/Datasets is not supported without a watermark in the join keys, or a watermark on the nullable side and an appropriate range condition"
            )],
            "{kind}"
        );
    }
    // A left outer join needs the left (outer) side bounded; bounding only the right one
    // is not enough...
    let errs = errors(&format!(
        "{SIDES} query J from A left join B on a_k == b_k and b_ts >= a_ts {{ select *; }}"
    ));
    assert_eq!(errs.len(), 1);
    // ...which a right outer join is content with.
    let j = join("query J from A right join B on a_k == b_k and b_ts >= a_ts { select *; }");
    assert_eq!(j.kind, StreamJoinKind::RightOuter);
    assert_eq!(j.right_expiry, Expiry::Value(vec![(0, true)]));
    assert_eq!(j.left_expiry, Expiry::Never);
}

#[test]
fn the_outer_sides_columns_become_nullable_and_a_semi_join_has_the_left_ones_only() {
    let p = plan(&format!(
        "{SIDES} query J from A left join B on a_k == b_k and b_ts >= a_ts and b_ts <= a_ts + interval 5 seconds {{ select *; }}"
    ));
    let nullable: Vec<(String, bool)> = p
        .outputs
        .iter()
        .map(|o| (o.name.clone(), o.ty.nullable))
        .collect();
    assert_eq!(
        nullable,
        [
            ("a_ts".to_string(), false),
            ("a_k".to_string(), false),
            ("a_v".to_string(), false),
            ("b_ts".to_string(), true),
            ("b_k".to_string(), true),
        ]
    );
    let p = plan(&format!(
        "{SIDES} query J from A left semi join B on a_k == b_k and b_ts >= a_ts and b_ts <= a_ts + interval 5 seconds {{ select *; }}"
    ));
    let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["a_ts", "a_k", "a_v"]);
}

#[test]
fn a_name_both_sides_have_is_ambiguous_and_qualified_it_resolves() {
    let src = "
        schema E { ts: Timestamp, k: String }
        query A from E { watermark ts delay 30 seconds; }
        query B from E { watermark ts delay 30 seconds; }
    ";
    let errs = errors(&format!(
        "{src} query J from A join B on k == B.k and B.ts >= ts {{ select k; }}"
    ));
    assert_eq!(
        errs,
        [
            "[AMBIGUOUS_REFERENCE] Reference `ts` is ambiguous, could be: [`A`.`ts`, `B`.`ts`].\n= help: both sides of the join have a column `ts`: qualify it"
        ]
    );
    let p = plan(&format!(
        "{src} query J from A join B on k == B.k and B.ts >= A.ts and B.ts <= A.ts + interval 1 second {{ select k, a = A.ts, b = B.ts; }}"
    ));
    let j = p.stream_join.as_ref().unwrap();
    assert_eq!(j.left_expiry, Expiry::Value(vec![(-1_000_000, true)]));
    let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["k", "a", "b"]);
}

#[test]
fn the_join_pushes_key_null_tests_and_one_sided_conjuncts_into_the_sides_spark_pushes_them_to() {
    let src = "
        schema E { ts: Timestamp, k: Option<String>, v: f64 }
        query A from E { watermark ts delay 30 seconds; select a_ts = ts, a_k = k, a_v = v; }
        query B from E { watermark ts delay 30 seconds; select b_ts = ts, b_k = k; }
    ";
    let condition = "a_k == b_k and a_v > 1 and b_ts >= a_ts and b_ts <= a_ts + interval 5 seconds";
    let pushed = |kind: &str| -> (Vec<String>, Vec<String>) {
        let p = plan(&format!(
            "{src} query J from A {kind} join B on {condition} {{ select *; }}"
        ));
        let j = p.stream_join.unwrap();
        let filters = |side: &crate::plan::JoinSide| -> Vec<String> {
            side.pipeline
                .as_ref()
                .map(|p| {
                    p.filters
                        .iter()
                        .map(|f| format!("{} @{:?}", render(p, &f.pred), f.phase))
                        .collect()
                })
                .unwrap_or_default()
        };
        (filters(&j.left), filters(&j.right))
    };
    // Inner: both sides' keys, and `a_v > 1` into A — below A's watermark and into the scan,
    // as Spark's optimizer places them.
    assert_eq!(
        pushed("inner"),
        (
            vec![
                "(k is not null) @Scan".to_string(),
                "(v Gt 1.0) @Scan".to_string()
            ],
            vec!["(k is not null) @Scan".to_string()]
        )
    );
    // A left outer join's left side is kept whole (its unmatched rows are output); the
    // null-supplying right side gets its key's test.
    assert_eq!(
        pushed("left outer"),
        (vec![], vec!["(k is not null) @Scan".to_string()])
    );
    assert_eq!(pushed("full outer"), (vec![], vec![]));
}
