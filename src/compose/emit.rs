//! The normalized model written back as YAML, for `stackctl config`.
//!
//! serde_yaml's emitter (libyaml, scalar by scalar analysis) was a third of
//! `config`'s time on a 1000-service file; the model needs far less: block
//! mappings and sequences, and scalars quoted whenever a YAML reader could
//! take them for anything but the same string. The layout follows
//! serde_yaml's (sequence items at their key's indentation, `'…'` quoting),
//! so the output reads as before.

use serde_yaml::{Mapping, Value};
use std::fmt::Write;

/// `value` as a YAML document (no leading `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::with_capacity(4096);
    match value {
        Value::Mapping(map) if !map.is_empty() => block_mapping(&mut out, map, 0),
        Value::Sequence(items) if !items.is_empty() => block_sequence(&mut out, items, 0),
        other => {
            inline(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// A mapping's entries, each on its own line at `depth`. The caller has
/// already written the indentation of the first line.
fn block_mapping(out: &mut String, map: &Mapping, depth: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        mapping_key(out, key, depth);
        out.push(':');
        match value {
            Value::Mapping(inner) if !inner.is_empty() => {
                out.push('\n');
                indent(out, depth + 1);
                block_mapping(out, inner, depth + 1);
            }
            // serde_yaml's style: a sequence under a key is not indented.
            Value::Sequence(items) if !items.is_empty() => {
                out.push('\n');
                indent(out, depth);
                block_sequence(out, items, depth);
            }
            Value::Tagged(tagged) => {
                out.push(' ');
                tagged_value(out, &tagged.tag.to_string(), &tagged.value, depth + 1);
            }
            scalar => {
                out.push(' ');
                inline(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// A sequence's items as `- ` lines at `depth`; the caller has written the
/// first line's indentation.
fn block_sequence(out: &mut String, items: &[Value], depth: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        out.push_str("- ");
        match item {
            Value::Mapping(inner) if !inner.is_empty() => block_mapping(out, inner, depth + 1),
            Value::Sequence(inner) if !inner.is_empty() => block_sequence(out, inner, depth + 1),
            Value::Tagged(tagged) => {
                tagged_value(out, &tagged.tag.to_string(), &tagged.value, depth + 1)
            }
            scalar => {
                inline(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// `!Tag value` after a key or a dash; a collection goes on the next lines.
fn tagged_value(out: &mut String, tag: &str, value: &Value, depth: usize) {
    out.push_str(tag);
    match value {
        Value::Mapping(inner) if !inner.is_empty() => {
            out.push('\n');
            indent(out, depth);
            block_mapping(out, inner, depth);
        }
        Value::Sequence(items) if !items.is_empty() => {
            out.push('\n');
            indent(out, depth);
            block_sequence(out, items, depth);
        }
        other => {
            out.push(' ');
            inline(out, other);
            out.push('\n');
        }
    }
}

/// A key: scalars as scalars; a collection (rare, only in `x-*` data) as an
/// explicit `? ` key in flow style, its `:` on the next line.
fn mapping_key(out: &mut String, key: &Value, depth: usize) {
    match key {
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => {
            out.push_str("? ");
            flow(out, key);
            out.push('\n');
            indent(out, depth);
        }
        scalar => scalar_text(out, scalar, Context::Block),
    }
}

/// A value that fits on the current line: scalars, empty collections.
fn inline(out: &mut String, value: &Value) {
    match value {
        Value::Mapping(map) if map.is_empty() => out.push_str("{}"),
        Value::Sequence(items) if items.is_empty() => out.push_str("[]"),
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => flow(out, value),
        scalar => scalar_text(out, scalar, Context::Block),
    }
}

/// Flow style (`{a: 1, b: [x]}`), used only for complex keys.
fn flow(out: &mut String, value: &Value) {
    match value {
        Value::Mapping(map) => {
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, key);
                out.push_str(": ");
                flow(out, value);
            }
            out.push('}');
        }
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, item);
            }
            out.push(']');
        }
        Value::Tagged(tagged) => {
            let _ = write!(out, "{} ", tagged.tag);
            flow(out, &tagged.value);
        }
        scalar => scalar_text(out, scalar, Context::Flow),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Block,
    /// Inside `[…]` or `{…}`, where `,[]{}` end a plain scalar.
    Flow,
}

fn scalar_text(out: &mut String, value: &Value, context: Context) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => string(out, text, context),
        // Collections are handled by the callers.
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => flow(out, value),
    }
}

/// A string, plain when that reads back as the same string, else quoted.
fn string(out: &mut String, text: &str, context: Context) {
    if is_plain_safe(text, context) {
        out.push_str(text);
    } else if text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
        single_quoted(out, text);
    } else {
        double_quoted(out, text);
    }
}

fn single_quoted(out: &mut String, text: &str) {
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str("''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

/// Double quotes with escapes for everything a reader could fold, drop or
/// refuse: line breaks (also NEL, LS, PS), tabs, control characters, BOM.
fn double_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Words that YAML 1.1 readers (docker-compose v1, PyYAML) take for
/// booleans or null; quoted even though YAML 1.2 reads them as strings.
const YAML11_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
];

/// True when `text` can be written without quotes: printable ASCII, no
/// character that starts or ends a YAML construct where it stands, and not
/// a word or number a reader would resolve to another type. Strings that
/// start like a number (`5432`, `1.0`, `0x1f`, `-1`, `.5`) are always
/// quoted, which also covers YAML 1.1's sexagesimal `80:80`.
fn is_plain_safe(text: &str, context: Context) -> bool {
    let bytes = text.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false; // the empty string reads as null
    };
    if first == b' ' || last == b' ' || last == b':' {
        return false;
    }
    if YAML11_WORDS.contains(&text) || looks_numeric(text) {
        return false;
    }
    let second = bytes.get(1).copied();
    match first {
        // `-x` is a plain scalar, `- x` a sequence item, `-` alone too.
        b'-' if second.is_some_and(|c| c != b' ') => {}
        b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
        | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => return false,
        _ => {}
    }
    let mut previous = b' ';
    for &byte in bytes {
        if !(byte == b' ' || byte.is_ascii_graphic()) {
            return false;
        }
        // `: ` starts a value and ` #` a comment, anywhere.
        if (previous == b':' && byte == b' ') || (previous == b' ' && byte == b'#') {
            return false;
        }
        if context == Context::Flow && matches!(byte, b',' | b'[' | b']' | b'{' | b'}') {
            return false;
        }
        previous = byte;
    }
    true
}

/// Could be read as a number by a YAML 1.1 or 1.2 reader: one of the special
/// floats, or a digit (after an optional sign or dot) followed only by what
/// numbers are written with (`0x1f`, `1_000`, `1e3`, `80:80`, `1.5`).
/// Conservative on purpose: `127.0.0.1` is quoted, `5s` and `1.25-alpine` are not.
fn looks_numeric(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']);
    if matches!(
        unsigned.to_ascii_lowercase().as_str(),
        ".inf" | ".nan" | "inf" | "nan" | "infinity"
    ) {
        return true;
    }
    let digits = unsigned.strip_prefix('.').unwrap_or(unsigned);
    digits.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && digits.bytes().all(|b| {
            b.is_ascii_hexdigit()
                || matches!(
                    b,
                    b'x' | b'X' | b'o' | b'O' | b'.' | b'_' | b':' | b'+' | b'-'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(value: &Value) -> Value {
        let text = to_yaml(value);
        serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn layout_follows_serde_yaml() {
        let value = yaml(
            "name: demo\nservices:\n  web:\n    command: [sh, -c, echo hi]\n    ports:\n    - {target: 80, published: 8080}\n    labels: {}\n    tmpfs: []\n",
        );
        assert_eq!(
            to_yaml(&value),
            "name: demo\nservices:\n  web:\n    command:\n    - sh\n    - -c\n    - echo hi\n    ports:\n    - target: 80\n      published: 8080\n    labels: {}\n    tmpfs: []\n"
        );
    }

    #[test]
    fn strings_that_would_change_type_are_quoted() {
        for text in [
            "5432", "1.0", "-1", ".5", "0x1f", "0o17", "1e3", "80:80", "true", "no", "Off", "~",
            "null", "", ".inf", "-.nan", "+1",
        ] {
            let value = Value::String(text.to_string());
            let line = to_yaml(&value);
            assert!(line.starts_with('\''), "{text:?} -> {line}");
            assert_eq!(round_trip(&value), value, "{text:?}");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for text in [
            "nginx:1.25",
            "-c",
            "http://api.internal:8080/",
            "greeting,healthz",
            "a b",
            "stackctl-test/busybox:latest",
            "5s",
            "1.25-alpine",
        ] {
            assert_eq!(to_yaml(&Value::String(text.into())), format!("{text}\n"));
        }
    }

    #[test]
    fn indicators_and_control_characters_are_quoted() {
        for text in [
            "- item",
            "key: value",
            "a #comment",
            "#x",
            "*alias",
            "&anchor",
            "!tag",
            "'quoted'",
            "\"dq\"",
            "line\nbreak",
            "tab\there",
            " lead",
            "trail ",
            "ends:",
            "nel\u{85}",
            "ls\u{2028}",
            "bom\u{feff}",
            "bell\u{7}",
            "back\\slash\n",
            "café",
            "[x]",
            "{y}",
            "%percent",
            "@at",
            "`tick",
            "|pipe",
            ">gt",
        ] {
            let value = Value::String(text.to_string());
            assert_eq!(round_trip(&value), value, "{text:?} -> {}", to_yaml(&value));
        }
    }

    #[test]
    fn nested_sequences_tags_and_complex_keys_read_back() {
        let value = yaml(
            "a:\n- - 1\n  - 2\n- []\n- {}\n- {k: [x, {y: z}]}\nb: !Tagged {v: 1}\nc: !T [1]\nd: !S x\n? [k1, k2]\n: v\n? {m: 1}\n: w\n1: one\ntrue: yes\nnull: ~\n",
        );
        assert_eq!(round_trip(&value), value, "{}", to_yaml(&value));
    }

    #[test]
    fn reads_back_through_our_own_parser() {
        let value = yaml(
            "services:\n  web:\n    image: nginx\n    environment:\n      PORT: '80'\n      EMPTY: ''\n      NOTE: \"a: b # c\"\n",
        );
        let text = to_yaml(&value);
        let mut diags = super::super::diag::Diagnostics::default();
        let parsed =
            super::super::parse::parse_text(std::path::Path::new("out.yaml"), &text, &mut diags)
                .expect("our output parses");
        assert_eq!(parsed.value, value);
    }

    fn any_string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,12}",
            "[a-z0-9:./ #-]{0,12}",
            any::<String>().prop_map(|s| s.chars().take(12).collect()),
            Just("yes".to_string()),
            Just("0x10".to_string()),
        ]
    }

    fn any_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12f64).prop_map(Value::from),
            any_string().prop_map(Value::String),
        ]
    }

    fn any_value() -> impl Strategy<Value = Value> {
        any_scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
                prop::collection::vec((any_string(), inner), 0..5).prop_map(|entries| {
                    Value::Mapping(
                        entries
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_reads_back_unchanged(value in any_value()) {
            prop_assert_eq!(round_trip(&value), value);
        }
    }
}
