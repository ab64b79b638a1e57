//! Stateful operators: generic, monomorphized code that owns a query's state and applies
//! Spark's rules to it, over a small spec trait `pipeline!` implements per query.
//!
//! - [`accumulator`]: the per-group state of each aggregate function (`update` / `merge` /
//!   `finish`);
//! - [`aggregate`]: the streaming aggregation — groups in state partitions, late rows,
//!   emission per output mode, eviction, `order by` / `limit`, snapshots;
//! - [`session`]: the session-window aggregation — per key, sessions that merge when a row
//!   bridges them, closed by the watermark;
//! - [`dedup`]: deduplication (`drop duplicates`), bounded by the watermark where the key
//!   allows;
//! - [`join`]: stream-static joins, a hashed table the row loop probes;
//! - [`stateless`]: a query without aggregation, its partitions run side by side;
//! - [`limit`]: the global `limit` of a query without aggregation;
//! - `keyed` (private): a batch run on every worker, each deciding the rows of its keys
//!   (deduplication, session windows);
//! - `result` (private): `order by` / `limit` of the grouping operators' results.

pub mod accumulator;
pub mod aggregate;
pub mod dedup;
pub mod join;
mod keyed;
pub mod limit;
mod result;
pub mod session;
pub mod stateless;

pub use accumulator::{Accumulator, Accumulators};
pub use aggregate::{AggregateQuery, Aggregation, GroupKey, GroupSink};
pub use dedup::{DedupEntry, DedupQuery, Deduplication, Expiring, NEVER_EXPIRES, SeenKeys};
pub use join::{JoinTable, StaticTable};
pub use limit::GlobalLimit;
pub use session::{SessionAggregation, SessionQuery, SessionSink};
pub use stateless::{StatelessQuery, run_stateless};
