//! The streaming rules that depend on the whole query: where each filter runs relative to the
//! watermark and the scan, and which output modes the query supports. One function per rule,
//! each opening with the rule in words.

use crate::plan::{Expr, ExprKind, FilterPhase, Mode, ModeRejection, SlotDef, SlotId, Stage};

use super::relation::Relation;

/// Rule: Spark's optimizer pushes a deterministic filter down the plan until it meets a node it
/// cannot pass: a watermark whose event-time column it reads (`EventTimeWatermark` lets through
/// only filters that do not), a generator whose output it reads (`Generate`), a deduplication
/// (never: it would change which row of a key is the first). The filter runs right after the
/// latest such node written before it; one that passes them all runs first, and if it compares
/// a source column with a literal (or tests it for null) it also reaches the file scan, so the
/// rows it rejects are not counted as input.
pub(super) fn filter_phase(rel: &Relation, pred: &Expr, stages_before: usize) -> FilterPhase {
    for (i, stage) in rel.stages[..stages_before].iter().enumerate().rev() {
        let blocks = match *stage {
            Stage::Watermark(w) => reads_any(rel, pred, &[rel.watermarks[w].slot]),
            Stage::Generate(g) => {
                let generator = &rel.generators[g];
                let produced: Vec<SlotId> = std::iter::once(generator.element)
                    .chain(generator.position)
                    .collect();
                reads_any(rel, pred, &produced)
            }
            Stage::Dedup => true,
            // A filter on the stream's columns alone runs before the probe (Spark pushes it
            // below the join); one that reads the table's runs after.
            Stage::Join => reads_joined(rel, pred),
        };
        if blocks {
            return FilterPhase::After(i);
        }
    }
    if scan_pushable(rel, pred) {
        FilterPhase::Scan
    } else {
        FilterPhase::Start
    }
}

/// Whether `e` reads a column of a joined table, directly or through computed columns.
fn reads_joined(rel: &Relation, e: &Expr) -> bool {
    let joined: Vec<SlotId> = (0..rel.slots.len())
        .map(SlotId)
        .filter(|s| matches!(rel.slots[s.0].def, SlotDef::Joined { .. }))
        .collect();
    reads_any(rel, e, &joined)
}

/// Whether `e` reads any of `slots`, directly or through computed columns.
fn reads_any(rel: &Relation, e: &Expr, slots: &[SlotId]) -> bool {
    let mut found = false;
    e.for_each_slot(&mut |s| found |= slot_reads_any(rel, s, slots));
    found
}

fn slot_reads_any(rel: &Relation, s: SlotId, slots: &[SlotId]) -> bool {
    if slots.contains(&s) {
        return true;
    }
    match &rel.slots[s.0].def {
        SlotDef::Let(e) => reads_any(rel, e, slots),
        _ => false,
    }
}

/// Spark's `DataSourceStrategy.translateFilter`: comparisons of a column with a literal,
/// null tests on a column, and `and`/`or`/`not` of those.
fn scan_pushable(rel: &Relation, e: &Expr) -> bool {
    let is_column = |e: &Expr| matches!(&e.kind, ExprKind::Slot(s) if matches!(rel.slots[s.0].def, SlotDef::Input { .. }));
    let is_literal =
        |e: &Expr| matches!(&e.kind, ExprKind::Lit(l) if *l != crate::plan::Literal::Null);
    match &e.kind {
        ExprKind::Cmp(_, a, b) => {
            (is_column(a) && is_literal(b)) || (is_literal(a) && is_column(b))
        }
        ExprKind::IsNull { expr, .. } => is_column(expr),
        ExprKind::And(a, b) | ExprKind::Or(a, b) => scan_pushable(rel, a) && scan_pushable(rel, b),
        ExprKind::Not(a) => scan_pushable(rel, a),
        _ => false,
    }
}

/// The output-mode rules the query breaks (each a marker trait in the runtime that it then does
/// not implement): append needs groups the watermark can finalise, complete an aggregation;
/// sorting breaks "unsorted" (complete mode only), a limit "unlimited" (not in update mode), a
/// session window "without session window" (not in update mode).
pub(super) fn broken_rules(rel: &Relation) -> Vec<ModeRejection> {
    let mut out = Vec::new();
    match &rel.aggregate {
        Some(agg) if agg.event_time_key.is_none() => {
            out.push(ModeRejection::AppendAggregationWithoutWatermark)
        }
        Some(_) => {}
        None => out.push(ModeRejection::CompleteWithoutAggregation),
    }
    if !rel.order_by.is_empty() {
        out.push(ModeRejection::SortNotInComplete);
    }
    if rel.limit.is_some() {
        out.push(ModeRejection::LimitInUpdate);
    }
    if rel
        .aggregate
        .as_ref()
        .is_some_and(|a| a.session().is_some())
    {
        out.push(ModeRejection::SessionWindowInUpdate);
    }
    if let Some(join) = &rel.stream_join {
        if join.kind.is_outer() {
            out.push(ModeRejection::StreamJoinInUpdate);
        }
        out.push(ModeRejection::StreamJoinInComplete);
    }
    out
}

/// Rules (Spark's `UnsupportedOperationChecker`):
/// - append needs no aggregation, or an aggregation keyed by the watermarked event time (a
///   window or session window over it, or the column itself), since only then can a group be
///   final;
/// - complete needs an aggregation;
/// - update cannot emit session windows, nor the rows of an outer stream-stream join;
/// - complete cannot run a stream-stream join;
/// - sorting is allowed only in complete mode; a limit is not allowed in update mode.
///
/// A mode is rejected for the first rule it breaks, in this order.
pub(super) fn rejected_modes(rel: &Relation) -> Vec<(Mode, ModeRejection)> {
    let mut out = Vec::new();
    let sorted = !rel.order_by.is_empty();
    match &rel.aggregate {
        Some(agg) if agg.event_time_key.is_none() => {
            out.push((
                Mode::Append,
                ModeRejection::AppendAggregationWithoutWatermark,
            ));
        }
        Some(_) => {}
        None => out.push((Mode::Complete, ModeRejection::CompleteWithoutAggregation)),
    }
    if rel
        .aggregate
        .as_ref()
        .is_some_and(|a| a.session().is_some())
    {
        out.push((Mode::Update, ModeRejection::SessionWindowInUpdate));
    }
    // Spark 4.3: a stream-stream join runs in append mode, and an inner or left semi one in
    // update mode too; complete mode needs an aggregation first (rejected above without one).
    if let Some(join) = &rel.stream_join {
        if join.kind.is_outer() {
            out.push((Mode::Update, ModeRejection::StreamJoinInUpdate));
        }
        if rel.aggregate.is_some() {
            out.push((Mode::Complete, ModeRejection::StreamJoinInComplete));
        }
    }
    let update_rejected =
        |out: &Vec<(Mode, ModeRejection)>| out.iter().any(|(m, _)| *m == Mode::Update);
    if sorted {
        if !out.iter().any(|(m, _)| *m == Mode::Append) {
            out.push((Mode::Append, ModeRejection::SortNotInComplete));
        }
        if !update_rejected(&out) {
            out.push((Mode::Update, ModeRejection::SortNotInComplete));
        }
    } else if rel.limit.is_some() && !update_rejected(&out) {
        out.push((Mode::Update, ModeRejection::LimitInUpdate));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{plan, render};
    use crate::plan::{FilterPhase, Mode, ModeRejection};

    const SCHEMA: &str = "schema E { ts: Timestamp, k: String, v: f64, nv: Option<f64> }";

    /// `(rendering, phase)` of each pre-aggregation filter.
    fn phases(body: &str) -> Vec<(String, FilterPhase)> {
        let p = plan(&format!("{SCHEMA} query Q from E {{ {body} }}"));
        p.filters
            .iter()
            .map(|f| (render(&p, &f.pred), f.phase))
            .collect()
    }

    #[test]
    fn filters_are_placed_like_sparks_optimizer_places_them() {
        use FilterPhase::*;
        assert_eq!(
            phases(
                "where v > 1;
                 where v * 2 > 1;
                 where ts > \"2024-01-01T00:00:00Z\";
                 watermark ts delay 10 seconds;
                 where k == \"a\" and nv is not null;
                 where ts < \"2024-01-02T00:00:00Z\";
                 with late = ts;
                 where late > \"2024-01-01T00:00:00Z\";
                 group by window(ts, 10 seconds);
                 aggregate n = count();"
            ),
            [
                // A source column against a literal reaches the scan.
                ("(v Gt 1.0)".into(), Scan),
                ("((v * 2.0) Gt 1.0)".into(), Start),
                // On the event time but before the watermark clause: runs before it.
                ("(ts Gt ts(1704067200000000))".into(), Scan),
                // After the watermark clause, `and` is split and each part placed on its own.
                ("(k Eq \"a\")".into(), Scan),
                ("(nv is not null)".into(), Scan),
                // Reads the event time (directly or through a computed column): stays above.
                ("(ts Lt ts(1704153600000000))".into(), After(0)),
                ("(ts Gt ts(1704067200000000))".into(), After(0)),
            ]
        );
    }

    #[test]
    fn filters_after_the_aggregation_are_post_filters() {
        let p = plan(&format!(
            "{SCHEMA} query Q from E {{
                group by k; aggregate n = count(); where n > 1 and k != \"x\";
            }}"
        ));
        assert!(p.filters.is_empty());
        let post: Vec<String> = p.post_filters.iter().map(|e| render(&p, e)).collect();
        // Accumulator slots are named after their function.
        assert_eq!(post, ["(count_0 Gt 1L)", "(k Ne \"x\")"]);
    }

    fn rejected(body: &str) -> Vec<(Mode, ModeRejection)> {
        plan(&format!("{SCHEMA} query Q from E {{ {body} }}")).rejected_modes
    }

    #[test]
    fn output_modes_follow_sparks_unsupported_operation_checker() {
        use Mode::*;
        use ModeRejection::*;
        // No aggregation: append and update.
        assert_eq!(
            rejected("where v > 1;"),
            [(Complete, CompleteWithoutAggregation)]
        );
        assert_eq!(
            rejected("watermark ts delay 10s; select ts, k;"),
            [(Complete, CompleteWithoutAggregation)]
        );
        assert_eq!(
            rejected("select k; limit 5;"),
            [
                (Complete, CompleteWithoutAggregation),
                (Update, LimitInUpdate)
            ]
        );
        // Aggregation without a watermark on a group key: never final, so no append.
        assert_eq!(
            rejected("group by k; aggregate n = count();"),
            [(Append, AppendAggregationWithoutWatermark)]
        );
        assert_eq!(
            rejected("group by window(ts, 10s), k; aggregate n = count();"),
            [(Append, AppendAggregationWithoutWatermark)]
        );
        assert_eq!(
            rejected("watermark ts delay 10s; group by k; aggregate n = count();"),
            [(Append, AppendAggregationWithoutWatermark)]
        );
        assert_eq!(
            rejected("aggregate n = count();"),
            [(Append, AppendAggregationWithoutWatermark)]
        );
        // Keyed by the watermarked event time (a window over it, or the column): every mode.
        assert_eq!(
            rejected("watermark ts delay 10s; group by window(ts, 10s), k; aggregate n = count();"),
            []
        );
        assert_eq!(
            rejected("watermark ts delay 10s; group by ts; aggregate n = count();"),
            []
        );
        // Sorting: complete mode only.
        assert_eq!(
            rejected(
                "watermark ts delay 10s; group by window(ts, 10s); aggregate n = count(); order by n;"
            ),
            [(Append, SortNotInComplete), (Update, SortNotInComplete)]
        );
        assert_eq!(
            rejected("group by k; aggregate n = count(); order by n; limit 3;"),
            [
                (Append, AppendAggregationWithoutWatermark),
                (Update, SortNotInComplete)
            ]
        );
        // A limit: not in update mode.
        assert_eq!(
            rejected(
                "watermark ts delay 10s; group by window(ts, 10s); aggregate n = count(); limit 3;"
            ),
            [(Update, LimitInUpdate)]
        );
    }

    #[test]
    fn session_windows_run_in_append_and_complete_mode_never_in_update() {
        use Mode::*;
        use ModeRejection::*;
        assert_eq!(
            rejected(
                "watermark ts delay 10s; group by session_window(ts, 5s), k; aggregate n = count();"
            ),
            [(Update, SessionWindowInUpdate)]
        );
        // Without a watermark on the session's event time, no session is ever closed.
        assert_eq!(
            rejected("group by session_window(ts, 5s), k; aggregate n = count();"),
            [
                (Append, AppendAggregationWithoutWatermark),
                (Update, SessionWindowInUpdate)
            ]
        );
        // Update is refused for the session window first.
        assert_eq!(
            rejected(
                "watermark ts delay 10s; group by session_window(ts, 5s), k; aggregate n = count(); limit 2;"
            ),
            [(Update, SessionWindowInUpdate)]
        );
        let p = plan(&format!(
            "{SCHEMA} query Q from E {{ watermark ts delay 10s; group by k, session_window(ts, 5s); aggregate n = count(); }}"
        ));
        assert_eq!(p.aggregate.as_ref().unwrap().event_time_key, Some(1));
        assert!(
            p.broken_rules == [SessionWindowInUpdate],
            "{:?}",
            p.broken_rules
        );
        let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["k", "session_window", "n"]);
    }

    #[test]
    fn session_window_rules() {
        let first_error = |body: &str| {
            let e = crate::check::testing::errors(&format!("{SCHEMA} query Q from E {{ {body} }}"));
            assert_eq!(e.len(), 1, "{e:?}");
            e[0].lines().next().unwrap().to_string()
        };
        assert_eq!(
            first_error("group by session_window(ts, 5s); aggregate n = count();"),
            "Global aggregation with session window in streaming query is not supported."
        );
        assert_eq!(
            first_error("group by session_window(ts, 0s), k; aggregate n = count();"),
            "the session gap must be greater than zero"
        );
        assert_eq!(
            first_error(
                "group by window(ts, 10s), session_window(ts, 5s), k; aggregate n = count();"
            ),
            "Multiple time/session window expressions would result in a cartesian product of rows, therefore they are currently not supported."
        );
        assert_eq!(
            first_error("group by session_window(k, 5s), v; aggregate n = count();"),
            "`session_window` needs a TIMESTAMP column; `k` is STRING"
        );
        assert_eq!(
            first_error("select s = session_window(ts, 5s);"),
            "`session_window(...)` is only allowed as a `group by` key"
        );
    }

    #[test]
    fn the_watermark_of_an_upstream_query_finalises_downstream_windows() {
        let p = plan(&format!(
            "{SCHEMA}
             query Timed from E {{ watermark ts delay 10s; select ts, k; }}
             query Windows from Timed {{ group by window(ts, 10s), k; aggregate n = count(); }}"
        ));
        assert_eq!(p.watermarks.len(), 1);
        assert_eq!(p.aggregate.as_ref().unwrap().event_time_key, Some(0));
        assert!(p.rejected_modes.is_empty());
    }
}
