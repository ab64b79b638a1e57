//! `/metrics`: every query's counters and gauges in the Prometheus text format (version 0.0.4),
//! read from the queries' handles at each scrape (`prometheus-client`'s `Collector`), so a
//! scrape shows exactly what the handles' progress says.
//!
//! Each series is labelled `query_name` (empty when the query has none) and `query_id`; a
//! query restarted in the same process (same id) is shown by its latest run, and its
//! `failures` count every run the process keeps. Source backlogs add `source` (the source's
//! description) and `partition` (empty for sources without partitions).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use uuid::Uuid;

use crate::manager::streams;
use crate::progress::{BATCH_DURATION_BUCKETS, StreamingQueryProgress};
use crate::query::RunSnapshot;
use crate::source::BacklogUnit;

type Labels = Vec<(&'static str, String)>;

/// A query as `/metrics` shows it: its latest run.
struct Run {
    labels: Labels,
    snapshot: RunSnapshot,
    /// Runs of this query id the process keeps that failed.
    failures: u64,
}

impl Run {
    fn last(&self) -> Option<&StreamingQueryProgress> {
        self.snapshot.last.as_deref()
    }
}

/// The latest run of each query id, in the order the queries first started.
fn runs() -> Vec<Run> {
    let mut order: Vec<Uuid> = Vec::new();
    let mut latest: HashMap<Uuid, Run> = HashMap::new();
    for query in streams().queries() {
        let snapshot = query.shared.snapshot();
        let failed = u64::from(snapshot.exception.is_some());
        let previous_failures = match latest.get(&query.id()) {
            Some(run) => run.failures,
            None => {
                order.push(query.id());
                0
            }
        };
        let labels = vec![
            ("query_name", query.name().unwrap_or_default().to_string()),
            ("query_id", query.id().to_string()),
        ];
        latest.insert(
            query.id(),
            Run {
                labels,
                snapshot,
                failures: previous_failures + failed,
            },
        );
    }
    order
        .into_iter()
        .filter_map(|id| latest.remove(&id))
        .collect()
}

/// The collector `/metrics` encodes.
#[derive(Debug)]
struct QueryCollector;

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    runs: &[Run],
    name: &str,
    help: &str,
    value: impl Fn(&Run) -> u64,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for run in runs {
        ConstCounter::new(value(run)).encode(family.encode_family(&run.labels)?)?;
    }
    Ok(())
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    runs: &[Run],
    (name, unit): (&str, Option<Unit>),
    help: &str,
    value: impl Fn(&Run) -> Option<f64>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
    for run in runs {
        if let Some(v) = value(run) {
            ConstGauge::new(v).encode(family.encode_family(&run.labels)?)?;
        }
    }
    Ok(())
}

fn state_sum(run: &Run, f: impl Fn(&crate::progress::StateOperatorProgress) -> u64) -> Option<f64> {
    let last = run.last()?;
    (!last.state_operators.is_empty())
        .then(|| last.state_operators.iter().map(f).sum::<u64>() as f64)
}

impl Collector for QueryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let runs = runs();
        let e = &mut encoder;
        counter(
            e,
            &runs,
            "sluice_query_batches",
            "Micro-batches completed",
            |r| r.snapshot.totals.batches,
        )?;
        counter(
            e,
            &runs,
            "sluice_query_input_rows",
            "Input rows read",
            |r| r.snapshot.totals.input_rows,
        )?;
        counter(
            e,
            &runs,
            "sluice_query_output_rows",
            "Rows handed to the sink",
            |r| r.snapshot.totals.output_rows,
        )?;
        counter(
            e,
            &runs,
            "sluice_query_rows_dropped_by_watermark",
            "Input rows dropped as later than the watermark",
            |r| r.snapshot.totals.rows_dropped_by_watermark,
        )?;
        counter(
            e,
            &runs,
            "sluice_query_malformed_rows",
            "Malformed input records met by the sources",
            |r| r.snapshot.totals.malformed_rows,
        )?;
        counter(
            e,
            &runs,
            "sluice_query_failures",
            "Runs of the query that terminated with an error",
            |r| r.failures,
        )?;
        gauge(
            e,
            &runs,
            ("sluice_query_active", None),
            "1 while the query runs, 0 once it terminated",
            |r| {
                Some(if r.snapshot.terminated_at.is_none() {
                    1.0
                } else {
                    0.0
                })
            },
        )?;
        gauge(
            e,
            &runs,
            ("sluice_query_watermark_timestamp", Some(Unit::Seconds)),
            "The watermark the latest batch ran under, in seconds since the epoch",
            |r| r.last()?.watermark().map(|w| w.as_micros() as f64 / 1e6),
        )?;
        gauge(
            e,
            &runs,
            ("sluice_query_state_rows", None),
            "State rows held after the latest batch",
            |r| state_sum(r, |s| s.num_rows_total),
        )?;
        gauge(
            e,
            &runs,
            ("sluice_query_state_memory", Some(Unit::Bytes)),
            "Estimated memory used by the state after the latest batch",
            |r| state_sum(r, |s| s.memory_used_bytes),
        )?;
        gauge(
            e,
            &runs,
            ("sluice_query_input_rows_per_second", None),
            "Input rate of the latest batch",
            |r| r.last().map(|p| p.input_rows_per_second),
        )?;
        gauge(
            e,
            &runs,
            ("sluice_query_processed_rows_per_second", None),
            "Processing rate of the latest batch",
            |r| r.last().map(|p| p.processed_rows_per_second),
        )?;
        batch_durations(e, &runs)?;
        for unit in [BacklogUnit::Files, BacklogUnit::Rows] {
            backlog(e, &runs, unit)?;
        }
        Ok(())
    }
}

/// `sluice_query_batch_duration_seconds`: a histogram of every batch of the run.
fn batch_durations(encoder: &mut DescriptorEncoder<'_>, runs: &[Run]) -> fmt::Result {
    let mut family = encoder.encode_descriptor(
        "sluice_query_batch_duration",
        "Micro-batch durations",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    for run in runs {
        let totals = &run.snapshot.totals;
        let buckets: Vec<(f64, u64)> = BATCH_DURATION_BUCKETS
            .iter()
            .copied()
            .zip(totals.batch_duration_buckets)
            .collect();
        family
            .encode_family(&run.labels)?
            .encode_histogram::<NoLabelSet>(
                totals.batch_duration_ms as f64 / 1000.0,
                totals.batches,
                &buckets,
                None,
            )?;
    }
    Ok(())
}

/// `sluice_source_backlog_files` / `_rows`: what each source has not read yet after the latest
/// batch, per partition where the source has partitions.
fn backlog(encoder: &mut DescriptorEncoder<'_>, runs: &[Run], unit: BacklogUnit) -> fmt::Result {
    let name = format!("sluice_source_backlog_{}", unit.as_str());
    let help = format!(
        "{} the source has that the query has not read yet, after the latest batch",
        match unit {
            BacklogUnit::Files => "Files",
            BacklogUnit::Rows => "Rows",
        }
    );
    let mut family = encoder.encode_descriptor(&name, &help, None, MetricType::Gauge)?;
    for run in runs {
        let Some(last) = run.last() else { continue };
        for source in &last.sources {
            let Some(b) = source.backlog.as_ref().map(|b| &b.backlog) else {
                continue;
            };
            if b.unit != unit {
                continue;
            }
            let mut series: Vec<(String, u64)> =
                b.partitions.iter().map(|(p, n)| (p.clone(), *n)).collect();
            if series.is_empty() {
                series.push((String::new(), b.pending));
            }
            for (partition, pending) in series {
                let mut labels = run.labels.clone();
                labels.push(("source", source.description.clone()));
                labels.push(("partition", partition));
                ConstGauge::new(pending).encode(family.encode_family(&labels)?)?;
            }
        }
    }
    Ok(())
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(QueryCollector));
        registry
    })
}

/// The `/metrics` text.
pub(crate) fn encode() -> String {
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, registry())
        .expect("writing to a String cannot fail");
    text
}

/// `GET /metrics`.
pub(super) async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        encode(),
    )
        .into_response()
}
