//! Time functions on UTC timestamps.

use crate::time::Timestamp;

// Time

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
