//! A stream-stream join query: the joined row struct, the pipeline of the query's own clauses
//! over it, the join's spec (keys, condition, event times, expiry) for the runtime's
//! `SymmetricHashJoin`, and the query struct, which holds the runtime's `StreamJoinPipeline`
//! of the four parts and delegates to it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::expr::ExprGen;
use super::paths::{input_row, rt};
use super::pipeline::{
    continuous_rule_trait, delegate_to_op, mode_tokens, partitioned_methods, pipeline_named,
    plan_fingerprint, rejection_tokens, rule_trait,
};
use super::prefix::field_view;
use super::row::{RowField, row_struct};
use super::rust_type::rust_owned_type;
use crate::plan::{
    ContinuousRejection, Expiry, Expr, JoinSide, JoinSideId, JoinSideRow, ModeRejection,
    PipelinePlan, SqlType, StreamJoin, StreamJoinKind,
};

/// The pipeline type of a side: its query's struct, or the source's rows as they come.
fn side_pipeline(side: &JoinSide) -> TokenStream {
    let rt = rt();
    if let Some(plan) = &side.pipeline {
        let name = &plan.name;
        return quote!(#name);
    }
    match &side.row {
        JoinSideRow::Query(name) => quote!(#name),
        JoinSideRow::Source(row) => {
            let row = input_row(row);
            quote!(#rt::SourceRows<#row>)
        }
    }
}

/// A value of a side row's field, owned (cloned unless `Copy`).
fn owned_field(row: &TokenStream, field: &syn::Ident, ty: SqlType) -> TokenStream {
    if ty.ty.is_copy() {
        quote!(#row.#field)
    } else {
        quote!(#row.#field.clone())
    }
}

fn expiry_tokens(e: &Expiry) -> TokenStream {
    let rt = rt();
    match e {
        Expiry::Never => quote!(#rt::StateExpiry::Never),
        Expiry::Key => quote!(#rt::StateExpiry::Key),
        Expiry::Value(bounds) => {
            let bounds = bounds.iter().map(|(offset, inclusive)| {
                quote!(#rt::TimeBound { offset_micros: #offset, inclusive: #inclusive })
            });
            quote!(#rt::StateExpiry::Value(&[#(#bounds),*]))
        }
    }
}

fn side_of(sj: &StreamJoin, id: JoinSideId) -> &JoinSide {
    match id {
        JoinSideId::Left => &sj.left,
        JoinSideId::Right => &sj.right,
    }
}

/// A condition function's body: the side fields it reads bound as the expression expects
/// them, then the condition, null counting as false.
fn condition_body(g: &ExprGen<'_>, sj: &StreamJoin, e: Option<&Expr>) -> TokenStream {
    let Some(e) = e else {
        return quote!(::core::result::Result::Ok(true));
    };
    let mut read = Vec::new();
    e.for_each_slot(&mut |s| {
        if !read.contains(&s) {
            read.push(s);
        }
    });
    let bindings = read.iter().map(|slot| {
        let (_, side, field) = sj
            .condition_slots
            .iter()
            .find(|(s, _, _)| s == slot)
            .expect("a join condition reads the sides' columns");
        let row = match side {
            JoinSideId::Left => quote!(__left),
            JoinSideId::Right => quote!(__right),
        };
        let local = g.slot_ident(*slot);
        let value = field_view(g.plan.slot(*slot).ty, &row, field);
        quote!(let #local = #value;)
    });
    let code = g.expr(e);
    let value = &code.ts;
    let test = if code.ty.nullable {
        quote!(::core::matches!(#value, ::core::option::Option::Some(true)))
    } else {
        quote!(#value)
    };
    quote! {
        #(#bindings)*
        ::core::result::Result::Ok(#test)
    }
}

/// Everything a stream-stream join query generates.
pub(super) fn stream_join(plan: &PipelinePlan) -> TokenStream {
    let rt = rt();
    let sj = plan.stream_join.as_ref().expect("a stream-stream join");
    let g = ExprGen::new(plan);
    let name = &plan.name;
    let vis = &plan.vis;
    let row_name = format_ident!("{}Row", name);
    let joined = format_ident!("__{}Joined", name);
    let clauses = format_ident!("__{}Clauses", name);
    let spec = format_ident!("__{}Join", name);
    let (left_p, right_p) = (side_pipeline(&sj.left), side_pipeline(&sj.right));
    // The sides' own pipelines, where the join pushed filters into them.
    let side_pipelines: Vec<TokenStream> = [&sj.left, &sj.right]
        .into_iter()
        .filter_map(|side| side.pipeline.as_deref())
        .map(super::pipeline::pipeline)
        .collect();

    // --- the joined row and the pipeline of the query's clauses over it -----------------------
    let joined_fields: Vec<RowField<'_>> = sj
        .fields
        .iter()
        .map(|f| RowField {
            ident: &f.field,
            name: &side_of(sj, f.side).columns[f.column].1,
            ty: f.ty,
            attrs: &[],
        })
        .collect();
    let joined_doc = format!(" A joined row of the `{name}` query (its clauses' input).");
    let joined_docs: Vec<syn::Attribute> = vec![
        syn::parse_quote!(#[doc = #joined_doc]),
        syn::parse_quote!(#[doc(hidden)]),
    ];
    let joined_struct = row_struct(&joined, vis, &joined_docs, &joined_fields);
    // The clauses' pipeline is generated as any stateless query's, under a name of its own.
    let mut post = plan.clone();
    post.name = clauses.clone();
    post.stream_join = None;
    let clauses_pipeline = pipeline_named(&post, &clauses, &row_name);

    // --- the spec -------------------------------------------------------------------------
    // Each key part owned, with whether it is nullable (a null part: no key).
    let part = |slot: &crate::plan::SlotId| {
        let (_, _, field) = sj
            .condition_slots
            .iter()
            .find(|(s, _, _)| s == slot)
            .expect("a key is a side's column");
        let ty = plan.slot(*slot).ty;
        (owned_field(&quote!(__row), field, ty), ty.nullable)
    };
    let key_tys: Vec<TokenStream> = sj
        .keys
        .iter()
        .map(|(l, _)| rust_owned_type(SqlType::non_null(plan.slot(*l).ty.ty)))
        .collect();
    let key_ty = match key_tys.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let key_of = |right: bool| {
        let parts: Vec<(TokenStream, bool)> = sj
            .keys
            .iter()
            .map(|(l, r)| part(if right { r } else { l }))
            .collect();
        match parts.as_slice() {
            // One nullable part is the key's `Option` itself.
            [(value, true)] => value.clone(),
            [(value, false)] => quote!(::core::option::Option::Some(#value)),
            many => {
                let values = many.iter().map(
                    |(v, nullable)| {
                        if *nullable { quote!(#v?) } else { v.clone() }
                    },
                );
                quote!(::core::option::Option::Some((#(#values),*)))
            }
        }
    };
    let (left_key, right_key) = (key_of(false), key_of(true));
    let event_time = |side: &JoinSide| match side.event_time {
        Some(i) => {
            let (field, _, ty) = &side.columns[i];
            if ty.nullable {
                quote!(__row.#field)
            } else {
                quote!(::core::option::Option::Some(__row.#field))
            }
        }
        None => quote!({
            let _ = __row;
            ::core::option::Option::None
        }),
    };
    let (left_time, right_time) = (event_time(&sj.left), event_time(&sj.right));
    let key_time = match sj.key_time {
        Some(_) if sj.keys.len() == 1 => quote!(::core::option::Option::Some(*__key)),
        Some(i) => {
            let index = syn::Index::from(i);
            quote!(::core::option::Option::Some(__key.#index))
        }
        None => quote!({
            let _ = __key;
            ::core::option::Option::None
        }),
    };
    let join_type = match sj.kind {
        StreamJoinKind::Inner => quote!(Inner),
        StreamJoinKind::LeftOuter => quote!(LeftOuter),
        StreamJoinKind::RightOuter => quote!(RightOuter),
        StreamJoinKind::FullOuter => quote!(FullOuter),
        StreamJoinKind::LeftSemi => quote!(LeftSemi),
    };
    let (left_expiry, right_expiry) = (
        expiry_tokens(&sj.left_expiry),
        expiry_tokens(&sj.right_expiry),
    );
    let left_only = condition_body(&g, sj, sj.left_only.as_ref());
    let right_only = condition_body(&g, sj, sj.right_only.as_ref());
    let both = condition_body(&g, sj, sj.both.as_ref());

    // The joined row: a side always present is unwrapped; an outer side's columns are null
    // when the row is emitted unmatched.
    let present = |side: JoinSideId| {
        matches!(
            (sj.kind, side),
            (StreamJoinKind::Inner, _)
                | (
                    StreamJoinKind::LeftOuter | StreamJoinKind::LeftSemi,
                    JoinSideId::Left
                )
                | (StreamJoinKind::RightOuter, JoinSideId::Right)
        )
    };
    let unwrap = |side: JoinSideId, var: TokenStream| {
        let uses = sj.fields.iter().any(|f| f.side == side);
        if present(side) && uses {
            quote!(let #var = #var.expect("a pair has both sides");)
        } else if !uses {
            quote!(let _ = #var;)
        } else {
            quote!()
        }
    };
    let (unwrap_left, unwrap_right) = (
        unwrap(JoinSideId::Left, quote!(__left)),
        unwrap(JoinSideId::Right, quote!(__right)),
    );
    let joined_values = sj.fields.iter().map(|f| {
        let side = side_of(sj, f.side);
        let (field, _, side_ty) = &side.columns[f.column];
        let var = match f.side {
            JoinSideId::Left => quote!(__left),
            JoinSideId::Right => quote!(__right),
        };
        let target = &f.field;
        let value = if present(f.side) {
            owned_field(&var, field, *side_ty)
        } else {
            let inner = owned_field(&quote!(__s), field, *side_ty);
            if side_ty.nullable {
                quote!(#var.and_then(|__s| #inner))
            } else {
                quote!(#var.map(|__s| #inner))
            }
        };
        quote!(#target: #value,)
    });

    // --- the query ------------------------------------------------------------------------
    let query_name = name.to_string();
    let watermarks = sj
        .left
        .watermarks
        .iter()
        .chain(&sj.right.watermarks)
        .map(|w| {
            let column = &w.column;
            let delay = w.delay_micros;
            quote!(#rt::WatermarkSpec { column: #column, delay_micros: #delay })
        });
    // Spark runs a no-data batch when some operator's state can expire: the join's, or a
    // windowed aggregation's after it.
    let evicts = sj.left_expiry != Expiry::Never
        || sj.right_expiry != Expiry::Never
        || plan
            .aggregate
            .as_ref()
            .is_some_and(|a| a.event_time_key.is_some());
    let unsupported = plan.rejected_modes.iter().map(|(m, r)| {
        let mode = mode_tokens(*m);
        let message = match r {
            ModeRejection::StreamJoinInUpdate => {
                let text = sj.kind.mode_message("Update");
                quote!(#text)
            }
            ModeRejection::StreamJoinInComplete => {
                let text = sj.kind.mode_message("Complete");
                quote!(#text)
            }
            other => rejection_tokens(*other),
        };
        quote!((#mode, #message))
    });
    let fp = plan_fingerprint(plan);
    let explain = &plan.explain;
    let supports = ModeRejection::ALL
        .into_iter()
        .filter(|r| !plan.broken_rules.contains(r))
        .map(|r| {
            let rule = rule_trait(r);
            quote!(#[automatically_derived] impl #rt::#rule for #name {})
        });
    // Every continuous-processing rule but the one the join breaks (see `pipeline.rs`).
    let continuous = ContinuousRejection::ALL
        .into_iter()
        .filter(|r| plan.continuous_rejection != Some(*r))
        .map(|r| {
            let rule = continuous_rule_trait(r);
            quote!(#[automatically_derived] impl #rt::#rule for #name {})
        });
    let docs = &plan.docs;
    let struct_doc = format!(
        " The compiled `{name}` query: `{}` joined with `{}` (output [`{row_name}`]). Output modes: `Append`{}. Started with `{name}::read_streams(left, right)`.",
        sj.left.name,
        sj.right.name,
        if sj.kind.is_outer() { "" } else { ", `Update`" }
    );
    let op_ty = quote!(#rt::StreamJoinPipeline<#left_p, #right_p, #spec, #clauses>);
    let mut methods = delegate_to_op(&quote!(Self::Input), &row_name, &quote!());
    methods.extend(partitioned_methods(
        "op",
        quote!(run_batch),
        &quote!(Self::Input),
        &row_name,
        &quote!(),
    ));

    quote! {
        #(#side_pipelines)*

        #joined_struct

        #clauses_pipeline

        #[doc(hidden)]
        #vis struct #spec;

        #[automatically_derived]
        impl #rt::StreamJoinQuery for #spec {
            type Left = <#left_p as #rt::Pipeline>::Output;
            type Right = <#right_p as #rt::Pipeline>::Output;
            type Key = #key_ty;
            type Output = #joined;

            const JOIN_TYPE: #rt::StreamJoinType = #rt::StreamJoinType::#join_type;
            const LEFT_EXPIRY: #rt::StateExpiry = #left_expiry;
            const RIGHT_EXPIRY: #rt::StateExpiry = #right_expiry;

            #[inline]
            fn left_key(__row: &Self::Left) -> ::core::option::Option<Self::Key> {
                #left_key
            }

            #[inline]
            fn right_key(__row: &Self::Right) -> ::core::option::Option<Self::Key> {
                #right_key
            }

            #[inline]
            fn left_event_time(__row: &Self::Left) -> ::core::option::Option<#rt::Timestamp> {
                #left_time
            }

            #[inline]
            fn right_event_time(__row: &Self::Right) -> ::core::option::Option<#rt::Timestamp> {
                #right_time
            }

            #[inline]
            fn key_event_time(__key: &Self::Key) -> ::core::option::Option<#rt::Timestamp> {
                #key_time
            }

            #[inline]
            fn left_only(
                __left: &Self::Left,
                __ctx: &#rt::BatchContext,
            ) -> ::core::result::Result<bool, #rt::Error> {
                let _ = (__left, __ctx);
                #left_only
            }

            #[inline]
            fn right_only(
                __right: &Self::Right,
                __ctx: &#rt::BatchContext,
            ) -> ::core::result::Result<bool, #rt::Error> {
                let _ = (__right, __ctx);
                #right_only
            }

            #[inline]
            fn both(
                __left: &Self::Left,
                __right: &Self::Right,
                __ctx: &#rt::BatchContext,
            ) -> ::core::result::Result<bool, #rt::Error> {
                let _ = (__left, __right, __ctx);
                #both
            }

            #[inline]
            fn joined(
                __left: ::core::option::Option<&Self::Left>,
                __right: ::core::option::Option<&Self::Right>,
            ) -> #joined {
                #unwrap_left
                #unwrap_right
                #joined { #(#joined_values)* }
            }
        }

        #(#docs)*
        #[doc = #struct_doc]
        #vis struct #name {
            op: #op_ty,
        }

        #[automatically_derived]
        impl ::core::default::Default for #name {
            fn default() -> Self {
                #name { op: ::core::default::Default::default() }
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
            type Input = #rt::Sided<<#left_p as #rt::Pipeline>::Input, <#right_p as #rt::Pipeline>::Input>;
            type Output = #row_name;

            const INFO: #rt::PipelineInfo = #rt::PipelineInfo {
                name: #query_name,
                kind: #rt::PipelineKind::StreamJoin { evicts_state: #evicts },
                watermarks: &[#(#watermarks),*],
                unsupported_modes: &[#(#unsupported),*],
                fingerprint: #fp,
                plan: #explain,
                has_scan_filters: <#left_p as #rt::Pipeline>::INFO.has_scan_filters
                    || <#right_p as #rt::Pipeline>::INFO.has_scan_filters,
                input_columns: ::core::option::Option::None,
            };

            #methods
        }

        #[automatically_derived]
        impl #rt::ReadStreams for #name {
            type LeftInput = <#left_p as #rt::Pipeline>::Input;
            type RightInput = <#right_p as #rt::Pipeline>::Input;
        }

        #(#supports)*

        #(#continuous)*
    }
}
