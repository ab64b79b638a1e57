//! Meaning: resolves names across chained queries, types every expression with Spark's rules,
//! enforces the streaming rules (watermark, windows, aggregation, output modes), and produces
//! one [`PipelinePlan`] per query.

mod decode;
mod expr;
pub(crate) mod functions;
mod output_mode;
mod types;

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use crate::codegen::paths::rt;
use crate::diagnostics::{Errors, SpanRange, did_you_mean, list, with_note};
use crate::parse::{self, Clause, GroupItem, Item, SelectItem};
use crate::plan::{
    Aggregate, Filter, GroupKey, InputSource, KeyRepr, OrderKey, OutputColumn, PipelinePlan, Slot,
    SlotDef, SlotId, SqlType, Ty, Watermark,
};

use self::expr::{AggregateScope, Ctx, ident_name};

/// A user-declared input schema, checked.
#[derive(Debug)]
pub(crate) struct SchemaPlan {
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) vis: syn::Visibility,
    pub(crate) name: Ident,
    pub(crate) fields: Vec<SchemaField>,
}

/// A field of a declared schema.
#[derive(Debug)]
pub(crate) struct SchemaField {
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) ident: Ident,
    pub(crate) name: String,
    pub(crate) ty: SqlType,
}

/// The checked program.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) schemas: Vec<SchemaPlan>,
    pub(crate) pipelines: Vec<PipelinePlan>,
    /// Schemas that failed to check: code generation emits stand-ins for them.
    pub(crate) failed_schemas: Vec<FailedSchema>,
    /// Queries that failed to check (or read one that did): code generation emits stand-ins.
    pub(crate) failed_queries: Vec<FailedQuery>,
}

/// A schema with errors, kept so that a stand-in row type can be generated: the user's code
/// that names it (building input rows, a `MemoryStream<Reading>`) then still compiles, and the
/// only errors are the real ones.
#[derive(Debug)]
pub(crate) struct FailedSchema {
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) vis: syn::Visibility,
    pub(crate) name: Ident,
    /// The fields as written (their Rust types, even unsupported ones).
    pub(crate) fields: Vec<(Vec<syn::Attribute>, Ident, syn::Type)>,
}

/// A query with errors, kept so that a stand-in pipeline can be generated (see
/// [`FailedSchema`]).
#[derive(Debug)]
pub(crate) struct FailedQuery {
    pub(crate) name: Ident,
    pub(crate) vis: syn::Visibility,
    pub(crate) docs: Vec<syn::Attribute>,
    /// The row type at the root of its `from` chain (the rate source's if that is unknown).
    pub(crate) input: TokenStream,
}

/// A named column of a relation.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) ident: Ident,
    pub(crate) slot: SlotId,
}

/// A relation being built clause by clause: the state of a query after some clauses.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub(crate) input: InputSource,
    pub(crate) slots: Vec<Slot>,
    pub(crate) scope: Vec<Column>,
    /// Pre-aggregation filters with the number of watermarks defined before each.
    pub(crate) filters: Vec<(crate::plan::Expr, usize)>,
    pub(crate) watermarks: Vec<Watermark>,
    pub(crate) aggregate: Option<Aggregate>,
    pub(crate) post_filters: Vec<crate::plan::Expr>,
    pub(crate) order_by: Vec<OrderKey>,
    pub(crate) limit: Option<(u64, Span)>,
    pub(crate) sort_span: Option<Span>,
    /// The query whose clauses aggregate (this one, or one it reads from).
    pub(crate) aggregated_in: Option<String>,
    /// The first clause of each query in the chain, for plan rendering.
    pub(crate) steps: Vec<String>,
}

impl Relation {
    fn new(input: InputSource, fields: &[(Ident, String, SqlType)]) -> Self {
        let mut r = Relation {
            input,
            slots: Vec::new(),
            scope: Vec::new(),
            filters: Vec::new(),
            watermarks: Vec::new(),
            aggregate: None,
            post_filters: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            sort_span: None,
            aggregated_in: None,
            steps: Vec::new(),
        };
        for (ident, name, ty) in fields {
            let slot = r.new_slot(
                SlotDef::Input {
                    field: ident.clone(),
                },
                *ty,
                name,
            );
            r.scope.push(Column {
                name: name.clone(),
                ident: ident.clone(),
                slot,
            });
        }
        r
    }

    pub(crate) fn new_slot(&mut self, def: SlotDef, ty: SqlType, name: &str) -> SlotId {
        self.slots.push(Slot {
            def,
            ty,
            name: name.to_string(),
        });
        SlotId(self.slots.len() - 1)
    }

    /// The slot holding `expr`: the referenced slot if it is a plain column, else a new one.
    pub(crate) fn slot_for(&mut self, expr: crate::plan::Expr, name: &str) -> SlotId {
        if let crate::plan::ExprKind::Slot(s) = expr.kind {
            return s;
        }
        let ty = expr.ty;
        self.new_slot(SlotDef::Let(expr), ty, name)
    }

    pub(crate) fn column(&self, name: &str) -> Option<SlotId> {
        self.scope.iter().find(|c| c.name == name).map(|c| c.slot)
    }

    fn is_post(&self) -> bool {
        self.aggregate.is_some()
    }

    fn scope_names(&self) -> Vec<String> {
        self.scope.iter().map(|c| c.name.clone()).collect()
    }
}

/// The built-in sources: name, Rust row type, columns.
fn builtin_source(name: &str) -> Option<(TokenStream, Vec<(&'static str, SqlType)>)> {
    let rt = rt();
    match name {
        "Rate" => Some((
            quote!(#rt::RateRow),
            vec![
                ("timestamp", SqlType::non_null(Ty::Timestamp)),
                ("value", SqlType::non_null(Ty::Long)),
            ],
        )),
        "TextLine" => Some((
            quote!(#rt::TextLine),
            vec![
                ("value", SqlType::non_null(Ty::Str)),
                ("timestamp", SqlType::non_null(Ty::Timestamp)),
            ],
        )),
        // Spark's Kafka schema (`timestampType` as `timestamp_type`, a Rust field name).
        "Kafka" => Some((
            quote!(#rt::KafkaRow),
            vec![
                ("key", SqlType::new(Ty::Binary, true)),
                ("value", SqlType::new(Ty::Binary, true)),
                ("topic", SqlType::non_null(Ty::Str)),
                ("partition", SqlType::non_null(Ty::Int)),
                ("offset", SqlType::non_null(Ty::Long)),
                ("timestamp", SqlType::non_null(Ty::Timestamp)),
                ("timestamp_type", SqlType::non_null(Ty::Int)),
                ("headers", SqlType::new(Ty::Headers, true)),
            ],
        )),
        _ => None,
    }
}

const BUILTIN_SOURCES: [&str; 3] = ["Rate", "TextLine", "Kafka"];

/// Maps a schema field's Rust type to its Spark type.
fn column_type(ty: &syn::Type) -> Result<SqlType, String> {
    let syn::Type::Path(p) = ty else {
        return Err(unsupported_type(ty));
    };
    let Some(last) = p.path.segments.last() else {
        return Err(unsupported_type(ty));
    };
    let name = last.ident.to_string();
    if name == "Option" || name == "Vec" {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return Err(unsupported_type(ty));
        };
        let Some(syn::GenericArgument::Type(inner)) = args.args.first() else {
            return Err(unsupported_type(ty));
        };
        if name == "Vec" && is_path(inner, "u8") {
            return Ok(SqlType::non_null(Ty::Binary));
        }
        if name == "Vec" && is_path(inner, "Header") {
            return Ok(SqlType::non_null(Ty::Headers));
        }
        let inner_ty = column_type(inner)?;
        if name == "Option" {
            if inner_ty.nullable {
                return Err("nested `Option` is not a column type".into());
            }
            return Ok(SqlType::new(inner_ty.ty, true));
        }
        if inner_ty == SqlType::non_null(Ty::Str) {
            return Ok(SqlType::non_null(Ty::StrArray));
        }
        return Err(unsupported_type(ty));
    }
    let t = match name.as_str() {
        "bool" => Ty::Bool,
        "i32" => Ty::Int,
        "i64" => Ty::Long,
        "f64" => Ty::Double,
        "String" => Ty::Str,
        "Timestamp" => Ty::Timestamp,
        "Window" => Ty::Window,
        _ => return Err(unsupported_type(ty)),
    };
    Ok(SqlType::non_null(t))
}

/// Whether `ty` is a path whose last segment is `name` (`u8`, `sluice::value::Header`).
fn is_path(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name && s.arguments.is_none()))
}

fn unsupported_type(ty: &syn::Type) -> String {
    format!(
        "unsupported column type `{}`; expected bool, i32, i64, f64, String, Timestamp, Window, Vec<String>, Vec<u8>, Vec<Header>, or Option<...> of one of them",
        quote!(#ty).to_string().replace(' ', "")
    )
}

/// A source column: Rust field, column name, type.
type InputField = (Ident, String, SqlType);

struct Checker<'a> {
    errors: &'a Errors,
    schemas: HashMap<String, (TokenStream, Vec<InputField>)>,
    queries: HashMap<String, &'a parse::QueryDef>,
    /// Resolved queries (`None`: failed, errors already reported).
    resolved: HashMap<String, Option<Relation>>,
    in_progress: Vec<String>,
    /// Schemas that failed to check (a query reading one fails without a further error).
    failed_schemas: HashMap<String, TokenStream>,
}

/// Checks the whole pipeline: every schema and query.
pub(crate) fn check(pipeline: &parse::Pipeline, errors: &Errors) -> Checked {
    let mut out = Checked::default();
    let mut checker = Checker {
        errors,
        schemas: HashMap::new(),
        queries: HashMap::new(),
        resolved: HashMap::new(),
        in_progress: Vec::new(),
        failed_schemas: HashMap::new(),
    };
    let mut names: HashMap<String, Span> = HashMap::new();
    // Whether the name is free; a second definition is reported and then ignored.
    let mut declare = |ident: &Ident| {
        let name = ident.to_string();
        if BUILTIN_SOURCES.contains(&name.as_str()) {
            errors.error(
                SpanRange::single(ident.span()),
                format!("`{name}` is a built-in source; choose another name"),
            );
            false
        } else if names.insert(name.clone(), ident.span()).is_some() {
            errors.error(
                SpanRange::single(ident.span()),
                format!("`{name}` is defined more than once"),
            );
            false
        } else {
            true
        }
    };
    let mut queries = Vec::new();
    for item in &pipeline.items {
        match item {
            Item::Schema(s) => {
                if !declare(&s.name) {
                    continue;
                }
                let name = &s.name;
                match check_schema(s, errors) {
                    Some(plan) => {
                        let fields = plan
                            .fields
                            .iter()
                            .map(|f| (f.ident.clone(), f.name.clone(), f.ty))
                            .collect();
                        checker
                            .schemas
                            .insert(name.to_string(), (quote!(#name), fields));
                        out.schemas.push(plan);
                    }
                    None => {
                        checker
                            .failed_schemas
                            .insert(name.to_string(), quote!(#name));
                        out.failed_schemas.push(FailedSchema {
                            attrs: s.attrs.clone(),
                            vis: s.vis.clone(),
                            name: name.clone(),
                            fields: s
                                .fields
                                .iter()
                                .map(|f| (f.attrs.clone(), f.name.clone(), f.ty.clone()))
                                .collect(),
                        });
                    }
                }
            }
            Item::Query(q) => {
                if declare(&q.name) {
                    checker.queries.insert(q.name.to_string(), q);
                    queries.push(q);
                }
            }
        }
    }
    for q in queries {
        match checker.query(q).and_then(|rel| finish(q, rel, errors)) {
            Some(plan) => out.pipelines.push(plan),
            None => out.failed_queries.push(FailedQuery {
                name: q.name.clone(),
                vis: q.vis.clone(),
                docs: doc_attrs(&q.attrs),
                input: checker.root_input(&q.from, &mut Vec::new()),
            }),
        }
    }
    out
}

fn doc_attrs(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect()
}

fn check_schema(s: &parse::SchemaDef, errors: &Errors) -> Option<SchemaPlan> {
    let mut fields = Vec::new();
    let mut ok = s.complete;
    let mut seen = HashMap::new();
    for f in &s.fields {
        let name = ident_name(&f.name);
        if seen.insert(name.clone(), ()).is_some() {
            errors.error(
                SpanRange::single(f.name.span()),
                format!("duplicate column `{name}`"),
            );
            ok = false;
        }
        match column_type(&f.ty) {
            Ok(ty) => fields.push(SchemaField {
                attrs: f.attrs.clone(),
                ident: f.name.clone(),
                name,
                ty,
            }),
            Err(msg) => {
                errors.error(SpanRange::of(&f.ty), msg);
                ok = false;
            }
        }
    }
    if s.fields.is_empty() && s.complete {
        errors.error(
            SpanRange::single(s.name.span()),
            "a schema needs at least one column",
        );
        ok = false;
    }
    ok.then(|| SchemaPlan {
        attrs: s.attrs.clone(),
        vis: s.vis.clone(),
        name: s.name.clone(),
        fields,
    })
}

impl<'a> Checker<'a> {
    /// The row type at the root of a `from` chain, for a stand-in of a query that failed: the
    /// type the user's code passes to `read_stream`. `RateRow` when the chain does not end in
    /// a known source (that error is reported already).
    fn root_input(&self, from: &Ident, seen: &mut Vec<String>) -> TokenStream {
        let name = from.to_string();
        if let Some((row_type, _)) = builtin_source(&name) {
            return row_type;
        }
        if let Some((row_type, _)) = self.schemas.get(&name) {
            return row_type.clone();
        }
        if let Some(row_type) = self.failed_schemas.get(&name) {
            return row_type.clone();
        }
        if let Some(q) = self.queries.get(&name)
            && !seen.contains(&name)
        {
            seen.push(name);
            return self.root_input(&q.from, seen);
        }
        let rt = rt();
        quote!(#rt::RateRow)
    }

    /// The relation a `from` names: a built-in source, a schema, or another query.
    fn source(&mut self, from: &Ident) -> Option<Relation> {
        let name = from.to_string();
        if let Some((row_type, cols)) = builtin_source(&name) {
            let fields: Vec<(Ident, String, SqlType)> = cols
                .into_iter()
                .map(|(n, t)| (Ident::new(n, from.span()), n.to_string(), t))
                .collect();
            let mut r = Relation::new(
                InputSource {
                    row_type,
                    name: name.clone(),
                },
                &fields,
            );
            r.steps.push(format!("Source {name}"));
            return Some(r);
        }
        if let Some((row_type, fields)) = self.schemas.get(&name) {
            let mut r = Relation::new(
                InputSource {
                    row_type: row_type.clone(),
                    name: name.clone(),
                },
                fields,
            );
            r.steps.push(format!("Source {name}"));
            return Some(r);
        }
        if self.failed_schemas.contains_key(&name) {
            return None;
        }
        if let Some(q) = self.queries.get(&name).copied() {
            if self.in_progress.contains(&name) {
                self.errors.error(
                    SpanRange::single(from.span()),
                    format!(
                        "query `{name}` reads from itself through {}",
                        list(&self.in_progress)
                    ),
                );
                return None;
            }
            return self.query(q);
        }
        let candidates: Vec<&str> = BUILTIN_SOURCES
            .iter()
            .copied()
            .chain(self.schemas.keys().map(String::as_str))
            .chain(self.queries.keys().map(String::as_str))
            .collect();
        self.errors.error(
            SpanRange::single(from.span()),
            format!(
                "unknown source `{name}`{}\n= note: a source is a built-in source (Rate, TextLine, Kafka), a `schema`, or a `query` of this pipeline",
                did_you_mean(&name, candidates)
            ),
        );
        None
    }

    /// The relation a query produces (memoised; errors reported once).
    fn query(&mut self, q: &'a parse::QueryDef) -> Option<Relation> {
        let name = q.name.to_string();
        if let Some(done) = self.resolved.get(&name) {
            return done.clone();
        }
        self.in_progress.push(name.clone());
        let result = self.source(&q.from).and_then(|mut rel| {
            let before = self.errors.count();
            let schemas = decode::Schemas {
                checked: &self.schemas,
                failed: &self.failed_schemas,
            };
            apply_clauses(&mut rel, q, &schemas, self.errors);
            (self.errors.count() == before && q.complete).then_some(rel)
        });
        self.in_progress.pop();
        self.resolved.insert(name, result.clone());
        result
    }
}

/// Applies a query's clauses, in order, to the relation it reads.
fn apply_clauses(
    rel: &mut Relation,
    q: &parse::QueryDef,
    schemas: &decode::Schemas<'_>,
    errors: &Errors,
) {
    rel.steps.push(format!("Query {}", q.name));
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
            // the user meant, so their errors would only be echoes of this one.
            return;
        }
        match clause {
            Clause::Select { items, .. } => select(rel, items, errors),
            Clause::With { items, .. } => {
                for (name, e) in items {
                    if let Some(expr) = rel.resolve(e, &mut Ctx::Row, errors) {
                        let col = ident_name(name);
                        let slot = rel.slot_for(expr, &col);
                        rel.steps.push(format!("With {col}"));
                        match rel.scope.iter_mut().find(|c| c.name == col) {
                            Some(c) => {
                                c.slot = slot;
                                c.ident = name.clone();
                            }
                            None => rel.scope.push(Column {
                                name: col,
                                ident: name.clone(),
                                slot,
                            }),
                        }
                    }
                }
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
                            rel.filters.push((conjunct, rel.watermarks.len()));
                        }
                    }
                }
            }
            Clause::Watermark { column, delay, .. } => watermark(rel, column, delay, errors),
            Clause::Parse(p) => {
                if !decode::parse_clause(rel, p, schemas, errors) {
                    // Without the parsed columns, errors in later clauses would only be
                    // echoes of this one.
                    return;
                }
            }
            Clause::GroupBy { kw, keys } => {
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
                    rel.limit = Some((v, *kw));
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
        match item {
            SelectItem::Star(span) => {
                for c in rel.scope.clone() {
                    push(&mut scope, c, *span);
                }
            }
            SelectItem::Named { name, expr } => {
                if let Some(e) = rel.resolve(expr, &mut Ctx::Row, errors) {
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
            }
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
                if let Some(resolved) = rel.resolve(e, &mut Ctx::Row, errors) {
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
            }
        }
    }
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
    rel.watermarks.push(Watermark {
        column: name,
        slot,
        delay_micros: delay.micros,
    });
}

/// A `group by` key before the `aggregate` clause is seen.
#[derive(Debug)]
struct PendingKey {
    name: String,
    /// The output column's Rust field name, as written (`r#type` stays raw).
    ident: Ident,
    repr: KeyRepr,
    ty: SqlType,
}

fn group_keys(rel: &mut Relation, keys: &[GroupItem], errors: &Errors) -> Vec<PendingKey> {
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
                let name = ident_name(column);
                let Some(slot) = rel.column(&name) else {
                    errors.error(
                        SpanRange::single(column.span()),
                        format!(
                            "unknown column `{name}`{}",
                            did_you_mean(&name, rel.scope_names().iter().map(String::as_str))
                        ),
                    );
                    continue;
                };
                let ty = rel.slots[slot.0].ty;
                let mut ok = true;
                if ty.ty != Ty::Timestamp {
                    errors.error_with_help(
                        SpanRange::single(column.span()),
                        format!(
                            "`window` needs a TIMESTAMP column; `{name}` is {}",
                            ty.ty.sql_name()
                        ),
                        "convert it first, e.g. `with ts = to_timestamp(<string>);` or `with ts = cast(<seconds> as timestamp);`",
                    );
                    ok = false;
                }
                let size_micros = size.micros;
                let slide_micros = slide.as_ref().map_or(size_micros, |s| s.micros);
                if size_micros <= 0 {
                    errors.error(size.span, "the window size must be greater than zero");
                    ok = false;
                }
                if let Some(s) = slide {
                    if s.micros <= 0 {
                        errors.error(s.span, "the window slide must be greater than zero");
                        ok = false;
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
                        ok = false;
                    }
                }
                if out.iter().any(|k| matches!(k.repr, KeyRepr::Window { .. })) {
                    errors.error(*span, "only one `window(...)` key is allowed");
                    ok = false;
                }
                if ok {
                    push(
                        &mut out,
                        PendingKey {
                            name: "window".into(),
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
            GroupItem::Named { name, expr } => {
                if let Some(key) = direct_key(rel, name, expr, errors) {
                    push(&mut out, key, SpanRange::single(name.span()));
                }
            }
            GroupItem::Expr(e) => {
                let parse::Expr::Column(ident) = e else {
                    errors.error_with_help(
                        e.span(),
                        "this `group by` key needs a name",
                        "write `<name> = <expression>`",
                    );
                    continue;
                };
                if let Some(key) = direct_key(rel, ident, e, errors) {
                    push(&mut out, key, SpanRange::single(ident.span()));
                }
            }
        }
    }
    out
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
        name: col,
        ident: name.clone(),
        repr: KeyRepr::Direct { slot },
        ty,
    })
}

fn aggregate(
    rel: &mut Relation,
    keys: Vec<PendingKey>,
    items: &[(Ident, parse::Expr)],
    kw: SpanRange,
    errors: &Errors,
) {
    let global = keys.is_empty();
    let mut scope = AggregateScope {
        keys: Vec::new(),
        accumulators: Vec::new(),
        global,
    };
    let mut new_scope = Vec::new();
    let mut group_keys = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let def = if matches!(key.repr, KeyRepr::Window { .. }) {
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
        if let Some(expr) = rel.resolve(e, &mut Ctx::Aggregate(&mut scope), errors) {
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
        KeyRepr::Window { ts, .. } | KeyRepr::Direct { slot: ts } => {
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
        _ => k.name.clone(),
    }
}

/// Computes filter phases and output-mode support, and builds the final plan.
fn finish(q: &parse::QueryDef, rel: Relation, errors: &Errors) -> Option<PipelinePlan> {
    let mut outputs = Vec::new();
    for c in &rel.scope {
        outputs.push(OutputColumn {
            ident: c.ident.clone(),
            name: c.name.clone(),
            slot: c.slot,
            ty: rel.slots[c.slot.0].ty,
        });
    }
    let filters = rel
        .filters
        .iter()
        .map(|(pred, watermarks_before)| Filter {
            phase: output_mode::filter_phase(&rel, pred, *watermarks_before),
            pred: pred.clone(),
        })
        .collect();
    let rejected_modes = output_mode::rejected_modes(&rel);
    let docs = doc_attrs(&q.attrs);
    for a in &q.attrs {
        if !a.path().is_ident("doc") {
            errors.error(SpanRange::of(a), "only doc comments are allowed on a query");
        }
    }
    let explain = rel.steps.join("\n");
    let plan = PipelinePlan {
        name: q.name.clone(),
        vis: q.vis.clone(),
        docs,
        input: rel.input.clone(),
        slots: rel.slots,
        filters,
        watermarks: rel.watermarks,
        aggregate: rel.aggregate,
        post_filters: rel.post_filters,
        outputs,
        order_by: rel.order_by,
        limit: rel.limit.map(|(n, _)| n),
        rejected_modes,
        explain,
    };
    Some(crate::optimize::optimize(plan))
}

/// Helpers for the compiler's unit tests: check a `pipeline!` body given as text, and render
/// typed expressions compactly.
#[cfg(test)]
pub(crate) mod testing {
    use crate::diagnostics::Errors;
    use crate::parse::Pipeline;
    use crate::plan::{Expr, ExprKind, Literal, PipelinePlan, SlotDef};

    use super::Checked;

    /// The checked program, or every error message in order.
    pub(crate) fn check_src(src: &str) -> Result<Checked, Vec<String>> {
        let errors = Errors::new();
        let parsed = Pipeline::parse(src.parse().expect("valid tokens"), &errors);
        let checked = super::check(&parsed, &errors);
        match errors.check() {
            Ok(()) => Ok(checked),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    /// The plan of the last query; panics with the errors if the program does not check.
    pub(crate) fn plan(src: &str) -> PipelinePlan {
        let mut checked = check_src(src).unwrap_or_else(|e| panic!("errors: {e:#?}"));
        checked.pipelines.pop().expect("a query")
    }

    /// The error messages; panics if the program checks.
    pub(crate) fn errors(src: &str) -> Vec<String> {
        match check_src(src) {
            Ok(_) => panic!("expected errors in {src}"),
            Err(e) => e,
        }
    }

    /// The expression computing output column `name`.
    pub(crate) fn output_expr(plan: &PipelinePlan, name: &str) -> Expr {
        let column = plan
            .outputs
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("no output column `{name}`"));
        let slot = plan.slot(column.slot);
        match &slot.def {
            SlotDef::Let(e) => e.clone(),
            _ => Expr {
                kind: ExprKind::Slot(column.slot),
                ty: slot.ty,
                span: crate::diagnostics::SpanRange::single(proc_macro2::Span::call_site()),
            },
        }
    }

    /// A compact rendering: slots by column name, implicit casts as `cast(x as T)`.
    pub(crate) fn render(plan: &PipelinePlan, e: &Expr) -> String {
        let r = |e: &Expr| render(plan, e);
        match &e.kind {
            ExprKind::Slot(s) => plan.slot(*s).name.clone(),
            ExprKind::Lit(Literal::Str(s)) => format!("{s:?}"),
            ExprKind::Lit(Literal::Double(d)) => format!("{d:?}"),
            ExprKind::Lit(Literal::Null) => "null".into(),
            ExprKind::Lit(Literal::Timestamp(t)) => format!("ts({t})"),
            ExprKind::Lit(Literal::Int(i)) => i.to_string(),
            ExprKind::Lit(Literal::Long(i)) => format!("{i}L"),
            ExprKind::Lit(Literal::Bool(b)) => b.to_string(),
            ExprKind::Neg(a) => format!("-{}", r(a)),
            ExprKind::Not(a) => format!("not {}", r(a)),
            ExprKind::Arith(op, a, b) => {
                let op = match op {
                    crate::plan::ArithOp::Add => "+",
                    crate::plan::ArithOp::Sub => "-",
                    crate::plan::ArithOp::Mul => "*",
                    crate::plan::ArithOp::Div => "/",
                    crate::plan::ArithOp::Rem => "%",
                };
                format!("({} {op} {})", r(a), r(b))
            }
            ExprKind::Cmp(op, a, b) => format!("({} {op:?} {})", r(a), r(b)),
            ExprKind::And(a, b) => format!("({} and {})", r(a), r(b)),
            ExprKind::Or(a, b) => format!("({} or {})", r(a), r(b)),
            ExprKind::IsNull { expr, negated } => {
                format!(
                    "({} is {}null)",
                    r(expr),
                    if *negated { "not " } else { "" }
                )
            }
            ExprKind::Case {
                branches,
                otherwise,
            } => {
                let mut s = "case".to_string();
                for (c, v) in branches {
                    s += &format!(" when {} then {}", r(c), r(v));
                }
                if let Some(o) = otherwise {
                    s += &format!(" else {}", r(o));
                }
                s + " end"
            }
            ExprKind::Cast(a) => format!("cast({} as {})", r(a), e.ty.ty.sql_name()),
            ExprKind::Call(f, args) => format!(
                "{f:?}({})",
                args.iter().map(r).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::WindowField { window, end } => {
                format!("{}.{}", r(window), if *end { "end" } else { "start" })
            }
            ExprKind::CurrentTimestamp => "current_timestamp()".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{check_src, errors, plan};

    fn first_lines(errors: Vec<String>) -> Vec<String> {
        errors
            .into_iter()
            .map(|e| e.lines().next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn clauses_reshape_the_relation_in_order() {
        let p = plan(
            "query Q from Rate {
                with doubled = value * 2, value = value + 1;
                select *, label = concat(\"v\", value);
                rename doubled to twice;
                drop timestamp;
            }",
        );
        let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
        // `with` replaces `value` in place and appends `doubled`.
        assert_eq!(names, ["value", "twice", "label"]);
        assert_eq!(
            p.explain,
            "Source Rate\nQuery Q\nWith doubled\nWith value\nProject [timestamp, value, doubled, label]"
        );
    }

    #[test]
    fn chained_queries_fuse_into_one_plan() {
        let p = plan(
            "query A from Rate { select timestamp, room = value % 5; }
             query B from A { where room > 1; group by room; aggregate n = count(); }",
        );
        assert_eq!(p.input.name, "Rate");
        assert_eq!(
            p.explain,
            "Source Rate\nQuery A\nProject [timestamp, room]\nQuery B\nFilter\nAggregate [room], [n]"
        );
    }

    #[test]
    fn one_error_per_chained_aggregation() {
        assert_eq!(
            first_lines(errors(
                "query A from Rate { group by k = value % 5; aggregate n = count(); }
                 query B from A { group by n; aggregate m = count(); }"
            )),
            [
                "`B` reads `A`, which already aggregates; a pipeline can have only one streaming aggregation"
            ]
        );
        assert_eq!(
            first_lines(errors(
                "query A from Rate { aggregate n = count(); aggregate m = count(); }"
            )),
            ["a query can have only one streaming aggregation"]
        );
    }

    #[test]
    fn a_dangling_group_by_stops_its_query() {
        assert_eq!(
            first_lines(errors(
                "query A from Rate { group by k = value % 5; select k, nope; where nope; }"
            )),
            ["`group by` must be followed by `aggregate`"]
        );
    }

    #[test]
    fn failures_do_not_cascade() {
        // A schema with a bad field: its queries fail silently, and both get stand-ins.
        let e = check_src(
            "schema S { a: u8, b: i64 }
             query A from S { select b; }
             query B from A { select b; }
             query C from Rate { select value; }",
        )
        .unwrap_err();
        assert_eq!(
            first_lines(e),
            [
                "unsupported column type `u8`; expected bool, i32, i64, f64, String, Timestamp, Window, Vec<String>, Vec<u8>, Vec<Header>, or Option<...> of one of them"
            ]
        );

        // A malformed field: the schema's queries fail silently too.
        let e = check_src(
            "schema S { a: i64, b i64 }
             query A from S { select a; }",
        )
        .unwrap_err();
        assert_eq!(first_lines(e), ["expected `:`"]);

        // A syntax error: the clauses before it are still checked, the query is not generated.
        let e = check_src(
            "query A from Rate { where valeu > 1; selct value; select value; }
             query B from A { select value; }",
        )
        .unwrap_err();
        assert_eq!(
            first_lines(e),
            [
                "unknown clause `selct`; did you mean `select`?",
                "unknown column `valeu`; did you mean `value`?"
            ]
        );
    }

    #[test]
    fn failed_queries_keep_their_input_type_for_stand_ins() {
        let errors = crate::diagnostics::Errors::new();
        let parsed = crate::parse::Pipeline::parse(
            "schema S { a: u8 }
             query A from S { select a; }
             query B from A { select a; }
             query C from Rate { select nope; }
             query D from Nowhere { select x; }
             query E from Rate { select value; }"
                .parse()
                .unwrap(),
            &errors,
        );
        let checked = super::check(&parsed, &errors);
        assert_eq!(errors.check().unwrap_err().into_iter().count(), 3);
        let stubs: Vec<(String, String)> = checked
            .failed_queries
            .iter()
            .map(|q| (q.name.to_string(), q.input.to_string().replace(' ', "")))
            .collect();
        assert_eq!(
            stubs,
            [
                ("A".into(), "S".into()),
                ("B".into(), "S".into()),
                ("C".into(), "::sluice::__private::RateRow".into()),
                ("D".into(), "::sluice::__private::RateRow".into()),
            ]
        );
        assert_eq!(checked.failed_schemas.len(), 1);
        assert_eq!(checked.pipelines.len(), 1);
        assert_eq!(checked.pipelines[0].name, "E");
    }

    #[test]
    fn names_and_clause_order() {
        assert_eq!(
            first_lines(errors(
                "query A from Rate { select value; }
                 query A from Rate { select timestamp; }
                 query Rate from Rate { select value; }"
            )),
            [
                "`A` is defined more than once",
                "`Rate` is a built-in source; choose another name"
            ]
        );
        assert_eq!(
            first_lines(errors(
                "query A from B { select x; } query B from A { select x; }"
            )),
            ["query `A` reads from itself through `A`, `B`"]
        );
        assert_eq!(
            first_lines(errors("query A from Rate { limit 3; select value; }")),
            ["`limit` must be the last clause of a query"]
        );
        assert_eq!(
            first_lines(errors(
                "query A from Rate { group by window(timestamp, 10s), window(timestamp, 5s); aggregate n = count(); }"
            )),
            ["only one `window(...)` key is allowed"]
        );
        assert_eq!(
            first_lines(errors(
                "query A from Rate { group by value % 5; aggregate n = count(); }"
            )),
            ["this `group by` key needs a name"]
        );
        assert_eq!(
            first_lines(errors(
                "query A from Rate { group by k = value; aggregate n = count(); watermark timestamp delay 1s; }"
            )),
            ["a watermark must be defined before the aggregation"]
        );
        assert_eq!(
            first_lines(errors("query A from Rate { drop value, timestamp; }")),
            ["a query must keep at least one column"]
        );
    }
}
