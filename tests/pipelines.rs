//! Generated pipelines driven by hand, batch by batch, without the engine: exactly the calls the
//! engine makes (`process`, `finish_batch`, `BatchContext::advance`), and the exact rows each
//! batch emits.
//!
//! Where the input is one of the Spark oracle's data sets (`tests/spark-oracle/golden/`), the
//! expected rows are the ones Spark 4.3.0 emitted for that batch; the watermark each batch runs
//! under is the one Spark reported.

use sluice::prelude::*;
use sluice::{BatchContext, Error, OutputMode};

sluice::pipeline! {
    /// The Spark oracle's input schema: `ts TIMESTAMP, key STRING, value DOUBLE`.
    schema Event {
        ts: Timestamp,
        key: Option<String>,
        value: Option<f64>,
    }

    /// Integer columns, for the types of `sum`, `avg`, `min` and `max`.
    schema Measure {
        k: i32,
        small: i32,
        big: i64,
        maybe: Option<i32>,
    }

    /// A column whose name is a Rust keyword.
    schema Tagged {
        ts: Timestamp,
        r#type: String,
        n: i64,
    }

    /// An event time that may be missing.
    schema MaybeTimed {
        ts: Option<Timestamp>,
        n: i64,
    }

    // --- aggregates --------------------------------------------------------------------------

    query KeyedAggregates from Event {
        group by key;
        aggregate n = count(*), n_value = count(value), total = sum(value), mean = avg(value),
                  lo = min(value), hi = max(value);
    }

    query Extremes from Event {
        aggregate n = count(), lo_key = min(key), hi_key = max(key), lo = min(value),
                  hi = max(value), total = sum(value), mean = avg(value);
    }

    query Sums from Measure {
        group by k;
        aggregate s_small = sum(small), s_big = sum(big), s_maybe = sum(maybe),
                  a_small = avg(small), lo = min(big), hi = max(small), n_maybe = count(maybe);
    }

    query PerLabel from Event {
        with label = concat(coalesce(key, "none"), "!"), shout = upper(key);
        group by label;
        aggregate n = count(), lo = min(label), hi = max(shout), n_shout = count(shout);
    }

    query PerShout from Event {
        with shout = upper(key);
        group by shout;
        aggregate n = count(), hi = max(shout), lo = min(lower(key));
    }

    // --- windows and watermarks --------------------------------------------------------------

    query Tumbling from Event {
        group by window(ts, 10 seconds);
        aggregate n = count();
    }

    query Sliding from Event {
        group by window(ts, 20 seconds, 10 seconds), key;
        aggregate n = count(), mean = avg(value);
    }

    query Watermarked from Event {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate n = count(), mean = avg(value);
    }

    query SlidingWatermarked from Event {
        watermark ts delay 1 minute;
        group by window(ts, 2 minutes, 1 minute), key;
        aggregate n = count();
    }

    query StatelessWatermark from Event {
        watermark ts delay 10 seconds;
        where value > 25;
    }

    query PerValue from Event {
        group by value;
        aggregate n = count();
        order by value desc nulls first;
    }

    query FilteredBeforeWatermark from Event {
        watermark ts delay 30 seconds;
        where value > 25;
        group by window(ts, 10 seconds);
        aggregate n = count();
    }

    query FilteredAfterWatermark from Event {
        watermark ts delay 30 seconds;
        where ts >= "2024-01-01T10:00:05Z";
        group by window(ts, 10 seconds);
        aggregate n = count();
    }

    query PerEventTime from Event {
        watermark ts delay 10 seconds;
        group by ts;
        aggregate n = count();
    }

    query NullEventTimes from MaybeTimed {
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds);
        aggregate n = count(), total = sum(n);
    }

    // --- after the aggregation ---------------------------------------------------------------

    /// The seed's stock alert.
    query Alerts from Event {
        watermark ts delay 2 minutes;
        group by window(ts, 1 minute), key;
        aggregate min_price = min(value), max_price = max(value);
        with pct = (max_price - min_price) / min_price * 100;
        where pct > 5;
        select key, window_start = window.start, min_price, max_price, pct,
               alert = "SIGNIFICANT PRICE MOVEMENT";
    }

    query TopKeys from Event {
        group by key;
        aggregate n = count(), total = sum(value);
        order by n desc, key;
        limit 2;
    }

    query FirstWindows from Event {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate n = count();
        limit 3;
    }

    query PerType from Tagged {
        group by r#type;
        aggregate total = sum(n);
        with label = concat(r#type, "=", total);
        order by label desc;
    }

    query WindowsNewestFirst from Event {
        group by window(ts, 10 seconds), key;
        aggregate n = count();
        with parts = split(key, ",");
        order by window desc, parts;
    }

    // --- stateless ---------------------------------------------------------------------------

    query FirstThree from Event {
        where value > 20;
        select key, value;
        limit 3;
    }

    query NullSemantics from Event {
        select key,
               plus_one = value + 1,
               missing = value is null,
               big = value > 25,
               big_or_a = value > 25 or key == "a",
               big_and_a = value > 25 and key == "a",
               label = coalesce(key, "none"),
               upper_key = upper(key),
               described = concat(key, ":", value);
    }

    query Filtered from Event {
        where value > 25 or key == "a";
        select key, value;
    }

    // --- chained queries and key rewrites ----------------------------------------------------

    /// The seed's `sensor_stream`.
    query Readings from Rate {
        select timestamp,
               room = concat("Room_", value % 5),
               temperature = 20 + value % 10 + (value % 3) / 10.0;
    }

    query HotRooms from Readings {
        where temperature > 25;
        group by room;
        aggregate n = count(), hottest = max(temperature);
    }

    query Actions from Rate {
        with action = case when value % 10 < 6 then "view"
                           when value % 10 < 9 then "click"
                           else "purchase" end;
        group by action;
        aggregate n = count();
    }

    query Buckets from Rate {
        group by bucket = case when value < 3 then "low" when value < 5 then "mid" end;
        aggregate n = count();
    }

    // --- ANSI errors -------------------------------------------------------------------------

    query DivideByZero from Rate {
        select ratio = value / (value % 3);
    }

    query LiteralDivideByZero from Rate {
        select ratio = 1 / 0;
    }

    query RemainderByZero from Rate {
        select rest = value % (value - value);
    }

    query Overflow from Rate {
        select big = value * 4611686018427387904;
    }

    query BadCast from Rate {
        select n = cast(concat("x", value) as bigint);
    }

    query TryDivide from Rate {
        select ratio = try_divide(value, value % 3);
    }
}

// --- helpers ---------------------------------------------------------------------------------

/// `2024-01-01T<hms>Z`.
fn t(hms: &str) -> Timestamp {
    format!("2024-01-01T{hms}Z").parse().expect("a valid time")
}

/// The window `[start, end)` on 2024-01-01.
fn w(start: &str, end: &str) -> Window {
    Window {
        start: t(start),
        end: t(end),
    }
}

fn ev(ts: &str, key: &str, value: f64) -> Event {
    Event {
        ts: t(ts),
        key: Some(key.to_string()),
        value: Some(value),
    }
}

fn rate(values: std::ops::Range<i64>) -> Vec<RateRow> {
    values
        .map(|value| RateRow {
            timestamp: Timestamp::from_secs(value),
            value,
        })
        .collect()
}

/// A pipeline and the context of its current batch, driven as the engine drives them.
struct Run<P: Pipeline> {
    pipeline: P,
    ctx: BatchContext,
}

impl<P: Pipeline + Default> Run<P> {
    /// Batch 0 (under the epoch watermark if the query has a watermark).
    fn new(mode: OutputMode) -> Self {
        Run {
            pipeline: P::default(),
            ctx: BatchContext::for_pipeline::<P>(mode),
        }
    }

    /// Runs the current batch over `rows`, in one chunk.
    fn try_batch(&mut self, rows: &[P::Input]) -> Result<Vec<P::Output>, Error> {
        let mut out = Vec::new();
        self.pipeline.process(rows, &mut self.ctx, &mut out)?;
        self.pipeline.finish_batch(&mut self.ctx, &mut out)?;
        Ok(out)
    }

    fn batch(&mut self, rows: &[P::Input]) -> Vec<P::Output> {
        self.try_batch(rows).expect("the batch runs")
    }

    /// Runs the current batch over `rows`, split into chunks of `n` rows.
    fn batch_in_chunks(&mut self, rows: &[P::Input], n: usize) -> Vec<P::Output> {
        let mut out = Vec::new();
        for chunk in rows.chunks(n) {
            self.pipeline
                .process(chunk, &mut self.ctx, &mut out)
                .expect("the chunk runs");
        }
        self.pipeline
            .finish_batch(&mut self.ctx, &mut out)
            .expect("the batch finishes");
        out
    }

    /// Moves on to the next batch, which runs under `watermark`.
    fn next(&mut self, watermark: &str) {
        self.ctx.advance(Some(t(watermark)), Timestamp::EPOCH);
    }

    /// Moves on to the next batch of a query without a watermark.
    fn next_batch(&mut self) {
        self.ctx.advance(None, Timestamp::EPOCH);
    }

    fn dropped(&self) -> u64 {
        self.ctx.metrics().rows_dropped_by_watermark
    }
}

/// Rows sorted by a key, for results whose order Spark does not define.
fn sorted<R, K: Ord>(mut rows: Vec<R>, key: impl FnMut(&R) -> K) -> Vec<R> {
    rows.sort_by_key(key);
    rows
}

fn first_error_class(result: Result<Vec<impl std::fmt::Debug>, Error>) -> String {
    let err = result.expect_err("the batch fails");
    err.error_class().expect("an error class").to_string()
}

// --- aggregates ------------------------------------------------------------------------------

fn keyed(
    key: Option<&str>,
    n: i64,
    n_value: i64,
    total: Option<f64>,
    mean: Option<f64>,
    lo: Option<f64>,
    hi: Option<f64>,
) -> KeyedAggregatesRow {
    KeyedAggregatesRow {
        key: key.map(str::to_string),
        n,
        n_value,
        total,
        mean,
        lo,
        hi,
    }
}

#[test]
fn every_aggregate_skips_nulls_except_count_star() {
    let mut run = Run::<KeyedAggregates>::new(OutputMode::Update);
    let out = run.batch(&[
        ev("10:00:00", "a", 10.0),
        Event {
            ts: t("10:00:01"),
            key: Some("a".into()),
            value: None,
        },
        ev("10:00:02", "a", 4.0),
        ev("10:00:03", "b", -1.5),
        Event {
            ts: t("10:00:04"),
            key: None,
            value: Some(2.0),
        },
        Event {
            ts: t("10:00:05"),
            key: Some("c".into()),
            value: None,
        },
    ]);
    assert_eq!(
        sorted(out, |r| r.key.clone()),
        [
            // A null key is an ordinary group.
            keyed(None, 1, 1, Some(2.0), Some(2.0), Some(2.0), Some(2.0)),
            keyed(
                Some("a"),
                3,
                2,
                Some(14.0),
                Some(7.0),
                Some(4.0),
                Some(10.0)
            ),
            keyed(
                Some("b"),
                1,
                1,
                Some(-1.5),
                Some(-1.5),
                Some(-1.5),
                Some(-1.5)
            ),
            // Only nulls: count(*) counts the row, every other aggregate is null.
            keyed(Some("c"), 1, 0, None, None, None, None),
        ]
    );

    // Update mode: only the groups this batch touched, with their whole current aggregate.
    run.next_batch();
    let out = run.batch(&[ev("10:00:06", "a", 1.0)]);
    assert_eq!(
        out,
        [keyed(
            Some("a"),
            4,
            3,
            Some(15.0),
            Some(5.0),
            Some(1.0),
            Some(10.0)
        )]
    );

    // An empty batch touches nothing.
    run.next_batch();
    assert_eq!(run.batch(&[]), []);
}

#[test]
fn nan_is_the_greatest_double() {
    let mut run = Run::<KeyedAggregates>::new(OutputMode::Complete);
    let out = run.batch(&[
        ev("10:00:00", "a", 4.0),
        ev("10:00:01", "a", f64::NAN),
        ev("10:00:02", "a", 1.0),
    ]);
    assert_eq!(out.len(), 1);
    let row = &out[0];
    assert_eq!((row.n, row.n_value), (3, 3));
    assert_eq!(row.lo, Some(1.0), "min(4, NaN, 1) = 1");
    assert!(row.hi.is_some_and(f64::is_nan), "max(4, NaN, 1) = NaN");
    assert!(row.total.is_some_and(f64::is_nan), "sum with NaN = NaN");
    assert!(row.mean.is_some_and(f64::is_nan), "avg with NaN = NaN");
}

#[test]
fn global_aggregate_emits_one_row_every_batch() {
    for mode in [OutputMode::Complete, OutputMode::Update] {
        let mut run = Run::<Extremes>::new(mode);
        // Before any row: count 0, every other aggregate null.
        assert_eq!(
            run.batch(&[]),
            [ExtremesRow {
                n: 0,
                lo_key: None,
                hi_key: None,
                lo: None,
                hi: None,
                total: None,
                mean: None,
            }],
            "{mode}"
        );
        run.next_batch();
        let expected = ExtremesRow {
            n: 4,
            lo_key: Some("apple".into()),
            hi_key: Some("pear".into()),
            lo: Some(-3.0),
            hi: Some(12.5),
            total: Some(9.5),
            mean: Some(9.5 / 3.0),
        };
        assert_eq!(
            run.batch(&[
                ev("10:00:00", "pear", 12.5),
                ev("10:00:01", "apple", -3.0),
                Event {
                    ts: t("10:00:02"),
                    key: None,
                    value: None,
                },
                ev("10:00:03", "fig", 0.0),
            ]),
            std::slice::from_ref(&expected),
            "{mode}"
        );
        // An empty batch still emits the (unchanged) row.
        run.next_batch();
        assert_eq!(run.batch(&[]), [expected], "{mode}");
    }
}

#[test]
fn sums_of_ints_and_longs_are_longs() {
    let m = |k, small, big, maybe| Measure {
        k,
        small,
        big,
        maybe,
    };
    let mut run = Run::<Sums>::new(OutputMode::Complete);
    let out = run.batch(&[
        m(1, i32::MAX, 10, Some(1)),
        m(1, i32::MAX, -4, None),
        m(2, -7, i64::MAX, None),
    ]);
    assert_eq!(
        sorted(out, |r| r.k),
        [
            SumsRow {
                k: 1,
                // `sum` of INT is a BIGINT: no overflow at i32::MAX * 2.
                s_small: 2 * i64::from(i32::MAX),
                s_big: 6,
                s_maybe: Some(1),
                a_small: f64::from(i32::MAX),
                lo: -4,
                hi: i32::MAX,
                n_maybe: 1,
            },
            SumsRow {
                k: 2,
                s_small: -7,
                s_big: i64::MAX,
                s_maybe: None,
                a_small: -7.0,
                lo: i64::MAX,
                hi: -7,
                n_maybe: 0,
            },
        ]
    );
    // A `sum` of longs past i64::MAX is Spark's ANSI overflow error.
    run.next_batch();
    assert_eq!(
        first_error_class(run.try_batch(&[m(2, 0, 1, None)])),
        "ARITHMETIC_OVERFLOW"
    );
}

#[test]
fn computed_strings_as_keys_and_aggregate_arguments() {
    let rows = [
        ev("10:00:00", "a", 1.0),
        Event {
            ts: t("10:00:01"),
            key: None,
            value: Some(2.0),
        },
        ev("10:00:02", "b", 3.0),
        ev("10:00:03", "a", 4.0),
    ];
    let mut run = Run::<PerLabel>::new(OutputMode::Complete);
    let label = |label: &str, n, hi: Option<&str>, n_shout| PerLabelRow {
        label: label.to_string(),
        n,
        lo: label.to_string(),
        hi: hi.map(str::to_string),
        n_shout,
    };
    assert_eq!(
        sorted(run.batch(&rows), |r| r.label.clone()),
        [
            label("a!", 2, Some("A"), 2),
            label("b!", 1, Some("B"), 1),
            label("none!", 1, None, 0),
        ]
    );

    let mut run = Run::<PerShout>::new(OutputMode::Complete);
    let shout = |key: Option<&str>, n, lo: Option<&str>| PerShoutRow {
        shout: key.map(str::to_string),
        n,
        hi: key.map(str::to_string),
        lo: lo.map(str::to_string),
    };
    assert_eq!(
        sorted(run.batch(&rows), |r| r.shout.clone()),
        [
            shout(None, 1, None),
            shout(Some("A"), 2, Some("a")),
            shout(Some("B"), 1, Some("b")),
        ]
    );
}

// --- windows ---------------------------------------------------------------------------------

#[test]
fn tumbling_windows_start_inclusive_end_exclusive() {
    let mut run = Run::<Tumbling>::new(OutputMode::Complete);
    let out = run.batch(&[
        ev("10:00:00", "a", 1.0),
        ev("10:00:09.999999", "a", 1.0), // 1 µs before a boundary
        ev("10:00:10", "a", 1.0),        // exactly on it
        ev("10:00:19.999", "a", 1.0),
        ev("09:59:59.999999", "a", 1.0),
    ]);
    assert_eq!(
        sorted(out, |r| r.window),
        [
            TumblingRow {
                window: w("09:59:50", "10:00:00"),
                n: 1
            },
            TumblingRow {
                window: w("10:00:00", "10:00:10"),
                n: 2
            },
            TumblingRow {
                window: w("10:00:10", "10:00:20"),
                n: 2
            },
        ]
    );
}

#[test]
fn windows_before_the_epoch_align_to_it() {
    let mut run = Run::<Tumbling>::new(OutputMode::Complete);
    let before = |micros| Event {
        ts: Timestamp::from_micros(micros),
        key: None,
        value: None,
    };
    let out = run.batch(&[before(-1), before(-10_000_000), before(0)]);
    assert_eq!(
        sorted(out, |r| r.window),
        [
            TumblingRow {
                window: Window::new(-10_000_000, 10_000_000),
                n: 2
            },
            TumblingRow {
                window: Window::new(0, 10_000_000),
                n: 1
            },
        ]
    );
}

fn windowed(window: Window, key: &str, n: i64, mean: f64) -> SlidingRow {
    SlidingRow {
        window,
        key: Some(key.to_string()),
        n,
        mean: Some(mean),
    }
}

/// Data set A, batch 0: out of order, on window edges, 1 ms before one.
fn data_a_batch_0() -> Vec<Event> {
    vec![
        ev("10:00:05", "a", 10.0),
        ev("10:00:01", "b", 30.0),
        ev("10:00:10", "a", 20.0),
        ev("10:00:09.999", "b", 26.0),
        ev("10:00:03", "c", 25.0),
        ev("10:00:12", "c", 7.5),
    ]
}

fn data_a_batch_2() -> Vec<Event> {
    vec![
        ev("10:00:45", "a", 40.0),
        ev("10:00:15", "b", 50.0),
        ev("10:00:20", "c", 5.0),
        ev("10:00:07", "a", 15.0),
        ev("10:00:30", "b", 27.25),
    ]
}

fn data_a_batch_3() -> Vec<Event> {
    vec![
        ev("10:00:14", "a", 60.0),
        ev("10:00:09", "b", 70.0),
        ev("10:00:50", "c", 35.0),
        ev("10:00:15", "c", 12.0),
        ev("10:00:08", "d", 4.0),
    ]
}

fn data_a_batch_4() -> Vec<Event> {
    vec![
        ev("10:00:05", "c", 80.0),
        ev("10:00:19.500", "a", 9.0),
        ev("10:00:20", "b", 11.0),
        ev("10:01:00", "a", 1.0),
    ]
}

fn data_a_batch_5() -> Vec<Event> {
    vec![
        ev("10:05:00", "a", 99.0),
        ev("10:00:25", "b", 3.0),
        ev("10:00:11", "c", 2.0),
    ]
}

#[test]
fn sliding_windows_overlap() {
    // Spark's `sliding_update` scenario, batches 0 and 2 (update mode, no watermark).
    let mut run = Run::<Sliding>::new(OutputMode::Update);
    let key = |r: &SlidingRow| (r.window, r.key.clone());
    assert_eq!(
        sorted(run.batch(&data_a_batch_0()), key),
        [
            windowed(w("09:59:50", "10:00:10"), "a", 1, 10.0),
            windowed(w("09:59:50", "10:00:10"), "b", 2, 28.0),
            windowed(w("09:59:50", "10:00:10"), "c", 1, 25.0),
            windowed(w("10:00:00", "10:00:20"), "a", 2, 15.0),
            windowed(w("10:00:00", "10:00:20"), "b", 2, 28.0),
            windowed(w("10:00:00", "10:00:20"), "c", 2, 16.25),
            windowed(w("10:00:10", "10:00:30"), "a", 1, 20.0),
            windowed(w("10:00:10", "10:00:30"), "c", 1, 7.5),
        ]
    );
    run.next_batch();
    assert_eq!(run.batch(&[]), []);
    run.next_batch();
    assert_eq!(
        sorted(run.batch(&data_a_batch_2()), key),
        [
            windowed(w("09:59:50", "10:00:10"), "a", 2, 12.5),
            windowed(w("10:00:00", "10:00:20"), "a", 3, 15.0),
            windowed(w("10:00:00", "10:00:20"), "b", 3, 35.333333333333336),
            windowed(w("10:00:10", "10:00:30"), "b", 1, 50.0),
            windowed(w("10:00:10", "10:00:30"), "c", 2, 6.25),
            windowed(w("10:00:20", "10:00:40"), "b", 1, 27.25),
            windowed(w("10:00:20", "10:00:40"), "c", 1, 5.0),
            windowed(w("10:00:30", "10:00:50"), "a", 1, 40.0),
            windowed(w("10:00:30", "10:00:50"), "b", 1, 27.25),
            windowed(w("10:00:40", "10:01:00"), "a", 1, 40.0),
        ]
    );
}

// --- watermarks and output modes -------------------------------------------------------------

fn wm(window: Window, key: &str, n: i64, mean: f64) -> WatermarkedRow {
    WatermarkedRow {
        window,
        key: Some(key.to_string()),
        n,
        mean: Some(mean),
    }
}

fn by_window_and_key(r: &WatermarkedRow) -> (Window, Option<String>) {
    (r.window, r.key.clone())
}

#[test]
fn append_mode_emits_each_window_once_when_the_watermark_passes_its_end() {
    // Spark's `tumbling_watermark_append` scenario, batch by batch.
    let mut run = Run::<Watermarked>::new(OutputMode::Append);
    assert_eq!(run.batch(&data_a_batch_0()), []);
    assert_eq!(run.ctx.event_time_stats()[0].max, t("10:00:12").as_micros());

    run.next("09:59:42");
    assert_eq!(run.batch(&[]), []);
    run.next("09:59:42");
    assert_eq!(run.batch(&data_a_batch_2()), []);
    assert_eq!(run.pipeline.state_rows(), 9);

    // Under 10:00:15. b@10:00:09 and the new key d@10:00:08 are late for the current
    // watermark but not for the previous one (09:59:42): merged, and their window emitted now.
    run.next("10:00:15");
    assert_eq!(
        sorted(run.batch(&data_a_batch_3()), by_window_and_key),
        [
            wm(w("10:00:00", "10:00:10"), "a", 2, 12.5),
            wm(w("10:00:00", "10:00:10"), "b", 3, 42.0),
            wm(w("10:00:00", "10:00:10"), "c", 1, 25.0),
            wm(w("10:00:00", "10:00:10"), "d", 1, 4.0),
        ]
    );
    assert_eq!(run.dropped(), 0);
    assert_eq!(run.ctx.metrics().state_rows_removed, 4);

    // Under 10:00:20: c@10:00:05 (window end 10:00:10 <= previous watermark 10:00:15) is late.
    run.next("10:00:20");
    assert_eq!(
        sorted(run.batch(&data_a_batch_4()), by_window_and_key),
        [
            wm(w("10:00:10", "10:00:20"), "a", 3, 29.666666666666668),
            wm(w("10:00:10", "10:00:20"), "b", 1, 50.0),
            wm(w("10:00:10", "10:00:20"), "c", 2, 9.75),
        ]
    );
    assert_eq!(run.dropped(), 1);

    // Under 10:00:30: c@10:00:11 (end 10:00:20 == previous watermark) is late too.
    run.next("10:00:30");
    assert_eq!(
        sorted(run.batch(&data_a_batch_5()), by_window_and_key),
        [
            wm(w("10:00:20", "10:00:30"), "b", 2, 7.0),
            wm(w("10:00:20", "10:00:30"), "c", 1, 5.0),
        ]
    );
    assert_eq!(run.dropped(), 1);

    // The no-data batch under 10:04:30 flushes the windows the last rows closed.
    run.next("10:04:30");
    assert_eq!(
        sorted(run.batch(&[]), by_window_and_key),
        [
            wm(w("10:00:30", "10:00:40"), "b", 1, 27.25),
            wm(w("10:00:40", "10:00:50"), "a", 1, 40.0),
            wm(w("10:00:50", "10:01:00"), "c", 1, 35.0),
            wm(w("10:01:00", "10:01:10"), "a", 1, 1.0),
        ]
    );
    // Only the window of a@10:05:00 is left.
    assert_eq!(run.pipeline.state_rows(), 1);
}

#[test]
fn update_mode_emits_touched_groups_then_evicts() {
    // Spark's `tumbling_watermark_update` scenario.
    let mut run = Run::<Watermarked>::new(OutputMode::Update);
    assert_eq!(
        sorted(run.batch(&data_a_batch_0()), by_window_and_key),
        [
            wm(w("10:00:00", "10:00:10"), "a", 1, 10.0),
            wm(w("10:00:00", "10:00:10"), "b", 2, 28.0),
            wm(w("10:00:00", "10:00:10"), "c", 1, 25.0),
            wm(w("10:00:10", "10:00:20"), "a", 1, 20.0),
            wm(w("10:00:10", "10:00:20"), "c", 1, 7.5),
        ]
    );
    run.next("09:59:42");
    assert_eq!(run.batch(&[]), []);
    run.next("09:59:42");
    assert_eq!(
        sorted(run.batch(&data_a_batch_2()), by_window_and_key),
        [
            wm(w("10:00:00", "10:00:10"), "a", 2, 12.5),
            wm(w("10:00:10", "10:00:20"), "b", 1, 50.0),
            wm(w("10:00:20", "10:00:30"), "c", 1, 5.0),
            wm(w("10:00:30", "10:00:40"), "b", 1, 27.25),
            wm(w("10:00:40", "10:00:50"), "a", 1, 40.0),
        ]
    );
    run.next("10:00:15");
    assert_eq!(
        sorted(run.batch(&data_a_batch_3()), by_window_and_key),
        [
            wm(w("10:00:00", "10:00:10"), "b", 3, 42.0),
            // A late-but-kept row of a new key: emitted once, then evicted with its window.
            wm(w("10:00:00", "10:00:10"), "d", 1, 4.0),
            wm(w("10:00:10", "10:00:20"), "a", 2, 40.0),
            wm(w("10:00:10", "10:00:20"), "c", 2, 9.75),
            wm(w("10:00:50", "10:01:00"), "c", 1, 35.0),
        ]
    );
    // The four [10:00:00, 10:00:10) groups are gone; seven remain.
    assert_eq!(run.ctx.metrics().state_rows_removed, 4);
    assert_eq!(run.pipeline.state_rows(), 7);

    run.next("10:00:20");
    assert_eq!(
        sorted(run.batch(&data_a_batch_4()), by_window_and_key),
        [
            wm(w("10:00:10", "10:00:20"), "a", 3, 29.666666666666668),
            wm(w("10:00:20", "10:00:30"), "b", 1, 11.0),
            wm(w("10:01:00", "10:01:10"), "a", 1, 1.0),
        ]
    );
    assert_eq!(run.dropped(), 1);
    run.next("10:00:30");
    assert_eq!(
        sorted(run.batch(&data_a_batch_5()), by_window_and_key),
        [
            wm(w("10:00:20", "10:00:30"), "b", 2, 7.0),
            wm(w("10:05:00", "10:05:10"), "a", 1, 99.0),
        ]
    );
    assert_eq!(run.dropped(), 1);
    run.next("10:04:30");
    assert_eq!(run.batch(&[]), []);
    assert_eq!(run.pipeline.state_rows(), 1);
}

#[test]
fn lateness_is_per_window_with_sliding_windows() {
    let mut run = Run::<SlidingWatermarked>::new(OutputMode::Append);
    let row = |window, n| SlidingWatermarkedRow {
        window,
        key: Some("b".into()),
        n,
    };
    assert_eq!(run.batch(&[ev("10:02:10", "b", 1.0)]), []);
    run.next("10:01:10");
    // The window [10:01, 10:03) of the first row is not final yet.
    assert_eq!(run.batch(&[]), []);
    run.next("10:01:10");
    // [09:59, 10:01) ended before the previous watermark: the row is dropped from it (one
    // row-window pair) and counted in [10:00, 10:02).
    assert_eq!(run.batch(&[ev("10:00:10", "b", 1.0)]), []);
    assert_eq!(run.dropped(), 1);
    run.next("10:02:00");
    assert_eq!(run.batch(&[]), [row(w("10:00:00", "10:02:00"), 1)]);
    run.next("10:03:00");
    assert_eq!(run.batch(&[]), [row(w("10:01:00", "10:03:00"), 1)]);
    run.next("10:04:00");
    assert_eq!(run.batch(&[]), [row(w("10:02:00", "10:04:00"), 1)]);
    assert_eq!(run.pipeline.state_rows(), 0);
}

#[test]
fn a_watermark_without_aggregation_drops_nothing() {
    let mut run = Run::<StatelessWatermark>::new(OutputMode::Append);
    assert_eq!(run.batch(&[ev("10:05:00", "a", 30.0)]).len(), 1);
    run.next("10:04:50");
    let out = run.batch(&[ev("10:00:00", "b", 40.0), ev("10:00:00", "c", 1.0)]);
    assert_eq!(
        out,
        [StatelessWatermarkRow {
            ts: t("10:00:00"),
            key: Some("b".into()),
            value: Some(40.0)
        }]
    );
}

#[test]
fn doubles_group_and_sort_in_sparks_order() {
    let mut run = Run::<PerValue>::new(OutputMode::Complete);
    let value = |v: Option<f64>| Event {
        ts: t("10:00:00"),
        key: None,
        value: v,
    };
    let out = run.batch(&[
        value(Some(0.0)),
        value(Some(-0.0)),
        value(Some(f64::NAN)),
        value(Some(1.5)),
        value(None),
        value(Some(f64::NAN)),
        value(Some(f64::INFINITY)),
    ]);
    let shape: Vec<(String, i64)> = out
        .iter()
        .map(|r| (format!("{:?}", r.value), r.n))
        .collect();
    // -0.0 and 0.0 are one group, so are the NaNs; NaN sorts above +inf; nulls first.
    assert_eq!(
        shape,
        [
            ("None".to_string(), 1),
            ("Some(NaN)".to_string(), 2),
            ("Some(inf)".to_string(), 1),
            ("Some(1.5)".to_string(), 1),
            ("Some(0.0)".to_string(), 2),
        ]
    );
}

#[test]
fn complete_mode_never_drops_nor_evicts() {
    let mut run = Run::<Watermarked>::new(OutputMode::Complete);
    run.batch(&data_a_batch_0());
    run.next("09:59:42");
    run.batch(&data_a_batch_2());
    run.next("10:00:15");
    run.batch(&data_a_batch_3());
    run.next("10:00:20");
    let out = run.batch(&data_a_batch_4());
    assert_eq!(run.dropped(), 0);
    assert_eq!(run.ctx.metrics().state_rows_removed, 0);
    // c@10:00:05 is counted although its window ended before the previous watermark.
    let c_first = out
        .iter()
        .find(|r| r.window == w("10:00:00", "10:00:10") && r.key.as_deref() == Some("c"))
        .expect("the window is still in the result");
    assert_eq!((c_first.n, c_first.mean), (2, Some(52.5)));
    // Every group ever seen, every batch.
    assert_eq!(out.len(), 13);
    assert_eq!(run.pipeline.state_rows(), 13);
}

#[test]
fn filters_that_do_not_read_the_event_time_run_before_the_watermark() {
    // Spark pushes `value > 25` below the watermark: the filtered-out c@10:00:12 does not move
    // it (Spark's `watermark_filter_window_append`: 09:59:39.999 after batch 0, not 09:59:42).
    let mut run = Run::<FilteredBeforeWatermark>::new(OutputMode::Append);
    run.batch(&data_a_batch_0());
    let stats = run.ctx.event_time_stats()[0];
    assert_eq!(stats.max, t("10:00:09.999").as_micros());
    assert_eq!(stats.count, 2);

    // A filter on the event-time column written after the watermark runs after it: the
    // watermark sees every row, including those the filter drops.
    let mut run = Run::<FilteredAfterWatermark>::new(OutputMode::Complete);
    let out = run.batch(&data_a_batch_0());
    let stats = run.ctx.event_time_stats()[0];
    assert_eq!(stats.max, t("10:00:12").as_micros());
    assert_eq!(stats.min, t("10:00:01").as_micros());
    assert_eq!(stats.count, 6);
    assert_eq!(
        sorted(out, |r| r.window),
        [
            FilteredAfterWatermarkRow {
                window: w("10:00:00", "10:00:10"),
                n: 2
            },
            FilteredAfterWatermarkRow {
                window: w("10:00:10", "10:00:20"),
                n: 2
            },
        ]
    );
}

#[test]
fn grouping_by_the_event_time_column_itself() {
    // The column's value stands in for the window end: a group is late, and final, once the
    // watermark reaches it.
    let mut run = Run::<PerEventTime>::new(OutputMode::Append);
    assert_eq!(
        run.batch(&[ev("10:00:05", "a", 1.0), ev("10:00:05", "b", 1.0)]),
        []
    );
    run.next("10:00:05");
    let out = run.batch(&[ev("10:00:06", "a", 1.0)]);
    assert_eq!(
        out,
        [PerEventTimeRow {
            ts: t("10:00:05"),
            n: 2
        }]
    );
    run.next("10:00:06");
    // 10:00:05 <= the previous watermark: dropped. 10:00:06 <= the current one: final.
    assert_eq!(
        run.batch(&[ev("10:00:05", "c", 1.0)]),
        [PerEventTimeRow {
            ts: t("10:00:06"),
            n: 1
        }]
    );
    assert_eq!(run.dropped(), 1);
    assert_eq!(run.pipeline.state_rows(), 0);
}

#[test]
fn rows_without_event_time_are_not_windowed() {
    let row = |ts: Option<&str>, n| MaybeTimed { ts: ts.map(t), n };
    let mut run = Run::<NullEventTimes>::new(OutputMode::Update);
    let out = run.batch(&[
        row(Some("10:00:01"), 1),
        row(None, 100),
        row(Some("10:00:02"), 2),
    ]);
    assert_eq!(
        out,
        [NullEventTimesRow {
            window: w("10:00:00", "10:00:10"),
            n: 2,
            total: 3,
        }]
    );
    // The watermark ignores them too.
    assert_eq!(run.ctx.event_time_stats()[0].count, 2);
}

// --- after the aggregation -------------------------------------------------------------------

fn alert(key: &str, start: &str, min: f64, max: f64, pct: f64) -> AlertsRow {
    AlertsRow {
        key: Some(key.to_string()),
        window_start: t(start),
        min_price: Some(min),
        max_price: Some(max),
        pct: Some(pct),
        alert: "SIGNIFICANT PRICE MOVEMENT".to_string(),
    }
}

#[test]
fn stock_alert_filters_after_the_aggregation() {
    // Spark's `post_agg_filter` scenario (data set C): 4.9 %, exactly 5 % (not > 5), 6 %, and
    // a late low that turns a non-alert into an alert.
    let mut run = Run::<Alerts>::new(OutputMode::Append);
    let by_key = |r: &AlertsRow| (r.window_start, r.key.clone());
    assert_eq!(
        run.batch(&[
            ev("10:00:05", "AAPL", 100.0),
            ev("10:00:40", "AAPL", 104.9),
            ev("10:00:10", "MSFT", 200.0),
            ev("10:00:50", "MSFT", 210.0),
            ev("10:00:20", "TSLA", 50.0),
            ev("10:00:30", "TSLA", 53.0),
            ev("10:01:10", "AAPL", 100.0),
        ]),
        []
    );
    run.next("09:59:10");
    assert_eq!(
        run.batch(&[
            ev("10:01:20", "AAPL", 106.0),
            ev("10:00:55", "AAPL", 95.0),
            ev("10:01:30", "MSFT", 201.0),
            ev("10:03:30", "GOOG", 150.0),
        ]),
        []
    );
    run.next("10:01:30");
    assert_eq!(
        sorted(
            run.batch(&[
                ev("10:00:59", "MSFT", 100.0),
                ev("10:04:00", "GOOG", 160.0),
                ev("10:02:10", "GOOG", 140.0),
            ]),
            by_key
        ),
        [
            alert("AAPL", "10:00:00", 95.0, 104.9, 10.421052631578952),
            alert("MSFT", "10:00:00", 100.0, 210.0, 110.00000000000001),
            alert("TSLA", "10:00:00", 50.0, 53.0, 6.0),
        ]
    );
    run.next("10:02:00");
    assert_eq!(
        run.batch(&[
            ev("10:20:00", "AAPL", 100.0),
            ev("10:00:30", "TSLA", 10.0),
            ev("10:02:59.999", "GOOG", 120.0),
        ]),
        [alert("AAPL", "10:01:00", 100.0, 106.0, 6.0)]
    );
    // The MSFT window of 10:01 (201 only: 0 %) is evicted without an alert.
    run.next("10:18:00");
    assert_eq!(
        run.batch(&[]),
        [alert("GOOG", "10:02:00", 120.0, 140.0, 16.666666666666664)]
    );
}

fn top(key: &str, n: i64, total: f64) -> TopKeysRow {
    TopKeysRow {
        key: Some(key.to_string()),
        n,
        total: Some(total),
    }
}

#[test]
fn order_by_and_limit_in_complete_mode() {
    let mut run = Run::<TopKeys>::new(OutputMode::Complete);
    let out = run.batch(&[
        ev("10:00:00", "b", 1.0),
        ev("10:00:01", "c", 1.0),
        ev("10:00:02", "a", 1.0),
        ev("10:00:03", "c", 2.0),
        ev("10:00:04", "b", 2.0),
        ev("10:00:05", "d", 5.0),
    ]);
    // n desc, then key asc: the ties b and c come in key order; a and d are cut by the limit.
    assert_eq!(out, [top("b", 2, 3.0), top("c", 2, 3.0)]);
    run.next_batch();
    let out = run.batch(&[ev("10:00:06", "d", 1.0), ev("10:00:07", "d", 1.0)]);
    assert_eq!(out, [top("d", 3, 7.0), top("b", 2, 3.0)]);
}

#[test]
fn sorting_by_a_window_and_by_an_array() {
    // Spark sorts a struct field by field (the window's start, then its end) and an array
    // element by element, a shorter prefix first.
    let mut run = Run::<WindowsNewestFirst>::new(OutputMode::Complete);
    let out = run.batch(&[
        ev("10:00:01", "b", 1.0),
        ev("10:00:25", "a", 1.0),
        ev("10:00:12", "a,b", 1.0),
        ev("10:00:13", "a", 1.0),
        ev("10:00:14", "a,a", 1.0),
    ]);
    let got: Vec<(Window, Option<Vec<String>>)> =
        out.into_iter().map(|r| (r.window, r.parts)).collect();
    let parts = |p: &[&str]| Some(p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(
        got,
        [
            (w("10:00:20", "10:00:30"), parts(&["a"])),
            (w("10:00:10", "10:00:20"), parts(&["a"])),
            (w("10:00:10", "10:00:20"), parts(&["a", "a"])),
            (w("10:00:10", "10:00:20"), parts(&["a", "b"])),
            (w("10:00:00", "10:00:10"), parts(&["b"])),
        ]
    );
}

#[test]
fn raw_identifier_keys_and_sorting_by_an_output_string() {
    let row = |ty: &str, n| Tagged {
        ts: t("10:00:00"),
        r#type: ty.to_string(),
        n,
    };
    let mut run = Run::<PerType>::new(OutputMode::Complete);
    let out = run.batch(&[row("a", 1), row("b", 2), row("a", 3)]);
    let expected = |ty: &str, total| PerTypeRow {
        r#type: ty.to_string(),
        total,
        label: format!("{ty}={total}"),
    };
    assert_eq!(out, [expected("b", 2), expected("a", 4)]);
}

#[test]
fn limit_in_append_mode_counts_across_batches() {
    let mut run = Run::<FirstThree>::new(OutputMode::Append);
    let row = |key: &str, value| FirstThreeRow {
        key: Some(key.to_string()),
        value: Some(value),
    };
    assert_eq!(
        run.batch(&[
            ev("10:00:00", "a", 30.0),
            ev("10:00:01", "b", 10.0),
            ev("10:00:02", "c", 25.0),
        ]),
        [row("a", 30.0), row("c", 25.0)]
    );
    run.next_batch();
    assert_eq!(
        run.batch(&[ev("10:00:03", "d", 21.0), ev("10:00:04", "e", 22.0)]),
        [row("d", 21.0)]
    );
    run.next_batch();
    assert_eq!(run.batch(&[ev("10:00:05", "f", 50.0)]), []);
}

#[test]
fn limit_on_an_append_aggregation_caps_the_rows_ever_emitted() {
    let mut run = Run::<FirstWindows>::new(OutputMode::Append);
    run.batch(&data_a_batch_0());
    run.next("09:59:42");
    run.batch(&data_a_batch_2());
    run.next("10:00:15");
    // Four windows close; the limit lets three through.
    assert_eq!(run.batch(&data_a_batch_3()).len(), 3);
    run.next("10:00:20");
    assert_eq!(run.batch(&data_a_batch_4()), []);
}

// --- stateless -------------------------------------------------------------------------------

#[test]
fn null_propagation_and_three_valued_logic() {
    let mut run = Run::<NullSemantics>::new(OutputMode::Append);
    let out = run.batch(&[
        ev("10:00:00", "a", 30.0),
        Event {
            ts: t("10:00:01"),
            key: Some("a".into()),
            value: None,
        },
        Event {
            ts: t("10:00:02"),
            key: None,
            value: Some(1.5),
        },
        Event {
            ts: t("10:00:03"),
            key: None,
            value: None,
        },
    ]);
    let row = |key: Option<&str>,
               plus_one,
               missing,
               big,
               big_or_a,
               big_and_a,
               label: &str,
               upper_key: Option<&str>,
               described: Option<&str>| NullSemanticsRow {
        key: key.map(str::to_string),
        plus_one,
        missing,
        big,
        big_or_a,
        big_and_a,
        label: label.to_string(),
        upper_key: upper_key.map(str::to_string),
        described: described.map(str::to_string),
    };
    assert_eq!(
        out,
        [
            row(
                Some("a"),
                Some(31.0),
                false,
                Some(true),
                Some(true),
                Some(true),
                "a",
                Some("A"),
                Some("a:30.0")
            ),
            // null > 25 is null; null or true is true; null and true is null.
            row(
                Some("a"),
                None,
                true,
                None,
                Some(true),
                None,
                "a",
                Some("A"),
                None
            ),
            // false or null is null; false and null is false.
            row(
                None,
                Some(2.5),
                false,
                Some(false),
                None,
                Some(false),
                "none",
                None,
                None
            ),
            row(None, None, true, None, None, None, "none", None, None),
        ]
    );
}

#[test]
fn where_keeps_a_row_only_when_the_condition_is_true() {
    let mut run = Run::<Filtered>::new(OutputMode::Append);
    let out = run.batch(&[
        ev("10:00:00", "b", 30.0), // true
        ev("10:00:01", "b", 1.0),  // false
        Event {
            ts: t("10:00:02"),
            key: Some("a".into()),
            value: None,
        }, // null or true: true
        Event {
            ts: t("10:00:03"),
            key: Some("b".into()),
            value: None,
        }, // null or false: null, dropped
    ]);
    assert_eq!(
        out,
        [
            FilteredRow {
                key: Some("b".into()),
                value: Some(30.0)
            },
            FilteredRow {
                key: Some("a".into()),
                value: None
            },
        ]
    );
}

// --- chained queries and key rewrites --------------------------------------------------------

#[test]
fn a_stateless_query_feeds_an_aggregation() {
    let mut run = Run::<HotRooms>::new(OutputMode::Complete);
    // Split into chunks: the state carries across `process` calls of one batch.
    let out = run.batch_in_chunks(&rate(0..20), 7);
    let room = |name: &str, n, hottest| HotRoomsRow {
        room: name.to_string(),
        n,
        hottest,
    };
    // temperature = 20 + value % 10 + (value % 3) / 10.0, in Spark's evaluation order.
    assert_eq!(
        sorted(out, |r| r.room.clone()),
        [
            room("Room_0", 1, 25.0 + 2.0 / 10.0), // 5
            room("Room_1", 2, 26.0 + 1.0 / 10.0), // 6, 16
            room("Room_2", 2, 27.0 + 2.0 / 10.0), // 7, 17
            room("Room_3", 2, 28.0 + 2.0 / 10.0), // 8, 18
            room("Room_4", 2, 29.0 + 1.0 / 10.0), // 9, 19
        ]
    );
    // The prefix query on its own.
    let mut readings = Run::<Readings>::new(OutputMode::Append);
    assert_eq!(
        readings.batch(&rate(14..16)),
        [
            ReadingsRow {
                timestamp: Timestamp::from_secs(14),
                room: "Room_4".into(),
                temperature: 24.0 + 2.0 / 10.0,
            },
            ReadingsRow {
                timestamp: Timestamp::from_secs(15),
                room: "Room_0".into(),
                temperature: 25.0,
            },
        ]
    );
}

#[test]
fn case_keys_emit_their_strings() {
    let mut run = Run::<Actions>::new(OutputMode::Complete);
    let out = run.batch(&rate(0..20));
    let action = |name: &str, n| ActionsRow {
        action: name.to_string(),
        n,
    };
    assert_eq!(
        sorted(out, |r| r.action.clone()),
        [
            action("click", 6),
            action("purchase", 2),
            action("view", 12)
        ]
    );

    // No `else`: the rows no branch matches form the null group.
    let mut run = Run::<Buckets>::new(OutputMode::Complete);
    let out = run.batch(&rate(0..8));
    let bucket = |name: Option<&str>, n| BucketsRow {
        bucket: name.map(str::to_string),
        n,
    };
    assert_eq!(
        sorted(out, |r| r.bucket.clone()),
        [
            bucket(None, 3),
            bucket(Some("low"), 3),
            bucket(Some("mid"), 2)
        ]
    );
}

// --- ANSI errors -----------------------------------------------------------------------------

#[test]
fn ansi_errors_carry_spark_error_classes() {
    // value % 3 is 0 for the first row.
    assert_eq!(
        first_error_class(Run::<DivideByZero>::new(OutputMode::Append).try_batch(&rate(0..3))),
        "DIVIDE_BY_ZERO"
    );
    assert_eq!(
        first_error_class(
            Run::<LiteralDivideByZero>::new(OutputMode::Append).try_batch(&rate(0..1))
        ),
        "DIVIDE_BY_ZERO"
    );
    assert_eq!(
        first_error_class(Run::<RemainderByZero>::new(OutputMode::Append).try_batch(&rate(5..6))),
        "DIVIDE_BY_ZERO"
    );
    // 2 * 2^62 overflows a BIGINT; 1 * 2^62 does not.
    let mut run = Run::<Overflow>::new(OutputMode::Append);
    assert_eq!(
        run.batch(&rate(1..2)),
        [OverflowRow {
            big: 4_611_686_018_427_387_904
        }]
    );
    assert_eq!(
        first_error_class(run.try_batch(&rate(2..3))),
        "ARITHMETIC_OVERFLOW"
    );
    assert_eq!(
        first_error_class(Run::<BadCast>::new(OutputMode::Append).try_batch(&rate(0..1))),
        "CAST_INVALID_INPUT"
    );
    // try_divide is null instead.
    assert_eq!(
        Run::<TryDivide>::new(OutputMode::Append).batch(&rate(2..4)),
        [
            TryDivideRow { ratio: Some(1.0) },
            TryDivideRow { ratio: None }
        ]
    );
}

#[test]
fn the_error_message_is_sparks() {
    let err = Run::<LiteralDivideByZero>::new(OutputMode::Append)
        .try_batch(&rate(0..1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead."
    );
}
