//! The `parse` clause: `parse <payload> as json|csv[(options)] <Schema> [mode <mode>]` decodes
//! a STRING or BINARY payload (a Kafka record's value) into a declared schema's columns, as
//! Spark's `from_json(col("value").cast("string"), schema)` followed by `select("data.*")`.
//!
//! The schema's columns join the relation, all nullable (a malformed record gives nulls in
//! `permissive` mode), replacing columns of the same name in place as `with` does. The
//! decoding is one slot whose value says whether the row is kept; a filter on it drops the
//! malformed rows of `drop_malformed` mode, so the decoding runs once per row, at the clause's
//! place, whichever columns are used later.

use std::collections::HashMap;

use syn::Ident;

use crate::diagnostics::{Errors, SpanRange, did_you_mean, with_note};
use crate::parse::ParseClause;
use crate::plan::{
    Decode, DecodeFormat, DecodeMode, DecodeOption, Expr, ExprKind, SlotDef, SqlType, Ty,
};

use super::InputField;
use super::expr::{Ctx, ident_name};
use super::relation::{Column, Relation};

/// The schemas a `parse` clause may name.
pub(super) struct Schemas<'a> {
    pub(super) checked: &'a HashMap<String, (Ident, Vec<InputField>)>,
    /// Schemas that failed to check: their errors are reported already.
    pub(super) failed: &'a HashMap<String, Ident>,
}

const MODES: [&str; 3] = ["permissive", "drop_malformed", "fail_fast"];
const JSON_OPTIONS: [&str; 1] = ["timestamp_format"];
const CSV_OPTIONS: [&str; 8] = [
    "sep",
    "quote",
    "escape",
    "null_value",
    "nan_value",
    "positive_inf",
    "negative_inf",
    "timestamp_format",
];

/// Applies a `parse` clause to the relation; `false` if it has errors (reported).
pub(super) fn parse_clause(
    rel: &mut Relation,
    clause: &ParseClause,
    schemas: &Schemas<'_>,
    errors: &Errors,
) -> bool {
    let kw = SpanRange::single(clause.kw);
    if rel.aggregate.is_some() {
        errors.error(kw, "a `parse` clause must come before the aggregation");
        return false;
    }
    let before = errors.count();
    let payload = rel.resolve(&clause.payload, &mut Ctx::Row, errors);
    let format = format(clause, errors);
    let mode = mode(clause, errors);
    let fields = schema_fields(clause, schemas, errors);
    let options = format
        .map(|f| options(clause, f, errors))
        .unwrap_or_default();
    let (Some(payload), Some(format), Some(mode), Some((schema, fields))) =
        (payload, format, mode, fields)
    else {
        return false;
    };
    if !matches!(payload.ty.ty, Ty::Str | Ty::Binary) {
        errors.error_with_help(
            payload.span,
            format!(
                "`parse` reads a STRING or BINARY payload, found {}",
                payload.ty.describe()
            ),
            "parse a Kafka record's `value` (BINARY), or a string column",
        );
        return false;
    }
    if format == DecodeFormat::Csv
        && let Some((_, name, ty)) = fields
            .iter()
            .find(|(_, _, t)| matches!(t.ty, Ty::Binary | Ty::Headers | Ty::Window | Ty::StrArray))
    {
        errors.error(
            SpanRange::single(clause.schema.span()),
            format!(
                "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The CSV datasource doesn't support the column `{name}` of the type \"{}\".",
                ty.ty.sql_name()
            ),
        );
        return false;
    }
    if errors.count() != before {
        return false;
    }
    let column = expr_text(&payload, rel);
    let format_name = match format {
        DecodeFormat::Json => "json",
        DecodeFormat::Csv => "csv",
    };
    let mode_name = match mode {
        DecodeMode::Permissive => "permissive",
        DecodeMode::DropMalformed => "drop_malformed",
        DecodeMode::FailFast => "fail_fast",
    };
    rel.steps.push(format!(
        "Parse {column} as {format_name}{} {} mode {mode_name}",
        describe_options(&options),
        clause.schema
    ));
    let span = payload.span;
    let record = rel.new_slot(
        SlotDef::Decode(Box::new(Decode {
            payload,
            format,
            options,
            schema,
            mode,
            column: column.clone(),
        })),
        SqlType::non_null(Ty::Bool),
        &format!("parsed_{column}"),
    );
    // Runs the decoding for every row, at this point of the query; in drop_malformed mode it
    // also drops the malformed rows.
    rel.filters.push((
        Expr {
            kind: ExprKind::Slot(record),
            ty: SqlType::non_null(Ty::Bool),
            span,
        },
        rel.stages.len(),
    ));
    for (index, (ident, name, ty)) in fields.into_iter().enumerate() {
        let slot = rel.new_slot(
            SlotDef::Decoded { record, index },
            SqlType::new(ty.ty, true),
            &name,
        );
        match rel.scope.iter_mut().find(|c| c.name == name) {
            Some(c) => {
                c.slot = slot;
                c.ident = ident;
            }
            None => rel.scope.push(Column { name, ident, slot }),
        }
    }
    true
}

fn format(clause: &ParseClause, errors: &Errors) -> Option<DecodeFormat> {
    match clause.format.to_string().as_str() {
        "json" => Some(DecodeFormat::Json),
        "csv" => Some(DecodeFormat::Csv),
        other => {
            errors.error(
                SpanRange::single(clause.format.span()),
                format!(
                    "unknown payload format `{other}`{}; expected `json` or `csv`",
                    did_you_mean(&other.to_lowercase(), ["json", "csv"])
                ),
            );
            None
        }
    }
}

fn mode(clause: &ParseClause, errors: &Errors) -> Option<DecodeMode> {
    let Some(ident) = &clause.mode else {
        return Some(DecodeMode::Permissive);
    };
    let name = ident.to_string();
    match name.as_str() {
        "permissive" => Some(DecodeMode::Permissive),
        "drop_malformed" => Some(DecodeMode::DropMalformed),
        "fail_fast" => Some(DecodeMode::FailFast),
        _ => {
            // Spark's spellings (`FAILFAST`, `DROPMALFORMED`) point at the DSL's.
            let spark = match name.to_ascii_uppercase().as_str() {
                "PERMISSIVE" => Some("permissive"),
                "DROPMALFORMED" | "DROP_MALFORMED" => Some("drop_malformed"),
                "FAILFAST" | "FAIL_FAST" => Some("fail_fast"),
                _ => None,
            };
            let hint = match spark {
                Some(m) => format!("; did you mean `{m}`?"),
                None => did_you_mean(&name, MODES),
            };
            errors.error(
                SpanRange::single(ident.span()),
                with_note(
                    format!("unknown parse mode `{name}`{hint}"),
                    "a mode is one of: permissive (malformed records give nulls), drop_malformed (they are dropped), fail_fast (the query fails)",
                ),
            );
            None
        }
    }
}

type SchemaFields = (Ident, Vec<InputField>);

fn schema_fields(
    clause: &ParseClause,
    schemas: &Schemas<'_>,
    errors: &Errors,
) -> Option<SchemaFields> {
    let name = clause.schema.to_string();
    if let Some(found) = schemas.checked.get(&name) {
        return Some(found.clone());
    }
    if !schemas.failed.contains_key(&name) {
        errors.error(
            SpanRange::single(clause.schema.span()),
            with_note(
                format!(
                    "unknown schema `{name}`{}",
                    did_you_mean(&name, schemas.checked.keys().map(String::as_str))
                ),
                "`parse` decodes into a `schema` declared in this pipeline",
            ),
        );
    }
    None
}

fn options(clause: &ParseClause, format: DecodeFormat, errors: &Errors) -> Vec<DecodeOption> {
    let allowed: &[&'static str] = match format {
        DecodeFormat::Json => &JSON_OPTIONS,
        DecodeFormat::Csv => &CSV_OPTIONS,
    };
    let mut out = Vec::new();
    for (name, value) in &clause.options {
        let mut n = ident_name(name);
        if format == DecodeFormat::Csv && n == "delimiter" {
            // Spark's alias.
            n = "sep".to_string();
        }
        let Some(option) = allowed.iter().copied().find(|a| *a == n) else {
            errors.error(
                SpanRange::single(name.span()),
                with_note(
                    format!(
                        "unknown {} option `{n}`{}",
                        if format == DecodeFormat::Json {
                            "JSON"
                        } else {
                            "CSV"
                        },
                        did_you_mean(&n, allowed.iter().copied())
                    ),
                    format!("the options are: {}", allowed.join(", ")),
                ),
            );
            continue;
        };
        let span = SpanRange::of(value);
        let text = match value {
            syn::Lit::Str(s) => s.value(),
            syn::Lit::Char(c) => c.value().to_string(),
            _ => {
                errors.error(
                    span,
                    format!("`{option}` takes a string, e.g. `{option} = \";\"`"),
                );
                continue;
            }
        };
        if matches!(option, "sep" | "quote" | "escape") {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() => out.push(DecodeOption::Char(option, c)),
                _ => errors.error(
                    span,
                    format!(
                        "the CSV option `{option}` must be a single ASCII character, found `{text}`"
                    ),
                ),
            }
            continue;
        }
        if option == "timestamp_format"
            && let Err(e) = spark_syntax::datetime_pattern::spark_pattern_to_chrono(&text)
        {
            errors.error(span, format!("option `timestamp_format`: {e}"));
            continue;
        }
        out.push(DecodeOption::Text(option, text));
    }
    out
}

fn describe_options(options: &[DecodeOption]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let items: Vec<String> = options
        .iter()
        .map(|o| match o {
            DecodeOption::Text(n, v) => format!("{n} = {v:?}"),
            DecodeOption::Char(n, c) => format!("{n} = {c:?}"),
        })
        .collect();
    format!("({})", items.join(", "))
}

/// A short text for the payload expression: its column's name, or `payload`.
fn expr_text(e: &Expr, rel: &Relation) -> String {
    match &e.kind {
        ExprKind::Slot(s) => rel.slots[s.0].name.clone(),
        ExprKind::Cast(inner) => expr_text(inner, rel),
        _ => "payload".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{errors, plan};
    use crate::plan::{FilterPhase, SlotDef, Ty};

    const READING: &str = "schema Reading { ts: Timestamp, room: String, temp: Option<f64> }";

    fn first_lines(errors: Vec<String>) -> Vec<String> {
        errors
            .into_iter()
            .map(|e| e.lines().next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn parsed_columns_join_the_relation_nullable() {
        let p = plan(&format!(
            "{READING}
             query Q from Kafka {{
                parse value as json Reading mode drop_malformed;
                watermark ts delay 10 seconds;
                where temp > 20;
                select room, ts, temp, offset;
             }}"
        ));
        let outputs: Vec<(String, String)> = p
            .outputs
            .iter()
            .map(|o| (o.name.clone(), o.ty.describe()))
            .collect();
        assert_eq!(
            outputs,
            [
                ("room".to_string(), "STRING (nullable)".to_string()),
                ("ts".into(), "TIMESTAMP (nullable)".into()),
                ("temp".into(), "DOUBLE (nullable)".into()),
                ("offset".into(), "BIGINT".into()),
            ]
        );
        // The decoding is a filter before the watermark, so dropped rows never reach it.
        let decode = &p.filters[0];
        assert_eq!(decode.phase, FilterPhase::Start);
        let crate::plan::ExprKind::Slot(s) = decode.pred.kind else {
            panic!("the decoding filter reads its slot")
        };
        assert!(matches!(p.slot(s).def, SlotDef::Decode(_)));
        assert_eq!(p.slot(s).ty.ty, Ty::Bool);
        assert!(
            p.explain
                .contains("Parse value as json Reading mode drop_malformed"),
            "{}",
            p.explain
        );
    }

    #[test]
    fn a_parsed_column_replaces_one_of_the_same_name() {
        let p = plan(
            "schema Msg { timestamp: Timestamp, n: i64 }
             query Q from Kafka { parse cast(value as string) as csv(sep = \";\") Msg; }",
        );
        let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "value",
                "topic",
                "partition",
                "offset",
                "timestamp",
                "timestamp_type",
                "headers",
                "n"
            ]
        );
        assert_eq!(p.outputs[5].ty.describe(), "TIMESTAMP (nullable)");
    }

    #[test]
    fn mistakes_in_a_parse_clause() {
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ parse value as xml Reading; }}"
            ))),
            ["unknown payload format `xml`; expected `json` or `csv`"]
        );
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ parse value as json Readings; }}"
            ))),
            ["unknown schema `Readings`; did you mean `Reading`?"]
        );
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ parse value as json Reading mode FAILFAST; }}"
            ))),
            ["unknown parse mode `FAILFAST`; did you mean `fail_fast`?"]
        );
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ parse offset as json Reading; }}"
            ))),
            ["`parse` reads a STRING or BINARY payload, found BIGINT"]
        );
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ parse value as csv(sepp = \";\", quote = \"ab\") Reading; }}"
            ))),
            [
                "unknown CSV option `sepp`; did you mean `sep`?",
                "the CSV option `quote` must be a single ASCII character, found `ab`"
            ]
        );
        assert_eq!(
            first_lines(errors(
                "schema B { b: Vec<u8> } query Q from Kafka { parse value as csv B; }"
            )),
            [
                "[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] The CSV datasource doesn't support the column `b` of the type \"BINARY\"."
            ]
        );
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ group by topic; aggregate n = count(); parse value as json Reading; }}"
            ))),
            ["a `parse` clause must come before the aggregation"]
        );
        assert_eq!(
            first_lines(errors(&format!(
                "{READING} query Q from Kafka {{ parse value as json(timestamp_format = \"yyyy-qq\") Reading; }}"
            )))
            .len(),
            1
        );
    }
}
