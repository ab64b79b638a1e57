//! Aggregate calls inside an `aggregate` clause: which function, the type of its result (Spark's
//! rules, with nulls for a global aggregation of no rows), and the accumulator it needs — one
//! per distinct call, shared by repeated uses.

use crate::diagnostics::{Errors, SpanRange};
use crate::parse;
use crate::plan::{Accumulator, AggFunc, Expr, ExprKind, SlotDef, SlotId, SqlType, Ty};

use super::expr::{Ctx, typed};
use super::relation::Relation;

/// What the columns of an `aggregate` item may refer to.
#[derive(Debug)]
pub(super) struct AggregateScope {
    /// Group keys by name, as post-aggregation slots.
    pub(super) keys: Vec<(String, SlotId)>,
    /// Accumulators created so far, with the post-aggregation slot of each result.
    pub(super) accumulators: Vec<(Accumulator, SlotId)>,
    /// A global aggregation (no keys): aggregates of no rows are null.
    pub(super) global: bool,
}

impl Relation {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn resolve_aggregate(
        &mut self,
        name: &str,
        name_span: SpanRange,
        args: &[parse::Expr],
        star: bool,
        span: SpanRange,
        scope: &mut AggregateScope,
        errors: &Errors,
    ) -> Option<Expr> {
        let func = match (name, star, args.len()) {
            ("count", true, _) | ("count", false, 0) => AggFunc::CountStar,
            ("count", false, 1) => AggFunc::Count,
            (_, true, _) => {
                errors.error(
                    span,
                    format!("`*` is only allowed in `count(*)`, not in `{name}(*)`"),
                );
                return None;
            }
            ("sum", _, 1) => AggFunc::Sum,
            ("avg" | "mean", _, 1) => AggFunc::Avg,
            ("min", _, 1) => AggFunc::Min,
            ("max", _, 1) => AggFunc::Max,
            _ => {
                errors.error(
                    span,
                    format!("`{name}` takes exactly one argument, found {}", args.len()),
                );
                return None;
            }
        };
        let _ = name_span;
        let (arg_slot, arg_ty) = if func == AggFunc::CountStar {
            (None, None)
        } else {
            let arg = self.resolve(&args[0], &mut Ctx::AggregateArg, errors)?;
            let arg_ty = arg.ty;
            // `count(x)` of a column that cannot be null counts every row.
            if func == AggFunc::Count && !arg_ty.nullable {
                (None, None)
            } else {
                let slot = self.slot_for(arg, &format!("{name}_arg"));
                (Some(slot), Some(arg_ty))
            }
        };
        let func = if func == AggFunc::Count && arg_slot.is_none() {
            AggFunc::CountStar
        } else {
            func
        };
        let nullable_result = |t: SqlType| t.nullable || scope.global;
        let ty = match (func, arg_ty) {
            (AggFunc::CountStar | AggFunc::Count, _) => SqlType::non_null(Ty::Long),
            (AggFunc::Sum, Some(t)) if t.ty.is_integral() => {
                SqlType::new(Ty::Long, nullable_result(t))
            }
            (AggFunc::Sum, Some(t)) if t.ty == Ty::Double => {
                SqlType::new(Ty::Double, nullable_result(t))
            }
            (AggFunc::Avg, Some(t)) if t.ty.is_numeric() => {
                SqlType::new(Ty::Double, nullable_result(t))
            }
            (AggFunc::Min | AggFunc::Max, Some(t))
                if matches!(
                    t.ty,
                    Ty::Bool | Ty::Int | Ty::Long | Ty::Double | Ty::Str | Ty::Timestamp
                ) =>
            {
                SqlType::new(t.ty, nullable_result(t))
            }
            (_, Some(t)) => {
                errors.error(
                    args[0].span(),
                    format!(
                        "`{name}` needs a {} argument, found {}",
                        if matches!(func, AggFunc::Min | AggFunc::Max) {
                            "comparable"
                        } else {
                            "numeric"
                        },
                        t.describe()
                    ),
                );
                return None;
            }
            (_, None) => unreachable!("only count has no argument"),
        };
        let existing = scope
            .accumulators
            .iter()
            .find(|(a, _)| a.func == func && a.arg == arg_slot)
            .map(|(_, s)| *s);
        let slot = match existing {
            Some(s) => s,
            None => {
                let index = scope.accumulators.len();
                let slot =
                    self.new_slot(SlotDef::Agg(index), ty, &format!("{}_{index}", func.name()));
                scope.accumulators.push((
                    Accumulator {
                        func,
                        span,
                        arg: arg_slot,
                        arg_ty,
                        ty,
                    },
                    slot,
                ));
                slot
            }
        };
        Some(typed(ExprKind::Slot(slot), ty, span))
    }
}
