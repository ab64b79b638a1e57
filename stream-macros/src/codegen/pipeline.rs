//! One pipeline: its row struct, its state types, its struct and the `Pipeline` impl.
//!
//! The generated `process` is a single loop over the batch's rows: the fused stateless prefix
//! (each needed column computed once, filters as early as their inputs allow), the watermark's
//! event-time statistics, then either the output row (stateless) or a hash-map upsert into the
//! group's accumulators (stateful). `finish_batch` emits per output mode and evicts what the
//! watermark made final.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::expr::{Code, ExprGen, acc_field, case_values, key_field, rust_owned_type};
use super::paths::rt;
use super::row::{RowField, row_struct};
use crate::plan::{
    AggFunc, FilterPhase, KeyRepr, Mode, ModeRejection, PipelinePlan, SlotDef, SlotId, SqlType, Ty,
};

/// Statement builder that computes each slot at most once, dependencies first.
struct Body<'g, 'p> {
    g: &'g ExprGen<'p>,
    done: Vec<bool>,
    ts: TokenStream,
    /// `continue` for the row loop, `return Ok(None)` in the emitting function.
    reject: TokenStream,
}

impl<'g, 'p> Body<'g, 'p> {
    fn new(g: &'g ExprGen<'p>, reject: TokenStream) -> Self {
        Body {
            g,
            done: vec![false; g.plan.slots.len()],
            ts: TokenStream::new(),
            reject,
        }
    }

    fn materialize(&mut self, id: SlotId) {
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
            SlotDef::Input { field } => match (slot.ty.ty, slot.ty.nullable) {
                (Ty::Str, false) => quote!(__row.#field.as_str()),
                (Ty::StrArray | Ty::Binary | Ty::Headers, false) => {
                    quote!(__row.#field.as_slice())
                }
                (Ty::Str | Ty::StrArray | Ty::Binary | Ty::Headers, true) => {
                    quote!(__row.#field.as_deref())
                }
                _ => quote!(__row.#field),
            },
            SlotDef::Let(e) => self.g.expr(e).ts,
            SlotDef::Key(k) => self.g.key_value(*k).ts,
            SlotDef::WindowKey => {
                let agg = plan.aggregate.as_ref().expect("aggregation");
                let index = agg
                    .keys
                    .iter()
                    .position(|k| matches!(k.repr, KeyRepr::Window { .. }))
                    .expect("window key");
                self.g.key_value(index).ts
            }
            SlotDef::Agg(a) => self.g.accumulator_value(*a, slot.ty).ts,
            SlotDef::Decoded { record, index } => super::decode::decoded(*record, *index, slot.ty),
            SlotDef::Decode(_) => unreachable!("handled above"),
        };
        self.ts.extend(quote!(let #local = #value;));
    }

    fn materialize_expr(&mut self, e: &crate::plan::Expr) {
        let mut deps = Vec::new();
        e.for_each_slot(&mut |d| deps.push(d));
        for d in deps {
            self.materialize(d);
        }
    }

    fn filter(&mut self, pred: &crate::plan::Expr) {
        self.materialize_expr(pred);
        let code = self.g.expr(pred);
        let t = self.g.truthy(&code);
        let reject = &self.reject;
        self.ts.extend(quote!(if !(#t) { #reject }));
    }

    fn push(&mut self, ts: TokenStream) {
        self.ts.extend(ts);
    }
}

/// `Name { field: value, ... }` from the output slots, moving owned locals on their last use.
fn output_row(body: &mut Body<'_, '_>, row_name: &Ident) -> TokenStream {
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
            super::expr::to_owned(&quote!(#local), ty)
        };
        let ident = &o.ident;
        fields.push(quote!(#ident: #value));
    }
    quote!(#row_name { #(#fields),* })
}

fn mode_tokens(mode: Mode) -> TokenStream {
    let rt = rt();
    match mode {
        Mode::Append => quote!(#rt::OutputMode::Append),
        Mode::Complete => quote!(#rt::OutputMode::Complete),
        Mode::Update => quote!(#rt::OutputMode::Update),
    }
}

fn rejection_tokens(r: ModeRejection) -> TokenStream {
    let rt = rt();
    match r {
        ModeRejection::AppendAggregationWithoutWatermark => {
            quote!(#rt::APPEND_AGGREGATION_WITHOUT_WATERMARK)
        }
        ModeRejection::CompleteWithoutAggregation => quote!(#rt::COMPLETE_WITHOUT_AGGREGATION),
        ModeRejection::SortNotInComplete => quote!(#rt::SORT_NOT_IN_COMPLETE),
        ModeRejection::LimitInUpdate => quote!(#rt::LIMIT_IN_UPDATE),
    }
}

/// FNV-1a, for the plan fingerprint.
fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Rust type of a key field, and of its borrowed counterpart in the lookup key.
fn key_types(repr: &KeyRepr, ty: SqlType, plan: &PipelinePlan) -> (TokenStream, TokenStream) {
    let rt = rt();
    let wrap = |t: TokenStream, nullable: bool| {
        if nullable {
            quote!(::core::option::Option<#t>)
        } else {
            t
        }
    };
    match repr {
        KeyRepr::Window { .. } => (quote!(i64), quote!(i64)),
        KeyRepr::CaseIndex { .. } => (quote!(u8), quote!(u8)),
        KeyRepr::ConcatInt { inner, .. } => {
            let inner_ty = plan.slot(*inner).ty;
            let t = if inner_ty.ty == Ty::Int {
                quote!(i32)
            } else {
                quote!(i64)
            };
            let t = wrap(t, inner_ty.nullable);
            (t.clone(), t)
        }
        KeyRepr::Direct { .. } => {
            let (owned, view) = match ty.ty {
                Ty::Str => (quote!(::std::string::String), quote!(&'__k str)),
                Ty::StrArray => (
                    quote!(::std::vec::Vec<::std::string::String>),
                    quote!(&'__k [::std::string::String]),
                ),
                Ty::Double => (quote!(u64), quote!(u64)),
                Ty::Bool | Ty::Null => (quote!(bool), quote!(bool)),
                Ty::Int => (quote!(i32), quote!(i32)),
                Ty::Long => (quote!(i64), quote!(i64)),
                Ty::Timestamp => (quote!(#rt::Timestamp), quote!(#rt::Timestamp)),
                Ty::Window => (quote!(#rt::Window), quote!(#rt::Window)),
                Ty::Binary | Ty::Headers => unreachable!("the checker rejects binary keys"),
            };
            (wrap(owned, ty.nullable), wrap(view, ty.nullable))
        }
    }
}

fn accumulator_type(acc: &crate::plan::Accumulator) -> TokenStream {
    let rt = rt();
    let arg_ty = acc.arg_ty.map(|a| a.ty);
    let non_null = !acc.ty.nullable;
    match (acc.func, arg_ty) {
        (AggFunc::CountStar | AggFunc::Count, _) => quote!(#rt::state::Count),
        (AggFunc::Sum, Some(Ty::Double)) if non_null => quote!(#rt::state::SumF64NonNull),
        (AggFunc::Sum, Some(Ty::Double)) => quote!(#rt::state::SumF64),
        (AggFunc::Sum, _) if non_null => quote!(#rt::state::SumI64NonNull),
        (AggFunc::Sum, _) => quote!(#rt::state::SumI64),
        (AggFunc::Avg, _) => quote!(#rt::state::Avg),
        (AggFunc::Min, Some(Ty::Str)) => quote!(#rt::state::MinStr),
        (AggFunc::Max, Some(Ty::Str)) => quote!(#rt::state::MaxStr),
        (AggFunc::Min | AggFunc::Max, Some(t)) => {
            let inner = super::expr::rust_view_type(t);
            match (acc.func, non_null) {
                (AggFunc::Min, true) => quote!(#rt::state::MinNonNull<#inner>),
                (AggFunc::Min, false) => quote!(#rt::state::Min<#inner>),
                (_, true) => quote!(#rt::state::MaxNonNull<#inner>),
                (_, false) => quote!(#rt::state::Max<#inner>),
            }
        }
        (_, None) => unreachable!("aggregate without argument"),
    }
}

/// Generates everything for one pipeline.
pub(crate) fn pipeline(plan: &PipelinePlan) -> TokenStream {
    let rt = rt();
    let g = ExprGen::new(plan);
    let name = &plan.name;
    let vis = &plan.vis;
    let row_name = format_ident!("{}Row", name);
    let input_ty = &plan.input.row_type;

    // --- the output row --------------------------------------------------------------------
    let row_fields: Vec<RowField<'_>> = plan
        .outputs
        .iter()
        .map(|o| RowField {
            ident: &o.ident,
            name: &o.name,
            ty: o.ty,
            attrs: &[],
        })
        .collect();
    let row_doc = format!(" A row emitted by the `{name}` query.");
    let row_docs: Vec<syn::Attribute> = vec![syn::parse_quote!(#[doc = #row_doc])];
    let row = row_struct(&row_name, vis, &row_docs, &row_fields);

    // --- per-row prefix: filters and watermark observations ------------------------------------
    let mut body = Body::new(&g, quote!(continue;));
    let has_scan_filters = plan.filters.iter().any(|f| f.phase == FilterPhase::Scan);
    for f in plan.filters.iter().filter(|f| f.phase == FilterPhase::Scan) {
        body.filter(&f.pred);
    }
    if has_scan_filters {
        body.push(quote!(__scanned += 1;));
    }
    for f in plan
        .filters
        .iter()
        .filter(|f| f.phase == FilterPhase::BeforeWatermark)
    {
        body.filter(&f.pred);
    }
    for (i, w) in plan.watermarks.iter().enumerate() {
        body.materialize(w.slot);
        let local = g.slot_ident(w.slot);
        let stats = format_ident!("__event_time_{}", i);
        if plan.slot(w.slot).ty.nullable {
            body.push(quote!(if let ::core::option::Option::Some(__t) = #local { #stats.observe(__t.as_micros()); }));
        } else {
            body.push(quote!(#stats.observe(#local.as_micros());));
        }
    }
    for f in plan
        .filters
        .iter()
        .filter(|f| f.phase == FilterPhase::AfterWatermark)
    {
        body.filter(&f.pred);
    }
    let stats_decls = (0..plan.watermarks.len()).map(|i| {
        let stats = format_ident!("__event_time_{}", i);
        quote!(let mut #stats = #rt::EventTimeStats::default();)
    });
    let stats_report = (0..plan.watermarks.len()).map(|i| {
        let stats = format_ident!("__event_time_{}", i);
        quote!(__ctx.observe_event_times(#i, &#stats);)
    });
    let scanned_decl = if has_scan_filters {
        quote!(let mut __scanned: u64 = 0;)
    } else {
        quote!()
    };
    let scanned_report = if has_scan_filters {
        quote!(__ctx.add_scanned_rows(__scanned);)
    } else {
        quote!()
    };

    let info_watermarks = plan.watermarks.iter().map(|w| {
        let column = &w.column;
        let delay = w.delay_micros;
        quote!(#rt::WatermarkSpec { column: #column, delay_micros: #delay })
    });
    let unsupported = plan.rejected_modes.iter().map(|(m, r)| {
        let m = mode_tokens(*m);
        let r = rejection_tokens(*r);
        quote!((#m, #r))
    });
    let explain = &plan.explain;
    let schema_text: String = plan
        .outputs
        .iter()
        .map(|o| format!("{}:{};", o.name, o.ty.describe()))
        .collect();
    let fp = fingerprint(&format!("{explain}\n{schema_text}"));
    let query_name = name.to_string();
    let supports = [Mode::Append, Mode::Complete, Mode::Update]
        .into_iter()
        .filter(|m| plan.supports(*m))
        .map(|m| {
            let tr = match m {
                Mode::Append => quote!(SupportsAppend),
                Mode::Complete => quote!(SupportsComplete),
                Mode::Update => quote!(SupportsUpdate),
            };
            quote!(#[automatically_derived] impl #rt::#tr for #name {})
        });
    let modes_doc: Vec<&str> = [Mode::Append, Mode::Complete, Mode::Update]
        .into_iter()
        .filter(|m| plan.supports(*m))
        .map(|m| match m {
            Mode::Append => "`Append`",
            Mode::Complete => "`Complete`",
            Mode::Update => "`Update`",
        })
        .collect();
    let docs = &plan.docs;
    let struct_doc = format!(
        " The compiled `{name}` query (input `{}`, output [`{row_name}`]). Output modes: {}.",
        plan.input.name,
        modes_doc.join(", ")
    );

    let Parts {
        kind,
        fields: state_fields,
        init: state_init,
        process: process_body,
        finish,
        state_rows,
        state_bytes,
        snapshot,
        items,
    } = match &plan.aggregate {
        None => stateless(plan, body, &row_name),
        Some(_) => stateful(plan, &g, body, &row_name),
    };

    quote! {
        #row

        #items

        #(#docs)*
        #[doc = #struct_doc]
        #vis struct #name {
            #state_fields
        }

        #[automatically_derived]
        impl ::core::default::Default for #name {
            fn default() -> Self {
                #name { #state_init }
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#query_name)
                    .field("state_rows", &#rt::Pipeline::state_rows(self))
                    .finish()
            }
        }

        impl #name {
            /// A fresh instance of the pipeline, with empty state.
            #vis fn new() -> Self {
                ::core::default::Default::default()
            }
        }

        #[automatically_derived]
        impl #rt::Pipeline for #name {
            type Input = #input_ty;
            type Output = #row_name;

            const INFO: #rt::PipelineInfo = #rt::PipelineInfo {
                name: #query_name,
                kind: #kind,
                watermarks: &[#(#info_watermarks),*],
                unsupported_modes: &[#(#unsupported),*],
                fingerprint: #fp,
                plan: #explain,
                has_scan_filters: #has_scan_filters,
            };

            fn process(
                &mut self,
                __input: &[#input_ty],
                __ctx: &mut #rt::BatchContext,
                __out: &mut ::std::vec::Vec<#row_name>,
            ) -> ::core::result::Result<(), #rt::Error> {
                #(#stats_decls)*
                #scanned_decl
                #process_body
                #(#stats_report)*
                #scanned_report
                ::core::result::Result::Ok(())
            }

            #finish

            fn state_rows(&self) -> usize {
                #state_rows
            }

            fn state_bytes(&self) -> usize {
                #state_bytes
            }

            #snapshot
        }

        #(#supports)*
    }
}

/// The pieces that differ between stateless and stateful pipelines.
struct Parts {
    kind: TokenStream,
    fields: TokenStream,
    init: TokenStream,
    process: TokenStream,
    finish: TokenStream,
    state_rows: TokenStream,
    state_bytes: TokenStream,
    /// `snapshot_state` / `restore_state` (empty for a pipeline without state).
    snapshot: TokenStream,
    /// Items emitted beside the pipeline struct (state types, the emitting function).
    items: TokenStream,
}

fn stateless(plan: &PipelinePlan, mut body: Body<'_, '_>, row_name: &Ident) -> Parts {
    let rt = rt();
    let row = output_row(&mut body, row_name);
    let prefix = body.ts;
    let (kind, fields, init, process, rows) = match plan.limit {
        None => (
            quote!(#rt::PipelineKind::Stateless),
            quote!(),
            quote!(),
            {
                // Without filters every input row gives one output row: size the output once.
                // With filters, reserving for every input row would over-allocate (and fault in
                // pages never used), so the vector grows as rows pass.
                let reserve = if plan.filters.is_empty() {
                    quote!(__out.reserve(__input.len());)
                } else {
                    quote!()
                };
                quote! {
                    #reserve
                    for __row in __input {
                        #prefix
                        __out.push(#row);
                    }
                }
            },
            quote!(0),
        ),
        Some(limit) => (
            quote!(#rt::PipelineKind::Limit),
            quote!(emitted: u64,),
            quote!(emitted: 0,),
            quote! {
                for __row in __input {
                    if self.emitted >= #limit {
                        break;
                    }
                    #prefix
                    __out.push(#row);
                    self.emitted += 1;
                }
            },
            quote!(1),
        ),
    };
    Parts {
        kind,
        fields,
        init,
        process,
        finish: quote!(),
        state_rows: rows,
        state_bytes: quote!(0),
        snapshot: match plan.limit {
            // A global limit's state is the number of rows emitted so far.
            Some(_) => quote! {
                fn snapshot_state(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::Error> {
                    #rt::state::encode(&self.emitted)
                }

                fn restore_state(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #rt::Error> {
                    self.emitted = #rt::state::decode(bytes)?;
                    ::core::result::Result::Ok(())
                }
            },
            None => quote!(),
        },
        items: quote!(),
    }
}

fn stateful(
    plan: &PipelinePlan,
    g: &ExprGen<'_>,
    mut body: Body<'_, '_>,
    row_name: &Ident,
) -> Parts {
    let rt = rt();
    let agg = plan.aggregate.as_ref().expect("aggregation");
    let name = &plan.name;
    let key_name = format_ident!("__{}Key", name);
    let key_ref_name = format_ident!("__{}KeyRef", name);
    let acc_name = format_ident!("__{}Acc", name);
    let global = agg.keys.is_empty();
    let evicts = agg.event_time_key.is_some();

    // --- state types ---------------------------------------------------------------------------
    let key_fields: Vec<(Ident, TokenStream, TokenStream)> = agg
        .keys
        .iter()
        .map(|k| {
            let (owned, view) = key_types(&k.repr, k.ty, plan);
            (key_field(&k.name), owned, view)
        })
        .collect();
    let needs_ref = agg.keys.iter().any(|k| {
        matches!(k.repr, KeyRepr::Direct { .. }) && matches!(k.ty.ty, Ty::Str | Ty::StrArray)
    });
    let kf_idents: Vec<&Ident> = key_fields.iter().map(|(i, _, _)| i).collect();
    let kf_owned: Vec<&TokenStream> = key_fields.iter().map(|(_, o, _)| o).collect();
    let kf_view: Vec<&TokenStream> = key_fields.iter().map(|(_, _, v)| v).collect();
    let copy_derive = if needs_ref {
        quote!()
    } else {
        quote!(::core::marker::Copy,)
    };
    let key_ref_types = if needs_ref {
        let to_owned = agg.keys.iter().map(|k| {
            let f = key_field(&k.name);
            match (&k.repr, k.ty.ty, k.ty.nullable) {
                (KeyRepr::Direct { .. }, Ty::Str, false) => {
                    quote!(#f: ::std::string::String::from(r.#f))
                }
                (KeyRepr::Direct { .. }, Ty::StrArray, false) => quote!(#f: r.#f.to_vec()),
                (KeyRepr::Direct { .. }, Ty::Str, true) => {
                    quote!(#f: r.#f.map(::std::string::String::from))
                }
                (KeyRepr::Direct { .. }, Ty::StrArray, true) => {
                    quote!(#f: r.#f.map(|v| v.to_vec()))
                }
                _ => quote!(#f: r.#f),
            }
        });
        let eqs = agg.keys.iter().map(|k| {
            let f = key_field(&k.name);
            match (&k.repr, k.ty.ty, k.ty.nullable) {
                (KeyRepr::Direct { .. }, Ty::Str, true) => quote!(self.#f == key.#f.as_deref()),
                (KeyRepr::Direct { .. }, Ty::StrArray, true) => {
                    quote!(self.#f == key.#f.as_deref())
                }
                (KeyRepr::Direct { .. }, Ty::Str | Ty::StrArray, false) => {
                    quote!(self.#f == &*key.#f)
                }
                _ => quote!(self.#f == key.#f),
            }
        });
        quote! {
            /// Borrowed form of the group key, for lookups that allocate nothing.
            #[doc(hidden)]
            #[derive(::core::hash::Hash)]
            struct #key_ref_name<'__k> {
                #(#kf_idents: #kf_view,)*
            }

            #[automatically_derived]
            impl #rt::hashbrown::Equivalent<#key_name> for #key_ref_name<'_> {
                fn equivalent(&self, key: &#key_name) -> bool {
                    #(#eqs)&&*
                }
            }

            #[automatically_derived]
            impl ::core::convert::From<&#key_ref_name<'_>> for #key_name {
                fn from(r: &#key_ref_name<'_>) -> Self {
                    #key_name { #(#to_owned,)* }
                }
            }
        }
    } else {
        quote!()
    };
    let acc_fields: Vec<(Ident, TokenStream)> = agg
        .accumulators
        .iter()
        .enumerate()
        .map(|(i, a)| (acc_field(i), accumulator_type(a)))
        .collect();
    let af_idents: Vec<&Ident> = acc_fields.iter().map(|(i, _)| i).collect();
    let af_types: Vec<&TokenStream> = acc_fields.iter().map(|(_, t)| t).collect();
    let key_doc = format!(" Group key of `{name}`.");
    let acc_doc = format!(" Accumulators of one `{name}` group.");
    let state_types = quote! {
        #[doc = #key_doc]
        #[doc(hidden)]
        #[derive(::core::clone::Clone, #copy_derive ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash, ::core::fmt::Debug, #rt::serde::Serialize, #rt::serde::Deserialize)]
        #[serde(crate = "::sluice::__private::serde")]
        pub struct #key_name {
            #(#kf_idents: #kf_owned,)*
        }

        #key_ref_types

        #[doc = #acc_doc]
        #[doc(hidden)]
        #[derive(::core::clone::Clone, ::core::default::Default, ::core::fmt::Debug, #rt::serde::Serialize, #rt::serde::Deserialize)]
        #[serde(crate = "::sluice::__private::serde")]
        pub struct #acc_name {
            #(#af_idents: #af_types,)*
            /// `batch_id + 1` of the last batch that updated the group (0: never).
            touched: u64,
        }
    };

    // --- per row: keys, lateness, upsert, accumulate -------------------------------------------
    // Arguments of the accumulators, and the non-window key values.
    for a in &agg.accumulators {
        if let Some(s) = a.arg {
            body.materialize(s);
        }
    }
    let mut key_values: Vec<TokenStream> = Vec::new();
    let mut window: Option<(TokenStream, i64, i64)> = None;
    for k in &agg.keys {
        let value = match &k.repr {
            KeyRepr::Window { ts, size, slide } => {
                body.materialize(*ts);
                let local = g.slot_ident(*ts);
                let ts_tokens = if plan.slot(*ts).ty.nullable {
                    // Spark filters out rows whose event time is null before windowing.
                    body.push(quote!(let ::core::option::Option::Some(#local) = #local else { continue; };));
                    quote!(#local.as_micros())
                } else {
                    quote!(#local.as_micros())
                };
                window = Some((ts_tokens, *size, *slide));
                quote!(__window_start)
            }
            KeyRepr::Direct { slot } => {
                body.materialize(*slot);
                let local = g.slot_ident(*slot);
                match (k.ty.ty, k.ty.nullable) {
                    (Ty::Double, false) => quote!(#rt::functions::f64_key_bits(#local)),
                    (Ty::Double, true) => quote!(#local.map(#rt::functions::f64_key_bits)),
                    // The key ref borrows: a computed (owned) string or array is viewed.
                    (Ty::Str | Ty::StrArray, _) => g.slot_view(*slot),
                    _ => quote!(#local),
                }
            }
            KeyRepr::ConcatInt { inner, .. } => {
                body.materialize(*inner);
                let local = g.slot_ident(*inner);
                quote!(#local)
            }
            KeyRepr::CaseIndex {
                conditions,
                otherwise,
                ..
            } => {
                let (_, index) = case_values(&k.repr);
                let mut chain = TokenStream::new();
                for (i, cond) in conditions.iter().enumerate() {
                    body.materialize_expr(cond);
                    let c = g.truthy(&g.expr(cond));
                    let idx = index[i];
                    if i == 0 {
                        chain.extend(quote!(if #c { #idx }));
                    } else {
                        chain.extend(quote!(else if #c { #idx }));
                    }
                }
                let fallback = if otherwise.is_some() {
                    *index.last().expect("else index")
                } else {
                    u8::MAX
                };
                chain.extend(quote!(else { #fallback }));
                let local = format_ident!("__{}_index", k.name);
                body.push(quote!(let #local: u8 = #chain;));
                quote!(#local)
            }
        };
        key_values.push(value);
    }
    let event_key = agg.event_time_key;
    let late_check_direct = match event_key.map(|i| &agg.keys[i].repr) {
        Some(KeyRepr::Direct { slot }) => {
            let local = g.slot_ident(*slot);
            if plan.slot(*slot).ty.nullable {
                quote!(if #local.is_some_and(|__t| __t.as_micros() <= __late) { __dropped += 1; continue; })
            } else {
                quote!(if #local.as_micros() <= __late { __dropped += 1; continue; })
            }
        }
        _ => quote!(),
    };
    let late_window = |start: TokenStream, size: i64| {
        if matches!(
            event_key.map(|i| &agg.keys[i].repr),
            Some(KeyRepr::Window { .. })
        ) {
            quote!(if #start + #size <= __late { __dropped += 1; continue; })
        } else {
            quote!()
        }
    };

    let updates = agg.accumulators.iter().enumerate().map(|(i, a)| {
        let f = acc_field(i);
        let Some(slot) = a.arg else {
            return quote!(__acc.#f.update(););
        };
        let arg_ty = plan.slot(slot).ty;
        // A view: the same local may also be a group key or another accumulator's argument.
        let view = g.slot_view(slot);
        // A non-null argument is used in place; a nullable one is unwrapped.
        let v = if arg_ty.nullable {
            quote!(__v)
        } else {
            view.clone()
        };
        let call = match (a.func, arg_ty.ty) {
            (AggFunc::Count, _) => quote!(__acc.#f.update();),
            (AggFunc::Sum, Ty::Int) => quote!(__acc.#f.update(i64::from(#v))?;),
            (AggFunc::Sum, Ty::Long) => quote!(__acc.#f.update(#v)?;),
            (AggFunc::Avg, Ty::Int) => quote!(__acc.#f.update(f64::from(#v));),
            (AggFunc::Avg, Ty::Long) => quote!(__acc.#f.update(#v as f64);),
            _ => quote!(__acc.#f.update(#v);),
        };
        if arg_ty.nullable {
            quote!(if let ::core::option::Option::Some(__v) = #view { #call })
        } else {
            call
        }
    });
    let updates = quote!(#(#updates)*);
    let touch = |push_key: TokenStream| {
        quote! {
            if __acc.touched != __mark {
                __acc.touched = __mark;
                __updated += 1;
                if __track {
                    self.touched.push(#push_key);
                }
            }
        }
    };

    let upsert = |window_start: TokenStream| -> TokenStream {
        let values: Vec<TokenStream> = key_values
            .iter()
            .map(|v| {
                if v.to_string() == "__window_start" {
                    window_start.clone()
                } else {
                    v.clone()
                }
            })
            .collect();
        if needs_ref {
            let t = touch(quote!(#key_name::from(&__key)));
            quote! {
                let __key = #key_ref_name { #(#kf_idents: #values,)* };
                let __acc = self.state.entry_ref(&__key).or_default();
                #t
                #updates
            }
        } else {
            let t = touch(quote!(__key));
            quote! {
                let __key = #key_name { #(#kf_idents: #values,)* };
                let __acc = self.state.entry(__key).or_default();
                #t
                #updates
            }
        }
    };

    let tail = if global {
        let t = quote! {
            if __acc.touched != __mark {
                __acc.touched = __mark;
                __updated += 1;
            }
        };
        quote! {
            let __acc = &mut self.acc;
            #t
            #updates
        }
    } else {
        match window {
            None => {
                let u = upsert(quote!());
                quote!(#late_check_direct #u)
            }
            Some((ts, size, slide)) if size == slide => {
                let late = late_window(quote!(__window_start), size);
                let u = upsert(quote!(__window_start));
                quote! {
                    let __window_start = #rt::last_window_start(#ts, #size);
                    #late
                    #u
                }
            }
            Some((ts, size, slide)) => {
                let late = late_window(quote!(__window_start), size);
                let u = upsert(quote!(__window_start));
                quote! {
                    let __ts = #ts;
                    let mut __next_start = #rt::last_window_start(__ts, #slide);
                    while __next_start > __ts - #size {
                        let __window_start = __next_start;
                        __next_start -= #slide;
                        #late
                        #u
                    }
                }
            }
        }
    };
    let prefix = std::mem::take(&mut body.ts);
    let process = quote! {
        let __late = __ctx.late_threshold();
        let __track = __ctx.output_mode() == #rt::OutputMode::Update;
        let __mark = __ctx.batch_id() + 1;
        let mut __dropped: u64 = 0;
        let mut __updated: u64 = 0;
        for __row in __input {
            #prefix
            #tail
        }
        let _ = (__late, __track);
        __ctx.add_dropped_by_watermark(__dropped);
        __ctx.add_state_rows_updated(__updated);
    };

    // --- emission ------------------------------------------------------------------------------
    let mut emit = Body::new(
        g,
        quote!(return ::core::result::Result::Ok(::core::option::Option::None);),
    );
    for f in &plan.post_filters {
        emit.filter(f);
    }
    let sort_keys: Vec<Code> = plan
        .order_by
        .iter()
        .map(|o| {
            emit.materialize_expr(&o.expr);
            g.expr(&o.expr)
        })
        .collect();
    let row = output_row(&mut emit, row_name);
    let emit_stmts = emit.ts;
    let sorted = !plan.order_by.is_empty();
    // The row moves the owned locals it uses, and a sort key may be one of them (`order by
    // label` of a computed string): the keys are taken first, owned ones cloned.
    let sort_values: Vec<TokenStream> = sort_keys
        .iter()
        .map(|c| {
            let value = g.conform(c, c.ty, true);
            if c.owned && !c.ty.ty.is_copy() {
                quote!(::core::clone::Clone::clone(&#value))
            } else {
                value
            }
        })
        .collect();
    let sort_types: Vec<TokenStream> = sort_keys.iter().map(|c| rust_owned_type(c.ty)).collect();
    let (emit_ret, emit_value) = if sorted {
        (
            quote!((#row_name, (#(#sort_types,)*))),
            quote!({
                let __sort = (#(#sort_values,)*);
                (#row, __sort)
            }),
        )
    } else {
        (quote!(#row_name), row)
    };
    let key_param = if global {
        quote!()
    } else {
        quote!(__key: &#key_name,)
    };
    let emit_fn = quote! {
        fn __emit(
            #key_param
            __acc: &#acc_name,
            __ctx: &#rt::BatchContext,
        ) -> ::core::result::Result<::core::option::Option<#emit_ret>, #rt::Error> {
            #emit_stmts
            ::core::result::Result::Ok(::core::option::Option::Some(#emit_value))
        }
    };

    let comparators = plan.order_by.iter().enumerate().map(|(i, o)| {
        let i = syn::Index::from(i);
        let desc = o.descending;
        let nulls_first = o.nulls_first;
        quote!(.then_with(|| #rt::functions::order_by(&__a.1.#i, &__b.1.#i, #desc, #nulls_first)))
    });
    // The limit as a `usize` literal, for truncating the output vector.
    let limit_len = plan
        .limit
        .map(|n| proc_macro2::Literal::usize_suffixed(usize::try_from(n).unwrap_or(usize::MAX)));
    let sort_and_limit = if sorted {
        let limit = limit_len.as_ref().map(|n| quote!(__sorted.truncate(#n);));
        quote! {
            __sorted.sort_by(|__a, __b| ::core::cmp::Ordering::Equal #(#comparators)*);
            #limit
            __out.extend(__sorted.into_iter().map(|(__row, _)| __row));
        }
    } else {
        quote!()
    };
    let collect = |call: TokenStream| {
        if sorted {
            quote!(if let ::core::option::Option::Some(__r) = #call { __sorted.push(__r); })
        } else {
            quote!(if let ::core::option::Option::Some(__r) = #call { __out.push(__r); })
        }
    };
    let sorted_decl = if sorted {
        quote!(let mut __sorted = ::std::vec::Vec::new();)
    } else {
        quote!()
    };
    let complete_limit = match (sorted, &limit_len) {
        (false, Some(n)) => quote!(__out.truncate(__start + #n);),
        _ => quote!(),
    };
    let append_limit = match plan.limit {
        Some(n) => quote! {
            let __room = #n.saturating_sub(self.emitted) as usize;
            __out.truncate(__start + __room);
            self.emitted += (__out.len() - __start) as u64;
        },
        None => quote!(),
    };

    let finish = if global {
        let c = collect(quote!(Self::__emit(&self.acc, __ctx)?));
        quote! {
            fn finish_batch(
                &mut self,
                __ctx: &mut #rt::BatchContext,
                __out: &mut ::std::vec::Vec<#row_name>,
            ) -> ::core::result::Result<(), #rt::Error> {
                // A global aggregate has exactly one row, emitted every batch in complete and
                // update mode (Spark's aggregate of no rows: count 0, other aggregates null).
                #sorted_decl
                let __start = __out.len();
                #c
                #sort_and_limit
                #complete_limit
                ::core::result::Result::Ok(())
            }
        }
    } else {
        let c_all = collect(quote!(Self::__emit(__key, __acc, __ctx)?));
        let c_touched = collect(quote!(Self::__emit(&__key, __acc, __ctx)?));
        let c_evicted = collect(quote!(Self::__emit(&__key, &__acc, __ctx)?));
        let (evict_update, evict_append) = match event_key.map(|i| &agg.keys[i]) {
            Some(k) => {
                let f = key_field(&k.name);
                let final_cond = match &k.repr {
                    KeyRepr::Window { size, .. } => quote!(__k.#f + #size <= __wm),
                    KeyRepr::Direct { .. } if k.ty.nullable => {
                        quote!(__k.#f.is_some_and(|__t| __t.as_micros() <= __wm))
                    }
                    _ => quote!(__k.#f.as_micros() <= __wm),
                };
                let update = quote! {
                    if let ::core::option::Option::Some(__wm) = __ctx.eviction_threshold() {
                        let __before = self.state.len();
                        self.state.retain(|__k, _| !(#final_cond));
                        __ctx.add_state_rows_removed((__before - self.state.len()) as u64);
                    }
                };
                let append = quote! {
                    if let ::core::option::Option::Some(__wm) = __ctx.eviction_threshold() {
                        let mut __removed: u64 = 0;
                        for (__key, __acc) in self.state.extract_if(|__k, _| #final_cond) {
                            __removed += 1;
                            #c_evicted
                        }
                        __ctx.add_state_rows_removed(__removed);
                    }
                };
                (update, append)
            }
            None => (quote!(), quote!()),
        };
        quote! {
            fn finish_batch(
                &mut self,
                __ctx: &mut #rt::BatchContext,
                __out: &mut ::std::vec::Vec<#row_name>,
            ) -> ::core::result::Result<(), #rt::Error> {
                let __start = __out.len();
                #sorted_decl
                match __ctx.output_mode() {
                    #rt::OutputMode::Complete => {
                        for (__key, __acc) in self.state.iter() {
                            #c_all
                        }
                        #sort_and_limit
                        #complete_limit
                    }
                    #rt::OutputMode::Update => {
                        let mut __touched = ::core::mem::take(&mut self.touched);
                        for __key in __touched.drain(..) {
                            if let ::core::option::Option::Some(__acc) = self.state.get(&__key) {
                                #c_touched
                            }
                        }
                        self.touched = __touched;
                        #evict_update
                    }
                    #rt::OutputMode::Append => {
                        #evict_append
                        #append_limit
                    }
                }
                let _ = __start;
                ::core::result::Result::Ok(())
            }
        }
    };
    // The state as a snapshot: the groups (key, accumulators) and the rows a limit let through.
    let emitted_ty = if plan.limit.is_some() {
        quote!(u64)
    } else {
        quote!(())
    };
    let emitted_get = if plan.limit.is_some() {
        quote!(self.emitted)
    } else {
        quote!(())
    };
    let emitted_set = if plan.limit.is_some() {
        quote!(self.emitted = __emitted;)
    } else {
        quote!(let () = __emitted;)
    };
    let snapshot = if global {
        quote! {
            fn snapshot_state(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::Error> {
                #rt::state::encode(&(&self.acc, #emitted_get))
            }

            fn restore_state(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #rt::Error> {
                let (__acc, __emitted): (#acc_name, #emitted_ty) = #rt::state::decode(bytes)?;
                self.acc = __acc;
                #emitted_set
                ::core::result::Result::Ok(())
            }
        }
    } else {
        quote! {
            fn snapshot_state(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::Error> {
                let __groups: ::std::vec::Vec<(&#key_name, &#acc_name)> = self.state.iter().collect();
                #rt::state::encode(&(__groups, #emitted_get))
            }

            fn restore_state(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #rt::Error> {
                let (__groups, __emitted): (::std::vec::Vec<(#key_name, #acc_name)>, #emitted_ty) =
                    #rt::state::decode(bytes)?;
                self.state = #rt::state::state_map_with_capacity(__groups.len());
                self.state.extend(__groups);
                self.touched.clear();
                #emitted_set
                ::core::result::Result::Ok(())
            }
        }
    };

    let limit_field = if plan.limit.is_some() {
        quote!(emitted: u64,)
    } else {
        quote!()
    };
    let limit_init = if plan.limit.is_some() {
        quote!(emitted: 0,)
    } else {
        quote!()
    };
    let (fields, init, rows, bytes) = if global {
        (
            quote!(acc: #acc_name, #limit_field),
            quote!(acc: ::core::default::Default::default(), #limit_init),
            quote!(usize::from(self.acc.touched != 0)),
            quote!(::core::mem::size_of::<#acc_name>()),
        )
    } else {
        (
            quote! {
                state: #rt::state::StateMap<#key_name, #acc_name>,
                touched: ::std::vec::Vec<#key_name>,
                #limit_field
            },
            quote! {
                state: #rt::state::new_state_map(),
                touched: ::std::vec::Vec::new(),
                #limit_init
            },
            quote!(self.state.len()),
            quote!(self.state.allocation_size() + self.touched.capacity() * ::core::mem::size_of::<#key_name>()),
        )
    };
    Parts {
        kind: quote!(#rt::PipelineKind::Aggregation { evicts_on_watermark: #evicts }),
        fields,
        init,
        process,
        finish,
        state_rows: rows,
        state_bytes: bytes,
        snapshot,
        items: quote! {
            #state_types
            impl #name {
                #emit_fn
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::plan;

    /// The generated items of the last query, spaces removed.
    fn generated(src: &str) -> String {
        super::pipeline(&plan(src)).to_string().replace(' ', "")
    }

    #[test]
    fn a_stateless_pipeline_is_one_loop_without_matches() {
        let code = generated(
            "query Q from Rate { where value > 1; select timestamp, doubled = value * 2; }",
        );
        assert!(!code.contains("match"), "{code}");
        assert!(code.contains("for__rowin__input{"), "{code}");
        // The filter runs first, then the row is built from the input's fields.
        assert!(
            code.contains("letvalue_1=__row.value;if!((value_1>1i64)){continue;}"),
            "{code}"
        );
        assert!(code.contains("__out.push(QRow{timestamp:timestamp_0,doubled:doubled_2})"));
    }

    #[test]
    fn integer_keys_are_copied_string_keys_are_borrowed_for_lookups() {
        let code =
            generated("query Q from Rate { group by k = value % 5; aggregate n = count(); }");
        assert!(code.contains("::core::marker::Copy"), "{code}");
        assert!(code.contains("self.state.entry(__key)"), "{code}");
        assert!(!code.contains("KeyRef"), "{code}");

        let code = generated(
            "schema S { name: String } query Q from S { group by name; aggregate n = count(); }",
        );
        assert!(
            code.contains("struct__QKeyRef<'__k>{k_name:&'__kstr,}"),
            "{code}"
        );
        assert!(code.contains("self.state.entry_ref(&__key)"), "{code}");
    }

    #[test]
    fn windows_are_computed_inline() {
        let code = generated(
            "query Q from Rate { group by window(timestamp, 10s); aggregate n = count(); }",
        );
        assert!(
            code.contains("let__window_start=::sluice::__private::last_window_start(timestamp_0.as_micros(),10000000i64);"),
            "{code}"
        );
        // No watermark: nothing is late, no lateness check is generated.
        assert!(!code.contains("__dropped+=1"), "{code}");

        let code = generated(
            "query Q from Rate {
                watermark timestamp delay 5s;
                group by window(timestamp, 10s, 5s);
                aggregate n = count();
            }",
        );
        assert!(
            code.contains("while__next_start>__ts-10000000i64{"),
            "{code}"
        );
        assert!(
            code.contains("if__window_start+10000000i64<=__late{__dropped+=1;continue;}"),
            "{code}"
        );
    }

    #[test]
    fn accumulators_are_specialised() {
        let code = generated(
            "schema S { k: i64, d: Option<f64>, s: String }
             query Q from S {
                group by k;
                aggregate n = count(), total = sum(k), mean = avg(d), lo = min(s), hi = max(d);
             }",
        );
        assert!(
            code.contains("struct__QAcc{a0:::sluice::__private::state::Count,a1:::sluice::__private::state::SumI64NonNull,a2:::sluice::__private::state::Avg,a3:::sluice::__private::state::MinStr,a4:::sluice::__private::state::Max<f64>,"),
            "{code}"
        );
    }
}
