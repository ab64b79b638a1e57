//! Syntax only: the `pipeline!` input as a tree with spans, no meaning attached.
//!
//! ```text
//! pipeline := item*
//! item     := attrs vis (schema | table | query)
//! schema   := "schema" Name "{" (attrs field ":" Type),* "}"
//! table    := "table" Name "{" (attrs field ":" Type),* "}"
//! query    := "query" Name "from" Source [join] "{" clause* "}"
//! join     := ["inner" | "left" ["outer"] | "left" "semi" | "right" ["outer"]
//!              | "full" ["outer"]] "join" (Table | Stream) "on" expr
//! clause   := "select" select_item, ... ";"
//!           | "with" name "=" expr, ... ";"
//!           | ("where" | "filter") expr ";"
//!           | "watermark" column "delay" interval ";"
//!           | "group" "by" group_item, ... ";"        (or "group by ();")
//!           | "aggregate" name "=" expr, ... ";"
//!           | "order" "by" expr ["asc" | "desc"] ["nulls" ("first" | "last")], ... ";"
//!           | "limit" n ";"
//!           | "drop" column, ... ";"
//!           | "drop" "duplicates" ["within" "watermark"] ["(" column, ... ")"] ";"
//!           | "rename" column "to" name, ... ";"
//! ```
//!
//! Each clause is parsed on its own (the body is split at top-level `;`), so one malformed
//! clause does not hide the errors of the next.

mod clause;
pub(crate) mod duration;
pub(crate) mod expr;
pub(crate) mod kw;

use self::clause::parse_clause;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, Ident, LitInt, Token, Visibility};

pub(crate) use self::duration::IntervalLit;
pub(crate) use self::expr::{BinOp, Expr};
use crate::diagnostics::{Errors, SpanRange, did_you_mean};

/// The whole macro input.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) items: Vec<Item>,
}

/// A top-level definition.
#[derive(Debug)]
pub(crate) enum Item {
    Schema(SchemaDef),
    Query(QueryDef),
}

/// `schema Name { field: Type, ... }`: a user-declared input row type; or
/// `table Name { ... }`: the row type of a static table a query joins its stream with.
#[derive(Debug)]
pub(crate) struct SchemaDef {
    /// Declared with `table`: a static table, not a stream.
    pub(crate) is_table: bool,
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    /// The fields that parsed, up to the first one that did not.
    pub(crate) fields: Vec<FieldDef>,
    /// Whether every field parsed. If not, the schema is not generated, and its queries fail
    /// without further errors.
    pub(crate) complete: bool,
}

/// One field of a schema.
#[derive(Debug)]
pub(crate) struct FieldDef {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) name: Ident,
    pub(crate) ty: syn::Type,
}

/// `query Name from Source { clauses }`.
#[derive(Debug)]
pub(crate) struct QueryDef {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) from: Ident,
    /// `join Table on ...` after the source.
    pub(crate) join: Option<JoinDef>,
    /// The clauses that parsed, up to the first one that did not.
    pub(crate) clauses: Vec<Clause>,
    /// Whether every clause parsed. If not, the clauses before the first syntax error are
    /// still checked (their errors cannot be echoes of it); the query itself is not generated.
    pub(crate) complete: bool,
}

/// The kinds of join the syntax has (which of them a stream-static join allows is checked later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    /// `left semi join` (stream-stream only).
    LeftSemi,
}

/// `[left | right | full [outer] | inner] join Table on condition`.
#[derive(Debug)]
pub(crate) struct JoinDef {
    pub(crate) kind: JoinKind,
    /// The join type and `join` as written, for messages about the join.
    pub(crate) span: SpanRange,
    pub(crate) table: Ident,
    /// Column equalities, optionally with an extra condition, joined by `and`.
    pub(crate) on: Expr,
}

/// One clause of a query body, applied in order.
#[derive(Debug)]
pub(crate) enum Clause {
    Select {
        kw: Span,
        items: Vec<SelectItem>,
    },
    With {
        kw: Span,
        items: Vec<(Ident, Expr)>,
    },
    Where {
        kw: Span,
        pred: Expr,
    },
    Watermark {
        kw: Span,
        column: Ident,
        delay: IntervalLit,
    },
    GroupBy {
        kw: Span,
        keys: Vec<GroupItem>,
    },
    Aggregate {
        kw: Span,
        items: Vec<(Ident, Expr)>,
    },
    OrderBy {
        kw: Span,
        items: Vec<OrderItem>,
    },
    Limit {
        kw: Span,
        n: LitInt,
    },
    Drop {
        kw: Span,
        columns: Vec<Ident>,
    },
    /// `drop duplicates [within watermark] [(columns)]`: Spark's `dropDuplicates` /
    /// `dropDuplicatesWithinWatermark`; without columns, every column is the key.
    DropDuplicates {
        kw: Span,
        /// `drop duplicates` as written, for messages about the clause.
        span: SpanRange,
        within_watermark: bool,
        columns: Option<Vec<Ident>>,
    },
    Rename {
        kw: Span,
        pairs: Vec<(Ident, Ident)>,
    },
    /// `parse <payload> as <format>[(<option> = <literal>, ...)] <Schema> [mode <mode>]`.
    Parse(ParseClause),
}

/// A `parse` clause: decodes a payload column into a declared schema's columns.
#[derive(Debug)]
pub(crate) struct ParseClause {
    pub(crate) kw: Span,
    pub(crate) payload: Expr,
    /// `json` or `csv` (checked later).
    pub(crate) format: Ident,
    pub(crate) options: Vec<(Ident, syn::Lit)>,
    pub(crate) schema: Ident,
    pub(crate) mode: Option<Ident>,
}

impl Clause {
    /// The span of the clause keyword.
    pub(crate) fn kw_span(&self) -> Span {
        match self {
            Clause::Select { kw, .. }
            | Clause::With { kw, .. }
            | Clause::Where { kw, .. }
            | Clause::Watermark { kw, .. }
            | Clause::GroupBy { kw, .. }
            | Clause::Aggregate { kw, .. }
            | Clause::OrderBy { kw, .. }
            | Clause::Limit { kw, .. }
            | Clause::Drop { kw, .. }
            | Clause::DropDuplicates { kw, .. }
            | Clause::Rename { kw, .. } => *kw,
            Clause::Parse(p) => p.kw,
        }
    }
}

/// An item of a `select` list.
#[derive(Debug)]
pub(crate) enum SelectItem {
    /// `*`: every column of the input.
    Star(Span),
    /// `name = expr`.
    Named { name: Ident, expr: Expr },
    /// `(a, b) = expr`: the names of a generator's columns (`(pos, word) = posexplode(...)`).
    Names {
        names: Vec<Ident>,
        span: SpanRange,
        expr: Expr,
    },
    /// A bare column or `window.start`-style field; its name is the column's (or field's).
    Expr(Expr),
}

/// An item of a `group by` list.
#[derive(Debug)]
pub(crate) enum GroupItem {
    /// `window(ts, size)` or `window(ts, size, slide)`.
    Window {
        span: SpanRange,
        column: Ident,
        size: IntervalLit,
        slide: Option<IntervalLit>,
    },
    /// `session_window(ts, gap)`.
    SessionWindow {
        span: SpanRange,
        column: Ident,
        gap: IntervalLit,
    },
    /// `name = expr`: a derived key.
    Named { name: Ident, expr: Expr },
    /// A column.
    Expr(Expr),
}

/// An item of an `order by` list.
#[derive(Debug)]
pub(crate) struct OrderItem {
    pub(crate) expr: Expr,
    pub(crate) descending: bool,
    pub(crate) nulls_first: Option<bool>,
}

pub(super) const CLAUSES: [&str; 12] = [
    "select",
    "with",
    "where",
    "filter",
    "watermark",
    "group",
    "aggregate",
    "order",
    "limit",
    "drop",
    "rename",
    "parse",
];

impl Pipeline {
    /// Parses the macro input, recording every syntax error in `errors`.
    pub(crate) fn parse(input: TokenStream, errors: &Errors) -> Pipeline {
        let mut items = Vec::new();
        let parser = |stream: ParseStream<'_>| -> syn::Result<()> {
            while !stream.is_empty() {
                match parse_item(stream, errors) {
                    Ok(item) => items.push(item),
                    Err(e) => {
                        // Resume after the item's `{ ... }`, so the items after it are still
                        // parsed and checked.
                        errors.push(e);
                        skip_past_braces(stream)?;
                    }
                }
            }
            Ok(())
        };
        if let Err(e) = parser.parse2(input) {
            errors.push(e);
        }
        Pipeline { items }
    }
}

fn parse_item(stream: ParseStream<'_>, errors: &Errors) -> syn::Result<Item> {
    let attrs = stream.call(Attribute::parse_outer)?;
    let vis: Visibility = stream.parse()?;
    if stream.peek(kw::schema) || stream.peek(kw::table) {
        Ok(Item::Schema(parse_schema(stream, attrs, vis, errors)?))
    } else if stream.peek(kw::query) {
        Ok(Item::Query(parse_query(stream, attrs, vis, errors)?))
    } else if stream.peek(Ident) {
        let word: Ident = stream.parse()?;
        let hint = did_you_mean(&word.to_string(), ["schema", "table", "query"]);
        Err(syn::Error::new(
            word.span(),
            format!("expected `schema`, `table` or `query`, found `{word}`{hint}"),
        ))
    } else {
        Err(stream
            .error("expected `schema <Name> { ... }` or `query <Name> from <Source> { ... }`"))
    }
}

/// Skips tokens up to and including the next `{ ... }` group.
fn skip_past_braces(stream: ParseStream<'_>) -> syn::Result<()> {
    while !stream.is_empty() {
        if let TokenTree::Group(g) = stream.parse::<TokenTree>()?
            && g.delimiter() == proc_macro2::Delimiter::Brace
        {
            break;
        }
    }
    Ok(())
}

fn parse_schema(
    input: ParseStream<'_>,
    attrs: Vec<Attribute>,
    vis: Visibility,
    errors: &Errors,
) -> syn::Result<SchemaDef> {
    let is_table = if input.peek(kw::table) {
        input.parse::<kw::table>()?;
        true
    } else {
        input.parse::<kw::schema>()?;
        false
    };
    let name: Ident = input.parse()?;
    let content;
    syn::braced!(content in input);
    // Fields up to the first malformed one; the schema is then incomplete (see `complete`).
    let mut fields = Vec::new();
    let mut complete = true;
    while !content.is_empty() {
        let field = content.parse::<FieldDef>().and_then(|f| {
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
            Ok(f)
        });
        match field {
            Ok(f) => fields.push(f),
            Err(e) => {
                errors.push(e);
                complete = false;
                // The rest of the body belongs to the malformed field.
                content.parse::<TokenStream>()?;
            }
        }
    }
    Ok(SchemaDef {
        is_table,
        attrs,
        vis,
        name,
        fields,
        complete,
    })
}

impl Parse for FieldDef {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: syn::Type = input.parse()?;
        Ok(FieldDef { attrs, name, ty })
    }
}

fn parse_query(
    input: ParseStream<'_>,
    attrs: Vec<Attribute>,
    vis: Visibility,
    errors: &Errors,
) -> syn::Result<QueryDef> {
    input.parse::<kw::query>()?;
    let name: Ident = input.parse()?;
    input
        .parse::<kw::from>()
        .map_err(|e| expected(e, format!("expected `from <Source>` after `query {name}`")))?;
    let from: Ident = input.parse()?;
    let join = if input.peek(syn::token::Brace) {
        None
    } else {
        Some(parse_join(input)?)
    };
    let content;
    let brace = syn::braced!(content in input);
    let body: TokenStream = content.parse()?;

    // Split the body at top-level `;` and parse each clause on its own.
    let mut clauses = Vec::new();
    let mut current = Vec::<TokenTree>::new();
    let mut ok = true;
    for tt in body {
        if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';') {
            let tokens: TokenStream = std::mem::take(&mut current).into_iter().collect();
            let result = if tokens.is_empty() {
                Err(syn::Error::new(
                    tt.span(),
                    "expected a clause before this `;`",
                ))
            } else {
                parse_clause
                    .parse2(tokens)
                    .map_err(|e| at_semicolon(e, tt.span()))
            };
            match result {
                Ok(c) if ok => clauses.push(c),
                Ok(_) => {}
                Err(e) => {
                    errors.push(e);
                    ok = false;
                }
            }
        } else {
            current.push(tt);
        }
    }
    if let Some(last) = current.last() {
        let first = current.first().map_or(last.span(), TokenTree::span);
        errors.push(
            SpanRange {
                start: first,
                end: last.span(),
            }
            .error("expected `;` at the end of the clause"),
        );
        ok = false;
    }
    if clauses.is_empty() && ok {
        errors.push(syn::Error::new(
            brace.span.join(),
            "a query needs at least one clause, e.g. `select *;`",
        ));
    }
    Ok(QueryDef {
        attrs,
        vis,
        name,
        from,
        join,
        clauses,
        complete: ok,
    })
}

/// `[inner | left [outer] | right [outer] | full [outer]] join Table on condition`, up to the
/// query's body.
fn parse_join(input: ParseStream<'_>) -> syn::Result<JoinDef> {
    let start = input.span();
    let kind = if input.peek(kw::inner) {
        input.parse::<kw::inner>()?;
        JoinKind::Inner
    } else if input.peek(kw::left) && input.peek2(kw::semi) {
        input.parse::<kw::left>()?;
        input.parse::<kw::semi>()?;
        JoinKind::LeftSemi
    } else if input.peek(kw::left) {
        input.parse::<kw::left>()?;
        JoinKind::LeftOuter
    } else if input.peek(kw::right) {
        input.parse::<kw::right>()?;
        JoinKind::RightOuter
    } else if input.peek(kw::full) {
        input.parse::<kw::full>()?;
        JoinKind::FullOuter
    } else {
        JoinKind::Inner
    };
    if !matches!(kind, JoinKind::Inner | JoinKind::LeftSemi) && input.peek(kw::outer) {
        input.parse::<kw::outer>()?;
    }
    let join = input.parse::<kw::join>().map_err(|e| {
        expected(
            e,
            "expected the query's body `{ ... }`, or `join <Table> on <condition>`".to_string(),
        )
    })?;
    let span = SpanRange {
        start,
        end: join.span,
    };
    let table: Ident = input.parse()?;
    input
        .parse::<kw::on>()
        .map_err(|e| expected(e, format!("expected `on <condition>` after `join {table}`")))?;
    // The condition runs up to the body's braces.
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(syn::token::Brace) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    if tokens.is_empty() {
        return Err(input.error("expected the join condition after `on`"));
    }
    let on = syn::parse2::<Expr>(tokens)?;
    Ok(JoinDef {
        kind,
        span,
        table,
        on,
    })
}

/// syn's prefix for an error at the end of the tokens being parsed.
const END_OF_INPUT: &str = "unexpected end of input, ";

/// Replaces the message of a parse error with a more helpful one, keeping syn's marker of an
/// error at the end of the input (see [`at_semicolon`]).
pub(crate) fn expected(e: syn::Error, message: impl std::fmt::Display) -> syn::Error {
    if e.to_string().starts_with(END_OF_INPUT) {
        syn::Error::new(e.span(), format!("{END_OF_INPUT}{message}"))
    } else {
        syn::Error::new(e.span(), message)
    }
}

/// A clause is parsed from its own token stream, so syn reports an error at its end at the
/// macro's call site, which would underline the whole `pipeline!`. Point at the `;` that ends
/// the clause instead: that is where the missing tokens belong.
fn at_semicolon(e: syn::Error, semicolon: Span) -> syn::Error {
    match e.to_string().strip_prefix(END_OF_INPUT) {
        Some(rest) => syn::Error::new(semicolon, rest),
        None => e,
    }
}

#[cfg(test)]
mod tests;
