use super::*;
use crate::test_rows::{AllTypes, Event, EventWithCorrupt, StrictEvent, Tags, Windowed, at, event};
use crate::time::Timestamp;

fn read<R: Row>(format: impl Into<FileFormat>, mode: ParseMode, bytes: &[u8]) -> Result<Vec<R>> {
    let prepared = format.into().prepare(R::SCHEMA)?;
    let ctx = ReadContext::new("in.txt", R::SCHEMA, mode, "_corrupt_record")?;
    prepared.read(bytes, &ctx)
}

fn write<R: Row>(format: impl Into<FileFormat>, rows: &[R]) -> String {
    let prepared = format.into().prepare(R::SCHEMA).unwrap();
    String::from_utf8(prepared.write(rows).unwrap()).unwrap()
}

/// The oracle's `nulls_stateless` input (data set N), read as Spark reads it in PERMISSIVE mode.
const NULLS_CSV: &str = "2024-01-01T10:00:01.000Z,a,1\n\
                         2024-01-01T10:00:02.000Z,,2\n\
                         2024-01-01T10:00:03.000Z,a,\n\
                         2024-01-01T10:00:04.000Z,b,not-a-number\n\
                         not-a-timestamp,b,4\n\
                         2024-01-01T10:00:06.000Z,b,NaN\n";

#[test]
fn csv_permissive_matches_the_oracle() {
    let rows: Vec<Event> = read(Csv::new(), ParseMode::Permissive, NULLS_CSV.as_bytes()).unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0], event(1_000, Some("a"), Some(1.0)));
    assert_eq!(
        rows[1],
        event(2_000, None, Some(2.0)),
        "an empty string field is null"
    );
    assert_eq!(rows[2], event(3_000, Some("a"), None));
    assert_eq!(
        rows[3],
        event(4_000, Some("b"), None),
        "unparsable double is null"
    );
    assert_eq!(
        rows[4],
        Event {
            ts: None,
            key: Some("b".into()),
            value: Some(4.0)
        },
        "unparsable timestamp is null, the row is kept"
    );
    assert_eq!(rows[5].ts, Some(at(6_000)));
    assert!(rows[5].value.unwrap().is_nan(), "NaN parses as a double");
}

#[test]
fn csv_permissive_fills_the_corrupt_record_column() {
    let rows: Vec<EventWithCorrupt> =
        read(Csv::new(), ParseMode::Permissive, NULLS_CSV.as_bytes()).unwrap();
    let corrupt: Vec<Option<&str>> = rows.iter().map(|r| r._corrupt_record.as_deref()).collect();
    assert_eq!(
        corrupt,
        [
            None,
            None,
            None,
            Some("2024-01-01T10:00:04.000Z,b,not-a-number"),
            Some("not-a-timestamp,b,4"),
            None
        ]
    );
    // Too few and too many fields are malformed too; the fields present still parse.
    let rows: Vec<EventWithCorrupt> = read(
        Csv::new(),
        ParseMode::Permissive,
        b"2024-01-01T10:00:01Z,a\r\n2024-01-01T10:00:02Z,b,2,extra\r\n",
    )
    .unwrap();
    assert_eq!(
        rows[0],
        EventWithCorrupt {
            ts: Some(at(1_000)),
            key: Some("a".into()),
            value: None,
            _corrupt_record: Some("2024-01-01T10:00:01Z,a".into()),
        }
    );
    assert_eq!(rows[1].value, Some(2.0));
    assert_eq!(
        rows[1]._corrupt_record.as_deref(),
        Some("2024-01-01T10:00:02Z,b,2,extra")
    );
}

#[test]
fn csv_drop_malformed_and_fail_fast() {
    let rows: Vec<Event> =
        read(Csv::new(), ParseMode::DropMalformed, NULLS_CSV.as_bytes()).unwrap();
    let keys: Vec<_> = rows.iter().map(|r| r.ts).collect();
    assert_eq!(
        keys,
        [
            Some(at(1_000)),
            Some(at(2_000)),
            Some(at(3_000)),
            Some(at(6_000))
        ]
    );
    let err = read::<Event>(Csv::new(), ParseMode::FailFast, NULLS_CSV.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[MALFORMED_RECORD_IN_PARSING] malformed record in in.txt, line 4, field `value`: cannot parse `not-a-number` as double"
    );
    match err {
        Error::MalformedRecord {
            file, line, field, ..
        } => {
            assert_eq!(
                (file.as_str(), line, field.as_deref()),
                ("in.txt", 4, Some("value"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_value_in_a_non_nullable_column_makes_the_row_malformed() {
    let input = b"2024-01-01T10:00:01Z,a,1\nnot-a-timestamp,b,2\n,c,3\n";
    let rows: Vec<StrictEvent> = read(Csv::new(), ParseMode::Permissive, input).unwrap();
    assert_eq!(
        rows.len(),
        1,
        "PERMISSIVE cannot keep a null `ts`: {rows:?}"
    );
    assert_eq!(rows[0].key.as_deref(), Some("a"));
    let err = read::<StrictEvent>(Csv::new(), ParseMode::FailFast, b",c,3\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "[MALFORMED_RECORD_IN_PARSING] malformed record in in.txt, line 1, field `ts`: null value in a column that is not nullable"
    );
}

#[test]
fn csv_options_header_sep_quote_null_value_and_timestamp_format() {
    let csv = Csv::new()
        .header(true)
        .sep(';')
        .null_value("NA")
        .timestamp_format("dd/MM/yyyy HH:mm:ss");
    let input = "ts;key;value\n01/01/2024 10:00:01;\"a;b\";1.5\n01/01/2024 10:00:02;NA;NA\n\n01/01/2024 10:00:03;\"say \\\"hi\\\"\";-Inf\n";
    let rows: Vec<Event> = read(csv.clone(), ParseMode::FailFast, input.as_bytes()).unwrap();
    assert_eq!(
        rows,
        [
            event(1_000, Some("a;b"), Some(1.5)),
            event(2_000, None, None),
            event(3_000, Some("say \"hi\""), Some(f64::NEG_INFINITY)),
        ]
    );
    // Written back with the same options, it reads back the same.
    let text = write(csv.clone(), &rows);
    assert_eq!(
        text,
        "ts;key;value\n01/01/2024 10:00:01;\"a;b\";1.5\n01/01/2024 10:00:02;NA;NA\n01/01/2024 10:00:03;\"say \\\"hi\\\"\";-Infinity\n"
    );
    let again: Vec<Event> = read(csv, ParseMode::FailFast, text.as_bytes()).unwrap();
    assert_eq!(again, rows);
}

#[test]
fn csv_writes_like_spark() {
    let rows = [
        AllTypes {
            b: Some(true),
            i: Some(-3),
            l: 10_000_000_000,
            d: Some(1.0e7),
            s: Some(String::new()),
            t: Some(at(5_000)),
        },
        AllTypes {
            b: None,
            i: None,
            l: 0,
            d: Some(f64::NAN),
            s: None,
            t: None,
        },
    ];
    let text = write(Csv::new().header(true), &rows);
    assert_eq!(
        text,
        "b,i,l,d,s,t\ntrue,-3,10000000000,1.0E7,\"\",2024-01-01T10:00:05.000Z\n,,0,NaN,,\n"
    );
    let back: Vec<AllTypes> = read(
        Csv::new().header(true),
        ParseMode::FailFast,
        text.as_bytes(),
    )
    .unwrap();
    // Spark writes an empty string as `""` but, with the default `nullValue`, reads it as null.
    assert_eq!(back[0].s, None);
    assert_eq!(
        (back[0].b, back[0].i, back[0].l, back[0].t),
        (rows[0].b, rows[0].i, rows[0].l, rows[0].t)
    );
    assert!(back[1].d.unwrap().is_nan());
    assert_eq!((back[1].b, back[1].s.as_deref()), (None, None));
}

#[test]
fn csv_rejects_types_it_cannot_hold() {
    let err = Csv::new()
        .into_format()
        .prepare(Windowed::SCHEMA)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The CSV datasource doesn't support the column `window` of the type \"STRUCT<start: TIMESTAMP, end: TIMESTAMP>\"."
    );
    let err = FileFormat::from(Csv::new().sep('é'))
        .prepare(Event::SCHEMA)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the CSV option `sep` must be a single ASCII character, found `é`"
    );
    let err = FileFormat::from(Json::new().timestamp_format("yyyy-QQ"))
        .prepare(Event::SCHEMA)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("option `timestampFormat`: unsupported datetime pattern `QQ`"),
        "{err}"
    );
}

impl Csv {
    fn into_format(self) -> FileFormat {
        self.into()
    }
}

#[test]
fn non_utf8_bytes_read_as_replacement_characters() {
    let rows: Vec<Event> = read(
        Csv::new(),
        ParseMode::FailFast,
        b"2024-01-01T10:00:01Z,caf\xe9,1\n",
    )
    .unwrap();
    assert_eq!(rows[0].key.as_deref(), Some("caf\u{FFFD}"));
    // A record is checked whole (ASCII, UTF-8, or decoded field by field): records of each
    // kind in turn through the one record buffer.
    let rows: Vec<Event> = read(
        Csv::new(),
        ParseMode::FailFast,
        "2024-01-01T10:00:01Z,a,1\n2024-01-01T10:00:02Z,caf\u{e9},2\n"
            .as_bytes()
            .iter()
            .chain(b"2024-01-01T10:00:03Z,\xff\xfe,3\n2024-01-01T10:00:04Z,b,4\n")
            .copied()
            .collect::<Vec<u8>>()
            .as_slice(),
    )
    .unwrap();
    let keys: Vec<Option<&str>> = rows.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(
        keys,
        [
            Some("a"),
            Some("caf\u{e9}"),
            Some("\u{FFFD}\u{FFFD}"),
            Some("b")
        ]
    );
    let values: Vec<Option<f64>> = rows.iter().map(|r| r.value).collect();
    assert_eq!(values, [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
    let rows: Vec<Event> = read(
        Json::new(),
        ParseMode::FailFast,
        b"{\"key\":\"caf\xe9\",\"value\":1}\n",
    )
    .unwrap();
    assert_eq!(rows[0].key.as_deref(), Some("caf\u{FFFD}"));
}

#[test]
fn json_reads_like_spark() {
    let input = br#"{"ts":"2024-01-01T10:00:01.000Z","key":"a","value":1}
{"value":"NaN","key":12,"extra":true}

{"ts":1704103202,"key":null,"value":2.5}
{"ts":"2024-01-01T10:00:03Z","key":"b","value":"oops"}
[1,2]
not json
"#;
    let rows: Vec<EventWithCorrupt> = read(Json::new(), ParseMode::Permissive, input).unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(
        (rows[0].ts, rows[0].key.as_deref(), rows[0].value),
        (Some(at(1_000)), Some("a"), Some(1.0))
    );
    assert_eq!(rows[1].ts, None, "a missing field is null");
    assert_eq!(
        rows[1].key.as_deref(),
        Some("12"),
        "any JSON value reads into a string"
    );
    assert!(rows[1].value.unwrap().is_nan());
    assert_eq!(
        rows[2].ts,
        Some(at(2_000)),
        "integers are seconds since the epoch"
    );
    assert_eq!((rows[2].key.as_deref(), rows[2].value), (None, Some(2.5)));
    assert_eq!(rows[2]._corrupt_record, None);
    assert_eq!(
        (
            rows[3].key.as_deref(),
            rows[3].value,
            rows[3]._corrupt_record.as_deref()
        ),
        (
            Some("b"),
            None,
            Some(r#"{"ts":"2024-01-01T10:00:03Z","key":"b","value":"oops"}"#)
        )
    );
    assert_eq!(
        (rows[4].ts, rows[4]._corrupt_record.as_deref()),
        (None, Some("[1,2]"))
    );
    assert_eq!(rows[5]._corrupt_record.as_deref(), Some("not json"));

    let err = read::<Event>(Json::new(), ParseMode::FailFast, input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[MALFORMED_RECORD_IN_PARSING] malformed record in in.txt, line 5, field `value`: cannot convert a string \"oops\" to double"
    );
    let err = read::<Event>(Json::new(), ParseMode::FailFast, b"\n[1,2]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "[MALFORMED_RECORD_IN_PARSING] malformed record in in.txt, line 2: expected a JSON object, found an array"
    );
    let rows: Vec<Event> = read(Json::new(), ParseMode::DropMalformed, input).unwrap();
    assert_eq!(rows.len(), 3);
}

#[test]
fn json_doubles_read_exactly() {
    // Each is the shortest text of an f64 that a best-effort parser gets one unit in the last
    // place wrong (`110.00000000000001`, the Spark oracle's post_agg_filter alert, reads as
    // 110.0); Spark's Jackson reads each exactly.
    for text in [
        "110.00000000000001",
        "1.1362275116276523e-8",
        "2.2201838057111728e-13",
    ] {
        let line = format!("{{\"value\":{text}}}\n");
        let rows: Vec<Event> = read(Json::new(), ParseMode::FailFast, line.as_bytes()).unwrap();
        let want: f64 = text.parse().unwrap();
        assert_eq!(
            rows[0].value.map(f64::to_bits),
            Some(want.to_bits()),
            "{text}"
        );
    }
}

#[test]
fn json_writes_like_spark() {
    let rows = [
        AllTypes {
            b: Some(false),
            i: Some(7),
            l: -1,
            d: Some(0.00015),
            s: Some("quote \" and \\ and\nnewline".into()),
            t: Some(Timestamp::from_micros(at(9_999).as_micros() + 123)),
        },
        AllTypes {
            b: None,
            i: None,
            l: 2,
            d: Some(f64::INFINITY),
            s: None,
            t: None,
        },
    ];
    let text = write(Json::new(), &rows);
    assert_eq!(
        text,
        concat!(
            r#"{"b":false,"i":7,"l":-1,"d":1.5E-4,"s":"quote \" and \\ and\nnewline","t":"2024-01-01T10:00:09.999Z"}"#,
            "\n",
            r#"{"l":2,"d":"Infinity"}"#,
            "\n"
        )
    );
    let back: Vec<AllTypes> = read(Json::new(), ParseMode::FailFast, text.as_bytes()).unwrap();
    assert_eq!(back[0].s, rows[0].s);
    assert_eq!(
        back[0].t,
        Some(at(9_999)),
        "written in milliseconds, as Spark does"
    );
    assert_eq!(back[1], rows[1]);
    let with_nulls = write(Json::new().ignore_null_fields(false), &rows[1..]);
    assert_eq!(
        with_nulls,
        "{\"b\":null,\"i\":null,\"l\":2,\"d\":\"Infinity\",\"s\":null,\"t\":null}\n"
    );
}

#[test]
fn json_windows_and_arrays_round_trip() {
    let rows = [Windowed {
        window: Window {
            start: at(0),
            end: at(10_000),
        },
        key: "a".into(),
        count: 3,
        avg: Some(42.0),
    }];
    let text = write(Json::new(), &rows);
    assert_eq!(
        text,
        "{\"window\":{\"start\":\"2024-01-01T10:00:00.000Z\",\"end\":\"2024-01-01T10:00:10.000Z\"},\"key\":\"a\",\"count\":3,\"avg\":42.0}\n"
    );
    let back: Vec<Windowed> = read(Json::new(), ParseMode::FailFast, text.as_bytes()).unwrap();
    assert_eq!(back, rows);
    let tags = [
        Tags {
            key: "x".into(),
            tags: Some(vec!["a".into(), "b".into()]),
        },
        Tags {
            key: "y".into(),
            tags: None,
        },
    ];
    let text = write(Json::new(), &tags);
    assert_eq!(
        text,
        "{\"key\":\"x\",\"tags\":[\"a\",\"b\"]}\n{\"key\":\"y\"}\n"
    );
    let back: Vec<Tags> = read(Json::new(), ParseMode::FailFast, text.as_bytes()).unwrap();
    assert_eq!(back, tags);
}

use crate::time::Window;

#[test]
fn the_corrupt_record_column_must_be_a_nullable_string() {
    let err = ReadContext::new("f", Event::SCHEMA, ParseMode::Permissive, "value").unwrap_err();
    assert_eq!(
        err.to_string(),
        "The field for corrupt records must be string type and nullable: `value` is DOUBLE"
    );
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_round_trips_every_supported_type() {
    let rows = vec![
        AllTypes {
            b: Some(true),
            i: Some(-3),
            l: 10_000_000_000,
            d: Some(f64::NAN),
            s: Some("é".into()),
            t: Some(Timestamp::from_micros(at(1).as_micros() + 7)),
        },
        AllTypes {
            b: None,
            i: None,
            l: 0,
            d: None,
            s: None,
            t: None,
        },
    ];
    for compression in [ParquetCompression::Snappy, ParquetCompression::Uncompressed] {
        let format = Parquet::new().compression(compression);
        let bytes = FileFormat::from(format.clone())
            .prepare(AllTypes::SCHEMA)
            .unwrap()
            .write(&rows)
            .unwrap();
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        let back: Vec<AllTypes> = read(format, ParseMode::FailFast, &bytes).unwrap();
        assert!(back[0].d.unwrap().is_nan());
        assert_eq!(
            (back[0].b, back[0].i, back[0].l, &back[0].s, back[0].t),
            (rows[0].b, rows[0].i, rows[0].l, &rows[0].s, rows[0].t),
            "microseconds survive in Parquet"
        );
        assert_eq!(back[1], rows[1]);
    }
    let windows = vec![Windowed {
        window: Window {
            start: at(0),
            end: at(10_000),
        },
        key: "a".into(),
        count: 3,
        avg: None,
    }];
    let bytes = FileFormat::from(Parquet::new())
        .prepare(Windowed::SCHEMA)
        .unwrap()
        .write(&windows)
        .unwrap();
    let back: Vec<Windowed> = read(Parquet::new(), ParseMode::FailFast, &bytes).unwrap();
    assert_eq!(back, windows);
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_reads_by_name_and_reports_bad_files() {
    // Written as `Event`, read as `StrictEvent` whose `ts` is not nullable: the row with a
    // null `ts` is malformed.
    let events = vec![
        event(1_000, Some("a"), Some(1.0)),
        Event {
            ts: None,
            key: None,
            value: None,
        },
    ];
    let bytes = FileFormat::from(Parquet::new())
        .prepare(Event::SCHEMA)
        .unwrap()
        .write(&events)
        .unwrap();
    let strict: Vec<StrictEvent> = read(Parquet::new(), ParseMode::DropMalformed, &bytes).unwrap();
    assert_eq!(strict.len(), 1);
    let err = read::<StrictEvent>(Parquet::new(), ParseMode::FailFast, &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[MALFORMED_RECORD_IN_PARSING] malformed record in in.txt, line 2, field `ts`: null value in a column that is not nullable"
    );
    let err =
        read::<Event>(Parquet::new(), ParseMode::Permissive, NULLS_CSV.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("source in.txt: not a Parquet file:"),
        "{err}"
    );
    let err = FileFormat::from(Parquet::new())
        .prepare(Tags::SCHEMA)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("The Parquet datasource doesn't support the column `tags`"),
        "{err}"
    );
}

#[cfg(feature = "parquet")]
#[test]
fn damaged_parquet_files_are_errors_not_panics() {
    let events: Vec<Event> = (0..50)
        .map(|i| event(i, Some("key"), Some(i as f64)))
        .collect();
    let bytes = FileFormat::from(Parquet::new().compression(ParquetCompression::Uncompressed))
        .prepare(Event::SCHEMA)
        .unwrap()
        .write(&events)
        .unwrap();
    // Truncated anywhere: an error. A byte flipped anywhere: an error or, where the reader
    // cannot tell, rows; never a panic out of `read`.
    let mut errors = 0;
    for cut in (0..bytes.len()).step_by(7) {
        let truncated = read::<Event>(Parquet::new(), ParseMode::FailFast, &bytes[..cut]);
        assert!(truncated.is_err(), "truncated at {cut}");
        let mut flipped = bytes.clone();
        flipped[cut] ^= 0x5a;
        errors +=
            usize::from(read::<Event>(Parquet::new(), ParseMode::FailFast, &flipped).is_err());
    }
    assert!(errors > 0);
}

#[test]
fn parse_modes_parse_from_spark_option_values() {
    assert_eq!(
        "PERMISSIVE".parse::<ParseMode>().unwrap(),
        ParseMode::Permissive
    );
    assert_eq!(
        "dropMalformed".parse::<ParseMode>().unwrap(),
        ParseMode::DropMalformed
    );
    assert_eq!(ParseMode::FailFast.to_string(), "FAILFAST");
    assert_eq!(
        "lenient".parse::<ParseMode>().unwrap_err().to_string(),
        "unknown parse mode `lenient`; expected PERMISSIVE, DROPMALFORMED or FAILFAST"
    );
}

/// Damaged Parquet files the property tests (`src/fuzz.rs`) found making the `parquet` crate
/// panic: each is now a clear read error, found before decoding; what still panics deep in the
/// decoder is caught and reported with the decoder's message.
#[cfg(feature = "parquet")]
#[test]
fn damaged_parquet_files_fail_the_read_clearly() {
    let rows: Vec<Event> = (0..20)
        .map(|i| event(i * 1000, Some(["a", "b"][i as usize % 2]), Some(i as f64)))
        .collect();
    let file = FileFormat::from(Parquet::new())
        .prepare(Event::SCHEMA)
        .unwrap()
        .write(&rows)
        .unwrap();
    assert_eq!(file.len(), 942, "the file the damage was found in");
    let damaged = |at: usize, byte: u8| {
        let mut bytes = file.clone();
        bytes[at] = byte;
        match read::<Event>(Parquet::new(), ParseMode::Permissive, &bytes) {
            Err(Error::Source { message, .. }) => message,
            other => panic!("{other:?}"),
        }
    };
    // A column chunk's size made negative: `byte_range` asserted.
    assert_eq!(
        damaged(621, 181),
        "damaged Parquet file: column chunk 0 of row group 0 lies outside the file (4+-155 of 942 bytes)"
    );
    // A data page claiming dictionary encoding without a dictionary page: an `expect` failed.
    assert!(
        damaged(817, 228).starts_with("damaged Parquet file: column chunk"),
        "{}",
        damaged(817, 228)
    );
    assert!(damaged(817, 228).ends_with("has a dictionary-encoded page but no dictionary"));
    // Run-length data cut short: the decoder's assertion, caught.
    assert_eq!(
        damaged(200, 6),
        "damaged Parquet file (the decoder failed: assertion failed: size <= src.len())"
    );
}
