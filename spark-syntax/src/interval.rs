//! Interval strings as Spark reads them (`"10 seconds"`, `"1 minute 30 seconds"`,
//! `"interval 2 hours"`) plus the usual abbreviations (`10s`, `500ms`, `2min`), and the readable
//! form Spark prints (`30 seconds`, `1 minute`).

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Every unit name, for "did you mean" hints.
pub const UNITS: &[&str] = &[
    "us",
    "microsecond",
    "microseconds",
    "ms",
    "millisecond",
    "milliseconds",
    "s",
    "sec",
    "secs",
    "second",
    "seconds",
    "m",
    "min",
    "mins",
    "minute",
    "minutes",
    "h",
    "hour",
    "hours",
    "d",
    "day",
    "days",
    "w",
    "week",
    "weeks",
];

/// The units, as a hint line.
pub const UNIT_HINT: &str = "the units are `us`, `ms`, `s`/`seconds`, `min`/`minutes`, `h`/`hours`, `d`/`days`, `w`/`weeks`";

/// Microseconds per unit name.
///
/// ```
/// assert_eq!(spark_syntax::interval::unit_micros("minutes"), Some(60_000_000));
/// assert_eq!(spark_syntax::interval::unit_micros("parsecs"), None);
/// ```
pub fn unit_micros(unit: &str) -> Option<i64> {
    Some(match unit {
        "us" | "microsecond" | "microseconds" => 1,
        "ms" | "millisecond" | "milliseconds" => 1_000,
        "s" | "sec" | "secs" | "second" | "seconds" => MICROS_PER_SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * MICROS_PER_SECOND,
        "h" | "hour" | "hours" => 3_600 * MICROS_PER_SECOND,
        "d" | "day" | "days" => 86_400 * MICROS_PER_SECOND,
        "w" | "week" | "weeks" => 7 * 86_400 * MICROS_PER_SECOND,
        _ => return None,
    })
}

/// Why a text is not an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntervalError {
    /// Nothing but perhaps the word `interval`, or a part that does not start with a number.
    Malformed,
    /// A number without a unit.
    MissingUnit,
    /// A unit that is not one of [`UNITS`].
    UnknownUnit(String),
    /// A fraction of a microsecond, or more than `i64::MAX` microseconds.
    OutOfRange,
}

/// Parses an interval into microseconds. Numbers may have a fraction (`1.5 seconds`) as long as
/// the total is whole microseconds.
///
/// ```
/// use spark_syntax::interval::{parse_micros, IntervalError};
/// assert_eq!(parse_micros("10 seconds"), Ok(10_000_000));
/// assert_eq!(parse_micros("1 minute 30 seconds"), Ok(90_000_000));
/// assert_eq!(parse_micros("INTERVAL 250ms"), Ok(250_000));
/// assert_eq!(parse_micros("10"), Err(IntervalError::MissingUnit));
/// assert_eq!(parse_micros("10 parsecs"), Err(IntervalError::UnknownUnit("parsecs".into())));
/// ```
pub fn parse_micros(text: &str) -> Result<i64, IntervalError> {
    let lower = text.trim().to_ascii_lowercase();
    let body = lower.strip_prefix("interval").unwrap_or(&lower).trim();
    if body.is_empty() {
        return Err(IntervalError::Malformed);
    }
    let mut total: i64 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-') || c == '.'))
            .map_or(rest.len(), |(i, _)| i);
        if num_len == 0 {
            return Err(IntervalError::Malformed);
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| IntervalError::Malformed)?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        if unit.is_empty() {
            return Err(IntervalError::MissingUnit);
        }
        let per_unit =
            unit_micros(unit).ok_or_else(|| IntervalError::UnknownUnit(unit.to_string()))?;
        let micros = number * per_unit as f64;
        if !micros.is_finite() || micros.fract() != 0.0 || micros.abs() >= i64::MAX as f64 {
            return Err(IntervalError::OutOfRange);
        }
        total = total
            .checked_add(micros as i64)
            .ok_or(IntervalError::OutOfRange)?;
    }
    Ok(total)
}

/// The readable form of an interval, in its largest whole unit: `30 seconds`, `1 minute`,
/// `1500 milliseconds`.
///
/// ```
/// assert_eq!(spark_syntax::interval::describe(30_000_000), "30 seconds");
/// assert_eq!(spark_syntax::interval::describe(60_000_000), "1 minute");
/// assert_eq!(spark_syntax::interval::describe(1_500_000), "1500 milliseconds");
/// ```
pub fn describe(micros: i64) -> String {
    const UNITS_DESC: [(i64, &str); 6] = [
        (86_400 * MICROS_PER_SECOND, "day"),
        (3_600 * MICROS_PER_SECOND, "hour"),
        (60 * MICROS_PER_SECOND, "minute"),
        (MICROS_PER_SECOND, "second"),
        (1_000, "millisecond"),
        (1, "microsecond"),
    ];
    if micros == 0 {
        return "0 seconds".to_string();
    }
    let (per, name) = UNITS_DESC
        .iter()
        .find(|(per, _)| micros % per == 0)
        .expect("1 µs divides everything");
    let n = micros / per;
    if n == 1 {
        format!("1 {name}")
    } else {
        format!("{n} {name}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_errors() {
        assert_eq!(parse_micros("2 minutes"), Ok(120_000_000));
        assert_eq!(parse_micros("1.5 seconds"), Ok(1_500_000));
        assert_eq!(parse_micros("10s"), Ok(10_000_000));
        assert_eq!(parse_micros("2min"), Ok(120_000_000));
        assert_eq!(parse_micros(""), Err(IntervalError::Malformed));
        assert_eq!(parse_micros("seconds"), Err(IntervalError::Malformed));
        assert_eq!(parse_micros("ten seconds"), Err(IntervalError::Malformed));
        assert_eq!(parse_micros("0.5 us"), Err(IntervalError::OutOfRange));
        assert!(UNITS.iter().all(|u| unit_micros(u).is_some()));
    }
}
