//! Typed access to YAML values that reports what was expected, at which path,
//! instead of failing. Every reader returns `None` after recording an error, so
//! normalization carries on and reports all problems in one go.

use super::diag::{child, did_you_mean, index, Diagnostics};
use super::parse::describe;
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

pub struct Reader<'d> {
    pub diags: &'d mut Diagnostics,
}

impl<'d> Reader<'d> {
    pub fn new(diags: &'d mut Diagnostics) -> Self {
        Reader { diags }
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.diags.error(path, message);
    }

    pub fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.diags.warning(path, message);
    }

    fn wrong_type(&mut self, path: &str, expected: &str, got: &Value) {
        self.error(path, format!("expected {expected}, got {}", describe(got)));
    }

    pub fn mapping<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Mapping> {
        match value {
            Value::Mapping(map) => Some(map),
            other => {
                self.wrong_type(path, "a mapping", other);
                None
            }
        }
    }

    /// Entries of a mapping with string keys; a non-string key is an error.
    pub fn entries<'v>(&mut self, map: &'v Mapping, path: &str) -> Vec<(String, &'v Value)> {
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            match key_text(key) {
                Some(key) => out.push((key, value)),
                None => self.error(
                    path,
                    format!("expected keys to be strings, got {}", describe(key)),
                ),
            }
        }
        out
    }

    /// Strictly a string (YAML numbers and booleans are refused: compose
    /// refuses them too, and `image: 1.0` is almost always a mistake).
    pub fn string(&mut self, value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    /// A string, or a number/boolean taken as its text (environment values,
    /// labels, ports, sizes, user ids...).
    pub fn scalar(&mut self, value: &Value, path: &str) -> Option<String> {
        match scalar_text(value) {
            Some(text) => Some(text),
            None => {
                self.wrong_type(path, "a string or a number", value);
                None
            }
        }
    }

    pub fn boolean(&mut self, value: &Value, path: &str) -> Option<bool> {
        match value {
            Value::Bool(flag) => Some(*flag),
            Value::String(text) if text == "true" || text == "false" => Some(text == "true"),
            other => {
                self.wrong_type(path, "true or false", other);
                None
            }
        }
    }

    pub fn unsigned(&mut self, value: &Value, path: &str) -> Option<u64> {
        let parsed = match value {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                path,
                format!(
                    "expected a whole number of 0 or more, got {}",
                    show_scalar(value)
                ),
            );
        }
        parsed
    }

    pub fn integer(&mut self, value: &Value, path: &str) -> Option<i64> {
        let parsed = match value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                path,
                format!("expected a whole number, got {}", show_scalar(value)),
            );
        }
        parsed
    }

    /// A list of strings; a single string is accepted as a one-item list when
    /// `allow_single` (compose allows it for e.g. `tmpfs`, `env_file`).
    pub fn string_list(&mut self, value: &Value, path: &str, allow_single: bool) -> Vec<String> {
        match value {
            Value::String(text) if allow_single => vec![text.clone()],
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.scalar(item, &index(path, i)))
                .collect(),
            other => {
                let expected = if allow_single {
                    "a string or a list of strings"
                } else {
                    "a list of strings"
                };
                self.wrong_type(path, expected, other);
                Vec::new()
            }
        }
    }

    /// `KEY=VALUE` list or mapping form (environment, labels, build args).
    /// With `allow_bare`, a list item `KEY` (or a null map value) yields `None`.
    pub fn key_values(
        &mut self,
        value: &Value,
        path: &str,
        allow_bare: bool,
    ) -> IndexMap<String, Option<String>> {
        let mut out = IndexMap::new();
        match value {
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = index(path, i);
                    let Some(text) = self.scalar(item, &item_path) else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((key, val)) => {
                            out.insert(key.to_string(), Some(val.to_string()));
                        }
                        None if allow_bare => {
                            out.insert(text, None);
                        }
                        None => {
                            self.error(&item_path, format!("expected `KEY=VALUE`, got `{text}`"))
                        }
                    }
                }
            }
            Value::Mapping(map) => {
                for (key, val) in self.entries(map, path) {
                    let val_path = child(path, &key);
                    let val = match val {
                        Value::Null if allow_bare => None,
                        Value::Null => Some(String::new()),
                        other => self.scalar(other, &val_path),
                    };
                    out.insert(key, val);
                }
            }
            other => self.wrong_type(path, "a list of `KEY=VALUE` or a mapping", other),
        }
        out
    }

    /// Report keys that are neither known nor `x-*` extensions, with a
    /// suggestion when one is close. `ignored` keys are valid compose that
    /// stackctl does not apply: a warning, not an error.
    pub fn check_keys(&mut self, map: &Mapping, path: &str, known: &[&str], ignored: &[&str]) {
        for (key, _) in map {
            let Some(key) = key_text(key) else { continue };
            if known.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            let key_path = child(path, &key);
            if ignored.contains(&key.as_str()) {
                self.warning(
                    &key_path,
                    format!("`{key}` is not supported by stackctl and is ignored"),
                );
                continue;
            }
            let hint = did_you_mean(&key, known.iter().copied())
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            let where_ = if path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{path}`")
            };
            self.error(&key_path, format!("unknown key `{key}` {where_}{hint}"));
        }
    }
}

/// `x-*` entries of a mapping, kept verbatim for later code.
pub fn extensions(map: &Mapping) -> IndexMap<String, Value> {
    map.iter()
        .filter_map(|(key, value)| {
            let key = key.as_str()?;
            key.starts_with("x-")
                .then(|| (key.to_string(), value.clone()))
        })
        .collect()
}

/// A mapping key as text: strings, and numbers/booleans as YAML wrote them.
pub fn key_text(key: &Value) -> Option<String> {
    scalar_text(key)
}

pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn show_scalar(value: &Value) -> String {
    match scalar_text(value) {
        Some(text) => format!("`{text}`"),
        None => describe(value).to_string(),
    }
}
