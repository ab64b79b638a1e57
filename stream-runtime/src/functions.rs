//! Spark SQL's scalar semantics, as small inlined functions the generated code calls:
//! ANSI arithmetic (overflow and division by zero are errors, as in Spark 4's default mode),
//! Spark's total order on doubles (NaN is the greatest value and equals itself), casts, string
//! formatting of values (`concat`, `cast(... as string)`), and the string and time functions.
//!
//! Every function here states the Spark rule it implements; the DSL reference
//! (`docs/dsl.md`) lists them by their DSL names.

use std::cmp::Ordering;

use crate::error::Error;
use crate::time::{MICROS_PER_SECOND, Timestamp, Window};
use crate::value::{Header, format_double};

// ---------------------------------------------------------------------------------------------
// Arithmetic (ANSI)
// ---------------------------------------------------------------------------------------------

macro_rules! checked_int_ops {
    ($($ty:ty => $name:literal: $add:ident, $sub:ident, $mul:ident, $neg:ident, $rem:ident, $div:ident;)*) => {$(
        /// `a + b`; overflow is `[ARITHMETIC_OVERFLOW]` (Spark ANSI mode).
        #[inline]
        pub fn $add(a: $ty, b: $ty) -> Result<$ty, Error> {
            a.checked_add(b).ok_or_else(|| Error::arithmetic_overflow($name))
        }
        /// `a - b`; overflow is `[ARITHMETIC_OVERFLOW]`.
        #[inline]
        pub fn $sub(a: $ty, b: $ty) -> Result<$ty, Error> {
            a.checked_sub(b).ok_or_else(|| Error::arithmetic_overflow($name))
        }
        /// `a * b`; overflow is `[ARITHMETIC_OVERFLOW]`.
        #[inline]
        pub fn $mul(a: $ty, b: $ty) -> Result<$ty, Error> {
            a.checked_mul(b).ok_or_else(|| Error::arithmetic_overflow($name))
        }
        /// `-a`; overflow is `[ARITHMETIC_OVERFLOW]`.
        #[inline]
        pub fn $neg(a: $ty) -> Result<$ty, Error> {
            a.checked_neg().ok_or_else(|| Error::arithmetic_overflow($name))
        }
        /// `a % b` with the sign of the dividend (the JVM's remainder); a zero divisor is
        /// `[DIVIDE_BY_ZERO]`. `MIN % -1` is 0, as on the JVM.
        #[inline]
        pub fn $rem(a: $ty, b: $ty) -> Result<$ty, Error> {
            if b == 0 {
                Err(Error::divide_by_zero())
            } else {
                Ok(a.wrapping_rem(b))
            }
        }
        /// `a div b`: integral division truncating toward zero; zero divisor is an error.
        #[inline]
        pub fn $div(a: $ty, b: $ty) -> Result<$ty, Error> {
            if b == 0 {
                Err(Error::divide_by_zero())
            } else {
                a.checked_div(b).ok_or_else(|| Error::arithmetic_overflow($name))
            }
        }
    )*};
}

checked_int_ops! {
    i64 => "long": add_i64, sub_i64, mul_i64, neg_i64, rem_i64, div_i64;
    i32 => "integer": add_i32, sub_i32, mul_i32, neg_i32, rem_i32, div_i32;
}

/// `a / b` on doubles. Spark's `/` always yields a double, and a zero divisor (`0.0` or `-0.0`)
/// is `[DIVIDE_BY_ZERO]` in ANSI mode rather than an IEEE infinity.
#[inline]
pub fn div_f64(a: f64, b: f64) -> Result<f64, Error> {
    if b == 0.0 {
        Err(Error::divide_by_zero())
    } else {
        Ok(a / b)
    }
}

/// `a % b` on doubles: the JVM's (and C's) `fmod`; a zero divisor is `[DIVIDE_BY_ZERO]`.
#[inline]
pub fn rem_f64(a: f64, b: f64) -> Result<f64, Error> {
    if b == 0.0 {
        Err(Error::divide_by_zero())
    } else {
        Ok(a % b)
    }
}

/// `try_divide(a, b)`: like `/` but null for a zero divisor.
#[inline]
pub fn try_div_f64(a: f64, b: f64) -> Option<f64> {
    if b == 0.0 { None } else { Some(a / b) }
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

/// Appends a value's Spark string form (`cast(v as string)`) to a buffer: longs in decimal,
/// doubles as the JVM prints them (`20.1`, `1.0E7`), booleans `true`/`false`, timestamps as
/// `2024-01-01 10:00:00`. Used by `concat` and casts without an intermediate `String`.
pub trait SparkDisplay {
    /// Appends the Spark string form of `self` to `out`.
    fn push_spark_str(&self, out: &mut String);

    /// The Spark string form of `self`.
    fn to_spark_string(&self) -> String {
        let mut s = String::new();
        self.push_spark_str(&mut s);
        s
    }
}

impl SparkDisplay for str {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl SparkDisplay for String {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: SparkDisplay + ?Sized> SparkDisplay for &T {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        (**self).push_spark_str(out);
    }
}

macro_rules! spark_display_int {
    ($($ty:ty),*) => {$(
        impl SparkDisplay for $ty {
            #[inline]
            fn push_spark_str(&self, out: &mut String) {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
spark_display_int!(i32, i64, bool);

impl SparkDisplay for f64 {
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(&format_double(*self));
    }
}

impl SparkDisplay for Timestamp {
    fn push_spark_str(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl SparkDisplay for Window {
    fn push_spark_str(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl SparkDisplay for [String] {
    fn push_spark_str(&self, out: &mut String) {
        out.push('[');
        out.push_str(&self.join(", "));
        out.push(']');
    }
}

// Generated code casts an array through its borrowed view, `&[String]`.
impl SparkDisplay for Vec<String> {
    fn push_spark_str(&self, out: &mut String) {
        self.as_slice().push_spark_str(out);
    }
}

/// `cast(binary as string)`: the bytes decoded as UTF-8, invalid sequences replaced by U+FFFD,
/// as Spark (the JVM's decoder) does.
impl SparkDisplay for [u8] {
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(&String::from_utf8_lossy(self));
    }
}

impl SparkDisplay for Vec<u8> {
    fn push_spark_str(&self, out: &mut String) {
        self.as_slice().push_spark_str(out);
    }
}

/// `cast(headers as string)`: Spark's cast of an array of structs, each field cast to a string
/// (`[{k, v1}, {n, null}]`).
impl SparkDisplay for [Header] {
    fn push_spark_str(&self, out: &mut String) {
        out.push('[');
        for (i, h) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('{');
            out.push_str(&h.key);
            out.push_str(", ");
            match &h.value {
                Some(v) => v.push_spark_str(out),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        out.push(']');
    }
}

impl SparkDisplay for Vec<Header> {
    fn push_spark_str(&self, out: &mut String) {
        self.as_slice().push_spark_str(out);
    }
}

/// `cast(string as binary)`: the string's UTF-8 bytes.
#[inline]
pub fn string_to_binary(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// `length(s)`: the number of characters (Unicode code points), as Spark counts them.
#[inline]
pub fn length(s: &str) -> i32 {
    i32::try_from(s.chars().count()).unwrap_or(i32::MAX)
}

/// `lower(s)`.
#[inline]
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// `upper(s)`.
#[inline]
pub fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// `trim(s)`: removes leading and trailing spaces.
#[inline]
pub fn trim(s: &str) -> String {
    s.trim_matches(' ').to_string()
}

/// `split(s, sep)` with a literal separator (the DSL accepts only separators without regular
/// expression metacharacters, so Spark's regex split and a literal split agree). As in Spark,
/// a trailing empty string is kept: `split("a,b,", ",") = ["a", "b", ""]`.
pub fn split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(|c| c.to_string()).collect();
    }
    s.split(sep).map(str::to_string).collect()
}

/// `substring(s, pos, len)` with Spark's 1-based `pos` (0 behaves as 1, negative counts from
/// the end).
pub fn substring(s: &str, pos: i32, len: i32) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let pos = i64::from(pos);
    let start = if pos > 0 {
        pos - 1
    } else if pos < 0 {
        (n + pos).max(0)
    } else {
        0
    };
    if len <= 0 || start >= n {
        return String::new();
    }
    let end = (start + i64::from(len)).min(n);
    chars[start as usize..end as usize].iter().collect()
}

// ---------------------------------------------------------------------------------------------
// Casts (ANSI)
// ---------------------------------------------------------------------------------------------

/// `cast(s as bigint)`: trims whitespace; anything else that is not an integer is
/// `[CAST_INVALID_INPUT]`.
pub fn cast_str_to_i64(s: &str) -> Result<i64, Error> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| Error::cast_invalid_input(s, "STRING", "BIGINT"))
}

/// `cast(s as int)`.
pub fn cast_str_to_i32(s: &str) -> Result<i32, Error> {
    s.trim()
        .parse::<i32>()
        .map_err(|_| Error::cast_invalid_input(s, "STRING", "INT"))
}

/// Parses a double as Spark does: decimal or scientific text, plus `NaN`, `Infinity`,
/// `-Infinity` (also `inf`), surrounding whitespace ignored. `None` if it does not parse.
pub fn parse_f64(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Some(f64::INFINITY),
        "-infinity" | "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // Rust accepts "inf"/"nan" spellings handled above; reject any other alphabetic forms.
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    if t.is_empty()
        || t.chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// `cast(s as double)`: see [`parse_f64`]; failure is `[CAST_INVALID_INPUT]`.
pub fn cast_str_to_f64(s: &str) -> Result<f64, Error> {
    parse_f64(s).ok_or_else(|| Error::cast_invalid_input(s, "STRING", "DOUBLE"))
}

/// Parses a boolean as Spark does: `t`, `true`, `y`, `yes`, `1` and `f`, `false`, `n`, `no`,
/// `0`, case-insensitively.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// `cast(s as boolean)`.
pub fn cast_str_to_bool(s: &str) -> Result<bool, Error> {
    parse_bool(s).ok_or_else(|| Error::cast_invalid_input(s, "STRING", "BOOLEAN"))
}

/// `cast(s as timestamp)` / `to_timestamp(s)`: see [`Timestamp::parse`]; failure is
/// `[CAST_INVALID_INPUT]`.
pub fn cast_str_to_timestamp(s: &str) -> Result<Timestamp, Error> {
    Timestamp::parse(s).map_err(|_| Error::cast_invalid_input(s, "STRING", "TIMESTAMP"))
}

/// `to_timestamp(s, fmt)` where the macro already translated Spark's pattern to chrono's.
/// Spark 4 (ANSI) fails on unparsable input with `[CANNOT_PARSE_TIMESTAMP]`.
pub fn to_timestamp_with(
    s: &str,
    chrono_format: &str,
    spark_pattern: &str,
) -> Result<Timestamp, Error> {
    Timestamp::parse_with_format(s, chrono_format).map_err(|_| Error::Execution {
        class: "CANNOT_PARSE_TIMESTAMP",
        message: format!(
            "Text '{s}' could not be parsed with pattern '{spark_pattern}'. Use `try_to_timestamp` to tolerate invalid input string and return NULL instead."
        ),
    })
}

/// `try_to_timestamp(s)`: null instead of an error.
pub fn try_to_timestamp(s: &str) -> Option<Timestamp> {
    Timestamp::parse(s).ok()
}

/// `cast(d as bigint)`: truncates toward zero; NaN, infinities and out-of-range values are
/// `[CAST_OVERFLOW]` (ANSI).
pub fn cast_f64_to_i64(d: f64) -> Result<i64, Error> {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d) {
        Ok(d.trunc() as i64)
    } else {
        Err(Error::cast_overflow(&format_double(d), "DOUBLE", "BIGINT"))
    }
}

/// `cast(d as int)`: truncates toward zero; out of range is `[CAST_OVERFLOW]`.
pub fn cast_f64_to_i32(d: f64) -> Result<i32, Error> {
    if d.is_finite() && d > -2_147_483_649.0 && d < 2_147_483_648.0 {
        Ok(d.trunc() as i32)
    } else {
        Err(Error::cast_overflow(&format_double(d), "DOUBLE", "INT"))
    }
}

/// `cast(l as int)`: out of range is `[CAST_OVERFLOW]`.
pub fn cast_i64_to_i32(v: i64) -> Result<i32, Error> {
    i32::try_from(v).map_err(|_| Error::cast_overflow(&format!("{v}L"), "BIGINT", "INT"))
}

/// `cast(ts as bigint)`: whole seconds since the epoch, rounded down (Spark's
/// `Math.floorDiv(micros, 1000000)`).
#[inline]
pub fn timestamp_to_seconds(ts: Timestamp) -> i64 {
    ts.as_micros().div_euclid(MICROS_PER_SECOND)
}

/// `cast(ts as double)`: seconds since the epoch with the fraction.
#[inline]
pub fn timestamp_to_f64(ts: Timestamp) -> f64 {
    ts.as_micros() as f64 / MICROS_PER_SECOND as f64
}

/// `cast(seconds as timestamp)` for a long.
pub fn seconds_to_timestamp(seconds: i64) -> Result<Timestamp, Error> {
    seconds
        .checked_mul(MICROS_PER_SECOND)
        .map(Timestamp::from_micros)
        .ok_or_else(|| Error::cast_overflow(&format!("{seconds}L"), "BIGINT", "TIMESTAMP"))
}

/// `cast(seconds as timestamp)` for a double.
pub fn f64_seconds_to_timestamp(seconds: f64) -> Result<Timestamp, Error> {
    let micros = seconds * MICROS_PER_SECOND as f64;
    if micros.is_finite() && micros.abs() < 9.2e18 {
        Ok(Timestamp::from_micros(micros as i64))
    } else {
        Err(Error::cast_overflow(
            &format_double(seconds),
            "DOUBLE",
            "TIMESTAMP",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/// `date_format(ts, fmt)` where the macro already translated Spark's pattern to chrono's.
pub fn date_format(ts: Timestamp, chrono_format: &str) -> String {
    ts.format_with(chrono_format)
}

/// `year(ts)`, UTC.
pub fn year(ts: Timestamp) -> i32 {
    use chrono::Datelike;
    ts.to_datetime().map_or(1970, |d| d.year())
}

/// `month(ts)` (1–12), UTC.
pub fn month(ts: Timestamp) -> i32 {
    use chrono::Datelike;
    ts.to_datetime().map_or(1, |d| d.month() as i32)
}

/// `dayofmonth(ts)` (1–31), UTC.
pub fn day_of_month(ts: Timestamp) -> i32 {
    use chrono::Datelike;
    ts.to_datetime().map_or(1, |d| d.day() as i32)
}

/// `round(d, scale)`: HALF_UP rounding of the double's shortest decimal form, as Spark does
/// (`BigDecimal.valueOf(d).setScale(scale, HALF_UP)`), so `round(2.675, 2) = 2.68`.
pub fn round_f64(d: f64, scale: i32) -> f64 {
    if !d.is_finite() {
        return d;
    }
    // Rust's `Display` for f64 prints the shortest round-trip digits without an exponent.
    let text = format!("{}", d.abs());
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let mut point = int_part.len() as i64;
    let keep = point + i64::from(scale);
    if keep < 0 {
        return 0.0;
    }
    let keep = keep as usize;
    if keep >= digits.len() {
        return d;
    }
    let round_up = digits[keep] >= 5;
    digits.truncate(keep);
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                point += 1;
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let mut out = String::new();
    for (i, digit) in digits.iter().enumerate() {
        if i as i64 == point {
            out.push('.');
        }
        out.push(char::from(b'0' + digit));
    }
    for _ in digits.len() as i64..point {
        out.push('0');
    }
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '0');
    }
    let magnitude: f64 = out.parse().unwrap_or(0.0);
    if d < 0.0 { -magnitude } else { magnitude }
}

/// `round(n, scale)` of a long: unchanged for `scale >= 0`; for a negative scale, HALF_UP to a
/// multiple of `10^-scale` (`round(125, -1) = 130`, `round(-125, -1) = -130`), as Spark rounds
/// integral values. A result out of range is `[ARITHMETIC_OVERFLOW]`.
pub fn round_i64(v: i64, scale: i32) -> Result<i64, Error> {
    if scale >= 0 {
        return Ok(v);
    }
    let Some(step) = 10_i128.checked_pow(scale.unsigned_abs()) else {
        return Ok(0);
    };
    let v = i128::from(v);
    let rest = v % step;
    let down = v - rest;
    let rounded = if rest.abs() * 2 >= step {
        down + step * rest.signum()
    } else {
        down
    };
    i64::try_from(rounded).map_err(|_| Error::arithmetic_overflow("long"))
}

/// `round(n, scale)` of an int: see [`round_i64`].
pub fn round_i32(v: i32, scale: i32) -> Result<i32, Error> {
    let rounded = round_i64(i64::from(v), scale)?;
    i32::try_from(rounded).map_err(|_| Error::arithmetic_overflow("integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_print_like_spark_casts_them() {
        let parts = vec!["a".to_string(), String::new(), "c".to_string()];
        assert_eq!(parts.as_slice().to_spark_string(), "[a, , c]");
        assert_eq!(parts.to_spark_string(), "[a, , c]");
    }

    #[test]
    fn rounding_integers_half_up() {
        assert_eq!(round_i64(125, -1).unwrap(), 130);
        assert_eq!(round_i64(124, -1).unwrap(), 120);
        assert_eq!(round_i64(-125, -1).unwrap(), -130);
        assert_eq!(round_i64(-124, -2).unwrap(), -100);
        assert_eq!(round_i64(1234, 2).unwrap(), 1234);
        assert_eq!(round_i64(i64::MAX, -40).unwrap(), 0);
        assert_eq!(
            round_i64(i64::MAX, -1).unwrap_err().error_class(),
            Some("ARITHMETIC_OVERFLOW")
        );
        assert_eq!(
            round_i32(2_147_483_645, -1).unwrap_err().error_class(),
            Some("ARITHMETIC_OVERFLOW")
        );
        assert_eq!(round_i32(55, -1).unwrap(), 60);
    }

    #[test]
    fn ansi_integer_arithmetic() {
        assert_eq!(add_i64(1, 2).unwrap(), 3);
        assert_eq!(
            add_i64(i64::MAX, 1).unwrap_err().error_class(),
            Some("ARITHMETIC_OVERFLOW")
        );
        assert_eq!(
            rem_i64(-7, 5).unwrap(),
            -2,
            "sign of the dividend, as on the JVM"
        );
        assert_eq!(rem_i64(i64::MIN, -1).unwrap(), 0);
        assert_eq!(
            rem_i64(1, 0).unwrap_err().error_class(),
            Some("DIVIDE_BY_ZERO")
        );
        assert_eq!(
            div_f64(1.0, 0.0).unwrap_err().error_class(),
            Some("DIVIDE_BY_ZERO")
        );
        assert_eq!(
            div_f64(1.0, -0.0).unwrap_err().error_class(),
            Some("DIVIDE_BY_ZERO")
        );
        assert_eq!(rem_f64(7.5, 10.0).unwrap(), 7.5);
        assert_eq!(rem_f64(99.0, 10.0).unwrap(), 9.0);
        assert_eq!(try_div_f64(1.0, 0.0), None);
    }

    #[test]
    fn oracle_arithmetic_matches_spark() {
        // post_agg_filter's pct column, (max - min) / min * 100, left to right.
        let pct = |max: f64, min: f64| div_f64(max - min, min).unwrap() * 100.0;
        assert_eq!(pct(210.0, 100.0), 110.00000000000001);
        assert_eq!(pct(104.9, 95.0), 10.421052631578952);
        assert_eq!(pct(140.0, 120.0), 16.666666666666664);
        assert_eq!(pct(210.0, 200.0), 5.0);
    }

    #[test]
    fn nan_is_the_greatest_double() {
        assert!(gt_f64(f64::NAN, 1.0));
        assert!(gt_f64(f64::NAN, f64::INFINITY));
        assert!(!lt_f64(f64::NAN, 1.0));
        assert!(eq_f64(f64::NAN, f64::NAN));
        assert!(ge_f64(f64::NAN, f64::NAN));
        assert!(eq_f64(0.0, -0.0));
        assert_eq!(cmp_f64(f64::NAN, 4.0), Ordering::Greater);
        assert_eq!(f64_key_bits(-0.0), f64_key_bits(0.0));
        assert_eq!(f64_key_bits(f64::NAN), f64_key_bits(-f64::NAN));
    }

    #[test]
    fn spark_string_forms() {
        assert_eq!(3_i64.to_spark_string(), "3");
        assert_eq!(20.1_f64.to_spark_string(), "20.1");
        assert_eq!(20.0_f64.to_spark_string(), "20.0");
        assert_eq!(true.to_spark_string(), "true");
        assert_eq!(
            Timestamp::from_secs(0).to_spark_string(),
            "1970-01-01 00:00:00"
        );
        assert_eq!(length("héllo"), 5);
        assert_eq!(split("a b  c", " "), vec!["a", "b", "", "c"]);
        assert_eq!(substring("Spark SQL", 5, 1), "k");
        assert_eq!(substring("Spark SQL", -3, 2), "SQ");
    }

    #[test]
    fn casts_follow_ansi_rules() {
        assert_eq!(cast_str_to_i64(" 42 ").unwrap(), 42);
        assert_eq!(
            cast_str_to_i64("4x").unwrap_err().error_class(),
            Some("CAST_INVALID_INPUT")
        );
        assert!(cast_str_to_f64("NaN").unwrap().is_nan());
        assert_eq!(cast_str_to_f64("1e3").unwrap(), 1000.0);
        assert!(cast_str_to_f64("not-a-number").is_err());
        assert_eq!(parse_f64("7.5"), Some(7.5));
        assert_eq!(parse_f64(""), None);
        assert_eq!(cast_f64_to_i64(-2.7).unwrap(), -2);
        assert!(cast_f64_to_i64(f64::NAN).is_err());
        assert!(cast_i64_to_i32(1 << 40).is_err());
        assert_eq!(timestamp_to_seconds(Timestamp::from_micros(-1)), -1);
        assert!(cast_str_to_bool("YES").unwrap());
        assert_eq!(round_f64(2.675, 2), 2.68);
        assert_eq!(round_f64(-2.5, 0), -3.0);
        assert_eq!(round_f64(9.995, 2), 10.0);
        assert_eq!(round_f64(1234.5, -2), 1200.0);
        assert_eq!(round_f64(0.004, 2), 0.0);
        assert_eq!(round_f64(29.666666666666668, 3), 29.667);
    }
}
