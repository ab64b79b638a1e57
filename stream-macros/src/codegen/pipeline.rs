//! One pipeline: its row struct, its struct and its `Pipeline` impl — the row loop itself for a
//! query without aggregation ([`super::stateless`], with the runtime's deduplication state when
//! it drops duplicates), a delegation to the runtime's aggregation or session-window operator
//! for one with ([`super::aggregate`], [`super::session`]) — and the marker traits of the output
//! modes it supports.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::aggregate::aggregate_query;
use super::expr::ExprGen;
use super::paths::rt;
use super::prefix::prefix;
use super::row::{RowField, row_struct};
use super::session::session_query;
use super::stateless::{Stateless, stateless};
use crate::plan::{ContinuousRejection, DedupExpiry, Mode, ModeRejection, PipelinePlan};

pub(super) fn mode_tokens(mode: Mode) -> TokenStream {
    let rt = rt();
    match mode {
        Mode::Append => quote!(#rt::OutputMode::Append),
        Mode::Complete => quote!(#rt::OutputMode::Complete),
        Mode::Update => quote!(#rt::OutputMode::Update),
    }
}

pub(super) fn rejection_tokens(r: ModeRejection) -> TokenStream {
    let rt = rt();
    match r {
        ModeRejection::AppendAggregationWithoutWatermark => {
            quote!(#rt::APPEND_AGGREGATION_WITHOUT_WATERMARK)
        }
        ModeRejection::CompleteWithoutAggregation => quote!(#rt::COMPLETE_WITHOUT_AGGREGATION),
        ModeRejection::SortNotInComplete => quote!(#rt::SORT_NOT_IN_COMPLETE),
        ModeRejection::LimitInUpdate => quote!(#rt::LIMIT_IN_UPDATE),
        ModeRejection::SessionWindowInUpdate => quote!(#rt::SESSION_WINDOW_IN_UPDATE),
        // The join query's own INFO spells the join type (`stream_join.rs`); this one is its
        // clauses' pipeline's, never checked.
        ModeRejection::StreamJoinInUpdate | ModeRejection::StreamJoinInComplete => {
            quote!("a stream-stream join")
        }
    }
}

/// The runtime's marker trait of the output-mode rule a rejection breaks.
pub(super) fn rule_trait(r: ModeRejection) -> TokenStream {
    match r {
        ModeRejection::AppendAggregationWithoutWatermark => quote!(FinalisesGroups),
        ModeRejection::CompleteWithoutAggregation => quote!(Aggregates),
        ModeRejection::SortNotInComplete => quote!(Unsorted),
        ModeRejection::LimitInUpdate => quote!(Unlimited),
        ModeRejection::SessionWindowInUpdate => quote!(WithoutSessionWindow),
        ModeRejection::StreamJoinInUpdate => quote!(WithoutOuterStreamJoin),
        ModeRejection::StreamJoinInComplete => quote!(WithoutStreamJoin),
    }
}

/// The runtime's marker trait of the continuous-processing rule a rejection breaks.
pub(super) fn continuous_rule_trait(r: ContinuousRejection) -> TokenStream {
    match r {
        ContinuousRejection::Watermark => quote!(NoWatermark),
        ContinuousRejection::Deduplicate => quote!(NoDeduplication),
        ContinuousRejection::Aggregation => quote!(NoAggregation),
        ContinuousRejection::Limit => quote!(NoLimit),
        ContinuousRejection::CurrentTime => quote!(NoCurrentTime),
        ContinuousRejection::StreamJoin => quote!(NoStreamJoin),
    }
}

/// The plan's fingerprint: its rendering and its output schema, hashed.
pub(super) fn plan_fingerprint(plan: &PipelinePlan) -> u64 {
    let schema_text: String = plan
        .outputs
        .iter()
        .map(|o| format!("{}:{};", o.name, o.ty.describe()))
        .collect();
    fingerprint(&format!("{}\n{schema_text}", plan.explain))
}

/// The `Pipeline` methods of a query whose state is a runtime operator in its `op` field
/// (an aggregation, a session-window aggregation, a stream-stream join): each delegates to it.
/// `enter` runs first in `process` (a stream-static join hands over its table).
pub(super) fn delegate_to_op(
    input_ty: &TokenStream,
    row_name: &syn::Ident,
    enter: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let state = state_methods("op", true, None);
    quote! {
        #[inline]
        fn process(
            &mut self,
            __input: &[#input_ty],
            __ctx: &mut #rt::BatchContext,
            __out: &mut ::std::vec::Vec<#row_name>,
        ) -> ::core::result::Result<(), #rt::Error> {
            let _ = __out;
            #enter
            self.op.process(__input, __ctx)
        }

        fn finish_batch(
            &mut self,
            __ctx: &mut #rt::BatchContext,
            __out: &mut ::std::vec::Vec<#row_name>,
        ) -> ::core::result::Result<(), #rt::Error> {
            self.op.finish_batch(__ctx, __out)
        }

        #state
    }
}

/// The `Pipeline` state methods of a query whose state is the runtime operator in the field
/// `field`: its rows, its bytes when `bytes` (an operator that measures them), and its snapshot
/// — the operator's own, or `parts` (snapshot and restore bodies) when the query's state is
/// more than that operator.
pub(super) fn state_methods(
    field: &str,
    bytes: bool,
    parts: Option<(TokenStream, TokenStream)>,
) -> TokenStream {
    let rt = rt();
    let field = syn::Ident::new(field, proc_macro2::Span::call_site());
    let bytes = bytes.then(|| {
        quote! {
            fn state_bytes(&self) -> usize {
                self.#field.state_bytes()
            }
        }
    });
    let (snapshot, restore) = parts.unwrap_or_else(|| {
        (
            quote!(self.#field.snapshot()),
            quote!(self.#field.restore(bytes)),
        )
    });
    quote! {
        fn state_rows(&self) -> usize {
            self.#field.state_rows()
        }

        #bytes

        fn snapshot_state(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::Error> {
            #snapshot
        }

        fn restore_state(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #rt::Error> {
            #restore
        }
    }
}

/// The `Pipeline` methods of a query whose state is split into state partitions by the runtime
/// operator in the field `field` (an aggregation, a session-window aggregation, a
/// deduplication): the batch run on the executor's threads (`run` names the operator's
/// `run_batch`, turbofish included), and the partitions configured, snapshotted and restored.
pub(super) fn partitioned_methods(
    field: &str,
    run: TokenStream,
    input_ty: &TokenStream,
    row_name: &syn::Ident,
    enter: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let field = syn::Ident::new(field, proc_macro2::Span::call_site());
    quote! {
        fn run_batch(
            &mut self,
            __input: #rt::BatchInput<#input_ty>,
            __ctx: &mut #rt::BatchContext,
            __out: &mut ::std::vec::Vec<#row_name>,
            __exec: &#rt::Executor,
        ) -> ::core::result::Result<u64, #rt::Error> {
            #enter
            self.#field.#run(__input, __ctx, __out, __exec)
        }

        fn configure_state(&mut self, __partitions: usize, __workers: usize) {
            self.#field.configure(__partitions, __workers);
        }

        fn snapshot_partitions(
            &self,
            __partitions: usize,
        ) -> ::core::result::Result<::std::vec::Vec<::std::vec::Vec<u8>>, #rt::Error> {
            self.#field.snapshot_partitions(__partitions)
        }

        fn restore_partitions(
            &mut self,
            __parts: &[::std::vec::Vec<u8>],
        ) -> ::core::result::Result<(), #rt::Error> {
            self.#field.restore_partitions(__parts)
        }
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

/// Generates everything for one pipeline: a stream-stream join's parts
/// ([`super::stream_join`]), or the query's struct and row struct.
pub(crate) fn pipeline(plan: &PipelinePlan) -> TokenStream {
    if plan.stream_join.is_some() {
        return super::stream_join::stream_join(plan);
    }
    pipeline_named(plan, &plan.name, &format_ident!("{}Row", plan.name))
}

/// The pipeline struct `name` emitting rows `row_name` (a stream-stream join names the
/// pipeline of its own clauses apart from the query).
pub(super) fn pipeline_named(
    plan: &PipelinePlan,
    name: &syn::Ident,
    row_name: &syn::Ident,
) -> TokenStream {
    let rt = rt();
    let g = ExprGen::new(plan);
    let vis = &plan.vis;
    let input_ty = super::paths::input_row(&plan.input.row);

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
    let row = row_struct(row_name, vis, &row_docs, &row_fields);

    // --- static facts ------------------------------------------------------------------------
    let prefix = prefix(&g);
    let has_scan_filters = prefix.has_scan_filters;
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
    let input_columns = super::input_columns::input_columns(plan);
    let explain = &plan.explain;
    let fp = plan_fingerprint(plan);
    let query_name = name.to_string();
    let modes = [Mode::Append, Mode::Complete, Mode::Update];
    // The output-mode rules the query satisfies (see the runtime's `output_mode`).
    let supports = ModeRejection::ALL
        .into_iter()
        .filter(|r| !plan.broken_rules.contains(r))
        .map(|r| {
            let rule = rule_trait(r);
            quote!(#[automatically_derived] impl #rt::#rule for #name {})
        });
    // The continuous-processing rules: every one but the first the query breaks, so that
    // starting it continuously reports that one alone.
    let continuous = ContinuousRejection::ALL
        .into_iter()
        .filter(|r| plan.continuous_rejection != Some(*r))
        .map(|r| {
            let rule = continuous_rule_trait(r);
            quote!(#[automatically_derived] impl #rt::#rule for #name {})
        });
    let modes_doc: Vec<&str> = modes
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

    // --- the state and the batch hooks ---------------------------------------------------------
    let join = super::join::join_items(plan);
    let enter = &join.enter;
    let (kind, fields, init, items, methods) = match &plan.aggregate {
        None => {
            let kind = match (&plan.dedup, plan.limit) {
                (Some(dedup), _) => {
                    let within_watermark = dedup.within_watermark;
                    let watermarked = dedup.watermarked;
                    let evicts = dedup.expiry != DedupExpiry::Never;
                    quote!(#rt::PipelineKind::Deduplication {
                        within_watermark: #within_watermark,
                        watermarked: #watermarked,
                        evicts_on_watermark: #evicts,
                    })
                }
                (None, Some(_)) => quote!(#rt::PipelineKind::Limit),
                (None, None) => quote!(#rt::PipelineKind::Stateless),
            };
            let Stateless {
                fields,
                init,
                methods,
                items,
            } = stateless(plan, prefix, row_name, enter);
            (kind, fields, init, items, methods)
        }
        Some(agg) => {
            let evicts = agg.event_time_key.is_some();
            let session = agg.session().is_some();
            let (items, kind, operator) = if session {
                (
                    session_query(plan, &g, prefix, row_name),
                    quote!(#rt::PipelineKind::SessionWindow { evicts_on_watermark: #evicts }),
                    quote!(#rt::SessionAggregation<#name>),
                )
            } else {
                (
                    aggregate_query(plan, &g, prefix, row_name),
                    quote!(#rt::PipelineKind::Aggregation { evicts_on_watermark: #evicts }),
                    quote!(#rt::Aggregation<#name>),
                )
            };
            let methods = delegate_to_op(&input_ty, row_name, enter);
            // The aggregation runs as map tasks, an exchange and reduce workers over state
            // partitions; a session-window aggregation on every worker for the keys of its
            // partitions (see docs/parallelism.md). Both operators have the same methods.
            let partitioned =
                partitioned_methods("op", quote!(run_batch), &input_ty, row_name, enter);
            let methods = quote!(#methods #partitioned);
            (
                kind,
                quote!(op: #operator,),
                quote!(op: ::core::default::Default::default(),),
                items,
                methods,
            )
        }
    };

    let (join_field, join_init, join_items) = (&join.field, &join.init, &join.items);
    quote! {
        #row

        #items

        #join_items

        #(#docs)*
        #[doc = #struct_doc]
        #vis struct #name {
            #fields
            #join_field
        }

        #[automatically_derived]
        impl ::core::default::Default for #name {
            fn default() -> Self {
                #name { #init #join_init }
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
                input_columns: ::core::option::Option::Some(&[#(#input_columns),*]),
            };

            #methods
        }

        #(#supports)*

        #(#continuous)*
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
    fn a_cast_column_read_by_concat_is_printed_into_it_not_built() {
        // The seed's sensor stream and alert: `room_id` is printed into `room_name`, and as no
        // output reads it, its own string is never built.
        let code = generated(
            "query S from Rate {
                select timestamp, value, room_id = cast(value % 5 as string);
                with room_name = concat(\"Room_\", room_id);
                select timestamp, room_name;
            }
            query A from S { where room_name != \"x\"; select room_name; }",
        );
        assert!(!code.contains("to_spark_string"), "{code}");
        assert!(
            code.contains("SparkDisplay::push_spark_str(&(value_1%5i64),&mut__s);"),
            "{code}"
        );
        // Read by an output too, the column is built for it as before.
        let code = generated(
            "query S from Rate {
                select value, room_id = cast(value % 5 as string);
                select room_id, room_name = concat(\"Room_\", room_id);
            }",
        );
        assert!(code.contains("to_spark_string"), "{code}");
        assert!(code.contains("push_spark_str(&(value_"), "{code}");
    }

    #[test]
    fn integer_keys_are_copied_string_keys_are_borrowed_for_lookups() {
        let code =
            generated("query Q from Rate { group by k = value % 5; aggregate n = count(); }");
        assert!(code.contains("::core::marker::Copy"), "{code}");
        assert!(code.contains("__groups.group(__QKey{"), "{code}");
        assert!(!code.contains("KeyRef"), "{code}");

        let code = generated(
            "schema S { name: String } query Q from S { group by name; aggregate n = count(); }",
        );
        assert!(
            code.contains("struct__QKeyRef<'__k>{k_name:&'__kstr,}"),
            "{code}"
        );
        assert!(code.contains("__groups.group_ref(&__key)"), "{code}");
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
        assert!(!code.contains("is_late"), "{code}");

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
            code.contains("if__groups.is_late(__window_start+10000000i64){continue;}"),
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
            code.contains("struct__QAcc{a0:::sluice::__private::accumulator::Count,a1:::sluice::__private::accumulator::SumI64NonNull,a2:::sluice::__private::accumulator::Avg,a3:::sluice::__private::accumulator::MinStr,a4:::sluice::__private::accumulator::Max<f64>,}"),
            "{code}"
        );
    }
}
