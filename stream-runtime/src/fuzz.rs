//! Property tests of every reader of bytes Sluice does not control: the CSV, JSON lines and
//! Parquet readers, the socket source's line reader, and every checkpoint file reader. For
//! arbitrary bytes (and for valid files with bytes flipped or cut off) each gives rows or a
//! clear error, never a panic.
//!
//! Case counts are bounded so the suite stays quick; `SLUICE_FUZZ_CASES=<n>` runs `n` cases
//! per property instead. Each property writes how many cases it ran to the test output
//! (straight to stderr, so it shows even when the test harness captures output).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::error::Error;
use crate::format::{Csv, FileFormat, Json, ParseMode, ReadContext};
use crate::row::Row;
use crate::test_rows::{AllTypes, Event, EventWithCorrupt, StrictEvent};

/// Cases per property: `default`, or `SLUICE_FUZZ_CASES`.
fn config(default: u32) -> Config {
    let cases = std::env::var("SLUICE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` on `cases` inputs from `strategy` (or `SLUICE_FUZZ_CASES`), then writes how
/// many cases ran to the test output — straight to stderr, not `eprintln!`, which the harness
/// captures for passing tests.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(config(cases));
    let ran = AtomicU64::new(0);
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    let ran = ran.load(Ordering::Relaxed);
    match result {
        Ok(()) => {
            let _ = writeln!(
                std::io::stderr(),
                "fuzz {name}: {ran} cases, every one gave rows or a clear error"
            );
        }
        Err(e) => panic!("fuzz {name}: failed after {ran} cases: {e}"),
    }
}

/// A reader's outcome is acceptable: rows, or an error that says what and where.
fn clear<T>(result: crate::Result<T>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(Error::MalformedRecord { file, line, .. }) => {
            prop_assert_eq!(file, "in.txt");
            prop_assert!(line >= 1);
            Ok(())
        }
        Err(Error::Source {
            source_name,
            message,
        }) => {
            prop_assert_eq!(source_name, "in.txt");
            prop_assert!(!message.is_empty());
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("unexpected error: {other:?}"))),
    }
}

fn read<R: Row>(format: &FileFormat, mode: ParseMode, bytes: &[u8]) -> crate::Result<Vec<R>> {
    let prepared = format.prepare(R::SCHEMA)?;
    let ctx = ReadContext::new("in.txt", R::SCHEMA, mode, "_corrupt_record")?.keep_rejected();
    let rows = prepared.read(bytes, &ctx);
    let counts = ctx.counts();
    assert!(counts.malformed <= counts.records && counts.dropped <= counts.malformed);
    if let Ok(rows) = &rows {
        // Every record is kept or dropped, and every drop is kept for the dead letters.
        assert_eq!(rows.len() as u64 + counts.dropped, counts.records);
        assert_eq!(ctx.take_rejected().len() as u64, counts.dropped);
    }
    rows
}

fn modes() -> impl Strategy<Value = ParseMode> {
    prop_oneof![
        Just(ParseMode::Permissive),
        Just(ParseMode::DropMalformed),
        Just(ParseMode::FailFast)
    ]
}

/// Bytes that look like CSV or JSON lines often enough to reach the field parsers.
fn text_like() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b":".to_vec()),
        Just(b"2024-01-01T10:00:00Z".to_vec()),
        Just(b"\"ts\"".to_vec()),
        Just(b"\"value\"".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"-1e308".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        Just(b"true".to_vec()),
        Just(b"null".to_vec()),
        Just(vec![0xff, 0xfe]),
        Just("é€".as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..300), text_like()]
}

fn csv_formats() -> impl Strategy<Value = FileFormat> {
    (
        any::<bool>(),
        prop_oneof![Just(','), Just(';'), Just('\t')],
        any::<bool>(),
    )
        .prop_map(|(header, sep, ts_pattern)| {
            let csv = Csv::new().header(header).sep(sep);
            FileFormat::from(if ts_pattern {
                csv.timestamp_format("yyyy-MM-dd HH:mm:ss")
            } else {
                csv
            })
        })
}

/// Reads `bytes` as every test schema.
fn read_all_schemas(
    format: &FileFormat,
    mode: ParseMode,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    clear(read::<Event>(format, mode, bytes))?;
    clear(read::<StrictEvent>(format, mode, bytes))?;
    clear(read::<AllTypes>(format, mode, bytes))?;
    clear(read::<EventWithCorrupt>(format, mode, bytes))?;
    Ok(())
}

#[test]
fn csv_reader_gives_rows_or_a_clear_error() {
    check(
        "CSV reader",
        400,
        (csv_formats(), modes(), bytes()),
        |(format, mode, bytes)| {
            read_all_schemas(&format, mode, &bytes)?;
            // PERMISSIVE over nullable columns keeps every record.
            prop_assert!(read::<Event>(&format, ParseMode::Permissive, &bytes).is_ok());
            Ok(())
        },
    );
}

#[test]
fn json_reader_gives_rows_or_a_clear_error() {
    check(
        "JSON lines reader",
        400,
        (any::<bool>(), modes(), bytes()),
        |(ts_pattern, mode, bytes)| {
            let json = if ts_pattern {
                Json::new().timestamp_format("yyyy-MM-dd")
            } else {
                Json::new()
            };
            read_all_schemas(&FileFormat::from(json), mode, &bytes)
        },
    );
}

/// JSON values of every kind in every column, so each conversion is exercised.
fn json_lines() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        // Past `i64` too (a JSON integer serde holds as unsigned).
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "[a-zA-Z0-9:.\\- TZ]{0,30}".prop_map(serde_json::Value::from),
        // Strings the line escapes (read unescaped, not borrowed from the line).
        "[a-z\"\\\\\n\t\u{e9}\u{1F600}]{0,8}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("2024-01-01T10:00:00Z")),
        Just(serde_json::Value::from("NaN")),
    ];
    let value = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("(start|end|x)", inner, 0..3)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let line =
        proptest::collection::btree_map("(ts|key|value|b|i|l|d|s|t|_corrupt_record)", value, 0..6)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()).to_string());
    proptest::collection::vec(line, 0..6).prop_map(|lines| lines.join("\n").into_bytes())
}

/// JSON lines whose fields mostly suit the test schemas' columns (timestamps, numbers of every
/// kind serde reads, booleans, strings with and without escapes), so that most records convert
/// and the conversion of each kind of value is compared, not only the rejection of a record.
fn typed_json_lines() -> impl Strategy<Value = Vec<u8>> {
    use serde_json::Value as J;
    let number = prop_oneof![
        any::<i64>().prop_map(J::from),
        (-1_000i64..1_000).prop_map(J::from),
        any::<u64>().prop_map(J::from),
        (-1e6f64..1e6).prop_map(J::from),
        Just(J::from("NaN")),
        Just(J::Null),
    ];
    let text = prop_oneof![
        "[a-zA-Z0-9 ]{0,8}".prop_map(J::from),
        "[a-z\"\\\\\n\u{e9}]{0,6}".prop_map(J::from),
        (0i64..100).prop_map(J::from),
        Just(J::Null),
    ];
    let time = prop_oneof![
        (0i64..4_000_000_000_000)
            .prop_map(|ms| J::from(crate::time::Timestamp::from_millis(ms).to_rfc3339())),
        (0i64..4_000_000_000).prop_map(J::from),
        Just(J::from("2024-01-01 10:00:00")),
        Just(J::Null),
    ];
    let line = (
        proptest::option::of(time.clone()),
        proptest::option::of(text.clone()),
        proptest::option::of(number.clone()),
        proptest::option::of(any::<bool>().prop_map(J::from)),
        proptest::option::of(number.clone()),
        proptest::option::of(number),
        proptest::option::of(text),
        proptest::option::of(time),
    )
        .prop_map(|(ts, key, value, b, i, d, s, t)| {
            let fields = [
                ("ts", ts),
                ("key", key),
                ("value", value),
                ("b", b),
                ("i", i.clone()),
                ("l", i),
                ("d", d),
                ("s", s),
                ("t", t),
            ];
            let object: serde_json::Map<String, J> = fields
                .into_iter()
                .filter_map(|(name, v)| v.map(|v| (name.to_string(), v)))
                .collect();
            J::Object(object).to_string()
        });
    proptest::collection::vec(line, 1..6).prop_map(|lines| lines.join("\n").into_bytes())
}

#[test]
fn json_reader_converts_any_value_or_rejects_it_clearly() {
    check(
        "JSON lines reader, typed values",
        300,
        (modes(), json_lines()),
        |(mode, bytes)| {
            let json = FileFormat::from(Json::new());
            read_all_schemas(&json, mode, &bytes)?;
            clear(read::<crate::test_rows::Windowed>(&json, mode, &bytes))?;
            clear(read::<crate::test_rows::Tags>(&json, mode, &bytes))
        },
    );
}

/// The typed reader and the record-at-a-time value reader (the reader before typed columns)
/// give the same rows, the same error, the same counts and the same dead letters.
fn same_as_by_values<R: Row>(
    format: &FileFormat,
    mode: ParseMode,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let prepared = format
        .prepare(R::SCHEMA)
        .expect("text formats hold the test schemas");
    let typed_ctx = ReadContext::new("in.txt", R::SCHEMA, mode, "_corrupt_record")
        .unwrap()
        .keep_rejected();
    let by_values_ctx = ReadContext::new("in.txt", R::SCHEMA, mode, "_corrupt_record")
        .unwrap()
        .keep_rejected();
    let typed = prepared.read::<R>(bytes, &typed_ctx);
    let by_values = prepared.read_by_values::<R>(bytes, &by_values_ctx);
    // Debug text, so NaN equals NaN.
    prop_assert_eq!(format!("{typed:?}"), format!("{by_values:?}"));
    prop_assert_eq!(typed_ctx.counts(), by_values_ctx.counts());
    prop_assert_eq!(typed_ctx.take_rejected(), by_values_ctx.take_rejected());
    Ok(())
}

fn same_for_all_schemas(
    format: &FileFormat,
    mode: ParseMode,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    same_as_by_values::<Event>(format, mode, bytes)?;
    same_as_by_values::<StrictEvent>(format, mode, bytes)?;
    same_as_by_values::<AllTypes>(format, mode, bytes)?;
    same_as_by_values::<EventWithCorrupt>(format, mode, bytes)
}

#[test]
fn typed_text_readers_read_exactly_as_the_value_readers() {
    check(
        "typed CSV reader against the value reader",
        300,
        (csv_formats(), modes(), bytes()),
        |(format, mode, bytes)| same_for_all_schemas(&format, mode, &bytes),
    );
    check(
        "typed JSON lines reader against the value reader",
        300,
        (
            modes(),
            prop_oneof![json_lines(), typed_json_lines(), bytes()],
        ),
        |(mode, bytes)| {
            let json = FileFormat::from(Json::new());
            same_for_all_schemas(&json, mode, &bytes)?;
            same_as_by_values::<crate::test_rows::Windowed>(&json, mode, &bytes)?;
            same_as_by_values::<crate::test_rows::Tags>(&json, mode, &bytes)
        },
    );
}

#[cfg(feature = "parquet")]
mod parquet {
    use super::*;
    use crate::format::Parquet;
    use crate::test_rows::event;

    fn valid_file() -> Vec<u8> {
        let rows: Vec<Event> = (0..20)
            .map(|i| event(i * 1000, Some(["a", "b"][i as usize % 2]), Some(i as f64)))
            .collect();
        FileFormat::from(Parquet::new())
            .prepare(Event::SCHEMA)
            .unwrap()
            .write(&rows)
            .unwrap()
    }

    /// A valid file damaged: bytes overwritten, or cut off.
    fn damaged() -> impl Strategy<Value = Vec<u8>> {
        let file = valid_file();
        let len = file.len();
        prop_oneof![
            proptest::collection::vec((0..len, any::<u8>()), 1..6).prop_map({
                let file = file.clone();
                move |edits| {
                    let mut bytes = file.clone();
                    for (i, b) in edits {
                        bytes[i] = b;
                    }
                    bytes
                }
            }),
            (0..len).prop_map(move |cut| file[..cut].to_vec()),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|mut b| {
                b.extend_from_slice(b"PAR1");
                b
            }),
        ]
    }

    #[test]
    fn parquet_reader_gives_rows_or_a_clear_error() {
        check(
            "Parquet reader",
            300,
            (modes(), damaged()),
            |(mode, bytes)| read_all_schemas(&FileFormat::from(Parquet::new()), mode, &bytes),
        );
    }
}

mod socket {
    use super::*;
    use crate::clock::Clock;
    use crate::source::socket::{Buffer, read_connection};
    use std::sync::Mutex;

    /// Whatever a server sends, in whatever pieces, the lines are its bytes split at `\n` (a
    /// `\r` before it dropped, the last line kept even without one), decoded lossily.
    #[test]
    fn socket_lines_are_the_bytes_split_at_newlines() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        check(
            "socket line reader",
            300,
            proptest::collection::vec(bytes(), 0..5),
            |chunks| {
                let all: Vec<u8> = chunks.concat();
                let buffer = Mutex::new(Buffer::default());
                let ended = runtime.block_on(async {
                    let mut reader = chunk_reader(&chunks);
                    read_connection(&mut reader, &buffer, Clock::system()).await
                });
                prop_assert_eq!(ended, "the server closed the connection");
                let got: Vec<String> = buffer
                    .lock()
                    .unwrap()
                    .lines
                    .iter()
                    .map(|l| l.value.clone())
                    .collect();
                let mut want: Vec<String> = all
                    .split(|&b| b == b'\n')
                    .map(|l| {
                        String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned()
                    })
                    .collect();
                // Text after the last `\n` is a line only if there is some.
                if all.last().is_none_or(|&b| b == b'\n') {
                    want.pop();
                }
                prop_assert_eq!(got, want);
                Ok(())
            },
        );
    }

    /// A reader that hands out the chunks one `read` at a time, as a socket might.
    fn chunk_reader(chunks: &[Vec<u8>]) -> impl tokio::io::AsyncBufRead + Unpin {
        let pieces: Vec<std::io::Result<bytes_chunk::Chunk>> = chunks
            .iter()
            .map(|c| Ok(bytes_chunk::Chunk(c.clone())))
            .collect();
        tokio::io::BufReader::new(bytes_chunk::ChunkReader::new(pieces))
    }

    /// An `AsyncRead` over a list of chunks, one chunk (at most) per read.
    mod bytes_chunk {
        use std::pin::Pin;
        use std::task::{Context, Poll};

        pub(super) struct Chunk(pub(super) Vec<u8>);

        pub(super) struct ChunkReader {
            chunks: std::collections::VecDeque<std::io::Result<Chunk>>,
            current: Vec<u8>,
        }

        impl ChunkReader {
            pub(super) fn new(chunks: Vec<std::io::Result<Chunk>>) -> Self {
                ChunkReader {
                    chunks: chunks.into(),
                    current: Vec::new(),
                }
            }
        }

        impl tokio::io::AsyncRead for ChunkReader {
            fn poll_read(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                while self.current.is_empty() {
                    match self.chunks.pop_front() {
                        None => return Poll::Ready(Ok(())),
                        Some(Err(e)) => return Poll::Ready(Err(e)),
                        Some(Ok(Chunk(c))) => self.current = c,
                    }
                }
                let n = buf.remaining().min(self.current.len());
                buf.put_slice(&self.current[..n]);
                self.current.drain(..n);
                Poll::Ready(Ok(()))
            }
        }
    }
}

mod checkpoint_files {
    use super::*;
    use crate::checkpoint::{Checkpoint, CheckpointConfig};
    use crate::pipeline::{PipelineInfo, PipelineKind};

    const INFO: PipelineInfo = PipelineInfo {
        name: "Q",
        kind: PipelineKind::Aggregation {
            evicts_on_watermark: true,
        },
        watermarks: &[],
        unsupported_modes: &[],
        fingerprint: 42,
        plan: "",
        has_scan_filters: false,
        input_columns: None,
    };

    /// A checkpoint of three committed batches with snapshots, a file source log and a file
    /// sink's metadata log: every kind of file a restart reads.
    fn valid_checkpoint(dir: &std::path::Path) {
        let (mut c, _, _) = Checkpoint::open(CheckpointConfig::new(dir), &INFO).unwrap();
        for b in 0..3u64 {
            let offsets = crate::checkpoint::OffsetRecord {
                version: 1,
                batch_id: b,
                start: (b > 0).then(|| serde_json::json!({"logOffset": b})),
                end: serde_json::json!({"logOffset": b + 1}),
                has_data: true,
                watermark_us: Some(0),
                late_watermark_us: Some(0),
                batch_timestamp_us: 0,
            };
            c.write_offsets(&offsets).unwrap();
            let payloads = vec![format!("state-{b}").into_bytes(); c.state_partitions()];
            c.write_snapshot(b, &payloads).unwrap();
            c.write_commit(&crate::checkpoint::CommitRecord {
                version: 1,
                batch_id: b,
                next_watermark_us: Some(0),
                node_watermarks_ms: vec![],
            })
            .unwrap();
        }
        c.write_source_metadata(&serde_json::json!({"startTimeMs": 1_700_000_000_000_i64}))
            .unwrap();
        let mut log = crate::source::file::FileLog::new();
        log.extend((0..3).map(|i| crate::source::file::LoggedFile {
            name: format!("{i}.csv"),
            size: 10,
            modification_time: 0,
            rejected: false,
        }));
        log.save(&dir.join("sources/0")).unwrap();
        let metadata = dir.join("out/_spark_metadata");
        std::fs::create_dir_all(&metadata).unwrap();
        for b in 0..3 {
            std::fs::write(
                metadata.join(b.to_string()),
                format!("v1\n{{\"path\":\"file:///x/part-{b}.json\",\"size\":1,\"isDir\":false,\"modificationTime\":0,\"blockReplication\":1,\"blockSize\":1,\"action\":\"add\"}}"),
            )
            .unwrap();
        }
        std::fs::write(dir.join("sinks/0/file-sink.json"), b"{\"batchIdOffset\":0}").unwrap();
    }

    const FILES: &[&str] = &[
        "metadata",
        "offsets/1",
        "offsets/2",
        "commits/2",
        "state/0/0/2.snapshot",
        "state/0/0/1.snapshot",
        "sources/0/file-source-log.json",
        "sources/0/metadata",
        "out/_spark_metadata/1",
        "sinks/0/file-sink.json",
        "lock",
    ];

    /// Replacement contents for one file: arbitrary, or the file's own bytes edited or cut.
    fn damage() -> impl Strategy<Value = (usize, u8, Vec<u8>)> {
        (0..FILES.len(), 0..3u8, bytes())
    }

    /// Copies a directory tree (no `fsync`: cases must be quick).
    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn damaged_checkpoint_files_give_a_clear_error() {
        // Written once (atomically, with `fsync`s), copied for each case.
        let template = tempfile::tempdir().unwrap();
        valid_checkpoint(template.path());
        check(
            "checkpoint file readers",
            200,
            damage(),
            |(file, how, noise)| {
                let dir = tempfile::tempdir().unwrap();
                copy_dir(template.path(), dir.path());
                let path = dir.path().join(FILES[file]);
                let original = std::fs::read(&path).unwrap();
                let replaced = match how {
                    0 => noise,
                    1 => original[..noise.len().min(original.len())].to_vec(),
                    _ => {
                        let mut bytes = original.clone();
                        for (i, b) in noise.iter().enumerate() {
                            if !bytes.is_empty() {
                                let at = (i * 7919 + *b as usize) % bytes.len();
                                bytes[at] ^= b | 1;
                            }
                        }
                        bytes
                    }
                };
                std::fs::write(&path, &replaced).unwrap();
                // Every reader a restart uses.
                let opened = Checkpoint::open(CheckpointConfig::new(dir.path()), &INFO);
                if let Err(e) = &opened {
                    prop_assert!(
                        matches!(e, Error::Checkpoint { .. } | Error::Io { .. }),
                        "{e:?}"
                    );
                    prop_assert!(!e.to_string().is_empty());
                }
                drop(opened);
                match crate::source::file::FileLog::load(&dir.path().join("sources/0")) {
                    Ok(_) => {}
                    Err(Error::Checkpoint { path, .. }) => {
                        prop_assert!(path.ends_with("file-source-log.json"))
                    }
                    Err(e) => prop_assert!(false, "{e:?}"),
                }
                match crate::sink::file::committed_files(dir.path().join("out")) {
                    Ok(_) => {}
                    Err(Error::Checkpoint { path, .. }) => {
                        prop_assert!(path.starts_with(dir.path().join("out")))
                    }
                    Err(e @ Error::Io { .. }) => {
                        prop_assert!(e.to_string().contains("cannot read"), "{e}")
                    }
                    Err(e) => prop_assert!(false, "{e:?}"),
                }
                // The file sink reads its log and its numbering when it opens.
                let mut sink =
                    crate::sink::FileSink::<Event>::new(dir.path().join("out"), Json::new());
                let ctx = crate::sink::SinkContext {
                    metadata_dir: Some(dir.path().join("sinks/0")),
                    resuming: true,
                    ..crate::sink::SinkContext::new(None, crate::pipeline::OutputMode::Append)
                };
                if let Err(e) = crate::sink::Sink::open(&mut sink, &ctx) {
                    prop_assert!(
                        matches!(e, Error::Checkpoint { .. } | Error::Io { .. }),
                        "{e:?}"
                    );
                }
                Ok(())
            },
        );
    }
}
