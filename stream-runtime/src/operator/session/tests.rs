use super::*;
use crate::operator::accumulator::{Accumulator, Count, SumF64};
use crate::value::{Schema, Value};

/// An event: `(event time in seconds after 10:00:00, key, value)`.
#[derive(Debug, Clone, PartialEq)]
struct Event(i64, &'static str, f64);

impl Row for Event {
    const SCHEMA: Schema = Schema::new(&[]);
    fn to_values(&self) -> Vec<Value> {
        Vec::new()
    }
    fn from_values(_: Vec<Value>) -> Result<Self, crate::row::RowError> {
        unreachable!()
    }
}

/// An output row: `(session start, session end, key, count, sum)`, times in seconds.
#[derive(Debug, Clone, PartialEq)]
struct Out(i64, i64, String, i64, Option<f64>);

impl Row for Out {
    const SCHEMA: Schema = Schema::new(&[]);
    fn to_values(&self) -> Vec<Value> {
        Vec::new()
    }
    fn from_values(_: Vec<Value>) -> Result<Self, crate::row::RowError> {
        unreachable!()
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Acc(Count, SumF64);

impl Accumulators for Acc {
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.0.merge(&other.0)?;
        self.1.merge(&other.1)
    }
}

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_704_103_200 * SECOND; // 2024-01-01T10:00:00Z

/// `watermark ts delay 30 s; group by session_window(ts, 10 s), key;
/// aggregate count = count(*), sum = sum(value)`, written by hand the way `pipeline!`
/// generates it.
struct Sessions;

impl SessionQuery for Sessions {
    type Input = Event;
    type Output = Out;
    type Key = String;
    type Acc = Acc;
    type SortKey = ();
    const GAP: i64 = 10 * SECOND;
    const EVICTS: bool = true;

    fn map<S: SessionSink<String, Acc>>(
        input: &[Event],
        ctx: &mut BatchContext,
        sessions: &mut S,
    ) -> Result<(), Error> {
        let mut stats = crate::batch::EventTimeStats::default();
        for Event(ts, key, value) in input {
            let t = T0 + ts * SECOND;
            stats.observe(t);
            if sessions.is_late(t + Self::GAP) {
                continue;
            }
            let acc = sessions.session(key.to_string(), t)?;
            acc.0.update(())?;
            acc.1.update(*value)?;
        }
        ctx.observe_event_times(0, &stats);
        Ok(())
    }

    fn emit(
        key: &String,
        session: Window,
        acc: &Acc,
        _: &BatchContext,
    ) -> Result<Option<(Out, ())>, Error> {
        let secs = |t: Timestamp| (t.as_micros() - T0) / SECOND;
        Ok(Some((
            Out(
                secs(session.start),
                secs(session.end),
                key.clone(),
                acc.0.finish(),
                acc.1.finish(),
            ),
            (),
        )))
    }
}

/// Runs batches as the engine does, each under the given watermark (seconds after 10:00:00;
/// `None`: the epoch), returning each batch's sorted output and counters
/// `(dropped, updated, removed)`.
fn run<Q: SessionQuery<Input = Event, Output = Out>>(
    op: &mut SessionAggregation<Q>,
    mode: OutputMode,
    batches: &[(&[Event], Option<i64>)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    run_from(0, op, mode, batches)
}

/// [`run`], the first batch having id `first_batch`.
fn run_from<Q: SessionQuery<Input = Event, Output = Out>>(
    first_batch: u64,
    op: &mut SessionAggregation<Q>,
    mode: OutputMode,
    batches: &[(&[Event], Option<i64>)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    drive(None, first_batch, op, mode, batches)
}

/// [`run`] through [`SessionAggregation::run_batch`] on `threads` threads, each batch in two
/// input partitions (every thread a share of the keys, each running the row loop over every
/// row).
fn run_on<Q: SessionQuery<Input = Event, Output = Out>>(
    threads: usize,
    op: &mut SessionAggregation<Q>,
    mode: OutputMode,
    batches: &[(&[Event], Option<i64>)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    drive(Some(threads), 0, op, mode, batches)
}

/// Runs the batches through `process` and `finish_batch` in two chunks each (`threads`:
/// `None`), or through `run_batch` in two input partitions on `threads` threads.
fn drive<Q: SessionQuery<Input = Event, Output = Out>>(
    threads: Option<usize>,
    first_batch: u64,
    op: &mut SessionAggregation<Q>,
    mode: OutputMode,
    batches: &[(&[Event], Option<i64>)],
) -> Vec<(Vec<Out>, (u64, u64, u64))> {
    use crate::executor::Executor;
    use crate::source::{BatchInput, RowChunk};
    let wm = |w: Option<i64>| {
        Some(w.map_or(Timestamp::EPOCH, |s| {
            Timestamp::from_micros(T0 + s * SECOND)
        }))
    };
    let mut ctx = BatchContext::new(
        first_batch,
        mode,
        wm(batches[0].1),
        wm(batches[0].1),
        Timestamp::EPOCH,
        1,
    );
    let mut results = Vec::new();
    for (i, (rows, watermark)) in batches.iter().enumerate() {
        if i > 0 {
            ctx.advance(wm(*watermark), Timestamp::EPOCH);
        }
        let (a, b) = rows.split_at(rows.len() / 2);
        let mut out = Vec::new();
        match threads {
            None => {
                op.process(a, &mut ctx).unwrap();
                op.process(b, &mut ctx).unwrap();
                op.finish_batch(&mut ctx, &mut out).unwrap();
            }
            Some(threads) => {
                let exec = Executor::new(threads, 1).unwrap();
                let chunks = vec![RowChunk::Owned(a.to_vec()), RowChunk::Owned(b.to_vec())];
                let input = BatchInput::from_chunks(chunks);
                let read = op.run_batch(input, &mut ctx, &mut out, &exec).unwrap();
                assert_eq!(read, rows.len() as u64);
            }
        }
        out.sort_by(|x, y| (&x.2, x.0).cmp(&(&y.2, y.0)));
        let m = ctx.metrics();
        results.push((
            out,
            (
                m.rows_dropped_by_watermark,
                m.state_rows_updated,
                m.state_rows_removed,
            ),
        ));
    }
    results
}

fn out(start: i64, end: i64, key: &str, count: i64, sum: f64) -> Out {
    Out(start, end, key.to_string(), count, Some(sum))
}

// The oracle's `session_window_append` input.
const B0: &[Event] = &[
    Event(0, "a", 1.0),
    Event(5, "a", 2.0),
    Event(30, "a", 3.0),
    Event(2, "b", 4.0),
];
const B1: &[Event] = &[
    Event(14, "a", 5.0),
    Event(22, "a", 6.0),
    Event(40, "b", 7.0),
];
const B3: &[Event] = &[Event(70, "c", 8.0), Event(9, "b", 9.0)];
const B4: &[Event] = &[
    Event(1, "a", 10.0),
    Event(120, "c", 11.0),
    Event(180, "d", 12.0),
];

#[test]
fn append_emits_each_session_once_the_watermark_passes_its_end() {
    let mut op = SessionAggregation::<Sessions>::default();
    let r = run(
        &mut op,
        OutputMode::Append,
        &[
            (B0, None),
            (B1, Some(0)),
            (&[], Some(10)),
            (B3, Some(10)),
            (B4, Some(40)),
            (&[], Some(150)),
        ],
    );
    // Batch 0: a [0, 15), a [30, 40), b [2, 12): nothing closed under the epoch.
    assert_eq!(r[0], (vec![], (0, 3, 0)));
    // Batch 1: a@14 extends [0, 15) to [0, 24); a@22 extends it to [0, 32), which now
    // touches [30, 40): they merge into [0, 40) (one session removed).
    assert_eq!(r[1], (vec![], (0, 2, 1)));
    // Batch 3 under 10:00:10: b@9's session [9, 19) ends after the previous watermark, so
    // it is not late, and it extends b [2, 12) to [2, 19).
    assert_eq!(r[3], (vec![], (0, 2, 0)));
    // Batch 4 under 10:00:40: a@1 ends at 11, after the previous watermark (10): merged into
    // a [0, 40), which then closes (40 <= 40) with b [2, 19).
    assert_eq!(
        r[4],
        (
            vec![out(0, 40, "a", 6, 27.0), out(2, 19, "b", 2, 13.0)],
            (0, 3, 2)
        )
    );
    // The no-data batch under 10:02:30 closes b [40, 50), c [70, 80) and c [120, 130).
    assert_eq!(
        r[5],
        (
            vec![
                out(40, 50, "b", 1, 7.0),
                out(70, 80, "c", 1, 8.0),
                out(120, 130, "c", 1, 11.0)
            ],
            (0, 0, 3)
        )
    );
    assert_eq!(op.state_rows(), 1, "d [180, 190) stays open");
}

#[test]
fn a_row_whose_own_session_ended_before_the_previous_watermark_is_late() {
    let mut op = SessionAggregation::<Sessions>::default();
    let r = run(
        &mut op,
        OutputMode::Append,
        &[
            (&[Event(50, "a", 1.0)], None),
            (&[], Some(15)),
            // Under 10:00:20, late against 10:00:15 (the previous batch's watermark): a@5
            // ends at 15 and is dropped; a@6 ends at 16 and opens [6, 16), before a's
            // [50, 60), and is closed at once (16 <= 20).
            (&[Event(5, "a", 1.0), Event(6, "a", 1.0)], Some(20)),
        ],
    );
    assert_eq!(r[2], (vec![out(6, 16, "a", 1, 1.0)], (1, 1, 1)));
    assert_eq!(op.state_rows(), 1);
}

#[test]
fn touching_sessions_merge_and_a_bridge_merges_several() {
    let mut op = SessionAggregation::<Sessions>::default();
    let r = run(
        &mut op,
        OutputMode::Complete,
        &[
            // [0, 10), [20, 30), [40, 50), and [60, 70) apart.
            (
                &[
                    Event(0, "k", 1.0),
                    Event(20, "k", 2.0),
                    Event(40, "k", 4.0),
                    Event(60, "k", 8.0),
                ],
                None,
            ),
            // k@10 touches [0, 10) (start 10 <= end 10) and reaches 20: bridges the first
            // two; k@30 then bridges that one and [40, 50).
            (&[Event(10, "k", 16.0), Event(30, "k", 32.0)], None),
        ],
    );
    assert_eq!(r[1].0, [out(0, 50, "k", 5, 55.0), out(60, 70, "k", 1, 8.0)]);
    assert_eq!(r[1].1, (0, 1, 2), "one session changed, two merged away");
    assert_eq!(op.state_rows(), 2);
}

#[test]
fn complete_mode_emits_every_session_drops_late_rows_and_evicts_nothing() {
    let mut op = SessionAggregation::<Sessions>::default();
    let r = run(
        &mut op,
        OutputMode::Complete,
        &[
            (&[Event(0, "a", 1.0), Event(100, "b", 2.0)], None),
            (&[Event(1, "a", 1.0)], Some(70)),
            (&[Event(2, "a", 1.0)], Some(70)),
        ],
    );
    assert_eq!(
        r[1].0,
        [out(0, 11, "a", 2, 2.0), out(100, 110, "b", 1, 2.0)]
    );
    // Late against the previous batch's watermark (10:01:10), as Spark's restore drops it.
    assert_eq!(r[2], (r[1].0.clone(), (1, 0, 0)));
}

#[test]
fn update_mode_is_refused_with_sparks_message() {
    let mut op = SessionAggregation::<Sessions>::default();
    let mut ctx = BatchContext::new(0, OutputMode::Update, None, None, Timestamp::EPOCH, 1);
    let err = op.finish_batch(&mut ctx, &mut Vec::new()).unwrap_err();
    assert_eq!(err.to_string(), SESSION_WINDOW_IN_UPDATE);
}

#[test]
fn a_snapshot_restores_the_open_sessions() {
    let mut op = SessionAggregation::<Sessions>::default();
    run(&mut op, OutputMode::Append, &[(B0, None), (B1, Some(0))]);
    let bytes = op.snapshot().unwrap();
    let mut restored = SessionAggregation::<Sessions>::default();
    restored.restore(&bytes).unwrap();
    assert_eq!(restored.state_rows(), 3);
    let rest: &[(&[Event], Option<i64>)] = &[(B3, Some(10)), (B4, Some(40)), (&[], Some(150))];
    assert_eq!(
        run_from(2, &mut op, OutputMode::Append, rest),
        run_from(2, &mut restored, OutputMode::Append, rest)
    );
    assert!(
        SessionAggregation::<Sessions>::default()
            .restore(b"junk")
            .is_err()
    );
}

/// The `order by count desc` / `limit 1` of a complete result.
struct Busiest;

impl SessionQuery for Busiest {
    type Input = Event;
    type Output = Out;
    type Key = String;
    type Acc = Acc;
    type SortKey = i64;
    const GAP: i64 = 10 * SECOND;
    const SORTED: bool = true;
    const LIMIT: Option<u64> = Some(1);

    fn map<S: SessionSink<String, Acc>>(
        input: &[Event],
        ctx: &mut BatchContext,
        sessions: &mut S,
    ) -> Result<(), Error> {
        Sessions::map(input, ctx, sessions)
    }

    fn emit(
        key: &String,
        session: Window,
        acc: &Acc,
        ctx: &BatchContext,
    ) -> Result<Option<(Out, i64)>, Error> {
        let row = Sessions::emit(key, session, acc, ctx)?.map(|(row, ())| row);
        Ok(row.map(|row| {
            let n = row.3;
            (row, n)
        }))
    }

    fn compare(a: &i64, b: &i64) -> Ordering {
        b.cmp(a)
    }
}

#[test]
fn complete_mode_sorts_and_limits_the_sessions() {
    let mut op = SessionAggregation::<Busiest>::default();
    let r = run(&mut op, OutputMode::Complete, &[(B0, None)]);
    assert_eq!(r[0].0, [out(0, 15, "a", 2, 3.0)]);
}

#[test]
fn on_several_threads_every_key_gets_the_sessions_of_one_thread() {
    // The oracle scenario's batches, then more keys, so that every worker owns some.
    let many: Vec<Event> = (0..60)
        .map(|i| {
            Event(
                100 + i % 30,
                ["a", "b", "c", "d", "e", "f", "g"][i as usize % 7],
                i as f64,
            )
        })
        .collect();
    let batches: &[(&[Event], Option<i64>)] = &[
        (B0, None),
        (B1, Some(0)),
        (&many, Some(10)),
        (B3, Some(40)),
        (B4, Some(100)),
        (&[], Some(300)),
    ];
    let want = run(
        &mut SessionAggregation::<Sessions>::default(),
        OutputMode::Append,
        batches,
    );
    assert!(
        want.iter().any(|(_, c)| c.0 > 0) && want.iter().any(|(_, c)| c.2 > 0),
        "{want:?}"
    );
    for threads in [1, 2, 3] {
        let mut op = SessionAggregation::<Sessions>::default();
        assert_eq!(
            run_on(threads, &mut op, OutputMode::Append, batches),
            want,
            "{threads} threads"
        );
        assert_eq!(op.tables.len(), threads);
    }
    // Several tables driven through `process` on the calling thread: the same again.
    let mut op = SessionAggregation::<Sessions>::default();
    op.configure(4, 3);
    assert_eq!(run(&mut op, OutputMode::Append, batches), want);
    // Complete mode: every session of every worker, each batch.
    let complete = run(
        &mut SessionAggregation::<Sessions>::default(),
        OutputMode::Complete,
        batches,
    );
    let mut op = SessionAggregation::<Sessions>::default();
    assert_eq!(run_on(2, &mut op, OutputMode::Complete, batches), complete);
}

#[test]
fn partition_snapshots_restore_the_sessions_on_any_number_of_threads() {
    let first: &[(&[Event], Option<i64>)] = &[(B0, None), (B1, Some(0))];
    let rest: &[(&[Event], Option<i64>)] = &[(B3, Some(10)), (B4, Some(40)), (&[], Some(150))];
    let mut op = SessionAggregation::<Sessions>::default();
    op.configure(4, 2);
    run_on(2, &mut op, OutputMode::Append, first);
    let mut serial = SessionAggregation::<Sessions>::default();
    run(&mut serial, OutputMode::Append, first);
    let want = run_from(2, &mut serial, OutputMode::Append, rest);

    let parts = op.snapshot_partitions(4).unwrap();
    let mut restored = SessionAggregation::<Sessions>::default();
    restored.configure(4, 3);
    restored.restore_partitions(&parts).unwrap();
    assert_eq!(restored.state_rows(), 3);
    assert_eq!(run_from(2, &mut restored, OutputMode::Append, rest), want);
    // The whole state in one piece (a checkpoint from before the state was partitioned).
    let mut restored = SessionAggregation::<Sessions>::default();
    restored.configure(4, 2);
    restored
        .restore_partitions(&[op.snapshot().unwrap()])
        .unwrap();
    assert_eq!(run_from(2, &mut restored, OutputMode::Append, rest), want);
}
