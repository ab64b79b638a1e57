//! `foreach`: a writer receives every row (Spark's `ForeachWriter`), with either kind of
//! trigger.
//!
//! Spark calls `open(partitionId, epochId)` once per partition of each batch (micro-batch) or
//! epoch (continuous), `process(row)` for each of its rows, and `close(error)` at its end. A
//! Sluice query reads one partition, so the writer is opened with partition 0 and the batch id
//! or epoch id. With a continuous trigger each row reaches `process` as soon as the pipeline
//! emitted it, and `close` ends the epoch: once it returned, the epoch may commit, so a writer
//! that buffers must flush there.

use crate::continuous::{ContinuousSink, EpochCommit};
use crate::error::{Error, Result};
use crate::row::Row;

use super::{Sink, SinkBatch};

/// What a [`ForeachWriter`] may fail with: any error (its text is the query's exception).
pub type ForeachError = Box<dyn std::error::Error + Send + Sync>;

/// Spark's `ForeachWriter`: writes rows one at a time.
///
/// Only [`process`](Self::process) is required. Any `FnMut(R)` closure is a writer that
/// processes every row.
///
/// ```
/// use sluice::row::RateRow;
/// use sluice::sink::foreach::{ForeachError, ForeachWriter};
///
/// /// Appends each value to a list, skipping epochs already written.
/// struct Values { written_up_to: Option<u64>, values: Vec<i64> }
///
/// impl ForeachWriter<RateRow> for Values {
///     fn open(&mut self, _partition_id: u64, epoch_id: u64) -> Result<bool, ForeachError> {
///         // A batch or epoch re-run after a restart comes with the same id.
///         Ok(self.written_up_to.is_none_or(|w| epoch_id > w))
///     }
///     fn process(&mut self, row: RateRow) -> Result<(), ForeachError> {
///         self.values.push(row.value);
///         Ok(())
///     }
/// }
/// ```
pub trait ForeachWriter<R>: Send + 'static {
    /// A batch (micro-batch) or epoch (continuous) `epoch_id` of partition `partition_id`
    /// starts. `Ok(false)` skips its rows: `process` is not called for them (a writer that
    /// knows it wrote them before). The default processes every row.
    fn open(&mut self, partition_id: u64, epoch_id: u64) -> Result<bool, ForeachError> {
        let _ = (partition_id, epoch_id);
        Ok(true)
    }

    /// One row. An error fails the query (after `close` with the error).
    fn process(&mut self, row: R) -> Result<(), ForeachError>;

    /// The batch or epoch ended: `None` if every row was processed, else the error that stops
    /// the query. The default does nothing.
    fn close(&mut self, error: Option<&Error>) {
        let _ = error;
    }
}

impl<R, F: FnMut(R) + Send + 'static> ForeachWriter<R> for F {
    fn process(&mut self, row: R) -> Result<(), ForeachError> {
        self(row);
        Ok(())
    }
}

/// Hands every row to a [`ForeachWriter`] (Spark's `writeStream.foreach(writer)`).
pub struct ForeachSink<W> {
    writer: W,
    /// Whether the batch or epoch open now processes its rows (`open` said so).
    processing: bool,
}

impl<W> std::fmt::Debug for ForeachSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeachSink")
    }
}

impl<W> ForeachSink<W> {
    /// A sink handing every row to `writer`.
    pub fn new(writer: W) -> Self {
        ForeachSink {
            writer,
            processing: false,
        }
    }
}

fn writer_error(e: ForeachError) -> Error {
    Error::Sink {
        sink_name: "ForeachSink".into(),
        message: e.to_string(),
    }
}

impl<W> ForeachSink<W> {
    fn open<R>(&mut self, id: u64) -> Result<()>
    where
        W: ForeachWriter<R>,
    {
        self.processing = self.writer.open(0, id).map_err(writer_error)?;
        Ok(())
    }

    /// Processes `rows` if the writer wants them; on an error, closes the writer with it.
    fn process<R>(&mut self, rows: impl Iterator<Item = R>) -> Result<()>
    where
        W: ForeachWriter<R>,
    {
        if !self.processing {
            return Ok(());
        }
        for row in rows {
            if let Err(e) = self.writer.process(row) {
                let error = writer_error(e);
                self.writer.close(Some(&error));
                self.processing = false;
                return Err(error);
            }
        }
        Ok(())
    }
}

impl<R: Row, W: ForeachWriter<R>> Sink<R> for ForeachSink<W> {
    fn description(&self) -> String {
        "ForeachSink".to_string()
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        self.open(batch.batch_id)?;
        self.process(batch.rows.into_iter())?;
        self.writer.close(None);
        Ok(())
    }
}

impl<R: Row, W: ForeachWriter<R>> ContinuousSink<R> for ForeachSink<W> {
    fn begin_epoch(&mut self, epoch: u64) -> Result<()> {
        self.open(epoch)
    }

    fn write_rows(&mut self, rows: &mut Vec<R>) -> Result<()> {
        let result = self.process(rows.drain(..));
        rows.clear();
        result
    }

    /// Closes the writer: the epoch's rows were processed as they came.
    fn end_epoch(&mut self, _epoch: u64) -> Result<EpochCommit> {
        self.writer.close(None);
        Ok(EpochCommit::done())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::OutputMode;
    use crate::row::RateRow;
    use crate::time::Timestamp;
    use std::sync::{Arc, Mutex};

    /// Records every call, and fails on the value it is told to.
    struct Recorder {
        calls: Arc<Mutex<Vec<String>>>,
        fail_on: Option<i64>,
        skip_epoch: Option<u64>,
    }

    impl ForeachWriter<RateRow> for Recorder {
        fn open(&mut self, partition_id: u64, epoch_id: u64) -> Result<bool, ForeachError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("open {partition_id} {epoch_id}"));
            Ok(self.skip_epoch != Some(epoch_id))
        }
        fn process(&mut self, row: RateRow) -> Result<(), ForeachError> {
            if self.fail_on == Some(row.value) {
                return Err(format!("cannot write {}", row.value).into());
            }
            self.calls
                .lock()
                .unwrap()
                .push(format!("process {}", row.value));
            Ok(())
        }
        fn close(&mut self, error: Option<&Error>) {
            self.calls.lock().unwrap().push(match error {
                None => "close".to_string(),
                Some(e) => format!("close {e}"),
            });
        }
    }

    fn rows(values: &[i64]) -> Vec<RateRow> {
        values
            .iter()
            .map(|&value| RateRow {
                timestamp: Timestamp::EPOCH,
                value,
            })
            .collect()
    }

    fn recorder(
        fail_on: Option<i64>,
        skip_epoch: Option<u64>,
    ) -> (Recorder, Arc<Mutex<Vec<String>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let writer = Recorder {
            calls: Arc::clone(&calls),
            fail_on,
            skip_epoch,
        };
        (writer, calls)
    }

    #[tokio::test]
    async fn micro_batches_open_process_and_close() {
        let (writer, calls) = recorder(Some(9), Some(1));
        let mut sink = ForeachSink::new(writer);
        for (batch_id, values) in [(0, vec![1, 2]), (1, vec![3]), (2, vec![4, 9, 5])] {
            let result = Sink::add_batch(
                &mut sink,
                SinkBatch {
                    batch_id,
                    rows: rows(&values),
                    output_mode: OutputMode::Append,
                },
            )
            .await;
            if batch_id == 2 {
                assert_eq!(
                    result.unwrap_err().to_string(),
                    "sink ForeachSink: cannot write 9"
                );
            } else {
                result.unwrap();
            }
        }
        assert_eq!(
            *calls.lock().unwrap(),
            [
                "open 0 0",
                "process 1",
                "process 2",
                "close",
                // `open` said no to batch 1: its row is skipped.
                "open 0 1",
                "close",
                "open 0 2",
                "process 4",
                "close sink ForeachSink: cannot write 9",
            ]
        );
    }

    #[test]
    fn epochs_process_rows_as_they_come() {
        let (writer, calls) = recorder(None, None);
        let mut sink = ForeachSink::new(writer);
        ContinuousSink::<RateRow>::begin_epoch(&mut sink, 7).unwrap();
        let mut first = rows(&[1]);
        sink.write_rows(&mut first).unwrap();
        assert!(first.is_empty(), "the rows are taken");
        assert_eq!(*calls.lock().unwrap(), ["open 0 7", "process 1"]);
        sink.write_rows(&mut rows(&[2, 3])).unwrap();
        ContinuousSink::<RateRow>::end_epoch(&mut sink, 7).unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            ["open 0 7", "process 1", "process 2", "process 3", "close"]
        );
    }

    #[test]
    fn a_closure_is_a_writer() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let mut sink = ForeachSink::new(move |row: RateRow| s.lock().unwrap().push(row.value));
        ContinuousSink::<RateRow>::begin_epoch(&mut sink, 0).unwrap();
        sink.write_rows(&mut rows(&[5, 6])).unwrap();
        assert_eq!(*seen.lock().unwrap(), [5, 6]);
    }
}
