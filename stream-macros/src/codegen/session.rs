//! The spec of a session-window aggregation: the `SessionQuery` impl the runtime's
//! session operator runs. It shares the aggregation's pieces (the key and accumulator structs,
//! the row loop that feeds them, the emission of a row): only the state's key leaves the
//! session out, the loop asks for `session(key, ts)` instead of `group(key)`, and a row is late
//! when its own session `[ts, ts + gap)` ended before the previous watermark.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::aggregate::{StateTypes, feed_groups, state_types};
use super::emit::emit;
use super::expr::ExprGen;
use super::paths::rt;
use super::prefix::Prefix;
use crate::plan::{KeyRepr, PipelinePlan};

/// The state types and the `SessionQuery` impl of a session-window aggregation.
pub(crate) fn session_query(
    plan: &PipelinePlan,
    g: &ExprGen<'_>,
    prefix: Prefix<'_, '_>,
    row_name: &Ident,
) -> TokenStream {
    let rt = rt();
    let agg = plan.aggregate.as_ref().expect("aggregation");
    let (_, _, gap) = agg.session().expect("a session window");
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
    let evicts = agg
        .event_time_key
        .is_some_and(|i| matches!(agg.keys[i].repr, KeyRepr::Session { .. }));
    let evicts = if evicts {
        quote!(
            const EVICTS: bool = true;
        )
    } else {
        quote!()
    };
    let (emit, compare) = emit(plan, g, &t, row_name);
    let limit = super::aggregate::limit_const(plan);
    let map = super::aggregate::map_fn(
        quote!(SessionSink),
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
        impl #rt::SessionQuery for #name {
            type Input = #input_ty;
            type Output = #row_name;
            type Key = #key_name;
            type Acc = #acc_name;

            const GAP: i64 = #gap;
            #evicts
            #limit
            #compare

            #map

            #emit
        }
    }
}
