//! The Kafka source, continuously (Spark's `KafkaContinuousStream`): the query's task keeps
//! the subscription's partitions assigned to a consumer of its own and hands on each record as
//! it is polled. Positions are the same per-partition offsets as a micro-batch query's, so the
//! offset log reads the same.
//!
//! At every epoch's end the reader looks for partitions the subscription gained (read from
//! their earliest offset, as in micro-batch execution) or lost. Offsets that vanished — a
//! position the brokers report out of range, a partition gone, one that went backwards — fail
//! the query under `fail_on_data_loss` (the default), or are skipped over with a warning.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::continuous::{ContinuousReader, ContinuousSource};
use crate::error::{Error, Result};
use crate::row::KafkaRow;
use crate::source::Source;

use super::client::{Client, Patience, Polled, Subscription};
use super::offsets::{KafkaOffset, PartitionOffsets, TopicPartition};
use super::{FAIL_ON_DATA_LOSS_ADVICE, KafkaSource};

/// The most records one read returns, so the task ends epochs on time while it catches up.
const MAX_RECORDS_PER_READ: usize = 4096;
/// How often a transient broker error is logged while it lasts.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl ContinuousSource for KafkaSource {
    type Position = KafkaOffset;
    type Reader = KafkaReader;

    /// A reader with a consumer of its own, assigned at `start` (or the resolved starting
    /// offsets), checked against the partitions the brokers have now.
    fn continuous_reader(
        &mut self,
        start: Option<&KafkaOffset>,
        _clock: Clock,
    ) -> Result<KafkaReader> {
        if let Some(group) = &self.consumer_group {
            // The continuous reader reads every partition it is given from its own offsets; it
            // has no point between batches at which to take or give up partitions.
            return Err(Error::InvalidArgument(format!(
                "consumer_group(\"{group}\"): a continuous query cannot share its input \
                 partitions with other processes yet; run it with a micro-batch trigger, or \
                 in one process (without consumer_group)"
            )));
        }
        let (subscription, config) = self.check_options()?;
        let patience = Patience {
            timeout: self.poll_timeout,
            retries: self.fetch_offset_num_retries,
            retry_interval: self.fetch_offset_retry_interval,
        };
        let mut reader = KafkaReader {
            client: Client::new(&config, patience, self.description())?,
            subscription,
            positions: self.start_offsets(start),
            include_headers: self.include_headers,
            fail_on_data_loss: self.fail_on_data_loss,
            name: self.description(),
            warned: None,
        };
        reader.reconcile(true)?;
        reader.client.assign_at(&reader.positions)?;
        Ok(reader)
    }
}

/// Reads a Kafka subscription's records as they are polled.
#[derive(Debug)]
pub struct KafkaReader {
    client: Client,
    subscription: Subscription,
    /// Per partition, the offset of the next record.
    positions: PartitionOffsets,
    include_headers: bool,
    fail_on_data_loss: bool,
    name: String,
    /// When a transient error was last logged.
    warned: Option<Instant>,
}

impl KafkaReader {
    fn data_loss(&self, message: String) -> Result<()> {
        if self.fail_on_data_loss {
            Err(Error::Source {
                source_name: self.name.clone(),
                message: format!("{message}. {FAIL_ON_DATA_LOSS_ADVICE}"),
            })
        } else {
            tracing::warn!(
                "{}: {message}; skipped (fail_on_data_loss is off)",
                self.name
            );
            Ok(())
        }
    }

    /// Brings the positions in line with the partitions the subscription has now: new
    /// partitions from their earliest offset, gone ones dropped; with `check_offsets`, also
    /// positions outside what the brokers still have. Returns whether the assignment changed.
    fn reconcile(&mut self, check_offsets: bool) -> Result<bool> {
        let partitions = self.client.partitions(&self.subscription)?;
        let gone: Vec<TopicPartition> = self
            .positions
            .keys()
            .filter(|tp| !partitions.contains(*tp))
            .cloned()
            .collect();
        let mut changed = !gone.is_empty();
        if !gone.is_empty() {
            let names: Vec<String> = gone.iter().map(ToString::to_string).collect();
            self.data_loss(format!("{} are gone", names.join(", ")))?;
            self.positions.retain(|tp, _| partitions.contains(tp));
        }
        let to_check: BTreeSet<TopicPartition> = if check_offsets {
            partitions
        } else {
            partitions
                .into_iter()
                .filter(|tp| !self.positions.contains_key(tp))
                .collect()
        };
        if to_check.is_empty() {
            return Ok(changed);
        }
        for (tp, (low, high)) in self.client.watermarks(&to_check)? {
            let resumed = match self.positions.get(&tp).copied() {
                None => {
                    if low != 0 {
                        self.data_loss(format!(
                            "Added partition {tp} starts from {low} instead of 0. Some data may have been missed"
                        ))?;
                    }
                    low
                }
                Some(p) if p > high => {
                    self.data_loss(format!(
                        "Partition {tp}'s offset was changed from {p} to {high}, some data may have been missed"
                    ))?;
                    high
                }
                Some(p) if p < low => {
                    self.data_loss(format!(
                        "Cannot fetch offset {p} of {tp}: the earliest available offset is {low}"
                    ))?;
                    low
                }
                Some(p) => p,
            };
            if self.positions.insert(tp, resumed) != Some(resumed) {
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Takes a polled record, unless it was read before (a record at an offset before the
    /// partition's position, after a reassignment).
    fn take(&mut self, row: KafkaRow, out: &mut Vec<KafkaRow>) {
        let tp = TopicPartition::new(row.topic.as_str(), row.partition);
        let position = self.positions.entry(tp).or_insert(row.offset);
        if row.offset >= *position {
            *position = row.offset + 1;
            out.push(row);
        }
    }
}

impl ContinuousReader for KafkaReader {
    type Row = KafkaRow;
    type Position = KafkaOffset;

    fn poll(&mut self, deadline: Instant, out: &mut Vec<KafkaRow>) -> Result<()> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            match self
                .client
                .poll_record(deadline - now, self.include_headers)
            {
                Polled::Record(row) => {
                    self.take(row, out);
                    // Whatever else is fetched already comes with it.
                    while out.len() < MAX_RECORDS_PER_READ {
                        match self
                            .client
                            .poll_record(Duration::ZERO, self.include_headers)
                        {
                            Polled::Record(row) => self.take(row, out),
                            _ => break,
                        }
                    }
                    if !out.is_empty() {
                        return Ok(());
                    }
                }
                Polled::Nothing => {}
                Polled::OffsetOutOfRange(why) => {
                    tracing::warn!("{}: {why}; checking the partitions' offsets", self.name);
                    self.reconcile(true)?;
                    self.client.assign_at(&self.positions)?;
                }
                Polled::Transient(why) => {
                    if self.warned.is_none_or(|w| w.elapsed() >= WARN_EVERY) {
                        tracing::warn!("{}: {why} (retrying)", self.name);
                        self.warned = Some(Instant::now());
                    }
                }
            }
        }
    }

    fn position(&self) -> KafkaOffset {
        KafkaOffset::new(self.positions.clone())
    }

    /// Looks for partitions the subscription gained or lost.
    fn end_epoch(&mut self) -> Result<()> {
        if self.reconcile(false)? {
            self.client.assign_at(&self.positions)?;
        }
        Ok(())
    }
}
