//! The spec of a streaming aggregation: the key and accumulator types, and the
//! `AggregateQuery` impl the runtime's aggregation operator runs — the row loop that feeds
//! groups (`map`), when a group is final (`final_at`), and how a group becomes an output row
//! (`emit`, with its `order by` key and comparison). Everything about *when* to drop, emit and
//! evict is the runtime's.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::emit::emit;
use super::expr::ExprGen;
use super::group_values::{acc_field, case_values, key_field};
use super::paths::rt;
use super::prefix::{Body, Prefix};
use super::rust_type::rust_view_type;
use crate::plan::{AggFunc, Aggregate, KeyRepr, PipelinePlan, SqlType, Ty};

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
        KeyRepr::Session { .. } => unreachable!("a session is not part of the state's key"),
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

/// The runtime accumulator type of one aggregate.
fn accumulator_type(acc: &crate::plan::Accumulator) -> TokenStream {
    let acc_mod = quote!(::sluice::__private::accumulator);
    let arg_ty = acc.arg_ty.map(|a| a.ty);
    let non_null = !acc.ty.nullable;
    match (acc.func, arg_ty) {
        (AggFunc::CountStar | AggFunc::Count, _) => quote!(#acc_mod::Count),
        (AggFunc::Sum, Some(Ty::Double)) if non_null => quote!(#acc_mod::SumF64NonNull),
        (AggFunc::Sum, Some(Ty::Double)) => quote!(#acc_mod::SumF64),
        (AggFunc::Sum, _) if non_null => quote!(#acc_mod::SumI64NonNull),
        (AggFunc::Sum, _) => quote!(#acc_mod::SumI64),
        (AggFunc::Avg, _) => quote!(#acc_mod::Avg),
        (AggFunc::Min, Some(Ty::Str)) => quote!(#acc_mod::MinStr),
        (AggFunc::Max, Some(Ty::Str)) => quote!(#acc_mod::MaxStr),
        (AggFunc::Min | AggFunc::Max, Some(t)) => {
            let inner = rust_view_type(t);
            match (acc.func, non_null) {
                (AggFunc::Min, true) => quote!(#acc_mod::MinNonNull<#inner>),
                (AggFunc::Min, false) => quote!(#acc_mod::Min<#inner>),
                (_, true) => quote!(#acc_mod::MaxNonNull<#inner>),
                (_, false) => quote!(#acc_mod::Max<#inner>),
            }
        }
        (_, None) => unreachable!("aggregate without argument"),
    }
}

/// The names of the generated state types of a query.
pub(crate) struct StateTypes {
    pub(crate) key: Ident,
    pub(crate) key_ref: Ident,
    pub(crate) acc: Ident,
    /// Whether lookups go through the borrowed key (string or array parts).
    pub(crate) needs_ref: bool,
}

impl StateTypes {
    pub(crate) fn of(plan: &PipelinePlan) -> Self {
        let name = &plan.name;
        let agg = plan.aggregate.as_ref().expect("aggregation");
        StateTypes {
            key: format_ident!("__{}Key", name),
            key_ref: format_ident!("__{}KeyRef", name),
            acc: format_ident!("__{}Acc", name),
            needs_ref: agg.keys.iter().any(|k| {
                matches!(k.repr, KeyRepr::Direct { .. })
                    && matches!(k.ty.ty, Ty::Str | Ty::StrArray)
            }),
        }
    }
}

/// The keys the state is keyed by: every group key but a session window (a key's sessions are
/// its value).
pub(super) fn state_keys(agg: &Aggregate) -> impl Iterator<Item = &crate::plan::GroupKey> {
    agg.keys
        .iter()
        .filter(|k| !matches!(k.repr, KeyRepr::Session { .. }))
}

/// The key struct (and its borrowed form) and the accumulator struct.
pub(super) fn state_types(plan: &PipelinePlan, agg: &Aggregate, t: &StateTypes) -> TokenStream {
    let rt = rt();
    let name = &plan.name;
    let StateTypes {
        key: key_name,
        key_ref: key_ref_name,
        acc: acc_name,
        needs_ref,
    } = t;
    let key_fields: Vec<(Ident, TokenStream, TokenStream)> = state_keys(agg)
        .map(|k| {
            let (owned, view) = key_types(&k.repr, k.ty, plan);
            (key_field(&k.name), owned, view)
        })
        .collect();
    let kf_idents: Vec<&Ident> = key_fields.iter().map(|(i, _, _)| i).collect();
    let kf_owned: Vec<&TokenStream> = key_fields.iter().map(|(_, o, _)| o).collect();
    let kf_view: Vec<&TokenStream> = key_fields.iter().map(|(_, _, v)| v).collect();
    let copy_derive = if *needs_ref {
        quote!()
    } else {
        quote!(::core::marker::Copy,)
    };
    let key_ref_types = if *needs_ref {
        let to_owned = state_keys(agg).map(|k| {
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
        let eqs = state_keys(agg).map(|k| {
            let f = key_field(&k.name);
            match (&k.repr, k.ty.ty, k.ty.nullable) {
                (KeyRepr::Direct { .. }, Ty::Str | Ty::StrArray, true) => {
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
    let acc_fields: Vec<Ident> = (0..agg.accumulators.len()).map(acc_field).collect();
    let acc_types: Vec<TokenStream> = agg.accumulators.iter().map(accumulator_type).collect();
    let key_doc = format!(" Group key of `{name}`.");
    let acc_doc = format!(" Accumulators of one `{name}` group.");
    quote! {
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
            #(#acc_fields: #acc_types,)*
        }

        #[automatically_derived]
        impl #rt::Accumulators for #acc_name {
            fn merge(&mut self, __other: &Self) -> ::core::result::Result<(), #rt::Error> {
                #(#rt::Accumulator::merge(&mut self.#acc_fields, &__other.#acc_fields)?;)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// The body of the row loop after the prefix: the key, the lateness check, the group (or
/// session) lookup and the accumulator updates (per window, for sliding windows).
pub(super) fn feed_groups(
    plan: &PipelinePlan,
    agg: &Aggregate,
    t: &StateTypes,
    body: &mut Body<'_, '_>,
) -> TokenStream {
    let rt = rt();
    let g = body.g;
    let global = agg.keys.is_empty();
    let StateTypes {
        key: key_name,
        key_ref: key_ref_name,
        needs_ref,
        ..
    } = t;
    // Arguments of the accumulators, and the non-window key values.
    for a in &agg.accumulators {
        if let Some(s) = a.arg {
            body.materialize(s);
        }
    }
    let mut key_values: Vec<TokenStream> = Vec::new();
    let mut window: Option<(TokenStream, i64, i64)> = None;
    let mut session: Option<(TokenStream, i64)> = None;
    for k in &agg.keys {
        let value = match &k.repr {
            KeyRepr::Session { ts, gap } => {
                body.materialize(*ts);
                let local = g.slot_ident(*ts);
                if plan.slot(*ts).ty.nullable {
                    // Spark filters out rows whose event time is null before sessionizing.
                    body.push(quote!(let ::core::option::Option::Some(#local) = #local else { continue; };));
                }
                session = Some((quote!(#local.as_micros()), *gap));
                continue;
            }
            KeyRepr::Window { ts, size, slide } => {
                body.materialize(*ts);
                let local = g.slot_ident(*ts);
                if plan.slot(*ts).ty.nullable {
                    // Spark filters out rows whose event time is null before windowing.
                    body.push(quote!(let ::core::option::Option::Some(#local) = #local else { continue; };));
                }
                window = Some((quote!(#local.as_micros()), *size, *slide));
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
    let event_key = agg.event_time_key.map(|i| &agg.keys[i].repr);
    // Grouped by the event-time column itself: a row is late when its event time is.
    let late_direct = match event_key {
        Some(KeyRepr::Direct { slot }) => {
            let local = g.slot_ident(*slot);
            if plan.slot(*slot).ty.nullable {
                quote!(if #local.is_some_and(|__t| __groups.is_late(__t.as_micros())) { continue; })
            } else {
                quote!(if __groups.is_late(#local.as_micros()) { continue; })
            }
        }
        _ => quote!(),
    };
    // Grouped by a window over it: a (row, window) pair is late when its window's end is.
    let late_window = |size: i64| {
        if matches!(event_key, Some(KeyRepr::Window { .. })) {
            quote!(if __groups.is_late(__window_start + #size) { continue; })
        } else {
            quote!()
        }
    };

    let updates = agg.accumulators.iter().enumerate().map(|(i, a)| {
        let f = acc_field(i);
        // Spanned at the aggregate: an error in its update points at the DSL's call.
        let span = a.span.generated();
        let update =
            |v: TokenStream| quote_spanned!(span=> #rt::Accumulator::update(&mut __acc.#f, #v)?;);
        let Some(slot) = a.arg else {
            return update(quote!(()));
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
            (AggFunc::Count, _) => update(quote!(())),
            (AggFunc::Sum, Ty::Int) => update(quote!(i64::from(#v))),
            (AggFunc::Avg, Ty::Int) => update(quote!(f64::from(#v))),
            (AggFunc::Avg, Ty::Long) => update(quote!(#v as f64)),
            _ => update(v),
        };
        if arg_ty.nullable {
            quote!(if let ::core::option::Option::Some(__v) = #view { #call })
        } else {
            call
        }
    });
    let updates = quote!(#(#updates)*);
    let upsert = |window_start: TokenStream| -> TokenStream {
        let kf_idents = state_keys(agg).map(|k| key_field(&k.name));
        let values = key_values.iter().zip(state_keys(agg)).map(|(v, k)| {
            let v = if v.to_string() == "__window_start" {
                window_start.clone()
            } else {
                v.clone()
            };
            // Spanned at the key as written in `group by`.
            let span = k.span.generated();
            quote_spanned!(span=> #v)
        });
        // A session: the row's event time places it among its key's sessions.
        let (lookup, lookup_ref, at) = match &session {
            Some(_) => (
                quote!(session),
                quote!(session_ref),
                quote!(, __session_start),
            ),
            None => (quote!(group), quote!(group_ref), quote!()),
        };
        let fallible = if session.is_some() {
            quote!(?)
        } else {
            quote!()
        };
        if *needs_ref {
            quote! {
                let __key = #key_ref_name { #(#kf_idents: #values,)* };
                let __acc = __groups.#lookup_ref(&__key #at) #fallible;
                #updates
            }
        } else {
            quote! {
                let __acc = __groups.#lookup(#key_name { #(#kf_idents: #values,)* } #at) #fallible;
                #updates
            }
        }
    };
    if let Some((ts, gap)) = &session {
        // Late when the row's own session ends at or before the previous watermark.
        let late = if matches!(event_key, Some(KeyRepr::Session { .. })) {
            quote!(if __groups.is_late(__session_start + #gap) { continue; })
        } else {
            quote!()
        };
        let u = upsert(quote!());
        return quote! {
            let __session_start = #ts;
            #late
            #u
        };
    }
    if global {
        return upsert(quote!());
    }
    match window {
        None => {
            let u = upsert(quote!());
            quote!(#late_direct #u)
        }
        Some((ts, size, slide)) if size == slide => {
            let late = late_window(size);
            let u = upsert(quote!(__window_start));
            quote! {
                let __window_start = #rt::last_window_start(#ts, #size);
                #late
                #u
            }
        }
        Some((ts, size, slide)) => {
            let late = late_window(size);
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
}

/// `final_at`: the event time at which the watermark makes a group final.
fn final_at(agg: &Aggregate, key_name: &Ident) -> TokenStream {
    let Some(k) = agg.event_time_key.map(|i| &agg.keys[i]) else {
        return quote!();
    };
    let f = key_field(&k.name);
    let end = match &k.repr {
        KeyRepr::Window { size, .. } => quote!(::core::option::Option::Some(__key.#f + #size)),
        KeyRepr::Direct { .. } if k.ty.nullable => quote!(__key.#f.map(|__t| __t.as_micros())),
        _ => quote!(::core::option::Option::Some(__key.#f.as_micros())),
    };
    quote! {
        const EVICTS: bool = true;

        #[inline]
        fn final_at(__key: &#key_name) -> ::core::option::Option<i64> {
            #end
        }
    }
}

/// The state types and the `AggregateQuery` impl of an aggregation.
pub(crate) fn aggregate_query(
    plan: &PipelinePlan,
    g: &ExprGen<'_>,
    prefix: Prefix<'_, '_>,
    row_name: &Ident,
) -> TokenStream {
    let rt = rt();
    let agg = plan.aggregate.as_ref().expect("aggregation");
    let name = &plan.name;
    let input_ty = super::paths::input_row(&plan.input.row);
    let t = StateTypes::of(plan);
    let types = state_types(plan, agg, &t);
    let Prefix {
        mut body,
        before,
        after,
        ..
    } = prefix;
    let tail = feed_groups(plan, agg, &t, &mut body);
    body.push(tail);
    let row_loop = body.finish();
    let (key_name, acc_name) = (&t.key, &t.acc);
    let global_key = if agg.keys.is_empty() {
        quote! {
            fn global_key() -> ::core::option::Option<#key_name> {
                ::core::option::Option::Some(#key_name {})
            }
        }
    } else {
        quote!()
    };
    let final_at = final_at(agg, key_name);
    let (emit, compare) = emit(plan, g, &t, row_name);
    let limit = limit_const(plan);
    let map = map_fn(
        quote!(GroupSink),
        &input_ty,
        key_name,
        acc_name,
        &before,
        &row_loop,
        &after,
    );
    quote! {
        #types

        #[automatically_derived]
        impl #rt::AggregateQuery for #name {
            type Input = #input_ty;
            type Output = #row_name;
            type Key = #key_name;
            type Acc = #acc_name;

            #limit
            #final_at
            #global_key
            #compare

            #map

            #emit
        }
    }
}

/// The `map` of a grouping operator's spec (`AggregateQuery`, `SessionQuery`): the fused prefix
/// over a chunk of input rows, each row handed to the operator's sink (`sink`: `GroupSink` or
/// `SessionSink`).
pub(super) fn map_fn(
    sink: TokenStream,
    input_ty: &TokenStream,
    key_name: &Ident,
    acc_name: &Ident,
    before: &TokenStream,
    row_loop: &TokenStream,
    after: &TokenStream,
) -> TokenStream {
    let rt = rt();
    quote! {
        #[inline]
        fn map<__G: #rt::#sink<#key_name, #acc_name>>(
            __input: &[#input_ty],
            __ctx: &mut #rt::BatchContext,
            __groups: &mut __G,
        ) -> ::core::result::Result<(), #rt::Error> {
            #before
            for __row in __input {
                #row_loop
            }
            #after
            ::core::result::Result::Ok(())
        }
    }
}

/// The spec's `LIMIT` const, for a query with a `limit`.
pub(super) fn limit_const(plan: &PipelinePlan) -> TokenStream {
    match plan.limit.map(|l| l.rows) {
        Some(n) => {
            quote!(const LIMIT: ::core::option::Option<u64> = ::core::option::Option::Some(#n);)
        }
        None => quote!(),
    }
}
