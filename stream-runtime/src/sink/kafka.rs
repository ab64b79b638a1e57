//! The Kafka sink: Spark's `writeStream.format("kafka")` (cargo feature `kafka`, on
//! librdkafka's idempotent producer).
//!
//! Each row becomes one record: its topic from the `topic` option or a `topic` column, its key
//! and value from columns (string or binary; a string is written as its UTF-8 bytes), or the
//! whole row as JSON ([`KafkaSink::value_json`], Spark's `to_json(struct(*))`), its headers
//! from a `headers` column and its partition from a `partition` column when the rows have
//! them.
//!
//! Guarantee: at least once, as Spark's. A batch counts as written only when every record of
//! it was acknowledged by the brokers (`acks=all`); the first failed delivery fails the query
//! with the broker's error, and the batch is not committed, so a restart writes it again. A
//! crash between the acknowledgement and the commit writes the batch twice. Exactly once would
//! need a transactional producer (one transaction per batch, committed with the batch and
//! fenced by a transactional id derived from the query's id) and consumers reading with
//! `isolation.level=read_committed`; it is not implemented.
//!
//! With a continuous trigger each row is sent as soon as the pipeline emitted it, and an epoch
//! commits once every record of it was acknowledged (Spark's `KafkaDataWriter` flushes at each
//! epoch's commit): a crash re-sends the epochs not committed, at least once as well.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use crate::continuous::{ContinuousSink, EpochCommit};
use crate::error::{Error, Result};
use crate::format::{FileFormat, Json, PreparedFormat};
use crate::row::Row;
use crate::value::{DataType, Schema, Value};

use super::{Sink, SinkBatch, SinkContext};

/// Where each part of a record comes from, resolved against the row schema at `open`.
#[derive(Debug, Clone, Copy, Default)]
struct Layout {
    topic: Option<usize>,
    key: Option<usize>,
    value: Option<usize>,
    headers: Option<usize>,
    partition: Option<usize>,
}

/// Writes each row as a Kafka record (Spark's `kafka` sink).
///
/// | Spark | method | default |
/// |---|---|---|
/// | `kafka.bootstrap.servers` | [`bootstrap_servers`](Self::bootstrap_servers) | required |
/// | `topic` option | [`topic`](Self::topic) | the rows' `topic` column |
/// | `key` column | [`key_column`](Self::key_column) | `key`, if the rows have it |
/// | `value` column | [`value_column`](Self::value_column) | `value` |
/// | `to_json(struct(*)) as value` | [`value_json`](Self::value_json) | |
/// | `headers` column | [`headers_column`](Self::headers_column) | `headers`, if present |
/// | `partition` column | a column named `partition` (INT) | the partitioner's choice |
/// | `kafka.*` | [`option`](Self::option) | |
///
/// ```no_run
/// use stream_runtime::sink::KafkaSink;
/// let sink = KafkaSink::new()
///     .bootstrap_servers("127.0.0.1:9092")
///     .topic("room-stats")
///     .key_column("room_name")
///     .value_json();
/// # let _ = sink;
/// ```
pub struct KafkaSink {
    bootstrap_servers: Option<String>,
    topic: Option<String>,
    key_column: Option<String>,
    value_column: String,
    value_json: bool,
    headers_column: Option<String>,
    kafka_options: Vec<(String, String)>,
    delivery_timeout: Duration,
    // --- state -----------------------------------------------------------------------------
    layout: Layout,
    json: Option<PreparedFormat>,
    producer: Option<FutureProducer>,
    schema: Option<Schema>,
    /// The records of the epoch in progress not acknowledged yet (continuous queries).
    epoch_deliveries: Deliveries,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topic", &self.topic)
            .field("value_json", &self.value_json)
            .finish_non_exhaustive()
    }
}

impl Default for KafkaSink {
    fn default() -> Self {
        KafkaSink::new()
    }
}

impl KafkaSink {
    /// A sink with Spark's defaults; it needs [`bootstrap_servers`](Self::bootstrap_servers).
    pub fn new() -> Self {
        KafkaSink {
            bootstrap_servers: None,
            topic: None,
            key_column: None,
            value_column: "value".into(),
            value_json: false,
            headers_column: None,
            kafka_options: Vec::new(),
            delivery_timeout: Duration::from_secs(120),
            layout: Layout::default(),
            json: None,
            producer: None,
            schema: None,
            epoch_deliveries: Vec::new(),
        }
    }

    /// Spark's `kafka.bootstrap.servers`.
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(servers.into());
        self
    }

    /// Spark's `topic` option: every record goes to this topic (it overrides a `topic`
    /// column, as in Spark).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// The column holding each record's key (STRING or BINARY; default `key` if the rows have
    /// it, else records have no key).
    pub fn key_column(mut self, column: impl Into<String>) -> Self {
        self.key_column = Some(column.into());
        self
    }

    /// The column holding each record's value (STRING or BINARY; default `value`).
    pub fn value_column(mut self, column: impl Into<String>) -> Self {
        self.value_column = column.into();
        self
    }

    /// Each record's value is the whole row as a JSON object, as Spark's
    /// `to_json(struct(*))` writes it (null fields left out, timestamps as
    /// `2024-01-01T10:00:05.000Z`, binary as base64).
    pub fn value_json(mut self) -> Self {
        self.value_json = true;
        self
    }

    /// The column holding each record's headers (`ARRAY<STRUCT<key: STRING, value: BINARY>>`,
    /// the Kafka source's `headers`; default `headers` if the rows have it).
    pub fn headers_column(mut self, column: impl Into<String>) -> Self {
        self.headers_column = Some(column.into());
        self
    }

    /// A Kafka producer setting, as Spark's `option("kafka.<setting>", value)`
    /// (`kafka.linger.ms`, `kafka.compression.type`, ...). `enable.idempotence` stays on.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka_options.push((key.into(), value.into()));
        self
    }

    /// How long a batch may wait for its records to be acknowledged before the query fails
    /// (librdkafka's `message.timeout.ms`; default 2 minutes).
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Sink {
            sink_name: self.description_text(),
            message: message.into(),
        }
    }

    fn description_text(&self) -> String {
        match &self.topic {
            Some(t) => format!("KafkaSink[{t}]"),
            None => "KafkaSink[topic column]".to_string(),
        }
    }

    /// Resolves which columns feed the topic, key, value, headers and partition, with Spark's
    /// messages for what is missing or of the wrong type.
    fn layout(&self, schema: Schema) -> Result<Layout> {
        let analysis = |m: String| Error::Analysis(m);
        let column = |name: &str, allowed: &[DataType], what: &str| -> Result<Option<usize>> {
            let Some(i) = schema.index_of(name) else {
                return Ok(None);
            };
            if allowed.contains(&schema.fields()[i].data_type) {
                Ok(Some(i))
            } else {
                Err(analysis(format!(
                    "{what} attribute type must be a {}: `{name}` is {}",
                    allowed
                        .iter()
                        .map(|t| t.sql_name())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    schema.fields()[i].data_type.sql_name()
                )))
            }
        };
        let bytes = [DataType::String, DataType::Binary];
        let topic = column("topic", &[DataType::String], "topic")?;
        if topic.is_none() && self.topic.is_none() {
            return Err(analysis(
                "topic option required when no 'topic' attribute is present. Use the topic option for setting a topic.".into(),
            ));
        }
        let key = match &self.key_column {
            Some(name) => Some(column(name, &bytes, "key")?.ok_or_else(|| {
                analysis(format!(
                    "key column `{name}` not found; columns: {}",
                    schema.names().join(", ")
                ))
            })?),
            None => column("key", &bytes, "key")?,
        };
        let value = if self.value_json {
            None
        } else {
            Some(column(&self.value_column, &bytes, "value")?.ok_or_else(|| {
                analysis(format!(
                    "Required attribute '{}' not found; columns: {} (use value_json() to write each row as JSON)",
                    self.value_column,
                    schema.names().join(", ")
                ))
            })?)
        };
        let headers = match &self.headers_column {
            Some(name) => Some(
                column(name, &[DataType::Headers], "headers")?
                    .ok_or_else(|| analysis(format!("headers column `{name}` not found")))?,
            ),
            None => column("headers", &[DataType::Headers], "headers")?,
        };
        let partition = column("partition", &[DataType::Int], "partition")?;
        Ok(Layout {
            topic,
            key,
            value,
            headers,
            partition,
        })
    }

    fn producer_config(&self) -> Result<ClientConfig> {
        let Some(servers) = &self.bootstrap_servers else {
            return Err(Error::InvalidArgument(
                "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka producer"
                    .into(),
            ));
        };
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", servers)
            // Retries without duplicates or reordering within a partition; implies acks=all.
            .set("enable.idempotence", "true")
            .set(
                "message.timeout.ms",
                self.delivery_timeout.as_millis().to_string(),
            );
        for (key, value) in &self.kafka_options {
            let Some(setting) = key.strip_prefix("kafka.") else {
                return Err(Error::InvalidArgument(format!(
                    "unknown Kafka sink option `{key}`: Kafka producer settings start with `kafka.`"
                )));
            };
            if setting == "enable.idempotence" && value != "true" {
                return Err(Error::InvalidArgument(
                    "the Kafka sink always uses the idempotent producer (enable.idempotence=true)"
                        .into(),
                ));
            }
            config.set(setting, value);
        }
        Ok(config)
    }
}

/// A STRING or BINARY value's bytes; `None` for null.
fn bytes_of(value: &Value) -> Option<&[u8]> {
    match value {
        Value::String(s) => Some(s.as_bytes()),
        Value::Binary(b) => Some(b),
        _ => None,
    }
}

/// What one row's record is made of; the record borrows it.
struct RecordParts {
    topic: String,
    values: Vec<Value>,
    /// The row as JSON, for `value_json`.
    json: Option<Vec<u8>>,
}

/// Whether a record was queued, or librdkafka's queue is full and the caller must let
/// deliveries drain before sending it again.
enum Sent {
    Queued(DeliveryFuture),
    QueueFull,
}

/// Records queued and not yet acknowledged, with their topics.
type Deliveries = Vec<(String, DeliveryFuture)>;

impl KafkaSink {
    fn record_parts<R: Row>(&self, row: &R) -> Result<RecordParts> {
        let values = row.to_values();
        let topic = match (&self.topic, self.layout.topic.map(|i| &values[i])) {
            (Some(t), _) => t.clone(),
            (None, Some(Value::String(t))) => t.clone(),
            (None, _) => {
                return Err(self.error(
                    "a row's `topic` is null; set the topic option or give every row a topic",
                ));
            }
        };
        let json = match (self.layout.value, &self.json) {
            (None, Some(format)) => Some(format.write(std::slice::from_ref(row))?),
            _ => None,
        };
        Ok(RecordParts {
            topic,
            values,
            json,
        })
    }

    /// Queues one record: the row's topic, key, value, partition and headers.
    fn send(&self, producer: &FutureProducer, parts: &RecordParts) -> Result<Sent> {
        let layout = self.layout;
        let values = &parts.values;
        let payload: Option<&[u8]> = match (layout.value, &parts.json) {
            (Some(i), _) => bytes_of(&values[i]),
            // One JSON line: the record is the object without its line break.
            (None, Some(json)) => Some(json.strip_suffix(b"\n").unwrap_or(json)),
            (None, None) => None,
        };
        let key = layout.key.and_then(|i| bytes_of(&values[i]));
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&parts.topic);
        if let Some(p) = payload {
            record = record.payload(p);
        }
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(Value::Int(p)) = layout.partition.map(|i| &values[i]) {
            record = record.partition(*p);
        }
        if let Some(Value::Headers(headers)) = layout.headers.map(|i| &values[i]) {
            let mut owned = OwnedHeaders::new_with_capacity(headers.len());
            for h in headers {
                owned = owned.insert(KafkaHeader {
                    key: &h.key,
                    value: h.value.as_deref(),
                });
            }
            record = record.headers(owned);
        }
        match producer.send_result(record) {
            Ok(delivery) => Ok(Sent::Queued(delivery)),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                Ok(Sent::QueueFull)
            }
            Err((e, _)) => Err(self.error(format!("cannot send a record to {}: {e}", parts.topic))),
        }
    }

    fn producer(&self) -> Result<FutureProducer> {
        self.producer
            .clone()
            .ok_or_else(|| self.error("the sink was not opened"))
    }
}

/// Waits until every delivery of batch (or epoch) `batch_id` is acknowledged; the first failure
/// is the error.
async fn acknowledged(sink_name: String, batch_id: u64, deliveries: Deliveries) -> Result<()> {
    let error = |message: String| Error::Sink {
        sink_name: sink_name.clone(),
        message,
    };
    for (topic, delivery) in deliveries {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => {
                return Err(error(format!(
                    "batch {batch_id}: delivery of a record to {topic} failed: {e}"
                )));
            }
            Err(_) => {
                return Err(error(format!(
                    "batch {batch_id}: the producer was closed before a record to {topic} was acknowledged"
                )));
            }
        }
    }
    Ok(())
}

impl<R: Row> Sink<R> for KafkaSink {
    fn description(&self) -> String {
        self.description_text()
    }

    /// Checks the columns against the row type and creates the producer (which connects to
    /// the brokers lazily).
    fn open(&mut self, _ctx: &SinkContext) -> Result<()> {
        self.layout = self.layout(R::SCHEMA)?;
        if self.value_json {
            self.json = Some(FileFormat::Json(Json::new()).prepare(R::SCHEMA)?);
        }
        let producer = self
            .producer_config()?
            .create()
            .map_err(|e| Error::InvalidArgument(format!("Kafka producer configuration: {e}")))?;
        self.producer = Some(producer);
        self.schema = Some(R::SCHEMA);
        Ok(())
    }

    async fn add_batch(&mut self, batch: SinkBatch<R>) -> Result<()> {
        let producer = self.producer()?;
        let mut deliveries = Vec::with_capacity(batch.rows.len());
        for row in &batch.rows {
            let parts = self.record_parts(row)?;
            // When librdkafka's queue is full, let deliveries drain first.
            let delivery = loop {
                match self.send(&producer, &parts)? {
                    Sent::Queued(delivery) => break delivery,
                    Sent::QueueFull => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            };
            deliveries.push((parts.topic, delivery));
        }
        // The batch is written once every record is acknowledged.
        acknowledged(self.description_text(), batch.batch_id, deliveries).await
    }
}

impl<R: Row> ContinuousSink<R> for KafkaSink {
    /// Sends each row at once; its acknowledgement is awaited when the epoch commits.
    fn write_rows(&mut self, rows: &mut Vec<R>) -> Result<()> {
        let producer = self.producer()?;
        for row in rows.drain(..) {
            let parts = self.record_parts(&row)?;
            let delivery = loop {
                match self.send(&producer, &parts)? {
                    Sent::Queued(delivery) => break delivery,
                    // The query's task is a thread of its own: it may block here.
                    Sent::QueueFull => std::thread::sleep(Duration::from_millis(1)),
                }
            };
            self.epoch_deliveries.push((parts.topic, delivery));
        }
        Ok(())
    }

    /// The epoch commits once the brokers acknowledged every record of it.
    fn end_epoch(&mut self, epoch: u64) -> Result<EpochCommit> {
        let deliveries = std::mem::take(&mut self.epoch_deliveries);
        Ok(EpochCommit::new(acknowledged(
            self.description_text(),
            epoch,
            deliveries,
        )))
    }
}
