//! The rule of which queries can run with a continuous trigger (Spark's
//! `UnsupportedOperationChecker.checkForContinuous`).

use crate::plan::{ContinuousRejection, Expr, ExprKind, SlotDef};

use super::relation::Relation;

/// Rule: continuous processing runs only map-like queries — projections, filters and `explode`
/// over the source's rows — without the current time. A watermark, a deduplication, an
/// aggregation and a limit are operations Spark's checker rejects, as is `current_timestamp()` anywhere in the query. The
/// first of them the query has (in [`ContinuousRejection::ALL`]'s order) is the one reported,
/// so a query gets one error.
pub(super) fn rejection(rel: &Relation) -> Option<ContinuousRejection> {
    ContinuousRejection::ALL
        .into_iter()
        .find(|rule| match rule {
            // A stream-stream join's watermarks are its sides' (Spark's checker meets them
            // first, below the join).
            ContinuousRejection::Watermark => {
                !rel.watermarks.is_empty()
                    || rel.stream_join.as_ref().is_some_and(|j| {
                        !(j.left.watermarks.is_empty() && j.right.watermarks.is_empty())
                    })
            }
            ContinuousRejection::Deduplicate => rel.dedup.is_some(),
            ContinuousRejection::Aggregation => rel.aggregate.is_some(),
            ContinuousRejection::Limit => rel.limit.is_some(),
            ContinuousRejection::CurrentTime => calls_current_time(rel),
            ContinuousRejection::StreamJoin => rel.stream_join.is_some(),
        })
}

/// Whether any expression of the query reads the current time: a computed column, a parsed
/// payload, a filter before or after the aggregation, or an `order by` key.
fn calls_current_time(rel: &Relation) -> bool {
    let in_slots = rel.slots.iter().any(|slot| match &slot.def {
        SlotDef::Let(e) => reads_current_time(e),
        SlotDef::Decode(d) => reads_current_time(&d.payload),
        _ => false,
    });
    in_slots
        || rel.filters.iter().any(|(e, _)| reads_current_time(e))
        || rel.post_filters.iter().any(reads_current_time)
        || rel.order_by.iter().any(|k| reads_current_time(&k.expr))
}

fn reads_current_time(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::CurrentTimestamp => true,
        ExprKind::Slot(_) | ExprKind::Lit(_) => false,
        ExprKind::Neg(a) | ExprKind::Not(a) | ExprKind::Cast(a) | ExprKind::TimeShift(a, _) => {
            reads_current_time(a)
        }
        ExprKind::IsNull { expr, .. } => reads_current_time(expr),
        ExprKind::WindowField { window, .. } => reads_current_time(window),
        ExprKind::Arith(_, a, b, _)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => reads_current_time(a) || reads_current_time(b),
        ExprKind::Case {
            branches,
            otherwise,
        } => {
            branches
                .iter()
                .any(|(c, v)| reads_current_time(c) || reads_current_time(v))
                || otherwise.as_deref().is_some_and(reads_current_time)
        }
        ExprKind::Call(call) => call.args.iter().any(reads_current_time),
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::plan;
    use crate::plan::ContinuousRejection;

    fn rejection(src: &str) -> Option<ContinuousRejection> {
        plan(src).continuous_rejection
    }

    #[test]
    fn map_like_queries_run_continuously() {
        assert_eq!(
            rejection(
                "query Q from Rate {
                    select timestamp, value, t = 20 + value % 10;
                    where t > 25;
                    with label = case when t > 28 then \"hot\" else \"warm\" end;
                }"
            ),
            None
        );
        // A query reading a map-like one fuses it and stays map-like.
        assert_eq!(
            rejection(
                "query A from Rate { where value > 1; }
                 query B from A { select doubled = value * 2; }"
            ),
            None
        );
    }

    #[test]
    fn each_rejected_operation_is_reported_and_only_the_first() {
        use ContinuousRejection::*;
        let cases = [
            (
                "group by k = value % 5; aggregate n = count();",
                Aggregation,
            ),
            (
                "watermark timestamp delay 10 seconds; where value > 1;",
                Watermark,
            ),
            (
                "watermark timestamp delay 10 seconds; group by window(timestamp, 10 seconds); aggregate n = count();",
                Watermark,
            ),
            ("limit 5;", Limit),
            ("drop duplicates (value);", Deduplicate),
            (
                "select timestamp, digit = explode(split(\"1 2\", \" \")); drop duplicates (digit); limit 1;",
                Deduplicate,
            ),
            ("select value, now = current_timestamp();", CurrentTime),
            ("where timestamp < current_timestamp();", CurrentTime),
            (
                "with now = current_timestamp(); select value; limit 3;",
                Limit,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                rejection(&format!("query Q from Rate {{ {body} }}")),
                Some(expected),
                "{body}"
            );
        }
        // A chained query inherits what it reads.
        assert_eq!(
            rejection(
                "query A from Rate { group by k = value % 2; aggregate n = count(); }
                 query B from A { where n > 1; }"
            ),
            Some(Aggregation)
        );
    }
}
