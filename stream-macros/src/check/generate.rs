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
