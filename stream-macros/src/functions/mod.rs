//! The scalar function library: one declarative [`FunctionSpec`] per function — its name and
//! arity, the signature messages and the DSL reference print, its typing rule (run by `check`)
//! and its lowering to Rust, which names its runtime entry (run by `codegen`). Adding a function
//! means adding one entry in one of these files and listing it in [`FUNCTIONS`].
//!
//! - [`string`]: `concat`, `lower`, `upper`, `trim`, `length`, `substring`, `split`;
//! - [`time`]: `hour` … `dayofmonth`, `date_format`, `to_timestamp`, `try_to_timestamp`,
//!   `current_timestamp`;
//! - [`numeric`]: `abs`, `round`, `try_divide`;
//! - [`null`]: `coalesce`, `lit`.

mod null;
mod numeric;
mod string;
mod time;

use std::fmt;

use crate::codegen::expr::{Code, ExprGen};
use crate::diagnostics::{Errors, SpanRange};
use crate::plan::{Expr, ExprKind, Literal, SqlType, Ty};

pub(crate) use string::{CONCAT, SPLIT};

/// A scalar function's entry in the library.
pub(crate) struct FunctionSpec {
    pub(crate) name: &'static str,
    pub(crate) min_args: usize,
    /// `None`: any number of arguments from `min_args` on.
    pub(crate) max_args: Option<usize>,
    /// For messages and the DSL reference: `lower(STRING) -> STRING`.
    pub(crate) signature: &'static str,
    /// Types a call whose arity is right (Spark's rules): the typed expression — usually an
    /// [`ExprKind::Call`] of this function — or `None` with the errors recorded.
    pub(crate) typing: fn(Typing<'_>) -> Option<Expr>,
    /// Lowers a typed call of this function to Rust.
    pub(crate) lower: fn(&ExprGen<'_>, &Call, SqlType) -> Code,
}

impl fmt::Debug for FunctionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Every scalar function.
pub(crate) static FUNCTIONS: &[&FunctionSpec] = &[
    &string::CONCAT,
    &string::LOWER,
    &string::UPPER,
    &string::TRIM,
    &string::LENGTH,
    &string::SUBSTRING,
    &string::SPLIT,
    &time::HOUR,
    &time::MINUTE,
    &time::SECOND,
    &time::YEAR,
    &time::MONTH,
    &time::DAY_OF_MONTH,
    &time::DATE_FORMAT,
    &time::TO_TIMESTAMP,
    &time::TRY_TO_TIMESTAMP,
    &time::CURRENT_TIMESTAMP,
    &null::COALESCE,
    &numeric::ABS,
    &numeric::ROUND,
    &numeric::TRY_DIVIDE,
    &null::LIT,
];

/// The function named `name` (lowercase).
pub(crate) fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().copied().find(|f| f.name == name)
}

/// A typed call: the function, its typed arguments, and the literal parameters its typing rule
/// took out of the arguments (`split`'s separator, a datetime pattern, `round`'s scale).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) func: &'static FunctionSpec,
    pub(crate) args: Vec<Expr>,
    pub(crate) params: Params,
}

impl Call {
    /// Whether this is a call of `spec`.
    pub(crate) fn is(&self, spec: &FunctionSpec) -> bool {
        std::ptr::eq(self.func, spec)
    }
}

/// Literal parameters of a call, fixed at compile time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Params {
    None,
    /// `split`'s separator.
    Separator(String),
    /// A Spark datetime pattern and its chrono form.
    Pattern {
        spark: String,
        chrono: String,
    },
    /// `round`'s scale.
    Scale(i32),
}

/// What a typing rule gets: the call being typed.
pub(crate) struct Typing<'a> {
    pub(crate) func: &'static FunctionSpec,
    pub(crate) args: Vec<Expr>,
    /// The whole call, for errors about it.
    pub(crate) span: SpanRange,
    pub(crate) errors: &'a Errors,
}

impl Typing<'_> {
    /// The typed call of this function on `args` with `params`, of type `ty`.
    fn call(self, args: Vec<Expr>, params: Params, ty: SqlType) -> Option<Expr> {
        Some(Expr {
            kind: ExprKind::Call(Call {
                func: self.func,
                args,
                params,
            }),
            ty,
            span: self.span,
        })
    }

    /// Whether any argument is nullable (a null-intolerant function is then nullable).
    fn any_nullable(&self) -> bool {
        self.args.iter().any(|a| a.ty.nullable)
    }

    /// Requires argument `i` to have type `want` (numeric widening allowed for numbers),
    /// casting it.
    fn expect_arg(&mut self, i: usize, want: Ty) -> bool {
        use crate::check::types::{coerce, widen_numeric};
        let got = self.args[i].ty.ty;
        let widens =
            want.is_numeric() && got.is_numeric() && widen_numeric(got, want) == Some(want);
        if got == want || got == Ty::Null || widens {
            self.args[i] = coerce(self.args[i].clone(), want);
            return true;
        }
        self.errors.error(
            self.args[i].span,
            format!(
                "argument {} of `{}` must be {}, found {}",
                i + 1,
                self.func.name,
                want.sql_name(),
                self.args[i].ty.describe()
            ),
        );
        false
    }

    /// Argument `i`, which must be a string literal (`what` it is, for the message).
    fn string_literal(&self, i: usize, what: &str) -> Option<String> {
        match self.args[i].literal() {
            Some(Literal::Str(s)) => Some(s.clone()),
            _ => {
                self.errors.error(
                    self.args[i].span,
                    format!(
                        "the {what} of `{}` must be a string literal",
                        self.func.name
                    ),
                );
                None
            }
        }
    }

    /// Argument `i` as a Spark datetime pattern.
    fn pattern(&self, i: usize) -> Option<Params> {
        let spark = self.string_literal(i, "pattern")?;
        match spark_syntax::datetime_pattern::spark_pattern_to_chrono(&spark) {
            Ok(chrono) => Some(Params::Pattern { spark, chrono }),
            Err(msg) => {
                self.errors.error(self.args[i].span, msg);
                None
            }
        }
    }
}

/// Types a call of scalar function `name` (lowercase): checks it exists and its arity, then runs
/// its typing rule. `None` if unknown or ill-typed (errors recorded).
pub(crate) fn resolve_call(
    spec: &'static FunctionSpec,
    args: Vec<Expr>,
    span: SpanRange,
    errors: &Errors,
) -> Option<Expr> {
    if args.len() < spec.min_args || spec.max_args.is_some_and(|max| args.len() > max) {
        let expected = match spec.max_args {
            Some(max) if max == spec.min_args => format!("{max}"),
            Some(max) => format!("{} to {max}", spec.min_args),
            None => format!("at least {}", spec.min_args),
        };
        errors.error(
            span,
            format!(
                "`{}` takes {expected} argument{}, found {}\n= note: signature: {}",
                spec.name,
                if expected == "1" { "" } else { "s" },
                args.len(),
                spec.signature
            ),
        );
        return None;
    }
    (spec.typing)(Typing {
        func: spec,
        args,
        span,
        errors,
    })
}

/// The Rust code of a typed call.
pub(crate) fn lower(g: &ExprGen<'_>, call: &Call, ty: SqlType) -> Code {
    (call.func.lower)(g, call, ty)
}

/// The lowering of a null-intolerant function: the arguments are evaluated (null makes the
/// result null) and `body` gets their values.
fn lift_args(
    g: &ExprGen<'_>,
    call: &Call,
    ty: SqlType,
    body: impl FnOnce(&[proc_macro2::TokenStream]) -> proc_macro2::TokenStream,
) -> Code {
    let codes: Vec<Code> = call.args.iter().map(|a| g.expr(a)).collect();
    g.lift(&codes, ty, false, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_every_entry_types_its_minimal_call() {
        let span = SpanRange::single(proc_macro2::Span::call_site());
        for (i, f) in FUNCTIONS.iter().enumerate() {
            assert_eq!(f.name, f.name.to_lowercase());
            assert!(
                FUNCTIONS[..i].iter().all(|g| g.name != f.name),
                "{}",
                f.name
            );
            assert!(f.signature.starts_with(f.name), "{}", f.signature);
            // Every entry's rule runs on null arguments without panicking.
            let errors = Errors::new();
            let args: Vec<Expr> = (0..f.min_args)
                .map(|_| crate::check::types::literal(Literal::Null, span))
                .collect();
            let _ = resolve_call(f, args, span, &errors);
            let _ = errors.check();
        }
    }
}
