//! Aggregation state: the accumulators generated pipelines keep per group, one small `Copy`
//! struct per aggregate function (`avg` is a sum and a count, never a list), and the hash map
//! type they live in.
//!
//! Each accumulator implements Spark's null semantics: `count(*)` counts rows, every other
//! aggregate skips nulls (the generated code simply does not call `update` for a null input), and
//! an aggregate that saw no value returns null (`None`).

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::functions::cmp_f64;
use crate::time::Timestamp;

/// The hasher state maps use: foldhash with a fixed seed, so a pipeline's group order (and
/// therefore the order rows reach a console) is the same on every run.
pub type FixedState = foldhash::fast::FixedState;

/// The hash map type holding a stateful pipeline's groups.
pub type StateMap<K, V> = hashbrown::HashMap<K, V, FixedState>;

/// A new, empty [`StateMap`].
pub fn new_state_map<K, V>() -> StateMap<K, V> {
    state_map_with_capacity(0)
}

/// Serialises pipeline state for a checkpoint snapshot (compact binary, `postcard`).
pub fn encode<T: Serialize + ?Sized>(state: &T) -> Result<Vec<u8>, Error> {
    postcard::to_allocvec(state).map_err(|e| Error::Execution {
        class: "INTERNAL_ERROR",
        message: format!("cannot serialise the state: {e}"),
    })
}

/// Reads pipeline state written by [`encode`].
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    postcard::from_bytes(bytes).map_err(|e| Error::Checkpoint {
        path: std::path::PathBuf::from("state"),
        message: format!("the state snapshot does not match this pipeline's state layout: {e}"),
    })
}

/// A state map pre-sized for `n` groups.
pub fn state_map_with_capacity<K, V>(n: usize) -> StateMap<K, V> {
    StateMap::with_capacity_and_hasher(n, FixedState::with_seed(0x005e_ed51))
}

/// `count(*)` or `count(col)`: a row counter (the generated code skips null inputs for
/// `count(col)`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count(pub i64);

impl Count {
    /// Counts one row.
    #[inline]
    pub fn update(&mut self) {
        self.0 += 1;
    }

    /// The count (never null).
    #[inline]
    pub fn result(&self) -> i64 {
        self.0
    }
}

/// `sum(col)` of longs or ints: a long; overflow is `[ARITHMETIC_OVERFLOW]` (ANSI).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SumI64 {
    sum: i64,
    seen: bool,
}

impl SumI64 {
    /// Adds a value.
    #[inline]
    pub fn update(&mut self, v: i64) -> Result<(), Error> {
        self.sum = self
            .sum
            .checked_add(v)
            .ok_or_else(|| Error::arithmetic_overflow("long"))?;
        self.seen = true;
        Ok(())
    }

    /// The sum, or null if no non-null value was added.
    #[inline]
    pub fn result(&self) -> Option<i64> {
        self.seen.then_some(self.sum)
    }
}

/// `sum(col)` of doubles.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumF64 {
    sum: f64,
    seen: bool,
}

impl SumF64 {
    /// Adds a value.
    #[inline]
    pub fn update(&mut self, v: f64) {
        self.sum += v;
        self.seen = true;
    }

    /// The sum, or null if no non-null value was added.
    #[inline]
    pub fn result(&self) -> Option<f64> {
        self.seen.then_some(self.sum)
    }
}

/// `avg(col)`: a double sum and a count; the result is `sum / count` as Spark computes it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Avg {
    sum: f64,
    count: i64,
}

impl Avg {
    /// Adds a value (longs and ints are converted to double first, as Spark does).
    #[inline]
    pub fn update(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
    }

    /// The mean, or null if no non-null value was added.
    #[inline]
    pub fn result(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// A value `min`/`max` can order with Spark's ordering (NaN greatest for doubles).
pub trait SparkOrd: Copy {
    /// `self < other` in Spark's order.
    fn spark_lt(self, other: Self) -> bool;
    /// The greatest value in Spark's order (NaN for doubles): the start of a running minimum.
    const GREATEST: Self;
    /// The least value in Spark's order: the start of a running maximum.
    const LEAST: Self;
}

macro_rules! spark_ord_total {
    ($($ty:ty: $least:expr, $greatest:expr;)*) => {$(
        impl SparkOrd for $ty {
            #[inline]
            fn spark_lt(self, other: Self) -> bool {
                self < other
            }
            const GREATEST: Self = $greatest;
            const LEAST: Self = $least;
        }
    )*};
}
spark_ord_total! {
    i32: i32::MIN, i32::MAX;
    i64: i64::MIN, i64::MAX;
    bool: false, true;
    Timestamp: Timestamp::from_micros(i64::MIN), Timestamp::from_micros(i64::MAX);
}

impl SparkOrd for f64 {
    #[inline]
    fn spark_lt(self, other: Self) -> bool {
        cmp_f64(self, other).is_lt()
    }
    const GREATEST: Self = f64::NAN;
    const LEAST: Self = f64::NEG_INFINITY;
}

/// `min(col)` over a `Copy` type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Min<T> {
    value: Option<T>,
}

impl<T: SparkOrd> Min<T> {
    /// Offers a value.
    #[inline]
    pub fn update(&mut self, v: T) {
        match self.value {
            Some(cur) if !v.spark_lt(cur) => {}
            _ => self.value = Some(v),
        }
    }

    /// The minimum, or null if no value was offered.
    #[inline]
    pub fn result(&self) -> Option<T> {
        self.value
    }
}

/// `max(col)` over a `Copy` type (`max(4, NaN) = NaN`, as in Spark).
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Max<T> {
    value: Option<T>,
}

impl<T: SparkOrd> Max<T> {
    /// Offers a value.
    #[inline]
    pub fn update(&mut self, v: T) {
        match self.value {
            Some(cur) if !cur.spark_lt(v) => {}
            _ => self.value = Some(v),
        }
    }

    /// The maximum, or null if no value was offered.
    #[inline]
    pub fn result(&self) -> Option<T> {
        self.value
    }
}

/// `sum(col)` of longs or ints in a group that exists only because a row arrived, with a
/// non-null argument: never null, so no "seen" flag.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SumI64NonNull(i64);

impl SumI64NonNull {
    /// Adds a value; overflow is `[ARITHMETIC_OVERFLOW]`.
    #[inline]
    pub fn update(&mut self, v: i64) -> Result<(), Error> {
        self.0 = self
            .0
            .checked_add(v)
            .ok_or_else(|| Error::arithmetic_overflow("long"))?;
        Ok(())
    }

    /// The sum.
    #[inline]
    pub fn result(&self) -> i64 {
        self.0
    }
}

/// `sum(col)` of doubles with a non-null argument in a keyed group: never null.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumF64NonNull(f64);

impl SumF64NonNull {
    /// Adds a value.
    #[inline]
    pub fn update(&mut self, v: f64) {
        self.0 += v;
    }

    /// The sum.
    #[inline]
    pub fn result(&self) -> f64 {
        self.0
    }
}

/// `min(col)` with a non-null argument in a keyed group: starts at the greatest value in
/// Spark's order, which the group's first row always replaces (or equals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinNonNull<T>(T);

impl<T: SparkOrd> Default for MinNonNull<T> {
    fn default() -> Self {
        MinNonNull(T::GREATEST)
    }
}

impl<T: SparkOrd> MinNonNull<T> {
    /// Offers a value.
    #[inline]
    pub fn update(&mut self, v: T) {
        if v.spark_lt(self.0) {
            self.0 = v;
        }
    }

    /// The minimum.
    #[inline]
    pub fn result(&self) -> T {
        self.0
    }
}

/// `max(col)` with a non-null argument in a keyed group: starts at the least value in Spark's
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaxNonNull<T>(T);

impl<T: SparkOrd> Default for MaxNonNull<T> {
    fn default() -> Self {
        MaxNonNull(T::LEAST)
    }
}

impl<T: SparkOrd> MaxNonNull<T> {
    /// Offers a value.
    #[inline]
    pub fn update(&mut self, v: T) {
        if self.0.spark_lt(v) {
            self.0 = v;
        }
    }

    /// The maximum.
    #[inline]
    pub fn result(&self) -> T {
        self.0
    }
}

/// `min(col)` over strings: clones only when the minimum changes.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinStr {
    value: Option<String>,
}

impl MinStr {
    /// Offers a value.
    #[inline]
    pub fn update(&mut self, v: &str) {
        match &self.value {
            Some(cur) if cur.as_str() <= v => {}
            _ => self.value = Some(v.to_string()),
        }
    }

    /// The minimum, or null if no value was offered.
    #[inline]
    pub fn result(&self) -> Option<String> {
        self.value.clone()
    }
}

/// `max(col)` over strings: clones only when the maximum changes.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxStr {
    value: Option<String>,
}

impl MaxStr {
    /// Offers a value.
    #[inline]
    pub fn update(&mut self, v: &str) {
        match &self.value {
            Some(cur) if cur.as_str() >= v => {}
            _ => self.value = Some(v.to_string()),
        }
    }

    /// The maximum, or null if no value was offered.
    #[inline]
    pub fn result(&self) -> Option<String> {
        self.value.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_aggregate_semantics() {
        let mut max = Max::default();
        let mut min = Min::default();
        let mut avg = Avg::default();
        let mut sum = SumF64::default();
        for v in [4.0, f64::NAN, 6.0] {
            max.update(v);
            min.update(v);
            avg.update(v);
            sum.update(v);
        }
        assert!(max.result().unwrap().is_nan(), "max(4, NaN) = NaN");
        assert_eq!(min.result(), Some(4.0));
        assert!(avg.result().unwrap().is_nan());
        assert!(sum.result().unwrap().is_nan());
        assert_eq!(Avg::default().result(), None, "avg of no values is null");
        assert_eq!(SumI64::default().result(), None);
        assert_eq!(Max::<i64>::default().result(), None);
    }

    #[test]
    fn non_null_variants_match_the_optional_ones() {
        for values in [
            vec![4.0, f64::NAN, 6.0],
            vec![f64::NAN],
            vec![f64::NEG_INFINITY, -1.0],
            vec![-0.0, 0.0],
        ] {
            let (mut min, mut max) = (Min::default(), Max::default());
            let (mut min_nn, mut max_nn) = (MinNonNull::default(), MaxNonNull::default());
            let (mut sum, mut sum_nn) = (SumF64::default(), SumF64NonNull::default());
            for &v in &values {
                min.update(v);
                max.update(v);
                min_nn.update(v);
                max_nn.update(v);
                sum.update(v);
                sum_nn.update(v);
            }
            let same =
                |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || a == b;
            assert!(same(min.result().unwrap(), min_nn.result()), "{values:?}");
            assert!(same(max.result().unwrap(), max_nn.result()), "{values:?}");
            assert!(same(sum.result().unwrap(), sum_nn.result()), "{values:?}");
        }
        let mut m = MinNonNull::<i64>::default();
        m.update(i64::MAX);
        assert_eq!(m.result(), i64::MAX);
        let mut s = SumI64NonNull::default();
        s.update(i64::MAX).unwrap();
        assert!(s.update(1).is_err());
    }

    #[test]
    fn avg_is_sum_over_count() {
        let mut avg = Avg::default();
        for v in [10.0, 20.0, 59.0] {
            avg.update(v);
        }
        assert_eq!(avg.result(), Some(29.666666666666668));
    }

    #[test]
    fn sum_of_longs_overflows_as_an_error() {
        let mut s = SumI64::default();
        s.update(i64::MAX).unwrap();
        assert_eq!(
            s.update(1).unwrap_err().error_class(),
            Some("ARITHMETIC_OVERFLOW")
        );
    }

    #[test]
    fn string_min_max() {
        let mut min = MinStr::default();
        let mut max = MaxStr::default();
        for v in ["b", "a", "c"] {
            min.update(v);
            max.update(v);
        }
        assert_eq!(min.result().as_deref(), Some("a"));
        assert_eq!(max.result().as_deref(), Some("c"));
    }
}
