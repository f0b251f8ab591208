//! Images: look up, pull, build, list and remove. Builds use the engine's
//! classic builder (`/build` with a tar context, as `docker build` without
//! BuildKit), which every engine we target has.

use super::context::{self, ContextArchive};
use super::{Engine, EngineError};
use crate::compose::model::Build;
use bollard::errors::Error as BollardError;
use bollard::models::{BuildInfo, CreateImageInfo};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::HashMap;

/// One progress event of a pull. The engine reports per layer: "Pulling fs
/// layer", "Downloading" (with bytes), "Extracting" (with bytes), "Pull
/// complete"; events without a layer are about the image as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullProgress {
    /// Layer id (short digest), or the tag for image-level messages.
    pub layer: Option<String>,
    pub status: String,
    /// Bytes done so far in the current phase (download or extraction).
    pub current: Option<u64>,
    /// Size of the layer in that phase, when the engine knows it.
    pub total: Option<u64>,
}

/// What `list_images` returns: the columns of `stackctl images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Full id (`sha256:…`).
    pub id: String,
    /// `repository:tag` names; empty for an untagged image.
    pub tags: Vec<String>,
    /// Bytes, including layers shared with other images.
    pub size: u64,
    /// Unix seconds.
    pub created: i64,
    pub labels: HashMap<String, String>,
}

/// Which images `list_images` returns. Filters combine as the engine combines
/// them: every label must match (AND); any reference may match (OR).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilter {
    /// `key` or `key=value`.
    pub labels: Vec<String>,
    /// References or patterns such as `stackctl-test/*` or `web:1.2`.
    pub references: Vec<String>,
}

impl ImageFilter {
    /// Images carrying a label (`key` or `key=value`).
    pub fn label(label: impl Into<String>) -> ImageFilter {
        ImageFilter {
            labels: vec![label.into()],
            ..ImageFilter::default()
        }
    }

    /// Images matching any of these references.
    pub fn references<S: Into<String>>(references: impl IntoIterator<Item = S>) -> ImageFilter {
        ImageFilter {
            references: references.into_iter().map(Into::into).collect(),
            ..ImageFilter::default()
        }
    }

    fn to_query(&self) -> HashMap<String, Vec<String>> {
        let mut filters = HashMap::new();
        if !self.labels.is_empty() {
            filters.insert("label".to_string(), self.labels.clone());
        }
        if !self.references.is_empty() {
            filters.insert("reference".to_string(), self.references.clone());
        }
        filters
    }
}

impl Engine {
    /// The id of a local image, or `None` when there is none by that name.
    /// Used to decide between using, pulling and building an image.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Pull `reference` (an untagged name means `:latest`, never "all tags"),
    /// reporting each progress event. A failure becomes `EngineError::Pull`,
    /// whose message tells the user how to get the image another way.
    pub async fn pull_image(
        &self,
        reference: &str,
        progress: &dyn Fn(PullProgress),
    ) -> Result<(), EngineError> {
        let (name, tag) = split_reference(reference);
        let options = CreateImageOptionsBuilder::new()
            .from_image(name)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => progress(pull_progress(info)),
                Err(err) => return Err(self.pull_failed(reference, &err).await),
            }
        }
        Ok(())
    }

    async fn pull_failed(&self, reference: &str, err: &BollardError) -> EngineError {
        let exists_locally = matches!(self.image_id(reference).await, Ok(Some(_)));
        EngineError::Pull {
            image: reference.to_string(),
            cause: engine_message(err),
            exists_locally,
        }
    }

    /// Build `build` and tag the result `tag`; returns the image id.
    ///
    /// The context is tarred in memory honouring `.dockerignore`. Each output
    /// line goes to `output` as it arrives. `rm`/`forcerm` are set so neither
    /// a successful nor a failed build leaves intermediate containers behind.
    /// A failing step becomes `EngineError::Build` naming that step.
    pub async fn build_image(
        &self,
        build: &Build,
        tag: &str,
        output: &dyn Fn(&str),
    ) -> Result<String, EngineError> {
        let archive = archive_context(build).await?;
        let options = build_options(build, tag, &archive.dockerfile);
        let body = bollard::body_full(archive.tar.into());
        let mut stream = self.docker.build_image(options, None, Some(body));
        let mut progress = BuildProgress::default();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => progress.record(info, output),
                Err(BollardError::DockerStreamError { error }) => progress.failed = Some(error),
                Err(BollardError::DockerResponseServerError { message, .. }) => {
                    progress.failed = Some(message)
                }
                // A garbled frame (seen rarely with bollard 0.21) says nothing
                // about the build itself: keep reading, decide by inspecting.
                Err(err) => progress.garbled = Some(err.to_string()),
            }
        }
        progress.flush(output);
        self.confirm_build(tag, progress).await
    }

    /// Turn what the stream said into a result, checked against the engine:
    /// the stream is only trusted for failures the engine itself reported.
    async fn confirm_build(
        &self,
        tag: &str,
        progress: BuildProgress,
    ) -> Result<String, EngineError> {
        if let Some(message) = progress.failed {
            return Err(EngineError::Build {
                image: tag.to_string(),
                step: progress.step,
                message,
            });
        }
        let id = self.image_id(tag).await?;
        match (id, progress.built_id()) {
            (Some(id), Some(built)) if id_matches(&id, &built) => Ok(id),
            // No id came through, but the stream was garbled and the tag exists.
            (Some(id), None) if progress.garbled.is_some() => Ok(id),
            (id, built) => Err(EngineError::Build {
                image: tag.to_string(),
                step: progress.step,
                message: format!(
                    "the build ended without producing the image (tagged: {}, reported: {}{})",
                    id.as_deref().unwrap_or("none"),
                    built.as_deref().unwrap_or("none"),
                    progress
                        .garbled
                        .map(|err| format!("; stream error: {err}"))
                        .unwrap_or_default()
                ),
            }),
        }
    }

    /// Remove an image. Returns `false` when there was no such image, so
    /// cleanup can call it unconditionally. `force` also untags an image
    /// used by stopped containers.
    pub async fn remove_image(&self, reference: &str, force: bool) -> Result<bool, EngineError> {
        let options = RemoveImageOptionsBuilder::new().force(force).build();
        match self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Local images matching `filter`, newest first.
    pub async fn list_images(&self, filter: &ImageFilter) -> Result<Vec<ImageInfo>, EngineError> {
        let options = ListImagesOptionsBuilder::new()
            .filters(&filter.to_query())
            .build();
        let mut images: Vec<ImageInfo> = self
            .docker
            .list_images(Some(options))
            .await?
            .into_iter()
            .map(|summary| ImageInfo {
                id: summary.id,
                tags: summary
                    .repo_tags
                    .into_iter()
                    .filter(|tag| tag != "<none>:<none>")
                    .collect(),
                size: u64::try_from(summary.size).unwrap_or(0),
                created: summary.created,
                labels: summary.labels,
            })
            .collect();
        images.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(images)
    }
}

/// The second sentence of a pull error: what the user can do about it.
pub(crate) fn pull_hint(image: &str, exists_locally: bool) -> String {
    if exists_locally {
        format!("The local copy of `{image}` is unchanged and can still be used")
    } else {
        format!(
            "No image named `{image}` exists locally; build it (add a `build:` section, \
             or run `docker build -t {image} ...`) or check the name"
        )
    }
}

/// " at step 2/3 (RUN false)" when the failing step is known.
pub(crate) fn step_suffix(step: Option<&str>) -> String {
    step.map(|step| format!(" at step {step}"))
        .unwrap_or_default()
}

fn is_not_found(err: &BollardError) -> bool {
    matches!(
        err,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The engine's own words, without bollard's "Docker responded with…" wrapper.
fn engine_message(err: &BollardError) -> String {
    match err {
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        BollardError::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

/// Split a reference into the `fromImage` and `tag` the pull API wants, as
/// the docker CLI does: `a/b:1` → (`a/b`, `1`); `a@sha256:…` → (`a`,
/// `sha256:…`); no tag → `latest` (an empty tag would pull every tag). A
/// `:` before the last `/` is a registry port, not a tag.
pub fn split_reference(reference: &str) -> (&str, &str) {
    if let Some((name, digest)) = reference.split_once('@') {
        return (name, digest);
    }
    let name_start = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_start..].rfind(':') {
        Some(colon) => {
            let colon = name_start + colon;
            (&reference[..colon], &reference[colon + 1..])
        }
        None => (reference, "latest"),
    }
}

fn pull_progress(info: CreateImageInfo) -> PullProgress {
    let detail = info.progress_detail.unwrap_or_default();
    PullProgress {
        layer: info.id,
        status: info.status.unwrap_or_default(),
        current: detail.current.and_then(|n| u64::try_from(n).ok()),
        total: detail.total.and_then(|n| u64::try_from(n).ok()),
    }
}

/// Tar the context off the async runtime: it reads the whole tree.
async fn archive_context(build: &Build) -> Result<ContextArchive, EngineError> {
    let directory = build.context.clone();
    let dockerfile = build.dockerfile.clone();
    tokio::task::spawn_blocking(move || context::create_archive(&directory, dockerfile.as_deref()))
        .await
        .map_err(|err| EngineError::Other(format!("build context task failed: {err}")))?
        .map_err(EngineError::from)
}

fn build_options(
    build: &Build,
    tag: &str,
    dockerfile: &str,
) -> bollard::query_parameters::BuildImageOptions {
    let mut options = BuildImageOptionsBuilder::new()
        .dockerfile(dockerfile)
        .t(tag)
        .rm(true)
        .forcerm(true)
        .buildargs(&build_args(build));
    if let Some(target) = &build.target {
        options = options.target(target);
    }
    options.build()
}

/// Build args as compose resolves them: `KEY: value` as given; a bare `KEY`
/// takes the value from stackctl's environment, and is left out when unset
/// (so the Dockerfile's `ARG KEY=default` applies).
fn build_args(build: &Build) -> HashMap<String, String> {
    build
        .args
        .iter()
        .filter_map(|(key, value)| {
            let value = value.clone().or_else(|| std::env::var(key).ok())?;
            Some((key.clone(), value))
        })
        .collect()
}

/// Whether an inspected id and a reported one (full, or the short id of
/// "Successfully built …") are the same image.
fn id_matches(full: &str, reported: &str) -> bool {
    let full = full.trim_start_matches("sha256:");
    let reported = reported.trim_start_matches("sha256:");
    !reported.is_empty() && full.starts_with(reported)
}

/// What the build stream said so far.
#[derive(Debug, Default)]
struct BuildProgress {
    /// Text not yet ending in a newline (output arrives in arbitrary chunks).
    partial: String,
    /// The step being run, e.g. `2/3 (RUN false)`.
    step: Option<String>,
    /// The id from the final `aux` message.
    aux_id: Option<String>,
    /// The short id from "Successfully built <id>".
    success_id: Option<String>,
    /// An error the engine reported: the build failed.
    failed: Option<String>,
    /// A stream error that is not the engine's verdict.
    garbled: Option<String>,
}

impl BuildProgress {
    fn record(&mut self, info: BuildInfo, output: &dyn Fn(&str)) {
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            self.aux_id = Some(id);
        }
        if let Some(text) = info.stream {
            self.partial.push_str(&text);
            self.emit_complete_lines(output);
        }
        if let Some(status) = info.status {
            let line = match info.id {
                Some(id) => format!("{id}: {status}"),
                None => status,
            };
            output(&line);
        }
    }

    fn emit_complete_lines(&mut self, output: &dyn Fn(&str)) {
        while let Some(newline) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=newline).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            self.observe(line);
            output(line);
        }
    }

    fn flush(&mut self, output: &dyn Fn(&str)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.observe(&line);
            output(&line);
        }
    }

    /// Track the current step and the final verdict from the builder's text.
    fn observe(&mut self, line: &str) {
        if let Some(step) = parse_step(line) {
            self.step = Some(step);
        } else if let Some(id) = line.strip_prefix("Successfully built ") {
            self.success_id = Some(id.trim().to_string());
        }
    }

    fn built_id(&self) -> Option<String> {
        self.aux_id.clone().or_else(|| self.success_id.clone())
    }
}

/// "Step 2/3 : RUN false" → "2/3 (RUN false)".
fn parse_step(line: &str) -> Option<String> {
    let rest = line.strip_prefix("Step ")?;
    let (number, instruction) = rest.split_once(" : ")?;
    Some(format!("{} ({})", number.trim(), instruction.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_like_the_docker_cli() {
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_reference("a/b:1.2"), ("a/b", "1.2"));
        assert_eq!(split_reference("reg:5000/a/b"), ("reg:5000/a/b", "latest"));
        assert_eq!(split_reference("reg:5000/a:v"), ("reg:5000/a", "v"));
        assert_eq!(
            split_reference("a@sha256:abcd"),
            ("a", "sha256:abcd"),
            "digests go in the tag parameter"
        );
    }

    #[test]
    fn steps_are_parsed_from_builder_output() {
        assert_eq!(
            parse_step("Step 2/3 : RUN sh -c 'exit 3'").as_deref(),
            Some("2/3 (RUN sh -c 'exit 3')")
        );
        assert_eq!(parse_step(" ---> Running in abc"), None);
    }

    #[test]
    fn output_is_split_into_whole_lines() {
        let lines = std::cell::RefCell::new(Vec::new());
        let output = |line: &str| lines.borrow_mut().push(line.to_string());
        let mut progress = BuildProgress::default();
        for chunk in [
            "Step 1/2 : FROM x\n ---> ab",
            "c\nhel",
            "lo\nSuccessfully built 1234\n",
            "tail",
        ] {
            progress.record(
                BuildInfo {
                    stream: Some(chunk.to_string()),
                    ..BuildInfo::default()
                },
                &output,
            );
        }
        progress.flush(&output);
        assert_eq!(
            *lines.borrow(),
            [
                "Step 1/2 : FROM x",
                " ---> abc",
                "hello",
                "Successfully built 1234",
                "tail"
            ]
        );
        assert_eq!(progress.step.as_deref(), Some("1/2 (FROM x)"));
        assert_eq!(progress.built_id().as_deref(), Some("1234"));
    }

    #[test]
    fn ids_match_in_full_or_short_form() {
        assert!(id_matches("sha256:abcdef", "sha256:abcdef"));
        assert!(id_matches("sha256:abcdef", "abc"));
        assert!(!id_matches("sha256:abcdef", "abd"));
        assert!(!id_matches("sha256:abcdef", ""));
    }

    #[test]
    fn bare_build_args_come_from_the_environment_or_are_left_out() {
        let mut build = Build::default();
        build.args.insert("GIVEN".into(), Some("1".into()));
        build.args.insert("PATH".into(), None);
        build.args.insert("STACKCTL_SURELY_UNSET_ARG".into(), None);
        let args = build_args(&build);
        assert_eq!(args["GIVEN"], "1");
        assert_eq!(args.get("PATH"), std::env::var("PATH").ok().as_ref());
        assert!(!args.contains_key("STACKCTL_SURELY_UNSET_ARG"));
    }

    #[test]
    fn pull_messages_say_what_to_do() {
        let err = EngineError::Pull {
            image: "web:1".into(),
            cause: "manifest unknown".into(),
            exists_locally: false,
        };
        assert_eq!(
            err.to_string(),
            "cannot pull `web:1`: manifest unknown. No image named `web:1` exists locally; \
             build it (add a `build:` section, or run `docker build -t web:1 ...`) or check the name"
        );
    }
}
