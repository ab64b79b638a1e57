//! Joins. A stream-stream join ([`SymmetricHashJoin`], [`StreamJoinPipeline`]) keeps both
//! sides' rows in state until the watermark expires them (see [`symmetric`]), its keys split
//! over the workers ([`PartitionedJoin`], see [`partitioned`]).
//!
//! A stream-static join ([`StaticTable`]) is a lookup in a table hashed once, probed by
//! the generated row loop for every stream row: it needs no state, no exchange and no
//! checkpoint, and runs inside the fused stateless prefix, so a join followed by filters,
//! projections or an aggregation is one loop.

mod file;
pub mod partitioned;
pub mod reload;
mod static_table;
pub mod streams;
pub mod symmetric;

pub use file::read_table;
pub use partitioned::PartitionedJoin;
pub use reload::{TableReload, refresh_table};

pub use static_table::{JoinTable, KeyPart, KeyRef, StaticTable, padded, table_of};
pub use streams::{SourceRows, StreamJoinPipeline};
pub use symmetric::{StateExpiry, StreamJoinQuery, StreamJoinType, SymmetricHashJoin, TimeBound};
