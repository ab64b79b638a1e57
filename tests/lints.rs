//! The generated code is lint-clean: this file expands representative pipelines under
//! `deny(warnings)` and `deny(clippy::all)`, so `cargo clippy --all-targets` (which CI runs with
//! `-D warnings`) fails if an expansion triggers a lint. Each pipeline also runs once, so that
//! nothing generated is dead code.
//!
//! rustc's lints see the whole expansion. clippy skips most code a proc macro generates at the
//! call site, so here it checks what reaches the user's own tokens (query, column and field
//! names); `stream-macros`' unit tests pin the shapes of the generated code itself.

#![deny(warnings)]
#![deny(clippy::all)]

use sluice::prelude::*;
use sluice::{BatchContext, OutputMode};

sluice::pipeline! {
    /// Readings with missing values.
    pub schema Reading {
        /// When.
        ts: Timestamp,
        /// Which sensor (may be missing).
        sensor: Option<String>,
        /// The reading (may be missing).
        value: Option<f64>,
        /// A tag per reading.
        tags: Vec<String>,
        /// An integer that may be missing.
        level: Option<i32>,
    }

    /// A static table.
    pub table Device {
        /// The device (may be missing: never matches).
        id: Option<String>,
        /// Its floor.
        floor: i32,
        /// Its room.
        room: String,
        /// Its limit.
        limit: Option<f64>,
    }

    /// An inner join on a nullable key.
    pub query Located from Reading join Device on sensor == id {
        select ts, room, value;
    }

    /// A left join on a composite key with an extra condition, then an aggregation.
    pub query HotRooms from Reading left join Device on sensor == id and level == floor and value > limit {
        group by room;
        aggregate n = count(*), hottest = max(value);
    }

    /// Stateless: filters and projections over nullable columns.
    pub query Cleaned from Reading {
        where value is not null and sensor != "broken";
        with scaled = value * 2 + 1, name = upper(coalesce(sensor, "unknown"));
        where scaled > 3 or level in (1, 2, 3);
        select ts, name, scaled, level, first_tag = tags, hour = hour(ts),
               label = case when scaled > 10 then "high" when scaled > 5 then "mid" end,
               day = date_format(ts, "yyyy-MM-dd"), raised = -level, ok = not (level > 3);
    }

    /// Keyed aggregation by a nullable string.
    pub query PerSensor from Reading {
        group by sensor;
        aggregate n = count(), n_values = count(value), total = sum(value), mean = avg(value),
                  lo = min(value), hi = max(level), first_sensor = min(sensor);
    }

    /// Windows under a watermark, with a post-aggregation filter and projection.
    pub query Windows from Reading {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), sensor;
        aggregate n = count(), lo = min(value), hi = max(value);
        with spread = (hi - lo) / lo * 100;
        where spread > 5;
        select sensor, start = window.start, end = window.end, n, spread;
    }

    /// Sliding windows by a non-null string key.
    pub query Sliding from Cleaned {
        group by window(ts, 20 seconds, 10 seconds), name;
        aggregate n = count(), mean = avg(scaled);
    }

    /// Computed strings as group keys and aggregate arguments.
    pub query Labels from Reading {
        with label = concat(coalesce(sensor, "none"), "!"), shout = upper(sensor);
        group by label, shout;
        aggregate n = count(), lo = min(label), hi = max(shout), quiet = max(lower(sensor));
    }

    /// A global aggregate.
    pub query Totals from Reading {
        aggregate n = count(), total = sum(level), mean = avg(value);
    }

    /// Order by and limit.
    pub query Top from Reading {
        group by sensor;
        aggregate n = count(), total = sum(value);
        order by n desc, sensor nulls last;
        limit 3;
    }

    /// Case and concat keys, rewritten to integer keys.
    pub query Keys from Rate {
        with room = concat("Room_", value % 5, "!"),
             action = case when value % 10 < 6 then "view" when value % 10 < 9 then "click" else "purchase" end;
        group by room, action, parity = value % 2 == 0;
        aggregate n = count();
    }

    /// A stateless limit.
    pub query FirstLines from TextLine {
        with words = split(value, " "), size = length(value);
        where size > 0;
        select words, size, trimmed = trim(lower(value)), part = substring(value, 1, 3);
        limit 10;
    }

    /// Casts and conversions.
    pub query Casts from Rate {
        select as_string = cast(value as string),
               as_int = cast(value % 1000 as int),
               as_double = cast(value as double),
               as_bool = cast(value % 2 as boolean),
               as_ts = cast(value as timestamp),
               parsed = try_to_timestamp(concat("2024-01-01 00:00:", value % 60)),
               ratio = try_divide(value, value % 3),
               rounded = round(value / 7, 2),
               magnitude = abs(value - 100),
               now = current_timestamp(),
               year = year(timestamp), month = month(timestamp), day = dayofmonth(timestamp),
               minute = minute(timestamp), second = second(timestamp),
               constant = lit(42);
    }

    /// Bytes and headers.
    pub schema Blob {
        /// Raw bytes.
        data: Vec<u8>,
        /// Maybe bytes.
        extra: Option<Vec<u8>>,
        /// Kafka headers.
        meta: Vec<Header>,
    }

    /// Binary casts and comparisons, and headers passed through.
    pub query Bytes from Blob {
        where data != extra and data > cast("a" as binary);
        select data, text = cast(data as string), meta, meta_text = cast(meta as string),
               has_extra = extra is not null;
    }

    /// Payloads parsed as JSON and as CSV, in every mode.
    pub query Parsed from Kafka {
        parse value as json Blob;
        parse cast(key as string) as csv(sep = ";", null_value = "-", timestamp_format = "yyyy-MM-dd") Sensorless mode drop_malformed;
        parse value as json(timestamp_format = "yyyy-MM-dd HH:mm:ss") Stamp mode fail_fast;
        select offset, data, level, at;
    }

    /// A CSV payload's columns.
    pub schema Sensorless {
        /// A level.
        level: Option<i32>,
    }

    /// A JSON payload's time.
    pub schema Stamp {
        /// When.
        at: Timestamp,
    }

    /// Grouping by a double and by the event-time column.
    pub query ByDouble from Reading {
        watermark ts delay 5 seconds;
        group by ts, value;
        aggregate n = count();
    }

    /// Generators: over a split, an array column, with positions, outer, nested.
    pub query Exploded from Reading {
        select ts, sensor, tag = explode(tags), value;
        select ts, tag, (pos, letter) = posexplode_outer(split(sensor, ""));
        where tag != "x";
    }

    /// A deduplication by strings, a double and the event time, under a watermark, then a limit.
    pub query Unique from Reading {
        watermark ts delay 5 seconds;
        drop duplicates (sensor, value, ts);
        where level > 0;
        limit 5;
    }

    /// Within the watermark, keyed by a nullable integer.
    pub query Fresh from Reading {
        watermark ts delay 5 seconds;
        drop duplicates within watermark (level);
    }

    /// Session windows by a nullable string, after an explode, with every aggregate.
    pub query Sessions from Reading {
        watermark ts delay 5 seconds;
        select ts, sensor, value, level, word = explode(tags);
        group by session_window(ts, 10 seconds), sensor, word;
        aggregate n = count(), total = sum(value), mean = avg(value), lo = min(level),
                  hi = max(word);
        where n > 1;
        select sensor, word, start = session_window.start, end = session_window.end, n, total,
               mean, lo, hi;
    }
}

mod private {
    // Private queries in a private module: nothing generated may be `pub` for nothing
    // (`unreachable_pub`) or unused (`dead_code`).
    sluice::pipeline! {
        query Evens from Rate {
            where value % 2 == 0;
        }

        query EvenCounts from Evens {
            group by bucket = value % 10;
            aggregate n = count();
        }

        query UniqueValues from Rate {
            drop duplicates (value);
        }

        query ValueSessions from Rate {
            watermark timestamp delay 1 second;
            group by session_window(timestamp, 1 second), bucket = value % 3;
            aggregate n = count();
        }
    }

    pub(crate) fn run() -> usize {
        let mut pipeline = EvenCounts::default();
        let mut ctx = super::BatchContext::for_pipeline::<EvenCounts>(super::OutputMode::Complete);
        let mut out = Vec::new();
        let input: Vec<super::RateRow> = Vec::new();
        super::Pipeline::process(&mut pipeline, &input, &mut ctx, &mut out).unwrap();
        super::Pipeline::finish_batch(&mut pipeline, &mut ctx, &mut out).unwrap();
        let mut evens = Evens::default();
        let mut evens_out = Vec::new();
        super::Pipeline::process(&mut evens, &input, &mut ctx, &mut evens_out).unwrap();
        let mut unique = UniqueValues::default();
        let mut unique_out = Vec::new();
        super::Pipeline::process(&mut unique, &input, &mut ctx, &mut unique_out).unwrap();
        let mut sessions = ValueSessions::default();
        let mut sessions_ctx =
            super::BatchContext::for_pipeline::<ValueSessions>(super::OutputMode::Append);
        let mut sessions_out = Vec::new();
        super::Pipeline::process(&mut sessions, &input, &mut sessions_ctx, &mut sessions_out)
            .unwrap();
        super::Pipeline::finish_batch(&mut sessions, &mut sessions_ctx, &mut sessions_out).unwrap();
        out.len() + evens_out.len() + unique_out.len() + sessions_out.len()
    }
}

/// Runs one batch of one row through `P`, joined with one device.
fn run_joined<
    P: Pipeline<Input = Reading> + Default + sluice::writer::JoinTable<TableRow = Device>,
>(
    mode: OutputMode,
) -> Vec<P::Output> {
    let mut pipeline = P::default();
    let device = Device {
        id: Some("s".to_string()),
        floor: 1,
        room: "hall".to_string(),
        limit: Some(1.0),
    };
    pipeline.set_table(std::sync::Arc::new(P::hash_table(vec![device])));
    let row = Reading {
        ts: Timestamp::EPOCH,
        sensor: Some("s".to_string()),
        value: Some(2.0),
        tags: Vec::new(),
        level: Some(1),
    };
    let mut ctx = BatchContext::for_pipeline::<P>(mode);
    let mut out = Vec::new();
    pipeline.process(&[row], &mut ctx, &mut out).unwrap();
    pipeline.finish_batch(&mut ctx, &mut out).unwrap();
    out
}

/// Runs one empty batch through `P` and returns its output.
fn run<P: Pipeline + Default>(mode: OutputMode) -> Vec<P::Output> {
    let mut pipeline = P::default();
    let mut ctx = BatchContext::for_pipeline::<P>(mode);
    let mut out = Vec::new();
    pipeline.process(&[], &mut ctx, &mut out).unwrap();
    pipeline.finish_batch(&mut ctx, &mut out).unwrap();
    out
}

#[test]
fn generated_pipelines_run() {
    assert!(run::<Cleaned>(OutputMode::Append).is_empty());
    assert!(run::<PerSensor>(OutputMode::Update).is_empty());
    assert!(run::<Windows>(OutputMode::Append).is_empty());
    assert!(run::<Sliding>(OutputMode::Update).is_empty());
    assert!(run::<Labels>(OutputMode::Update).is_empty());
    assert_eq!(run::<Totals>(OutputMode::Complete).len(), 1);
    assert!(run::<Top>(OutputMode::Complete).is_empty());
    assert!(run::<Keys>(OutputMode::Complete).is_empty());
    assert!(run::<FirstLines>(OutputMode::Append).is_empty());
    assert!(run::<Casts>(OutputMode::Append).is_empty());
    assert!(run::<ByDouble>(OutputMode::Append).is_empty());
    assert!(run::<Bytes>(OutputMode::Append).is_empty());
    assert!(run::<Parsed>(OutputMode::Append).is_empty());
    assert!(run::<Exploded>(OutputMode::Append).is_empty());
    assert!(run::<Unique>(OutputMode::Append).is_empty());
    assert!(run::<Fresh>(OutputMode::Update).is_empty());
    assert!(run::<Sessions>(OutputMode::Append).is_empty());
    assert!(run::<Sessions>(OutputMode::Complete).is_empty());
    assert_eq!(private::run(), 0);
    assert_eq!(run_joined::<Located>(OutputMode::Append).len(), 1);
    assert_eq!(run_joined::<HotRooms>(OutputMode::Complete).len(), 1);
}
