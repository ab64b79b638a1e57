//! `parse` clauses to Rust: one decoder per clause, built on first use and kept in a `static`,
//! called once per row with the payload's bytes; the decoded record's columns are taken out of
//! it one by one.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::expr::ExprGen;
use super::paths::rt;
use super::rust_type::rust_owned_type;
use crate::plan::{Decode, DecodeFormat, DecodeMode, DecodeOption, SlotId, SqlType, Ty};

/// The local holding the decoded record of the `Decode` slot `record`.
fn record_local(record: SlotId) -> Ident {
    format_ident!("__record_{}", record.0)
}

/// The statements decoding one row's payload: the record's values, and the slot's own local
/// (whether the row is kept).
pub(crate) fn decode(g: &ExprGen<'_>, id: SlotId, d: &Decode) -> TokenStream {
    let rt = rt();
    let payload = g.expr(&d.payload);
    let view = g.view(&payload);
    let bytes = match (payload.ty.ty, payload.ty.nullable) {
        (Ty::Str, false) => quote!(::core::option::Option::Some((#view).as_bytes())),
        (Ty::Str, true) => quote!((#view).map(str::as_bytes)),
        (_, false) => quote!(::core::option::Option::Some(#view)),
        (_, true) => quote!(#view),
    };
    let options = d.options.iter().map(|o| match o {
        DecodeOption::Text(method, value) => {
            let m = format_ident!("{}", method);
            quote!(.#m(#value))
        }
        DecodeOption::Char(method, value) => {
            let m = format_ident!("{}", method);
            quote!(.#m(#value))
        }
    });
    let format = match d.format {
        DecodeFormat::Json => quote!(#rt::Json::new() #(#options)*),
        DecodeFormat::Csv => quote!(#rt::Csv::new() #(#options)*),
    };
    let mode = match d.mode {
        DecodeMode::Permissive => quote!(#rt::ParseMode::Permissive),
        DecodeMode::DropMalformed => quote!(#rt::ParseMode::DropMalformed),
        DecodeMode::FailFast => quote!(#rt::ParseMode::FailFast),
    };
    let schema = &d.schema;
    let column = &d.column;
    let decoder = format_ident!("__DECODER_{}", id.0);
    let record = record_local(id);
    let local = g.slot_ident(id);
    quote! {
        static #decoder: ::std::sync::LazyLock<
            ::core::result::Result<#rt::PayloadDecoder, #rt::Error>,
        > = ::std::sync::LazyLock::new(|| {
            #rt::PayloadDecoder::new(#format, <#schema as #rt::Row>::SCHEMA, #mode, #column)
        });
        let mut #record = #rt::PayloadDecoder::decode_lazy(&#decoder, #bytes, __ctx)?;
        let #local = #record.is_some();
    }
}

/// The value of column `index` of a decoded record (an owned, nullable value).
pub(crate) fn decoded(record: SlotId, index: usize, ty: SqlType) -> TokenStream {
    let rt = rt();
    let local = record_local(record);
    let base = rust_owned_type(SqlType::non_null(ty.ty));
    quote!(#rt::take_decoded::<#base>(&mut #local, #index))
}
