//! Query listeners (Spark's `StreamingQueryListener`): callbacks when a query starts, makes
//! progress, is idle, and terminates, for every query of the process.
//!
//! Listeners are added to the process's query manager
//! ([`streams().add_listener(...)`](crate::manager::StreamingQueryManager::add_listener)). As in
//! Spark, `on_query_started` is called synchronously by `start()`, before it returns, on the
//! thread that called it; the other events go through a queue and are delivered in order on
//! one background thread, so a slow listener delays other listeners, never a query. A listener
//! that panics is reported on stderr and keeps receiving events. With no listener added,
//! nothing is queued and no thread is started.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::Duration;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::error::Error;
use crate::progress::{StreamingQueryProgress, spark_progress_time};
use crate::time::Timestamp;

/// How long a query must have run no batch before it reports idle again (Spark's
/// `spark.sql.streaming.noDataProgressEventInterval`, 10 seconds).
pub const NO_DATA_PROGRESS_EVENT_INTERVAL: Duration = Duration::from_secs(10);

/// Callbacks on the life of every query of the process (Spark's `StreamingQueryListener`).
///
/// Every method has an empty default, so a listener implements only what it needs. Callbacks
/// should return quickly: `on_query_started` runs inside `start()`, the others on the one
/// thread that delivers events to all listeners.
///
/// ```
/// use std::sync::Arc;
/// use stream_runtime::listener::{QueryProgressEvent, StreamingQueryListener};
///
/// #[derive(Debug)]
/// struct PrintRates;
///
/// impl StreamingQueryListener for PrintRates {
///     fn on_query_progress(&self, event: &QueryProgressEvent) {
///         let p = &event.progress;
///         println!("batch {}: {:.0} rows/s", p.batch_id, p.processed_rows_per_second);
///     }
/// }
///
/// stream_runtime::streams().add_listener(Arc::new(PrintRates));
/// ```
pub trait StreamingQueryListener: Send + Sync + 'static {
    /// A query started (called by `start()` before it returns).
    fn on_query_started(&self, event: &QueryStartedEvent) {
        let _ = event;
    }

    /// A batch completed: its progress report.
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        let _ = event;
    }

    /// A trigger found nothing to do: called on the first such trigger, then at most every
    /// [`NO_DATA_PROGRESS_EVENT_INTERVAL`] while the query stays idle (Spark's `onQueryIdle`).
    fn on_query_idle(&self, event: &QueryIdleEvent) {
        let _ = event;
    }

    /// The query stopped, finished (`Once`, `AvailableNow`) or failed.
    fn on_query_terminated(&self, event: &QueryTerminatedEvent) {
        let _ = event;
    }
}

fn ser_time<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&spark_progress_time(*ts))
}

/// A query started (Spark's `QueryStartedEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStartedEvent {
    /// The query's id (stable across restarts from a checkpoint).
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// The query name, if one was given.
    pub name: Option<String>,
    /// When the query started (the query's clock).
    #[serde(serialize_with = "ser_time")]
    pub timestamp: Timestamp,
}

/// A batch completed (Spark's `QueryProgressEvent`; `progress.json()` is its JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryProgressEvent {
    /// The batch's progress report, the one the handle's `last_progress` returns.
    pub progress: Arc<StreamingQueryProgress>,
}

/// A query is idle: its trigger found no new data (Spark's `QueryIdleEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryIdleEvent {
    /// The query's id.
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// When the idle trigger started (the query's clock).
    #[serde(serialize_with = "ser_time")]
    pub timestamp: Timestamp,
}

/// A query terminated (Spark's `QueryTerminatedEvent`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryTerminatedEvent {
    /// The query's id.
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// The error's message if the query failed (`None` if it stopped or finished).
    pub exception: Option<String>,
    /// The error's Spark error class, if it has one (`DIVIDE_BY_ZERO`, ...).
    pub error_class_on_exception: Option<String>,
    /// The error itself.
    #[serde(skip)]
    pub error: Option<Arc<Error>>,
}

impl QueryTerminatedEvent {
    pub(crate) fn new(id: Uuid, run_id: Uuid, error: Option<Arc<Error>>) -> Self {
        QueryTerminatedEvent {
            id,
            run_id,
            exception: error.as_ref().map(|e| e.to_string()),
            error_class_on_exception: error
                .as_ref()
                .and_then(|e| e.error_class())
                .map(str::to_string),
            error,
        }
    }
}

/// An event on its way to the listeners.
#[derive(Debug)]
pub(crate) enum QueryEvent {
    Progress(QueryProgressEvent),
    Idle(QueryIdleEvent),
    Terminated(QueryTerminatedEvent),
}

impl QueryEvent {
    fn deliver(&self, listener: &dyn StreamingQueryListener) {
        match self {
            QueryEvent::Progress(e) => listener.on_query_progress(e),
            QueryEvent::Idle(e) => listener.on_query_idle(e),
            QueryEvent::Terminated(e) => listener.on_query_terminated(e),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            QueryEvent::Progress(_) => "on_query_progress",
            QueryEvent::Idle(_) => "on_query_idle",
            QueryEvent::Terminated(_) => "on_query_terminated",
        }
    }
}

type Listeners = Arc<RwLock<Vec<Arc<dyn StreamingQueryListener>>>>;

/// The listeners of the process and the queue that feeds them (Spark's
/// `StreamingQueryListenerBus`).
pub(crate) struct ListenerBus {
    listeners: Listeners,
    /// Whether any listener is registered: checked before an event is even built.
    any: AtomicBool,
    /// The queue to the delivery thread, started with the first event.
    queue: Mutex<Option<mpsc::Sender<QueryEvent>>>,
}

impl std::fmt::Debug for ListenerBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerBus")
            .field("listeners", &self.listeners().len())
            .finish()
    }
}

impl ListenerBus {
    pub(crate) fn new() -> Self {
        ListenerBus {
            listeners: Arc::new(RwLock::new(Vec::new())),
            any: AtomicBool::new(false),
            queue: Mutex::new(None),
        }
    }

    pub(crate) fn add(&self, listener: Arc<dyn StreamingQueryListener>) {
        let mut listeners = self.listeners.write().expect("listener lock");
        listeners.push(listener);
        self.any.store(true, Ordering::SeqCst);
    }

    pub(crate) fn remove(&self, listener: &Arc<dyn StreamingQueryListener>) -> bool {
        let mut listeners = self.listeners.write().expect("listener lock");
        let before = listeners.len();
        listeners.retain(|l| !Arc::ptr_eq(l, listener));
        self.any.store(!listeners.is_empty(), Ordering::SeqCst);
        listeners.len() != before
    }

    pub(crate) fn listeners(&self) -> Vec<Arc<dyn StreamingQueryListener>> {
        self.listeners.read().expect("listener lock").clone()
    }

    pub(crate) fn has_listeners(&self) -> bool {
        self.any.load(Ordering::SeqCst)
    }

    /// Calls every listener's `on_query_started` now, on this thread.
    pub(crate) fn post_started(&self, event: &QueryStartedEvent) {
        if !self.has_listeners() {
            return;
        }
        for listener in self.listeners() {
            guarded("on_query_started", || listener.on_query_started(event));
        }
    }

    /// Queues an event for the listeners; `event` is only built if there are any.
    pub(crate) fn post(&self, event: impl FnOnce() -> QueryEvent) {
        if !self.has_listeners() {
            return;
        }
        let mut queue = self.queue.lock().expect("listener queue lock");
        let sender = queue.get_or_insert_with(|| start_delivery(Arc::clone(&self.listeners)));
        // The delivery thread never exits while the bus (a process-wide static) lives.
        let _ = sender.send(event());
    }
}

fn start_delivery(listeners: Listeners) -> mpsc::Sender<QueryEvent> {
    let (sender, receiver) = mpsc::channel::<QueryEvent>();
    std::thread::Builder::new()
        .name("sluice-listener-bus".into())
        .spawn(move || {
            for event in receiver {
                let current = listeners.read().expect("listener lock").clone();
                for listener in current {
                    guarded(event.name(), || event.deliver(listener.as_ref()));
                }
            }
        })
        .expect("start the listener thread");
    sender
}

/// Runs a callback; a panic in it is reported, not propagated, as Spark's listener bus logs a
/// listener's exception and goes on.
fn guarded(callback: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        eprintln!("sluice: a StreamingQueryListener panicked in {callback}: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Recorder {
        seen: Mutex<Vec<String>>,
        done: std::sync::Condvar,
    }

    impl Recorder {
        fn push(&self, s: String) {
            self.seen.lock().unwrap().push(s);
            self.done.notify_all();
        }

        fn wait_for(&self, n: usize) -> Vec<String> {
            let guard = self.seen.lock().unwrap();
            let (guard, timeout) = self
                .done
                .wait_timeout_while(guard, Duration::from_secs(10), |v| v.len() < n)
                .unwrap();
            assert!(!timeout.timed_out(), "only {:?}", *guard);
            guard.clone()
        }
    }

    impl StreamingQueryListener for Recorder {
        fn on_query_started(&self, e: &QueryStartedEvent) {
            self.push(format!("started {:?}", e.name));
        }
        fn on_query_idle(&self, e: &QueryIdleEvent) {
            self.push(format!("idle {}", e.timestamp.as_micros()));
        }
        fn on_query_terminated(&self, e: &QueryTerminatedEvent) {
            self.push(format!(
                "terminated {:?} {:?}",
                e.exception, e.error_class_on_exception
            ));
        }
    }

    #[derive(Debug)]
    struct Panics;
    impl StreamingQueryListener for Panics {
        fn on_query_idle(&self, _: &QueryIdleEvent) {
            panic!("boom");
        }
    }

    #[test]
    fn events_reach_listeners_in_order_and_a_panic_stops_nothing() {
        let bus = ListenerBus::new();
        let built = AtomicBool::new(false);
        bus.post(|| {
            built.store(true, Ordering::SeqCst);
            QueryEvent::Idle(QueryIdleEvent {
                id: Uuid::nil(),
                run_id: Uuid::nil(),
                timestamp: Timestamp::EPOCH,
            })
        });
        assert!(!built.load(Ordering::SeqCst), "no listener: no event built");

        let recorder = Arc::new(Recorder::default());
        let panics: Arc<dyn StreamingQueryListener> = Arc::new(Panics);
        bus.add(panics.clone());
        bus.add(recorder.clone());
        bus.post_started(&QueryStartedEvent {
            id: Uuid::nil(),
            run_id: Uuid::nil(),
            name: Some("q".into()),
            timestamp: Timestamp::EPOCH,
        });
        for t in [1, 2] {
            bus.post(|| {
                QueryEvent::Idle(QueryIdleEvent {
                    id: Uuid::nil(),
                    run_id: Uuid::nil(),
                    timestamp: Timestamp::from_micros(t),
                })
            });
        }
        bus.post(|| {
            QueryEvent::Terminated(QueryTerminatedEvent::new(
                Uuid::nil(),
                Uuid::nil(),
                Some(Arc::new(Error::divide_by_zero())),
            ))
        });
        let seen = recorder.wait_for(4);
        assert_eq!(seen[..3], ["started Some(\"q\")", "idle 1", "idle 2"]);
        assert!(
            seen[3].starts_with("terminated Some(\"[DIVIDE_BY_ZERO]"),
            "{}",
            seen[3]
        );
        assert!(
            seen[3].ends_with(" Some(\"DIVIDE_BY_ZERO\")"),
            "{}",
            seen[3]
        );
        assert!(bus.remove(&panics));
        assert!(!bus.remove(&panics), "removed once");
        assert_eq!(bus.listeners().len(), 1);
    }
}
