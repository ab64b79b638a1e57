//! The Rust shapes of SQL values: the owned and view types of each SQL type, conversions
//! between them, and literals.

use proc_macro2::TokenStream;
use quote::quote;

use super::paths::rt;
use crate::plan::{Literal, SqlType, Ty};

/// `to_owned` for a borrowed string or array view.
pub(crate) fn to_owned(t: &TokenStream, ty: SqlType) -> TokenStream {
    match (ty.ty, ty.nullable) {
        (Ty::Str, false) => quote!(::std::string::String::from(#t)),
        (Ty::StrArray | Ty::Binary | Ty::Headers, false) => quote!((#t).to_vec()),
        (Ty::Str, true) => quote!((#t).map(::std::string::String::from)),
        (Ty::StrArray | Ty::Binary | Ty::Headers, true) => quote!((#t).map(|__v| __v.to_vec())),
        _ => quote!(#t),
    }
}

/// The Rust type of a non-null value in its *view* form.
pub(crate) fn rust_view_type(ty: Ty) -> TokenStream {
    let rt = rt();
    match ty {
        Ty::Bool | Ty::Null => quote!(bool),
        Ty::Int => quote!(i32),
        Ty::Long => quote!(i64),
        Ty::Double => quote!(f64),
        Ty::Str => quote!(&str),
        Ty::Timestamp => quote!(#rt::Timestamp),
        Ty::Window => quote!(#rt::Window),
        Ty::StrArray => quote!(&[::std::string::String]),
        Ty::Binary => quote!(&[u8]),
        Ty::Headers => quote!(&[#rt::Header]),
    }
}

/// The Rust type of an owned column value (what row structs hold).
pub(crate) fn rust_owned_type(ty: SqlType) -> TokenStream {
    let rt = rt();
    let base = match ty.ty {
        Ty::Bool | Ty::Null => quote!(bool),
        Ty::Int => quote!(i32),
        Ty::Long => quote!(i64),
        Ty::Double => quote!(f64),
        Ty::Str => quote!(::std::string::String),
        Ty::Timestamp => quote!(#rt::Timestamp),
        Ty::Window => quote!(#rt::Window),
        Ty::StrArray => quote!(::std::vec::Vec<::std::string::String>),
        Ty::Binary => quote!(::std::vec::Vec<u8>),
        Ty::Headers => quote!(::std::vec::Vec<#rt::Header>),
    };
    if ty.nullable {
        quote!(::core::option::Option<#base>)
    } else {
        base
    }
}

pub(crate) fn literal(lit: &Literal, ty: SqlType) -> TokenStream {
    let rt = rt();
    let ts = match lit {
        Literal::Bool(b) => quote!(#b),
        Literal::Int(i) => quote!(#i),
        Literal::Long(i) => quote!(#i),
        Literal::Double(d) => {
            let lit = proc_macro2::Literal::f64_suffixed(*d);
            quote!(#lit)
        }
        Literal::Str(s) => quote!(#s),
        Literal::Timestamp(m) => quote!(#rt::Timestamp::from_micros(#m)),
        Literal::Null => {
            let t = rust_view_type(ty.ty);
            return quote!(::core::option::Option::<#t>::None);
        }
    };
    if ty.nullable {
        quote!(::core::option::Option::Some(#ts))
    } else {
        ts
    }
}
