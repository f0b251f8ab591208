//! Shared support for tests that run against the real Docker engine.
//!
//! - `ensure_test_images()` builds the local busybox image once per test
//!   binary (no registry can be pulled from on our machines);
//! - `unique_project()` gives every test its own project name, so tests run
//!   in parallel without seeing each other's objects;
//! - `Cleanup` removes everything labelled with a project when dropped, even
//!   when the test panics.
//!
//! Cleanup uses the docker CLI rather than the crate under test, so a bug in
//! stackctl's engine layer cannot also break the cleanup.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The image every engine test runs: `FROM scratch` + static busybox.
pub const BUSYBOX: &str = "stackctl-test/busybox:latest";
/// The label compose (and stackctl) puts on a project's objects.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

/// Build the test images if they are missing, once per test binary. Panics
/// with the script's output if that fails: no engine test can run without them.
pub fn ensure_test_images() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-test-images.sh");
        let out = Command::new(&script)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// A project name no other test (or test run) uses: lowercase, starts with
/// `prefix`, then pid, a per-process counter and the clock's nanoseconds.
pub fn unique_project(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let prefix: String = prefix
        .to_lowercase()
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    format!("{prefix}-{}-{count}-{nanos:x}", std::process::id())
}

/// Run the docker CLI; the output whatever the exit status.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run docker {args:?}: {err}"))
}

/// Run the docker CLI and return stdout, panicking with stderr on failure.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ids (or names) printed one per line by a `docker … -q` listing.
fn listed(args: &[&str]) -> Vec<String> {
    String::from_utf8_lossy(&docker(args).stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

/// A loopback port nothing listens on right now: bind port 0, read it, drop it.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Command output as text, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Poll `check` until it returns `Some`, or give up after `timeout`.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes a project's containers, networks, volumes and images on drop,
/// plus any image tags registered with `image()`. Errors are ignored: the
/// objects may never have been created.
pub struct Cleanup {
    pub project: String,
    images: Vec<String>,
}

impl Cleanup {
    pub fn new(project: &str) -> Cleanup {
        Cleanup {
            project: project.to_string(),
            images: Vec::new(),
        }
    }

    /// Also remove this image tag (tests tag what they build uniquely).
    pub fn image(&mut self, reference: &str) {
        self.images.push(reference.to_string());
    }

    fn filter(&self) -> String {
        format!("label={PROJECT_LABEL}={}", self.project)
    }

    fn remove(&self, remove: &[&str], list: &[&str]) {
        let ids = listed(list);
        if !ids.is_empty() {
            let mut args: Vec<&str> = remove.to_vec();
            args.extend(ids.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = self.filter();
        // Containers first: they hold networks, volumes and images.
        self.remove(&["rm", "-f", "-v"], &["ps", "-aq", "--filter", &filter]);
        self.remove(
            &["network", "rm"],
            &["network", "ls", "-q", "--filter", &filter],
        );
        self.remove(
            &["volume", "rm", "-f"],
            &["volume", "ls", "-q", "--filter", &filter],
        );
        for image in &self.images {
            let _ = docker(&["rmi", "-f", image]);
        }
        self.remove(&["rmi", "-f"], &["images", "-q", "--filter", &filter]);
    }
}

/// A bounded load (stackctl's own generator) in the background on its own
/// runtime, from `start` until `finish`.
pub struct Load {
    stop: tokio::sync::watch::Sender<bool>,
    completed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    handle: std::thread::JoinHandle<stackctl::loadgen::LoadReport>,
    pub started: Instant,
}

impl Load {
    /// Keeps 32 connections busy on `config`'s target for at most 180 s
    /// (or until `finish`).
    pub fn start(mut config: stackctl::loadgen::LoadConfig) -> Load {
        config.connections = 32;
        config.duration = Some(Duration::from_secs(180));
        // A keep-alive connection the server closes while idle (nginx does at
        // a reload) is retried once, as HTTP clients do (RFC 9112 §9.3.1);
        // those retries are counted and printed, not hidden.
        config.strict_keepalive = false;
        let completed = config.completed.clone();
        let (stop, receiver) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime
                .block_on(stackctl::loadgen::run(config, receiver))
                .expect("load run")
        });
        Load {
            stop,
            completed,
            handle,
            started,
        }
    }

    /// Requests finished so far.
    pub fn completed(&self) -> u64 {
        self.completed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wait (at most `timeout`) until `count` requests have finished.
    pub fn wait_for_requests(&self, count: u64, timeout: Duration) {
        let _ = wait_for(timeout, || (self.completed() >= count).then_some(()));
    }

    pub fn finish(self) -> stackctl::loadgen::LoadReport {
        let _ = self.stop.send(true);
        self.handle.join().expect("load thread")
    }
}
