//! ANSI checks only where they can fire. Spark 4 runs in ANSI mode: integer overflow and
//! division by zero are errors, so the checker marks every arithmetic node `Checked`. A small
//! value-range analysis proves many of them cannot fail — `20 + value % 10` cannot overflow,
//! `x % 5` cannot divide by zero — and marks those `Unchecked`, which codegen lowers to the
//! plain operator.

use crate::plan::{
    Ansi, ArithOp, Expr, ExprKind, KeyRepr, Literal, PipelinePlan, Slot, SlotDef, Ty,
};

/// Marks every arithmetic node of the plan that cannot fail `Unchecked`.
pub(super) fn drop_proven_checks(plan: &mut PipelinePlan) {
    // Ranges are read through computed columns, so the analysis reads a copy of the slots while
    // the nodes are rewritten (the marks do not change any range).
    let slots = plan.slots.clone();
    for slot in &mut plan.slots {
        if let SlotDef::Let(e) = &mut slot.def {
            mark(e, &slots);
        }
    }
    for f in &mut plan.filters {
        mark(&mut f.pred, &slots);
    }
    for e in &mut plan.post_filters {
        mark(e, &slots);
    }
    for o in &mut plan.order_by {
        mark(&mut o.expr, &slots);
    }
    if let Some(agg) = &mut plan.aggregate {
        for key in &mut agg.keys {
            if let KeyRepr::CaseIndex { conditions, .. } = &mut key.repr {
                for c in conditions {
                    mark(c, &slots);
                }
            }
        }
    }
}

fn mark(e: &mut Expr, slots: &[Slot]) {
    if let ExprKind::Arith(op, l, r, ansi) = &e.kind
        && *ansi == Ansi::Checked
        && cannot_fail(*op, l, r, e.ty.ty, slots)
    {
        let ExprKind::Arith(_, _, _, ansi) = &mut e.kind else {
            unreachable!()
        };
        *ansi = Ansi::Unchecked;
    }
    for_each_child(e, &mut |c| mark(c, slots));
}

/// Rule: IEEE arithmetic never fails, nor does division by a non-zero double literal; integer
/// `%` by a literal other than 0 and -1 can neither fail nor overflow; integer `+`, `-`, `*`
/// cannot overflow when the range of their result fits the type.
fn cannot_fail(op: ArithOp, l: &Expr, r: &Expr, result: Ty, slots: &[Slot]) -> bool {
    let operand = l.ty.ty;
    let nonzero_divisor = match r.literal() {
        Some(Literal::Int(v)) => *v != 0 && *v != -1,
        Some(Literal::Long(v)) => *v != 0 && *v != -1,
        Some(Literal::Double(v)) => *v != 0.0,
        _ => false,
    };
    match (operand, op) {
        (Ty::Double, ArithOp::Add | ArithOp::Sub | ArithOp::Mul) => true,
        (_, ArithOp::Div | ArithOp::Rem) => nonzero_divisor,
        (Ty::Int | Ty::Long, _) => arith_range(op, l, r, result, slots).is_some(),
        _ => false,
    }
}

fn for_each_child(e: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    match &mut e.kind {
        ExprKind::Slot(_) | ExprKind::Lit(_) | ExprKind::CurrentTimestamp => {}
        ExprKind::Neg(a) | ExprKind::Not(a) | ExprKind::Cast(a) | ExprKind::TimeShift(a, _) => f(a),
        ExprKind::IsNull { expr, .. } => f(expr),
        ExprKind::WindowField { window, .. } => f(window),
        ExprKind::Arith(_, a, b, _)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => {
            f(a);
            f(b);
        }
        ExprKind::Case {
            branches,
            otherwise,
        } => {
            for (c, v) in branches {
                f(c);
                f(v);
            }
            if let Some(o) = otherwise {
                f(o);
            }
        }
        ExprKind::Call(call) => call.args.iter_mut().for_each(f),
    }
}

/// The range of values an integral expression can take, when it is known to be narrower than
/// its type: literals, `x % c`, and sums, differences and products of known ranges.
fn int_range(e: &Expr, slots: &[Slot]) -> Option<(i128, i128)> {
    match &e.kind {
        ExprKind::Lit(Literal::Int(v)) => Some((i128::from(*v), i128::from(*v))),
        ExprKind::Lit(Literal::Long(v)) => Some((i128::from(*v), i128::from(*v))),
        ExprKind::Slot(s) => match &slots[s.0].def {
            SlotDef::Let(inner) => int_range(inner, slots),
            _ => None,
        },
        ExprKind::Cast(inner) if inner.ty.ty.is_integral() && e.ty.ty.is_integral() => {
            int_range(inner, slots)
        }
        ExprKind::Neg(inner) => int_range(inner, slots).map(|(lo, hi)| (-hi, -lo)),
        ExprKind::Arith(op, a, b, _) => arith_range(*op, a, b, e.ty.ty, slots),
        _ => None,
    }
}

fn arith_range(op: ArithOp, a: &Expr, b: &Expr, ty: Ty, slots: &[Slot]) -> Option<(i128, i128)> {
    match op {
        ArithOp::Rem => {
            let (c, _) = int_range(b, slots).filter(|(lo, hi)| lo == hi && *lo != 0)?;
            let m = c.abs() - 1;
            match int_range(a, slots) {
                Some((lo, hi)) if lo >= 0 => Some((0, m.min(hi))),
                Some((lo, hi)) if hi <= 0 => Some(((-m).max(lo), 0)),
                _ => Some((-m, m)),
            }
        }
        ArithOp::Add | ArithOp::Sub | ArithOp::Mul => {
            let ((al, ah), (bl, bh)) = (int_range(a, slots)?, int_range(b, slots)?);
            let candidates = match op {
                ArithOp::Add => [al + bl, ah + bh, al + bl, ah + bh],
                ArithOp::Sub => [al - bh, ah - bl, al - bh, ah - bl],
                _ => [al * bl, al * bh, ah * bl, ah * bh],
            };
            let lo = *candidates.iter().min().expect("four candidates");
            let hi = *candidates.iter().max().expect("four candidates");
            let (min, max) = match ty {
                Ty::Int => (i128::from(i32::MIN), i128::from(i32::MAX)),
                _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
            };
            (lo >= min && hi <= max).then_some((lo, hi))
        }
        ArithOp::Div => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{output_expr, plan};
    use crate::plan::{Ansi, ExprKind};

    /// The ANSI mark of output column `x = <expr>`'s top node.
    fn ansi(expr: &str) -> Ansi {
        let p = plan(&format!(
            "schema S {{ l: i64, i: i32, d: f64 }} query Q from S {{ select x = {expr}; }}"
        ));
        match output_expr(&p, "x").kind {
            ExprKind::Arith(_, _, _, a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_arithmetic_that_can_fail_keeps_its_check() {
        use Ansi::*;
        assert_eq!(ansi("20 + l % 10"), Unchecked, "20 + [-9, 9] fits a long");
        assert_eq!(ansi("(l % 3) * (l % 7)"), Unchecked);
        assert_eq!(ansi("l + 1"), Checked, "l may be i64::MAX");
        assert_eq!(ansi("l * 2"), Checked);
        assert_eq!(
            ansi("l % 5"),
            Unchecked,
            "a literal divisor other than 0 and -1"
        );
        assert_eq!(ansi("l % -1"), Checked, "i64::MIN % -1 overflows");
        assert_eq!(ansi("l % l"), Checked);
        assert_eq!(ansi("d * 2.5"), Unchecked, "IEEE arithmetic never fails");
        assert_eq!(ansi("d / 2.0"), Unchecked);
        assert_eq!(
            ansi("d / d"),
            Checked,
            "division by zero is an error in ANSI mode"
        );
        assert_eq!(ansi("i % 3 + 2147483640"), Unchecked);
        assert_eq!(ansi("i % 10 + 2147483640"), Checked, "may exceed i32::MAX");
    }
}
