//! Spark SQL's scalar semantics, as small inlined functions the generated code calls:
//! ANSI arithmetic (overflow and division by zero are errors, as in Spark 4's default mode),
//! Spark's total order on doubles (NaN is the greatest value and equals itself), casts, string
//! formatting of values (`concat`, `cast(... as string)`), and the string and time functions.
//!
//! Every function here states the Spark rule it implements; the DSL reference
//! (`docs/dsl.md`) lists them by their DSL names. Generated code reaches them all as
//! `functions::<name>`.

mod arith;
mod cast;
mod order;
mod string;
mod time;

pub use arith::*;
pub use cast::*;
pub use order::*;
pub use string::*;
pub use time::*;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    use crate::time::Timestamp;

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
        assert_eq!(i64::MIN.to_spark_string(), "-9223372036854775808");
        assert_eq!((-7_i32).to_spark_string(), "-7");
        assert_eq!(0_i32.to_spark_string(), "0");
        assert_eq!(false.to_spark_string(), "false");
        // Appended, not replacing what the buffer holds (`concat` prints into one string).
        let mut room = String::from("Room_");
        4_i64.push_spark_str(&mut room);
        assert_eq!(room, "Room_4");
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
