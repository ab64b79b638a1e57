//! Name resolution and typing of expressions against a relation's columns.

use syn::Lit;

use crate::diagnostics::{Errors, SpanRange, closest, did_you_mean, with_note};
use crate::parse::{self, BinOp};
use crate::plan::{Expr, ExprKind, Literal, SqlType, Ty};

use super::aggregate_call::AggregateScope;
use super::known_names::{
    AGGREGATES, DISTINCT_AGGREGATES, UNSUPPORTED_AGGREGATES, WINDOW_FUNCTIONS, is_known_name,
    meant_function,
};
use super::operators::binary;
use super::relation::Relation;
use super::types::{can_cast, coerce, common_type, literal};

/// The context an expression is resolved in.
pub(super) enum Ctx<'a> {
    /// A row: columns are the relation's columns.
    Row,
    /// Inside an aggregate function's argument.
    AggregateArg,
    /// An `aggregate` item: columns must be keys; aggregate calls are allowed.
    Aggregate(&'a mut AggregateScope),
}

pub(super) fn typed(kind: ExprKind, ty: SqlType, span: SpanRange) -> Expr {
    Expr { kind, ty, span }
}

impl Relation {
    /// Resolves and types an expression; `None` if it has errors (they are recorded).
    pub(super) fn resolve(
        &mut self,
        e: &parse::Expr,
        ctx: &mut Ctx<'_>,
        errors: &Errors,
    ) -> Option<Expr> {
        let span = e.span();
        match e {
            parse::Expr::Column(ident) => self.resolve_column(ident, ctx, errors),
            parse::Expr::Field { base, field } if super::join::is_qualifier(self, base) => {
                match super::join::qualified(self, base, field) {
                    Some(slot) => Some(typed(ExprKind::Slot(slot), self.slots[slot.0].ty, span)),
                    None => {
                        let names: Vec<String> = self
                            .qualified
                            .iter()
                            .map(|(q, c)| format!("{q}.{}", c.name))
                            .collect();
                        let written = match &**base {
                            parse::Expr::Column(q) => {
                                format!("{}.{}", ident_name(q), ident_name(field))
                            }
                            _ => ident_name(field),
                        };
                        errors.error(
                            span,
                            format!(
                                "unknown column `{written}`{}\n= note: available columns: {}",
                                did_you_mean(&written, names.iter().map(String::as_str)),
                                names.join(", ")
                            ),
                        );
                        None
                    }
                }
            }
            parse::Expr::Field { base, field } => {
                let base = self.resolve(base, ctx, errors)?;
                let name = field.to_string();
                if base.ty.ty != Ty::Window {
                    errors.error(
                        SpanRange::single(field.span()),
                        format!("no field `{name}` on a value of type {}; only a window has fields (`start`, `end`)", base.ty.describe()),
                    );
                    return None;
                }
                let end = match name.as_str() {
                    "start" => false,
                    "end" => true,
                    _ => {
                        errors.error(
                            SpanRange::single(field.span()),
                            format!(
                                "a window has fields `start` and `end`, not `{name}`{}",
                                did_you_mean(&name, ["start", "end"])
                            ),
                        );
                        return None;
                    }
                };
                let nullable = base.ty.nullable;
                Some(typed(
                    ExprKind::WindowField {
                        window: Box::new(base),
                        end,
                    },
                    SqlType::new(Ty::Timestamp, nullable),
                    span,
                ))
            }
            parse::Expr::Lit(lit) => resolve_literal(lit, errors),
            parse::Expr::Null(s) => Some(literal(Literal::Null, SpanRange::single(*s))),
            parse::Expr::Neg { expr, .. } => {
                let inner = self.resolve(expr, ctx, errors)?;
                if let ExprKind::Lit(lit) = &inner.kind {
                    let folded = match lit {
                        Literal::Int(i) => i.checked_neg().map(Literal::Int),
                        Literal::Long(i) => i.checked_neg().map(Literal::Long),
                        Literal::Double(d) => Some(Literal::Double(-d)),
                        _ => None,
                    };
                    if let Some(l) = folded {
                        return Some(literal(l, span));
                    }
                }
                if !inner.ty.ty.is_numeric() && inner.ty.ty != Ty::Null {
                    errors.error(
                        span,
                        format!("cannot negate a value of type {}", inner.ty.describe()),
                    );
                    return None;
                }
                let ty = inner.ty;
                Some(typed(ExprKind::Neg(Box::new(inner)), ty, span))
            }
            parse::Expr::Not { expr, .. } => {
                let inner = self.resolve(expr, ctx, errors)?;
                let inner = expect_bool(inner, "`not`", errors)?;
                let ty = SqlType::new(Ty::Bool, inner.ty.nullable);
                Some(typed(ExprKind::Not(Box::new(inner)), ty, span))
            }
            parse::Expr::Binary {
                op: op @ (BinOp::Add | BinOp::Sub),
                lhs,
                rhs,
                ..
            } if matches!(**rhs, parse::Expr::Interval(_))
                || (*op == BinOp::Add && matches!(**lhs, parse::Expr::Interval(_))) =>
            {
                let (ts, interval) = match (&**lhs, &**rhs) {
                    (_, parse::Expr::Interval(i)) => (lhs, i),
                    (parse::Expr::Interval(i), _) => (rhs, i),
                    _ => unreachable!("one operand is an interval"),
                };
                let ts = self.resolve(ts, ctx, errors)?;
                if !matches!(ts.ty.ty, Ty::Timestamp | Ty::Null) {
                    errors.error(
                        ts.span,
                        format!(
                            "an interval is added to or subtracted from a TIMESTAMP, not {}",
                            ts.ty.describe()
                        ),
                    );
                    return None;
                }
                let micros = if *op == BinOp::Sub {
                    -interval.micros
                } else {
                    interval.micros
                };
                let ty = SqlType::new(Ty::Timestamp, ts.ty.nullable || ts.ty.ty == Ty::Null);
                Some(typed(ExprKind::TimeShift(Box::new(ts), micros), ty, span))
            }
            parse::Expr::Interval(_) => {
                errors.error_with_help(
                    span,
                    "an interval is only allowed added to or subtracted from a timestamp",
                    "write e.g. `ts + interval 20 seconds`",
                );
                None
            }
            parse::Expr::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                let l = self.resolve(lhs, ctx, errors);
                let r = self.resolve(rhs, ctx, errors);
                binary(*op, SpanRange::single(*op_span), l?, r?, span, errors)
            }
            parse::Expr::IsNull { expr, negated, .. } => {
                let inner = self.resolve(expr, ctx, errors)?;
                Some(typed(
                    ExprKind::IsNull {
                        expr: Box::new(inner),
                        negated: *negated,
                    },
                    SqlType::non_null(Ty::Bool),
                    span,
                ))
            }
            parse::Expr::InList {
                expr,
                list,
                negated,
                ..
            } => {
                // `x in (a, b)` is `x == a or x == b`, with SQL's null semantics.
                let needle = self.resolve(expr, ctx, errors);
                let items: Vec<Option<Expr>> =
                    list.iter().map(|v| self.resolve(v, ctx, errors)).collect();
                let needle = needle?;
                let mut acc: Option<Expr> = None;
                for item in items {
                    let item = item?;
                    let item_span = item.span;
                    let eq = binary(
                        BinOp::Eq,
                        item_span,
                        needle.clone(),
                        item,
                        item_span,
                        errors,
                    )?;
                    acc = Some(match acc {
                        None => eq,
                        Some(prev) => {
                            let ty = SqlType::new(Ty::Bool, prev.ty.nullable || eq.ty.nullable);
                            typed(ExprKind::Or(Box::new(prev), Box::new(eq)), ty, span)
                        }
                    });
                }
                let mut result = acc?;
                result.span = span;
                if *negated {
                    let ty = result.ty;
                    result = typed(ExprKind::Not(Box::new(result)), ty, span);
                }
                Some(result)
            }
            parse::Expr::Case {
                operand,
                branches,
                otherwise,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(self.resolve(o, ctx, errors)?),
                    None => None,
                };
                let mut conds = Vec::new();
                let mut values = Vec::new();
                let mut ok = true;
                for (c, v) in branches {
                    let cond = self.resolve(c, ctx, errors);
                    let value = self.resolve(v, ctx, errors);
                    let cond = match (cond, &operand) {
                        (Some(c), Some(o)) => {
                            binary(BinOp::Eq, c.span, o.clone(), c.clone(), c.span, errors)
                        }
                        (Some(c), None) => expect_bool(c, "a `when` condition", errors),
                        (None, _) => None,
                    };
                    match (cond, value) {
                        (Some(c), Some(v)) => {
                            conds.push(c);
                            values.push(v);
                        }
                        _ => ok = false,
                    }
                }
                let otherwise = match otherwise {
                    Some(o) => Some(self.resolve(o, ctx, errors)?),
                    None => None,
                };
                if !ok {
                    return None;
                }
                let mut ty = Ty::Null;
                for v in values.iter().chain(otherwise.iter()) {
                    match common_type(ty, v.ty.ty) {
                        Some(t) => ty = t,
                        None => {
                            errors.error_with_help(
                                v.span,
                                format!(
                                    "`case` branches must have a common type: this one is {}, earlier ones are {}",
                                    v.ty.ty.sql_name(),
                                    ty.sql_name()
                                ),
                                format!(
                                    "convert it: `cast(<value> as {})`",
                                    ty.sql_name().to_lowercase()
                                ),
                            );
                            return None;
                        }
                    }
                }
                let nullable = otherwise.is_none()
                    || values.iter().chain(otherwise.iter()).any(|v| v.ty.nullable);
                let branches = conds
                    .into_iter()
                    .zip(values.into_iter().map(|v| coerce(v, ty)))
                    .collect();
                let otherwise = otherwise.map(|o| Box::new(coerce(o, ty)));
                Some(typed(
                    ExprKind::Case {
                        branches,
                        otherwise,
                    },
                    SqlType::new(ty, nullable),
                    span,
                ))
            }
            parse::Expr::Cast { expr, ty, .. } => {
                let inner = self.resolve(expr, ctx, errors)?;
                let target = match cast_target(&ty.to_string()) {
                    Ok(t) => t,
                    Err(msg) => {
                        errors.error(SpanRange::single(ty.span()), msg);
                        return None;
                    }
                };
                if !can_cast(inner.ty.ty, target) {
                    errors.error(
                        span,
                        format!(
                            "cannot cast {} to {}",
                            inner.ty.ty.sql_name(),
                            target.sql_name()
                        ),
                    );
                    return None;
                }
                if inner.ty.ty == target {
                    return Some(inner);
                }
                let nullable = inner.ty.nullable;
                Some(typed(
                    ExprKind::Cast(Box::new(inner)),
                    SqlType::new(target, nullable),
                    span,
                ))
            }
            parse::Expr::Call {
                name, args, star, ..
            } => self.resolve_call(name, args, *star, span, ctx, errors),
        }
    }

    fn resolve_column(
        &mut self,
        ident: &syn::Ident,
        ctx: &mut Ctx<'_>,
        errors: &Errors,
    ) -> Option<Expr> {
        let name = ident_name(ident);
        let span = SpanRange::single(ident.span());
        if self.poisoned.contains(&name) {
            // Its definition failed, and said so.
            return None;
        }
        if self.column(&name).is_none()
            && let Some((_, could_be)) = self.ambiguous.iter().find(|(n, _)| *n == name)
        {
            let could_be: Vec<String> = could_be
                .iter()
                .map(|q| {
                    let (a, b) = q.split_once('.').expect("a qualified name");
                    format!("`{a}`.`{b}`")
                })
                .collect();
            errors.error_with_help(
                span,
                format!(
                    "[AMBIGUOUS_REFERENCE] Reference `{name}` is ambiguous, could be: [{}].",
                    could_be.join(", ")
                ),
                format!("both sides of the join have a column `{name}`: qualify it"),
            );
            return None;
        }
        if let Ctx::Aggregate(scope) = ctx {
            if let Some((_, slot)) = scope.keys.iter().find(|(k, _)| *k == name) {
                return Some(typed(ExprKind::Slot(*slot), self.slots[slot.0].ty, span));
            }
            if self.column(&name).is_some() {
                errors.error_with_help(
                    span,
                    format!("column `{name}` is neither a `group by` key nor inside an aggregate function"),
                    format!("aggregate it, e.g. `max({name})`, or add it to `group by`"),
                );
            } else {
                let keys: Vec<&str> = scope.keys.iter().map(|(k, _)| k.as_str()).collect();
                errors.error(
                    span,
                    format!(
                        "unknown column `{name}`{}",
                        did_you_mean(&name, keys.clone())
                    ),
                );
                // Carry on with the key meant, so what is built on it is still checked.
                let meant = closest(&name, keys)?.to_string();
                let (_, slot) = scope.keys.iter().find(|(k, _)| *k == meant)?;
                return Some(typed(ExprKind::Slot(*slot), self.slots[slot.0].ty, span));
            }
            return None;
        }
        match self.column(&name) {
            Some(slot) => Some(typed(ExprKind::Slot(slot), self.slots[slot.0].ty, span)),
            None => {
                let names: Vec<String> = self.scope.iter().map(|c| c.name.clone()).collect();
                let hint = did_you_mean(&name, names.iter().map(String::as_str));
                let available = names.join(", ");
                errors.error(
                    span,
                    format!(
                        "unknown column `{name}`{hint}\n= note: available columns: {available}"
                    ),
                );
                // Carry on with the column meant (the hint's), so that what is built on it
                // (an aggregate, an output column) still has a type and raises no further error.
                let meant = closest(&name, names.iter().map(String::as_str))?;
                let slot = self.column(meant)?;
                Some(typed(ExprKind::Slot(slot), self.slots[slot.0].ty, span))
            }
        }
    }

    fn resolve_call(
        &mut self,
        name: &syn::Ident,
        args: &[parse::Expr],
        star: bool,
        span: SpanRange,
        ctx: &mut Ctx<'_>,
        errors: &Errors,
    ) -> Option<Expr> {
        let mut lower = name.to_string().to_lowercase();
        let name_span = SpanRange::single(name.span());
        if !is_known_name(&lower) {
            // An unknown name is the mistake; its arguments are not the problem (in an
            // `aggregate`, each column would otherwise be reported as neither a key nor
            // aggregated). Carry on as the function meant, if one is close, so the column it
            // defines keeps a type.
            let meant = meant_function(&lower);
            errors.error(
                name_span,
                format!(
                    "unknown function `{lower}`{}",
                    meant.map_or(String::new(), |m| format!("; did you mean `{m}`?"))
                ),
            );
            lower = meant?.to_string();
        }
        if DISTINCT_AGGREGATES.contains(&lower.as_str()) {
            // Spark's message goes on to suggest approx_count_distinct(), which Sluice lacks.
            errors.error_with_help(
                span,
                "Distinct aggregations are not supported on streaming DataFrames/Datasets",
                "group by the column instead (`group by <column>; aggregate n = count();`): each distinct value is one group",
            );
            return None;
        }
        if UNSUPPORTED_AGGREGATES.contains(&lower.as_str()) {
            errors.error(
                span,
                with_note(
                    format!("aggregate function `{lower}` is not supported"),
                    "the aggregates are count(*), count(x), sum(x), avg(x) (or mean), min(x) and max(x)",
                ),
            );
            return None;
        }
        if WINDOW_FUNCTIONS.contains(&lower.as_str()) {
            errors.error_with_help(
                span,
                format!("[NON_TIME_WINDOW_NOT_SUPPORTED_IN_STREAMING] Window function is not supported in {}() on streaming DataFrames/Datasets. Structured Streaming only supports time-window aggregation using the WINDOW function.", lower.to_uppercase()),
                "aggregate over event-time windows instead: `group by window(<timestamp column>, <size>); aggregate ...;`",
            );
            return None;
        }
        if lower == "window" || lower == "session_window" {
            errors.error(
                span,
                format!("`{lower}(...)` is only allowed as a `group by` key"),
            );
            return None;
        }
        if super::generate::is_generator(&lower) {
            super::generate::misplaced_generator(self, &lower, span, errors);
            return None;
        }
        if AGGREGATES.contains(&lower.as_str()) {
            let scope = match ctx {
                Ctx::Aggregate(scope) => scope,
                Ctx::AggregateArg => {
                    errors.error(
                        span,
                        format!(
                            "aggregate function `{lower}` cannot be nested inside another aggregate"
                        ),
                    );
                    return None;
                }
                Ctx::Row => {
                    errors.error_with_help(
                        span,
                        format!(
                            "aggregate function `{lower}` is only allowed in an `aggregate` clause"
                        ),
                        format!("write `group by <keys>; aggregate <name> = {lower}(...);`"),
                    );
                    return None;
                }
            };
            return self.resolve_aggregate(&lower, name_span, args, star, span, scope, errors);
        }
        let spec = crate::functions::lookup(&lower)?;
        if star {
            errors.error(
                span,
                format!("`*` is only allowed in `count(*)`, not in `{lower}(*)`"),
            );
            return None;
        }
        let resolved: Vec<Option<Expr>> =
            args.iter().map(|a| self.resolve(a, ctx, errors)).collect();
        let resolved: Option<Vec<Expr>> = resolved.into_iter().collect();
        crate::functions::resolve_call(spec, resolved?, span, errors)
    }
}

/// The column name of an identifier (`r#type` names the column `type`).
pub(super) fn ident_name(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

fn resolve_literal(lit: &Lit, errors: &Errors) -> Option<Expr> {
    let span = SpanRange::single(lit.span());
    let value = match lit {
        Lit::Int(i) => match i.suffix() {
            "" => match i.base10_parse::<i32>() {
                Ok(v) => Literal::Int(v),
                Err(_) => Literal::Long(errors.record(i.base10_parse::<i64>())?),
            },
            "i32" => Literal::Int(errors.record(i.base10_parse::<i32>())?),
            "i64" | "L" => Literal::Long(errors.record(i.base10_parse::<i64>())?),
            "f64" | "D" => Literal::Double(errors.record(i.base10_parse::<f64>())?),
            other => {
                errors.error(
                    span,
                    format!("unsupported literal suffix `{other}`; use `i32`, `i64` or `f64`"),
                );
                return None;
            }
        },
        Lit::Float(f) => match f.suffix() {
            "" | "f64" | "D" => Literal::Double(errors.record(f.base10_parse::<f64>())?),
            other => {
                errors.error(span, format!("unsupported literal suffix `{other}`; Sluice's only floating-point type is `f64` (Spark's DOUBLE)"));
                return None;
            }
        },
        Lit::Str(s) => Literal::Str(s.value()),
        Lit::Bool(b) => Literal::Bool(b.value),
        Lit::Char(c) => {
            errors.error(
                span,
                format!("strings use double quotes: \"{}\"", c.value()),
            );
            return None;
        }
        _ => {
            errors.error(
                span,
                "unsupported literal; expected a number, a \"string\", `true`, `false` or `null`",
            );
            return None;
        }
    };
    Some(literal(value, span))
}

pub(super) fn expect_bool(e: Expr, what: &str, errors: &Errors) -> Option<Expr> {
    match e.ty.ty {
        Ty::Bool => Some(e),
        Ty::Null => Some(coerce(e, Ty::Bool)),
        other => {
            errors.error(
                e.span,
                format!("{what} must be BOOLEAN, found {}", other.sql_name()),
            );
            None
        }
    }
}

fn cast_target(name: &str) -> Result<Ty, String> {
    Ok(match name.to_lowercase().as_str() {
        "string" | "str" | "varchar" => Ty::Str,
        "int" | "integer" | "i32" => Ty::Int,
        "bigint" | "long" | "i64" => Ty::Long,
        "double" | "f64" => Ty::Double,
        "boolean" | "bool" => Ty::Bool,
        "timestamp" => Ty::Timestamp,
        "binary" => Ty::Binary,
        "float" | "f32" | "real" => {
            return Err("Sluice has no 32-bit floating-point type; cast to `double`".into());
        }
        "decimal" => return Err("Sluice has no DECIMAL type; cast to `double` or `bigint`".into()),
        other => {
            return Err(with_note(
                format!(
                    "unknown type `{other}` in cast{}",
                    did_you_mean(
                        other,
                        [
                            "string",
                            "int",
                            "bigint",
                            "double",
                            "boolean",
                            "timestamp",
                            "binary"
                        ]
                    )
                ),
                "the types are string, int, bigint, double, boolean, timestamp and binary",
            ));
        }
    })
}
#[cfg(test)]
mod tests;
