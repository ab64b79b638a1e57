use super::*;

/// Folds `values` into a fresh accumulator in one pass.
fn fold<A: Accumulator>(values: &[A::Input<'_>]) -> A
where
    for<'a> A::Input<'a>: Copy,
{
    let mut acc = A::default();
    for &v in values {
        acc.update(v).unwrap();
    }
    acc
}

/// For every split of `values` into two parts (and into singletons), merging the parts'
/// accumulators gives what one pass over all of them gives, compared with `same`.
fn check_merge<A>(values: &[A::Input<'_>], same: impl Fn(&A::Output, &A::Output) -> bool)
where
    A: Accumulator,
    A::Output: Debug,
    for<'a> A::Input<'a>: Copy + Debug,
{
    let whole = fold::<A>(values).finish();
    for cut in 0..=values.len() {
        let mut left = fold::<A>(&values[..cut]);
        left.merge(&fold::<A>(&values[cut..])).unwrap();
        assert!(
            same(&left.finish(), &whole),
            "split at {cut} of {values:?}: {:?} != {whole:?}",
            left.finish()
        );
        // Merging the other way round gives the same result too.
        let mut right = fold::<A>(&values[cut..]);
        right.merge(&fold::<A>(&values[..cut])).unwrap();
        assert!(same(&right.finish(), &whole), "reversed split at {cut}");
    }
    let mut singles = A::default();
    for &v in values {
        singles.merge(&fold::<A>(&[v])).unwrap();
    }
    assert!(same(&singles.finish(), &whole), "singletons of {values:?}");
}

/// Equal in Spark's order: NaN equals NaN, and `-0.0` equals `0.0` (which of the two a
/// `min` keeps depends on the order rows arrive in, in Spark as here).
fn same_f64(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn same_opt_f64(a: &Option<f64>, b: &Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_f64(*a, *b),
        (None, None) => true,
        _ => false,
    }
}

/// Doubles whose sums are exact in any order (small integers and halves), plus the special
/// values: merge must then agree bit for bit with a single pass.
const DOUBLES: [&[f64]; 6] = [
    &[4.0, f64::NAN, 6.0],
    &[f64::NAN],
    &[f64::NEG_INFINITY, -1.0, 2.5],
    &[-0.0, 0.0, 0.5],
    &[f64::INFINITY, 1.0, f64::NEG_INFINITY],
    &[],
];

#[test]
fn merging_partials_equals_one_pass_for_every_accumulator() {
    for values in DOUBLES {
        check_merge::<SumF64>(values, same_opt_f64);
        check_merge::<Avg>(values, same_opt_f64);
        check_merge::<Min<f64>>(values, same_opt_f64);
        check_merge::<Max<f64>>(values, same_opt_f64);
        check_merge::<Count>(&vec![(); values.len()], |a, b| a == b);
        if !values.is_empty() {
            // The non-null variants exist only for groups that saw a row.
            check_merge::<SumF64NonNull>(values, |a, b| same_f64(*a, *b));
            check_merge::<MinNonNull<f64>>(values, |a, b| same_f64(*a, *b));
            check_merge::<MaxNonNull<f64>>(values, |a, b| same_f64(*a, *b));
        }
    }
    for values in [&[3_i64, -7, 12][..], &[i64::MAX, -1], &[0], &[]] {
        check_merge::<SumI64>(values, |a, b| a == b);
        check_merge::<Min<i64>>(values, |a, b| a == b);
        check_merge::<Max<i64>>(values, |a, b| a == b);
        if !values.is_empty() {
            check_merge::<SumI64NonNull>(values, |a, b| a == b);
            check_merge::<MinNonNull<i64>>(values, |a, b| a == b);
            check_merge::<MaxNonNull<i64>>(values, |a, b| a == b);
        }
    }
    for values in [&["b", "a", "c"][..], &["", "a"], &[]] {
        check_merge::<MinStr>(values, |a, b| a == b);
        check_merge::<MaxStr>(values, |a, b| a == b);
    }
    let ts = [Timestamp::from_secs(5), Timestamp::from_secs(-3)];
    check_merge::<Min<Timestamp>>(&ts, |a, b| a == b);
    check_merge::<Max<Timestamp>>(&ts, |a, b| a == b);
    check_merge::<Min<bool>>(&[true, false], |a, b| a == b);
    check_merge::<Max<bool>>(&[false, true], |a, b| a == b);
}

#[test]
fn nulls_are_skipped_and_an_empty_partial_merges_as_nothing() {
    // A null input is never passed to `update`: a partial that only saw nulls is the
    // default accumulator, and merging it changes nothing (and leaves null null).
    let mut avg = fold::<Avg>(&[1.0, 2.0]);
    avg.merge(&Avg::default()).unwrap();
    assert_eq!(avg.finish(), Some(1.5));
    let mut empty = Avg::default();
    empty.merge(&Avg::default()).unwrap();
    assert_eq!(empty.finish(), None, "avg of only nulls is null");
    let mut sum = SumI64::default();
    sum.merge(&SumI64::default()).unwrap();
    assert_eq!(sum.finish(), None, "sum of only nulls is null");
    let mut max = Max::<f64>::default();
    max.merge(&fold::<Max<f64>>(&[f64::NAN])).unwrap();
    assert!(
        max.finish().unwrap().is_nan(),
        "max(NaN) = NaN after a merge"
    );
    let mut min = MinStr::default();
    min.merge(&MinStr::default()).unwrap();
    assert_eq!(min.finish(), None);
}

#[test]
fn spark_aggregate_semantics() {
    let values = [4.0, f64::NAN, 6.0];
    assert!(
        fold::<Max<f64>>(&values).finish().unwrap().is_nan(),
        "max(4, NaN) = NaN"
    );
    assert_eq!(fold::<Min<f64>>(&values).finish(), Some(4.0));
    assert!(fold::<Avg>(&values).finish().unwrap().is_nan());
    assert!(fold::<SumF64>(&values).finish().unwrap().is_nan());
    assert_eq!(Avg::default().finish(), None, "avg of no values is null");
    assert_eq!(SumI64::default().finish(), None);
    assert_eq!(Max::<i64>::default().finish(), None);
    assert_eq!(
        fold::<Avg>(&[10.0, 20.0, 59.0]).finish(),
        Some(29.666666666666668),
        "avg is sum over count"
    );
    assert_eq!(
        fold::<MinStr>(&["b", "a", "c"]).finish().as_deref(),
        Some("a")
    );
    assert_eq!(
        fold::<MaxStr>(&["b", "a", "c"]).finish().as_deref(),
        Some("c")
    );
}

#[test]
fn non_null_variants_match_the_optional_ones() {
    for values in DOUBLES.iter().filter(|v| !v.is_empty()) {
        let same = |a: Option<f64>, b: f64| same_f64(a.unwrap(), b) || a == Some(b);
        assert!(same(
            fold::<Min<f64>>(values).finish(),
            fold::<MinNonNull<f64>>(values).finish()
        ));
        assert!(same(
            fold::<Max<f64>>(values).finish(),
            fold::<MaxNonNull<f64>>(values).finish()
        ));
        assert!(same(
            fold::<SumF64>(values).finish(),
            fold::<SumF64NonNull>(values).finish()
        ));
    }
    assert_eq!(fold::<MinNonNull<i64>>(&[i64::MAX]).finish(), i64::MAX);
}

#[test]
fn sums_of_longs_overflow_as_an_error_in_update_and_merge() {
    let mut s = fold::<SumI64>(&[i64::MAX]);
    assert_eq!(
        s.update(1).unwrap_err().error_class(),
        Some("ARITHMETIC_OVERFLOW")
    );
    let mut s = fold::<SumI64>(&[i64::MAX]);
    assert_eq!(
        s.merge(&fold::<SumI64>(&[1])).unwrap_err().error_class(),
        Some("ARITHMETIC_OVERFLOW")
    );
    let mut s = fold::<SumI64NonNull>(&[i64::MAX]);
    assert!(s.merge(&fold::<SumI64NonNull>(&[1])).is_err());
}
