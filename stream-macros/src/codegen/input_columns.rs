//! The input columns a query reads: the input fields its outputs, filters, watermarks, group
//! keys, aggregates and sort keys depend on. A file source decodes only those (Spark's
//! required schema, pushed into the scan).

use crate::plan::{KeyRepr, PipelinePlan, SlotDef, SlotId};

/// The names of the input columns the plan reads, in input order.
pub(super) fn input_columns(plan: &PipelinePlan) -> Vec<String> {
    let mut stack: Vec<SlotId> = plan.outputs.iter().map(|o| o.slot).collect();
    let push_expr = |e: &crate::plan::Expr, stack: &mut Vec<SlotId>| {
        e.for_each_slot(&mut |s| stack.push(s));
    };
    for f in &plan.filters {
        push_expr(&f.pred, &mut stack);
    }
    for e in plan
        .post_filters
        .iter()
        .chain(plan.order_by.iter().map(|o| &o.expr))
    {
        push_expr(e, &mut stack);
    }
    stack.extend(plan.watermarks.iter().map(|w| w.slot));
    // A generator decides how many rows an input row gives, and a deduplication which rows
    // pass, whether or not their columns are output: both are always read.
    for g in &plan.generators {
        push_expr(&g.array, &mut stack);
    }
    // A join's keys and extra condition decide which rows match, output or not.
    if let Some(join) = &plan.join {
        stack.extend(join.keys.iter().map(|(slot, _)| *slot));
        if let Some(condition) = &join.condition {
            push_expr(condition, &mut stack);
        }
    }
    if let Some(dedup) = &plan.dedup {
        stack.extend(dedup.keys.iter().copied().chain(dedup.event_time));
    }
    if let Some(agg) = &plan.aggregate {
        for key in &agg.keys {
            match &key.repr {
                KeyRepr::Direct { slot } => stack.push(*slot),
                KeyRepr::Window { ts, .. } | KeyRepr::Session { ts, .. } => stack.push(*ts),
                KeyRepr::ConcatInt { inner, .. } => stack.push(*inner),
                KeyRepr::CaseIndex { conditions, .. } => {
                    for c in conditions {
                        push_expr(c, &mut stack);
                    }
                }
            }
        }
        stack.extend(agg.accumulators.iter().filter_map(|a| a.arg));
    }
    let mut live = vec![false; plan.slots.len()];
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut live[s.0], true) {
            continue;
        }
        plan.slots[s.0].def.for_each_dep(&mut |d| stack.push(d));
    }
    plan.slots
        .iter()
        .zip(&live)
        .filter(|(slot, live)| **live && matches!(slot.def, SlotDef::Input { .. }))
        .map(|(slot, _)| slot.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::input_columns;
    use crate::check::testing::plan;

    #[test]
    fn only_the_columns_a_query_depends_on_are_read() {
        let p = plan(
            "schema S { ts: Timestamp, room: String, temp: f64, unused: i64, note: String }
             query Q from S {
                watermark ts delay 10 seconds;
                where temp > 20;
                group by window(ts, 10 seconds), room;
                aggregate n = count();
             }",
        );
        assert_eq!(input_columns(&p), ["ts", "room", "temp"]);
        let p = plan(
            "schema S { a: i64, b: i64 } query Q from S { group by (); aggregate n = count(); }",
        );
        assert!(input_columns(&p).is_empty());
        let p = plan("schema S { a: i64, b: i64 } query Q from S { select c = b * 2; }");
        assert_eq!(input_columns(&p), ["b"]);
        // An explode's array and a deduplication's keys are read though not output.
        let p = plan(
            "schema S { a: i64, line: String, k: String, ts: Timestamp }
             query Q from S {
                watermark ts delay 10 seconds;
                select a, w = explode(split(line, \" \")), k, ts;
                drop duplicates (k, ts);
                select a;
             }",
        );
        assert_eq!(input_columns(&p), ["a", "line", "k", "ts"]);
        let p = plan(
            "schema S { ts: Timestamp, user: String, x: i64 }
             query Q from S {
                watermark ts delay 10 seconds;
                group by session_window(ts, 5 minutes), user;
                aggregate n = count();
             }",
        );
        assert_eq!(input_columns(&p), ["ts", "user"]);
        // A join's key and condition columns are read though not output.
        let p = plan(
            "schema S { ts: Timestamp, device: String, v: f64, w: f64 }
             table T { id: String, room: String }
             query Q from S left join T on device == id and v > 1.0 {
                select ts, room;
             }",
        );
        assert_eq!(input_columns(&p), ["ts", "device", "v"]);
    }
}
