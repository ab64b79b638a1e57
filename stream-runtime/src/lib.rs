//! The micro-batch runtime of Sluice: it drives the pipelines `pipeline!` generates with Spark
//! Structured Streaming's semantics and vocabulary.
//!
//! Modules, from the bottom up (each depends only on those above it):
//!
//! - [`time`]: event time ([`time::Timestamp`], µs since the epoch), windows, intervals;
//! - `double` (hidden): Spark's order and text form of doubles, a leaf the next three share;
//! - [`value`]: Spark types at the edges ([`value::DataType`], [`value::Schema`],
//!   [`value::Value`]) and the Rust type of each column ([`value::ColumnType`]);
//! - [`error`]: the [`Error`] type, with Spark's error classes;
//! - [`row`] and [`columns`]: the [`row::Row`] trait and the built-in source rows, and the
//!   typed columns file readers decode into and rows are built from;
//! - `functions` (hidden): Spark SQL scalar semantics (ANSI arithmetic, casts, strings, time)
//!   called by generated code;
//! - [`output_mode`], [`batch`], [`pipeline`]: output modes and their compile-time rules, what a
//!   batch runs under ([`BatchContext`]), and the [`Pipeline`] trait the macro implements;
//! - `state` (hidden) and [`operator`]: how state is hashed and encoded, and the stateful
//!   operators over it — accumulators with `update`/`merge`/`finish`, the streaming
//!   aggregation, session windows, deduplication, the global limit — generic over the spec
//!   each query's expansion provides;
//! - [`clock`], [`watermark`], [`trigger`], [`progress`]: processing time, the event-time
//!   watermark, when batches start, what each batch reports; `async_runtime` (private): the
//!   tokio runtime query and source tasks run on;
//! - `durable_file` (private) and [`checkpoint`]: atomic file replacement, and the offset and
//!   commit logs and state snapshots that make a query restartable;
//! - [`format`](mod@format): the file formats (CSV, JSON lines, Parquet with the `parquet`
//!   feature) and Spark's policies for malformed records, shared by the file source and sink;
//! - [`source`] and [`sink`]: where rows come from (rate, memory, files, sockets) and go to
//!   (console, memory, files, `foreach_batch`, `foreach`); the file source reads a file sink's output
//!   through the sink's commit log ([`sink::file`]);
//! - `engine` (private), [`query`], [`writer`]: the micro-batch loop, the query handle, and
//!   the `read_stream(...).write_stream()...start()` builder; [`explain`]: a query's plan,
//!   readable;
//! - [`continuous`]: continuous processing beside the micro-batch loop — the compile-time
//!   rules of what can run continuously, streaming reads and writes, the long-running task and
//!   its epoch coordinator; `arrivals` (private): what sources that buffer in the background
//!   signal to a continuous reader;
//! - [`manager`] and [`listener`]: the queries of the process ([`streams()`], Spark's
//!   `spark.streams`) and the callbacks on their start, progress, idleness and termination;
//! - `ui` (cargo feature `ui`): the live progress page, its JSON API and Prometheus
//!   `/metrics`, served from the manager's queries.
//!
//! Programs use this crate through the `sluice` facade, which re-exports the modules they
//! need; the hidden modules are reached by generated code only.

#![forbid(unsafe_code)]

mod arrivals;
mod async_runtime;
pub mod batch;
pub mod checkpoint;
pub mod clock;
pub mod columns;
pub mod continuous;
#[doc(hidden)]
pub mod double;
mod durable_file;
mod engine;
pub mod error;
pub mod executor;
pub mod explain;
#[doc(hidden)]
pub mod failpoint;
pub mod format;
#[doc(hidden)]
pub mod functions;
pub mod listener;
pub mod manager;
pub mod operator;
pub mod output_mode;
pub mod pipeline;
pub mod progress;
pub mod query;
pub mod row;
#[cfg(feature = "kafka")]
pub mod scale_out;
pub mod sink;
pub mod source;
#[doc(hidden)]
pub mod state;
pub mod time;
pub mod trigger;
#[cfg(feature = "ui")]
pub mod ui;
pub mod value;
pub mod watermark;
pub mod writer;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test_rows;

pub use batch::BatchContext;
/// The Kafka client library the Kafka source and sink are built on (feature `kafka`), for
/// programs that need a producer, consumer or admin client of the same version.
#[cfg(feature = "kafka")]
pub use rdkafka;

pub use clock::Clock;
pub use error::{Error, Result};
pub use listener::StreamingQueryListener;
pub use manager::{StreamingQueryManager, streams};
pub use output_mode::{Append, Complete, OutputMode, Update};
pub use pipeline::Pipeline;
pub use progress::{QueryStatus, StreamingQueryProgress};
pub use query::{StreamingQuery, StreamingQueryException};
pub use trigger::Trigger;
pub use writer::{DataStreamWriter, ReadStream, ReadStreams, StreamingFrame};

/// Items generated code names. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::batch::{BatchContext, EventTimeStats};
    pub use crate::columns::{ColumnReader, Columns, FromColumn, column_reader};
    pub use crate::continuous::rules::{
        NoAggregation, NoCurrentTime, NoDeduplication, NoLimit, NoStreamJoin, NoWatermark,
    };
    pub use crate::error::Error;
    pub use crate::executor::Executor;
    pub use crate::format::{Csv, Json, ParseMode, PayloadDecoder, take_decoded};
    pub use crate::functions;
    pub use crate::operator::accumulator::{self, Accumulator, Accumulators};
    pub use crate::operator::dedup::expires_within_watermark;
    pub use crate::operator::join::{
        JoinTable, KeyRef, SourceRows, StateExpiry, StaticTable, StreamJoinPipeline,
        StreamJoinQuery, StreamJoinType, TableReload, TimeBound, padded, refresh_table, table_of,
    };
    pub use crate::operator::{
        AggregateQuery, Aggregation, DedupEntry, DedupQuery, Deduplication, Expiring, GlobalLimit,
        GroupSink, NEVER_EXPIRES, SeenKeys, SessionAggregation, SessionQuery, SessionSink,
        StatelessQuery, run_stateless,
    };
    pub use crate::output_mode::{
        APPEND_AGGREGATION_WITHOUT_WATERMARK, Aggregates, COMPLETE_WITHOUT_AGGREGATION,
        FinalisesGroups, LIMIT_IN_UPDATE, OutputMode, SESSION_WINDOW_IN_UPDATE,
        SORT_NOT_IN_COMPLETE, Unlimited, Unsorted, WithoutOuterStreamJoin, WithoutSessionWindow,
        WithoutStreamJoin,
    };
    pub use crate::pipeline::{Pipeline, PipelineInfo, PipelineKind, WatermarkSpec};
    pub use crate::row::{KafkaRow, RateRow, Row, RowError, TextLine, check_arity, take_column};
    pub use crate::source::{BatchInput, Sided};
    pub use crate::state::{decode_parts, encode_parts};
    pub use crate::time::{Timestamp, Window, last_window_start};
    pub use crate::value::{ColumnType, DataType, Field, Header, Schema, Value};
    pub use crate::writer::ReadStreams;
    pub use hashbrown;
    pub use serde;
}
