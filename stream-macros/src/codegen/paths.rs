//! The one place that names the runtime: generated code reaches every runtime item through
//! the facade's hidden module, so a user depends on `sluice` alone.

use proc_macro2::TokenStream;
use quote::quote;

/// `::sluice::__private`.
pub(crate) fn rt() -> TokenStream {
    quote!(::sluice::__private)
}
