//! The streaming rules that depend on the whole query: where each filter runs relative to the
//! watermark and the scan, and which output modes the query supports. One function per rule,
//! each opening with the rule in words.

use crate::plan::{Expr, ExprKind, FilterPhase, Mode, ModeRejection, SlotDef, SlotId};

use super::Relation;

/// Rule: Spark's optimizer pushes a deterministic filter that does not read the event-time
/// column below `EventTimeWatermark`, so the watermark only sees rows that pass it; a filter
/// written after the watermark that reads the event-time column stays above it. Of the filters
/// that run before the watermark, those that compare a source column with a literal (or test
/// it for null) also reach the file scan, so the rows they reject are not counted as input.
pub(super) fn filter_phase(rel: &Relation, pred: &Expr, watermarks_before: usize) -> FilterPhase {
    let watermark_slots: Vec<SlotId> = rel.watermarks[..watermarks_before]
        .iter()
        .map(|w| w.slot)
        .collect();
    if reads_any(rel, pred, &watermark_slots) {
        FilterPhase::AfterWatermark
    } else if scan_pushable(rel, pred) {
        FilterPhase::Scan
    } else {
        FilterPhase::BeforeWatermark
    }
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

/// Rules (Spark's `UnsupportedOperationChecker`):
/// - append needs no aggregation, or an aggregation keyed by the watermarked event time (a
///   window over it, or the column itself), since only then can a group be final;
/// - complete needs an aggregation;
/// - sorting is allowed only in complete mode; a limit is not allowed in update mode.
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
    if sorted {
        if !out.iter().any(|(m, _)| *m == Mode::Append) {
            out.push((Mode::Append, ModeRejection::SortNotInComplete));
        }
        out.push((Mode::Update, ModeRejection::SortNotInComplete));
    } else if rel.limit.is_some() {
        out.push((Mode::Update, ModeRejection::LimitInUpdate));
    }
    out
}
