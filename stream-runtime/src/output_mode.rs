//! Output modes (Spark's `outputMode`): what a query's sink receives each batch, the typed
//! modes [`Append`], [`Complete`] and [`Update`], and the compile-time marker traits — one per
//! rule Spark applies ([`FinalisesGroups`], [`Unsorted`], [`Aggregates`], [`Unlimited`],
//! [`WithoutSessionWindow`]) — that make asking for a mode a pipeline cannot run in a compile
//! error with that rule's message.
//!
//! What each mode *emits* is the stateful operators' business (see
//! [`operator::aggregate`](crate::operator::aggregate)); which queries support which mode is
//! decided by the compiler and recorded in [`PipelineInfo`](crate::pipeline::PipelineInfo).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::pipeline::Pipeline;

/// How a stateful query's result reaches the sink: Spark's `outputMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OutputMode {
    /// Only new rows: rows of a stateless query, or windows the watermark has closed.
    Append,
    /// The whole result table, every batch.
    Complete,
    /// The rows (groups) that changed in this batch.
    Update,
}

impl OutputMode {
    /// Spark's name (`Append`, `Complete`, `Update`).
    pub const fn name(self) -> &'static str {
        match self {
            OutputMode::Append => "Append",
            OutputMode::Complete => "Complete",
            OutputMode::Update => "Update",
        }
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutputMode {
    type Err = Error;

    /// Parses `append`, `complete` or `update`, case-insensitively, as Spark's
    /// `outputMode(String)` does.
    ///
    /// ```
    /// use sluice::pipeline::OutputMode;
    /// assert_eq!("Update".parse::<OutputMode>().unwrap(), OutputMode::Update);
    /// assert_eq!(
    ///     "foo".parse::<OutputMode>().unwrap_err().to_string(),
    ///     "[STREAMING_OUTPUT_MODE.INVALID] Invalid streaming output mode: foo. \
    ///      Accepted output modes are 'Append', 'Complete', 'Update'."
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "append" => Ok(OutputMode::Append),
            "complete" => Ok(OutputMode::Complete),
            "update" => Ok(OutputMode::Update),
            _ => Err(Error::InvalidArgument(format!(
                "[STREAMING_OUTPUT_MODE.INVALID] Invalid streaming output mode: {s}. Accepted output modes are 'Append', 'Complete', 'Update'."
            ))),
        }
    }
}

/// Spark's rejection of append mode for an aggregation that no watermark can finalise.
pub const APPEND_AGGREGATION_WITHOUT_WATERMARK: &str = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: append. This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets.";
/// Spark's rejection of complete mode for a query without aggregation.
pub const COMPLETE_WITHOUT_AGGREGATION: &str = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: complete. This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets.";
/// Spark's rejection of sorting outside complete mode.
pub const SORT_NOT_IN_COMPLETE: &str = "Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode";
/// Spark's rejection of a limit in update mode.
pub const LIMIT_IN_UPDATE: &str =
    "Limits are not supported on streaming DataFrames/Datasets in Update output mode";
/// Spark's rejection of update mode for a session-window aggregation.
pub const SESSION_WINDOW_IN_UPDATE: &str = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: update. This output mode is not supported for session window streaming aggregations on streaming DataFrames/DataSets.";

/// Output mode `append` (Spark's default): emit only rows that will never change. Passed to
/// `DataStreamWriter::output_mode`, where an unsupported mode is a compile error.
#[derive(Debug, Default, Clone, Copy)]
pub struct Append;
/// Output mode `complete`: emit the whole result table every batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct Complete;
/// Output mode `update`: emit the rows that changed in the batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct Update;

// Each rule Spark applies to output modes is a marker trait that `pipeline!` implements for
// the queries that satisfy it; a mode is available when its rules are. Asking for a mode a
// query breaks a rule of then fails to compile with that rule's message alone, rather than one
// message listing every reason a mode can be refused.

/// Rule: append mode emits a group once, when the watermark has made it final, so a query
/// that aggregates must be keyed by the watermarked event time (a window over it, or the column
/// itself). Implemented by queries without aggregation and by those.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: append is not supported by `{Self}`: it aggregates without a watermark on a group key",
    label = "`{Self}` cannot run in append mode",
    note = "Spark: \"This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets\"",
    note = "add `watermark <ts> delay <interval>;` and group by `window(<ts>, <size>)` (or by `<ts>` itself), or use `.output_mode(Update)` or `.output_mode(Complete)`"
)]
pub trait FinalisesGroups: Pipeline {}

/// Rule: a stream can be sorted only as a whole result table, in complete mode. Implemented by
/// queries without `order by`.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: `{Self}` sorts its result, which only complete mode can",
    label = "`{Self}` has an `order by`",
    note = "Spark: \"Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode\"",
    note = "use `.output_mode(Complete)`, or remove the `order by`"
)]
pub trait Unsorted: Pipeline {}

/// Rule: complete mode re-emits the whole result table every batch, which needs an aggregation.
/// Implemented by queries with one.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: complete is not supported by `{Self}`: it has no streaming aggregation",
    label = "`{Self}` cannot run in complete mode",
    note = "Spark: \"This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets\"",
    note = "use `.output_mode(Append)` for a query without aggregation"
)]
pub trait Aggregates: Pipeline {}

/// Rule: update mode cannot apply a `limit`. Implemented by queries without one.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: update is not supported by `{Self}`: it has a `limit`",
    label = "`{Self}` cannot run in update mode",
    note = "Spark: \"Limits are not supported on streaming DataFrames/Datasets in Update output mode\"",
    note = "use `.output_mode(Complete)` to limit an aggregation's result, or `.output_mode(Append)` to limit a query without aggregation"
)]
pub trait Unlimited: Pipeline {}

/// Rule: update mode cannot emit a session window, which a later row may still merge with
/// another. Implemented by queries without `session_window`.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: update is not supported by `{Self}`: it aggregates session windows",
    label = "`{Self}` cannot run in update mode",
    note = "Spark: \"This output mode is not supported for session window streaming aggregations on streaming DataFrames/DataSets\"",
    note = "use `.output_mode(Append)` (a session is emitted once the watermark passes its end) or `.output_mode(Complete)`"
)]
pub trait WithoutSessionWindow: Pipeline {}

/// Rule: an outer join of two streams emits a row unmatched once its state expires, which no
/// later batch may revise: append mode only (an inner or left semi join may also run in update
/// mode). Implemented by queries without an outer stream-stream join.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: update is not supported by `{Self}`: it is an outer join of two streams",
    label = "`{Self}` cannot run in update mode",
    note = "Spark: \"LeftOuter join between two streaming DataFrames/Datasets is not supported in Update output mode, only in Append output mode\" (likewise RightOuter and FullOuter)",
    note = "use `.output_mode(Append)`"
)]
pub trait WithoutOuterStreamJoin: Pipeline {}

/// Rule: a join of two streams cannot re-emit a whole result table: no complete mode, even
/// with an aggregation after it. Implemented by queries without a stream-stream join.
#[diagnostic::on_unimplemented(
    message = "invalid streaming output mode: complete is not supported by `{Self}`: it joins two streams",
    label = "`{Self}` cannot run in complete mode",
    note = "Spark: \"Inner join between two streaming DataFrames/Datasets is not supported in Complete output mode, only in Append and Update output modes\" (an outer join: only in Append output mode)",
    note = "use `.output_mode(Append)` (or, for an inner or left semi join, `.output_mode(Update)`)"
)]
pub trait WithoutStreamJoin: Pipeline {}

/// Pipelines that may run in append mode: those that satisfy its rules ([`FinalisesGroups`],
/// [`Unsorted`]).
pub trait SupportsAppend: FinalisesGroups + Unsorted {}
impl<P: FinalisesGroups + Unsorted> SupportsAppend for P {}

/// Pipelines that may run in complete mode: those with an aggregation ([`Aggregates`]) and no
/// join of two streams ([`WithoutStreamJoin`]).
pub trait SupportsComplete: Aggregates + WithoutStreamJoin {}
impl<P: Aggregates + WithoutStreamJoin> SupportsComplete for P {}

/// Pipelines that may run in update mode: those that neither sort nor limit their result, nor
/// aggregate session windows, nor join two streams ([`Unsorted`], [`Unlimited`],
/// [`WithoutSessionWindow`], [`WithoutOuterStreamJoin`]).
pub trait SupportsUpdate:
    Unsorted + Unlimited + WithoutSessionWindow + WithoutOuterStreamJoin
{
}
impl<P: Unsorted + Unlimited + WithoutSessionWindow + WithoutOuterStreamJoin> SupportsUpdate for P {}

/// "Output mode `Self` can run pipeline `P`": the bound `DataStreamWriter::output_mode` checks.
/// The typed modes ([`Append`], [`Complete`], [`Update`]) require their rules directly, so an
/// unsupported mode does not compile and says which rule it breaks; a mode named by a string is
/// checked when the query starts.
pub trait OutputModeFor<P: Pipeline> {
    /// The mode, or Spark's error if `P` cannot run in it.
    fn resolve(&self) -> Result<OutputMode, Error>;
}

impl<P: FinalisesGroups + Unsorted> OutputModeFor<P> for Append {
    fn resolve(&self) -> Result<OutputMode, Error> {
        Ok(OutputMode::Append)
    }
}
impl<P: Aggregates + WithoutStreamJoin> OutputModeFor<P> for Complete {
    fn resolve(&self) -> Result<OutputMode, Error> {
        Ok(OutputMode::Complete)
    }
}
impl<P: Unsorted + Unlimited + WithoutSessionWindow + WithoutOuterStreamJoin> OutputModeFor<P>
    for Update
{
    fn resolve(&self) -> Result<OutputMode, Error> {
        Ok(OutputMode::Update)
    }
}

/// An output mode given by name (`"append"`, `"complete"`, `"update"`), as Spark's
/// `outputMode(String)`: parsed and checked against the pipeline when the query starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOutputMode(pub String);

impl<P: Pipeline> OutputModeFor<P> for NamedOutputMode {
    fn resolve(&self) -> Result<OutputMode, Error> {
        let mode: OutputMode = self.0.parse()?;
        P::INFO.check_output_mode(mode)?;
        Ok(mode)
    }
}
