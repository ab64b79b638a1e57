//! Spark's state value watermark (`StreamingJoinHelper.getStateValueWatermark`): each
//! conjunct comparing the two sides' times is brought to the canonical form
//! `other + c < this` (or `<=`), with the other side's event time standing for the watermark,
//! so that a row of `this` side whose time is at or before `watermark + c` (1 ms earlier when
//! inclusive) can match no future row of the other side.

use crate::plan::{CmpOp, Expr, ExprKind, JoinSideId, SlotId, Ty};

/// A term of a time expression in Spark's canonical sum (`StreamingJoinHelper.collectTerms`).
#[derive(Debug, Clone, Copy)]
enum Term {
    /// A timestamp column, added (`true`) or subtracted.
    Column(SlotId, bool),
    /// A constant, µs.
    Constant(i64),
}

/// The terms of `e` (negated if `negate`), or `None` if it is not a sum of timestamp columns
/// and intervals.
fn terms(e: &Expr, negate: bool, out: &mut Vec<Term>) -> Option<()> {
    match &e.kind {
        ExprKind::Slot(s) if e.ty.ty == Ty::Timestamp => out.push(Term::Column(*s, !negate)),
        ExprKind::TimeShift(inner, micros) => {
            terms(inner, negate, out)?;
            out.push(Term::Constant(if negate { -*micros } else { *micros }));
        }
        _ => return None,
    }
    Some(())
}

/// The state watermark bound of side `this` from one conjunct `lhs < rhs` (`inclusive`: `<=`),
/// with `other`'s event-time column standing for the watermark: Spark's
/// `getStateWatermarkFromLessThenPredicate`.
fn bound_from_less_than(
    lhs: &Expr,
    rhs: &Expr,
    inclusive: bool,
    side_of: &dyn Fn(SlotId) -> JoinSideId,
    this: JoinSideId,
    other_event_time: SlotId,
) -> Option<(i64, bool)> {
    let mut all = Vec::new();
    terms(lhs, false, &mut all)?;
    terms(rhs, true, &mut all)?;
    let columns = |side: JoinSideId| -> Vec<(SlotId, bool)> {
        all.iter()
            .filter_map(|t| match t {
                Term::Column(s, plus) if side_of(*s) == side => Some((*s, *plus)),
                _ => None,
            })
            .collect()
    };
    let (mine, theirs) = (columns(this), columns(other(this)));
    // One column of this side, negated: `W + c - this < 0`, i.e. `this > W + c`.
    let [(_, false)] = mine.as_slice() else {
        return None;
    };
    // The other side's event time, added: it becomes the watermark.
    let [(s, true)] = theirs.as_slice() else {
        return None;
    };
    if *s != other_event_time {
        return None;
    }
    let constant: i64 = all
        .iter()
        .map(|t| match t {
            Term::Constant(c) => *c,
            Term::Column(..) => 0,
        })
        .sum();
    Some((constant, inclusive))
}

fn other(side: JoinSideId) -> JoinSideId {
    match side {
        JoinSideId::Left => JoinSideId::Right,
        JoinSideId::Right => JoinSideId::Left,
    }
}

/// The bounds the condition's conjuncts give side `this`'s state (Spark's
/// `getStateValueWatermark`, minimum taken by the runtime): empty when none can be solved.
pub(super) fn state_bounds(
    conjuncts: &[Expr],
    side_of: &dyn Fn(SlotId) -> JoinSideId,
    this: JoinSideId,
    other_event_time: Option<SlotId>,
) -> Vec<(i64, bool)> {
    let Some(other_event_time) = other_event_time else {
        return Vec::new();
    };
    conjuncts
        .iter()
        .filter_map(|c| {
            let ExprKind::Cmp(op, l, r) = &c.kind else {
                return None;
            };
            let (lhs, rhs, inclusive) = match op {
                CmpOp::Lt => (l, r, false),
                CmpOp::Le => (l, r, true),
                CmpOp::Gt => (r, l, false),
                CmpOp::Ge => (r, l, true),
                _ => return None,
            };
            bound_from_less_than(lhs, rhs, inclusive, side_of, this, other_event_time)
        })
        .collect()
}
