//! Row structs: one per declared schema and one per query output, each with `Row` (schema and
//! value conversions, rows from typed columns), `Debug`, `Clone`, `PartialEq` and serde.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::paths::rt;
use super::rust_type::rust_owned_type;
use crate::plan::{SqlType, Ty};

/// A column of a generated row struct.
pub(crate) struct RowField<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) name: &'a str,
    pub(crate) ty: SqlType,
    pub(crate) attrs: &'a [syn::Attribute],
}

fn data_type(ty: Ty) -> TokenStream {
    let rt = rt();
    let v = match ty {
        Ty::Bool | Ty::Null => quote!(Boolean),
        Ty::Int => quote!(Int),
        Ty::Long => quote!(Long),
        Ty::Double => quote!(Double),
        Ty::Str => quote!(String),
        Ty::Timestamp => quote!(Timestamp),
        Ty::Window => quote!(Window),
        Ty::StrArray => quote!(StringArray),
        Ty::Binary => quote!(Binary),
        Ty::Headers => quote!(Headers),
    };
    quote!(#rt::DataType::#v)
}

/// The struct and its `Row` impl.
pub(crate) fn row_struct(
    name: &Ident,
    vis: &syn::Visibility,
    docs: &[syn::Attribute],
    fields: &[RowField<'_>],
) -> TokenStream {
    let rt = rt();
    let field_defs = fields.iter().map(|f| {
        let ident = f.ident;
        let ty = rust_owned_type(f.ty);
        let attrs = f.attrs;
        let doc = format!(" `{}`: {}.", f.name, f.ty.describe());
        let doc = if attrs.iter().any(|a| a.path().is_ident("doc")) {
            quote!()
        } else {
            quote!(#[doc = #doc])
        };
        quote!(#(#attrs)* #doc pub #ident: #ty,)
    });
    let schema_fields = fields.iter().map(|f| {
        let name = f.name;
        let dt = data_type(f.ty.ty);
        let nullable = f.ty.nullable;
        quote!(#rt::Field::new(#name, #dt, #nullable))
    });
    let count = fields.len();
    let to_values = fields.iter().map(|f| {
        let ident = f.ident;
        quote!(#rt::ColumnType::to_value(&self.#ident))
    });
    let from_values = fields.iter().map(|f| {
        let ident = f.ident;
        let name = f.name;
        quote!(#ident: #rt::take_column(&mut __values, #name)?,)
    });
    let readers = fields.iter().enumerate().map(|(i, f)| {
        let name = f.name;
        let ty = rust_owned_type(f.ty);
        let reader = quote::format_ident!("__c{}", i);
        quote!(let mut #reader = #rt::column_reader::<#ty>(&mut __columns, #name)?;)
    });
    let cells = fields.iter().enumerate().map(|(i, f)| {
        let ident = f.ident;
        let reader = quote::format_ident!("__c{}", i);
        quote!(#ident: #rt::ColumnReader::get(&mut #reader, __i),)
    });
    let default_doc = if docs.is_empty() {
        let doc = format!(" A row of `{name}`.");
        quote!(#[doc = #doc])
    } else {
        quote!()
    };
    quote! {
        #(#docs)*
        #default_doc
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq, #rt::serde::Serialize, #rt::serde::Deserialize)]
        #[serde(crate = "::sluice::__private::serde")]
        #vis struct #name {
            #(#field_defs)*
        }

        #[automatically_derived]
        impl #rt::Row for #name {
            const SCHEMA: #rt::Schema = {
                const FIELDS: &[#rt::Field] = &[#(#schema_fields),*];
                #rt::Schema::new(FIELDS)
            };

            fn to_values(&self) -> ::std::vec::Vec<#rt::Value> {
                ::std::vec![#(#to_values),*]
            }

            fn from_values(values: ::std::vec::Vec<#rt::Value>) -> ::core::result::Result<Self, #rt::RowError> {
                #rt::check_arity(&values, #count)?;
                let mut __values = values.into_iter();
                ::core::result::Result::Ok(#name { #(#from_values)* })
            }

            fn from_columns(
                columns: #rt::Columns<'_>,
                out: &mut ::std::vec::Vec<Self>,
            ) -> ::core::result::Result<(), #rt::RowError> {
                let __len = columns.len();
                let mut __columns = columns.into_columns();
                let _ = &mut __columns;
                #(#readers)*
                out.reserve(__len);
                for __i in 0..__len {
                    out.push(#name { #(#cells)* });
                }
                ::core::result::Result::Ok(())
            }
        }
    }
}
