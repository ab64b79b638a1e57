//! The query / output-mode combinations of `tests/spark-oracle/golden/INVALID.md`: what Spark
//! 4.3.0 rejects (and with which message) and what it accepts, each mapped to what Sluice
//! does. `docs/conformance.md` has the same table in prose.
//!
//! - A combination Spark rejects is rejected by Sluice too: at compile time where the DSL or
//!   the types can tell (a `tests/ui/` case, whose error quotes Spark's message), and, for an
//!   output mode given by name (`output_mode_named`, Spark's `outputMode("...")`), by
//!   `start()` with Spark's message, compared here with the one INVALID.md records.
//! - A combination Spark accepts runs in Sluice over the same input (data set A), and its
//!   output is checked against what the oracle's scenarios imply — except the one Sluice
//!   documents as a difference: chained aggregations (rejected in every mode).
//!
//! `every_invalid_case_is_mapped` fails if INVALID.md gains a case the table below lacks.

mod conformance;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use conformance::{Cell, Run, Scenario, sort_rows};
use sluice::prelude::*;

sluice::pipeline! {
    /// The oracle's input, `ts TIMESTAMP, key STRING, value DOUBLE`.
    schema Event { ts: Option<Timestamp>, key: Option<String>, value: Option<f64> }

    /// Cases 1, 13 (before its second aggregation): `groupBy("key").count()`.
    query KeyCounts from Event {
        group by key;
        aggregate count = count(*);
    }

    /// Case 2: `groupBy(window("ts", "10 seconds"), "key").count()`.
    query WindowCounts from Event {
        group by window(ts, 10 seconds), key;
        aggregate count = count(*);
    }

    /// Case 3: `withWatermark("ts", "30 seconds").groupBy("key").count()`.
    query WatermarkedKeyCounts from Event {
        watermark ts delay 30 seconds;
        group by key;
        aggregate count = count(*);
    }

    /// Cases 4 and 19: `filter(col("value") > 25)`.
    query Filtered from Event {
        where value > 25;
    }

    /// Case 5: `withWatermark("ts", "30 seconds").select("ts", "key")`.
    query WatermarkedProjection from Event {
        watermark ts delay 30 seconds;
        select ts, key;
    }

    /// Cases 6 and 9: `groupBy("key").count().orderBy("key")`.
    query SortedKeyCounts from Event {
        group by key;
        aggregate count = count(*);
        order by key;
    }

    /// Case 8: `withWatermark("ts", "30 seconds").groupBy(window("ts", "10 seconds"), "key")
    /// .count().orderBy("window")`.
    query SortedWindowCounts from Event {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count(*);
        order by window;
    }

    /// Cases 10 and 11: `groupBy("key").count().limit(2)`.
    query LimitedKeyCounts from Event {
        group by key;
        aggregate count = count(*);
        limit 2;
    }

    /// Case 12: `limit(2)`.
    query Limited from Event {
        limit 2;
    }

    /// Case 22: `dropDuplicates(["key"])`.
    query DistinctKeys from Event {
        drop duplicates (key);
    }

    /// Case 20: `withWatermark("ts", "30 seconds").groupBy(window("ts", "10 seconds"), "key")
    /// .count()`.
    query WatermarkedWindowCounts from Event {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count(*);
    }

    /// Case 21: the same, then `.filter(col("count") > 1)`.
    query FilteredWindowCounts from Event {
        watermark ts delay 30 seconds;
        group by window(ts, 10 seconds), key;
        aggregate count = count(*);
        where count > 1;
    }

    /// Case 23: `select("key")`.
    query Keys from Event {
        select key;
    }
}

/// How Sluice handles an INVALID.md case.
#[derive(Debug, Clone, Copy)]
enum Sluice {
    /// The typed output mode (`.output_mode(Append)`) does not compile — trybuild case
    /// `tests/ui/<ui>.rs`, whose error quotes `quotes` from Spark's message — and the mode
    /// given by name is refused by `start()` with Spark's message
    /// (`rejected_output_modes_fail_start_with_sparks_message`).
    ModeRejected {
        ui: &'static str,
        quotes: &'static [&'static str],
    },
    /// The query itself does not compile, whatever the output mode: trybuild case
    /// `tests/ui/<ui>.rs`, whose error quotes `quotes` from Spark's message.
    QueryRejected {
        ui: &'static str,
        quotes: &'static [&'static str],
    },
    /// Only a mode given by name can be invalid: `start()` refuses it with Spark's message.
    StartRejected,
    /// Sluice runs it, like Spark; the test function `test` (in this file) checks its output.
    Accepted { test: &'static str },
    /// Spark runs it; Sluice rejects it at compile time (`tests/ui/<ui>.rs`). A documented
    /// difference (docs/semantics.md).
    RejectedUnlikeSpark { ui: &'static str },
}

const CASES: &[(u32, Sluice)] = &[
    (
        1,
        Sluice::ModeRejected {
            ui: "append_aggregation_without_watermark",
            quotes: &[APPEND_WITHOUT_WATERMARK],
        },
    ),
    (
        2,
        Sluice::ModeRejected {
            ui: "append_window_without_watermark",
            quotes: &[APPEND_WITHOUT_WATERMARK],
        },
    ),
    (
        3,
        Sluice::ModeRejected {
            ui: "append_watermark_not_a_group_key",
            quotes: &[APPEND_WITHOUT_WATERMARK],
        },
    ),
    (
        4,
        Sluice::ModeRejected {
            ui: "complete_without_aggregation",
            quotes: &[COMPLETE_WITHOUT_AGGREGATION],
        },
    ),
    (
        5,
        Sluice::ModeRejected {
            ui: "complete_without_aggregation_with_watermark",
            quotes: &[COMPLETE_WITHOUT_AGGREGATION],
        },
    ),
    (
        6,
        Sluice::ModeRejected {
            ui: "update_with_order_by",
            quotes: &[SORTING],
        },
    ),
    (
        7,
        Sluice::QueryRejected {
            ui: "order_by_without_aggregation",
            quotes: &[SORTING],
        },
    ),
    (
        8,
        Sluice::ModeRejected {
            ui: "append_with_order_by",
            quotes: &[SORTING],
        },
    ),
    (
        9,
        Sluice::Accepted {
            test: "case_09_complete_aggregation_then_order_by",
        },
    ),
    (
        10,
        Sluice::ModeRejected {
            ui: "update_with_limit",
            quotes: &[
                "Limits are not supported on streaming DataFrames/Datasets in Update output mode",
            ],
        },
    ),
    (
        11,
        Sluice::Accepted {
            test: "case_11_complete_aggregation_then_limit",
        },
    ),
    (
        12,
        Sluice::Accepted {
            test: "case_12_append_limit_without_aggregation",
        },
    ),
    (
        13,
        Sluice::QueryRejected {
            ui: "chained_aggregation",
            quotes: &[CHAINED],
        },
    ),
    (
        14,
        Sluice::QueryRejected {
            ui: "chained_aggregation",
            quotes: &[CHAINED],
        },
    ),
    (
        15,
        Sluice::RejectedUnlikeSpark {
            ui: "chained_windowed_aggregation",
        },
    ),
    (
        16,
        Sluice::QueryRejected {
            ui: "chained_windowed_aggregation",
            quotes: &[CHAINED],
        },
    ),
    (
        17,
        Sluice::QueryRejected {
            ui: "count_distinct",
            quotes: &["Distinct aggregations are not supported on streaming DataFrames/Datasets"],
        },
    ),
    (
        18,
        Sluice::QueryRejected {
            ui: "window_function",
            quotes: &[
                "[NON_TIME_WINDOW_NOT_SUPPORTED_IN_STREAMING] Window function is not supported in ROW_NUMBER()",
                "on streaming DataFrames/Datasets.",
                "Structured Streaming only supports time-window aggregation using the WINDOW function.",
            ],
        },
    ),
    (
        19,
        Sluice::Accepted {
            test: "case_19_update_stateless_query",
        },
    ),
    (
        20,
        Sluice::Accepted {
            test: "case_20_complete_windowed_aggregation_with_watermark",
        },
    ),
    (
        21,
        Sluice::Accepted {
            test: "case_21_append_watermark_window_post_aggregation_filter",
        },
    ),
    (
        22,
        Sluice::Accepted {
            test: "case_22_append_drop_duplicates_without_watermark",
        },
    ),
    (23, Sluice::StartRejected),
    (
        24,
        Sluice::QueryRejected {
            ui: "watermark_on_string_column",
            quotes: &[
                "[EVENT_TIME_IS_NOT_ON_TIMESTAMP_TYPE] The event time `key` has the invalid type \"STRING\", but expected \"TIMESTAMP\".",
            ],
        },
    ),
    (
        25,
        Sluice::QueryRejected {
            ui: "window_slide_larger_than_size",
            quotes: &[
                "[DATATYPE_MISMATCH.PARAMETER_CONSTRAINT_VIOLATION]",
                "The `slide_duration`(20000000L) must be <= the `window_duration`(10000000L).",
            ],
        },
    ),
    (
        26,
        Sluice::QueryRejected {
            ui: "batch_action_on_a_stream",
            quotes: &[BATCH_ACTION],
        },
    ),
    (
        27,
        Sluice::QueryRejected {
            ui: "batch_action_on_a_stream",
            quotes: &[BATCH_ACTION],
        },
    ),
];

// Parts of Spark's messages that Sluice's compile errors quote; each is checked to be in
// INVALID.md's message for the case and in the trybuild case's expected output.
const APPEND_WITHOUT_WATERMARK: &str = "This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets";
const COMPLETE_WITHOUT_AGGREGATION: &str = "This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets";
const SORTING: &str = "Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode";
const CHAINED: &str = "Detected pattern of possible 'correctness' issue due to global watermark";
const BATCH_ACTION: &str =
    "Queries with streaming sources must be executed with writeStream.start()";

// ---------------------------------------------------------------------------------------------
// INVALID.md
// ---------------------------------------------------------------------------------------------

/// One case of INVALID.md.
#[derive(Debug, Clone)]
struct InvalidCase {
    title: String,
    /// The output mode the query was started in (`None` for the batch actions).
    mode: Option<String>,
    rejected: bool,
    /// Spark's message, verbatim (rejected cases).
    message: Option<String>,
}

impl InvalidCase {
    /// The message as Sluice words it: without the exception's class name, the SQLSTATE, and
    /// the plan Spark appends after a `;`.
    fn message_core(&self) -> String {
        let raw = self
            .message
            .as_deref()
            .expect("a rejected case has a message");
        let first = raw.lines().next().unwrap_or_default();
        let first = ["AnalysisException: ", "IllegalArgumentException: "]
            .iter()
            .find_map(|p| first.strip_prefix(p))
            .unwrap_or(first);
        let first = first.split(" SQLSTATE: ").next().unwrap_or(first);
        first.trim_end_matches(';').to_string()
    }
}

fn invalid_md() -> PathBuf {
    conformance::golden_dir().join("INVALID.md")
}

/// Parses the `## N. title — VERDICT` sections of INVALID.md.
fn invalid_cases() -> BTreeMap<u32, InvalidCase> {
    let text = fs::read_to_string(invalid_md()).expect("INVALID.md is readable");
    let mut cases = BTreeMap::new();
    let sections: Vec<&str> = text.split("\n## ").skip(1).collect();
    for section in sections {
        let heading = section.lines().next().expect("a heading");
        let (number, rest) = heading.split_once(". ").expect("`## N. title`");
        let number: u32 = number.parse().expect("a case number");
        let (title, verdict) = rest.rsplit_once(" — ").expect("`title — VERDICT`");
        let rejected = match verdict.trim() {
            "REJECTED" => true,
            "ACCEPTED" => false,
            other => panic!("case {number}: verdict {other}"),
        };
        let mode = section
            .split_once("# outputMode(")
            .map(|(_, rest)| rest.split(')').next().unwrap_or_default())
            .map(|m| m.trim_matches('\'').to_string())
            .filter(|m| m != "None");
        let message = section.split_once("Error (at `").map(|(_, rest)| {
            let block = rest.split_once("```\n").expect("an error block").1;
            block.split("\n```").next().unwrap_or_default().to_string()
        });
        assert_eq!(
            rejected,
            message.is_some(),
            "case {number}: a rejected case has an error message, an accepted one none"
        );
        let previous = cases.insert(
            number,
            InvalidCase {
                title: title.to_string(),
                mode,
                rejected,
                message,
            },
        );
        assert!(previous.is_none(), "case {number} appears twice");
    }
    assert!(!cases.is_empty(), "INVALID.md has no cases");
    cases
}

/// This file's text, to check that the tests CASES names exist.
const THIS_FILE: &str = include_str!("spark_invalid_combinations.rs");

fn ui_case(name: &str) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    (
        dir.join(format!("{name}.rs")),
        dir.join(format!("{name}.stderr")),
    )
}

#[test]
fn every_invalid_case_is_mapped() {
    let cases = invalid_cases();
    let mapped: BTreeMap<u32, Sluice> = CASES.iter().copied().collect();
    assert_eq!(mapped.len(), CASES.len(), "a case is mapped twice");
    let numbers: Vec<u32> = cases.keys().copied().collect();
    let mapped_numbers: Vec<u32> = mapped.keys().copied().collect();
    assert_eq!(
        mapped_numbers, numbers,
        "every case of INVALID.md, and only those, needs an entry in CASES"
    );
    for (number, case) in &cases {
        let handling = mapped[number];
        let what = format!("case {number} ({})", case.title);
        match handling {
            Sluice::ModeRejected { .. } | Sluice::QueryRejected { .. } | Sluice::StartRejected => {
                assert!(case.rejected, "{what}: Spark accepts it, Sluice rejects it")
            }
            Sluice::Accepted { .. } => {
                assert!(
                    !case.rejected,
                    "{what}: Spark rejects it, Sluice accepts it"
                )
            }
            // The documented difference: Spark accepts, Sluice cannot run it.
            Sluice::RejectedUnlikeSpark { .. } => {
                assert!(
                    !case.rejected,
                    "{what}: listed as a difference, but Spark rejects it"
                )
            }
        }
        if let Sluice::ModeRejected { ui, quotes } | Sluice::QueryRejected { ui, quotes } = handling
        {
            let message = case.message.as_deref().unwrap_or_default();
            let (source, stderr) = ui_case(ui);
            assert!(source.is_file(), "{what}: no {}", source.display());
            let stderr = fs::read_to_string(&stderr)
                .unwrap_or_else(|e| panic!("{what}: {}: {e}", stderr.display()));
            assert!(!quotes.is_empty(), "{what}: quote Spark's message");
            for quote in quotes {
                assert!(
                    message.contains(quote),
                    "{what}: `{quote}` is not part of Spark's message:\n{message}"
                );
                assert!(
                    stderr.contains(quote),
                    "{what}: the compile error of tests/ui/{ui}.rs does not say `{quote}`"
                );
            }
        }
        if let Sluice::Accepted { test } = handling {
            assert!(
                THIS_FILE.contains(&format!("async fn {test}()")),
                "{what}: no test `{test}` in this file"
            );
        }
        if let Sluice::RejectedUnlikeSpark { ui } = handling {
            assert!(ui_case(ui).1.is_file(), "{what}: no tests/ui/{ui}.stderr");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rejected: start() with Spark's message
// ---------------------------------------------------------------------------------------------

/// What `start()` says for pipeline `P` in the output mode named `mode`.
fn start_error<P: Pipeline<Input = Event> + Default>(mode: &str) -> Option<String> {
    P::read_stream(FileSource::<Event>::csv(
        conformance::golden_dir().join(DATA_A).join("input"),
    ))
    .write_stream()
    .output_mode_named(mode)
    .foreach_batch(|_, _| ())
    .trigger(Trigger::AvailableNow)
    .start()
    .err()
    .map(|e| e.to_string())
}

#[tokio::test]
async fn rejected_output_modes_fail_start_with_sparks_message() {
    let cases = invalid_cases();
    for (number, handling) in CASES {
        if !matches!(
            handling,
            Sluice::ModeRejected { .. } | Sluice::StartRejected
        ) {
            continue;
        }
        let case = &cases[number];
        let mode = case.mode.as_deref().expect("a mode");
        let error = match number {
            1 => start_error::<KeyCounts>(mode),
            2 => start_error::<WindowCounts>(mode),
            3 => start_error::<WatermarkedKeyCounts>(mode),
            4 => start_error::<Filtered>(mode),
            5 => start_error::<WatermarkedProjection>(mode),
            6 => start_error::<SortedKeyCounts>(mode),
            8 => start_error::<SortedWindowCounts>(mode),
            10 => start_error::<LimitedKeyCounts>(mode),
            23 => start_error::<Keys>(mode),
            other => panic!("case {other} has no query here"),
        };
        assert_eq!(
            error.as_deref(),
            Some(case.message_core().as_str()),
            "case {number} ({}) in mode {mode}",
            case.title
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Accepted: Sluice runs them, over data set A, and emits what the oracle's scenarios imply
// ---------------------------------------------------------------------------------------------

/// A scenario folder over data set A, the input INVALID.md's queries read.
const DATA_A: &str = "keyed_agg_update";

/// Runs `P` over data set A in the mode named `mode`, as the oracle's scenarios run (on the
/// machine's cores, the default parallelism).
async fn run_data_a<P: Pipeline<Input = Event> + Default>(mode: &str) -> Run {
    let mut scenario = Scenario::load(DATA_A);
    scenario.output_mode = mode.to_string();
    conformance::run_rows::<P>(&scenario, sluice::executor::default_parallelism()).await
}

/// A run's batches, each a list of rows of [`Cell`]s in the order emitted.
fn cells(run: &Run) -> Vec<Vec<Vec<Cell>>> {
    run.batches
        .iter()
        .map(|(_, rows)| {
            rows.iter()
                .map(|r| r.iter().map(Cell::from_value).collect())
                .collect()
        })
        .collect()
}

/// A scenario's expected batches, each row cut down to `columns`.
fn expected(scenario: &str, columns: &[&str]) -> Vec<Vec<Vec<Cell>>> {
    let scenario = Scenario::load(scenario);
    let index: Vec<usize> = columns
        .iter()
        .map(|c| {
            scenario
                .columns
                .iter()
                .position(|col| col.name == *c)
                .unwrap_or_else(|| panic!("{}: no column {c}", scenario.name))
        })
        .collect();
    scenario
        .batches
        .iter()
        .map(|b| {
            b.rows
                .iter()
                .map(|r| index.iter().map(|&i| r[i].clone()).collect())
                .collect()
        })
        .collect()
}

fn sorted(mut rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
    sort_rows(&mut rows);
    rows
}

fn column_names(run: &Run) -> Vec<&str> {
    run.columns.iter().map(|c| c.name.as_str()).collect()
}

/// Case 9: complete mode sorts the whole table every batch. The table is
/// `keyed_agg_complete`'s, and the oracle's rows are already in key order.
#[tokio::test]
async fn case_09_complete_aggregation_then_order_by() {
    let run = run_data_a::<SortedKeyCounts>("complete").await;
    assert_eq!(column_names(&run), ["key", "count"]);
    assert_eq!(
        cells(&run),
        expected("keyed_agg_complete", &["key", "count"])
    );
}

/// Case 11: complete mode with a limit emits two rows of the whole table every batch (which
/// two is not defined without a sort, in Spark either).
#[tokio::test]
async fn case_11_complete_aggregation_then_limit() {
    let run = run_data_a::<LimitedKeyCounts>("complete").await;
    let tables = expected("keyed_agg_complete", &["key", "count"]);
    let got = cells(&run);
    assert_eq!(got.len(), tables.len(), "one batch per file");
    for (i, (rows, table)) in got.iter().zip(&tables).enumerate() {
        assert_eq!(rows.len(), table.len().min(2), "batch {i}: {rows:?}");
        for row in rows {
            assert!(
                table.contains(row),
                "batch {i}: {row:?} is not in {table:?}"
            );
        }
        let keys: std::collections::BTreeSet<String> =
            rows.iter().map(|r| r[0].to_string()).collect();
        assert_eq!(keys.len(), rows.len(), "batch {i}: a key twice");
    }
}

/// Case 12: a limit without aggregation caps the rows ever emitted: two rows of the first
/// file, then nothing.
#[tokio::test]
async fn case_12_append_limit_without_aggregation() {
    let run = run_data_a::<Limited>("append").await;
    let first_file = fs::read_to_string(
        conformance::golden_dir()
            .join(DATA_A)
            .join("input/batch-000.csv"),
    )
    .unwrap();
    let first_file: Vec<Vec<Cell>> = first_file
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            vec![
                Cell::Timestamp(Timestamp::parse(fields[0]).unwrap()),
                Cell::Str(fields[1].to_string()),
                Cell::Double(fields[2].parse().unwrap()),
            ]
        })
        .collect();
    let got = cells(&run);
    assert_eq!(
        got.len(),
        Scenario::load(DATA_A).batches.len(),
        "every file ran"
    );
    assert_eq!(got[0].len(), 2, "{:?}", got[0]);
    for row in &got[0] {
        assert!(
            first_file.contains(row),
            "{row:?} is not a row of batch-000.csv"
        );
    }
    assert!(got[1..].iter().all(Vec::is_empty), "{got:?}");
}

/// Case 22: `dropDuplicates(["key"])` without a watermark emits the first row of each key, in
/// the batch of the file it first appears in, and never a key again.
#[tokio::test]
async fn case_22_append_drop_duplicates_without_watermark() {
    let run = run_data_a::<DistinctKeys>("append").await;
    assert_eq!(column_names(&run), ["ts", "key", "value"]);
    let input = conformance::scenario_dir(DATA_A).join("input");
    let mut files: Vec<_> = fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut seen: Vec<String> = Vec::new();
    let want: Vec<Vec<Vec<Cell>>> = files
        .iter()
        .map(|file| {
            let text = fs::read_to_string(file).unwrap();
            let mut first_rows = Vec::new();
            for line in text.lines() {
                let fields: Vec<&str> = line.split(',').collect();
                if !seen.iter().any(|k| k == fields[1]) {
                    seen.push(fields[1].to_string());
                    first_rows.push(vec![
                        Cell::Timestamp(Timestamp::parse(fields[0]).unwrap()),
                        Cell::Str(fields[1].to_string()),
                        Cell::Double(fields[2].parse().unwrap()),
                    ]);
                }
            }
            first_rows
        })
        .collect();
    assert_eq!(seen, ["a", "b", "c", "d"]);
    assert_eq!(cells(&run), want);
    assert!(run.progress.iter().all(|p| p.watermark().is_none()));
    assert_eq!(
        run.progress.len(),
        files.len(),
        "no no-data batch without a watermark"
    );
}

/// Case 19: update mode on a stateless query emits each batch's rows, as append does. The
/// rows are `stateless_watermark_filter`'s (the same filter and columns; a watermark without
/// aggregation drops nothing), and so are the input counts (the filter reaches the scan).
#[tokio::test]
async fn case_19_update_stateless_query() {
    let run = run_data_a::<Filtered>("update").await;
    let oracle = Scenario::load("stateless_watermark_filter");
    assert_eq!(column_names(&run), ["ts", "key", "value"]);
    let want: Vec<Vec<Vec<Cell>>> = expected("stateless_watermark_filter", &["ts", "key", "value"]);
    let got: Vec<Vec<Vec<Cell>>> = cells(&run).into_iter().map(sorted).collect();
    assert_eq!(got, want.into_iter().map(sorted).collect::<Vec<_>>());
    let counts: Vec<u64> = run.progress.iter().map(|p| p.num_input_rows).collect();
    let want_counts: Vec<u64> = oracle.batches.iter().map(|b| b.num_input_rows).collect();
    assert_eq!(counts, want_counts);
    assert!(run.progress.iter().all(|p| p.watermark().is_none()));
}

/// Case 20: complete mode with a watermark drops nothing and evicts nothing, so its table after
/// each batch is every update `tumbling_update` (the same windows, no watermark) emitted so
/// far, folded by group; the watermark still advances as in `tumbling_watermark_append`.
#[tokio::test]
async fn case_20_complete_windowed_aggregation_with_watermark() {
    let run = run_data_a::<WatermarkedWindowCounts>("complete").await;
    assert_eq!(column_names(&run), ["window", "key", "count"]);
    let updates = expected("tumbling_update", &["window", "key", "count"]);
    let mut table: Vec<Vec<Cell>> = Vec::new();
    let mut tables = Vec::new();
    for batch in updates {
        for row in batch {
            table.retain(|r| r[..2] != row[..2]);
            table.push(row);
        }
        tables.push(sorted(table.clone()));
    }
    let got: Vec<Vec<Vec<Cell>>> = cells(&run).into_iter().map(sorted).collect();
    assert_eq!(got, tables);
    let watermarks: Vec<Option<Timestamp>> = run.progress.iter().map(|p| p.watermark()).collect();
    let oracle = Scenario::load("tumbling_watermark_append");
    let want: Vec<Option<Timestamp>> = oracle
        .batches
        .iter()
        .filter(|b| b.file.is_some())
        .map(|b| b.watermark)
        .collect();
    assert_eq!(watermarks, want, "and no no-data batch in complete mode");
}

/// Case 21: a filter after a windowed aggregation in append mode filters the windows as they
/// are emitted: `tumbling_watermark_append`'s windows with `count > 1`, batch by batch.
#[tokio::test]
async fn case_21_append_watermark_window_post_aggregation_filter() {
    let run = run_data_a::<FilteredWindowCounts>("append").await;
    assert_eq!(column_names(&run), ["window", "key", "count"]);
    let want: Vec<Vec<Vec<Cell>>> =
        expected("tumbling_watermark_append", &["window", "key", "count"])
            .into_iter()
            .map(|rows| {
                sorted(
                    rows.into_iter()
                        .filter(|r| r[2].spark_cmp(&Cell::Integer(1)).is_gt())
                        .collect(),
                )
            })
            .collect();
    let got: Vec<Vec<Vec<Cell>>> = cells(&run).into_iter().map(sorted).collect();
    assert_eq!(got, want);
    assert!(
        want.iter().any(|rows| !rows.is_empty()),
        "the filter keeps some windows"
    );
}
