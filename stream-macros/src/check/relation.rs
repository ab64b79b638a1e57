//! The relation a query builds clause by clause, and the plan it becomes.

use proc_macro2::Span;
use syn::Ident;

use crate::diagnostics::{Errors, SpanRange};
use crate::parse::{self};
use crate::plan::{
    Aggregate, Dedup, Filter, Generator, InputSource, Join, Limit, OrderKey, OutputColumn,
    PipelinePlan, Slot, SlotDef, SlotId, SqlType, Stage, Watermark,
};

use super::{continuous, doc_attrs, output_mode};

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
    /// Pre-aggregation filters with the number of stages (watermarks, generators, the
    /// deduplication) defined before each.
    pub(crate) filters: Vec<(crate::plan::Expr, usize)>,
    pub(crate) watermarks: Vec<Watermark>,
    /// The row loop's watermarks, generators and deduplication, in clause order.
    pub(crate) stages: Vec<Stage>,
    pub(crate) generators: Vec<Generator>,
    pub(crate) dedup: Option<Dedup>,
    pub(crate) join: Option<Join>,
    /// The stream-stream join the query's input is the joined rows of.
    pub(crate) stream_join: Option<crate::plan::StreamJoin>,
    /// Columns by qualified name (`Device.room`, `Readings.ts`), after a join.
    pub(crate) qualified: Vec<(String, Column)>,
    /// Names that both sides of a join have: unqualified, they are ambiguous (the qualified
    /// names they could be).
    pub(crate) ambiguous: Vec<(String, Vec<String>)>,
    /// Whether the expressions being resolved are a `select` (or `with`) list, where a
    /// generator may stand as a whole item; anywhere else a generator is an error.
    pub(crate) in_projection: bool,
    pub(crate) aggregate: Option<Aggregate>,
    pub(crate) post_filters: Vec<crate::plan::Expr>,
    pub(crate) order_by: Vec<OrderKey>,
    pub(crate) limit: Option<Limit>,
    pub(crate) sort_span: Option<Span>,
    /// The query whose clauses aggregate (this one, or one it reads from).
    pub(crate) aggregated_in: Option<String>,
    /// The first clause of each query in the chain, for plan rendering.
    pub(crate) steps: Vec<String>,
    /// Columns whose definition had an error (already reported): a later reference to one is
    /// not reported again.
    pub(crate) poisoned: Vec<String>,
    /// Whether an error was reported in this query or one it reads.
    pub(crate) failure: Option<Failure>,
}

/// Why a relation cannot become a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A clause had a semantic error; every clause was still checked, so the columns are those
    /// the query meant (minus the poisoned ones) and a query reading it can be checked too.
    Errors,
    /// A clause did not parse: the clauses after it are unknown, so neither are the columns.
    Incomplete,
}

impl Relation {
    pub(super) fn new(input: InputSource, fields: &[(Ident, String, SqlType)]) -> Self {
        let mut r = Relation {
            input,
            slots: Vec::new(),
            scope: Vec::new(),
            filters: Vec::new(),
            watermarks: Vec::new(),
            stages: Vec::new(),
            generators: Vec::new(),
            dedup: None,
            join: None,
            stream_join: None,
            qualified: Vec::new(),
            ambiguous: Vec::new(),
            in_projection: false,
            aggregate: None,
            post_filters: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            sort_span: None,
            aggregated_in: None,
            steps: Vec::new(),
            poisoned: Vec::new(),
            failure: None,
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

    /// Marks `name` as a column whose definition failed.
    pub(super) fn poison(&mut self, name: &Ident) {
        self.poisoned.push(super::expr::ident_name(name));
    }

    pub(super) fn is_post(&self) -> bool {
        self.aggregate.is_some()
    }

    pub(super) fn scope_names(&self) -> Vec<String> {
        self.scope.iter().map(|c| c.name.clone()).collect()
    }
}

/// Computes filter phases and output-mode support, and builds the final plan.
pub(super) fn finish(q: &parse::QueryDef, rel: Relation, errors: &Errors) -> Option<PipelinePlan> {
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
        .map(|(pred, stages_before)| Filter {
            phase: output_mode::filter_phase(&rel, pred, *stages_before),
            pred: pred.clone(),
        })
        .collect();
    let rejected_modes = output_mode::rejected_modes(&rel);
    let broken_rules = output_mode::broken_rules(&rel);
    let continuous_rejection = continuous::rejection(&rel);
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
        stages: rel.stages,
        generators: rel.generators,
        dedup: rel.dedup,
        join: rel.join,
        stream_join: rel.stream_join,
        aggregate: rel.aggregate,
        post_filters: rel.post_filters,
        outputs,
        order_by: rel.order_by,
        limit: rel.limit,
        rejected_modes,
        broken_rules,
        continuous_rejection,
        explain,
    };
    Some(plan)
}
