//! Processing time. A [`Clock`] maps tokio's monotonic clock onto wall-clock [`Timestamp`]s, so
//! a test that pauses tokio's time (`#[tokio::test(start_paused = true)]`) drives triggers, the
//! rate source and `current_timestamp()` deterministically, without sleeping.

use std::time::Duration;

use tokio::time::Instant;

use crate::time::Timestamp;

/// The clock a query reads processing time from.
///
/// ```
/// use sluice::clock::Clock;
/// use sluice::time::Timestamp;
/// let clock = Clock::starting_at(Timestamp::from_secs(1_700_000_000));
/// assert!(clock.now() >= Timestamp::from_secs(1_700_000_000));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin_wall: Timestamp,
    origin: Instant,
}

impl Clock {
    /// The system clock: the current wall-clock time, advancing with tokio's clock (real time
    /// unless a test paused it).
    pub fn system() -> Self {
        Clock {
            origin_wall: Timestamp::now(),
            origin: Instant::now(),
        }
    }

    /// A clock that reads `start` now and advances with tokio's clock. Under a paused tokio
    /// runtime this makes every processing time in a test exact.
    pub fn starting_at(start: Timestamp) -> Self {
        Clock {
            origin_wall: start,
            origin: Instant::now(),
        }
    }

    /// The current processing time.
    pub fn now(&self) -> Timestamp {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        self.origin_wall.plus_micros(elapsed.as_micros() as i64)
    }

    /// Milliseconds since the epoch, as the JVM's `System.currentTimeMillis()`.
    pub fn now_millis(&self) -> i64 {
        self.now().as_millis()
    }

    /// The tokio instant at which this clock reads `at`.
    pub fn instant_at(&self, at: Timestamp) -> Instant {
        let delta = at.as_micros() - self.origin_wall.as_micros();
        if delta <= 0 {
            self.origin
        } else {
            self.origin + Duration::from_micros(delta as u64)
        }
    }

    /// Sleeps until the clock reads `at` (returns at once if it already does).
    pub async fn sleep_until(&self, at: Timestamp) {
        tokio::time::sleep_until(self.instant_at(at)).await;
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let clock = Clock::starting_at(Timestamp::from_secs(100));
        assert_eq!(clock.now(), Timestamp::from_secs(100));
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(clock.now(), Timestamp::from_millis(101_500));
        clock.sleep_until(Timestamp::from_secs(105)).await;
        assert_eq!(clock.now(), Timestamp::from_secs(105));
        assert_eq!(clock.now_millis(), 105_000);
    }
}
