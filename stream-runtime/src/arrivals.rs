//! A count of arrivals a thread can wait on: a source that buffers rows in the background (the
//! memory stream's `add_data`, the socket source's reading task) signals each arrival, and a
//! continuous reader waits for the next one instead of polling.

use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// How many times something arrived; waiters wake on every arrival.
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    count: Mutex<u64>,
    arrived: Condvar,
}

impl Arrivals {
    /// The arrivals so far. Read it *before* looking for what arrived, then wait past it: an
    /// arrival in between is not missed.
    pub(crate) fn seen(&self) -> u64 {
        *self.count.lock().expect("arrivals lock")
    }

    /// Something arrived.
    pub(crate) fn signal(&self) {
        *self.count.lock().expect("arrivals lock") += 1;
        self.arrived.notify_all();
    }

    /// Waits until there were more than `seen` arrivals, or until `deadline`.
    pub(crate) fn wait_past(&self, seen: u64, deadline: Instant) {
        let mut count = self.count.lock().expect("arrivals lock");
        while *count <= seen {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            count = self
                .arrived
                .wait_timeout(count, deadline - now)
                .expect("arrivals lock")
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_waiter_wakes_on_an_arrival_and_not_before() {
        let arrivals = Arc::new(Arrivals::default());
        let seen = arrivals.seen();
        // Nothing arrives: the wait lasts until the deadline.
        let started = Instant::now();
        arrivals.wait_past(seen, started + Duration::from_millis(30));
        assert!(started.elapsed() >= Duration::from_millis(30));
        // An arrival before the wait is not missed.
        arrivals.signal();
        let started = Instant::now();
        arrivals.wait_past(seen, started + Duration::from_secs(30));
        assert!(started.elapsed() < Duration::from_secs(30));
        // An arrival from another thread wakes the waiter.
        let seen = arrivals.seen();
        let other = Arc::clone(&arrivals);
        let signaller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.signal();
        });
        arrivals.wait_past(seen, Instant::now() + Duration::from_secs(30));
        assert_eq!(arrivals.seen(), seen + 1);
        signaller.join().unwrap();
    }
}
