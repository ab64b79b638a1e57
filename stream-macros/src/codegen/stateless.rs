//! A query without aggregation: one loop that runs the fused prefix and pushes each row that
//! passes as an output row; the runtime's state of a `drop duplicates` (the keys seen) and of a
//! global `limit` (the rows emitted).

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::dedup::{DedupTypes, dedup_types};
use super::paths::rt;
use super::prefix::{Prefix, output_row};
use crate::plan::PipelinePlan;

/// The pieces of a stateless pipeline: its struct fields and initialisers, and the items of its
/// `Pipeline` impl after the associated types.
pub(crate) struct Stateless {
    pub(crate) fields: TokenStream,
    pub(crate) init: TokenStream,
    pub(crate) methods: TokenStream,
    /// Items beside the pipeline: the deduplication's key types.
    pub(crate) items: TokenStream,
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
    body.push(quote!(__out.push(#row);));
    let row_loop = body.finish();
    // Without filters every input row gives one output row: size the output once. With
    // filters (or a generator, or a deduplication), reserving for every input row would
    // over-allocate (and fault in pages never used), so the vector grows as rows pass.
    let one_to_one = plan.filters.is_empty() && plan.generators.is_empty() && plan.dedup.is_none();
    let reserve = if one_to_one && plan.limit.is_none() {
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
                }
                #limit_apply
                let _ = __start;
                #after
                ::core::result::Result::Ok(())
            }
        }
    };
    let limit_process = |limit: crate::plan::Limit| {
        // Rows past the limit are not computed, unless a deduplication before the limit must
        // still see them: Spark's streaming local limit consumes its whole input, so the keys
        // of the rows it does not emit are remembered all the same.
        let stop = if plan.dedup.is_some() {
            quote!()
        } else {
            quote!(if self.limit.is_reached_with(__out.len() - __start) {
                break;
            })
        };
        let methods = process(stop, quote!(self.limit.apply(__out, __start);));
        let (n, span) = (limit.rows, limit.span.generated());
        (
            methods,
            quote!(limit: #rt::GlobalLimit,),
            quote_spanned!(span=> limit: #rt::GlobalLimit::new(#n),),
        )
    };
    match (plan.dedup.is_some(), plan.limit) {
        (false, None) => Stateless {
            fields: quote!(),
            init: quote!(),
            methods: process(quote!(), quote!()),
            items: quote!(),
        },
        (false, Some(limit)) => {
            let (methods, fields, init) = limit_process(limit);
            Stateless {
                fields,
                init,
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
                items: quote!(),
            }
        }
        (true, limit) => {
            let types = DedupTypes::of(plan);
            let items = dedup_types(plan, &types);
            let entry = &types.entry;
            let (methods, limit_field, limit_init) = match limit {
                Some(limit) => limit_process(limit),
                None => (process(quote!(), quote!()), quote!(), quote!()),
            };
            // A `limit` after the deduplication: both states in one snapshot.
            let (snapshot, restore) = if limit.is_some() {
                (
                    quote!(#rt::encode_parts(&[self.dedup.snapshot()?, self.limit.snapshot()?])),
                    quote! {
                        let __parts = #rt::decode_parts(bytes, 2)?;
                        self.dedup.restore(&__parts[0])?;
                        self.limit.restore(&__parts[1])
                    },
                )
            } else {
                (
                    quote!(self.dedup.snapshot()),
                    quote!(self.dedup.restore(bytes)),
                )
            };
            Stateless {
                fields: quote!(dedup: #rt::Deduplication<#entry>, #limit_field),
                init: quote!(dedup: ::core::default::Default::default(), #limit_init),
                methods: quote! {
                    #methods

                    fn finish_batch(
                        &mut self,
                        __ctx: &mut #rt::BatchContext,
                        __out: &mut ::std::vec::Vec<#row_name>,
                    ) -> ::core::result::Result<(), #rt::Error> {
                        let _ = __out;
                        self.dedup.finish_batch(__ctx);
                        ::core::result::Result::Ok(())
                    }

                    fn state_rows(&self) -> usize {
                        self.dedup.state_rows()
                    }

                    fn state_bytes(&self) -> usize {
                        self.dedup.state_bytes()
                    }

                    fn snapshot_state(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::Error> {
                        #snapshot
                    }

                    fn restore_state(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #rt::Error> {
                        #restore
                    }
                },
                items,
            }
        }
    }
}
