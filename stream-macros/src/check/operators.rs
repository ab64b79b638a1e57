//! Binary operators: arithmetic, comparison and boolean logic typed with Spark's coercions, and
//! arithmetic on two literals folded at compile time.

use crate::diagnostics::{Errors, SpanRange};
use crate::parse::BinOp;
use crate::plan::{Ansi, ArithOp, CmpOp, Expr, ExprKind, Literal, SqlType, Ty};

use super::expr::{expect_bool, typed};
use super::types::{arith_result, coerce, common_type, literal, timestamp_literal};

/// Types a binary operator application.
pub(super) fn binary(
    op: BinOp,
    op_span: SpanRange,
    lhs: Expr,
    rhs: Expr,
    span: SpanRange,
    errors: &Errors,
) -> Option<Expr> {
    let nullable = lhs.ty.nullable || rhs.ty.nullable;
    match op {
        BinOp::And | BinOp::Or => {
            let what = if op == BinOp::And { "`and`" } else { "`or`" };
            let l = expect_bool(lhs, &format!("the left side of {what}"), errors);
            let r = expect_bool(rhs, &format!("the right side of {what}"), errors);
            let (l, r) = (Box::new(l?), Box::new(r?));
            let kind = if op == BinOp::And {
                ExprKind::And(l, r)
            } else {
                ExprKind::Or(l, r)
            };
            Some(typed(kind, SqlType::new(Ty::Bool, nullable), span))
        }
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let (lhs, rhs) = match (lhs.ty.ty, rhs.ty.ty) {
                (Ty::Timestamp, Ty::Str) => match timestamp_literal(&rhs) {
                    Some(r) => (lhs, r),
                    None => return mismatch(op, op_span, &lhs, &rhs, errors),
                },
                (Ty::Str, Ty::Timestamp) => match timestamp_literal(&lhs) {
                    Some(l) => (l, rhs),
                    None => return mismatch(op, op_span, &lhs, &rhs, errors),
                },
                _ => (lhs, rhs),
            };
            let Some(common) = common_type(lhs.ty.ty, rhs.ty.ty) else {
                return mismatch(op, op_span, &lhs, &rhs, errors);
            };
            if matches!(common, Ty::Window | Ty::StrArray | Ty::Headers) {
                errors.error(
                    op_span,
                    format!("cannot compare values of type {}", common.sql_name()),
                );
                return None;
            }
            let cmp = match op {
                BinOp::Eq => CmpOp::Eq,
                BinOp::Ne => CmpOp::Ne,
                BinOp::Lt => CmpOp::Lt,
                BinOp::Le => CmpOp::Le,
                BinOp::Gt => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            let common = if common == Ty::Null { Ty::Bool } else { common };
            Some(typed(
                ExprKind::Cmp(
                    cmp,
                    Box::new(coerce(lhs, common)),
                    Box::new(coerce(rhs, common)),
                ),
                SqlType::new(Ty::Bool, nullable),
                span,
            ))
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
            let arith = match op {
                BinOp::Add => ArithOp::Add,
                BinOp::Sub => ArithOp::Sub,
                BinOp::Mul => ArithOp::Mul,
                BinOp::Div => ArithOp::Div,
                _ => ArithOp::Rem,
            };
            let Some(result) = arith_result(arith, lhs.ty.ty, rhs.ty.ty) else {
                let hint = if op == BinOp::Add && (lhs.ty.ty == Ty::Str || rhs.ty.ty == Ty::Str) {
                    "\n= help: to join strings write `concat(a, b)`"
                } else {
                    ""
                };
                errors.error(
                    op_span,
                    format!(
                        "cannot apply `{}` to {} and {}{hint}",
                        op.symbol(),
                        lhs.ty.ty.sql_name(),
                        rhs.ty.ty.sql_name()
                    ),
                );
                return None;
            };
            // Fold arithmetic on two literals (e.g. `1 / 10.0`) so constants cost nothing.
            let operand = if arith == ArithOp::Div {
                Ty::Double
            } else {
                result
            };
            let (l, r) = (coerce(lhs, operand), coerce(rhs, operand));
            if let Some(folded) = fold_arith(arith, &l, &r) {
                return Some(literal(folded, span));
            }
            Some(typed(
                ExprKind::Arith(arith, Box::new(l), Box::new(r), Ansi::Checked),
                SqlType::new(result, nullable),
                span,
            ))
        }
    }
}

fn mismatch(
    op: BinOp,
    op_span: SpanRange,
    lhs: &Expr,
    rhs: &Expr,
    errors: &Errors,
) -> Option<Expr> {
    let hint = match (lhs.ty.ty, rhs.ty.ty) {
        (Ty::Str, t) | (t, Ty::Str) if t.is_numeric() => format!(
            "\n= help: Sluice does not convert between strings and numbers implicitly; cast one side: `cast(<string> as {})` or `cast(<number> as string)`",
            t.sql_name().to_lowercase()
        ),
        (Ty::Timestamp, Ty::Str) | (Ty::Str, Ty::Timestamp) => {
            "\n= help: a string compared with a timestamp must be a literal such as \"2024-01-01T10:00:00Z\", or use `to_timestamp(<string>)`".to_string()
        }
        _ => String::new(),
    };
    errors.error(
        op_span,
        format!(
            "cannot compare {} with {} using `{}`{hint}",
            lhs.ty.ty.sql_name(),
            rhs.ty.ty.sql_name(),
            op.symbol()
        ),
    );
    None
}

fn fold_arith(op: ArithOp, l: &Expr, r: &Expr) -> Option<Literal> {
    match (l.literal()?, r.literal()?) {
        (Literal::Double(a), Literal::Double(b)) => {
            let v = match op {
                ArithOp::Add => a + b,
                ArithOp::Sub => a - b,
                ArithOp::Mul => a * b,
                ArithOp::Div if *b != 0.0 => a / b,
                ArithOp::Rem if *b != 0.0 => a % b,
                _ => return None,
            };
            v.is_finite().then_some(Literal::Double(v))
        }
        (Literal::Long(a), Literal::Long(b)) => Some(Literal::Long(match op {
            ArithOp::Add => a.checked_add(*b)?,
            ArithOp::Sub => a.checked_sub(*b)?,
            ArithOp::Mul => a.checked_mul(*b)?,
            ArithOp::Rem if *b != 0 => a.wrapping_rem(*b),
            _ => return None,
        })),
        (Literal::Int(a), Literal::Int(b)) => Some(Literal::Int(match op {
            ArithOp::Add => a.checked_add(*b)?,
            ArithOp::Sub => a.checked_sub(*b)?,
            ArithOp::Mul => a.checked_mul(*b)?,
            ArithOp::Rem if *b != 0 => a.wrapping_rem(*b),
            _ => return None,
        })),
        _ => None,
    }
}
