//! Cheap group keys: a group key whose value is an injective function of something cheaper is
//! stored as that cheaper thing, and the string is rebuilt only when a group is emitted:
//!
//! - `concat("Room_", value % 5)` is keyed by the integer `value % 5`;
//! - `case when ... then "view" when ... then "click" else "purchase" end` is keyed by the index
//!   of the distinct result string.
//!
//! Either way no `String` is allocated per input row to look up its group.

use crate::functions::CONCAT;
use crate::plan::{Expr, ExprKind, KeyRepr, Literal, PipelinePlan, SlotDef, SlotId, Ty};

/// Rewrites the representation of every group key that has a cheaper one.
pub(super) fn cheap_keys(plan: &mut PipelinePlan) {
    let Some(mut agg) = plan.aggregate.take() else {
        return;
    };
    for key in &mut agg.keys {
        let KeyRepr::Direct { slot } = key.repr else {
            continue;
        };
        let SlotDef::Let(expr) = plan.slots[slot.0].def.clone() else {
            continue;
        };
        if let Some(repr) = concat_int(plan, &expr, &key.name) {
            key.repr = repr;
        } else if let Some(repr) = case_index(&expr) {
            key.repr = repr;
        }
    }
    plan.aggregate = Some(agg);
}

/// `concat(literals..., n, literals...)` with exactly one integral non-literal argument.
fn concat_int(plan: &mut PipelinePlan, expr: &Expr, key_name: &str) -> Option<KeyRepr> {
    let ExprKind::Call(call) = &expr.kind else {
        return None;
    };
    if !call.is(&CONCAT) {
        return None;
    }
    let args = &call.args;
    let mut prefix = String::new();
    let mut suffix = String::new();
    let mut inner: Option<Expr> = None;
    for arg in args {
        match (&arg.kind, &inner) {
            (ExprKind::Lit(Literal::Str(s)), None) => prefix.push_str(s),
            (ExprKind::Lit(Literal::Str(s)), Some(_)) => suffix.push_str(s),
            (_, None) => inner = Some(integral_source(plan, arg)?),
            _ => return None,
        }
    }
    let inner = inner?;
    let slot = match inner.kind {
        ExprKind::Slot(s) => s,
        _ => {
            let ty = inner.ty;
            let name = format!("{key_name}_key");
            plan.slots.push(crate::plan::Slot {
                def: SlotDef::Let(inner),
                ty,
                name,
            });
            SlotId(plan.slots.len() - 1)
        }
    };
    Some(KeyRepr::ConcatInt {
        prefix,
        inner: slot,
        suffix,
    })
}

/// The integer a `concat` argument prints: the argument itself if it is integral, or the
/// integral value inside `cast(<int> as string)` (directly or through a computed column, as in
/// the seed's `room_id = cast(value % 5 as string)`) — the cast prints exactly what `concat`
/// would.
fn integral_source(plan: &PipelinePlan, e: &Expr) -> Option<Expr> {
    if e.ty.ty.is_integral() {
        return Some(e.clone());
    }
    match &e.kind {
        ExprKind::Cast(inner) if e.ty.ty == Ty::Str && inner.ty.ty.is_integral() => {
            Some((**inner).clone())
        }
        ExprKind::Slot(s) if e.ty.ty == Ty::Str => match &plan.slots[s.0].def {
            SlotDef::Let(def) => integral_source(plan, def),
            _ => None,
        },
        _ => None,
    }
}

/// `case when c1 then "a" ... [else "z"] end` where every result is a string literal.
fn case_index(expr: &Expr) -> Option<KeyRepr> {
    if expr.ty.ty != Ty::Str {
        return None;
    }
    let ExprKind::Case {
        branches,
        otherwise,
    } = &expr.kind
    else {
        return None;
    };
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    for (cond, value) in branches {
        let ExprKind::Lit(Literal::Str(s)) = &value.kind else {
            return None;
        };
        conditions.push(cond.clone());
        values.push(s.clone());
    }
    let otherwise = match otherwise.as_deref().map(|o| &o.kind) {
        None | Some(ExprKind::Lit(Literal::Null)) => None,
        Some(ExprKind::Lit(Literal::Str(s))) => Some(s.clone()),
        Some(_) => return None,
    };
    if values.len() > 200 {
        return None;
    }
    Some(KeyRepr::CaseIndex {
        conditions,
        values,
        otherwise,
    })
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{plan, render};
    use crate::plan::{KeyRepr, PipelinePlan};

    fn keys(src: &str) -> (PipelinePlan, Vec<KeyRepr>) {
        let p = plan(src);
        let keys = p
            .aggregate
            .as_ref()
            .expect("an aggregation")
            .keys
            .iter()
            .map(|k| k.repr.clone())
            .collect();
        (p, keys)
    }

    #[test]
    fn concat_of_literals_and_one_integer_is_keyed_by_the_integer() {
        let (p, keys) = keys(
            "query Q from Rate {
                with room = concat(\"Room_\", value % 5), tagged = concat(\"<\", value, \">\");
                group by room, tagged;
                aggregate n = count();
            }",
        );
        let KeyRepr::ConcatInt {
            prefix,
            inner,
            suffix,
        } = &keys[0]
        else {
            panic!("{:?}", keys[0])
        };
        assert_eq!((prefix.as_str(), suffix.as_str()), ("Room_", ""));
        // The key stores the integer expression, in a slot of its own.
        let crate::plan::SlotDef::Let(e) = &p.slot(*inner).def else {
            panic!()
        };
        assert_eq!(render(&p, e), "(value % 5L)");
        let KeyRepr::ConcatInt {
            prefix,
            inner,
            suffix,
        } = &keys[1]
        else {
            panic!("{:?}", keys[1])
        };
        assert_eq!((prefix.as_str(), suffix.as_str()), ("<", ">"));
        assert_eq!(p.slot(*inner).name, "value");
    }

    #[test]
    fn other_concats_stay_strings() {
        let (_, keys) = keys(
            "schema S { s: String, i: i64, d: f64 }
             query Q from S {
                group by a = concat(\"x\", s), b = concat(i, i), c = concat(\"x\", d), e = s;
                aggregate n = count();
             }",
        );
        assert!(
            keys.iter().all(|k| matches!(k, KeyRepr::Direct { .. })),
            "{keys:?}"
        );
    }

    #[test]
    fn case_of_string_literals_is_keyed_by_branch() {
        let (p, keys) = keys(
            "query Q from Rate {
                group by action = case when value % 10 < 6 then \"view\"
                                       when value % 10 < 9 then \"click\"
                                       else \"purchase\" end,
                         bucket = case when value < 3 then \"low\" when value > 9 then \"low\" end;
                aggregate n = count();
            }",
        );
        let KeyRepr::CaseIndex {
            conditions,
            values,
            otherwise,
        } = &keys[0]
        else {
            panic!("{:?}", keys[0])
        };
        let conditions: Vec<String> = conditions.iter().map(|c| render(&p, c)).collect();
        assert_eq!(
            conditions,
            ["((value % 10L) Lt 6L)", "((value % 10L) Lt 9L)"]
        );
        assert_eq!(values, &["view", "click"]);
        assert_eq!(otherwise.as_deref(), Some("purchase"));
        // No `else`: the key is nullable.
        let KeyRepr::CaseIndex {
            values, otherwise, ..
        } = &keys[1]
        else {
            panic!("{:?}", keys[1])
        };
        assert_eq!(
            (values.as_slice(), otherwise),
            (&["low".to_string(), "low".to_string()][..], &None)
        );
        assert!(p.aggregate.as_ref().unwrap().keys[1].ty.nullable);
    }

    #[test]
    fn other_cases_stay_values() {
        let (_, keys) = keys(
            "schema S { s: String, i: i64 }
             query Q from S {
                group by a = case when i > 1 then s else \"x\" end,
                         b = case when i > 1 then 1 else 2 end;
                aggregate n = count();
             }",
        );
        assert!(
            keys.iter().all(|k| matches!(k, KeyRepr::Direct { .. })),
            "{keys:?}"
        );
    }

    #[test]
    fn keys_outside_an_aggregation_are_untouched() {
        let p = plan("query Q from Rate { select room = concat(\"Room_\", value % 5); }");
        assert!(p.aggregate.is_none());
        assert_eq!(p.slots.len(), 3);
    }
}
