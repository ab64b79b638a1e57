//! Per-batch progress and query status: Spark's `StreamingQueryProgress` and
//! `StreamingQueryStatus`, with the same JSON field names.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::time::Timestamp;

/// Formats a timestamp the way Spark's progress JSON does: `2024-01-01T10:00:15.000Z`.
pub fn spark_progress_time(ts: Timestamp) -> String {
    match ts.to_datetime() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ts.to_rfc3339(),
    }
}

fn ser_time<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&spark_progress_time(*ts))
}

fn ser_opt_time<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => s.serialize_str(&spark_progress_time(*t)),
        None => s.serialize_none(),
    }
}

/// What one micro-batch did (Spark's `StreamingQueryProgress`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamingQueryProgress {
    /// The query's id (stable across restarts from a checkpoint).
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// The query name, if one was given.
    pub name: Option<String>,
    /// When the trigger started (processing time).
    #[serde(serialize_with = "ser_time")]
    pub timestamp: Timestamp,
    /// The batch id.
    pub batch_id: u64,
    /// Wall-clock duration of the batch, in ms.
    pub batch_duration: u64,
    /// Input rows read in this batch.
    pub num_input_rows: u64,
    /// Input rows per second since the previous trigger started.
    pub input_rows_per_second: f64,
    /// Input rows per second of processing time.
    pub processed_rows_per_second: f64,
    /// Durations of the batch's phases, in ms: `latestOffset`, `getBatch`, `addBatch`,
    /// `walCommit`, `commitOffsets`, `triggerExecution`.
    pub duration_ms: BTreeMap<String, u64>,
    /// Event-time statistics and the watermark the batch ran under.
    pub event_time: EventTimeProgress,
    /// State figures of the stateful operator (empty for a stateless query).
    pub state_operators: Vec<StateOperatorProgress>,
    /// The source's figures.
    pub sources: Vec<SourceProgress>,
    /// The sink's figures.
    pub sink: SinkProgress,
    /// Payloads that `parse` clauses found malformed in this batch (kept with nulls, dropped,
    /// or failing the query), a figure Spark does not report. Left out of the JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_malformed_records: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl StreamingQueryProgress {
    /// The watermark the batch ran under (`None` when the query has no watermark).
    pub fn watermark(&self) -> Option<Timestamp> {
        self.event_time.watermark
    }

    /// Rows dropped as late by the watermark in this batch.
    pub fn rows_dropped_by_watermark(&self) -> u64 {
        self.state_operators
            .iter()
            .map(|s| s.num_rows_dropped_by_watermark)
            .sum()
    }

    /// The progress as JSON (Spark's `json`).
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("progress serialises")
    }

    /// The progress as indented JSON (Spark's `prettyJson`).
    pub fn pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("progress serialises")
    }
}

/// The `eventTime` part of a progress report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventTimeProgress {
    /// Mean event time of the batch's rows.
    #[serde(
        serialize_with = "ser_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub avg: Option<Timestamp>,
    /// Latest event time of the batch's rows.
    #[serde(
        serialize_with = "ser_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<Timestamp>,
    /// Earliest event time of the batch's rows.
    #[serde(
        serialize_with = "ser_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<Timestamp>,
    /// The watermark the batch ran under.
    #[serde(
        serialize_with = "ser_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub watermark: Option<Timestamp>,
}

/// State figures of a stateful operator (Spark's `StateOperatorProgress`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOperatorProgress {
    /// Spark's operator name (`stateStoreSave` for aggregations).
    pub operator_name: String,
    /// State rows held after the batch.
    pub num_rows_total: u64,
    /// State rows written in the batch.
    pub num_rows_updated: u64,
    /// State rows evicted in the batch.
    pub num_rows_removed: u64,
    /// Estimated memory used by the state, in bytes.
    pub memory_used_bytes: u64,
    /// Input rows (row-window pairs for sliding windows) dropped as late.
    pub num_rows_dropped_by_watermark: u64,
}

/// A source's figures (Spark's `SourceProgress`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceProgress {
    /// The source's description.
    pub description: String,
    /// Offset the batch started from (`null` for the first batch).
    pub start_offset: serde_json::Value,
    /// Offset the batch read up to.
    pub end_offset: serde_json::Value,
    /// The latest offset the source reported.
    pub latest_offset: serde_json::Value,
    /// Rows read from this source.
    pub num_input_rows: u64,
    /// Input rows per second since the previous trigger started.
    pub input_rows_per_second: f64,
    /// Input rows per second of processing time.
    pub processed_rows_per_second: f64,
    /// Records of this batch that the source's malformed-record policy (`mode`) acted on: kept
    /// with nulls (`PERMISSIVE`) or dropped. Not in Spark, which counts none of them.
    pub num_malformed_rows: u64,
    /// Of [`SourceProgress::num_malformed_rows`], the records dropped (`DROPMALFORMED`, or
    /// `PERMISSIVE` when a column that is not nullable cannot be read). They are not in
    /// `numInputRows`.
    pub num_malformed_rows_dropped: u64,
    /// Figures of this kind of source, as Spark's `metrics` (left out when empty): for Kafka
    /// `minOffsetsBehindLatest`, `maxOffsetsBehindLatest`, `avgOffsetsBehindLatest` (see
    /// [`Source::metrics`](crate::source::Source::metrics)); for files
    /// `numFilesChangedAfterRead`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, String>,
}

/// The sink's figures (Spark's `SinkProgress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkProgress {
    /// The sink's description.
    pub description: String,
    /// Rows handed to the sink in the batch.
    pub num_output_rows: u64,
}

/// What a query is doing right now (Spark's `StreamingQueryStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStatus {
    /// `Initializing sources`, `Waiting for data to arrive`, `Processing new data`,
    /// `Waiting for next trigger`, `Stopped`, or `Terminated with exception: ...`.
    pub message: String,
    /// Whether the last check found new data.
    pub is_data_available: bool,
    /// Whether a batch is running.
    pub is_trigger_active: bool,
}

impl QueryStatus {
    pub(crate) fn new(message: &str) -> Self {
        QueryStatus {
            message: message.to_string(),
            is_data_available: false,
            is_trigger_active: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_spark_names_and_time_format() {
        let p = StreamingQueryProgress {
            id: Uuid::nil(),
            run_id: Uuid::nil(),
            name: Some("q".into()),
            timestamp: Timestamp::parse("2024-01-01T10:00:00Z").unwrap(),
            batch_id: 3,
            batch_duration: 12,
            num_input_rows: 5,
            input_rows_per_second: 5.0,
            processed_rows_per_second: 416.6,
            duration_ms: BTreeMap::from([("triggerExecution".to_string(), 12)]),
            event_time: EventTimeProgress {
                watermark: Some(Timestamp::parse("2024-01-01T09:59:42Z").unwrap()),
                ..Default::default()
            },
            state_operators: vec![StateOperatorProgress {
                operator_name: "stateStoreSave".into(),
                num_rows_dropped_by_watermark: 2,
                ..Default::default()
            }],
            sources: vec![],
            sink: SinkProgress {
                description: "MemorySink".into(),
                num_output_rows: 0,
            },
            num_malformed_records: 0,
        };
        let json: serde_json::Value = serde_json::from_str(&p.json()).unwrap();
        // Sluice's own figure is left out while zero, so the JSON stays Spark's.
        assert!(json.get("numMalformedRecords").is_none());
        assert_eq!(json["batchId"], 3);
        assert_eq!(json["numInputRows"], 5);
        assert_eq!(json["timestamp"], "2024-01-01T10:00:00.000Z");
        assert_eq!(json["eventTime"]["watermark"], "2024-01-01T09:59:42.000Z");
        assert!(json["eventTime"].get("max").is_none());
        assert_eq!(json["stateOperators"][0]["numRowsDroppedByWatermark"], 2);
        assert_eq!(p.rows_dropped_by_watermark(), 2);
        assert!(p.pretty_json().contains("\n  \"batchId\": 3"));
    }
}
