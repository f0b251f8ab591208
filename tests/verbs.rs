//! The container verbs (ps, logs, exec, start/stop/restart, kill, images,
//! stats, top, pull, build) through the real binary against the real engine.
//!
//! `up` is built elsewhere, so each test deploys its small project with the
//! engine layer directly (networks, then containers in start waves), then
//! drives `stackctl` and checks the result, often with the docker CLI. Every
//! test has its own project and a `Cleanup` guard; waits poll, never sleep.

mod common;

use common::{docker, docker_ok, ensure_test_images, unique_project, wait_for, Cleanup, BUSYBOX};
use indexmap::IndexMap;
use stackctl::compose::{self, LoadOptions};
use stackctl::engine::spec::{container_name, container_spec, extra_networks};
use stackctl::engine::Engine;
use stackctl::graph::ServiceGraph;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use tempfile::TempDir;

/// The memory limit the `web` service declares, in bytes.
const WEB_LIMIT: u64 = 64 << 20;

/// A deployed two-service project: `web` prints three lines then sleeps;
/// `worker` depends on `web` and exits cleanly on SIGTERM.
struct Stack {
    /// Holds the compose file; removed with the stack.
    _dir: TempDir,
    project: String,
    file: PathBuf,
    _cleanup: Cleanup,
}

impl Stack {
    fn compose_yaml(project: &str) -> String {
        format!(
            r#"name: {project}
services:
  web:
    image: {BUSYBOX}
    command: ["sh", "-c", "echo hello-from-web; echo line2; echo line3; exec sleep 3600"]
    mem_limit: 64m
    stop_grace_period: 1s
  worker:
    image: {BUSYBOX}
    command: ["sh", "-c", "echo worker-up; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    depends_on: [web]
"#
        )
    }

    /// Write the compose file and create + start its containers.
    fn deploy(prefix: &str) -> Stack {
        ensure_test_images();
        let project = unique_project(prefix);
        let cleanup = Cleanup::new(&project);
        let dir = tempfile::Builder::new().prefix("verbs").tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, Stack::compose_yaml(&project)).unwrap();
        runtime().block_on(deploy_project(&file));
        let stack = Stack {
            _dir: dir,
            project,
            file,
            _cleanup: cleanup,
        };
        stack.wait_logged("web", "line3");
        stack.wait_logged("worker", "worker-up");
        stack
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project)
    }

    /// Run `stackctl -f <file> ARGS` with stdin closed.
    fn run(&self, args: &[&str]) -> Output {
        stackctl(&self.file, args)
    }

    fn state(&self, service: &str) -> String {
        docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}}",
            &self.container(service),
        ])
        .trim()
        .to_string()
    }

    /// Wait until the container has logged `text` (it starts asynchronously).
    fn wait_logged(&self, service: &str, text: &str) {
        let name = self.container(service);
        let logged = wait_for(Duration::from_secs(20), || {
            let out = docker(&["logs", &name]);
            String::from_utf8_lossy(&out.stdout)
                .contains(text)
                .then_some(())
        });
        assert!(logged.is_some(), "{name} never logged {text:?}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What `up` will do, minimally: networks, then each wave's containers.
async fn deploy_project(file: &Path) {
    let mut options = LoadOptions::from_process();
    options.files = vec![file.to_path_buf()];
    let project = compose::load(&options)
        .expect("test compose file loads")
        .project;
    let engine = Engine::connect().await.expect("engine reachable");
    for (key, network) in &project.networks {
        engine
            .ensure_network(key, network, &project.name)
            .await
            .expect("network");
    }
    let waves = ServiceGraph::new(project.services.values())
        .start_waves()
        .unwrap();
    for name in waves.iter().flatten() {
        let service = &project.services[name];
        let container = container_name(&project.name, service, 1);
        let body = container_spec(&project, service, 1, &IndexMap::new());
        let id = engine
            .create_container(&container, body, &extra_networks(&project, service))
            .await
            .expect("create");
        engine.start_container(&id).await.expect("start");
    }
}

fn stackctl(file: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .arg("-f")
        .arg(file)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("stackctl runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert success and return stdout.
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "stackctl failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn ps_shows_containers_state_and_memory_limit() {
    let stack = Stack::deploy("verbs-ps");
    let text = ok(stack.run(&["ps"]));
    let header = text.lines().next().unwrap();
    for column in ["NAME", "SERVICE", "IMAGE", "STATE", "PORTS", "MEM LIMIT"] {
        assert!(header.contains(column), "{header}");
    }
    let web = text
        .lines()
        .find(|line| line.starts_with(&stack.container("web")))
        .unwrap_or_else(|| panic!("no web row in:\n{text}"));
    assert!(web.contains("running") && web.contains("64MiB"), "{web}");
    let worker = text
        .lines()
        .find(|line| line.starts_with(&stack.container("worker")))
        .unwrap_or_else(|| panic!("no worker row in:\n{text}"));
    assert!(
        worker.trim_end().ends_with('-'),
        "unlimited shows `-`: {worker}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(stack.run(&["ps", "--format", "json"]))).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let web = entries.iter().find(|e| e["Service"] == "web").unwrap();
    assert_eq!(web["Name"], stack.container("web"));
    assert_eq!(web["State"], "running");
    assert_eq!(web["MemoryLimit"], WEB_LIMIT);
    assert_eq!(web["Image"], BUSYBOX);

    let ids = ok(stack.run(&["ps", "-q", "web"]));
    let id = docker_ok(&["inspect", "-f", "{{.Id}}", &stack.container("web")]);
    assert_eq!(ids.trim(), id.trim());
}

#[test]
fn ps_all_includes_stopped_containers_with_exit_code() {
    let stack = Stack::deploy("verbs-psa");
    ok(stack.run(&["kill", "web"]));
    let running = ok(stack.run(&["ps"]));
    assert!(!running.contains(&stack.container("web")), "{running}");
    let all = ok(stack.run(&["ps", "-a"]));
    let web = all
        .lines()
        .find(|line| line.starts_with(&stack.container("web")))
        .unwrap_or_else(|| panic!("no web row in:\n{all}"));
    assert!(web.contains("exited (137)"), "{web}");
}

#[test]
fn logs_prefix_lines_and_honour_tail() {
    let stack = Stack::deploy("verbs-logs");
    let text = ok(stack.run(&["logs"]));
    let web = stack.container("web");
    let worker = stack.container("worker");
    // Prefixes are padded to the longest name, so the text lines up.
    let web_prefix = format!("{web:<width$} | ", width = worker.len());
    assert!(
        text.contains(&format!("{web_prefix}hello-from-web")),
        "{text}"
    );
    assert!(text.contains(&format!("{worker} | worker-up")), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when not a terminal: {text:?}"
    );

    let tail = ok(stack.run(&["logs", "--tail", "1", "web"]));
    assert_eq!(tail, format!("{web} | line3\n"));

    let bare = ok(stack.run(&["logs", "--no-log-prefix", "web"]));
    assert_eq!(bare, "hello-from-web\nline2\nline3\n");

    let stamped = ok(stack.run(&["logs", "-t", "--since", "10m", "web"]));
    let first = stamped.lines().next().unwrap_or_default();
    assert!(
        first.contains(" | 20") && first.ends_with("hello-from-web"),
        "{first}"
    );
    // A timestamp in the future excludes everything.
    let future = ok(stack.run(&["logs", "--since", "4000000000", "web"]));
    assert_eq!(future, "");
}

#[test]
fn logs_follow_streams_new_lines_and_ends_with_the_container() {
    let stack = Stack::deploy("verbs-follow");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .arg("-f")
        .arg(&stack.file)
        .args(["logs", "-f", "--tail", "0", "worker"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stopping the followed container ends its log stream, and so the command.
    ok(stack.run(&["exec", "worker", "sh", "-c", "echo followed > /proc/1/fd/1"]));
    ok(stack.run(&["stop", "worker"]));
    let waited = wait_for(Duration::from_secs(20), || child.try_wait().unwrap());
    let status = waited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("logs -f did not end when its container stopped")
    });
    let out = child.wait_with_output().unwrap();
    assert!(status.success());
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{} | followed", stack.container("worker"))),
        "{text}"
    );
}

#[test]
fn exec_propagates_exit_code_env_user_and_workdir() {
    let stack = Stack::deploy("verbs-exec");
    let failed = stack.run(&["exec", "web", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(failed.status.code(), Some(3));
    assert_eq!(stdout(&failed), "out\n");
    assert_eq!(stderr(&failed), "err\n");

    let env = ok(stack.run(&[
        "exec",
        "-e",
        "GREETING=hi there",
        "web",
        "sh",
        "-c",
        "echo $GREETING",
    ]));
    assert_eq!(env, "hi there\n");
    let who = ok(stack.run(&[
        "exec",
        "-u",
        "1234",
        "-w",
        "/tmp",
        "web",
        "sh",
        "-c",
        "id -u; pwd",
    ]));
    assert_eq!(who, "1234\n/tmp\n");

    let missing = stack.run(&["exec", "web", "no-such-binary"]);
    assert_eq!(missing.status.code(), Some(126));

    let replica = stack.run(&["exec", "--index", "2", "web", "true"]);
    assert_eq!(replica.status.code(), Some(1));
    assert!(
        stderr(&replica).contains("no running replica 2"),
        "{}",
        stderr(&replica)
    );

    ok(stack.run(&["kill", "web"]));
    let stopped = stack.run(&["exec", "web", "true"]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(
        stderr(&stopped).contains("service `web` has no running container"),
        "{}",
        stderr(&stopped)
    );
    let unknown = stack.run(&["exec", "nope", "true"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn stop_start_and_restart_follow_dependency_order() {
    let stack = Stack::deploy("verbs-stop");
    let stopped = stack.run(&["stop"]);
    let messages = stderr(&stopped);
    assert!(stopped.status.success(), "{messages}");
    assert_eq!(stack.state("web"), "exited");
    assert_eq!(stack.state("worker"), "exited");
    let worker_at = messages.find(&format!("Container {}  Stopped", stack.container("worker")));
    let web_at = messages.find(&format!("Container {}  Stopped", stack.container("web")));
    assert!(
        worker_at.is_some() && worker_at < web_at,
        "dependents stop first:\n{messages}"
    );

    let started = stack.run(&["start"]);
    let messages = stderr(&started);
    assert!(started.status.success(), "{messages}");
    assert_eq!(stack.state("web"), "running");
    assert_eq!(stack.state("worker"), "running");
    let web_at = messages.find(&format!("Container {}  Started", stack.container("web")));
    let worker_at = messages.find(&format!("Container {}  Started", stack.container("worker")));
    assert!(
        web_at.is_some() && web_at < worker_at,
        "dependencies start first:\n{messages}"
    );

    let before = docker_ok(&[
        "inspect",
        "-f",
        "{{.State.StartedAt}}",
        &stack.container("web"),
    ]);
    ok(stack.run(&["restart", "-t", "0", "web"]));
    let after = docker_ok(&[
        "inspect",
        "-f",
        "{{.State.StartedAt}}",
        &stack.container("web"),
    ]);
    assert_ne!(before, after);
    assert_eq!(stack.state("web"), "running");
}

#[test]
fn kill_sends_the_signal() {
    let stack = Stack::deploy("verbs-kill");
    // The worker traps TERM and exits 0; SIGKILL would be 137.
    ok(stack.run(&["kill", "-s", "SIGTERM", "worker"]));
    let exited = wait_for(Duration::from_secs(10), || {
        (stack.state("worker") == "exited").then_some(())
    });
    assert!(exited.is_some());
    let code = docker_ok(&[
        "inspect",
        "-f",
        "{{.State.ExitCode}}",
        &stack.container("worker"),
    ]);
    assert_eq!(code.trim(), "0");
    assert_eq!(stack.state("web"), "running");

    ok(stack.run(&["kill", "web"]));
    let code = docker_ok(&[
        "inspect",
        "-f",
        "{{.State.ExitCode}}",
        &stack.container("web"),
    ]);
    assert_eq!(code.trim(), "137");

    let bad = stack.run(&["start", "web"]);
    assert!(bad.status.success());
    let invalid = stack.run(&["kill", "-s", "SIGNOPE", "web"]);
    assert_eq!(invalid.status.code(), Some(1));
}

#[test]
fn images_lists_the_image_of_each_container() {
    let stack = Stack::deploy("verbs-images");
    let text = ok(stack.run(&["images"]));
    let id = docker_ok(&["image", "inspect", "-f", "{{.Id}}", BUSYBOX]);
    let short = &id.trim().trim_start_matches("sha256:")[..12];
    assert!(text.lines().next().unwrap().contains("IMAGE ID"), "{text}");
    for service in ["web", "worker"] {
        let row = text
            .lines()
            .find(|line| line.starts_with(&stack.container(service)))
            .unwrap_or_else(|| panic!("no {service} row in:\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells[1..4],
            ["stackctl-test/busybox", "latest", short],
            "{row}"
        );
    }
}

#[test]
fn stats_no_stream_shows_memory_against_the_limit() {
    let stack = Stack::deploy("verbs-stats");
    let text = ok(stack.run(&["stats", "--no-stream", "web"]));
    let row = text
        .lines()
        .find(|line| line.starts_with(&stack.container("web")))
        .unwrap_or_else(|| panic!("no web row in:\n{text}"));
    assert!(row.contains(" / 64MiB"), "{row}");

    // Not a terminal: a single sample even without --no-stream.
    let json: serde_json::Value =
        serde_json::from_str(&ok(stack.run(&["stats", "--format", "json"]))).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let web = entries.iter().find(|e| e["Service"] == "web").unwrap();
    assert_eq!(web["MemLimit"], WEB_LIMIT);
    let used = web["MemUsage"].as_u64().unwrap();
    assert!(used > 0 && used < WEB_LIMIT, "{web}");
    assert!(web["PIDs"].as_u64().unwrap() >= 1, "{web}");
}

#[test]
fn top_shows_the_processes() {
    let stack = Stack::deploy("verbs-top");
    let text = ok(stack.run(&["top", "web"]));
    assert!(text.starts_with(&stack.container("web")), "{text}");
    assert!(
        text.contains("PID") && text.contains("sleep 3600"),
        "{text}"
    );
}

#[test]
fn pull_of_a_missing_image_fails_clearly() {
    ensure_test_images();
    let project = unique_project("verbs-pull");
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    let image = format!("stackctl-test/{project}:1");
    std::fs::write(
        &file,
        format!("name: {project}\nservices:\n  app:\n    image: {image}\n  built:\n    build: .\n"),
    )
    .unwrap();
    let out = stackctl(&file, &["pull"]);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!("cannot pull `{image}`")),
        "{message}"
    );
    assert!(message.contains("No image named"), "{message}");
}

#[test]
fn build_tags_service_images_from_their_context() {
    ensure_test_images();
    let project = unique_project("verbs-build");
    let mut cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("app/Dockerfile"),
        format!("FROM {BUSYBOX}\nRUN echo built-by-stackctl > /built.txt\n"),
    )
    .unwrap();
    let named = format!("stackctl-test/{project}:v1");
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "name: {project}\nservices:\n  app:\n    build: ./app\n  named:\n    build: ./app\n    image: {named}\n  plain:\n    image: {BUSYBOX}\n"
        ),
    )
    .unwrap();
    let default_tag = format!("{project}-app");
    cleanup.image(&default_tag);
    cleanup.image(&named);

    let out = stackctl(&file, &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Step 2/2"),
        "build output streams: {}",
        stdout(&out)
    );
    for tag in [&default_tag, &named] {
        assert!(
            docker(&["image", "inspect", tag]).status.success(),
            "{tag} built"
        );
    }

    let quiet = stackctl(&file, &["build", "-q", "app"]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    let id = docker_ok(&["image", "inspect", "-f", "{{.Id}}", &default_tag]);
    assert_eq!(stdout(&quiet).trim(), id.trim());
}

/// The engine's streaming exec, which `exec` uses on a terminal: stdin is
/// forwarded and closed at its end; with a TTY the session still delivers
/// all output and the exit code after our stdin ends.
#[test]
fn streaming_exec_forwards_stdin_and_survives_its_end_on_a_tty() {
    use stackctl::engine::containers::{ExecRequest, LogStream};
    let stack = Stack::deploy("verbs-stream");
    let container = stack.container("web");
    runtime().block_on(async {
        let engine = Engine::connect().await.expect("engine reachable");
        let run = |cmd: &[&str], tty: bool, input: &[u8]| {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tx.try_send(input.to_vec()).unwrap();
            drop(tx);
            let request = ExecRequest {
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                tty,
                ..ExecRequest::default()
            };
            let engine = engine.clone();
            let container = container.clone();
            async move {
                let mut output = Vec::new();
                let code = engine
                    .exec_streaming(&container, &request, Some(rx), &mut |stream, bytes| {
                        assert_ne!(stream, LogStream::Stderr);
                        output.extend_from_slice(bytes);
                    })
                    .await
                    .expect("exec runs");
                (code, String::from_utf8_lossy(&output).into_owned())
            }
        };
        let (code, output) = run(&["sh", "-c", "cat; exit 3"], false, b"piped\n").await;
        assert_eq!((code, output.as_str()), (3, "piped\n"));
        let (code, output) = run(&["sh", "-c", "tty; echo done; exit 7"], true, b"").await;
        assert_eq!(code, 7);
        assert!(
            output.contains("/dev/pts/") && output.contains("done"),
            "{output:?}"
        );
    });
}
