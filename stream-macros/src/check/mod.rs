//! Meaning: resolves names across chained queries, types every expression with Spark's rules,
//! enforces the streaming rules (watermark, windows, aggregation, output modes), and produces
//! one [`PipelinePlan`] per query.

mod aggregate_call;
mod clauses;
mod continuous;
mod decode;
mod dedup;
mod expr;
mod generate;
mod group;
mod join;
mod known_names;
mod operators;
mod output_mode;
mod relation;
mod schema;
mod stream_join;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
pub(crate) mod types;

use std::collections::HashMap;

use proc_macro2::Span;
use syn::Ident;

use crate::diagnostics::{Errors, SpanRange, did_you_mean, list};
use crate::parse::{self, Item};
use crate::plan::{BuiltinSource, InputRow, InputSource, PipelinePlan, SqlType};

use self::clauses::apply_clauses;
use self::relation::{Failure, Relation, finish};
use self::schema::check_schema;

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
    pub(crate) input: InputRow,
    /// The output columns that could be typed: field, name, type (none after a syntax error).
    pub(crate) columns: Vec<(Ident, String, SqlType)>,
    /// The declared static table it joins, if any (its stand-in can still be given rows).
    pub(crate) table: Option<Ident>,
    /// The row types at the roots of a stream-stream join's two sides (its stand-in can still
    /// be given two sources).
    pub(crate) streams: Option<(InputRow, InputRow)>,
}

/// A source column: Rust field, column name, type.
pub(super) type InputField = (Ident, String, SqlType);

struct Checker<'a> {
    errors: &'a Errors,
    schemas: HashMap<String, (Ident, Vec<InputField>)>,
    /// The static tables (`table` items).
    tables: HashMap<String, (Ident, Vec<InputField>)>,
    queries: HashMap<String, &'a parse::QueryDef>,
    /// Resolved queries (`None`: failed, errors already reported).
    resolved: HashMap<String, Option<Relation>>,
    in_progress: Vec<String>,
    /// Schemas that failed to check (a query reading one fails without a further error).
    failed_schemas: HashMap<String, Ident>,
}

/// Checks the whole pipeline: every schema and query.
pub(crate) fn check(pipeline: &parse::Pipeline, errors: &Errors) -> Checked {
    let mut out = Checked::default();
    let mut checker = Checker {
        errors,
        schemas: HashMap::new(),
        tables: HashMap::new(),
        queries: HashMap::new(),
        resolved: HashMap::new(),
        in_progress: Vec::new(),
        failed_schemas: HashMap::new(),
    };
    let mut names: HashMap<String, Span> = HashMap::new();
    // Whether the name is free; a second definition is reported and then ignored.
    let mut declare = |ident: &Ident| {
        let name = ident.to_string();
        if BuiltinSource::named(&name).is_some() {
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
                        let declared = if s.is_table {
                            &mut checker.tables
                        } else {
                            &mut checker.schemas
                        };
                        declared.insert(name.to_string(), (name.clone(), fields));
                        out.schemas.push(plan);
                    }
                    None => {
                        checker
                            .failed_schemas
                            .insert(name.to_string(), name.clone());
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
        let rel = checker.query(q);
        let plan = match &rel {
            Some(rel) if rel.failure.is_none() => finish(q, rel.clone(), errors),
            _ => None,
        };
        match plan {
            Some(plan) => out.pipelines.push(plan),
            None => out.failed_queries.push(FailedQuery {
                name: q.name.clone(),
                vis: q.vis.clone(),
                docs: doc_attrs(&q.attrs),
                input: checker.root_input(&q.from, &mut Vec::new()),
                table: q
                    .join
                    .as_ref()
                    .and_then(|j| checker.tables.get(&j.table.to_string()))
                    .map(|(t, _)| t.clone()),
                streams: q
                    .join
                    .as_ref()
                    .filter(|j| checker.is_stream(&j.table))
                    .map(|j| {
                        (
                            checker.root_input(&q.from, &mut Vec::new()),
                            checker.root_input(&j.table, &mut Vec::new()),
                        )
                    }),
                // The columns that could be typed, so code using them compiles.
                columns: rel
                    .filter(|r| r.failure != Some(Failure::Incomplete))
                    .map(|r| {
                        r.scope
                            .iter()
                            .map(|c| (c.ident.clone(), c.name.clone(), r.slots[c.slot.0].ty))
                            .collect()
                    })
                    .unwrap_or_default(),
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

impl<'a> Checker<'a> {
    /// The row type at the root of a `from` chain, for a stand-in of a query that failed: the
    /// type the user's code passes to `read_stream`. `RateRow` when the chain does not end in
    /// a known source (that error is reported already).
    fn root_input(&self, from: &Ident, seen: &mut Vec<String>) -> InputRow {
        let name = from.to_string();
        if let Some(builtin) = BuiltinSource::named(&name) {
            return InputRow::Builtin(builtin);
        }
        if let Some((schema, _)) = self.schemas.get(&name) {
            return InputRow::Schema(schema.clone());
        }
        if let Some(schema) = self.failed_schemas.get(&name) {
            return InputRow::Schema(schema.clone());
        }
        if let Some(q) = self.queries.get(&name)
            && !seen.contains(&name)
        {
            seen.push(name);
            return self.root_input(&q.from, seen);
        }
        InputRow::Builtin(BuiltinSource::Rate)
    }

    /// The relation a `from` names: a built-in source, a schema, or another query.
    fn source(&mut self, from: &Ident) -> Option<Relation> {
        let name = from.to_string();
        if let Some(builtin) = BuiltinSource::named(&name) {
            let fields: Vec<(Ident, String, SqlType)> = builtin
                .columns()
                .iter()
                .map(|(n, t)| (Ident::new(n, from.span()), n.to_string(), *t))
                .collect();
            let mut r = Relation::new(
                InputSource {
                    row: InputRow::Builtin(builtin),
                    name: name.clone(),
                },
                &fields,
            );
            r.steps.push(format!("Source {name}"));
            return Some(r);
        }
        if let Some((schema, fields)) = self.schemas.get(&name) {
            let mut r = Relation::new(
                InputSource {
                    row: InputRow::Schema(schema.clone()),
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
        if self.tables.contains_key(&name) {
            self.errors.error_with_help(
                SpanRange::single(from.span()),
                format!("`{name}` is a static table, not a stream"),
                format!("join a stream with it: `from <Stream> join {name} on ...`"),
            );
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
            // A query with a syntax error has unknown columns: a query reading it is not
            // checked (its errors would be guesses). One with other errors still has the
            // columns it meant, so what reads it is checked, and fails with it.
            return self
                .query(q)
                .filter(|rel| rel.failure != Some(Failure::Incomplete));
        }
        let candidates: Vec<&str> = BuiltinSource::ALL
            .iter()
            .map(|b| b.name())
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

    /// Joins the relation read from `from` with the static table `join` names.
    fn join(&self, rel: &mut Relation, join: &parse::JoinDef, from: &Ident) {
        let name = join.table.to_string();
        match self.tables.get(&name) {
            Some((table, fields)) => {
                join::apply_join(rel, join, table, fields, &from.to_string(), self.errors);
            }
            // Its errors are reported already.
            None if self.failed_schemas.contains_key(&name) => rel.failure = Some(Failure::Errors),
            None => {
                let what = if self.schemas.contains_key(&name) || self.queries.contains_key(&name) {
                    format!(
                        "`{name}` is a stream, not a static table: stream-stream joins are not supported yet"
                    )
                } else {
                    format!(
                        "unknown static table `{name}`{}\n= note: a static table is declared with `table {name} {{ ... }}`",
                        did_you_mean(&name, self.tables.keys().map(String::as_str))
                    )
                };
                self.errors
                    .error(SpanRange::single(join.table.span()), what);
                rel.failure = Some(Failure::Errors);
            }
        }
    }

    /// Whether `name` is a stream a query can read: a built-in source, a schema or a query.
    fn is_stream(&self, name: &Ident) -> bool {
        let name = name.to_string();
        BuiltinSource::named(&name).is_some()
            || self.schemas.contains_key(&name)
            || self.queries.contains_key(&name)
    }

    /// A side of a stream-stream join: the relation `name` reads, and what it is.
    fn join_side(&mut self, name: &Ident) -> Option<stream_join::SideInput> {
        let rel = self.source(name)?;
        let text = name.to_string();
        let row = if self.queries.contains_key(&text) {
            crate::plan::JoinSideRow::Query(name.clone())
        } else {
            crate::plan::JoinSideRow::Source(rel.input.row.clone())
        };
        Some(stream_join::SideInput {
            name: text,
            span: name.span(),
            rel,
            row,
        })
    }

    /// The pipeline of side `from` of join query `q` with the filters the join pushes into it
    /// (see `stream_join::Pushed`): the side's relation, then a `where` per filter, as if
    /// `query __<Q><Left|Right> from <side> { where ...; }`; `None` when nothing is pushed.
    fn side_with_pushed_filters(
        &mut self,
        q: &parse::QueryDef,
        from: &Ident,
        pushed: Vec<parse::Expr>,
        suffix: &str,
    ) -> Option<Box<PipelinePlan>> {
        if pushed.is_empty() {
            return None;
        }
        let mut side = self.source(from)?;
        // A conjunct written with the join's qualified names (`Clicks.ts`) does not read in the
        // side's own names: it stays in the join only.
        let clauses: Vec<parse::Clause> = pushed
            .into_iter()
            .filter(|pred| {
                let scratch = Errors::new();
                side.clone()
                    .resolve(pred, &mut self::expr::Ctx::Row, &scratch)
                    .is_some()
                    && scratch.count() == 0
            })
            .map(|pred| parse::Clause::Where {
                kw: from.span(),
                pred,
            })
            .collect();
        if clauses.is_empty() {
            return None;
        }
        let variant = parse::QueryDef {
            attrs: Vec::new(),
            vis: q.vis.clone(),
            name: quote::format_ident!("__{}{}", q.name, suffix),
            from: from.clone(),
            join: None,
            clauses,
            complete: true,
        };
        side.steps.push(format!(
            "Query {} (filters pushed below the join)",
            variant.name
        ));
        let schemas = decode::Schemas {
            checked: &self.schemas,
            failed: &self.failed_schemas,
        };
        apply_clauses(&mut side, &variant, &schemas, self.errors);
        finish(&variant, side, self.errors).map(Box::new)
    }

    /// The relation of `query J from A join B on ... { ... }` with `B` a stream.
    fn stream_join(&mut self, q: &'a parse::QueryDef, join: &parse::JoinDef) -> Option<Relation> {
        let left = self.join_side(&q.from);
        let right = self.join_side(&join.table);
        let (left, right) = (left?, right?);
        if left.rel.failure.is_some() || right.rel.failure.is_some() {
            return None;
        }
        let before = self.errors.count();
        let (mut rel, pushed) = stream_join::join_streams(q, join, left, right, self.errors)?;
        stream_join::check_clauses_after(q, self.errors);
        // Each side's pipeline with the filters the join pushes into it.
        let [left_pushed, right_pushed] = pushed;
        let left_plan = self.side_with_pushed_filters(q, &q.from, left_pushed, "Left");
        let right_plan = self.side_with_pushed_filters(q, &join.table, right_pushed, "Right");
        if let Some(j) = rel.stream_join.as_mut() {
            j.left.pipeline = left_plan;
            j.right.pipeline = right_plan;
        }
        let schemas = decode::Schemas {
            checked: &self.schemas,
            failed: &self.failed_schemas,
        };
        apply_clauses(&mut rel, q, &schemas, self.errors);
        if !q.complete {
            rel.failure = Some(Failure::Incomplete);
        } else if self.errors.count() != before {
            rel.failure = Some(Failure::Errors);
        }
        Some(rel)
    }

    /// The relation a query produces (memoised; errors reported once).
    fn query(&mut self, q: &'a parse::QueryDef) -> Option<Relation> {
        let name = q.name.to_string();
        if let Some(done) = self.resolved.get(&name) {
            return done.clone();
        }
        self.in_progress.push(name.clone());
        if let Some(join) = q.join.as_ref().filter(|j| self.is_stream(&j.table)) {
            let result = self.stream_join(q, join);
            self.in_progress.pop();
            self.resolved.insert(name, result.clone());
            return result;
        }
        let result = self.source(&q.from).map(|mut rel| {
            let before = self.errors.count();
            let schemas = decode::Schemas {
                checked: &self.schemas,
                failed: &self.failed_schemas,
            };
            rel.steps.push(format!("Query {}", q.name));
            if let Some(join) = &q.join {
                self.join(&mut rel, join, &q.from);
            }
            apply_clauses(&mut rel, q, &schemas, self.errors);
            if !q.complete {
                rel.failure = Some(Failure::Incomplete);
            } else if self.errors.count() != before && rel.failure.is_none() {
                rel.failure = Some(Failure::Errors);
            }
            rel
        });
        self.in_progress.pop();
        self.resolved.insert(name, result.clone());
        result
    }
}
