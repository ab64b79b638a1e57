//! Doubles as Spark sees them: its total order (NaN is the greatest value and equals itself,
//! `-0.0 == 0.0`), the bits a double groups by, and its text form (the JVM's
//! `Double.toString`). A leaf module: values, functions and accumulators all build on it.

use std::cmp::Ordering;

/// Spark's total order on doubles (`SQLOrderingUtil.compareDoubles`): NaN equals NaN and is
/// greater than every other value, including +Infinity; `-0.0 == 0.0`.
#[inline]
pub fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

/// `a = b` on doubles with Spark's semantics (`NaN = NaN` is true).
#[inline]
pub fn eq_f64(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// `a < b` on doubles with Spark's semantics (NaN is greatest).
#[inline]
pub fn lt_f64(a: f64, b: f64) -> bool {
    if b.is_nan() { !a.is_nan() } else { a < b }
}

/// `a > b` on doubles with Spark's semantics (`NaN > 1` is true).
#[inline]
pub fn gt_f64(a: f64, b: f64) -> bool {
    lt_f64(b, a)
}

/// `a <= b` on doubles with Spark's semantics.
#[inline]
pub fn le_f64(a: f64, b: f64) -> bool {
    !gt_f64(a, b)
}

/// `a >= b` on doubles with Spark's semantics.
#[inline]
pub fn ge_f64(a: f64, b: f64) -> bool {
    !lt_f64(a, b)
}

/// The bits a double groups by: Spark normalises `-0.0` to `0.0` and every NaN to one NaN
/// before grouping (`NormalizeFloatingNumbers`), so equal keys hash equally.
#[inline]
pub fn f64_key_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// The bits of a double as a key of Spark's binary row comparison (a deduplication key): every
/// NaN is one value, as Spark's rows store NaN canonically; unlike a group key, `-0.0` and `0.0`
/// stay distinct, as their bits are.
///
/// ```
/// use sluice::__private::functions::f64_row_bits;
/// assert_eq!(f64_row_bits(f64::NAN), f64_row_bits(-f64::NAN));
/// assert_ne!(f64_row_bits(-0.0), f64_row_bits(0.0));
/// ```
#[inline]
pub fn f64_row_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}

/// Formats a double as Spark (the JVM's `Double.toString`) does: the shortest digits that
/// round-trip, always with a fractional part (`100.0`), in scientific notation with `E` outside
/// `[1e-3, 1e7)` (`1.0E7`, `1.5E-4`), and `NaN` / `Infinity` / `-Infinity`.
///
/// ```
/// use sluice::value::format_double;
/// assert_eq!(format_double(29.666666666666668), "29.666666666666668");
/// assert_eq!(format_double(100.0), "100.0");
/// assert_eq!(format_double(1.0e7), "1.0E7");
/// assert_eq!(format_double(0.00015), "1.5E-4");
/// assert_eq!(format_double(f64::NAN), "NaN");
/// ```
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{d}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        // Rust's `{:e}` gives the shortest round-trip digits: `1.5e-4`, `1e7`.
        let s = format!("{d:e}");
        let (mantissa, exponent) = s.split_once('e').expect("`{:e}` always has an exponent");
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}
