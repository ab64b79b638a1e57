//! Spark SQL's typing rules, one function per rule. Implicit conversions become explicit
//! `Cast` nodes (folded away on literals), so codegen never has to guess.

use crate::diagnostics::SpanRange;
use crate::plan::{ArithOp, Expr, ExprKind, Literal, SqlType, Ty};

/// Numeric widening (`int < bigint < double`): the type both operands of `+ - * %` and of a
/// numeric comparison are cast to. Spark's `TypeCoercion.findTightestCommonType`.
pub(crate) fn widen_numeric(a: Ty, b: Ty) -> Option<Ty> {
    match (a, b) {
        (Ty::Double, t) | (t, Ty::Double) if t.is_numeric() || t == Ty::Null => Some(Ty::Double),
        (Ty::Long, t) | (t, Ty::Long) if t.is_numeric() || t == Ty::Null => Some(Ty::Long),
        (Ty::Int, Ty::Int) | (Ty::Int, Ty::Null) | (Ty::Null, Ty::Int) => Some(Ty::Int),
        _ => None,
    }
}

/// The common type of values that must agree (`case` branches, `coalesce` arguments,
/// comparison operands, `in` lists): equal types, numeric widening, or `null` adopting the
/// other side.
pub(crate) fn common_type(a: Ty, b: Ty) -> Option<Ty> {
    if a == b {
        return Some(a);
    }
    match (a, b) {
        (Ty::Null, t) | (t, Ty::Null) => Some(t),
        _ => widen_numeric(a, b),
    }
}

/// The result type of an arithmetic operator. Spark: `/` always yields a double (integral
/// operands are cast first); `+ - * %` keep the widened operand type, so `bigint % int` is a
/// `bigint`.
pub(crate) fn arith_result(op: ArithOp, a: Ty, b: Ty) -> Option<Ty> {
    let widened = widen_numeric(a, b)?;
    Some(match op {
        ArithOp::Div => Ty::Double,
        _ if widened == Ty::Null => Ty::Int,
        _ => widened,
    })
}

/// Whether an explicit `cast(x as T)` from `from` to `to` exists (Spark's `Cast.canCast`
/// restricted to Sluice's types).
pub(crate) fn can_cast(from: Ty, to: Ty) -> bool {
    use Ty::*;
    if from == to || from == Null {
        return true;
    }
    match to {
        Str => true,
        Bool => matches!(from, Int | Long | Double | Str),
        Int | Long | Double => matches!(from, Int | Long | Double | Bool | Str | Timestamp),
        Timestamp => matches!(from, Int | Long | Double | Str),
        // Spark casts a string to its UTF-8 bytes; nothing else becomes binary.
        Binary => from == Str,
        Window | StrArray | Headers | Null => false,
    }
}

/// Converts `expr` to type `to`, as an implicit coercion: literals are converted at compile time,
/// anything else gets a `Cast` node. Nullability is kept.
pub(crate) fn coerce(expr: Expr, to: Ty) -> Expr {
    if expr.ty.ty == to {
        return expr;
    }
    let ty = SqlType::new(to, expr.ty.nullable);
    let span = expr.span;
    if let ExprKind::Lit(lit) = &expr.kind {
        let folded = match (lit, to) {
            (Literal::Null, _) => Some(Literal::Null),
            (Literal::Int(i), Ty::Long) => Some(Literal::Long(i64::from(*i))),
            (Literal::Int(i), Ty::Double) => Some(Literal::Double(f64::from(*i))),
            (Literal::Long(i), Ty::Double) => Some(Literal::Double(*i as f64)),
            _ => None,
        };
        if let Some(lit) = folded {
            return Expr {
                kind: ExprKind::Lit(lit),
                ty,
                span,
            };
        }
    }
    Expr {
        kind: ExprKind::Cast(Box::new(expr)),
        ty,
        span,
    }
}

/// A string literal compared with a timestamp is read as a timestamp at compile time (Spark
/// casts the string); `None` if it does not parse.
pub(crate) fn timestamp_literal(expr: &Expr) -> Option<Expr> {
    let ExprKind::Lit(Literal::Str(text)) = &expr.kind else {
        return None;
    };
    let micros = parse_timestamp(text)?;
    Some(Expr {
        kind: ExprKind::Lit(Literal::Timestamp(micros)),
        ty: SqlType::non_null(Ty::Timestamp),
        span: expr.span,
    })
}

/// Parses the timestamp forms Spark accepts in a cast from string (UTC when no zone).
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    let normalized = s.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(dt.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return Some(n.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc().timestamp_micros())
}

/// A typed literal expression.
pub(crate) fn literal(lit: Literal, span: SpanRange) -> Expr {
    let ty = match &lit {
        Literal::Bool(_) => SqlType::non_null(Ty::Bool),
        Literal::Int(_) => SqlType::non_null(Ty::Int),
        Literal::Long(_) => SqlType::non_null(Ty::Long),
        Literal::Double(_) => SqlType::non_null(Ty::Double),
        Literal::Str(_) => SqlType::non_null(Ty::Str),
        Literal::Timestamp(_) => SqlType::non_null(Ty::Timestamp),
        Literal::Null => SqlType::new(Ty::Null, true),
    };
    Expr {
        kind: ExprKind::Lit(lit),
        ty,
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_arithmetic_types() {
        assert_eq!(
            arith_result(ArithOp::Rem, Ty::Long, Ty::Int),
            Some(Ty::Long)
        );
        assert_eq!(
            arith_result(ArithOp::Add, Ty::Int, Ty::Long),
            Some(Ty::Long)
        );
        assert_eq!(
            arith_result(ArithOp::Div, Ty::Long, Ty::Int),
            Some(Ty::Double)
        );
        assert_eq!(
            arith_result(ArithOp::Add, Ty::Long, Ty::Double),
            Some(Ty::Double)
        );
        assert_eq!(arith_result(ArithOp::Add, Ty::Str, Ty::Int), None);
        assert_eq!(arith_result(ArithOp::Mul, Ty::Timestamp, Ty::Int), None);
    }

    #[test]
    fn common_types() {
        assert_eq!(common_type(Ty::Str, Ty::Null), Some(Ty::Str));
        assert_eq!(common_type(Ty::Int, Ty::Double), Some(Ty::Double));
        assert_eq!(common_type(Ty::Str, Ty::Int), None);
        assert!(can_cast(Ty::Long, Ty::Str));
        assert!(can_cast(Ty::Str, Ty::Timestamp));
        assert!(!can_cast(Ty::Window, Ty::Long));
        assert!(can_cast(Ty::Binary, Ty::Str));
        assert!(can_cast(Ty::Str, Ty::Binary));
        assert!(can_cast(Ty::Headers, Ty::Str));
        assert!(!can_cast(Ty::Binary, Ty::Long));
        assert!(!can_cast(Ty::Long, Ty::Binary));
    }

    #[test]
    fn literals_fold() {
        let span = SpanRange::single(proc_macro2::Span::call_site());
        let e = coerce(literal(Literal::Int(25), span), Ty::Double);
        assert!(matches!(e.kind, ExprKind::Lit(Literal::Double(d)) if d == 25.0));
        let e =
            timestamp_literal(&literal(Literal::Str("2024-01-01T10:00:00Z".into()), span)).unwrap();
        assert!(matches!(
            e.kind,
            ExprKind::Lit(Literal::Timestamp(1_704_103_200_000_000))
        ));
        assert_eq!(
            parse_timestamp("2024-01-01 10:00:00"),
            Some(1_704_103_200_000_000)
        );
        assert_eq!(parse_timestamp("nope"), None);
    }
}
