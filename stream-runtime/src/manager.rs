//! The queries of the process (Spark's `StreamingQueryManager`, `spark.streams`): every query
//! started registers here, so a program, the live page and `/metrics` can list them, find one
//! by id, wait for any to terminate, and add listeners.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use crate::listener::{
    ListenerBus, QueryEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener,
};
use crate::query::{Shared, StreamingQuery, StreamingQueryException};

/// How many terminated query runs the manager keeps for the live page and `/metrics` (Spark's
/// `spark.sql.streaming.ui.retainedQueries`); active queries are always kept.
pub const RETAINED_TERMINATED_QUERIES: usize = 100;

/// The process's query manager (Spark's `spark.streams`).
///
/// ```
/// let manager = stream_runtime::streams();
/// assert!(manager.get(uuid::Uuid::nil()).is_none());
/// ```
pub fn streams() -> &'static StreamingQueryManager {
    static MANAGER: OnceLock<StreamingQueryManager> = OnceLock::new();
    MANAGER.get_or_init(StreamingQueryManager::new)
}

/// Every query of the process: the active ones, the last
/// [`RETAINED_TERMINATED_QUERIES`] terminated runs, and the listeners (Spark's
/// `StreamingQueryManager`). There is one, [`streams()`].
#[derive(Debug)]
pub struct StreamingQueryManager {
    registry: Mutex<Registry>,
    /// Bumped at every termination, for `await_any_termination`.
    terminations: watch::Sender<u64>,
    bus: ListenerBus,
}

#[derive(Debug, Default)]
struct Registry {
    /// Query runs in the order they started.
    runs: Vec<Arc<Shared>>,
    /// Spark's `lastTerminatedQueryException`: `Some(None)` once a query stopped cleanly,
    /// `Some(Some(e))` once one failed (a failure is kept over later clean stops).
    last_terminated: Option<Option<StreamingQueryException>>,
}

impl StreamingQueryManager {
    fn new() -> Self {
        StreamingQueryManager {
            registry: Mutex::new(Registry::default()),
            terminations: watch::channel(0).0,
            bus: ListenerBus::new(),
        }
    }

    fn runs(&self) -> Vec<Arc<Shared>> {
        self.registry
            .lock()
            .expect("query manager lock")
            .runs
            .clone()
    }

    /// The queries running now (Spark's `active`), in the order they started.
    pub fn active(&self) -> Vec<StreamingQuery> {
        self.runs()
            .into_iter()
            .map(|shared| StreamingQuery { shared })
            .filter(StreamingQuery::is_active)
            .collect()
    }

    /// The active query with this id (Spark's `get`); `None` if no query with it is running.
    pub fn get(&self, id: Uuid) -> Option<StreamingQuery> {
        self.active().into_iter().rev().find(|q| q.id() == id)
    }

    /// Every query run the manager keeps, active or terminated, in the order they started:
    /// what the live page lists.
    pub fn queries(&self) -> Vec<StreamingQuery> {
        self.runs()
            .into_iter()
            .map(|shared| StreamingQuery { shared })
            .collect()
    }

    /// The run with this run id, else the latest run with this query id (active or not).
    pub fn find(&self, id_or_run_id: Uuid) -> Option<StreamingQuery> {
        let runs = self.runs();
        runs.iter()
            .find(|s| s.run_id == id_or_run_id)
            .or_else(|| runs.iter().rev().find(|s| s.id == id_or_run_id))
            .map(|shared| StreamingQuery {
                shared: Arc::clone(shared),
            })
    }

    /// Waits until a query has terminated since the process started or since
    /// [`reset_terminated`](Self::reset_terminated) (Spark's `awaitAnyTermination`): returns
    /// at once if one has, `Err` with a query's exception if any of those failed.
    pub async fn await_any_termination(&self) -> Result<(), StreamingQueryException> {
        let mut changed = self.terminations.subscribe();
        loop {
            let last = self
                .registry
                .lock()
                .expect("query manager lock")
                .last_terminated
                .clone();
            match last {
                Some(Some(e)) => return Err(e),
                Some(None) => return Ok(()),
                None => {}
            }
            if changed.changed().await.is_err() {
                return Ok(());
            }
        }
    }

    /// Waits at most `timeout` (Spark's `awaitAnyTermination(timeoutMs)`): `Ok(true)` if a
    /// query terminated, `Ok(false)` on timeout.
    pub async fn await_any_termination_timeout(
        &self,
        timeout: Duration,
    ) -> Result<bool, StreamingQueryException> {
        match tokio::time::timeout(timeout, self.await_any_termination()).await {
            Ok(result) => result.map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// Forgets the queries terminated so far, so `await_any_termination` waits for a new one
    /// (Spark's `resetTerminated`).
    pub fn reset_terminated(&self) {
        self.registry
            .lock()
            .expect("query manager lock")
            .last_terminated = None;
    }

    /// Adds a listener for the events of every query of the process (Spark's `addListener`);
    /// it sees the queries started from now on, and the next events of those running.
    pub fn add_listener(&self, listener: Arc<dyn StreamingQueryListener>) {
        self.bus.add(listener);
    }

    /// Removes a listener added before (the same `Arc`); returns whether it was there (Spark's
    /// `removeListener`). Events already queued may still reach it.
    pub fn remove_listener(&self, listener: &Arc<dyn StreamingQueryListener>) -> bool {
        self.bus.remove(listener)
    }

    /// The listeners added (Spark's `listListeners`).
    pub fn listeners(&self) -> Vec<Arc<dyn StreamingQueryListener>> {
        self.bus.listeners()
    }

    pub(crate) fn bus(&self) -> &ListenerBus {
        &self.bus
    }

    /// A query run starts: it is listed, and the listeners' `on_query_started` runs now.
    pub(crate) fn register(&self, shared: &Arc<Shared>) {
        self.registry
            .lock()
            .expect("query manager lock")
            .runs
            .push(Arc::clone(shared));
        self.bus.post_started(&QueryStartedEvent {
            id: shared.id,
            run_id: shared.run_id,
            name: shared.name.clone(),
            timestamp: shared.started_at,
        });
    }

    /// A query run terminated: `await_any_termination` returns, old runs are forgotten, and the
    /// listeners hear of it.
    pub(crate) fn terminated(&self, shared: &Arc<Shared>) {
        let exception = shared.exception();
        {
            let mut registry = self.registry.lock().expect("query manager lock");
            if exception.is_some() || registry.last_terminated.is_none() {
                registry.last_terminated = Some(exception.clone());
            }
            let terminated = registry.runs.iter().filter(|s| s.is_terminated()).count();
            let mut excess = terminated.saturating_sub(RETAINED_TERMINATED_QUERIES);
            registry.runs.retain(|s| {
                let drop = excess > 0 && s.is_terminated();
                excess -= usize::from(drop);
                !drop
            });
        }
        self.terminations.send_modify(|n| *n += 1);
        self.bus.post(|| {
            QueryEvent::Terminated(QueryTerminatedEvent::new(
                shared.id,
                shared.run_id,
                exception.map(|e| e.cause),
            ))
        });
    }
}
