//! Blue-green upgrade, rollback and crash recovery against the real engine,
//! under load: an nginx router (stackctl-test/router) in front of a
//! two-replica busybox app whose response is its version.
//!
//! Figures (requests, failures, switch and rollback times) are printed; run
//! with `--nocapture` (scripts/bench-bluegreen.sh does) to see them.

mod common;

use common::{
    docker, docker_ok, ensure_test_images, free_port, text, unique_project, wait_for, Cleanup, Load,
};
use stackctl::loadgen::LoadConfig;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests share two cores with the engine: one load test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const ROUTER_IMAGE: &str = "stackctl-test/router:latest";

struct Stack {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
    _cleanup: Cleanup,
}

impl Stack {
    /// Write the compose file and bring the stack up at version v1.
    fn up(prefix: &str, drain: &str) -> Stack {
        ensure_test_images();
        assert!(
            docker(&["image", "inspect", ROUTER_IMAGE]).status.success(),
            "{ROUTER_IMAGE} is missing: scripts/build-test-images.sh builds it"
        );
        let project = unique_project(prefix);
        let cleanup = Cleanup::new(&project);
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let compose = format!(
            r#"services:
  router:
    image: {ROUTER_IMAGE}
    ports: ["127.0.0.1:{port}:80"]
    depends_on:
      app: {{condition: service_healthy}}
    x-stackctl:
      router: {{kind: nginx, dir: /etc/nginx/upstreams}}
  app:
    image: stackctl-test/busybox:latest
    init: true
    command:
      - sh
      - -c
      - 'if [ "$$BROKEN" = 1 ]; then exec sleep 3600; fi; mkdir -p /www && echo "$$APP_VERSION" > /www/index.html && exec httpd -f -p 8080 -h /www'
    environment:
      APP_VERSION: ${{APP_VERSION:-v1}}
      BROKEN: ${{BROKEN:-0}}
    deploy: {{replicas: 2}}
    stop_grace_period: 5s
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 3
    x-stackctl:
      bluegreen: {{router: router, port: 8080, drain: {drain}}}
"#
        );
        std::fs::write(dir.path().join("compose.yaml"), compose).expect("write compose");
        let stack = Stack {
            dir,
            project,
            port,
            _cleanup: cleanup,
        };
        let out = stack.run(&["up", "--wait"], &[]);
        assert!(out.status.success(), "up failed: {}", text(&out.stderr));
        stack.wait_serving("v1");
        stack
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackctl"));
        command
            .args(["-p", &self.project])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("APP_VERSION")
            .env_remove("BROKEN");
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run stackctl")
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// One plain HTTP/1.0 GET over loopback; the body's first line.
    fn get(&self) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream
            .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200")
            .then(|| body.lines().next().unwrap_or("").trim().to_string())
    }

    fn wait_serving(&self, version: &str) {
        let served = wait_for(Duration::from_secs(30), || {
            (self.get().as_deref() == Some(version)).then_some(())
        });
        assert!(served.is_some(), "the router never served {version}");
    }

    /// Containers of the app: (name, running).
    fn app_containers(&self) -> Vec<(String, bool)> {
        let out = docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
            "label=com.docker.compose.service=app",
            "--format",
            "{{.Names}} {{.State}}",
        ]);
        out.lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(name, state)| (name.to_string(), state == "running"))
            .collect()
    }

    fn routed(&self) -> Vec<String> {
        let out = docker_ok(&[
            "exec",
            &format!("{}-router-1", self.project),
            "cat",
            "/etc/nginx/upstreams/app.conf",
        ]);
        stackctl::bluegreen::router::parse_servers(&out)
            .into_iter()
            .map(|s| s.split(':').next().unwrap_or_default().to_string())
            .collect()
    }

    /// Traffic points only at running containers, and exactly one color runs.
    fn assert_converged(&self) {
        let containers = self.app_containers();
        let routed = self.routed();
        assert!(!routed.is_empty(), "the router has no upstream");
        for name in &routed {
            assert!(
                containers.iter().any(|(n, running)| n == name && *running),
                "router points at {name}, which is not running: {containers:?}"
            );
        }
        let running: Vec<&String> = containers
            .iter()
            .filter(|(_, r)| *r)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            running.len(),
            2,
            "exactly one color (2 replicas) runs: {containers:?}"
        );
        let lock = docker(&["inspect", &format!("{}-stackctl-lock", self.project)]);
        assert!(!lock.status.success(), "the lock was left behind");
        assert!(self.get().is_some(), "the site does not answer");
    }
}

/// Run a stackctl command, timestamping each stderr line as it arrives.
fn run_timed(mut command: Command) -> (Output, Vec<(Instant, String)>) {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn stackctl");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .map(|line| (Instant::now(), line))
            .collect::<Vec<_>>()
    });
    let out = child.wait_with_output().expect("wait");
    let lines = reader.join().expect("stderr reader");
    (out, lines)
}

fn first_line(lines: &[(Instant, String)], needle: &str) -> Option<Instant> {
    lines
        .iter()
        .find(|(_, l)| l.contains(needle))
        .map(|(t, _)| *t)
}

#[test]
fn upgrade_and_rollback_under_load_fail_no_request() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stack = Stack::up("bg-load", "3s");
    let load = Load::start(LoadConfig::new(&stack.url()).expect("load config"));
    // Some v1 traffic before the upgrade.
    std::thread::sleep(Duration::from_secs(2));

    let upgrade_started = Instant::now();
    let (out, lines) = run_timed(stack.command(
        &["upgrade", "app", "--blue-green"],
        &[("APP_VERSION", "v2")],
    ));
    assert!(
        out.status.success(),
        "upgrade failed: {}",
        text(&out.stderr)
    );
    let healthy_at = first_line(&lines, "switching").expect("a switching line");
    let upgrade_took = upgrade_started.elapsed();
    std::thread::sleep(Duration::from_secs(2));

    let rollback_started = Instant::now();
    let (out, lines) = run_timed(stack.command(&["rollback"], &[]));
    assert!(
        out.status.success(),
        "rollback failed: {}",
        text(&out.stderr)
    );
    let rollback_took = rollback_started.elapsed();
    // Where the rollback's time goes: each progress line, in ms from its start.
    for (at, line) in &lines {
        let offset = at.saturating_duration_since(rollback_started).as_millis();
        eprintln!("rollback +{offset:>5} ms  {line}");
    }
    // Keep the load on until it has seen enough requests (bounded: the
    // load itself stops after 180 s).
    load.wait_for_requests(21_000, Duration::from_secs(90));
    let load_started = load.started;
    let report = load.finish();
    // The report's times count from the load's start.
    let mark = |at: Instant| at.saturating_duration_since(load_started);

    eprintln!("{}", report.summary());
    let first_v2 = report.first_seen("v2").expect("v2 was served");
    let switch_time = first_v2.saturating_sub(mark(healthy_at));
    let v1_again = report
        .versions
        .iter()
        .filter(|run| run.version == "v1" && run.first_at > mark(rollback_started))
        .map(|run| run.first_at)
        .next()
        .expect("v1 came back after the rollback");
    let rollback_time = v1_again.saturating_sub(mark(rollback_started));
    eprintln!(
        "FIGURES requests={} non2xx={} connection_errors={} stale_keepalive_retries={} upgrade={:.2}s switch(healthy->first v2)={} ms rollback(start->first v1)={} ms rollback_cmd={:.2}s",
        report.total,
        report.non_2xx.values().sum::<u64>(),
        report.connection_errors.values().sum::<u64>(),
        report.stale_keepalive_retries,
        upgrade_took.as_secs_f64(),
        switch_time.as_millis(),
        rollback_time.as_millis(),
        rollback_took.as_secs_f64(),
    );
    assert!(report.total >= 20_000, "only {} requests", report.total);
    assert_eq!(
        report.failures(),
        0,
        "failed requests: {}",
        report.summary()
    );
    assert!(
        !report.went_back_before("v1", "v2", mark(rollback_started)),
        "v1 came back before the rollback"
    );
    // Switch and rollback times are figures (targets: 1 s and 2 s), printed
    // above and compared by scripts/bench-bluegreen.sh, not asserted: they
    // depend on how busy the machine is.
    stack.assert_converged();
}

#[test]
fn an_upgrade_that_never_turns_healthy_changes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stack = Stack::up("bg-fail", "2s");
    let load = Load::start(LoadConfig::new(&stack.url()).expect("load config"));
    std::thread::sleep(Duration::from_secs(1));
    let out = stack.run(
        &["upgrade", "app", "--timeout", "4s"],
        &[("APP_VERSION", "v2"), ("BROKEN", "1")],
    );
    std::thread::sleep(Duration::from_secs(1));
    let report = load.finish();
    eprintln!("{}", report.summary());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("failed its health gate"), "{stderr}");
    assert!(stderr.contains("last health output"), "{stderr}");
    assert_eq!(report.failures(), 0, "{}", report.summary());
    assert_eq!(report.count("v2"), 0);
    assert!(report.count("v1") > 0);
    let history = text(&stack.run(&["history"], &[]).stdout);
    assert!(history.contains("failed"), "{history}");
    stack.assert_converged();
}

/// Kill `upgrade` (SIGKILL) when a stderr line containing `needle` appears
/// (after `extra` more), then check the next command converges.
fn kill_upgrade_at(prefix: &str, needle: &str, extra: Duration, next: &[&str]) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stack = Stack::up(prefix, "6s");
    let mut command = stack.command(&["upgrade", "app"], &[("APP_VERSION", "v2")]);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child: Child = command.spawn().expect("spawn upgrade");
    let stderr = child.stderr.take().expect("stderr");
    let (seen_tx, seen_rx) = mpsc::channel();
    let needle_owned = needle.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&needle_owned) {
                let _ = seen_tx.send(());
            }
        }
    });
    let seen = seen_rx.recv_timeout(Duration::from_secs(60)).is_ok();
    std::thread::sleep(extra);
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "upgrade never printed `{needle}`");

    let out = stack.run(next, &[("APP_VERSION", "v2")]);
    assert!(
        out.status.success(),
        "{next:?} after the kill: {}",
        text(&out.stderr)
    );
    stack.assert_converged();
}

#[test]
fn killed_after_the_new_color_is_created() {
    kill_upgrade_at("bg-kill1", "waiting for", Duration::ZERO, &["up"]);
}

#[test]
fn killed_after_the_new_color_is_healthy() {
    kill_upgrade_at("bg-kill2", "switching", Duration::ZERO, &["upgrade", "app"]);
}

#[test]
fn killed_right_after_the_switch() {
    kill_upgrade_at("bg-kill3", "draining", Duration::ZERO, &["rollback"]);
}

#[test]
fn killed_during_the_drain() {
    kill_upgrade_at("bg-kill4", "draining", Duration::from_secs(2), &["up"]);
}

#[test]
fn history_records_revisions_and_a_second_up_keeps_the_active_one() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stack = Stack::up("bg-hist", "1s");
    let out = stack.run(&["upgrade", "app"], &[("APP_VERSION", "v2")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    stack.wait_serving("v2");
    // Same config as the active revision: nothing to do.
    let out = stack.run(&["up"], &[("APP_VERSION", "v2")]);
    assert!(
        text(&out.stdout).contains("Nothing to do"),
        "{}",
        text(&out.stdout)
    );
    let json = stack.run(&["history", "--format", "json"], &[]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "standby");
    assert_eq!(rows[1]["status"], "active");
    assert!(rows[1]["changes"]
        .as_str()
        .unwrap_or_default()
        .contains("APP_VERSION"));
    // The file asks for v1 again: up performs a blue-green change.
    let out = stack.run(&["up"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    stack.wait_serving("v1");
    let ps = text(&stack.run(&["ps"], &[]).stdout);
    assert!(ps.contains("blue r3") || ps.contains("green r3"), "{ps}");
}
