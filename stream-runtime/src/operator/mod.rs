//! Stateful operators: generic, monomorphized code that owns a query's state and applies
//! Spark's rules to it, over a small spec trait `pipeline!` implements per query.
//!
//! - [`accumulator`]: the per-group state of each aggregate function (`update` / `merge` /
//!   `finish`);
//! - [`aggregate`]: the streaming aggregation — groups in state partitions, late rows,
//!   emission per output mode, eviction, `order by` / `limit`, snapshots;
//! - [`stateless`]: a query without aggregation, its partitions run side by side;
//! - [`limit`]: the global `limit` of a query without aggregation.

pub mod accumulator;
pub mod aggregate;
pub mod limit;
pub mod stateless;

pub use accumulator::{Accumulator, Accumulators};
pub use aggregate::{AggregateQuery, Aggregation, GroupKey, GroupSink};
pub use limit::GlobalLimit;
pub use stateless::{StatelessQuery, run_stateless};
