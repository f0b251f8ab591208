//! Stage 1: read and parse one compose file.
//!
//! Plain block-style files are read by `block_yaml`'s fast line reader;
//! anything else (and every error) goes through yaml-rust2's event stream,
//! which builds the same `serde_yaml::Value` the rest of the pipeline works
//! on. Aliases are expanded with a budget, so an alias bomb is refused
//! instead of exhausting memory.
//!
//! Where each field path sits (for messages that name the line and column)
//! is found by a second, recording pass over the same text — run only when
//! there is something to report (see `Diagnostics::source_map`).

use super::block_yaml;
use super::diag::{child, index, Diagnostics, Location, SourceMap};
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

/// Largest compose file we agree to read. Real ones are a few KiB; this keeps
/// a pathological input from exhausting memory before parsing even starts.
const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// One parsed compose file: its text (to locate fields later) and its
/// top-level mapping.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
    pub value: Value,
}

/// Read `path` from disk and parse it; problems go to `diags`.
pub fn read_file(path: &Path, diags: &mut Diagnostics) -> Option<SourceFile> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_text(path, &text, diags),
            Err(_) => {
                diags.error_in_file(path, "is not valid UTF-8 text".into());
                None
            }
        },
        Err(err) => {
            diags.error_in_file(path, format!("cannot read the file: {err}"));
            None
        }
    }
}

/// Parse compose text. Returns `None` (with errors recorded) when the text is
/// not a usable compose document.
pub fn parse_text(path: &Path, text: &str, diags: &mut Diagnostics) -> Option<SourceFile> {
    if text.len() > MAX_FILE_BYTES {
        diags.error_in_file(
            path,
            format!("is larger than {MAX_FILE_BYTES} bytes; this is not a compose file"),
        );
        return None;
    }
    if is_blank_yaml(text) {
        diags.error_in_file(
            path,
            "the file is empty: expected a mapping with a `services` key".into(),
        );
        return None;
    }
    let mut value = match block_yaml::read(text) {
        Some(value) => value,
        None => parse_events(path, text, diags)?,
    };
    // Merge keys are written `<<` (or spelt with escapes); without either in
    // the text there is nothing to merge, and the walk that looks for them
    // visits every mapping.
    let may_merge = text.contains("<<") || text.contains('\\');
    if may_merge {
        if let Err(err) = value.apply_merge() {
            diags.error_in_file(path, format!("invalid merge key `<<`: {err}"));
            return None;
        }
    }
    match &value {
        Value::Mapping(_) => {}
        Value::Null => {
            diags.error_in_file(
                path,
                "the file is empty: expected a mapping with a `services` key".into(),
            );
            return None;
        }
        other => {
            diags.error_at(
                path,
                1,
                1,
                format!(
                    "expected a mapping with a `services` key at the top level, got {}",
                    describe(other)
                ),
            );
            return None;
        }
    }
    Some(SourceFile {
        path: path.to_path_buf(),
        text: Arc::from(text),
        value,
    })
}

/// The full parser, for whatever the block reader leaves to it; errors and
/// duplicate keys are reported with their position.
fn parse_events(path: &Path, text: &str, diags: &mut Diagnostics) -> Option<Value> {
    let scan = scan_events(path, text, Record::ValuesOnly);
    if let Some((location, message)) = scan.error {
        diags.error_at(&location.file, location.line, location.column, message);
        return None;
    }
    if !scan.duplicates.is_empty() {
        // Name each duplicate by its field path: the recording pass knows them.
        for (field, location) in scan_events(path, text, Record::Locations).duplicates {
            diags.error_at(
                &location.file,
                location.line,
                location.column,
                format!("{field}: duplicate key: each key may appear only once in a mapping"),
            );
        }
        return None;
    }
    Some(scan.value.unwrap_or(Value::Null))
}

/// yaml-rust2's reading of `text` (merge keys not applied), or `None` on
/// any error or duplicate key: what `block_yaml` must agree with.
#[cfg(test)]
pub(super) fn full_parser_value(text: &str) -> Option<Value> {
    let scan = scan_events(Path::new("test.yaml"), text, Record::ValuesOnly);
    (scan.error.is_none() && scan.duplicates.is_empty()).then(|| scan.value.unwrap_or(Value::Null))
}

/// Where each field path of an already-parsed text sits.
pub fn locate_fields(file: &Path, text: &str) -> SourceMap {
    scan_events(file, text, Record::Locations).map
}

/// True when the text holds nothing but whitespace, comments and document markers.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

/// A short description of a YAML value's kind, for "expected X, got Y".
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Alias expansions are copies; past this many copied nodes the document is
/// treated as an alias bomb ("billion laughs") and refused.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Deeper nesting than any compose file needs; refused before recursion
/// elsewhere (interpolation, drop) could exhaust the stack.
const MAX_DEPTH: usize = 200;

/// What a pass over the events records besides the value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    /// The value only: field paths are neither built nor located.
    ValuesOnly,
    /// Also the location of every field path (and the paths of duplicates).
    Locations,
}

/// A position in the text (1-based line and column), cheap to copy; made
/// into a `Location` only when something keeps it.
#[derive(Clone, Copy)]
struct Mark {
    line: usize,
    column: usize,
}

/// A node being built, with what the source map needs to know about it.
/// Paths stay empty when only values are recorded.
// Frames live on a stack as deep as the document (at most MAX_DEPTH), so the
// size difference between the variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
enum Frame {
    Mapping {
        path: String,
        anchor: usize,
        map: Mapping,
        /// The key read and waiting for its value: as a value, as text for
        /// paths, and where it was written.
        key: Option<(Value, String, Mark)>,
        /// A mapping that is a list item is located at its first key.
        item_path: Option<String>,
        nodes: usize,
    },
    Sequence {
        path: String,
        anchor: usize,
        items: Vec<Value>,
        nodes: usize,
    },
}

/// What one pass over the events gives: the value, where each field is
/// (when recorded), and keys given twice in one mapping.
struct Scan {
    value: Option<Value>,
    map: SourceMap,
    duplicates: Vec<(String, Location)>,
    error: Option<(Location, String)>,
}

/// Builds a `serde_yaml::Value` from yaml-rust2's events, and when asked,
/// records the location of every field path.
struct Builder {
    file: Arc<Path>,
    record: Record,
    scan: Scan,
    stack: Vec<Frame>,
    /// Anchored nodes and their size in nodes, for alias expansion.
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
}

fn scan_events(file: &Path, text: &str, record: Record) -> Scan {
    let mut builder = Builder {
        file: file.into(),
        record,
        scan: Scan {
            value: None,
            map: SourceMap::default(),
            duplicates: Vec::new(),
            error: None,
        },
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((event, marker)) => {
                // yaml-rust2 columns are 0-based; people count from 1.
                let here = Mark {
                    line: marker.line(),
                    column: marker.col() + 1,
                };
                if builder.event(event, here).is_err() {
                    break;
                }
            }
            Err(err) => {
                let here = builder.location(Mark {
                    line: err.marker().line(),
                    column: err.marker().col() + 1,
                });
                builder.scan.error = Some((here, format!("invalid YAML: {}", err.info())));
                break;
            }
        }
    }
    // Duplicates are found when their value is complete; report them in
    // the order they were written.
    builder
        .scan
        .duplicates
        .sort_by_key(|(_, location)| (location.line, location.column));
    builder.scan
}

/// Stops the walk; the reason is in `scan.error`, or the stream ended.
struct Stop;

impl Mark {
    fn in_file(self, file: &Arc<Path>) -> Location {
        Location {
            file: Arc::clone(file),
            line: self.line,
            column: self.column,
        }
    }
}

impl Builder {
    fn location(&self, mark: Mark) -> Location {
        mark.in_file(&self.file)
    }

    fn recording(&self) -> bool {
        self.record == Record::Locations
    }

    fn fail(&mut self, here: Mark, message: &str) -> Result<(), Stop> {
        self.scan.error = Some((self.location(here), message.to_string()));
        Err(Stop)
    }

    fn event(&mut self, event: Event, here: Mark) -> Result<(), Stop> {
        match event {
            Event::StreamEnd => return Err(Stop),
            Event::DocumentStart if self.scan.value.is_some() => {
                return self.fail(
                    here,
                    "a compose file holds one YAML document; found a second `---`",
                );
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar_value(text, style, tag.as_ref());
                self.node_done(value, 1, anchor, here);
            }
            Event::Alias(id) => {
                let Some((value, nodes)) = self.anchors.get(&id).cloned() else {
                    return self.fail(here, "alias to an unknown anchor");
                };
                self.alias_nodes += nodes;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return self.fail(
                        here,
                        "too many alias expansions (a YAML alias bomb?): refusing to expand",
                    );
                }
                self.node_done(value, nodes, 0, here);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.fail(here, "the document is nested too deeply");
                }
                let is_sequence = matches!(event, Event::SequenceStart(..));
                let (path, item_path) = self.open_path(here, is_sequence);
                self.stack.push(if is_sequence {
                    Frame::Sequence {
                        path,
                        anchor,
                        items: Vec::new(),
                        nodes: 1,
                    }
                } else {
                    Frame::Mapping {
                        path,
                        anchor,
                        map: Mapping::new(),
                        key: None,
                        item_path,
                        nodes: 1,
                    }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, nodes, anchor) = match self.stack.pop() {
                    Some(Frame::Mapping {
                        map, nodes, anchor, ..
                    }) => (Value::Mapping(map), nodes, anchor),
                    Some(Frame::Sequence {
                        items,
                        nodes,
                        anchor,
                        ..
                    }) => (Value::Sequence(items), nodes, anchor),
                    None => return Ok(()),
                };
                self.node_done(value, nodes, anchor, here);
            }
            _ => {}
        }
        Ok(())
    }

    /// The path of a node that starts here, and for a mapping that is a list
    /// item, the item path still to be located (at its first key).
    fn open_path(&mut self, here: Mark, is_sequence: bool) -> (String, Option<String>) {
        if !self.recording() {
            return (String::new(), None);
        }
        let location = self.location(here);
        match self.stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::Mapping { path, key, .. }) => match key {
                Some((_, text, _)) => (child(path, text), None),
                // A collection used as a key: rare; give it a placeholder.
                None => (child(path, "?"), None),
            },
            Some(Frame::Sequence { path, items, .. }) => {
                let item = index(path, items.len());
                if is_sequence {
                    self.scan.map.insert_if_absent(item.clone(), location);
                    (item, None)
                } else {
                    (item.clone(), Some(item))
                }
            }
        }
    }

    /// A complete node: remember its anchor, then put it in its parent.
    fn node_done(&mut self, value: Value, nodes: usize, anchor: usize, here: Mark) {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        let recording = self.recording();
        match self.stack.last_mut() {
            None => self.scan.value = Some(value),
            Some(Frame::Sequence {
                path,
                items,
                nodes: total,
                ..
            }) => {
                if recording {
                    self.scan
                        .map
                        .insert_if_absent(index(path, items.len()), here.in_file(&self.file));
                }
                items.push(value);
                *total += nodes;
            }
            Some(Frame::Mapping {
                path,
                map,
                key,
                item_path,
                nodes: total,
                ..
            }) => {
                *total += nodes;
                match key.take() {
                    Some((key_value, text, key_mark)) => {
                        // A key already in the mapping is a duplicate.
                        if map.insert(key_value, value).is_some() {
                            self.scan
                                .duplicates
                                .push((child(path, &text), key_mark.in_file(&self.file)));
                        }
                    }
                    None if recording => {
                        if let Some(item) = item_path.take() {
                            self.scan
                                .map
                                .insert_if_absent(item, here.in_file(&self.file));
                        }
                        let text = key_text(&value);
                        self.scan
                            .map
                            .insert_if_absent(child(path, &text), here.in_file(&self.file));
                        *key = Some((value, text, here));
                    }
                    None => *key = Some((value, String::new(), here)),
                }
            }
        }
    }
}

/// A mapping key as path text.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "null".to_string(),
        _ => "?".to_string(),
    }
}

/// Resolve a scalar as YAML 1.2's core schema does (what serde_yaml does):
/// quoted and block scalars are strings; plain ones may be null, booleans
/// or numbers. `!!str` forces a string.
fn scalar_value(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if style != TScalarStyle::Plain || tag.is_some_and(|t| t.suffix == "str") {
        return Value::String(text);
    }
    plain_scalar(text)
}

/// An untagged plain scalar: null, a boolean, a number, or else a string.
pub(super) fn plain_scalar(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = plain_number(&text) {
        return Value::Number(number);
    }
    Value::String(text)
}

fn plain_number(text: &str) -> Option<serde_yaml::Number> {
    let first = text.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Into::into);
    }
    if let Some(octal) = unsigned.strip_prefix("0o") {
        return u64::from_str_radix(octal, 8).ok().map(Into::into);
    }
    if let Ok(n) = unsigned.parse::<u64>() {
        return Some(n.into());
    }
    if let Ok(n) = unsigned.parse::<i64>() {
        return Some(n.into());
    }
    match unsigned.to_ascii_lowercase().as_str() {
        ".inf" => return Some(f64::INFINITY.into()),
        "-.inf" => return Some(f64::NEG_INFINITY.into()),
        ".nan" => return Some(f64::NAN.into()),
        _ => {}
    }
    // Rust accepts "inf"/"nan"/"infinity" spellings YAML does not.
    let looks_numeric = unsigned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if looks_numeric && unsigned.chars().any(|c| c.is_ascii_digit()) {
        return unsigned.parse::<f64>().ok().map(Into::into);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<SourceFile>, Vec<String>) {
        let mut diags = Diagnostics::default();
        let file = parse_text(Path::new("compose.yaml"), text, &mut diags);
        let messages = diags.into_vec().iter().map(|d| d.to_string()).collect();
        (file, messages)
    }

    #[test]
    fn records_lines_and_columns_of_nested_fields() {
        let text = "services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n      - target: 81\n";
        let (file, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(file.is_some());
        let map = locate_fields(Path::new("compose.yaml"), text);
        let at = |path: &str| {
            let l = map.locate(path).unwrap();
            (l.line, l.column)
        };
        assert_eq!(at("services"), (1, 1));
        assert_eq!(at("services.web"), (2, 3));
        assert_eq!(at("services.web.image"), (3, 5));
        assert_eq!(at("services.web.ports[0]"), (5, 9));
        assert_eq!(at("services.web.ports[1]"), (6, 9));
        assert_eq!(at("services.web.ports[1].target"), (6, 9));
    }

    #[test]
    fn empty_and_comment_only_files_are_refused() {
        for text in ["", "   \n", "# nothing\n---\n", "null\n", "~"] {
            let (file, errors) = parse(text);
            assert!(file.is_none());
            assert!(
                errors[0].contains("the file is empty"),
                "{text:?}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_non_mapping_top_level_is_refused() {
        let (_, errors) = parse("- a\n- b\n");
        assert!(errors[0].contains("expected a mapping"), "{errors:?}");
    }

    #[test]
    fn duplicate_keys_name_the_line() {
        let (_, errors) = parse("services:\n  web:\n    image: a\n    image: b\n");
        assert!(
            errors[0].contains("compose.yaml:4:5: services.web.image: duplicate key"),
            "{errors:?}"
        );
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let (_, errors) = parse("services:\n  web: [unclosed\n");
        assert!(errors[0].contains("compose.yaml:"), "{errors:?}");
        assert!(errors[0].contains("invalid YAML"), "{errors:?}");
    }

    #[test]
    fn alias_bombs_are_refused_quickly() {
        let mut text =
            String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        let mut previous = 'a';
        for name in 'b'..='k' {
            text.push_str(&format!(
                "{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"
            ));
            previous = name;
        }
        text.push_str("services: {web: {image: x}}\n");
        let started = std::time::Instant::now();
        let (file, errors) = parse(&text);
        assert!(file.is_none());
        assert!(errors[0].contains("alias"), "{errors:?}");
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn merge_keys_are_applied() {
        let text =
            "x-base: &base\n  restart: always\nservices:\n  web:\n    <<: *base\n    image: a\n";
        let (file, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        let value = file.unwrap().value;
        assert_eq!(value["services"]["web"]["restart"], Value::from("always"));
    }
}
