//! The handle of a running query (Spark's `StreamingQuery`): identity, status, progress,
//! errors, `stop` and `await_termination`.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::Error;
use crate::explain::QueryExplanation;
use crate::listener::{
    NO_DATA_PROGRESS_EVENT_INTERVAL, QueryEvent, QueryIdleEvent, QueryProgressEvent,
};
use crate::manager::streams;
use crate::progress::{BacklogProgress, ProgressTotals, QueryStatus, StreamingQueryProgress};
use crate::source::Backlog;
use crate::time::Timestamp;

/// How many progress reports a query keeps (Spark's `numRecentProgressUpdates` default).
pub const RECENT_PROGRESS: usize = 100;

/// The error a failed query terminated with (Spark's `StreamingQueryException`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("query {name} terminated with exception: {cause}")]
pub struct StreamingQueryException {
    /// The query's name, or its id.
    pub name: String,
    /// What went wrong.
    pub cause: Arc<Error>,
}

/// State shared between a query's task and its handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: Uuid,
    pub(crate) run_id: Uuid,
    pub(crate) name: Option<String>,
    pub(crate) explanation: QueryExplanation,
    /// The query's processing-time clock, and when on it the query started.
    pub(crate) clock: Clock,
    pub(crate) started_at: Timestamp,
    stop: AtomicBool,
    pub(crate) wake: Notify,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    all_available_requests: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    status: QueryStatus,
    recent: VecDeque<Arc<StreamingQueryProgress>>,
    exception: Option<Arc<Error>>,
    terminated: bool,
    /// Set after `terminated`, once the manager and the listeners were told: what the handle's
    /// waits wait for.
    settled: bool,
    all_available_served: u64,
    totals: ProgressTotals,
    /// The backlog when an available-now run started: its total.
    available_now_backlog: Option<Backlog>,
    /// When the query last ran a batch or reported idle (Spark's
    /// `lastNoExecutionProgressEventTime`): idle events are paced from it.
    last_activity: Option<Timestamp>,
    /// When the run terminated, on its clock.
    terminated_at: Option<Timestamp>,
}

/// One consistent reading of a query run, for the live page and `/metrics`.
#[cfg(feature = "ui")]
#[derive(Debug, Clone)]
pub(crate) struct RunSnapshot {
    pub(crate) status: QueryStatus,
    pub(crate) last: Option<Arc<StreamingQueryProgress>>,
    pub(crate) totals: ProgressTotals,
    pub(crate) exception: Option<Arc<Error>>,
    /// When the run terminated (`None` while it is active).
    pub(crate) terminated_at: Option<Timestamp>,
}

impl Shared {
    pub(crate) fn new(
        id: Uuid,
        name: Option<String>,
        explanation: QueryExplanation,
        clock: Clock,
    ) -> Arc<Self> {
        Arc::new(Shared {
            id,
            run_id: Uuid::new_v4(),
            name,
            explanation,
            clock,
            started_at: clock.now(),
            stop: AtomicBool::new(false),
            wake: Notify::new(),
            inner: Mutex::new(Inner {
                status: QueryStatus::new("Initializing sources"),
                recent: VecDeque::new(),
                exception: None,
                terminated: false,
                settled: false,
                all_available_served: 0,
                totals: ProgressTotals::default(),
                available_now_backlog: None,
                last_activity: None,
                terminated_at: None,
            }),
            changed: watch::channel(0).0,
            all_available_requests: AtomicU64::new(0),
        })
    }

    fn update<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let out = f(&mut self.inner.lock().expect("query state lock"));
        self.changed.send_modify(|v| *v += 1);
        out
    }

    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.inner.lock().expect("query state lock"))
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub(crate) fn set_status(&self, message: &str, data_available: bool, trigger_active: bool) {
        self.update(|i| {
            i.status = QueryStatus {
                message: message.to_string(),
                is_data_available: data_available,
                is_trigger_active: trigger_active,
            }
        });
    }

    pub(crate) fn record_progress(&self, p: StreamingQueryProgress) {
        let p = Arc::new(p);
        self.update(|i| {
            if i.recent.len() == RECENT_PROGRESS {
                i.recent.pop_front();
            }
            i.totals.add(&p);
            i.last_activity = Some(p.timestamp.plus_micros(p.batch_duration as i64 * 1000));
            i.recent.push_back(Arc::clone(&p));
        });
        streams()
            .bus()
            .post(|| QueryEvent::Progress(QueryProgressEvent { progress: p }));
    }

    /// A trigger that started at `now` found nothing to do: the listeners hear of it on the
    /// first such trigger, then at most every [`NO_DATA_PROGRESS_EVENT_INTERVAL`] since the
    /// last batch or idle event, as in Spark.
    pub(crate) fn record_idle(&self, now: Timestamp) {
        let bus = streams().bus();
        if !bus.has_listeners() {
            return;
        }
        let interval = NO_DATA_PROGRESS_EVENT_INTERVAL.as_micros() as i64;
        let due = {
            let mut inner = self.inner.lock().expect("query state lock");
            let due = inner
                .last_activity
                .is_none_or(|last| now.as_micros() - last.as_micros() >= interval);
            if due {
                inner.last_activity = Some(now);
            }
            due
        };
        if due {
            bus.post(|| {
                QueryEvent::Idle(QueryIdleEvent {
                    id: self.id,
                    run_id: self.run_id,
                    timestamp: now,
                })
            });
        }
    }

    /// An available-now run starts with this backlog: progress reports count against it.
    pub(crate) fn set_available_now_backlog(&self, backlog: Option<Backlog>) {
        self.inner
            .lock()
            .expect("query state lock")
            .available_now_backlog = backlog;
    }

    /// A source's backlog after a batch, for its progress report.
    pub(crate) fn backlog_progress(&self, backlog: Option<Backlog>) -> Option<BacklogProgress> {
        let backlog = backlog?;
        let inner = self.inner.lock().expect("query state lock");
        Some(BacklogProgress::new(
            backlog,
            inner.available_now_backlog.as_ref(),
        ))
    }

    /// Everything the live page and `/metrics` show of the run, read at once.
    #[cfg(feature = "ui")]
    pub(crate) fn snapshot(&self) -> RunSnapshot {
        self.read(|i| RunSnapshot {
            status: i.status.clone(),
            last: i.recent.back().cloned(),
            totals: i.totals.clone(),
            exception: i.exception.clone(),
            terminated_at: i
                .terminated
                .then(|| i.terminated_at.unwrap_or(self.started_at)),
        })
    }

    /// The number of `process_all_available` calls made so far.
    pub(crate) fn all_available_requested(&self) -> u64 {
        self.all_available_requests.load(Ordering::SeqCst)
    }

    /// A trigger that started after `requests` calls found no new data: they are served.
    pub(crate) fn all_available_served(&self, requests: u64) {
        self.update(|i| i.all_available_served = i.all_available_served.max(requests));
    }

    /// The run ended: it is no longer active, then the manager and the listeners are told,
    /// then `stop`, `await_termination` and `process_all_available` return (Spark's order: a
    /// program woken by the termination finds the manager up to date).
    pub(crate) fn terminate(self: &Arc<Self>, result: Result<(), Error>) {
        let now = self.clock.now();
        {
            let mut i = self.inner.lock().expect("query state lock");
            i.terminated = true;
            i.terminated_at = Some(now);
            match result {
                Ok(()) => i.status = QueryStatus::new("Stopped"),
                Err(e) => {
                    i.status = QueryStatus::new(&format!("Terminated with exception: {e}"));
                    i.exception = Some(Arc::new(e));
                }
            }
        }
        streams().terminated(self);
        self.update(|i| i.settled = true);
    }

    /// The error the run failed with, as the handle reports it.
    pub(crate) fn exception(&self) -> Option<StreamingQueryException> {
        self.read(|i| i.exception.clone())
            .map(|cause| self.exception_of(cause))
    }

    fn exception_of(&self, cause: Arc<Error>) -> StreamingQueryException {
        StreamingQueryException {
            name: self.name.clone().unwrap_or_else(|| self.id.to_string()),
            cause,
        }
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.read(|i| i.terminated)
    }

    async fn wait_for(&self, mut done: impl FnMut(&Inner) -> bool) {
        let mut rx = self.changed.subscribe();
        loop {
            if self.read(&mut done) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// A running (or finished) streaming query.
///
/// Dropping the handle does not stop the query, as in Spark; call [`StreamingQuery::stop`].
#[derive(Debug, Clone)]
pub struct StreamingQuery {
    pub(crate) shared: Arc<Shared>,
}

impl StreamingQuery {
    /// The query's id: stable across restarts from the same checkpoint.
    pub fn id(&self) -> Uuid {
        self.shared.id
    }

    /// This run's id: new at every start.
    pub fn run_id(&self) -> Uuid {
        self.shared.run_id
    }

    /// The name given with `query_name`.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Whether the query is still running (Spark's `isActive`).
    pub fn is_active(&self) -> bool {
        !self.shared.is_terminated()
    }

    /// What the query is doing now.
    pub fn status(&self) -> QueryStatus {
        self.shared.read(|i| i.status.clone())
    }

    /// The progress of the last batch (Spark's `lastProgress`).
    pub fn last_progress(&self) -> Option<Arc<StreamingQueryProgress>> {
        self.shared.read(|i| i.recent.back().cloned())
    }

    /// The progress of the last batches, oldest first, up to 100 (Spark's `recentProgress`).
    pub fn recent_progress(&self) -> Vec<Arc<StreamingQueryProgress>> {
        self.shared.read(|i| i.recent.iter().cloned().collect())
    }

    /// The error the query failed with, if it did (Spark's `exception()`).
    pub fn exception(&self) -> Option<StreamingQueryException> {
        self.shared.exception()
    }

    /// The query's plan, readable (Spark's `explain()`, which prints it; here
    /// `println!("{}", query.explain())`): source, sink, output mode, trigger, checkpoint,
    /// stateful operator, watermarks, and the compiled plan `pipeline!` fused.
    pub fn explain(&self) -> &QueryExplanation {
        &self.shared.explanation
    }

    /// When the query started, on its clock.
    pub fn start_timestamp(&self) -> Timestamp {
        self.shared.started_at
    }

    /// Stops the query: the batch in flight, if any, finishes (its output reaches the sink and
    /// it is committed), no new batch starts, and this returns once the query has terminated.
    pub async fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        self.shared.wait_for(|i| i.settled).await;
    }

    /// Waits until the query terminates; `Err` if it failed (Spark's `awaitTermination()`).
    pub async fn await_termination(&self) -> Result<(), StreamingQueryException> {
        self.shared.wait_for(|i| i.settled).await;
        match self.shared.read(|i| i.exception.clone()) {
            Some(cause) => Err(self.shared.exception_of(cause)),
            None => Ok(()),
        }
    }

    /// Waits at most `timeout`; `Ok(true)` if the query terminated, `Ok(false)` if it is still
    /// running (Spark's `awaitTermination(timeoutMs)`).
    pub async fn await_termination_timeout(
        &self,
        timeout: Duration,
    ) -> Result<bool, StreamingQueryException> {
        match tokio::time::timeout(timeout, self.await_termination()).await {
            Ok(result) => result.map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// Waits until everything the source has now is processed and committed (Spark's
    /// `processAllAvailable`, meant for tests); returns at once if the query terminated.
    pub async fn process_all_available(&self) -> Result<(), StreamingQueryException> {
        let ticket = self
            .shared
            .all_available_requests
            .fetch_add(1, Ordering::SeqCst)
            + 1;
        self.shared.wake.notify_one();
        self.shared
            .wait_for(|i| i.settled || i.all_available_served >= ticket)
            .await;
        match self.shared.read(|i| i.exception.clone()) {
            Some(cause) => Err(self.shared.exception_of(cause)),
            None => Ok(()),
        }
    }
}

/// Runs a query's future: on the current tokio runtime if there is one, else on a runtime
/// Sluice keeps for programs without one. A panic in the query becomes its exception.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    task: impl Future<Output = Result<(), Error>> + Send + 'static,
) {
    let handle = crate::async_runtime::handle();
    let inner = handle.spawn(task);
    handle.spawn(async move {
        let result = match inner.await {
            Ok(r) => r,
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Err(Error::Execution {
                    class: "INTERNAL_ERROR",
                    message: format!("the query panicked: {msg}"),
                })
            }
            Err(_) => Err(Error::Execution {
                class: "INTERNAL_ERROR",
                message: "the query task was cancelled".into(),
            }),
        };
        shared.terminate(result);
    });
}
