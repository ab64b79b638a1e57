//! Names a call may have besides the scalar functions: the aggregates, and the Spark functions
//! streaming rejects or Sluice does not implement, each with its own message.

/// Aggregate function names (valid only inside `aggregate`).
pub(crate) const AGGREGATES: &[&str] = &["count", "sum", "avg", "mean", "min", "max"];

/// Spark's distinct aggregates, which streaming rejects.
pub(crate) const DISTINCT_AGGREGATES: &[&str] = &[
    "count_distinct",
    "countdistinct",
    "sum_distinct",
    "sumdistinct",
];

/// Spark aggregates that streaming allows but Sluice does not implement.
pub(crate) const UNSUPPORTED_AGGREGATES: &[&str] = &[
    "approx_count_distinct",
    "collect_list",
    "collect_set",
    "first",
    "last",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "percentile",
    "percentile_approx",
    "median",
];

/// Spark's non-time window functions, which streaming rejects.
pub(crate) const WINDOW_FUNCTIONS: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// All names a call may use, for "did you mean".
pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
    crate::functions::FUNCTIONS
        .iter()
        .map(|f| f.name)
        .chain(AGGREGATES.iter().copied())
}
