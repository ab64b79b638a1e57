//! Accumulators that no output column, post-aggregation filter or sort key reads are dropped
//! (an `aggregate max_temp = max(temperature)` later removed by `select`).

use crate::plan::{PipelinePlan, SlotDef, SlotId};

/// Removes accumulators whose result is never read, renumbering the rest.
pub(super) fn prune_accumulators(plan: &mut PipelinePlan) {
    let mut live = vec![false; plan.slots.len()];
    let mut stack: Vec<SlotId> = plan.outputs.iter().map(|o| o.slot).collect();
    for e in plan
        .post_filters
        .iter()
        .chain(plan.order_by.iter().map(|o| &o.expr))
    {
        e.for_each_slot(&mut |s| stack.push(s));
    }
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut live[s.0], true) {
            continue;
        }
        if let SlotDef::Let(e) = &plan.slots[s.0].def {
            e.for_each_slot(&mut |d| stack.push(d));
        }
    }
    let Some(agg) = plan.aggregate.as_mut() else {
        return;
    };
    let used: Vec<bool> = (0..agg.accumulators.len())
        .map(|i| {
            plan.slots
                .iter()
                .enumerate()
                .any(|(s, slot)| live[s] && matches!(slot.def, SlotDef::Agg(j) if j == i))
        })
        .collect();
    let mut renumber = Vec::with_capacity(used.len());
    let mut next = 0;
    for &u in &used {
        renumber.push(next);
        next += usize::from(u);
    }
    let mut index = 0;
    agg.accumulators.retain(|_| {
        index += 1;
        used[index - 1]
    });
    for (s, slot) in plan.slots.iter_mut().enumerate() {
        if let SlotDef::Agg(i) = &mut slot.def
            && live[s]
        {
            *i = renumber[*i];
        }
    }
}
