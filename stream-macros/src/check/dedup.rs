//! `drop duplicates [within watermark] [(columns)]`: Spark's `dropDuplicates` and
//! `dropDuplicatesWithinWatermark`, with the rules that decide how the watermark reaches the
//! deduplication (late rows, which keys expire, when).

use syn::Ident;

use crate::diagnostics::{Errors, SpanRange, did_you_mean, list};
use crate::plan::{Dedup, DedupExpiry, SlotId, Stage, Ty};

use super::expr::ident_name;
use super::relation::Relation;

/// Spark's rejection of `dropDuplicatesWithinWatermark` on a stream without a watermarked
/// column.
const WITHIN_WATERMARK_WITHOUT_WATERMARK: &str = "dropDuplicatesWithinWatermark is not supported on streaming DataFrames/DataSets without watermark";

/// Applies a `drop duplicates` clause to the relation: the rows pass through unchanged, the
/// first of each key only.
pub(super) fn drop_duplicates(
    rel: &mut Relation,
    span: SpanRange,
    within_watermark: bool,
    columns: Option<&[Ident]>,
    errors: &Errors,
) {
    if rel.is_post() {
        errors.error_with_help(
            span,
            "`drop duplicates` after the aggregation is not supported",
            "deduplicate the input before `group by`, or filter the aggregated rows with `where`",
        );
        return;
    }
    if rel.dedup.is_some() {
        errors.error_with_help(
            span,
            "a pipeline can have only one `drop duplicates`",
            "deduplicate once, by every column that makes two rows the same",
        );
        return;
    }
    let Some((keys, names)) = key_columns(rel, columns, errors) else {
        return;
    };
    let Some(event_time) = event_time_column(rel, span, errors) else {
        return;
    };
    let expiry = if within_watermark {
        let Some((_, delay_micros)) = event_time else {
            errors.error_with_help(
                span,
                WITHIN_WATERMARK_WITHOUT_WATERMARK,
                "define a watermark before it: `watermark <ts> delay <interval>;`",
            );
            return;
        };
        DedupExpiry::WithinWatermark { delay_micros }
    } else {
        // Rule: only a key that holds the watermarked event time can expire (Spark evicts by a
        // predicate on the key); any other key is kept for ever.
        match event_time.and_then(|(ts, _)| keys.iter().position(|k| *k == ts)) {
            Some(part) => DedupExpiry::KeyEventTime(part),
            None => DedupExpiry::Never,
        }
    };
    rel.steps.push(format!(
        "{} [{}]",
        if within_watermark {
            "DeduplicateWithinWatermark"
        } else {
            "Deduplicate"
        },
        names.join(", ")
    ));
    rel.stages.push(Stage::Dedup);
    rel.dedup = Some(Dedup {
        keys,
        names,
        within_watermark,
        event_time: event_time.map(|(ts, _)| ts),
        expiry,
        watermarked: !rel.watermarks.is_empty(),
    });
}

/// The key columns: those listed, or every column (Spark's `dropDuplicates()`).
fn key_columns(
    rel: &Relation,
    columns: Option<&[Ident]>,
    errors: &Errors,
) -> Option<(Vec<SlotId>, Vec<String>)> {
    let mut slots = Vec::new();
    let mut names = Vec::new();
    let mut ok = true;
    let wanted: Vec<(String, SpanRange)> = match columns {
        Some(columns) => columns
            .iter()
            .map(|c| (ident_name(c), SpanRange::single(c.span())))
            .collect(),
        None => rel
            .scope
            .iter()
            .map(|c| (c.name.clone(), SpanRange::single(c.ident.span())))
            .collect(),
    };
    for (name, span) in wanted {
        if rel.poisoned.contains(&name) {
            ok = false;
            continue;
        }
        let Some(slot) = rel.column(&name) else {
            errors.error(
                span,
                format!(
                    "unknown column `{name}`{}\n= note: available columns: {}",
                    did_you_mean(&name, rel.scope_names().iter().map(String::as_str)),
                    rel.scope_names().join(", ")
                ),
            );
            ok = false;
            continue;
        };
        if rel.slots[slot.0].ty.ty == Ty::Null {
            errors.error(
                span,
                format!("cannot drop duplicates by `{name}`, which is always null"),
            );
            ok = false;
            continue;
        }
        if !names.contains(&name) {
            slots.push(slot);
            names.push(name);
        }
    }
    ok.then_some((slots, names))
}

/// Rule: the deduplication's input has at most one watermarked event-time column (Spark's
/// `WatermarkSupport.findEventTimeColumn`): a watermark defined before the clause whose column
/// is still a column here, under any name. `Some(None)`: there is none; `None`: an error.
fn event_time_column(
    rel: &Relation,
    span: SpanRange,
    errors: &Errors,
) -> Option<Option<(SlotId, i64)>> {
    let mut found: Vec<(SlotId, i64, &str)> = Vec::new();
    for w in &rel.watermarks {
        if found.iter().any(|(s, _, _)| *s == w.slot) {
            continue;
        }
        if let Some(c) = rel.scope.iter().find(|c| c.slot == w.slot) {
            found.push((w.slot, w.delay_micros, c.name.as_str()));
        }
    }
    match found.as_slice() {
        [] => Some(None),
        // Spark keeps the delay in milliseconds: `expiresAt = ts + delayMs * 1000`.
        [(slot, delay, _)] => Some(Some((*slot, delay / 1000 * 1000))),
        several => {
            let names: Vec<String> = several.iter().map(|(_, _, n)| n.to_string()).collect();
            errors.error_with_help(
                span,
                format!(
                    "More than one event time columns are available. Please ensure there is at most one event time column per stream. event time columns: ({})",
                    names.join(",")
                ),
                format!(
                    "drop all but one of the watermarked columns {} before `drop duplicates`",
                    list(&names)
                ),
            );
            None
        }
    }
}
