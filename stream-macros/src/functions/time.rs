//! Time functions (Spark's `datetimeExpressions`), on UTC timestamps.

use quote::quote;

use super::{FunctionSpec, Params, lift_args};
use crate::codegen::paths::rt;
use crate::plan::{ExprKind, SqlType, Ty};

/// A field of a timestamp: `name(TIMESTAMP) -> INT`, lowered to `<lowering>` (given the
/// runtime path and the argument).
macro_rules! timestamp_field {
    ($spec:ident, $name:literal, $signature:literal, |$rt:ident, $x:ident| $lowering:expr) => {
        #[doc = concat!("`", $signature, "`")]
        pub(crate) static $spec: FunctionSpec = FunctionSpec {
            name: $name,
            min_args: 1,
            max_args: Some(1),
            signature: $signature,
            typing: |mut t| {
                if !t.expect_arg(0, Ty::Timestamp) {
                    return None;
                }
                let ty = SqlType::new(Ty::Int, t.any_nullable());
                let args = std::mem::take(&mut t.args);
                t.call(args, Params::None, ty)
            },
            lower: |g, call, ty| {
                #[allow(unused_variables)]
                let $rt = rt();
                lift_args(g, call, ty, |a| {
                    let $x = &a[0];
                    $lowering
                })
            },
        };
    };
}

timestamp_field!(
    HOUR,
    "hour",
    "hour(TIMESTAMP) -> INT",
    |rt, x| quote!((#x).hour())
);
timestamp_field!(
    MINUTE,
    "minute",
    "minute(TIMESTAMP) -> INT",
    |rt, x| quote!((#x).minute())
);
timestamp_field!(
    SECOND,
    "second",
    "second(TIMESTAMP) -> INT",
    |rt, x| quote!((#x).second())
);
timestamp_field!(
    YEAR,
    "year",
    "year(TIMESTAMP) -> INT",
    |rt, x| quote!(#rt::functions::year(#x))
);
timestamp_field!(
    MONTH,
    "month",
    "month(TIMESTAMP) -> INT",
    |rt, x| quote!(#rt::functions::month(#x))
);
timestamp_field!(
    DAY_OF_MONTH,
    "dayofmonth",
    "dayofmonth(TIMESTAMP) -> INT",
    |rt, x| quote!(#rt::functions::day_of_month(#x))
);

/// `date_format(ts, "pattern")`: a Spark datetime pattern, translated to chrono's at compile
/// time.
pub(crate) static DATE_FORMAT: FunctionSpec = FunctionSpec {
    name: "date_format",
    min_args: 2,
    max_args: Some(2),
    signature: "date_format(TIMESTAMP, \"pattern\") -> STRING",
    typing: |mut t| {
        if !t.expect_arg(0, Ty::Timestamp) {
            return None;
        }
        let pattern = t.pattern(1)?;
        let ts = t.args.remove(0);
        let ty = SqlType::new(Ty::Str, ts.ty.nullable);
        t.call(vec![ts], pattern, ty)
    },
    lower: |g, call, ty| {
        let rt = rt();
        let Params::Pattern { chrono, .. } = &call.params else {
            unreachable!("date_format without a pattern")
        };
        lift_args(
            g,
            call,
            ty,
            |a| quote!(#rt::functions::date_format(#(#a)*, #chrono)),
        )
    },
};

/// `to_timestamp(s[, "pattern"])`: ANSI — an unparsable string is an error (a timestamp is
/// returned as it is).
pub(crate) static TO_TIMESTAMP: FunctionSpec = FunctionSpec {
    name: "to_timestamp",
    min_args: 1,
    max_args: Some(2),
    signature: "to_timestamp(STRING[, \"pattern\"]) -> TIMESTAMP",
    typing: |mut t| {
        if t.args[0].ty.ty == Ty::Timestamp {
            return Some(t.args.remove(0));
        }
        if !t.expect_arg(0, Ty::Str) {
            return None;
        }
        let params = if t.args.len() == 2 {
            t.pattern(1)?
        } else {
            Params::None
        };
        t.args.truncate(1);
        let ty = SqlType::new(Ty::Timestamp, t.args[0].ty.nullable);
        let args = std::mem::take(&mut t.args);
        t.call(args, params, ty)
    },
    lower: |g, call, ty| {
        let rt = rt();
        lift_args(g, call, ty, |a| match &call.params {
            Params::Pattern { chrono, spark } => {
                quote!(#rt::functions::to_timestamp_with(#(#a)*, #chrono, #spark)?)
            }
            _ => quote!(#rt::functions::cast_str_to_timestamp(#(#a)*)?),
        })
    },
};

/// `try_to_timestamp(s)`: null where `to_timestamp` would fail.
pub(crate) static TRY_TO_TIMESTAMP: FunctionSpec = FunctionSpec {
    name: "try_to_timestamp",
    min_args: 1,
    max_args: Some(1),
    signature: "try_to_timestamp(STRING) -> TIMESTAMP (null if unparsable)",
    typing: |mut t| {
        if t.args[0].ty.ty == Ty::Timestamp {
            return Some(t.args.remove(0));
        }
        if !t.expect_arg(0, Ty::Str) {
            return None;
        }
        let args = std::mem::take(&mut t.args);
        t.call(args, Params::None, SqlType::new(Ty::Timestamp, true))
    },
    lower: |g, call, ty| {
        let rt = rt();
        let codes: Vec<_> = call.args.iter().map(|a| g.expr(a)).collect();
        g.lift(
            &codes,
            ty,
            true,
            |a| quote!(#rt::functions::try_to_timestamp(#(#a)*)),
        )
    },
};

/// `current_timestamp()`: the batch's processing time, the same for every row of a batch.
pub(crate) static CURRENT_TIMESTAMP: FunctionSpec = FunctionSpec {
    name: "current_timestamp",
    min_args: 0,
    max_args: Some(0),
    signature: "current_timestamp() -> TIMESTAMP",
    typing: |t| {
        Some(crate::plan::Expr {
            kind: ExprKind::CurrentTimestamp,
            ty: SqlType::non_null(Ty::Timestamp),
            span: t.span,
        })
    },
    lower: |_, _, _| unreachable!("`current_timestamp` is typed as its own node"),
};
