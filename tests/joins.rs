//! Stream-static joins end to end: a stream of readings joined with a static device table
//! given at `read_stream` time — inner and left outer joins, an extra condition, several
//! matching rows, null keys (which never match), composite keys, a join feeding an aggregation
//! — through the engine (`MemoryStream`, one push per batch, `Trigger::AvailableNow`) on one
//! thread and on several, with the exact rows of every batch.

mod common;

use std::sync::{Arc, Mutex};

use sluice::prelude::*;
use sluice::{BatchContext, OutputMode};

sluice::pipeline! {
    schema Reading { ts: Timestamp, device: Option<String>, site: i64, temp: f64 }

    /// The static side: one row per device, several for a device in two rooms.
    table Device { id: Option<String>, room: String, floor: i64, max_temp: Option<f64> }

    query Located from Reading join Device on device == id {
        select ts, device, room, temp;
    }

    query MaybeLocated from Reading left join Device on device == id {
        select ts, device, room, floor, temp;
    }

    query TooHot from Reading join Device on device == id and temp > max_temp {
        select device, room, temp, max_temp;
    }

    query TooHotOrUnknown from Reading left outer join Device on device == id and temp > max_temp {
        select device, room, temp;
    }

    query PerRoom from Reading join Device on device == id {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), room;
        aggregate n = count(*), hottest = max(temp);
    }

    query WarmOnes from Reading join Device on device == id {
        where temp > 20 and floor > 0;
        select device, room, temp;
    }

    table Site { site_id: i64, code: String, name: String }

    /// An INT key: the stream's BIGINT `site` joins it as BIGINT, as Spark widens it.
    table Level { level: Option<i32>, label: String }

    query Labelled from Reading join Level on site == level {
        select device, site, label;
    }

    query BySiteAndCode from Reading join Site on site == site_id and device == code {
        select device, site, name;
    }
}

const T0: i64 = 1_704_103_200_000_000; // 2024-01-01T10:00:00Z

fn at(secs: i64) -> Timestamp {
    Timestamp::from_micros(T0 + secs * 1_000_000)
}

fn secs(t: Timestamp) -> i64 {
    (t.as_micros() - T0) / 1_000_000
}

fn reading(secs: i64, device: Option<&str>, temp: f64) -> Reading {
    Reading {
        ts: at(secs),
        device: device.map(str::to_string),
        site: 1,
        temp,
    }
}

fn devices() -> Vec<Device> {
    let d = |id: Option<&str>, room: &str, floor, max_temp| Device {
        id: id.map(str::to_string),
        room: room.to_string(),
        floor,
        max_temp,
    };
    vec![
        d(Some("a"), "kitchen", 0, Some(25.0)),
        d(Some("b"), "hall", 1, None),
        // A device in two rooms: a reading of it gives two rows.
        d(Some("c"), "attic", 2, Some(30.0)),
        d(Some("c"), "cellar", -1, Some(10.0)),
        // A null key never matches, not even a reading with a null device.
        d(None, "nowhere", 9, Some(0.0)),
    ]
}

/// What a run gives back: each batch's id and rows.
type Batches<R> = Vec<(u64, Vec<R>)>;

fn s(v: &str) -> String {
    v.to_string()
}

/// Runs `P`, joined with `table`, over one batch per element of `batches`, on `threads`
/// threads; returns the rows of each batch and the query.
async fn run<P>(
    table: Vec<P::TableRow>,
    batches: Vec<Vec<Reading>>,
    threads: usize,
) -> (Batches<P::Output>, StreamingQuery)
where
    P: Pipeline<Input = Reading> + Default + sluice::writer::JoinTable,
{
    let stream = MemoryStream::<Reading>::new().max_batches_per_trigger(1);
    for b in batches {
        stream.add_data(b);
    }
    let out: Arc<Mutex<Batches<P::Output>>> = Arc::default();
    let sink = Arc::clone(&out);
    let query = P::read_stream(stream)
        .with_table(table)
        .write_stream()
        .output_mode_named("append")
        .parallelism(threads)
        .chunk_rows(2)
        .trigger(Trigger::AvailableNow)
        .foreach_batch(move |id, rows| sink.lock().unwrap().push((id, rows)))
        .start()
        .expect("the query starts");
    query.await_termination().await.expect("the query runs");
    let batches = out.lock().unwrap().clone();
    (batches, query)
}

fn batch_one() -> Vec<Reading> {
    vec![
        reading(1, Some("a"), 21.0),
        reading(2, Some("x"), 22.0),
        reading(3, Some("c"), 23.0),
        reading(4, None, 24.0),
        reading(5, Some("b"), 25.0),
    ]
}

#[tokio::test]
async fn an_inner_join_enriches_matching_rows_and_drops_the_rest() {
    for threads in [1, 4] {
        let (batches, query) = run::<Located>(
            devices(),
            vec![batch_one(), vec![], vec![reading(9, Some("a"), 1.5)]],
            threads,
        )
        .await;
        let rows: Batches<(i64, Option<String>, String, f64)> = batches
            .into_iter()
            .map(|(id, rows)| {
                (
                    id,
                    rows.into_iter()
                        .map(|r| (secs(r.ts), r.device, r.room, r.temp))
                        .collect(),
                )
            })
            .collect();
        // Stream order, and for a device in two rooms the table's order.
        assert_eq!(
            rows,
            [
                (
                    0,
                    vec![
                        (1, Some(s("a")), s("kitchen"), 21.0),
                        (3, Some(s("c")), s("attic"), 23.0),
                        (3, Some(s("c")), s("cellar"), 23.0),
                        (5, Some(s("b")), s("hall"), 25.0),
                    ]
                ),
                (1, vec![]),
                (2, vec![(9, Some(s("a")), s("kitchen"), 1.5)]),
            ],
            "{threads} threads"
        );
        // Input rows count the stream's rows, not the table's.
        let input: Vec<u64> = query
            .recent_progress()
            .iter()
            .map(|p| p.num_input_rows)
            .collect();
        assert_eq!(input, [5, 0, 1]);
    }
}

#[tokio::test]
async fn a_left_outer_join_pads_unmatched_rows_with_nulls() {
    for threads in [1, 4] {
        let (batches, _) = run::<MaybeLocated>(devices(), vec![batch_one()], threads).await;
        type Padded = (i64, Option<String>, Option<String>, Option<i64>);
        let rows: Vec<Padded> = batches[0]
            .1
            .iter()
            .map(|r| (secs(r.ts), r.device.clone(), r.room.clone(), r.floor))
            .collect();
        assert_eq!(
            rows,
            [
                (1, Some(s("a")), Some(s("kitchen")), Some(0)),
                (2, Some(s("x")), None, None),
                (3, Some(s("c")), Some(s("attic")), Some(2)),
                (3, Some(s("c")), Some(s("cellar")), Some(-1)),
                // A null key matches nothing, the null-keyed table row included.
                (4, None, None, None),
                (5, Some(s("b")), Some(s("hall")), Some(1)),
            ],
            "{threads} threads"
        );
    }
}

#[tokio::test]
async fn an_extra_condition_filters_an_inner_join_and_decides_a_left_joins_matches() {
    let input = vec![
        reading(1, Some("a"), 26.0), // kitchen: over 25
        reading(2, Some("a"), 20.0), // not over
        reading(3, Some("c"), 20.0), // over the cellar's 10, not the attic's 30
        reading(4, Some("b"), 99.0), // hall: no maximum, `temp > null` is null
        reading(5, Some("zz"), 99.0),
    ];
    let (inner, _) = run::<TooHot>(devices(), vec![input.clone()], 1).await;
    type Hot = (Option<String>, String, f64, Option<f64>);
    let rows: Vec<Hot> = inner[0]
        .1
        .iter()
        .map(|r| (r.device.clone(), r.room.clone(), r.temp, r.max_temp))
        .collect();
    assert_eq!(
        rows,
        [
            (Some(s("a")), s("kitchen"), 26.0, Some(25.0)),
            (Some(s("c")), s("cellar"), 20.0, Some(10.0)),
        ]
    );

    // Left outer: a row whose every match the condition rejects is padded, once.
    let (outer, _) = run::<TooHotOrUnknown>(devices(), vec![input], 4).await;
    let rows: Vec<(Option<String>, Option<String>, f64)> = outer[0]
        .1
        .iter()
        .map(|r| (r.device.clone(), r.room.clone(), r.temp))
        .collect();
    assert_eq!(
        rows,
        [
            (Some(s("a")), Some(s("kitchen")), 26.0),
            (Some(s("a")), None, 20.0),
            (Some(s("c")), Some(s("cellar")), 20.0),
            (Some(s("b")), None, 99.0),
            (Some(s("zz")), None, 99.0),
        ]
    );
}

#[tokio::test]
async fn a_join_feeds_an_aggregation_in_the_same_loop() {
    for threads in [1, 4] {
        let (batches, _) = run::<PerRoom>(
            devices(),
            vec![
                batch_one(),
                // Moves the watermark to 10:00:30: the windows of 10:00:00 close.
                vec![reading(40, Some("b"), 1.0)],
            ],
            threads,
        )
        .await;
        let mut closed: Vec<(i64, String, i64, f64)> = batches
            .iter()
            .flat_map(|(_, rows)| rows)
            .map(|r| (secs(r.window.start), r.room.clone(), r.n, r.hottest))
            .collect();
        closed.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            closed,
            [
                (0, s("attic"), 1, 23.0),
                (0, s("cellar"), 1, 23.0),
                (0, s("hall"), 1, 25.0),
                (0, s("kitchen"), 1, 21.0),
            ],
            "{threads} threads"
        );
    }
}

#[test]
fn filters_on_the_stream_run_before_the_probe_and_on_the_table_after() {
    let mut q = WarmOnes::default();
    sluice::writer::JoinTable::set_table(
        &mut q,
        Arc::new(<WarmOnes as sluice::writer::JoinTable>::hash_table(
            devices(),
        )),
    );
    let mut ctx = BatchContext::for_pipeline::<WarmOnes>(OutputMode::Append);
    let mut out = Vec::new();
    q.process(&batch_one(), &mut ctx, &mut out).unwrap();
    let rows: Vec<(String, f64)> = out.iter().map(|r| (r.room.clone(), r.temp)).collect();
    // `a` is on floor 0, the cellar below ground.
    assert_eq!(rows, [(s("attic"), 23.0), (s("hall"), 25.0)]);
    assert!(
        WarmOnes::INFO
            .plan
            .contains("Join Inner Device on [device = id]"),
        "{}",
        WarmOnes::INFO.plan
    );
}

#[tokio::test]
async fn a_composite_key_matches_on_every_column() {
    let sites = vec![
        Site {
            site_id: 1,
            code: s("a"),
            name: s("one-a"),
        },
        Site {
            site_id: 2,
            code: s("a"),
            name: s("two-a"),
        },
        Site {
            site_id: 1,
            code: s("b"),
            name: s("one-b"),
        },
    ];
    let mut other_site = reading(3, Some("a"), 0.0);
    other_site.site = 2;
    let (batches, _) = run::<BySiteAndCode>(
        sites,
        vec![vec![
            reading(1, Some("a"), 0.0),
            reading(2, Some("c"), 0.0),
            other_site,
            reading(4, None, 0.0),
        ]],
        1,
    )
    .await;
    let names: Vec<(Option<String>, i64, String)> = batches[0]
        .1
        .iter()
        .map(|r| (r.device.clone(), r.site, r.name.clone()))
        .collect();
    assert_eq!(
        names,
        [(Some(s("a")), 1, s("one-a")), (Some(s("a")), 2, s("two-a"))]
    );
}

#[tokio::test]
async fn a_query_started_without_its_table_fails_with_a_clear_error() {
    let stream = MemoryStream::<Reading>::new();
    stream.add_data(batch_one());
    let query = Located::read_stream(stream)
        .write_stream()
        .trigger(Trigger::AvailableNow)
        .foreach_batch(|_, _: Vec<LocatedRow>| {})
        .start()
        .expect("the query starts");
    let err = query.await_termination().await.expect_err("no table");
    assert!(
        err.to_string().contains(
            "query `Located` joins the static table `Device`, but was given no rows for it: \
             start it with `Located::read_stream(source).with_table(rows)`"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_int_key_joins_a_bigint_column() {
    let levels = vec![
        Level {
            level: Some(1),
            label: s("ground"),
        },
        Level {
            level: Some(2),
            label: s("first"),
        },
        Level {
            level: None,
            label: s("none"),
        },
    ];
    let mut high = reading(2, Some("b"), 0.0);
    high.site = 2;
    let mut beyond = reading(3, Some("c"), 0.0);
    // Beyond INT's range: widened, it matches nothing rather than wrapping to a level.
    beyond.site = (1_i64 << 32) + 1;
    let (batches, _) = run::<Labelled>(
        levels,
        vec![vec![reading(1, Some("a"), 0.0), high, beyond]],
        1,
    )
    .await;
    let labels: Vec<(i64, String)> = batches[0]
        .1
        .iter()
        .map(|r| (r.site, r.label.clone()))
        .collect();
    assert_eq!(labels, [(1, s("ground")), (2, s("first"))]);
}

/// Writes `text` to `path` as a table file is meant to be replaced: a new file renamed over it,
/// with a modification time of its own (so the change shows even within the file system's time
/// resolution).
fn replace_file(path: &std::path::Path, text: &str, mtime_secs: u64) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(mtime_secs),
        )
        .unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn a_reloaded_table_is_read_again_before_the_first_batch_after_its_file_changed() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("devices.csv");
    replace_file(&table, "a,kitchen,0,\nb,hall,1,\n", 1_700_000_000);
    let stream = MemoryStream::<Reading>::new();
    let out: Arc<Mutex<Batches<LocatedRow>>> = Arc::default();
    let sink = Arc::clone(&out);
    let query = Located::read_stream(stream.clone())
        .with_table_file_reloaded(Csv::new(), &table)
        .unwrap()
        .write_stream()
        .foreach_batch(move |id, rows| sink.lock().unwrap().push((id, rows)))
        .start()
        .unwrap();
    let rooms = |out: &Arc<Mutex<Batches<LocatedRow>>>| -> Vec<Vec<(Option<String>, String)>> {
        out.lock()
            .unwrap()
            .iter()
            .map(|(_, rows)| {
                rows.iter()
                    .map(|r| (r.device.clone(), r.room.clone()))
                    .collect()
            })
            .collect()
    };
    stream.add_data(vec![
        reading(1, Some("a"), 20.0),
        reading(2, Some("c"), 20.0),
    ]);
    query.process_all_available().await.unwrap();
    // `a` moves to the attic and `c` appears; the next batch sees the new table whole.
    replace_file(&table, "a,attic,2,\nc,cellar,-1,\n", 1_700_000_100);
    stream.add_data(vec![
        reading(3, Some("a"), 20.0),
        reading(4, Some("c"), 20.0),
        reading(5, Some("b"), 20.0),
    ]);
    query.process_all_available().await.unwrap();
    // A table that is gone fails the query, as Spark's batch would.
    std::fs::remove_file(&table).unwrap();
    stream.add_data(vec![reading(6, Some("a"), 20.0)]);
    let failed = query.process_all_available().await;
    assert_eq!(
        rooms(&out),
        [
            vec![(Some(s("a")), s("kitchen"))],
            vec![(Some(s("a")), s("attic")), (Some(s("c")), s("cellar"))],
        ]
    );
    let err = failed.expect_err("a table file that is gone fails the query");
    assert!(
        err.to_string().contains("cannot read the static table"),
        "{err}"
    );
    assert!(err.to_string().contains("devices.csv"), "{err}");
}
