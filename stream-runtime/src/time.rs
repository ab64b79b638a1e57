//! Event time: [`Timestamp`] (microseconds since the Unix epoch, Spark's own representation),
//! [`Window`], interval parsing (`"10 seconds"`, `10s`), and the window-assignment arithmetic.
//!
//! chrono is used only here, at the edges: parsing text into a [`Timestamp`] and formatting one
//! the way Spark prints it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// Microseconds in one millisecond.
pub const MICROS_PER_MILLI: i64 = 1_000;
/// Microseconds in one second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds in one minute.
pub const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
/// Microseconds in one hour.
pub const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// A point in event or processing time: microseconds since 1970-01-01T00:00:00Z.
///
/// This is Spark's `TimestampType` (a `Long` of microseconds, UTC). `Display` prints it the way
/// Spark's console sink does (`2024-01-01 10:00:09.999`, fraction only when non-zero), in UTC.
///
/// ```
/// use sluice::time::Timestamp;
/// let ts: Timestamp = "2024-01-01T10:00:09.999Z".parse().unwrap();
/// assert_eq!(ts.to_string(), "2024-01-01 10:00:09.999");
/// assert_eq!(ts.as_micros() % 1_000_000, 999_000);
/// ```
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, `1970-01-01 00:00:00`.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from microseconds since the epoch.
    #[inline]
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// A timestamp from milliseconds since the epoch.
    #[inline]
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis * MICROS_PER_MILLI)
    }

    /// A timestamp from whole seconds since the epoch.
    #[inline]
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs * MICROS_PER_SECOND)
    }

    /// Microseconds since the epoch.
    #[inline]
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch, truncated toward zero as Spark (the JVM) does.
    #[inline]
    pub const fn as_millis(self) -> i64 {
        self.0 / MICROS_PER_MILLI
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_micros())
    }

    /// This timestamp plus `micros` microseconds.
    #[inline]
    pub const fn plus_micros(self, micros: i64) -> Self {
        Timestamp(self.0 + micros)
    }

    /// Converts to a chrono UTC date-time (`None` outside chrono's range).
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::<Utc>::from_timestamp_micros(self.0)
    }

    /// RFC 3339 in UTC with as many fractional digits as needed (none, 3 or 6) and a `Z`:
    /// `2024-01-01T10:00:09.999Z`. This is the form the Spark oracle files use.
    pub fn to_rfc3339(self) -> String {
        match self.to_datetime() {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            None => format!("{}us", self.0),
        }
    }

    /// Parses a timestamp the way Spark's CSV/JSON readers and `to_timestamp` do by default:
    /// `2024-01-01T10:00:05Z`, `2024-01-01T10:00:05.000Z`, `2024-01-01 10:00:05`,
    /// `2024-01-01T10:00:05+02:00`, `2024-01-01` (midnight). Times without an offset are UTC.
    pub fn parse(text: &str) -> Result<Self, TimeParseError> {
        // The form files hold most (`2024-01-01T10:00:05.000Z`), read without chrono (and,
        // as it begins with a digit and ends with `Z`, before trimming); every other form, and
        // anything this does not accept, goes the general way below.
        if let Some(ts) = parse_utc_fast(text) {
            return Ok(ts);
        }
        let s = text.trim();
        if s.len() != text.len()
            && let Some(ts) = parse_utc_fast(s)
        {
            return Ok(ts);
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp(dt.timestamp_micros()));
        }
        // Spark also accepts a space instead of `T`, with or without a zone.
        let normalized = s.replacen(' ', "T", 1);
        if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
            return Ok(Timestamp(dt.timestamp_micros()));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, fmt) {
                return Ok(Timestamp(naive.and_utc().timestamp_micros()));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let naive = date.and_hms_opt(0, 0, 0).expect("midnight is a valid time");
            return Ok(Timestamp(naive.and_utc().timestamp_micros()));
        }
        Err(TimeParseError::Timestamp(text.to_string()))
    }

    /// Parses with an explicit chrono `strftime` pattern (used by `to_timestamp(s, fmt)` after
    /// the macro translated Spark's pattern letters). Input without a zone is read as UTC.
    pub fn parse_with_format(text: &str, chrono_format: &str) -> Result<Self, TimeParseError> {
        if let Ok(dt) = DateTime::parse_from_str(text, chrono_format) {
            return Ok(Timestamp(dt.timestamp_micros()));
        }
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, chrono_format) {
            return Ok(Timestamp(naive.and_utc().timestamp_micros()));
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, chrono_format) {
            let naive = date.and_hms_opt(0, 0, 0).expect("midnight is a valid time");
            return Ok(Timestamp(naive.and_utc().timestamp_micros()));
        }
        Err(TimeParseError::Timestamp(text.to_string()))
    }

    /// Formats with a chrono `strftime` pattern, in UTC.
    pub fn format_with(self, chrono_format: &str) -> String {
        match self.to_datetime() {
            Some(dt) => dt.format(chrono_format).to_string(),
            None => format!("{}us", self.0),
        }
    }

    /// Hour of the day (0–23), UTC: Spark's `hour(ts)`.
    pub fn hour(self) -> i32 {
        self.to_datetime().map_or(0, |d| d.hour() as i32)
    }

    /// Minute of the hour (0–59), UTC: Spark's `minute(ts)`.
    pub fn minute(self) -> i32 {
        self.to_datetime().map_or(0, |d| d.minute() as i32)
    }

    /// Second of the minute (0–59), UTC: Spark's `second(ts)`.
    pub fn second(self) -> i32 {
        self.to_datetime().map_or(0, |d| d.second() as i32)
    }
}

impl fmt::Display for Timestamp {
    /// Spark's console form: `2024-01-01 10:00:09.999`; the fraction is printed only when it is
    /// non-zero, with trailing zeros removed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(dt) = self.to_datetime() else {
            return write!(f, "{}us", self.0);
        };
        let base = dt.format("%Y-%m-%d %H:%M:%S");
        let micros = self.0.rem_euclid(MICROS_PER_SECOND);
        if micros == 0 {
            f.pad(&base.to_string())
        } else {
            let frac = format!("{micros:06}");
            let frac = frac.trim_end_matches('0');
            f.pad(&format!("{base}.{frac}"))
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = TimeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl serde::Serialize for Timestamp {
    /// Serialized as RFC 3339 text (`2024-01-01T10:00:09.999Z`) for human-readable formats.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_rfc3339())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    /// Accepts RFC 3339 / Spark timestamp text, or an integer number of microseconds.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp as text or as microseconds since the epoch")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
        }
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(Visitor)
        } else {
            deserializer.deserialize_i64(Visitor)
        }
    }
}

/// An event-time window: `[start, end)`, Spark's `struct<start: timestamp, end: timestamp>`.
///
/// Printed as Spark's console prints the struct: `{2024-01-01 10:00:00, 2024-01-01 10:00:10}`.
#[derive(
    Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Window {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

impl Window {
    /// The window starting at `start_micros` with the given size.
    #[inline]
    pub const fn new(start_micros: i64, size_micros: i64) -> Self {
        Window {
            start: Timestamp(start_micros),
            end: Timestamp(start_micros + size_micros),
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{{{}, {}}}", self.start, self.end))
    }
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Window{self}")
    }
}

/// The start of the latest window (of the given slide) that contains `ts`, aligned to the epoch.
///
/// Spark computes `ts - ((ts - startTime) mod slide)` with a floor modulo (so timestamps before
/// 1970 work too); a tumbling window is the case `slide == size`.
///
/// ```
/// use sluice::time::last_window_start;
/// assert_eq!(last_window_start(10_000_000, 10_000_000), 10_000_000); // 10:00:10 opens a window
/// assert_eq!(last_window_start(9_999_000, 10_000_000), 0);          // 10:00:09.999 does not
/// assert_eq!(last_window_start(-1, 10_000_000), -10_000_000);
/// ```
#[inline]
pub const fn last_window_start(ts_micros: i64, slide_micros: i64) -> i64 {
    ts_micros - ts_micros.rem_euclid(slide_micros)
}

/// Calls `f(start)` for every window of `size`/`slide` that contains `ts`, latest first —
/// Spark's sliding-window expansion (`ceil(size / slide)` candidates, those with
/// `start <= ts < start + size` kept).
#[inline]
pub fn for_each_window(
    ts_micros: i64,
    size_micros: i64,
    slide_micros: i64,
    mut f: impl FnMut(i64),
) {
    let last = last_window_start(ts_micros, slide_micros);
    let mut start = last;
    while start > ts_micros - size_micros {
        f(start);
        start -= slide_micros;
    }
}

/// An error parsing a timestamp or an interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    /// The text is not a timestamp in any accepted form.
    #[error("cannot parse `{0}` as a timestamp")]
    Timestamp(String),
    /// The text is not an interval such as `10 seconds` or `1 minute`.
    #[error(
        "cannot parse `{0}` as an interval: expected e.g. `10 seconds`, `1 minute`, `500 milliseconds`, `10s`"
    )]
    Interval(String),
}

/// Parses a Spark interval string into microseconds: `"10 seconds"`, `"1 minute"`,
/// `"2 minutes"`, `"1 hour 30 minutes"`, `"500 milliseconds"`, `"10s"`, `"2min"`,
/// optionally prefixed by `interval`.
///
/// ```
/// use sluice::time::parse_interval_micros;
/// assert_eq!(parse_interval_micros("10 seconds").unwrap(), 10_000_000);
/// assert_eq!(parse_interval_micros("1 minute").unwrap(), 60_000_000);
/// assert_eq!(parse_interval_micros("1 minute 30 seconds").unwrap(), 90_000_000);
/// assert_eq!(parse_interval_micros("250ms").unwrap(), 250_000);
/// assert!(parse_interval_micros("ten seconds").is_err());
/// ```
pub fn parse_interval_micros(text: &str) -> Result<i64, TimeParseError> {
    spark_syntax::interval::parse_micros(text)
        .map_err(|_| TimeParseError::Interval(text.to_string()))
}

/// Microseconds per unit name, accepting Spark's words and the usual abbreviations.
pub fn unit_micros(unit: &str) -> Option<i64> {
    spark_syntax::interval::unit_micros(unit)
}

/// Parses an interval into a [`std::time::Duration`] (for triggers and source options).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, TimeParseError> {
    let micros = parse_interval_micros(text)?;
    u64::try_from(micros)
        .map(std::time::Duration::from_micros)
        .map_err(|_| TimeParseError::Interval(text.to_string()))
}

/// Formats an interval of microseconds the way Spark's `EventTimeWatermark` plan node prints
/// its delay (`30 seconds`, `2 minutes`, `1500 milliseconds`).
pub fn format_interval(micros: i64) -> String {
    spark_syntax::interval::describe(micros)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` exactly — a valid date, hours below 24, minutes and
/// seconds below 60 (a leap second goes the general way) — as microseconds (the fraction
/// truncated, as chrono's `timestamp_micros` does). `None` for anything else.
fn parse_utc_fast(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let n = b.len();
    if n < 20 || b[n - 1] != b'Z' {
        return None;
    }
    // The fixed part as an array, so that every index below is checked at compile time.
    let Ok(h) = <&[u8; 19]>::try_from(&b[..19]) else {
        return None;
    };
    let d = |i: usize| h[i].wrapping_sub(b'0');
    let digits_ok = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .into_iter()
        .fold(true, |ok, i| ok & (d(i) < 10));
    if !digits_ok || h[4] != b'-' || h[7] != b'-' || h[10] != b'T' || h[13] != b':' || h[16] != b':'
    {
        return None;
    }
    let two = |i: usize| i64::from(d(i)) * 10 + i64::from(d(i + 1));
    let (year, month, day) = (two(0) * 100 + two(2), two(5), two(8));
    let (hour, minute, second) = (two(11), two(14), two(17));
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    const MONTH_DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = MONTH_DAYS[month as usize - 1] + i64::from(month == 2 && leap);
    if day < 1 || day > month_days {
        return None;
    }
    let micros_of_fraction = match &b[19..n - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let mut value = 0;
            for &c in fraction {
                let d = c.wrapping_sub(b'0');
                if d >= 10 {
                    return None;
                }
                value = value * 10 + i64::from(d);
            }
            // To microseconds: pad to six digits, or cut the digits past them.
            const POW10: [i64; 6] = [1, 10, 100, 1_000, 10_000, 100_000];
            let n = fraction.len();
            if n <= 6 {
                value * POW10[6 - n]
            } else {
                value / POW10[n - 6]
            }
        }
        _ => return None,
    };
    // Days since the epoch of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(Timestamp(secs * 1_000_000 + micros_of_fraction))
}

#[cfg(test)]
mod tests {
    /// The fast path reads exactly what chrono's RFC 3339 parser reads, for strings of its
    /// shape and near misses (bad dates, leap seconds, long fractions, other zones).
    #[test]
    fn the_fast_utc_form_reads_as_chrono_does() {
        use proptest::prelude::*;
        let shapes = "[0-9]{4}-[0-1][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,11})?(Z|z|\\+01:00)?";
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 5_000,
            failure_persistence: None,
            ..Default::default()
        });
        runner
            .run(&proptest::string::string_regex(shapes).unwrap(), |text| {
                let chrono = chrono::DateTime::parse_from_rfc3339(&text)
                    .ok()
                    .map(|dt| dt.timestamp_micros());
                if let Some(fast) = super::parse_utc_fast(&text) {
                    prop_assert_eq!(Some(fast.as_micros()), chrono, "{}", text);
                }
                Ok(())
            })
            .unwrap();
        for (text, micros) in [
            ("2024-01-01T10:00:05.000Z", Some(1_704_103_205_000_000)),
            ("1969-12-31T23:59:59.999999Z", Some(-1)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000_000)),
            ("2023-02-29T00:00:00Z", None),
            ("2024-01-01T10:00:60Z", None),
            ("2024-01-01T10:00:05.1234567891Z", None),
            ("2024-01-01T10:00:05+00:00", None),
        ] {
            assert_eq!(
                super::parse_utc_fast(text).map(|t| t.as_micros()),
                micros,
                "{text}"
            );
        }
        // What the fast path leaves to chrono still parses.
        assert_eq!(
            super::Timestamp::parse("2024-01-01T10:00:05+00:00")
                .unwrap()
                .as_micros(),
            1_704_103_205_000_000
        );
    }

    use super::*;

    #[test]
    fn parses_spark_csv_timestamps() {
        let a = Timestamp::parse("2024-01-01T10:00:05.000Z").unwrap();
        let b = Timestamp::parse("2024-01-01 10:00:05").unwrap();
        let c = Timestamp::parse("2024-01-01T12:00:05+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.as_micros(), 1_704_103_205_000_000);
        assert_eq!(
            Timestamp::parse("2024-01-01").unwrap().as_micros(),
            1_704_067_200_000_000
        );
        assert!(Timestamp::parse("not-a-timestamp").is_err());
    }

    #[test]
    fn displays_like_spark_console() {
        let t = Timestamp::parse("2024-01-01T10:00:09.999Z").unwrap();
        assert_eq!(t.to_string(), "2024-01-01 10:00:09.999");
        assert_eq!(t.plus_micros(1_000).to_string(), "2024-01-01 10:00:10");
        assert_eq!(
            t.plus_micros(-998_877).to_string(),
            "2024-01-01 10:00:09.000123"
        );
        assert_eq!(t.to_rfc3339(), "2024-01-01T10:00:09.999Z");
        assert_eq!(t.plus_micros(1_000).to_rfc3339(), "2024-01-01T10:00:10Z");
        let w = Window::new(
            Timestamp::parse("2024-01-01T10:00:00Z")
                .unwrap()
                .as_micros(),
            10_000_000,
        );
        assert_eq!(w.to_string(), "{2024-01-01 10:00:00, 2024-01-01 10:00:10}");
    }

    #[test]
    fn window_assignment_is_start_inclusive_end_exclusive() {
        let base = Timestamp::parse("2024-01-01T10:00:00Z")
            .unwrap()
            .as_micros();
        let mut got = Vec::new();
        for_each_window(base + 5_000_000, 20_000_000, 10_000_000, |s| {
            got.push(s - base)
        });
        assert_eq!(got, vec![0, -10_000_000]);
        got.clear();
        for_each_window(base + 10_000_000, 20_000_000, 10_000_000, |s| {
            got.push(s - base)
        });
        assert_eq!(got, vec![10_000_000, 0]);
        got.clear();
        for_each_window(base + 9_999_000, 10_000_000, 10_000_000, |s| {
            got.push(s - base)
        });
        assert_eq!(got, vec![0]);
        // 2 minute windows sliding by 1 minute: two windows each.
        got.clear();
        for_each_window(base + 90_000_000, 120_000_000, 60_000_000, |s| {
            got.push(s - base)
        });
        assert_eq!(got, vec![60_000_000, 0]);
        // Size not a multiple of the slide: 25 s / 10 s gives 2 or 3 windows.
        got.clear();
        for_each_window(base + 3_000_000, 25_000_000, 10_000_000, |s| {
            got.push(s - base)
        });
        assert_eq!(got, vec![0, -10_000_000, -20_000_000]);
        got.clear();
        for_each_window(base + 7_000_000, 25_000_000, 10_000_000, |s| {
            got.push(s - base)
        });
        assert_eq!(got, vec![0, -10_000_000]);
    }

    #[test]
    fn intervals() {
        assert_eq!(
            parse_interval_micros("30 seconds").unwrap(),
            30 * MICROS_PER_SECOND
        );
        assert_eq!(
            parse_interval_micros("2 minutes").unwrap(),
            2 * MICROS_PER_MINUTE
        );
        assert_eq!(
            parse_interval_micros("INTERVAL 1 HOUR").unwrap(),
            MICROS_PER_HOUR
        );
        assert_eq!(parse_interval_micros("1.5 seconds").unwrap(), 1_500_000);
        assert_eq!(
            parse_interval_micros("10s").unwrap(),
            10 * MICROS_PER_SECOND
        );
        assert!(parse_interval_micros("").is_err());
        assert!(parse_interval_micros("10 parsecs").is_err());
        assert!(parse_interval_micros("seconds").is_err());
        assert_eq!(format_interval(30 * MICROS_PER_SECOND), "30 seconds");
        assert_eq!(format_interval(MICROS_PER_MINUTE), "1 minute");
        assert_eq!(format_interval(1_500_000), "1500 milliseconds");
    }

    #[test]
    fn serde_round_trip() {
        let t = Timestamp::parse("2024-01-01T10:00:09.999Z").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2024-01-01T10:00:09.999Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<Timestamp>(&t.as_micros().to_string()).unwrap(),
            t
        );
    }
}
