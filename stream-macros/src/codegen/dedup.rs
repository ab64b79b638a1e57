//! A deduplication in the row loop: its key struct (and the borrowed form lookups use, so a
//! duplicate allocates nothing), what the state stores per key (the key itself, taught its
//! expiry, or the runtime's `Expiring` for `within watermark`), and the statements that drop a
//! late row and a repeated key through the runtime's `SeenKeys` (`__dedup`, declared before the
//! loop by the prefix).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::group_values::key_field;
use super::paths::rt;
use super::prefix::Body;
use super::rust_type::rust_owned_type;
use crate::plan::{DedupExpiry, PipelinePlan, SlotId, SqlType, Ty};

/// The names of a deduplication's key types.
pub(crate) struct DedupTypes {
    pub(crate) key: Ident,
    key_ref: Ident,
    /// What the state stores per key: the key, or `Expiring<key>`.
    pub(crate) entry: TokenStream,
    /// Whether lookups go through the borrowed key (string, array or binary parts).
    needs_ref: bool,
}

impl DedupTypes {
    pub(crate) fn of(plan: &PipelinePlan) -> Self {
        let rt = rt();
        let dedup = plan.dedup.as_ref().expect("a deduplication");
        let key = format_ident!("__{}DedupKey", plan.name);
        let entry = match dedup.expiry {
            DedupExpiry::WithinWatermark { .. } => quote!(#rt::Expiring<#key>),
            DedupExpiry::Never | DedupExpiry::KeyEventTime(_) => quote!(#key),
        };
        DedupTypes {
            key_ref: format_ident!("__{}DedupKeyRef", plan.name),
            key,
            entry,
            needs_ref: dedup.keys.iter().any(|k| borrows(plan.slot(*k).ty.ty)),
        }
    }
}

/// Whether a key part of this type is looked up through a borrowed view.
fn borrows(ty: Ty) -> bool {
    matches!(ty, Ty::Str | Ty::StrArray | Ty::Binary | Ty::Headers)
}

/// The type of a key part as stored, and as looked up.
fn part_types(ty: SqlType) -> (TokenStream, TokenStream) {
    let rt = rt();
    let wrap = |t: TokenStream| {
        if ty.nullable {
            quote!(::core::option::Option<#t>)
        } else {
            t
        }
    };
    let view = match ty.ty {
        Ty::Str => quote!(&'__k str),
        Ty::StrArray => quote!(&'__k [::std::string::String]),
        Ty::Binary => quote!(&'__k [u8]),
        Ty::Headers => quote!(&'__k [#rt::Header]),
        // Doubles as their bits (every NaN one value), as Spark's rows compare them.
        Ty::Double => quote!(u64),
        _ => rust_owned_type(SqlType::non_null(ty.ty)),
    };
    let owned = match ty.ty {
        Ty::Double => quote!(u64),
        _ => rust_owned_type(SqlType::non_null(ty.ty)),
    };
    (wrap(owned), wrap(view))
}

/// The key struct, its borrowed form, and the conversions between them.
pub(crate) fn dedup_types(plan: &PipelinePlan, t: &DedupTypes) -> TokenStream {
    let rt = rt();
    let dedup = plan.dedup.as_ref().expect("a deduplication");
    let DedupTypes {
        key,
        key_ref,
        needs_ref,
        ..
    } = t;
    let fields: Vec<Ident> = dedup.names.iter().map(|n| key_field(n)).collect();
    let types: Vec<SqlType> = dedup.keys.iter().map(|k| plan.slot(*k).ty).collect();
    let owned: Vec<TokenStream> = types.iter().map(|t| part_types(*t).0).collect();
    let views: Vec<TokenStream> = types.iter().map(|t| part_types(*t).1).collect();
    let copy = if *needs_ref {
        quote!()
    } else {
        quote!(::core::marker::Copy,)
    };
    let doc = format!(" Deduplication key of `{}`.", plan.name);
    let reference = if *needs_ref {
        let eqs = fields
            .iter()
            .zip(&types)
            .map(|(f, ty)| match (borrows(ty.ty), ty.nullable) {
                (true, true) => quote!(self.#f == key.#f.as_deref()),
                (true, false) => quote!(self.#f == &*key.#f),
                (false, _) => quote!(self.#f == key.#f),
            });
        let to_owned = fields
            .iter()
            .zip(&types)
            .map(|(f, ty)| match (ty.ty, ty.nullable) {
                (Ty::Str, false) => quote!(#f: ::std::string::String::from(r.#f)),
                (Ty::Str, true) => quote!(#f: r.#f.map(::std::string::String::from)),
                (Ty::StrArray | Ty::Binary | Ty::Headers, false) => quote!(#f: r.#f.to_vec()),
                (Ty::StrArray | Ty::Binary | Ty::Headers, true) => {
                    quote!(#f: r.#f.map(|__v| __v.to_vec()))
                }
                _ => quote!(#f: r.#f),
            });
        quote! {
            /// Borrowed form of the deduplication key, for lookups that allocate nothing.
            #[doc(hidden)]
            #[derive(::core::hash::Hash)]
            struct #key_ref<'__k> {
                #(#fields: #views,)*
            }

            #[automatically_derived]
            impl #rt::hashbrown::Equivalent<#key> for #key_ref<'_> {
                fn equivalent(&self, key: &#key) -> bool {
                    #(#eqs)&&*
                }
            }

            #[automatically_derived]
            impl ::core::convert::From<&#key_ref<'_>> for #key {
                fn from(r: &#key_ref<'_>) -> Self {
                    #key { #(#to_owned,)* }
                }
            }
        }
    } else {
        quote!()
    };
    // A key whose expiry follows from it is its own entry in the state.
    let own_entry = match dedup.expiry {
        DedupExpiry::WithinWatermark { .. } => quote!(),
        DedupExpiry::Never => own_entry(key, quote!(#rt::NEVER_EXPIRES)),
        DedupExpiry::KeyEventTime(part) => {
            let f = key_field(&dedup.names[part]);
            if types[part].nullable {
                // A null event time is never evicted (Spark's predicate on it is null).
                own_entry(
                    key,
                    quote!(self.#f.map_or(#rt::NEVER_EXPIRES, |__t| __t.as_micros())),
                )
            } else {
                own_entry(key, quote!(self.#f.as_micros()))
            }
        }
    };
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[derive(::core::clone::Clone, #copy ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash, ::core::fmt::Debug, #rt::serde::Serialize, #rt::serde::Deserialize)]
        #[serde(crate = "::sluice::__private::serde")]
        pub struct #key {
            #(#fields: #owned,)*
        }

        #own_entry

        #reference
    }
}

/// `impl DedupEntry for <key>`: the key is its own entry, expiring at `expires`.
fn own_entry(key: &Ident, expires: TokenStream) -> TokenStream {
    let rt = rt();
    quote! {
        #[automatically_derived]
        impl #rt::DedupEntry for #key {
            type Key = Self;

            #[inline]
            fn key(&self) -> &Self {
                self
            }

            #[inline]
            fn expires(&self) -> i64 {
                #expires
            }
        }
    }
}

/// The statements of the deduplication stage: a late row is dropped (when the input has a
/// watermarked column), then a row whose key was seen before.
pub(super) fn check(body: &mut Body<'_, '_>) {
    let g = body.g;
    let plan = g.plan;
    let dedup = plan.dedup.as_ref().expect("a deduplication");
    let reject = body.reject().clone();
    if let Some(ts) = dedup.event_time {
        body.materialize(ts);
        let local = g.slot_ident(ts);
        if plan.slot(ts).ty.nullable {
            // A null event time is never late.
            body.push(
                quote!(if #local.is_some_and(|__t| __dedup.is_late(__t.as_micros())) { #reject }),
            );
        } else {
            body.push(quote!(if __dedup.is_late(#local.as_micros()) { #reject }));
        }
    }
    let t = DedupTypes::of(plan);
    let values: Vec<TokenStream> = dedup
        .keys
        .iter()
        .map(|k| {
            body.materialize(*k);
            part_value(body, *k)
        })
        .collect();
    let fields = dedup.names.iter().map(|n| key_field(n));
    let DedupTypes { key, key_ref, .. } = &t;
    let rt = rt();
    // The entry of a new key: the key, or the key and its first row's expiry.
    let expires = match dedup.expiry {
        DedupExpiry::WithinWatermark { delay_micros } => {
            let ts = event_micros(body, dedup.event_time.expect("a watermarked column"));
            let millis = delay_micros / 1000;
            Some(quote!(#rt::expires_within_watermark(#ts, #millis)))
        }
        DedupExpiry::Never | DedupExpiry::KeyEventTime(_) => None,
    };
    let entry = |key: TokenStream| match &expires {
        Some(expires) => quote!(#rt::Expiring { key: #key, expires: #expires }),
        None => key,
    };
    if t.needs_ref {
        let entry = entry(quote!(::core::convert::From::from(&__dedup_key)));
        body.push(quote! {
            let __dedup_key = #key_ref { #(#fields: #values,)* };
            if !__dedup.first_ref(&__dedup_key, || #entry) { #reject }
        });
    } else {
        let entry = entry(quote!(#key { #(#fields: #values,)* }));
        body.push(quote! {
            if !__dedup.first(#entry) { #reject }
        });
    }
}

/// A key part's value for the lookup: a view of strings and arrays, a double's bits.
fn part_value(body: &Body<'_, '_>, slot: SlotId) -> TokenStream {
    let rt = rt();
    let g = body.g;
    let ty = g.plan.slot(slot).ty;
    let local = g.slot_ident(slot);
    match (ty.ty, ty.nullable) {
        (Ty::Double, false) => quote!(#rt::functions::f64_row_bits(#local)),
        (Ty::Double, true) => quote!(#local.map(#rt::functions::f64_row_bits)),
        (t, _) if borrows(t) => g.slot_view(slot),
        _ => quote!(#local),
    }
}

/// The event time of `slot` in µs, as an `Option` (null stays null).
fn event_micros(body: &mut Body<'_, '_>, slot: SlotId) -> TokenStream {
    let g = body.g;
    body.materialize(slot);
    let local = g.slot_ident(slot);
    if g.plan.slot(slot).ty.nullable {
        quote!(#local.map(|__t| __t.as_micros()))
    } else {
        quote!(::core::option::Option::Some(#local.as_micros()))
    }
}
