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

#[cfg(test)]
mod tests {
    use crate::check::testing::{errors, plan};
    use crate::plan::{DedupExpiry, Mode, ModeRejection, Stage};

    const SCHEMA: &str = "schema E { ts: Timestamp, t2: Timestamp, k: String, v: f64 }";

    fn dedup(body: &str) -> crate::plan::Dedup {
        plan(&format!("{SCHEMA} query Q from E {{ {body} }}"))
            .dedup
            .expect("a deduplication")
    }

    fn first_error(body: &str) -> String {
        let e = errors(&format!("{SCHEMA} query Q from E {{ {body} }}"));
        assert_eq!(e.len(), 1, "{e:?}");
        e[0].lines().next().unwrap().to_string()
    }

    #[test]
    fn the_watermark_reaches_the_deduplication_through_its_event_time_column() {
        let d = dedup("watermark ts delay 30 seconds; drop duplicates (k, ts);");
        assert_eq!(d.expiry, DedupExpiry::KeyEventTime(1));
        assert!(d.event_time.is_some() && d.watermarked);
        // The event time under another name is still the event time.
        let d = dedup("watermark ts delay 30 seconds; select at = ts, k; drop duplicates (k, at);");
        assert_eq!(d.expiry, DedupExpiry::KeyEventTime(1));
        // Not in the key: kept for ever, but late rows are still dropped.
        let d = dedup("watermark ts delay 30 seconds; drop duplicates (k);");
        assert_eq!(d.expiry, DedupExpiry::Never);
        assert!(d.event_time.is_some());
        // Projected away: the watermark still runs no-data batches, nothing is late.
        let d = dedup("watermark ts delay 30 seconds; select k; drop duplicates;");
        assert_eq!(d.expiry, DedupExpiry::Never);
        assert!(d.event_time.is_none() && d.watermarked);
        // A watermark defined after the deduplication does not reach it.
        let d = dedup("drop duplicates (k, ts); watermark ts delay 30 seconds;");
        assert!(d.event_time.is_none() && !d.watermarked);
        // Within the watermark: the delay, in Spark's milliseconds.
        let d = dedup("watermark ts delay 1500 us; drop duplicates within watermark (k);");
        assert_eq!(
            d.expiry,
            DedupExpiry::WithinWatermark { delay_micros: 1000 }
        );
        // Every column.
        let d = dedup("drop duplicates;");
        assert_eq!(d.names, ["ts", "t2", "k", "v"]);
    }

    #[test]
    fn a_deduplication_runs_in_append_and_update_mode() {
        let p = plan(&format!(
            "{SCHEMA} query Q from E {{ watermark ts delay 1s; drop duplicates (k); }}"
        ));
        assert_eq!(
            p.rejected_modes,
            [(Mode::Complete, ModeRejection::CompleteWithoutAggregation)]
        );
        assert_eq!(p.stages, [Stage::Watermark(0), Stage::Dedup]);
        assert!(p.explain.ends_with("Deduplicate [k]"), "{}", p.explain);
    }

    #[test]
    fn deduplication_rules() {
        assert_eq!(
            first_error("drop duplicates within watermark (k);"),
            "dropDuplicatesWithinWatermark is not supported on streaming DataFrames/DataSets without watermark"
        );
        assert_eq!(
            first_error("watermark ts delay 1s; watermark t2 delay 1s; drop duplicates (k);"),
            "More than one event time columns are available. Please ensure there is at most one event time column per stream. event time columns: (ts,t2)"
        );
        assert_eq!(
            first_error("group by k; aggregate n = count(); drop duplicates (k);"),
            "`drop duplicates` after the aggregation is not supported"
        );
        assert_eq!(
            first_error("drop duplicates (k); group by k; aggregate n = count();"),
            "an aggregation after `drop duplicates` is not supported"
        );
        assert_eq!(
            first_error("drop duplicates (k); aggregate n = count();"),
            "an aggregation after `drop duplicates` is not supported"
        );
        assert_eq!(
            first_error("drop duplicates (k); drop duplicates (v);"),
            "a pipeline can have only one `drop duplicates`"
        );
        assert_eq!(
            first_error("drop duplicates (kk);"),
            "unknown column `kk`; did you mean `k`?"
        );
    }

    #[test]
    fn drop_of_a_column_named_duplicates_is_still_a_drop() {
        let p = plan(
            "schema E { duplicates: i64, other: i64, n: i64 }
             query Q from E { drop duplicates, other; }",
        );
        assert!(p.dedup.is_none());
        let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["n"]);
        let p = plan(
            "schema E { duplicates: i64, n: i64 }
             query Q from E { drop r#duplicates; }",
        );
        assert!(p.dedup.is_none());
        assert_eq!(p.outputs.len(), 1);
    }
}
