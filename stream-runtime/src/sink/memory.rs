//! The memory sink: a named in-memory table the program can read while the query runs
//! (Spark's `format("memory").queryName("t")` and `spark.sql("SELECT * FROM t")`).

use std::any::Any;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::continuous::{ContinuousSink, EpochCommit};
use crate::error::{Error, Result};
use crate::pipeline::OutputMode;
use crate::row::Row;
use crate::value::Value;

use super::console::show_string;
use super::{Sink, SinkBatch, SinkContext};

/// The rows a memory sink holds: the whole result (complete mode) or every row emitted so far
/// (append and update mode). Cheap to clone; clones share the table.
#[derive(Debug)]
pub struct MemoryTable<R> {
    rows: Arc<RwLock<Vec<R>>>,
    last_batch: Arc<Mutex<Option<u64>>>,
}

impl<R> Clone for MemoryTable<R> {
    fn clone(&self) -> Self {
        MemoryTable {
            rows: Arc::clone(&self.rows),
            last_batch: Arc::clone(&self.last_batch),
        }
    }
}

impl<R: Row> Default for MemoryTable<R> {
    fn default() -> Self {
        MemoryTable {
            rows: Arc::new(RwLock::new(Vec::new())),
            last_batch: Arc::new(Mutex::new(None)),
        }
    }
}

impl<R: Row> MemoryTable<R> {
    /// A copy of the rows.
    pub fn rows(&self) -> Vec<R> {
        self.rows.read().expect("memory table lock").clone()
    }

    /// The rows sorted by `compare` (e.g. `ORDER BY room_name`).
    pub fn rows_sorted_by(&self, compare: impl FnMut(&R, &R) -> Ordering) -> Vec<R> {
        let mut rows = self.rows();
        rows.sort_by(compare);
        rows
    }

    /// The rows sorted by a key (e.g. `|r| r.room_name.clone()`).
    pub fn rows_sorted_by_key<K: Ord>(&self, key: impl FnMut(&R) -> K) -> Vec<R> {
        let mut rows = self.rows();
        rows.sort_by_key(key);
        rows
    }

    /// The rows sorted by a column, Spark's `ORDER BY column` (nulls first, NaN last).
    pub fn rows_sorted_by_column(&self, column: &str) -> Result<Vec<R>> {
        let index = R::SCHEMA.index_of(column).ok_or_else(|| {
            Error::Analysis(format!(
                "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `{column}` cannot be resolved. Did you mean one of the following? [{}]",
                R::SCHEMA.names().join(", ")
            ))
        })?;
        let mut keyed: Vec<(Value, R)> = self
            .rows()
            .into_iter()
            .map(|r| (r.to_values().swap_remove(index), r))
            .collect();
        keyed.sort_by(|a, b| a.0.spark_cmp(&b.0));
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.read().expect("memory table lock").len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id of the last batch written, if any.
    pub fn last_batch_id(&self) -> Option<u64> {
        *self.last_batch.lock().expect("memory table lock")
    }

    /// Spark's `show(numRows, truncate)` of the given rows, as text.
    pub fn show_rows_string(rows: &[R], num_rows: usize, truncate: bool) -> String {
        let names = R::SCHEMA.names();
        let values: Vec<Vec<Value>> = rows.iter().take(num_rows + 1).map(Row::to_values).collect();
        show_string(
            &names,
            &values,
            rows.len(),
            num_rows,
            if truncate { 20 } else { 0 },
        )
    }

    /// Prints the table as Spark's `show(truncate = false)` does, followed by an empty line
    /// (`println(showString(...))`).
    pub fn show(&self) {
        println!("{}", Self::show_rows_string(&self.rows(), 20, false));
    }

    fn apply(&self, batch: SinkBatch<R>) {
        let mut last = self.last_batch.lock().expect("memory table lock");
        // A batch re-run after a restart is not added twice.
        if last.is_some_and(|l| batch.batch_id <= l) {
            return;
        }
        let mut rows = self.rows.write().expect("memory table lock");
        match batch.output_mode {
            OutputMode::Complete => *rows = batch.rows,
            OutputMode::Append | OutputMode::Update => rows.extend(batch.rows),
        }
        *last = Some(batch.batch_id);
    }
}

type Registry = Mutex<HashMap<String, Box<dyn Any + Send + Sync>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The memory table a query named `name` writes, if one with rows of type `R` exists.
///
/// ```no_run
/// # use sluice::row::RateRow;
/// let table = sluice::sink::memory::table::<RateRow>("rates").expect("query started");
/// for row in table.rows_sorted_by_key(|r| r.value) { println!("{row:?}"); }
/// ```
pub fn table<R: Row>(name: &str) -> Option<MemoryTable<R>> {
    let registry = registry().lock().expect("memory table registry");
    registry
        .get(name)
        .and_then(|t| t.downcast_ref::<MemoryTable<R>>())
        .cloned()
}

/// Writes each batch into a [`MemoryTable`]. Spark requires a query name for the memory sink;
/// the table is registered under it, so [`table`] finds it by name.
///
/// With a continuous trigger an epoch's rows are added to the table when the epoch commits,
/// as Spark's memory sink adds them (every interval, not row by row).
#[derive(Debug)]
pub struct MemorySink<R> {
    table: MemoryTable<R>,
    /// The rows of the epoch in progress (continuous queries).
    epoch_rows: Vec<R>,
}

impl<R: Row> Default for MemorySink<R> {
    fn default() -> Self {
        MemorySink::new()
    }
}

impl<R: Row> MemorySink<R> {
    /// A sink with a fresh table.
    pub fn new() -> Self {
        MemorySink {
            table: MemoryTable::default(),
            epoch_rows: Vec::new(),
        }
    }

    /// The table this sink writes (readable while the query runs).
    pub fn table(&self) -> MemoryTable<R> {
        self.table.clone()
    }
}

impl<R: Row> Sink<R> for MemorySink<R> {
    fn description(&self) -> String {
        "MemorySink".to_string()
    }

    fn open(&mut self, ctx: &SinkContext) -> Result<()> {
        let name = ctx
            .query_name
            .clone()
            .ok_or_else(|| Error::Analysis("queryName must be specified for memory sink".into()))?;
        registry()
            .lock()
            .expect("memory table registry")
            .insert(name, Box::new(self.table.clone()));
        Ok(())
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        self.table.apply(batch);
        Ok(())
    }
}

impl<R: Row> ContinuousSink<R> for MemorySink<R> {
    fn write_rows(&mut self, rows: &mut Vec<R>) -> Result<()> {
        self.epoch_rows.append(rows);
        Ok(())
    }

    /// The epoch's rows, added to the table as batch `epoch` once the epoch's offsets are
    /// logged.
    fn end_epoch(&mut self, epoch: u64) -> Result<EpochCommit> {
        let rows = std::mem::take(&mut self.epoch_rows);
        let table = self.table.clone();
        Ok(EpochCommit::new(async move {
            table.apply(SinkBatch {
                batch_id: epoch,
                rows,
                output_mode: OutputMode::Append,
            });
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::RateRow;
    use crate::time::Timestamp;

    fn rows(values: &[i64]) -> Vec<RateRow> {
        values
            .iter()
            .map(|&value| RateRow {
                timestamp: Timestamp::EPOCH,
                value,
            })
            .collect()
    }

    #[tokio::test]
    async fn complete_replaces_append_adds_and_reruns_are_ignored() {
        let mut sink = MemorySink::<RateRow>::new();
        sink.open(&SinkContext::new(
            Some("memory_sink_test".into()),
            OutputMode::Complete,
        ))
        .unwrap();
        let table = table::<RateRow>("memory_sink_test").unwrap();
        sink.add_batch(SinkBatch {
            batch_id: 0,
            rows: rows(&[3, 1]),
            output_mode: OutputMode::Complete,
        })
        .await
        .unwrap();
        sink.add_batch(SinkBatch {
            batch_id: 1,
            rows: rows(&[2]),
            output_mode: OutputMode::Complete,
        })
        .await
        .unwrap();
        assert_eq!(table.rows(), rows(&[2]));
        sink.add_batch(SinkBatch {
            batch_id: 2,
            rows: rows(&[5, 4]),
            output_mode: OutputMode::Append,
        })
        .await
        .unwrap();
        sink.add_batch(SinkBatch {
            batch_id: 2,
            rows: rows(&[5, 4]),
            output_mode: OutputMode::Append,
        })
        .await
        .unwrap();
        assert_eq!(table.rows_sorted_by_key(|r| r.value), rows(&[2, 4, 5]));
        assert_eq!(
            table.rows_sorted_by_column("value").unwrap(),
            rows(&[2, 4, 5])
        );
        assert!(table.rows_sorted_by_column("nope").is_err());
        assert_eq!(table.last_batch_id(), Some(2));
        assert!(
            super::table::<crate::row::TextLine>("memory_sink_test").is_none(),
            "wrong row type"
        );
    }

    #[test]
    fn needs_a_query_name() {
        let mut sink = MemorySink::<RateRow>::new();
        let err = sink
            .open(&SinkContext::new(None, OutputMode::Append))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "queryName must be specified for memory sink"
        );
    }
}
