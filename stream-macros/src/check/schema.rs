//! Declared schemas: each field's Rust type mapped to its Spark type.

use std::collections::HashMap;

use crate::diagnostics::{Errors, SpanRange};
use crate::parse::{self};
use crate::plan::{SqlType, Ty};
use quote::quote;

use super::expr::ident_name;
use super::{SchemaField, SchemaPlan};

/// Maps a schema field's Rust type to its Spark type.
pub(super) fn column_type(ty: &syn::Type) -> Result<SqlType, String> {
    let syn::Type::Path(p) = ty else {
        return Err(unsupported_type(ty));
    };
    let Some(last) = p.path.segments.last() else {
        return Err(unsupported_type(ty));
    };
    let name = last.ident.to_string();
    if name == "Option" || name == "Vec" {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return Err(unsupported_type(ty));
        };
        let Some(syn::GenericArgument::Type(inner)) = args.args.first() else {
            return Err(unsupported_type(ty));
        };
        if name == "Vec" && is_path(inner, "u8") {
            return Ok(SqlType::non_null(Ty::Binary));
        }
        if name == "Vec" && is_path(inner, "Header") {
            return Ok(SqlType::non_null(Ty::Headers));
        }
        let inner_ty = column_type(inner)?;
        if name == "Option" {
            if inner_ty.nullable {
                return Err("nested `Option` is not a column type".into());
            }
            return Ok(SqlType::new(inner_ty.ty, true));
        }
        if inner_ty == SqlType::non_null(Ty::Str) {
            return Ok(SqlType::non_null(Ty::StrArray));
        }
        return Err(unsupported_type(ty));
    }
    let t = match name.as_str() {
        "bool" => Ty::Bool,
        "i32" => Ty::Int,
        "i64" => Ty::Long,
        "f64" => Ty::Double,
        "String" => Ty::Str,
        "Timestamp" => Ty::Timestamp,
        "Window" => Ty::Window,
        _ => return Err(unsupported_type(ty)),
    };
    Ok(SqlType::non_null(t))
}

/// Whether `ty` is a path whose last segment is `name` (`u8`, `sluice::value::Header`).
fn is_path(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name && s.arguments.is_none()))
}

fn unsupported_type(ty: &syn::Type) -> String {
    format!(
        "unsupported column type `{}`; expected bool, i32, i64, f64, String, Timestamp, Window, Vec<String>, Vec<u8>, Vec<Header>, or Option<...> of one of them",
        quote!(#ty).to_string().replace(' ', "")
    )
}

pub(super) fn check_schema(s: &parse::SchemaDef, errors: &Errors) -> Option<SchemaPlan> {
    let mut fields = Vec::new();
    let mut ok = s.complete;
    let mut seen = HashMap::new();
    for f in &s.fields {
        let name = ident_name(&f.name);
        if seen.insert(name.clone(), ()).is_some() {
            errors.error(
                SpanRange::single(f.name.span()),
                format!("duplicate column `{name}`"),
            );
            ok = false;
        }
        match column_type(&f.ty) {
            Ok(ty) => fields.push(SchemaField {
                attrs: f.attrs.clone(),
                ident: f.name.clone(),
                name,
                ty,
            }),
            Err(msg) => {
                errors.error(SpanRange::of(&f.ty), msg);
                ok = false;
            }
        }
    }
    if s.fields.is_empty() && s.complete {
        errors.error(
            SpanRange::single(s.name.span()),
            "a schema needs at least one column",
        );
        ok = false;
    }
    ok.then(|| SchemaPlan {
        attrs: s.attrs.clone(),
        vis: s.vis.clone(),
        name: s.name.clone(),
        fields,
    })
}
