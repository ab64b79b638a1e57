//! Accumulators: the per-group state of one aggregate function, one small `Copy`-sized struct
//! each (`avg` is a sum and a count, never a list), with Spark's null semantics.
//!
//! Every accumulator implements [`Accumulator`]: `update` folds one value in, `merge` folds in
//! another accumulator of the same function (what a partial aggregation of another partition of
//! the input produced), `finish` gives the aggregate's value. `merge` of two partial
//! accumulators equals folding both partitions' values in one pass, so a query can aggregate
//! its input in parallel (Spark's partial/final aggregation split).
//!
//! Nulls: `count(*)` counts rows; every other aggregate skips null inputs (the generated code
//! simply does not call `update` for them), and an aggregate that saw no value finishes as null
//! (`None`).

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::double::cmp_f64;
use crate::error::Error;
use crate::time::Timestamp;

/// The state of one aggregate function in one group.
pub trait Accumulator: Default + Clone + Debug + Send + Sync + 'static {
    /// What one update takes (`()` for `count`, `&str` for a string `min`).
    type Input<'a>;
    /// The aggregate's value.
    type Output;

    /// Folds one (non-null) value in.
    fn update(&mut self, value: Self::Input<'_>) -> Result<(), Error>;

    /// Folds in an accumulator that saw other rows of the same group.
    fn merge(&mut self, other: &Self) -> Result<(), Error>;

    /// The aggregate's value so far.
    fn finish(&self) -> Self::Output;
}

/// The accumulators of one group: the struct `pipeline!` generates per query, one field per
/// aggregate, merged field by field.
pub trait Accumulators:
    Default + Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// Merges another group's accumulators into these (see [`Accumulator::merge`]).
    fn merge(&mut self, other: &Self) -> Result<(), Error>;
}

/// `count(*)` or `count(col)`: a row counter (the generated code skips null inputs for
/// `count(col)`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count(pub i64);

impl Accumulator for Count {
    type Input<'a> = ();
    type Output = i64;

    #[inline]
    fn update(&mut self, (): ()) -> Result<(), Error> {
        self.0 += 1;
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.0 += other.0;
        Ok(())
    }

    /// The count (never null).
    #[inline]
    fn finish(&self) -> i64 {
        self.0
    }
}

fn add_i64(a: i64, b: i64) -> Result<i64, Error> {
    a.checked_add(b)
        .ok_or_else(|| Error::arithmetic_overflow("long"))
}

/// `sum(col)` of longs or ints: a long; overflow is `[ARITHMETIC_OVERFLOW]` (ANSI).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SumI64 {
    sum: i64,
    seen: bool,
}

impl Accumulator for SumI64 {
    type Input<'a> = i64;
    type Output = Option<i64>;

    #[inline]
    fn update(&mut self, v: i64) -> Result<(), Error> {
        self.sum = add_i64(self.sum, v)?;
        self.seen = true;
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.sum = add_i64(self.sum, other.sum)?;
        self.seen |= other.seen;
        Ok(())
    }

    /// The sum, or null if no non-null value was added.
    #[inline]
    fn finish(&self) -> Option<i64> {
        self.seen.then_some(self.sum)
    }
}

/// `sum(col)` of doubles.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumF64 {
    sum: f64,
    seen: bool,
}

impl Accumulator for SumF64 {
    type Input<'a> = f64;
    type Output = Option<f64>;

    #[inline]
    fn update(&mut self, v: f64) -> Result<(), Error> {
        self.sum += v;
        self.seen = true;
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.sum += other.sum;
        self.seen |= other.seen;
        Ok(())
    }

    /// The sum, or null if no non-null value was added.
    #[inline]
    fn finish(&self) -> Option<f64> {
        self.seen.then_some(self.sum)
    }
}

/// `avg(col)`: a double sum and a count; the result is `sum / count` as Spark computes it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Avg {
    sum: f64,
    count: i64,
}

impl Accumulator for Avg {
    /// Longs and ints are converted to double first, as Spark does.
    type Input<'a> = f64;
    type Output = Option<f64>;

    #[inline]
    fn update(&mut self, v: f64) -> Result<(), Error> {
        self.sum += v;
        self.count += 1;
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.sum += other.sum;
        self.count += other.count;
        Ok(())
    }

    /// The mean, or null if no non-null value was added.
    #[inline]
    fn finish(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// A value `min`/`max` can order with Spark's ordering (NaN greatest for doubles).
pub trait SparkOrd: Copy + Debug + Default + Send + Sync + 'static {
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

impl<T: SparkOrd> Accumulator for Min<T> {
    type Input<'a> = T;
    type Output = Option<T>;

    #[inline]
    fn update(&mut self, v: T) -> Result<(), Error> {
        match self.value {
            Some(cur) if !v.spark_lt(cur) => {}
            _ => self.value = Some(v),
        }
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        match other.value {
            Some(v) => self.update(v),
            None => Ok(()),
        }
    }

    /// The minimum, or null if no value was offered.
    #[inline]
    fn finish(&self) -> Option<T> {
        self.value
    }
}

/// `max(col)` over a `Copy` type (`max(4, NaN) = NaN`, as in Spark).
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Max<T> {
    value: Option<T>,
}

impl<T: SparkOrd> Accumulator for Max<T> {
    type Input<'a> = T;
    type Output = Option<T>;

    #[inline]
    fn update(&mut self, v: T) -> Result<(), Error> {
        match self.value {
            Some(cur) if !cur.spark_lt(v) => {}
            _ => self.value = Some(v),
        }
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        match other.value {
            Some(v) => self.update(v),
            None => Ok(()),
        }
    }

    /// The maximum, or null if no value was offered.
    #[inline]
    fn finish(&self) -> Option<T> {
        self.value
    }
}

/// `sum(col)` of longs or ints in a group that exists only because a row arrived, with a
/// non-null argument: never null, so no "seen" flag.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SumI64NonNull(i64);

impl Accumulator for SumI64NonNull {
    type Input<'a> = i64;
    type Output = i64;

    /// Adds a value; overflow is `[ARITHMETIC_OVERFLOW]`.
    #[inline]
    fn update(&mut self, v: i64) -> Result<(), Error> {
        self.0 = add_i64(self.0, v)?;
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.update(other.0)
    }

    /// The sum.
    #[inline]
    fn finish(&self) -> i64 {
        self.0
    }
}

/// `sum(col)` of doubles with a non-null argument in a keyed group: never null.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumF64NonNull(f64);

impl Accumulator for SumF64NonNull {
    type Input<'a> = f64;
    type Output = f64;

    #[inline]
    fn update(&mut self, v: f64) -> Result<(), Error> {
        self.0 += v;
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.update(other.0)
    }

    /// The sum.
    #[inline]
    fn finish(&self) -> f64 {
        self.0
    }
}

/// `min(col)` with a non-null argument in a keyed group: starts at the greatest value in
/// Spark's order, which the group's first row always replaces (or equals). Merging an
/// accumulator that saw no row is a no-op for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinNonNull<T>(T);

impl<T: SparkOrd> Default for MinNonNull<T> {
    fn default() -> Self {
        MinNonNull(T::GREATEST)
    }
}

impl<T: SparkOrd> Accumulator for MinNonNull<T> {
    type Input<'a> = T;
    type Output = T;

    #[inline]
    fn update(&mut self, v: T) -> Result<(), Error> {
        if v.spark_lt(self.0) {
            self.0 = v;
        }
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.update(other.0)
    }

    /// The minimum.
    #[inline]
    fn finish(&self) -> T {
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

impl<T: SparkOrd> Accumulator for MaxNonNull<T> {
    type Input<'a> = T;
    type Output = T;

    #[inline]
    fn update(&mut self, v: T) -> Result<(), Error> {
        if self.0.spark_lt(v) {
            self.0 = v;
        }
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.update(other.0)
    }

    /// The maximum.
    #[inline]
    fn finish(&self) -> T {
        self.0
    }
}

/// `min(col)` over strings: clones only when the minimum changes.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinStr {
    value: Option<String>,
}

impl Accumulator for MinStr {
    type Input<'a> = &'a str;
    type Output = Option<String>;

    #[inline]
    fn update(&mut self, v: &str) -> Result<(), Error> {
        match &self.value {
            Some(cur) if cur.as_str() <= v => {}
            _ => self.value = Some(v.to_string()),
        }
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        match &other.value {
            Some(v) => self.update(v),
            None => Ok(()),
        }
    }

    /// The minimum, or null if no value was offered.
    #[inline]
    fn finish(&self) -> Option<String> {
        self.value.clone()
    }
}

/// `max(col)` over strings: clones only when the maximum changes.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxStr {
    value: Option<String>,
}

impl Accumulator for MaxStr {
    type Input<'a> = &'a str;
    type Output = Option<String>;

    #[inline]
    fn update(&mut self, v: &str) -> Result<(), Error> {
        match &self.value {
            Some(cur) if cur.as_str() >= v => {}
            _ => self.value = Some(v.to_string()),
        }
        Ok(())
    }

    #[inline]
    fn merge(&mut self, other: &Self) -> Result<(), Error> {
        match &other.value {
            Some(v) => self.update(v),
            None => Ok(()),
        }
    }

    /// The maximum, or null if no value was offered.
    #[inline]
    fn finish(&self) -> Option<String> {
        self.value.clone()
    }
}

#[cfg(test)]
mod tests;
