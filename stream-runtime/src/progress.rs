//! Per-batch progress and query status: Spark's `StreamingQueryProgress` and
//! `StreamingQueryStatus`, with the same JSON field names.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::source::Backlog;
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
    /// The operator's own figures (Spark's `customMetrics`: a deduplication's
    /// `numDroppedDuplicateRows`). Left out of the JSON when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_metrics: BTreeMap<String, u64>,
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
    /// What the source still has to read after this batch, where it knows it (see
    /// [`Source::backlog`](crate::source::Source::backlog)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<BacklogProgress>,
}

/// A source's backlog in a progress report: what is left after the batch, and under
/// `Trigger::AvailableNow` how much of the run's work is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BacklogProgress {
    /// What is left, as the source reports it.
    #[serde(flatten)]
    pub backlog: Backlog,
    /// Under `Trigger::AvailableNow`: how much of `total` the run has read so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
    /// Under `Trigger::AvailableNow`: the backlog when the run started, all of which it reads
    /// before it stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl BacklogProgress {
    /// `backlog` as it stands after a batch, against the backlog `at_start` of an
    /// available-now run (`None` for other triggers).
    pub fn new(backlog: Backlog, at_start: Option<&Backlog>) -> Self {
        let total = at_start
            .filter(|start| start.unit == backlog.unit)
            .map(|start| start.pending);
        BacklogProgress {
            done: total.map(|t| t.saturating_sub(backlog.pending)),
            total,
            backlog,
        }
    }

    /// The fraction of an available-now run done, from 0 to 1 (`None` for other triggers).
    pub fn fraction_done(&self) -> Option<f64> {
        match (self.done, self.total) {
            (Some(_), Some(0)) => Some(1.0),
            (Some(done), Some(total)) => Some(done as f64 / total as f64),
            _ => None,
        }
    }
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

/// The upper bounds, in seconds, of the batch-duration histogram's buckets (the last bucket,
/// `+Inf`, is implicit): from a millisecond to ten minutes, the range of micro-batches.
pub const BATCH_DURATION_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 600.0,
];

/// What the batches of one query run add up to: the counters `/metrics` exports (the handle
/// keeps only the last [`RECENT_PROGRESS`](crate::query::RECENT_PROGRESS) reports), updated
/// with each progress report at the cost of a few additions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgressTotals {
    /// Batches run.
    pub batches: u64,
    /// Input rows read.
    pub input_rows: u64,
    /// Rows handed to the sink.
    pub output_rows: u64,
    /// Rows dropped as late by the watermark.
    pub rows_dropped_by_watermark: u64,
    /// Malformed records met by the sources.
    pub malformed_rows: u64,
    /// The sum of the batch durations, in ms.
    pub batch_duration_ms: u64,
    /// How many batches took at most each of [`BATCH_DURATION_BUCKETS`] (not cumulative: each
    /// batch counts in the first bucket it fits; the last entry counts longer batches).
    pub batch_duration_buckets: [u64; BATCH_DURATION_BUCKETS.len() + 1],
}

impl ProgressTotals {
    /// Adds one batch's figures.
    pub fn add(&mut self, p: &StreamingQueryProgress) {
        self.batches += 1;
        self.input_rows += p.num_input_rows;
        self.output_rows += p.sink.num_output_rows;
        self.rows_dropped_by_watermark += p.rows_dropped_by_watermark();
        self.malformed_rows += p.sources.iter().map(|s| s.num_malformed_rows).sum::<u64>();
        self.batch_duration_ms += p.batch_duration;
        let seconds = p.batch_duration as f64 / 1000.0;
        let bucket = BATCH_DURATION_BUCKETS
            .iter()
            .position(|&upper| seconds <= upper)
            .unwrap_or(BATCH_DURATION_BUCKETS.len());
        self.batch_duration_buckets[bucket] += 1;
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

    fn batch(
        id: u64,
        duration_ms: u64,
        input: u64,
        output: u64,
        dropped: u64,
    ) -> StreamingQueryProgress {
        StreamingQueryProgress {
            id: Uuid::nil(),
            run_id: Uuid::nil(),
            name: None,
            timestamp: Timestamp::EPOCH,
            batch_id: id,
            batch_duration: duration_ms,
            num_input_rows: input,
            input_rows_per_second: 0.0,
            processed_rows_per_second: 0.0,
            duration_ms: BTreeMap::new(),
            event_time: EventTimeProgress::default(),
            state_operators: vec![StateOperatorProgress {
                num_rows_dropped_by_watermark: dropped,
                ..Default::default()
            }],
            sources: vec![SourceProgress {
                description: "s".into(),
                start_offset: serde_json::Value::Null,
                end_offset: serde_json::Value::Null,
                latest_offset: serde_json::Value::Null,
                num_input_rows: input,
                input_rows_per_second: 0.0,
                processed_rows_per_second: 0.0,
                num_malformed_rows: id,
                num_malformed_rows_dropped: 0,
                metrics: BTreeMap::new(),
                backlog: None,
            }],
            sink: SinkProgress {
                description: "k".into(),
                num_output_rows: output,
            },
            num_malformed_records: 0,
        }
    }

    #[test]
    fn totals_add_up_batches_and_bucket_their_durations() {
        let mut totals = ProgressTotals::default();
        for p in [
            batch(0, 0, 10, 1, 0),
            batch(1, 1, 20, 2, 3),
            batch(2, 7, 30, 0, 0),
            batch(3, 1_000, 0, 0, 1),
            batch(4, 700_000, 5, 5, 0),
        ] {
            totals.add(&p);
        }
        assert_eq!(totals.batches, 5);
        assert_eq!(totals.input_rows, 65);
        assert_eq!(totals.output_rows, 8);
        assert_eq!(totals.rows_dropped_by_watermark, 4);
        assert_eq!(
            totals.malformed_rows, 10,
            "each batch had its id in malformed rows"
        );
        assert_eq!(totals.batch_duration_ms, 701_008);
        // 0 and 1 ms fit the first bucket (<= 1 ms), 7 ms the 10 ms one, 1 s the 1 s one,
        // 700 s none (the overflow bucket).
        let mut expected = [0; BATCH_DURATION_BUCKETS.len() + 1];
        expected[0] = 2;
        expected[3] = 1;
        expected[9] = 1;
        expected[BATCH_DURATION_BUCKETS.len()] = 1;
        assert_eq!(totals.batch_duration_buckets, expected);
    }

    #[test]
    fn backlog_progress_counts_an_available_now_run_done() {
        use crate::source::BacklogUnit;
        let start = Backlog::new(BacklogUnit::Files, 10);
        let p = BacklogProgress::new(Backlog::new(BacklogUnit::Files, 4), Some(&start));
        assert_eq!((p.done, p.total), (Some(6), Some(10)));
        assert_eq!(p.fraction_done(), Some(0.6));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"unit": "files", "pending": 4, "done": 6, "total": 10})
        );
        let open_ended = BacklogProgress::new(
            Backlog::per_partition(
                BacklogUnit::Rows,
                [("t-0".to_string(), 2), ("t-1".to_string(), 5)],
            ),
            None,
        );
        assert_eq!(open_ended.fraction_done(), None);
        assert_eq!(
            serde_json::to_value(&open_ended).unwrap(),
            serde_json::json!({"unit": "rows", "pending": 7, "partitions": {"t-0": 2, "t-1": 5}})
        );
        let nothing = BacklogProgress::new(
            Backlog::new(BacklogUnit::Files, 0),
            Some(&Backlog::new(BacklogUnit::Files, 0)),
        );
        assert_eq!(nothing.fraction_done(), Some(1.0));
    }
}
