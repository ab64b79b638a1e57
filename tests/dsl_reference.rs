//! The examples of `docs/dsl.md`, run: every function of the library with its documented
//! result, the casts, the clauses that reshape a query, intervals, and what the generated items
//! look like. If the reference says it, this file shows it.

use sluice::prelude::*;
use sluice::{BatchContext, Error, OutputMode};

sluice::pipeline! {
    /// One row with a value of every type.
    schema Doc {
        ts: Timestamp,
        name: String,
        n: i64,
        x: f64,
        tag: Option<String>,
        csv: String,
    }

    query Strings from Doc {
        select joined = concat("n=", n, ", x=", x, ", at ", ts),
               low = lower(name),
               up = upper(name),
               trimmed = trim(name),
               len = length(trim(name)),
               first = substring(trim(name), 1, 3),
               last = substring(trim(name), -8, 8),
               parts = split(csv, ","),
               missing = concat("tag: ", tag);
    }

    query Times from Doc {
        select h = hour(ts), m = minute(ts), s = second(ts),
               y = year(ts), mo = month(ts), d = dayofmonth(ts),
               stamp = date_format(ts, "yyyy-MM-dd HH:mm"),
               parsed = to_timestamp("2024-03-05 14:07:09"),
               custom = to_timestamp("05/03/2024 14:07", "dd/MM/yyyy HH:mm"),
               bad = try_to_timestamp("not a time"),
               batch = current_timestamp();
    }

    query Numbers from Doc {
        select a = abs(-n),
               r2 = round(x, 2),
               r0 = round(x),
               tens = round(n, -1),
               zero = try_divide(n, 0),
               quarter = try_divide(n, 4),
               first_set = coalesce(tag, name),
               answer = lit(42),
               div = n / 2,
               rem = n % 7,
               neg_rem = -n % 7,
               drem = x % 1,
               fmod = 7.5 % 10;
    }

    query Casts from Doc {
        select to_int = cast("42" as int),
               to_long = cast(x as bigint),
               to_double = cast(n as double),
               to_bool = cast("yes" as boolean),
               num_bool = cast(0 as boolean),
               epoch = cast(0 as timestamp),
               secs = cast(ts as bigint),
               frac_secs = cast(ts as double),
               day = cast("2024-01-01" as timestamp),
               text = cast(x as string),
               big = cast(10000000.0 as string),
               ts_text = cast(ts as string),
               bool_text = cast(n > 1 as string),
               parts_text = cast(split(csv, ",") as string);
    }

    query Logic from Doc {
        select listed = n in (1, 125),
               unlisted = n not in (1, 2),
               simple = case n when 125 then "yes" else "no" end,
               searched = case when x > 3 then "big" when x > 2 then "medium" end,
               both = n > 100 and not (x < 1),
               either = n < 0 || x > 2,
               neither = !(n > 0),
               unknown = tag == "a" or false,
               absent = tag is null,
               present = tag is not null,
               neg = -x,
               nan_big = cast("NaN" as double) > 1e300;
    }

    query Reshaped from Doc {
        filter n > 0;
        with doubled = n * 2, n = n + 1;
        select *, label = concat(name, "!");
        drop csv, tag;
        rename doubled to twice;
    }

    query Typed from Doc {
        select i = 1, i2 = 7i32, l = 3000000000, d = 1.5, l2 = 7i64, d2 = 2f64, t = true, s = "text",
               w = 10 / 4, r = 10 % 4, lr = n % 4;
    }

    query Global from Doc {
        group by ();
        aggregate rows = count(*), total = sum(n), average = mean(n), earliest = min(ts),
                  any_big = max(n > 200);
    }

    query Intervals from Doc {
        watermark ts delay "1 minute 30 seconds";
        group by window(ts, 2min, 500ms);
        aggregate rows = count();
        select window.start, window.end, rows;
    }

    /// Section 3, generators.
    query Words from TextLine {
        select timestamp, word = explode(split(value, " "));
        where word != "";
    }

    /// Section 3, `drop duplicates`.
    schema Reading { event_time: Timestamp, sensor: String, seq: i64, temperature: f64 }

    query UniqueReadings from Reading {
        watermark event_time delay 10 seconds;
        drop duplicates (sensor, seq, event_time);
    }

    /// Section 8, session windows.
    schema Click { ts: Timestamp, user: String, page: String }

    query UserSessions from Click {
        watermark ts delay 10 seconds;
        group by session_window(ts, 30 seconds), user;
        aggregate clicks = count(*), first_page = min(page);
        select user, start = session_window.start, end = session_window.end, clicks;
    }

    query LongWindows from Doc {
        watermark ts delay 1 w;
        group by window(ts, 1 day), hourly = hour(ts);
        aggregate rows = count();
        select day = window.start, label = cast(window as string), hourly, rows;
        order by hourly desc nulls last;
    }
}

fn doc() -> Doc {
    Doc {
        ts: "2024-03-05T14:07:09.250Z".parse().unwrap(),
        name: "  Ada Lovelace  ".into(),
        n: 125,
        x: 2.675,
        tag: None,
        csv: "a,b,,c".into(),
    }
}

/// Runs one batch of `rows` through `P`, with processing time `now`.
fn run<P: Pipeline + Default>(
    rows: &[P::Input],
    mode: OutputMode,
    now: Timestamp,
) -> Result<Vec<P::Output>, Error> {
    let mut pipeline = P::default();
    let mut ctx = BatchContext::for_pipeline::<P>(mode);
    ctx.advance(ctx.watermark(), now);
    let mut out = Vec::new();
    pipeline.process(rows, &mut ctx, &mut out)?;
    pipeline.finish_batch(&mut ctx, &mut out)?;
    Ok(out)
}

fn one<P: Pipeline + Default>(input: P::Input) -> P::Output {
    let mut out = run::<P>(&[input], OutputMode::Append, Timestamp::EPOCH).expect("runs");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn string_functions() {
    assert_eq!(
        one::<Strings>(doc()),
        StringsRow {
            joined: "n=125, x=2.675, at 2024-03-05 14:07:09.25".into(),
            low: "  ada lovelace  ".into(),
            up: "  ADA LOVELACE  ".into(),
            trimmed: "Ada Lovelace".into(),
            len: 12,
            first: "Ada".into(),
            last: "Lovelace".into(),
            parts: vec!["a".into(), "b".into(), "".into(), "c".into()],
            missing: None,
        }
    );
}

#[test]
fn time_functions() {
    let now = t("2024-06-01T12:00:00Z");
    let out = run::<Times>(&[doc()], OutputMode::Append, now).unwrap();
    assert_eq!(
        out,
        [TimesRow {
            h: 14,
            m: 7,
            s: 9,
            y: 2024,
            mo: 3,
            d: 5,
            stamp: "2024-03-05 14:07".into(),
            parsed: t("2024-03-05T14:07:09Z"),
            custom: t("2024-03-05T14:07:00Z"),
            bad: None,
            batch: now,
        }]
    );
}

#[test]
fn numeric_and_null_functions() {
    assert_eq!(
        one::<Numbers>(doc()),
        NumbersRow {
            a: 125,
            r2: 2.68,
            r0: 3.0,
            tens: 130,
            zero: None,
            quarter: Some(31.25),
            first_set: "  Ada Lovelace  ".into(),
            answer: 42,
            div: 62.5,
            rem: 6,
            neg_rem: -6,
            drem: 2.675 % 1.0,
            fmod: 7.5,
        }
    );
}

#[test]
fn casts() {
    assert_eq!(
        one::<Casts>(doc()),
        CastsRow {
            to_int: 42,
            to_long: 2,
            to_double: 125.0,
            to_bool: true,
            num_bool: false,
            epoch: Timestamp::EPOCH,
            secs: 1_709_647_629,
            frac_secs: 1_709_647_629.25,
            day: t("2024-01-01T00:00:00Z"),
            text: "2.675".into(),
            big: "1.0E7".into(),
            ts_text: "2024-03-05 14:07:09.25".into(),
            bool_text: "true".into(),
            parts_text: "[a, b, , c]".into(),
        }
    );
}

#[test]
fn logic_and_null_tests() {
    assert_eq!(
        one::<Logic>(doc()),
        LogicRow {
            listed: true,
            unlisted: true,
            simple: "yes".into(),
            searched: Some("medium".into()),
            both: true,
            either: true,
            neither: false,
            unknown: None,
            absent: true,
            present: false,
            neg: -2.675,
            nan_big: true,
        }
    );
}

#[test]
fn clauses_reshape_the_row() {
    assert_eq!(
        one::<Reshaped>(doc()),
        ReshapedRow {
            ts: doc().ts,
            name: "  Ada Lovelace  ".into(),
            n: 126,
            x: 2.675,
            twice: 250,
            label: "  Ada Lovelace  !".into(),
        }
    );
}

#[test]
fn literal_types() {
    // The field types are the documented Rust types of each SQL type.
    let row: TypedRow = one::<Typed>(doc());
    let TypedRow {
        i,
        i2,
        l,
        d,
        l2,
        d2,
        t,
        s,
        w,
        r,
        lr,
    } = row;
    let _: (i32, i64, f64, i64, f64, bool, String, f64, i32, i64) =
        (i, l, d, l2, d2, t, s, w, r, lr);
    assert_eq!((i, l, d, l2, d2, t), (1, 3_000_000_000, 1.5, 7, 2.0, true));
    let _: i32 = i2;
    assert_eq!((w, r, lr), (2.5, 2, 1));
}

#[test]
fn global_aggregation() {
    let out = run::<Global>(&[], OutputMode::Complete, Timestamp::EPOCH).unwrap();
    assert_eq!(
        out,
        [GlobalRow {
            rows: 0,
            total: None,
            average: None,
            earliest: None,
            any_big: None,
        }]
    );
    let out = run::<Global>(&[doc(), doc()], OutputMode::Update, Timestamp::EPOCH).unwrap();
    assert_eq!(
        out,
        [GlobalRow {
            rows: 2,
            total: Some(250),
            average: Some(125.0),
            earliest: Some(doc().ts),
            any_big: Some(false),
        }]
    );
}

#[test]
fn intervals() {
    assert_eq!(Intervals::INFO.watermarks[0].delay_micros, 90_000_000);
    assert_eq!(
        LongWindows::INFO.watermarks[0].delay_micros,
        7 * 86_400_000_000
    );
    // 2-minute windows every 500 ms: each event is in 240 of them.
    let mut out = run::<Intervals>(&[doc()], OutputMode::Update, Timestamp::EPOCH).unwrap();
    assert_eq!(out.len(), 240);
    // `select window.start` names the column `start`.
    out.sort_by_key(|r| r.start);
    assert_eq!(
        (out[0].start, out[0].end, out[0].rows),
        (
            t("2024-03-05T14:05:09.500Z"),
            t("2024-03-05T14:07:09.500Z"),
            1
        )
    );
    let out = run::<LongWindows>(&[doc()], OutputMode::Complete, Timestamp::EPOCH).unwrap();
    assert_eq!(
        out,
        [LongWindowsRow {
            day: t("2024-03-05T00:00:00Z"),
            label: "{2024-03-05 00:00:00, 2024-03-06 00:00:00}".into(),
            hourly: 14,
            rows: 1
        }]
    );
}

#[test]
fn generated_items() {
    // The pipeline struct: `new`, `Default`, `Debug`, the `Pipeline` impl and its `INFO`.
    let p = Reshaped::new();
    assert_eq!(format!("{p:?}"), "Reshaped { state_rows: 0 }");
    assert_eq!(Reshaped::INFO.name, "Reshaped");
    assert_eq!(
        Reshaped::INFO.plan,
        "Source Doc\nQuery Reshaped\nFilter\nWith doubled\nWith n\nProject [ts, name, n, x, tag, csv, doubled, label]"
    );
    // The row struct: typed fields, a schema, values at the edges.
    assert_eq!(
        GlobalRow::SCHEMA.tree_string(),
        "root\n |-- rows: long (nullable = false)\n |-- total: long (nullable = true)\n |-- average: double (nullable = true)\n |-- earliest: timestamp (nullable = true)\n |-- any_big: boolean (nullable = true)\n"
    );
    let row = GlobalRow {
        rows: 3,
        total: None,
        average: Some(1.5),
        earliest: None,
        any_big: Some(true),
    };
    assert_eq!(GlobalRow::from_values(row.to_values()).unwrap(), row);
    // serde, with the column names as keys.
    assert_eq!(
        serde_json::to_string(&row).unwrap(),
        r#"{"rows":3,"total":null,"average":1.5,"earliest":null,"any_big":true}"#
    );
}

#[test]
fn generators_deduplication_and_session_windows() {
    let line = TextLine {
        value: "to  be".into(),
        timestamp: t("2024-01-01T10:00:00Z"),
    };
    let words: Vec<String> = run::<Words>(&[line], OutputMode::Append, Timestamp::EPOCH)
        .unwrap()
        .into_iter()
        .map(|r| r.word)
        .collect();
    assert_eq!(
        words,
        ["to", "be"],
        "the empty word between the spaces is filtered out"
    );

    let reading = |seq: i64, temperature: f64| Reading {
        event_time: t("2024-01-01T10:00:00Z"),
        sensor: "s".into(),
        seq,
        temperature,
    };
    let unique = run::<UniqueReadings>(
        &[reading(1, 20.0), reading(1, 21.0), reading(2, 22.0)],
        OutputMode::Append,
        Timestamp::EPOCH,
    )
    .unwrap();
    let kept: Vec<(i64, f64)> = unique.iter().map(|r| (r.seq, r.temperature)).collect();
    assert_eq!(kept, [(1, 20.0), (2, 22.0)], "the first row of each key");

    let click = |time: &str, page: &str| Click {
        ts: t(time),
        user: "ada".into(),
        page: page.into(),
    };
    let sessions = run::<UserSessions>(
        &[
            click("2024-01-01T10:00:00Z", "home"),
            click("2024-01-01T10:00:20Z", "cart"),
            click("2024-01-01T10:01:30Z", "home"),
        ],
        OutputMode::Complete,
        Timestamp::EPOCH,
    )
    .unwrap();
    let mut got: Vec<(Timestamp, Timestamp, i64)> = sessions
        .iter()
        .map(|r| (r.start, r.end, r.clicks))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (t("2024-01-01T10:00:00Z"), t("2024-01-01T10:00:50Z"), 2),
            (t("2024-01-01T10:01:30Z"), t("2024-01-01T10:02:00Z"), 1)
        ]
    );
}
