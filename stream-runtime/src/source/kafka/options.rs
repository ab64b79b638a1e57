//! The source's options: Spark's `format("kafka")` options as builder methods, and their
//! checks when the query starts (with Spark's messages).

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::error::{Error, Result};

use super::client::Subscription;
use super::offsets::PartitionOffsets;
use super::{KafkaSource, StartingOffsets, TopicPartition};

/// Kafka client settings the source owns, which a `kafka.*` option may not change (Spark
/// rejects the same ones).
const OWNED_SETTINGS: [(&str, &str); 3] = [
    (
        "auto.offset.reset",
        "Instead set the source option starting_offsets(...) to specify where to start. Structured Streaming manages which offsets are consumed internally, rather than relying on the kafkaConsumer to do it.",
    ),
    (
        "enable.auto.commit",
        "The source does not commit any offsets: they live in the query's checkpoint.",
    ),
    (
        "enable.auto.offset.store",
        "The source does not commit any offsets: they live in the query's checkpoint.",
    ),
];

impl KafkaSource {
    /// A source with Spark's defaults; it needs [`bootstrap_servers`](Self::bootstrap_servers)
    /// and one of [`subscribe`](Self::subscribe), [`subscribe_pattern`](Self::subscribe_pattern)
    /// or [`assign`](Self::assign).
    pub fn new() -> Self {
        KafkaSource {
            bootstrap_servers: None,
            subscribe: None,
            subscribe_pattern: None,
            assign: None,
            starting_offsets: StartingOffsets::Latest,
            max_offsets_per_trigger: None,
            min_offsets_per_trigger: None,
            max_trigger_delay: Duration::from_secs(15 * 60),
            fail_on_data_loss: true,
            include_headers: false,
            poll_timeout: Duration::from_secs(120),
            fetch_offset_num_retries: 3,
            fetch_offset_retry_interval: Duration::from_millis(10),
            group_id_prefix: "spark-kafka-source".into(),
            kafka_options: Vec::new(),
            consumer_group: None,
            subscription: None,
            membership: None,
            planned: BTreeSet::new(),
            rebased: PartitionOffsets::new(),
            client: None,
            clock: None,
            initial: None,
            latest: PartitionOffsets::new(),
            available_now: None,
            last_trigger_ms: 0,
            lost: (0, None),
        }
    }

    /// Spark's `kafka.bootstrap.servers`: `host:port[,host:port...]`.
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(servers.into());
        self
    }

    /// Spark's `subscribe`: these topics, every partition (partitions added later included).
    pub fn subscribe<T: Into<String>>(mut self, topics: impl IntoIterator<Item = T>) -> Self {
        self.subscribe = Some(topics.into_iter().map(Into::into).collect());
        self
    }

    /// Spark's `subscribePattern`: every topic whose whole name matches this regular
    /// expression, checked again at every trigger (topics created later included).
    pub fn subscribe_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.subscribe_pattern = Some(pattern.into());
        self
    }

    /// Spark's `assign`: exactly these partitions.
    pub fn assign<T: Into<String>>(
        mut self,
        partitions: impl IntoIterator<Item = (T, i32)>,
    ) -> Self {
        self.assign = Some(
            partitions
                .into_iter()
                .map(|(t, p)| TopicPartition::new(t, p))
                .collect(),
        );
        self
    }

    /// Spark's `startingOffsets`: where a new query starts (a query restarted from its
    /// checkpoint always continues where it stopped). Default: latest.
    pub fn starting_offsets(mut self, offsets: StartingOffsets) -> Self {
        self.starting_offsets = offsets;
        self
    }

    /// Spark's `maxOffsetsPerTrigger`: at most this many offsets per batch, shared by the
    /// partitions in proportion to their backlog. `Trigger::Once` ignores it.
    pub fn max_offsets_per_trigger(mut self, n: u64) -> Self {
        self.max_offsets_per_trigger = Some(n);
        self
    }

    /// Spark's `minOffsetsPerTrigger`: a batch waits until this many offsets are available,
    /// or until [`max_trigger_delay`](Self::max_trigger_delay) passed since the last batch.
    pub fn min_offsets_per_trigger(mut self, n: u64) -> Self {
        self.min_offsets_per_trigger = Some(n);
        self
    }

    /// Spark's `maxTriggerDelay` (default 15 minutes), with `min_offsets_per_trigger`.
    pub fn max_trigger_delay(mut self, delay: Duration) -> Self {
        self.max_trigger_delay = delay;
        self
    }

    /// Spark's `failOnDataLoss` (default true): whether offsets that vanished or went backwards
    /// fail the query. With `false` the source skips what is gone and counts it in the
    /// progress (`sources[0].metrics.offsetsLost`).
    pub fn fail_on_data_loss(mut self, fail: bool) -> Self {
        self.fail_on_data_loss = fail;
        self
    }

    /// Spark's `includeHeaders` (default false): fill the rows' `headers` column.
    pub fn include_headers(mut self, include: bool) -> Self {
        self.include_headers = include;
        self
    }

    /// Spark's `kafkaConsumer.pollTimeoutMs` (default 2 minutes): how long reading a batch may
    /// go without receiving a record, and how long one offset request may take, before the
    /// query fails.
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.poll_timeout = timeout;
        self
    }

    /// Spark's `fetchOffset.numRetries` (default 3): retries of a failed offset request.
    pub fn fetch_offset_num_retries(mut self, n: u32) -> Self {
        self.fetch_offset_num_retries = n;
        self
    }

    /// Spark's `fetchOffset.retryIntervalMs` (default 10 ms).
    pub fn fetch_offset_retry_interval(mut self, interval: Duration) -> Self {
        self.fetch_offset_retry_interval = interval;
        self
    }

    /// Spark's `groupIdPrefix`: the consumer's group id is this prefix and a random id (a
    /// `kafka.group.id` option sets it whole). The group is never joined or committed to.
    pub fn group_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.group_id_prefix = prefix.into();
        self
    }

    /// Shares the subscribed topics' partitions with the other processes running this query:
    /// the source joins the consumer group `group` (cooperative-sticky assignment) and each
    /// batch reads only the partitions the group assigns this member; a batch's end offsets
    /// are committed to the group once the sink has the batch, and a partition newly assigned
    /// to this member is read from the group's committed offset (or, never committed, from
    /// [`starting_offsets`](Self::starting_offsets)). Each member keeps a checkpoint of its
    /// own. Only with [`subscribe`](Self::subscribe), and for queries without state (a query
    /// with state runs a query per partition instead, [`crate::scale_out::PartitionedQuery`]):
    /// the model, the guarantees and what is not built yet are in `docs/scale-out.md`.
    ///
    /// The group's session timeout is librdkafka's `session.timeout.ms` (45 s by default;
    /// `option("kafka.session.timeout.ms", "6000")`): how long a member that died without
    /// leaving keeps its partitions.
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = Some(group.into());
        self
    }

    /// A Kafka client setting, as Spark's `option("kafka.<setting>", value)`: `kafka.` is
    /// removed and the rest is given to librdkafka (`kafka.fetch.max.bytes`,
    /// `kafka.security.protocol`, ...). Settings the source manages (`auto.offset.reset`,
    /// `enable.auto.commit`) and names without the `kafka.` prefix are refused at start.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka_options.push((key.into(), value.into()));
        self
    }

    pub(super) fn check_options(&self) -> Result<(Subscription, ClientConfig)> {
        let chosen = [
            self.subscribe.is_some(),
            self.subscribe_pattern.is_some(),
            self.assign.is_some(),
        ];
        let invalid = |m: &str| Error::InvalidArgument(m.to_string());
        match chosen.iter().filter(|c| **c).count() {
            0 => {
                return Err(invalid(
                    "One of the following options must be specified for Kafka source: subscribe, subscribe_pattern, assign.",
                ));
            }
            1 => {}
            _ => {
                return Err(invalid(
                    "Only one of the following options can be specified for Kafka source: subscribe, subscribe_pattern, assign.",
                ));
            }
        }
        let subscription = if let Some(topics) = &self.subscribe {
            if topics.is_empty() || topics.iter().any(|t| t.trim().is_empty()) {
                return Err(invalid(
                    "No topics to subscribe to as specified value for option subscribe is empty",
                ));
            }
            Subscription::Topics(topics.clone())
        } else if let Some(pattern) = &self.subscribe_pattern {
            if pattern.trim().is_empty() {
                return Err(invalid(
                    "Pattern to subscribe is empty as specified value for option subscribePattern is empty",
                ));
            }
            Subscription::Pattern(regex::Regex::new(pattern).map_err(|e| {
                Error::InvalidArgument(format!("subscribe_pattern `{pattern}`: {e}"))
            })?)
        } else {
            let partitions = self.assign.clone().unwrap_or_default();
            if partitions.is_empty() {
                return Err(invalid(
                    "No topicpartitions to assign as specified value for option assign is empty",
                ));
            }
            Subscription::Assign(partitions)
        };
        if self
            .consumer_group
            .as_deref()
            .is_some_and(|g| g.trim().is_empty())
        {
            return Err(invalid("consumer_group must not be empty"));
        }
        if self.consumer_group.is_some() && self.subscribe.is_none() {
            return Err(invalid(
                "consumer_group needs subscribe: the group assigns the partitions of subscribed topics, not of a pattern or of assigned partitions",
            ));
        }
        let Some(servers) = &self.bootstrap_servers else {
            return Err(invalid(
                "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer",
            ));
        };
        if let Some(0) = self.max_offsets_per_trigger {
            return Err(invalid("max_offsets_per_trigger must be positive"));
        }
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", servers)
            .set(
                "group.id",
                format!("{}-{}", self.group_id_prefix, uuid::Uuid::new_v4()),
            )
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // Ranges are read from exact offsets; one that is gone is an error, never a jump.
            .set("auto.offset.reset", "error")
            // A batch reads offsets known to exist, so a fetch need not wait for more data; a
            // long wait would also hold up the offset requests queued behind it on the same
            // connection (responses come in order).
            .set("fetch.wait.max.ms", "10");
        for (key, value) in &self.kafka_options {
            let Some(setting) = key.strip_prefix("kafka.") else {
                return Err(Error::InvalidArgument(format!(
                    "unknown Kafka source option `{key}`: Kafka client settings start with `kafka.`; the source's own options are methods (max_offsets_per_trigger, starting_offsets, ...)"
                )));
            };
            if let Some((_, why)) = OWNED_SETTINGS.iter().find(|(s, _)| *s == setting) {
                return Err(Error::InvalidArgument(format!(
                    "Kafka option '{setting}' is not supported. {why}"
                )));
            }
            config.set(setting, value);
        }
        Ok((subscription, config))
    }
}
