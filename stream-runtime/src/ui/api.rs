//! The JSON API the live page polls: `/api/queries`, `/api/queries/{id}`,
//! `/api/queries/{id}/progress?last=N`. Field names follow Spark's progress JSON (camelCase).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use crate::explain::QueryExplanation;
use crate::manager::streams;
use crate::progress::{
    BacklogProgress, ProgressTotals, StreamingQueryProgress, spark_progress_time,
};
use crate::query::{RunSnapshot, StreamingQuery};

/// A query run as the list shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QuerySummary {
    id: Uuid,
    run_id: Uuid,
    name: Option<String>,
    /// The compiled query's name in the DSL.
    pipeline: &'static str,
    /// `RUNNING`, `FINISHED` or `FAILED`, as Spark UI's query tables.
    status: &'static str,
    /// What the query is doing (Spark's `status.message`).
    status_message: String,
    exception: Option<String>,
    start_timestamp: String,
    /// Since the start, until now or the termination.
    uptime_ms: i64,
    /// Batches this run completed.
    batches: u64,
    latest_batch_id: Option<u64>,
    input_rows_per_second: Option<f64>,
    processed_rows_per_second: Option<f64>,
    latest_batch_duration_ms: Option<u64>,
    watermark: Option<String>,
    state_rows: Option<u64>,
    backlog: Option<BacklogProgress>,
}

/// One query run in full (`/api/queries/{id}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryDetail {
    #[serde(flatten)]
    summary: QuerySummary,
    totals: Totals,
    /// How many progress reports the handle keeps now (`recent_progress`).
    recent_progress: usize,
    /// The plan as `explain()` prints it.
    plan: String,
    /// The plan's parts.
    explain: QueryExplanation,
}

/// What the run's batches add up to: the counters of `/metrics`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Totals {
    batches: u64,
    input_rows: u64,
    output_rows: u64,
    rows_dropped_by_watermark: u64,
    malformed_rows: u64,
}

impl From<&ProgressTotals> for Totals {
    fn from(t: &ProgressTotals) -> Self {
        Totals {
            batches: t.batches,
            input_rows: t.input_rows,
            output_rows: t.output_rows,
            rows_dropped_by_watermark: t.rows_dropped_by_watermark,
            malformed_rows: t.malformed_rows,
        }
    }
}

/// `RUNNING`, `FINISHED` or `FAILED`.
pub(super) fn status_name(snapshot: &RunSnapshot) -> &'static str {
    match (&snapshot.terminated_at, &snapshot.exception) {
        (None, _) => "RUNNING",
        (Some(_), None) => "FINISHED",
        (Some(_), Some(_)) => "FAILED",
    }
}

fn summary(query: &StreamingQuery, snapshot: &RunSnapshot) -> QuerySummary {
    let shared = &query.shared;
    let last: Option<&StreamingQueryProgress> = snapshot.last.as_deref();
    let until = snapshot.terminated_at.unwrap_or_else(|| shared.clock.now());
    QuerySummary {
        id: shared.id,
        run_id: shared.run_id,
        name: shared.name.clone(),
        pipeline: shared.explanation.pipeline,
        status: status_name(snapshot),
        status_message: snapshot.status.message.clone(),
        exception: snapshot.exception.as_ref().map(|e| e.to_string()),
        start_timestamp: spark_progress_time(shared.started_at),
        uptime_ms: (until.as_micros() - shared.started_at.as_micros()).max(0) / 1000,
        batches: snapshot.totals.batches,
        latest_batch_id: last.map(|p| p.batch_id),
        input_rows_per_second: last.map(|p| p.input_rows_per_second),
        processed_rows_per_second: last.map(|p| p.processed_rows_per_second),
        latest_batch_duration_ms: last.map(|p| p.batch_duration),
        watermark: last.and_then(|p| p.watermark()).map(spark_progress_time),
        state_rows: last
            .filter(|p| !p.state_operators.is_empty())
            .map(|p| p.state_operators.iter().map(|s| s.num_rows_total).sum()),
        backlog: last
            .and_then(|p| p.sources.first())
            .and_then(|s| s.backlog.clone()),
    }
}

/// A request the API cannot answer: a status and a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
}

fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(Body {
                error: self.message,
            }),
        )
            .into_response()
    }
}

fn json<T: Serialize>(value: T) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(value)).into_response()
}

/// The run `id` names (a run id, else the latest run of a query id), or the error response.
fn lookup(id: &str) -> Result<StreamingQuery, ApiError> {
    let uuid = Uuid::parse_str(id).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            format!("`{id}` is not a query id (a UUID)"),
        )
    })?;
    streams()
        .find(uuid)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no query with id {uuid}")))
}

/// `/api/queries`: every run the process keeps, in the order they started.
pub(super) async fn queries() -> Response {
    let list: Vec<QuerySummary> = streams()
        .queries()
        .iter()
        .map(|q| summary(q, &q.shared.snapshot()))
        .collect();
    json(list)
}

/// `/api/queries/{id}`.
pub(super) async fn query(Path(id): Path<String>) -> Result<Response, ApiError> {
    let query = lookup(&id)?;
    let snapshot = query.shared.snapshot();
    let explain = query.explain().clone();
    Ok(json(QueryDetail {
        summary: summary(&query, &snapshot),
        totals: Totals::from(&snapshot.totals),
        recent_progress: query.recent_progress().len(),
        plan: explain.to_string(),
        explain,
    }))
}

/// The `last` parameter: how many of the most recent reports (all when absent).
fn parse_last(raw: Option<&str>) -> Result<Option<usize>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut last = None;
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "last" {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("unknown parameter `{key}`; expected `last`"),
            ));
        }
        last = Some(value.parse::<usize>().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                format!("`last` must be a whole number, found `{value}`"),
            )
        })?);
    }
    Ok(last)
}

/// `/api/queries/{id}/progress?last=N`: the last `N` progress reports, oldest first.
pub(super) async fn progress(
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let last = parse_last(raw.as_deref())?;
    let query = lookup(&id)?;
    let recent: Vec<Arc<StreamingQueryProgress>> = query.recent_progress();
    let skip = last.map_or(0, |n| recent.len().saturating_sub(n));
    let reports: Vec<&StreamingQueryProgress> = recent[skip..].iter().map(|p| &**p).collect();
    Ok(json(reports))
}

/// Anything else: a JSON 404 under `/api`, a plain one elsewhere.
pub(super) async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        error(
            StatusCode::NOT_FOUND,
            format!("no such API: {}", uri.path()),
        )
        .into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            format!("not found: {}\n", uri.path()),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_is_a_whole_number() {
        assert_eq!(parse_last(None).ok(), Some(None));
        assert_eq!(parse_last(Some("last=3")).ok(), Some(Some(3)));
        assert_eq!(parse_last(Some("")).ok(), Some(None));
        assert!(parse_last(Some("last=-1")).is_err());
        assert!(parse_last(Some("first=1")).is_err());
    }
}
