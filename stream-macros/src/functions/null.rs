//! `coalesce` and `lit`.

use quote::quote;

use super::{FunctionSpec, Params};
use crate::check::types::{coerce, common_type};
use crate::codegen::expr::Code;
use crate::codegen::rust_type::to_owned;
use crate::plan::{Expr, SqlType, Ty};

/// `coalesce(a, b, ...)`: the first non-null argument, in their common type.
pub(crate) static COALESCE: FunctionSpec = FunctionSpec {
    name: "coalesce",
    min_args: 1,
    max_args: None,
    signature: "coalesce(T, ...) -> T",
    typing: |mut t| {
        let mut ty = Ty::Null;
        for a in &t.args {
            match common_type(ty, a.ty.ty) {
                Some(c) => ty = c,
                None => {
                    t.errors.error(
                        a.span,
                        format!(
                            "`coalesce` arguments must have a common type: {} and {}",
                            ty.sql_name(),
                            a.ty.ty.sql_name()
                        ),
                    );
                    return None;
                }
            }
        }
        let nullable = t.args.iter().all(|a| a.ty.nullable);
        let args: Vec<Expr> = std::mem::take(&mut t.args)
            .into_iter()
            .map(|a| coerce(a, ty))
            .collect();
        t.call(args, Params::None, SqlType::new(ty, nullable))
    },
    lower: |g, call, ty| {
        let codes: Vec<Code> = call.args.iter().map(|a| g.expr(a)).collect();
        let owned = codes.iter().any(|c| c.owned);
        // From the last argument backwards: `match a { Some(v) => Some(v), None => rest }`.
        let mut iter = codes.iter().rev();
        let last = iter.next().expect("coalesce has an argument");
        let mut ts = g.conform(last, ty, owned);
        for c in iter {
            let t = if owned && !c.owned && !c.ty.ty.is_copy() {
                to_owned(&c.ts, c.ty)
            } else {
                c.ts.clone()
            };
            let some = if ty.nullable {
                quote!(::core::option::Option::Some(__v))
            } else {
                quote!(__v)
            };
            ts = if c.ty.nullable {
                quote!(match #t { ::core::option::Option::Some(__v) => #some, ::core::option::Option::None => #ts })
            } else {
                g.conform(c, ty, owned)
            };
        }
        Code { ts, ty, owned }
    },
};

/// `lit(x)`: the literal itself (Spark's `lit`, for readability of ported code).
pub(crate) static LIT: FunctionSpec = FunctionSpec {
    name: "lit",
    min_args: 1,
    max_args: Some(1),
    signature: "lit(literal) -> the literal",
    typing: |mut t| Some(t.args.remove(0)),
    lower: |_, _, _| unreachable!("`lit` is typed as its argument"),
};
