//! Numeric functions: `abs`, `round`, `try_divide`.

use quote::quote;

use super::{FunctionSpec, Params, lift_args};
use crate::check::types::coerce;
use crate::codegen::paths::rt;
use crate::plan::{Expr, Literal, SqlType, Ty};

/// `abs(x)`: ANSI — `abs` of the least long or int overflows.
pub(crate) static ABS: FunctionSpec = FunctionSpec {
    name: "abs",
    min_args: 1,
    max_args: Some(1),
    signature: "abs(numeric) -> numeric",
    typing: |mut t| {
        let ty = t.args[0].ty;
        if !ty.ty.is_numeric() {
            t.errors.error(
                t.args[0].span,
                format!("`abs` needs a numeric argument, found {}", ty.describe()),
            );
            return None;
        }
        let args = std::mem::take(&mut t.args);
        t.call(args, Params::None, ty)
    },
    lower: |g, call, ty| {
        let rt = rt();
        let arg = call.args[0].ty.ty;
        lift_args(g, call, ty, |a| match arg {
            Ty::Long => {
                quote!((#(#a)*).checked_abs().ok_or_else(|| #rt::Error::arithmetic_overflow("long"))?)
            }
            Ty::Int => {
                quote!((#(#a)*).checked_abs().ok_or_else(|| #rt::Error::arithmetic_overflow("integer"))?)
            }
            _ => quote!((#(#a)*).abs()),
        })
    },
};

/// `round(x[, scale])`: half up, as Spark's `ROUND`.
pub(crate) static ROUND: FunctionSpec = FunctionSpec {
    name: "round",
    min_args: 1,
    max_args: Some(2),
    signature: "round(numeric[, scale]) -> numeric",
    typing: |mut t| {
        let ty = t.args[0].ty;
        if !ty.ty.is_numeric() {
            t.errors.error(
                t.args[0].span,
                format!("`round` needs a numeric argument, found {}", ty.describe()),
            );
            return None;
        }
        let scale = match t.args.get(1).map(Expr::literal) {
            None => 0,
            Some(Some(Literal::Int(s))) => *s,
            Some(_) => {
                t.errors.error(
                    t.args[1].span,
                    "the scale of `round` must be an integer literal",
                );
                return None;
            }
        };
        t.args.truncate(1);
        let args = std::mem::take(&mut t.args);
        t.call(args, Params::Scale(scale), ty)
    },
    lower: |g, call, ty| {
        let rt = rt();
        let Params::Scale(scale) = call.params else {
            unreachable!("round without a scale")
        };
        let arg = call.args[0].ty.ty;
        lift_args(g, call, ty, |a| match arg {
            Ty::Double => quote!(#rt::functions::round_f64(#(#a)*, #scale)),
            // Integers change only when rounded to tens, hundreds, ...
            Ty::Long if scale < 0 => quote!(#rt::functions::round_i64(#(#a)*, #scale)?),
            Ty::Int if scale < 0 => quote!(#rt::functions::round_i32(#(#a)*, #scale)?),
            _ => quote!(#(#a)*),
        })
    },
};

/// `try_divide(a, b)`: `a / b` as doubles, null for a zero divisor.
pub(crate) static TRY_DIVIDE: FunctionSpec = FunctionSpec {
    name: "try_divide",
    min_args: 2,
    max_args: Some(2),
    signature: "try_divide(numeric, numeric) -> DOUBLE (null for a zero divisor)",
    typing: |mut t| {
        if let Some(a) = t
            .args
            .iter()
            .find(|a| !a.ty.ty.is_numeric() && a.ty.ty != Ty::Null)
        {
            t.errors.error(
                a.span,
                format!(
                    "`try_divide` needs numeric arguments, found {}",
                    a.ty.describe()
                ),
            );
            return None;
        }
        let args: Vec<Expr> = std::mem::take(&mut t.args)
            .into_iter()
            .map(|a| coerce(a, Ty::Double))
            .collect();
        t.call(args, Params::None, SqlType::new(Ty::Double, true))
    },
    lower: |g, call, ty| {
        let rt = rt();
        let codes: Vec<_> = call.args.iter().map(|a| g.expr(a)).collect();
        // The body itself returns an `Option`.
        g.lift(&codes, ty, true, |a| {
            let (x, y) = (&a[0], &a[1]);
            quote!(#rt::functions::try_div_f64(#x, #y))
        })
    },
};
