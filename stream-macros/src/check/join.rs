//! A stream-static join (`from Stream [left] join Table on ...`): Spark's rules for which joins a
//! stream may have with a static table, the equi-join keys, the extra condition, and the names
//! the query sees after the join.
//!
//! Names: a column only one side has keeps its name; one both sides have is ambiguous
//! unqualified (Spark's `AMBIGUOUS_REFERENCE`) and is written `Stream.name` / `Table.name`,
//! except the columns of an equality of same-named keys (`key == Static.key`), which, as in
//! Spark's `join(other, "key")`, are one column: the stream's.

use syn::Ident;

use crate::diagnostics::Errors;
use crate::parse::{self, BinOp, JoinDef, JoinKind};
use crate::plan::{ExprKind, Join, JoinType, SlotDef, SlotId, SqlType, Stage, TableColumn, Ty};

use super::InputField;
use super::expr::{Ctx, expect_bool, ident_name, typed};
use super::relation::{Column, Relation};

/// Spark's `UnsupportedOperationChecker` messages for the joins a stream on the left may not
/// have with a static table on the right.
pub(crate) const RIGHT_OUTER_STREAM_STATIC: &str = "RightOuter join with a streaming DataFrame/Dataset on the left and a static DataFrame/DataSet on the right not supported";
pub(crate) const FULL_OUTER_STREAM_STATIC: &str = "FullOuter joins with streaming DataFrames/Datasets on the left and a static DataFrame/Dataset on the right is not supported";

/// The key types a join may hash (a DOUBLE key would need Spark's NaN and -0.0 normalisation).
const KEY_TYPES: [Ty; 5] = [Ty::Str, Ty::Int, Ty::Long, Ty::Bool, Ty::Timestamp];

/// Which side of the join a column is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Stream,
    Table,
}

/// Applies `join` to the relation read from `stream` (its name, the qualifier of its columns).
pub(super) fn apply_join(
    rel: &mut Relation,
    join: &JoinDef,
    table: &Ident,
    fields: &[InputField],
    stream: &str,
    errors: &Errors,
) {
    let table_name = table.to_string();
    let kind = match join.kind {
        JoinKind::Inner => JoinType::Inner,
        JoinKind::LeftOuter => JoinType::LeftOuter,
        JoinKind::LeftSemi => {
            errors.error_with_help(
                join.span,
                "a left semi join with a static table is not supported",
                "use `join` (inner) and select the stream's columns, or `left semi join` with a stream",
            );
            JoinType::Inner
        }
        JoinKind::RightOuter | JoinKind::FullOuter => {
            let (message, what) = if join.kind == JoinKind::RightOuter {
                (RIGHT_OUTER_STREAM_STATIC, "right")
            } else {
                (FULL_OUTER_STREAM_STATIC, "full")
            };
            errors.error_with_help(
                join.span,
                message,
                format!(
                    "a {what} outer join would have to emit the table's unmatched rows, which a \
                     stream never finishes matching; use `join` (inner) or `left join`"
                ),
            );
            // The rest is still checked, as an inner join.
            JoinType::Inner
        }
    };
    if rel.aggregate.is_some() {
        errors.error(
            join.span,
            "a join after an aggregation is not supported: join the stream before it aggregates",
        );
        return;
    }
    if rel.join.is_some() {
        errors.error(join.span, "a query chain joins at most one static table");
        return;
    }

    // The table's columns as they are in a matching row (what the condition sees).
    let columns: Vec<TableColumn> = fields
        .iter()
        .map(|(field, name, ty)| TableColumn {
            field: field.clone(),
            name: name.clone(),
            ty: *ty,
        })
        .collect();
    let matched: Vec<Column> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Column {
            name: c.name.clone(),
            ident: c.field.clone(),
            slot: rel.new_slot(
                SlotDef::Joined {
                    column: i,
                    padded: false,
                },
                c.ty,
                &c.name,
            ),
        })
        .collect();
    let stream_columns = rel.scope.clone();
    let before = errors.count();

    // The conjuncts of `on`: equalities of a stream column and a table column are keys, the
    // rest the extra condition.
    let mut conjuncts = Vec::new();
    split_and(&join.on, &mut conjuncts);
    let mut keys: Vec<(SlotId, usize)> = Vec::new();
    let mut same_named_keys: Vec<String> = Vec::new();
    let mut rest: Vec<&parse::Expr> = Vec::new();
    let mut failed = false;
    for c in conjuncts {
        let parse::Expr::Binary {
            op: BinOp::Eq,
            lhs,
            rhs,
            ..
        } = c
        else {
            rest.push(c);
            continue;
        };
        let sides = (
            side_of(lhs, stream, &table_name, &stream_columns, &columns),
            side_of(rhs, stream, &table_name, &stream_columns, &columns),
        );
        let (stream_side, table_side) = match sides {
            (Some((Side::Stream, s)), Some((Side::Table, t))) => (s, t),
            (Some((Side::Table, t)), Some((Side::Stream, s))) => (s, t),
            _ => {
                rest.push(c);
                continue;
            }
        };
        let stream_col = &stream_columns[stream_side];
        let table_col = &columns[table_side];
        let (sty, tty) = (rel.slots[stream_col.slot.0].ty, table_col.ty);
        let described = format!("`{}` == `{table_name}.{}`", stream_col.name, table_col.name);
        let widened = matches!((sty.ty, tty.ty), (Ty::Int, Ty::Long) | (Ty::Long, Ty::Int));
        if sty.ty != tty.ty && !widened {
            errors.error_with_help(
                c.span(),
                format!(
                    "the join keys of {described} have different types: {} and {}",
                    sty.ty.sql_name(),
                    tty.ty.sql_name()
                ),
                "join columns of the same type (cast the stream's column in the query this one reads from); INT and BIGINT keys join as BIGINT",
            );
            failed = true;
            continue;
        }
        if !KEY_TYPES.contains(&sty.ty) {
            errors.error(
                c.span(),
                format!(
                    "a join key of type {} is not supported: join on STRING, INT, BIGINT, BOOLEAN or TIMESTAMP columns",
                    sty.ty.sql_name()
                ),
            );
            failed = true;
            continue;
        }
        if stream_col.name == table_col.name {
            same_named_keys.push(stream_col.name.clone());
        }
        keys.push((stream_col.slot, table_side));
    }
    // The names after the join (and in the extra condition).
    let both: Vec<String> = stream_columns
        .iter()
        .filter(|s| columns.iter().any(|c| c.name == s.name))
        .map(|s| s.name.clone())
        .collect();
    let ambiguous: Vec<(String, Vec<String>)> = both
        .iter()
        .filter(|n| !same_named_keys.contains(n))
        .map(|n| {
            (
                n.clone(),
                vec![format!("{stream}.{n}"), format!("{table_name}.{n}")],
            )
        })
        .collect();
    let scope_with = |table_side: &[Column]| -> Vec<Column> {
        stream_columns
            .iter()
            .filter(|s| !ambiguous.iter().any(|(n, _)| *n == s.name))
            .chain(table_side.iter().filter(|c| !both.contains(&c.name)))
            .cloned()
            .collect()
    };
    let qualified_with = |table_side: &[Column]| -> Vec<(String, Column)> {
        stream_columns
            .iter()
            .map(|c| (stream.to_string(), c.clone()))
            .chain(table_side.iter().map(|c| (table_name.clone(), c.clone())))
            .collect()
    };
    rel.ambiguous.extend(ambiguous.iter().cloned());

    // The extra condition, over the matching row's columns.
    rel.scope = scope_with(&matched);
    rel.qualified = qualified_with(&matched);
    let mut condition: Option<crate::plan::Expr> = None;
    for c in rest {
        if let Some(e) = rel.resolve(c, &mut Ctx::Row, errors)
            && let Some(e) = expect_bool(e, "a join condition", errors)
        {
            condition = Some(match condition {
                None => e,
                Some(prev) => {
                    let ty = SqlType::new(Ty::Bool, prev.ty.nullable || e.ty.nullable);
                    let span = prev.span.to(e.span);
                    typed(ExprKind::And(Box::new(prev), Box::new(e)), ty, span)
                }
            });
        }
    }

    if keys.is_empty() && !failed && errors.count() == before {
        errors.error_with_help(
            join.on.span(),
            format!("the join with `{table_name}` has no equality of a stream column and a table column"),
            format!("a stream-static join hashes the table by its keys: write e.g. `on <column> == {table_name}.<column>`"),
        );
    }
    if keys.len() > 3 {
        errors.error(
            join.on.span(),
            "a join on more than 3 key columns is not supported",
        );
    }

    // The output: a left outer join's table columns are null when no row matched.
    let output = match kind {
        JoinType::Inner => matched,
        JoinType::LeftOuter => columns
            .iter()
            .enumerate()
            .map(|(i, c)| Column {
                name: c.name.clone(),
                ident: c.field.clone(),
                slot: rel.new_slot(
                    SlotDef::Joined {
                        column: i,
                        padded: true,
                    },
                    SqlType::new(c.ty.ty, true),
                    &c.name,
                ),
            })
            .collect(),
    };
    rel.scope = scope_with(&output);
    rel.qualified = qualified_with(&output);

    let key_text: Vec<String> = keys
        .iter()
        .map(|(s, t)| format!("{} = {}", rel.slots[s.0].name, columns[*t].name))
        .collect();
    rel.steps.push(format!(
        "Join {} {table_name} on [{}]{}",
        kind.name(),
        key_text.join(", "),
        if condition.is_some() {
            " with a condition"
        } else {
            ""
        }
    ));
    rel.stages.push(Stage::Join);
    let condition = match (kind, condition) {
        // An inner join's condition filters the joined rows.
        (JoinType::Inner, Some(c)) => {
            rel.filters.push((c, rel.stages.len()));
            None
        }
        (_, c) => c,
    };
    rel.join = Some(Join {
        kind,
        table: table.clone(),
        columns,
        keys,
        condition,
    });
}

/// The conjuncts of `e` (`a and b and c`), for a join with a table or with a stream.
pub(super) fn split_and<'e>(e: &'e parse::Expr, out: &mut Vec<&'e parse::Expr>) {
    match e {
        parse::Expr::Binary {
            op: BinOp::And,
            lhs,
            rhs,
            ..
        } => {
            split_and(lhs, out);
            split_and(rhs, out);
        }
        other => out.push(other),
    }
}

/// The side and index of a column reference in a join key: `Table.c` / `Stream.c`, or a bare
/// name — the stream's when it has one (in `key == Table.key` the other operand says which
/// table column is meant), else the table's.
fn side_of(
    e: &parse::Expr,
    stream: &str,
    table: &str,
    stream_columns: &[Column],
    table_columns: &[TableColumn],
) -> Option<(Side, usize)> {
    let in_stream = |n: &str| stream_columns.iter().position(|c| c.name == n);
    let in_table = |n: &str| table_columns.iter().position(|c| c.name == n);
    match e {
        parse::Expr::Column(ident) => {
            let n = ident_name(ident);
            in_stream(&n)
                .map(|i| (Side::Stream, i))
                .or_else(|| in_table(&n).map(|i| (Side::Table, i)))
        }
        parse::Expr::Field { base, field } => {
            let parse::Expr::Column(q) = &**base else {
                return None;
            };
            let (q, n) = (ident_name(q), ident_name(field));
            if q == table {
                in_table(&n).map(|i| (Side::Table, i))
            } else if q == stream {
                in_stream(&n).map(|i| (Side::Stream, i))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A reference `Qualifier.name` to a joined relation's column, if `base` is a qualifier.
pub(super) fn qualified(rel: &Relation, base: &parse::Expr, field: &Ident) -> Option<SlotId> {
    let parse::Expr::Column(q) = base else {
        return None;
    };
    let (q, n) = (ident_name(q), ident_name(field));
    rel.qualified
        .iter()
        .find(|(qual, c)| *qual == q && c.name == n)
        .map(|(_, c)| c.slot)
}

/// Whether `base` names a side of the relation's join (`Device` in `Device.room`).
pub(super) fn is_qualifier(rel: &Relation, base: &parse::Expr) -> bool {
    matches!(base, parse::Expr::Column(q) if rel.qualified.iter().any(|(qual, _)| *qual == ident_name(q)))
        && !matches!(base, parse::Expr::Column(q) if rel.column(&ident_name(q)).is_some())
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{errors, plan};

    fn check_err(src: &str) -> String {
        errors(src).join("\n")
    }
    use crate::plan::{JoinType, Stage};

    const TABLES: &str = "
        schema Reading { device: String, temp: f64, ts: Timestamp }
        table Device { id: String, room: Option<String>, ts: Timestamp }
    ";

    #[test]
    fn an_inner_join_hashes_by_the_keys_and_keeps_the_names() {
        let p = plan(&format!(
            "{TABLES} query Q from Reading join Device on device == id {{ select device, room, temp; }}"
        ));
        let join = p.join.as_ref().expect("a join");
        assert_eq!(join.kind, JoinType::Inner);
        assert_eq!(join.keys.len(), 1);
        assert_eq!(join.columns[join.keys[0].1].name, "id");
        assert_eq!(p.stages, [Stage::Join]);
        assert!(
            p.explain.contains("Join Inner Device on [device = id]"),
            "{}",
            p.explain
        );
    }

    #[test]
    fn a_left_join_makes_the_table_columns_nullable() {
        let p = plan(&format!(
            "{TABLES} query Q from Reading left join Device on device == id {{ select device, id, room; }}"
        ));
        let ty = |name: &str| p.outputs.iter().find(|o| o.name == name).unwrap().ty;
        assert!(!ty("device").nullable);
        assert!(ty("id").nullable);
        assert!(ty("room").nullable);
    }

    #[test]
    fn a_name_both_sides_have_is_ambiguous_unqualified() {
        let err = check_err(&format!(
            "{TABLES} query Q from Reading join Device on device == id {{ select ts; }}"
        ));
        assert!(
            err.contains("[AMBIGUOUS_REFERENCE] Reference `ts` is ambiguous, could be: [`Reading`.`ts`, `Device`.`ts`]."),
            "{err}"
        );
        let p = plan(&format!(
            "{TABLES} query Q from Reading join Device on device == id {{ select t1 = Reading.ts, t2 = Device.ts; }}"
        ));
        assert_eq!(p.outputs.len(), 2);
    }

    #[test]
    fn right_and_full_outer_joins_are_rejected_with_sparks_messages() {
        let err = check_err(&format!(
            "{TABLES} query Q from Reading right join Device on device == id {{ select device; }}"
        ));
        assert!(err.contains(super::RIGHT_OUTER_STREAM_STATIC), "{err}");
        let err = check_err(&format!(
            "{TABLES} query Q from Reading full outer join Device on device == id {{ select device; }}"
        ));
        assert!(err.contains(super::FULL_OUTER_STREAM_STATIC), "{err}");
    }

    #[test]
    fn an_int_key_joins_a_bigint_one() {
        let p = plan(
            "schema R { n: Option<i32>, m: i64 } table T { big: i64, small: Option<i32> }
             query Q from R join T on n == big and m == small { select n, m; }",
        );
        assert_eq!(p.join.as_ref().unwrap().keys.len(), 2);
    }

    #[test]
    fn keys_of_different_types_are_rejected() {
        let err = check_err(&format!(
            "{TABLES} query Q from Reading join Device on temp == id {{ select device; }}"
        ));
        assert!(
            err.contains(
                "the join keys of `temp` == `Device.id` have different types: DOUBLE and STRING"
            ),
            "{err}"
        );
    }
}
