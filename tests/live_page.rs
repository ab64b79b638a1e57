//! The live page's JSON API and `/metrics` over HTTP (cargo feature `ui`): every figure served
//! equals what the queries' handles report.
//!
//! The server lists every query of the process, and the tests of this file run at once, so
//! each test looks only at its own queries (by run id, or by the `query_id` label).

#![cfg(feature = "ui")]

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sluice::prelude::*;
use sluice::progress::{BATCH_DURATION_BUCKETS, StreamingQueryProgress, spark_progress_time};

mod common;
use common::at;

sluice::pipeline! {
    schema Reading { ts: Timestamp, room: String, temperature: f64 }

    /// Readings per room in 10-second windows, final 10 s after a window ends.
    query RoomWindows from Reading {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), room;
        aggregate n = count(), avg_temp = avg(temperature);
        select room, start = window.start, n, avg_temp;
    }

    /// Readings above 25 °C.
    query HotReadings from Reading {
        where temperature > 25;
        select ts, room, temperature;
    }

    /// Fails with DIVIDE_BY_ZERO on a reading of 0 °C.
    query Inverse from Reading {
        select room, inverse = 1 / temperature;
    }
}

fn reading(secs: i64, room: &str, temperature: f64) -> Reading {
    Reading {
        ts: at("10:00:00").plus_micros(secs * 1_000_000),
        room: room.to_string(),
        temperature,
    }
}

/// Two queries over the same four batches, pushed before they start so each reads one batch
/// per trigger: a windowed aggregation (the last batch's reading is late and dropped) and a
/// filter.
async fn start_two_queries(prefix: &str) -> (StreamingQuery, StreamingQuery) {
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data([
        reading(1, "a", 21.0),
        reading(2, "b", 26.0),
        reading(3, "a", 27.0),
    ]);
    stream.add_data([reading(30, "a", 28.0)]);
    stream.add_data([reading(31, "b", 22.0)]);
    // The watermark is 20 s now: a reading in window [0, 10) is late.
    stream.add_data([reading(5, "b", 29.0)]);
    let windows = RoomWindows::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .query_name(format!("{prefix}-windows"))
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    let hot = HotReadings::read_stream(stream.clone())
        .write_stream()
        .query_name(format!("{prefix}-hot"))
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    windows.process_all_available().await.unwrap();
    hot.process_all_available().await.unwrap();
    assert_eq!(windows.recent_progress().len(), 4);
    assert_eq!(hot.recent_progress().len(), 4);
    let dropped: Vec<u64> = windows
        .recent_progress()
        .iter()
        .map(|p| p.rows_dropped_by_watermark())
        .collect();
    assert_eq!(dropped, [0, 0, 0, 1]);
    (windows, hot)
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("the live page answers")
}

async fn get_json(url: &str) -> (reqwest::StatusCode, Value) {
    let response = get(url).await;
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(content_type, "application/json", "{url}");
    (status, response.json().await.unwrap())
}

fn json_of(p: &StreamingQueryProgress) -> Value {
    serde_json::from_str(&p.json()).unwrap()
}

fn sum(q: &StreamingQuery, f: impl Fn(&StreamingQueryProgress) -> u64) -> u64 {
    q.recent_progress().iter().map(|p| f(p)).sum()
}

/// The entry of `q`'s run in `/api/queries`.
fn entry<'a>(list: &'a Value, q: &StreamingQuery) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["runId"] == q.run_id().to_string())
        .unwrap_or_else(|| panic!("{} is not listed in {list}", q.run_id()))
}

#[tokio::test]
async fn the_api_lists_every_query_with_the_figures_of_its_handle() {
    let ui = sluice::ui::serve("127.0.0.1:0").unwrap();
    let base = ui.url();
    let (windows, hot) = start_two_queries("api").await;

    let (status, list) = get_json(&format!("{base}api/queries")).await;
    assert_eq!(status, 200);
    for q in [&windows, &hot] {
        let e = entry(&list, q);
        let last = q.last_progress().unwrap();
        assert_eq!(e["id"], q.id().to_string());
        assert_eq!(e["name"], q.name().unwrap());
        assert_eq!(e["status"], "RUNNING");
        assert_eq!(e["statusMessage"], q.status().message);
        assert_eq!(e["exception"], Value::Null);
        assert_eq!(
            e["startTimestamp"],
            spark_progress_time(q.start_timestamp())
        );
        assert_eq!(e["batches"], q.recent_progress().len());
        assert_eq!(e["latestBatchId"], last.batch_id);
        assert_eq!(e["inputRowsPerSecond"], last.input_rows_per_second);
        assert_eq!(e["processedRowsPerSecond"], last.processed_rows_per_second);
        assert_eq!(e["latestBatchDurationMs"], last.batch_duration);
        assert_eq!(
            e["backlog"],
            json!({"unit": "rows", "pending": 0}),
            "the memory stream reports the rows left"
        );
        assert!(e["uptimeMs"].as_u64().is_some());
    }
    let w = entry(&list, &windows);
    let last = windows.last_progress().unwrap();
    assert_eq!(w["pipeline"], "RoomWindows");
    assert_eq!(
        w["watermark"],
        spark_progress_time(last.watermark().unwrap())
    );
    assert_eq!(w["watermark"], "2024-01-01T10:00:21.000Z");
    assert_eq!(w["stateRows"], last.state_operators[0].num_rows_total);
    let h = entry(&list, &hot);
    assert_eq!(h["watermark"], Value::Null, "no watermark");
    assert_eq!(h["stateRows"], Value::Null, "stateless");

    // One query in full, by its query id or its run id.
    for id in [windows.id(), windows.run_id()] {
        let (status, detail) = get_json(&format!("{base}api/queries/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(detail["runId"], windows.run_id().to_string());
        assert_eq!(
            detail["totals"],
            json!({
                "batches": 4,
                "inputRows": sum(&windows, |p| p.num_input_rows),
                "outputRows": sum(&windows, |p| p.sink.num_output_rows),
                "rowsDroppedByWatermark": 1,
                "malformedRows": 0,
            })
        );
        assert_eq!(detail["totals"]["inputRows"], 6);
        assert_eq!(detail["recentProgress"], 4);
        assert_eq!(detail["plan"], windows.explain().to_string());
        assert_eq!(detail["explain"]["outputMode"], "Update");
        assert_eq!(detail["explain"]["watermarks"], json!(["ts, 10 seconds"]));
    }

    // Its progress reports, as the handle has them.
    let all: Vec<Value> = windows
        .recent_progress()
        .iter()
        .map(|p| json_of(p))
        .collect();
    let (status, reports) = get_json(&format!("{base}api/queries/{}/progress", windows.id())).await;
    assert_eq!(status, 200);
    assert_eq!(reports, Value::Array(all.clone()));
    let (_, last_two) = get_json(&format!(
        "{base}api/queries/{}/progress?last=2",
        windows.id()
    ))
    .await;
    assert_eq!(last_two, Value::Array(all[2..].to_vec()));
    let (_, none) = get_json(&format!("{base}api/queries/{}/progress?last=0", hot.id())).await;
    assert_eq!(none, json!([]));
    let (_, more) = get_json(&format!("{base}api/queries/{}/progress?last=500", hot.id())).await;
    assert_eq!(more.as_array().unwrap().len(), hot.recent_progress().len());

    // Requests the API cannot answer.
    let unknown = uuid::Uuid::new_v4();
    for (path, status, error) in [
        (
            "api/queries/not-a-uuid".to_string(),
            400,
            "`not-a-uuid` is not a query id (a UUID)".to_string(),
        ),
        (
            format!("api/queries/{unknown}"),
            404,
            format!("no query with id {unknown}"),
        ),
        (
            format!("api/queries/{unknown}/progress"),
            404,
            format!("no query with id {unknown}"),
        ),
        (
            format!("api/queries/{}/progress?last=many", windows.id()),
            400,
            "`last` must be a whole number, found `many`".to_string(),
        ),
        (
            format!("api/queries/{}/progress?first=1", windows.id()),
            400,
            "unknown parameter `first`; expected `last`".to_string(),
        ),
        (
            "api/nothing".to_string(),
            404,
            "no such API: /api/nothing".to_string(),
        ),
    ] {
        let (got, body) = get_json(&format!("{base}{path}")).await;
        assert_eq!(got.as_u16(), status, "{path}");
        assert_eq!(body, json!({ "error": error }), "{path}");
    }

    // The page and its assets.
    for (path, content_type, contains) in [
        (
            "",
            "text/html; charset=utf-8",
            "<script src=\"/assets/app.js\"></script>",
        ),
        (
            &format!("queries/{}", windows.run_id()) as &str,
            "text/html; charset=utf-8",
            "<main id=\"app\">",
        ),
        (
            "assets/app.js",
            "text/javascript; charset=utf-8",
            "/api/queries",
        ),
        ("assets/style.css", "text/css; charset=utf-8", ".chart"),
    ] {
        let response = get(&format!("{base}{path}")).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains(contains), "{path}: {body}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
    }
    assert_eq!(get(&format!("{base}elsewhere")).await.status(), 404);

    windows.stop().await;
    hot.stop().await;
    let (_, list) = get_json(&format!("{base}api/queries")).await;
    assert_eq!(entry(&list, &windows)["status"], "FINISHED");
    assert_eq!(entry(&list, &windows)["statusMessage"], "Stopped");
    ui.shutdown();
}

#[tokio::test]
async fn a_continuous_query_is_served_like_any_other() {
    let ui = sluice::ui::serve("127.0.0.1:0").unwrap();
    let base = ui.url();
    let stream = MemoryStream::<Reading>::new();
    let q = HotReadings::read_stream(stream.clone())
        .write_stream()
        .foreach(|_: HotReadingsRow| ())
        .query_name("api_continuous")
        .trigger(Trigger::continuous("50 milliseconds").unwrap())
        .start()
        .unwrap();
    stream.add_data([reading(1, "a", 21.0), reading(2, "b", 26.0)]);
    q.process_all_available().await.unwrap();
    stream.add_data([reading(3, "a", 27.0)]);
    q.process_all_available().await.unwrap();

    let (_, list) = get_json(&format!("{base}api/queries")).await;
    let e = entry(&list, &q);
    let last = q.last_progress().unwrap();
    assert_eq!(e["status"], "RUNNING");
    assert_eq!(e["statusMessage"], "Running");
    assert_eq!(e["batches"], q.recent_progress().len());
    assert_eq!(
        e["latestBatchId"], last.batch_id,
        "the last epoch with rows"
    );
    assert_eq!(e["inputRowsPerSecond"], last.input_rows_per_second);
    let (_, detail) = get_json(&format!("{base}api/queries/{}", q.run_id())).await;
    assert_eq!(detail["explain"]["trigger"], "Continuous(50 milliseconds)");
    assert_eq!(detail["totals"]["inputRows"], 3);
    assert_eq!(detail["totals"]["outputRows"], 2);
    let (_, reports) = get_json(&format!("{base}api/queries/{}/progress", q.id())).await;
    let all: Vec<Value> = q.recent_progress().iter().map(|p| json_of(p)).collect();
    assert_eq!(reports, Value::Array(all));
    q.stop().await;
}

/// `/metrics` parsed: metric name → samples; and the `# TYPE` of each family.
/// One sample of `/metrics`: its labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_metrics(text: &str) -> (BTreeMap<String, Vec<Sample>>, BTreeMap<String, String>) {
    let mut samples: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.strip_suffix('}').unwrap()),
            None => (series, ""),
        };
        let map = parse_labels(labels);
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a number: {line}")),
        };
        samples
            .entry(name.to_string())
            .or_default()
            .push(Sample { labels: map, value });
    }
    (samples, types)
}

/// `a="x",b="y, \"z\""` → `{a: x, b: y, "z"}` (the text format escapes `\\`, `\"`, `\n`).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "a quoted value after {key}");
        let mut value = String::new();
        loop {
            match chars.next().expect("a closing quote") {
                '"' => break,
                '\\' => match chars.next().unwrap() {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

/// The samples of `name` for query `q` (its `query_id` label).
fn values(metrics: &BTreeMap<String, Vec<Sample>>, name: &str, q: &StreamingQuery) -> Vec<Sample> {
    metrics
        .get(name)
        .map(|all| {
            all.iter()
                .filter(|s| s.labels.get("query_id") == Some(&q.id().to_string()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The one value of `name` for `q` (`None` if it has no sample).
fn value(metrics: &BTreeMap<String, Vec<Sample>>, name: &str, q: &StreamingQuery) -> Option<f64> {
    let samples = values(metrics, name, q);
    assert!(samples.len() <= 1, "{name}: {samples:?}");
    samples.first().map(|s| {
        assert_eq!(
            s.labels.get("query_name").map(String::as_str),
            Some(q.name().unwrap_or_default())
        );
        s.value
    })
}

async fn scrape(base: &str) -> (BTreeMap<String, Vec<Sample>>, BTreeMap<String, String>) {
    let response = get(&format!("{base}metrics")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse_metrics(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_equal_the_progress_of_the_handles() {
    let ui = sluice::ui::serve("127.0.0.1:0").unwrap();
    let base = ui.url();
    let (windows, hot) = start_two_queries("metrics").await;

    // A file query that read 2 of 5 files and waits an hour for its next trigger.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5 {
        std::fs::write(
            dir.path().join(format!("{i}.csv")),
            format!("2024-01-01T10:00:0{i}Z,r{i},30\n"),
        )
        .unwrap();
    }
    let files = HotReadings::read_stream(
        FileSource::<Reading>::csv(dir.path())
            .max_files_per_trigger(2)
            .settle_time(Duration::ZERO),
    )
    .write_stream()
    .query_name("metrics-files")
    .trigger(Trigger::processing_time("1 hour").unwrap())
    .foreach_batch(|_, _| ())
    .start()
    .unwrap();
    while files.recent_progress().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // A query that failed.
    let failing_stream = MemoryStream::<Reading>::new();
    let failing = Inverse::read_stream(failing_stream.clone())
        .write_stream()
        .query_name("metrics-failing")
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    failing_stream.add_data([reading(0, "a", 0.0)]);
    assert!(failing.await_termination().await.is_err());

    let (m, types) = scrape(&base).await;
    for (family, kind) in [
        ("sluice_query_batches_total", "counter"),
        ("sluice_query_input_rows_total", "counter"),
        ("sluice_query_output_rows_total", "counter"),
        ("sluice_query_rows_dropped_by_watermark_total", "counter"),
        ("sluice_query_malformed_rows_total", "counter"),
        ("sluice_query_failures_total", "counter"),
        ("sluice_query_active", "gauge"),
        ("sluice_query_watermark_timestamp_seconds", "gauge"),
        ("sluice_query_state_rows", "gauge"),
        ("sluice_query_state_memory_bytes", "gauge"),
        ("sluice_query_input_rows_per_second", "gauge"),
        ("sluice_query_processed_rows_per_second", "gauge"),
        ("sluice_query_batch_duration_seconds", "histogram"),
        ("sluice_source_backlog_files", "gauge"),
        ("sluice_source_backlog_rows", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }

    for q in [&windows, &hot, &files] {
        let recent = q.recent_progress();
        let last = q.last_progress().unwrap();
        let total = |f: &dyn Fn(&StreamingQueryProgress) -> u64| sum(q, f) as f64;
        assert_eq!(
            value(&m, "sluice_query_batches_total", q),
            Some(recent.len() as f64)
        );
        assert_eq!(
            value(&m, "sluice_query_input_rows_total", q),
            Some(total(&|p| p.num_input_rows))
        );
        assert_eq!(
            value(&m, "sluice_query_output_rows_total", q),
            Some(total(&|p| p.sink.num_output_rows))
        );
        assert_eq!(
            value(&m, "sluice_query_rows_dropped_by_watermark_total", q),
            Some(total(&|p| p.rows_dropped_by_watermark()))
        );
        assert_eq!(
            value(&m, "sluice_query_malformed_rows_total", q),
            Some(total(&|p| p
                .sources
                .iter()
                .map(|s| s.num_malformed_rows)
                .sum()))
        );
        assert_eq!(value(&m, "sluice_query_failures_total", q), Some(0.0));
        assert_eq!(value(&m, "sluice_query_active", q), Some(1.0));
        assert_eq!(
            value(&m, "sluice_query_input_rows_per_second", q),
            Some(last.input_rows_per_second)
        );
        assert_eq!(
            value(&m, "sluice_query_processed_rows_per_second", q),
            Some(last.processed_rows_per_second)
        );
        // The histogram counts every batch by its duration.
        let durations: Vec<f64> = recent
            .iter()
            .map(|p| p.batch_duration as f64 / 1000.0)
            .collect();
        assert_eq!(
            value(&m, "sluice_query_batch_duration_seconds_count", q),
            Some(recent.len() as f64)
        );
        assert_eq!(
            value(&m, "sluice_query_batch_duration_seconds_sum", q),
            Some(total(&|p| p.batch_duration) / 1000.0)
        );
        let buckets = values(&m, "sluice_query_batch_duration_seconds_bucket", q);
        assert_eq!(buckets.len(), BATCH_DURATION_BUCKETS.len() + 1);
        for b in &buckets {
            let le: f64 = match b.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            let expected = durations.iter().filter(|&&d| d <= le).count() as f64;
            assert_eq!(b.value, expected, "bucket le={le}");
        }
    }

    // State and watermark: the stateful query only.
    let last = windows.last_progress().unwrap();
    assert_eq!(value(&m, "sluice_query_batches_total", &windows), Some(4.0));
    assert_eq!(
        value(&m, "sluice_query_rows_dropped_by_watermark_total", &windows),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "sluice_query_watermark_timestamp_seconds", &windows),
        Some(last.watermark().unwrap().as_micros() as f64 / 1e6)
    );
    assert_eq!(
        value(&m, "sluice_query_state_rows", &windows),
        Some(last.state_operators[0].num_rows_total as f64)
    );
    assert_eq!(
        value(&m, "sluice_query_state_memory_bytes", &windows),
        Some(last.state_operators[0].memory_used_bytes as f64)
    );
    assert!(last.state_operators[0].memory_used_bytes > 0);
    for q in [&hot, &files] {
        assert_eq!(value(&m, "sluice_query_state_rows", q), None, "stateless");
        assert_eq!(
            value(&m, "sluice_query_watermark_timestamp_seconds", q),
            None
        );
    }

    // Backlogs: rows for the memory stream, files for the file source.
    let files_backlog = values(&m, "sluice_source_backlog_files", &files);
    let described = files.last_progress().unwrap().sources[0]
        .description
        .clone();
    assert_eq!(files_backlog.len(), 1);
    assert_eq!(files_backlog[0].value, 3.0, "two of five files read");
    assert_eq!(files_backlog[0].labels["source"], described);
    assert_eq!(files_backlog[0].labels["partition"], "");
    assert_eq!(
        files.last_progress().unwrap().sources[0]
            .backlog
            .as_ref()
            .unwrap()
            .backlog
            .pending,
        3
    );
    let rows_backlog = values(&m, "sluice_source_backlog_rows", &windows);
    assert_eq!(rows_backlog.len(), 1);
    assert_eq!(rows_backlog[0].value, 0.0);
    assert!(values(&m, "sluice_source_backlog_files", &windows).is_empty());

    // The failed query.
    assert_eq!(
        value(&m, "sluice_query_failures_total", &failing),
        Some(1.0)
    );
    assert_eq!(value(&m, "sluice_query_active", &failing), Some(0.0));
    assert_eq!(value(&m, "sluice_query_batches_total", &failing), Some(0.0));
    let (_, list) = get_json(&format!("{base}api/queries")).await;
    let f = entry(&list, &failing);
    assert_eq!(f["status"], "FAILED");
    assert_eq!(
        f["exception"],
        failing.exception().unwrap().cause.to_string()
    );

    // A stopped query reads as inactive, its counters kept.
    hot.stop().await;
    let (m, _) = scrape(&base).await;
    assert_eq!(value(&m, "sluice_query_active", &hot), Some(0.0));
    assert_eq!(
        value(&m, "sluice_query_batches_total", &hot),
        Some(hot.recent_progress().len() as f64)
    );
    for q in [&windows, &files] {
        q.stop().await;
    }
    ui.shutdown();
}
