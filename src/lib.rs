//! Sluice: Spark Structured Streaming's programming model, compiled.
//!
//! Write a streaming pipeline in the [`pipeline!`] DSL; the macro expands it at build time into
//! monomorphized Rust structs with specialised hash-map state and window logic, and the runtime
//! drives them with triggers, watermarks, output modes, sources, sinks and checkpoints.
//!
//! ```no_run
//! use sluice::prelude::*;
//!
//! sluice::pipeline! {
//!     /// Readings per room, from the rate source.
//!     pub query RoomWindows from Rate {
//!         with room_name = concat("Room_", value % 5);
//!         watermark timestamp delay 30 seconds;
//!         group by window(timestamp, 10 seconds), room_name;
//!         aggregate count = count();
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), sluice::Error> {
//!     let query = RoomWindows::read_stream(RateSource::new().rows_per_second(5))
//!         .write_stream()
//!         .output_mode(Append)
//!         .format(ConsoleSink::new().truncate(false))
//!         .start()?;
//!     tokio::time::sleep(std::time::Duration::from_secs(45)).await;
//!     query.stop().await;
//!     Ok(())
//! }
//! ```

#![forbid(unsafe_code)]

pub use stream_macros::pipeline;

// What programs use, by module (the runtime's internals — its scalar functions, state
// encoding, operators and crash-test hooks — are reached by generated code through
// `__private` only).
pub use stream_runtime::{
    batch, checkpoint, clock, continuous, error, executor, format, output_mode, pipeline, progress,
    query, row, sink, source, time, trigger, value, watermark, writer,
};

/// The Kafka client library the Kafka source and sink are built on (feature `kafka`), for
/// programs that need a producer, consumer or admin client of the same version.
#[cfg(feature = "kafka")]
pub use stream_runtime::rdkafka;

/// A query with state in several processes, a query per Kafka partition (feature `kafka`).
#[cfg(feature = "kafka")]
pub use stream_runtime::scale_out;

// The names most programs use, at the root.
pub use stream_runtime::{
    Append, BatchContext, Clock, Complete, DataStreamWriter, Error, OutputMode, Pipeline,
    QueryStatus, ReadStream, ReadStreams, Result, StreamingFrame, StreamingQuery,
    StreamingQueryException, StreamingQueryProgress, Trigger, Update,
};

/// The items most programs need.
pub mod prelude {
    pub use stream_macros::pipeline;
    pub use stream_runtime::clock::Clock;
    #[cfg(feature = "parquet")]
    pub use stream_runtime::format::Parquet;
    pub use stream_runtime::format::{Csv, Json, ParseMode};
    pub use stream_runtime::listener::StreamingQueryListener;
    pub use stream_runtime::manager::streams;
    pub use stream_runtime::pipeline::{Append, Complete, OutputMode, Pipeline, Update};
    pub use stream_runtime::query::StreamingQuery;
    pub use stream_runtime::row::{KafkaRow, RateRow, Row, TextLine};
    #[cfg(feature = "kafka")]
    pub use stream_runtime::sink::KafkaSink;
    pub use stream_runtime::sink::{
        ConsoleSink, FileSink, ForeachBatchSink, ForeachSink, ForeachWriter, MemorySink,
        MemoryTable,
    };
    pub use stream_runtime::source::{FileSource, MemoryStream, RateSource, SocketSource};
    #[cfg(feature = "kafka")]
    pub use stream_runtime::source::{KafkaSource, StartingOffsets};
    pub use stream_runtime::time::{Timestamp, Window};
    pub use stream_runtime::trigger::Trigger;
    pub use stream_runtime::value::Header;
    pub use stream_runtime::writer::{ReadStream, ReadStreams};
}

// Observability: the process's queries and their listeners, `explain()`, and the live page.
#[cfg(feature = "ui")]
pub use stream_runtime::ui;
pub use stream_runtime::{
    StreamingQueryListener, StreamingQueryManager, explain, listener, manager, streams,
};

#[doc(hidden)]
pub use stream_runtime::__private;

/// The README's Rust code, compiled by `cargo test` as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
