//! One clause of a query body, parsed from its own tokens (the body is split at top-level `;`
//! by [`super::parse_query`]).

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitInt, Token};

use super::expr::Expr;
use super::{
    CLAUSES, Clause, GroupItem, IntervalLit, OrderItem, ParseClause, SelectItem, expected, kw,
};
use crate::diagnostics::{SpanRange, did_you_mean};

pub(super) fn parse_clause(input: ParseStream<'_>) -> syn::Result<Clause> {
    if input.peek(kw::select) {
        let kw = input.parse::<kw::select>()?.span;
        let items = Punctuated::<SelectItem, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "select list")?;
        return Ok(Clause::Select {
            kw,
            items: items.into_iter().collect(),
        });
    }
    if input.peek(kw::with) {
        let kw = input.parse::<kw::with>()?.span;
        let items = Punctuated::<NamedExpr, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "`with` list")?;
        return Ok(Clause::With {
            kw,
            items: items.into_iter().map(|n| (n.name, n.expr)).collect(),
        });
    }
    if input.peek(Token![where]) || input.peek(kw::filter) {
        let kw = if input.peek(Token![where]) {
            input.parse::<Token![where]>()?.span
        } else {
            input.parse::<kw::filter>()?.span
        };
        let pred: Expr = input.parse()?;
        ensure_end(input, "condition")?;
        return Ok(Clause::Where { kw, pred });
    }
    if input.peek(kw::watermark) {
        let kw = input.parse::<kw::watermark>()?.span;
        let column: Ident = input.parse()?;
        input.parse::<kw::delay>().map_err(|e| {
            expected(
                e,
                "expected `delay <interval>`, e.g. `watermark timestamp delay 30 seconds;`",
            )
        })?;
        let delay: IntervalLit = input.parse()?;
        ensure_end(input, "watermark delay")?;
        return Ok(Clause::Watermark { kw, column, delay });
    }
    if input.peek(kw::group) {
        let kw = input.parse::<kw::group>()?.span;
        input
            .parse::<kw::by>()
            .map_err(|e| expected(e, "expected `by` after `group`"))?;
        if input.peek(syn::token::Paren) && input.fork().call(empty_parens).is_ok() {
            input.call(empty_parens)?;
            ensure_end(input, "`group by ()`")?;
            return Ok(Clause::GroupBy {
                kw,
                keys: Vec::new(),
            });
        }
        let keys = Punctuated::<GroupItem, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "`group by` list")?;
        return Ok(Clause::GroupBy {
            kw,
            keys: keys.into_iter().collect(),
        });
    }
    if input.peek(kw::aggregate) {
        let kw = input.parse::<kw::aggregate>()?.span;
        let items = Punctuated::<NamedExpr, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "`aggregate` list")?;
        return Ok(Clause::Aggregate {
            kw,
            items: items.into_iter().map(|n| (n.name, n.expr)).collect(),
        });
    }
    if input.peek(kw::order) {
        let kw = input.parse::<kw::order>()?.span;
        input
            .parse::<kw::by>()
            .map_err(|e| expected(e, "expected `by` after `order`"))?;
        let items = Punctuated::<OrderItem, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "`order by` list")?;
        return Ok(Clause::OrderBy {
            kw,
            items: items.into_iter().collect(),
        });
    }
    if input.peek(kw::limit) {
        let kw = input.parse::<kw::limit>()?.span;
        let n: LitInt = input
            .parse()
            .map_err(|e| expected(e, "expected the number of rows: `limit <n>;`"))?;
        ensure_end(input, "limit")?;
        return Ok(Clause::Limit { kw, n });
    }
    if input.peek(kw::drop) && input.peek2(kw::duplicates) && is_drop_duplicates(input) {
        return parse_drop_duplicates(input);
    }
    if input.peek(kw::drop) {
        let kw = input.parse::<kw::drop>()?.span;
        let columns = Punctuated::<Ident, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "`drop` list")?;
        return Ok(Clause::Drop {
            kw,
            columns: columns.into_iter().collect(),
        });
    }
    if input.peek(kw::rename) {
        let kw = input.parse::<kw::rename>()?.span;
        let pairs = Punctuated::<RenamePair, Token![,]>::parse_separated_nonempty(input)?;
        ensure_end(input, "`rename` list")?;
        return Ok(Clause::Rename {
            kw,
            pairs: pairs.into_iter().map(|p| (p.from, p.to)).collect(),
        });
    }
    if input.peek(kw::parse) {
        return parse_payload_clause(input).map(Clause::Parse);
    }
    if input.peek(Ident) {
        let word: Ident = input.parse()?;
        let w = word.to_string();
        let hint = match w.as_str() {
            "groupBy" | "groupby" => "; write `group by`".to_string(),
            "withWatermark" => "; write `watermark <column> delay <interval>`".to_string(),
            "agg" => "; write `aggregate`".to_string(),
            "orderBy" | "sort" => "; write `order by`".to_string(),
            "withColumn" => "; write `with <name> = <expr>`".to_string(),
            "from_json" | "from_csv" => {
                "; write `parse <payload> as json <Schema>;` (or `as csv`)".to_string()
            }
            "dropDuplicates" | "drop_duplicates" | "dropDuplicatesWithinWatermark" | "distinct" => {
                "; write `drop duplicates (<columns>);` (or `drop duplicates within watermark (<columns>);`)".to_string()
            }
            _ => did_you_mean(&w, CLAUSES),
        };
        return Err(syn::Error::new(
            word.span(),
            format!(
                "unknown clause `{w}`{hint}\n= note: a clause is one of: select, with, where, filter, watermark, group by, aggregate, order by, limit, drop, drop duplicates, rename, parse"
            ),
        ));
    }
    Err(input.error("expected a clause: select, with, where, filter, watermark, group by, aggregate, order by, limit, drop, rename or parse"))
}

/// Whether `drop duplicates ...` is the deduplication clause rather than `drop` of a column
/// named `duplicates` (`drop duplicates, other;`): it is when `duplicates` ends the clause or is
/// followed by `within` or a parenthesised column list. (`drop r#duplicates;` drops a column of
/// that name.)
fn is_drop_duplicates(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.parse::<kw::drop>().is_ok()
        && fork.parse::<kw::duplicates>().is_ok()
        && (fork.is_empty() || fork.peek(kw::within) || fork.peek(syn::token::Paren))
}

/// `drop duplicates [within watermark] [(<column>, ...)]`.
fn parse_drop_duplicates(input: ParseStream<'_>) -> syn::Result<Clause> {
    let kw = input.parse::<kw::drop>()?.span;
    let mut end = input.parse::<kw::duplicates>()?.span;
    let within_watermark = if input.peek(kw::within) {
        input.parse::<kw::within>()?;
        end = input
            .parse::<kw::watermark>()
            .map_err(|e| {
                expected(
                    e,
                    "expected `watermark` after `within`: `drop duplicates within watermark (<columns>);`",
                )
            })?
            .span;
        true
    } else {
        false
    };
    let columns = if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let list = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
        if list.is_empty() {
            return Err(content.error(
                "list the key columns, e.g. `drop duplicates (user, ts);`, or write `drop duplicates;` for every column",
            ));
        }
        Some(list.into_iter().collect())
    } else {
        None
    };
    ensure_end(input, "`drop duplicates` clause")?;
    Ok(Clause::DropDuplicates {
        kw,
        span: SpanRange { start: kw, end },
        within_watermark,
        columns,
    })
}

/// `parse <payload> as <format>[(<option> = <literal>, ...)] <Schema> [mode <mode>]`.
fn parse_payload_clause(input: ParseStream<'_>) -> syn::Result<ParseClause> {
    let kw = input.parse::<kw::parse>()?.span;
    let payload: Expr = input.parse()?;
    input.parse::<Token![as]>().map_err(|e| {
        expected(
            e,
            "expected `as <format> <Schema>`, e.g. `parse value as json Reading;`",
        )
    })?;
    let format: Ident = input
        .parse()
        .map_err(|e| expected(e, "expected a payload format: `json` or `csv`"))?;
    let mut options = Vec::new();
    if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let list = Punctuated::<ParseOption, Token![,]>::parse_terminated(&content)?;
        options.extend(list.into_iter().map(|o| (o.name, o.value)));
    }
    let schema: Ident = input.parse().map_err(|e| {
        expected(
            e,
            "expected the schema to parse into, e.g. `parse value as json Reading;`",
        )
    })?;
    let mode = if input.peek(kw::mode) {
        input.parse::<kw::mode>()?;
        Some(input.parse::<Ident>().map_err(|e| {
            expected(
                e,
                "expected a mode after `mode`: permissive, drop_malformed or fail_fast",
            )
        })?)
    } else {
        None
    };
    ensure_end(input, "`parse` clause")?;
    Ok(ParseClause {
        kw,
        payload,
        format,
        options,
        schema,
        mode,
    })
}

/// `<option> = <literal>` in a `parse` clause's format options.
struct ParseOption {
    name: Ident,
    value: syn::Lit,
}

impl Parse for ParseOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        input
            .parse::<Token![=]>()
            .map_err(|e| expected(e, "expected `<option> = <literal>`, e.g. `sep = \";\"`"))?;
        let value: syn::Lit = input
            .parse()
            .map_err(|e| expected(e, "expected a literal option value, e.g. `\";\"`"))?;
        Ok(ParseOption { name, value })
    }
}

fn empty_parens(input: ParseStream<'_>) -> syn::Result<()> {
    let content;
    syn::parenthesized!(content in input);
    if content.is_empty() {
        Ok(())
    } else {
        Err(content.error("not empty"))
    }
}

fn ensure_end(input: ParseStream<'_>, what: &str) -> syn::Result<()> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(input.error(format!(
            "unexpected tokens after the {what}; expected `,` or `;`"
        )))
    }
}

struct NamedExpr {
    name: Ident,
    expr: Expr,
}

impl Parse for NamedExpr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        input.parse::<Token![=]>().map_err(|e| {
            expected(
                e,
                format!("expected `=` after `{name}`: write `{name} = <expression>`"),
            )
        })?;
        let expr: Expr = input.parse()?;
        Ok(NamedExpr { name, expr })
    }
}

struct RenamePair {
    from: Ident,
    to: Ident,
}

impl Parse for RenamePair {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let from: Ident = input.parse()?;
        input.parse::<kw::to>().map_err(|e| {
            expected(
                e,
                format!("expected `to`: write `rename {from} to <new name>`"),
            )
        })?;
        let to: Ident = input.parse()?;
        Ok(RenamePair { from, to })
    }
}

impl Parse for SelectItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Token![*]) {
            return Ok(SelectItem::Star(input.parse::<Token![*]>()?.span));
        }
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let n: NamedExpr = input.parse()?;
            return Ok(SelectItem::Named {
                name: n.name,
                expr: n.expr,
            });
        }
        if input.peek(syn::token::Paren) && input.fork().call(names_then_assign).is_ok() {
            let (names, span) = input.call(names_then_assign)?;
            let expr: Expr = input.parse()?;
            return Ok(SelectItem::Names { names, span, expr });
        }
        let expr: Expr = input.parse()?;
        if input.peek(Token![as]) {
            let as_span = input.parse::<Token![as]>()?.span;
            let name: Ident = input.parse()?;
            return Err(syn::Error::new(
                as_span,
                format!("aliases are written first: `{name} = <expression>`"),
            ));
        }
        Ok(SelectItem::Expr(expr))
    }
}

/// `(a, b) =`: the names of a generator's columns, then the `=` (not `==`).
fn names_then_assign(input: ParseStream<'_>) -> syn::Result<(Vec<Ident>, SpanRange)> {
    let content;
    let paren = syn::parenthesized!(content in input);
    let names = Punctuated::<Ident, Token![,]>::parse_separated_nonempty(&content)?;
    if !content.is_empty() {
        return Err(content.error("expected `,` or `)`"));
    }
    if input.peek(Token![==]) {
        return Err(input.error("a comparison, not names"));
    }
    input.parse::<Token![=]>()?;
    Ok((
        names.into_iter().collect(),
        SpanRange {
            start: paren.span.open(),
            end: paren.span.close(),
        },
    ))
}

impl Parse for GroupItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(kw::session_window) && input.peek2(syn::token::Paren) {
            let kw = input.parse::<kw::session_window>()?.span;
            let content;
            let paren = syn::parenthesized!(content in input);
            let column: Ident = content.parse()?;
            content
                .parse::<Token![,]>()
                .map_err(|e| expected(e, "expected `session_window(<timestamp column>, <gap>)`"))?;
            let gap: IntervalLit = content.parse()?;
            if !content.is_empty() {
                return Err(content
                    .error("expected `)`: `session_window` takes a timestamp column and a gap"));
            }
            return Ok(GroupItem::SessionWindow {
                span: SpanRange {
                    start: kw,
                    end: paren.span.close(),
                },
                column,
                gap,
            });
        }
        if input.peek(kw::window) && input.peek2(syn::token::Paren) {
            let kw = input.parse::<kw::window>()?.span;
            let content;
            let paren = syn::parenthesized!(content in input);
            let column: Ident = content.parse()?;
            content.parse::<Token![,]>().map_err(|e| {
                expected(
                    e,
                    "expected `window(<timestamp column>, <size>[, <slide>])`",
                )
            })?;
            let size: IntervalLit = content.parse()?;
            let slide = if content.peek(Token![,]) {
                content.parse::<Token![,]>()?;
                Some(content.parse::<IntervalLit>()?)
            } else {
                None
            };
            if !content.is_empty() {
                return Err(content.error(
                    "expected `)`: `window` takes a timestamp column, a size and an optional slide",
                ));
            }
            return Ok(GroupItem::Window {
                span: SpanRange {
                    start: kw,
                    end: paren.span.close(),
                },
                column,
                size,
                slide,
            });
        }
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let n: NamedExpr = input.parse()?;
            return Ok(GroupItem::Named {
                name: n.name,
                expr: n.expr,
            });
        }
        Ok(GroupItem::Expr(input.parse()?))
    }
}

impl Parse for OrderItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let expr: Expr = input.parse()?;
        let descending = if input.peek(kw::desc) {
            input.parse::<kw::desc>()?;
            true
        } else {
            if input.peek(kw::asc) {
                input.parse::<kw::asc>()?;
            }
            false
        };
        let nulls_first = if input.peek(kw::nulls) {
            input.parse::<kw::nulls>()?;
            if input.peek(kw::first) {
                input.parse::<kw::first>()?;
                Some(true)
            } else {
                input
                    .parse::<kw::last>()
                    .map_err(|e| expected(e, "expected `first` or `last` after `nulls`"))?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem {
            expr,
            descending,
            nulls_first,
        })
    }
}
