//! Triggers: when a micro-batch starts (Spark's `Trigger`).

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
