//! Code generation: the checked plan to Rust items. The only stage that writes runtime paths
//! (through [`paths::rt`]); it trusts the plan and never re-validates.

mod aggregate;
mod decode;
mod dedup;
mod emit;
pub(crate) mod expr;
mod generate;
mod group_values;
mod input_columns;
mod join;
pub(crate) mod paths;
mod pipeline;
mod prefix;
mod row;
pub(crate) mod rust_type;
mod session;
mod stateless;
mod stream_join;
mod stub;

use proc_macro2::TokenStream;
use quote::quote;

use crate::check::Checked;

/// Every item for the checked program.
pub(crate) fn generate(checked: &Checked) -> TokenStream {
    let mut out = TokenStream::new();
    for schema in &checked.schemas {
        let fields: Vec<row::RowField<'_>> = schema
            .fields
            .iter()
            .map(|f| row::RowField {
                ident: &f.ident,
                name: &f.name,
                ty: f.ty,
                attrs: &f.attrs,
            })
            .collect();
        out.extend(row::row_struct(
            &schema.name,
            &schema.vis,
            &schema.attrs,
            &fields,
        ));
    }
    for plan in &checked.pipelines {
        out.extend(pipeline::pipeline(plan));
    }
    for schema in &checked.failed_schemas {
        out.extend(stub::schema(schema));
    }
    for query in &checked.failed_queries {
        out.extend(stub::query(query));
    }
    quote!(#out)
}
