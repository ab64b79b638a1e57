//! Error collection for the compiler: every stage pushes spanned errors into [`Errors`] and
//! keeps going, so one build reports every mistake; the driver stops before code generation if
//! any were reported. Also the "did you mean" helper.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};

/// A source range: the first and last token of a construct. `syn::Error::new_spanned` turns
/// it into an error underlining the whole range (on stable Rust, where spans cannot be joined).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanRange {
    pub(crate) start: Span,
    pub(crate) end: Span,
}

impl SpanRange {
    /// A range of one token.
    pub(crate) fn single(span: Span) -> Self {
        SpanRange {
            start: span,
            end: span,
        }
    }

    /// The range from the start of `self` to the end of `other`.
    pub(crate) fn to(self, other: SpanRange) -> Self {
        SpanRange {
            start: self.start,
            end: other.end,
        }
    }

    /// A span for generated code: resolved as the macro's own tokens are (so generated locals
    /// stay visible to each other), located at the start of this range (so a compiler error in
    /// that code points at the DSL construct it came from).
    pub(crate) fn generated(self) -> Span {
        Span::call_site().located_at(self.start)
    }

    /// The range of any tokens.
    pub(crate) fn of(tokens: &impl ToTokens) -> Self {
        let mut iter = tokens.to_token_stream().into_iter();
        let start = iter.next().map_or_else(Span::call_site, |t| t.span());
        let end = iter.last().map_or(start, |t| t.span());
        SpanRange { start, end }
    }

    /// An error over this range.
    pub(crate) fn error(self, message: impl Display) -> syn::Error {
        syn::Error::new_spanned(self, message)
    }
}

impl ToTokens for SpanRange {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        // Two placeholder tokens carrying the spans; only their spans are ever used.
        tokens.append(proc_macro2::Punct::new_spanned('<', self.start));
        tokens.append(proc_macro2::Punct::new_spanned('>', self.end));
    }
}

trait PunctSpan {
    fn new_spanned(ch: char, span: Span) -> Self;
}

impl PunctSpan for proc_macro2::Punct {
    fn new_spanned(ch: char, span: Span) -> Self {
        let mut p = proc_macro2::Punct::new(ch, proc_macro2::Spacing::Alone);
        p.set_span(span);
        p
    }
}

/// Collects errors from every stage. Like serde's `Ctxt`, it must be checked: dropping it with
/// errors still inside is a bug in the compiler and panics.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Errors {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error.
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Errors used after check()")
            .push(error);
    }

    /// Records an error spanning `range`.
    pub(crate) fn error(&self, range: SpanRange, message: impl Display) {
        self.push(range.error(message));
    }

    /// Records an error with a hint (see [`with_help`]).
    pub(crate) fn error_with_help(
        &self,
        range: SpanRange,
        message: impl Display,
        help: impl Display,
    ) {
        self.push(range.error(with_help(message, help)));
    }

    /// Records the error of a `Result`, returning its value if there was none.
    pub(crate) fn record<T>(&self, result: syn::Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// How many errors were recorded so far.
    pub(crate) fn count(&self) -> usize {
        self.errors.borrow().as_ref().map_or(0, Vec::len)
    }

    /// Consumes the collector: `Err` with every error combined, or `Ok` if there was none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("check() called twice");
        let mut iter = errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in iter {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty())
        {
            panic!("compiler errors were collected but never reported");
        }
    }
}

/// A message with a `= help: ...` line under it.
///
/// Stable Rust gives a proc macro only `compile_error!`, a single message with no sub-diagnostics,
/// so hints and notes become extra lines of the message. rustc indents continuation lines to the
/// message's column, so `= help:` lines look like its own help lines (just above the snippet
/// rather than under it).
pub(crate) fn with_help(message: impl Display, help: impl Display) -> String {
    format!("{message}\n= help: {help}")
}

/// A message with a `= note: ...` line under it (see [`with_help`]).
pub(crate) fn with_note(message: impl Display, note: impl Display) -> String {
    format!("{message}\n= note: {note}")
}

/// Edit distance between two short strings, counting a swap of two adjacent characters as one
/// edit (the optimal string alignment distance): `valeu` is one edit from `value`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i characters of a and the first j of b.
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"` or the empty string.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match closest(name, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// A comma-separated list of backquoted names: "`a`, `b`, `c`".
pub(crate) fn list(names: impl IntoIterator<Item = impl Display>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("value", "value"), 0);
        assert_eq!(edit_distance("valeu", "value"), 1);
        assert_eq!(edit_distance("temprature", "temperature"), 1);
        assert_eq!(edit_distance("selct", "select"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_close_names_only() {
        let cols = ["temperature", "humidity", "room_name", "timestamp"];
        assert_eq!(closest("temprature", cols), Some("temperature"));
        assert_eq!(closest("room", cols), None);
        assert_eq!(closest("Humidity", cols), Some("humidity"));
        assert_eq!(closest("xyz", cols), None);
        assert_eq!(
            did_you_mean("timestmp", cols),
            "; did you mean `timestamp`?"
        );
    }

    #[test]
    fn collects_and_combines() {
        let errors = Errors::new();
        errors.error(SpanRange::single(Span::call_site()), "first");
        errors.error(SpanRange::single(Span::call_site()), "second");
        assert_eq!(errors.count(), 2);
        let combined = errors.check().unwrap_err();
        let messages: Vec<String> = combined.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
