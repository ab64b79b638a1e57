//! The one place that names the runtime: generated code reaches every runtime item through
//! the facade's hidden module, so a user depends on `sluice` alone.

use proc_macro2::TokenStream;
use quote::quote;

use crate::plan::{BuiltinSource, InputRow};

/// `::sluice::__private`.
pub(crate) fn rt() -> TokenStream {
    quote!(::sluice::__private)
}

/// The Rust type of the rows a pipeline reads.
pub(crate) fn input_row(row: &InputRow) -> TokenStream {
    let rt = rt();
    match row {
        InputRow::Builtin(BuiltinSource::Rate) => quote!(#rt::RateRow),
        InputRow::Builtin(BuiltinSource::TextLine) => quote!(#rt::TextLine),
        InputRow::Builtin(BuiltinSource::Kafka) => quote!(#rt::KafkaRow),
        InputRow::Schema(name) | InputRow::Joined(name) => quote!(#name),
    }
}
