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

/// Names of other systems' functions that users reach for, and Sluice's name for them.
const SYNONYMS: &[(&str, &str)] = &[
    ("average", "avg"),
    ("cnt", "count"),
    ("len", "length"),
    ("lcase", "lower"),
    ("ucase", "upper"),
    ("substr", "substring"),
    ("ifnull", "coalesce"),
    ("nvl", "coalesce"),
];

/// Whether a call of `name` (lowercase) is a scalar function, an aggregate, or a name that has
/// a message of its own.
pub(crate) fn is_known_name(name: &str) -> bool {
    crate::functions::lookup(name).is_some()
        || AGGREGATES.contains(&name)
        || DISTINCT_AGGREGATES.contains(&name)
        || UNSUPPORTED_AGGREGATES.contains(&name)
        || WINDOW_FUNCTIONS.contains(&name)
        || super::generate::is_generator(name)
        || name == "window"
        || name == "session_window"
}

/// The function an unknown name most likely means: a synonym, or the closest name.
pub(crate) fn meant_function(name: &str) -> Option<&'static str> {
    SYNONYMS
        .iter()
        .find(|(synonym, _)| *synonym == name)
        .map(|(_, meant)| *meant)
        .or_else(|| crate::diagnostics::closest(name, all_names()))
}

/// All names a call may use, for "did you mean".
pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
    crate::functions::FUNCTIONS
        .iter()
        .map(|f| f.name)
        .chain(AGGREGATES.iter().copied())
        .chain(["explode", "posexplode", "explode_outer", "posexplode_outer"])
}
