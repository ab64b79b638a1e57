//! `foreachBatch`: a closure receives each batch's id and rows.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;

use crate::error::{Error, Result};
use crate::row::Row;

use super::{Sink, SinkBatch};

/// What a `foreach_batch` closure may return: nothing, or a `Result` whose error fails the
/// query.
pub trait BatchOutcome {
    /// The outcome as a runtime result.
    fn into_result(self) -> Result<()>;
}

impl BatchOutcome for () {
    fn into_result(self) -> Result<()> {
        Ok(())
    }
}

impl<E: Display> BatchOutcome for std::result::Result<(), E> {
    fn into_result(self) -> Result<()> {
        self.map_err(|e| Error::Sink {
            sink_name: "ForeachBatchSink".into(),
            message: e.to_string(),
        })
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

enum Callback<R> {
    Sync(Box<dyn FnMut(u64, Vec<R>) -> Result<()> + Send>),
    Async(Box<dyn FnMut(u64, Vec<R>) -> BoxFuture + Send>),
}

/// Calls a closure with every batch (Spark's `foreachBatch`). The batch id lets the closure
/// stay idempotent: a batch re-run after a restart comes with the same id.
pub struct ForeachBatchSink<R> {
    callback: Callback<R>,
}

impl<R> std::fmt::Debug for ForeachBatchSink<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeachBatchSink")
    }
}

impl<R: Row> ForeachBatchSink<R> {
    /// A sink calling `f(batch_id, rows)`; `f` returns `()` or a `Result`.
    pub fn new<O: BatchOutcome>(mut f: impl FnMut(u64, Vec<R>) -> O + Send + 'static) -> Self {
        ForeachBatchSink {
            callback: Callback::Sync(Box::new(move |id, rows| f(id, rows).into_result())),
        }
    }

    /// A sink awaiting `f(batch_id, rows)`.
    pub fn new_async<F, O>(mut f: impl FnMut(u64, Vec<R>) -> F + Send + 'static) -> Self
    where
        F: Future<Output = O> + Send + 'static,
        O: BatchOutcome,
    {
        ForeachBatchSink {
            callback: Callback::Async(Box::new(move |id, rows| {
                let fut = f(id, rows);
                Box::pin(async move { fut.await.into_result() })
            })),
        }
    }
}

impl<R: Row> Sink<R> for ForeachBatchSink<R> {
    fn description(&self) -> String {
        "ForeachBatchSink".to_string()
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        match &mut self.callback {
            Callback::Sync(f) => f(batch.batch_id, batch.rows),
            Callback::Async(f) => f(batch.batch_id, batch.rows).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::OutputMode;
    use crate::row::RateRow;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn sync_async_and_errors() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let mut sink = ForeachBatchSink::<RateRow>::new(move |id, rows| {
            s.lock().unwrap().push((id, rows.len()))
        });
        sink.add_batch(SinkBatch {
            batch_id: 7,
            rows: vec![],
            output_mode: OutputMode::Append,
        })
        .await
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![(7, 0)]);

        let mut failing = ForeachBatchSink::<RateRow>::new(|_, _| Err::<(), _>("disk full"));
        let err = failing
            .add_batch(SinkBatch {
                batch_id: 0,
                rows: vec![],
                output_mode: OutputMode::Append,
            })
            .await;
        assert_eq!(
            err.unwrap_err().to_string(),
            "sink ForeachBatchSink: disk full"
        );

        let mut async_sink = ForeachBatchSink::<RateRow>::new_async(|id, _| async move {
            tokio::task::yield_now().await;
            if id == 1 { Err("boom") } else { Ok(()) }
        });
        assert!(
            async_sink
                .add_batch(SinkBatch {
                    batch_id: 0,
                    rows: vec![],
                    output_mode: OutputMode::Append
                })
                .await
                .is_ok()
        );
        assert!(
            async_sink
                .add_batch(SinkBatch {
                    batch_id: 1,
                    rows: vec![],
                    output_mode: OutputMode::Append
                })
                .await
                .is_err()
        );
    }
}
