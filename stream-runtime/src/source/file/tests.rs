use std::fs::{self, File};
use std::time::{Duration, SystemTime};

use super::*;
use crate::clock::Clock;
use crate::test_rows::{Event, EventWithCorrupt, event};

/// Writes `name` with `contents`, modified `secs` seconds after a fixed past instant, so the
/// file is settled and the modification-time order is known.
fn put(dir: &Path, name: &str, contents: &str, secs: u64) {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

fn line(millis: i64, key: &str, value: f64) -> String {
    format!(
        "{},{key},{value}\n",
        crate::test_rows::at(millis).to_rfc3339()
    )
}

fn open<R: Row>(source: FileSource<R>) -> FileSource<R> {
    let mut source = source;
    source.open(&SourceContext::new(Clock::system())).unwrap();
    source
}

fn offset(n: u64) -> FileOffset {
    FileOffset { log_offset: n }
}

fn rows<R: Row>(source: &mut FileSource<R>, start: u64, end: u64) -> Vec<Vec<R>> {
    let start = (start > 0).then(|| offset(start));
    source
        .get_batch(start.as_ref(), &offset(end))
        .unwrap()
        .into_iter()
        .map(|c| c.to_vec())
        .collect()
}

fn names<R: Row>(source: &FileSource<R>) -> Vec<&str> {
    source
        .file_log()
        .files()
        .iter()
        .map(|f| f.name.as_str())
        .collect()
}

#[test]
fn reads_each_file_once_in_modification_time_order() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "b.csv", &line(1_000, "b", 1.0), 10);
    put(
        dir.path(),
        "a.csv",
        &(line(2_000, "a", 2.0) + &line(3_000, "a", 3.0)),
        20,
    );
    let mut source = open(FileSource::<Event>::csv(dir.path()));
    assert!(source.counts_rows_after_scan_filters());
    let end = source.latest_offset(None, ReadLimit::Configured).unwrap();
    assert_eq!(end, Some(offset(2)));
    assert_eq!(names(&source), ["b.csv", "a.csv"]);
    let batch = rows(&mut source, 0, 2);
    assert_eq!(
        batch,
        [
            vec![event(1_000, Some("b"), Some(1.0))],
            vec![
                event(2_000, Some("a"), Some(2.0)),
                event(3_000, Some("a"), Some(3.0))
            ]
        ]
    );
    source.commit(&offset(2)).unwrap();
    // Nothing new: the same offset again.
    assert_eq!(
        source
            .latest_offset(Some(&offset(2)), ReadLimit::Configured)
            .unwrap(),
        Some(offset(2))
    );
    put(dir.path(), "c.csv", &line(4_000, "c", 4.0), 5);
    assert_eq!(
        source
            .latest_offset(Some(&offset(2)), ReadLimit::Configured)
            .unwrap(),
        Some(offset(3)),
        "a new file is new even when its modification time is older"
    );
    assert_eq!(
        rows(&mut source, 2, 3),
        [vec![event(4_000, Some("c"), Some(4.0))]]
    );
    // A re-run of an old range reads the same rows.
    assert_eq!(rows(&mut source, 0, 2), batch);
}

#[test]
fn a_re_run_reads_the_bytes_logged_even_if_the_file_grew() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.csv", &line(1_000, "a", 1.0), 0);
    let mut source = open(FileSource::<Event>::csv(dir.path()));
    source.latest_offset(None, ReadLimit::Configured).unwrap();
    let first = rows(&mut source, 0, 1);
    fs::write(
        dir.path().join("a.csv"),
        line(1_000, "a", 1.0) + &line(2_000, "a", 2.0),
    )
    .unwrap();
    assert_eq!(rows(&mut source, 0, 1), first);
}

#[test]
fn max_files_per_trigger_caps_configured_reads_only() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in ["1.csv", "2.csv", "3.csv"].into_iter().enumerate() {
        put(dir.path(), name, &line(i as i64, "k", i as f64), i as u64);
    }
    let mut source = open(FileSource::<Event>::csv(dir.path()).max_files_per_trigger(2));
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(2))
    );
    assert_eq!(
        names(&source),
        ["1.csv", "2.csv"],
        "only what a batch takes is logged"
    );
    assert_eq!(
        source
            .latest_offset(Some(&offset(2)), ReadLimit::Configured)
            .unwrap(),
        Some(offset(3))
    );
    let mut all = open(FileSource::<Event>::csv(dir.path()).max_files_per_trigger(1));
    assert_eq!(
        all.latest_offset(None, ReadLimit::AllAvailable).unwrap(),
        Some(offset(3)),
        "Trigger.Once reads everything"
    );
}

#[test]
fn backlog_counts_files_not_read_including_those_over_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5 {
        put(
            dir.path(),
            &format!("{i}.csv"),
            &line(i, "k", 1.0),
            i as u64,
        );
    }
    let mut source = open(FileSource::<Event>::csv(dir.path()).max_files_per_trigger(2));
    let pending = |s: &FileSource<Event>, read: Option<u64>| {
        let backlog = s.backlog(read.map(offset).as_ref()).unwrap();
        assert_eq!(backlog.unit, BacklogUnit::Files);
        assert!(backlog.partitions.is_empty());
        backlog.pending
    };
    assert_eq!(pending(&source, None), 0, "nothing listed yet");
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(2))
    );
    // Two files logged for the batch, three more found over the cap.
    assert_eq!(pending(&source, None), 5);
    assert_eq!(pending(&source, Some(2)), 3);
    source
        .latest_offset(Some(&offset(2)), ReadLimit::Configured)
        .unwrap();
    assert_eq!(pending(&source, Some(4)), 1);
    source
        .latest_offset(Some(&offset(4)), ReadLimit::Configured)
        .unwrap();
    assert_eq!(pending(&source, Some(5)), 0);
}

#[test]
fn latest_first_and_name_order() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "c.csv", &line(0, "c", 0.0), 1);
    put(dir.path(), "a.csv", &line(0, "a", 0.0), 2);
    put(dir.path(), "b.csv", &line(0, "b", 0.0), 3);
    let mut newest = open(
        FileSource::<Event>::csv(dir.path())
            .latest_first(true)
            .max_files_per_trigger(1),
    );
    newest.latest_offset(None, ReadLimit::Configured).unwrap();
    assert_eq!(names(&newest), ["b.csv"]);
    put(dir.path(), "d.csv", &line(0, "d", 0.0), 4);
    newest
        .latest_offset(Some(&offset(1)), ReadLimit::Configured)
        .unwrap();
    assert_eq!(
        names(&newest),
        ["b.csv", "d.csv"],
        "a newer file overtakes the backlog"
    );

    let mut by_name = open(FileSource::<Event>::csv(dir.path()).order(FileOrder::Name));
    by_name.latest_offset(None, ReadLimit::Configured).unwrap();
    assert_eq!(names(&by_name), ["a.csv", "b.csv", "c.csv", "d.csv"]);
    let mut by_name_desc = open(
        FileSource::<Event>::csv(dir.path())
            .order(FileOrder::Name)
            .latest_first(true),
    );
    by_name_desc
        .latest_offset(None, ReadLimit::Configured)
        .unwrap();
    assert_eq!(names(&by_name_desc), ["d.csv", "c.csv", "b.csv", "a.csv"]);
}

#[test]
fn glob_filter_skips_hidden_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "in.csv", &line(0, "a", 0.0), 1);
    put(dir.path(), "notes.txt", "not data\n", 2);
    put(dir.path(), ".in.csv.swp", "x\n", 3);
    put(dir.path(), "_temporary.csv", "x\n", 4);
    fs::create_dir(dir.path().join("sub.csv")).unwrap();
    let mut source = open(FileSource::<Event>::csv(dir.path()).path_glob_filter("*.csv"));
    source.latest_offset(None, ReadLimit::Configured).unwrap();
    assert_eq!(names(&source), ["in.csv"]);
    let mut err = FileSource::<Event>::csv(dir.path()).path_glob_filter("[");
    let e = err.open(&SourceContext::new(Clock::system())).unwrap_err();
    assert!(
        e.to_string().starts_with("invalid pathGlobFilter `[`"),
        "{e}"
    );
}

#[test]
fn an_empty_file_is_its_own_empty_batch() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "batch-000.csv", &line(0, "a", 1.0), 0);
    put(dir.path(), "batch-001.csv", "", 1);
    put(dir.path(), "batch-002.csv", &line(1, "b", 2.0), 2);
    let mut source = open(FileSource::<Event>::csv(dir.path()).max_files_per_trigger(1));
    let mut batches = Vec::new();
    let mut start = None;
    while let Some(end) = source
        .latest_offset(start.as_ref(), ReadLimit::Configured)
        .unwrap()
        .filter(|e| Some(e) != start.as_ref())
    {
        let chunks = source.get_batch(start.as_ref(), &end).unwrap();
        batches.push(chunks.iter().map(|c| c.len()).sum::<usize>());
        source.commit(&end).unwrap();
        start = Some(end);
    }
    assert_eq!(batches, [1, 0, 1]);
}

#[test]
fn a_file_is_read_once_its_size_and_modification_time_settled() {
    let dir = tempfile::tempdir().unwrap();
    // Written just now, ending at a line end: the writer may still be adding lines.
    fs::write(dir.path().join("a.csv"), line(0, "a", 1.0)).unwrap();
    fs::write(dir.path().join("b.csv"), "").unwrap();
    let mut source =
        open(FileSource::<Event>::csv(dir.path()).settle_time(Duration::from_secs(3600)));
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        None
    );
    // A zero settle time declares files complete when they appear.
    let mut atomic = open(FileSource::<Event>::csv(dir.path()).settle_time(Duration::ZERO));
    assert_eq!(
        atomic.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(2))
    );
    // A file that keeps changing never settles; once it stops, it is read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.csv");
    let mut source =
        open(FileSource::<Event>::csv(dir.path()).settle_time(Duration::from_millis(300)));
    let mut text = String::new();
    for i in 0..5 {
        text.push_str(&line(i, "a", i as f64));
        fs::write(&path, &text).unwrap();
        assert_eq!(
            source.latest_offset(None, ReadLimit::Configured).unwrap(),
            None,
            "still being written"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(1))
    );
    assert_eq!(rows(&mut source, 0, 1)[0].len(), 5);
}

#[test]
fn a_last_line_without_terminator_waits_for_it_or_for_the_timeout() {
    // Settled long ago (and so past the timeout): read whole, last line included.
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.csv", "2024-01-01T10:00:00Z,a,1", 0);
    put(dir.path(), "b.csv", "", 1);
    let mut source = open(FileSource::<Event>::csv(dir.path()));
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(2))
    );
    assert_eq!(
        rows(&mut source, 0, 2),
        [vec![event(0, Some("a"), Some(1.0))], vec![]]
    );

    // Settled, but cut in the middle of a line: held until the line ends.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.csv");
    fs::write(&path, "2024-01-01T10:00:00Z,a,1\n2024-01-01T10:00:01Z,a,").unwrap();
    let settle = Duration::from_millis(50);
    let mut source = open(
        FileSource::<Event>::csv(dir.path())
            .settle_time(settle)
            .unterminated_line_timeout(Duration::from_secs(3600)),
    );
    std::thread::sleep(settle * 2);
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        None
    );
    fs::write(
        &path,
        "2024-01-01T10:00:00Z,a,1\n2024-01-01T10:00:01Z,a,2\n",
    )
    .unwrap();
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        None,
        "it just changed: it settles again first"
    );
    std::thread::sleep(settle * 2);
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(1))
    );
    assert_eq!(
        rows(&mut source, 0, 1),
        [vec![
            event(0, Some("a"), Some(1.0)),
            event(1_000, Some("a"), Some(2.0))
        ]]
    );
}

#[test]
fn a_file_that_vanished_fails_clearly_or_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 0);
    put(dir.path(), "b.csv", &line(1, "b", 2.0), 1);
    let mut source = open(FileSource::<Event>::csv(dir.path()));
    source.latest_offset(None, ReadLimit::Configured).unwrap();
    fs::remove_file(dir.path().join("a.csv")).unwrap();
    let err = source.get_batch(None, &offset(2)).unwrap_err();
    let path = dir.path().join("a.csv");
    assert_eq!(
        err.to_string(),
        format!(
            "source {}: [FAILED_READ_FILE.FILE_NOT_EXIST] Encountered error while reading file {}. File does not exist. It is possible the underlying files have been updated; put the file back, skip it with skip_file(\"a.csv\"), or set ignore_missing_files to skip every missing file.",
            source.description(),
            path.display()
        )
    );
    let mut lenient = open(FileSource::<Event>::csv(dir.path()).ignore_missing_files(true));
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 0);
    lenient.latest_offset(None, ReadLimit::Configured).unwrap();
    fs::remove_file(dir.path().join("a.csv")).unwrap();
    assert_eq!(
        rows(&mut lenient, 0, 2),
        [vec![], vec![event(1, Some("b"), Some(2.0))]]
    );
}

#[test]
fn a_file_of_the_wrong_format_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.json", &line(0, "a", 1.0), 0);
    let mut permissive = open(FileSource::<EventWithCorrupt>::json(dir.path()));
    permissive
        .latest_offset(None, ReadLimit::Configured)
        .unwrap();
    let got = rows(&mut permissive, 0, 1);
    assert_eq!(
        got[0],
        [EventWithCorrupt {
            ts: None,
            key: None,
            value: None,
            _corrupt_record: Some(line(0, "a", 1.0).trim_end().to_string()),
        }]
    );
    let mut strict = open(FileSource::<Event>::json(dir.path()).mode(ParseMode::FailFast));
    strict.latest_offset(None, ReadLimit::Configured).unwrap();
    let err = strict.get_batch(None, &offset(1)).unwrap_err();
    match err {
        Error::MalformedRecord {
            file, line, field, ..
        } => {
            assert_eq!(file, dir.path().join("a.json").display().to_string());
            assert_eq!((line, field), (1, None));
        }
        other => panic!("{other}"),
    }
    let mut dropping = open(FileSource::<Event>::json(dir.path()).mode(ParseMode::DropMalformed));
    dropping.latest_offset(None, ReadLimit::Configured).unwrap();
    assert_eq!(rows(&mut dropping, 0, 1), [vec![]]);
}

#[cfg(feature = "parquet")]
#[test]
fn a_file_that_is_not_parquet_fails_or_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.parquet", &line(0, "a", 1.0), 0);
    let mut source = open(FileSource::<Event>::parquet(dir.path()));
    source.latest_offset(None, ReadLimit::Configured).unwrap();
    let err = source.get_batch(None, &offset(1)).unwrap_err().to_string();
    assert!(
        err.contains("[FAILED_READ_FILE.NO_HINT] Encountered error while reading file")
            && err.contains("not a Parquet file"),
        "{err}"
    );
    let mut lenient = open(FileSource::<Event>::parquet(dir.path()).ignore_corrupt_files(true));
    lenient.latest_offset(None, ReadLimit::Configured).unwrap();
    assert_eq!(rows(&mut lenient, 0, 1), [vec![]]);
}

#[test]
fn the_log_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = tempfile::tempdir().unwrap();
    let ctx = SourceContext::new(Clock::system()).with_metadata_dir(metadata.path());
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 0);
    put(dir.path(), "b.csv", &line(1, "b", 2.0), 1);
    let mut first = FileSource::<Event>::csv(dir.path());
    first.open(&ctx).unwrap();
    let end = first
        .latest_offset(None, ReadLimit::Configured)
        .unwrap()
        .unwrap();
    let before = rows(&mut first, 0, end.log_offset);
    first.commit(&end).unwrap();
    drop(first);
    assert!(metadata.path().join(LOG_FILE_NAME).is_file());

    // A new file arrives while the query is down; an old one is touched.
    put(dir.path(), "c.csv", &line(2, "c", 3.0), 2);
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 3);
    let mut second = FileSource::<Event>::csv(dir.path());
    second.open(&ctx).unwrap();
    assert_eq!(rows(&mut second, 0, 2), before, "same range, same rows");
    assert_eq!(
        second
            .latest_offset(Some(&end), ReadLimit::Configured)
            .unwrap(),
        Some(offset(3))
    );
    assert_eq!(names(&second), ["a.csv", "b.csv", "c.csv"]);
    assert_eq!(
        rows(&mut second, 2, 3),
        [vec![event(2, Some("c"), Some(3.0))]]
    );

    fs::write(metadata.path().join(LOG_FILE_NAME), "{").unwrap();
    let mut broken = FileSource::<Event>::csv(dir.path());
    let err = broken.open(&ctx).unwrap_err().to_string();
    assert!(err.contains("unreadable file source log"), "{err}");
}

#[test]
fn available_now_reads_what_was_there_when_it_started() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 0);
    put(dir.path(), "b.csv", &line(1, "b", 2.0), 1);
    let mut source = open(FileSource::<Event>::csv(dir.path()).max_files_per_trigger(1));
    source.prepare_for_available_now().unwrap();
    put(dir.path(), "c.csv", &line(2, "c", 3.0), 2);
    assert_eq!(
        source.latest_offset(None, ReadLimit::Configured).unwrap(),
        Some(offset(1))
    );
    assert_eq!(
        source
            .latest_offset(Some(&offset(1)), ReadLimit::Configured)
            .unwrap(),
        Some(offset(2))
    );
    assert_eq!(
        source
            .latest_offset(Some(&offset(2)), ReadLimit::Configured)
            .unwrap(),
        Some(offset(2))
    );
    // The run's backlog is its snapshot: `c.csv` came after the run started.
    assert_eq!(source.backlog(None).unwrap().pending, 2);
    assert_eq!(source.backlog(Some(&offset(1))).unwrap().pending, 1);
    assert_eq!(source.backlog(Some(&offset(2))).unwrap().pending, 0);
}

#[test]
fn a_missing_directory_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let mut source = FileSource::<Event>::csv(&missing);
    let err = source
        .open(&SourceContext::new(Clock::system()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "[PATH_NOT_FOUND] Path does not exist: file:{}.",
            missing.display()
        )
    );
    assert_eq!(err.error_class(), Some("PATH_NOT_FOUND"));
}

#[test]
fn offsets_print_like_spark() {
    assert_eq!(
        serde_json::to_string(&offset(3)).unwrap(),
        r#"{"logOffset":3}"#
    );
}

#[test]
fn an_offset_beyond_the_log_is_an_error_not_a_silent_skip() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 0);
    // A checkpoint says 5 files were processed, but this source's log is empty.
    let mut source = open(FileSource::<Event>::csv(dir.path()));
    let err = source
        .latest_offset(Some(&offset(5)), ReadLimit::Configured)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "source {}: the query's offset 5 is beyond the 0 files in the file source log; the source's metadata directory does not belong to this checkpoint",
            source.description()
        )
    );
}

#[test]
fn skip_file_never_skips_a_file_of_a_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "a.csv", &line(0, "a", 1.0), 0);
    put(dir.path(), "b.csv", &line(1, "b", 2.0), 1);
    let mut source = open(
        FileSource::<Event>::csv(dir.path())
            .skip_file("a.csv")
            .skip_file("b.csv"),
    );
    source.latest_offset(None, ReadLimit::Configured).unwrap();
    // A restart after batch 0 (file a) committed: replaying it rebuilds state, so a is read.
    source.resume_after(&offset(1));
    assert_eq!(
        rows(&mut source, 0, 2),
        [vec![event(0, Some("a"), Some(1.0))], vec![]]
    );
}

/// The rows of each input partition of a batch.
fn partition_rows<R: Clone + Send + Sync + 'static>(input: BatchInput<R>) -> Vec<Vec<R>> {
    input
        .into_partitions()
        .into_iter()
        .map(|mut p| {
            let mut rows = Vec::new();
            while let Some(chunk) = p.next_chunk(usize::MAX).unwrap() {
                rows.extend_from_slice(&chunk);
            }
            rows
        })
        .collect()
}

#[test]
fn a_batch_of_fewer_files_than_tasks_is_cut_into_partitions_of_pieces_in_order() {
    let plan = |tasks| ReadPlan {
        tasks,
        chunk_rows: 1024,
    };
    // One file of three pieces (5 000 rows each), numbered in row order.
    let file = |first: u64| -> Vec<Vec<u64>> {
        (0..3)
            .map(|p| (first + p * 5_000..first + (p + 1) * 5_000).collect())
            .collect()
    };
    let sizes = |parts: &[Vec<u64>]| parts.iter().map(Vec::len).collect::<Vec<_>>();
    let joined = |parts: Vec<Vec<u64>>| parts.concat();

    // One thread: one partition per file, whole.
    let parts = partition_rows(read::partitions(vec![file(0)], plan(1)));
    assert_eq!(sizes(&parts), [15_000]);
    // Two threads, one file: two partitions, the pieces by their middle row (2 500 | 7 500,
    // 12 500 of 15 000 rows: one piece, then two).
    let parts = partition_rows(read::partitions(vec![file(0)], plan(2)));
    assert_eq!(sizes(&parts), [5_000, 10_000]);
    assert_eq!(joined(parts), (0..15_000).collect::<Vec<_>>());
    // Four threads: no more partitions than pieces.
    let parts = partition_rows(read::partitions(vec![file(0)], plan(4)));
    assert_eq!(sizes(&parts), [5_000, 5_000, 5_000]);
    // Two files, two threads: a partition per file; four threads: each file cut in two,
    // the partitions in file order.
    let files = || vec![file(0), file(15_000)];
    let parts = partition_rows(read::partitions(files(), plan(2)));
    assert_eq!(sizes(&parts), [15_000, 15_000]);
    let parts = partition_rows(read::partitions(files(), plan(4)));
    assert_eq!(sizes(&parts), [5_000, 10_000, 5_000, 10_000]);
    assert_eq!(joined(parts), (0..30_000).collect::<Vec<_>>());
    // Too few rows to be worth a task of their own ([`MIN_SPLIT_ROWS`]): one partition. A
    // skipped file (no pieces) is an empty partition in its place.
    let small = vec![vec![
        (0..3_000).collect::<Vec<u64>>(),
        (3_000..6_000).collect(),
    ]];
    let parts = partition_rows(read::partitions(small, plan(2)));
    assert_eq!(sizes(&parts), [6_000]);
    let parts = partition_rows(read::partitions(vec![Vec::new(), file(0)], plan(2)));
    assert_eq!(sizes(&parts), [0, 15_000]);
}

#[test]
fn a_file_read_for_several_tasks_gives_the_rows_one_thread_reads() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..20_000)
        .map(|i| line(i, if i % 2 == 0 { "a" } else { "b" }, i as f64))
        .collect();
    put(dir.path(), "a.csv", &text, 0);
    let batch = |tasks: usize| {
        let mut source = open(FileSource::<Event>::csv(dir.path()).piece_rows(8_192));
        let end = source.latest_offset(None, ReadLimit::Configured).unwrap();
        let plan = ReadPlan {
            tasks,
            chunk_rows: 1024,
        };
        partition_rows(source.read_batch(None, &end.unwrap(), plan).unwrap())
    };
    let whole = batch(1);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].len(), 20_000);
    assert_eq!(whole[0][19_999], event(19_999, Some("b"), Some(19_999.0)));
    // The CSV reader hands on pieces of 8 192 records: 8 192 | 8 192, 3 616 rows.
    let cut = batch(2);
    assert_eq!(
        cut.iter().map(Vec::len).collect::<Vec<_>>(),
        [8_192, 11_808]
    );
    assert_eq!(cut.concat(), whole[0]);
}
