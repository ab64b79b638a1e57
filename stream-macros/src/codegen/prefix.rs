//! The fused stateless prefix: the statements that compute, per input row, every column the
//! query needs (each at most once, dependencies first), run its filters as early as their inputs
//! allow, record the watermark's event-time statistics, turn a row into one row per element
//! where a generator explodes an array (a loop nested in the row loop), and drop the rows a
//! deduplication rejects.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::expr::ExprGen;
use super::paths::rt;
use crate::plan::{Expr, FilterPhase, KeyRepr, SlotDef, SlotId, SqlType, Stage, Ty};

/// Statement builder that computes each slot at most once, dependencies first.
pub(crate) struct Body<'g, 'p> {
    pub(crate) g: &'g ExprGen<'p>,
    done: Vec<bool>,
    /// The statements of the innermost loop so far.
    pub(crate) ts: TokenStream,
    /// What a rejected row does: `continue` in the row loop, `return Ok(None)` when emitting.
    reject: TokenStream,
    /// The loops generators opened, outermost first: the statements before each, and its
    /// header. Everything after a loop's header is inside it, up to the end of the body.
    loops: Vec<(TokenStream, TokenStream)>,
}

impl<'g, 'p> Body<'g, 'p> {
    pub(crate) fn new(g: &'g ExprGen<'p>, reject: TokenStream) -> Self {
        Body {
            g,
            done: vec![false; g.plan.slots.len()],
            ts: TokenStream::new(),
            reject,
            loops: Vec::new(),
        }
    }

    /// Opens a loop (`for ... in ...`, without its block): the statements that follow run once
    /// per iteration, and a rejected row moves on to the loop's next element.
    pub(crate) fn open_loop(&mut self, header: TokenStream) {
        let before = std::mem::take(&mut self.ts);
        self.loops.push((before, header));
    }

    /// What a rejected row does here.
    pub(crate) fn reject(&self) -> &TokenStream {
        &self.reject
    }

    /// Marks a slot bound by a statement of the caller (a generator's element).
    pub(crate) fn bound(&mut self, id: SlotId) {
        self.done[id.0] = true;
    }

    /// The statements, with the loops closed around what follows them.
    pub(crate) fn finish(self) -> TokenStream {
        let mut inner = self.ts;
        for (before, header) in self.loops.into_iter().rev() {
            inner = quote!(#before #header { #inner });
        }
        inner
    }

    /// Binds the local of slot `id` (and of the slots it reads), unless already bound.
    pub(crate) fn materialize(&mut self, id: SlotId) {
        if self.done[id.0] {
            return;
        }
        let plan = self.g.plan;
        let slot = plan.slot(id);
        let mut deps = Vec::new();
        slot.def.for_each_dep(&mut |d| deps.push(d));
        for d in deps {
            self.materialize(d);
        }
        self.done[id.0] = true;
        if let SlotDef::Decode(decode) = &slot.def {
            self.ts.extend(super::decode::decode(self.g, id, decode));
            return;
        }
        let local = self.g.slot_ident(id);
        let value = match &slot.def {
            SlotDef::Input { field } => field_view(slot.ty, &quote!(__row), field),
            SlotDef::Let(e) => self.g.expr(e).ts,
            SlotDef::Key(k) => self.g.key_value(*k).ts,
            SlotDef::WindowKey => {
                let agg = plan.aggregate.as_ref().expect("aggregation");
                let index = agg
                    .keys
                    .iter()
                    .position(|k| {
                        matches!(k.repr, KeyRepr::Window { .. } | KeyRepr::Session { .. })
                    })
                    .expect("window key");
                self.g.key_value(index).ts
            }
            SlotDef::Agg(a) => self.g.accumulator_value(*a, slot.ty).ts,
            SlotDef::Decoded { record, index } => super::decode::decoded(*record, *index, slot.ty),
            SlotDef::Decode(_) => unreachable!("handled above"),
            SlotDef::Generated => unreachable!("bound by its generator's loop"),
            SlotDef::Joined { column, padded } => {
                let join = plan.join.as_ref().expect("a join");
                super::join::column(&join.columns[*column], *padded)
            }
        };
        self.ts.extend(quote!(let #local = #value;));
    }

    /// Binds every slot `e` reads.
    pub(crate) fn materialize_expr(&mut self, e: &Expr) {
        let mut deps = Vec::new();
        e.for_each_slot(&mut |d| deps.push(d));
        for d in deps {
            self.materialize(d);
        }
    }

    /// Rejects the row unless `pred` is true.
    pub(crate) fn filter(&mut self, pred: &Expr) {
        self.materialize_expr(pred);
        let code = self.g.expr(pred);
        let t = self.g.truthy(&code);
        let reject = &self.reject;
        self.ts.extend(quote!(if !(#t) { #reject }));
    }

    pub(crate) fn push(&mut self, ts: TokenStream) {
        self.ts.extend(ts);
    }
}

/// `Name { field: value, ... }` from the output slots, moving owned locals on their last use.
pub(crate) fn output_row(body: &mut Body<'_, '_>, row_name: &Ident) -> TokenStream {
    let plan = body.g.plan;
    for o in &plan.outputs {
        body.materialize(o.slot);
    }
    let mut fields = Vec::new();
    for (i, o) in plan.outputs.iter().enumerate() {
        let local = body.g.slot_ident(o.slot);
        let owned = body.g.slot_owned(o.slot);
        let used_later = plan.outputs[i + 1..]
            .iter()
            .any(|later| later.slot == o.slot);
        let ty = plan.slot(o.slot).ty;
        let value = if ty.ty.is_copy() {
            quote!(#local)
        } else if owned {
            if used_later {
                quote!(#local.clone())
            } else {
                quote!(#local)
            }
        } else {
            super::rust_type::to_owned(&quote!(#local), ty)
        };
        let ident = &o.ident;
        fields.push(quote!(#ident: #value));
    }
    quote!(#row_name { #(#fields),* })
}

/// The prefix of the row loop and what surrounds the loop.
pub(crate) struct Prefix<'g, 'p> {
    /// The per-row statements so far (filters, watermark observations, generator loops, the
    /// deduplication); the caller appends what the row feeds (an output row, a group), then
    /// closes the loops with [`Body::finish`].
    pub(crate) body: Body<'g, 'p>,
    /// Before the loop: the event-time statistics, scan counters, the deduplication's view.
    pub(crate) before: TokenStream,
    /// After the loop: report them to the batch context.
    pub(crate) after: TokenStream,
    /// Whether some filters run in the scan (Spark pushes them into a file source).
    pub(crate) has_scan_filters: bool,
}

/// The filters and stages of the prefix, in Spark's order: scan filters, the filters Spark
/// pushes below every stage, then each stage — a watermark's event-time statistics, a
/// generator's loop, the deduplication — followed by the filters it stops.
pub(crate) fn prefix<'g, 'p>(g: &'g ExprGen<'p>) -> Prefix<'g, 'p> {
    let rt = rt();
    let plan = g.plan;
    let mut body = Body::new(g, quote!(continue;));
    let in_phase = |phase| plan.filters.iter().filter(move |f| f.phase == phase);
    let has_scan_filters = in_phase(FilterPhase::Scan).next().is_some();
    for f in in_phase(FilterPhase::Scan) {
        body.filter(&f.pred);
    }
    if has_scan_filters {
        body.push(quote!(__scanned += 1;));
    }
    for f in in_phase(FilterPhase::Start) {
        body.filter(&f.pred);
    }
    for (i, stage) in plan.stages.iter().enumerate() {
        match *stage {
            Stage::Watermark(w) => observe_watermark(&mut body, w),
            Stage::Generate(n) => super::generate::open(&mut body, n),
            Stage::Dedup => super::dedup::check(&mut body),
            Stage::Join => super::join::open(&mut body),
        }
        for f in in_phase(FilterPhase::After(i)) {
            body.filter(&f.pred);
        }
    }
    let stats: Vec<Ident> = (0..plan.watermarks.len())
        .map(|i| format_ident!("__event_time_{}", i))
        .collect();
    let indexes = 0..stats.len();
    let (scanned_decl, scanned_report) = if has_scan_filters {
        (
            quote!(let mut __scanned: u64 = 0;),
            quote!(__ctx.add_scanned_rows(__scanned);),
        )
    } else {
        (quote!(), quote!())
    };
    let table_decl = super::join::fetch_table(plan);
    Prefix {
        body,
        before: quote! {
            #(let mut #stats = #rt::EventTimeStats::default();)*
            #scanned_decl
            #table_decl
        },
        // The statistics are handed over by copy: a local whose address is never taken stays
        // in registers through the loop.
        after: quote! {
            #(__ctx.observe_event_times(#indexes, &{ #stats });)*
            #scanned_report
        },
        has_scan_filters,
    }
}

/// Watermark `w` records the row's event time (a null event time is not recorded).
fn observe_watermark(body: &mut Body<'_, '_>, w: usize) {
    let g = body.g;
    let watermark = &g.plan.watermarks[w];
    body.materialize(watermark.slot);
    let local = g.slot_ident(watermark.slot);
    let stats = format_ident!("__event_time_{}", w);
    // Spanned at the watermark clause's column.
    let span = watermark.span.generated();
    if g.plan.slot(watermark.slot).ty.nullable {
        body.push(quote_spanned!(span=> if let ::core::option::Option::Some(__t) = #local { #stats.observe(__t.as_micros()); }));
    } else {
        body.push(quote_spanned!(span=> #stats.observe(#local.as_micros());));
    }
}

/// A field of an input row read as an expression's view of its type (`&str` for a `String`,
/// `Option<&str>` for an `Option<String>`, the value itself for a `Copy` type).
pub(super) fn field_view(ty: SqlType, row: &TokenStream, field: &syn::Ident) -> TokenStream {
    match (ty.ty, ty.nullable) {
        (Ty::Str, false) => quote!(#row.#field.as_str()),
        (Ty::StrArray | Ty::Binary | Ty::Headers, false) => quote!(#row.#field.as_slice()),
        (Ty::Str | Ty::StrArray | Ty::Binary | Ty::Headers, true) => {
            quote!(#row.#field.as_deref())
        }
        _ => quote!(#row.#field),
    }
}
