//! The Spark conformance harness: loads a scenario of one of the oracle's sets
//! (`tests/spark-oracle/golden/`, `tests/spark-oracle/golden2/`), replays its input files
//! through Sluice's CSV `FileSource` exactly as the oracle replayed them through Spark, and
//! compares what Sluice did with what Spark did, batch by batch.
//!
//! Nothing here knows any scenario: the expected rows, watermarks, counts, output mode, schema
//! and console text all come from the scenario's folder. `tests/spark_conformance.rs` only maps
//! each scenario's name to the DSL query equivalent to its `query.txt`.

// Each test target uses part of the harness (`tests/spark_invalid_combinations.rs` only stages
// input and reads expectations).
#![allow(dead_code)]

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value as J;
use sluice::prelude::*;
use sluice::value::Value;
use sluice::{StreamingFrame, StreamingQueryProgress};

/// The oracle's first set: one sub-folder per scenario, and `INVALID.md`.
pub(crate) fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spark-oracle/golden")
}

/// Every set of scenarios real Spark produced: the oracle's (`golden/`, then `golden2/`:
/// explode, deduplication, session windows, joins), then `joins/` (the stream-stream join types
/// golden2 does not show, made with the same method by `joins/make_joins.py`); scenario names
/// are unique across sets.
pub(crate) fn oracle_sets() -> [PathBuf; 3] {
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spark-oracle");
    [
        oracle.join("golden"),
        oracle.join("golden2"),
        oracle.join("joins"),
    ]
}

/// The scenario folders present in `set`, sorted by name.
fn folders_of(set: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(set)
        .unwrap_or_else(|e| panic!("{} exists: {e}", set.display()))
        .map(|e| e.expect("a readable directory entry"))
        .filter(|e| e.file_type().expect("a file type").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The names of the scenario folders present in every set, sorted.
pub(crate) fn scenario_folders() -> Vec<String> {
    let mut names: Vec<String> = oracle_sets().iter().flat_map(|s| folders_of(s)).collect();
    names.sort();
    names
}

/// The folder of scenario `name`, in whichever set holds it.
pub(crate) fn scenario_dir(name: &str) -> PathBuf {
    oracle_sets()
        .iter()
        .map(|set| set.join(name))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no scenario folder `{name}` in {:?}", oracle_sets()))
}

/// A Spark column type as `schema.json` spells it, reduced to what Sluice can be asked to
/// match: the type without nullability or metadata (`long`, `struct<start:timestamp,...>`).
fn spark_type_signature(ty: &J) -> String {
    match ty {
        J::String(name) => name.clone(),
        J::Object(o) if o.get("type") == Some(&J::from("struct")) => {
            let fields: Vec<String> = o["fields"]
                .as_array()
                .expect("a struct has fields")
                .iter()
                .map(|f| {
                    format!(
                        "{}:{}",
                        f["name"].as_str().expect("a field name"),
                        spark_type_signature(&f["type"])
                    )
                })
                .collect();
            format!("struct<{}>", fields.join(","))
        }
        J::Object(o) if o.get("type") == Some(&J::from("array")) => {
            format!("array<{}>", spark_type_signature(&o["elementType"]))
        }
        other => panic!("unsupported type in schema.json: {other}"),
    }
}

/// One output column of `schema.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// The column name.
    pub(crate) name: String,
    /// The type signature (see [`spark_type_signature`]).
    pub(crate) ty: String,
    /// Spark's nullability (reported, not compared: Sluice's follows the Rust types).
    pub(crate) nullable: bool,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.ty)
    }
}

/// The columns of a Sluice row type in the same form.
pub(crate) fn sluice_columns<R: Row>() -> Vec<Column> {
    let schema = R::SCHEMA.to_json();
    schema_columns(&schema)
}

fn schema_columns(schema: &J) -> Vec<Column> {
    schema["fields"]
        .as_array()
        .expect("a schema has fields")
        .iter()
        .map(|f| Column {
            name: f["name"].as_str().expect("a column name").to_string(),
            ty: spark_type_signature(&f["type"]),
            nullable: f["nullable"].as_bool().unwrap_or(true),
        })
        .collect()
}

/// One micro-batch as Spark ran it (a line of `expected.jsonl`).
#[derive(Debug, Clone)]
pub(crate) struct ExpectedBatch {
    /// Spark's batch id.
    pub(crate) batch: u64,
    /// The input file it consumed; `None` for a no-data batch.
    pub(crate) file: Option<String>,
    /// `numInputRows`.
    pub(crate) num_input_rows: u64,
    /// The watermark the batch ran under; `None` when the query has none.
    pub(crate) watermark: Option<Timestamp>,
    /// The rows the sink received, in Spark's order.
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// A scenario folder, loaded.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// The folder name.
    pub(crate) name: String,
    /// The folder.
    pub(crate) dir: PathBuf,
    /// The output mode of `query.txt` (`outputMode("...")`), as Spark spells it.
    pub(crate) output_mode: String,
    /// `schema.json`.
    pub(crate) columns: Vec<Column>,
    /// `expected.jsonl`.
    pub(crate) batches: Vec<ExpectedBatch>,
    /// `console.txt`, when the scenario has one.
    pub(crate) console: Option<String>,
}

impl Scenario {
    /// Loads scenario `name`; panics with the reason if a file is missing or malformed.
    pub(crate) fn load(name: &str) -> Scenario {
        let dir = scenario_dir(name);
        let read = |file: &str| {
            fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("{name}: cannot read {file}: {e}"))
        };
        let query = read("query.txt");
        let output_mode = output_mode_of(&query)
            .unwrap_or_else(|| panic!("{name}: query.txt has no outputMode(\"...\")"));
        let schema: J = serde_json::from_str(&read("schema.json"))
            .unwrap_or_else(|e| panic!("{name}: schema.json: {e}"));
        let columns = schema_columns(&schema);
        let batches = read("expected.jsonl")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| {
                let j: J = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{name}: expected.jsonl line {}: {e}", i + 1));
                expected_batch(&j, &columns)
                    .unwrap_or_else(|e| panic!("{name}: expected.jsonl line {}: {e}", i + 1))
            })
            .collect();
        let console = fs::read_to_string(dir.join("console.txt")).ok();
        Scenario {
            name: name.to_string(),
            dir,
            output_mode,
            columns,
            batches,
            console,
        }
    }

    /// Whether the scenario has two inputs (`input/left/`, `input/right/`: a stream-stream
    /// join).
    pub(crate) fn has_two_inputs(&self) -> bool {
        self.dir.join("input/left").is_dir()
    }

    /// Copies the input files into `into` with modification times in name order, as the
    /// oracle's generator did before Spark read them (the file source takes files in
    /// modification-time order). A two-input scenario's sides go to `into/left` and
    /// `into/right`.
    pub(crate) fn stage_input(&self, into: &Path) {
        let input = self.dir.join("input");
        if self.has_two_inputs() {
            for side in ["left", "right"] {
                let to = into.join(side);
                fs::create_dir_all(&to).expect("a side's folder");
                self.stage_folder(&input.join(side), &to);
            }
        } else {
            self.stage_folder(&input, into);
        }
    }

    fn stage_folder(&self, input: &Path, into: &Path) {
        let mut names: Vec<_> = fs::read_dir(input)
            .unwrap_or_else(|e| panic!("{}: no input folder {}: {e}", self.name, input.display()))
            .map(|e| e.expect("a readable directory entry").file_name())
            .collect();
        names.sort();
        for (i, name) in names.iter().enumerate() {
            let to = into.join(name);
            fs::copy(input.join(name), &to).expect("input file copied");
            let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64);
            File::options()
                .write(true)
                .open(&to)
                .expect("copied file opens")
                .set_modified(modified)
                .expect("modification time set");
        }
    }
}

/// The argument of `.outputMode("...")` in a PySpark query.
fn output_mode_of(query: &str) -> Option<String> {
    let start = query.find(".outputMode(\"")? + ".outputMode(\"".len();
    let len = query[start..].find('"')?;
    Some(query[start..start + len].to_string())
}

fn expected_batch(j: &J, columns: &[Column]) -> Result<ExpectedBatch, String> {
    let batch = j["batch"].as_u64().ok_or("no `batch`")?;
    let file = match &j["file"] {
        J::Null => None,
        J::String(s) => Some(s.clone()),
        // A two-input scenario: the left file and the right file.
        J::Array(files) => Some(
            files
                .iter()
                .map(|f| f.as_str().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(" + "),
        ),
        other => return Err(format!("bad `file`: {other}")),
    };
    let num_input_rows = j["num_input_rows"].as_u64().ok_or("no `num_input_rows`")?;
    let watermark = match &j["watermark"] {
        J::Null => None,
        J::String(s) => Some(Timestamp::parse(s).map_err(|e| format!("watermark: {e}"))?),
        other => return Err(format!("bad `watermark`: {other}")),
    };
    let rows = j["rows"]
        .as_array()
        .ok_or("no `rows`")?
        .iter()
        .map(|row| expected_row(row, columns))
        .collect::<Result<_, _>>()?;
    Ok(ExpectedBatch {
        batch,
        file,
        num_input_rows,
        watermark,
        rows,
    })
}

fn expected_row(row: &J, columns: &[Column]) -> Result<Vec<Cell>, String> {
    let object = row
        .as_object()
        .ok_or_else(|| format!("a row is not an object: {row}"))?;
    let names: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    if names != wanted {
        return Err(format!("row {row} does not have the schema's columns"));
    }
    columns
        .iter()
        .map(|c| Cell::from_oracle(&object[&c.name], &c.ty))
        .collect()
}

/// One value of a row, in a form both sides convert to: the oracle's JSON (typed by
/// `schema.json`) and Sluice's [`Value`]s. Doubles are compared exactly.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    /// SQL null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (`int` or `long`; the schema check tells them apart).
    Integer(i64),
    /// A double, compared bit for bit (every NaN equal to every NaN).
    Double(f64),
    /// A string.
    Str(String),
    /// A timestamp.
    Timestamp(Timestamp),
    /// A window struct.
    Window(Timestamp, Timestamp),
    /// An array of strings.
    Strings(Vec<String>),
}

impl Cell {
    /// A value of the oracle's JSON, read as type `ty`.
    fn from_oracle(v: &J, ty: &str) -> Result<Cell, String> {
        let bad = || format!("{v} is not a {ty}");
        if v.is_null() {
            return Ok(Cell::Null);
        }
        Ok(match ty {
            "boolean" => Cell::Bool(v.as_bool().ok_or_else(bad)?),
            "integer" | "long" => Cell::Integer(v.as_i64().ok_or_else(bad)?),
            // Python's shortest round-trip repr parses back to the identical f64 (the JSON
            // parser is built with `float_roundtrip`); NaN and the infinities are strings.
            "double" => Cell::Double(match v {
                J::Number(n) => n.as_f64().ok_or_else(bad)?,
                J::String(s) => match s.as_str() {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            }),
            "string" => Cell::Str(v.as_str().ok_or_else(bad)?.to_string()),
            "timestamp" => Cell::Timestamp(parse_time(v).ok_or_else(bad)?),
            "struct<start:timestamp,end:timestamp>" => Cell::Window(
                parse_time(&v["start"]).ok_or_else(bad)?,
                parse_time(&v["end"]).ok_or_else(bad)?,
            ),
            "array<string>" => Cell::Strings(
                v.as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|s| s.as_str().map(str::to_string).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("unsupported column type {other}")),
        })
    }

    /// A Sluice value.
    pub(crate) fn from_value(v: &Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Boolean(b) => Cell::Bool(*b),
            Value::Int(i) => Cell::Integer(i64::from(*i)),
            Value::Long(i) => Cell::Integer(*i),
            Value::Double(d) => Cell::Double(*d),
            Value::String(s) => Cell::Str(s.clone()),
            Value::Timestamp(t) => Cell::Timestamp(*t),
            Value::Window(w) => Cell::Window(w.start, w.end),
            Value::StringArray(a) => Cell::Strings(a.clone()),
            // No oracle scenario has binary columns: compared as Spark prints them.
            Value::Binary(_) | Value::Headers(_) => Cell::Str(v.to_string()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Bool(_) => 1,
            Cell::Integer(_) => 2,
            Cell::Double(_) => 3,
            Cell::Str(_) => 4,
            Cell::Timestamp(_) => 5,
            Cell::Window(..) => 6,
            Cell::Strings(_) => 7,
        }
    }

    /// Spark's sort order, as the oracle sorted its rows: nulls first, NaN greater than every
    /// number. Unlike Spark, `-0.0` sorts before `0.0`, so that the order is total and two
    /// equal multisets always sort alike.
    pub(crate) fn spark_cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Bool(a), Cell::Bool(b)) => a.cmp(b),
            (Cell::Integer(a), Cell::Integer(b)) => a.cmp(b),
            (Cell::Double(a), Cell::Double(b)) => match (a.is_nan(), b.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => a.total_cmp(b),
            },
            (Cell::Str(a), Cell::Str(b)) => a.cmp(b),
            (Cell::Timestamp(a), Cell::Timestamp(b)) => a.cmp(b),
            (Cell::Window(a, x), Cell::Window(b, y)) => (a, x).cmp(&(b, y)),
            (Cell::Strings(a), Cell::Strings(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

/// Exact equality: doubles bit for bit, except that every NaN equals every NaN (the oracle
/// writes them all as `"NaN"`).
impl PartialEq for Cell {
    fn eq(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Double(a), Cell::Double(b)) => {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
            _ => self.rank() == other.rank() && self.spark_cmp(other) == Ordering::Equal,
        }
    }
}

/// The oracle's notation: RFC 3339 timestamps, shortest round-trip doubles, `"NaN"`.
impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("null"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Integer(i) => write!(f, "{i}"),
            Cell::Double(d) if d.is_finite() => write!(f, "{d:?}"),
            Cell::Double(d) if d.is_nan() => f.write_str("\"NaN\""),
            Cell::Double(d) => write!(f, "\"{}\"", if *d > 0.0 { "Infinity" } else { "-Infinity" }),
            Cell::Str(s) => write!(f, "{s:?}"),
            Cell::Timestamp(t) => write!(f, "\"{}\"", t.to_rfc3339()),
            Cell::Window(s, e) => write!(
                f,
                "{{\"start\": \"{}\", \"end\": \"{}\"}}",
                s.to_rfc3339(),
                e.to_rfc3339()
            ),
            Cell::Strings(a) => write!(f, "{a:?}"),
        }
    }
}

fn parse_time(v: &J) -> Option<Timestamp> {
    Timestamp::parse(v.as_str()?).ok()
}

fn row_cmp(a: &[Cell], b: &[Cell]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.spark_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// Sorts rows as the oracle did: by the columns in schema order.
pub(crate) fn sort_rows(rows: &mut [Vec<Cell>]) {
    rows.sort_by(|a, b| row_cmp(a, b));
}

/// A batch the sink received: its id and its rows (in the order emitted).
pub(crate) type SinkBatch = (u64, Vec<Vec<Value>>);

/// What one run of a query did.
#[derive(Debug)]
pub(crate) struct Run {
    /// The output columns of the query.
    pub(crate) columns: Vec<Column>,
    /// Each batch the sink received.
    pub(crate) batches: Vec<SinkBatch>,
    /// The progress of every batch.
    pub(crate) progress: Vec<Arc<StreamingQueryProgress>>,
}

/// Runs `P` over the scenario's input as the oracle ran Spark: CSV files, one file per
/// micro-batch (`max_files_per_trigger(1)`), PERMISSIVE mode, `Trigger::AvailableNow`, the
/// output mode of `query.txt` (given by name, so `start()` checks it as Spark's
/// `outputMode(...)` does), collecting every batch with `foreach_batch`, on `parallelism`
/// threads.
pub(crate) async fn run_rows<P>(scenario: &Scenario, parallelism: usize) -> Run
where
    P: Pipeline + Default,
{
    run_rows_with::<P>(scenario, parallelism, |frame| frame).await
}

/// The frame of a query over a scenario's input.
pub(crate) type Frame<P> = StreamingFrame<P, FileSource<<P as Pipeline>::Input>>;

/// A stream-static scenario's table: its `static.csv`, read once as the oracle read it
/// (`spark.read.schema(...).csv(...)`, PERMISSIVE).
pub(crate) fn with_static_table<P>(
    scenario: &Scenario,
) -> impl FnOnce(Frame<P>) -> Frame<P> + use<P>
where
    P: Pipeline + sluice::writer::JoinTable,
{
    let path = scenario.dir.join("static.csv");
    let name = scenario.name.clone();
    move |frame| {
        frame
            .with_table_file(Csv::new(), &path)
            .unwrap_or_else(|e| panic!("{name}: static.csv: {e}"))
    }
}

/// [`run_rows`], with `stage` applied to the frame before it is written (a stream-static
/// scenario gives the query its table).
pub(crate) async fn run_rows_with<P>(
    scenario: &Scenario,
    parallelism: usize,
    stage: impl FnOnce(Frame<P>) -> Frame<P>,
) -> Run
where
    P: Pipeline + Default,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    scenario.stage_input(dir.path());
    let frame = stage(P::read_stream(source::<P::Input>(dir.path())));
    collect_rows(scenario, parallelism, frame).await
}

/// A stream-stream join scenario: `P` reads the left and the right input, each a CSV file
/// source taking one file per micro-batch, as the oracle's two `readStream`s did.
pub(crate) async fn run_join_rows<P, L: Row, R: Row>(scenario: &Scenario, parallelism: usize) -> Run
where
    P: ReadStreams<LeftInput = L, RightInput = R>
        + Pipeline<Input = sluice::source::Sided<L, R>>
        + Default,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    scenario.stage_input(dir.path());
    let frame = P::read_streams(
        source::<L>(&dir.path().join("left")),
        source::<R>(&dir.path().join("right")),
    );
    collect_rows(scenario, parallelism, frame).await
}

/// Runs `frame` with the output mode of `query.txt` (given by name, so `start()` checks it as
/// Spark's `outputMode(...)` does), collecting every batch with `foreach_batch`, on
/// `parallelism` threads, under `Trigger::AvailableNow`.
async fn collect_rows<P, S>(
    scenario: &Scenario,
    parallelism: usize,
    frame: StreamingFrame<P, S>,
) -> Run
where
    P: Pipeline,
    S: sluice::source::Source<Row = P::Input>,
{
    let batches: Arc<Mutex<Vec<SinkBatch>>> = Arc::default();
    let collected = Arc::clone(&batches);
    let query = frame
        .write_stream()
        .output_mode_named(&scenario.output_mode)
        .parallelism(parallelism)
        .foreach_batch(move |id, rows: Vec<P::Output>| {
            let rows = rows.iter().map(Row::to_values).collect();
            collected.lock().expect("collector lock").push((id, rows));
        })
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap_or_else(|e| panic!("{}: start() failed: {e}", scenario.name));
    query
        .await_termination()
        .await
        .unwrap_or_else(|e| panic!("{}: the query failed: {e}", scenario.name));
    let batches = batches.lock().expect("collector lock").clone();
    Run {
        columns: sluice_columns::<P::Output>(),
        batches,
        progress: query.recent_progress(),
    }
}

/// Runs `P` as [`run_rows`] does, into a console sink with `truncate = false`, and returns
/// what it printed.
pub(crate) async fn run_console<P>(scenario: &Scenario) -> String
where
    P: Pipeline + Default,
{
    run_console_with::<P>(scenario, |frame| frame).await
}

/// [`run_console`], with `stage` applied to the frame (see [`run_rows_with`]).
pub(crate) async fn run_console_with<P>(
    scenario: &Scenario,
    stage: impl FnOnce(Frame<P>) -> Frame<P>,
) -> String
where
    P: Pipeline + Default,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    scenario.stage_input(dir.path());
    let (console, captured) = ConsoleSink::new().truncate(false).capture();
    let query = stage(P::read_stream(source::<P::Input>(dir.path())))
        .write_stream()
        .output_mode_named(&scenario.output_mode)
        .format(console)
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap_or_else(|e| panic!("{}: start() failed: {e}", scenario.name));
    query
        .await_termination()
        .await
        .unwrap_or_else(|e| panic!("{}: the query failed: {e}", scenario.name));
    captured.text()
}

fn source<R: Row>(dir: &Path) -> FileSource<R> {
    // PERMISSIVE is the default mode; it is spelled out because the oracle depends on it
    // (unparsable fields become null, the row is kept).
    FileSource::<R>::csv(dir)
        .max_files_per_trigger(1)
        .mode(ParseMode::Permissive)
}

/// Whether the batch read new input (a data batch, even from an empty file) rather than
/// running only because the watermark moved (a no-data batch).
fn read_input(p: &StreamingQueryProgress) -> bool {
    p.sources.iter().any(|s| s.start_offset != s.end_offset)
}

fn show_row(row: &[Cell], columns: &[Column]) -> String {
    let cells: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(i, c)| match columns.get(i) {
            Some(col) => format!("\"{}\": {c}", col.name),
            None => c.to_string(),
        })
        .collect();
    format!("{{{}}}", cells.join(", "))
}

fn show_time(t: Option<Timestamp>) -> String {
    t.map_or("null".to_string(), |t| t.to_rfc3339())
}

/// Compares a run with the scenario, every batch: rows (as sorted multisets, doubles exact),
/// the watermark it ran under, its input row count, whether it read input, its id; then the
/// number of batches and the output schema. Returns a report of every difference, or `None`.
pub(crate) fn compare(scenario: &Scenario, run: &Run) -> Option<String> {
    let mut report = String::new();
    let mut differing = 0;
    let columns = &scenario.columns;

    let schema_names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let run_names: Vec<&str> = run.columns.iter().map(|c| c.name.as_str()).collect();
    let schema_types: Vec<&str> = columns.iter().map(|c| c.ty.as_str()).collect();
    let run_types: Vec<&str> = run.columns.iter().map(|c| c.ty.as_str()).collect();
    if schema_names != run_names || schema_types != run_types {
        let show = |cs: &[Column]| {
            cs.iter()
                .map(Column::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            report,
            "schema differs (names and Spark types; nullability is not compared):\n  \
             expected: {}\n  got:      {}",
            show(columns),
            show(&run.columns)
        );
    }

    if run.batches.len() != scenario.batches.len() || run.progress.len() != scenario.batches.len() {
        let _ = writeln!(
            report,
            "batch count differs: expected {}, the sink got {}, progress reports {}",
            scenario.batches.len(),
            run.batches.len(),
            run.progress.len()
        );
    }

    let n = scenario
        .batches
        .len()
        .max(run.batches.len())
        .max(run.progress.len());
    for i in 0..n {
        let want = scenario.batches.get(i);
        let got = run.batches.get(i);
        let progress = run.progress.get(i);
        let mut lines = Vec::new();

        let got_rows: Option<Vec<Vec<Cell>>> = got.map(|(_, rows)| {
            let mut rows: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| r.iter().map(Cell::from_value).collect())
                .collect();
            sort_rows(&mut rows);
            rows
        });
        let want_rows: Option<Vec<Vec<Cell>>> = want.map(|w| {
            let mut rows = w.rows.clone();
            sort_rows(&mut rows);
            rows
        });

        if let (Some(w), Some((id, _))) = (want, got)
            && w.batch != *id
        {
            lines.push(format!("batch id: expected {}, the sink got {id}", w.batch));
        }
        if let (Some(w), Some(p)) = (want, progress)
            && w.batch != p.batch_id
        {
            lines.push(format!(
                "batch id: expected {}, progress reports {}",
                w.batch, p.batch_id
            ));
        }
        if want_rows != got_rows {
            lines.push("rows differ:".to_string());
            let empty = Vec::new();
            let w = want_rows.as_ref().unwrap_or(&empty);
            let g = got_rows.as_ref().unwrap_or(&empty);
            lines.push(format!("  expected ({} rows):", w.len()));
            for row in w {
                let mark = if g.contains(row) { " " } else { "-" };
                lines.push(format!("  {mark} {}", show_row(row, columns)));
            }
            lines.push(format!("  got ({} rows):", g.len()));
            for row in g {
                let mark = if w.contains(row) { " " } else { "+" };
                lines.push(format!("  {mark} {}", show_row(row, columns)));
            }
            if w.len() == g.len() && w.iter().all(|r| g.contains(r)) {
                lines.push("  (the same rows, with different multiplicities)".to_string());
            }
        }
        let want_wm = want.map(|w| w.watermark);
        let got_wm = progress.map(|p| p.watermark());
        if want_wm != got_wm {
            lines.push(format!(
                "watermark: expected {}, got {}",
                want_wm.map_or("(no batch)".to_string(), show_time),
                got_wm.map_or("(no batch)".to_string(), show_time)
            ));
        }
        let want_in = want.map(|w| w.num_input_rows);
        let got_in = progress.map(|p| p.num_input_rows);
        if want_in != got_in {
            lines.push(format!(
                "num_input_rows: expected {}, got {}",
                want_in.map_or("(no batch)".to_string(), |n| n.to_string()),
                got_in.map_or("(no batch)".to_string(), |n| n.to_string())
            ));
        }
        if let (Some(w), Some(p)) = (want, progress)
            && w.file.is_some() != read_input(p)
        {
            lines.push(format!(
                "expected {}, but the batch {}",
                match &w.file {
                    Some(f) => format!("a batch reading {f}"),
                    None => "a no-data batch".to_string(),
                },
                if read_input(p) {
                    "read new input"
                } else {
                    "read no new input"
                }
            ));
        }

        let what = match want.map(|w| &w.file) {
            Some(Some(f)) => format!("batch {i} ({f})"),
            Some(None) => format!("batch {i} (no-data batch)"),
            None => format!("batch {i} (not in expected.jsonl)"),
        };
        if lines.is_empty() {
            let _ = writeln!(report, "{what}: ok");
        } else {
            differing += 1;
            let _ = writeln!(report, "{what}: DIFFERS");
            for line in lines {
                let _ = writeln!(report, "    {line}");
            }
        }
    }

    let schema_ok = schema_names == run_names && schema_types == run_types;
    let count_ok =
        run.batches.len() == scenario.batches.len() && run.progress.len() == scenario.batches.len();
    if differing == 0 && schema_ok && count_ok {
        None
    } else {
        Some(format!(
            "scenario `{}` ({} mode): {differing} of {n} batches differ\n{report}",
            scenario.name, scenario.output_mode
        ))
    }
}

/// The columns whose nullability differs between Spark's schema and Sluice's. Not a failure:
/// Spark reports almost every streaming column nullable, while a Sluice column is nullable
/// only when its Rust type is an `Option` (`count(*)` is an `i64`).
pub(crate) fn nullability_differences(scenario: &Scenario, run: &Run) -> Vec<String> {
    scenario
        .columns
        .iter()
        .zip(&run.columns)
        .filter(|(s, r)| s.name == r.name && s.nullable != r.nullable)
        .map(|(s, r)| {
            format!(
                "`{}`: nullable = {} in Spark's schema, {} in Sluice's",
                s.name, s.nullable, r.nullable
            )
        })
        .collect()
}

/// One `Batch: N` block of console output, with the row lines of its table apart: Spark
/// prints an aggregation's rows in its own hash order, so they are compared as a multiset and
/// everything else (separators, header, widths, blank lines) byte for byte.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ConsoleBlock {
    /// The block with each table's row lines sorted.
    layout: String,
}

/// Splits console output into `Batch: N` blocks, each with its table rows sorted.
pub(crate) fn console_blocks(text: &str) -> Vec<ConsoleBlock> {
    const RULE: &str = "-------------------------------------------";
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut starts = Vec::new();
    for i in 0..lines.len() {
        if lines[i].trim_end_matches('\n') == RULE
            && lines.get(i + 1).is_some_and(|l| l.starts_with("Batch: "))
        {
            starts.push(i);
        }
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts.push(lines.len());
    starts
        .windows(2)
        .map(|w| ConsoleBlock {
            layout: sort_table_rows(&lines[w[0]..w[1]]),
        })
        .collect()
}

/// The lines with the row lines of each `+---+` table sorted: rows are the `|` lines between
/// a table's second rule (under the header) and its last.
fn sort_table_rows(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let is_rule = |l: &str| l.starts_with('+');
        if is_rule(lines[i])
            && lines.get(i + 1).is_some_and(|l| l.starts_with('|'))
            && lines.get(i + 2).is_some_and(|l| is_rule(l))
        {
            out.push_str(lines[i]);
            out.push_str(lines[i + 1]);
            out.push_str(lines[i + 2]);
            let mut j = i + 3;
            let mut rows = Vec::new();
            while j < lines.len() && lines[j].starts_with('|') {
                rows.push(lines[j]);
                j += 1;
            }
            rows.sort_unstable();
            for row in rows {
                out.push_str(row);
            }
            i = j;
        } else {
            out.push_str(lines[i]);
            i += 1;
        }
    }
    out
}

/// Compares console output with Spark's `console.txt`; returns a report of the differing
/// batches, or `None`.
pub(crate) fn compare_console(scenario: &Scenario, got: &str) -> Option<String> {
    let want = scenario.console.as_deref()?;
    let w = console_blocks(want);
    let g = console_blocks(got);
    let mut report = String::new();
    if w.len() != g.len() {
        let _ = writeln!(
            report,
            "the console printed {} batch blocks, Spark printed {}",
            g.len(),
            w.len()
        );
    }
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            let _ = writeln!(
                report,
                "block {i} differs (rows sorted on both sides)\n--- Spark:\n{}--- Sluice:\n{}",
                a.map_or("(none)\n", |b| &b.layout),
                b.map_or("(none)\n", |b| &b.layout)
            );
        }
    }
    if report.is_empty() && want.len() != got.len() {
        let _ = writeln!(
            report,
            "the text lengths differ: Spark {} bytes, Sluice {} bytes",
            want.len(),
            got.len()
        );
    }
    (!report.is_empty()).then(|| {
        format!(
            "scenario `{}`: console output differs\n{report}",
            scenario.name
        )
    })
}
