//! Helpers for the compiler's unit tests: check a `pipeline!` body given as text, and render
//! typed expressions compactly.

use crate::diagnostics::Errors;
use crate::parse::Pipeline;
use crate::plan::{Expr, ExprKind, Literal, PipelinePlan, SlotDef};

use super::Checked;

/// The checked program, or every error message in order.
pub(crate) fn check_src(src: &str) -> Result<Checked, Vec<String>> {
    let errors = Errors::new();
    let parsed = Pipeline::parse(src.parse().expect("valid tokens"), &errors);
    let checked = super::check(&parsed, &errors);
    match errors.check() {
        Ok(()) => Ok(checked),
        Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
    }
}

/// The optimized plan of the last query, as codegen receives it; panics with the errors if
/// the program does not check.
pub(crate) fn plan(src: &str) -> PipelinePlan {
    let checked = check_src(src).unwrap_or_else(|e| panic!("errors: {e:#?}"));
    let mut optimized = crate::optimize::optimize(checked);
    optimized.pipelines.pop().expect("a query")
}

/// The error messages; panics if the program checks.
pub(crate) fn errors(src: &str) -> Vec<String> {
    match check_src(src) {
        Ok(_) => panic!("expected errors in {src}"),
        Err(e) => e,
    }
}

/// The expression computing output column `name`.
pub(crate) fn output_expr(plan: &PipelinePlan, name: &str) -> Expr {
    let column = plan
        .outputs
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no output column `{name}`"));
    let slot = plan.slot(column.slot);
    match &slot.def {
        SlotDef::Let(e) => e.clone(),
        _ => Expr {
            kind: ExprKind::Slot(column.slot),
            ty: slot.ty,
            span: crate::diagnostics::SpanRange::single(proc_macro2::Span::call_site()),
        },
    }
}

/// A compact rendering: slots by column name, implicit casts as `cast(x as T)`.
pub(crate) fn render(plan: &PipelinePlan, e: &Expr) -> String {
    let r = |e: &Expr| render(plan, e);
    match &e.kind {
        ExprKind::Slot(s) => plan.slot(*s).name.clone(),
        ExprKind::Lit(Literal::Str(s)) => format!("{s:?}"),
        ExprKind::Lit(Literal::Double(d)) => format!("{d:?}"),
        ExprKind::Lit(Literal::Null) => "null".into(),
        ExprKind::Lit(Literal::Timestamp(t)) => format!("ts({t})"),
        ExprKind::Lit(Literal::Int(i)) => i.to_string(),
        ExprKind::Lit(Literal::Long(i)) => format!("{i}L"),
        ExprKind::Lit(Literal::Bool(b)) => b.to_string(),
        ExprKind::Neg(a) => format!("-{}", r(a)),
        ExprKind::TimeShift(a, us) => format!("({} + {us}us)", r(a)),
        ExprKind::Not(a) => format!("not {}", r(a)),
        ExprKind::Arith(op, a, b, _) => {
            let op = match op {
                crate::plan::ArithOp::Add => "+",
                crate::plan::ArithOp::Sub => "-",
                crate::plan::ArithOp::Mul => "*",
                crate::plan::ArithOp::Div => "/",
                crate::plan::ArithOp::Rem => "%",
            };
            format!("({} {op} {})", r(a), r(b))
        }
        ExprKind::Cmp(op, a, b) => format!("({} {op:?} {})", r(a), r(b)),
        ExprKind::And(a, b) => format!("({} and {})", r(a), r(b)),
        ExprKind::Or(a, b) => format!("({} or {})", r(a), r(b)),
        ExprKind::IsNull { expr, negated } => {
            format!(
                "({} is {}null)",
                r(expr),
                if *negated { "not " } else { "" }
            )
        }
        ExprKind::Case {
            branches,
            otherwise,
        } => {
            let mut s = "case".to_string();
            for (c, v) in branches {
                s += &format!(" when {} then {}", r(c), r(v));
            }
            if let Some(o) = otherwise {
                s += &format!(" else {}", r(o));
            }
            s + " end"
        }
        ExprKind::Cast(a) => format!("cast({} as {})", r(a), e.ty.ty.sql_name()),
        ExprKind::Call(call) => format!(
            "{}({})",
            call.func.name,
            call.args.iter().map(r).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::WindowField { window, end } => {
            format!("{}.{}", r(window), if *end { "end" } else { "start" })
        }
        ExprKind::CurrentTimestamp => "current_timestamp()".into(),
    }
}
