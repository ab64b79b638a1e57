//! Triggers: when a micro-batch starts (Spark's `Trigger`), or how often a continuous query
//! checkpoints its progress ([`ContinuousTrigger`], Spark's `Trigger.Continuous`).

use std::time::Duration;

use crate::error::Error;
use crate::time::parse_duration;

/// When the next micro-batch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trigger {
    /// Spark's default: a batch starts as soon as the previous one finished and new data is
    /// available (the source is polled every 10 ms while idle).
    #[default]
    Default,
    /// `Trigger.ProcessingTime(interval)`: batches start at multiples of the interval
    /// (aligned to the epoch). A batch that overruns its slot is followed at once by the next,
    /// and the slots it missed are skipped, as in Spark's `ProcessingTimeExecutor`.
    ProcessingTime(Duration),
    /// `Trigger.Once()`: one batch with everything available, then the query stops.
    Once,
    /// `Trigger.AvailableNow()`: everything available at start, in as many batches as the
    /// source's per-trigger limit requires, then the query stops.
    AvailableNow,
}

impl Trigger {
    /// `Trigger.ProcessingTime("5 seconds")`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sluice::trigger::Trigger;
    /// assert_eq!(Trigger::processing_time("5 seconds").unwrap(), Trigger::ProcessingTime(Duration::from_secs(5)));
    /// ```
    pub fn processing_time(interval: &str) -> Result<Trigger, Error> {
        let d = parse_duration(interval).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        Ok(Trigger::ProcessingTime(d))
    }

    /// `Trigger.Continuous("1 second")`: run the query continuously — rows flow from the source
    /// through the query to the sink as they arrive — and checkpoint its progress every
    /// `interval` (an *epoch*). Its own type, so that `.trigger(...)` with it gives a writer
    /// whose `start` accepts only what can run continuously (see [`crate::continuous`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sluice::trigger::Trigger;
    /// let trigger = Trigger::continuous("1 second").unwrap();
    /// assert_eq!(trigger.interval(), Duration::from_secs(1));
    /// assert_eq!(trigger.to_string(), "Continuous(1 second)");
    /// assert!(Trigger::continuous("0 seconds").is_err());
    /// ```
    pub fn continuous(interval: &str) -> Result<ContinuousTrigger, Error> {
        let d = parse_duration(interval).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        ContinuousTrigger::every(d)
    }

    /// The interval of a processing-time trigger in milliseconds (0 for the default trigger).
    pub(crate) fn interval_millis(&self) -> i64 {
        match self {
            Trigger::ProcessingTime(d) => d.as_millis() as i64,
            _ => 0,
        }
    }
}

impl std::fmt::Display for Trigger {
    /// `Default`, `ProcessingTime(5 seconds)`, `Once`, `AvailableNow`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Default => f.write_str("Default"),
            Trigger::ProcessingTime(d) => write!(
                f,
                "ProcessingTime({})",
                crate::time::format_interval(d.as_micros() as i64)
            ),
            Trigger::Once => f.write_str("Once"),
            Trigger::AvailableNow => f.write_str("AvailableNow"),
        }
    }
}

/// Spark's `Trigger.Continuous(interval)`: the query runs continuously and every `interval`
/// an epoch ends — the offsets reached are written to the checkpoint and, once the sink
/// acknowledged the epoch's rows, committed. Built by [`Trigger::continuous`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuousTrigger {
    interval: Duration,
}

impl ContinuousTrigger {
    /// A continuous trigger with an epoch every `interval`, which must be positive (an epoch
    /// writes two checkpoint files; a zero interval would write them in a loop).
    pub fn every(interval: Duration) -> Result<ContinuousTrigger, Error> {
        if interval.is_zero() {
            return Err(Error::InvalidArgument(
                "the interval of a continuous trigger must be positive: it is how often the query checkpoints its progress".into(),
            ));
        }
        Ok(ContinuousTrigger { interval })
    }

    /// How often an epoch ends.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl std::fmt::Display for ContinuousTrigger {
    /// `Continuous(1 second)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Continuous({})",
            crate::time::format_interval(self.interval.as_micros() as i64)
        )
    }
}

/// What `DataStreamWriter::trigger` takes: a [`Trigger`] (micro-batch execution) or a
/// [`ContinuousTrigger`] (continuous execution). Sealed: the writer's `start` is written for
/// these two.
pub trait QueryTrigger: sealed::Sealed + Copy + std::fmt::Display + Send + 'static {}
impl QueryTrigger for Trigger {}
impl QueryTrigger for ContinuousTrigger {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Trigger {}
    impl Sealed for super::ContinuousTrigger {}
}

/// The start of the next slot of a processing-time trigger after `now_ms`: Spark's
/// `ProcessingTimeExecutor.nextBatchTime`, the next multiple of the interval.
pub(crate) fn next_batch_time(now_ms: i64, interval_ms: i64) -> i64 {
    if interval_ms == 0 {
        now_ms
    } else {
        (now_ms / interval_ms + 1) * interval_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_multiples_of_the_interval() {
        assert_eq!(next_batch_time(0, 5_000), 5_000);
        assert_eq!(next_batch_time(4_999, 5_000), 5_000);
        assert_eq!(next_batch_time(5_000, 5_000), 10_000);
        assert_eq!(next_batch_time(12_345, 5_000), 15_000);
        assert!(Trigger::processing_time("five").is_err());
        assert_eq!(
            Trigger::processing_time("1 minute").unwrap().to_string(),
            "ProcessingTime(1 minute)"
        );
        assert_eq!(Trigger::Default.to_string(), "Default");
    }
}
