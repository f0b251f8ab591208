//! Parser for `.env` and `env_file` files, following the rules docker compose
//! applies, so that a file that works with compose works here unchanged.

use indexmap::IndexMap;
use std::fmt;

/// A problem in an env file, with the 1-based line it is on (for an
/// unterminated quote, the line where the quote was opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for EnvFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for EnvFileError {}

/// Parse an env file into `KEY → value`, in file order. Bare `KEY` lines
/// (meaning "take it from the environment") are dropped here; use
/// [`parse_env_file_entries`] when they matter. A repeated key keeps its
/// first position and its last value.
pub fn parse_env_file(text: &str) -> Result<IndexMap<String, String>, EnvFileError> {
    let entries = parse_env_file_entries(text)?;
    Ok(entries
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect())
}

/// Parse an env file into its entries, in file order. `None` marks a bare
/// `KEY` line, which compose resolves from the environment at run time.
pub fn parse_env_file_entries(text: &str) -> Result<Vec<(String, Option<String>)>, EnvFileError> {
    // Normalizing CRLF first keeps quoted multi-line values free of `\r`
    // and does not change line numbers.
    let text = text.replace("\r\n", "\n");
    let mut cursor = Cursor {
        text: &text,
        pos: 0,
        line: 1,
    };
    let mut entries = Vec::new();
    while let Some(entry) = cursor.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

/// Whether `key` is a valid env file key: `[A-Za-z_][A-Za-z0-9_.-]*`.
fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Strip a leading `export` keyword (followed by whitespace), as shells write it.
fn strip_export(line: &str) -> &str {
    match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    }
}

/// An unquoted value ends at an inline comment, which must be preceded by
/// whitespace (so `a#b` is a value, `a #b` is `a` plus a comment). Leading
/// whitespace is trimmed first, as compose does, so `A= #x` is `#x`.
fn unquoted_value(raw: &str) -> String {
    let raw = raw.trim_start();
    let mut previous_is_space = false;
    for (i, c) in raw.char_indices() {
        if c == '#' && previous_is_space {
            return raw[..i].trim().to_string();
        }
        previous_is_space = c == ' ' || c == '\t';
    }
    raw.trim().to_string()
}

/// Walks the file line by line; quoted values may consume further lines.
struct Cursor<'a> {
    text: &'a str,
    /// Byte offset of the start of the next unread line.
    pos: usize,
    /// 1-based line number of `pos`.
    line: usize,
}

impl Cursor<'_> {
    /// The next entry, skipping blank and comment lines; `None` at the end.
    fn next_entry(&mut self) -> Result<Option<(String, Option<String>)>, EnvFileError> {
        while self.pos < self.text.len() {
            let line_no = self.line;
            let line_start = self.pos;
            let line_end = self.line_end(line_start);
            let line = self.text[line_start..line_end].trim();
            if line.is_empty() || line.starts_with('#') {
                self.advance_past(line_end);
                continue;
            }
            let raw = &self.text[line_start..line_end];
            // `export` and whitespace hold no `=`, so the first `=` of the raw
            // line is the one separating key and value.
            let Some(eq) = raw.find('=') else {
                let key = self.check_key(strip_export(line), line_no)?;
                self.advance_past(line_end);
                return Ok(Some((key, None)));
            };
            let key = self.check_key(strip_export(raw[..eq].trim()), line_no)?;
            let value = self.value(line_start + eq + 1, line_end, line_no)?;
            return Ok(Some((key, Some(value))));
        }
        Ok(None)
    }

    fn check_key(&self, key: &str, line: usize) -> Result<String, EnvFileError> {
        if is_valid_key(key) {
            Ok(key.to_string())
        } else {
            Err(EnvFileError {
                line,
                message: format!(
                    "invalid variable name `{key}`: expected a letter or `_`, \
                     then letters, digits, `_`, `.` or `-`"
                ),
            })
        }
    }

    /// Byte offset of the end of the line starting at `from` (its `\n` or EOF).
    fn line_end(&self, from: usize) -> usize {
        self.text[from..]
            .find('\n')
            .map_or(self.text.len(), |i| from + i)
    }

    /// Move to the line after the one ending at `line_end`.
    fn advance_past(&mut self, line_end: usize) {
        self.line += self.text[self.pos..line_end].matches('\n').count() + 1;
        self.pos = (line_end + 1).min(self.text.len());
    }

    /// Parse the value starting at byte `start`; the line it begins on ends
    /// at `line_end` unless the value is quoted and spans further lines.
    fn value(
        &mut self,
        start: usize,
        line_end: usize,
        line_no: usize,
    ) -> Result<String, EnvFileError> {
        let raw = &self.text[start..line_end];
        let trimmed = raw.trim_start();
        let quote_at = start + (raw.len() - trimmed.len());
        match trimmed.chars().next() {
            Some(quote @ ('"' | '\'')) => self.quoted(quote_at, quote, line_no),
            _ => {
                let value = unquoted_value(raw);
                self.advance_past(line_end);
                Ok(value)
            }
        }
    }

    /// Parse a quoted value whose opening quote is at byte `open`, then check
    /// that nothing but whitespace or a comment follows the closing quote.
    fn quoted(&mut self, open: usize, quote: char, line_no: usize) -> Result<String, EnvFileError> {
        let body_start = open + 1;
        let (value, close) = if quote == '"' {
            double_quoted(&self.text[body_start..])
        } else {
            single_quoted(&self.text[body_start..])
        }
        .ok_or_else(|| EnvFileError {
            line: line_no,
            message: format!("unterminated {quote} quote: expected a closing {quote}"),
        })?;
        let after = body_start + close + 1;
        let rest_end = self.line_end(after);
        let rest = self.text[after..rest_end].trim();
        if !(rest.is_empty() || rest.starts_with('#')) {
            let line = self.line + self.text[self.pos..after].matches('\n').count();
            return Err(EnvFileError {
                line,
                message: format!(
                    "unexpected `{rest}` after the closing {quote} quote: \
                     expected the end of the line or a ` #` comment"
                ),
            });
        }
        self.advance_past(rest_end);
        Ok(value)
    }
}

/// Body of a single-quoted value: literal up to the next `'`. Returns the
/// value and the byte offset of the closing quote, or None if there is none.
fn single_quoted(body: &str) -> Option<(String, usize)> {
    body.find('\'')
        .map(|close| (body[..close].to_string(), close))
}

/// Body of a double-quoted value, with `\n`, `\t`, `\r`, `\\`, `\"` and `\$`
/// escapes; other backslashes are kept as written. Returns the value and the
/// byte offset of the closing quote, or None if there is none.
fn double_quoted(body: &str) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, i)),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, escaped @ ('\\' | '"' | '$'))) => value.push(escaped),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return None,
            },
            _ => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_env_file(text)
            .expect("should parse")
            .into_iter()
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    fn error(text: &str) -> EnvFileError {
        parse_env_file(text).expect_err("should fail")
    }

    #[test]
    fn simple_pairs_in_order() {
        assert_eq!(parse("B=2\nA=1\n"), vec![pair("B", "2"), pair("A", "1")]);
    }

    #[test]
    fn blank_and_comment_lines_are_skipped() {
        let text = "\n# comment\n   \n  # indented comment\nA=1\n\n";
        assert_eq!(parse(text), vec![pair("A", "1")]);
    }

    #[test]
    fn export_prefix_is_optional() {
        assert_eq!(parse("export A=1"), vec![pair("A", "1")]);
        assert_eq!(parse("export\tA=1"), vec![pair("A", "1")]);
        // `export` alone as a key is just a key.
        assert_eq!(parse("export=1"), vec![pair("export", "1")]);
    }

    #[test]
    fn whitespace_around_key_and_unquoted_value_is_trimmed() {
        assert_eq!(
            parse("  A  =  hello world  "),
            vec![pair("A", "hello world")]
        );
    }

    #[test]
    fn empty_value() {
        assert_eq!(parse("A=\nB=   "), vec![pair("A", ""), pair("B", "")]);
    }

    #[test]
    fn inline_comments_need_a_space_before_the_hash() {
        assert_eq!(parse("A=value # note"), vec![pair("A", "value")]);
        assert_eq!(parse("A=value\t# note"), vec![pair("A", "value")]);
        assert_eq!(parse("A=a#b"), vec![pair("A", "a#b")]);
        assert_eq!(parse("A=#x"), vec![pair("A", "#x")]);
        assert_eq!(parse("A= #x"), vec![pair("A", "#x")]);
        assert_eq!(parse("A=v  #c1 #c2"), vec![pair("A", "v")]);
    }

    #[test]
    fn values_may_contain_equals_signs() {
        assert_eq!(parse("URL=a=b=c"), vec![pair("URL", "a=b=c")]);
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            parse(r#"A='x \n "y" $Z # not a comment'"#),
            vec![pair("A", r#"x \n "y" $Z # not a comment"#)]
        );
        assert_eq!(parse("A=''"), vec![pair("A", "")]);
    }

    #[test]
    fn double_quotes_support_escapes() {
        assert_eq!(
            parse(r#"A="a\nb\tc\\d\"e""#),
            vec![pair("A", "a\nb\tc\\d\"e")]
        );
        assert_eq!(parse(r#"A="keep \q""#), vec![pair("A", "keep \\q")]);
        assert_eq!(
            parse(r#"A="  spaced # kept  ""#),
            vec![pair("A", "  spaced # kept  ")]
        );
    }

    #[test]
    fn quoted_values_allow_a_trailing_comment() {
        assert_eq!(
            parse("A=\"x\" # note\nB='y'  "),
            vec![pair("A", "x"), pair("B", "y")]
        );
    }

    #[test]
    fn double_quoted_values_span_lines() {
        let text = "A=\"line1\nline2\n  line3\"\nB=2\n";
        assert_eq!(
            parse(text),
            vec![pair("A", "line1\nline2\n  line3"), pair("B", "2")]
        );
    }

    #[test]
    fn line_numbers_stay_right_after_multi_line_values() {
        let text = "A=\"1\n2\n3\"\nB=ok\n9bad=1\n";
        assert_eq!(error(text).line, 5);
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(
            parse("A=1\r\nB=\"x\r\ny\"\r\n"),
            vec![pair("A", "1"), pair("B", "x\ny")]
        );
    }

    #[test]
    fn unicode_values() {
        assert_eq!(parse("A=héllo wörld 🎉"), vec![pair("A", "héllo wörld 🎉")]);
        assert_eq!(parse("A=\"日本\\n語\""), vec![pair("A", "日本\n語")]);
    }

    #[test]
    fn bare_keys_are_entries_without_values() {
        let entries = parse_env_file_entries("A\nB=1\n  export C  \n").expect("parses");
        assert_eq!(
            entries,
            vec![
                ("A".to_string(), None),
                ("B".to_string(), Some("1".to_string())),
                ("C".to_string(), None),
            ]
        );
        assert_eq!(parse("A\nB=1\n"), vec![pair("B", "1")]);
    }

    #[test]
    fn repeated_keys_take_the_last_value() {
        assert_eq!(parse("A=1\nA=2\n"), vec![pair("A", "2")]);
    }

    #[test]
    fn key_names_allow_dots_and_dashes() {
        assert_eq!(parse("a.b-c_D9=1"), vec![pair("a.b-c_D9", "1")]);
    }

    #[test]
    fn invalid_keys_name_the_line() {
        let e = error("A=1\n1BAD=2\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("`1BAD`"));
        assert_eq!(error("=value").line, 1);
        assert_eq!(error("A B=1").line, 1);
        assert_eq!(error("\n\nbad key").line, 3);
        assert_eq!(error("KÉY=1").line, 1);
    }

    #[test]
    fn unterminated_quotes_name_the_opening_line() {
        let e = error("A=1\nB=\"open\nmore\nlines\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unterminated"));
        assert_eq!(error("A='x").line, 1);
        assert_eq!(error("A=\"x\\").line, 1);
    }

    #[test]
    fn text_after_a_closing_quote_is_an_error() {
        let e = error("A=1\nB=\"x\"y\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("`y`"));
        assert_eq!(error("B=\"x\ny\" z\n").line, 2);
    }

    #[test]
    fn error_display_names_the_line() {
        assert!(error("1=2").to_string().starts_with("line 1: "));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = parse_env_file(&text);
        }

        #[test]
        fn quote_heavy_text_never_panics(text in "[A=\"'\\\\# \n\r\té]{0,64}") {
            let _ = parse_env_file_entries(&text);
        }
    }
}
