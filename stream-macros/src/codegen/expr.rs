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
use crate::plan::{
    AggFunc, ArithOp, CmpOp, Expr, ExprKind, Func, KeyRepr, Literal, PipelinePlan, SlotDef, SlotId,
    SqlType, Ty,
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
            SlotDef::WindowKey | SlotDef::Decode(_) => false,
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
            ExprKind::Not(inner) => {
                let inner = self.expr(inner);
                let t = inner.ts;
                if inner.ty.nullable {
                    code(quote!((#t).map(|__v: bool| !__v)), false)
                } else {
                    code(quote!(!(#t)), false)
                }
            }
            ExprKind::Arith(op, l, r) => self.arith(*op, l, r, ty),
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
            ExprKind::Call(func, args) => self.call(func, args, ty),
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

    /// The range of values an integral expression can take, when it is known to be narrower
    /// than its type: literals, `x % c`, and sums/differences/products of known ranges.
    /// Arithmetic whose result range fits its type cannot overflow, so it needs no ANSI check.
    pub(crate) fn int_range(&self, e: &Expr) -> Option<(i128, i128)> {
        match &e.kind {
            ExprKind::Lit(Literal::Int(v)) => Some((i128::from(*v), i128::from(*v))),
            ExprKind::Lit(Literal::Long(v)) => Some((i128::from(*v), i128::from(*v))),
            ExprKind::Slot(s) => match &self.plan.slot(*s).def {
                SlotDef::Let(inner) => self.int_range(inner),
                _ => None,
            },
            ExprKind::Cast(inner) if inner.ty.ty.is_integral() && e.ty.ty.is_integral() => {
                self.int_range(inner)
            }
            ExprKind::Neg(inner) => self.int_range(inner).map(|(lo, hi)| (-hi, -lo)),
            ExprKind::Arith(ArithOp::Rem, a, b) => {
                let (c, _) = self.int_range(b).filter(|(lo, hi)| lo == hi && *lo != 0)?;
                let m = c.abs() - 1;
                match self.int_range(a) {
                    Some((lo, hi)) if lo >= 0 => Some((0, m.min(hi))),
                    Some((lo, hi)) if hi <= 0 => Some(((-m).max(lo), 0)),
                    _ => Some((-m, m)),
                }
            }
            ExprKind::Arith(op @ (ArithOp::Add | ArithOp::Sub | ArithOp::Mul), a, b) => {
                let ((al, ah), (bl, bh)) = (self.int_range(a)?, self.int_range(b)?);
                let candidates = match op {
                    ArithOp::Add => [al + bl, ah + bh, al + bl, ah + bh],
                    ArithOp::Sub => [al - bh, ah - bl, al - bh, ah - bl],
                    _ => [al * bl, al * bh, ah * bl, ah * bh],
                };
                let lo = *candidates.iter().min().expect("four candidates");
                let hi = *candidates.iter().max().expect("four candidates");
                let (min, max) = match e.ty.ty {
                    Ty::Int => (i128::from(i32::MIN), i128::from(i32::MAX)),
                    _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
                };
                (lo >= min && hi <= max).then_some((lo, hi))
            }
            _ => None,
        }
    }

    fn arith(&self, op: ArithOp, l: &Expr, r: &Expr, ty: SqlType) -> Code {
        let rt = rt();
        let operand = l.ty.ty;
        // `20 + value % 10` cannot overflow: use the plain operator.
        let cannot_overflow = matches!(op, ArithOp::Add | ArithOp::Sub | ArithOp::Mul)
            && operand.is_integral()
            && self
                .int_range(&Expr {
                    kind: ExprKind::Arith(op, Box::new(l.clone()), Box::new(r.clone())),
                    ty,
                    span: l.span,
                })
                .is_some();
        let nonzero_divisor = match r.literal() {
            Some(Literal::Int(v)) => *v != 0 && *v != -1,
            Some(Literal::Long(v)) => *v != 0 && *v != -1,
            Some(Literal::Double(v)) => *v != 0.0,
            _ => false,
        };
        let (lc, rc) = (self.expr(l), self.expr(r));
        self.lift(&[lc, rc], ty, false, |a| {
            let (x, y) = (&a[0], &a[1]);
            match (operand, op) {
                (Ty::Double, ArithOp::Add) => quote!((#x + #y)),
                (Ty::Double, ArithOp::Sub) => quote!((#x - #y)),
                (Ty::Double, ArithOp::Mul) => quote!((#x * #y)),
                (Ty::Double, ArithOp::Div) if nonzero_divisor => quote!((#x / #y)),
                (Ty::Double, ArithOp::Div) => quote!(#rt::functions::div_f64(#x, #y)?),
                (Ty::Double, ArithOp::Rem) if nonzero_divisor => quote!((#x % #y)),
                (Ty::Double, ArithOp::Rem) => quote!(#rt::functions::rem_f64(#x, #y)?),
                // A literal divisor that is neither 0 nor -1 cannot fail or overflow.
                (Ty::Long | Ty::Int, ArithOp::Rem) if nonzero_divisor => quote!((#x % #y)),
                (Ty::Long | Ty::Int, ArithOp::Add) if cannot_overflow => quote!((#x + #y)),
                (Ty::Long | Ty::Int, ArithOp::Sub) if cannot_overflow => quote!((#x - #y)),
                (Ty::Long | Ty::Int, ArithOp::Mul) if cannot_overflow => quote!((#x * #y)),
                (Ty::Long, ArithOp::Add) => quote!(#rt::functions::add_i64(#x, #y)?),
                (Ty::Long, ArithOp::Sub) => quote!(#rt::functions::sub_i64(#x, #y)?),
                (Ty::Long, ArithOp::Mul) => quote!(#rt::functions::mul_i64(#x, #y)?),
                (Ty::Long, ArithOp::Rem) => quote!(#rt::functions::rem_i64(#x, #y)?),
                (Ty::Int, ArithOp::Add) => quote!(#rt::functions::add_i32(#x, #y)?),
                (Ty::Int, ArithOp::Sub) => quote!(#rt::functions::sub_i32(#x, #y)?),
                (Ty::Int, ArithOp::Mul) => quote!(#rt::functions::mul_i32(#x, #y)?),
                (Ty::Int, ArithOp::Rem) => quote!(#rt::functions::rem_i32(#x, #y)?),
                (t, o) => unreachable!("arithmetic {o:?} on {t:?} passed the checker"),
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

    fn call(&self, func: &Func, args: &[Expr], ty: SqlType) -> Code {
        let rt = rt();
        let f = rt_functions();
        if let Func::Coalesce = func {
            return self.coalesce(args, ty);
        }
        if let Func::Concat = func {
            return self.concat(args, ty);
        }
        let codes: Vec<Code> = args.iter().map(|a| self.expr(a)).collect();
        let arg_ty = args.first().map(|a| a.ty.ty);
        let body_nullable = matches!(func, Func::TryToTimestamp | Func::TryDivide);
        self.lift(&codes, ty, body_nullable, |a| match func {
            Func::Lower => quote!(#f::lower(#(#a)*)),
            Func::Upper => quote!(#f::upper(#(#a)*)),
            Func::Trim => quote!(#f::trim(#(#a)*)),
            Func::Length => quote!(#f::length(#(#a)*)),
            Func::Substring => {
                let (s, p, l) = (&a[0], &a[1], &a[2]);
                quote!(#f::substring(#s, #p, #l))
            }
            Func::Split { separator } => quote!(#f::split(#(#a)*, #separator)),
            Func::Hour => quote!((#(#a)*).hour()),
            Func::Minute => quote!((#(#a)*).minute()),
            Func::Second => quote!((#(#a)*).second()),
            Func::Year => quote!(#f::year(#(#a)*)),
            Func::Month => quote!(#f::month(#(#a)*)),
            Func::DayOfMonth => quote!(#f::day_of_month(#(#a)*)),
            Func::DateFormat { chrono } => quote!(#f::date_format(#(#a)*, #chrono)),
            Func::ToTimestamp => quote!(#f::cast_str_to_timestamp(#(#a)*)?),
            Func::ToTimestampFormat { chrono, spark } => quote!(#f::to_timestamp_with(#(#a)*, #chrono, #spark)?),
            Func::TryToTimestamp => quote!(#f::try_to_timestamp(#(#a)*)),
            Func::Abs => match arg_ty {
                Some(Ty::Long) => quote!((#(#a)*).checked_abs().ok_or_else(|| #rt::Error::arithmetic_overflow("long"))?),
                Some(Ty::Int) => quote!((#(#a)*).checked_abs().ok_or_else(|| #rt::Error::arithmetic_overflow("integer"))?),
                _ => quote!((#(#a)*).abs()),
            },
            Func::Round { scale } => match arg_ty {
                Some(Ty::Double) => quote!(#f::round_f64(#(#a)*, #scale)),
                // Integers change only when rounded to tens, hundreds, ...
                Some(Ty::Long) if *scale < 0 => quote!(#f::round_i64(#(#a)*, #scale)?),
                Some(Ty::Int) if *scale < 0 => quote!(#f::round_i32(#(#a)*, #scale)?),
                _ => quote!(#(#a)*),
            },
            Func::TryDivide => {
                let (x, y) = (&a[0], &a[1]);
                quote!(#f::try_div_f64(#x, #y))
            }
            Func::Coalesce | Func::Concat => unreachable!("handled above"),
        })
    }

    /// `concat(a, b, ...)`: one `String`, each part appended in its Spark string form.
    fn concat(&self, args: &[Expr], ty: SqlType) -> Code {
        let rt = rt();
        // Literal parts are appended directly; the others are lifted (null makes it null).
        let dynamic: Vec<(usize, Code)> = args
            .iter()
            .enumerate()
            .filter(|(_, a)| !matches!(a.kind, ExprKind::Lit(Literal::Str(_))))
            .map(|(i, a)| (i, self.expr(a)))
            .collect();
        let codes: Vec<Code> = dynamic.iter().map(|(_, c)| c.clone()).collect();
        let literal_len: usize = args
            .iter()
            .filter_map(|a| match &a.kind {
                ExprKind::Lit(Literal::Str(s)) => Some(s.len()),
                _ => None,
            })
            .sum();
        self.lift(&codes, ty, false, |names| {
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
                        if a.ty.ty == Ty::Str {
                            parts.extend(quote!(__s.push_str(#n);));
                        } else {
                            parts.extend(quote!(#rt::functions::SparkDisplay::push_spark_str(&#n, &mut __s);));
                        }
                    }
                }
            }
            let cap = literal_len + 8 * dynamic.len();
            quote!({
                let mut __s = ::std::string::String::with_capacity(#cap);
                #parts
                __s
            })
        })
    }

    fn coalesce(&self, args: &[Expr], ty: SqlType) -> Code {
        let codes: Vec<Code> = args.iter().map(|a| self.expr(a)).collect();
        let owned = codes.iter().any(|c| c.owned);
        // Build from the last argument backwards: match a { Some(v) => Some(v), None => rest }.
        let mut iter = codes.iter().rev();
        let last = iter.next().expect("coalesce has an argument");
        let mut ts = self.conform(last, ty, owned);
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
                self.conform(c, ty, owned)
            };
        }
        Code { ts, ty, owned }
    }

    /// The value of a group key in the emitting code, read from `__key`.
    pub(crate) fn key_value(&self, index: usize) -> Code {
        let rt = rt();
        let agg = self.plan.aggregate.as_ref().expect("aggregation");
        let key = &agg.keys[index];
        let field = key_field(&key.name);
        let ty = key.ty;
        match &key.repr {
            KeyRepr::Window { size, .. } => {
                let ts = if ty.nullable {
                    quote!(__key.#field.map(|__s| #rt::Window::new(__s, #size)))
                } else {
                    quote!(#rt::Window::new(__key.#field, #size))
                };
                Code {
                    ts,
                    ty,
                    owned: false,
                }
            }
            KeyRepr::Direct { .. } => {
                let ts = match (ty.ty, ty.nullable) {
                    (Ty::Double, false) => quote!(f64::from_bits(__key.#field)),
                    (Ty::Double, true) => quote!(__key.#field.map(f64::from_bits)),
                    (Ty::Str, false) => quote!(__key.#field.as_str()),
                    (Ty::StrArray, false) => quote!(__key.#field.as_slice()),
                    (Ty::Str | Ty::StrArray, true) => quote!(__key.#field.as_deref()),
                    _ => quote!(__key.#field),
                };
                Code {
                    ts,
                    ty,
                    owned: false,
                }
            }
            KeyRepr::ConcatInt { prefix, suffix, .. } => {
                let push_suffix = if suffix.is_empty() {
                    quote!()
                } else {
                    quote!(__s.push_str(#suffix);)
                };
                let build = |v: TokenStream| {
                    quote!({
                        let mut __s = ::std::string::String::from(#prefix);
                        #rt::functions::SparkDisplay::push_spark_str(&#v, &mut __s);
                        #push_suffix
                        __s
                    })
                };
                let ts = if ty.nullable {
                    let b = build(quote!(__n));
                    quote!(__key.#field.map(|__n| #b))
                } else {
                    build(quote!(__key.#field))
                };
                Code {
                    ts,
                    ty,
                    owned: true,
                }
            }
            KeyRepr::CaseIndex { .. } => {
                let (distinct, _) = case_values(&key.repr);
                let arms = distinct.iter().enumerate().map(|(i, v)| {
                    let i = i as u8;
                    if ty.nullable {
                        quote!(#i => ::core::option::Option::Some(#v),)
                    } else {
                        quote!(#i => #v,)
                    }
                });
                let fallback = if ty.nullable {
                    quote!(_ => ::core::option::Option::None,)
                } else {
                    // Unreachable by construction: every index was produced from `distinct`.
                    let last = distinct.last().cloned().unwrap_or_default();
                    quote!(_ => #last,)
                };
                Code {
                    ts: quote!(match __key.#field { #(#arms)* #fallback }),
                    ty,
                    owned: false,
                }
            }
        }
    }

    /// The value of accumulator `index` in the emitting code, read from `__acc`.
    pub(crate) fn accumulator_value(&self, index: usize, ty: SqlType) -> Code {
        let agg = self.plan.aggregate.as_ref().expect("aggregation");
        let acc = &agg.accumulators[index];
        let field = acc_field(index);
        let ts = match (acc.func, ty.nullable, acc.arg_ty.map(|t| t.ty)) {
            (_, true, _) | (AggFunc::CountStar | AggFunc::Count, ..) => {
                quote!(__acc.#field.result())
            }
            // `avg` and string `min`/`max` keep an `Option` even when the result cannot be null:
            // a group exists only once a non-null value reached it.
            (AggFunc::Avg, false, _) | (AggFunc::Min | AggFunc::Max, false, Some(Ty::Str)) => {
                quote!(__acc.#field.result().unwrap_or_default())
            }
            (_, false, _) => quote!(__acc.#field.result()),
        };
        Code {
            ts,
            ty,
            owned: !ty.ty.is_copy(),
        }
    }
}

/// The distinct result strings of a `CaseIndex` key, and for each branch its index among them
/// (the `else` value last, if any).
pub(crate) fn case_values(repr: &KeyRepr) -> (Vec<String>, Vec<u8>) {
    let KeyRepr::CaseIndex {
        values, otherwise, ..
    } = repr
    else {
        unreachable!("not a case key")
    };
    let mut distinct: Vec<String> = Vec::new();
    let mut index = Vec::new();
    for v in values.iter().chain(otherwise.iter()) {
        let i = match distinct.iter().position(|d| d == v) {
            Some(i) => i,
            None => {
                distinct.push(v.clone());
                distinct.len() - 1
            }
        };
        index.push(i as u8);
    }
    (distinct, index)
}

/// The field of the key struct holding key `name`.
pub(crate) fn key_field(name: &str) -> Ident {
    format_ident!("k_{}", name)
}

/// The field of the accumulator struct holding accumulator `index`.
pub(crate) fn acc_field(index: usize) -> Ident {
    format_ident!("a{}", index)
}

fn rt_functions() -> TokenStream {
    let rt = rt();
    quote!(#rt::functions)
}

/// `to_owned` for a borrowed string or array view.
pub(crate) fn to_owned(t: &TokenStream, ty: SqlType) -> TokenStream {
    match (ty.ty, ty.nullable) {
        (Ty::Str, false) => quote!(::std::string::String::from(#t)),
        (Ty::StrArray | Ty::Binary | Ty::Headers, false) => quote!((#t).to_vec()),
        (Ty::Str, true) => quote!((#t).map(::std::string::String::from)),
        (Ty::StrArray | Ty::Binary | Ty::Headers, true) => quote!((#t).map(|__v| __v.to_vec())),
        _ => quote!(#t),
    }
}

/// The Rust type of a non-null value in its *view* form.
pub(crate) fn rust_view_type(ty: Ty) -> TokenStream {
    let rt = rt();
    match ty {
        Ty::Bool | Ty::Null => quote!(bool),
        Ty::Int => quote!(i32),
        Ty::Long => quote!(i64),
        Ty::Double => quote!(f64),
        Ty::Str => quote!(&str),
        Ty::Timestamp => quote!(#rt::Timestamp),
        Ty::Window => quote!(#rt::Window),
        Ty::StrArray => quote!(&[::std::string::String]),
        Ty::Binary => quote!(&[u8]),
        Ty::Headers => quote!(&[#rt::Header]),
    }
}

/// The Rust type of an owned column value (what row structs hold).
pub(crate) fn rust_owned_type(ty: SqlType) -> TokenStream {
    let rt = rt();
    let base = match ty.ty {
        Ty::Bool | Ty::Null => quote!(bool),
        Ty::Int => quote!(i32),
        Ty::Long => quote!(i64),
        Ty::Double => quote!(f64),
        Ty::Str => quote!(::std::string::String),
        Ty::Timestamp => quote!(#rt::Timestamp),
        Ty::Window => quote!(#rt::Window),
        Ty::StrArray => quote!(::std::vec::Vec<::std::string::String>),
        Ty::Binary => quote!(::std::vec::Vec<u8>),
        Ty::Headers => quote!(::std::vec::Vec<#rt::Header>),
    };
    if ty.nullable {
        quote!(::core::option::Option<#base>)
    } else {
        base
    }
}

fn literal(lit: &Literal, ty: SqlType) -> TokenStream {
    let rt = rt();
    let ts = match lit {
        Literal::Bool(b) => quote!(#b),
        Literal::Int(i) => quote!(#i),
        Literal::Long(i) => quote!(#i),
        Literal::Double(d) => {
            let lit = proc_macro2::Literal::f64_suffixed(*d);
            quote!(#lit)
        }
        Literal::Str(s) => quote!(#s),
        Literal::Timestamp(m) => quote!(#rt::Timestamp::from_micros(#m)),
        Literal::Null => {
            let t = rust_view_type(ty.ty);
            return quote!(::core::option::Option::<#t>::None);
        }
    };
    if ty.nullable {
        quote!(::core::option::Option::Some(#ts))
    } else {
        ts
    }
}

#[cfg(test)]
mod tests {
    use super::{ExprGen, case_values};
    use crate::check::testing::{output_expr, plan};

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
