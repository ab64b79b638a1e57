//! Kafka-shaped rows without a broker: the `BINARY` type (casts, console output, JSON), and the
//! `parse` clause decoding payloads with each malformed-record policy. The same pipelines run
//! against a real broker in `tests/kafka_source.rs`.

mod common;

use sluice::prelude::*;

use common::run_available_now;

sluice::pipeline! {
    /// A sensor reading, as the producer writes it.
    pub schema Reading {
        ts: Timestamp,
        room: String,
        temp: Option<f64>,
    }

    /// The value as text, the key back to bytes.
    pub query AsText from Kafka {
        select partition, offset, text = cast(value as string), key_bytes = cast(cast(key as string) as binary);
    }

    /// Permissive: malformed readings give nulls.
    pub query Lenient from Kafka {
        parse value as json Reading;
        select offset, ts, room, temp;
    }

    /// Malformed readings are dropped.
    pub query Strict from Kafka {
        parse value as json Reading mode drop_malformed;
        where temp > 20;
        select offset, room, temp;
    }

    /// The first malformed reading fails the query.
    pub query Failing from Kafka {
        parse value as json Reading mode fail_fast;
        select room;
    }

    /// CSV payloads, `;`-separated, with a timestamp pattern.
    pub query FromCsv from Kafka {
        parse cast(value as string) as csv(sep = ";", timestamp_format = "yyyy-MM-dd HH:mm:ss") Reading;
        select room, ts, temp;
    }

    /// The seed's windowed aggregation over parsed readings.
    pub query RoomWindows from Kafka {
        parse value as json Reading mode drop_malformed;
        watermark ts delay 10 seconds;
        group by window(ts, 10 seconds), room;
        aggregate n = count(), avg_temp = avg(temp);
        select room, start = window.start, n, avg_temp;
    }
}

fn record(offset: i64, key: Option<&str>, value: Option<&str>) -> KafkaRow {
    KafkaRow {
        key: key.map(|k| k.as_bytes().to_vec()),
        value: value.map(|v| v.as_bytes().to_vec()),
        topic: "readings".into(),
        partition: 0,
        offset,
        timestamp: Timestamp::from_millis(1_704_103_200_000 + offset),
        timestamp_type: 0,
        headers: None,
    }
}

fn readings() -> Vec<KafkaRow> {
    vec![
        record(
            0,
            Some("a"),
            Some(r#"{"ts":"2024-01-01T10:00:01Z","room":"a","temp":21.5}"#),
        ),
        // Not JSON at all.
        record(1, None, Some("temperature: hot")),
        // A field of the wrong type: the others are kept in permissive mode.
        record(
            2,
            Some("b"),
            Some(r#"{"ts":"2024-01-01T10:00:02Z","room":"b","temp":"warm"}"#),
        ),
        // A tombstone: no payload, not malformed.
        record(3, Some("c"), None),
        // `ts` is required (not an `Option` in the schema) and missing.
        record(4, Some("d"), Some(r#"{"room":"d","temp":30.0}"#)),
        record(
            5,
            Some("a"),
            Some(r#"{"ts":"2024-01-01T10:00:04Z","room":"a","temp":25.0}"#),
        ),
    ]
}

/// `(offset, ts, room, temp)` of a parsed row.
type Parsed = (i64, Option<Timestamp>, Option<String>, Option<f64>);

fn stream_of(rows: Vec<KafkaRow>) -> MemoryStream<KafkaRow> {
    let stream = MemoryStream::new();
    stream.add_data(rows);
    stream
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[test]
fn kafka_rows_have_sparks_schema() {
    assert_eq!(
        KafkaRow::SCHEMA.tree_string(),
        "root
 |-- key: binary (nullable = true)
 |-- value: binary (nullable = true)
 |-- topic: string (nullable = false)
 |-- partition: integer (nullable = false)
 |-- offset: long (nullable = false)
 |-- timestamp: timestamp (nullable = false)
 |-- timestamp_type: integer (nullable = false)
 |-- headers: array (nullable = true)
 |    |-- element: struct (containsNull = false)
 |    |    |-- key: string (nullable = false)
 |    |    |-- value: binary (nullable = true)
"
    );
}

#[tokio::test]
async fn binary_casts_to_and_from_strings_as_spark_casts() {
    let mut rows = readings();
    // Invalid UTF-8 decodes with U+FFFD, as the JVM decodes it.
    rows.push(KafkaRow {
        value: Some(vec![b'o', 0xff, b'k']),
        ..record(6, None, None)
    });
    let (_, batches) = run_available_now::<AsText, _>(stream_of(rows), Append).await;
    let got: Vec<(i64, Option<String>, Option<Vec<u8>>)> = batches
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| (r.offset, r.text, r.key_bytes))
        .collect();
    assert_eq!(
        got[0],
        (
            0,
            Some(r#"{"ts":"2024-01-01T10:00:01Z","room":"a","temp":21.5}"#.into()),
            Some(b"a".to_vec())
        )
    );
    assert_eq!(got[1], (1, Some("temperature: hot".into()), None));
    assert_eq!(got[3], (3, None, Some(b"c".to_vec())));
    assert_eq!(got[6], (6, Some("o\u{fffd}k".into()), None));
}

#[tokio::test]
async fn the_console_prints_binary_as_spark_does() {
    let stream = stream_of(vec![record(0, Some("hi"), Some("hello"))]);
    let (sink, capture) = ConsoleSink::new().capture();
    let query = AsText::read_stream(stream)
        .write_stream()
        .format(sink)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    assert_eq!(
        capture.text(),
        "-------------------------------------------
Batch: 0
-------------------------------------------
+---------+------+-----+---------+
|partition|offset| text|key_bytes|
+---------+------+-----+---------+
|        0|     0|hello|  [68 69]|
+---------+------+-----+---------+

"
    );
}

#[tokio::test]
async fn permissive_parsing_gives_nulls_and_counts_them() {
    let (query, batches) = run_available_now::<Lenient, _>(stream_of(readings()), Append).await;
    let got: Vec<Parsed> = batches
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| (r.offset, r.ts, r.room, r.temp))
        .collect();
    assert_eq!(
        got,
        [
            (
                0,
                Some(t("2024-01-01T10:00:01Z")),
                Some("a".into()),
                Some(21.5)
            ),
            (1, None, None, None),
            (2, Some(t("2024-01-01T10:00:02Z")), Some("b".into()), None),
            (3, None, None, None),
            (4, None, Some("d".into()), Some(30.0)),
            (
                5,
                Some(t("2024-01-01T10:00:04Z")),
                Some("a".into()),
                Some(25.0)
            ),
        ]
    );
    let progress = query.last_progress().unwrap();
    assert_eq!(progress.num_input_rows, 6);
    // Offsets 1, 2 and 4; the tombstone is no record at all.
    assert_eq!(progress.num_malformed_records, 3);
    assert!(
        progress.json().contains("\"numMalformedRecords\":3"),
        "{}",
        progress.json()
    );
}

#[tokio::test]
async fn drop_malformed_drops_and_counts() {
    let (query, batches) = run_available_now::<Strict, _>(stream_of(readings()), Append).await;
    let got: Vec<(i64, Option<String>, Option<f64>)> = batches
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| (r.offset, r.room, r.temp))
        .collect();
    assert_eq!(
        got,
        [
            (0, Some("a".into()), Some(21.5)),
            (5, Some("a".into()), Some(25.0))
        ]
    );
    assert_eq!(query.last_progress().unwrap().num_malformed_records, 3);
}

#[tokio::test]
async fn fail_fast_fails_the_query_with_the_record() {
    let query = Failing::read_stream(stream_of(readings()))
        .write_stream()
        .trigger(Trigger::AvailableNow)
        .foreach_batch(|_, _| ())
        .start()
        .unwrap();
    let e = query.await_termination().await.unwrap_err();
    assert_eq!(
        e.cause.to_string(),
        "[MALFORMED_RECORD_IN_PARSING] malformed JSON record in `value`: invalid JSON: expected ident at line 1 column 2; the record: temperature: hot. Parse mode: fail_fast (permissive would give nulls, drop_malformed would drop the row)."
    );
    assert_eq!(e.cause.error_class(), Some("MALFORMED_RECORD_IN_PARSING"));
}

#[tokio::test]
async fn csv_payloads_with_options() {
    let rows = vec![
        record(0, None, Some("2024-01-01 10:00:01;a;21.5")),
        record(1, None, Some("2024-01-01 10:00:02;b")),
        record(2, None, Some("2024-01-01T10:00:03Z;c;1")),
    ];
    let (query, batches) = run_available_now::<FromCsv, _>(stream_of(rows), Append).await;
    let got: Vec<(Option<String>, Option<Timestamp>, Option<f64>)> = batches
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| (r.room, r.ts, r.temp))
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("a".into()),
                Some(t("2024-01-01T10:00:01Z")),
                Some(21.5)
            ),
            // A missing field is malformed (kept with what parsed, permissive).
            (Some("b".into()), Some(t("2024-01-01T10:00:02Z")), None),
            // The timestamp does not match the pattern.
            (Some("c".into()), None, Some(1.0)),
        ]
    );
    assert_eq!(query.last_progress().unwrap().num_malformed_records, 2);
}

#[tokio::test]
async fn parsed_readings_feed_a_windowed_aggregation() {
    let (_, batches) = run_available_now::<RoomWindows, _>(stream_of(readings()), Update).await;
    let mut got: Vec<(Option<String>, Timestamp, i64, Option<f64>)> = batches
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| (r.room, r.start, r.n, r.avg_temp))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    // Offsets 1, 2 (temp not a number) and 4 (no ts) are dropped; the tombstone has no ts
    // and is not windowed.
    assert_eq!(
        got,
        [(Some("a".into()), t("2024-01-01T10:00:00Z"), 2, Some(23.25))]
    );
}
