//! A stream-stream join (`query J from A [kind] join B on ... { ... }`): Spark's rules for
//! joining two streams, the equi-join keys, the condition split as Spark splits it, the state
//! watermarks solved from the time-range condition, and the columns `J`'s clauses see.
//!
//! Each side is a query or a source of the block; a side query must be stateless (its rows
//! are the join's input). A side's watermark is its query's `watermark` clause; the column
//! holding that event time keeps it through the side's `select`s (Spark's watermark metadata
//! follows the column).

use proc_macro2::Span;
use quote::format_ident;

use crate::diagnostics::{Errors, SpanRange};
use crate::parse::{self, BinOp, JoinDef, JoinKind};
use crate::plan::{
    CmpOp, Expiry, Expr, ExprKind, InputRow, InputSource, JoinSide, JoinSideId, JoinSideRow,
    JoinedField, SlotDef, SlotId, SqlType, StreamJoin, StreamJoinKind, Ty,
};

mod bounds;

use self::bounds::state_bounds;
use super::expr::{Ctx, expect_bool, typed};
use super::join::split_and;
use super::relation::{Column, Relation};

/// The key types a join may hash (as a stream-static join's).
const KEY_TYPES: [Ty; 5] = [Ty::Str, Ty::Int, Ty::Long, Ty::Bool, Ty::Timestamp];

/// Spark's rejection of an outer or semi join whose state could never be bounded.
pub(crate) fn unbounded_join_message(kind: StreamJoinKind) -> String {
    format!(
        "Stream-stream {} join between two streaming DataFrame/Datasets is not supported without a watermark in the join keys, or a watermark on the nullable side and an appropriate range condition",
        kind.spark_name()
    )
}

/// A side as the checker sees it: its relation and what it is.
pub(super) struct SideInput {
    pub(super) name: String,
    pub(super) span: Span,
    pub(super) rel: Relation,
    pub(super) row: JoinSideRow,
}

/// Whether `slot` is `target`, or a plain alias of it (`select imp_ts = ts`).
fn is_alias_of(rel: &Relation, mut slot: SlotId, target: SlotId) -> bool {
    loop {
        if slot == target {
            return true;
        }
        match &rel.slots[slot.0].def {
            SlotDef::Let(Expr {
                kind: ExprKind::Slot(s),
                ..
            }) => slot = *s,
            _ => return false,
        }
    }
}

/// Checks a side and describes it: stateless, at most one watermark.
fn side(input: &SideInput, errors: &Errors) -> Option<JoinSide> {
    let rel = &input.rel;
    let at = SpanRange::single(input.span);
    let stateful = if rel.aggregate.is_some() {
        Some("aggregates")
    } else if rel.dedup.is_some() {
        Some("drops duplicates")
    } else if rel.limit.is_some() {
        Some("has a `limit`")
    } else if !rel.order_by.is_empty() {
        Some("sorts")
    } else if rel.join.is_some() || rel.stream_join.is_some() {
        Some("joins")
    } else {
        None
    };
    if let Some(what) = stateful {
        errors.error_with_help(
            at,
            format!(
                "`{}` {what}: a side of a stream-stream join is a schema, a built-in source, or a query of `select`, `with`, `where`, `watermark` and `explode` clauses",
                input.name
            ),
            "join the streams first, in a query of their own",
        );
        return None;
    }
    if rel.watermarks.len() > 1 {
        errors.error(
            at,
            format!(
                "`{}` has {} watermarks: a side of a stream-stream join has one event-time column",
                input.name,
                rel.watermarks.len()
            ),
        );
        return None;
    }
    let columns: Vec<(syn::Ident, String, SqlType)> = rel
        .scope
        .iter()
        .map(|c| (c.ident.clone(), c.name.clone(), rel.slots[c.slot.0].ty))
        .collect();
    let event_time = rel.watermarks.first().and_then(|w| {
        rel.scope
            .iter()
            .position(|c| is_alias_of(rel, c.slot, w.slot))
    });
    Some(JoinSide {
        name: input.name.clone(),
        row: input.row.clone(),
        columns,
        watermarks: rel.watermarks.clone(),
        event_time,
        pipeline: None,
    })
}

/// Builds the relation of a stream-stream join query: the joined columns `J`'s clauses read.
/// What the optimizer moves into each side (left, right): Spark's `InferFiltersFromConstraints`
/// and `PushPredicateThroughJoin` — the `IS NOT NULL` of the side's keys and the conjuncts that
/// read the side only (as written), for both sides of an inner or left semi join and for the
/// null-supplying side of an outer join.
pub(super) type Pushed = [Vec<parse::Expr>; 2];

pub(super) fn join_streams(
    q: &parse::QueryDef,
    join: &JoinDef,
    left: SideInput,
    right: SideInput,
    errors: &Errors,
) -> Option<(Relation, Pushed)> {
    let kind = match join.kind {
        JoinKind::Inner => StreamJoinKind::Inner,
        JoinKind::LeftOuter => StreamJoinKind::LeftOuter,
        JoinKind::RightOuter => StreamJoinKind::RightOuter,
        JoinKind::FullOuter => StreamJoinKind::FullOuter,
        JoinKind::LeftSemi => StreamJoinKind::LeftSemi,
    };
    let (l, r) = (side(&left, errors), side(&right, errors));
    let (l, r) = (l?, r?);

    let joined = format_ident!("__{}Joined", q.name);
    let mut rel = Relation::new(
        InputSource {
            row: InputRow::Joined(joined),
            name: format!("{} join {}", l.name, r.name),
        },
        &[],
    );
    // The condition's columns: both sides' as they are in a pair (the joined row's fields).
    let mut fields: Vec<JoinedField> = Vec::new();
    let mut condition_slots = Vec::new();
    let mut sides_columns: [Vec<Column>; 2] = [Vec::new(), Vec::new()];
    for (side_id, side) in [(JoinSideId::Left, &l), (JoinSideId::Right, &r)] {
        for (i, (ident, name, ty)) in side.columns.iter().enumerate() {
            let field = format_ident!("__c{}", fields.len());
            let slot = rel.new_slot(
                SlotDef::Input {
                    field: field.clone(),
                },
                *ty,
                name,
            );
            condition_slots.push((slot, side_id, ident.clone()));
            sides_columns[side_id as usize].push(Column {
                name: name.clone(),
                ident: ident.clone(),
                slot,
            });
            fields.push(JoinedField {
                field,
                side: side_id,
                column: i,
                ty: *ty,
            });
        }
    }
    let side_of = |slot: SlotId| -> JoinSideId {
        condition_slots
            .iter()
            .find(|(s, _, _)| *s == slot)
            .map_or(JoinSideId::Left, |(_, side, _)| *side)
    };
    let [left_columns, right_columns] = sides_columns;

    // Names: one only a side has is used as is; one both have is ambiguous unqualified, except
    // the columns of a same-named key (`key == B.key`), which are the left side's.
    let mut conjuncts = Vec::new();
    split_and(&join.on, &mut conjuncts);
    let same_named_keys: Vec<String> = conjuncts
        .iter()
        .filter_map(|c| match c {
            parse::Expr::Binary {
                op: BinOp::Eq,
                lhs,
                rhs,
                ..
            } => match (&**lhs, &**rhs) {
                (parse::Expr::Column(a), parse::Expr::Field { field, .. })
                | (parse::Expr::Field { field, .. }, parse::Expr::Column(a))
                    if a == field =>
                {
                    Some(a.to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .filter(|n| right_columns.iter().any(|c| c.name == *n))
        .collect();
    let both: Vec<String> = left_columns
        .iter()
        .filter(|c| right_columns.iter().any(|o| o.name == c.name))
        .map(|c| c.name.clone())
        .collect();
    let ambiguous: Vec<(String, Vec<String>)> = both
        .iter()
        .filter(|n| !same_named_keys.contains(n))
        .map(|n| {
            (
                n.clone(),
                vec![format!("{}.{n}", l.name), format!("{}.{n}", r.name)],
            )
        })
        .collect();
    let scope_with = |left_side: &[Column], right_side: &[Column]| -> Vec<Column> {
        left_side
            .iter()
            .filter(|c| !ambiguous.iter().any(|(n, _)| *n == c.name))
            .chain(right_side.iter().filter(|c| !both.contains(&c.name)))
            .cloned()
            .collect()
    };
    let qualified_with = |left_side: &[Column], right_side: &[Column]| {
        left_side
            .iter()
            .map(|c| (l.name.clone(), c.clone()))
            .chain(right_side.iter().map(|c| (r.name.clone(), c.clone())))
            .collect::<Vec<_>>()
    };
    rel.ambiguous.extend(ambiguous.iter().cloned());
    rel.scope = scope_with(&left_columns, &right_columns);
    rel.qualified = qualified_with(&left_columns, &right_columns);

    // The condition: equalities of a left and a right column are the keys; the other
    // conjuncts are split by the sides they read (Spark's `JoinConditionSplitPredicates`).
    let before = errors.count();
    let mut keys: Vec<(SlotId, SlotId)> = Vec::new();
    let mut rest: Vec<Expr> = Vec::new();
    let mut rest_written: Vec<&parse::Expr> = Vec::new();
    for c in &conjuncts {
        let Some(e) = rel.resolve(c, &mut Ctx::Row, errors) else {
            continue;
        };
        if let ExprKind::Cmp(CmpOp::Eq, a, b) = &e.kind
            && let (ExprKind::Slot(a), ExprKind::Slot(b)) = (&a.kind, &b.kind)
            && side_of(*a) != side_of(*b)
        {
            let (ls, rs) = if side_of(*a) == JoinSideId::Left {
                (*a, *b)
            } else {
                (*b, *a)
            };
            let (lt, rt) = (rel.slots[ls.0].ty.ty, rel.slots[rs.0].ty.ty);
            if lt != rt {
                errors.error_with_help(
                    e.span,
                    format!(
                        "the join keys `{}` and `{}` have different types: {} and {}",
                        rel.slots[ls.0].name,
                        rel.slots[rs.0].name,
                        lt.sql_name(),
                        rt.sql_name()
                    ),
                    "cast one side's column in its query",
                );
                continue;
            }
            if !KEY_TYPES.contains(&lt) {
                errors.error(
                    e.span,
                    format!(
                        "a join key of type {} is not supported: join on STRING, INT, BIGINT, BOOLEAN or TIMESTAMP columns",
                        lt.sql_name()
                    ),
                );
                continue;
            }
            keys.push((ls, rs));
            continue;
        }
        if let Some(e) = expect_bool(e, "a join condition", errors) {
            rest.push(e);
            rest_written.push(c);
        }
    }
    if errors.count() != before {
        return None;
    }
    if keys.is_empty() {
        errors.error_with_help(
            join.on.span(),
            format!(
                "the join of `{}` and `{}` has no equality of a left column and a right column",
                l.name, r.name
            ),
            format!(
                "a stream-stream join hashes both sides' state by its keys: write e.g. `on {}.<column> == {}.<column> and ...`",
                l.name, r.name
            ),
        );
        return None;
    }
    if keys.len() > 3 {
        errors.error(
            join.on.span(),
            "a join on more than 3 key columns is not supported",
        );
        return None;
    }

    let reads = |e: &Expr| {
        let mut sides = (false, false);
        e.for_each_slot(&mut |s| match side_of(s) {
            JoinSideId::Left => sides.0 = true,
            JoinSideId::Right => sides.1 = true,
        });
        sides
    };
    let and = |acc: Option<Expr>, e: &Expr| -> Option<Expr> {
        Some(match acc {
            None => e.clone(),
            Some(prev) => {
                let ty = SqlType::new(Ty::Bool, prev.ty.nullable || e.ty.nullable);
                let span = prev.span.to(e.span);
                typed(ExprKind::And(Box::new(prev), Box::new(e.clone())), ty, span)
            }
        })
    };
    let pushes = |side: JoinSideId| match kind {
        StreamJoinKind::Inner | StreamJoinKind::LeftSemi => true,
        StreamJoinKind::LeftOuter => side == JoinSideId::Right,
        StreamJoinKind::RightOuter => side == JoinSideId::Left,
        StreamJoinKind::FullOuter => false,
    };
    let mut pushed: Pushed = [Vec::new(), Vec::new()];
    for (l_slot, r_slot) in &keys {
        for (slot, side) in [(l_slot, JoinSideId::Left), (r_slot, JoinSideId::Right)] {
            let Some((_, _, ident)) = condition_slots.iter().find(|(s, _, _)| s == slot) else {
                continue;
            };
            if pushes(side) && rel.slots[slot.0].ty.nullable {
                pushed[side as usize].push(parse::Expr::IsNull {
                    expr: Box::new(parse::Expr::Column(ident.clone())),
                    negated: true,
                    end: ident.span(),
                });
            }
        }
    }
    let (mut left_only, mut right_only, mut both_sides) = (None, None, None);
    for (e, written) in rest.iter().zip(&rest_written) {
        match reads(e) {
            (true, false) => {
                left_only = and(left_only, e);
                if pushes(JoinSideId::Left) {
                    pushed[0].push((*written).clone());
                }
            }
            (false, true) => {
                right_only = and(right_only, e);
                if pushes(JoinSideId::Right) {
                    pushed[1].push((*written).clone());
                }
            }
            (true, true) => both_sides = and(both_sides, e),
            // A constant conjunct holds (or not) for both sides alike.
            (false, false) => {
                left_only = and(left_only, e);
                right_only = and(right_only, e);
            }
        }
    }

    // State expiry: a watermarked event time in the keys expires both sides by key (Spark's
    // state key predicate); otherwise each side with an event time by the bounds the
    // condition gives it (the state value predicate).
    let event_time_slot = |side: &JoinSide, columns: &[Column]| -> Option<SlotId> {
        side.event_time.map(|i| columns[i].slot)
    };
    let (left_event, right_event) = (
        event_time_slot(&l, &left_columns),
        event_time_slot(&r, &right_columns),
    );
    let key_time = keys
        .iter()
        .position(|(a, _)| Some(*a) == left_event)
        .or_else(|| keys.iter().position(|(_, b)| Some(*b) == right_event));
    let left_bounds = state_bounds(&rest, &side_of, JoinSideId::Left, right_event);
    let right_bounds = state_bounds(&rest, &side_of, JoinSideId::Right, left_event);
    let expiry = |event: Option<SlotId>, bounds: &[(i64, bool)]| match (key_time, event) {
        (Some(_), _) => Expiry::Key,
        (None, Some(_)) if !bounds.is_empty() => Expiry::Value(bounds.to_vec()),
        _ => Expiry::Never,
    };
    let (left_expiry, right_expiry) = (
        expiry(left_event, &left_bounds),
        expiry(right_event, &right_bounds),
    );

    // Spark's `checkForStreamStreamJoinWatermark`: an outer or semi join must be able to tell
    // when a row will never match.
    let valid_range = match kind {
        StreamJoinKind::Inner => true,
        StreamJoinKind::LeftOuter | StreamJoinKind::LeftSemi => !left_bounds.is_empty(),
        StreamJoinKind::RightOuter => !right_bounds.is_empty(),
        StreamJoinKind::FullOuter => !left_bounds.is_empty() || !right_bounds.is_empty(),
    };
    if key_time.is_none() && !valid_range {
        errors.error_with_help(
            join.span,
            unbounded_join_message(kind),
            format!(
                "define a watermark on both sides (`watermark <ts> delay <interval>;` in each side's query) and bound one side's event time by the other's, e.g. `and {r}.<ts> >= {l}.<ts> and {r}.<ts> <= {l}.<ts> + interval 1 minute`",
                l = l.name,
                r = r.name
            ),
        );
        return None;
    }

    // The columns after the join: an outer side's are null when a row is emitted unmatched; a
    // left semi join has the left side's only.
    let padded = |columns: &[Column], rel: &mut Relation, fields: &mut [JoinedField]| {
        columns
            .iter()
            .map(|c| {
                let ty = SqlType::new(rel.slots[c.slot.0].ty.ty, true);
                let SlotDef::Input { field } = rel.slots[c.slot.0].def.clone() else {
                    unreachable!("a side's column is a field of the joined row")
                };
                if let Some(f) = fields.iter_mut().find(|f| f.field == field) {
                    f.ty = ty;
                }
                Column {
                    name: c.name.clone(),
                    ident: c.ident.clone(),
                    slot: rel.new_slot(SlotDef::Input { field }, ty, &c.name),
                }
            })
            .collect::<Vec<_>>()
    };
    let (left_out, right_out) = match kind {
        StreamJoinKind::Inner => (left_columns.clone(), right_columns.clone()),
        StreamJoinKind::LeftOuter => {
            let right = padded(&right_columns, &mut rel, &mut fields);
            (left_columns.clone(), right)
        }
        StreamJoinKind::RightOuter => {
            let left = padded(&left_columns, &mut rel, &mut fields);
            (left, right_columns.clone())
        }
        StreamJoinKind::FullOuter => {
            let left = padded(&left_columns, &mut rel, &mut fields);
            let right = padded(&right_columns, &mut rel, &mut fields);
            (left, right)
        }
        StreamJoinKind::LeftSemi => (left_columns.clone(), Vec::new()),
    };
    if kind == StreamJoinKind::LeftSemi {
        fields.retain(|f| f.side == JoinSideId::Left);
        rel.ambiguous.clear();
        rel.scope = left_out.clone();
        rel.qualified = left_out
            .iter()
            .map(|c| (l.name.clone(), c.clone()))
            .collect();
    } else {
        rel.scope = scope_with(&left_out, &right_out);
        rel.qualified = qualified_with(&left_out, &right_out);
    }

    // The sides' event-time columns keep their watermarks after the join (Spark's watermark
    // metadata follows the column): an aggregation after the join may be keyed by a window
    // over one. They are no watermark node of the query (the sides' are): no stage observes
    // them.
    for (side, columns) in [(&l, &left_out), (&r, &right_out)] {
        if let (Some(i), Some(w)) = (side.event_time, side.watermarks.first())
            && let Some(c) = columns.get(i)
        {
            rel.watermarks.push(crate::plan::Watermark {
                column: c.name.clone(),
                span: w.span,
                slot: c.slot,
                delay_micros: w.delay_micros,
            });
        }
    }

    let key_text: Vec<String> = keys
        .iter()
        .map(|(a, b)| format!("{} = {}", rel.slots[a.0].name, rel.slots[b.0].name))
        .collect();
    let expiry_text = |e: &Expiry| match e {
        Expiry::Never => "kept".to_string(),
        Expiry::Key => "by key".to_string(),
        Expiry::Value(b) => format!("by event time ({} bounds)", b.len()),
    };
    rel.steps.push(format!("Source {}", l.name));
    rel.steps.push(format!("Source {}", r.name));
    rel.steps.push(format!(
        "StreamStreamJoin {} {} {} on [{}]{}; state: left {}, right {}",
        kind.spark_name(),
        l.name,
        r.name,
        key_text.join(", "),
        if rest.is_empty() {
            ""
        } else {
            " with a condition"
        },
        expiry_text(&left_expiry),
        expiry_text(&right_expiry),
    ));
    rel.steps.push(format!("Query {}", q.name));
    rel.stream_join = Some(StreamJoin {
        kind,
        left: l,
        right: r,
        fields,
        condition_slots,
        keys,
        left_only,
        right_only,
        both: both_sides,
        left_expiry,
        right_expiry,
        key_time,
    });
    Some((rel, pushed))
}

/// The clauses a query may not have after a stream-stream join (its clauses run over the joined
/// rows; an aggregation may follow the join, as in Spark): reported at the clause.
pub(super) fn check_clauses_after(q: &parse::QueryDef, errors: &Errors) {
    for clause in &q.clauses {
        let (kw, what) = match clause {
            parse::Clause::Watermark { kw, .. } => (
                *kw,
                "a watermark after a stream-stream join: define it on a side, in the side's query",
            ),
            parse::Clause::DropDuplicates { kw, .. } => (
                *kw,
                "`drop duplicates` after a stream-stream join is not supported yet",
            ),
            parse::Clause::Limit { kw, .. } => (
                *kw,
                "a `limit` after a stream-stream join is not supported yet",
            ),
            parse::Clause::OrderBy { kw, .. } => (
                *kw,
                "Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode",
            ),
            _ => continue,
        };
        errors.error(SpanRange::single(kw), what);
    }
}

#[cfg(test)]
mod tests;
