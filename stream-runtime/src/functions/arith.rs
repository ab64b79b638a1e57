//! ANSI arithmetic: integer overflow and division by zero are errors, as in Spark 4's default
//! mode; and `round`, HALF_UP as Spark rounds.

use crate::error::Error;

// Arithmetic (ANSI)

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
