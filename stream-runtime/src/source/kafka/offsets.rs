//! Kafka positions as Sluice offsets: per topic partition, the next offset to read (Spark's
//! `KafkaSourceOffset`, with its JSON form), the starting offsets, and Spark's proration of
//! `maxOffsetsPerTrigger` over partitions.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// The partition `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    /// `topic-0`, as Kafka and Spark name a partition in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Per partition, an offset.
pub(crate) type PartitionOffsets = BTreeMap<TopicPartition, i64>;

/// Where a Kafka source stands: per topic partition, the offset of the next record to read.
/// A batch reads, in each partition, the records from its start offset up to (not including)
/// its end offset.
///
/// It is written in checkpoints and progress reports in Spark's form,
/// `{"topic":{"0":42,"1":17}}`, so an offset log reads like Spark's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KafkaOffset {
    partitions: PartitionOffsets,
}

impl KafkaOffset {
    pub(crate) fn new(partitions: PartitionOffsets) -> Self {
        KafkaOffset { partitions }
    }

    /// The offset of one partition, if the source knows the partition.
    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partitions
            .get(&TopicPartition::new(topic, partition))
            .copied()
    }

    /// Every partition with its offset, in topic then partition order.
    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, i64)> {
        self.partitions.iter().map(|(tp, o)| (tp, *o))
    }

    pub(crate) fn partitions(&self) -> &PartitionOffsets {
        &self.partitions
    }

    /// Spark's JSON form, `{"topic":{"0":42}}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("offsets serialise")
    }
}

impl<T: Into<String>> FromIterator<(T, i32, i64)> for KafkaOffset {
    fn from_iter<I: IntoIterator<Item = (T, i32, i64)>>(iter: I) -> Self {
        KafkaOffset::new(
            iter.into_iter()
                .map(|(t, p, o)| (TopicPartition::new(t, p), o))
                .collect(),
        )
    }
}

fn nested(partitions: &PartitionOffsets) -> BTreeMap<&str, BTreeMap<i32, i64>> {
    let mut out: BTreeMap<&str, BTreeMap<i32, i64>> = BTreeMap::new();
    for (tp, offset) in partitions {
        out.entry(tp.topic.as_str())
            .or_default()
            .insert(tp.partition, *offset);
    }
    out
}

fn flat(nested: BTreeMap<String, BTreeMap<i32, i64>>) -> PartitionOffsets {
    nested
        .into_iter()
        .flat_map(|(topic, partitions)| {
            partitions
                .into_iter()
                .map(move |(p, o)| (TopicPartition::new(topic.clone(), p), o))
        })
        .collect()
}

impl Serialize for KafkaOffset {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        nested(&self.partitions).serialize(s)
    }
}

impl<'de> Deserialize<'de> for KafkaOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        BTreeMap::<String, BTreeMap<i32, i64>>::deserialize(d).map(|n| KafkaOffset::new(flat(n)))
    }
}

/// Where a query without a checkpoint starts reading: Spark's `startingOffsets`.
///
/// Partitions found later (new partitions of a subscribed topic, new topics matching a
/// pattern) are always read from their earliest offset, as in Spark.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartingOffsets {
    /// Every partition from its earliest available record.
    Earliest,
    /// Only records produced after the query started (Spark's default for streaming queries).
    #[default]
    Latest,
    /// Per partition, an offset; `-2` means earliest and `-1` latest, as in Spark's JSON.
    /// As in Spark, every partition the subscription has when the query starts must be named.
    Specific(KafkaOffset),
}

impl StartingOffsets {
    /// Spark's option value: `earliest`, `latest`, or JSON such as `{"t":{"0":23,"1":-2}}`.
    ///
    /// ```
    /// use stream_runtime::source::StartingOffsets;
    /// let s = StartingOffsets::parse(r#"{"t":{"0":23,"1":-2}}"#).unwrap();
    /// let StartingOffsets::Specific(offsets) = s else { unreachable!() };
    /// assert_eq!(offsets.get("t", 1), Some(-2));
    /// assert_eq!(StartingOffsets::parse("EARLIEST").unwrap(), StartingOffsets::Earliest);
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        match trimmed.to_ascii_lowercase().as_str() {
            "earliest" => return Ok(StartingOffsets::Earliest),
            "latest" => return Ok(StartingOffsets::Latest),
            _ => {}
        }
        let offsets: KafkaOffset = serde_json::from_str(trimmed).map_err(|e| {
            Error::InvalidArgument(format!(
                "Expected e.g. {{\"topicA\":{{\"0\":23,\"1\":-1}},\"topicB\":{{\"0\":-2}}}}, got {text}: {e}"
            ))
        })?;
        if let Some((tp, o)) = offsets.iter().find(|(_, o)| *o < -2) {
            return Err(Error::InvalidArgument(format!(
                "starting offset {o} of {tp} is not an offset (-2 is earliest, -1 latest)"
            )));
        }
        Ok(StartingOffsets::Specific(offsets))
    }
}

/// The sentinels of Spark's offset JSON.
pub(crate) const EARLIEST: i64 = -2;
pub(crate) const LATEST: i64 = -1;

/// Spark's `KafkaMicroBatchStream.rateLimit`: at most `limit` offsets over all partitions,
/// shared in proportion to each partition's backlog (rounded down, but at least one offset for
/// a partition with any backlog, so small partitions are not starved).
pub(crate) fn rate_limit(
    limit: u64,
    from: &PartitionOffsets,
    until: &PartitionOffsets,
) -> PartitionOffsets {
    let sizes: BTreeMap<&TopicPartition, i64> = until
        .iter()
        .filter_map(|(tp, end)| {
            let begin = *from.get(tp)?;
            let size = end - begin;
            (size > 0).then_some((tp, size))
        })
        .collect();
    let total = sizes.values().sum::<i64>() as f64;
    if total < 1.0 {
        return until.clone();
    }
    until
        .iter()
        .map(|(tp, end)| {
            let offset = match sizes.get(tp) {
                Some(size) => {
                    let begin = from[tp];
                    let prorate = limit as f64 * (*size as f64 / total);
                    let prorate = if prorate < 1.0 {
                        prorate.ceil()
                    } else {
                        prorate.floor()
                    } as i64;
                    begin.saturating_add(prorate).min(*end)
                }
                None => *end,
            };
            (tp.clone(), offset)
        })
        .collect()
}

/// Records a batch cannot read, as Spark words the loss, and how many offsets it skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataLoss {
    /// Spark's message (the query fails with it under `failOnDataLoss`).
    pub(crate) message: String,
    /// Offsets skipped over.
    pub(crate) skipped: u64,
    /// What was skipped, for the progress.
    pub(crate) what: String,
}

/// Plans the range `[begin, until)` each partition of a batch reads, from the batch's start
/// and end offsets and each partition's earliest available offset now, as Spark's
/// `KafkaMicroBatchStream.planInputPartitions` does:
///
/// - a partition without a start offset is new: it is read from its earliest offset, and if that
///   is not 0 its first records are gone;
/// - an end below the start (the partition went backwards: the topic was created again, planned
///   under `failOnDataLoss(false)`) gives no range; the records of the new partition below the
///   end are skipped, as Spark skips them;
/// - a start below the earliest offset (retention removed records) reads from the earliest.
pub(crate) fn plan_ranges(
    from: &PartitionOffsets,
    end: &PartitionOffsets,
    earliest: &PartitionOffsets,
) -> (BTreeMap<TopicPartition, (i64, i64)>, Vec<DataLoss>) {
    let mut ranges = BTreeMap::new();
    let mut losses = Vec::new();
    for (tp, &until) in end {
        let low = earliest.get(tp).copied().unwrap_or(0);
        let begin = match from.get(tp) {
            Some(&b) => b,
            None => {
                if low != 0 {
                    losses.push(DataLoss {
                        message: format!(
                            "Added partition {tp} starts from {low} instead of 0. Some data may have been missed"
                        ),
                        skipped: low.min(until).max(0) as u64,
                        what: format!("{tp} started at {low}"),
                    });
                }
                low
            }
        };
        if until < begin {
            losses.push(DataLoss {
                message: format!(
                    "Partition {tp}'s offset was changed from {begin} to {until}, some data may have been missed"
                ),
                skipped: (until - low).max(0) as u64,
                what: format!("Partition {tp}'s offset was changed from {begin} to {until}"),
            });
            continue;
        }
        let begin = if begin < low {
            let resumed = low.min(until);
            losses.push(DataLoss {
                message: format!(
                    "Cannot fetch offset {begin} of {tp}: the earliest available offset is {low}"
                ),
                skipped: (resumed - begin) as u64,
                what: format!("offsets {begin} to {resumed} of {tp} are gone"),
            });
            resumed
        } else {
            begin
        };
        ranges.insert(tp.clone(), (begin, until));
    }
    (ranges, losses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(entries: &[(&str, i32, i64)]) -> PartitionOffsets {
        entries
            .iter()
            .map(|(t, p, o)| (TopicPartition::new(*t, *p), *o))
            .collect()
    }

    #[test]
    fn offsets_are_written_as_spark_writes_them() {
        let o: KafkaOffset = [("b", 0, 3), ("a", 1, 17), ("a", 0, 42)]
            .into_iter()
            .collect();
        assert_eq!(o.to_json(), r#"{"a":{"0":42,"1":17},"b":{"0":3}}"#);
        let back: KafkaOffset = serde_json::from_str(&o.to_json()).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn starting_offsets_parse_spark_values() {
        assert_eq!(
            StartingOffsets::parse("latest").unwrap(),
            StartingOffsets::Latest
        );
        assert!(
            StartingOffsets::parse("{\"t\": 3}")
                .unwrap_err()
                .to_string()
                .starts_with(
                    "Expected e.g. {\"topicA\":{\"0\":23,\"1\":-1},\"topicB\":{\"0\":-2}}, got {\"t\": 3}: "
                )
        );
        assert_eq!(
            StartingOffsets::parse(r#"{"t":{"0":-3}}"#)
                .unwrap_err()
                .to_string(),
            "starting offset -3 of t-0 is not an offset (-2 is earliest, -1 latest)"
        );
    }

    #[test]
    fn ranges_and_data_loss_are_planned_as_spark_plans_them() {
        let tp = |p| TopicPartition::new("t", p);
        // Partition 0 read on; 1 lost offsets 5 to 8 to retention; 2 went backwards from 7 to
        // 3 (the topic was created again); 3 is new and starts at 0; 4 is new but its first
        // two records are gone.
        let from = offsets(&[("t", 0, 2), ("t", 1, 5), ("t", 2, 7)]);
        let end = offsets(&[
            ("t", 0, 4),
            ("t", 1, 12),
            ("t", 2, 3),
            ("t", 3, 1),
            ("t", 4, 6),
        ]);
        let earliest = offsets(&[
            ("t", 0, 0),
            ("t", 1, 9),
            ("t", 2, 0),
            ("t", 3, 0),
            ("t", 4, 2),
        ]);
        let (ranges, losses) = plan_ranges(&from, &end, &earliest);
        assert_eq!(
            ranges,
            BTreeMap::from([
                (tp(0), (2, 4)),
                (tp(1), (9, 12)),
                (tp(3), (0, 1)),
                (tp(4), (2, 6)),
            ])
        );
        let described: Vec<(&str, u64, &str)> = losses
            .iter()
            .map(|l| (l.message.as_str(), l.skipped, l.what.as_str()))
            .collect();
        assert_eq!(
            described,
            [
                (
                    "Cannot fetch offset 5 of t-1: the earliest available offset is 9",
                    4,
                    "offsets 5 to 9 of t-1 are gone"
                ),
                (
                    "Partition t-2's offset was changed from 7 to 3, some data may have been missed",
                    3,
                    "Partition t-2's offset was changed from 7 to 3"
                ),
                (
                    "Added partition t-4 starts from 2 instead of 0. Some data may have been missed",
                    2,
                    "t-4 started at 2"
                ),
            ]
        );
        // Everything up to the end removed: nothing to read, everything counted.
        let (ranges, losses) = plan_ranges(
            &offsets(&[("t", 0, 1)]),
            &offsets(&[("t", 0, 4)]),
            &offsets(&[("t", 0, 6)]),
        );
        assert_eq!(ranges, BTreeMap::from([(tp(0), (4, 4))]));
        assert_eq!(losses[0].skipped, 3);
    }

    #[test]
    fn the_rate_limit_is_shared_by_backlog_as_spark_shares_it() {
        let from = offsets(&[("t", 0, 0), ("t", 1, 10), ("t", 2, 5)]);
        let until = offsets(&[("t", 0, 30), ("t", 1, 20), ("t", 2, 5)]);
        // Backlogs 30 and 10: a limit of 8 gives 6 and 2; the empty partition stays.
        assert_eq!(
            rate_limit(8, &from, &until),
            offsets(&[("t", 0, 6), ("t", 1, 12), ("t", 2, 5)])
        );
        // A share below one offset is rounded up, so no partition starves.
        assert_eq!(
            rate_limit(2, &from, &until),
            offsets(&[("t", 0, 1), ("t", 1, 11), ("t", 2, 5)])
        );
        // A limit above the backlog reads everything.
        assert_eq!(rate_limit(100, &from, &until), until);
    }
}
