use super::*;
use quote::quote;

fn parse(tokens: TokenStream) -> (Pipeline, Vec<String>) {
    let errors = Errors::new();
    let p = Pipeline::parse(tokens, &errors);
    let msgs = match errors.check() {
        Ok(()) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    };
    (p, msgs)
}

#[test]
fn parses_the_design_strawman() {
    let (p, errors) = parse(quote! {
        /// Readings.
        pub query SensorReadings from Rate {
            select timestamp,
                   room_name = concat("Room_", value % 5),
                   temperature = 20 + value % 10 + (value % 3) / 10.0,
                   humidity = 50 + value % 20;
        }
        pub query RoomWindows from SensorReadings {
            watermark timestamp delay 30s;
            group by window(timestamp, 10s), room_name;
            aggregate count = count(), avg_temp = avg(temperature);
            select room_name, start = window.start, end = window.end, count, avg_temp;
        }
        schema Reading { ts: Timestamp, key: Option<String>, value: Option<f64> }
    });
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(p.items.len(), 3);
    let Item::Query(q) = &p.items[1] else {
        panic!()
    };
    assert_eq!(q.name, "RoomWindows");
    assert_eq!(q.from, "SensorReadings");
    assert_eq!(q.clauses.len(), 4);
    let Clause::Watermark { delay, .. } = &q.clauses[0] else {
        panic!()
    };
    assert_eq!(delay.micros, 30_000_000);
    let Clause::GroupBy { keys, .. } = &q.clauses[1] else {
        panic!()
    };
    assert!(matches!(keys[0], GroupItem::Window { slide: None, .. }));
    let Item::Schema(s) = &p.items[2] else {
        panic!()
    };
    assert_eq!(s.fields.len(), 3);
}

#[test]
fn reports_every_bad_clause() {
    let (_, errors) = parse(quote! {
        query Q from Rate {
            selct value;
            groupBy value;
            where value = 1;
            select value
        }
    });
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors[0].starts_with("unknown clause `selct`; did you mean `select`?"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("unknown clause `groupBy`; write `group by`"),
        "{}",
        errors[1]
    );
    assert!(errors[2].contains("write `==`"), "{}", errors[2]);
    assert_eq!(errors[3], "expected `;` at the end of the clause");
}

#[test]
fn syntax_errors_keep_the_clauses_before_them() {
    let (p, errors) = parse(quote! {
        query Q from Rate {
            where value > 1;
            select value as v;
            select value;
            limit;
        }
    });
    assert_eq!(
        errors,
        [
            "aliases are written first: `v = <expression>`",
            "expected the number of rows: `limit <n>;`"
        ]
    );
    let Item::Query(q) = &p.items[0] else {
        panic!()
    };
    assert!(!q.complete);
    assert_eq!(q.clauses.len(), 1, "only the clause before the first error");
    assert!(matches!(q.clauses[0], Clause::Where { .. }));
}

#[test]
fn a_broken_item_does_not_hide_the_next_ones() {
    let (p, errors) = parse(quote! {
        query A form Rate { select value; }
        schema S { a: i64, b i64, c: f64 }
        qurey B from Rate { select value; }
        query C from S { select a; }
    });
    assert_eq!(
        errors,
        [
            "expected `from <Source>` after `query A`",
            "expected `:`",
            "expected `schema`, `table` or `query`, found `qurey`; did you mean `query`?"
        ]
    );
    assert_eq!(p.items.len(), 2);
    let Item::Schema(s) = &p.items[0] else {
        panic!()
    };
    assert!(!s.complete);
    assert_eq!(s.fields.len(), 1);
    assert!(matches!(&p.items[1], Item::Query(q) if q.name == "C" && q.complete));
}

#[test]
fn global_group_by_and_order() {
    let (p, errors) = parse(quote! {
        query Q from Rate {
            group by ();
            aggregate n = count();
            order by n desc nulls first, value;
            limit 3;
        }
    });
    assert!(errors.is_empty(), "{errors:?}");
    let Item::Query(q) = &p.items[0] else {
        panic!()
    };
    assert!(matches!(&q.clauses[0], Clause::GroupBy { keys, .. } if keys.is_empty()));
    let Clause::OrderBy { items, .. } = &q.clauses[2] else {
        panic!()
    };
    assert!(items[0].descending && items[0].nulls_first == Some(true));
    assert!(!items[1].descending && items[1].nulls_first.is_none());
}
