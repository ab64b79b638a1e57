//! Casts with Spark's ANSI rules: text that does not parse, and values out of range, are
//! errors.

use crate::double::format_double;
use crate::error::Error;
use crate::time::{MICROS_PER_SECOND, Timestamp};

// Casts (ANSI)

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
    // Compared without a lowercase copy: this runs once per field of a text file.
    let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if is(&["nan"]) {
        return Some(f64::NAN);
    }
    if is(&["infinity", "+infinity", "inf", "+inf"]) {
        return Some(f64::INFINITY);
    }
    if is(&["-infinity", "-inf"]) {
        return Some(f64::NEG_INFINITY);
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
