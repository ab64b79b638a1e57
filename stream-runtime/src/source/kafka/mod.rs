//! The Kafka source: Spark's `spark.readStream.format("kafka")`, with its options as methods
//! (cargo feature `kafka`, on librdkafka).
//!
//! Offsets are the query's, as in Spark: each trigger asks the brokers for the latest offset of
//! every partition of the subscription, plans the batch's range per partition from the last
//! committed offsets (capped by `max_offsets_per_trigger`), and the engine writes that range to
//! the checkpoint's offset log before the batch runs; a re-run reads exactly the same range.
//! Records are read by assigning the partitions at the range's first offset. Consumer-group
//! offsets are neither read nor committed — except by a source that shares its partitions with
//! other processes ([`KafkaSource::consumer_group`]): it joins the group only to learn which
//! partitions are its own and to hand their offsets over (`group.rs`, `docs/scale-out.md`).
//!
//! Data loss — offsets that vanished (retention, a deleted topic) or went backwards (a topic
//! deleted and created again) — fails the query with a message saying what was lost, or, with
//! `fail_on_data_loss(false)`, is skipped over and counted in the progress (`offsetsLost`).
//!
//! ```no_run
//! use stream_runtime::source::{KafkaSource, StartingOffsets};
//! let source = KafkaSource::new()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .subscribe(["readings"])
//!     .starting_offsets(StartingOffsets::Earliest)
//!     .max_offsets_per_trigger(1000)
//!     .option("kafka.fetch.max.bytes", "1048576");
//! # let _ = source;
//! ```

mod client;
mod continuous;
mod group;
mod offsets;
mod options;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::row::KafkaRow;

use self::client::{Client, Patience, Subscription};
use self::group::Membership;
use self::offsets::{EARLIEST, LATEST, PartitionOffsets, plan_ranges, rate_limit};
use super::{
    Backlog, BacklogUnit, BatchInput, ReadLimit, ReadPlan, RowChunk, Source, SourceContext,
};

pub use continuous::KafkaReader;
pub use offsets::{KafkaOffset, StartingOffsets, TopicPartition};

/// Spark's advice when a query fails on data loss.
const FAIL_ON_DATA_LOSS_ADVICE: &str = "Some data may have been lost because they are not available in Kafka any more; either the data was aged out by Kafka or the topic may have been deleted before all the data in the topic was processed. If you don't want your streaming query to fail on such cases, set the source option fail_on_data_loss(false).";

/// Reads Kafka topics as a stream of [`KafkaRow`]s (Spark's `kafka` source).
///
/// | Spark option | method | default |
/// |---|---|---|
/// | `kafka.bootstrap.servers` | [`bootstrap_servers`](Self::bootstrap_servers) | required |
/// | `subscribe` | [`subscribe`](Self::subscribe) | one of the three |
/// | `subscribePattern` | [`subscribe_pattern`](Self::subscribe_pattern) | |
/// | `assign` | [`assign`](Self::assign) | |
/// | `startingOffsets` | [`starting_offsets`](Self::starting_offsets) | latest |
/// | `maxOffsetsPerTrigger` | [`max_offsets_per_trigger`](Self::max_offsets_per_trigger) | none |
/// | `minOffsetsPerTrigger` | [`min_offsets_per_trigger`](Self::min_offsets_per_trigger) | none |
/// | `maxTriggerDelay` | [`max_trigger_delay`](Self::max_trigger_delay) | 15 minutes |
/// | `failOnDataLoss` | [`fail_on_data_loss`](Self::fail_on_data_loss) | true |
/// | `includeHeaders` | [`include_headers`](Self::include_headers) | false |
/// | `kafkaConsumer.pollTimeoutMs` | [`poll_timeout`](Self::poll_timeout) | 2 minutes |
/// | `fetchOffset.numRetries` | [`fetch_offset_num_retries`](Self::fetch_offset_num_retries) | 3 |
/// | `fetchOffset.retryIntervalMs` | [`fetch_offset_retry_interval`](Self::fetch_offset_retry_interval) | 10 ms |
/// | `groupIdPrefix` | [`group_id_prefix`](Self::group_id_prefix) | `spark-kafka-source` |
/// | `kafka.*` | [`option`](Self::option) | |
#[derive(Debug)]
pub struct KafkaSource {
    bootstrap_servers: Option<String>,
    subscribe: Option<Vec<String>>,
    subscribe_pattern: Option<String>,
    assign: Option<Vec<TopicPartition>>,
    starting_offsets: StartingOffsets,
    max_offsets_per_trigger: Option<u64>,
    min_offsets_per_trigger: Option<u64>,
    max_trigger_delay: Duration,
    fail_on_data_loss: bool,
    include_headers: bool,
    poll_timeout: Duration,
    fetch_offset_num_retries: u32,
    fetch_offset_retry_interval: Duration,
    group_id_prefix: String,
    kafka_options: Vec<(String, String)>,
    /// The consumer group the query's processes share the partitions in.
    consumer_group: Option<String>,
    // --- state -----------------------------------------------------------------------------
    subscription: Option<Subscription>,
    client: Option<Client>,
    /// This process's membership of `consumer_group`.
    membership: Option<Membership>,
    /// The partitions the last planned batch covered (a member's).
    planned: BTreeSet<TopicPartition>,
    /// A member's partitions that came back to it while its own offset is behind the group's
    /// (another member read them meanwhile): read from the group's offset, until a batch's
    /// start passes it.
    rebased: PartitionOffsets,
    clock: Option<Clock>,
    /// Where batch 0 starts, resolved once (and kept in the checkpoint).
    initial: Option<PartitionOffsets>,
    /// The latest offsets the last `latest_offset` saw (for the backlog).
    latest: PartitionOffsets,
    /// `Trigger::AvailableNow`: no batch reads beyond these.
    available_now: Option<PartitionOffsets>,
    /// When the last batch was triggered (`min_offsets_per_trigger`), in ms of the query clock.
    last_trigger_ms: i64,
    /// Offsets skipped over in the last batch read, with what happened.
    lost: (u64, Option<String>),
}

impl Default for KafkaSource {
    fn default() -> Self {
        KafkaSource::new()
    }
}

impl KafkaSource {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Source {
            source_name: self.description(),
            message: message.into(),
        }
    }

    fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .ok_or_else(|| self.error("the source was not opened"))
    }

    /// The partitions of the subscription and their (earliest, latest) offsets.
    fn watermarks(&self) -> Result<BTreeMap<TopicPartition, (i64, i64)>> {
        let client = self.client()?;
        let subscription = self
            .subscription
            .as_ref()
            .ok_or_else(|| self.error("the source was not opened"))?;
        let partitions = client.partitions(subscription)?;
        client.watermarks(&partitions)
    }

    /// Resolves `starting_offsets` against the partitions the subscription has now.
    fn resolve_initial(&self) -> Result<PartitionOffsets> {
        let watermarks = self.watermarks()?;
        match &self.starting_offsets {
            StartingOffsets::Earliest => Ok(watermarks
                .into_iter()
                .map(|(tp, (low, _))| (tp, low))
                .collect()),
            StartingOffsets::Latest => Ok(watermarks
                .into_iter()
                .map(|(tp, (_, high))| (tp, high))
                .collect()),
            StartingOffsets::Specific(specific) => {
                let named: BTreeSet<&TopicPartition> = specific.partitions().keys().collect();
                let assigned: BTreeSet<&TopicPartition> = watermarks.keys().collect();
                if named != assigned {
                    let show = |s: &BTreeSet<&TopicPartition>| {
                        s.iter()
                            .map(|tp| tp.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    return Err(Error::InvalidArgument(format!(
                        "If starting_offsets contains specific offsets, you must specify all TopicPartitions.\nUse -1 for latest, -2 for earliest.\nSpecified: {{{}}} Assigned: {{{}}}",
                        show(&named),
                        show(&assigned)
                    )));
                }
                let mut out = PartitionOffsets::new();
                for (tp, offset) in specific.iter() {
                    let (low, high) = watermarks[tp];
                    let resolved = match offset {
                        EARLIEST => low,
                        LATEST => high,
                        o if o < low && self.fail_on_data_loss => {
                            return Err(self.error(format!(
                                "Cannot fetch offset {o} of {tp}: the earliest available offset is {low}. {FAIL_ON_DATA_LOSS_ADVICE}"
                            )));
                        }
                        o => o,
                    };
                    out.insert(tp.clone(), resolved);
                }
                Ok(out)
            }
        }
    }

    fn start_offsets(&self, start: Option<&KafkaOffset>) -> PartitionOffsets {
        match start {
            Some(o) => o.partitions().clone(),
            None => self.initial.clone().unwrap_or_default(),
        }
    }

    fn data_loss(&self, message: String) -> Result<()> {
        if self.fail_on_data_loss {
            Err(self.error(format!("{message}. {FAIL_ON_DATA_LOSS_ADVICE}")))
        } else {
            Ok(())
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.map_or(0, |c| c.now_millis())
    }

    /// The records in `(start, end]`, counting (or failing on) records lost to retention.
    fn read_records(
        &mut self,
        start: Option<&KafkaOffset>,
        end: &KafkaOffset,
    ) -> Result<Vec<KafkaRow>> {
        self.lost = (0, None);
        let partitions: BTreeSet<TopicPartition> = end.partitions().keys().cloned().collect();
        let from = self.member_from(start, &partitions)?;
        let earliest = self
            .client()?
            .watermarks(&partitions)?
            .into_iter()
            .map(|(tp, (low, _))| (tp, low))
            .collect();
        let (ranges, losses) = plan_ranges(&from, end.partitions(), &earliest);
        if let Some(first) = losses.first() {
            self.data_loss(first.message.clone())?;
        }
        for loss in losses {
            self.count_lost(loss.skipped, loss.what);
        }
        self.client()?.read(&ranges, self.include_headers)
    }
}

impl Source for KafkaSource {
    type Row = KafkaRow;
    type Offset = KafkaOffset;

    /// Spark's description: `KafkaV2[Subscribe[a,b]]`, `KafkaV2[SubscribePattern[p]]`,
    /// `KafkaV2[Assign[t-0, t-1]]`.
    fn description(&self) -> String {
        let strategy = if let Some(topics) = &self.subscribe {
            format!("Subscribe[{}]", topics.join(","))
        } else if let Some(p) = &self.subscribe_pattern {
            format!("SubscribePattern[{p}]")
        } else {
            let partitions: Vec<String> = self
                .assign
                .iter()
                .flatten()
                .map(ToString::to_string)
                .collect();
            format!("Assign[{}]", partitions.join(", "))
        };
        format!("KafkaV2[{strategy}]")
    }

    /// Checks the options, creates the client and, for a new query, resolves the starting
    /// offsets against the brokers (so an unreachable cluster fails `start()`).
    fn open(&mut self, ctx: &SourceContext) -> Result<()> {
        let (subscription, config) = self.check_options()?;
        let patience = Patience {
            timeout: self.poll_timeout,
            retries: self.fetch_offset_num_retries,
            retry_interval: self.fetch_offset_retry_interval,
        };
        self.client = Some(Client::new(&config, patience, self.description())?);
        self.subscription = Some(subscription);
        self.clock = Some(ctx.clock);
        if self.initial.is_none() {
            self.initial = Some(self.resolve_initial()?);
        }
        if let (Some(group), Some(topics)) = (&self.consumer_group, &self.subscribe) {
            self.membership = Some(Membership::join(&config, group, topics, self.poll_timeout)?);
        }
        Ok(())
    }

    fn latest_offset(
        &mut self,
        start: Option<&KafkaOffset>,
        limit: ReadLimit,
    ) -> Result<Option<KafkaOffset>> {
        let watermarks = if self.membership.is_some() {
            self.member_watermarks(start)?
        } else {
            self.watermarks()?
        };
        if watermarks.is_empty() {
            // No partition yet (a subscribed topic not created, or a member assigned none):
            // nothing to read.
            return Ok(None);
        }
        let mut from = if self.membership.is_some() {
            let planned: BTreeSet<TopicPartition> = watermarks.keys().cloned().collect();
            // The partitions other members own now are theirs, not gone.
            let mut from = self.member_from(start, &planned)?;
            from.retain(|tp, _| planned.contains(tp));
            from
        } else {
            self.start_offsets(start)
        };
        let gone: Vec<String> = from
            .keys()
            .filter(|tp| !watermarks.contains_key(*tp))
            .map(ToString::to_string)
            .collect();
        if !gone.is_empty() {
            self.data_loss(format!("{} are gone", gone.join(", ")))?;
            from.retain(|tp, _| watermarks.contains_key(tp));
        }
        for (tp, (low, _)) in &watermarks {
            // A partition found after the query started is read from its earliest offset.
            from.entry(tp.clone()).or_insert(*low);
        }
        let mut until: PartitionOffsets = watermarks
            .iter()
            .map(|(tp, (_, high))| (tp.clone(), *high))
            .collect();
        self.latest = until.clone();
        for (tp, end) in &until {
            if let Some(begin) = from.get(tp)
                && end < begin
            {
                // Checked here so that, failing, no batch is planned; skipping, the batch's
                // range for the partition is empty and it continues from `end`.
                self.data_loss(format!(
                    "Partition {tp}'s offset was changed from {begin} to {end}, some data may have been missed"
                ))?;
            }
        }
        if let Some(cap) = &self.available_now {
            until.retain(|tp, _| cap.contains_key(tp));
            for (tp, end) in until.iter_mut() {
                *end = (*end).min(cap[tp]);
            }
        }
        if limit == ReadLimit::Configured {
            let now = self.now_ms();
            if let Some(min) = self.min_offsets_per_trigger
                && self.available_now.is_none()
            {
                let delay_ms = self.max_trigger_delay.as_millis() as i64;
                if now - self.last_trigger_ms < delay_ms {
                    let new: i64 = until
                        .iter()
                        .map(|(tp, end)| (end - from.get(tp).copied().unwrap_or(0)).max(0))
                        .sum();
                    if (new as u64) < min {
                        // Not enough yet: no new data this trigger.
                        return Ok(start.cloned());
                    }
                }
            }
            self.last_trigger_ms = now;
            if let Some(max) = self.max_offsets_per_trigger {
                until = rate_limit(max, &from, &until);
            }
        }
        Ok(Some(KafkaOffset::new(until)))
    }

    fn get_batch(
        &mut self,
        start: Option<&KafkaOffset>,
        end: &KafkaOffset,
    ) -> Result<Vec<RowChunk<KafkaRow>>> {
        Ok(vec![RowChunk::Owned(self.read_records(start, end)?)])
    }

    /// One input partition per topic partition, as Spark's Kafka source plans a batch: the
    /// records of each in offset order, the topic partitions in `(topic, partition)` order
    /// (the consumer delivers them interleaved, in no fixed order).
    fn read_batch(
        &mut self,
        start: Option<&KafkaOffset>,
        end: &KafkaOffset,
        plan: ReadPlan,
    ) -> Result<BatchInput<KafkaRow>> {
        let _ = plan;
        let mut by_partition: BTreeMap<(String, i32), Vec<KafkaRow>> = BTreeMap::new();
        for row in self.read_records(start, end)? {
            by_partition
                .entry((row.topic.clone(), row.partition))
                .or_default()
                .push(row);
        }
        Ok(BatchInput::from_chunks(
            by_partition
                .into_values()
                .map(|mut rows| {
                    rows.sort_by_key(|r| r.offset);
                    RowChunk::Owned(rows)
                })
                .collect(),
        ))
    }

    /// A member of a consumer group refuses a query with state: a partition's state would
    /// not move with the partition to its next owner (a query per partition does that:
    /// [`crate::scale_out::PartitionedQuery`]).
    fn check_query(&self, stateful: bool) -> Result<()> {
        match &self.consumer_group {
            Some(group) if stateful => Err(Error::InvalidArgument(format!(
                "consumer_group(\"{group}\"): a query with state (an aggregation or a deduplication) cannot share its input partitions with other processes this way: the state of a partition would not move with the partition when the group reassigns it. Run a query per partition with sluice::scale_out::PartitionedQuery (its state moves with its partition; docs/scale-out.md), or run it in one process (without consumer_group)"
            ))),
            _ => Ok(()),
        }
    }

    /// A member commits the batch's end offsets of the partitions it still owns to the group,
    /// for their next owner (the sink has the batch: at least once across members).
    fn commit(&mut self, end: &KafkaOffset) -> Result<()> {
        if let Some(membership) = &mut self.membership {
            membership.commit(end.partitions())?;
        }
        Ok(())
    }

    /// A member leaves the group (LeaveGroup), so its partitions move at once.
    fn stop(&mut self) {
        self.membership = None;
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        let watermarks = self.watermarks()?;
        self.available_now = Some(
            watermarks
                .into_iter()
                .map(|(tp, (_, high))| (tp, high))
                .collect(),
        );
        Ok(())
    }

    /// The resolved starting offsets, so that a query restarted before its first batch
    /// committed starts from the same offsets (Spark keeps them in `sources/0/0`).
    fn checkpoint_metadata(&self) -> Option<serde_json::Value> {
        self.initial.as_ref().map(
            |initial| serde_json::json!({ "initialOffsets": KafkaOffset::new(initial.clone()) }),
        )
    }

    fn restore_metadata(&mut self, metadata: serde_json::Value) -> Result<()> {
        let initial: KafkaOffset = serde_json::from_value(metadata["initialOffsets"].clone())
            .map_err(|e| {
                self.error(format!("unreadable initial offsets in the checkpoint: {e}"))
            })?;
        self.initial = Some(initial.partitions().clone());
        Ok(())
    }

    /// Offsets behind the latest ones the last trigger saw, per partition (from the resolved
    /// starting offsets before the first batch).
    fn backlog(&self, processed: Option<&KafkaOffset>) -> Option<Backlog> {
        let consumed = processed
            .map(KafkaOffset::partitions)
            .or(self.initial.as_ref());
        Some(Backlog::per_partition(
            BacklogUnit::Rows,
            self.latest.iter().map(|(tp, latest)| {
                let behind = consumed
                    .and_then(|c| c.get(tp))
                    .map_or(0, |c| (latest - c).max(0) as u64);
                (tp.to_string(), behind)
            }),
        ))
    }

    /// Spark's metrics (offsets behind the latest), and, when a batch skipped offsets with
    /// `fail_on_data_loss(false)`, `offsetsLost` and `dataLoss` (what was skipped).
    fn metrics(&self, consumed: &KafkaOffset) -> BTreeMap<String, String> {
        let mut metrics = self
            .backlog(Some(consumed))
            .map(|b| b.spark_metrics())
            .unwrap_or_default();
        if let (lost, Some(what)) = &self.lost {
            metrics.insert("offsetsLost".into(), lost.to_string());
            metrics.insert("dataLoss".into(), what.clone());
        }
        if let Some(membership) = &self.membership {
            let owned: Vec<String> = self.planned.iter().map(ToString::to_string).collect();
            metrics.insert("groupPartitions".into(), owned.join(","));
            if membership.rejected_commits > 0 {
                metrics.insert(
                    "groupCommitsRejected".into(),
                    membership.rejected_commits.to_string(),
                );
            }
        }
        metrics
    }
}

impl KafkaSource {
    /// A member's partitions for the next batch, with their (earliest, latest) offsets: those
    /// the group assigns it now. A newly assigned one whose committed offset in the group is
    /// ahead of this member's own (another member read it meanwhile) is read from the group's
    /// offset ([`KafkaSource::member_from`]).
    fn member_watermarks(
        &mut self,
        start: Option<&KafkaOffset>,
    ) -> Result<BTreeMap<TopicPartition, (i64, i64)>> {
        let membership = self
            .membership
            .as_ref()
            .ok_or_else(|| self.error("the source was not opened"))?;
        let (owned, revoked) = membership.owned()?;
        // This member's own offsets only: where the query started (`initial`) says nothing
        // about what other members read since.
        let starts = start.map(|s| s.partitions().clone()).unwrap_or_default();
        let gained: BTreeSet<TopicPartition> = owned
            .iter()
            .filter(|tp| !self.planned.contains(*tp) || revoked.contains(*tp))
            .filter(|tp| starts.contains_key(*tp))
            .cloned()
            .collect();
        let committed = membership.committed(&gained)?;
        // Kept until a batch's start passes the group's offset: a batch planned from it may
        // not run (no new record), and the next plan must not fall back to the stale offset.
        self.rebased
            .retain(|tp, group| owned.contains(tp) && starts.get(tp).is_some_and(|s| s < group));
        for (tp, group) in committed {
            if group > starts[&tp] {
                self.rebased.insert(tp, group);
            }
        }
        self.planned = owned.clone();
        self.client()?.watermarks(&owned)
    }

    /// Where a batch starts reading `partitions`: the start offsets, and, for a member, a
    /// partition absent from them at the group's committed offset, or where the query
    /// started (`starting_offsets`) if the group never committed it; a partition that came
    /// back behind the group's offset at the group's offset.
    fn member_from(
        &self,
        start: Option<&KafkaOffset>,
        partitions: &BTreeSet<TopicPartition>,
    ) -> Result<PartitionOffsets> {
        let Some(membership) = &self.membership else {
            return Ok(self.start_offsets(start));
        };
        let mut from = start.map(|s| s.partitions().clone()).unwrap_or_default();
        for (tp, group) in &self.rebased {
            if let Some(own) = from.get_mut(tp)
                && partitions.contains(tp)
            {
                *own = (*own).max(*group);
            }
        }
        let absent: BTreeSet<TopicPartition> = partitions
            .iter()
            .filter(|tp| !from.contains_key(*tp))
            .cloned()
            .collect();
        let committed = membership.committed(&absent)?;
        for tp in absent {
            let initial = self.initial.as_ref().and_then(|i| i.get(&tp)).copied();
            if let Some(offset) = committed.get(&tp).copied().or(initial) {
                from.insert(tp, offset);
            }
        }
        Ok(from)
    }

    fn count_lost(&mut self, n: u64, what: String) {
        self.lost.0 += n;
        self.lost.1 = Some(match self.lost.1.take() {
            Some(before) => format!("{before}; {what}"),
            None => what,
        });
    }
}
