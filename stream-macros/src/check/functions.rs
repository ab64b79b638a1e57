//! The scalar function library: one table row per function (name, arity, signature for
//! messages and docs), and the typing rule of each.

use crate::diagnostics::{Errors, SpanRange, did_you_mean};
use crate::plan::{Expr, ExprKind, Func, Literal, SqlType, Ty};

use super::types::{coerce, common_type};
use spark_syntax::datetime_pattern::spark_pattern_to_chrono;

/// A scalar function's entry in the library.
pub(crate) struct FunctionSpec {
    pub(crate) name: &'static str,
    pub(crate) min_args: usize,
    pub(crate) max_args: Option<usize>,
    pub(crate) signature: &'static str,
}

/// Every scalar function, for arity checks, "did you mean" and the DSL reference.
pub(crate) const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "concat",
        min_args: 1,
        max_args: None,
        signature: "concat(any, ...) -> STRING",
    },
    FunctionSpec {
        name: "lower",
        min_args: 1,
        max_args: Some(1),
        signature: "lower(STRING) -> STRING",
    },
    FunctionSpec {
        name: "upper",
        min_args: 1,
        max_args: Some(1),
        signature: "upper(STRING) -> STRING",
    },
    FunctionSpec {
        name: "trim",
        min_args: 1,
        max_args: Some(1),
        signature: "trim(STRING) -> STRING",
    },
    FunctionSpec {
        name: "length",
        min_args: 1,
        max_args: Some(1),
        signature: "length(STRING) -> INT",
    },
    FunctionSpec {
        name: "substring",
        min_args: 3,
        max_args: Some(3),
        signature: "substring(STRING, INT pos, INT len) -> STRING",
    },
    FunctionSpec {
        name: "split",
        min_args: 2,
        max_args: Some(2),
        signature: "split(STRING, \"separator\") -> ARRAY<STRING>",
    },
    FunctionSpec {
        name: "hour",
        min_args: 1,
        max_args: Some(1),
        signature: "hour(TIMESTAMP) -> INT",
    },
    FunctionSpec {
        name: "minute",
        min_args: 1,
        max_args: Some(1),
        signature: "minute(TIMESTAMP) -> INT",
    },
    FunctionSpec {
        name: "second",
        min_args: 1,
        max_args: Some(1),
        signature: "second(TIMESTAMP) -> INT",
    },
    FunctionSpec {
        name: "year",
        min_args: 1,
        max_args: Some(1),
        signature: "year(TIMESTAMP) -> INT",
    },
    FunctionSpec {
        name: "month",
        min_args: 1,
        max_args: Some(1),
        signature: "month(TIMESTAMP) -> INT",
    },
    FunctionSpec {
        name: "dayofmonth",
        min_args: 1,
        max_args: Some(1),
        signature: "dayofmonth(TIMESTAMP) -> INT",
    },
    FunctionSpec {
        name: "date_format",
        min_args: 2,
        max_args: Some(2),
        signature: "date_format(TIMESTAMP, \"pattern\") -> STRING",
    },
    FunctionSpec {
        name: "to_timestamp",
        min_args: 1,
        max_args: Some(2),
        signature: "to_timestamp(STRING[, \"pattern\"]) -> TIMESTAMP",
    },
    FunctionSpec {
        name: "try_to_timestamp",
        min_args: 1,
        max_args: Some(1),
        signature: "try_to_timestamp(STRING) -> TIMESTAMP (null if unparsable)",
    },
    FunctionSpec {
        name: "current_timestamp",
        min_args: 0,
        max_args: Some(0),
        signature: "current_timestamp() -> TIMESTAMP",
    },
    FunctionSpec {
        name: "coalesce",
        min_args: 1,
        max_args: None,
        signature: "coalesce(T, ...) -> T",
    },
    FunctionSpec {
        name: "abs",
        min_args: 1,
        max_args: Some(1),
        signature: "abs(numeric) -> numeric",
    },
    FunctionSpec {
        name: "round",
        min_args: 1,
        max_args: Some(2),
        signature: "round(numeric[, scale]) -> numeric",
    },
    FunctionSpec {
        name: "try_divide",
        min_args: 2,
        max_args: Some(2),
        signature: "try_divide(numeric, numeric) -> DOUBLE (null for a zero divisor)",
    },
    FunctionSpec {
        name: "lit",
        min_args: 1,
        max_args: Some(1),
        signature: "lit(literal) -> the literal",
    },
];

/// Aggregate function names (valid only inside `aggregate`).
pub(crate) const AGGREGATES: &[&str] = &["count", "sum", "avg", "mean", "min", "max"];

/// Spark's distinct aggregates, which streaming rejects.
pub(crate) const DISTINCT_AGGREGATES: &[&str] = &[
    "count_distinct",
    "countdistinct",
    "sum_distinct",
    "sumdistinct",
];

/// Spark aggregates that streaming allows but Sluice does not implement.
pub(crate) const UNSUPPORTED_AGGREGATES: &[&str] = &[
    "approx_count_distinct",
    "collect_list",
    "collect_set",
    "first",
    "last",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "percentile",
    "percentile_approx",
    "median",
];

/// Spark's non-time window functions, which streaming rejects.
pub(crate) const WINDOW_FUNCTIONS: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// All names a call may use, for "did you mean".
pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|f| f.name)
        .chain(AGGREGATES.iter().copied())
}

fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

fn typed(kind: ExprKind, ty: SqlType, span: SpanRange) -> Expr {
    Expr { kind, ty, span }
}

fn any_nullable(args: &[Expr]) -> bool {
    args.iter().any(|a| a.ty.nullable)
}

/// Requires argument `i` to have type `want` (numeric widening allowed for numbers).
fn expect_arg(name: &str, args: &mut [Expr], i: usize, want: Ty, errors: &Errors) -> bool {
    let got = args[i].ty.ty;
    if got == want || got == Ty::Null {
        args[i] = coerce(args[i].clone(), want);
        return true;
    }
    if want.is_numeric() && got.is_numeric() && super::types::widen_numeric(got, want) == Some(want)
    {
        args[i] = coerce(args[i].clone(), want);
        return true;
    }
    errors.error(
        args[i].span,
        format!(
            "argument {} of `{name}` must be {}, found {}",
            i + 1,
            want.sql_name(),
            args[i].ty.describe()
        ),
    );
    false
}

fn string_literal_arg(name: &str, what: &str, arg: &Expr, errors: &Errors) -> Option<String> {
    match arg.literal() {
        Some(Literal::Str(s)) => Some(s.clone()),
        _ => {
            errors.error(
                arg.span,
                format!("the {what} of `{name}` must be a string literal"),
            );
            None
        }
    }
}

/// Types a call of scalar function `name`; `None` if it is unknown or ill-typed (errors
/// recorded).
pub(crate) fn resolve_call(
    name: &str,
    name_span: SpanRange,
    mut args: Vec<Expr>,
    span: SpanRange,
    errors: &Errors,
) -> Option<Expr> {
    let Some(spec) = lookup(name) else {
        errors.error(
            name_span,
            format!(
                "unknown function `{name}`{}",
                did_you_mean(name, all_names())
            ),
        );
        return None;
    };
    if args.len() < spec.min_args || spec.max_args.is_some_and(|max| args.len() > max) {
        let expected = match spec.max_args {
            Some(max) if max == spec.min_args => format!("{max}"),
            Some(max) => format!("{} to {max}", spec.min_args),
            None => format!("at least {}", spec.min_args),
        };
        errors.error(
            span,
            format!(
                "`{name}` takes {expected} argument{}, found {}\n= note: signature: {}",
                if expected == "1" { "" } else { "s" },
                args.len(),
                spec.signature
            ),
        );
        return None;
    }
    let nullable = any_nullable(&args);
    let str_ty = SqlType::new(Ty::Str, nullable);
    let int_ty = SqlType::new(Ty::Int, nullable);
    match name {
        "lit" => Some(args.remove(0)),
        "concat" => {
            for a in &args {
                if matches!(a.ty.ty, Ty::StrArray) {
                    errors.error(
                        a.span,
                        "`concat` of arrays is not supported; concatenate strings",
                    );
                    return None;
                }
            }
            Some(typed(ExprKind::Call(Func::Concat, args), str_ty, span))
        }
        "lower" | "upper" | "trim" | "length" => {
            if !expect_arg(name, &mut args, 0, Ty::Str, errors) {
                return None;
            }
            let (func, ty) = match name {
                "lower" => (Func::Lower, str_ty),
                "upper" => (Func::Upper, str_ty),
                "trim" => (Func::Trim, str_ty),
                _ => (Func::Length, int_ty),
            };
            Some(typed(ExprKind::Call(func, args), ty, span))
        }
        "substring" => {
            let ok = expect_arg(name, &mut args, 0, Ty::Str, errors)
                & expect_arg(name, &mut args, 1, Ty::Int, errors)
                & expect_arg(name, &mut args, 2, Ty::Int, errors);
            ok.then(|| typed(ExprKind::Call(Func::Substring, args), str_ty, span))
        }
        "split" => {
            if !expect_arg(name, &mut args, 0, Ty::Str, errors) {
                return None;
            }
            let separator = string_literal_arg(name, "separator", &args[1], errors)?;
            if let Some(meta) = separator.chars().find(|c| "\\^$.|?*+()[]{}".contains(*c)) {
                errors.error(
                    args[1].span,
                    format!(
                        "`split` takes a literal separator; `{meta}` is a regular-expression metacharacter in Spark's pattern, which Sluice does not interpret"
                    ),
                );
                return None;
            }
            let input = args.remove(0);
            Some(typed(
                ExprKind::Call(Func::Split { separator }, vec![input]),
                SqlType::new(Ty::StrArray, nullable),
                span,
            ))
        }
        "hour" | "minute" | "second" | "year" | "month" | "dayofmonth" => {
            if !expect_arg(name, &mut args, 0, Ty::Timestamp, errors) {
                return None;
            }
            let func = match name {
                "hour" => Func::Hour,
                "minute" => Func::Minute,
                "second" => Func::Second,
                "year" => Func::Year,
                "month" => Func::Month,
                _ => Func::DayOfMonth,
            };
            Some(typed(ExprKind::Call(func, args), int_ty, span))
        }
        "date_format" => {
            if !expect_arg(name, &mut args, 0, Ty::Timestamp, errors) {
                return None;
            }
            let pattern = string_literal_arg(name, "pattern", &args[1], errors)?;
            let chrono = match spark_pattern_to_chrono(&pattern) {
                Ok(c) => c,
                Err(msg) => {
                    errors.error(args[1].span, msg);
                    return None;
                }
            };
            let ts = args.remove(0);
            let nullable = ts.ty.nullable;
            Some(typed(
                ExprKind::Call(Func::DateFormat { chrono }, vec![ts]),
                SqlType::new(Ty::Str, nullable),
                span,
            ))
        }
        "to_timestamp" | "try_to_timestamp" => {
            if args[0].ty.ty == Ty::Timestamp {
                return Some(args.remove(0));
            }
            if !expect_arg(name, &mut args, 0, Ty::Str, errors) {
                return None;
            }
            let func = if args.len() == 2 {
                let spark = string_literal_arg(name, "pattern", &args[1], errors)?;
                let chrono = match spark_pattern_to_chrono(&spark) {
                    Ok(c) => c,
                    Err(msg) => {
                        errors.error(args[1].span, msg);
                        return None;
                    }
                };
                args.truncate(1);
                Func::ToTimestampFormat { chrono, spark }
            } else if name == "try_to_timestamp" {
                Func::TryToTimestamp
            } else {
                Func::ToTimestamp
            };
            let nullable = args[0].ty.nullable || matches!(func, Func::TryToTimestamp);
            Some(typed(
                ExprKind::Call(func, args),
                SqlType::new(Ty::Timestamp, nullable),
                span,
            ))
        }
        "current_timestamp" => Some(typed(
            ExprKind::CurrentTimestamp,
            SqlType::non_null(Ty::Timestamp),
            span,
        )),
        "coalesce" => {
            let mut ty = Ty::Null;
            for a in &args {
                match common_type(ty, a.ty.ty) {
                    Some(t) => ty = t,
                    None => {
                        errors.error(
                            a.span,
                            format!(
                                "`coalesce` arguments must have a common type: {} and {}",
                                ty.sql_name(),
                                a.ty.ty.sql_name()
                            ),
                        );
                        return None;
                    }
                }
            }
            let nullable = args.iter().all(|a| a.ty.nullable);
            let args: Vec<Expr> = args.into_iter().map(|a| coerce(a, ty)).collect();
            Some(typed(
                ExprKind::Call(Func::Coalesce, args),
                SqlType::new(ty, nullable),
                span,
            ))
        }
        "abs" => {
            let ty = args[0].ty;
            if !ty.ty.is_numeric() {
                errors.error(
                    args[0].span,
                    format!("`abs` needs a numeric argument, found {}", ty.describe()),
                );
                return None;
            }
            Some(typed(ExprKind::Call(Func::Abs, args), ty, span))
        }
        "round" => {
            let ty = args[0].ty;
            if !ty.ty.is_numeric() {
                errors.error(
                    args[0].span,
                    format!("`round` needs a numeric argument, found {}", ty.describe()),
                );
                return None;
            }
            let scale = match args.get(1).map(Expr::literal) {
                None => 0,
                Some(Some(Literal::Int(s))) => *s,
                Some(_) => {
                    errors.error(
                        args[1].span,
                        "the scale of `round` must be an integer literal",
                    );
                    return None;
                }
            };
            args.truncate(1);
            Some(typed(ExprKind::Call(Func::Round { scale }, args), ty, span))
        }
        "try_divide" => {
            for i in 0..2 {
                if !args[i].ty.ty.is_numeric() && args[i].ty.ty != Ty::Null {
                    errors.error(
                        args[i].span,
                        format!(
                            "`try_divide` needs numeric arguments, found {}",
                            args[i].ty.describe()
                        ),
                    );
                    return None;
                }
            }
            let args: Vec<Expr> = args.into_iter().map(|a| coerce(a, Ty::Double)).collect();
            Some(typed(
                ExprKind::Call(Func::TryDivide, args),
                SqlType::new(Ty::Double, true),
                span,
            ))
        }
        _ => unreachable!("function `{name}` is in the table but has no typing rule"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_rule_for_every_function() {
        // Every table entry must be handled by `resolve_call` (it panics otherwise).
        let span = SpanRange::single(proc_macro2::Span::call_site());
        for f in FUNCTIONS {
            let errors = Errors::new();
            let args: Vec<Expr> = (0..f.min_args)
                .map(|_| super::super::types::literal(Literal::Null, span))
                .collect();
            let _ = resolve_call(f.name, span, args, span, &errors);
            let _ = errors.check();
        }
    }
}
