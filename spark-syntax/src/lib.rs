//! The pieces of Spark's text syntax that both Sluice's compiler (`stream-macros`, at build
//! time) and its runtime (`stream-runtime`, at run time) read, kept in one place so the two
//! always agree:
//!
//! - [`datetime_pattern`]: Spark datetime patterns (`yyyy-MM-dd HH:mm:ss`) to chrono formats;
//! - [`interval`]: interval strings (`"10 seconds"`, `10s`) to microseconds, and back to text.
//!
//! It has no dependencies, so the proc-macro crate can use it without pulling in the runtime.

#![forbid(unsafe_code)]

pub mod datetime_pattern;
pub mod interval;
