//! Expressions to Rust. Each expression becomes a Rust expression of a known shape:
//!
//! | SQL type           | non-null, borrowed / owned | nullable                       |
//! |--------------------|----------------------------|--------------------------------|
//! | BOOLEAN, INT, ...  | `bool`, `i32`, `i64`, `f64`, `Timestamp`, `Window` | `Option<_>` |
//! | STRING             | `&str` / `String`          | `Option<&str>` / `Option<String>` |
//! | `ARRAY<STRING>`    | `&[String]` / `Vec<String>`| `Option<_>`                    |
//! | BINARY             | `&[u8]` / `Vec<u8>`        | `Option<_>`                    |
//! | Kafka headers      | `&[Header]` / `Vec<Header>`| `Option<_>`                    |
//!
//! Strings stay borrowed (from the input row, or `'static` literals) until something needs to
//! own them, so a filter on a string column allocates nothing. Null-intolerant operators are
//! lifted with nested `match`es that evaluate operands left to right and stop at the first
//! null, as Spark's generated code does; errors (`?`) follow Spark's ANSI rules.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::paths::rt;
use super::rust_type::{literal, rust_view_type, to_owned};
use crate::plan::{
    Ansi, ArithOp, CmpOp, Expr, ExprKind, KeyRepr, PipelinePlan, SlotDef, SlotId, SqlType, Ty,
};

/// Generated code for an expression.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) ts: TokenStream,
    pub(crate) ty: SqlType,
    /// For strings and arrays: whether the value is owned (`String`) or borrowed (`&str`).
    pub(crate) owned: bool,
}

/// Expression code generator for one pipeline.
pub(crate) struct ExprGen<'p> {
    pub(crate) plan: &'p PipelinePlan,
    fresh: Cell<usize>,
    owned_memo: RefCell<HashMap<SlotId, bool>>,
}

impl<'p> ExprGen<'p> {
    pub(crate) fn new(plan: &'p PipelinePlan) -> Self {
        ExprGen {
            plan,
            fresh: Cell::new(0),
            owned_memo: RefCell::new(HashMap::new()),
        }
    }

    fn fresh(&self, base: &str) -> Ident {
        let n = self.fresh.get();
        self.fresh.set(n + 1);
        format_ident!("__{}{}", base, n)
    }

    /// The local variable holding a slot's value.
    pub(crate) fn slot_ident(&self, id: SlotId) -> Ident {
        let name = &self.plan.slot(id).name;
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = clean.trim_start_matches('_');
        if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
            format_ident!("v{}_{}", clean, id.0)
        } else {
            format_ident!("{}_{}", clean, id.0)
        }
    }

    /// Whether a slot's local holds an owned string/array (else borrowed).
    pub(crate) fn slot_owned(&self, id: SlotId) -> bool {
        if let Some(&o) = self.owned_memo.borrow().get(&id) {
            return o;
        }
        let slot = self.plan.slot(id);
        let owned = match &slot.def {
            SlotDef::Input { .. } => false,
            SlotDef::Let(e) => self.expr(e).owned,
            SlotDef::Key(k) => {
                let agg = self
                    .plan
                    .aggregate
                    .as_ref()
                    .expect("key slot without aggregation");
                matches!(agg.keys[*k].repr, KeyRepr::ConcatInt { .. })
            }
            SlotDef::Agg(_) => true,
            // Generated elements borrow from the row or the array they come from.
            SlotDef::WindowKey | SlotDef::Decode(_) | SlotDef::Generated => false,
            // Joined values borrow from the table's row.
            SlotDef::Joined { .. } => false,
            // Decoded values are owned (`Option<String>`, ...).
            SlotDef::Decoded { .. } => !slot.ty.ty.is_copy(),
        };
        self.owned_memo.borrow_mut().insert(id, owned);
        owned
    }

    /// A slot's local read as a view (`&str` for a string it owns): borrowed, never moved, so
    /// the same local can feed a group key, accumulators and output columns.
    pub(crate) fn slot_view(&self, id: SlotId) -> TokenStream {
        let local = self.slot_ident(id);
        self.view(&Code {
            ts: quote!(#local),
            ty: self.plan.slot(id).ty,
            owned: self.slot_owned(id),
        })
    }

    /// Code for an expression.
    pub(crate) fn expr(&self, e: &Expr) -> Code {
        let rt = rt();
        let ty = e.ty;
        let code = |ts: TokenStream, owned: bool| Code { ts, ty, owned };
        match &e.kind {
            ExprKind::Slot(s) => {
                let id = self.slot_ident(*s);
                code(quote!(#id), self.slot_owned(*s))
            }
            ExprKind::Lit(lit) => code(literal(lit, ty), false),
            ExprKind::CurrentTimestamp => code(quote!(__ctx.batch_timestamp()), false),
            ExprKind::Neg(inner) => {
                let inner = self.expr(inner);
                self.lift(&[inner], ty, false, |a| match ty.ty {
                    Ty::Long => quote!(#rt::functions::neg_i64(#(#a)*)?),
                    Ty::Int => quote!(#rt::functions::neg_i32(#(#a)*)?),
                    _ => quote!(-#(#a)*),
                })
            }
            ExprKind::TimeShift(inner, micros) => {
                let inner = self.expr(inner);
                self.lift(
                    &[inner],
                    ty,
                    false,
                    |a| quote!((#(#a)*).plus_micros(#micros)),
                )
            }
            ExprKind::Not(inner) => {
                let inner = self.expr(inner);
                let t = inner.ts;
                if inner.ty.nullable {
                    code(quote!((#t).map(|__v: bool| !__v)), false)
                } else {
                    code(quote!(!(#t)), false)
                }
            }
            ExprKind::Arith(op, l, r, ansi) => self.arith(*op, l, r, ty, *ansi),
            ExprKind::Cmp(op, l, r) => self.cmp(*op, l, r, ty),
            ExprKind::And(l, r) | ExprKind::Or(l, r) => {
                let is_and = matches!(e.kind, ExprKind::And(..));
                let (l, r) = (self.expr(l), self.expr(r));
                let (lt, rt_) = (&l.ts, &r.ts);
                if !ty.nullable {
                    return if is_and {
                        code(quote!((#lt && #rt_)), false)
                    } else {
                        code(quote!((#lt || #rt_)), false)
                    };
                }
                let wrap = |c: &Code| {
                    let t = &c.ts;
                    if c.ty.nullable {
                        quote!(#t)
                    } else {
                        quote!(::core::option::Option::Some(#t))
                    }
                };
                let (lw, rw) = (wrap(&l), wrap(&r));
                // SQL three-valued logic, short-circuiting like Spark's `And`/`Or`.
                let decisive = !is_and;
                let indecisive = is_and;
                code(
                    quote! {
                        match #lw {
                            ::core::option::Option::Some(#decisive) => ::core::option::Option::Some(#decisive),
                            __l => match #rw {
                                ::core::option::Option::Some(#decisive) => ::core::option::Option::Some(#decisive),
                                __r => if __l.is_none() || __r.is_none() {
                                    ::core::option::Option::None
                                } else {
                                    ::core::option::Option::Some(#indecisive)
                                },
                            },
                        }
                    },
                    false,
                )
            }
            ExprKind::IsNull { expr, negated } => {
                let inner = self.expr(expr);
                let t = inner.ts;
                let ts = match (inner.ty.nullable, negated) {
                    (true, false) => quote!((#t).is_none()),
                    (true, true) => quote!((#t).is_some()),
                    (false, false) => quote!(false),
                    (false, true) => quote!(true),
                };
                code(ts, false)
            }
            ExprKind::Case {
                branches,
                otherwise,
            } => {
                let values: Vec<Code> = branches
                    .iter()
                    .map(|(_, v)| self.expr(v))
                    .chain(otherwise.iter().map(|o| self.expr(o)))
                    .collect();
                let owned = values.iter().any(|v| v.owned);
                let mut arms = TokenStream::new();
                for (i, (cond, _)) in branches.iter().enumerate() {
                    let c = self.truthy(&self.expr(cond));
                    let v = self.conform(&values[i], ty, owned);
                    if i == 0 {
                        arms.extend(quote!(if #c { #v }));
                    } else {
                        arms.extend(quote!(else if #c { #v }));
                    }
                }
                let other = match otherwise {
                    Some(_) => self.conform(values.last().expect("else value"), ty, owned),
                    None => quote!(::core::option::Option::None),
                };
                arms.extend(quote!(else { #other }));
                code(arms, owned)
            }
            ExprKind::Cast(inner) => self.cast(inner, ty),
            ExprKind::WindowField { window, end } => {
                let w = self.expr(window);
                let t = w.ts;
                let field = if *end { quote!(end) } else { quote!(start) };
                if w.ty.nullable {
                    code(quote!((#t).map(|__w| __w.#field)), false)
                } else {
                    code(quote!((#t).#field), false)
                }
            }
            ExprKind::Call(call) => crate::functions::lower(self, call, ty),
        }
    }

    /// A boolean expression as a Rust `bool` that is true only for SQL TRUE.
    pub(crate) fn truthy(&self, c: &Code) -> TokenStream {
        let t = &c.ts;
        if c.ty.nullable {
            quote!(::core::matches!(#t, ::core::option::Option::Some(true)))
        } else {
            quote!(#t)
        }
    }

    /// Converts `c` to the representation of type `ty` (nullability) and ownership `owned`.
    pub(crate) fn conform(&self, c: &Code, ty: SqlType, owned: bool) -> TokenStream {
        let t = &c.ts;
        let mut ts = if owned && !c.owned && !c.ty.ty.is_copy() {
            to_owned(t, c.ty)
        } else {
            quote!(#t)
        };
        if ty.nullable && !c.ty.nullable {
            ts = quote!(::core::option::Option::Some(#ts));
        }
        ts
    }

    /// A view of `c` for reading: `&str` for strings (`Option<&str>` if nullable), values
    /// otherwise.
    pub(crate) fn view(&self, c: &Code) -> TokenStream {
        let t = &c.ts;
        match (c.ty.ty, c.owned, c.ty.nullable) {
            (Ty::Str, true, false) => quote!((#t).as_str()),
            (Ty::StrArray | Ty::Binary | Ty::Headers, true, false) => quote!((#t).as_slice()),
            (Ty::Str | Ty::StrArray | Ty::Binary | Ty::Headers, true, true) => {
                quote!((#t).as_deref())
            }
            _ => quote!(#t),
        }
    }

    /// Evaluates `operands` left to right, stopping with null at the first null one, and runs
    /// `body` on the non-null values (as views). `body_nullable`: the body itself returns an
    /// `Option`.
    pub(crate) fn lift(
        &self,
        operands: &[Code],
        ty: SqlType,
        body_nullable: bool,
        body: impl FnOnce(&[TokenStream]) -> TokenStream,
    ) -> Code {
        // Non-null operands are used in place: Rust evaluates them left to right, as Spark
        // does, and keeps temporaries alive to the end of the statement. Nullable operands are
        // bound by a `match` that stops at the first null.
        let mut bound: Vec<(Ident, TokenStream)> = Vec::new();
        let args: Vec<TokenStream> = operands
            .iter()
            .map(|op| {
                let view = self.view(op);
                if op.ty.nullable {
                    let name = self.fresh("v");
                    bound.push((name.clone(), view));
                    quote!(#name)
                } else {
                    view
                }
            })
            .collect();
        let inner = body(&args);
        let mut ts = if !bound.is_empty() && !body_nullable {
            quote!(::core::option::Option::Some(#inner))
        } else {
            inner
        };
        for (name, view) in bound.into_iter().rev() {
            ts = quote! {
                match #view {
                    ::core::option::Option::Some(#name) => #ts,
                    ::core::option::Option::None => ::core::option::Option::None,
                }
            };
        }
        let owned = !ty.ty.is_copy();
        Code { ts, ty, owned }
    }

    fn arith(&self, op: ArithOp, l: &Expr, r: &Expr, ty: SqlType, ansi: Ansi) -> Code {
        let rt = rt();
        let operand = l.ty.ty;
        let (lc, rc) = (self.expr(l), self.expr(r));
        self.lift(&[lc, rc], ty, false, |a| {
            let (x, y) = (&a[0], &a[1]);
            match (operand, op, ansi) {
                // IEEE addition, subtraction and multiplication never fail.
                (Ty::Double, ArithOp::Add, _) => quote!((#x + #y)),
                (Ty::Double, ArithOp::Sub, _) => quote!((#x - #y)),
                (Ty::Double, ArithOp::Mul, _) => quote!((#x * #y)),
                (Ty::Double | Ty::Long | Ty::Int, ArithOp::Div, Ansi::Unchecked) => {
                    quote!((#x / #y))
                }
                (_, ArithOp::Rem, Ansi::Unchecked) => quote!((#x % #y)),
                (Ty::Long | Ty::Int, ArithOp::Add, Ansi::Unchecked) => quote!((#x + #y)),
                (Ty::Long | Ty::Int, ArithOp::Sub, Ansi::Unchecked) => quote!((#x - #y)),
                (Ty::Long | Ty::Int, ArithOp::Mul, Ansi::Unchecked) => quote!((#x * #y)),
                (Ty::Double, ArithOp::Div, Ansi::Checked) => {
                    quote!(#rt::functions::div_f64(#x, #y)?)
                }
                (Ty::Double, ArithOp::Rem, Ansi::Checked) => {
                    quote!(#rt::functions::rem_f64(#x, #y)?)
                }
                (Ty::Long, ArithOp::Add, Ansi::Checked) => quote!(#rt::functions::add_i64(#x, #y)?),
                (Ty::Long, ArithOp::Sub, Ansi::Checked) => quote!(#rt::functions::sub_i64(#x, #y)?),
                (Ty::Long, ArithOp::Mul, Ansi::Checked) => quote!(#rt::functions::mul_i64(#x, #y)?),
                (Ty::Long, ArithOp::Rem, Ansi::Checked) => quote!(#rt::functions::rem_i64(#x, #y)?),
                (Ty::Int, ArithOp::Add, Ansi::Checked) => quote!(#rt::functions::add_i32(#x, #y)?),
                (Ty::Int, ArithOp::Sub, Ansi::Checked) => quote!(#rt::functions::sub_i32(#x, #y)?),
                (Ty::Int, ArithOp::Mul, Ansi::Checked) => quote!(#rt::functions::mul_i32(#x, #y)?),
                (Ty::Int, ArithOp::Rem, Ansi::Checked) => quote!(#rt::functions::rem_i32(#x, #y)?),
                (t, o, _) => unreachable!("arithmetic {o:?} on {t:?} passed the checker"),
            }
        })
    }

    fn cmp(&self, op: CmpOp, l: &Expr, r: &Expr, ty: SqlType) -> Code {
        let rt = rt();
        let operand = l.ty.ty;
        let (lc, rc) = (self.expr(l), self.expr(r));
        self.lift(&[lc, rc], ty, false, |a| {
            let (x, y) = (&a[0], &a[1]);
            if operand == Ty::Double {
                let f = match op {
                    CmpOp::Eq => quote!(eq_f64),
                    CmpOp::Ne => return quote!(!#rt::functions::eq_f64(#x, #y)),
                    CmpOp::Lt => quote!(lt_f64),
                    CmpOp::Le => quote!(le_f64),
                    CmpOp::Gt => quote!(gt_f64),
                    CmpOp::Ge => quote!(ge_f64),
                };
                return quote!(#rt::functions::#f(#x, #y));
            }
            let o = match op {
                CmpOp::Eq => quote!(==),
                CmpOp::Ne => quote!(!=),
                CmpOp::Lt => quote!(<),
                CmpOp::Le => quote!(<=),
                CmpOp::Gt => quote!(>),
                CmpOp::Ge => quote!(>=),
            };
            quote!((#x #o #y))
        })
    }

    fn cast(&self, inner: &Expr, ty: SqlType) -> Code {
        let rt = rt();
        let from = inner.ty.ty;
        let to = ty.ty;
        if from == Ty::Null {
            let t = rust_view_type(to);
            return Code {
                ts: quote!(::core::option::Option::<#t>::None),
                ty,
                owned: false,
            };
        }
        let c = self.expr(inner);
        if from == to {
            return c;
        }
        let f = rt_functions();
        self.lift(&[c], ty, false, |a| {
            let x = &a[0];
            match (from, to) {
                (_, Ty::Str) => quote!(#rt::functions::SparkDisplay::to_spark_string(&#x)),
                (Ty::Int, Ty::Long) => quote!(i64::from(#x)),
                (Ty::Int | Ty::Long, Ty::Double) => quote!((#x as f64)),
                (Ty::Long, Ty::Int) => quote!(#f::cast_i64_to_i32(#x)?),
                (Ty::Double, Ty::Long) => quote!(#f::cast_f64_to_i64(#x)?),
                (Ty::Double, Ty::Int) => quote!(#f::cast_f64_to_i32(#x)?),
                (Ty::Bool, Ty::Int) => quote!(i32::from(#x)),
                (Ty::Bool, Ty::Long) => quote!(i64::from(#x)),
                (Ty::Bool, Ty::Double) => quote!(f64::from(u8::from(#x))),
                (Ty::Int | Ty::Long, Ty::Bool) => quote!((#x != 0)),
                (Ty::Double, Ty::Bool) => quote!((#x != 0.0)),
                (Ty::Str, Ty::Int) => quote!(#f::cast_str_to_i32(#x)?),
                (Ty::Str, Ty::Long) => quote!(#f::cast_str_to_i64(#x)?),
                (Ty::Str, Ty::Double) => quote!(#f::cast_str_to_f64(#x)?),
                (Ty::Str, Ty::Bool) => quote!(#f::cast_str_to_bool(#x)?),
                (Ty::Str, Ty::Timestamp) => quote!(#f::cast_str_to_timestamp(#x)?),
                (Ty::Str, Ty::Binary) => quote!(#f::string_to_binary(#x)),
                (Ty::Timestamp, Ty::Long) => quote!(#f::timestamp_to_seconds(#x)),
                (Ty::Timestamp, Ty::Int) => {
                    quote!(#f::cast_i64_to_i32(#f::timestamp_to_seconds(#x))?)
                }
                (Ty::Timestamp, Ty::Double) => quote!(#f::timestamp_to_f64(#x)),
                (Ty::Int, Ty::Timestamp) => quote!(#f::seconds_to_timestamp(i64::from(#x))?),
                (Ty::Long, Ty::Timestamp) => quote!(#f::seconds_to_timestamp(#x)?),
                (Ty::Double, Ty::Timestamp) => quote!(#f::f64_seconds_to_timestamp(#x)?),
                (a, b) => unreachable!("cast {a:?} -> {b:?} passed the checker"),
            }
        })
    }
}

fn rt_functions() -> TokenStream {
    let rt = rt();
    quote!(#rt::functions)
}
#[cfg(test)]
mod tests {
    use super::ExprGen;
    use crate::check::testing::{output_expr, plan};
    use crate::codegen::group_values::case_values;

    const SCHEMA: &str = "schema S {
        l: i64, d: f64, s: String, b: bool, nl: Option<i64>, ns: Option<String>,
    }";

    /// The Rust code of output column `x = <expr>`, spaces removed.
    fn code(expr: &str) -> String {
        let p = plan(&format!("{SCHEMA} query Q from S {{ select x = {expr}; }}"));
        let e = output_expr(&p, "x");
        ExprGen::new(&p).expr(&e).ts.to_string().replace(' ', "")
    }

    #[test]
    fn non_null_expressions_have_no_match() {
        // ANSI-checked integer arithmetic, evaluated in place.
        assert_eq!(
            code("l * 2 + 1"),
            "::sluice::__private::functions::add_i64(::sluice::__private::functions::mul_i64(l_0,2i64)?,1i64)?"
        );
        // A literal divisor other than 0 and -1 can neither fail nor overflow.
        assert_eq!(code("l % 5"), "(l_0%5i64)");
        assert_eq!(code("d / 2.0"), "(d_1/2f64)");
        assert_eq!(
            code("d / d"),
            "::sluice::__private::functions::div_f64(d_1,d_1)?"
        );
        // Doubles compare in Spark's order (NaN greatest).
        assert_eq!(
            code("d > 1.0"),
            "::sluice::__private::functions::gt_f64(d_1,1f64)"
        );
        assert_eq!(code("b and l > 1"), "(b_3&&(l_0>1i64))");
        for expr in [
            "l * 2 + 1",
            "d / d",
            "b or not b",
            "upper(s)",
            "concat(s, l)",
        ] {
            assert!(!code(expr).contains("match"), "{expr}: {}", code(expr));
        }
    }

    #[test]
    fn strings_stay_borrowed_until_owned() {
        // Comparing a string column with a literal allocates nothing.
        assert_eq!(code("s == \"x\""), "(s_2==\"x\")");
        assert!(!code("ns == \"x\"").contains("String"));
        // Concatenation builds one String; single characters are pushed as chars.
        assert_eq!(
            code("concat(s, \"!\")"),
            "{letmut__s=::std::string::String::with_capacity(9usize);__s.push_str(s_2);__s.push('!');__s}"
        );
    }

    #[test]
    fn nullable_operands_are_matched_once_each() {
        assert_eq!(
            code("nl + 1"),
            "match nl_4{::core::option::Option::Some(__v0)=>::core::option::Option::Some(::sluice::__private::functions::add_i64(__v0,1i64)?),::core::option::Option::None=>::core::option::Option::None,}"
                .replace(' ', "")
        );
        assert_eq!(code("nl + nl").matches("match").count(), 2);
        // Null tests never match.
        assert_eq!(code("nl is null"), "(nl_4).is_none()");
        assert_eq!(code("l is null"), "false");
    }

    #[test]
    fn three_valued_logic() {
        let or = code("nl > 1 or b");
        // `true` decides `or`; two non-true operands give null if either is null, else false.
        assert!(
            or.contains("Some(true)=>::core::option::Option::Some(true)"),
            "{or}"
        );
        assert!(or.contains("Some(false)"), "{or}");
        assert!(!or.contains("Some(!"), "{or}");
    }

    #[test]
    fn case_keys_share_indexes_between_equal_strings() {
        let p = plan(
            "query Q from Rate {
                group by k = case when value < 3 then \"low\" when value > 9 then \"low\"
                                  when value == 5 then \"five\" else \"low\" end;
                aggregate n = count();
            }",
        );
        let key = &p.aggregate.as_ref().unwrap().keys[0].repr;
        assert_eq!(
            case_values(key),
            (
                vec!["low".to_string(), "five".to_string()],
                vec![0, 0, 1, 0]
            )
        );
    }
}
