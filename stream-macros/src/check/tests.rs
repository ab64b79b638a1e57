//! Unit tests of the checker: clause order, chained queries, and errors that do not cascade.

use super::testing::{check_src, errors, plan};

fn first_lines(errors: Vec<String>) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| e.lines().next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn clauses_reshape_the_relation_in_order() {
    let p = plan(
        "query Q from Rate {
            with doubled = value * 2, value = value + 1;
            select *, label = concat(\"v\", value);
            rename doubled to twice;
            drop timestamp;
        }",
    );
    let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
    // `with` replaces `value` in place and appends `doubled`.
    assert_eq!(names, ["value", "twice", "label"]);
    assert_eq!(
        p.explain,
        "Source Rate\nQuery Q\nWith doubled\nWith value\nProject [timestamp, value, doubled, label]"
    );
}

#[test]
fn chained_queries_fuse_into_one_plan() {
    let p = plan(
        "query A from Rate { select timestamp, room = value % 5; }
         query B from A { where room > 1; group by room; aggregate n = count(); }",
    );
    assert_eq!(p.input.name, "Rate");
    assert_eq!(
        p.explain,
        "Source Rate\nQuery A\nProject [timestamp, room]\nQuery B\nFilter\nAggregate [room], [n]"
    );
}

#[test]
fn one_error_per_chained_aggregation() {
    assert_eq!(
        first_lines(errors(
            "query A from Rate { group by k = value % 5; aggregate n = count(); }
             query B from A { group by n; aggregate m = count(); }"
        )),
        [
            "`B` reads `A`, which already aggregates; a pipeline can have only one streaming aggregation"
        ]
    );
    assert_eq!(
        first_lines(errors(
            "query A from Rate { aggregate n = count(); aggregate m = count(); }"
        )),
        ["a query can have only one streaming aggregation"]
    );
}

#[test]
fn a_dangling_group_by_stops_its_query() {
    assert_eq!(
        first_lines(errors(
            "query A from Rate { group by k = value % 5; select k, nope; where nope; }"
        )),
        ["`group by` must be followed by `aggregate`"]
    );
}

#[test]
fn failures_do_not_cascade() {
    // A schema with a bad field: its queries fail silently, and both get stand-ins.
    let e = check_src(
        "schema S { a: u8, b: i64 }
         query A from S { select b; }
         query B from A { select b; }
         query C from Rate { select value; }",
    )
    .unwrap_err();
    assert_eq!(
        first_lines(e),
        [
            "unsupported column type `u8`; expected bool, i32, i64, f64, String, Timestamp, Window, Vec<String>, Vec<u8>, Vec<Header>, or Option<...> of one of them"
        ]
    );

    // A malformed field: the schema's queries fail silently too.
    let e = check_src(
        "schema S { a: i64, b i64 }
         query A from S { select a; }",
    )
    .unwrap_err();
    assert_eq!(first_lines(e), ["expected `:`"]);

    // A syntax error: the clauses before it are still checked, the query is not generated.
    let e = check_src(
        "query A from Rate { where valeu > 1; selct value; select value; }
         query B from A { select value; }",
    )
    .unwrap_err();
    assert_eq!(
        first_lines(e),
        [
            "unknown clause `selct`; did you mean `select`?",
            "unknown column `valeu`; did you mean `value`?"
        ]
    );
}

#[test]
fn failed_queries_keep_their_input_type_for_stand_ins() {
    use crate::plan::{BuiltinSource, InputRow};
    let errors = crate::diagnostics::Errors::new();
    let parsed = crate::parse::Pipeline::parse(
        "schema S { a: u8 }
         query A from S { select a; }
         query B from A { select a; }
         query C from Rate { select nope; }
         query D from Nowhere { select x; }
         query E from Rate { select value; }"
            .parse()
            .unwrap(),
        &errors,
    );
    let checked = super::check(&parsed, &errors);
    assert_eq!(errors.check().unwrap_err().into_iter().count(), 3);
    let stubs: Vec<(String, InputRow)> = checked
        .failed_queries
        .iter()
        .map(|q| (q.name.to_string(), q.input.clone()))
        .collect();
    let s = || InputRow::Schema(proc_macro2::Ident::new("S", proc_macro2::Span::call_site()));
    let rate = InputRow::Builtin(BuiltinSource::Rate);
    assert_eq!(
        stubs,
        [
            ("A".into(), s()),
            ("B".into(), s()),
            ("C".into(), rate.clone()),
            ("D".into(), rate),
        ]
    );
    assert_eq!(checked.failed_schemas.len(), 1);
    assert_eq!(checked.pipelines.len(), 1);
    assert_eq!(checked.pipelines[0].name, "E");
}

#[test]
fn names_and_clause_order() {
    assert_eq!(
        first_lines(errors(
            "query A from Rate { select value; }
             query A from Rate { select timestamp; }
             query Rate from Rate { select value; }"
        )),
        [
            "`A` is defined more than once",
            "`Rate` is a built-in source; choose another name"
        ]
    );
    assert_eq!(
        first_lines(errors(
            "query A from B { select x; } query B from A { select x; }"
        )),
        ["query `A` reads from itself through `A`, `B`"]
    );
    assert_eq!(
        first_lines(errors("query A from Rate { limit 3; select value; }")),
        ["`limit` must be the last clause of a query"]
    );
    assert_eq!(
        first_lines(errors(
            "query A from Rate { group by window(timestamp, 10s), window(timestamp, 5s); aggregate n = count(); }"
        )),
        ["only one `window(...)` key is allowed"]
    );
    assert_eq!(
        first_lines(errors(
            "query A from Rate { group by value % 5; aggregate n = count(); }"
        )),
        ["this `group by` key needs a name"]
    );
    assert_eq!(
        first_lines(errors(
            "query A from Rate { group by k = value; aggregate n = count(); watermark timestamp delay 1s; }"
        )),
        ["a watermark must be defined before the aggregation"]
    );
    assert_eq!(
        first_lines(errors("query A from Rate { drop value, timestamp; }")),
        ["a query must keep at least one column"]
    );
}
