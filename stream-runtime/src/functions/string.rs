//! Values as Spark prints them (`cast(v as string)`, `concat`), and the string functions.

use crate::double::format_double;
use crate::time::{Timestamp, Window};
use crate::value::Header;

// Strings

/// Appends a value's Spark string form (`cast(v as string)`) to a buffer: longs in decimal,
/// doubles as the JVM prints them (`20.1`, `1.0E7`), booleans `true`/`false`, timestamps as
/// `2024-01-01 10:00:00`. Used by `concat` and casts without an intermediate `String`.
pub trait SparkDisplay {
    /// Appends the Spark string form of `self` to `out`.
    fn push_spark_str(&self, out: &mut String);

    /// The Spark string form of `self`.
    fn to_spark_string(&self) -> String {
        let mut s = String::new();
        self.push_spark_str(&mut s);
        s
    }
}

impl SparkDisplay for str {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl SparkDisplay for String {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: SparkDisplay + ?Sized> SparkDisplay for &T {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        (**self).push_spark_str(out);
    }
}

// Integers are printed with `itoa` rather than `write!`: `core::fmt`'s machinery (the
// formatter, padding, the `Write` calls) was 7 % of the seed's alert query, which prints
// `value % 5` into every row's room name.
macro_rules! spark_display_int {
    ($($ty:ty),*) => {$(
        impl SparkDisplay for $ty {
            #[inline]
            fn push_spark_str(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
spark_display_int!(i32, i64);

impl SparkDisplay for bool {
    #[inline]
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl SparkDisplay for f64 {
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(&format_double(*self));
    }
}

impl SparkDisplay for Timestamp {
    fn push_spark_str(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl SparkDisplay for Window {
    fn push_spark_str(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl SparkDisplay for [String] {
    fn push_spark_str(&self, out: &mut String) {
        out.push('[');
        out.push_str(&self.join(", "));
        out.push(']');
    }
}

// Generated code casts an array through its borrowed view, `&[String]`.
impl SparkDisplay for Vec<String> {
    fn push_spark_str(&self, out: &mut String) {
        self.as_slice().push_spark_str(out);
    }
}

/// `cast(binary as string)`: the bytes decoded as UTF-8, invalid sequences replaced by U+FFFD,
/// as Spark (the JVM's decoder) does.
impl SparkDisplay for [u8] {
    fn push_spark_str(&self, out: &mut String) {
        out.push_str(&String::from_utf8_lossy(self));
    }
}

impl SparkDisplay for Vec<u8> {
    fn push_spark_str(&self, out: &mut String) {
        self.as_slice().push_spark_str(out);
    }
}

/// `cast(headers as string)`: Spark's cast of an array of structs, each field cast to a string
/// (`[{k, v1}, {n, null}]`).
impl SparkDisplay for [Header] {
    fn push_spark_str(&self, out: &mut String) {
        out.push('[');
        for (i, h) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('{');
            out.push_str(&h.key);
            out.push_str(", ");
            match &h.value {
                Some(v) => v.push_spark_str(out),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        out.push(']');
    }
}

impl SparkDisplay for Vec<Header> {
    fn push_spark_str(&self, out: &mut String) {
        self.as_slice().push_spark_str(out);
    }
}

/// `cast(string as binary)`: the string's UTF-8 bytes.
#[inline]
pub fn string_to_binary(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// `length(s)`: the number of characters (Unicode code points), as Spark counts them.
#[inline]
pub fn length(s: &str) -> i32 {
    i32::try_from(s.chars().count()).unwrap_or(i32::MAX)
}

/// `lower(s)`.
#[inline]
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// `upper(s)`.
#[inline]
pub fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// `trim(s)`: removes leading and trailing spaces.
#[inline]
pub fn trim(s: &str) -> String {
    s.trim_matches(' ').to_string()
}

/// `split(s, sep)` with a literal separator (the DSL accepts only separators without regular
/// expression metacharacters, so Spark's regex split and a literal split agree). As in Spark,
/// a trailing empty string is kept: `split("a,b,", ",") = ["a", "b", ""]`.
pub fn split(s: &str, sep: &str) -> Vec<String> {
    split_parts(s, sep).map(str::to_string).collect()
}

/// The parts of [`split`]`(s, sep)`, borrowed from `s` and produced one at a time: what
/// `explode(split(s, sep))` iterates, so that a row allocates no array.
///
/// ```
/// use stream_runtime::functions::split_parts;
/// assert_eq!(split_parts("cat  cat", " ").collect::<Vec<_>>(), ["cat", "", "cat"]);
/// assert_eq!(split_parts("", " ").collect::<Vec<_>>(), [""]);
/// assert_eq!(split_parts("ab", "").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(split_parts("a::b:c", "::").collect::<Vec<_>>(), ["a", "b:c"]);
/// ```
#[inline]
pub fn split_parts<'a>(s: &'a str, sep: &'a str) -> SplitParts<'a> {
    let mut chars = sep.chars();
    match (chars.next(), chars.next()) {
        (None, _) => SplitParts::Chars(s, s.char_indices()),
        // A one-character separator (the usual `" "`) is searched as a character, which is
        // faster than a substring search.
        (Some(c), None) => SplitParts::ByChar(s.split(c)),
        _ => SplitParts::Separated(s.split(sep)),
    }
}

/// [`split_parts`] of a one-character separator, for code that knows the separator at compile
/// time (`explode(split(s, " "))`): the character searcher itself, without a match per part.
#[inline]
pub fn split_on_char(s: &str, sep: char) -> std::str::Split<'_, char> {
    s.split(sep)
}

/// The iterator of [`split_parts`].
#[derive(Debug, Clone)]
pub enum SplitParts<'a> {
    /// An empty separator: each character on its own.
    Chars(&'a str, std::str::CharIndices<'a>),
    /// The parts between occurrences of a one-character separator, empty ones included.
    ByChar(std::str::Split<'a, char>),
    /// The parts between occurrences of the separator, empty ones included.
    Separated(std::str::Split<'a, &'a str>),
}

impl<'a> Iterator for SplitParts<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        match self {
            SplitParts::Chars(s, chars) => chars.next().map(|(i, c)| &s[i..i + c.len_utf8()]),
            SplitParts::ByChar(parts) => parts.next(),
            SplitParts::Separated(parts) => parts.next(),
        }
    }
}

/// The rows of an outer generator (`explode_outer`, `posexplode_outer`): each element of
/// `items`, or a single null when `items` is null or empty.
///
/// ```
/// use stream_runtime::functions::outer;
/// assert_eq!(outer(Some([1, 2].into_iter())).collect::<Vec<_>>(), [Some(1), Some(2)]);
/// assert_eq!(outer(Some(std::iter::empty::<i32>())).collect::<Vec<_>>(), [None]);
/// assert_eq!(outer(None::<std::iter::Empty<i32>>).collect::<Vec<_>>(), [None]);
/// ```
#[inline]
pub fn outer<I: Iterator>(items: Option<I>) -> Outer<I> {
    Outer {
        items,
        yielded: false,
        finished: false,
    }
}

/// The iterator of [`outer`].
#[derive(Debug, Clone)]
pub struct Outer<I> {
    items: Option<I>,
    yielded: bool,
    finished: bool,
}

impl<I: Iterator> Iterator for Outer<I> {
    type Item = Option<I::Item>;

    #[inline]
    fn next(&mut self) -> Option<Option<I::Item>> {
        if self.finished {
            return None;
        }
        if let Some(item) = self.items.as_mut().and_then(Iterator::next) {
            self.yielded = true;
            return Some(Some(item));
        }
        self.finished = true;
        (!self.yielded).then_some(None)
    }
}

/// The strings of an `ARRAY<STRING>` value, borrowed: what `explode(<array column>)` iterates.
#[inline]
pub fn array_parts(
    array: &[String],
) -> std::iter::Map<std::slice::Iter<'_, String>, fn(&String) -> &str> {
    array.iter().map(String::as_str)
}

/// `substring(s, pos, len)` with Spark's 1-based `pos` (0 behaves as 1, negative counts from
/// the end).
pub fn substring(s: &str, pos: i32, len: i32) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let pos = i64::from(pos);
    let start = if pos > 0 {
        pos - 1
    } else if pos < 0 {
        (n + pos).max(0)
    } else {
        0
    };
    if len <= 0 || start >= n {
        return String::new();
    }
    let end = (start + i64::from(len)).min(n);
    chars[start as usize..end as usize].iter().collect()
}
