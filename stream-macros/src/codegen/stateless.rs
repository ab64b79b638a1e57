//! A query without aggregation: one loop that runs the fused prefix and pushes each row that
//! passes as an output row (the runtime's `StatelessQuery::map`, run on every input partition
//! by `run_stateless`); the runtime's state of a `drop duplicates` (the keys seen) and of a
//! global `limit` (the rows emitted).
//!
//! A deduplication's loop is the runtime's `DedupQuery::map`, asking the `SeenKeys` it is given
//! (`__dedup`); `Deduplication::run_batch` runs it on one thread or on every worker for the
//! keys of its state partitions. With a `limit` after it, the rows a batch emits depend on
//! their order, so that query reads its partitions in order on one thread (the `Pipeline`
//! trait's default `run_batch`); see docs/parallelism.md.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::dedup::{DedupTypes, dedup_types};
use super::paths::rt;
use super::pipeline::{partitioned_methods, state_methods};
use super::prefix::{Prefix, output_row};
use crate::plan::PipelinePlan;

/// The pieces of a stateless pipeline: its struct fields and initialisers, the items of its
/// `Pipeline` impl after the associated types, and the items beside it (its `StatelessQuery`
/// impl, or a deduplication's key types).
pub(crate) struct Stateless {
    pub(crate) fields: TokenStream,
    pub(crate) init: TokenStream,
    pub(crate) methods: TokenStream,
    pub(crate) items: TokenStream,
}

pub(crate) fn stateless(
    plan: &PipelinePlan,
    prefix: Prefix<'_, '_>,
    row_name: &Ident,
    enter: &TokenStream,
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
    body.push(quote!(__out.push(#row);));
    let row_loop = body.finish();
    // Without filters every input row gives one output row: size the output once. With
    // filters (or a generator, a join, a deduplication), reserving for every input row would
    // over-allocate (and fault in pages never used), so the vector grows as rows pass.
    let one_to_one = plan.filters.is_empty()
        && plan.generators.is_empty()
        && plan.join.is_none()
        && plan.dedup.is_none();
    let reserve = if one_to_one && plan.limit.is_none() {
        quote!(__out.reserve(__input.len());)
    } else {
        quote!()
    };
    // The deduplication's row loop, given the state's view. A `limit` after it does not stop
    // the loop: Spark's streaming local limit consumes its whole input, so the keys of the rows
    // it does not emit are remembered all the same.
    let dedup_map = |entry: &TokenStream| {
        quote! {
            #[automatically_derived]
            impl #rt::DedupQuery for #query {
                type Input = #input_ty;
                type Output = #row_name;
                type Entry = #entry;

                #[inline]
                fn map(
                    __input: &[#input_ty],
                    __ctx: &mut #rt::BatchContext,
                    __dedup: &mut #rt::SeenKeys<'_, #entry>,
                    __out: &mut ::std::vec::Vec<#row_name>,
                ) -> ::core::result::Result<(), #rt::Error> {
                    #before
                    for __row in __input {
                        #row_loop
                    }
                    #after
                    ::core::result::Result::Ok(())
                }
            }
        }
    };
    let dedup_process = |limit_apply: Option<TokenStream>| {
        let start = limit_apply
            .as_ref()
            .map(|_| quote!(let __start = __out.len();));
        quote! {
            fn process(
                &mut self,
                __input: &[#input_ty],
                __ctx: &mut #rt::BatchContext,
                __out: &mut ::std::vec::Vec<#row_name>,
            ) -> ::core::result::Result<(), #rt::Error> {
                #enter
                #start
                let mut __dedup = self.dedup.batch(__ctx);
                let __result = <Self as #rt::DedupQuery>::map(__input, __ctx, &mut __dedup, __out);
                __dedup.report(__ctx);
                __result?;
                #limit_apply
                ::core::result::Result::Ok(())
            }
        }
    };
    // Without a deduplication the row loop is the runtime's `StatelessQuery::map`, run on every
    // input partition. Rows past a limit's room are not computed (Spark's local limit).
    let (map_start, map_check, room_arg) = if plan.limit.is_some() {
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
                #map_start
                for __row in __input {
                    #map_check
                    #row_loop
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
    match (plan.dedup.is_some(), plan.limit) {
        (false, None) => Stateless {
            fields: quote!(),
            init: quote!(),
            items: map,
            methods: quote! {
                #[inline]
                #signatures {
                    #enter
                    <Self as #rt::StatelessQuery>::map(__input, __ctx, __out, usize::MAX)
                }

                #run_batch {
                    #enter
                    #rt::run_stateless::<Self>(__input, __ctx, __out, __exec, ::core::option::Option::None)
                }
            },
        },
        (false, Some(limit)) => {
            let (n, span) = (limit.rows, limit.span.generated());
            let limit_state = state_methods("limit", false, None);
            Stateless {
                fields: quote!(limit: #rt::GlobalLimit,),
                init: quote_spanned!(span=> limit: #rt::GlobalLimit::new(#n),),
                items: map,
                methods: quote! {
                    #signatures {
                        #enter
                        let __start = __out.len();
                        <Self as #rt::StatelessQuery>::map(__input, __ctx, __out, self.limit.room())?;
                        self.limit.apply(__out, __start);
                        ::core::result::Result::Ok(())
                    }

                    #run_batch {
                        #enter
                        #rt::run_stateless::<Self>(
                            __input,
                            __ctx,
                            __out,
                            __exec,
                            ::core::option::Option::Some(&mut self.limit),
                        )
                    }

                    #limit_state
                },
            }
        }
        (true, limit) => {
            let types = DedupTypes::of(plan);
            let entry = &types.entry;
            let items = dedup_types(plan, &types);
            let map = dedup_map(entry);
            let items = quote!(#items #map);
            let (methods, limit_field, limit_init) = match limit {
                Some(limit) => {
                    let (n, span) = (limit.rows, limit.span.generated());
                    (
                        dedup_process(Some(quote!(self.limit.apply(__out, __start);))),
                        quote!(limit: #rt::GlobalLimit,),
                        quote_spanned!(span=> limit: #rt::GlobalLimit::new(#n),),
                    )
                }
                // Without a limit the keys are partitioned and the batch runs on every worker.
                None => {
                    let process = dedup_process(None);
                    let partitioned = partitioned_methods(
                        "dedup",
                        quote!(run_batch::<Self>),
                        &input_ty,
                        row_name,
                        enter,
                    );
                    (quote!(#process #partitioned), quote!(), quote!())
                }
            };
            // A `limit` after the deduplication: both states in one snapshot.
            let parts = limit.is_some().then(|| {
                (
                    quote!(#rt::encode_parts(&[self.dedup.snapshot()?, self.limit.snapshot()?])),
                    quote! {
                        let __parts = #rt::decode_parts(bytes, 2)?;
                        self.dedup.restore(&__parts[0])?;
                        self.limit.restore(&__parts[1])
                    },
                )
            });
            let dedup_state = state_methods("dedup", true, parts);
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

                    #dedup_state
                },
                items,
            }
        }
    }
}
