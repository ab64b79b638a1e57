//! Spark datetime patterns (`yyyy-MM-dd HH:mm:ss`, Java `DateTimeFormatter` letters) translated
//! into chrono `strftime` strings. The compiler translates the patterns written in a query at
//! compile time (so a bad pattern is a compile error); the runtime translates the
//! `timestampFormat` option of file formats, known only when the program runs.

/// Translates a Spark pattern into a chrono format string, or explains what is unsupported.
///
/// ```
/// use spark_syntax::datetime_pattern::spark_pattern_to_chrono;
/// assert_eq!(spark_pattern_to_chrono("yyyy-MM-dd HH:mm:ss").unwrap(), "%Y-%m-%d %H:%M:%S");
/// ```
pub fn spark_pattern_to_chrono(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal text; '' is a single quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => {
                        return Err(format!(
                            "unterminated quote in datetime pattern `{pattern}`"
                        ));
                    }
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&lit) => {
                        push_literal(&mut out, lit);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M' | 'L', 1) => "%-m",
            ('M' | 'L', 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', 4) => "%B",
            ('d', 1) => "%-d",
            ('d', 2) => "%d",
            ('D', 1) => "%-j",
            ('D', 3) => "%j",
            ('H', 1) => "%-H",
            ('H', 2) => "%H",
            ('h', 1) => "%-I",
            ('h', 2) => "%I",
            ('m', 1) => "%-M",
            ('m', 2) => "%M",
            ('s', 1) => "%-S",
            ('s', 2) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', 1) => "%p",
            ('E', 1..=3) => "%a",
            ('E', 4) => "%A",
            ('z', 1..=3) => "%Z",
            ('Z', 1..=3) => "%z",
            ('x', 1 | 2) => "%z",
            ('x', 3) => "%:z",
            // Sluice formats in UTC, whose ISO offset (`X`) is always `Z`.
            ('X', 1..=3) => "Z",
            _ => {
                return Err(format!(
                    "unsupported datetime pattern `{}` in `{pattern}`; supported: yyyy yy MM M MMM MMMM dd d DDD HH H hh h mm m ss s SSS SSSSSS a E EEEE z Z x X and 'quoted text'",
                    std::iter::repeat_n(c, n).collect::<String>()
                ));
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_common_patterns() {
        assert_eq!(
            spark_pattern_to_chrono("yyyy-MM-dd HH:mm:ss").unwrap(),
            "%Y-%m-%d %H:%M:%S"
        );
        assert_eq!(spark_pattern_to_chrono("HH:mm").unwrap(), "%H:%M");
        assert_eq!(
            spark_pattern_to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").unwrap(),
            "%Y-%m-%dT%H:%M:%S.%3fZ"
        );
        assert_eq!(
            spark_pattern_to_chrono("EEE, d MMM yyyy").unwrap(),
            "%a, %-d %b %Y"
        );
        assert_eq!(
            spark_pattern_to_chrono("'it''s' 100%").unwrap(),
            "it's 100%%"
        );
    }

    #[test]
    fn rejects_unsupported_letters() {
        let e = spark_pattern_to_chrono("yyyy-QQ").unwrap_err();
        assert!(e.contains("`QQ`"), "{e}");
        assert!(spark_pattern_to_chrono("'open").is_err());
    }
}
