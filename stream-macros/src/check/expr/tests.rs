use crate::check::testing::{errors, output_expr, plan, render};

/// Every type, non-null and nullable.
const SCHEMA: &str = "schema S {
    i: i32, l: i64, d: f64, s: String, t: Timestamp, b: bool,
    ni: Option<i32>, nl: Option<i64>, nd: Option<f64>, ns: Option<String>, nb: Option<bool>,
}";

/// `(type, rendering)` of `expr` selected from `S`.
fn typed(expr: &str) -> (String, String) {
    let p = plan(&format!("{SCHEMA} query Q from S {{ select x = {expr}; }}"));
    let e = output_expr(&p, "x");
    (e.ty.describe(), render(&p, &e))
}

fn ty(expr: &str) -> String {
    typed(expr).0
}

fn error(expr: &str) -> String {
    let mut e = errors(&format!("{SCHEMA} query Q from S {{ select x = {expr}; }}"));
    assert_eq!(e.len(), 1, "{e:?}");
    e.remove(0)
}

#[test]
fn arithmetic_follows_spark() {
    // `%` and `+ - *` keep the widened operand type: bigint % int is a bigint.
    assert_eq!(
        typed("l % i"),
        ("BIGINT".into(), "(l % cast(i as BIGINT))".into())
    );
    assert_eq!(typed("i % 3"), ("INT".into(), "(i % 3)".into()));
    assert_eq!(
        typed("i * l"),
        ("BIGINT".into(), "(cast(i as BIGINT) * l)".into())
    );
    // `/` is always a double.
    assert_eq!(
        typed("l / i"),
        (
            "DOUBLE".into(),
            "(cast(l as DOUBLE) / cast(i as DOUBLE))".into()
        )
    );
    assert_eq!(
        typed("i / 2"),
        ("DOUBLE".into(), "(cast(i as DOUBLE) / 2.0)".into())
    );
    assert_eq!(
        typed("d + i"),
        ("DOUBLE".into(), "(d + cast(i as DOUBLE))".into())
    );
    // An integer literal too large for INT is a BIGINT.
    assert_eq!(
        typed("i + 3000000000"),
        ("BIGINT".into(), "(cast(i as BIGINT) + 3000000000L)".into())
    );
    assert_eq!(ty("-i"), "INT");
    assert_eq!(ty("-nd"), "DOUBLE (nullable)");
}

#[test]
fn literals_fold_at_compile_time() {
    assert_eq!(typed("2 + 3"), ("INT".into(), "5".into()));
    assert_eq!(typed("1 / 10.0"), ("DOUBLE".into(), "0.1".into()));
    assert_eq!(typed("-(5)"), ("INT".into(), "-5".into()));
    // Not folded: the ANSI error must happen at run time, for each row.
    assert_eq!(typed("1 / 0"), ("DOUBLE".into(), "(1.0 / 0.0)".into()));
    assert_eq!(
        typed("2147483647 + 1"),
        ("INT".into(), "(2147483647 + 1)".into())
    );
}

#[test]
fn nulls_propagate() {
    assert_eq!(ty("l + 1"), "BIGINT");
    assert_eq!(ty("nl + 1"), "BIGINT (nullable)");
    assert_eq!(ty("l + null"), "BIGINT (nullable)");
    assert_eq!(ty("null"), "VOID");
    assert_eq!(ty("nd > 1"), "BOOLEAN (nullable)");
    assert_eq!(ty("d > 1"), "BOOLEAN");
    assert_eq!(ty("b and nb"), "BOOLEAN (nullable)");
    assert_eq!(ty("not nb"), "BOOLEAN (nullable)");
    // Null tests are never null.
    assert_eq!(ty("ns is null"), "BOOLEAN");
    assert_eq!(ty("nl is not null"), "BOOLEAN");
    assert_eq!(ty("concat(s, ns)"), "STRING (nullable)");
    assert_eq!(ty("upper(s)"), "STRING");
    assert_eq!(ty("length(ns)"), "INT (nullable)");
    // coalesce is null only if every argument may be.
    assert_eq!(
        typed("coalesce(nl, 0)"),
        ("BIGINT".into(), "coalesce(nl, 0L)".into())
    );
    assert_eq!(ty("coalesce(nl, ni)"), "BIGINT (nullable)");
    // Functions that can return null on their own.
    assert_eq!(ty("try_divide(l, i)"), "DOUBLE (nullable)");
    assert_eq!(ty("try_to_timestamp(s)"), "TIMESTAMP (nullable)");
    assert_eq!(ty("to_timestamp(s)"), "TIMESTAMP");
}

#[test]
fn case_unifies_branch_types() {
    // INT and DOUBLE widen to DOUBLE; without `else` the result may be null.
    assert_eq!(
        typed("case when b then 1 when i > 0 then 2.5 end"),
        (
            "DOUBLE (nullable)".into(),
            "case when b then 1.0 when (i Gt 0) then 2.5 end".into()
        )
    );
    assert_eq!(ty("case when b then \"x\" else \"y\" end"), "STRING");
    assert_eq!(
        ty("case when b then \"x\" else null end"),
        "STRING (nullable)"
    );
    assert_eq!(ty("case when b then l else ni end"), "BIGINT (nullable)");
    // A simple case compares its operand with each value.
    assert_eq!(
        typed("case i when 1 then \"one\" else \"many\" end"),
        (
            "STRING".into(),
            "case when (i Eq 1) then \"one\" else \"many\" end".into()
        )
    );
    assert_eq!(
        error("case when b then \"x\" else 1 end"),
        "`case` branches must have a common type: this one is INT, earlier ones are STRING\n= help: convert it: `cast(<value> as string)`"
    );
    assert!(
        error("case when i then 1 end")
            .starts_with("a `when` condition must be BOOLEAN, found INT")
    );
}

#[test]
fn comparisons_coerce_to_a_common_type() {
    assert_eq!(typed("i == l").1, "(cast(i as BIGINT) Eq l)");
    assert_eq!(typed("d < i").1, "(d Lt cast(i as DOUBLE))");
    // A string literal compared with a timestamp is read as a timestamp.
    assert_eq!(
        typed("t >= \"2024-01-01T10:00:00Z\"").1,
        "(t Ge ts(1704103200000000))"
    );
    // `in` is a chain of `==`.
    assert_eq!(
        typed("i in (1, 2)"),
        ("BOOLEAN".into(), "((i Eq 1) or (i Eq 2))".into())
    );
    assert_eq!(ty("ni not in (1, 2)"), "BOOLEAN (nullable)");
    assert!(error("s == l").starts_with("cannot compare STRING with BIGINT using `==`\n= help:"));
    assert!(error("t == \"yesterday\"").starts_with("cannot compare TIMESTAMP with STRING"));
}

#[test]
fn operators_reject_wrong_types() {
    assert_eq!(
        error("\"a\" + 1"),
        "cannot apply `+` to STRING and INT\n= help: to join strings write `concat(a, b)`"
    );
    assert_eq!(error("t * 2"), "cannot apply `*` to TIMESTAMP and INT");
    assert!(
        error("split(s, \".\")").contains("`.` is a regular-expression metacharacter"),
        "{}",
        error("split(s, \".\")")
    );
    assert_eq!(error("-s"), "cannot negate a value of type STRING");
    assert_eq!(error("not i"), "`not` must be BOOLEAN, found INT");
    assert_eq!(
        error("b and 1"),
        "the right side of `and` must be BOOLEAN, found INT"
    );
}

#[test]
fn casts() {
    assert_eq!(
        typed("cast(l as string)"),
        ("STRING".into(), "cast(l as STRING)".into())
    );
    assert_eq!(ty("cast(ns as bigint)"), "BIGINT (nullable)");
    assert_eq!(ty("cast(t as bigint)"), "BIGINT");
    assert_eq!(ty("cast(l as timestamp)"), "TIMESTAMP");
    assert_eq!(ty("cast(b as double)"), "DOUBLE");
    assert_eq!(ty("cast(s as boolean)"), "BOOLEAN");
    // A cast to the same type disappears.
    assert_eq!(typed("cast(i as int)").1, "i");
    assert_eq!(
        error("cast(t as boolean)"),
        "cannot cast TIMESTAMP to BOOLEAN"
    );
    assert_eq!(
        error("cast(d as float)"),
        "Sluice has no 32-bit floating-point type; cast to `double`"
    );
}

#[test]
fn aggregates_type_their_results() {
    let p = plan(&format!(
        "{SCHEMA} query Q from S {{
            group by s;
            aggregate n = count(*), nn = count(nl), total = sum(i), ntotal = sum(nl),
                      dsum = sum(d), mean = avg(l), lo = min(s), hi = max(nd);
        }}"
    ));
    let types: Vec<String> = p
        .outputs
        .iter()
        .map(|o| format!("{}: {}", o.name, o.ty.describe()))
        .collect();
    assert_eq!(
        types,
        [
            "s: STRING",
            "n: BIGINT",
            "nn: BIGINT",
            "total: BIGINT",
            "ntotal: BIGINT (nullable)",
            "dsum: DOUBLE",
            "mean: DOUBLE",
            "lo: STRING",
            "hi: DOUBLE (nullable)",
        ]
    );
    // Without keys there may be no row at all: every aggregate but count is nullable.
    let p = plan(&format!(
        "{SCHEMA} query Q from S {{ aggregate n = count(), total = sum(i); }}"
    ));
    assert_eq!(p.outputs[0].ty.describe(), "BIGINT");
    assert_eq!(p.outputs[1].ty.describe(), "BIGINT (nullable)");
    // The same aggregate twice is one accumulator.
    let p = plan(&format!(
        "{SCHEMA} query Q from S {{ group by s; aggregate a = max(l), b = max(l) + 1; }}"
    ));
    assert_eq!(p.aggregate.as_ref().unwrap().accumulators.len(), 1);
}
