//! The expression grammar, by precedence (loosest first):
//!
//! ```text
//! expr    := or
//! or      := and (("or" | "||") and)*
//! and     := not (("and" | "&&") not)*
//! not     := ("not" | "!") not | cmp
//! cmp     := add (cmp_op add | "is" ["not"] "null" | ["not"] "in" "(" expr, ... ")")?
//! add     := mul (("+" | "-") mul)*
//! mul     := unary (("*" | "/" | "%") unary)*
//! unary   := "-" unary | postfix
//! postfix := primary ("." ident)*
//! primary := literal | "null" | ident | ident "(" args ")" | "(" expr ")"
//!          | "case" [expr] ("when" expr "then" expr)+ ["else" expr] "end"
//!          | "cast" "(" expr "as" type ")"
//! ```

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, Lit, Token};

use super::{expected, kw};
use crate::diagnostics::SpanRange;

/// An expression as written, with spans and no meaning yet.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A column reference.
    Column(Ident),
    /// `expr.field` (e.g. `window.start`).
    Field { base: Box<Expr>, field: Ident },
    /// A literal: integer, float, string or boolean.
    Lit(Lit),
    /// `null`.
    Null(Span),
    /// `-expr`.
    Neg { op: Span, expr: Box<Expr> },
    /// `not expr` / `!expr`.
    Not { op: Span, expr: Box<Expr> },
    /// A binary operator.
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `expr is [not] null`.
    IsNull {
        expr: Box<Expr>,
        negated: bool,
        end: Span,
    },
    /// `expr [not] in (a, b, ...)`.
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        end: Span,
    },
    /// `case [operand] when c then v ... [else v] end`.
    Case {
        case: Span,
        operand: Option<Box<Expr>>,
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
        end: Span,
    },
    /// `cast(expr as type)`.
    Cast {
        cast: Span,
        expr: Box<Expr>,
        ty: Ident,
        end: Span,
    },
    /// `interval 20 seconds`: a constant interval, added to or subtracted from a timestamp.
    Interval(crate::parse::duration::IntervalLit),
    /// `name(args)`; `star` is set for `count(*)`.
    Call {
        name: Ident,
        args: Vec<Expr>,
        star: bool,
        end: Span,
    },
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

impl Expr {
    /// The source range of the expression.
    pub(crate) fn span(&self) -> SpanRange {
        match self {
            Expr::Column(i) => SpanRange::single(i.span()),
            Expr::Field { base, field } => base.span().to(SpanRange::single(field.span())),
            Expr::Lit(l) => SpanRange::single(l.span()),
            Expr::Null(s) => SpanRange::single(*s),
            Expr::Neg { op, expr } | Expr::Not { op, expr } => {
                SpanRange::single(*op).to(expr.span())
            }
            Expr::Binary { lhs, rhs, .. } => lhs.span().to(rhs.span()),
            Expr::IsNull { expr, end, .. } | Expr::InList { expr, end, .. } => {
                expr.span().to(SpanRange::single(*end))
            }
            Expr::Case { case, end, .. } => SpanRange {
                start: *case,
                end: *end,
            },
            Expr::Cast { cast, end, .. } => SpanRange {
                start: *cast,
                end: *end,
            },
            Expr::Call { name, end, .. } => SpanRange {
                start: name.span(),
                end: *end,
            },
            Expr::Interval(lit) => lit.span,
        }
    }
}

impl Parse for Expr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        parse_or(input)
    }
}

fn parse_or(input: ParseStream<'_>) -> syn::Result<Expr> {
    let mut lhs = parse_and(input)?;
    loop {
        let op_span = if input.peek(kw::or) {
            input.parse::<kw::or>()?.span
        } else if input.peek(Token![||]) {
            input.parse::<Token![||]>()?.spans[0]
        } else {
            return Ok(lhs);
        };
        let rhs = parse_and(input)?;
        lhs = Expr::Binary {
            op: BinOp::Or,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
    }
}

fn parse_and(input: ParseStream<'_>) -> syn::Result<Expr> {
    let mut lhs = parse_not(input)?;
    loop {
        let op_span = if input.peek(kw::and) {
            input.parse::<kw::and>()?.span
        } else if input.peek(Token![&&]) {
            input.parse::<Token![&&]>()?.spans[0]
        } else {
            return Ok(lhs);
        };
        let rhs = parse_not(input)?;
        lhs = Expr::Binary {
            op: BinOp::And,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
    }
}

fn parse_not(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(kw::not) && !input.peek2(Token![in]) {
        let op = input.parse::<kw::not>()?.span;
        let expr = parse_not(input)?;
        return Ok(Expr::Not {
            op,
            expr: Box::new(expr),
        });
    }
    if input.peek(Token![!]) && !input.peek(Token![!=]) {
        let op = input.parse::<Token![!]>()?.span;
        let expr = parse_not(input)?;
        return Ok(Expr::Not {
            op,
            expr: Box::new(expr),
        });
    }
    parse_cmp(input)
}

fn parse_cmp(input: ParseStream<'_>) -> syn::Result<Expr> {
    let lhs = parse_add(input)?;
    let op = if input.peek(Token![==]) {
        Some((BinOp::Eq, input.parse::<Token![==]>()?.spans[0]))
    } else if input.peek(Token![!=]) {
        Some((BinOp::Ne, input.parse::<Token![!=]>()?.spans[0]))
    } else if input.peek(Token![<=]) {
        Some((BinOp::Le, input.parse::<Token![<=]>()?.spans[0]))
    } else if input.peek(Token![>=]) {
        Some((BinOp::Ge, input.parse::<Token![>=]>()?.spans[0]))
    } else if input.peek(Token![<]) {
        Some((BinOp::Lt, input.parse::<Token![<]>()?.spans[0]))
    } else if input.peek(Token![>]) {
        Some((BinOp::Gt, input.parse::<Token![>]>()?.spans[0]))
    } else if input.peek(Token![=]) {
        let eq: Token![=] = input.parse()?;
        return Err(syn::Error::new(
            eq.span,
            "`=` is not a comparison here; write `==` to compare for equality",
        ));
    } else {
        None
    };
    if let Some((op, op_span)) = op {
        let rhs = parse_add(input)?;
        return Ok(Expr::Binary {
            op,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        });
    }
    if input.peek(kw::is) {
        input.parse::<kw::is>()?;
        let negated = if input.peek(kw::not) {
            input.parse::<kw::not>()?;
            true
        } else {
            false
        };
        let end = input
            .parse::<kw::null>()
            .map_err(|e| expected(e, "expected `null` after `is` / `is not`"))?
            .span;
        return Ok(Expr::IsNull {
            expr: Box::new(lhs),
            negated,
            end,
        });
    }
    let negated = input.peek(kw::not) && input.peek2(Token![in]);
    if negated {
        input.parse::<kw::not>()?;
    }
    if input.peek(Token![in]) {
        input.parse::<Token![in]>()?;
        let content;
        let paren = syn::parenthesized!(content in input);
        let list = content.parse_terminated(Expr::parse, Token![,])?;
        if list.is_empty() {
            return Err(syn::Error::new(
                paren.span.join(),
                "`in` needs at least one value",
            ));
        }
        return Ok(Expr::InList {
            expr: Box::new(lhs),
            list: list.into_iter().collect(),
            negated,
            end: paren.span.close(),
        });
    }
    Ok(lhs)
}

fn parse_add(input: ParseStream<'_>) -> syn::Result<Expr> {
    let mut lhs = parse_mul(input)?;
    loop {
        let (op, op_span) = if input.peek(Token![+]) && !input.peek(Token![+=]) {
            (BinOp::Add, input.parse::<Token![+]>()?.span)
        } else if input.peek(Token![-]) && !input.peek(Token![-=]) && !input.peek(Token![->]) {
            (BinOp::Sub, input.parse::<Token![-]>()?.span)
        } else {
            return Ok(lhs);
        };
        let rhs = parse_mul(input)?;
        lhs = Expr::Binary {
            op,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
    }
}

fn parse_mul(input: ParseStream<'_>) -> syn::Result<Expr> {
    let mut lhs = parse_unary(input)?;
    loop {
        let (op, op_span) = if input.peek(Token![*]) && !input.peek(Token![*=]) {
            (BinOp::Mul, input.parse::<Token![*]>()?.span)
        } else if input.peek(Token![/]) && !input.peek(Token![/=]) {
            (BinOp::Div, input.parse::<Token![/]>()?.span)
        } else if input.peek(Token![%]) && !input.peek(Token![%=]) {
            (BinOp::Rem, input.parse::<Token![%]>()?.span)
        } else {
            return Ok(lhs);
        };
        let rhs = parse_unary(input)?;
        lhs = Expr::Binary {
            op,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
    }
}

fn parse_unary(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(Token![-]) {
        let op = input.parse::<Token![-]>()?.span;
        let expr = parse_unary(input)?;
        return Ok(Expr::Neg {
            op,
            expr: Box::new(expr),
        });
    }
    parse_postfix(input)
}

fn parse_postfix(input: ParseStream<'_>) -> syn::Result<Expr> {
    let mut expr = parse_primary(input)?;
    while input.peek(Token![.]) && !input.peek(Token![..]) {
        input.parse::<Token![.]>()?;
        let field: Ident = input.parse()?;
        expr = Expr::Field {
            base: Box::new(expr),
            field,
        };
    }
    Ok(expr)
}

fn parse_primary(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let inner: Expr = content.parse()?;
        if !content.is_empty() {
            return Err(content.error("expected `)` after the expression"));
        }
        return Ok(inner);
    }
    if input.peek(Lit) {
        return Ok(Expr::Lit(input.parse()?));
    }
    if input.peek(kw::null) {
        return Ok(Expr::Null(input.parse::<kw::null>()?.span));
    }
    if input.peek(kw::case) {
        return parse_case(input);
    }
    if input.peek(kw::interval) && (input.peek2(syn::LitInt) || input.peek2(syn::LitStr)) {
        let kw = input.parse::<kw::interval>()?.span;
        let mut lit: crate::parse::duration::IntervalLit = input.parse()?;
        lit.span = SpanRange {
            start: kw,
            end: lit.span.end,
        };
        return Ok(Expr::Interval(lit));
    }
    if input.peek(kw::cast) && input.peek2(syn::token::Paren) {
        let cast = input.parse::<kw::cast>()?.span;
        let content;
        let paren = syn::parenthesized!(content in input);
        let expr: Expr = content.parse()?;
        content
            .parse::<Token![as]>()
            .map_err(|e| expected(e, "expected `as <type>` in `cast(<expr> as <type>)`"))?;
        let ty: Ident = content.parse()?;
        if !content.is_empty() {
            return Err(content.error("expected `)` after the type"));
        }
        return Ok(Expr::Cast {
            cast,
            expr: Box::new(expr),
            ty,
            end: paren.span.close(),
        });
    }
    if input.peek(Ident) {
        let name: Ident = input.parse()?;
        if input.peek(syn::token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            if content.peek(Token![*]) {
                content.parse::<Token![*]>()?;
                if !content.is_empty() {
                    return Err(content.error("expected `)` after `*`"));
                }
                return Ok(Expr::Call {
                    name,
                    args: Vec::new(),
                    star: true,
                    end: paren.span.close(),
                });
            }
            let args = content.parse_terminated(Expr::parse, Token![,])?;
            return Ok(Expr::Call {
                name,
                args: args.into_iter().collect(),
                star: false,
                end: paren.span.close(),
            });
        }
        return Ok(Expr::Column(name));
    }
    if input.peek(Token![*]) {
        return Err(input.error("`*` is only allowed alone in `select *` or in `count(*)`"));
    }
    Err(input.error(
        "expected an expression: a column, a literal, a function call, `case`, `cast` or `(`",
    ))
}

fn parse_case(input: ParseStream<'_>) -> syn::Result<Expr> {
    let case = input.parse::<kw::case>()?.span;
    let operand = if input.peek(kw::when) {
        None
    } else {
        Some(Box::new(input.parse::<Expr>()?))
    };
    let mut branches = Vec::new();
    while input.peek(kw::when) {
        input.parse::<kw::when>()?;
        let cond: Expr = input.parse()?;
        input
            .parse::<kw::then>()
            .map_err(|e| expected(e, "expected `then` after the `when` condition"))?;
        let value: Expr = input.parse()?;
        branches.push((cond, value));
    }
    if branches.is_empty() {
        return Err(input.error("`case` needs at least one `when <condition> then <value>`"));
    }
    let otherwise = if input.peek(Token![else]) {
        input.parse::<Token![else]>()?;
        Some(Box::new(input.parse::<Expr>()?))
    } else {
        None
    };
    let end = input
        .parse::<kw::end>()
        .map_err(|e| expected(e, "expected `when`, `else` or `end` to finish the `case`"))?
        .span;
    Ok(Expr::Case {
        case,
        operand,
        branches,
        otherwise,
        end,
    })
}

#[cfg(test)]
mod tests;
