//! Diagnostics: every problem the loader finds names the file, the line and
//! column (when the YAML parser knows them), the field path and what was expected.

use rustc_hash::FxHashMap;
use std::cell::OnceCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a node sits in a source file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Shared: every field of a file points at the same path.
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

/// Field path → location of the node, built from the YAML event stream.
/// Paths look like `services.web.ports[0]`; keys of mappings are recorded at
/// the path of the value they introduce.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    // Fx rather than SipHash: paths come from the user's own file, and
    // hashing them was a tenth of `config`'s time on 1000 services.
    locations: FxHashMap<String, Location>,
}

impl SourceMap {
    pub fn insert(&mut self, path: String, location: Location) {
        self.locations.insert(path, location);
    }

    pub fn insert_if_absent(&mut self, path: String, location: Location) {
        self.locations.entry(path).or_insert(location);
    }

    /// True when `path` itself (not an ancestor) was seen in a file.
    pub fn contains(&self, path: &str) -> bool {
        self.locations.contains_key(path)
    }

    /// Later files override earlier ones, as their values do.
    pub fn extend(&mut self, other: SourceMap) {
        if self.locations.is_empty() {
            self.locations = other.locations; // the usual single file: no rehash
            return;
        }
        self.locations.extend(other.locations);
    }

    /// The location of `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> Option<&Location> {
        let mut current = path;
        loop {
            if let Some(location) = self.locations.get(current) {
                return Some(location);
            }
            current = parent_path(current)?;
        }
    }

    pub fn len(&self) -> usize {
        self.locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → None.
fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    match path.rfind(['.', '[']) {
        Some(index) => Some(&path[..index]),
        None => Some(""),
    }
}

// `child` and `index` build a path for nearly every field the loader reads,
// so they concatenate by hand: `format!` cost five times as much, a fifth of
// `config`'s work on a 1000-service file.

/// Join a mapping key onto a path.
pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        return key.to_string();
    }
    let mut out = String::with_capacity(path.len() + 1 + key.len());
    out.push_str(path);
    out.push('.');
    out.push_str(key);
    out
}

/// Join a sequence index onto a path.
pub fn index(path: &str, index: usize) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    out.push_str(path);
    push_index(&mut out, index);
    out
}

/// Append `[index]` to a path being built in place.
pub fn push_index(path: &mut String, index: usize) {
    path.push('[');
    path.push_str(itoa::Buffer::new().format(index));
    path.push(']');
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Option<Location>,
    /// Field path, e.g. `services.nginx_app.deploy.resources.limits.memory`;
    /// empty for whole-file problems.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: ")?;
        if let Some(location) = &self.location {
            write!(
                f,
                "{}:{}:{}: ",
                location.file.display(),
                location.line,
                location.column
            )?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)
    }
}

/// The text of a parsed compose file, kept so locations can be found when
/// something needs reporting.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub file: Arc<Path>,
    pub text: Arc<str>,
}

/// Collects diagnostics during a load so that all problems are reported at
/// once, not just the first.
///
/// The field → location map is built only when the first diagnostic needs it:
/// a clean load never pays for it (on a 1000-service file it was most of the
/// parse time), and a load with problems re-reads the already-parsed texts.
#[derive(Debug, Default)]
pub struct Diagnostics {
    sources: Vec<SourceText>,
    source_map: OnceCell<SourceMap>,
    /// Used when a path has no recorded location (e.g. file-level problems).
    pub default_file: Option<PathBuf>,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Diagnostics located with a map built up front (tests, callers that
    /// have one already).
    pub fn new(source_map: SourceMap, default_file: Option<PathBuf>) -> Self {
        Diagnostics {
            sources: Vec::new(),
            source_map: OnceCell::from(source_map),
            default_file,
            items: Vec::new(),
        }
    }

    /// Diagnostics located in these files, in load order (later files
    /// override earlier ones, as their values do).
    pub fn for_sources(sources: Vec<SourceText>, default_file: Option<PathBuf>) -> Self {
        Diagnostics {
            sources,
            source_map: OnceCell::new(),
            default_file,
            items: Vec::new(),
        }
    }

    /// Where each field path sits; built from the sources on first use.
    pub fn source_map(&self) -> &SourceMap {
        self.source_map.get_or_init(|| {
            let mut map = SourceMap::default();
            for source in &self.sources {
                map.extend(super::parse::locate_fields(&source.file, &source.text));
            }
            map
        })
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, path, message.into());
    }

    pub fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, path, message.into());
    }

    /// An error at a known location (e.g. a YAML syntax error).
    pub fn error_at(&mut self, file: &Path, line: usize, column: usize, message: String) {
        self.items.push(Diagnostic {
            severity: Severity::Error,
            location: Some(Location {
                file: file.into(),
                line,
                column,
            }),
            path: String::new(),
            message,
        });
    }

    /// An error about a whole file (missing, empty...).
    pub fn error_in_file(&mut self, file: &Path, message: String) {
        self.items.push(Diagnostic {
            severity: Severity::Error,
            location: None,
            path: String::new(),
            message: format!("{}: {message}", file.display()),
        });
    }

    fn push(&mut self, severity: Severity, path: &str, message: String) {
        let location = self.source_map().locate(path).cloned().or_else(|| {
            self.default_file.as_ref().map(|file| Location {
                file: file.as_path().into(),
                line: 1,
                column: 1,
            })
        });
        self.items.push(Diagnostic {
            severity,
            location,
            path: path.to_string(),
            message,
        });
    }

    /// Carry over diagnostics recorded earlier (e.g. before the source map existed).
    pub fn extend(&mut self, earlier: Vec<Diagnostic>) {
        self.items.extend(earlier);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// "did you mean `image`?" for a misspelt key, when something is close enough.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_falls_back_to_ancestors() {
        let mut map = SourceMap::default();
        let location = Location {
            file: Path::new("c.yaml").into(),
            line: 3,
            column: 5,
        };
        map.insert("services.web".into(), location.clone());
        assert_eq!(map.locate("services.web.ports[2].target"), Some(&location));
        assert_eq!(map.locate("volumes"), None);
    }

    #[test]
    fn paths_join_keys_and_indexes() {
        assert_eq!(child("", "services"), "services");
        assert_eq!(child("services", "web"), "services.web");
        assert_eq!(index("services.web.ports", 0), "services.web.ports[0]");
        assert_eq!(index("a", 1234567), "a[1234567]");
        assert_eq!(index("a", usize::MAX), format!("a[{}]", usize::MAX));
    }

    #[test]
    fn suggestions_pick_the_closest_key() {
        let keys = ["image", "build", "command"];
        assert_eq!(did_you_mean("imgae", keys), Some("image"));
        assert_eq!(did_you_mean("zzzz", keys), None);
    }

    #[test]
    fn display_names_file_line_path_and_message() {
        let mut map = SourceMap::default();
        map.insert(
            "services.web.image".into(),
            Location {
                file: Path::new("compose.yaml").into(),
                line: 4,
                column: 12,
            },
        );
        let mut diags = Diagnostics::new(map, None);
        diags.error("services.web.image", "expected a string");
        let text = diags.into_vec()[0].to_string();
        assert_eq!(
            text,
            "error: compose.yaml:4:12: services.web.image: expected a string"
        );
    }
}
