//! Strings built once: a `concat` argument that is a column computed as `cast(x as string)` of a
//! non-string `x` (the seed's `room_id = cast(value % 5 as string)` read by
//! `concat("Room_", room_id)`) is replaced by the cast itself, which `concat` lowers by printing
//! `x` straight into its result. The column's own `String` is then built only if something else
//! reads it — for the seed's alert, never: one allocation and one free fewer per row.

use crate::functions::CONCAT;
use crate::plan::{Expr, ExprKind, PipelinePlan, Slot, SlotDef};

/// Inlines casts to string into the `concat`s that define computed columns.
pub(super) fn print_casts_in_place(plan: &mut PipelinePlan) {
    for i in 0..plan.slots.len() {
        let SlotDef::Let(expr) = &plan.slots[i].def else {
            continue;
        };
        let ExprKind::Call(call) = &expr.kind else {
            continue;
        };
        if !call.is(&CONCAT) {
            continue;
        }
        let inlined: Vec<Option<Expr>> = call
            .args
            .iter()
            .map(|a| cast_column(&plan.slots, a))
            .collect();
        if inlined.iter().all(Option::is_none) {
            continue;
        }
        let SlotDef::Let(expr) = &mut plan.slots[i].def else {
            unreachable!("matched above")
        };
        let ExprKind::Call(call) = &mut expr.kind else {
            unreachable!("matched above")
        };
        for (arg, cast) in call.args.iter_mut().zip(inlined) {
            if let Some(cast) = cast {
                *arg = cast;
            }
        }
    }
}

/// The definition of the column `arg` reads, if it is a cast to string.
fn cast_column(slots: &[Slot], arg: &Expr) -> Option<Expr> {
    let ExprKind::Slot(s) = &arg.kind else {
        return None;
    };
    let SlotDef::Let(def) = &slots[s.0].def else {
        return None;
    };
    def.cast_to_string_of().map(|_| def.clone())
}

#[cfg(test)]
mod tests {
    use crate::check::testing::plan;
    use crate::plan::{ExprKind, SlotDef};

    #[test]
    fn a_cast_column_read_by_concat_is_printed_in_place() {
        let p = plan(
            "query Q from Rate {
                select value, room_id = cast(value % 5 as string), flag = cast(value > 2 as string),
                       name = \"n\";
                with room_name = concat(\"Room_\", room_id, flag, name);
                select room_name;
            }",
        );
        let out = p.outputs[0].slot;
        let SlotDef::Let(e) = &p.slot(out).def else {
            panic!("{:?}", p.slot(out).def)
        };
        let ExprKind::Call(call) = &e.kind else {
            panic!("{e:?}")
        };
        let kinds: Vec<&str> = call
            .args
            .iter()
            .map(|a| match &a.kind {
                ExprKind::Lit(_) => "literal",
                ExprKind::Cast(_) => "cast",
                ExprKind::Slot(_) => "column",
                _ => "other",
            })
            .collect();
        // The string column `name` stays a column: there is nothing to print in its place.
        assert_eq!(kinds, ["literal", "cast", "cast", "column"]);
    }
}
