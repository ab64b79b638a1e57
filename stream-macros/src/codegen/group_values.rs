//! The values of a group when it is emitted: its keys, read back from the key struct (a window
//! rebuilt from its start, a string from the integer it was keyed by), and its aggregates,
//! finished from the accumulators.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::expr::{Code, ExprGen};
use super::paths::rt;
use crate::plan::{AggFunc, KeyRepr, SqlType, Ty};

impl ExprGen<'_> {
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
            // The session's window is given to `emit` beside the key.
            KeyRepr::Session { .. } => Code {
                ts: quote!(__session),
                ty,
                owned: false,
            },
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
        let rt = rt();
        let agg = self.plan.aggregate.as_ref().expect("aggregation");
        let acc = &agg.accumulators[index];
        let field = acc_field(index);
        let ts = match (acc.func, ty.nullable, acc.arg_ty.map(|t| t.ty)) {
            (_, true, _) | (AggFunc::CountStar | AggFunc::Count, ..) => {
                quote!(#rt::Accumulator::finish(&__acc.#field))
            }
            // `avg` and string `min`/`max` keep an `Option` even when the result cannot be null:
            // a group exists only once a non-null value reached it.
            (AggFunc::Avg, false, _) | (AggFunc::Min | AggFunc::Max, false, Some(Ty::Str)) => {
                quote!(#rt::Accumulator::finish(&__acc.#field).unwrap_or_default())
            }
            (_, false, _) => quote!(#rt::Accumulator::finish(&__acc.#field)),
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
