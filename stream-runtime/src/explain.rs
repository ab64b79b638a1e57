//! What [`StreamingQuery::explain`](crate::query::StreamingQuery::explain) shows: the compiled
//! plan a query runs, and what the runtime runs it with (source, sink, output mode, trigger,
//! checkpoint).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::pipeline::{OutputMode, PipelineInfo, PipelineKind, WatermarkSpec};
use crate::time::format_interval;

/// A running query's plan, readable: `println!("{}", query.explain())` prints it as Spark's
/// `query.explain()` prints the physical plan.
///
/// ```text
/// == Streaming query `rooms` (RoomWindows) ==
/// Source:      RateStreamV2[rowsPerSecond=5, rampUpTimeSeconds=0, numPartitions=default]
/// Sink:        org.apache.spark.sql.execution.streaming.ConsoleTable$
/// Output mode: Append
/// Trigger:     ProcessingTime(5 seconds)
/// Checkpoint:  none
/// State:       aggregation, finished groups evicted by the watermark
/// Watermark:   timestamp, 30 seconds
/// == Compiled plan ==
/// Source Rate
/// ...
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryExplanation {
    /// The name given with `query_name`.
    pub query_name: Option<String>,
    /// The compiled query's name in the DSL.
    pub pipeline: &'static str,
    /// The source's description (as in progress reports).
    pub source: String,
    /// The sink's description (as in progress reports).
    pub sink: String,
    /// The output mode.
    #[serde(serialize_with = "ser_display")]
    pub output_mode: OutputMode,
    /// When batches start, or how often a continuous query checkpoints: `Default`,
    /// `ProcessingTime(5 seconds)`, `Once`, `AvailableNow`, `Continuous(1 second)`.
    pub trigger: String,
    /// Where the checkpoint is, and every how many batches the state is snapshotted.
    pub checkpoint: Option<CheckpointExplanation>,
    /// The stateful operator the query ends in, if any.
    pub state: &'static str,
    /// The watermarks, one line each (`timestamp, 30 seconds`).
    pub watermarks: Vec<String>,
    /// The compiled plan, one step a line: what `pipeline!` fused into the query (the
    /// stateless prefix of the queries it reads, filters, projections, the aggregation).
    pub compiled_plan: &'static str,
}

/// The checkpoint part of a [`QueryExplanation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointExplanation {
    /// The checkpoint directory.
    pub location: PathBuf,
    /// A state snapshot every this many batches.
    pub snapshot_interval: u64,
}

fn ser_display<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl QueryExplanation {
    /// The explanation of a query compiled as `info`, run with the rest.
    pub(crate) fn new(
        info: &PipelineInfo,
        query_name: Option<String>,
        source: String,
        sink: String,
        output_mode: OutputMode,
        trigger: impl fmt::Display,
        checkpoint: Option<CheckpointExplanation>,
    ) -> Self {
        QueryExplanation {
            query_name,
            pipeline: info.name,
            source,
            sink,
            output_mode,
            trigger: trigger.to_string(),
            checkpoint,
            state: state_description(info.kind),
            watermarks: info.watermarks.iter().map(watermark_line).collect(),
            compiled_plan: info.plan,
        }
    }
}

fn state_description(kind: PipelineKind) -> &'static str {
    match kind {
        PipelineKind::Stateless => "none (stateless)",
        PipelineKind::Aggregation {
            evicts_on_watermark: true,
        } => "aggregation, finished groups evicted by the watermark",
        PipelineKind::Aggregation {
            evicts_on_watermark: false,
        } => "aggregation, every group kept (no watermark on a group key)",
        PipelineKind::Limit => "global limit (the count of rows emitted)",
        PipelineKind::Deduplication {
            within_watermark: true,
            ..
        } => "deduplication, each key kept for the watermark delay after its first row",
        PipelineKind::Deduplication {
            evicts_on_watermark: true,
            ..
        } => "deduplication, keys evicted once the watermark passes their event time",
        PipelineKind::Deduplication { .. } => {
            "deduplication, every key kept (no watermarked event time in the key)"
        }
        PipelineKind::SessionWindow {
            evicts_on_watermark: true,
        } => "session windows, closed sessions evicted by the watermark",
        PipelineKind::SessionWindow {
            evicts_on_watermark: false,
        } => "session windows, every session kept (no watermark on the session's event time)",
        PipelineKind::StreamJoin { evicts_state: true } => {
            "stream-stream join, both sides' rows kept until the watermark expires them"
        }
        PipelineKind::StreamJoin {
            evicts_state: false,
        } => "stream-stream join, every row of both sides kept (no state watermark)",
    }
}

fn watermark_line(w: &WatermarkSpec) -> String {
    format!("{}, {}", w.column, format_interval(w.delay_micros))
}

impl fmt::Display for QueryExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.query_name {
            Some(name) => writeln!(f, "== Streaming query `{name}` ({}) ==", self.pipeline)?,
            None => writeln!(f, "== Streaming query {} ==", self.pipeline)?,
        }
        writeln!(f, "Source:      {}", self.source)?;
        writeln!(f, "Sink:        {}", self.sink)?;
        writeln!(f, "Output mode: {}", self.output_mode)?;
        writeln!(f, "Trigger:     {}", self.trigger)?;
        match &self.checkpoint {
            Some(c) => writeln!(
                f,
                "Checkpoint:  {} (a state snapshot every {} batches)",
                c.location.display(),
                c.snapshot_interval
            )?,
            None => writeln!(f, "Checkpoint:  none")?,
        }
        writeln!(f, "State:       {}", self.state)?;
        if self.watermarks.is_empty() {
            writeln!(f, "Watermark:   none")?;
        }
        for w in &self.watermarks {
            writeln!(f, "Watermark:   {w}")?;
        }
        writeln!(f, "== Compiled plan ==")?;
        for line in self.compiled_plan.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::Trigger;

    const INFO: PipelineInfo = PipelineInfo {
        name: "RoomWindows",
        kind: PipelineKind::Aggregation {
            evicts_on_watermark: true,
        },
        watermarks: &[WatermarkSpec {
            column: "timestamp",
            delay_micros: 30_000_000,
        }],
        unsupported_modes: &[],
        fingerprint: 0,
        plan: "Source Rate\nQuery RoomWindows\nAggregate [window, room], [count]",
        has_scan_filters: false,
        input_columns: None,
    };

    #[test]
    fn shows_the_runtime_side_then_the_compiled_plan() {
        let e = QueryExplanation::new(
            &INFO,
            Some("rooms".into()),
            "MemoryStream[timestamp,room]".into(),
            "MemorySink".into(),
            OutputMode::Append,
            Trigger::ProcessingTime(std::time::Duration::from_secs(5)),
            Some(CheckpointExplanation {
                location: "ckpt".into(),
                snapshot_interval: 10,
            }),
        );
        assert_eq!(
            e.to_string(),
            "== Streaming query `rooms` (RoomWindows) ==
Source:      MemoryStream[timestamp,room]
Sink:        MemorySink
Output mode: Append
Trigger:     ProcessingTime(5 seconds)
Checkpoint:  ckpt (a state snapshot every 10 batches)
State:       aggregation, finished groups evicted by the watermark
Watermark:   timestamp, 30 seconds
== Compiled plan ==
Source Rate
Query RoomWindows
Aggregate [window, room], [count]
"
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["outputMode"], "Append");
        assert_eq!(json["trigger"], "ProcessingTime(5 seconds)");
        assert_eq!(json["checkpoint"]["snapshotInterval"], 10);
        assert_eq!(json["watermarks"][0], "timestamp, 30 seconds");
    }

    #[test]
    fn a_stateless_query_without_a_name_or_checkpoint() {
        let info = PipelineInfo {
            kind: PipelineKind::Stateless,
            watermarks: &[],
            ..INFO
        };
        let e = QueryExplanation::new(
            &info,
            None,
            "s".into(),
            "k".into(),
            OutputMode::Update,
            Trigger::AvailableNow,
            None,
        );
        let text = e.to_string();
        assert!(
            text.starts_with("== Streaming query RoomWindows ==\n"),
            "{text}"
        );
        assert!(text.contains("\nTrigger:     AvailableNow\n"), "{text}");
        assert!(text.contains("\nCheckpoint:  none\n"), "{text}");
        assert!(text.contains("\nState:       none (stateless)\n"), "{text}");
        assert!(text.contains("\nWatermark:   none\n"), "{text}");
    }
}
