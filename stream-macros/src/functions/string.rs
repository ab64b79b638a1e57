//! String functions (Spark's `StringExpressions`).

use proc_macro2::TokenStream;
use quote::quote;

use super::{Call, FunctionSpec, Params, lift_args};
use crate::codegen::expr::{Code, ExprGen};
use crate::codegen::paths::rt;
use crate::plan::{ExprKind, Literal, SqlType, Ty};

/// `concat(any, ...)`: the arguments' Spark string forms, joined; null if any is null.
pub(crate) static CONCAT: FunctionSpec = FunctionSpec {
    name: "concat",
    min_args: 1,
    max_args: None,
    signature: "concat(any, ...) -> STRING",
    typing: |t| {
        if let Some(a) = t.args.iter().find(|a| a.ty.ty == Ty::StrArray) {
            t.errors.error(
                a.span,
                "`concat` of arrays is not supported; concatenate strings",
            );
            return None;
        }
        let ty = SqlType::new(Ty::Str, t.any_nullable());
        let args = t.args.clone();
        t.call(args, Params::None, ty)
    },
    lower: lower_concat,
};

/// One `String`, each part appended in its Spark string form; literal parts are appended
/// directly, the others lifted (null makes the result null).
fn lower_concat(g: &ExprGen<'_>, call: &Call, ty: SqlType) -> Code {
    let rt = rt();
    let args = &call.args;
    let is_literal = |a: &crate::plan::Expr| matches!(a.kind, ExprKind::Lit(Literal::Str(_)));
    // `cast(x as string)` is printed from `x` itself, without building its string first.
    fn printed(a: &crate::plan::Expr) -> &crate::plan::Expr {
        a.cast_to_string_of().unwrap_or(a)
    }
    let dynamic: Vec<Code> = args
        .iter()
        .filter(|a| !is_literal(a))
        .map(|a| g.expr(printed(a)))
        .collect();
    let literal_len: usize = args
        .iter()
        .filter_map(|a| match &a.kind {
            ExprKind::Lit(Literal::Str(s)) => Some(s.len()),
            _ => None,
        })
        .sum();
    let cap = literal_len + 8 * dynamic.len();
    g.lift(&dynamic, ty, false, |names| {
        let mut parts = TokenStream::new();
        let mut next = 0;
        for a in args {
            match &a.kind {
                ExprKind::Lit(Literal::Str(s)) => {
                    let mut chars = s.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => parts.extend(quote!(__s.push(#c);)),
                        _ => parts.extend(quote!(__s.push_str(#s);)),
                    }
                }
                _ => {
                    let n = &names[next];
                    next += 1;
                    if printed(a).ty.ty == Ty::Str {
                        parts.extend(quote!(__s.push_str(#n);));
                    } else {
                        parts.extend(
                            quote!(#rt::functions::SparkDisplay::push_spark_str(&#n, &mut __s);),
                        );
                    }
                }
            }
        }
        quote!({
            let mut __s = ::std::string::String::with_capacity(#cap);
            #parts
            __s
        })
    })
}

/// A function of one string: `name(STRING) -> <result>`, lowered to `functions::<entry>`.
macro_rules! string_to {
    ($spec:ident, $name:literal, $signature:literal, $result:expr, $entry:ident) => {
        #[doc = concat!("`", $signature, "`")]
        pub(crate) static $spec: FunctionSpec = FunctionSpec {
            name: $name,
            min_args: 1,
            max_args: Some(1),
            signature: $signature,
            typing: |mut t| {
                if !t.expect_arg(0, Ty::Str) {
                    return None;
                }
                let ty = SqlType::new($result, t.any_nullable());
                let args = std::mem::take(&mut t.args);
                t.call(args, Params::None, ty)
            },
            lower: |g, call, ty| {
                let rt = rt();
        lift_args(g, call, ty, |a| quote!(#rt::functions::$entry(#(#a)*)))
            },
        };
    };
}

string_to!(LOWER, "lower", "lower(STRING) -> STRING", Ty::Str, lower);
string_to!(UPPER, "upper", "upper(STRING) -> STRING", Ty::Str, upper);
string_to!(TRIM, "trim", "trim(STRING) -> STRING", Ty::Str, trim);
string_to!(LENGTH, "length", "length(STRING) -> INT", Ty::Int, length);

/// `substring(s, pos, len)`: Spark's 1-based (negative: from the end) substring.
pub(crate) static SUBSTRING: FunctionSpec = FunctionSpec {
    name: "substring",
    min_args: 3,
    max_args: Some(3),
    signature: "substring(STRING, INT pos, INT len) -> STRING",
    typing: |mut t| {
        let ok = t.expect_arg(0, Ty::Str) & t.expect_arg(1, Ty::Int) & t.expect_arg(2, Ty::Int);
        let ty = SqlType::new(Ty::Str, t.any_nullable());
        let args = std::mem::take(&mut t.args);
        if ok {
            t.call(args, Params::None, ty)
        } else {
            None
        }
    },
    lower: |g, call, ty| {
        let rt = rt();
        lift_args(g, call, ty, |a| {
            let (s, p, l) = (&a[0], &a[1], &a[2]);
            quote!(#rt::functions::substring(#s, #p, #l))
        })
    },
};

/// `split(s, "sep")`: the parts of `s` between occurrences of a literal separator.
pub(crate) static SPLIT: FunctionSpec = FunctionSpec {
    name: "split",
    min_args: 2,
    max_args: Some(2),
    signature: "split(STRING, \"separator\") -> ARRAY<STRING>",
    typing: |mut t| {
        if !t.expect_arg(0, Ty::Str) {
            return None;
        }
        let separator = t.string_literal(1, "separator")?;
        if let Some(meta) = separator.chars().find(|c| "\\^$.|?*+()[]{}".contains(*c)) {
            t.errors.error(
                t.args[1].span,
                format!(
                    "`split` takes a literal separator; `{meta}` is a regular-expression metacharacter in Spark's pattern, which Sluice does not interpret"
                ),
            );
            return None;
        }
        let ty = SqlType::new(Ty::StrArray, t.args[0].ty.nullable);
        let input = t.args.remove(0);
        t.call(vec![input], Params::Separator(separator), ty)
    },
    lower: |g, call, ty| {
        let rt = rt();
        let Params::Separator(separator) = &call.params else {
            unreachable!("split without a separator")
        };
        lift_args(
            g,
            call,
            ty,
            |a| quote!(#rt::functions::split(#(#a)*, #separator)),
        )
    },
};
