//! The source's conversations with the brokers, through one librdkafka consumer that is never
//! part of a consumer group's assignment: topic metadata, earliest and latest offsets (with
//! Spark's `fetchOffset.numRetries` retries), and reading the records of planned offset ranges
//! by assigning partitions at exact offsets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{Error, Result};
use crate::row::KafkaRow;
use crate::time::Timestamp;
use crate::value::Header;

use super::offsets::TopicPartition;

/// What the source subscribes to (Spark's `subscribe`, `subscribePattern`, `assign`).
#[derive(Debug, Clone)]
pub(crate) enum Subscription {
    Topics(Vec<String>),
    Pattern(regex::Regex),
    Assign(Vec<TopicPartition>),
}

/// Keeps the last error librdkafka reported on its own threads (a broker that refuses
/// connections, ...), so a timeout can say what went wrong.
#[derive(Default)]
pub(crate) struct ErrorCapture {
    last: Mutex<Option<String>>,
}

impl ClientContext for ErrorCapture {
    fn error(&self, error: KafkaError, reason: &str) {
        let text = if reason.is_empty() {
            error.to_string()
        } else {
            format!("{error} ({reason})")
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }
}

impl ConsumerContext for ErrorCapture {}

/// Timeouts and retries of broker requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patience {
    /// How long one request, or reading a batch without progress, may take.
    pub(crate) timeout: Duration,
    /// Attempts after the first for offset requests.
    pub(crate) retries: u32,
    pub(crate) retry_interval: Duration,
}

pub(crate) struct Client {
    consumer: BaseConsumer<ErrorCapture>,
    patience: Patience,
    source_name: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("source", &self.source_name)
            .finish()
    }
}

impl Client {
    pub(crate) fn new(
        config: &ClientConfig,
        patience: Patience,
        source_name: String,
    ) -> Result<Self> {
        let consumer = config
            .create_with_context(ErrorCapture::default())
            .map_err(|e| Error::InvalidArgument(format!("Kafka consumer configuration: {e}")))?;
        Ok(Client {
            consumer,
            patience,
            source_name,
        })
    }

    fn error(&self, message: String) -> Error {
        Error::Source {
            source_name: self.source_name.clone(),
            message,
        }
    }

    fn last_broker_error(&self) -> String {
        match self
            .consumer
            .context()
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            Some(e) => format!("; last broker error: {e}"),
            None => String::new(),
        }
    }

    /// Runs `request` until it succeeds, `retries` more times at most, as Spark's offset
    /// reader retries (`fetchOffset.numRetries`, `fetchOffset.retryIntervalMs`).
    fn with_retries<T>(
        &self,
        what: &str,
        mut request: impl FnMut(Duration) -> std::result::Result<T, KafkaError>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            match request(self.patience.timeout) {
                Ok(v) => return Ok(v),
                Err(e) if attempt >= self.patience.retries => {
                    return Err(self.error(format!(
                        "cannot fetch {what} after {} attempts: {e}{}",
                        attempt + 1,
                        self.last_broker_error()
                    )));
                }
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(self.patience.retry_interval);
                }
            }
        }
    }

    /// The partitions the subscription covers now. A subscribed topic that does not exist
    /// (yet) has none, as in Spark.
    pub(crate) fn partitions(
        &self,
        subscription: &Subscription,
    ) -> Result<BTreeSet<TopicPartition>> {
        match subscription {
            Subscription::Assign(partitions) => Ok(partitions.iter().cloned().collect()),
            Subscription::Topics(topics) => {
                let mut out = BTreeSet::new();
                for topic in topics {
                    let metadata = self
                        .with_retries(&format!("the metadata of topic {topic}"), |t| {
                            self.consumer.fetch_metadata(Some(topic), t)
                        })?;
                    for t in metadata.topics() {
                        if t.error().is_none() && t.name() == topic {
                            out.extend(
                                t.partitions()
                                    .iter()
                                    .map(|p| TopicPartition::new(topic, p.id())),
                            );
                        }
                    }
                }
                Ok(out)
            }
            Subscription::Pattern(pattern) => {
                let metadata = self.with_retries("the topic metadata", |t| {
                    self.consumer.fetch_metadata(None, t)
                })?;
                Ok(metadata
                    .topics()
                    .iter()
                    // Kafka's internal topics (`__consumer_offsets`) are never matched.
                    .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
                    .filter(|t| {
                        pattern
                            .find(t.name())
                            .is_some_and(|m| m.len() == t.name().len())
                    })
                    .flat_map(|t| {
                        t.partitions()
                            .iter()
                            .map(|p| TopicPartition::new(t.name(), p.id()))
                    })
                    .collect())
            }
        }
    }

    /// The earliest and latest offsets (low and high watermarks) of each partition.
    pub(crate) fn watermarks(
        &self,
        partitions: &BTreeSet<TopicPartition>,
    ) -> Result<BTreeMap<TopicPartition, (i64, i64)>> {
        partitions
            .iter()
            .map(|tp| {
                let w = self.with_retries(&format!("the offsets of {tp}"), |t| {
                    self.consumer.fetch_watermarks(&tp.topic, tp.partition, t)
                })?;
                Ok((tp.clone(), w))
            })
            .collect()
    }

    /// Reads, in each partition, the records with offsets in `[from, until)`. Offsets a
    /// partition skips (compaction, transaction markers) are simply absent.
    pub(crate) fn read(
        &self,
        ranges: &BTreeMap<TopicPartition, (i64, i64)>,
        include_headers: bool,
    ) -> Result<Vec<KafkaRow>> {
        let mut pending: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for (tp, (from, until)) in ranges {
            if from < until {
                assignment
                    .add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*from))
                    .map_err(|e| self.error(format!("cannot assign {tp}: {e}")))?;
                pending.insert((tp.topic.clone(), tp.partition), *until);
            }
        }
        let mut rows = Vec::new();
        if pending.is_empty() {
            return Ok(rows);
        }
        self.consumer
            .assign(&assignment)
            .map_err(|e| self.error(format!("cannot assign partitions: {e}")))?;
        let result = self.poll_ranges(&mut pending, include_headers, &mut rows);
        let _ = self.consumer.unassign();
        result?;
        Ok(rows)
    }

    fn poll_ranges(
        &self,
        pending: &mut BTreeMap<(String, i32), i64>,
        include_headers: bool,
        rows: &mut Vec<KafkaRow>,
    ) -> Result<()> {
        let mut last_progress = Instant::now();
        let mut last_error: Option<String> = None;
        while !pending.is_empty() {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    let key = (message.topic().to_string(), message.partition());
                    let Some(&until) = pending.get(&key) else {
                        continue;
                    };
                    if message.offset() < until {
                        rows.push(row(&message, include_headers));
                        last_progress = Instant::now();
                    }
                    if message.offset() + 1 >= until {
                        pending.remove(&key);
                    }
                }
                Some(Err(e)) => last_error = Some(e.to_string()),
                None => {}
            }
            // A partition whose position passed the range's end (the last offsets were not
            // records) is done too.
            if let Ok(positions) = self.consumer.position() {
                for elem in positions.elements() {
                    if let Offset::Offset(position) = elem.offset() {
                        let key = (elem.topic().to_string(), elem.partition());
                        if pending.get(&key).is_some_and(|until| position >= *until) {
                            pending.remove(&key);
                        }
                    }
                }
            }
            if last_progress.elapsed() > self.patience.timeout {
                let waiting: Vec<String> = pending
                    .iter()
                    .map(|((t, p), until)| format!("{t}-{p} up to offset {until}"))
                    .collect();
                return Err(self.error(format!(
                    "no records received for {:?} while reading {}{}{}",
                    self.patience.timeout,
                    waiting.join(", "),
                    last_error
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default(),
                    self.last_broker_error()
                )));
            }
        }
        Ok(())
    }
}

/// What one poll of a continuously read assignment gave.
pub(crate) enum Polled {
    /// A record.
    Record(KafkaRow),
    /// Nothing within the timeout.
    Nothing,
    /// An offset of the assignment is not available any more (retention, a deleted topic).
    OffsetOutOfRange(String),
    /// A broker or network error librdkafka retries by itself.
    Transient(String),
}

impl Client {
    /// Assigns the partitions at these offsets, for reading them continuously (replacing any
    /// assignment).
    pub(crate) fn assign_at(&self, positions: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        let mut assignment = TopicPartitionList::new();
        for (tp, offset) in positions {
            assignment
                .add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| self.error(format!("cannot assign {tp}: {e}")))?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(|e| self.error(format!("cannot assign partitions: {e}")))
    }

    /// The next record of the assignment, waiting at most `timeout` for it.
    pub(crate) fn poll_record(&self, timeout: Duration, include_headers: bool) -> Polled {
        match self.consumer.poll(timeout) {
            Some(Ok(message)) => Polled::Record(row(&message, include_headers)),
            None => Polled::Nothing,
            Some(Err(KafkaError::MessageConsumption(
                code @ (RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset),
            ))) => Polled::OffsetOutOfRange(code.to_string()),
            Some(Err(e)) => Polled::Transient(e.to_string()),
        }
    }
}

/// A consumed record as a row of Spark's Kafka schema.
fn row<M: Message>(message: &M, include_headers: bool) -> KafkaRow {
    let (millis, timestamp_type) = match message.timestamp() {
        rdkafka::Timestamp::CreateTime(ms) => (ms, 0),
        rdkafka::Timestamp::LogAppendTime(ms) => (ms, 1),
        // Kafka's `NO_TIMESTAMP_TYPE` (id -1) with timestamp -1, as Spark reports it.
        rdkafka::Timestamp::NotAvailable => (-1, -1),
    };
    let headers = if include_headers {
        message.headers().filter(|h| h.count() > 0).map(|headers| {
            headers
                .iter()
                .map(|h| Header {
                    key: h.key.to_string(),
                    value: h.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
    } else {
        None
    };
    KafkaRow {
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp: Timestamp::from_millis(millis),
        timestamp_type,
        headers,
    }
}
