//! A fast reader for the plain block-style YAML that compose files are
//! written in: `key: value` mappings, `- item` sequences, one-line scalars
//! (plain, `'…'`, `"…"`) and one-line flow collections (`[a, b]`, `{k: v}`).
//!
//! yaml-rust2 reads about 30 MB/s here, char by char; that was most of
//! `stackctl config`'s time on a 1000-service file. This reader works on
//! whole lines and gives up (`None`) at the first thing outside that subset
//! or anything it is unsure of — anchors, aliases, tags, block scalars,
//! multi-line scalars, tabs, directives, duplicate keys, odd indentation,
//! errors of any kind — and the caller then parses the text with yaml-rust2,
//! which also reports errors with their position. So for every text, the
//! result is either `None` or exactly what yaml-rust2's events give
//! (checked by the differential tests below).

use super::parse::plain_scalar;
use serde_yaml::{Mapping, Value};

/// Deeper nesting is left to the full parser, which refuses it with a message.
const MAX_DEPTH: usize = 100;

/// The document's value, or `None` when the text is outside the subset.
pub fn read(text: &str) -> Option<Value> {
    if !text.is_ascii() && text.chars().any(is_unusual_char) {
        return None;
    }
    let mut reader = Reader {
        lines: lines(text)?,
        next: 0,
    };
    let first = reader.peek()?;
    let value = reader.block(first.indent, 0)?;
    // Anything left over is at an indentation no open block accepts.
    (reader.next == reader.lines.len()).then_some(value)
}

/// Characters YAML readers treat specially (C1 controls, NEL, line and
/// paragraph separators, byte-order marks, non-characters): left to the
/// full parser.
fn is_unusual_char(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

#[derive(Clone, Copy)]
struct Line<'t> {
    /// Spaces before the content.
    indent: usize,
    /// The rest of the line, trailing spaces removed; never empty, never a
    /// whole-line comment.
    content: &'t str,
}

/// The lines that carry content. `None` for tabs, control characters, a
/// second document or directives.
fn lines(text: &str) -> Option<Vec<Line<'_>>> {
    let mut out = Vec::with_capacity(text.len() / 24);
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
            return None; // tabs, stray CRs, control characters
        }
        let content = raw.trim_start_matches(' ');
        let content = content.trim_end_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if content.starts_with("---") || content.starts_with("...") {
            // One leading `---` (alone or with a comment) is allowed.
            let rest = &content[3..];
            let plain_marker = rest.is_empty() || rest.starts_with(" #");
            if content.starts_with("---") && plain_marker && indent == 0 && out.is_empty() {
                continue;
            }
            return None;
        }
        if indent == 0 && content.starts_with('%') {
            return None;
        }
        out.push(Line { indent, content });
    }
    Some(out)
}

struct Reader<'t> {
    lines: Vec<Line<'t>>,
    next: usize,
}

/// True when a line starts a sequence item (`-` alone or `- …`); any other
/// line must be a mapping entry.
fn is_dash_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

impl<'t> Reader<'t> {
    fn peek(&self) -> Option<Line<'t>> {
        self.lines.get(self.next).copied()
    }

    /// A block collection whose first line sits at `indent`.
    fn block(&mut self, indent: usize, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let line = self.peek()?;
        if line.indent != indent {
            return None;
        }
        if is_dash_item(line.content) {
            self.sequence(indent, depth)
        } else {
            self.mapping(indent, depth)
        }
    }

    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let mut map = Mapping::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_dash_item(line.content) {
                return None; // continuation lines, or a list where keys are
            }
            let (key, rest) = split_entry(line.content)?;
            self.next += 1;
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.value_under_key(indent, depth)?
            } else {
                inline_value(rest, depth)?
            };
            if map.insert(key, value).is_some() {
                return None; // a duplicate key: the full parser names it
            }
        }
        Some(Value::Mapping(map))
    }

    /// The value of `key:` with nothing after it: a block on the next lines
    /// (a sequence may sit at the key's own indentation), or null.
    fn value_under_key(&mut self, key_indent: usize, depth: usize) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > key_indent => self.block(next.indent, depth + 1),
            Some(next) if next.indent == key_indent && is_dash_item(next.content) => {
                self.sequence(key_indent, depth + 1)
            }
            _ => Some(Value::Null),
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || !is_dash_item(line.content) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            items.push(self.item(line, depth)?);
        }
        Some(Value::Sequence(items))
    }

    /// One `- …` item. A collection that starts on the dash's line (`- k: v`,
    /// `- - x`) continues at the column where it starts: the line is read
    /// again as if it began there.
    fn item(&mut self, line: Line<'t>, depth: usize) -> Option<Value> {
        let after_dash = &line.content[1..];
        let rest = after_dash.trim_start_matches(' ');
        if rest.is_empty() || rest.starts_with('#') {
            self.next += 1;
            return match self.peek() {
                Some(next) if next.indent > line.indent => self.block(next.indent, depth + 1),
                _ => Some(Value::Null),
            };
        }
        let column = line.indent + 1 + (after_dash.len() - rest.len());
        if is_dash_item(rest) || split_entry(rest).is_some() {
            self.lines[self.next] = Line {
                indent: column,
                content: rest,
            };
            return self.block(column, depth + 1);
        }
        self.next += 1;
        inline_value(rest, depth)
    }
}

/// `key: rest` or `key:` → the key and what follows the colon (trimmed).
/// `None` when the content is not a mapping entry this reader understands.
fn split_entry(content: &str) -> Option<(Value, &str)> {
    let (key, after) = match content.as_bytes()[0] {
        b'"' | b'\'' => {
            let (key, after) = quoted(content)?;
            let after = after.trim_start_matches(' ');
            (Value::String(key), after.strip_prefix(':')?)
        }
        _ => {
            let colon = find_value_colon(content)?;
            let key = content[..colon].trim_end_matches(' ');
            if !plain_can_start(key) || key.contains(" #") {
                return None;
            }
            (plain_scalar(key.to_string()), &content[colon + 1..])
        }
    };
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some((key, after.trim_start_matches(' ')))
}

/// The first `:` followed by a space or the end of the line.
fn find_value_colon(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b':' && bytes.get(i + 1).is_none_or(|&b| b == b' '))
}

/// Plain scalars may not start with an indicator (`-` only before a
/// non-space, and never alone).
fn plain_can_start(text: &str) -> bool {
    match text.as_bytes() {
        [] => false,
        [b'-', next, ..] => *next != b' ',
        [first, ..] => !matches!(
            first,
            b'-' | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        ),
    }
}

/// A value written on the key's or the dash's line: a quoted scalar, a
/// flow collection or a plain scalar, then at most a comment.
fn inline_value(text: &str, depth: usize) -> Option<Value> {
    let (value, rest) = match text.as_bytes()[0] {
        b'"' | b'\'' => {
            let (text, rest) = quoted(text)?;
            (Value::String(text), rest)
        }
        b'[' | b'{' => {
            let mut flow = Flow {
                text: text.as_bytes(),
                at: 0,
                source: text,
            };
            let value = flow.value(depth + 1)?;
            (value, &text[flow.at..])
        }
        _ => return block_plain(text),
    };
    // A comment must be set off by a space: `"a"#b` is an error.
    let trimmed = rest.trim_start_matches(' ');
    let comment = trimmed.starts_with('#') && trimmed.len() < rest.len();
    (trimmed.is_empty() || comment).then_some(value)
}

/// A one-line plain scalar in block context, up to a ` #` comment.
fn block_plain(text: &str) -> Option<Value> {
    let end = text.find(" #").unwrap_or(text.len());
    let scalar = text[..end].trim_end_matches(' ');
    if !plain_can_start(scalar) || find_value_colon(scalar).is_some() {
        return None; // `a: b: c` is an error; `key: - x` too
    }
    Some(plain_scalar(scalar.to_string()))
}

/// A quoted scalar at the start of `text` and what follows it; `None` when
/// it does not close on this line or uses an escape left to the full parser.
fn quoted(text: &str) -> Option<(String, &str)> {
    if let Some(mut rest) = text.strip_prefix('\'') {
        let mut out = String::new();
        loop {
            let end = rest.find('\'')?;
            out.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix('\'') {
                Some(after) => {
                    out.push('\'');
                    rest = after;
                }
                None => return Some((out, rest)),
            }
        }
    }
    let mut out = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[1 + i + 1..])),
            '\\' => {
                let (_, escape) = chars.next()?;
                let decoded = match escape {
                    '\\' => '\\',
                    '"' => '"',
                    '/' => '/',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    'x' | 'u' | 'U' => {
                        let width = match escape {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..width {
                            let (_, digit) = chars.next()?;
                            code = code * 16 + digit.to_digit(16)?;
                        }
                        char::from_u32(code)?
                    }
                    _ => return None,
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
    None // not closed on this line
}

/// A flow collection on one line.
struct Flow<'t> {
    text: &'t [u8],
    source: &'t str,
    at: usize,
}

impl Flow<'_> {
    fn skip_spaces(&mut self) {
        while self.text.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_spaces();
        match self.peek()? {
            b'[' => self.sequence(depth),
            b'{' => self.mapping(depth),
            b'"' | b'\'' => {
                let (text, rest) = quoted(&self.source[self.at..])?;
                self.at = self.source.len() - rest.len();
                Some(Value::String(text))
            }
            _ => self.plain(),
        }
    }

    /// A plain scalar inside `[…]`/`{…}`: ends at `,`, a bracket, or `: `.
    fn plain(&mut self) -> Option<Value> {
        let start = self.at;
        while let Some(b) = self.peek() {
            let colon_ends = b == b':'
                && self
                    .text
                    .get(self.at + 1)
                    .is_none_or(|n| matches!(n, b' ' | b',' | b'[' | b']' | b'{' | b'}'));
            if matches!(b, b',' | b'[' | b']' | b'{' | b'}') || colon_ends {
                break;
            }
            let after_space = self.text[self.at - 1] == b' ';
            if b == b'#' && after_space {
                return None; // a comment inside an unclosed collection
            }
            // yaml-rust2 refuses `[x -]`: a ` -` right before a flow indicator.
            let next = self.text.get(self.at + 1);
            if b == b'-' && after_space && next.is_some_and(|n| b",[]{}".contains(n)) {
                return None;
            }
            self.at += 1;
        }
        let scalar = self.source[start..self.at].trim_end_matches(' ');
        if !plain_can_start(scalar) {
            return None;
        }
        Some(plain_scalar(scalar.to_string()))
    }

    fn sequence(&mut self, depth: usize) -> Option<Value> {
        self.at += 1; // '['
        let mut items = Vec::new();
        self.skip_spaces();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Value::Sequence(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_spaces();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(Value::Sequence(items));
                }
                _ => return None,
            }
        }
    }

    fn mapping(&mut self, depth: usize) -> Option<Value> {
        self.at += 1; // '{'
        let mut map = Mapping::new();
        self.skip_spaces();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(Value::Mapping(map));
        }
        loop {
            self.skip_spaces();
            let key = match self.peek()? {
                b'[' | b'{' => return None, // complex keys
                _ => self.value(depth + 1)?,
            };
            // Only `key: value`; `{a}`, `{a:b}` and JSON's `{"a":1}` are left
            // to the full parser.
            if self.text.get(self.at..self.at + 2)? != b": " {
                return None;
            }
            self.at += 2;
            let value = self.value(depth + 1)?;
            if map.insert(key, value).is_some() {
                return None;
            }
            self.skip_spaces();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(Value::Mapping(map));
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::emit::tests::any_value;
    use crate::compose::parse::full_parser_value;
    use proptest::prelude::*;

    /// The contract: the fast reader gives up, or agrees with yaml-rust2.
    fn assert_agrees(text: &str) -> Option<Value> {
        let fast = read(text);
        if let Some(value) = &fast {
            let full = full_parser_value(text);
            assert_eq!(
                full.as_ref(),
                Some(value),
                "the fast reader disagrees with yaml-rust2 on:\n{text}"
            );
        }
        fast
    }

    fn accepted(text: &str) -> Value {
        assert_agrees(text).unwrap_or_else(|| panic!("expected the fast reader to accept:\n{text}"))
    }

    #[test]
    fn reads_the_usual_compose_shapes() {
        let accepted_texts = [
            "services:\n  web:\n    image: nginx:1.25\n",
            "---\nservices:\n  web: {image: x}\n",
            "--- # doc\nname: a\n",
            "services:\n  web:\n    ports:\n    - \"8080:80\"\n    - target: 80\n      published: 8081\n",
            "services:\n  web:\n    ports:\n      - '8080:80'\n      -   target: 80\n          published: 8081\n",
            "a:\n  - - x\n    - y\n  - []\n  - {}\n",
            "a: [1, -2, 3.5, .inf, 0x1f, 0o17, true, ~, null, \"q\", 'it''s', [n, {k: v}]]\n",
            "a: {x: 1, y: [a, b], 'z z': \"w\\\"\\n\\u00e9\"}\n",
            "a: b # comment\nc: 'd' # comment\ne: [f] # comment\n# whole line\n\n",
            "url: http://example.com:8080/path?q=1#frag\nports: 8080:80\ncmd: echo [x] {y}\n",
            "key:\nother: ~\n'quoted key': 1\n\"dq key\": 2\n1: one\ntrue: yes\n",
            "list:\n-\n- # nothing\n-   \n- x\n",
            "a:\n  b:\n    c:\n      d: deep\n  e: back\nf: top\n",
            "x-base:\n  <<: {restart: always}\n",
            "crlf: yes\r\nnext: no\r\n",
            "plain: -c\nneg: -1\nhash: a#b\ncolon: a:b\nspace inside: a b  c\n",
            "caf\u{e9}: cr\u{e8}me\n",
            "  indented: doc\n  second: 2\n",
        ];
        for text in accepted_texts {
            accepted(text);
        }
    }

    #[test]
    fn leaves_everything_else_to_the_full_parser() {
        let refused = [
            "a: &anchor 1\nb: *anchor\n",
            "a: !!str 1\n",
            "a: |\n  block\n",
            "a: >\n  folded\n",
            "a: multi\n  line plain\n",
            "a: \"multi\n  line\"\n",
            "a: 'multi\n  line'\n",
            "a:\n\t- tab\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "a: 1\n...\n",
            "? complex\n: key\n",
            "a: 1\na: 2\n",
            "a: {x: 1, x: 2}\n",
            "a: [1, 2\n",
            "a: [1, 2,]\n",
            "a: {x}\n",
            "a: {\"x\":1}\n",
            "a: b: c\n",
            "a: - b\n",
            "- a\nb: c\n",
            "a:\n  b: 1\n c: 2\n",
            "a: \"\\ \"\n",
            "a: \"\\N\"\n",
            "a: \"x\"y\n",
            "a: 'x'#c\n",
            "a:b\n",
            "just a scalar\n",
            "bell: \u{7}\n",
            "nel: \u{85}\n",
            "",
        ];
        for text in refused {
            assert_eq!(assert_agrees(text), None, "expected a refusal:\n{text}");
        }
    }

    #[test]
    fn the_repositorys_compose_files_are_read_alike() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for dir in ["stacks", "examples"] {
            for path in yaml_files(&root.join(dir)) {
                let text = std::fs::read_to_string(&path).unwrap();
                if full_parser_value(&text).is_some() {
                    // Not all need to be accepted, but all must agree.
                    assert_agrees(&text);
                    seen += 1;
                }
            }
        }
        assert!(seen >= 3, "found only {seen} compose files");
    }

    fn yaml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return out;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(yaml_files(&path));
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                out.push(path);
            }
        }
        out
    }

    /// Pieces of YAML, valid and not, that lines are built from.
    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "- ",
            "-",
            "key: ",
            "key:",
            "k2: ",
            "\"q\"",
            "'s'",
            "'it''s'",
            "\"\\n\\u00e9\"",
            "[a, b]",
            "[",
            "]",
            "{a: 1}",
            "{",
            "}",
            ", ",
            "# c",
            " #c",
            "a: b: c",
            "&x ",
            "*x",
            "|",
            ">",
            "- - ",
            "---",
            "...",
            ":",
            "? ",
            "a:b",
            "x",
            "1",
            "-1",
            "0x1f",
            "true",
            "~",
            "null",
            " ",
            "  ",
            "\t",
            "!t ",
            "%",
            "@",
            "`",
            "\"",
            "'",
            "#",
            "<<: ",
            "\u{e9}",
            "\u{85}",
            "\r",
        ])
    }

    fn soup() -> impl Strategy<Value = String> {
        let line = (0usize..6, prop::collection::vec(fragment(), 0..5))
            .prop_map(|(indent, parts)| format!("{}{}", " ".repeat(indent), parts.concat()));
        prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n"))
    }

    /// Lines shaped like compose files (keys, dashes, values, comments at
    /// several indentations), so that many documents are valid and the
    /// fast reader's acceptances are put to the test, not only its refusals.
    fn structured() -> impl Strategy<Value = String> {
        let indent = prop::sample::select(vec!["", "  ", "    ", "      ", " "]);
        let dash = prop::sample::select(vec!["", "", "- ", "- - ", "-   ", "-"]);
        let key = prop::sample::select(vec![
            "", "k: ", "k2: ", "k:", "'q k': ", "\"d\": ", "1: ", "<<: ", "k : ", "-k: ", "a:b: ",
        ]);
        let value = prop::sample::select(vec![
            "",
            "x",
            "x y",
            "-c",
            "8080:80",
            "http://h:1/p",
            "a#b",
            "'s'",
            "'it''s'",
            "\"d\\n\"",
            "\"\\u00e9\"",
            "[a, b]",
            "[]",
            "{}",
            "{a: 1, b: [x, -y]}",
            "[x -]",
            "[x - y]",
            "[a, {b: c}]",
            "{a: x -}",
            "1.5",
            "0x1f",
            "true",
            "~",
            "null",
            "-",
            "x -",
            "[x:y]",
            "{x:y}",
            "[x: y]",
            "'x'y",
            "\"x\" ",
            "é",
            "[ -x ]",
            "[?x]",
        ]);
        let comment = prop::sample::select(vec!["", "", " # c", "#c", "  #"]);
        let line = (indent, dash, key, value, comment)
            .prop_map(|(i, d, k, v, c)| format!("{i}{d}{k}{v}{c}"));
        prop::collection::vec(line, 1..12).prop_map(|lines| lines.join("\n") + "\n")
    }

    /// A compose file of the repository with random edits.
    fn mutated_example() -> impl Strategy<Value = String> {
        let base = prop::sample::select(vec![
            include_str!("../../examples/webapp/compose.yaml"),
            include_str!("../../examples/resources/compose.yaml"),
            include_str!("../../stacks/extagram/compose.yaml"),
        ]);
        (
            base,
            prop::collection::vec((0..100_000usize, fragment()), 1..4),
            0..100_000usize,
            0usize..12,
        )
            .prop_map(|(base, inserts, cut_at, cut_len)| {
                let cut_at = cut_at % base.len();
                let mut text = base.to_string();
                let cut_at = floor_char_boundary(&text, cut_at);
                let cut_end = floor_char_boundary(&text, (cut_at + cut_len).min(text.len()));
                text.replace_range(cut_at..cut_end, "");
                for (at, piece) in inserts {
                    let at = floor_char_boundary(&text, at % (text.len() + 1));
                    text.insert_str(at, piece);
                }
                text
            })
    }

    fn floor_char_boundary(text: &str, mut at: usize) -> usize {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_line_soup_is_refused_or_read_alike(text in soup()) {
            assert_agrees(&text);
        }

        #[test]
        fn compose_shaped_lines_are_refused_or_read_alike(text in structured()) {
            assert_agrees(&text);
        }

        #[test]
        fn edited_compose_files_are_refused_or_read_alike(text in mutated_example()) {
            assert_agrees(&text);
        }

        #[test]
        fn emitted_documents_are_read_alike(value in any_value()) {
            assert_agrees(&crate::compose::emit::to_yaml(&value).unwrap());
            if let Ok(theirs) = serde_yaml::to_string(&value) {
                assert_agrees(&theirs);
            }
            // Our emitter writes only what the fast reader knows: a document
            // (a mapping, as compose files are) is always accepted.
            let document = Value::Mapping(Mapping::from_iter([("root".into(), value)]));
            let ours = crate::compose::emit::to_yaml(&document).unwrap();
            let read_back = assert_agrees(&ours);
            prop_assert_eq!(read_back.as_ref(), Some(&document), "{}", ours);
        }
    }
}
