//! Compose-style variable interpolation (`$VAR`, `${VAR:-default}`, ...).
//!
//! Interpolation runs on the raw YAML tree, before anything is typed, so that
//! every string a user writes can use variables. It touches values only: keys
//! are names the schema depends on, and compose never substitutes into them.

use crate::compose::diag::{push_index, Diagnostics};
use serde_yaml::Value;
use std::collections::HashSet;

/// How deeply `${...}` may nest inside defaults before we give up. Real files
/// nest two or three levels; the bound exists so hostile input cannot exhaust
/// the stack.
pub const MAX_NESTING: usize = 64;

/// How deeply the YAML tree may nest before we stop walking it (same reason).
const MAX_TREE_DEPTH: usize = 512;

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interpolated {
    pub value: String,
    /// Variables referenced without a default that were not set, in order of
    /// first use, without duplicates. They expanded to "" and deserve a warning.
    pub unset: Vec<String>,
}

/// Interpolate one string. `lookup` answers "what is VAR set to?" (`None` when
/// unset), so callers decide whether that is the shell, a `.env` file or both.
///
/// Errors are returned for `${VAR?msg}` / `${VAR:?msg}` failures and for
/// syntax errors; the message says what was expected.
pub fn interpolate_str(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, String> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        lookup,
        unset: Vec::new(),
    };
    let value = parser.parse_text(None, true)?;
    Ok(Interpolated {
        value,
        unset: parser.unset,
    })
}

/// Interpolate every string scalar inside `value`, in place. Errors are
/// reported at the path of the offending string; each unset variable gets a
/// single warning however often it is used.
pub fn interpolate_value(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) {
    let mut warned = HashSet::new();
    let mut path_buffer = path.to_string();
    walk(value, &mut path_buffer, lookup, diags, &mut warned, 0);
}

/// Recursive helper for `interpolate_value`; `warned` deduplicates warnings
/// across the whole tree. `path` is one buffer extended and truncated on the
/// way down, so large files don't pay an allocation per node.
fn walk(
    value: &mut Value,
    path: &mut String,
    lookup: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
    warned: &mut HashSet<String>,
    depth: usize,
) {
    if depth > MAX_TREE_DEPTH {
        diags.error(
            path,
            format!("document nests more than {MAX_TREE_DEPTH} levels deep"),
        );
        return;
    }
    let parent_len = path.len();
    match value {
        Value::String(text) => {
            // Most values hold no variable at all: skip them cheaply.
            if text.contains('$') {
                interpolate_scalar(text, path, lookup, diags, warned);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                push_index(path, i);
                walk(item, path, lookup, diags, warned, depth + 1);
                path.truncate(parent_len);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                if !path.is_empty() {
                    path.push('.');
                }
                push_key_label(path, key);
                walk(item, path, lookup, diags, warned, depth + 1);
                path.truncate(parent_len);
            }
        }
        Value::Tagged(tagged) => walk(&mut tagged.value, path, lookup, diags, warned, depth + 1),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Interpolate one string scalar and report what went wrong, if anything.
fn interpolate_scalar(
    text: &mut String,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
    warned: &mut HashSet<String>,
) {
    match interpolate_str(text, lookup) {
        Ok(result) => {
            for name in result.unset {
                if warned.insert(name.clone()) {
                    diags.warning(
                        path,
                        format!("variable `{name}` is not set; substituting an empty string"),
                    );
                }
            }
            *text = result.value;
        }
        Err(message) => diags.error(path, message),
    }
}

/// A readable path segment for a mapping key; non-string keys are rare but
/// legal YAML, so render scalars and fall back to a placeholder.
fn push_key_label(path: &mut String, key: &Value) {
    match key {
        Value::String(s) => path.push_str(s),
        Value::Number(n) => path.push_str(&n.to_string()),
        Value::Bool(b) => path.push_str(if *b { "true" } else { "false" }),
        Value::Null => path.push_str("null"),
        _ => path.push_str("<key>"),
    }
}

/// What a `${NAME<op>...}` expression does with its variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `-` / `:-`: use the text when unset (or empty, with the colon).
    Default,
    /// `?` / `:?`: fail with the text when unset (or empty, with the colon).
    Required,
    /// `+` / `:+`: use the text when set (and non-empty, with the colon).
    Alternative,
}

/// Recursive-descent parser that expands as it goes. `active == false` means
/// "parse for syntax only": the branch of `${A:-...}` that is not taken must
/// still be well-formed but must not warn, fail or look anything up.
struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: Vec<String>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Parse text until the end of input (`open == None`) or until the `}`
    /// closing the `${` that started at char index `open`. Plain `{`/`}` pairs
    /// inside a default are kept balanced, so `${A:-{x}}` yields `{x}`.
    fn parse_text(&mut self, open: Option<(usize, usize)>, active: bool) -> Result<String, String> {
        let mut out = String::new();
        let mut braces = 0usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '$' => self.parse_dollar(&mut out, open.map_or(0, |(_, d)| d), active)?,
                '{' if open.is_some() => {
                    braces += 1;
                    out.push(c);
                }
                '}' if open.is_some() => {
                    if braces == 0 {
                        return Ok(out);
                    }
                    braces -= 1;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        match open {
            Some((start, _)) => Err(unterminated(start)),
            None => Ok(out),
        }
    }

    /// Handle what follows a `$` (already consumed).
    fn parse_dollar(&mut self, out: &mut String, depth: usize, active: bool) -> Result<(), String> {
        match self.peek() {
            Some('$') => {
                self.pos += 1;
                out.push('$');
            }
            Some('{') => {
                let start = self.pos - 1;
                self.pos += 1;
                let expanded = self.parse_braced(start, depth + 1, active)?;
                out.push_str(&expanded);
            }
            Some(c) if is_name_start(c) => {
                let name = self.read_name();
                if active {
                    out.push_str(&self.resolve_plain(&name));
                }
            }
            // Compose keeps a `$` that does not start a reference.
            _ => out.push('$'),
        }
        Ok(())
    }

    fn read_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|c| is_name_char(*c)) {
            name.push(c);
            self.pos += 1;
        }
        name
    }

    /// Value of a reference without default: unset expands to "" and is noted.
    fn resolve_plain(&mut self, name: &str) -> String {
        match (self.lookup)(name) {
            Some(value) => value,
            None => {
                if !self.unset.iter().any(|n| n == name) {
                    self.unset.push(name.to_string());
                }
                String::new()
            }
        }
    }

    /// Parse `${...}` after the `${`; `start` is the char index of the `$`.
    fn parse_braced(&mut self, start: usize, depth: usize, active: bool) -> Result<String, String> {
        if depth > MAX_NESTING {
            return Err(format!(
                "`${{` at character {} nests more than {MAX_NESTING} levels deep",
                start + 1
            ));
        }
        match self.peek() {
            Some(c) if is_name_start(c) => {}
            Some(c) => {
                return Err(format!(
                    "invalid variable name at character {}: expected a name \
                     (a letter or `_`, then letters, digits or `_`) after `${{`, found `{c}`",
                    start + 1
                ))
            }
            None => return Err(unterminated(start)),
        }
        let name = self.read_name();
        let (op, colon) = match self.parse_op(start, &name)? {
            Some(op) => op,
            None => {
                return Ok(if active {
                    self.resolve_plain(&name)
                } else {
                    String::new()
                })
            }
        };
        self.apply(&name, op, colon, (start, depth), active)
    }

    /// Read what follows the name: `}` (→ None) or an operator.
    fn parse_op(&mut self, start: usize, name: &str) -> Result<Option<(Op, bool)>, String> {
        let c = self.peek().ok_or_else(|| unterminated(start))?;
        self.pos += 1;
        if c == '}' {
            return Ok(None);
        }
        let colon = c == ':';
        let op_char = if colon {
            let next = self.peek().ok_or_else(|| unterminated(start))?;
            self.pos += 1;
            next
        } else {
            c
        };
        let op = match op_char {
            '-' => Op::Default,
            '?' => Op::Required,
            '+' => Op::Alternative,
            other => {
                return Err(format!(
                    "invalid `${{{name}...}}` at character {}: expected `}}`, `-`, `:-`, \
                     `?`, `:?`, `+` or `:+` after the variable name, found `{}{other}`",
                    start + 1,
                    if colon { ":" } else { "" }
                ))
            }
        };
        Ok(Some((op, colon)))
    }

    /// Evaluate `${NAME<op>text}`; only the text that is used is evaluated.
    fn apply(
        &mut self,
        name: &str,
        op: Op,
        colon: bool,
        open: (usize, usize),
        active: bool,
    ) -> Result<String, String> {
        let value = if active { (self.lookup)(name) } else { None };
        let missing = match &value {
            None => true,
            Some(v) => colon && v.is_empty(),
        };
        let use_text = active
            && match op {
                Op::Default | Op::Required => missing,
                Op::Alternative => !missing,
            };
        let text = self.parse_text(Some(open), use_text)?;
        if !active {
            return Ok(String::new());
        }
        Ok(match op {
            Op::Default if missing => text,
            Op::Required if missing => return Err(required_message(name, &text)),
            Op::Alternative if missing => String::new(),
            Op::Alternative => text,
            Op::Default | Op::Required => value.unwrap_or_default(),
        })
    }
}

fn unterminated(start: usize) -> String {
    format!(
        "unterminated `${{` at character {}: expected a closing `}}`",
        start + 1
    )
}

fn required_message(name: &str, text: &str) -> String {
    if text.is_empty() {
        format!("required variable `{name}` is missing a value")
    } else {
        format!("required variable `{name}` is missing a value: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Environment used by most tests: SET=value, EMPTY="", UNI=ünï, others unset.
    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            "UNI" => Some("ünï".into()),
            "OTHER" => Some("other".into()),
            _ => None,
        }
    }

    fn ok(text: &str) -> String {
        interpolate_str(text, &env)
            .expect("should interpolate")
            .value
    }

    fn err(text: &str) -> String {
        interpolate_str(text, &env).expect_err("should fail")
    }

    fn unset(text: &str) -> Vec<String> {
        interpolate_str(text, &env)
            .expect("should interpolate")
            .unset
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(ok(""), "");
        assert_eq!(ok("hello world"), "hello world");
    }

    #[test]
    fn unbraced_variables() {
        assert_eq!(ok("$SET"), "value");
        assert_eq!(ok("a-$SET-b"), "a-value-b");
        assert_eq!(ok("$SET.x"), "value.x");
        assert_eq!(ok("$EMPTY"), "");
        assert_eq!(ok("[$MISSING]"), "[]");
        assert_eq!(unset("[$MISSING]"), vec!["MISSING"]);
        // The name is greedy: `$SETX` is a different variable.
        assert_eq!(ok("$SETX"), "");
    }

    #[test]
    fn braced_variables() {
        assert_eq!(ok("${SET}"), "value");
        assert_eq!(ok("${SET}X"), "valueX");
        assert_eq!(ok("${EMPTY}"), "");
        assert_eq!(ok("${MISSING}"), "");
        assert_eq!(unset("${MISSING}"), vec!["MISSING"]);
        assert!(unset("${EMPTY}").is_empty());
    }

    #[test]
    fn colon_dash_default() {
        assert_eq!(ok("${SET:-d}"), "value");
        assert_eq!(ok("${EMPTY:-d}"), "d");
        assert_eq!(ok("${MISSING:-d}"), "d");
        assert_eq!(ok("${MISSING:-}"), "");
        assert!(unset("${MISSING:-d}").is_empty());
    }

    #[test]
    fn dash_default() {
        assert_eq!(ok("${SET-d}"), "value");
        assert_eq!(ok("${EMPTY-d}"), "");
        assert_eq!(ok("${MISSING-d}"), "d");
        assert!(unset("${MISSING-d}").is_empty());
    }

    #[test]
    fn colon_question_required() {
        assert_eq!(ok("${SET:?boom}"), "value");
        assert_eq!(
            err("${EMPTY:?need it}"),
            "required variable `EMPTY` is missing a value: need it"
        );
        assert_eq!(
            err("${MISSING:?need it}"),
            "required variable `MISSING` is missing a value: need it"
        );
        assert_eq!(
            err("${MISSING:?}"),
            "required variable `MISSING` is missing a value"
        );
    }

    #[test]
    fn question_required() {
        assert_eq!(ok("${SET?boom}"), "value");
        assert_eq!(ok("${EMPTY?boom}"), "");
        assert!(err("${MISSING?boom}").contains("`MISSING`"));
    }

    #[test]
    fn colon_plus_alternative() {
        assert_eq!(ok("${SET:+alt}"), "alt");
        assert_eq!(ok("${EMPTY:+alt}"), "");
        assert_eq!(ok("${MISSING:+alt}"), "");
        assert!(unset("${MISSING:+alt}").is_empty());
    }

    #[test]
    fn plus_alternative() {
        assert_eq!(ok("${SET+alt}"), "alt");
        assert_eq!(ok("${EMPTY+alt}"), "alt");
        assert_eq!(ok("${MISSING+alt}"), "");
    }

    #[test]
    fn nested_defaults() {
        assert_eq!(ok("${MISSING:-${SET}}"), "value");
        assert_eq!(ok("${MISSING:-$SET}"), "value");
        assert_eq!(ok("${MISSING:-a-${NOPE:-${OTHER}}-b}"), "a-other-b");
        assert_eq!(ok("${SET:+[${OTHER}]}"), "[other]");
        assert_eq!(ok("${MISSING:-x$${SET}}"), "x${SET}");
    }

    #[test]
    fn unused_branches_are_not_evaluated() {
        // The default is not taken, so its unset variable is not reported and
        // its `:?` does not fire.
        assert_eq!(ok("${SET:-$NOPE}"), "value");
        assert!(unset("${SET:-$NOPE}").is_empty());
        assert_eq!(ok("${SET:-${NOPE:?boom}}"), "value");
        assert!(unset("${MISSING:+$NOPE}").is_empty());
        // ...but it must still be well-formed.
        assert!(err("${SET:-${1X}}").contains("invalid variable name"));
    }

    #[test]
    fn unset_inside_taken_default_is_reported() {
        assert_eq!(unset("${MISSING:-$NOPE}"), vec!["NOPE"]);
    }

    #[test]
    fn balanced_braces_in_defaults() {
        assert_eq!(ok("${MISSING:-{a}}"), "{a}");
        assert_eq!(ok("${MISSING:-{a{b}}}x"), "{a{b}}x");
        assert_eq!(ok("{literal} }"), "{literal} }");
    }

    #[test]
    fn double_dollar_escapes() {
        assert_eq!(ok("$$"), "$");
        assert_eq!(ok("$$SET"), "$SET");
        assert_eq!(ok("$${SET}"), "${SET}");
        assert_eq!(ok("$$$SET"), "$value");
        assert_eq!(ok("$$$$"), "$$");
    }

    #[test]
    fn lone_dollars_are_literal() {
        assert_eq!(ok("$"), "$");
        assert_eq!(ok("cost: 5$"), "cost: 5$");
        assert_eq!(ok("$ x"), "$ x");
        assert_eq!(ok("$1"), "$1");
        assert_eq!(ok("$-"), "$-");
        assert_eq!(ok("$é"), "$é");
        assert_eq!(ok("a$}"), "a$}");
    }

    #[test]
    fn unicode_around_variables() {
        assert_eq!(ok("héllo ${SET} wörld"), "héllo value wörld");
        assert_eq!(ok("日本$SET語"), "日本value語");
        assert_eq!(ok("${UNI}🎉"), "ünï🎉");
        assert_eq!(ok("${MISSING:-ß→∞}"), "ß→∞");
    }

    #[test]
    fn syntax_errors() {
        assert!(err("${SET").contains("unterminated"));
        assert!(err("${").contains("unterminated"));
        assert!(err("${SET:-abc").contains("unterminated"));
        assert!(err("${SET:").contains("unterminated"));
        assert!(err("${}").contains("invalid variable name"));
        assert!(err("${1ABC}").contains("found `1`"));
        assert!(err("${ SET}").contains("invalid variable name"));
        assert!(err("${SET!x}").contains("expected `}`"));
        assert!(err("${SET:x}").contains("found `:x`"));
        assert!(err("${SET }").contains("found ` `"));
    }

    #[test]
    fn error_positions_are_reported() {
        assert!(err("abc${").contains("character 4"));
    }

    #[test]
    fn unset_names_are_deduplicated_in_order() {
        assert_eq!(unset("$B $A ${B} $A"), vec!["B", "A"]);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let depth = MAX_NESTING + 10;
        let text = format!("{}x{}", "${A:-".repeat(depth), "}".repeat(depth));
        assert!(err(&text).contains("levels deep"));
        let ok_depth = MAX_NESTING;
        let text = format!("{}x{}", "${A:-".repeat(ok_depth), "}".repeat(ok_depth));
        assert_eq!(ok(&text), "x");
        let huge = format!("{}x", "${A:-".repeat(100_000));
        assert!(err(&huge).contains("levels deep"));
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).expect("test YAML parses")
    }

    #[test]
    fn value_walk_interpolates_values_not_keys() {
        let mut value = yaml(
            "services:\n  $SET:\n    image: ${SET}:1\n    ports: [\"$OTHER\", 80]\n    \
             init: true\n    tagged: !t ${SET}\n",
        );
        let mut diags = Diagnostics::default();
        interpolate_value(&mut value, "", &env, &mut diags);
        assert!(!diags.has_errors());
        let expected = yaml(
            "services:\n  $SET:\n    image: value:1\n    ports: [\"other\", 80]\n    \
             init: true\n    tagged: !t value\n",
        );
        assert_eq!(value, expected);
    }

    #[test]
    fn value_walk_reports_errors_at_the_string_path() {
        let mut value = yaml("services:\n  web:\n    ports: [ok, \"${X:?set X}\"]\n");
        let mut diags = Diagnostics::default();
        interpolate_value(&mut value, "", &env, &mut diags);
        let errors: Vec<_> = diags.errors().collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "services.web.ports[1]");
        assert!(errors[0].message.contains("set X"));
    }

    #[test]
    fn value_walk_warns_once_per_variable() {
        let mut value = yaml("a: $NOPE\nb: [\"${NOPE}\", $NOPE2]\nc: {d: $NOPE}\n");
        let mut diags = Diagnostics::default();
        interpolate_value(&mut value, "root", &env, &mut diags);
        let warnings: Vec<_> = diags.warnings().map(|w| w.message.clone()).collect();
        assert_eq!(
            warnings,
            vec![
                "variable `NOPE` is not set; substituting an empty string",
                "variable `NOPE2` is not set; substituting an empty string",
            ]
        );
        let first = diags.warnings().next().map(|w| w.path.clone());
        assert_eq!(first.as_deref(), Some("root.a"));
    }

    #[test]
    fn value_walk_leaves_non_strings_alone() {
        let mut value = yaml("a: 1\nb: true\nc: null\nd: 1.5\n");
        let before = value.clone();
        let mut diags = Diagnostics::default();
        interpolate_value(&mut value, "", &env, &mut diags);
        assert_eq!(value, before);
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC*") {
            let _ = interpolate_str(&text, &env);
        }

        #[test]
        fn dollar_heavy_strings_never_panic(text in "[${}:?+\\-A-Z_a1 é]{0,64}") {
            let _ = interpolate_str(&text, &env);
        }

        #[test]
        fn text_without_dollars_is_unchanged(text in "[^$]*") {
            prop_assert_eq!(ok(&text), text);
        }
    }
}
