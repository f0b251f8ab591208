//! Images against the real engine: builds from a context (honouring
//! `.dockerignore`, build args, target, a Dockerfile in a subdirectory), a
//! failing step, a failing pull, lookups, listing and removal.
//!
//! Every test uses its own project label and image tag, and a `Cleanup`
//! guard removes what it made even if an assertion fails.

mod common;

use common::{docker, docker_ok, ensure_test_images, unique_project, wait_for, Cleanup, BUSYBOX};
use stackctl::compose::model::Build;
use stackctl::engine::images::ImageFilter;
use stackctl::engine::{Engine, EngineError};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;
use tempfile::TempDir;

/// A build context directory holding `files`.
fn context(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::Builder::new().prefix("ctx").tempdir().unwrap();
    for (path, contents) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }
    dir
}

fn build_of(dir: &TempDir) -> Build {
    Build {
        context: dir.path().to_path_buf(),
        ..Build::default()
    }
}

/// Connect and make sure the busybox image exists.
async fn engine() -> Engine {
    ensure_test_images();
    Engine::connect().await.expect("engine reachable")
}

/// A project, its cleanup guard and a unique image tag registered with it.
fn project(prefix: &str) -> (String, Cleanup, String) {
    let project = unique_project(prefix);
    let mut cleanup = Cleanup::new(&project);
    let tag = format!("stackctl-test/{project}:built");
    cleanup.image(&tag);
    (project, cleanup, tag)
}

/// Run `command` in a throwaway container of `image`, labelled with the
/// project so cleanup catches it; returns stdout.
fn run_in(image: &str, project: &str, command: &str) -> String {
    let label = format!("{}={project}", common::PROJECT_LABEL);
    docker_ok(&["run", "--rm", "--label", &label, image, "sh", "-c", command])
}

/// Build, collecting the output lines.
async fn build(
    engine: &Engine,
    build: &Build,
    tag: &str,
) -> (Result<String, EngineError>, Vec<String>) {
    let lines = RefCell::new(Vec::new());
    let result = engine
        .build_image(build, tag, &|line| {
            lines.borrow_mut().push(line.to_string())
        })
        .await;
    (result, lines.into_inner())
}

#[tokio::test]
async fn build_sends_the_context_minus_dockerignored_files() {
    let engine = engine().await;
    let (project, _cleanup, tag) = project("img-ignore");
    let dir = context(&[
        (
            "Dockerfile",
            &format!(
                "FROM {BUSYBOX}\nLABEL {}={project}\nCOPY . /ctx/\n",
                common::PROJECT_LABEL
            ),
        ),
        (
            ".dockerignore",
            "# secrets stay home\nsecret.txt\nlogs\ndocs\n!docs/keep.md\n",
        ),
        ("keep.txt", "kept"),
        ("secret.txt", "hunter2"),
        ("logs/today.log", "noise"),
        ("docs/drop.md", "dropped"),
        ("docs/keep.md", "kept too"),
    ]);

    let (result, lines) = build(&engine, &build_of(&dir), &tag).await;
    let id = result.unwrap_or_else(|err| panic!("build failed: {err}\n{}", lines.join("\n")));

    assert_eq!(
        engine.image_id(&tag).await.unwrap().as_deref(),
        Some(id.as_str())
    );
    assert!(
        lines.iter().any(|line| line.starts_with("Step 3/3 : COPY")),
        "{lines:#?}"
    );
    let listing: BTreeSet<String> = run_in(&tag, &project, "find /ctx")
        .lines()
        .map(String::from)
        .collect();
    let expected: BTreeSet<String> = [
        "/ctx",
        "/ctx/.dockerignore",
        "/ctx/Dockerfile",
        "/ctx/docs",
        "/ctx/docs/keep.md",
        "/ctx/keep.txt",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(listing, expected);
}

#[tokio::test]
async fn build_passes_args_and_target_and_finds_a_nested_dockerfile() {
    let engine = engine().await;
    let (project, _cleanup, tag) = project("img-args");
    let dockerfile = format!(
        "FROM {BUSYBOX} AS base\n\
         LABEL {}={project}\n\
         ARG GREETING=default\n\
         RUN echo \"$GREETING\" > /greeting\n\
         FROM base AS broken\n\
         RUN exit 1\n",
        common::PROJECT_LABEL
    );
    let dir = context(&[("docker/Dockerfile.multi", &dockerfile)]);
    let mut spec = build_of(&dir);
    spec.dockerfile = Some("docker/Dockerfile.multi".into());
    spec.target = Some("base".into());
    spec.args
        .insert("GREETING".into(), Some("hello from args".into()));

    let (result, lines) = build(&engine, &spec, &tag).await;
    result.unwrap_or_else(|err| panic!("build failed: {err}\n{}", lines.join("\n")));

    assert_eq!(
        run_in(&tag, &project, "cat /greeting").trim(),
        "hello from args"
    );
}

#[tokio::test]
async fn a_failing_step_is_an_error_naming_the_step_and_leaves_no_containers() {
    let engine = engine().await;
    let (project, _cleanup, tag) = project("img-fail");
    let filter = format!("label={}={project}", common::PROJECT_LABEL);
    let dir = context(&[(
        "Dockerfile",
        &format!(
            "FROM {BUSYBOX}\nLABEL {}={project}\nRUN echo fine\nRUN echo about to fail && exit 3\n",
            common::PROJECT_LABEL
        ),
    )]);

    let (result, lines) = build(&engine, &build_of(&dir), &tag).await;

    let err = result.expect_err("the build must fail");
    match &err {
        EngineError::Build {
            image,
            step,
            message,
        } => {
            assert_eq!(image, &tag);
            assert_eq!(
                step.as_deref(),
                Some("4/4 (RUN echo about to fail && exit 3)")
            );
            assert!(message.contains("non-zero code: 3"), "{message}");
        }
        other => panic!("expected EngineError::Build, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("at step 4/4 (RUN echo about to fail"),
        "{err}"
    );
    assert!(
        lines.iter().any(|line| line == "about to fail"),
        "{lines:#?}"
    );
    assert_eq!(engine.image_id(&tag).await.unwrap(), None);
    // forcerm: the failed step's container (which inherits the LABEL) is removed.
    let leftovers = wait_for(Duration::from_secs(10), || {
        let out = docker(&["ps", "-aq", "--filter", &filter]);
        out.stdout.is_empty().then_some(())
    });
    assert!(leftovers.is_some(), "intermediate containers left behind");
}

#[tokio::test]
async fn a_missing_dockerfile_is_a_context_error() {
    let engine = engine().await;
    let (_project, _cleanup, tag) = project("img-nodf");
    let dir = context(&[("README", "no Dockerfile here")]);

    let (result, _) = build(&engine, &build_of(&dir), &tag).await;

    let err = result.expect_err("no Dockerfile");
    assert!(matches!(err, EngineError::Context(_)), "{err:?}");
    assert!(err.to_string().contains("Dockerfile"), "{err}");
}

#[tokio::test]
async fn pulling_a_missing_image_says_what_to_do() {
    let engine = engine().await;
    let reference = format!("stackctl-test/{}:v1", unique_project("no-such-image"));

    let err = engine
        .pull_image(&reference, &|_| {})
        .await
        .expect_err("nothing to pull");

    assert!(
        matches!(&err, EngineError::Pull { image, exists_locally: false, .. } if image == &reference),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot pull `{reference}`: ")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "No image named `{reference}` exists locally; build it (add a `build:` section, \
             or run `docker build -t {reference} ...`) or check the name"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn image_id_is_none_for_a_missing_image() {
    let engine = engine().await;
    let missing = format!("stackctl-test/{}:nope", unique_project("missing"));

    assert_eq!(engine.image_id(&missing).await.unwrap(), None);
    let id = engine
        .image_id(BUSYBOX)
        .await
        .unwrap()
        .expect("busybox exists");
    assert!(id.starts_with("sha256:"), "{id}");
}

#[tokio::test]
async fn images_are_listed_by_label_and_reference_and_removed() {
    let engine = engine().await;
    let (project, _cleanup, tag) = project("img-list");
    let label = format!("{}={project}", common::PROJECT_LABEL);
    let dir = context(&[("Dockerfile", &format!("FROM {BUSYBOX}\nLABEL {label}\n"))]);
    let (result, lines) = build(&engine, &build_of(&dir), &tag).await;
    let id = result.unwrap_or_else(|err| panic!("build failed: {err}\n{}", lines.join("\n")));

    let by_label = engine
        .list_images(&ImageFilter::label(&label))
        .await
        .unwrap();
    assert_eq!(by_label.len(), 1, "{by_label:#?}");
    assert_eq!(by_label[0].id, id);
    assert_eq!(by_label[0].tags, std::slice::from_ref(&tag));
    assert!(by_label[0].size > 1_000_000, "busybox alone is ~2 MB");
    assert!(by_label[0].created > 0);

    let by_reference = engine
        .list_images(&ImageFilter::references([BUSYBOX]))
        .await
        .unwrap();
    assert!(by_reference
        .iter()
        .any(|image| image.tags.iter().any(|t| t == BUSYBOX)));

    assert!(engine.remove_image(&tag, false).await.unwrap());
    assert_eq!(engine.image_id(&tag).await.unwrap(), None);
    assert!(
        !engine.remove_image(&tag, false).await.unwrap(),
        "already gone"
    );
}
