//! The deduplication operator's rules, batch by batch, without a macro: lateness, first sight,
//! eviction per kind of expiry, snapshots, and the same batches on several workers.

use super::*;
use crate::output_mode::OutputMode;
use crate::time::Timestamp;

const SECOND: i64 = 1_000_000;

/// `(event time in seconds, key)`.
type Event = (i64, &'static str);

/// A batch's `(dropped as late, keys added, keys evicted, duplicates dropped)`.
type Counters = (u64, u64, u64, u64);

/// How a query computes a key's expiry from its row.
#[derive(Clone, Copy)]
enum Expiry {
    /// `drop duplicates (key, ts)` with a watermark on `ts`.
    KeyEventTime,
    /// `drop duplicates (key)`.
    Never,
    /// `drop duplicates within watermark (key)`, delay in seconds.
    Within(i64),
}

/// The generated row loop of a deduplication, written by hand: late rows dropped when
/// `watermarked`, then the first row of each key kept. Returns each batch's kept rows and
/// counters `(dropped, updated, removed, duplicates)`.
fn run(
    op: &mut Deduplication<Expiring<(String, i64)>>,
    expiry: Expiry,
    watermarked: bool,
    batches: &[(&[Event], Option<i64>)],
) -> Vec<(Vec<Event>, Counters)> {
    let wm = |w: Option<i64>| w.map(Timestamp::from_secs);
    let mut ctx = BatchContext::new(
        0,
        OutputMode::Append,
        wm(batches[0].1),
        wm(batches[0].1),
        Timestamp::EPOCH,
        1,
    );
    let mut out = Vec::new();
    for (i, (rows, watermark)) in batches.iter().enumerate() {
        if i > 0 {
            ctx.advance(wm(*watermark), Timestamp::EPOCH);
        }
        let mut kept = Vec::new();
        // Two chunks, as a source may deliver them.
        let (a, b) = rows.split_at(rows.len() / 2);
        for chunk in [a, b] {
            let mut seen = op.batch(&ctx);
            for &(ts, key) in chunk {
                let micros = ts * SECOND;
                if watermarked && seen.is_late(micros) {
                    continue;
                }
                let (dedup_key, expires) = match expiry {
                    Expiry::KeyEventTime => ((key.to_string(), micros), micros),
                    Expiry::Never => ((key.to_string(), 0), NEVER_EXPIRES),
                    Expiry::Within(delay) => (
                        (key.to_string(), 0),
                        expires_within_watermark(Some(micros), delay * 1000),
                    ),
                };
                if seen.first(Expiring {
                    key: dedup_key,
                    expires,
                }) {
                    kept.push((ts, key));
                }
            }
            seen.report(&mut ctx);
        }
        op.finish_batch(&mut ctx);
        let m = ctx.metrics();
        out.push((
            kept,
            (
                m.rows_dropped_by_watermark,
                m.state_rows_updated,
                m.state_rows_removed,
                m.duplicates_dropped,
            ),
        ));
    }
    out
}

// The oracle's `dedup_watermark_append` input, event times in seconds after 10:00:00, under a
// 30-second watermark: batch N runs under the watermark the rows before it set.
const B0: &[Event] = &[(1, "a"), (1, "a"), (2, "a"), (5, "b"), (40, "c")];
const B1: &[Event] = &[(5, "b"), (20, "a"), (60, "b")];
const B2: &[Event] = &[(1, "a"), (35, "a"), (40, "c"), (120, "d")];
const B3: &[Event] = &[(60, "b"), (120, "d"), (150, "a"), (300, "e")];

#[test]
fn keys_with_their_event_time_are_late_dropped_and_evicted_by_the_watermark() {
    let mut op = Deduplication::default();
    let r = run(
        &mut op,
        Expiry::KeyEventTime,
        true,
        &[
            (B0, Some(0)),
            (B1, Some(10)),
            (B2, Some(30)),
            (B3, Some(90)),
            (&[], Some(270)),
        ],
    );
    // Batch 0: the second (1, a) is a duplicate; four keys kept.
    assert_eq!(
        r[0],
        (vec![(1, "a"), (2, "a"), (5, "b"), (40, "c")], (0, 4, 0, 1))
    );
    // Batch 1 runs under 10 s: (1, a), (2, a) and (5, b) are evicted at its end, after `b@5`
    // was recognised as a duplicate (late only against the previous watermark, 0).
    assert_eq!(r[1], (vec![(20, "a"), (60, "b")], (0, 2, 3, 1)));
    // Batch 2: `a@1` is late against 10 s; `c@40` is still held (40 > 30), a duplicate.
    assert_eq!(r[2], (vec![(35, "a"), (120, "d")], (1, 2, 1, 1)));
    // Batch 3 under 90 s: `b@60` and `d@120` are duplicates (evicted only at the end).
    assert_eq!(r[3], (vec![(150, "a"), (300, "e")], (0, 2, 3, 2)));
    // The no-data batch under 270 s evicts everything but `e@300`.
    assert_eq!(r[4], (vec![], (0, 0, 2, 0)));
    assert_eq!(op.state_rows(), 1);
}

#[test]
fn keys_without_event_time_are_kept_forever() {
    let mut op = Deduplication::default();
    // `dropDuplicates(["key"])` without a watermark: the oracle's `dedup_no_watermark`.
    let r = run(
        &mut op,
        Expiry::Never,
        false,
        &[(B0, None), (B1, None), (B2, None), (B3, None)],
    );
    let kept: Vec<Vec<Event>> = r.iter().map(|(rows, _)| rows.clone()).collect();
    assert_eq!(
        kept,
        [
            vec![(1, "a"), (5, "b"), (40, "c")],
            vec![],
            vec![(120, "d")],
            vec![(300, "e")]
        ]
    );
    assert_eq!(op.state_rows(), 5);
    // With a watermark, but no event time in the key: late rows go, keys stay.
    let mut op = Deduplication::default();
    let r = run(
        &mut op,
        Expiry::Never,
        true,
        &[
            (B0, Some(0)),
            (B1, Some(10)),
            (B2, Some(30)),
            (B3, Some(90)),
        ],
    );
    assert_eq!(
        r[2].1,
        (1, 1, 0, 2),
        "a@1 late, d new, a@35 and c duplicates"
    );
    assert_eq!(op.state_rows(), 5);
}

#[test]
fn within_the_watermark_a_key_is_forgotten_delay_after_its_first_row() {
    let mut op = Deduplication::default();
    // 30-second delay: `a` first at 1 s expires at 31 s, `b` at 5 s expires at 35 s.
    let r = run(
        &mut op,
        Expiry::Within(30),
        true,
        &[
            (&[(1, "a"), (5, "b"), (20, "a")], Some(0)),
            // Under 31 s: `a` expires at the end of this batch, so `a@25` is still a
            // duplicate; `b@34` too (35 > 31 at the end).
            (&[(25, "a"), (34, "b")], Some(31)),
            // `a@40` is new again; `b@36` is still a duplicate (b expires at 35 <= 35 only
            // at the end of this batch).
            (&[(40, "a"), (36, "b")], Some(35)),
            (&[(50, "b")], Some(40)),
        ],
    );
    let kept: Vec<Vec<Event>> = r.iter().map(|(rows, _)| rows.clone()).collect();
    assert_eq!(
        kept,
        [
            vec![(1, "a"), (5, "b")],
            vec![],
            vec![(40, "a")],
            vec![(50, "b")]
        ]
    );
    assert_eq!(r[1].1, (0, 0, 1, 2));
    assert_eq!(r[2].1, (0, 1, 1, 1));
}

#[test]
fn a_snapshot_restores_the_keys_and_their_expiry() {
    let mut op = Deduplication::default();
    run(&mut op, Expiry::KeyEventTime, true, &[(B0, Some(0))]);
    let bytes = op.snapshot().unwrap();
    let mut restored = Deduplication::default();
    restored.restore(&bytes).unwrap();
    assert_eq!(restored.state_rows(), 4);
    let more: &[(&[Event], Option<i64>)] = &[(B1, Some(10)), (B2, Some(30))];
    let a = run(&mut op, Expiry::KeyEventTime, true, more);
    let b = run(&mut restored, Expiry::KeyEventTime, true, more);
    assert_eq!(a, b);
    assert!(
        Deduplication::<Expiring<(String, i64)>>::default()
            .restore(b"junk")
            .is_err()
    );
}

#[test]
fn borrowed_lookups_allocate_only_for_new_keys() {
    #[derive(Hash)]
    struct Ref<'a>(&'a str);
    /// A key that is its own entry, never evicted.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
    struct Name(String);
    impl DedupEntry for Name {
        type Key = Name;
        fn key(&self) -> &Name {
            self
        }
        fn expires(&self) -> i64 {
            NEVER_EXPIRES
        }
    }
    impl Equivalent<Name> for Ref<'_> {
        fn equivalent(&self, key: &Name) -> bool {
            self.0 == key.0
        }
    }
    let mut op = Deduplication::<Name>::default();
    let ctx = BatchContext::new(0, OutputMode::Update, None, None, Timestamp::EPOCH, 0);
    let mut seen = op.batch(&ctx);
    let mut built = 0;
    let mut build = |s: &str| {
        built += 1;
        Name(s.to_string())
    };
    assert!(seen.first_ref(&Ref("x"), || build("x")));
    assert!(!seen.first_ref(&Ref("x"), || build("x")));
    assert!(seen.first(Name("y".to_string())));
    assert!(!seen.first_ref(&Ref("y"), || build("y")));
    assert_eq!(built, 1, "an entry is built for a new key only");
    assert!(!seen.is_late(i64::MIN + 1), "no watermark: nothing is late");
    assert_eq!(op.state_rows(), 2);
}

/// `drop duplicates within watermark (key)` over the test rows, written by hand as the
/// generated row loop: late rows dropped, then a key's first row kept; the event time of
/// every row observed (watermark node 0), as a watermark clause before it would.
struct WithinByKey;

impl DedupQuery for WithinByKey {
    type Input = crate::test_rows::Event;
    type Output = crate::test_rows::Event;
    type Entry = Expiring<Option<String>>;

    fn map(
        input: &[Self::Input],
        ctx: &mut BatchContext,
        seen: &mut SeenKeys<'_, Self::Entry>,
        out: &mut Vec<Self::Output>,
    ) -> Result<(), Error> {
        let mut stats = crate::batch::EventTimeStats::default();
        for row in input {
            let ts = row.ts.map(|t| t.as_micros());
            if let Some(t) = ts {
                stats.observe(t);
            }
            if ts.is_some_and(|t| seen.is_late(t)) {
                continue;
            }
            let entry = Expiring {
                key: row.key.clone(),
                expires: expires_within_watermark(ts, 30_000),
            };
            if seen.first(entry) {
                out.push(row.clone());
            }
        }
        ctx.observe_event_times(0, &stats);
        Ok(())
    }
}

/// Rows `(seconds, key)`.
type Keyed = Vec<(i64, String)>;
/// A batch's rows and the watermark it runs under (seconds).
type Batch = (Keyed, Option<i64>);
/// A batch's kept rows (sorted), counters, and event times' count and maximum (seconds).
type BatchResult = (Keyed, Counters, (u64, i64));

/// Batches of rows `(seconds, key)`, each cut into three input partitions, through `op` on
/// `threads` threads, each batch under the watermark given with it. Returns each batch's
/// rows (sorted), its counters and its event times' count and maximum.
fn run_parallel(
    op: &mut Deduplication<Expiring<Option<String>>>,
    threads: usize,
    batches: &[Batch],
) -> Vec<BatchResult> {
    use crate::source::RowChunk;
    use crate::test_rows::event;
    let exec = Executor::new(threads, 5).unwrap();
    let wm = |w: Option<i64>| w.map(Timestamp::from_secs);
    let mut ctx = BatchContext::new(
        0,
        OutputMode::Append,
        wm(batches[0].1),
        None,
        Timestamp::EPOCH,
        1,
    );
    let mut results = Vec::new();
    for (i, (rows, watermark)) in batches.iter().enumerate() {
        if i > 0 {
            ctx.advance(wm(*watermark), Timestamp::EPOCH);
        }
        let events: Vec<_> = rows
            .iter()
            .map(|(s, k)| event(s * 1000 - 1_704_103_200_000, Some(k), None))
            .collect();
        let third = events.len().div_ceil(3).max(1);
        let chunks = events
            .chunks(third)
            .map(|c| RowChunk::Owned(c.to_vec()))
            .collect();
        let mut out = Vec::new();
        let read = op
            .run_batch::<WithinByKey>(BatchInput::from_chunks(chunks), &mut ctx, &mut out, &exec)
            .unwrap();
        assert_eq!(read, rows.len() as u64);
        let mut kept: Keyed = out
            .iter()
            .map(|e| (e.ts.unwrap().as_micros() / SECOND, e.key.clone().unwrap()))
            .collect();
        kept.sort();
        let m = ctx.metrics();
        let counters = (
            m.rows_dropped_by_watermark,
            m.state_rows_updated,
            m.state_rows_removed,
            m.duplicates_dropped,
        );
        // Observed once per row, whatever the threads.
        let stats = &ctx.event_time_stats()[0];
        results.push((kept, counters, (stats.count, stats.max / SECOND)));
    }
    results
}

#[test]
fn on_several_threads_each_key_is_decided_once_as_on_one() {
    // 40 keys over 400 rows, 1 s apart, repeated across batches; a 30-second delay: keys
    // expire and come back, rows arrive late.
    let rows = |from: i64, n: i64, step: i64| -> Keyed {
        (0..n)
            .map(|i| (from + (i * step) % 200, format!("k{}", (i * 7) % 40)))
            .collect()
    };
    let batches = vec![
        (rows(0, 400, 1), None),
        (rows(100, 400, 3), Some(170)),
        (rows(50, 400, 5), Some(270)),
        (Vec::new(), Some(400)),
    ];
    let mut serial = Deduplication::default();
    let want = run_parallel(&mut serial, 1, &batches);
    // Keys added, late rows, duplicates and evictions all happen.
    let some = |f: fn(&Counters) -> u64| want.iter().any(|(_, c, _)| f(c) > 0);
    assert!(
        some(|c| c.0) && some(|c| c.1) && some(|c| c.2) && some(|c| c.3),
        "{want:?}"
    );
    for threads in [2, 3] {
        let mut op = Deduplication::default();
        assert_eq!(
            run_parallel(&mut op, threads, &batches),
            want,
            "on {threads} threads"
        );
        assert_eq!(op.state_rows(), serial.state_rows());
        assert_eq!(op.tables.len(), threads);
    }
}

#[test]
fn partition_snapshots_restore_on_any_number_of_threads() {
    let batch = |from: i64| -> Keyed {
        (0..300)
            .map(|i| (from + i, format!("k{}", i % 50)))
            .collect()
    };
    let first = vec![(batch(0), None)];
    let more = vec![(batch(10), Some(0)), (batch(200), Some(100))];
    let mut op = Deduplication::default();
    op.configure(4, 2);
    run_parallel(&mut op, 2, &first);
    let mut serial = Deduplication::default();
    run_parallel(&mut serial, 1, &first);
    let want = run_parallel(&mut serial, 1, &more);

    // Four partitions, each holding only its keys, restored on three threads.
    let parts = op.snapshot_partitions(4).unwrap();
    assert_eq!(parts.len(), 4);
    let mut restored = Deduplication::default();
    restored.configure(4, 3);
    restored.restore_partitions(&parts).unwrap();
    assert_eq!(restored.state_rows(), 50);
    assert_eq!(run_parallel(&mut restored, 3, &more), want);

    // A checkpoint written before the state was partitioned: everything in partition 0.
    let whole = [
        op.snapshot().unwrap(),
        state::encode(&Vec::<Expiring<Option<String>>>::new()).unwrap(),
    ];
    let mut restored = Deduplication::default();
    restored.configure(2, 2);
    restored.restore_partitions(&whole).unwrap();
    assert!(
        restored.tables.iter().all(|t| !t.seen.is_empty()),
        "keys re-routed by hash"
    );
    assert_eq!(run_parallel(&mut restored, 2, &more), want);
}
