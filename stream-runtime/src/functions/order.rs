//! Comparison and sorting: Spark's total order on doubles, and `order by` keys with their
//! null placement.

use std::cmp::Ordering;

use crate::time::{Timestamp, Window};

// Comparison

pub use crate::double::{
    cmp_f64, eq_f64, f64_key_bits, f64_row_bits, ge_f64, gt_f64, le_f64, lt_f64,
};

/// A value an `order by` can sort: Spark's ordering, with nulls placed explicitly.
pub trait SortValue {
    /// Whether the value is null.
    fn is_null_value(&self) -> bool {
        false
    }
    /// Compares two non-null values in Spark's order.
    fn cmp_value(&self, other: &Self) -> Ordering;
}

macro_rules! sort_value_ord {
    ($($ty:ty),*) => {$(
        impl SortValue for $ty {
            fn cmp_value(&self, other: &Self) -> Ordering {
                self.cmp(other)
            }
        }
    )*};
}
// A window sorts as Spark sorts its struct, by `start` then `end` (`Window`'s derived order);
// a string array element by element, a shorter prefix first (`Vec`'s order), as Spark's.
sort_value_ord!(bool, i32, i64, String, Timestamp, Window, Vec<String>);

impl SortValue for f64 {
    fn cmp_value(&self, other: &Self) -> Ordering {
        cmp_f64(*self, *other)
    }
}

impl<T: SortValue> SortValue for Option<T> {
    fn is_null_value(&self) -> bool {
        self.is_none()
    }
    fn cmp_value(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Some(a), Some(b)) => a.cmp_value(b),
            _ => Ordering::Equal,
        }
    }
}

/// One `order by` key: `descending` reverses the value order; `nulls_first` places nulls
/// (Spark's defaults: `ASC NULLS FIRST`, `DESC NULLS LAST`).
pub fn order_by<T: SortValue>(a: &T, b: &T, descending: bool, nulls_first: bool) -> Ordering {
    match (a.is_null_value(), b.is_null_value()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = a.cmp_value(b);
            if descending { o.reverse() } else { o }
        }
    }
}
