//! Sluice: Spark Structured Streaming's programming model, compiled.
//!
//! Write a streaming pipeline in the `pipeline!` DSL; the macro expands it at build time into
//! monomorphized Rust structs with specialised hash-map state and window logic, and the runtime
//! drives them with triggers, watermarks, output modes, sources, sinks and checkpoints.

#![forbid(unsafe_code)]

pub use stream_macros::pipeline;
pub use stream_runtime::*;

/// The items most programs need.
pub mod prelude {
    pub use stream_macros::pipeline;
    pub use stream_runtime::pipeline::{Append, Complete, OutputMode, Pipeline, Update};
    pub use stream_runtime::row::{RateRow, Row, TextLine};
    pub use stream_runtime::time::{Timestamp, Window};
}

#[doc(hidden)]
pub use stream_runtime::__private;
