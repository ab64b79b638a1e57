//! How a group (or a session) becomes an output row: the statements after the aggregation —
//! its keys and aggregates read back from the state, the filters that follow the aggregation,
//! the output columns — and the `order by` key and comparison it is sorted with. Shared by the
//! aggregation's spec and the session-window spec.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::aggregate::StateTypes;
use super::expr::{Code, ExprGen};
use super::paths::rt;
use super::prefix::{Body, output_row};
use super::rust_type::rust_owned_type;
use crate::plan::PipelinePlan;

/// `emit` and `compare`: a group (or a session) as an output row (after the filters that follow
/// the aggregation), with the values it is sorted by.
pub(crate) fn emit(
    plan: &PipelinePlan,
    g: &ExprGen<'_>,
    t: &StateTypes,
    row_name: &Ident,
) -> (TokenStream, TokenStream) {
    let rt = rt();
    let StateTypes {
        key: key_name,
        acc: acc_name,
        ..
    } = t;
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
    let comparators = plan.order_by.iter().enumerate().map(|(i, o)| {
        let i = syn::Index::from(i);
        let desc = o.descending;
        let nulls_first = o.nulls_first;
        let span = o.span.generated();
        quote_spanned!(span=> .then_with(|| #rt::functions::order_by(&__a.#i, &__b.#i, #desc, #nulls_first)))
    });
    let compare = if plan.order_by.is_empty() {
        quote!()
    } else {
        quote! {
            const SORTED: bool = true;

            fn compare(__a: &Self::SortKey, __b: &Self::SortKey) -> ::core::cmp::Ordering {
                ::core::cmp::Ordering::Equal #(#comparators)*
            }
        }
    };
    // A session's window is not in the key: the operator passes it.
    let session_param = if plan
        .aggregate
        .as_ref()
        .is_some_and(|a| a.session().is_some())
    {
        quote!(__session: #rt::Window,)
    } else {
        quote!()
    };
    let emit_fn = quote! {
        type SortKey = (#(#sort_types,)*);

        fn emit(
            __key: &#key_name,
            #session_param
            __acc: &#acc_name,
            __ctx: &#rt::BatchContext,
        ) -> ::core::result::Result<::core::option::Option<(#row_name, Self::SortKey)>, #rt::Error> {
            #emit_stmts
            let __sort = (#(#sort_values,)*);
            ::core::result::Result::Ok(::core::option::Option::Some((#row, __sort)))
        }
    };
    (emit_fn, compare)
}
