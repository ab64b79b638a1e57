//! The dead-letter directory: records a malformed-record policy dropped, kept as JSON lines
//! so they can be looked at, fixed and fed back.
//!
//! One file per source file with dropped records, named after the file's position in the
//! source's log and its name (`00003-readings.csv.json`), written atomically: a batch run
//! again after a crash rewrites the same file with the same records, so nothing is doubled.
//! Each line is `{"file": ..., "line": N, "field": ..., "error": ..., "record": ...}`.

use std::path::Path;

use serde::Serialize;

use crate::durable_file;
use crate::error::{Error, Result};
use crate::format::Rejected;

#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    error: &'a str,
    record: &'a str,
}

/// The dead-letter file of the `index`-th logged file, `name`.
pub(super) fn file_name(index: usize, name: &str) -> String {
    format!("{index:05}-{name}.json")
}

/// Writes the records dropped from `source_file` (the `index`-th logged file, `name`).
pub(super) fn write(
    dir: &Path,
    index: usize,
    name: &str,
    source_file: &str,
    rejected: &[Rejected],
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut text = String::new();
    for r in rejected {
        let line = Line {
            file: source_file,
            line: r.line,
            field: r.field.as_deref(),
            error: &r.message,
            record: &r.record,
        };
        text.push_str(&serde_json::to_string(&line).expect("a dead letter serialises"));
        text.push('\n');
    }
    durable_file::write_file(&dir.join(file_name(index, name)), text.as_bytes())
}
