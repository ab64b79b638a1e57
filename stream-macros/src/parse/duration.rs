//! Interval literals: `10s`, `500ms`, `2min`, `10 seconds`, `1 minute 30 seconds`,
//! `"10 seconds"`.
//!
//! The units and the parsing of interval strings are `spark_syntax::interval`'s, shared with the
//! runtime (which reads intervals given as strings at run time, e.g. triggers).

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitInt, LitStr};

use spark_syntax::interval::{self, IntervalError, UNIT_HINT, UNITS, unit_micros};

use super::expected;
use crate::diagnostics::{SpanRange, did_you_mean};

/// An interval written in the DSL, already converted to microseconds.
#[derive(Debug, Clone)]
pub(crate) struct IntervalLit {
    pub(crate) micros: i64,
    pub(crate) span: SpanRange,
}

fn unit_error(span: Span, unit: &str) -> syn::Error {
    let hint = if unit.is_empty() {
        "an interval needs a unit, e.g. `10s` or `10 seconds`".to_string()
    } else {
        let close = did_you_mean(unit, UNITS.iter().copied());
        format!("unknown interval unit `{unit}`{close}\n= note: {UNIT_HINT}")
    };
    syn::Error::new(span, hint)
}

impl Parse for IntervalLit {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            let micros = parse_interval_text(&lit.value())
                .map_err(|msg| syn::Error::new(lit.span(), msg))?;
            return Ok(IntervalLit {
                micros,
                span: SpanRange::single(lit.span()),
            });
        }
        let first: LitInt = input.parse().map_err(|e| {
            expected(
                e,
                "expected an interval such as `10s`, `30 seconds` or `\"1 minute\"`",
            )
        })?;
        let start = first.span();
        let mut end = start;
        let mut micros: i64 = 0;
        let mut next = Some(first);
        while let Some(lit) = next.take() {
            let value: i64 = lit.base10_parse()?;
            let per_unit = if lit.suffix().is_empty() {
                let unit: Ident = input.parse().map_err(|_| unit_error(lit.span(), ""))?;
                end = unit.span();
                unit_micros(&unit.to_string())
                    .ok_or_else(|| unit_error(unit.span(), &unit.to_string()))?
            } else {
                end = lit.span();
                unit_micros(lit.suffix()).ok_or_else(|| unit_error(lit.span(), lit.suffix()))?
            };
            micros = value
                .checked_mul(per_unit)
                .and_then(|m| micros.checked_add(m))
                .ok_or_else(|| syn::Error::new(lit.span(), "interval too large"))?;
            if input.peek(LitInt) {
                next = Some(input.parse()?);
            }
        }
        Ok(IntervalLit {
            micros,
            span: SpanRange { start, end },
        })
    }
}

/// Parses `"10 seconds"`, `"1 minute 30 seconds"`, `"250ms"`, `"interval 2 hours"`, with a
/// message a user can act on when it is not an interval.
pub(crate) fn parse_interval_text(text: &str) -> Result<i64, String> {
    interval::parse_micros(text).map_err(|e| match e {
        IntervalError::MissingUnit => {
            format!("`{text}`: an interval needs a unit, e.g. \"10 seconds\"")
        }
        IntervalError::UnknownUnit(unit) => format!(
            "`{text}`: unknown interval unit `{unit}`{}\n= note: {UNIT_HINT}",
            did_you_mean(&unit, UNITS.iter().copied())
        ),
        IntervalError::Malformed | IntervalError::OutOfRange => {
            format!(
                "cannot parse `{text}` as an interval; expected e.g. \"10 seconds\" or \"1 minute\""
            )
        }
    })
}

/// The readable form of an interval (`30 seconds`), for messages and plans.
pub(crate) fn describe_interval(micros: i64) -> String {
    interval::describe(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: &str) -> syn::Result<i64> {
        syn::parse_str::<IntervalLit>(tokens).map(|i| i.micros)
    }

    #[test]
    fn forms() {
        assert_eq!(parse("10s").unwrap(), 10_000_000);
        assert_eq!(parse("10 seconds").unwrap(), 10_000_000);
        assert_eq!(parse("1 minute 30 seconds").unwrap(), 90_000_000);
        assert_eq!(parse("2min").unwrap(), 120_000_000);
        assert_eq!(parse("500ms").unwrap(), 500_000);
        assert_eq!(parse("\"1 minute\"").unwrap(), 60_000_000);
        assert_eq!(parse("\"interval 2 hours\"").unwrap(), 7_200_000_000);
    }

    #[test]
    fn every_suggested_unit_is_a_unit() {
        for unit in UNITS {
            assert!(unit_micros(unit).is_some(), "{unit}");
        }
        let e = parse("10 secnds").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "unknown interval unit `secnds`; did you mean `seconds`?\n= note: the units are"
            ),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("10").unwrap_err().to_string();
        assert!(e.contains("needs a unit"), "{e}");
        let e = parse("10 parsecs").unwrap_err().to_string();
        assert!(e.contains("unknown interval unit `parsecs`"), "{e}");
        let e = parse("10xs").unwrap_err().to_string();
        assert!(e.contains("unknown interval unit `xs`"), "{e}");
        let e = parse("\"ten seconds\"").unwrap_err().to_string();
        assert!(e.contains("cannot parse"), "{e}");
        assert_eq!(describe_interval(30_000_000), "30 seconds");
        assert_eq!(describe_interval(60_000_000), "1 minute");
    }
}
