//! The micro-batch runtime of Sluice: it drives the pipelines `pipeline!` generates with Spark
//! Structured Streaming's semantics and vocabulary.
//!
//! Modules, from the bottom up (each depends only on those above it):
//!
//! - [`time`]: event time ([`time::Timestamp`], µs since the epoch), windows, intervals;
//! - [`value`]: Spark types at the edges ([`value::DataType`], [`value::Schema`],
//!   [`value::Value`]) and the Rust type of each column ([`value::ColumnType`]);
//! - [`error`]: the [`Error`] type, with Spark's error classes;
//! - [`row`]: the [`row::Row`] trait and the built-in source rows;
//! - [`functions`]: Spark SQL scalar semantics (ANSI arithmetic, NaN ordering, casts, strings,
//!   time) called by generated code;
//! - [`state`]: per-group accumulators and the state map;
//! - [`pipeline`]: the [`Pipeline`] trait the macro implements, output modes, [`BatchContext`];
//! - [`clock`], [`watermark`], [`trigger`], [`progress`]: processing time, the event-time
//!   watermark, when batches start, what each batch reports; `runtime` (private): the tokio
//!   runtime query and source tasks run on;
//! - [`checkpoint`]: offset and commit logs and state snapshots that make a query restartable;
//! - [`format`](mod@format): the file formats (CSV, JSON lines, Parquet with the `parquet`
//!   feature) and Spark's policies for malformed records, shared by the file source and sink;
//! - [`source`] and [`sink`]: where rows come from (rate, memory, files, sockets) and go to
//!   (console, memory, files, `foreach_batch`); the file source reads a file sink's output
//!   through the sink's commit log ([`sink::file`]);
//! - `engine` (private), [`query`], [`writer`]: the micro-batch loop, the query handle, and
//!   the `read_stream(...).write_stream()...start()` builder; [`explain`]: a query's plan,
//!   readable;
//! - [`manager`] and [`listener`]: the queries of the process ([`streams()`], Spark's
//!   `spark.streams`) and the callbacks on their start, progress, idleness and termination;
//! - `ui` (cargo feature `ui`): the live progress page, its JSON API and Prometheus
//!   `/metrics`, served from the manager's queries.

#![forbid(unsafe_code)]

mod atomic;
pub mod checkpoint;
pub mod clock;
mod engine;
pub mod error;
pub mod explain;
#[doc(hidden)]
pub mod failpoint;
pub mod format;
pub mod functions;
pub mod listener;
pub mod manager;
pub mod pipeline;
pub mod progress;
pub mod query;
pub mod row;
mod runtime;
pub mod sink;
pub mod source;
pub mod state;
pub mod time;
pub mod trigger;
#[cfg(feature = "ui")]
pub mod ui;
pub mod value;
pub mod watermark;
pub mod writer;

#[cfg(test)]
mod test_rows;

pub use clock::Clock;
pub use error::{Error, Result};
pub use listener::StreamingQueryListener;
pub use manager::{StreamingQueryManager, streams};
pub use pipeline::{Append, BatchContext, Complete, OutputMode, Pipeline, Update};
pub use progress::{QueryStatus, StreamingQueryProgress};
pub use query::{StreamingQuery, StreamingQueryException};
pub use trigger::Trigger;
pub use writer::{DataStreamWriter, ReadStream, StreamingFrame};

/// Items generated code names. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::Error;
    pub use crate::functions;
    pub use crate::pipeline::{
        APPEND_AGGREGATION_WITHOUT_WATERMARK, BatchContext, COMPLETE_WITHOUT_AGGREGATION,
        EventTimeStats, LIMIT_IN_UPDATE, OutputMode, Pipeline, PipelineInfo, PipelineKind,
        SORT_NOT_IN_COMPLETE, SupportsAppend, SupportsComplete, SupportsUpdate, WatermarkSpec,
    };
    pub use crate::row::{RateRow, Row, RowError, TextLine, check_arity, take_column};
    pub use crate::state;
    pub use crate::time::{Timestamp, Window, last_window_start};
    pub use crate::value::{ColumnType, DataType, Field, Schema, Value};
    pub use hashbrown;
    pub use serde;
}
