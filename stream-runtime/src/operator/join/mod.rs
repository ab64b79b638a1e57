//! Joins. A stream-static join ([`StaticTable`]) is a lookup in a table hashed once, probed by
//! the generated row loop for every stream row: it needs no state, no exchange and no
//! checkpoint, and runs inside the fused stateless prefix, so a join followed by filters,
//! projections or an aggregation is one loop.

mod file;
mod static_table;

pub use file::read_table;

pub use static_table::{JoinTable, KeyPart, KeyRef, StaticTable, padded, table_of};
