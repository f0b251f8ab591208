//! Build contexts: which files a build sends (`.dockerignore`) and the tar
//! archive the engine's `/build` endpoint takes. Pure file-system work, no
//! engine: everything here is unit-tested without Docker.
//!
//! `.dockerignore` follows Docker's own rules (moby `patternmatcher`), so a
//! context behaves the same under `stackctl` as under `docker build`:
//! - one pattern per line, surrounding whitespace trimmed, `#` lines are
//!   comments; patterns are cleaned (`./a/` → `a`, `/a` → `a`) and always
//!   relative to the context root (no implicit `**/` as in `.gitignore`);
//! - `*` and `?` stay within one path segment, `**` spans any number of them;
//! - a pattern matching a directory excludes everything below it;
//! - `!pattern` re-includes; the last matching line wins;
//! - the Dockerfile and `.dockerignore` are always sent (the daemon drops them
//!   from `COPY .` itself when they are ignored).

use globset::{GlobBuilder, GlobMatcher};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// The ignore file Docker reads at the root of a context.
pub const IGNORE_FILE: &str = ".dockerignore";
/// The Dockerfile used when the build does not name one.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";
/// Name given inside the archive to a Dockerfile that lives outside the
/// context (the docker CLI does the same with a random `.dockerfile.*` name).
const EXTERNAL_DOCKERFILE: &str = ".stackctl.Dockerfile";

#[derive(Debug, Error)]
pub enum ContextError {
    #[error("build context `{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("Dockerfile `{}` not found", .0.display())]
    MissingDockerfile(PathBuf),
    #[error("{}: line {line}: invalid pattern `{pattern}`: {cause}", IGNORE_FILE)]
    Pattern {
        line: usize,
        pattern: String,
        cause: String,
    },
    #[error("cannot read `{}`: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ContextError + '_ {
    move |source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One `.dockerignore` line, compiled.
#[derive(Debug, Clone)]
struct Rule {
    matcher: GlobMatcher,
    /// A `!` line: matching paths are sent after all.
    exception: bool,
    /// The cleaned pattern, for the "may an exception match below this
    /// directory?" check.
    pattern: String,
}

/// Compiled `.dockerignore` rules.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parse the text of a `.dockerignore` file.
    pub fn parse(text: &str) -> Result<IgnoreRules, ContextError> {
        let mut rules = Vec::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, raw) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let rule = compile_rule(raw, exception).map_err(|cause| ContextError::Pattern {
                line: index + 1,
                pattern: line.to_string(),
                cause,
            })?;
            rules.push(rule);
        }
        Ok(IgnoreRules { rules })
    }

    /// Read `.dockerignore` from a context root; no file means no rules.
    pub fn load(context: &Path) -> Result<IgnoreRules, ContextError> {
        let path = context.join(IGNORE_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => IgnoreRules::parse(&text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(IgnoreRules::default()),
            Err(err) => Err(io_error(&path)(err)),
        }
    }

    /// Force `path` to be sent whatever the patterns say (added last, so it
    /// wins), as the docker CLI does for the Dockerfile and `.dockerignore`.
    pub fn always_send(&mut self, path: &str) {
        if let Ok(rule) = compile_rule(&escape_glob(path), true) {
            self.rules.push(rule);
        }
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left
    /// out of the context. A pattern matching one of its parent directories
    /// counts as matching the path.
    pub fn is_excluded(&self, path: &str) -> bool {
        let parents: Vec<&str> = path
            .match_indices('/')
            .map(|(index, _)| &path[..index])
            .collect();
        let mut excluded = false;
        for rule in &self.rules {
            // Only a rule that could change the verdict needs evaluating.
            if rule.exception != excluded {
                continue;
            }
            let hit = rule.matcher.is_match(path)
                || parents.iter().any(|parent| rule.matcher.is_match(parent));
            if hit {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    /// Whether an excluded directory must still be walked because an
    /// exception might re-include something below it. Conservative: when in
    /// doubt, walk (only costs time, never correctness).
    fn may_reinclude_below(&self, dir: &str) -> bool {
        let below = format!("{dir}/");
        self.rules.iter().filter(|rule| rule.exception).any(|rule| {
            let literal = literal_prefix(&rule.pattern);
            literal.starts_with(&below) || below.starts_with(literal)
        })
    }
}

/// Compile one pattern the way Docker cleans and reads it.
fn compile_rule(raw: &str, exception: bool) -> Result<Rule, String> {
    let pattern = clean_pattern(raw);
    if pattern.is_empty() {
        return Err("empty pattern".to_string());
    }
    let matcher = GlobBuilder::new(&escape_braces(&pattern))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|err| err.kind().to_string())?
        .compile_matcher();
    Ok(Rule {
        matcher,
        exception,
        pattern,
    })
}

/// Go's `filepath.Clean` plus Docker's leading-`/` strip: `./a//b/` → `a/b`,
/// `/a` → `a`, `a/../b` → `b`.
fn clean_pattern(raw: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Docker patterns have no `{a,b}` alternation; globset does. Make braces literal.
fn escape_braces(pattern: &str) -> String {
    pattern.replace('{', "[{]").replace('}', "[}]")
}

/// Make a literal path usable as a pattern.
fn escape_glob(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for ch in path.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The part of a pattern before its first wildcard.
fn literal_prefix(pattern: &str) -> &str {
    let end = pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len());
    &pattern[..end]
}

/// A build context ready to send.
#[derive(Debug)]
pub struct ContextArchive {
    /// The uncompressed tar stream.
    pub tar: Vec<u8>,
    /// The Dockerfile's path inside the archive (the `dockerfile` build option).
    pub dockerfile: String,
    /// Paths sent, relative to the root, in archive order (for tests and `--verbose`).
    pub entries: Vec<String>,
}

/// Tar up `context` for a build, leaving out what `.dockerignore` excludes.
///
/// `dockerfile` is relative to the context (default `Dockerfile`) or absolute;
/// a Dockerfile outside the context is added under a private name, and that
/// name is appended to the archive's `.dockerignore` so `COPY .` skips it.
/// Blocking I/O: call it from `spawn_blocking` in async code.
pub fn create_archive(
    context: &Path,
    dockerfile: Option<&str>,
) -> Result<ContextArchive, ContextError> {
    if !context.is_dir() {
        return Err(ContextError::NotADirectory(context.to_path_buf()));
    }
    let dockerfile_path = context.join(dockerfile.unwrap_or(DEFAULT_DOCKERFILE));
    if !dockerfile_path.is_file() {
        return Err(ContextError::MissingDockerfile(dockerfile_path));
    }
    let inside = relative_inside(context, &dockerfile_path);
    let mut rules = IgnoreRules::load(context)?;
    rules.always_send(IGNORE_FILE);
    if let Some(relative) = &inside {
        rules.always_send(relative);
    }

    let mut writer = ArchiveWriter::new(rules);
    writer.walk(context, "")?;
    let dockerfile = match inside {
        Some(relative) => relative,
        None => writer.add_external_dockerfile(context, &dockerfile_path)?,
    };
    let tar = writer.builder.into_inner().map_err(io_error(context))?;
    Ok(ContextArchive {
        tar,
        dockerfile,
        entries: writer.entries,
    })
}

/// `path` relative to `root` with `/` separators, if it lies inside `root`
/// (lexically: `..` components are resolved, symlinks are not).
fn relative_inside(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let mut parts: Vec<String> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Walks the context and writes the tar, applying the ignore rules.
struct ArchiveWriter {
    builder: tar::Builder<Vec<u8>>,
    rules: IgnoreRules,
    entries: Vec<String>,
}

impl ArchiveWriter {
    fn new(rules: IgnoreRules) -> ArchiveWriter {
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        ArchiveWriter {
            builder,
            rules,
            entries: Vec::new(),
        }
    }

    /// Add the children of `dir` (whose archive path is `prefix`), sorted so
    /// the archive, and thus the build cache, does not depend on readdir order.
    fn walk(&mut self, dir: &Path, prefix: &str) -> Result<(), ContextError> {
        let mut children: Vec<_> = fs::read_dir(dir)
            .map_err(io_error(dir))?
            .collect::<Result<_, _>>()
            .map_err(io_error(dir))?;
        children.sort_by_key(|entry| entry.file_name());
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            self.add(&child.path(), &relative)?;
        }
        Ok(())
    }

    fn add(&mut self, path: &Path, relative: &str) -> Result<(), ContextError> {
        let meta = fs::symlink_metadata(path).map_err(io_error(path))?;
        let excluded = self.rules.is_excluded(relative);
        if meta.is_dir() {
            if !excluded {
                self.append(path, relative, &meta)?;
            }
            if !excluded || self.rules.may_reinclude_below(relative) {
                self.walk(path, relative)?;
            }
            return Ok(());
        }
        if excluded {
            return Ok(());
        }
        if meta.is_file() || meta.file_type().is_symlink() {
            self.append(path, relative, &meta)?;
        }
        // Sockets, FIFOs and devices are skipped: a build cannot use them.
        Ok(())
    }

    /// Write one entry, owned by root as the docker CLI sends them (files
    /// `COPY`ed without `--chown` belong to root in the image anyway).
    fn append(
        &mut self,
        path: &Path,
        relative: &str,
        meta: &fs::Metadata,
    ) -> Result<(), ContextError> {
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        header.set_uid(0);
        header.set_gid(0);
        let result = if meta.file_type().is_symlink() {
            let target = fs::read_link(path).map_err(io_error(path))?;
            self.builder.append_link(&mut header, relative, target)
        } else if meta.is_dir() {
            self.builder.append_data(&mut header, relative, io::empty())
        } else {
            let file = fs::File::open(path).map_err(io_error(path))?;
            self.builder.append_data(&mut header, relative, file)
        };
        result.map_err(io_error(path))?;
        self.entries.push(relative.to_string());
        Ok(())
    }

    /// Add a Dockerfile from outside the context under a private name, and
    /// (re)write `.dockerignore` so the daemon keeps that name out of `COPY .`.
    fn add_external_dockerfile(
        &mut self,
        context: &Path,
        dockerfile: &Path,
    ) -> Result<String, ContextError> {
        let contents = fs::read(dockerfile).map_err(io_error(dockerfile))?;
        self.append_bytes(EXTERNAL_DOCKERFILE, &contents)
            .map_err(io_error(dockerfile))?;
        let ignore_path = context.join(IGNORE_FILE);
        let mut ignore = match fs::read_to_string(&ignore_path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(io_error(&ignore_path)(err)),
        };
        if !ignore.is_empty() && !ignore.ends_with('\n') {
            ignore.push('\n');
        }
        ignore.push_str(&format!("{EXTERNAL_DOCKERFILE}\n{IGNORE_FILE}\n"));
        // A later entry with the same name replaces the earlier one on extraction.
        self.append_bytes(IGNORE_FILE, ignore.as_bytes())
            .map_err(io_error(&ignore_path))?;
        Ok(EXTERNAL_DOCKERFILE.to_string())
    }

    fn append_bytes(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(bytes.len() as u64);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or(0),
        );
        self.builder.append_data(&mut header, name, bytes)?;
        if !self.entries.iter().any(|entry| entry == name) {
            self.entries.push(name.to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).expect("valid patterns")
    }

    #[test]
    fn comments_blank_lines_and_whitespace_are_ignored() {
        let r = rules("# a comment\n\n   \n  secret.txt  \n");
        assert!(r.is_excluded("secret.txt"));
        assert!(!r.is_excluded("# a comment"));
        assert!(!r.is_excluded("other.txt"));
    }

    #[test]
    fn patterns_are_anchored_at_the_root() {
        let r = rules("*.log\n");
        assert!(r.is_excluded("a.log"));
        assert!(
            !r.is_excluded("dir/a.log"),
            "unlike .gitignore, no implicit **/"
        );
    }

    #[test]
    fn double_star_spans_directories() {
        let r = rules("**/*.log\na/**/z\n");
        assert!(r.is_excluded("a.log"));
        assert!(r.is_excluded("dir/sub/a.log"));
        assert!(r.is_excluded("a/z"));
        assert!(r.is_excluded("a/b/c/z"));
        assert!(!r.is_excluded("b/z"));
    }

    #[test]
    fn single_star_and_question_mark_stay_in_one_segment() {
        let r = rules("src/*.tmp\nfile?.txt\n");
        assert!(r.is_excluded("src/a.tmp"));
        assert!(!r.is_excluded("src/deep/a.tmp"));
        assert!(r.is_excluded("file1.txt"));
        assert!(!r.is_excluded("file10.txt"));
        assert!(!r.is_excluded("file/.txt"));
    }

    #[test]
    fn a_matching_directory_excludes_everything_below_it() {
        let r = rules("node_modules\n");
        assert!(r.is_excluded("node_modules"));
        assert!(r.is_excluded("node_modules/pkg/index.js"));
        assert!(!r.is_excluded("src/node_modules_helper.js"));
    }

    #[test]
    fn exceptions_reinclude_and_the_last_match_wins() {
        let r = rules("docs\n!docs/keep.md\n");
        assert!(r.is_excluded("docs/other.md"));
        assert!(!r.is_excluded("docs/keep.md"));

        let r = rules("!keep.txt\n*\n");
        assert!(
            r.is_excluded("keep.txt"),
            "a later exclusion overrides an earlier exception"
        );

        let r = rules("*\n!keep.txt\n");
        assert!(!r.is_excluded("keep.txt"));
        assert!(r.is_excluded("other.txt"));
    }

    #[test]
    fn patterns_are_cleaned_like_docker_does() {
        let r = rules("./build/\n/dist\nlib/../tmp\n");
        assert!(r.is_excluded("build/x"));
        assert!(r.is_excluded("dist"));
        assert!(r.is_excluded("tmp/y"));
        assert!(!r.is_excluded("lib/x"));
    }

    #[test]
    fn braces_are_literal_and_escapes_work() {
        let r = rules("{a,b}.txt\nstar\\*.txt\n");
        assert!(r.is_excluded("{a,b}.txt"));
        assert!(!r.is_excluded("a.txt"));
        assert!(r.is_excluded("star*.txt"));
        assert!(!r.is_excluded("starx.txt"));
    }

    #[test]
    fn a_bare_exclamation_mark_is_an_error_naming_the_line() {
        let err = IgnoreRules::parse("ok\n!\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn always_send_overrides_patterns() {
        let mut r = rules("*\n");
        r.always_send("Dockerfile");
        assert!(!r.is_excluded("Dockerfile"));
        assert!(r.is_excluded("other"));
    }

    /// A temporary context with the given files (`->` makes a symlink).
    fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, contents) in files {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            match contents.strip_prefix("-> ") {
                Some(target) => std::os::unix::fs::symlink(target, &full).unwrap(),
                None => fs::write(&full, contents).unwrap(),
            }
        }
        dir
    }

    /// Archive entries: path → contents (dirs "<dir>", symlinks "-> target").
    fn unpack(tar_bytes: &[u8]) -> BTreeMap<String, String> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut out = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            assert_eq!(entry.header().uid().unwrap(), 0, "{path} owned by root");
            let value = match entry.header().entry_type() {
                tar::EntryType::Directory => "<dir>".to_string(),
                tar::EntryType::Symlink => {
                    format!("-> {}", entry.link_name().unwrap().unwrap().display())
                }
                _ => {
                    let mut text = String::new();
                    io::Read::read_to_string(&mut entry, &mut text).unwrap();
                    text
                }
            };
            out.insert(path, value);
        }
        out
    }

    #[test]
    fn archive_respects_dockerignore_but_always_sends_dockerfile_and_ignore_file() {
        let dir = context(&[
            ("Dockerfile", "FROM scratch\n"),
            (
                ".dockerignore",
                "*.secret\nlogs\nDockerfile\n.dockerignore\nvendor\n!vendor/keep/**\n",
            ),
            ("app.txt", "app"),
            ("db.secret", "pw"),
            ("logs/a.log", "log"),
            ("vendor/drop/x", "x"),
            ("vendor/keep/y", "y"),
            ("link", "-> app.txt"),
        ]);
        let archive = create_archive(dir.path(), None).unwrap();
        assert_eq!(archive.dockerfile, "Dockerfile");
        let files = unpack(&archive.tar);
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                ".dockerignore",
                "Dockerfile",
                "app.txt",
                "link",
                "vendor/keep/y"
            ],
            "an excluded directory gets no entry of its own, only its re-included files"
        );
        assert_eq!(files["link"], "-> app.txt", "symlinks are sent as symlinks");
        assert_eq!(files["app.txt"], "app");
    }

    #[test]
    fn dockerfile_in_a_subdirectory_is_referenced_by_its_relative_path() {
        let dir = context(&[("docker/Dockerfile.dev", "FROM scratch\n"), ("a", "a")]);
        let archive = create_archive(dir.path(), Some("./docker/Dockerfile.dev")).unwrap();
        assert_eq!(archive.dockerfile, "docker/Dockerfile.dev");
        assert!(archive
            .entries
            .contains(&"docker/Dockerfile.dev".to_string()));
    }

    #[test]
    fn dockerfile_outside_the_context_is_added_and_hidden_from_copy() {
        let outer = context(&[
            ("Dockerfile.outside", "FROM scratch\n"),
            ("ctx/a", "a"),
            ("ctx/.dockerignore", "b"),
        ]);
        let ctx = outer.path().join("ctx");
        let archive = create_archive(&ctx, Some("../Dockerfile.outside")).unwrap();
        assert_eq!(archive.dockerfile, EXTERNAL_DOCKERFILE);
        let mut seen_ignore = Vec::new();
        let mut tar = tar::Archive::new(&archive.tar[..]);
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_str() == Some(IGNORE_FILE) {
                let mut text = String::new();
                io::Read::read_to_string(&mut entry, &mut text).unwrap();
                seen_ignore.push(text);
            }
        }
        let last = seen_ignore.last().expect("a .dockerignore entry");
        assert_eq!(last, &format!("b\n{EXTERNAL_DOCKERFILE}\n{IGNORE_FILE}\n"));
        assert_eq!(unpack(&archive.tar)[EXTERNAL_DOCKERFILE], "FROM scratch\n");
    }

    #[test]
    fn missing_dockerfile_and_context_are_clear_errors() {
        let dir = context(&[("a", "a")]);
        let err = create_archive(dir.path(), None).unwrap_err();
        assert!(matches!(err, ContextError::MissingDockerfile(_)), "{err}");
        let err = create_archive(&dir.path().join("nope"), None).unwrap_err();
        assert!(matches!(err, ContextError::NotADirectory(_)), "{err}");
    }

    #[test]
    fn excluded_directories_without_exceptions_are_not_walked() {
        let r = rules("node_modules\n!src/keep\n");
        assert!(!r.may_reinclude_below("node_modules"));
        assert!(r.may_reinclude_below("src"));
        let r = rules("node_modules\n!*.md\n");
        assert!(
            r.may_reinclude_below("node_modules"),
            "a wildcard exception is conservative"
        );
    }
}
