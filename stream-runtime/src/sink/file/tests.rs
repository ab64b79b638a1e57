use super::*;
use crate::clock::Clock;
use crate::source::{FileOffset, FileSource, ReadLimit, Source, SourceContext};
use crate::test_rows::{Event, Windowed, at, event};
use crate::time::Window;

fn context(mode: OutputMode) -> SinkContext {
    SinkContext::new(None, mode)
}

fn batch<R>(batch_id: u64, rows: Vec<R>) -> SinkBatch<R> {
    SinkBatch {
        batch_id,
        rows,
        output_mode: OutputMode::Append,
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn only_append_mode_is_supported() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, name) in [
        (OutputMode::Update, "Update"),
        (OutputMode::Complete, "Complete"),
    ] {
        let err = FileSink::<Event>::json(dir.path())
            .open(&context(mode))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Data source json does not support {name} output mode")
        );
    }
    let err = FileSink::<Event>::csv(dir.path())
        .open(&context(OutputMode::Update))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Data source csv does not support Update output mode"
    );
    let err = FileSink::<Windowed>::csv(dir.path())
        .open(&context(OutputMode::Append))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE]"),
        "{err}"
    );
}

#[tokio::test]
async fn writes_part_files_then_commits_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut sink = FileSink::<Event>::json(&out).max_records_per_file(2);
    sink.open(&context(OutputMode::Append)).unwrap();
    let rows = vec![
        event(0, Some("a"), Some(1.0)),
        event(5_000, None, Some(f64::NAN)),
        event(9_999, Some("c"), None),
    ];
    sink.add_batch(batch(0, rows.clone())).await.unwrap();
    sink.add_batch(batch(1, Vec::new())).await.unwrap();
    assert_eq!(
        file_names(&out),
        [
            "_spark_metadata",
            "part-00000-00000.json",
            "part-00000-00001.json"
        ]
    );
    assert_eq!(file_names(&out.join(METADATA_DIR)), ["0", "1"]);
    assert_eq!(
        std::fs::read_to_string(out.join("part-00000-00000.json")).unwrap(),
        "{\"ts\":\"2024-01-01T10:00:00.000Z\",\"key\":\"a\",\"value\":1.0}\n{\"ts\":\"2024-01-01T10:00:05.000Z\",\"value\":\"NaN\"}\n"
    );
    let entry = std::fs::read_to_string(out.join(METADATA_DIR).join("0")).unwrap();
    let lines: Vec<&str> = entry.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "v1");
    let status: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert!(status["path"].as_str().unwrap().starts_with("file://"));
    assert!(
        status["path"]
            .as_str()
            .unwrap()
            .ends_with("/out/part-00000-00000.json")
    );
    assert_eq!(status["action"], "add");
    assert_eq!(status["isDir"], false);
    assert_eq!(
        std::fs::read_to_string(out.join(METADATA_DIR).join("1")).unwrap(),
        "v1",
        "an empty batch commits an entry without files"
    );
    assert_eq!(
        committed_files(&out).unwrap(),
        [
            out.join("part-00000-00000.json"),
            out.join("part-00000-00001.json")
        ]
    );
    let back: Vec<Event> = read_committed(&out, Json::new()).unwrap();
    assert_eq!(back.len(), 3);
    assert_eq!(
        (back[0].clone(), back[2].clone()),
        (rows[0].clone(), rows[2].clone())
    );
    assert!(back[1].value.unwrap().is_nan());
}

#[tokio::test]
async fn a_re_run_batch_never_duplicates_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let mut sink = FileSink::<Event>::csv(out);
    sink.open(&context(OutputMode::Append)).unwrap();
    sink.add_batch(batch(0, vec![event(0, Some("a"), Some(1.0))]))
        .await
        .unwrap();
    // The engine re-runs a committed batch: skipped, by this sink and by a new one.
    sink.add_batch(batch(0, vec![event(0, Some("a"), Some(1.0))]))
        .await
        .unwrap();
    let mut restarted = FileSink::<Event>::csv(out);
    restarted.open(&context(OutputMode::Append)).unwrap();
    restarted
        .add_batch(batch(0, vec![event(0, Some("zzz"), Some(9.0))]))
        .await
        .unwrap();

    // Batch 1 crashed after writing a part file (and a temporary one), before committing.
    std::fs::write(out.join("part-00001-00000.csv"), "garbage,from,a,crash\n").unwrap();
    std::fs::write(out.join("part-00001-00001.csv"), "more,garbage\n").unwrap();
    std::fs::write(out.join(".part-00001-00002.csv.1234.tmp"), "half").unwrap();
    std::fs::write(out.join(METADATA_DIR).join(".1.5678.tmp"), "v1\n{").unwrap();
    assert_eq!(
        read_committed::<Event>(out, Csv::new()).unwrap(),
        [event(0, Some("a"), Some(1.0))],
        "readers see only committed files"
    );
    let mut recovered = FileSink::<Event>::csv(out);
    recovered.open(&context(OutputMode::Append)).unwrap();
    recovered
        .add_batch(batch(1, vec![event(1_000, Some("b"), Some(2.0))]))
        .await
        .unwrap();
    assert_eq!(
        read_committed::<Event>(out, Csv::new()).unwrap(),
        [
            event(0, Some("a"), Some(1.0)),
            event(1_000, Some("b"), Some(2.0))
        ]
    );
    assert_eq!(
        file_names(out),
        [
            "_spark_metadata",
            "part-00000-00000.csv",
            "part-00001-00000.csv"
        ],
        "the crashed attempt's files are replaced"
    );
}

#[tokio::test]
async fn the_file_source_reads_the_sink_output_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let rows = vec![event(0, Some("a"), Some(1.5)), event(1_000, None, None)];
    let mut sink = FileSink::<Event>::new(out, Csv::new().header(true));
    sink.open(&context(OutputMode::Append)).unwrap();
    sink.add_batch(batch(0, rows.clone())).await.unwrap();
    // An uncommitted part file (a batch that crashed) is not read.
    std::fs::write(out.join("part-00001-00000.csv"), "ts,key,value\nx,y,z\n").unwrap();

    let mut source = FileSource::<Event>::new(out, Csv::new().header(true));
    source.open(&SourceContext::new(Clock::system())).unwrap();
    let end = source
        .latest_offset(None, ReadLimit::Configured)
        .unwrap()
        .unwrap();
    assert_eq!(end, FileOffset { log_offset: 1 });
    let chunks = source.get_batch(None, &end).unwrap();
    assert_eq!(chunks[0].to_vec(), rows);
}

#[tokio::test]
async fn windows_round_trip_through_json_files_and_the_json_source() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![Windowed {
        window: Window {
            start: at(0),
            end: at(10_000),
        },
        key: "a".into(),
        count: 2,
        avg: Some(20.5),
    }];
    let mut sink = FileSink::<Windowed>::json(dir.path());
    sink.open(&context(OutputMode::Append)).unwrap();
    sink.add_batch(batch(0, rows.clone())).await.unwrap();
    assert_eq!(
        read_committed::<Windowed>(dir.path(), Json::new()).unwrap(),
        rows
    );
    let mut source = FileSource::<Windowed>::json(dir.path());
    source.open(&SourceContext::new(Clock::system())).unwrap();
    let end = source
        .latest_offset(None, ReadLimit::Configured)
        .unwrap()
        .unwrap();
    assert_eq!(source.get_batch(None, &end).unwrap()[0].to_vec(), rows);
}

#[cfg(feature = "parquet")]
#[tokio::test]
async fn parquet_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![event(0, Some("a"), Some(1.5)), event(1_000, None, None)];
    let mut sink = FileSink::<Event>::parquet(dir.path());
    sink.open(&context(OutputMode::Append)).unwrap();
    sink.add_batch(batch(0, rows.clone())).await.unwrap();
    assert_eq!(
        file_names(dir.path()),
        ["_spark_metadata", "part-00000-00000.parquet"]
    );
    let back: Vec<Event> = read_committed(dir.path(), crate::format::Parquet::new()).unwrap();
    assert_eq!(back, rows);
    let mut source = FileSource::<Event>::parquet(dir.path());
    source.open(&SourceContext::new(Clock::system())).unwrap();
    let end = source
        .latest_offset(None, ReadLimit::Configured)
        .unwrap()
        .unwrap();
    assert_eq!(source.get_batch(None, &end).unwrap()[0].to_vec(), rows);
}

#[test]
fn committed_files_needs_a_sink_output() {
    let dir = tempfile::tempdir().unwrap();
    let err = committed_files(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is not a file sink's output: it has no _spark_metadata directory",
            dir.path().display()
        )
    );
}

#[test]
fn spark_compacted_logs_and_moved_directories_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join(METADATA_DIR);
    std::fs::create_dir(&meta).unwrap();
    let status = |name: &str, action: &str| {
        format!(
            "{{\"path\":\"file:///elsewhere/out/{name}\",\"size\":1,\"isDir\":false,\"modificationTime\":1,\"blockReplication\":1,\"blockSize\":1,\"action\":\"{action}\"}}"
        )
    };
    std::fs::write(meta.join("8"), format!("v1\n{}", status("old.json", "add"))).unwrap();
    std::fs::write(
        meta.join("9.compact"),
        format!(
            "v1\n{}\n{}",
            status("a%20b.json", "add"),
            status("c.json", "add")
        ),
    )
    .unwrap();
    std::fs::write(
        meta.join("10"),
        format!(
            "v1\n{}\n{}",
            status("d.json", "add"),
            status("c.json", "delete")
        ),
    )
    .unwrap();
    assert_eq!(
        committed_files(dir.path()).unwrap(),
        [dir.path().join("a b.json"), dir.path().join("d.json")]
    );
    std::fs::write(meta.join("11"), "v9\n").unwrap();
    let err = committed_files(dir.path()).unwrap_err().to_string();
    assert!(err.contains("does not start with `v1`"), "{err}");
}
