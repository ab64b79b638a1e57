//! A query without aggregation: one loop that runs the fused prefix and pushes each row that
//! passes as an output row (the runtime's `StatelessQuery::map`, run on every input partition
//! by `run_stateless`), and, for a global `limit`, the runtime's limit state.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::paths::rt;
use super::prefix::{Prefix, output_row};
use crate::plan::PipelinePlan;

/// The pieces of a stateless pipeline: its struct fields and initialisers, the items beside it
/// (its `StatelessQuery` impl: the row loop) and the items of its `Pipeline` impl after the
/// associated types.
pub(crate) struct Stateless {
    pub(crate) fields: TokenStream,
    pub(crate) init: TokenStream,
    pub(crate) items: TokenStream,
    pub(crate) methods: TokenStream,
}

pub(crate) fn stateless(
    plan: &PipelinePlan,
    prefix: Prefix<'_, '_>,
    row_name: &Ident,
) -> Stateless {
    let rt = rt();
    let query = &plan.name;
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
    // Rows past a limit's room are not computed (Spark's local limit); without a limit there
    // is nothing to check.
    let (start, limit_check, room_arg) = if plan.limit.is_some() {
        (
            quote!(let __start = __out.len();),
            quote!(if __out.len() - __start >= __room {
                break;
            }),
            quote!(__room),
        )
    } else {
        (quote!(), quote!(), quote!(_))
    };
    let map = quote! {
        #[automatically_derived]
        impl #rt::StatelessQuery for #query {
            type Input = #input_ty;
            type Output = #row_name;

            #[inline]
            fn map(
                __input: &[#input_ty],
                __ctx: &mut #rt::BatchContext,
                __out: &mut ::std::vec::Vec<#row_name>,
                #room_arg: usize,
            ) -> ::core::result::Result<(), #rt::Error> {
                #before
                #reserve
                #start
                for __row in __input {
                    #limit_check
                    #row_loop
                    __out.push(#row);
                }
                #after
                ::core::result::Result::Ok(())
            }
        }
    };
    let signatures = quote! {
        fn process(
            &mut self,
            __input: &[#input_ty],
            __ctx: &mut #rt::BatchContext,
            __out: &mut ::std::vec::Vec<#row_name>,
        ) -> ::core::result::Result<(), #rt::Error>
    };
    let run_batch = quote! {
        fn run_batch(
            &mut self,
            __input: #rt::BatchInput<#input_ty>,
            __ctx: &mut #rt::BatchContext,
            __out: &mut ::std::vec::Vec<#row_name>,
            __exec: &#rt::Executor,
        ) -> ::core::result::Result<u64, #rt::Error>
    };
    match plan.limit {
        None => Stateless {
            fields: quote!(),
            init: quote!(),
            items: map,
            methods: quote! {
                #[inline]
                #signatures {
                    <Self as #rt::StatelessQuery>::map(__input, __ctx, __out, usize::MAX)
                }

                #run_batch {
                    #rt::run_stateless::<Self>(__input, __ctx, __out, __exec, ::core::option::Option::None)
                }
            },
        },
        Some(limit) => {
            let (n, span) = (limit.rows, limit.span.generated());
            Stateless {
                fields: quote!(limit: #rt::GlobalLimit,),
                init: quote_spanned!(span=> limit: #rt::GlobalLimit::new(#n),),
                items: map,
                methods: quote! {
                    #signatures {
                        let __start = __out.len();
                        <Self as #rt::StatelessQuery>::map(__input, __ctx, __out, self.limit.room())?;
                        self.limit.apply(__out, __start);
                        ::core::result::Result::Ok(())
                    }

                    #run_batch {
                        #rt::run_stateless::<Self>(
                            __input,
                            __ctx,
                            __out,
                            __exec,
                            ::core::option::Option::Some(&mut self.limit),
                        )
                    }

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
