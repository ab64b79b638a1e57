//! One job of one benchmark case, run once over 1 M rows (case 10: 1 M of each side), for
//! instruction counting:
//!
//! ```sh
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind target/release/deps/instructions-<hash> case2 generated
//! valgrind --tool=callgrind target/release/deps/instructions-<hash> case2 handwritten
//! ```
//!
//! Instruction counts do not depend on what else the machine is doing, so the ratio of the two
//! counts is a stable companion to the wall-clock medians of `throughput.rs`. The job `input`
//! only builds the case's input: subtract its count from the others.

#![allow(missing_docs)]

use std::hint::black_box;

use sluice::OutputMode;

#[path = "common/mod.rs"]
mod common;
use common::*;

const ROWS: usize = 1_000_000;
// Batches of 1 M rows, the size the runtime rows are compared at.
const BATCH: usize = 1_000_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (case, job) = match args.as_slice() {
        [case, job] => (case.as_str(), job.as_str()),
        _ => {
            eprintln!(
                "usage: instructions <case1|...|case5|case7|...|case10> <input|generated|handwritten>"
            );
            return;
        }
    };
    let emitted = match (case, job) {
        ("case1" | "case3", "input") => sensors(ROWS).len(),
        ("case2", "input") => rate_rows(ROWS).len(),
        ("case4", "input") => keyed(ROWS, 10_000, MS).len(),
        ("case5", "input") => keyed(ROWS, 100_000, 60).len(),
        ("case7", "input") => operators::duplicated(ROWS).len(),
        ("case8", "input") => operators::bursts(ROWS, 10_000).len(),
        ("case9", "input") => operators::sentences(ROWS / 4).len(),
        ("case7", "generated") => drive(
            operators::UniqueReadings::new(),
            &operators::duplicated(ROWS),
            BATCH,
            OutputMode::Append,
        ),
        ("case7", "handwritten") => {
            operators::handwritten::dedup_job(&operators::duplicated(ROWS), BATCH)
        }
        ("case8", "generated") => drive(
            operators::KeySessions::new(),
            &operators::bursts(ROWS, 10_000),
            BATCH,
            OutputMode::Append,
        ),
        ("case8", "handwritten") => {
            operators::handwritten::sessions_job(&operators::bursts(ROWS, 10_000), BATCH)
        }
        ("case9", "generated") => drive(
            operators::SentenceWords::new(),
            &operators::sentences(ROWS / 4),
            BATCH,
            OutputMode::Append,
        ),
        ("case9", "handwritten") => {
            operators::handwritten::words_job(&operators::sentences(ROWS / 4), BATCH)
        }
        ("case10", job) => {
            let (impressions, clicks, rows) = operators::ad_input(ROWS);
            let batch = operators::JOIN_SIDE_BATCH;
            match job {
                "input" => rows.len(),
                "generated" => drive(
                    operators::AdClicks::new(),
                    &rows,
                    2 * batch,
                    OutputMode::Append,
                ),
                "handwritten" => {
                    operators::handwritten::join_job(&impressions, &clicks, batch).emitted
                }
                _ => {
                    eprintln!("unknown job: {job}");
                    return;
                }
            }
        }
        ("case1", "generated") => {
            drive(RoomStats::new(), &sensors(ROWS), BATCH, OutputMode::Append)
        }
        ("case1", "handwritten") => handwritten::room_stats_job(&sensors(ROWS), BATCH),
        ("case2", "generated") => drive(
            RateRoomStats::new(),
            &rate_rows(ROWS),
            BATCH,
            OutputMode::Append,
        ),
        ("case2", "handwritten") => handwritten::rate_stats_job(&rate_rows(ROWS), BATCH),
        ("case3", "generated") => drive(HighTemp::new(), &sensors(ROWS), BATCH, OutputMode::Append),
        ("case3", "handwritten") => handwritten::high_temp_job(&sensors(ROWS), BATCH),
        ("case4", "generated") => drive(
            Sliding::new(),
            &keyed(ROWS, 10_000, MS),
            BATCH,
            OutputMode::Append,
        ),
        ("case4", "handwritten") => {
            handwritten::windowed_job(&keyed(ROWS, 10_000, MS), BATCH, 120_000_000, 60_000_000)
        }
        ("case5", "generated") => drive(
            Tumbling::new(),
            &keyed(ROWS, 100_000, 60),
            ROWS,
            OutputMode::Append,
        ),
        ("case5", "handwritten") => {
            handwritten::windowed_job(&keyed(ROWS, 100_000, 60), ROWS, 60_000_000, 60_000_000)
        }
        _ => {
            eprintln!("unknown case or job: {case} {job}");
            return;
        }
    };
    println!("{case} {job}: {}", black_box(emitted));
}
