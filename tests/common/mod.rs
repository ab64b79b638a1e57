//! Helpers shared by the integration tests: a paused processing-time clock, and sinks collecting
//! each batch's rows, as text or as typed rows.

// Each test file uses only some of these helpers.
#![allow(dead_code, unused_macros)]

pub(crate) mod crash;
pub(crate) mod examples;
#[cfg(feature = "kafka")]
pub(crate) mod kafka;
#[cfg(feature = "kafka")]
pub(crate) mod members;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice::prelude::*;

/// `2024-01-01T<time>Z`.
pub(crate) fn at(time: &str) -> Timestamp {
    Timestamp::parse(&format!("2024-01-01T{time}Z")).expect("a valid time")
}

/// A processing-time clock reading `2024-01-01T<time>Z` now. Under
/// `#[tokio::test(start_paused = true)]` it advances only as the test sleeps, so the rate
/// source's rows and every trigger are exact.
pub(crate) fn clock_at(time: &str) -> Clock {
    Clock::starting_at(at(time))
}

/// A row as text: its values as Spark's console prints them, separated by `" | "`.
pub(crate) fn line<R: Row>(row: &R) -> String {
    row.to_values()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Every batch a query emitted: `(batch id, rows as text)`.
pub(crate) type Batches = Vec<(u64, Vec<String>)>;

/// Collects the batches of a query (through `foreach_batch`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Collector {
    batches: Arc<Mutex<Batches>>,
}

impl Collector {
    /// A new, empty collector.
    pub(crate) fn new() -> Self {
        Collector::default()
    }

    /// The `foreach_batch` closure that records into this collector.
    pub(crate) fn sink<R: Row>(&self) -> impl FnMut(u64, Vec<R>) + Send + 'static {
        let batches = Arc::clone(&self.batches);
        move |id, rows| {
            let lines = rows.iter().map(line).collect();
            batches.lock().expect("collector lock").push((id, lines));
        }
    }

    /// The batches so far, each batch's rows in the order the query emitted them.
    pub(crate) fn in_order(&self) -> Batches {
        self.batches.lock().expect("collector lock").clone()
    }

    /// The batches so far, each batch's rows sorted (Spark does not define the order of an
    /// aggregation's rows within a batch).
    pub(crate) fn sorted(&self) -> Batches {
        let mut batches = self.in_order();
        for (_, rows) in &mut batches {
            rows.sort();
        }
        batches
    }

    /// The batches that emitted rows (rows sorted), and how many batches ran in all: for long
    /// runs whose batches are mostly empty.
    pub(crate) fn non_empty_sorted(&self) -> (Batches, usize) {
        let all = self.sorted();
        let ids: Vec<u64> = all.iter().map(|(id, _)| *id).collect();
        let expected_ids: Vec<u64> = (0..all.len() as u64).collect();
        assert_eq!(ids, expected_ids, "batch ids are consecutive from 0");
        let count = all.len();
        (
            all.into_iter()
                .filter(|(_, rows)| !rows.is_empty())
                .collect(),
            count,
        )
    }
}

/// Lets a query run for `millis` of processing time, then stops it.
pub(crate) async fn run_for(query: &StreamingQuery, millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    query.stop().await;
    assert!(query.exception().is_none(), "{:?}", query.exception());
}

/// `batches![0 => [], 1 => ["a | 1", "b | 2"]]`: expected [`Batches`].
macro_rules! batches {
    ($($id:literal => [$($row:expr),* $(,)?]),* $(,)?) => {
        vec![$(($id as u64, vec![$($row.to_string()),*])),*]
    };
}

/// Every batch a query emitted, as typed rows: `(batch id, rows)`.
pub(crate) type TypedBatches<R> = Arc<Mutex<Vec<(u64, Vec<R>)>>>;

/// A `foreach_batch` closure keeping each batch's typed rows, and where it keeps them.
pub(crate) fn typed_collector<R: Send + 'static>()
-> (TypedBatches<R>, impl FnMut(u64, Vec<R>) + Send + 'static) {
    let batches: TypedBatches<R> = Arc::default();
    let b = Arc::clone(&batches);
    (batches, move |id, rows| {
        b.lock().expect("collector lock").push((id, rows))
    })
}

/// Runs `P` over everything in `stream` (`Trigger::AvailableNow`) in output mode `mode`, and
/// returns the finished query and every batch it emitted.
pub(crate) async fn run_available_now<P, M>(
    stream: MemoryStream<P::Input>,
    mode: M,
) -> (StreamingQuery, Vec<(u64, Vec<P::Output>)>)
where
    P: Pipeline + Default,
    M: sluice::pipeline::OutputModeFor<P>,
{
    let (batches, sink) = typed_collector();
    let query = P::read_stream(stream)
        .write_stream()
        .output_mode(mode)
        .trigger(Trigger::AvailableNow)
        .foreach_batch(sink)
        .start()
        .expect("the query starts");
    query.await_termination().await.expect("the query runs");
    let batches = batches.lock().expect("collector lock").clone();
    (query, batches)
}

/// What the runtime logged (through `tracing`) while a [`LogCapture`] was in force.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl LogCapture {
    /// Captures what is logged on this thread from now until the guard is dropped: a
    /// `#[tokio::test]` runs its queries on its own thread, so their warnings land here.
    pub(crate) fn start() -> (LogCapture, tracing::subscriber::DefaultGuard) {
        let capture = LogCapture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().expect("log lock")).into_owned()
    }

    /// The lines logged so far that contain `needle`.
    pub(crate) fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer
            .lock()
            .expect("log lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
