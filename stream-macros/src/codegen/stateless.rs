//! A query without aggregation: one loop that runs the fused prefix and pushes each row that
//! passes as an output row, and, for a global `limit`, the runtime's limit state.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::paths::rt;
use super::prefix::{Prefix, output_row};
use crate::plan::PipelinePlan;

/// The pieces of a stateless pipeline: its struct fields and initialisers, and the items of its
/// `Pipeline` impl after the associated types.
pub(crate) struct Stateless {
    pub(crate) fields: TokenStream,
    pub(crate) init: TokenStream,
    pub(crate) methods: TokenStream,
}

pub(crate) fn stateless(
    plan: &PipelinePlan,
    prefix: Prefix<'_, '_>,
    row_name: &Ident,
) -> Stateless {
    let rt = rt();
    let input_ty = super::paths::input_row(&plan.input.row);
    let Prefix {
        mut body,
        before,
        after,
        ..
    } = prefix;
    let row = output_row(&mut body, row_name);
    let row_loop = body.ts;
    // Without filters every input row gives one output row: size the output once. With
    // filters, reserving for every input row would over-allocate (and fault in pages never
    // used), so the vector grows as rows pass.
    let reserve = if plan.filters.is_empty() && plan.limit.is_none() {
        quote!(__out.reserve(__input.len());)
    } else {
        quote!()
    };
    let process = |limit_check: TokenStream, limit_apply: TokenStream| {
        quote! {
            fn process(
                &mut self,
                __input: &[#input_ty],
                __ctx: &mut #rt::BatchContext,
                __out: &mut ::std::vec::Vec<#row_name>,
            ) -> ::core::result::Result<(), #rt::Error> {
                #before
                #reserve
                let __start = __out.len();
                for __row in __input {
                    #limit_check
                    #row_loop
                    __out.push(#row);
                }
                #limit_apply
                let _ = __start;
                #after
                ::core::result::Result::Ok(())
            }
        }
    };
    match plan.limit {
        None => Stateless {
            fields: quote!(),
            init: quote!(),
            methods: process(quote!(), quote!()),
        },
        Some(limit) => {
            let (n, span) = (limit.rows, limit.span.generated());
            let methods = process(
                // Rows past the limit are not computed.
                quote!(if self.limit.is_reached_with(__out.len() - __start) {
                    break;
                }),
                quote!(self.limit.apply(__out, __start);),
            );
            Stateless {
                fields: quote!(limit: #rt::GlobalLimit,),
                init: quote_spanned!(span=> limit: #rt::GlobalLimit::new(#n),),
                methods: quote! {
                    #methods

                    fn state_rows(&self) -> usize {
                        self.limit.state_rows()
                    }

                    fn snapshot_state(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::Error> {
                        self.limit.snapshot()
                    }

                    fn restore_state(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #rt::Error> {
                        self.limit.restore(bytes)
                    }
                },
            }
        }
    }
}
