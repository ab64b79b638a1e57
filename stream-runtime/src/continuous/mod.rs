//! Continuous processing (Spark's `Trigger.Continuous`, experimental there too): a stateless
//! query runs as one long-running task that reads the source, pushes each group of rows through
//! the fused pipeline and into the sink as they arrive, with latencies of a millisecond or
//! less; the trigger's interval is only how often progress is checkpointed.
//!
//! ```no_run
//! # async fn run() -> Result<(), sluice::Error> {
//! use sluice::prelude::*;
//!
//! sluice::pipeline! {
//!     /// Readings above 25 °C, as they come.
//!     pub query Alerts from Rate {
//!         select timestamp, value, temperature = 20 + value % 10;
//!         where temperature > 25;
//!     }
//! }
//!
//! let query = Alerts::read_stream(RateSource::new().rows_per_second(1000))
//!     .write_stream()
//!     .foreach(|alert: AlertsRow| println!("{alert:?}"))
//!     .trigger(Trigger::continuous("1 second")?)
//!     .checkpoint_location("/tmp/alerts-checkpoint")
//!     .start()?;
//! # query.stop().await;
//! # Ok(()) }
//! ```
//!
//! # Epochs
//!
//! Every interval the task ends an *epoch*: it notes the source position it reached and
//! closes the epoch at the sink. The query's epoch coordinator then writes the position to the
//! checkpoint's offset log (`offsets/<epoch>`), waits until the sink finished the epoch (the
//! Kafka sink's records are acknowledged, the console printed it, the memory table has its
//! rows), and writes `commits/<epoch>` — while the task already runs the next epoch. A restart
//! resumes after the last committed epoch, so the rows of the epochs that had not committed are
//! read and written again: **at least once**, as in Spark. A clean `stop()` ends and commits
//! the epoch in flight, so a restart after it repeats nothing.
//!
//! # What can run continuously
//!
//! Checked at compile time, as output modes are: a writer given [`Trigger::continuous`]
//! starts only
//!
//! - queries that satisfy Spark's rules (map-like: `select`, `where`, `with`, no aggregation,
//!   watermark, limit or `current_timestamp()`; see [`rules`]), which `pipeline!` marks with
//!   [`SupportsContinuous`];
//! - sources that can stream ([`ContinuousSource`]): rate, memory, socket, Kafka;
//! - sinks that take rows as they come ([`ContinuousSink`]): console, memory, Kafka,
//!   `foreach`.
//!
//! Anything else does not compile, with Spark's message.
//!
//! [`Trigger::continuous`]: crate::trigger::Trigger::continuous

mod coordinator;
mod memory;
mod rate;
pub mod rules;
mod sink;
mod socket;
mod source;
mod start;
mod task;

pub(crate) use start::start;

pub use memory::MemoryReader;
pub use rate::{RatePosition, RateReader};
pub use rules::{
    NoAggregation, NoCurrentTime, NoDeduplication, NoLimit, NoStreamJoin, NoWatermark,
    SupportsContinuous,
};
pub use sink::{ContinuousSink, EpochCommit};
pub use socket::SocketReader;
pub use source::{ContinuousReader, ContinuousSource};
