//! Stand-ins for schemas and queries that failed to check.
//!
//! The build fails anyway (the errors are emitted beside these items), but without the items
//! every use of the failed names in the user's code would add a "cannot find type" error, and a
//! `.output_mode(...)` on them an unsatisfied bound. So each failed item still gets a type of
//! the same name that implements the same traits, with bodies that never run.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::paths::rt;
use super::row::{RowField, row_struct};
use crate::check::{FailedQuery, FailedSchema};
use crate::plan::{ContinuousRejection, ModeRejection};

/// A schema's row struct with the fields as written, and a `Row` impl that is never called.
pub(crate) fn schema(s: &FailedSchema) -> TokenStream {
    let rt = rt();
    let FailedSchema {
        attrs,
        vis,
        name,
        fields,
    } = s;
    let fields = fields
        .iter()
        .map(|(attrs, ident, ty)| quote!(#(#attrs)* pub #ident: #ty,));
    let message = format!("`{name}` has errors");
    // Hand-written impls: derives would require the traits of field types the schema rejected.
    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#fields)*
        }

        impl ::core::clone::Clone for #name {
            fn clone(&self) -> Self {
                ::core::unreachable!(#message)
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#message)
            }
        }

        impl #rt::Row for #name {
            const SCHEMA: #rt::Schema = #rt::Schema::new(&[]);

            fn to_values(&self) -> ::std::vec::Vec<#rt::Value> {
                ::core::unreachable!(#message)
            }

            fn from_values(
                _: ::std::vec::Vec<#rt::Value>,
            ) -> ::core::result::Result<Self, #rt::RowError> {
                ::core::unreachable!(#message)
            }
        }
    }
}

/// A pipeline struct and its row struct with the columns that could be typed, supporting every
/// output mode and continuous processing (the real rules are decided once the query checks).
pub(crate) fn query(q: &FailedQuery) -> TokenStream {
    let rt = rt();
    let FailedQuery {
        name,
        vis,
        docs,
        input,
        columns,
        table,
        streams,
    } = q;
    // A stream-stream join's stand-in reads two sources, as the query would.
    let (input, read_streams) = match streams {
        Some((left, right)) => {
            let (left, right) = (
                super::paths::input_row(left),
                super::paths::input_row(right),
            );
            (
                quote!(#rt::Sided<#left, #right>),
                quote! {
                    impl #rt::ReadStreams for #name {
                        type LeftInput = #left;
                        type RightInput = #right;
                    }
                },
            )
        }
        None => (super::paths::input_row(input), quote!()),
    };
    // A query joining a declared table can still be given its rows.
    let join_table = table.as_ref().map(|table| {
        quote! {
            impl #rt::JoinTable for #name {
                type TableRow = #table;
                type Table = ();
                fn hash_table(_: ::std::vec::Vec<#table>) {}
                fn set_table(&mut self, _: ::std::sync::Arc<()>) {}
            }
        }
    });
    let row_name = format_ident!("{}Row", name);
    let query_name = name.to_string();
    let message = format!("the `{name}` query has errors");
    let supports = ModeRejection::ALL.map(super::pipeline::rule_trait);
    let continuous = ContinuousRejection::ALL.map(super::pipeline::continuous_rule_trait);
    let fields: Vec<RowField<'_>> = columns
        .iter()
        .map(|(ident, name, ty)| RowField {
            ident,
            name,
            ty: *ty,
            attrs: &[],
        })
        .collect();
    let row = row_struct(&row_name, vis, &[], &fields);
    quote! {
        #(#docs)*
        #[derive(::core::default::Default, ::core::fmt::Debug)]
        #vis struct #name {}

        #row

        impl #name {
            /// A fresh instance of the pipeline.
            #vis fn new() -> Self {
                #name {}
            }
        }

        impl #rt::Pipeline for #name {
            type Input = #input;
            type Output = #row_name;

            const INFO: #rt::PipelineInfo = #rt::PipelineInfo {
                name: #query_name,
                kind: #rt::PipelineKind::Stateless,
                watermarks: &[],
                unsupported_modes: &[],
                fingerprint: 0,
                plan: "",
                has_scan_filters: false,
                input_columns: ::core::option::Option::None,
            };

            fn process(
                &mut self,
                _: &[#input],
                _: &mut #rt::BatchContext,
                _: &mut ::std::vec::Vec<#row_name>,
            ) -> ::core::result::Result<(), #rt::Error> {
                ::core::unreachable!(#message)
            }
        }

        #(impl #rt::#supports for #name {})*
        #(impl #rt::#continuous for #name {})*

        #join_table

        #read_streams
    }
}
