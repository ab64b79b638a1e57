//! File and socket sources and the file sink, end to end through generated pipelines: a
//! windowed aggregation written as JSON lines and read back, malformed records, Parquet,
//! restarts, and a socket stream from a loopback server. (Every Spark oracle scenario is
//! replayed through the CSV file source by `tests/spark_conformance.rs`.)

use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, SystemTime};

use sluice::prelude::*;

mod conformance;
use conformance::{Cell, Scenario, sort_rows};

sluice::pipeline! {
    /// The oracle's input schema: `ts TIMESTAMP, key STRING, value DOUBLE`.
    schema Reading { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    /// `nulls_stateless`: `select(ts, key, value, value > 1 as gt1)`.
    query NullsStateless from Reading {
        select ts, key, value, gt1 = value > 1;
    }

    /// `tumbling_watermark_append`: watermark 30 s, 10 s windows, count and average.
    query TumblingAppend from Reading {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count(), avg = avg(value);
    }

    /// Lines from a socket, with their length.
    query LineLengths from TextLine {
        select value, n = length(value);
    }
}

/// Copies a scenario's input files as the conformance harness does.
fn stage_input(scenario: &str, into: &Path) {
    Scenario::load(scenario).stage_input(into);
}

/// Rows as the oracle compares them: cells, sorted by the columns in order, nulls first.
fn sorted_cells<R: Row>(rows: &[R]) -> Vec<Vec<Cell>> {
    let mut cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| r.to_values().iter().map(Cell::from_value).collect())
        .collect();
    sort_rows(&mut cells);
    cells
}

#[tokio::test]
async fn windowed_aggregates_written_as_json_lines_read_back_exactly() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    stage_input("tumbling_watermark_append", input.path());
    let query = TumblingAppend::read_stream(FileSource::csv(input.path()).max_files_per_trigger(1))
        .write_stream()
        .output_mode(Append)
        .format(FileSink::json(output.path()))
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();

    // The rows Spark emitted over all its batches (one file per batch, as here: lateness
    // depends on how input is batched).
    let mut want: Vec<Vec<Cell>> = Scenario::load("tumbling_watermark_append")
        .batches
        .into_iter()
        .flat_map(|b| b.rows)
        .collect();
    sort_rows(&mut want);
    let written: Vec<TumblingAppendRow> =
        sluice::sink::file::read_committed(output.path(), Json::new()).unwrap();
    assert_eq!(sorted_cells(&written), want);
    // Timestamps are written the way Spark's JSON writer writes them.
    let first = &sluice::sink::file::committed_files(output.path()).unwrap()[0];
    let text = fs::read_to_string(first).unwrap();
    assert!(
        text.starts_with("{\"window\":{\"start\":\"2024-01-01T10:00:00.000Z\",\"end\":\"2024-01-01T10:00:10.000Z\"}"),
        "{text}"
    );

    // Running the same query again into the same output, without the checkpoint that wrote it,
    // is refused: its batch ids are committed there already, so it would write nothing.
    let err = TumblingAppend::read_stream(FileSource::csv(input.path()).max_files_per_trigger(1))
        .write_stream()
        .output_mode(Append)
        .format(FileSink::json(output.path()))
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the output directory already holds batches up to"),
        "{err}"
    );
    let rewritten: Vec<TumblingAppendRow> =
        sluice::sink::file::read_committed(output.path(), Json::new()).unwrap();
    assert_eq!(rewritten, written);
}

#[tokio::test]
async fn fail_fast_stops_the_query_with_the_malformed_record() {
    let dir = tempfile::tempdir().unwrap();
    stage_input("nulls_stateless", dir.path());
    let source = FileSource::<Reading>::csv(dir.path()).mode(ParseMode::FailFast);
    let query = NullsStateless::read_stream(source)
        .write_stream()
        .foreach_batch(|_, _| ())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    let err = query.await_termination().await.unwrap_err();
    assert_eq!(
        err.cause.to_string(),
        format!(
            "[MALFORMED_RECORD_IN_PARSING] malformed record in {}, line 4, field `value`: cannot parse `not-a-number` as double",
            dir.path().join("batch-000.csv").display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_lines_end_to_end() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"hello\nspark streaming\n").unwrap();
        conn
    });
    let table = MemorySink::new();
    let rows = table.table();
    let query = LineLengths::read_stream(SocketSource::new("127.0.0.1", port))
        .write_stream()
        .format(table)
        .query_name("socket_lines")
        .start()
        .unwrap();
    let mut conn = server.join().unwrap();
    for _ in 0..500 {
        if rows.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    conn.write_all(b"third\n").unwrap();
    drop(conn);
    // Every line is processed, then the query fails because the server went away.
    let err = tokio::time::timeout(Duration::from_secs(10), query.await_termination())
        .await
        .expect("the query ends when the server closes the connection")
        .unwrap_err();
    assert!(
        err.cause
            .to_string()
            .contains("the server closed the connection after 3 lines"),
        "{err}"
    );
    let got: Vec<(String, i32)> = rows.rows().into_iter().map(|r| (r.value, r.n)).collect();
    assert_eq!(
        got,
        [
            ("hello".to_string(), 5),
            ("spark streaming".to_string(), 15),
            ("third".to_string(), 5)
        ]
    );
}

#[cfg(feature = "parquet")]
#[tokio::test]
async fn parquet_sink_output_feeds_a_parquet_source() {
    use std::sync::{Arc, Mutex};

    let input = tempfile::tempdir().unwrap();
    let stage = tempfile::tempdir().unwrap();
    stage_input("nulls_stateless", input.path());
    // CSV in, Parquet out (Reading → Reading through a stateless projection)...
    let query = NullsStateless::read_stream(FileSource::csv(input.path()))
        .write_stream()
        .format(FileSink::parquet(stage.path()))
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let written: Vec<NullsStatelessRow> =
        sluice::sink::file::read_committed(stage.path(), Parquet::new()).unwrap();
    assert_eq!(written.len(), 7);
    // ...and the Parquet output read back as a stream gives the same rows.
    let expected = sorted_cells(&written);
    let batches: Arc<Mutex<Vec<NullsStatelessRow>>> = Arc::default();
    let collected = Arc::clone(&batches);
    sluice::pipeline! {
        schema Projected { ts: Option<Timestamp>, key: Option<String>, value: Option<f64>, gt1: Option<bool> }
        query Identity from Projected { select ts, key, value, gt1; }
    }
    let query = Identity::read_stream(FileSource::<Projected>::parquet(stage.path()))
        .write_stream()
        .foreach_batch(move |_, rows: Vec<IdentityRow>| {
            collected
                .lock()
                .unwrap()
                .extend(rows.into_iter().map(|r| NullsStatelessRow {
                    ts: r.ts,
                    key: r.key,
                    value: r.value,
                    gt1: r.gt1,
                }));
        })
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    assert_eq!(sorted_cells(&batches.lock().unwrap()), expected);
}

/// A query decodes only the input columns it reads (Spark's required schema): a Parquet
/// file whose `key` column holds strings reads into a schema declaring `key` a number, as
/// long as the query does not read `key`; a query that reads it fails on that column.
#[cfg(feature = "parquet")]
#[tokio::test]
async fn a_parquet_source_decodes_only_the_columns_the_query_reads() {
    use std::sync::{Arc, Mutex};

    let input = tempfile::tempdir().unwrap();
    let stage = tempfile::tempdir().unwrap();
    stage_input("nulls_stateless", input.path());
    let query = NullsStateless::read_stream(FileSource::csv(input.path()))
        .write_stream()
        .format(FileSink::parquet(stage.path()))
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    sluice::pipeline! {
        schema Mistyped { ts: Option<Timestamp>, key: Option<i64>, value: Option<f64>, gt1: Option<bool> }
        query Totals from Mistyped { group by (); aggregate n = count(), total = sum(value); }
        query Keys from Mistyped { select key; }
    }
    let totals: Arc<Mutex<Vec<TotalsRow>>> = Arc::default();
    let collected = Arc::clone(&totals);
    let query = Totals::read_stream(FileSource::<Mistyped>::parquet(stage.path()))
        .write_stream()
        .output_mode(Complete)
        .foreach_batch(move |_, rows: Vec<TotalsRow>| {
            collected.lock().unwrap().extend(rows);
        })
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let totals = totals.lock().unwrap().clone();
    // The oracle's seven rows: values 1, 2, 4, 6, NaN and two nulls (a sum over NaN is NaN).
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].n, 7);
    assert!(totals[0].total.unwrap().is_nan(), "{totals:?}");

    let query = Keys::read_stream(FileSource::<Mistyped>::parquet(stage.path()))
        .write_stream()
        .foreach_batch(|_, _rows: Vec<KeysRow>| {})
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    let err = query.await_termination().await.unwrap_err().to_string();
    assert!(
        err.contains(
            "Parquet column cannot be converted: column `key`, expected BIGINT, found Utf8"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_restart_from_a_checkpoint_reads_only_new_files() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let checkpoint = tempfile::tempdir().unwrap();
    stage_input("nulls_stateless", input.path());
    let run = || async {
        let query = NullsStateless::read_stream(
            FileSource::<Reading>::csv(input.path()).max_files_per_trigger(1),
        )
        .write_stream()
        .format(FileSink::json(output.path()))
        .checkpoint_location(checkpoint.path())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
        query.await_termination().await.unwrap();
        query
            .recent_progress()
            .iter()
            .map(|p| (p.batch_id, p.num_input_rows))
            .collect::<Vec<_>>()
    };
    assert_eq!(run().await, [(0, 5), (1, 2)]);
    assert!(
        checkpoint
            .path()
            .join("sources/0/file-source-log.json")
            .is_file()
    );
    // A new file arrives while the query is down; an old one is touched.
    fs::write(
        input.path().join("batch-002.csv"),
        "2024-01-01T10:00:07.000Z,c,7\n",
    )
    .unwrap();
    let old = input.path().join("batch-000.csv");
    File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    assert_eq!(run().await, [(2, 1)], "only the new file is read");
    let written: Vec<NullsStatelessRow> =
        sluice::sink::file::read_committed(output.path(), Json::new()).unwrap();
    assert_eq!(written.len(), 8);
    assert_eq!(written[7].key.as_deref(), Some("c"));
}

/// Runs `P` over the CSV files of `dir` in one batch on `threads` threads; returns its output
/// rows in the order the sink received them, and the input rows the progress counted.
async fn run_on_threads<P, M>(dir: &Path, mode: M, threads: usize) -> (Vec<P::Output>, u64)
where
    P: Pipeline<Input = Reading> + Default,
    P::Output: Clone,
    M: sluice::pipeline::OutputModeFor<P> + Send + 'static,
{
    use std::sync::{Arc, Mutex};
    let rows: Arc<Mutex<Vec<P::Output>>> = Arc::default();
    let collected = Arc::clone(&rows);
    let query = sluice::StreamingFrame::new(P::default(), FileSource::<Reading>::csv(dir))
        .write_stream()
        .output_mode(mode)
        .parallelism(threads)
        .foreach_batch(move |_, batch: Vec<P::Output>| {
            collected.lock().unwrap().extend(batch);
        })
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().await.unwrap();
    let input: u64 = query
        .recent_progress()
        .iter()
        .map(|p| p.num_input_rows)
        .sum();
    let rows = rows.lock().unwrap().clone();
    (rows, input)
}

#[tokio::test]
async fn one_large_file_is_read_by_every_thread_with_the_same_result() {
    // 150 000 readings, 1 ms apart over 5 keys, with a null key and value now and then: one
    // file, one batch. On several threads the file is cut into input partitions (pieces of
    // 64 Ki rows), which must give the rows and the aggregates one thread gives.
    let input = tempfile::tempdir().unwrap();
    let text: String = (0..150_000i64)
        .map(|i| {
            let ts = Timestamp::from_millis(1_704_103_200_000 + i).to_rfc3339();
            match i % 997 {
                0 => format!("{ts},,\n"),
                _ => format!("{ts},k{},{}\n", i % 5, (i % 13) as f64 / 2.0),
            }
        })
        .collect();
    fs::write(input.path().join("readings.csv"), text).unwrap();

    let (serial, read) = run_on_threads::<NullsStateless, _>(input.path(), Append, 1).await;
    assert_eq!((serial.len(), read), (150_000, 150_000));
    assert_eq!(serial[149_999].key.as_deref(), Some("k4"));
    let (windows, _) = run_on_threads::<TumblingAppend, _>(input.path(), Append, 1).await;
    // 150 s of readings in 10-second windows, 5 keys and the null key: the windows the end of
    // input's watermark (149.999 s − 30 s) closed, those ending by 110 s.
    assert_eq!(windows.len(), 11 * 6);
    for threads in [2, 4] {
        let (rows, read) = run_on_threads::<NullsStateless, _>(input.path(), Append, threads).await;
        assert_eq!(read, 150_000, "on {threads} threads");
        // A stateless query's rows keep the input's order, whatever thread read them.
        assert!(rows == serial, "on {threads} threads the rows differ");
        let (rows, _) = run_on_threads::<TumblingAppend, _>(input.path(), Append, threads).await;
        assert_eq!(
            sorted_cells(&rows),
            sorted_cells(&windows),
            "on {threads} threads"
        );
    }
}
