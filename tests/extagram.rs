//! Extagram end to end, on the real engine with the real images: the seven
//! containers of stacks/extagram/compose.yaml (nginx proxy, two nginx+PHP
//! app replicas, PHP upload, two static nginx replicas, MariaDB), driven
//! through stackctl and exercised over HTTP through the proxy on loopback.
//!
//! One scenario, in order, because each step needs the state the one before
//! left: up → feed → upload → both replicas → refusals → live budget →
//! blue-green upgrade under load → rollback under load → down/up keeps the
//! data → down -v removes it. Figures (build and up times, requests,
//! failures, live memory) are printed; `--nocapture` shows them.
//!
//! The images are built through stackctl (`stackctl build`) from the base
//! image scripts/build-test-images.sh makes; with a warm layer cache that
//! takes seconds, from nothing about five minutes.

mod common;

use common::{docker, docker_ok, free_port, text, wait_for, Cleanup, Load};
use stackctl::loadgen::{extract_version, LoadConfig, LoadReport};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BASE_IMAGE: &str = "stackctl/debian:bookworm";
/// The app writes `<!-- extagram version=V host=H -->` into every page.
const VERSION_MARK: &str = "extagram version=";
const HOST_MARK: &str = "host=";
/// Requests the load sees before (and after) an upgrade or a rollback.
const WARM_UP_REQUESTS: u64 = 500;

struct Extagram {
    project: String,
    port: u16,
    /// Holds the `--env-file` (test passwords, the port).
    dir: tempfile::TempDir,
    _cleanup: Cleanup,
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

impl Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Extagram {
    fn new() -> Extagram {
        assert!(
            docker(&["image", "inspect", BASE_IMAGE]).status.success(),
            "{BASE_IMAGE} is missing: scripts/make-base-image.sh makes it \
             (scripts/build-test-images.sh runs it)"
        );
        let project = common::unique_project("extagram-e2e");
        let cleanup = Cleanup::new(&project);
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        // Passwords with characters that need care in SQL and the shell.
        let env = format!(
            "HTTP_PORT=127.0.0.1:{port}\n\
             DB_PASSWORD=e2e-app-{pid}-pa'\"x\n\
             DB_ROOT_PASSWORD=e2e-root-{pid}\n",
            pid = std::process::id()
        );
        std::fs::write(dir.path().join("e2e.env"), env).expect("write env file");
        Extagram {
            project,
            port,
            dir,
            _cleanup: cleanup,
        }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackctl"));
        let compose = repo().join("stacks/extagram/compose.yaml");
        let env_file = self.dir.path().join("e2e.env");
        command
            .arg("-f")
            .arg(&compose)
            .arg("--env-file")
            .arg(&env_file)
            .args(["-p", &self.project])
            .args(args);
        // The process environment wins over the env file: start clean.
        for key in [
            "APP_VERSION",
            "HTTP_PORT",
            "DB_NAME",
            "DB_USER",
            "DB_PASSWORD",
            "DB_ROOT_PASSWORD",
            "EXTAGRAM_VERSION",
            "COMPOSE_PROJECT_NAME",
        ] {
            command.env_remove(key);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run stackctl")
    }

    fn run_ok(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self.run(args, env);
        assert!(
            out.status.success(),
            "stackctl {args:?} failed ({}):\n{}{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    /// One HTTP/1.0 exchange with the proxy on loopback (the server closes
    /// the connection, so the body is everything up to EOF).
    fn request(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to proxy");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = format!("{method} {path} HTTP/1.0\r\nHost: localhost\r\n");
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send request");
        // nginx may answer (413) before the whole body is sent and stop
        // reading; the answer is still there to read.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read response");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {:?}", text(&raw)));
        let status_line = text(&raw[..split]);
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line in {status_line:?}"));
        Response {
            status,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn get(&self, path: &str) -> Response {
        self.request("GET", path, "", &[])
    }

    fn upload(&self, caption: &str, file_name: &str, file_type: &str, file: &[u8]) -> Response {
        let boundary = "----stackctl-e2e-7d3c1a9b";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\n{caption}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {file_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.request(
            "POST",
            "/upload.php",
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
        )
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Names of this project's containers of `service` that are running.
    fn running(&self, service: &str) -> Vec<String> {
        docker_ok(&[
            "ps",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
            "--format",
            "{{.Names}}",
        ])
        .lines()
        .map(String::from)
        .collect()
    }

    fn volumes(&self) -> Vec<String> {
        docker_ok(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
        ])
        .lines()
        .map(String::from)
        .collect()
    }

    /// `up --wait`, timed.
    fn up(&self) -> Duration {
        let started = Instant::now();
        self.run_ok(&["up", "--wait"], &[]);
        started.elapsed()
    }

    /// Wait until the feed answers 200 with `version`.
    fn wait_serving(&self, version: &str) {
        let served = wait_for(Duration::from_secs(60), || {
            let response = self.get("/");
            let page = response.text();
            (response.status == 200
                && extract_version(&page, Some(VERSION_MARK)).as_deref() == Some(version))
            .then_some(())
        });
        assert!(served.is_some(), "the feed never served version {version}");
    }
}

/// `/uploads/<32 hex>.png` names in a page, in page order.
fn upload_paths(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("/uploads/") {
        let tail = &rest[at + "/uploads/".len()..];
        let name: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        if name.len() == 36 && name.ends_with(".png") {
            let path = format!("/uploads/{name}");
            if !found.contains(&path) {
                found.push(path);
            }
        }
        rest = tail;
    }
    found
}

fn load_on(stack: &Extagram) -> Load {
    let mut config = LoadConfig::new(&stack.url()).expect("load config");
    config.version.pattern = Some(VERSION_MARK.to_string());
    Load::start(config)
}

fn assert_no_failures(what: &str, report: &LoadReport) {
    eprintln!("{what}: {}", report.summary());
    assert!(
        report.total >= 500,
        "{what}: only {} requests",
        report.total
    );
    assert_eq!(
        report.failures(),
        0,
        "{what}: failed requests: {}",
        report.summary()
    );
}

#[test]
fn extagram_end_to_end() {
    let stack = Extagram::new();
    let photo = std::fs::read(repo().join("tests/fixtures/photo.png")).expect("fixture");

    // Images: built through stackctl; the layer cache makes re-runs fast.
    let started = Instant::now();
    stack.run_ok(&["build", "--quiet"], &[]);
    let build_time = started.elapsed();

    let up_time = stack.up();
    assert_eq!(stack.running("nginx_app").len(), 2, "two app replicas run");
    assert_eq!(
        stack.running("nginx_static").len(),
        2,
        "two static replicas"
    );
    for service in ["nginx_proxy", "php_upload", "mysql_db"] {
        assert_eq!(stack.running(service).len(), 1, "{service} runs");
    }

    // The feed, through S1.
    let feed = stack.get("/");
    assert_eq!(feed.status, 200, "GET /: {}", feed.text());
    assert!(feed.text().contains("Extagram v1"), "{}", feed.text());
    assert!(
        feed.text().contains("action=\"/upload.php\""),
        "no upload form"
    );

    // A PNG with a caption: stored, listed (escaped), served byte for byte.
    let caption = format!("e2e <b>{}</b> & friends", stack.project);
    let posted = stack.upload(&caption, "photo.png", "image/png", &photo);
    assert_eq!(posted.status, 303, "upload: {}", posted.text());
    let page = stack.get("/").text();
    let escaped = caption
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(page.contains(&escaped), "caption not in the feed:\n{page}");
    let uploads = upload_paths(&page);
    assert_eq!(uploads.len(), 1, "one photo in the feed: {uploads:?}");
    let stored = stack.get(&uploads[0]);
    assert_eq!(stored.status, 200);
    assert!(
        stored.body == photo,
        "the served photo differs from the upload"
    );

    // Both app replicas serve: the page names the host that rendered it,
    // and each replica's hostname is its container's short id.
    let mut hosts = std::collections::BTreeSet::new();
    let _ = wait_for(Duration::from_secs(30), || {
        let page = stack.get("/").text();
        if let Some(host) = extract_version(&page, Some(HOST_MARK)) {
            hosts.insert(host);
        }
        (hosts.len() >= 2).then_some(())
    });
    let replica_ids: std::collections::BTreeSet<String> = stack
        .running("nginx_app")
        .iter()
        .map(|name| {
            docker_ok(&["inspect", "-f", "{{.Config.Hostname}}", name])
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(hosts, replica_ids, "pages came from both app replicas");

    // Refusals, with a page that says why.
    let not_image = stack.upload("x", "notes.png", "image/png", b"<?php echo 1; ?>\n");
    assert_eq!(not_image.status, 415, "{}", not_image.text());
    assert!(not_image.text().contains("Not a supported image"));
    let mut big = photo.clone();
    big.resize(11 * 1024 * 1024, 0x5a);
    let too_big = stack.upload("x", "big.png", "image/png", &big);
    assert_eq!(too_big.status, 413, "{}", too_big.text());
    assert!(
        too_big.text().contains("Photo too large"),
        "{}",
        too_big.text()
    );
    assert_eq!(
        upload_paths(&stack.get("/").text()).len(),
        1,
        "refused uploads left nothing behind"
    );

    // What the stack really uses, against a t3.micro.
    let budget = stack.run(&["budget", "--instance", "t3.micro", "--live"], &[]);
    let budget_text = text(&budget.stdout);
    eprintln!("{budget_text}{}", text(&budget.stderr));
    let live_line = budget_text
        .lines()
        .find(|line| line.contains("measured now"))
        .unwrap_or_else(|| panic!("no live total in:\n{budget_text}"))
        .trim()
        .to_string();

    // Blue-green upgrade under load: version 2 appears, nothing fails.
    let load = load_on(&stack);
    // Some version-1 traffic first.
    load.wait_for_requests(WARM_UP_REQUESTS, Duration::from_secs(30));
    let started = Instant::now();
    stack.run_ok(
        &["upgrade", "nginx_app", "--blue-green", "--drain", "3s"],
        &[("APP_VERSION", "2")],
    );
    let upgrade_time = started.elapsed();
    let upgrade = load.finish();
    assert_no_failures("upgrade", &upgrade);
    assert!(upgrade.count("2") > 0, "version 2 was never served");
    stack.wait_serving("2");
    assert!(stack.get("/").text().contains("Extagram v2"));

    // Rollback under load: back to version 1, nothing fails.
    let load = load_on(&stack);
    // Some version-2 traffic first.
    load.wait_for_requests(WARM_UP_REQUESTS, Duration::from_secs(30));
    let started = Instant::now();
    stack.run_ok(&["rollback", "--drain", "3s"], &[]);
    let rollback_time = started.elapsed();
    // The rollback returns after the drain; some version-1 traffic after it.
    load.wait_for_requests(load.completed() + WARM_UP_REQUESTS, Duration::from_secs(30));
    let rollback = load.finish();
    assert_no_failures("rollback", &rollback);
    assert_eq!(
        rollback.versions.last().map(|run| run.version.as_str()),
        Some("1"),
        "the load ended on version 1"
    );
    stack.wait_serving("1");

    // down then up: the post and the photo are still there.
    stack.run_ok(&["down"], &[]);
    assert!(
        stack.running("mysql_db").is_empty(),
        "down stopped the stack"
    );
    let second_up = stack.up();
    let page = stack.get("/").text();
    assert!(page.contains(&escaped), "the post survived down/up");
    assert_eq!(upload_paths(&page), uploads, "the photo is still listed");
    assert!(
        stack.get(&uploads[0]).body == photo,
        "the photo survived down/up"
    );

    // down -v removes the data.
    assert!(!stack.volumes().is_empty());
    stack.run_ok(&["down", "-v"], &[]);
    let volumes = stack.volumes();
    assert!(volumes.is_empty(), "down -v left volumes: {volumes:?}");

    eprintln!(
        "FIGURES build={:.1}s up(images cached)={:.1}s up(after down)={:.1}s \
         upgrade={:.1}s ({} requests, {} failed) rollback={:.1}s ({} requests, {} failed) \
         live: {live_line}",
        build_time.as_secs_f64(),
        up_time.as_secs_f64(),
        second_up.as_secs_f64(),
        upgrade_time.as_secs_f64(),
        upgrade.total,
        upgrade.failures(),
        rollback_time.as_secs_f64(),
        rollback.total,
        rollback.failures(),
    );
}
