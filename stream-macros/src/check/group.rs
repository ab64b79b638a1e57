//! `group by` keys (columns, named expressions, an event-time window) and the `aggregate`
//! clause that completes them.

use syn::Ident;

use crate::diagnostics::{Errors, SpanRange, did_you_mean};
use crate::parse::{self, GroupItem};
use crate::plan::{Aggregate, GroupKey, KeyRepr, SlotDef, SqlType, Ty};

use super::aggregate_call::AggregateScope;
use super::expr::{Ctx, ident_name};
use super::relation::{Column, Relation};

/// A `group by` key before the `aggregate` clause is seen.
#[derive(Debug)]
pub(super) struct PendingKey {
    name: String,
    span: SpanRange,
    /// The output column's Rust field name, as written (`r#type` stays raw).
    ident: Ident,
    repr: KeyRepr,
    ty: SqlType,
}

pub(super) fn group_keys(
    rel: &mut Relation,
    keys: &[GroupItem],
    errors: &Errors,
) -> Vec<PendingKey> {
    let mut out: Vec<PendingKey> = Vec::new();
    let push = |out: &mut Vec<PendingKey>, key: PendingKey, span: SpanRange| {
        if out.iter().any(|k| k.name == key.name) {
            errors.error(span, format!("`{}` appears twice in `group by`", key.name));
        } else {
            out.push(key);
        }
    };
    for item in keys {
        match item {
            GroupItem::Window {
                span,
                column,
                size,
                slide,
            } => {
                let Some(slot) = time_column(rel, errors, column, "window", span.start) else {
                    continue;
                };
                let size_micros = size.micros;
                let slide_micros = slide.as_ref().map_or(size_micros, |s| s.micros);
                if size_micros <= 0 {
                    errors.error(size.span, "the window size must be greater than zero");
                }
                if let Some(s) = slide {
                    if s.micros <= 0 {
                        errors.error(s.span, "the window slide must be greater than zero");
                    } else if s.micros > size_micros && size_micros > 0 {
                        errors.error_with_help(
                            s.span,
                            format!(
                                "[DATATYPE_MISMATCH.PARAMETER_CONSTRAINT_VIOLATION] The `slide_duration`({}L) must be <= the `window_duration`({}L).",
                                s.micros, size_micros
                            ),
                            format!(
                                "the arguments are `window(<timestamp column>, <size>, <slide>)`: a window of {} slides by at most {0}",
                                crate::parse::duration::describe_interval(size_micros)
                            ),
                        );
                    }
                }
                if out.iter().any(|k| matches!(k.repr, KeyRepr::Window { .. })) {
                    errors.error(*span, "only one `window(...)` key is allowed");
                    continue;
                }
                if out.iter().any(|k| is_time_window(&k.repr)) {
                    errors.error(*span, MULTIPLE_WINDOWS);
                    continue;
                }
                // After an error in its arguments the key still exists (the query is not
                // generated), so `window.start` and `window.end` raise no further error.
                {
                    push(
                        &mut out,
                        PendingKey {
                            name: "window".into(),
                            span: *span,
                            ident: Ident::new("window", span.start),
                            repr: KeyRepr::Window {
                                ts: slot,
                                size: size_micros,
                                slide: slide_micros,
                            },
                            ty: SqlType::non_null(Ty::Window),
                        },
                        *span,
                    );
                }
            }
            GroupItem::SessionWindow { span, column, gap } => {
                let Some(slot) = time_column(rel, errors, column, "session_window", span.start)
                else {
                    continue;
                };
                if gap.micros <= 0 {
                    errors.error_with_help(
                        gap.span,
                        "the session gap must be greater than zero",
                        "a row at `ts` opens the session `[ts, ts + gap)`: write a positive interval, e.g. `session_window(ts, 30 seconds)`",
                    );
                }
                if out.iter().any(|k| is_time_window(&k.repr)) {
                    errors.error(*span, MULTIPLE_WINDOWS);
                    continue;
                }
                push(
                    &mut out,
                    PendingKey {
                        name: "session_window".into(),
                        span: *span,
                        ident: Ident::new("session_window", span.start),
                        repr: KeyRepr::Session {
                            ts: slot,
                            gap: gap.micros,
                        },
                        ty: SqlType::non_null(Ty::Window),
                    },
                    *span,
                );
            }
            GroupItem::Named { name, expr } => match direct_key(rel, name, expr, errors) {
                Some(key) => push(&mut out, key, SpanRange::single(name.span())),
                None => rel.poison(name),
            },
            GroupItem::Expr(e) => {
                let parse::Expr::Column(ident) = e else {
                    errors.error_with_help(
                        e.span(),
                        "this `group by` key needs a name",
                        "write `<name> = <expression>`",
                    );
                    continue;
                };
                match direct_key(rel, ident, e, errors) {
                    Some(key) => push(&mut out, key, SpanRange::single(ident.span())),
                    None => rel.poison(ident),
                }
            }
        }
    }
    out
}

/// Spark's rejection of a `window` and a `session_window` in one `group by`.
const MULTIPLE_WINDOWS: &str = "Multiple time/session window expressions would result in a cartesian product of rows, therefore they are currently not supported.";

/// Whether a key is a time window (tumbling, sliding, or session).
fn is_time_window(repr: &KeyRepr) -> bool {
    matches!(repr, KeyRepr::Window { .. } | KeyRepr::Session { .. })
}

/// A key that is a column or a named expression.
fn direct_key(
    rel: &mut Relation,
    name: &Ident,
    expr: &parse::Expr,
    errors: &Errors,
) -> Option<PendingKey> {
    let resolved = rel.resolve(expr, &mut Ctx::Row, errors)?;
    if resolved.ty.ty == Ty::Null {
        errors.error(resolved.span, "cannot group by `null`");
        return None;
    }
    if matches!(resolved.ty.ty, Ty::Binary | Ty::Headers) {
        errors.error_with_help(
            resolved.span,
            format!(
                "grouping by a {} value is not supported",
                resolved.ty.ty.sql_name()
            ),
            "group by its text: `<name> = cast(<column> as string)`",
        );
        return None;
    }
    let ty = resolved.ty;
    let col = ident_name(name);
    let slot = rel.slot_for(resolved, &col);
    Some(PendingKey {
        span: expr.span(),
        name: col,
        ident: name.clone(),
        repr: KeyRepr::Direct { slot },
        ty,
    })
}

pub(super) fn aggregate(
    rel: &mut Relation,
    keys: Vec<PendingKey>,
    items: &[(Ident, parse::Expr)],
    kw: SpanRange,
    errors: &Errors,
) {
    let global = keys.is_empty();
    if keys.len() == 1 && matches!(keys[0].repr, KeyRepr::Session { .. }) {
        errors.error_with_help(
            keys[0].span,
            "Global aggregation with session window in streaming query is not supported.",
            "group by a key beside the session window: `group by session_window(<ts>, <gap>), <key>;`",
        );
    }
    let mut scope = AggregateScope {
        keys: Vec::new(),
        accumulators: Vec::new(),
        global,
    };
    let mut new_scope = Vec::new();
    let mut group_keys = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let def = if is_time_window(&key.repr) {
            SlotDef::WindowKey
        } else {
            SlotDef::Key(i)
        };
        let slot = rel.new_slot(def, key.ty, &key.name);
        scope.keys.push((key.name.clone(), slot));
        new_scope.push(Column {
            name: key.name.clone(),
            ident: key.ident,
            slot,
        });
        group_keys.push(GroupKey {
            name: key.name,
            span: key.span,
            repr: key.repr,
            ty: key.ty,
        });
    }
    let mut outputs = Vec::new();
    for (name, e) in items {
        let col = ident_name(name);
        if new_scope
            .iter()
            .chain(outputs.iter())
            .any(|c: &Column| c.name == col)
        {
            errors.error(
                SpanRange::single(name.span()),
                format!("duplicate column `{col}` in `aggregate`"),
            );
            continue;
        }
        let Some(expr) = rel.resolve(e, &mut Ctx::Aggregate(&mut scope), errors) else {
            rel.poison(name);
            continue;
        };
        {
            let mut contains_aggregate = false;
            expr.for_each_slot(&mut |s| {
                contains_aggregate |= matches!(rel.slots[s.0].def, SlotDef::Agg(_))
            });
            if !contains_aggregate {
                errors.error_with_help(
                    e.span(),
                    format!("`{col}` does not aggregate anything"),
                    "use an aggregate function such as count(), sum(x), avg(x), min(x) or max(x); keys are already output columns",
                );
                rel.poison(name);
                continue;
            }
            let slot = rel.slot_for(expr, &col);
            outputs.push(Column {
                name: col,
                ident: name.clone(),
                slot,
            });
        }
    }
    if items.is_empty() {
        errors.error(kw, "`aggregate` needs at least one aggregate");
    }
    new_scope.extend(outputs);
    // The key through which the watermark finalises groups.
    let event_time_key = group_keys.iter().position(|k| match &k.repr {
        KeyRepr::Window { ts, .. } | KeyRepr::Session { ts, .. } | KeyRepr::Direct { slot: ts } => {
            rel.watermarks.iter().any(|w| w.slot == *ts)
        }
        _ => false,
    });
    rel.steps.push(format!(
        "Aggregate [{}], [{}]",
        group_keys
            .iter()
            .map(|k| describe_key(rel, k))
            .collect::<Vec<_>>()
            .join(", "),
        new_scope
            .iter()
            .skip(group_keys.len())
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    rel.aggregate = Some(Aggregate {
        keys: group_keys,
        accumulators: scope.accumulators.into_iter().map(|(a, _)| a).collect(),
        event_time_key,
    });
    rel.scope = new_scope;
}

fn describe_key(rel: &Relation, k: &GroupKey) -> String {
    match &k.repr {
        KeyRepr::Window { ts, size, slide } => {
            let ts = &rel.slots[ts.0].name;
            if size == slide {
                format!("window({ts}, {size}us)")
            } else {
                format!("window({ts}, {size}us, {slide}us)")
            }
        }
        KeyRepr::Session { ts, gap } => {
            format!("session_window({}, {gap}us)", rel.slots[ts.0].name)
        }
        _ => k.name.clone(),
    }
}

/// The event-time column of a `window` / `session_window` (`function`) group key: its slot, or
/// `None` (reported, and the key's name poisoned so later uses of it say nothing more) when no
/// column has that name. A column of another type than TIMESTAMP is reported and its slot
/// returned, so the rest of the key is still checked.
fn time_column(
    rel: &mut Relation,
    errors: &Errors,
    column: &Ident,
    function: &str,
    at: proc_macro2::Span,
) -> Option<crate::plan::SlotId> {
    let name = ident_name(column);
    let Some(slot) = rel.column(&name) else {
        errors.error(
            SpanRange::single(column.span()),
            format!(
                "unknown column `{name}`{}",
                did_you_mean(&name, rel.scope_names().iter().map(String::as_str))
            ),
        );
        rel.poison(&Ident::new(function, at));
        return None;
    };
    let ty = rel.slots[slot.0].ty;
    if ty.ty != Ty::Timestamp {
        errors.error_with_help(
            SpanRange::single(column.span()),
            format!("`{function}` needs a TIMESTAMP column; `{name}` is {}", ty.ty.sql_name()),
            "convert it first, e.g. `with ts = to_timestamp(<string>);` or `with ts = cast(<seconds> as timestamp);`",
        );
    }
    Some(slot)
}
