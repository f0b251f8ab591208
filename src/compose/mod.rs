//! The compose model and its loader pipeline:
//! parse → interpolate → merge → normalize → validate.
//!
//! `load` runs every stage and collects all diagnostics; it returns a
//! validated `Project` only when no stage found an error.

pub mod block_yaml;
pub mod diag;
pub mod dotenv;
pub mod emit;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod ports;
pub mod reader;
pub mod units;
pub mod validate;

use diag::{Diagnostic, Diagnostics, SourceText};
use model::Project;
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File names looked for when no `-f` is given, in docker compose's order.
pub const DEFAULT_FILE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// What the command line (and the environment) tell the loader.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order; empty means "look in `cwd`".
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    /// `--env-file`: replaces `<project dir>/.env`.
    pub env_file: Option<PathBuf>,
    pub profiles: Vec<String>,
    /// The process environment; injected so tests do not depend on the shell.
    pub environment: HashMap<String, String>,
    pub cwd: PathBuf,
}

impl LoadOptions {
    /// Options with the real process environment and working directory.
    pub fn from_process() -> Self {
        LoadOptions {
            environment: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            ..Default::default()
        }
    }
}

/// A loaded project and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<Diagnostic>,
    /// Variables available for interpolation (process env over `.env`), kept
    /// for commands that need them later.
    pub variables: HashMap<String, String>,
}

/// Every problem found, errors and warnings, in file order.
#[derive(Debug)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<_> = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == diag::Severity::Error)
            .collect();
        for diagnostic in &errors {
            writeln!(f, "{diagnostic}")?;
        }
        let count = errors.len();
        write!(
            f,
            "{count} error{} found; nothing was changed",
            if count == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for LoadError {}

/// Run the whole pipeline.
pub fn load(options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut diags = Diagnostics::default();
    let Some(files) = find_files(options, &mut diags) else {
        return Err(LoadError {
            diagnostics: diags.into_vec(),
        });
    };
    let project_dir = project_directory(options, &files);
    let variables = variables(options, &project_dir, &mut diags);

    let sources: Vec<_> = files
        .iter()
        .filter_map(|file| parse::read_file(file, &mut diags))
        .collect();
    if diags.has_errors() {
        return Err(LoadError {
            diagnostics: diags.into_vec(),
        });
    }
    let texts = sources
        .iter()
        .map(|source| SourceText {
            file: source.path.as_path().into(),
            text: Arc::clone(&source.text),
        })
        .collect();
    let mut diags = with_sources(diags, texts, files.first().cloned());

    let mut document = Mapping::new();
    let lookup = |name: &str| variables.get(name).cloned();
    for source in sources {
        let mut value = source.value;
        interpolate::interpolate_value(&mut value, "", &lookup, &mut diags);
        if let Value::Mapping(map) = value {
            merge::merge_documents(&mut document, map);
        }
    }

    let name = project_name(options, &variables, &document, &project_dir, &mut diags);
    let context = normalize::Context {
        project_name: &name,
        working_dir: &project_dir,
    };
    let mut project = normalize::normalize(&document, &context, &mut diags);
    drop_in_background(document);
    project.compose_files = files;
    apply_profiles(&mut project, &active_profiles(options, &variables));
    validate::validate(&project, &mut diags);

    if diags.has_errors() {
        return Err(LoadError {
            diagnostics: diags.into_vec(),
        });
    }
    Ok(Loaded {
        project,
        warnings: diags.into_vec(),
        variables,
    })
}

/// Free a large value on a short-lived thread. The parsed document is a tree
/// of one allocation per node that nothing reads after normalization; its
/// teardown was a tenth of `config`'s time on a 1000-service file.
fn drop_in_background<T: Send + 'static>(value: T) {
    // If the thread cannot start, the closure (and `value`) drops here.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || drop(value));
}

/// Keep what was already reported; locate what comes next in the parsed texts.
fn with_sources(
    old: Diagnostics,
    sources: Vec<SourceText>,
    default_file: Option<PathBuf>,
) -> Diagnostics {
    let earlier = old.into_vec();
    let mut diags = Diagnostics::for_sources(sources, default_file);
    diags.extend(earlier);
    diags
}

/// The `-f` files, resolved against the working directory, or the first
/// default name found there.
fn find_files(options: &LoadOptions, diags: &mut Diagnostics) -> Option<Vec<PathBuf>> {
    if !options.files.is_empty() {
        let files: Vec<PathBuf> = options
            .files
            .iter()
            .map(|file| absolute(&options.cwd, file))
            .collect();
        let mut ok = true;
        for file in &files {
            if !file.is_file() {
                diags.error_in_file(file, "no such compose file".into());
                ok = false;
            }
        }
        return ok.then_some(files);
    }
    let dir = options
        .project_directory
        .as_ref()
        .map(|dir| absolute(&options.cwd, dir))
        .unwrap_or_else(|| options.cwd.clone());
    let found = DEFAULT_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        diags.error_in_file(
            &dir,
            format!(
                "no compose file found: looked for {} (use -f to name one)",
                DEFAULT_FILE_NAMES.join(", ")
            ),
        );
    }
    found.map(|file| vec![file])
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

fn project_directory(options: &LoadOptions, files: &[PathBuf]) -> PathBuf {
    match &options.project_directory {
        Some(dir) => absolute(&options.cwd, dir),
        None => files
            .first()
            .and_then(|file| file.parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| options.cwd.clone()),
    }
}

/// Interpolation variables: `.env` (or `--env-file`) under the process
/// environment, which wins.
fn variables(
    options: &LoadOptions,
    project_dir: &Path,
    diags: &mut Diagnostics,
) -> HashMap<String, String> {
    let mut variables = HashMap::new();
    let (file, explicit) = match &options.env_file {
        Some(file) => (absolute(&options.cwd, file), true),
        None => (project_dir.join(".env"), false),
    };
    match std::fs::read_to_string(&file) {
        Ok(text) => match dotenv::parse_env_file(&text) {
            Ok(values) => variables.extend(values),
            Err(err) => diags.error_at(&file, err.line, 1, err.message),
        },
        Err(err) if explicit => {
            diags.error_in_file(&file, format!("cannot read the env file: {err}"))
        }
        Err(_) => {}
    }
    variables.extend(options.environment.clone());
    variables
}

/// flag > COMPOSE_PROJECT_NAME > top-level `name:` > directory name.
fn project_name(
    options: &LoadOptions,
    variables: &HashMap<String, String>,
    document: &Mapping,
    project_dir: &Path,
    diags: &mut Diagnostics,
) -> String {
    let explicit = options
        .project_name
        .clone()
        .map(|name| (name, "-p/--project-name"))
        .or_else(|| {
            variables
                .get("COMPOSE_PROJECT_NAME")
                .filter(|name| !name.is_empty())
                .map(|name| (name.clone(), "COMPOSE_PROJECT_NAME"))
        })
        .or_else(|| {
            document
                .get("name")
                .and_then(Value::as_str)
                .map(|name| (name.to_string(), "name"))
        });
    if let Some((name, source)) = explicit {
        if !is_valid_project_name(&name) {
            let path = if source == "name" { "name" } else { "" };
            diags.error(
                path,
                format!(
                    "invalid project name `{name}` (from {source}): expected lower-case letters, digits, `_` or `-`, starting with a letter or digit"
                ),
            );
        }
        return name;
    }
    let dir_name = project_dir
        .file_name()
        .map(|name| name.to_string_lossy().to_string())
        .unwrap_or_default();
    let normalized = normalize_project_name(&dir_name);
    if normalized.is_empty() {
        diags.error(
            "",
            format!(
                "cannot derive a project name from the directory `{dir_name}`: use -p or a top-level `name:`"
            ),
        );
    }
    normalized
}

pub fn is_valid_project_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A directory name made into a project name, as compose does: lower-case,
/// invalid characters dropped, leading `_`/`-` trimmed.
pub fn normalize_project_name(dir_name: &str) -> String {
    let lowered: String = dir_name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

fn active_profiles(options: &LoadOptions, variables: &HashMap<String, String>) -> Vec<String> {
    let mut profiles = options.profiles.clone();
    if profiles.is_empty() {
        if let Some(list) = variables.get("COMPOSE_PROFILES") {
            profiles.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from),
            );
        }
    }
    profiles
}

/// Services with profiles run only when one of them is active (`*` enables all).
fn apply_profiles(project: &mut Project, active: &[String]) {
    let all = active.iter().any(|p| p == "*");
    let disabled: Vec<String> = project
        .services
        .iter()
        .filter(|(_, service)| {
            !service.profiles.is_empty()
                && !all
                && !service.profiles.iter().any(|p| active.contains(p))
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in disabled {
        if let Some(service) = project.services.remove(&name) {
            project.disabled_services.insert(name, service);
        }
    }
}
