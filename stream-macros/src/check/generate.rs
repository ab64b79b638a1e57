//! Generators: `explode`, `posexplode`, `explode_outer` and `posexplode_outer` as whole items of
//! a `select` (or `with`) list, with Spark's placement rules (`ExtractGenerator`): one generator
//! per list, never nested in another expression, never outside a projection.

use syn::Ident;

use crate::diagnostics::{Errors, SpanRange};
use crate::parse;
use crate::plan::{Generator, GeneratorKind, SlotDef, SlotId, SqlType, Stage, Ty};

use super::expr::{Ctx, ident_name};
use super::relation::Relation;

/// Every generator function, by name.
const GENERATORS: [(&str, GeneratorKind); 4] = [
    (
        "explode",
        GeneratorKind {
            position: false,
            outer: false,
        },
    ),
    (
        "posexplode",
        GeneratorKind {
            position: true,
            outer: false,
        },
    ),
    (
        "explode_outer",
        GeneratorKind {
            position: false,
            outer: true,
        },
    ),
    (
        "posexplode_outer",
        GeneratorKind {
            position: true,
            outer: true,
        },
    ),
];

/// The generator named `name` (lowercase), if it is one.
pub(super) fn generator_named(name: &str) -> Option<GeneratorKind> {
    GENERATORS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, kind)| *kind)
}

/// Whether `name` (lowercase) is a generator, for the list of names a call may have.
pub(crate) fn is_generator(name: &str) -> bool {
    generator_named(name).is_some()
}

/// Spark's prefix of every generator placement error.
const UNSUPPORTED: &str = "The generator is not supported:";

/// Rule: a generator produces rows, not a value, so it is a whole `select` item; inside another
/// expression or outside a projection it is Spark's `UNSUPPORTED_GENERATOR` (reported where
/// the call is resolved).
pub(super) fn misplaced_generator(rel: &Relation, name: &str, span: SpanRange, errors: &Errors) {
    if rel.in_projection {
        errors.error_with_help(
            span,
            format!("[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] {UNSUPPORTED} nested in expressions `{name}(...)`"),
            format!("a generator is a whole `select` item: `<name> = {name}(...)`, then use the column in the next clause"),
        );
    } else {
        errors.error_with_help(
            span,
            format!("[UNSUPPORTED_GENERATOR.OUTSIDE_SELECT] {UNSUPPORTED} outside the SELECT clause, found `{name}(...)`"),
            format!("explode in a `select` first (`select *, <name> = {name}(...);`), then use the column"),
        );
    }
}

/// The generators of one `select` or `with` list, counted: Spark allows one per list.
#[derive(Debug, Default)]
pub(super) struct GeneratorsInList {
    names: Vec<&'static str>,
}

/// A generator call standing as a whole list item.
pub(super) struct GeneratorCall<'a> {
    kind: GeneratorKind,
    name: &'static str,
    args: &'a [parse::Expr],
    star: bool,
    span: SpanRange,
}

/// `expr` as a generator call, if it is one.
pub(super) fn as_generator(expr: &parse::Expr) -> Option<GeneratorCall<'_>> {
    let parse::Expr::Call {
        name, args, star, ..
    } = expr
    else {
        return None;
    };
    let lower = name.to_string().to_lowercase();
    let &(name, kind) = GENERATORS.iter().find(|(n, _)| *n == lower)?;
    Some(GeneratorCall {
        kind,
        name,
        args,
        star: *star,
        span: expr.span(),
    })
}

/// Resolves a generator item of a `select` or `with` list into its output columns: the element
/// (named `col` by default, as in Spark) and, for `posexplode`, the position before it (`pos`).
/// `names` are the names written (`word = explode(...)`, `(p, w) = posexplode(...)`). `None` on
/// an error (reported).
pub(super) fn generate(
    rel: &mut Relation,
    call: GeneratorCall<'_>,
    names: Option<(&[Ident], SpanRange)>,
    list: &mut GeneratorsInList,
    errors: &Errors,
) -> Option<Vec<(Ident, SlotId)>> {
    let GeneratorCall {
        kind,
        name,
        args,
        star,
        span,
    } = call;
    list.names.push(name);
    if list.names.len() > 1 {
        let found: Vec<String> = list.names.iter().map(|n| format!("\"{n}(...)\"")).collect();
        errors.error_with_help(
            span,
            format!(
                "[UNSUPPORTED_GENERATOR.MULTI_GENERATOR] {UNSUPPORTED} only one generator allowed per select clause but found {}: {}",
                found.len(),
                found.join(", ")
            ),
            "explode in two `select` clauses, one after the other",
        );
        return None;
    }
    if rel.is_post() {
        errors.error_with_help(
            span,
            format!("`{name}` after the aggregation is not supported"),
            format!("`{name}` before the aggregation, where it turns input rows into one row per element"),
        );
        return None;
    }
    let columns = if kind.position { 2 } else { 1 };
    let idents: Vec<Ident> = match names {
        None if kind.position => vec![Ident::new("pos", span.start), Ident::new("col", span.start)],
        None => vec![Ident::new("col", span.start)],
        Some((written, written_span)) => {
            if written.len() != columns {
                errors.error_with_help(
                    written_span,
                    format!(
                        "[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied does not match the number of columns output by `{name}`: expected {columns}, found {}",
                        written.len()
                    ),
                    if kind.position {
                        format!("`{name}` gives a position and an element: `(pos, word) = {name}(...)`")
                    } else {
                        format!("`{name}` gives one column: `word = {name}(...)`")
                    },
                );
                return None;
            }
            written.to_vec()
        }
    };
    if star || args.len() != 1 {
        errors.error(
            span,
            format!(
                "`{name}` takes 1 argument, found {}\n= note: signature: {name}(ARRAY<STRING>)",
                if star {
                    "`*`".to_string()
                } else {
                    args.len().to_string()
                }
            ),
        );
        return None;
    }
    let array = rel.resolve(&args[0], &mut Ctx::Row, errors)?;
    match array.ty.ty {
        Ty::StrArray => {}
        Ty::Headers => {
            errors.error(
                array.span,
                format!(
                    "`{name}` of Kafka headers is not supported: it explodes ARRAY<STRING> values"
                ),
            );
            return None;
        }
        other => {
            errors.error_with_help(
                array.span,
                format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] `{name}` requires an ARRAY<STRING>, found {}",
                    other.sql_name()
                ),
                format!("split a string into an array first: `{name}(split(<column>, \" \"))`"),
            );
            return None;
        }
    }
    let index = rel.generators.len();
    let element_name = ident_name(idents.last().expect("a column"));
    let element = rel.new_slot(
        SlotDef::Generated,
        SqlType::new(Ty::Str, kind.outer),
        &element_name,
    );
    let position = kind.position.then(|| {
        rel.new_slot(
            SlotDef::Generated,
            SqlType::new(Ty::Int, kind.outer),
            &ident_name(&idents[0]),
        )
    });
    rel.generators.push(Generator {
        kind,
        array,
        element,
        position,
    });
    rel.stages.push(Stage::Generate(index));
    let names: Vec<String> = idents.iter().map(ident_name).collect();
    rel.steps
        .push(format!("Generate {} [{}]", kind.name(), names.join(", ")));
    let slots = position.into_iter().chain(std::iter::once(element));
    Some(idents.into_iter().zip(slots).collect())
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{errors, plan, render};
    use crate::plan::{FilterPhase, Stage};

    const SCHEMA: &str =
        "schema E { ts: Timestamp, k: String, v: f64, lines: Option<String>, tags: Vec<String> }";

    fn first_error(body: &str) -> String {
        let e = errors(&format!("{SCHEMA} query Q from E {{ {body} }}"));
        assert_eq!(e.len(), 1, "{e:?}");
        e[0].lines().next().unwrap().to_string()
    }

    #[test]
    fn generators_type_their_columns_and_default_to_sparks_names() {
        let p = plan(&format!(
            "{SCHEMA} query Q from E {{ select k, posexplode(split(lines, \" \")); }}"
        ));
        let cols: Vec<String> = p
            .outputs
            .iter()
            .map(|o| format!("{}: {}", o.name, o.ty.describe()))
            .collect();
        assert_eq!(cols, ["k: STRING", "pos: INT", "col: STRING"]);
        let p = plan(&format!(
            "{SCHEMA} query Q from E {{ select (i, t) = posexplode_outer(tags); }}"
        ));
        let cols: Vec<String> = p
            .outputs
            .iter()
            .map(|o| format!("{}: {}", o.name, o.ty.describe()))
            .collect();
        assert_eq!(cols, ["i: INT (nullable)", "t: STRING (nullable)"]);
        assert_eq!(p.stages, [Stage::Generate(0)]);
        assert!(
            p.explain.contains("Generate posexplode_outer [i, t]"),
            "{}",
            p.explain
        );
    }

    #[test]
    fn filters_move_below_a_generator_unless_they_read_what_it_produces() {
        let p = plan(&format!(
            "{SCHEMA} query Q from E {{
                select ts, k, v, word = explode(split(k, \" \"));
                where k == \"a\";
                where word == \"b\";
                watermark ts delay 1 second;
                where length(word) > 2;
                where ts > \"2024-01-01T00:00:00Z\";
                drop duplicates (word);
                where v > 1;
            }}"
        ));
        let phases: Vec<(String, FilterPhase)> = p
            .filters
            .iter()
            .map(|f| (render(&p, &f.pred), f.phase))
            .collect();
        assert_eq!(
            p.stages,
            [Stage::Generate(0), Stage::Watermark(0), Stage::Dedup]
        );
        assert_eq!(
            phases,
            [
                // A source column against a literal: through the generator to the scan.
                ("(k Eq \"a\")".into(), FilterPhase::Scan),
                ("(word Eq \"b\")".into(), FilterPhase::After(0)),
                // Passes the watermark (it does not read `ts`), not the generator.
                ("(length(word) Gt 2)".into(), FilterPhase::After(0)),
                ("(ts Gt ts(1704067200000000))".into(), FilterPhase::After(1)),
                // Nothing moves below a deduplication.
                ("(v Gt 1.0)".into(), FilterPhase::After(2)),
            ]
        );
    }

    #[test]
    fn generators_follow_sparks_placement_rules() {
        assert_eq!(
            first_error("select a = explode(tags), b = explode(tags);"),
            "[UNSUPPORTED_GENERATOR.MULTI_GENERATOR] The generator is not supported: only one generator allowed per select clause but found 2: \"explode(...)\", \"explode(...)\""
        );
        assert_eq!(
            first_error("with a = explode(tags), b = posexplode(tags);"),
            "[UNSUPPORTED_GENERATOR.MULTI_GENERATOR] The generator is not supported: only one generator allowed per select clause but found 2: \"explode(...)\", \"posexplode(...)\""
        );
        assert_eq!(
            first_error("select n = length(explode(tags));"),
            "[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] The generator is not supported: nested in expressions `explode(...)`"
        );
        assert_eq!(
            first_error("select w = explode(explode(tags));"),
            "[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] The generator is not supported: nested in expressions `explode(...)`"
        );
        assert_eq!(
            first_error("where explode(tags) == \"a\";"),
            "[UNSUPPORTED_GENERATOR.OUTSIDE_SELECT] The generator is not supported: outside the SELECT clause, found `explode(...)`"
        );
        assert_eq!(
            first_error("group by k; aggregate n = count(); select w = explode(split(k, \" \"));"),
            "`explode` after the aggregation is not supported"
        );
        assert_eq!(
            first_error("select w = explode(k);"),
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] `explode` requires an ARRAY<STRING>, found STRING"
        );
        assert_eq!(
            first_error("select w = posexplode(tags);"),
            "[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied does not match the number of columns output by `posexplode`: expected 2, found 1"
        );
        assert_eq!(
            first_error("select (a, b) = explode(tags);"),
            "[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied does not match the number of columns output by `explode`: expected 1, found 2"
        );
        assert_eq!(
            first_error("select (a, b) = concat(k, k);"),
            "only a generator has several columns to name"
        );
        assert_eq!(
            first_error("select w = explode(tags, tags);"),
            "`explode` takes 1 argument, found 2"
        );
    }

    #[test]
    fn a_failed_generator_does_not_cascade() {
        // `w` is poisoned: the later clause that reads it raises nothing more.
        assert_eq!(
            first_error("select w = explode(k); where w == \"a\";"),
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] `explode` requires an ARRAY<STRING>, found STRING"
        );
    }
}
