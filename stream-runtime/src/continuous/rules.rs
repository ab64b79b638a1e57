//! Which queries can run continuously, decided at compile time: Spark's
//! `UnsupportedOperationChecker.checkForContinuous`, one marker trait per operation it
//! rejects. `pipeline!` implements each rule a query satisfies; [`SupportsContinuous`] needs
//! them all, so starting a query that breaks one with a continuous trigger fails to compile
//! with that rule's message.
//!
//! Spark accepts only map-like queries (projections and selections — `select`, `where`, `with`,
//! `flatMap`) without current-time functions. Sluice also runs `explode` continuously: it is a
//! per-row `flatMap`, stateless, though Spark's checker names its `Generate` node among the
//! operations it rejects (see docs/continuous.md). A query that breaks several rules is reported
//! for one of them only (the first in the order of [`SupportsContinuous`]'s bounds), as each
//! mistake should give one error; fixing it shows the next.

use crate::pipeline::Pipeline;

/// Rule: continuous processing has no state, so no aggregation (`group by ... aggregate`, and
/// the `order by` / `limit` of an aggregated result). Implemented by queries without one.
#[diagnostic::on_unimplemented(
    message = "continuous processing does not support `{Self}`: it aggregates",
    label = "`{Self}` cannot run with a continuous trigger",
    note = "Spark: \"Continuous processing does not support Aggregate operations.\"",
    note = "a continuous query runs only projections and filters (`select`, `with`, `where`); run this one with a micro-batch trigger (`Trigger::ProcessingTime`, or the default)"
)]
pub trait NoAggregation: Pipeline {}

/// Rule: a watermark only matters to state, which continuous processing has none of; Spark
/// rejects the `watermark` clause itself. Implemented by queries without one.
#[diagnostic::on_unimplemented(
    message = "continuous processing does not support `{Self}`: it has a watermark",
    label = "`{Self}` cannot run with a continuous trigger",
    note = "Spark: \"Continuous processing does not support EventTimeWatermark operations.\"",
    note = "remove the `watermark` clause (a query without state drops no late rows), or run the query with a micro-batch trigger"
)]
pub trait NoWatermark: Pipeline {}

/// Rule: `drop duplicates` remembers the keys seen, state continuous processing does not
/// keep. Implemented by queries without one.
#[diagnostic::on_unimplemented(
    message = "continuous processing does not support `{Self}`: it drops duplicates",
    label = "`{Self}` cannot run with a continuous trigger",
    note = "Spark: \"Continuous processing does not support Deduplicate operations.\"",
    note = "remove the `drop duplicates`, or run the query with a micro-batch trigger"
)]
pub trait NoDeduplication: Pipeline {}

/// Rule: a global `limit` counts the rows emitted, state continuous processing does not keep.
/// Implemented by queries without one.
#[diagnostic::on_unimplemented(
    message = "continuous processing does not support `{Self}`: it has a `limit`",
    label = "`{Self}` cannot run with a continuous trigger",
    note = "Spark: \"Continuous processing does not support LocalLimit operations.\"",
    note = "remove the `limit`, or run the query with a micro-batch trigger"
)]
pub trait NoLimit: Pipeline {}

/// Rule: `current_timestamp()` is the batch's processing time, and a continuous query has no
/// batches (Spark: "deterministic computations using time is challenging"). Implemented by
/// queries that do not call it.
#[diagnostic::on_unimplemented(
    message = "continuous processing does not support `{Self}`: it calls `current_timestamp()`",
    label = "`{Self}` cannot run with a continuous trigger",
    note = "Spark: \"Continuous processing does not support current time operations.\"",
    note = "use an event-time column of the rows (the rate and socket sources stamp each row), or run the query with a micro-batch trigger"
)]
pub trait NoCurrentTime: Pipeline {}

/// Rule: a join of two streams keeps both sides' rows until the watermark expires them, state
/// continuous processing does not keep. Implemented by queries that do not join two streams
/// (a stream-static join runs continuously).
#[diagnostic::on_unimplemented(
    message = "continuous processing does not support `{Self}`: it joins two streams",
    label = "`{Self}` cannot run with a continuous trigger",
    note = "Spark: \"Continuous processing does not support Join operations.\"",
    note = "run the join with a micro-batch trigger (`Trigger::ProcessingTime`, or the default)"
)]
pub trait NoStreamJoin: Pipeline {}

/// Pipelines that can run with a continuous trigger: those that satisfy every rule, which the
/// continuous writer's `start` requires (each rule a bound of its own, so a query breaking one
/// is told which). For code generic over such pipelines.
pub trait SupportsContinuous:
    NoWatermark + NoDeduplication + NoAggregation + NoLimit + NoCurrentTime + NoStreamJoin
{
}
impl<P> SupportsContinuous for P where
    P: NoWatermark + NoDeduplication + NoAggregation + NoLimit + NoCurrentTime + NoStreamJoin
{
}
