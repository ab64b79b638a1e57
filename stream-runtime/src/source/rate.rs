//! The rate source: Spark's `rate` format, generating `(timestamp, value)` rows at a fixed
//! rate, with the same offsets, values and timestamps as Spark's `RateStreamMicroBatchStream`.

use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::row::RateRow;
use crate::time::Timestamp;

use super::input::Generated;
use super::{BatchInput, Partition, ReadLimit, ReadPlan, RowChunk, Source, SourceContext};

/// Generates `rows_per_second` rows per second, numbered 0, 1, 2, ... with no gaps or repeats.
///
/// Offsets are whole seconds since the query started; a batch covering seconds `[a, b)`
/// holds the values generated in that time, and the row with value `v` is stamped
/// `start + a s + round((v - first) * (b - a) s / count)` in milliseconds, exactly as Spark
/// stamps them. With `ramp_up_time`, the rate grows linearly to `rows_per_second` over that
/// time. With `num_partitions` > 1, a batch lists partition 0's values first
/// (`first, first + n, ...`), then partition 1's, as Spark's console shows them.
///
/// ```
/// use sluice::source::RateSource;
/// let rate = RateSource::new().rows_per_second(5);
/// assert_eq!(rate.to_string(), "RateStreamV2[rowsPerSecond=5, rampUpTimeSeconds=0, numPartitions=1]");
/// ```
#[derive(Debug, Clone)]
pub struct RateSource {
    rows_per_second: u64,
    ramp_up_seconds: u64,
    num_partitions: u64,
    start_millis: Option<i64>,
    clock: Option<Clock>,
    last_time_ms: i64,
    snapshot_seconds: Option<i64>,
}

impl Default for RateSource {
    fn default() -> Self {
        RateSource::new()
    }
}

impl std::fmt::Display for RateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RateStreamV2[rowsPerSecond={}, rampUpTimeSeconds={}, numPartitions={}]",
            self.rows_per_second, self.ramp_up_seconds, self.num_partitions
        )
    }
}

impl RateSource {
    /// One row per second, no ramp-up, one partition.
    pub fn new() -> Self {
        RateSource {
            rows_per_second: 1,
            ramp_up_seconds: 0,
            num_partitions: 1,
            start_millis: None,
            clock: None,
            last_time_ms: 0,
            snapshot_seconds: None,
        }
    }

    /// Spark's `rowsPerSecond` (must be positive; checked when the query starts).
    pub fn rows_per_second(mut self, n: u64) -> Self {
        self.rows_per_second = n;
        self
    }

    /// Spark's `rampUpTime`, rounded down to whole seconds.
    pub fn ramp_up_time(mut self, d: Duration) -> Self {
        self.ramp_up_seconds = d.as_secs();
        self
    }

    /// Spark's `numPartitions` (must be positive).
    pub fn num_partitions(mut self, n: u64) -> Self {
        self.num_partitions = n;
        self
    }

    /// Fixes the time the stream started (ms since the epoch), instead of the query's start.
    /// A restarted query passes the original start so values and timestamps continue.
    pub fn start_millis(mut self, millis: i64) -> Self {
        self.start_millis = Some(millis);
        self
    }

    /// The start time in use (known once the query has started).
    pub fn started_at_millis(&self) -> Option<i64> {
        self.start_millis
    }

    fn validate(&self) -> Result<()> {
        let bad = |option: &str, value: u64| {
            Err(Error::InvalidArgument(format!(
                "Invalid value '{value}'. The option '{option}' must be positive"
            )))
        };
        if self.rows_per_second == 0 {
            return bad("rowsPerSecond", 0);
        }
        if self.num_partitions == 0 {
            return bad("numPartitions", 0);
        }
        Ok(())
    }

    /// The first value generated after `seconds` seconds (Spark's `valueAtSecond`).
    pub fn value_at_second(&self, seconds: i64) -> i64 {
        value_at_second(
            seconds,
            self.rows_per_second as i64,
            self.ramp_up_seconds as i64,
        )
    }
}

/// Spark's `RateStreamProvider.valueAtSecond`: with a ramp-up the rate grows by
/// `rows_per_second / (ramp_up + 1)` each second until it reaches the full rate.
pub fn value_at_second(seconds: i64, rows_per_second: i64, ramp_up_seconds: i64) -> i64 {
    let speed_delta = rows_per_second / (ramp_up_seconds + 1);
    if seconds <= ramp_up_seconds {
        if seconds % 2 == 1 {
            (seconds + 1) / 2 * speed_delta * seconds
        } else {
            seconds / 2 * speed_delta * (seconds + 1)
        }
    } else {
        let ramp_up_part = value_at_second(ramp_up_seconds, rows_per_second, ramp_up_seconds);
        ramp_up_part + (seconds - ramp_up_seconds) * rows_per_second
    }
}

impl Source for RateSource {
    type Row = RateRow;
    type Offset = i64;

    fn description(&self) -> String {
        self.to_string()
    }

    fn open(&mut self, ctx: &SourceContext) -> Result<()> {
        self.validate()?;
        let now = ctx.clock.now_millis();
        self.clock = Some(ctx.clock);
        let start = *self.start_millis.get_or_insert(now);
        self.last_time_ms = self.last_time_ms.max(start);
        Ok(())
    }

    fn latest_offset(&mut self, _start: Option<&i64>, _limit: ReadLimit) -> Result<Option<i64>> {
        let clock = self.clock.expect("rate source opened");
        let start = self.start_millis.expect("rate source opened");
        let now = clock.now_millis();
        if self.last_time_ms < now {
            self.last_time_ms = now;
        }
        let mut seconds = (self.last_time_ms - start) / 1000;
        if let Some(cap) = self.snapshot_seconds {
            seconds = seconds.min(cap);
        }
        Ok(Some(seconds))
    }

    fn get_batch(&mut self, start: Option<&i64>, end: &i64) -> Result<Vec<RowChunk<RateRow>>> {
        let plan = ReadPlan {
            tasks: 1,
            chunk_rows: usize::MAX,
        };
        let mut rows = Vec::new();
        self.read_batch(start, end, plan)?
            .for_each_chunk(usize::MAX, |chunk| {
                rows.extend_from_slice(chunk);
                Ok(())
            })?;
        Ok(vec![RowChunk::Owned(rows)])
    }

    /// Spark's `num_partitions` partitions (partition `p` holds the values `first + p`,
    /// `first + p + n`, ...), each cut into contiguous blocks so that every task has one (see
    /// [`ReadPlan::splits`]), the rows generated chunk by chunk as a task reads them.
    fn read_batch(
        &mut self,
        start: Option<&i64>,
        end: &i64,
        plan: ReadPlan,
    ) -> Result<BatchInput<RateRow>> {
        let start_seconds = start.copied().unwrap_or(0);
        let end_seconds = *end;
        let origin = self.start_millis.expect("rate source opened");
        // A restarted query may ask for a range ending later than the clock: catch up.
        self.last_time_ms = self.last_time_ms.max(origin + end_seconds * 1000);
        let range_start = self.value_at_second(start_seconds);
        let range_end = self.value_at_second(end_seconds);
        if range_start >= range_end {
            return Ok(BatchInput::empty());
        }
        let stamps = RateStamps {
            local_start_ms: origin + start_seconds * 1000,
            range_start,
            ms_per_value: ((end_seconds - start_seconds) * 1000) as f64
                / (range_end - range_start) as f64,
        };
        let partitions = self.num_partitions as i64;
        let per_partition = plan.tasks.div_ceil(self.num_partitions as usize);
        let mut readers: Vec<Partition<RateRow>> = Vec::new();
        for p in 0..partitions {
            // The partition's values are first + p + i * n for i in 0..count.
            let first = range_start + p;
            if first >= range_end {
                continue;
            }
            let count = ((range_end - first + partitions - 1) / partitions) as u64;
            let blocks = plan.splits(count as usize, per_partition) as u64;
            for b in 0..blocks {
                let (from, to) = (count * b / blocks, count * (b + 1) / blocks);
                if from == to {
                    continue;
                }
                readers.push(Box::new(Generated::new(from, to, move |a: u64, z: u64| {
                    (a..z)
                        .map(|i| stamps.row(first + i as i64 * partitions))
                        .collect::<Vec<_>>()
                })));
            }
        }
        Ok(BatchInput::new(readers))
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.snapshot_seconds = self.latest_offset(None, ReadLimit::AllAvailable)?;
        Ok(())
    }

    fn checkpoint_metadata(&self) -> Option<serde_json::Value> {
        self.start_millis
            .map(|ms| serde_json::json!({ "start_millis": ms }))
    }

    fn restore_metadata(&mut self, metadata: serde_json::Value) -> Result<()> {
        match metadata
            .get("start_millis")
            .and_then(serde_json::Value::as_i64)
        {
            Some(ms) => {
                self.start_millis = Some(ms);
                Ok(())
            }
            None => Err(Error::Source {
                source_name: self.to_string(),
                message: format!("checkpoint metadata without a start time: {metadata}"),
            }),
        }
    }
}

/// How the rows of one batch are stamped: Spark spreads a batch's values evenly over its
/// seconds.
#[derive(Debug, Clone, Copy)]
struct RateStamps {
    local_start_ms: i64,
    range_start: i64,
    ms_per_value: f64,
}

impl RateStamps {
    #[inline]
    fn row(&self, value: i64) -> RateRow {
        // Java's Math.round: floor(x + 0.5); x is never negative here.
        let relative = ((value - self.range_start) as f64 * self.ms_per_value + 0.5).floor() as i64;
        RateRow {
            timestamp: Timestamp::from_millis(self.local_start_ms + relative),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_at_second_matches_spark() {
        // The table in Spark's source comment: rampUpTimeSeconds = 4, rowsPerSecond = 10.
        let ends: Vec<i64> = (0..=6).map(|s| value_at_second(s, 10, 4)).collect();
        assert_eq!(ends, vec![0, 2, 6, 12, 20, 30, 40]);
        assert_eq!(value_at_second(3, 5, 0), 15);
    }

    #[tokio::test(start_paused = true)]
    async fn rows_and_timestamps() {
        let clock = Clock::starting_at(Timestamp::from_millis(1_000_000));
        let mut rate = RateSource::new().rows_per_second(4);
        rate.open(&SourceContext {
            clock,
            metadata_dir: None,
        })
        .unwrap();
        assert_eq!(
            rate.latest_offset(None, ReadLimit::Configured).unwrap(),
            Some(0)
        );
        assert!(rate.get_batch(None, &0).unwrap()[0].is_empty());
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(
            rate.latest_offset(Some(&0), ReadLimit::Configured).unwrap(),
            Some(2)
        );
        let rows = rate.get_batch(Some(&0), &2).unwrap();
        let got: Vec<(i64, i64)> = rows[0]
            .iter()
            .map(|r| (r.value, r.timestamp.as_millis() - 1_000_000))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 0),
                (1, 250),
                (2, 500),
                (3, 750),
                (4, 1000),
                (5, 1250),
                (6, 1500),
                (7, 1750)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn partitions_interleave_like_spark() {
        let clock = Clock::starting_at(Timestamp::from_millis(0));
        let mut rate = RateSource::new().rows_per_second(6).num_partitions(2);
        rate.open(&SourceContext {
            clock,
            metadata_dir: None,
        })
        .unwrap();
        let rows = rate.get_batch(Some(&0), &1).unwrap();
        let values: Vec<i64> = rows[0].iter().map(|r| r.value).collect();
        assert_eq!(values, vec![0, 2, 4, 1, 3, 5]);
        let rows = rate.get_batch(Some(&1), &2).unwrap();
        assert_eq!(
            rows[0].iter().map(|r| r.value).min(),
            Some(6),
            "no gap, no repeat"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_is_cut_into_a_block_per_task_read_in_bounded_chunks() {
        let clock = Clock::starting_at(Timestamp::from_millis(0));
        let mut rate = RateSource::new().rows_per_second(30_000).num_partitions(2);
        rate.open(&SourceContext {
            clock,
            metadata_dir: None,
        })
        .unwrap();
        let whole = rate.get_batch(Some(&0), &1).unwrap()[0].to_vec();
        let plan = ReadPlan {
            tasks: 5,
            chunk_rows: 4096,
        };
        let input = rate.read_batch(Some(&0), &1, plan).unwrap();
        // Two Spark partitions of 15 000 values, each cut into 3 blocks of 5 000 (5 tasks over
        // 2 partitions), each block read as a chunk of 4 096 rows and one of 904.
        assert_eq!(input.len(), 6);
        let mut chunks = Vec::new();
        let mut rows = Vec::new();
        let read = input
            .for_each_chunk(plan.chunk_rows, |c| {
                chunks.push(c.len());
                rows.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
        assert_eq!(read, 30_000);
        assert_eq!(chunks, [4096, 904].repeat(6));
        // The first block of partition 1 starts at value 1, after partition 0's last (29 998).
        assert_eq!(rows[14_999].value, 29_998);
        assert_eq!(rows[15_000].value, 1);
        // The same rows and timestamps, in the same order, as read whole.
        assert_eq!(
            rows.iter()
                .map(|r| (r.value, r.timestamp))
                .collect::<Vec<_>>(),
            whole
                .iter()
                .map(|r| (r.value, r.timestamp))
                .collect::<Vec<_>>()
        );
        // A small batch is not cut: blocks below 4 096 rows are not worth a task.
        let mut small = RateSource::new().rows_per_second(100).num_partitions(2);
        small
            .open(&SourceContext {
                clock: Clock::starting_at(Timestamp::from_millis(0)),
                metadata_dir: None,
            })
            .unwrap();
        assert_eq!(small.read_batch(Some(&0), &1, plan).unwrap().len(), 2);
    }

    #[test]
    fn rejects_bad_options() {
        let mut rate = RateSource::new().rows_per_second(0);
        let err = rate
            .open(&SourceContext {
                clock: Clock::system(),
                metadata_dir: None,
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value '0'. The option 'rowsPerSecond' must be positive"
        );
    }
}
