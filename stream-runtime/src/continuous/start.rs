//! `start()` with a continuous trigger, after the same preparation as a micro-batch query
//! (checkpoint, sink, source, the handle's state): the task's thread and the coordinator.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::manager::streams;
use crate::pipeline::Pipeline;
use crate::query::{StreamingQuery, spawn};
use crate::writer::Prepared;

use super::coordinator::Coordinator;
use super::sink::ContinuousSink;
use super::source::ContinuousSource;
use super::task::{EPOCH_BACKLOG, Task};

/// Runs a prepared query continuously: the task's thread reads the source, runs the pipeline
/// and writes to the sink as rows arrive; the coordinator commits an epoch every `interval`.
/// With a checkpoint the query resumes after its last committed epoch.
pub(crate) fn start<P, S, K>(
    prepared: Prepared<P, S, K>,
    interval: Duration,
) -> Result<StreamingQuery>
where
    P: Pipeline,
    S: ContinuousSource<Row = P::Input>,
    K: ContinuousSink<P::Output>,
{
    let Prepared {
        pipeline,
        mut source,
        sink,
        mode,
        clock,
        shared,
        checkpoint,
        recovery,
        // Rows are processed one poll at a time on the query's own task: no worker threads,
        // and the pipeline is stateless, so no state partitions either.
        executor: _,
        state_partitions: _,
    } = prepared;
    // At least once, as Spark: resume after the last committed epoch; an epoch whose offsets
    // were logged but which did not commit is read again (its id too).
    let (epoch, start) = match &recovery.committed {
        Some((offsets, _)) => (
            offsets.batch_id + 1,
            Some(position::<S::Position>(
                checkpoint.as_ref(),
                offsets.batch_id,
                &offsets.end,
            )?),
        ),
        None => (0, None),
    };
    if let Some(pending) = &recovery.pending {
        tracing::info!(
            "epoch {} of query {} did not commit before the query stopped: its rows are read again",
            pending.batch_id,
            P::INFO.name
        );
    }
    let reader = source.continuous_reader(start.as_ref(), clock)?;
    let (events, events_rx) = mpsc::channel(EPOCH_BACKLOG);
    let (committed, committed_rx) = std_mpsc::channel();
    let halt = Arc::new(AtomicBool::new(false));
    let coordinator = Coordinator {
        shared: Arc::clone(&shared),
        checkpoint,
        source_description: source.description(),
        sink_description: sink.description(),
        committed,
    };
    let task = Task {
        pipeline,
        reader,
        sink,
        mode,
        interval,
        clock,
        shared: Arc::clone(&shared),
        halt: Arc::clone(&halt),
        epoch,
        start,
        events,
        committed: committed_rx,
    };
    let thread = std::thread::Builder::new()
        .name(format!("sluice-continuous-{}", P::INFO.name))
        .spawn(move || task.run())
        .map_err(|e| Error::io("the continuous query's thread", e))?;
    shared.set_status("Running", false, true);
    // Listed by the process's manager, whose listeners hear of the start now.
    streams().register(&shared);
    spawn(Arc::clone(&shared), async move {
        let result = coordinator.run(events_rx, halt, thread).await;
        // Dropped only now: the socket source's reading task lives as long as it does.
        source.stop();
        result
    });
    Ok(StreamingQuery { shared })
}

/// The recorded end of epoch `epoch` as a position of the source, or an error saying the
/// checkpoint was written by a micro-batch query whose offsets differ (the rate source's count
/// seconds there, rows here).
fn position<O: crate::source::Offset>(
    checkpoint: Option<&Checkpoint>,
    epoch: u64,
    end: &serde_json::Value,
) -> Result<O> {
    serde_json::from_value(end.clone()).map_err(|e| Error::Checkpoint {
        path: checkpoint
            .map(|c| c.dir().join("offsets").join(epoch.to_string()))
            .unwrap_or_default(),
        message: format!(
            "batch {epoch} ended at {end}, which is not a position of this source in continuous execution ({e}): the checkpoint was written by a micro-batch run, whose offsets this source counts differently. Use a new checkpoint location"
        ),
    })
}
