//! Membership of a Kafka consumer group, for a source that shares its topics' partitions with
//! the other processes running the same query ([`KafkaSource::consumer_group`]; the model is
//! in `docs/scale-out.md`).
//!
//! A second librdkafka consumer joins the group with the cooperative-sticky assignor and reads
//! no records: every partition it is assigned is paused at once, so it only serves the group
//! protocol (JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup). The
//! source asks it, before planning each batch, which partitions the member owns; records are
//! still read by the source's own consumer at the exact offsets of the batch's ranges.
//!
//! Rebalances are served only when the source polls, between batches: the batch before has
//! reached the sink and its end offsets were committed to the group, so a partition handed
//! over on a clean rebalance is resumed by its next owner exactly where this member stopped.
//!
//! [`KafkaSource::consumer_group`]: super::KafkaSource::consumer_group

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{Error, Result};

use super::offsets::{PartitionOffsets, TopicPartition};

/// What the member learnt from rebalances since the source last asked.
#[derive(Default)]
struct Rebalances {
    /// Partitions revoked (they may have been processed by another member since).
    revoked: BTreeSet<TopicPartition>,
    /// Whether the member has been through a first assignment (possibly of nothing).
    joined: bool,
    /// The last rebalance error, for messages.
    error: Option<String>,
    /// Batch end offsets the group has not accepted yet (a commit refused while a rebalance
    /// was in progress): retried, and committed before their partitions are given up.
    uncommitted: BTreeMap<TopicPartition, i64>,
}

/// Pauses every partition it is assigned and records revocations.
#[derive(Default)]
pub(crate) struct MemberContext {
    rebalances: Mutex<Rebalances>,
}

impl MemberContext {
    fn lock(&self) -> std::sync::MutexGuard<'_, Rebalances> {
        self.rebalances.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    /// Before giving partitions up, commits what this member read of them and the group has
    /// not accepted yet, so that their next owner resumes exactly there (the cooperative
    /// protocol assigns them to it only after this returns).
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked = partitions_of(tpl);
            let pending: BTreeMap<TopicPartition, i64> = {
                let mut r = self.lock();
                let pending = r
                    .uncommitted
                    .iter()
                    .filter(|(tp, _)| revoked.contains(*tp))
                    .map(|(tp, o)| (tp.clone(), *o))
                    .collect();
                r.uncommitted.retain(|tp, _| !revoked.contains(tp));
                pending
            };
            // A refusal here leaves the next owner to re-read from the last accepted commit
            // (at least once).
            let _ = commit_offsets(consumer, &pending);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                // This consumer never fetches: records are read at exact offsets elsewhere.
                let _ = consumer.pause(tpl);
                self.lock().joined = true;
            }
            Rebalance::Revoke(tpl) => {
                self.lock().revoked.extend(partitions_of(tpl));
            }
            Rebalance::Error(e) => self.lock().error = Some(e.to_string()),
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> BTreeSet<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

fn commit_offsets<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> std::result::Result<(), KafkaError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for (tp, offset) in offsets {
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&tpl, CommitMode::Sync)
}

/// One member of the query's consumer group.
pub(crate) struct Membership {
    consumer: BaseConsumer<MemberContext>,
    group: String,
    timeout: Duration,
    /// What this member last committed, per partition: a commit that would change nothing is
    /// not sent (an idle member sends none).
    committed: BTreeMap<TopicPartition, i64>,
    /// Commits the coordinator refused (a member that lost its partitions, fenced by the
    /// group's generation).
    pub(crate) rejected_commits: u64,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("group", &self.group)
            .finish()
    }
}

impl Membership {
    /// Joins `group`, subscribed to `topics`, with the source's client settings (so the
    /// `kafka.session.timeout.ms` and `kafka.heartbeat.interval.ms` options apply), and waits
    /// up to `timeout` for the first assignment (a member may be assigned nothing).
    pub(crate) fn join(
        config: &ClientConfig,
        group: &str,
        topics: &[String],
        timeout: Duration,
    ) -> Result<Membership> {
        let mut config = config.clone();
        if config.get("partition.assignment.strategy").is_none() {
            config.set("partition.assignment.strategy", "cooperative-sticky");
        }
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer<MemberContext> = config
            .create_with_context(MemberContext::default())
            .map_err(|e| Error::InvalidArgument(format!("Kafka consumer configuration: {e}")))?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(|e| Error::Source {
            source_name: format!("consumer group {group}"),
            message: format!("cannot subscribe to {}: {e}", names.join(", ")),
        })?;
        let member = Membership {
            consumer,
            group: group.to_string(),
            timeout,
            committed: BTreeMap::new(),
            rejected_commits: 0,
        };
        let deadline = Instant::now() + timeout;
        while !member.consumer.context().lock().joined {
            member.serve(Duration::from_millis(50));
            if Instant::now() >= deadline {
                let error = member.consumer.context().lock().error.take();
                return Err(member.error(format!(
                    "did not join the group within {timeout:?}{}",
                    error.map(|e| format!(": {e}")).unwrap_or_default()
                )));
            }
        }
        Ok(member)
    }

    fn error(&self, message: String) -> Error {
        Error::Source {
            source_name: format!("consumer group {}", self.group),
            message,
        }
    }

    /// Serves the group protocol (rebalances) for up to `wait`.
    fn serve(&self, wait: Duration) {
        // Every partition is paused, so a poll returns only events; a record that slipped in
        // before a pause is dropped (it is read at its offset by the source's own consumer).
        let _ = self.consumer.poll(wait);
    }

    /// The partitions the member owns now, after serving pending rebalances; with the
    /// partitions revoked since the last call (taken).
    pub(crate) fn owned(&self) -> Result<(BTreeSet<TopicPartition>, BTreeSet<TopicPartition>)> {
        self.serve(Duration::ZERO);
        let owned = self
            .consumer
            .assignment()
            .map_err(|e| self.error(format!("cannot read the assignment: {e}")))?;
        let revoked = std::mem::take(&mut self.consumer.context().lock().revoked);
        Ok((partitions_of(&owned), revoked))
    }

    /// The group's committed offsets (OffsetFetch) of `partitions`; a partition never
    /// committed is absent.
    pub(crate) fn committed(
        &self,
        partitions: &BTreeSet<TopicPartition>,
    ) -> Result<PartitionOffsets> {
        if partitions.is_empty() {
            return Ok(PartitionOffsets::new());
        }
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let fetched = self
            .consumer
            .committed_offsets(tpl, self.timeout)
            .map_err(|e| self.error(format!("cannot fetch the committed offsets: {e}")))?;
        Ok(fetched
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((TopicPartition::new(e.topic(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    /// Commits `offsets` (OffsetCommit) of the partitions the member still owns, those that
    /// moved since its last commit (the batch that follows a rebalance reads nothing new and
    /// commits nothing), with any refused before. A commit the coordinator refuses (a
    /// rebalance in progress, or a generation that is over) is counted, not an error: it is
    /// retried at the next batch and before the partitions are revoked; a member that lost
    /// its partitions without hearing of it (fenced) leaves their next owner to resume from
    /// the last accepted commit.
    pub(crate) fn commit(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        let (owned, revoked) = self.owned()?;
        // Revocations seen here are seen again at the next plan.
        self.consumer.context().lock().revoked.extend(revoked);
        let pending: BTreeMap<TopicPartition, i64> = {
            let mut r = self.consumer.context().lock();
            for (tp, offset) in offsets {
                if owned.contains(tp) && self.committed.get(tp) != Some(offset) {
                    r.uncommitted.insert(tp.clone(), *offset);
                }
            }
            r.uncommitted.retain(|tp, _| owned.contains(tp));
            r.uncommitted.clone()
        };
        match commit_offsets(&self.consumer, &pending) {
            Ok(()) => {
                let mut r = self.consumer.context().lock();
                for (tp, offset) in pending {
                    if r.uncommitted.get(&tp) == Some(&offset) {
                        r.uncommitted.remove(&tp);
                    }
                    self.committed.insert(tp, offset);
                }
                Ok(())
            }
            Err(KafkaError::ConsumerCommit(
                RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::FencedInstanceId,
            )) => {
                self.rejected_commits += 1;
                Ok(())
            }
            Err(e) => Err(self.error(format!("cannot commit offsets: {e}"))),
        }
    }
}
