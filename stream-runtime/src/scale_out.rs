//! A query with state in several processes: a query per partition of a Kafka topic, run by
//! whichever process the consumer group assigns the partition to (Kafka Streams' tasks).
//!
//! [`PartitionedQuery`] joins a consumer group subscribed to one topic. For every partition
//! the group assigns this process, it starts the query the caller builds for that partition
//! ([`PartitionTask`]: a Kafka source [`assign`](crate::source::KafkaSource::assign)ed exactly
//! that partition, and a checkpoint location of the partition's own under a root every
//! process reaches). The partition's offsets and state live in that checkpoint, so whoever
//! runs the partition next restores its state at its last committed batch, as a restarted
//! query does; nothing of the group's offset store is used.
//!
//! Why a query per partition: on input keyed by the group key (all rows of a key in one
//! partition) a partition's state is the state of its keys, so the partition is the unit that
//! can move between processes with its state, and a checkpoint per partition moves it with
//! the machinery that already makes one query exactly once across crashes.
//!
//! Fencing: a partition's query holds its checkpoint's lock ([`crate::checkpoint`]) while it
//! runs. A process assigned a partition whose previous owner still runs it (a rebalance in
//! progress, a process frozen past its session) cannot start it and retries until the lock is
//! free, so two processes never run one partition at once. A partition is given up (its
//! query stopped: the batch in flight committed) before the group may assign it elsewhere,
//! in the revocation callback of the cooperative protocol.
//!
//! The model, its guarantees and what differs from one process: `docs/scale-out.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};

use crate::error::{Error, Result};
use crate::query::StreamingQuery;
use crate::source::KafkaSource;

/// One partition's query, as the caller builds it: read [`PartitionTask::source`], keep the
/// checkpoint at [`PartitionTask::checkpoint_location`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionTask {
    topic: String,
    partition: i32,
    checkpoint: PathBuf,
}

impl PartitionTask {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition this query reads.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The partition's checkpoint: `<checkpoint root>/<topic>-<partition>`, the same in every
    /// process.
    pub fn checkpoint_location(&self) -> &Path {
        &self.checkpoint
    }

    /// `source` reading exactly this partition (its other settings are the caller's).
    pub fn source(&self, source: KafkaSource) -> KafkaSource {
        source.assign([(self.topic.clone(), self.partition)])
    }
}

/// What the member does now, shared between its thread and its handle.
#[derive(Debug, Default)]
struct MemberState {
    /// Partitions the group assigned this process.
    assigned: BTreeSet<i32>,
    /// The queries running here, by partition.
    running: BTreeMap<i32, StreamingQuery>,
    /// Set when the member failed: a partition's query failed, or could not be started.
    error: Option<String>,
}

/// The group consumer's context: pauses what it is assigned (it never reads records) and stops
/// a partition's query before the partition is given up.
struct TaskContext {
    state: Arc<Mutex<MemberState>>,
    runtime: tokio::runtime::Handle,
}

fn lock(state: &Mutex<MemberState>) -> MutexGuard<'_, MemberState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClientContext for TaskContext {}

impl ConsumerContext for TaskContext {
    /// Stops the queries of the partitions being revoked (or lost: a session that expired)
    /// before the group may assign them elsewhere: their batch in flight is committed and their
    /// checkpoint lock released, so the next owner resumes exactly after it.
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
            let stopping: Vec<StreamingQuery> = {
                let mut state = lock(&self.state);
                revoked
                    .iter()
                    .filter_map(|p| {
                        state.assigned.remove(p);
                        state.running.remove(p)
                    })
                    .collect()
            };
            for query in stopping {
                self.runtime.block_on(query.stop());
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            // Records are read by the partitions' queries; this consumer only holds membership.
            let _ = consumer.pause(tpl);
            lock(&self.state)
                .assigned
                .extend(tpl.elements().iter().map(|e| e.partition()));
        }
    }
}

/// Runs a query per partition of `topic` in whichever process of `group` is assigned the
/// partition: a stateful query over co-partitioned input shared by several processes, its
/// state following its partitions.
///
/// ```rust,no_run
/// # use sluice::prelude::*;
/// # use sluice::scale_out::PartitionedQuery;
/// # sluice::pipeline! {
/// #     schema Reading { room: String }
/// #     query Rooms from Kafka {
/// #         parse value as json Reading mode drop_malformed;
/// #         group by room;
/// #         aggregate n = count();
/// #     }
/// # }
/// # async fn run() -> sluice::Result<()> {
/// let member = PartitionedQuery::new("broker-1:9092", "rooms", "readings")
///     .checkpoint_root("/shared/checkpoints/rooms")
///     .start(|task| {
///         Rooms::read_stream(task.source(KafkaSource::new().bootstrap_servers("broker-1:9092")))
///             .write_stream()
///             .output_mode(Update)
///             .format(FileSink::json(format!("/shared/out/rooms/{}", task.partition())))
///             .checkpoint_location(task.checkpoint_location())
///             .start()
///     })?;
/// // ... until the process is told to stop:
/// member.stop().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PartitionedQuery {
    bootstrap: String,
    group: String,
    topic: String,
    checkpoint_root: Option<PathBuf>,
    options: Vec<(String, String)>,
    retry: Duration,
}

impl PartitionedQuery {
    /// Members of `group` on the broker(s) `bootstrap` share the partitions of `topic`.
    pub fn new(
        bootstrap: impl Into<String>,
        group: impl Into<String>,
        topic: impl Into<String>,
    ) -> Self {
        PartitionedQuery {
            bootstrap: bootstrap.into(),
            group: group.into(),
            topic: topic.into(),
            checkpoint_root: None,
            options: Vec::new(),
            retry: Duration::from_millis(100),
        }
    }

    /// The directory under which each partition's checkpoint is kept (required): the same in
    /// every process, on a file system they all reach with working locks (`flock`).
    pub fn checkpoint_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_root = Some(dir.into());
        self
    }

    /// A setting of the group's consumer, `kafka.`-prefixed as the Kafka source's
    /// (`kafka.session.timeout.ms`: how long a dead process keeps its partitions).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// How often a partition whose checkpoint another process still holds is tried again
    /// (default 100 ms).
    pub fn retry_interval(mut self, every: Duration) -> Self {
        self.retry = every;
        self
    }

    fn config(&self) -> Result<ClientConfig> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", &self.group)
            .set("enable.auto.commit", "false")
            .set("partition.assignment.strategy", "cooperative-sticky");
        for (key, value) in &self.options {
            let Some(setting) = key.strip_prefix("kafka.") else {
                return Err(Error::InvalidArgument(format!(
                    "unknown partitioned query option `{key}`: Kafka client settings start with `kafka.`"
                )));
            };
            if matches!(setting, "group.id" | "enable.auto.commit") {
                return Err(Error::InvalidArgument(format!(
                    "Kafka option '{setting}' is not supported: the group is the one given to PartitionedQuery::new, and it commits no offsets (they are in the partitions' checkpoints)"
                )));
            }
            config.set(setting, value);
        }
        Ok(config)
    }

    /// Joins the group and runs, on a thread of its own, the query `start` builds for each
    /// partition this process is assigned, until [`PartitionedMember::stop`]. Must be called
    /// within a multi-threaded Tokio runtime (the queries run on it, and the member's thread
    /// waits on it for a query it stops).
    pub fn start<F>(self, start: F) -> Result<PartitionedMember>
    where
        F: FnMut(&PartitionTask) -> Result<StreamingQuery> + Send + 'static,
    {
        let root = self.checkpoint_root.clone().ok_or_else(|| {
            Error::InvalidArgument(
                "PartitionedQuery needs checkpoint_root: each partition's state is kept there, where its next owner reads it".into(),
            )
        })?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidArgument(
                "PartitionedQuery::start must be called within a Tokio runtime".into(),
            )
        })?;
        let state = Arc::new(Mutex::new(MemberState::default()));
        let consumer: BaseConsumer<TaskContext> = self
            .config()?
            .create_with_context(TaskContext {
                state: state.clone(),
                runtime: runtime.clone(),
            })
            .map_err(|e| Error::InvalidArgument(format!("Kafka consumer configuration: {e}")))?;
        consumer
            .subscribe(&[&self.topic])
            .map_err(|e| self.error(format!("cannot subscribe to {}: {e}", self.topic)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            consumer,
            state: state.clone(),
            stop: stop.clone(),
            runtime,
            topic: self.topic.clone(),
            root,
            retry: self.retry,
        };
        let thread = std::thread::Builder::new()
            .name(format!("sluice-member-{}", self.group))
            .spawn(move || worker.run(start))
            .map_err(|e| Error::Io {
                context: "cannot start the member's thread".into(),
                source: e,
            })?;
        Ok(PartitionedMember {
            group: self.group,
            state,
            stop,
            thread: Some(thread),
        })
    }

    fn error(&self, message: String) -> Error {
        Error::Source {
            source_name: format!("consumer group {}", self.group),
            message,
        }
    }
}

/// The member's thread: serves the group protocol and starts the assigned partitions' queries.
struct Worker {
    consumer: BaseConsumer<TaskContext>,
    state: Arc<Mutex<MemberState>>,
    stop: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
    topic: String,
    root: PathBuf,
    retry: Duration,
}

impl Worker {
    fn run<F>(self, mut start: F)
    where
        F: FnMut(&PartitionTask) -> Result<StreamingQuery>,
    {
        while !self.stop.load(Ordering::SeqCst) && lock(&self.state).error.is_none() {
            // Rebalances are served here; revocations stop their queries inside this call.
            let _ = self.consumer.poll(self.retry);
            self.start_assigned(&mut start);
            self.check_running();
        }
        // Stopping: every query here stops (batch in flight committed), then the consumer
        // leaves the group (LeaveGroup when it is dropped), so the partitions move at once.
        let running: Vec<StreamingQuery> = {
            let mut state = lock(&self.state);
            std::mem::take(&mut state.running).into_values().collect()
        };
        for query in running {
            self.runtime.block_on(query.stop());
        }
    }

    /// Starts the query of every assigned partition that has none running; a partition whose
    /// checkpoint another process still holds is left for the next round.
    fn start_assigned<F>(&self, start: &mut F)
    where
        F: FnMut(&PartitionTask) -> Result<StreamingQuery>,
    {
        let waiting: Vec<i32> = {
            let state = lock(&self.state);
            state
                .assigned
                .iter()
                .filter(|p| !state.running.contains_key(p))
                .copied()
                .collect()
        };
        for partition in waiting {
            let task = PartitionTask {
                topic: self.topic.clone(),
                partition,
                checkpoint: self.root.join(format!("{}-{partition}", self.topic)),
            };
            let started = {
                let _runtime = self.runtime.enter();
                start(&task)
            };
            match started {
                Ok(query) => {
                    tracing::info!("{}-{partition}: started here", self.topic);
                    lock(&self.state).running.insert(partition, query);
                }
                Err(Error::CheckpointInUse { .. }) => {
                    tracing::debug!(
                        "{}-{partition}: its previous owner still runs it; retrying",
                        self.topic
                    );
                }
                Err(e) => {
                    lock(&self.state).error = Some(format!(
                        "the query of partition {}-{partition} could not start: {e}",
                        self.topic
                    ));
                    return;
                }
            }
        }
    }

    /// A partition's query that failed fails the member.
    fn check_running(&self) {
        let mut state = lock(&self.state);
        let failed = state
            .running
            .iter()
            .find_map(|(p, q)| q.exception().map(|e| (*p, e)));
        if let Some((partition, e)) = failed {
            state.error = Some(format!(
                "the query of partition {}-{partition} failed: {e}",
                self.topic
            ));
        }
    }
}

/// This process's membership: the queries of the partitions it runs. Stop it with
/// [`PartitionedMember::stop`] (dropping it stops it too, without waiting for its queries).
#[derive(Debug)]
pub struct PartitionedMember {
    group: String,
    state: Arc<Mutex<MemberState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PartitionedMember {
    /// The partitions whose queries run in this process now.
    pub fn running(&self) -> Vec<i32> {
        lock(&self.state).running.keys().copied().collect()
    }

    /// The partitions the group assigned this process: those of [`PartitionedMember::running`]
    /// and those waiting for their previous owner to release their checkpoint.
    pub fn assigned(&self) -> Vec<i32> {
        lock(&self.state).assigned.iter().copied().collect()
    }

    /// The queries running here, by partition (each one's progress, lag included).
    pub fn queries(&self) -> BTreeMap<i32, StreamingQuery> {
        lock(&self.state).running.clone()
    }

    /// Why the member failed, if it did: a partition's query failed or could not start. A
    /// failed member stops its other queries and leaves the group.
    pub fn exception(&self) -> Option<String> {
        lock(&self.state).error.clone()
    }

    /// Stops every query of this process (each finishes its batch in flight) and leaves the
    /// group, so that the others take the partitions over at once. Returns the member's
    /// failure, if it failed.
    pub async fn stop(self) -> Result<()> {
        let group = self.group.clone();
        tokio::task::spawn_blocking(move || self.stop_blocking())
            .await
            .map_err(|e| Error::Source {
                source_name: format!("consumer group {group}"),
                message: format!("stopping the member failed: {e}"),
            })?
    }

    /// [`PartitionedMember::stop`] for code outside async functions: blocks until every query
    /// of this process stopped and the member left the group. Not from within a Tokio worker
    /// (the queries it waits for run there).
    pub fn stop_blocking(mut self) -> Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().map_err(|_| Error::Source {
                source_name: format!("consumer group {}", self.group),
                message: "the member's thread panicked".into(),
            })?;
        }
        match lock(&self.state).error.take() {
            Some(message) => Err(Error::Source {
                source_name: format!("consumer group {}", self.group),
                message,
            }),
            None => Ok(()),
        }
    }
}

impl Drop for PartitionedMember {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
