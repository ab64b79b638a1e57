//! Optimize: semantics-preserving rewrites of checked plans that save work per row. The third
//! stage of the compiler (parse → check → optimize → codegen); codegen lowers what it is given.
//!
//! - [`keys`]: group keys stored as something cheaper than their value (an integer for
//!   `concat("Room_", value % 5)`, a branch index for a `case` of string literals);
//! - [`prune`]: accumulators nothing reads are dropped;
//! - [`strings`]: a cast-to-string column read by `concat` is printed into its result;
//! - [`ansi`]: arithmetic proven unable to overflow or fail loses its run-time ANSI check.

mod ansi;
mod keys;
mod prune;
mod strings;

use crate::check::Checked;
use crate::plan::PipelinePlan;

/// Optimizes every pipeline of a checked program.
pub(crate) fn optimize(mut checked: Checked) -> Checked {
    for plan in &mut checked.pipelines {
        optimize_plan(plan);
    }
    checked
}

/// Applies every rewrite to one plan.
pub(crate) fn optimize_plan(plan: &mut PipelinePlan) {
    // A stream-stream join's sides with pushed filters are pipelines of their own.
    if let Some(join) = plan.stream_join.as_mut() {
        for side in [&mut join.left, &mut join.right] {
            if let Some(side_plan) = side.pipeline.as_mut() {
                optimize_plan(side_plan);
            }
        }
    }
    keys::cheap_keys(plan);
    prune::prune_accumulators(plan);
    strings::print_casts_in_place(plan);
    ansi::drop_proven_checks(plan);
}
