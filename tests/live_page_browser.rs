//! The live page in a real browser (cargo feature `ui`): headless Chromium, driven over the
//! DevTools protocol, loads the list and the pages of two running queries, sees them refresh
//! by themselves after a new batch, and finds on them the API's figures, charts with one point
//! per batch, the latest progress and the plan. Screenshots are kept under
//! `target/tmp/live-page/`.
//!
//! The browser is Debian's `chromium` (`scripts/test` installs it; `CHROMIUM=/path` picks
//! another). Without it this test fails, it never skips.

#![cfg(feature = "ui")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures_util::StreamExt;
use serde_json::Value;
use sluice::prelude::*;

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
}

fn reading(secs: i64, room: &str, temperature: f64) -> Reading {
    Reading {
        ts: at("10:00:00").plus_micros(secs * 1_000_000),
        room: room.to_string(),
        temperature,
    }
}

/// The browser: `$CHROMIUM`, else `chromium` on the `PATH`.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no `chromium` on the PATH: this test needs Debian's chromium package (scripts/test installs it) or CHROMIUM=/path/to/chromium"
            )
        })
}

/// Headless Chromium with the flags a closed network needs, on a fresh profile.
async fn launch(profile: &Path) -> Browser {
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .disable_default_args()
        .no_sandbox()
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
        ])
        .user_data_dir(profile)
        .window_size(1400, 1800)
        .viewport(Viewport {
            width: 1400,
            height: 1800,
            ..Viewport::default()
        })
        .launch_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(30))
        .build()
        .expect("a browser configuration");
    let (browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
    // The protocol's events must be read for commands to complete; messages this client does
    // not know are skipped.
    tokio::spawn(async move { while handler.next().await.is_some() {} });
    browser
}

/// Evaluates `js` (an expression giving a string) in the page.
async fn eval(page: &Page, js: &str) -> String {
    page.evaluate(js)
        .await
        .unwrap_or_else(|e| panic!("evaluate {js}: {e}"))
        .into_value::<String>()
        .unwrap_or_else(|e| panic!("evaluate {js}: {e}"))
}

/// Evaluates `js` (an expression giving any value) as JSON.
async fn eval_json(page: &Page, js: &str) -> Value {
    serde_json::from_str(&eval(page, &format!("JSON.stringify({js})")).await).unwrap()
}

/// Waits until `js` is true in the page, for at most 30 s.
async fn wait_until(page: &Page, js: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if eval_json(page, &format!("Boolean({js})")).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let state = eval(page, "document.body.innerText.slice(0, 2000)").await;
            panic!("the page never showed {what} ({js}); it shows:\n{state}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn refreshes(page: &Page) -> u64 {
    eval(page, "document.body.dataset.refreshes || '0'")
        .await
        .parse()
        .unwrap()
}

async fn api(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `data-value` of each `[data-figure]` of the query page.
async fn figures(page: &Page) -> serde_json::Map<String, Value> {
    let figures = eval_json(
        page,
        "Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.dataset.value]))",
    )
    .await;
    figures.as_object().unwrap().clone()
}

/// A figure shown as the API's value: numbers compared as numbers, text as text, absent
/// values as empty.
fn assert_figure(figures: &serde_json::Map<String, Value>, key: &str, api: &Value) {
    let shown = figures[key].as_str().unwrap();
    match api {
        Value::Null => assert_eq!(shown, "", "{key}"),
        Value::Number(n) => assert_eq!(shown.parse::<f64>().unwrap(), n.as_f64().unwrap(), "{key}"),
        Value::String(s) => assert_eq!(shown, s, "{key}"),
        other => panic!("{key}: unexpected {other}"),
    }
}

/// Each chart of the page: its `data-points`, how many point shapes it drew, and each
/// shape's `[batch id, value]`.
async fn charts(page: &Page) -> serde_json::Map<String, Value> {
    eval_json(
        page,
        "Object.fromEntries([...document.querySelectorAll('figure.chart')].map(c => [c.dataset.chart, {points: Number(c.dataset.points), shapes: c.querySelectorAll('.pt').length, values: [...c.querySelectorAll('.pt')].map(p => [Number(p.dataset.batch), Number(p.dataset.value)])}]))",
    )
    .await
    .as_object()
    .unwrap()
    .clone()
}

async fn screenshot(page: &Page, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-page");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .unwrap();
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is a real screenshot",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_of_running_queries_refreshes_and_shows_the_apis_figures() {
    let ui = sluice::ui::serve("127.0.0.1:0").unwrap();
    let base = ui.url();
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    stream.add_data([
        reading(1, "a", 21.0),
        reading(2, "b", 26.0),
        reading(3, "a", 27.0),
    ]);
    stream.add_data([reading(30, "a", 28.0), reading(31, "c", 30.0)]);
    stream.add_data([reading(32, "c", 26.0)]);
    // The watermark is 21 s now: a reading in window [0, 10) is dropped.
    stream.add_data([reading(5, "b", 29.0)]);
    // Processing time a little after the readings, so the watermark gap reads in seconds.
    let clock = Clock::starting_at(at("10:00:40"));
    let windows = RoomWindows::read_stream(stream.clone())
        .write_stream()
        .output_mode(Update)
        .query_name("browser-windows")
        .clock(clock)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    let hot = HotReadings::read_stream(stream.clone())
        .write_stream()
        .query_name("browser-hot")
        .clock(clock)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    windows.process_all_available().await.unwrap();
    hot.process_all_available().await.unwrap();

    let profile = tempfile::tempdir().unwrap();
    let mut browser = launch(profile.path()).await;
    let page = browser.new_page(base.as_str()).await.unwrap();

    // The list: both queries, with the API's figures.
    let row = |q: &StreamingQuery, field: &str| {
        format!(
            "document.querySelector('tr[data-run-id=\"{}\"] td[data-field=\"{field}\"]')",
            q.run_id()
        )
    };
    for q in [&windows, &hot] {
        wait_until(
            &page,
            &row(q, "batches"),
            &format!("{} listed", q.name().unwrap()),
        )
        .await;
    }
    let list = api(&base, "api/queries").await;
    for q in [&windows, &hot] {
        let entry = list
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["runId"] == q.run_id().to_string())
            .unwrap();
        for (field, key) in [
            ("batches", "batches"),
            ("status", "status"),
            ("name", "name"),
            ("watermark", "watermark"),
            ("stateRows", "stateRows"),
            ("latestBatchDuration", "latestBatchDurationMs"),
            ("inputRate", "inputRowsPerSecond"),
        ] {
            let shown = eval(&page, &format!("{}.dataset.value", row(q, field))).await;
            let mut figure = serde_json::Map::new();
            figure.insert(field.to_string(), Value::String(shown));
            assert_figure(&figure, field, &entry[key]);
        }
    }
    assert_eq!(
        eval(&page, &format!("{}.textContent", row(&windows, "status"))).await,
        "RUNNING"
    );
    screenshot(&page, "queries.png").await;

    // The windowed query's page.
    page.goto(format!("{base}queries/{}", windows.run_id()))
        .await
        .unwrap();
    let batches = windows.recent_progress().len();
    wait_until(
        &page,
        &format!("document.querySelector('[data-figure=batches]')?.dataset.value === '{batches}'"),
        "the first batches",
    )
    .await;

    // A new batch: the page shows it without being reloaded.
    let before = refreshes(&page).await;
    stream.add_data([reading(45, "a", 31.0), reading(46, "b", 19.0)]);
    windows.process_all_available().await.unwrap();
    hot.process_all_available().await.unwrap();
    let batches = windows.recent_progress().len();
    assert_eq!(
        batches, 6,
        "five data batches and the no-data batch the watermark asked for"
    );
    wait_until(
        &page,
        &format!("document.querySelector('[data-figure=batches]')?.dataset.value === '{batches}'"),
        "the new batch",
    )
    .await;
    assert!(refreshes(&page).await > before, "the page refreshed itself");
    // The page keeps polling: wait for a refresh that started after the last batch.
    let settled = refreshes(&page).await + 1;
    wait_until(
        &page,
        &format!("Number(document.body.dataset.refreshes) >= {settled}"),
        "another refresh",
    )
    .await;

    let detail = api(&base, &format!("api/queries/{}", windows.id())).await;
    let progress = api(&base, &format!("api/queries/{}/progress", windows.id())).await;
    let progress = progress.as_array().unwrap();
    assert_eq!(progress.len(), batches);
    let shown = figures(&page).await;
    for key in [
        "batches",
        "latestBatchId",
        "inputRowsPerSecond",
        "processedRowsPerSecond",
        "latestBatchDurationMs",
        "watermark",
        "stateRows",
        "startTimestamp",
    ] {
        let shown_key = if key == "startTimestamp" {
            "started"
        } else {
            key
        };
        let mut one = serde_json::Map::new();
        one.insert(shown_key.to_string(), shown[shown_key].clone());
        assert_figure(&one, shown_key, &detail[key]);
    }
    for key in [
        "inputRows",
        "outputRows",
        "rowsDroppedByWatermark",
        "malformedRows",
    ] {
        assert_figure(&shown, key, &detail["totals"][key]);
    }
    assert_eq!(detail["totals"]["rowsDroppedByWatermark"], 1);
    assert_eq!(detail["watermark"], "2024-01-01T10:00:36.000Z");

    // Every chart has a point per batch, and plots the API's numbers.
    let drawn = charts(&page).await;
    let n = batches as u64;
    for (chart, series) in [
        ("input-rate", 2),
        ("input-rows", 1),
        ("batch-duration", 1),
        ("operation-duration", 5),
        ("state-rows", 3),
        ("state-memory", 1),
        ("dropped-rows", 1),
        ("malformed-rows", 1),
        ("backlog", 1),
    ] {
        let c = &drawn[chart];
        assert_eq!(c["points"], n, "{chart}: {c}");
        assert_eq!(c["shapes"], n * series, "{chart}: {c}");
    }
    // The points of a one-series chart: `(batch id, value)`, as drawn.
    let plotted = |chart: &str| -> Vec<(u64, f64)> {
        drawn[chart]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    let expected = |f: &dyn Fn(&Value) -> f64| -> Vec<(u64, f64)> {
        progress
            .iter()
            .map(|p| (p["batchId"].as_u64().unwrap(), f(p)))
            .collect()
    };
    let number = |v: &Value| v.as_f64().unwrap();
    assert_eq!(
        plotted("input-rows"),
        expected(&|p| number(&p["numInputRows"]))
    );
    assert_eq!(
        plotted("batch-duration"),
        expected(&|p| number(&p["batchDuration"]))
    );
    assert_eq!(
        plotted("dropped-rows"),
        expected(&|p| number(&p["stateOperators"][0]["numRowsDroppedByWatermark"]))
    );
    assert_eq!(
        plotted("state-memory"),
        expected(&|p| number(&p["stateOperators"][0]["memoryUsedBytes"]))
    );
    assert_eq!(
        plotted("backlog"),
        expected(&|p| number(&p["sources"][0]["backlog"]["pending"]))
    );
    // Spark UI leaves out the batches that ran under the initial (epoch) watermark.
    let with_watermark: Vec<&Value> = progress
        .iter()
        .filter(|p| p["eventTime"]["watermark"] != "1970-01-01T00:00:00.000Z")
        .collect();
    assert_eq!(with_watermark.len(), batches - 1, "all but the first batch");
    assert_eq!(drawn["watermark-gap"]["points"], n - 1);
    assert_eq!(drawn["watermark-gap"]["shapes"], n - 1);
    let millis = |v: &Value| {
        sluice::time::Timestamp::parse(v.as_str().unwrap())
            .unwrap()
            .as_millis()
    };
    let gaps: Vec<(u64, f64)> = with_watermark
        .iter()
        .map(|p| {
            let gap = millis(&p["timestamp"]) - millis(&p["eventTime"]["watermark"]);
            (p["batchId"].as_u64().unwrap(), gap as f64 / 1000.0)
        })
        .collect();
    assert_eq!(plotted("watermark-gap"), gaps);
    assert_eq!(
        plotted("dropped-rows").iter().map(|p| p.1).sum::<f64>(),
        1.0
    );

    // The latest progress and the plan.
    let latest: Value = serde_json::from_str(
        &eval(
            &page,
            "document.getElementById('latest-progress').textContent",
        )
        .await,
    )
    .unwrap();
    assert_eq!(as_doubles(&latest), as_doubles(progress.last().unwrap()));
    assert_eq!(
        eval(&page, "document.getElementById('plan').textContent").await,
        windows.explain().to_string()
    );
    assert_eq!(
        eval(&page, "document.getElementById('backlog').dataset.pending").await,
        "0"
    );
    let shot = screenshot(&page, "query.png").await;
    eprintln!("screenshot of the query page: {}", shot.display());

    // The stateless query's page: no state charts, the rest drawn.
    page.goto(format!("{base}queries/{}", hot.id()))
        .await
        .unwrap();
    let hot_batches = hot.recent_progress().len();
    wait_until(
        &page,
        &format!(
            "document.querySelector('[data-figure=batches]')?.dataset.value === '{hot_batches}'"
        ),
        "the stateless query",
    )
    .await;
    let drawn = charts(&page).await;
    assert_eq!(drawn["input-rate"]["points"], hot_batches as u64);
    assert_eq!(drawn["state-rows"]["points"], 0);
    assert_eq!(
        eval(
            &page,
            "document.querySelector('[data-chart=state-rows] .empty').textContent"
        )
        .await,
        "stateless query: no state"
    );
    assert_eq!(
        eval(
            &page,
            "document.querySelector('[data-chart=watermark-gap] .empty').textContent"
        )
        .await,
        "no watermark"
    );
    screenshot(&page, "stateless-query.png").await;

    // A query that stopped reads as finished in the list.
    hot.stop().await;
    page.goto(base.as_str()).await.unwrap();
    wait_until(
        &page,
        &format!("{}?.dataset.value === 'FINISHED'", row(&hot, "status")),
        "the stopped query as finished",
    )
    .await;
    assert_eq!(
        eval(
            &page,
            &format!("{}.closest('table').id", row(&hot, "status"))
        )
        .await,
        "completed-queries"
    );
    assert_eq!(
        eval(
            &page,
            &format!("{}.closest('table').id", row(&windows, "status"))
        )
        .await,
        "active-queries"
    );

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    windows.stop().await;
    ui.shutdown();
}

/// `v` with every number as a double: JavaScript writes `0.0` as `0`.
fn as_doubles(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(as_doubles).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), as_doubles(v))).collect())
        }
        other => other.clone(),
    }
}
