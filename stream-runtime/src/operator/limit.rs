//! The global `limit` of a query without aggregation (Spark's `StreamingGlobalLimitExec`): the
//! first `n` rows the query ever emits pass, across batches; its state is how many have.

use crate::error::Error;
use crate::state;

/// How many rows a stateless query's `limit` has let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalLimit {
    limit: u64,
    emitted: u64,
}

impl GlobalLimit {
    /// A limit of `limit` rows, none emitted yet.
    pub const fn new(limit: u64) -> Self {
        GlobalLimit { limit, emitted: 0 }
    }

    /// Whether the limit has been reached: no further row can pass.
    #[inline]
    pub fn is_reached(&self) -> bool {
        self.emitted >= self.limit
    }

    /// How many more rows the limit lets through.
    #[inline]
    pub fn room(&self) -> usize {
        usize::try_from(self.limit.saturating_sub(self.emitted)).unwrap_or(usize::MAX)
    }

    /// Keeps, of the rows appended to `out` after index `start`, those the limit still lets
    /// through, and counts them.
    ///
    /// ```
    /// use stream_runtime::operator::GlobalLimit;
    /// let mut limit = GlobalLimit::new(3);
    /// let mut out = vec![1, 2];
    /// limit.apply(&mut out, 0);
    /// out.extend([3, 4, 5]);
    /// limit.apply(&mut out, 2);
    /// assert_eq!(out, [1, 2, 3]);
    /// assert!(limit.is_reached());
    /// ```
    pub fn apply<R>(&mut self, out: &mut Vec<R>, start: usize) {
        out.truncate(start.saturating_add(self.room()).min(out.len()));
        self.emitted += (out.len() - start) as u64;
    }

    /// The state (1 row: the count), for progress.
    pub fn state_rows(&self) -> usize {
        1
    }

    /// Serialises the count of rows emitted.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        state::encode(&self.emitted)
    }

    /// Restores the count written by [`GlobalLimit::snapshot`].
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.emitted = state::decode(bytes)?;
        Ok(())
    }
}
