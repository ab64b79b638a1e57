//! A generator's loop in the row loop: `explode(array)` turns the row into one row per element
//! (the statements after it run per element); `explode(split(s, sep))` iterates the parts of
//! `s` as borrowed slices, without building the array.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::expr::Code;
use super::paths::rt;
use super::prefix::Body;
use crate::functions::{Params, SPLIT};
use crate::plan::{ExprKind, SlotDef};

/// Opens the loop of generator `n`, binding its element (and position) for what follows.
pub(super) fn open(body: &mut Body<'_, '_>, n: usize) {
    let rt = rt();
    let g = body.g;
    let generator = &g.plan.generators[n];
    let source_local = format_ident!("__generated_{}", n);
    let element = format_ident!("__element_{}", n);
    let position = format_ident!("__position_{}", n);

    // What is iterated: the string a `split` cuts — written in the generator, or in the
    // computed column it reads — or the array itself.
    let split = |e: &'_ crate::plan::Expr| match &e.kind {
        ExprKind::Call(call) if call.is(&SPLIT) => match &call.params {
            Params::Separator(sep) => Some((call.args[0].clone(), sep.clone())),
            _ => unreachable!("split without a separator"),
        },
        _ => None,
    };
    let through_column = match &generator.array.kind {
        ExprKind::Slot(s) => match &g.plan.slot(*s).def {
            SlotDef::Let(e) => split(e),
            _ => None,
        },
        _ => None,
    };
    let (source, separator) = match split(&generator.array).or(through_column) {
        Some((string, sep)) => (string, Some(sep)),
        None => (generator.array.clone(), None),
    };
    let source = &source;
    body.materialize_expr(source);
    let code = g.expr(source);
    let value = &code.ts;
    // Bound first: the loop borrows from it.
    body.push(quote!(let #source_local = #value;));
    let view = g.view(&Code {
        ts: quote!(#source_local),
        ty: code.ty,
        owned: code.owned,
    });
    let parts = |v: TokenStream| match &separator {
        // The separator is a literal: a one-character one is searched as a character.
        Some(sep) if sep.chars().count() == 1 => {
            let c = sep.chars().next().expect("one character");
            quote!(#rt::functions::split_on_char(#v, #c))
        }
        Some(sep) => quote!(#rt::functions::split_parts(#v, #sep)),
        None => quote!(#rt::functions::array_parts(#v)),
    };

    let element_local = g.slot_ident(generator.element);
    let position_local = generator.position.map(|p| g.slot_ident(p));
    if generator.kind.outer {
        // One row of nulls for a null or empty array.
        let items = if code.ty.nullable {
            let each = parts(quote!(__array));
            quote!(::core::option::Option::map(#view, |__array| #each))
        } else {
            let each = parts(view);
            quote!(::core::option::Option::Some(#each))
        };
        let items = quote!(#rt::functions::outer(#items));
        body.open_loop(header(&position, &element, position_local.is_some(), items));
        body.push(quote!(let #element_local = #element;));
        if let Some(p) = position_local {
            body.push(
                quote!(let #p = ::core::option::Option::map(#element, |_| #position as i32);),
            );
        }
    } else {
        // No row for a null array.
        let items = if code.ty.nullable {
            let reject = body.reject().clone();
            body.push(
                quote!(let ::core::option::Option::Some(#source_local) = #view else { #reject };),
            );
            parts(quote!(#source_local))
        } else {
            parts(view)
        };
        body.open_loop(header(&position, &element, position_local.is_some(), items));
        body.push(quote!(let #element_local = #element;));
        if let Some(p) = position_local {
            body.push(quote!(let #p = #position as i32;));
        }
    }
    body.bound(generator.element);
    if let Some(p) = generator.position {
        body.bound(p);
    }
}

/// `for <element> in <items>`, numbered when the position is read.
fn header(
    position: &proc_macro2::Ident,
    element: &proc_macro2::Ident,
    numbered: bool,
    items: TokenStream,
) -> TokenStream {
    if numbered {
        quote!(for (#position, #element) in ::core::iter::Iterator::enumerate(#items))
    } else {
        quote!(for #element in #items)
    }
}
