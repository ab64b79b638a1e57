//! What the grouping operators (the aggregation, session windows) do with the rows they emit:
//! `order by` and `limit` on a complete result, and the running `limit` of append mode.

use std::cmp::Ordering;

/// `order by` and `limit` on a complete result: `rows` (each with its sort key) sorted with
/// `compare` when given (a stable sort: equal keys keep the state's order), the first `limit`
/// kept, appended to `out`.
pub(crate) fn sort_and_limit<R, S>(
    mut rows: Vec<(R, S)>,
    compare: Option<fn(&S, &S) -> Ordering>,
    limit: Option<u64>,
    out: &mut Vec<R>,
) {
    if let Some(compare) = compare {
        rows.sort_by(|a, b| compare(&a.1, &b.1));
    }
    if let Some(limit) = limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    out.extend(rows.into_iter().map(|(row, _)| row));
}

/// The `limit` of an append-mode result over the whole run: of the rows appended to `out` after
/// `start`, those that still fit under `limit` are kept, and `emitted` counts them.
pub(crate) fn limit_appended<R>(
    out: &mut Vec<R>,
    start: usize,
    limit: Option<u64>,
    emitted: &mut u64,
) {
    if let Some(limit) = limit {
        let room = usize::try_from(limit.saturating_sub(*emitted)).unwrap_or(usize::MAX);
        out.truncate(start.saturating_add(room).min(out.len()));
        *emitted += (out.len() - start) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_result_is_sorted_stably_then_limited() {
        let rows = vec![("b", 2), ("a", 1), ("c", 2), ("d", 3)];
        let mut out = Vec::new();
        sort_and_limit(
            rows.clone(),
            Some(|a: &i32, b: &i32| b.cmp(a)),
            Some(3),
            &mut out,
        );
        assert_eq!(out, ["d", "b", "c"]);
        let mut out = Vec::new();
        sort_and_limit(rows, None, None, &mut out);
        assert_eq!(out, ["b", "a", "c", "d"]);
    }

    #[test]
    fn an_append_limit_counts_across_batches() {
        let mut emitted = 0;
        let mut out = vec![1, 2];
        limit_appended(&mut out, 0, Some(3), &mut emitted);
        assert_eq!((out.len(), emitted), (2, 2));
        out.extend([3, 4]);
        limit_appended(&mut out, 2, Some(3), &mut emitted);
        assert_eq!((out, emitted), (vec![1, 2, 3], 3));
        let mut more = vec![5];
        limit_appended(&mut more, 0, Some(3), &mut emitted);
        assert!(more.is_empty());
    }
}
