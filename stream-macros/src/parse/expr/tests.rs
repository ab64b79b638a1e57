use super::*;

fn render(e: &Expr) -> String {
    match e {
        Expr::Column(i) => i.to_string(),
        Expr::Field { base, field } => format!("{}.{}", render(base), field),
        Expr::Lit(Lit::Str(s)) => format!("{:?}", s.value()),
        Expr::Lit(Lit::Int(i)) => i.to_string(),
        Expr::Lit(Lit::Float(f)) => f.to_string(),
        Expr::Lit(Lit::Bool(b)) => b.value.to_string(),
        Expr::Lit(_) => "?".into(),
        Expr::Null(_) => "null".into(),
        Expr::Neg { expr, .. } => format!("(-{})", render(expr)),
        Expr::Not { expr, .. } => format!("(not {})", render(expr)),
        Expr::Binary { op, lhs, rhs, .. } => {
            format!("({} {} {})", render(lhs), op.symbol(), render(rhs))
        }
        Expr::IsNull { expr, negated, .. } => {
            format!(
                "({} is {}null)",
                render(expr),
                if *negated { "not " } else { "" }
            )
        }
        Expr::InList {
            expr,
            list,
            negated,
            ..
        } => format!(
            "({} {}in [{}])",
            render(expr),
            if *negated { "not " } else { "" },
            list.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Expr::Case {
            operand,
            branches,
            otherwise,
            ..
        } => {
            let mut s = "case".to_string();
            if let Some(o) = operand {
                s += &format!(" {}", render(o));
            }
            for (c, v) in branches {
                s += &format!(" when {} then {}", render(c), render(v));
            }
            if let Some(o) = otherwise {
                s += &format!(" else {}", render(o));
            }
            s + " end"
        }
        Expr::Interval(i) => format!("interval({}us)", i.micros),
        Expr::Cast { expr, ty, .. } => format!("cast({} as {})", render(expr), ty),
        Expr::Call {
            name, args, star, ..
        } => {
            if *star {
                format!("{name}(*)")
            } else {
                format!(
                    "{}({})",
                    name,
                    args.iter().map(render).collect::<Vec<_>>().join(", ")
                )
            }
        }
    }
}

fn parse(s: &str) -> String {
    render(&syn::parse_str::<Expr>(s).unwrap())
}

#[test]
fn precedence() {
    assert_eq!(
        parse("20 + value % 10 + (value % 3) / 10.0"),
        "((20 + (value % 10)) + ((value % 3) / 10.0))"
    );
    assert_eq!(
        parse("a > 1 and b < 2 or not c"),
        "(((a > 1) and (b < 2)) or (not c))"
    );
    assert_eq!(
        parse("(max - min) / min * 100 > 5"),
        "((((max - min) / min) * 100) > 5)"
    );
    assert_eq!(parse("-x * 2"), "((-x) * 2)");
    assert_eq!(parse("a && !b || c"), "((a and (not b)) or c)");
}

#[test]
fn special_forms() {
    assert_eq!(parse("window.start"), "window.start");
    assert_eq!(parse("count(*)"), "count(*)");
    assert_eq!(
        parse("concat(\"Room_\", value % 5)"),
        "concat(\"Room_\", (value % 5))"
    );
    assert_eq!(
        parse("cast(value % 5 as string)"),
        "cast((value % 5) as string)"
    );
    assert_eq!(parse("key is not null"), "(key is not null)");
    assert_eq!(
        parse("page not in (\"a\", \"b\")"),
        "(page not in [\"a\", \"b\"])"
    );
    assert_eq!(
        parse(
            "case when value % 10 < 6 then \"view\" when value % 10 < 9 then \"click\" else \"purchase\" end"
        ),
        "case when ((value % 10) < 6) then \"view\" when ((value % 10) < 9) then \"click\" else \"purchase\" end"
    );
    assert_eq!(
        parse("case x when 1 then \"a\" end"),
        "case x when 1 then \"a\" end"
    );
}

#[test]
fn helpful_errors() {
    let e = syn::parse_str::<Expr>("a = 1").unwrap_err().to_string();
    assert!(e.contains("write `==`"), "{e}");
    let e = syn::parse_str::<Expr>("case when a then 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("to finish the `case`"), "{e}");
    // Comparisons do not chain.
    assert!(syn::parse_str::<Expr>("a < b < c").is_err());
    let e = syn::parse_str::<Expr>("cast(a string)")
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected `as <type>`"), "{e}");
}

#[test]
fn an_interval_is_a_primary_of_its_own() {
    assert_eq!(
        parse("click_ts <= imp_ts + interval 20 seconds"),
        "(click_ts <= (imp_ts + interval(20000000us)))"
    );
    assert_eq!(
        parse("ts - interval 1 minute 30 seconds"),
        "(ts - interval(90000000us))"
    );
    // Without a number or a string after it, `interval` is a column.
    assert_eq!(parse("interval + 1"), "(interval + 1)");
}
