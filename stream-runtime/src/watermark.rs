//! The event-time watermark: Spark's `WatermarkTracker`.
//!
//! Each `watermark` clause is a node that reports the event times it saw in a batch. After the
//! batch, each node's watermark becomes `max event time - delay` if that is later than before;
//! the global watermark is the minimum over the nodes (Spark's default `min` policy) and never
//! moves backwards. Spark keeps watermarks in milliseconds, so event times are truncated to
//! milliseconds first. The watermark computed after batch N is the one batch N+1 runs under.

use crate::pipeline::{EventTimeStats, WatermarkSpec};
use crate::time::{MICROS_PER_MILLI, Timestamp};

/// Tracks the global watermark of one query.
///
/// ```
/// use sluice::pipeline::{EventTimeStats, WatermarkSpec};
/// use sluice::time::Timestamp;
/// use sluice::watermark::WatermarkTracker;
/// let specs = [WatermarkSpec { column: "ts", delay_micros: 30_000_000 }];
/// let mut wm = WatermarkTracker::new(&specs);
/// assert_eq!(wm.current(), Timestamp::EPOCH);
/// let mut seen = EventTimeStats::default();
/// seen.observe(Timestamp::from_secs(100).as_micros());
/// wm.update(&[seen]);
/// assert_eq!(wm.current(), Timestamp::from_secs(70));
/// ```
#[derive(Debug, Clone)]
pub struct WatermarkTracker {
    delays_ms: Vec<i64>,
    per_node_ms: Vec<Option<i64>>,
    global_ms: i64,
}

impl WatermarkTracker {
    /// A tracker for the given watermark clauses, starting at the epoch as Spark's does.
    pub fn new(specs: &[WatermarkSpec]) -> Self {
        WatermarkTracker {
            delays_ms: specs.iter().map(WatermarkSpec::delay_millis).collect(),
            per_node_ms: vec![None; specs.len()],
            global_ms: 0,
        }
    }

    /// A tracker resumed at a known global watermark (from a checkpoint).
    pub fn resumed(specs: &[WatermarkSpec], watermark: Timestamp) -> Self {
        let mut t = WatermarkTracker::new(specs);
        t.global_ms = watermark.as_millis();
        t
    }

    /// Each node's own watermark (ms), for a checkpoint.
    pub fn node_watermarks_ms(&self) -> Vec<Option<i64>> {
        self.per_node_ms.clone()
    }

    /// A tracker resumed from a checkpoint: the global watermark and each node's.
    pub fn restored(
        specs: &[WatermarkSpec],
        watermark: Timestamp,
        nodes_ms: &[Option<i64>],
    ) -> Self {
        let mut t = WatermarkTracker::resumed(specs, watermark);
        for (slot, saved) in t.per_node_ms.iter_mut().zip(nodes_ms) {
            *slot = *saved;
        }
        t
    }

    /// The current global watermark.
    pub fn current(&self) -> Timestamp {
        Timestamp::from_millis(self.global_ms)
    }

    /// Folds in the event-time statistics of a finished batch (one entry per node).
    pub fn update(&mut self, stats: &[EventTimeStats]) {
        if self.delays_ms.is_empty() {
            return;
        }
        for (i, s) in stats.iter().enumerate().take(self.delays_ms.len()) {
            if s.count > 0 {
                let candidate = s.max / MICROS_PER_MILLI - self.delays_ms[i];
                let node = &mut self.per_node_ms[i];
                if node.is_none_or(|prev| candidate > prev) {
                    *node = Some(candidate);
                }
            } else if self.per_node_ms[i].is_none() {
                // A node that has seen no data yet counts as 0, as in Spark.
                self.per_node_ms[i] = Some(0);
            }
        }
        let chosen = self
            .per_node_ms
            .iter()
            .map(|w| w.unwrap_or(0))
            .min()
            .unwrap_or(0);
        if chosen > self.global_ms {
            self.global_ms = chosen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(max_ms: i64) -> EventTimeStats {
        let mut s = EventTimeStats::default();
        s.observe(max_ms * 1000);
        s
    }

    #[test]
    fn only_moves_forward() {
        let spec = [WatermarkSpec {
            column: "ts",
            delay_micros: 30_000_000,
        }];
        let mut wm = WatermarkTracker::new(&spec);
        wm.update(&[stats(100_000)]);
        assert_eq!(wm.current(), Timestamp::from_millis(70_000));
        wm.update(&[stats(50_000)]);
        assert_eq!(wm.current(), Timestamp::from_millis(70_000));
        wm.update(&[EventTimeStats::default()]);
        assert_eq!(
            wm.current(),
            Timestamp::from_millis(70_000),
            "an empty batch carries it forward"
        );
    }

    #[test]
    fn millisecond_truncation_and_exact_delay() {
        let spec = [WatermarkSpec {
            column: "ts",
            delay_micros: 30_000_000,
        }];
        let mut wm = WatermarkTracker::new(&spec);
        let mut s = EventTimeStats::default();
        s.observe(9_999_999); // 9.999999 s: Spark sees 9999 ms
        wm.update(&[s]);
        assert_eq!(
            wm.current(),
            Timestamp::from_millis(0),
            "negative candidates do not lower it"
        );
        let mut s = EventTimeStats::default();
        s.observe(39_999_999);
        wm.update(&[s]);
        assert_eq!(wm.current(), Timestamp::from_millis(9_999));
    }

    #[test]
    fn several_watermarks_take_the_minimum() {
        let specs = [
            WatermarkSpec {
                column: "a",
                delay_micros: 10_000_000,
            },
            WatermarkSpec {
                column: "b",
                delay_micros: 0,
            },
        ];
        let mut wm = WatermarkTracker::new(&specs);
        wm.update(&[stats(100_000), EventTimeStats::default()]);
        assert_eq!(
            wm.current(),
            Timestamp::EPOCH,
            "a node without data holds it at 0"
        );
        wm.update(&[stats(100_000), stats(50_000)]);
        assert_eq!(wm.current(), Timestamp::from_millis(50_000));
        wm.update(&[stats(200_000), stats(300_000)]);
        assert_eq!(wm.current(), Timestamp::from_millis(190_000));
    }
}
