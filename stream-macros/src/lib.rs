//! The `pipeline!` compiler of Sluice.
//!
//! A `pipeline!` block declares input schemas and streaming queries in a small DSL modelled on
//! Spark Structured Streaming's DataFrame API. This crate compiles it, at build time, into plain
//! Rust: a typed row struct per query and a pipeline struct implementing the runtime's
//! `Pipeline` trait, with state in hash maps keyed by the exact group key.
//!
//! The compiler has four stages, one module each:
//!
//! - `parse`: tokens to a syntax tree with spans, nothing else;
//! - `check`: name resolution across chained queries, Spark SQL typing, streaming rules
//!   (watermark, windows, aggregation, output modes), producing a `plan`;
//! - `optimize`: semantics-preserving rewrites of the plan (cheaper group keys);
//! - `codegen`: the plan to Rust items, naming the runtime only through `::sluice::__private`.
//!
//! Errors from every stage are collected (`diagnostics`) and reported together, each spanned
//! on the offending tokens. Use the macro through the `sluice` crate. The DSL reference is
//! `docs/dsl.md` in the repository.

#![forbid(unsafe_code)]

mod check;
mod codegen;
mod diagnostics;
mod expand;
mod functions;
mod optimize;
mod parse;
mod plan;

/// Compiles a streaming pipeline: schemas and queries in Sluice's DSL, into a row struct and a
/// pipeline struct per query. The DSL reference (grammar, typing rules, functions, output-mode
/// rules) is [`docs/dsl.md`](https://github.com/sluice-rs/sluice/blob/main/docs/dsl.md).
#[proc_macro]
pub fn pipeline(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::pipeline(input.into()).into()
}
