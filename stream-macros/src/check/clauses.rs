//! The clauses of a query, applied in order to its relation: `select`, `with`, `where`,
//! `watermark`, `group by` + `aggregate`, `order by`, `limit`, `drop`, `drop duplicates`,
//! `rename`.

use proc_macro2::Span;
use syn::Ident;

use crate::diagnostics::{Errors, SpanRange, did_you_mean, with_note};
use crate::parse::{self, Clause, SelectItem};
use crate::plan::{Limit, OrderKey, Stage, Ty, Watermark};

use super::dedup::drop_duplicates;
use super::expr::{Ctx, ident_name};
use super::generate::{GeneratorsInList, as_generator, generate};
use super::group::{PendingKey, aggregate, group_keys};
use super::relation::{Column, Failure, Relation};

/// Applies a query's clauses, in order, to the relation it reads.
pub(super) fn apply_clauses(
    rel: &mut Relation,
    q: &parse::QueryDef,
    schemas: &super::decode::Schemas<'_>,
    errors: &Errors,
) {
    let query = q.name.to_string();
    let mut pending_group: Option<(Span, Vec<PendingKey>)> = None;
    // After a rejected `group by`, its `aggregate` is part of the same mistake.
    let mut skip_aggregate = false;
    for clause in &q.clauses {
        let kw = SpanRange::single(clause.kw_span());
        if rel.limit.is_some() {
            errors.error(kw, "`limit` must be the last clause of a query");
        }
        if std::mem::take(&mut skip_aggregate) && matches!(clause, Clause::Aggregate { .. }) {
            continue;
        }
        if let Some((group_span, keys)) = pending_group.take() {
            if let Clause::Aggregate { items, .. } = clause {
                aggregate(rel, keys, items, kw, errors);
                rel.aggregated_in = Some(query.clone());
                continue;
            }
            errors.error_with_help(
                SpanRange::single(group_span),
                "`group by` must be followed by `aggregate`",
                "write `group by <keys>; aggregate <name> = count(), ...;`",
            );
            // The clauses after it would be checked against a relation without the grouping
            // the user meant, so their errors would only be echoes of this one; its columns
            // are unknown, as after a syntax error.
            rel.failure = Some(Failure::Incomplete);
            return;
        }
        match clause {
            Clause::Select { items, .. } => select(rel, items, errors),
            Clause::With { items, .. } => {
                rel.in_projection = true;
                let mut generators = GeneratorsInList::default();
                for (name, e) in items {
                    if let Some(call) = as_generator(e) {
                        let span = SpanRange::single(name.span());
                        let names = std::slice::from_ref(name);
                        match generate(rel, call, Some((names, span)), &mut generators, errors) {
                            Some(columns) => {
                                for (ident, slot) in columns {
                                    replace_or_append(rel, ident, slot);
                                }
                            }
                            None => {
                                let col = ident_name(name);
                                rel.scope.retain(|c| c.name != col);
                                rel.poison(name);
                            }
                        }
                        continue;
                    }
                    let Some(expr) = rel.resolve(e, &mut Ctx::Row, errors) else {
                        // The column this would have defined (or replaced) is poisoned.
                        let col = ident_name(name);
                        rel.scope.retain(|c| c.name != col);
                        rel.poison(name);
                        continue;
                    };
                    let col = ident_name(name);
                    let slot = rel.slot_for(expr, &col);
                    rel.steps.push(format!("With {col}"));
                    replace_or_append(rel, name.clone(), slot);
                }
                rel.in_projection = false;
            }
            Clause::Where { pred, .. } => {
                if let Some(p) = rel.resolve(pred, &mut Ctx::Row, errors) {
                    let p = match p.ty.ty {
                        Ty::Bool | Ty::Null => p,
                        other => {
                            errors.error(
                                p.span,
                                format!(
                                    "a `where` condition must be BOOLEAN, found {}",
                                    other.sql_name()
                                ),
                            );
                            continue;
                        }
                    };
                    rel.steps.push("Filter".to_string());
                    for conjunct in split_conjuncts(p) {
                        if rel.is_post() {
                            rel.post_filters.push(conjunct);
                        } else {
                            rel.filters.push((conjunct, rel.stages.len()));
                        }
                    }
                }
            }
            Clause::Watermark { column, delay, .. } => watermark(rel, column, delay, errors),
            Clause::Parse(p) => {
                if !super::decode::parse_clause(rel, p, schemas, errors) {
                    // Without the parsed columns, errors in later clauses would only be
                    // echoes of this one.
                    rel.failure = Some(Failure::Incomplete);
                    return;
                }
            }
            Clause::DropDuplicates {
                span,
                within_watermark,
                columns,
                ..
            } => drop_duplicates(rel, *span, *within_watermark, columns.as_deref(), errors),
            Clause::GroupBy { kw, keys } => {
                if aggregation_after_dedup(rel, SpanRange::single(*kw), errors) {
                    skip_aggregate = true;
                    continue;
                }
                if rel.aggregate.is_some() {
                    chained_aggregation(rel, &query, SpanRange::single(*kw), errors);
                    skip_aggregate = true;
                    continue;
                }
                pending_group = Some((*kw, group_keys(rel, keys, errors)));
            }
            Clause::Aggregate { .. } => {
                // A lone `aggregate` is a global aggregation (Spark's `groupBy().agg(...)`).
                let Clause::Aggregate { items, .. } = clause else {
                    unreachable!()
                };
                if aggregation_after_dedup(rel, kw, errors) {
                    continue;
                }
                if rel.aggregate.is_some() {
                    chained_aggregation(rel, &query, kw, errors);
                    continue;
                }
                aggregate(rel, Vec::new(), items, kw, errors);
                rel.aggregated_in = Some(query.clone());
            }
            Clause::OrderBy { kw, items } => {
                if rel.aggregate.is_none() {
                    errors.error(
                        SpanRange::single(*kw),
                        "Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode\n= help: `order by` needs a `group by ... aggregate ...` before it, and the query must run with `.output_mode(Complete)`",
                    );
                    continue;
                }
                rel.sort_span = Some(*kw);
                for item in items {
                    if let Some(e) = rel.resolve(&item.expr, &mut Ctx::Row, errors) {
                        // Every type sorts, as in Spark: windows by start then end (a struct's
                        // fields in order), arrays element by element.
                        rel.order_by.push(OrderKey {
                            span: e.span,
                            expr: e,
                            descending: item.descending,
                            // Spark: ASC NULLS FIRST, DESC NULLS LAST unless written.
                            nulls_first: item.nulls_first.unwrap_or(!item.descending),
                        });
                    }
                }
                rel.steps.push("Sort".to_string());
            }
            Clause::Limit { kw, n } => match n.base10_parse::<u64>() {
                Ok(v) => {
                    rel.limit = Some(Limit {
                        rows: v,
                        span: SpanRange::single(*kw),
                    });
                    rel.steps.push(format!("Limit {v}"));
                }
                Err(_) => errors.error(
                    SpanRange::single(n.span()),
                    "`limit` needs a non-negative integer",
                ),
            },
            Clause::Drop { columns, .. } => {
                for c in columns {
                    let name = ident_name(c);
                    let before = rel.scope.len();
                    rel.scope.retain(|col| col.name != name);
                    if rel.scope.len() == before {
                        errors.error(
                            SpanRange::single(c.span()),
                            format!(
                                "cannot drop unknown column `{name}`{}",
                                did_you_mean(&name, rel.scope_names().iter().map(String::as_str))
                            ),
                        );
                    }
                }
                if rel.scope.is_empty() {
                    errors.error(kw, "a query must keep at least one column");
                }
            }
            Clause::Rename { pairs, .. } => {
                for (from, to) in pairs {
                    let old = ident_name(from);
                    let new = ident_name(to);
                    if rel.scope.iter().any(|c| c.name == new) && new != old {
                        errors.error(
                            SpanRange::single(to.span()),
                            format!("a column named `{new}` already exists"),
                        );
                        continue;
                    }
                    let names = rel.scope_names();
                    match rel.scope.iter_mut().find(|c| c.name == old) {
                        Some(c) => {
                            c.name = new;
                            c.ident = to.clone();
                        }
                        None => errors.error(
                            SpanRange::single(from.span()),
                            format!(
                                "cannot rename unknown column `{old}`{}",
                                did_you_mean(&old, names.iter().map(String::as_str))
                            ),
                        ),
                    }
                }
            }
        }
    }
    if let Some((span, _)) = pending_group {
        errors.error_with_help(
            SpanRange::single(span),
            "`group by` must be followed by `aggregate`",
            "write `group by <keys>; aggregate <name> = count(), ...;`",
        );
    }
}

/// Rule: a pipeline has one stateful operator, so an aggregation cannot follow `drop
/// duplicates` (Spark runs the two operators one after the other; see docs/semantics.md).
/// Returns whether the clause is rejected.
fn aggregation_after_dedup(rel: &Relation, span: SpanRange, errors: &Errors) -> bool {
    if rel.dedup.is_none() {
        return false;
    }
    errors.error_with_help(
        span,
        with_note(
            "an aggregation after `drop duplicates` is not supported",
            "Spark chains the deduplication and the aggregation as two stateful operators; a Sluice pipeline has one",
        ),
        "a pipeline runs one stateful operator: aggregate without `drop duplicates`, or deduplicate without aggregating",
    );
    true
}

/// `with`: the column of the same name is replaced in place, else the column is appended.
fn replace_or_append(rel: &mut Relation, ident: Ident, slot: crate::plan::SlotId) {
    let col = ident_name(&ident);
    match rel.scope.iter_mut().find(|c| c.name == col) {
        Some(c) => {
            c.slot = slot;
            c.ident = ident;
        }
        None => rel.scope.push(Column {
            name: col,
            ident,
            slot,
        }),
    }
}

/// Rule: one streaming aggregation per pipeline. Spark rejects chained aggregations in update
/// and complete mode; Sluice in every mode (see docs/semantics.md).
fn chained_aggregation(rel: &Relation, query: &str, span: SpanRange, errors: &Errors) {
    let message = match rel.aggregated_in.as_deref() {
        Some(upstream) if upstream != query => format!(
            "`{query}` reads `{upstream}`, which already aggregates; a pipeline can have only one streaming aggregation"
        ),
        _ => "a query can have only one streaming aggregation".to_string(),
    };
    errors.error_with_help(
        span,
        with_note(
            message,
            "Spark rejects chained aggregations in update and complete mode (\"Detected pattern of possible 'correctness' issue due to global watermark\"); Sluice rejects them in every mode",
        ),
        "aggregate once, by every key you need, and filter or reshape the result with `where` and `select`",
    );
}

/// Splits `a and b and c` into its conjuncts (Spark pushes each down on its own).
fn split_conjuncts(e: crate::plan::Expr) -> Vec<crate::plan::Expr> {
    match e.kind {
        // Under SQL's three-valued logic a row passes `a and b` exactly when it passes both.
        crate::plan::ExprKind::And(a, b) => {
            let mut v = split_conjuncts(*a);
            v.extend(split_conjuncts(*b));
            v
        }
        kind => vec![crate::plan::Expr { kind, ..e }],
    }
}

fn select(rel: &mut Relation, items: &[SelectItem], errors: &Errors) {
    rel.in_projection = true;
    let mut generators = GeneratorsInList::default();
    let mut scope: Vec<Column> = Vec::new();
    let push = |scope: &mut Vec<Column>, col: Column, span: Span| {
        if scope.iter().any(|c| c.name == col.name) {
            errors.error_with_help(
                SpanRange::single(span),
                format!("duplicate column `{}` in `select`", col.name),
                "give one of them another name: `<new name> = <expression>`",
            );
        } else {
            scope.push(col);
        }
    };
    for item in items {
        // A generator as a whole item: its columns (the element, and a position).
        let generator = match item {
            SelectItem::Named { name, expr } => as_generator(expr).map(|call| {
                let span = SpanRange::single(name.span());
                (
                    call,
                    Some((std::slice::from_ref(name), span)),
                    vec![name.clone()],
                )
            }),
            SelectItem::Names { names, span, expr } => match as_generator(expr) {
                Some(call) => Some((call, Some((names.as_slice(), *span)), names.clone())),
                None => {
                    errors.error_with_help(
                        *span,
                        "only a generator has several columns to name",
                        "name one column with `<name> = <expression>`",
                    );
                    names.iter().for_each(|n| rel.poison(n));
                    continue;
                }
            },
            SelectItem::Expr(expr) => as_generator(expr).map(|call| (call, None, Vec::new())),
            SelectItem::Star(_) => None,
        };
        if let Some((call, names, written)) = generator {
            match generate(rel, call, names, &mut generators, errors) {
                Some(columns) => {
                    for (ident, slot) in columns {
                        let span = ident.span();
                        let name = ident_name(&ident);
                        push(&mut scope, Column { name, ident, slot }, span);
                    }
                }
                None => written.iter().for_each(|n| rel.poison(n)),
            }
            continue;
        }
        match item {
            SelectItem::Names { .. } => unreachable!("a generator, or rejected above"),
            SelectItem::Star(span) => {
                for c in rel.scope.clone() {
                    push(&mut scope, c, *span);
                }
            }
            SelectItem::Named { name, expr } => match rel.resolve(expr, &mut Ctx::Row, errors) {
                Some(e) => {
                    let col = ident_name(name);
                    let slot = rel.slot_for(e, &col);
                    push(
                        &mut scope,
                        Column {
                            name: col,
                            ident: name.clone(),
                            slot,
                        },
                        name.span(),
                    );
                }
                None => rel.poison(name),
            },
            SelectItem::Expr(e) => {
                let ident = match e {
                    parse::Expr::Column(i) => i.clone(),
                    parse::Expr::Field { field, .. } => field.clone(),
                    other => {
                        errors.error_with_help(
                            other.span(),
                            "this column needs a name",
                            "write `<name> = <expression>`",
                        );
                        continue;
                    }
                };
                match rel.resolve(e, &mut Ctx::Row, errors) {
                    Some(resolved) => {
                        let col = ident_name(&ident);
                        let slot = rel.slot_for(resolved, &col);
                        push(
                            &mut scope,
                            Column {
                                name: col,
                                ident: ident.clone(),
                                slot,
                            },
                            ident.span(),
                        );
                    }
                    None => rel.poison(&ident),
                }
            }
        }
    }
    rel.in_projection = false;
    if !scope.is_empty() {
        rel.steps.push(format!(
            "Project [{}]",
            scope
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        rel.scope = scope;
    }
}

fn watermark(
    rel: &mut Relation,
    column: &Ident,
    delay: &crate::parse::IntervalLit,
    errors: &Errors,
) {
    let name = ident_name(column);
    let span = SpanRange::single(column.span());
    if rel.is_post() {
        errors.error(span, "a watermark must be defined before the aggregation");
        return;
    }
    let Some(slot) = rel.column(&name) else {
        errors.error(
            span,
            format!(
                "unknown column `{name}`{}",
                did_you_mean(&name, rel.scope_names().iter().map(String::as_str))
            ),
        );
        return;
    };
    let ty = rel.slots[slot.0].ty;
    if ty.ty != Ty::Timestamp {
        errors.error(
            span,
            format!(
                "[EVENT_TIME_IS_NOT_ON_TIMESTAMP_TYPE] The event time `{name}` has the invalid type \"{}\", but expected \"TIMESTAMP\".",
                ty.ty.sql_name()
            ),
        );
        return;
    }
    if rel.watermarks.iter().any(|w| w.slot == slot) {
        errors.error(span, format!("`{name}` already has a watermark"));
        return;
    }
    rel.steps.push(format!(
        "EventTimeWatermark {name}, {}",
        crate::parse::duration::describe_interval(delay.micros)
    ));
    rel.stages.push(Stage::Watermark(rel.watermarks.len()));
    rel.watermarks.push(Watermark {
        column: name,
        span,
        slot,
        delay_micros: delay.micros,
    });
}
