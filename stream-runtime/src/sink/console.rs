//! The console sink, and Spark's table layout (`Dataset.showString`), which memory tables
//! reuse for `show()`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::continuous::{ContinuousSink, EpochCommit};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::Value;

use super::{Sink, SinkBatch};

/// Prints each batch as Spark's console sink does:
///
/// ```text
/// -------------------------------------------
/// Batch: 0
/// -------------------------------------------
/// +---+-----+
/// |key|count|
/// +---+-----+
/// |  a|    2|
/// +---+-----+
///
/// ```
///
/// Options as in Spark: `num_rows` (default 20; more rows end with "only showing top N rows")
/// and `truncate` (default on: cells longer than 20 characters are cut and cells are
/// right-aligned; off: full cells, left-aligned).
///
/// With a continuous trigger it prints each epoch the same way (`Batch: <epoch>`) when the
/// epoch commits, empty epochs too, as Spark's console does "at every checkpoint interval".
pub struct ConsoleSink {
    num_rows: usize,
    truncate: usize,
    /// Shared with the commits of continuous epochs, which print after the task moved on.
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    /// The epoch in progress (continuous queries): the first rows, as many as are shown,
    /// and how many there were.
    epoch_rows: Vec<Vec<Value>>,
    epoch_total: usize,
}

impl std::fmt::Debug for ConsoleSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSink")
            .field("num_rows", &self.num_rows)
            .field("truncate", &self.truncate)
            .finish()
    }
}

impl Default for ConsoleSink {
    fn default() -> Self {
        ConsoleSink::new()
    }
}

impl ConsoleSink {
    /// A console sink writing to stdout with Spark's defaults.
    pub fn new() -> Self {
        ConsoleSink {
            num_rows: 20,
            truncate: 20,
            out: Arc::new(Mutex::new(Box::new(std::io::stdout()))),
            epoch_rows: Vec::new(),
            epoch_total: 0,
        }
    }

    /// Spark's `numRows` option: rows printed per batch.
    pub fn num_rows(mut self, n: usize) -> Self {
        self.num_rows = n;
        self
    }

    /// Spark's `truncate` option: `true` cuts cells at 20 characters, `false` prints them whole.
    pub fn truncate(mut self, truncate: bool) -> Self {
        self.truncate = if truncate { 20 } else { 0 };
        self
    }

    /// Writes to `out` instead of stdout.
    pub fn output(mut self, out: impl Write + Send + 'static) -> Self {
        self.out = Arc::new(Mutex::new(Box::new(out)));
        self
    }

    /// Writes into a shared buffer, returned with the sink (for tests and captures).
    pub fn capture(self) -> (Self, ConsoleCapture) {
        let capture = ConsoleCapture::default();
        (self.output(capture.clone()), capture)
    }
}

/// A buffer a [`ConsoleSink`] prints into.
#[derive(Debug, Clone, Default)]
pub struct ConsoleCapture {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl ConsoleCapture {
    /// Everything printed so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("capture lock")).into_owned()
    }
}

impl Write for ConsoleCapture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf
            .lock()
            .expect("capture lock")
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ConsoleSink {
    /// A batch as Spark prints it: the `Batch: N` banner, then the table of the first rows
    /// (`rows` holds at least the rows shown; `total` is how many the batch has).
    fn batch_text(
        &self,
        batch_id: u64,
        names: &[&str],
        rows: &[Vec<Value>],
        total: usize,
    ) -> String {
        let mut text = String::new();
        text.push_str("-------------------------------------------\n");
        text.push_str(&format!("Batch: {batch_id}\n"));
        text.push_str("-------------------------------------------\n");
        text.push_str(&show_string(
            names,
            rows,
            total,
            self.num_rows,
            self.truncate,
        ));
        text.push('\n');
        text
    }
}

/// Writes `text` to `out` and flushes it.
fn print(out: &Mutex<Box<dyn Write + Send>>, text: &str) -> Result<()> {
    let mut out = out.lock().expect("console output lock");
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("console sink", e))
}

impl<R: Row> Sink<R> for ConsoleSink {
    fn description(&self) -> String {
        "org.apache.spark.sql.execution.streaming.ConsoleTable$".to_string()
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        let rows: Vec<Vec<Value>> = batch
            .rows
            .iter()
            .take(self.num_rows + 1)
            .map(Row::to_values)
            .collect();
        let text = self.batch_text(batch.batch_id, &R::SCHEMA.names(), &rows, batch.rows.len());
        print(&self.out, &text)
    }
}

impl<R: Row> ContinuousSink<R> for ConsoleSink {
    /// Keeps the rows the epoch's table shows, and counts the others.
    fn write_rows(&mut self, rows: &mut Vec<R>) -> Result<()> {
        let room = (self.num_rows + 1).saturating_sub(self.epoch_rows.len());
        self.epoch_rows
            .extend(rows.iter().take(room).map(Row::to_values));
        self.epoch_total += rows.len();
        rows.clear();
        Ok(())
    }

    /// The epoch's table, printed once the epoch's offsets are logged.
    fn end_epoch(&mut self, epoch: u64) -> Result<EpochCommit> {
        let rows = std::mem::take(&mut self.epoch_rows);
        let total = std::mem::take(&mut self.epoch_total);
        let text = self.batch_text(epoch, &R::SCHEMA.names(), &rows, total);
        let out = Arc::clone(&self.out);
        Ok(EpochCommit::new(async move { print(&out, &text) }))
    }
}

/// Whether Spark counts a character as two columns wide (its `Utils.fullWidthRegex`).
fn is_full_width(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19
        | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

fn half_width(s: &str) -> usize {
    s.chars()
        .map(|c| if is_full_width(c) { 2 } else { 1 })
        .sum()
}

/// Spark's `escapeMetaCharacters`: control characters in a cell are shown escaped.
fn escape_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{000C}' => out.push_str("\\f"),
            '\u{0008}' => out.push_str("\\b"),
            '\u{000B}' => out.push_str("\\v"),
            '\u{0007}' => out.push_str("\\a"),
            c => out.push(c),
        }
    }
    out
}

fn truncate_cell(s: String, truncate: usize) -> String {
    if truncate > 0 && s.chars().count() > truncate {
        // Spark shows no ellipsis when truncating to fewer than 4 characters.
        if truncate < 4 {
            s.chars().take(truncate).collect()
        } else {
            let mut cut: String = s.chars().take(truncate - 3).collect();
            cut.push_str("...");
            cut
        }
    } else {
        s
    }
}

/// Spark's `Dataset.showString(numRows, truncate)`: the `+---+` table of `rows` under
/// `names`. `total` is the number of rows there are; when it exceeds `num_rows` the table ends
/// with "only showing top N rows". `truncate` is 0 for whole cells, left-aligned, or the
/// maximum cell width, right-aligned.
///
/// ```
/// use sluice::sink::console::show_string;
/// use sluice::value::Value;
/// let rows = vec![vec![Value::String("a".into()), Value::Long(2)]];
/// assert_eq!(
///     show_string(&["key", "count"], &rows, 1, 20, 20),
///     "+---+-----+\n|key|count|\n+---+-----+\n|  a|    2|\n+---+-----+\n"
/// );
/// ```
pub fn show_string(
    names: &[&str],
    rows: &[Vec<Value>],
    total: usize,
    num_rows: usize,
    truncate: usize,
) -> String {
    let shown = rows.len().min(num_rows);
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(shown + 1);
    cells.push(
        names
            .iter()
            .map(|n| truncate_cell(escape_meta(n), truncate))
            .collect(),
    );
    for row in &rows[..shown] {
        cells.push(
            row.iter()
                .map(|v| truncate_cell(escape_meta(&v.to_string()), truncate))
                .collect(),
        );
    }
    let mut widths = vec![3usize; names.len()];
    for row in &cells {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(half_width(cell));
        }
    }
    let mut sep = String::from("+");
    for w in &widths {
        sep.push_str(&"-".repeat(*w));
        sep.push('+');
    }
    sep.push('\n');
    let line = |row: &Vec<String>| {
        let mut s = String::from("|");
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - half_width(cell));
            if truncate > 0 {
                s.push_str(&pad);
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&pad);
            }
            s.push('|');
        }
        s.push('\n');
        s
    };
    let mut out = sep.clone();
    out.push_str(&line(&cells[0]));
    out.push_str(&sep);
    for row in &cells[1..] {
        out.push_str(&line(row));
    }
    out.push_str(&sep);
    if total > num_rows {
        let noun = if num_rows == 1 { "row" } else { "rows" };
        out.push_str(&format!("only showing top {num_rows} {noun}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Timestamp, Window};

    #[test]
    fn left_aligned_without_truncation() {
        // From the Spark oracle (keyed_agg_complete, batch 0, truncate = false).
        let rows = vec![
            vec![
                Value::String("c".into()),
                Value::Long(2),
                Value::Double(16.25),
                Value::Double(7.5),
            ],
            vec![
                Value::String("a".into()),
                Value::Long(2),
                Value::Double(15.0),
                Value::Double(10.0),
            ],
        ];
        assert_eq!(
            show_string(&["key", "count", "avg", "min"], &rows, 2, 20, 0),
            "+---+-----+-----+----+\n\
             |key|count|avg  |min |\n\
             +---+-----+-----+----+\n\
             |c  |2    |16.25|7.5 |\n\
             |a  |2    |15.0 |10.0|\n\
             +---+-----+-----+----+\n"
        );
    }

    #[test]
    fn empty_table_and_window_struct() {
        assert_eq!(
            show_string(&["window", "key", "count", "avg"], &[], 0, 20, 0),
            "+------+---+-----+---+\n|window|key|count|avg|\n+------+---+-----+---+\n+------+---+-----+---+\n"
        );
        let start = Timestamp::parse("2024-01-01T10:00:00Z")
            .unwrap()
            .as_micros();
        let rows = vec![vec![
            Value::Window(Window::new(start, 10_000_000)),
            Value::Null,
        ]];
        let text = show_string(&["window", "key"], &rows, 1, 20, 0);
        assert!(
            text.contains("|{2024-01-01 10:00:00, 2024-01-01 10:00:10}|NULL|"),
            "{text}"
        );
    }

    #[test]
    fn truncation_and_row_limit() {
        let long = "x".repeat(30);
        let rows: Vec<Vec<Value>> = (0..3).map(|_| vec![Value::String(long.clone())]).collect();
        let text = show_string(&["v"], &rows, 3, 2, 20);
        assert_eq!(
            text,
            "+--------------------+\n\
             |                   v|\n\
             +--------------------+\n\
             |xxxxxxxxxxxxxxxxx...|\n\
             |xxxxxxxxxxxxxxxxx...|\n\
             +--------------------+\n\
             only showing top 2 rows\n"
        );
        assert!(show_string(&["v"], &rows, 3, 1, 20).ends_with("only showing top 1 row\n"));
        assert_eq!(truncate_cell("abcdef".into(), 3), "abc");
    }

    #[test]
    fn escapes_and_wide_characters() {
        let rows = vec![
            vec![Value::String("a\tb".into())],
            vec![Value::String("日本".into())],
        ];
        let text = show_string(&["s"], &rows, 2, 20, 0);
        assert!(text.contains("|a\\tb|"), "{text}");
        assert!(text.contains("|日本|"), "{text}");
        assert!(text.starts_with("+----+\n"), "{text}");
    }
}
