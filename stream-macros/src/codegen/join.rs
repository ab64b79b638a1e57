//! A stream-static join in the row loop: the stream row's key probes the table hashed once
//! (a borrowed key, no allocation), and the statements after the join run once per matching
//! table row — or, for a left outer join without a match, once with the table's columns null.
//! The table's columns are read from the matching row only where the query reads them.

use proc_macro2::TokenStream;
use quote::quote;

use super::expr::Code;
use super::paths::rt;
use super::prefix::Body;
use super::rust_type::rust_owned_type;
use crate::plan::{JoinType, PipelinePlan, SlotDef, SqlType, TableColumn, Ty};

/// The type key `i` is hashed as: the columns' type, or BIGINT when an INT column is equated
/// with a BIGINT one (Spark widens the INT side).
fn key_ty(plan: &PipelinePlan, i: usize) -> Ty {
    let join = plan.join.as_ref().expect("a join");
    let (slot, column) = join.keys[i];
    let (a, b) = (plan.slot(slot).ty.ty, join.columns[column].ty.ty);
    if a == b { a } else { Ty::Long }
}

/// `i64::from(value)` where an INT key part is widened to BIGINT.
fn widen(value: TokenStream, from: Ty, to: Ty) -> TokenStream {
    if from == to {
        value
    } else {
        quote!(<i64 as ::core::convert::From<i32>>::from(#value))
    }
}

/// The hashed table's Rust type: `StaticTable<Key, TableRow>`.
pub(crate) fn table_type(plan: &PipelinePlan) -> Option<TokenStream> {
    let rt = rt();
    let join = plan.join.as_ref()?;
    let parts: Vec<TokenStream> = (0..join.keys.len())
        .map(|i| rust_owned_type(SqlType::non_null(key_ty(plan, i))))
        .collect();
    let key = match parts.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let row = &join.table;
    Some(quote!(#rt::StaticTable<#key, #row>))
}

/// Before the row loop: the table the query was given, from the batch context.
pub(super) fn fetch_table(plan: &PipelinePlan) -> TokenStream {
    let rt = rt();
    let Some(table_ty) = table_type(plan) else {
        return quote!();
    };
    let join = plan.join.as_ref().expect("a join");
    let query = plan.name.to_string();
    let table = join.table.to_string();
    quote! {
        let __table_shared = __ctx.static_table();
        let __table = #rt::table_of::<#table_ty>(&__table_shared, #query, #table)?;
    }
}

/// The JoinTable impl and the statement that hands the table to the batch context.
pub(crate) struct JoinItems {
    /// The query struct's field holding the hashed table.
    pub(crate) field: TokenStream,
    pub(crate) init: TokenStream,
    pub(crate) items: TokenStream,
    /// First statement of `process` / `run_batch`: the table into the batch context.
    pub(crate) enter: TokenStream,
}

/// What a query with a join adds to its struct and impls.
pub(crate) fn join_items(plan: &PipelinePlan) -> JoinItems {
    let rt = rt();
    let (Some(join), Some(table_ty)) = (plan.join.as_ref(), table_type(plan)) else {
        return JoinItems {
            field: quote!(),
            init: quote!(),
            items: quote!(),
            enter: quote!(),
        };
    };
    let name = &plan.name;
    let row = &join.table;
    // The key of a table row, `None` when a key column is null (such a row never matches).
    let parts: Vec<TokenStream> = join
        .keys
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            let column = &join.columns[*c];
            let field = &column.field;
            let value = if column.ty.ty.is_copy() {
                quote!(__r.#field)
            } else {
                quote!(::core::clone::Clone::clone(&__r.#field))
            };
            let value = if column.ty.nullable {
                quote!(#value?)
            } else {
                value
            };
            widen(value, column.ty.ty, key_ty(plan, i))
        })
        .collect();
    // A single nullable key column is the `Option` itself.
    let single_nullable = match join.keys.as_slice() {
        [(_, c)] => join.columns[*c].ty.nullable,
        _ => false,
    };
    let key = match parts.as_slice() {
        [_] if single_nullable => {
            let column = &join.columns[join.keys[0].1];
            let field = &column.field;
            if column.ty.ty != key_ty(plan, 0) {
                quote!(::core::option::Option::map(__r.#field, <i64 as ::core::convert::From<i32>>::from))
            } else if column.ty.ty.is_copy() {
                quote!(__r.#field)
            } else {
                quote!(::core::clone::Clone::clone(&__r.#field))
            }
        }
        [one] => quote!(::core::option::Option::Some(#one)),
        many => quote!(::core::option::Option::Some((#(#many),*))),
    };
    JoinItems {
        field: quote!(
            __table: ::core::option::Option<::std::sync::Arc<#table_ty>>,
            __reload: ::core::option::Option<#rt::TableReload>,
        ),
        init: quote!(
            __table: ::core::option::Option::None,
            __reload: ::core::option::Option::None,
        ),
        items: quote! {
            #[automatically_derived]
            impl #rt::JoinTable for #name {
                type TableRow = #row;
                type Table = #table_ty;

                fn hash_table(rows: ::std::vec::Vec<#row>) -> #table_ty {
                    #rt::StaticTable::build(rows, |__r: &#row| #key)
                }

                fn set_table(&mut self, table: ::std::sync::Arc<#table_ty>) {
                    self.__table = ::core::option::Option::Some(table);
                }

                fn set_reload(&mut self, reload: #rt::TableReload) {
                    self.__reload = ::core::option::Option::Some(reload);
                }

                fn reload_mut(&mut self) -> ::core::option::Option<&mut #rt::TableReload> {
                    self.__reload.as_mut()
                }
            }
        },
        enter: quote! {
            #rt::refresh_table(self, __ctx.batch_id())?;
            __ctx.set_static_table(
                self.__table
                    .clone()
                    .map(|__t| __t as ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync>),
            );
        },
    }
}

/// Reads column `c` of the match (`__match`: the row, or for `padded` an `Option` of it).
pub(super) fn column(c: &TableColumn, padded: bool) -> TokenStream {
    let field = &c.field;
    let read = |base: TokenStream| match (c.ty.ty, c.ty.nullable) {
        (Ty::Str, false) => quote!(#base.#field.as_str()),
        (Ty::StrArray | Ty::Binary | Ty::Headers, false) => quote!(#base.#field.as_slice()),
        (Ty::Str | Ty::StrArray | Ty::Binary | Ty::Headers, true) => {
            quote!(#base.#field.as_deref())
        }
        _ => quote!(#base.#field),
    };
    if !padded {
        return read(quote!(__match));
    }
    let inner = read(quote!(__m));
    if c.ty.nullable {
        quote!(::core::option::Option::and_then(__match, |__m| #inner))
    } else {
        quote!(::core::option::Option::map(__match, |__m| #inner))
    }
}

/// Opens the join's loop: probes the table with the row's key and iterates the matches.
pub(super) fn open(body: &mut Body<'_, '_>) {
    let rt = rt();
    let g = body.g;
    let plan = g.plan;
    let join = plan.join.as_ref().expect("a join");

    // The key's parts as views; a null part probes nothing.
    let mut nullable = Vec::new();
    let mut parts = Vec::new();
    for (i, (slot, _)) in join.keys.iter().enumerate() {
        body.materialize(*slot);
        let ty = plan.slot(*slot).ty;
        let to = key_ty(plan, i);
        let local = g.slot_ident(*slot);
        let view = g.view(&Code {
            ts: quote!(#local),
            ty,
            owned: g.slot_owned(*slot),
        });
        if ty.nullable {
            let part = quote::format_ident!("__key_{}", parts.len());
            nullable.push((part.clone(), view));
            parts.push(widen(quote!(#part), ty.ty, to));
        } else {
            parts.push(widen(view, ty.ty, to));
        }
    }
    let probe = match parts.as_slice() {
        [one] if key_ty(plan, 0) == Ty::Str => quote!(__table.probe(#one)),
        [one] => quote!(__table.probe(&#one)),
        many => quote!(__table.probe(&#rt::KeyRef((#(#many),*)))),
    };
    let probe = if nullable.is_empty() {
        probe
    } else {
        let locals = nullable.iter().map(|(l, _)| l);
        let views = nullable.iter().map(|(_, v)| v);
        quote! {
            match (#(#views,)*) {
                (#(::core::option::Option::Some(#locals),)*) => #probe,
                _ => &[],
            }
        }
    };
    body.push(quote!(let __matches: &[_] = #probe;));

    // A left outer join's condition decides which rows match; it reads the matching row's
    // columns, bound in its closure.
    let matches = match &join.condition {
        None => quote!(__matches.iter()),
        Some(cond) => {
            let mut deps = Vec::new();
            cond.for_each_slot(&mut |s| deps.push(s));
            let mut bind = TokenStream::new();
            for d in deps {
                match plan.slot(d).def {
                    SlotDef::Joined { column, .. } => {
                        let local = g.slot_ident(d);
                        let value = self::column(&join.columns[column], false);
                        bind.extend(quote!(let #local = #value;));
                    }
                    _ => body.materialize(d),
                }
            }
            let code = g.expr(cond);
            let test = g.truthy(&code);
            let row = &join.table;
            quote!(::core::iter::Iterator::filter(__matches.iter(), |__match: &&#row| { #bind #test }))
        }
    };
    let header = match join.kind {
        JoinType::Inner => quote!(for __match in #matches),
        JoinType::LeftOuter => quote!(for __match in #rt::padded(#matches)),
    };
    body.open_loop(header);
}
