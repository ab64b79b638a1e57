//! The process's query manager (Spark's `spark.streams`): active queries, lookup by id,
//! `await_any_termination` with `reset_terminated`, and how many finished runs it keeps.
//!
//! The manager is process-wide and `await_any_termination` sees every query of the process, so
//! this file is its own test binary with one test, run in order.

use std::time::Duration;

use sluice::manager::RETAINED_TERMINATED_QUERIES;
use sluice::prelude::*;

sluice::pipeline! {
    schema Reading { room: String, temperature: f64 }

    query Readings from Reading {
        select room, temperature;
    }

    /// Fails with DIVIDE_BY_ZERO on a reading of 0 °C.
    query Inverse from Reading {
        select room, inverse = 1 / temperature;
    }
}

fn start_readings(name: &str) -> (MemoryStream<Reading>, StreamingQuery) {
    let stream = MemoryStream::<Reading>::new();
    let q = Readings::read_stream(stream.clone())
        .write_stream()
        .query_name(name)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    (stream, q)
}

const SHORT: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_lists_finds_and_awaits_the_queries_of_the_process() {
    let streams = sluice::streams();
    assert!(streams.active().is_empty());
    assert_eq!(
        streams.await_any_termination_timeout(SHORT).await.ok(),
        Some(false)
    );

    let (_, a) = start_readings("a");
    let (_, b) = start_readings("b");
    let active: Vec<_> = streams
        .active()
        .iter()
        .map(StreamingQuery::run_id)
        .collect();
    assert_eq!(
        active,
        [a.run_id(), b.run_id()],
        "in the order they started"
    );
    assert_eq!(streams.get(a.id()).map(|q| q.run_id()), Some(a.run_id()));
    assert!(streams.get(uuid::Uuid::new_v4()).is_none());
    assert_eq!(
        streams.find(b.run_id()).map(|q| q.id()),
        Some(b.id()),
        "found by run id too"
    );

    // A clean stop ends every wait, then and later, until reset.
    a.stop().await;
    streams.await_any_termination().await.unwrap();
    assert_eq!(
        streams.await_any_termination_timeout(SHORT).await.ok(),
        Some(true)
    );
    let active: Vec<_> = streams
        .active()
        .iter()
        .map(StreamingQuery::run_id)
        .collect();
    assert_eq!(active, [b.run_id()]);
    assert!(
        streams.get(a.id()).is_none(),
        "`get` finds active queries only"
    );
    assert_eq!(
        streams.find(a.id()).map(|q| q.run_id()),
        Some(a.run_id()),
        "a terminated run is still kept for the live page"
    );
    streams.reset_terminated();
    assert_eq!(
        streams.await_any_termination_timeout(SHORT).await.ok(),
        Some(false)
    );

    // A failure is what every wait reports, even after a later clean stop.
    let failing = MemoryStream::<Reading>::new();
    let f = Inverse::read_stream(failing.clone())
        .write_stream()
        .query_name("failing")
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    let waiter = tokio::spawn(async { sluice::streams().await_any_termination().await });
    failing.add_data([Reading {
        room: "a".into(),
        temperature: 0.0,
    }]);
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!(err.name, "failing");
    assert_eq!(err.cause.error_class(), Some("DIVIDE_BY_ZERO"));
    b.stop().await;
    let err = streams.await_any_termination().await.unwrap_err();
    assert_eq!(
        err.name, "failing",
        "the failure is kept over a later clean stop"
    );
    assert!(f.exception().is_some());
    streams.reset_terminated();
    assert_eq!(
        streams.await_any_termination_timeout(SHORT).await.ok(),
        Some(false)
    );

    // The manager keeps the last RETAINED_TERMINATED_QUERIES terminated runs, and every
    // active one.
    let (_, keeps_running) = start_readings("running");
    let mut finished = Vec::new();
    for i in 0..RETAINED_TERMINATED_QUERIES + 5 {
        let (_, q) = start_readings(&format!("short-{i}"));
        q.stop().await;
        finished.push(q.run_id());
    }
    let kept: Vec<_> = streams
        .queries()
        .iter()
        .map(StreamingQuery::run_id)
        .collect();
    assert_eq!(kept.len(), RETAINED_TERMINATED_QUERIES + 1);
    assert!(kept.contains(&keeps_running.run_id()));
    assert_eq!(
        kept.iter()
            .filter(|id| **id != keeps_running.run_id())
            .copied()
            .collect::<Vec<_>>(),
        finished[5..],
        "the oldest terminated runs are forgotten first"
    );
    keeps_running.stop().await;
}
