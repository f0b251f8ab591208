//! stackctl-loadgen against a tiny HTTP/1.1 server written here (tokio
//! TcpListener on 127.0.0.1:0) whose answer can be switched while the load
//! runs: version, status, and misbehaviours (abrupt close, reset, garbage,
//! one request per connection).

use stackctl::loadgen::{
    self, check_target, extract_version, parse_url, LoadConfig, LoadReport, StopReason, VersionRule,
};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Content-Length body "VERSION\n", keep-alive.
    Normal,
    /// Chunked body "app version=VERSION; ok\n" plus header X-App-Version.
    Chunked,
    /// Read the request, then close without answering.
    Drop,
    /// Read the request, then reset the connection (SO_LINGER 0).
    Reset,
    /// Answer with something that is not HTTP.
    Garbage,
    /// Answer one request (no `Connection: close`), then close.
    OneRequestPerConn,
}

#[derive(Debug, Clone)]
struct State {
    version: String,
    status: u16,
    mode: Mode,
}

#[derive(Clone)]
struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicU64>,
}

impl TestServer {
    async fn start(version: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TestServer {
            addr: listener.local_addr().unwrap(),
            state: Arc::new(Mutex::new(State {
                version: version.to_string(),
                status: 200,
                mode: Mode::Normal,
            })),
            requests: Arc::new(AtomicU64::new(0)),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(s.clone().serve(stream));
            }
        });
        server
    }

    fn set_version(&self, version: &str) {
        self.state.lock().unwrap().version = version.to_string();
    }
    fn set_status(&self, status: u16) {
        self.state.lock().unwrap().status = status;
    }
    fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }
    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    async fn serve(self, stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            // Request head up to the empty line.
            let mut got_any = false;
            loop {
                line.clear();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == "\r\n" || line == "\n" {
                    if got_any {
                        break;
                    }
                    continue;
                }
                got_any = true;
            }
            self.requests.fetch_add(1, Ordering::SeqCst);
            let state = self.state.lock().unwrap().clone();
            let stream = reader.get_mut();
            let response = match state.mode {
                Mode::Drop => return,
                Mode::Reset => {
                    let _ = stream.set_zero_linger();
                    return;
                }
                Mode::Garbage => b"HELLO THERE\r\n\r\n".to_vec(),
                Mode::Normal | Mode::OneRequestPerConn => {
                    let body = format!("{}\nsecond line\n", state.version);
                    format!(
                        "HTTP/1.1 {} Test\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}",
                        state.status,
                        body.len(),
                        body
                    )
                    .into_bytes()
                }
                Mode::Chunked => {
                    let body = format!("app version={}; ok\n", state.version);
                    let (a, b) = body.split_at(5);
                    format!(
                        "HTTP/1.1 {} Test\r\nTransfer-Encoding: chunked\r\nX-App-Version: h-{}\r\n\r\n{:x};ext=1\r\n{}\r\n{:x}\r\n{}\r\n0\r\nX-Trailer: t\r\n\r\n",
                        state.status,
                        state.version,
                        a.len(),
                        a,
                        b.len(),
                        b
                    )
                    .into_bytes()
                }
            };
            if stream.write_all(&response).await.is_err() {
                return;
            }
            if matches!(state.mode, Mode::Garbage | Mode::OneRequestPerConn) {
                return;
            }
        }
    }
}

fn config(url: &str, connections: usize) -> LoadConfig {
    let mut config = LoadConfig::new(url).unwrap();
    config.connections = connections;
    // Safety bound: every test ends well before this.
    config.duration = Some(Duration::from_secs(30));
    config.timeout = Duration::from_secs(5);
    config
}

/// Runs `config` in the background; returns the stop sender and the handle.
fn start(
    config: LoadConfig,
) -> (
    watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<LoadReport>>,
) {
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(loadgen::run(config, rx));
    (tx, handle)
}

async fn run_bounded(config: LoadConfig) -> LoadReport {
    let (_tx, rx) = watch::channel(false);
    tokio::time::timeout(Duration::from_secs(60), loadgen::run(config, rx))
        .await
        .expect("run ended by its own bounds")
        .expect("config accepted")
}

fn versions(report: &LoadReport) -> Vec<&str> {
    report.versions.iter().map(|r| r.version.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_every_request_and_follows_a_switch() {
    let server = TestServer::start("v1").await;
    let (stop, handle) = start(config(&server.url(), 8));
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.set_version("v2");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(true).unwrap();
    let report = handle.await.unwrap().unwrap();
    eprintln!("{}", report.summary());

    assert_eq!(report.stopped_by, StopReason::Stopped);
    assert!(report.total > 50, "too few requests: {}", report.total);
    assert_eq!(report.failures(), 0);
    assert_eq!(report.ok_2xx, report.total);
    assert_eq!(report.count("v1") + report.count("v2"), report.ok_2xx);
    // Requests cut by the stop reached the server but aren't counted.
    let seen = server.requests();
    assert!(
        seen >= report.total && seen <= report.total + 8,
        "server {seen} vs {}",
        report.total
    );
    // Connections are kept alive.
    assert_eq!(report.connects, 8);

    let first_v1 = report.first_seen("v1").unwrap();
    let first_v2 = report.first_seen("v2").unwrap();
    assert!(first_v1 < first_v2);
    assert!(first_v2 >= Duration::from_millis(250), "v2 at {first_v2:?}");
    assert_eq!(report.first_seen("v3"), None);
    assert_eq!(versions(&report).first(), Some(&"v1"));
    assert_eq!(versions(&report).last(), Some(&"v2"));
    // A clean switch: no request sent after the first v2 got v1.
    assert!(!report.went_back("v1", "v2"));
    // Moving forward is not going back.
    assert!(!report.went_back("v2", "v1"));
    assert!(!report.went_back("v1", "nope"));
    assert!(report.went_back.is_empty());
    assert!(!report.summary().contains("WENT BACK"));
    let runs: u64 = report.versions.iter().map(|r| r.count).sum();
    assert_eq!(runs, report.ok_2xx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn went_back_is_detected() {
    let server = TestServer::start("v1").await;
    let (stop, handle) = start(config(&server.url(), 1));
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.set_version("v2");
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.set_version("v1");
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.send(true).unwrap();
    let report = handle.await.unwrap().unwrap();

    assert_eq!(report.failures(), 0);
    assert_eq!(versions(&report), ["v1", "v2", "v1"]);
    assert!(report.went_back("v1", "v2"));
    assert!(!report.went_back("v2", "v1"));
    assert!(report.interleaved("v1", "v2"));
    // Before the roll back (a mark at the last v2 response) it hadn't.
    assert!(!report.went_back_before("v1", "v2", report.versions[1].last_at));
    assert!(report.went_back_before("v1", "v2", report.versions[2].last_at));
    let back = report.went_back_entry("v1", "v2").unwrap();
    assert_eq!(back.count, report.versions[2].count);
    assert!(report.summary().contains("WENT BACK: \"v1\""));
    let back = &report.versions[2];
    assert!(back.first_at > report.versions[1].last_at);
    assert!(back.count > 0 && back.first_at <= back.last_at);
    assert_eq!(report.last_seen("v2"), Some(report.versions[1].last_at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_2xx_are_counted_by_status() {
    let server = TestServer::start("v1").await;
    server.set_status(503);
    let mut cfg = config(&server.url(), 4);
    cfg.requests = Some(40);
    let report = run_bounded(cfg.clone()).await;
    assert_eq!(report.total, 40);
    assert_eq!(report.ok_2xx, 0);
    assert_eq!(report.non_2xx.get(&503), Some(&40));
    assert_eq!(report.failures(), 40);
    assert!(report.versions.is_empty(), "non-2xx have no version");
    assert_eq!(report.failure_events.len(), 40);
    assert!(report.failure_events.iter().all(|e| e.what == "status 503"));

    // A mix: 2xx, 404, 502 over one run.
    server.set_status(200);
    let (stop, handle) = start(config(&server.url(), 2));
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.set_status(404);
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.set_status(502);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    let report = handle.await.unwrap().unwrap();
    assert!(report.ok_2xx > 0);
    assert!(report.non_2xx[&404] > 0 && report.non_2xx[&502] > 0);
    assert_eq!(
        report.total,
        report.ok_2xx + report.non_2xx.values().sum::<u64>()
    );
    assert!(report.connection_errors.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abrupt_close_and_reset_count_connection_errors() {
    let server = TestServer::start("v1").await;
    server.set_mode(Mode::Drop);
    let mut cfg = config(&server.url(), 2);
    cfg.requests = Some(20);
    let report = run_bounded(cfg.clone()).await;
    assert_eq!(report.total, 20);
    assert_eq!(
        report.connection_errors.get("read_eof"),
        Some(&20),
        "{:?}",
        report.connection_errors
    );
    assert_eq!(report.failures(), 20);
    // Every attempt was on a fresh connection: nothing to retry.
    assert_eq!(report.stale_keepalive_retries, 0);

    server.set_mode(Mode::Reset);
    let report = run_bounded(cfg.clone()).await;
    assert_eq!(report.total, 20);
    let errors: u64 = report.connection_errors.values().sum();
    assert_eq!(errors, 20);
    assert!(
        report
            .connection_errors
            .keys()
            .all(|k| k.starts_with("read_")),
        "{:?}",
        report.connection_errors
    );
    assert!(
        report.connection_errors.contains_key("read_reset"),
        "{:?}",
        report.connection_errors
    );

    server.set_mode(Mode::Garbage);
    let report = run_bounded(cfg).await;
    assert_eq!(
        report.connection_errors.get("malformed_status_line"),
        Some(&20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_closing_mid_run_is_counted() {
    let server = TestServer::start("v1").await;
    let (stop, handle) = start(config(&server.url(), 4));
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.set_mode(Mode::Drop);
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.set_mode(Mode::Normal);
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.send(true).unwrap();
    let report = handle.await.unwrap().unwrap();
    assert!(report.ok_2xx > 0);
    assert!(
        report
            .connection_errors
            .get("read_eof")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(report.total, report.ok_2xx + report.failures());
    // The failures sit between the two healthy stretches on the timeline.
    let first = report.failure_events.first().unwrap().at;
    assert!(first >= Duration::from_millis(100), "{first:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_counted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut cfg = config(&format!("http://{addr}/"), 2);
    cfg.requests = Some(10);
    let report = run_bounded(cfg).await;
    assert_eq!(report.total, 10);
    assert_eq!(report.connection_errors.get("connect_refused"), Some(&10));
    assert_eq!(report.connects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_keepalive_is_retried_once_not_failed() {
    let server = TestServer::start("v1").await;
    server.set_mode(Mode::OneRequestPerConn);
    let mut cfg = config(&server.url(), 1);
    cfg.requests = Some(30);
    cfg.pause = Duration::from_millis(2); // let the server's close arrive
    let report = run_bounded(cfg.clone()).await;
    assert_eq!(report.failures(), 0, "{}", report.summary());
    assert_eq!(report.ok_2xx, 30);
    assert!(report.stale_keepalive_retries > 0);
    assert!(report.summary().contains("stale keep-alive retries"));

    cfg.strict_keepalive = true;
    let report = run_bounded(cfg).await;
    assert!(report.failures() > 0, "{}", report.summary());
    assert_eq!(report.stale_keepalive_retries, 0);
    assert_eq!(report.total, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bound_is_exact() {
    let server = TestServer::start("v1").await;
    let mut cfg = config(&server.url(), 16);
    cfg.requests = Some(1000);
    let report = run_bounded(cfg).await;
    assert_eq!(report.stopped_by, StopReason::Requests);
    assert_eq!(report.total, 1000);
    assert_eq!(report.ok_2xx, 1000);
    assert_eq!(server.requests(), 1000);
    assert_eq!(report.versions.len(), 1);
    assert_eq!(report.versions[0].count, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_bound_ends_the_run() {
    let server = TestServer::start("v1").await;
    let mut cfg = config(&server.url(), 4);
    cfg.duration = Some(Duration::from_millis(300));
    cfg.pause = Duration::from_millis(1);
    let started = Instant::now();
    let (_tx, handle) = start(cfg); // the stop sender stays alive and silent
    let report = handle.await.unwrap().unwrap();
    let took = started.elapsed();
    assert_eq!(report.stopped_by, StopReason::Duration);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(report.elapsed >= Duration::from_millis(300));
    assert!(report.total > 0);

    // A dropped stop sender doesn't end the run early either.
    let mut cfg = config(&server.url(), 2);
    cfg.duration = Some(Duration::from_millis(200));
    let (tx, rx) = watch::channel(false);
    drop(tx);
    let report = loadgen::run(cfg, rx).await.unwrap();
    assert_eq!(report.stopped_by, StopReason::Duration);
    assert!(report.elapsed >= Duration::from_millis(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_version_pattern_and_header() {
    let server = TestServer::start("v7").await;
    server.set_mode(Mode::Chunked);
    let mut cfg = config(&server.url(), 4);
    cfg.requests = Some(50);
    cfg.version = VersionRule {
        header: None,
        pattern: Some("version=".into()),
    };
    let report = run_bounded(cfg.clone()).await;
    assert_eq!(report.failures(), 0, "{}", report.summary());
    assert_eq!(report.count("v7"), 50);

    cfg.version = VersionRule {
        header: Some("x-app-version".into()),
        pattern: None,
    };
    let report = run_bounded(cfg.clone()).await;
    assert_eq!(report.count("h-v7"), 50);

    cfg.version = VersionRule {
        header: Some("X-App-Version".into()),
        pattern: Some("h-".into()),
    };
    let report = run_bounded(cfg).await;
    assert_eq!(report.count("v7"), 50);

    // Default rule: first line of the body, trimmed.
    server.set_mode(Mode::Normal);
    let mut cfg = config(&server.url(), 1);
    cfg.requests = Some(5);
    let report = run_bounded(cfg).await;
    assert_eq!(report.count("v7"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_percentiles_summary_and_json() {
    let server = TestServer::start("v1").await;
    let mut cfg = config(&server.url(), 4);
    cfg.requests = Some(400);
    let report = run_bounded(cfg).await;
    let l = report.latency;
    assert!(l.p50 > Duration::ZERO);
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, "{l:?}");
    assert!(l.max < Duration::from_secs(5));

    let summary = report.summary();
    assert!(summary.contains("400 requests"), "{summary}");
    assert!(summary.contains("failures 0"), "{summary}");
    assert!(summary.contains("\"v1\" x400"), "{summary}");

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["total"], 400);
    assert_eq!(json["ok_2xx"], 400);
    assert_eq!(json["stopped_by"], "requests");
    assert_eq!(json["versions"][0]["version"], "v1");
    assert!(json["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert!(json["version_stats"]["v1"]["first_at_ms"].is_number());
}

#[tokio::test]
async fn refused_configs_never_connect() {
    let ok = || {
        let mut c = LoadConfig::new("http://127.0.0.1:9/").unwrap();
        c.requests = Some(1);
        c
    };
    ok().validate().unwrap();

    let mut c = ok();
    c.connections = 0;
    assert!(c.validate().is_err());
    c.connections = 1025;
    assert!(c.validate().is_err());
    c.connections = 1024;
    c.validate().unwrap();

    let mut c = ok();
    c.requests = None;
    assert!(c.validate().unwrap_err().to_string().contains("bounded"));
    c.duration = Some(Duration::from_secs(601));
    assert!(c.validate().is_err());
    c.duration = Some(Duration::from_secs(600));
    c.validate().unwrap();
    c.requests = Some(10_000_001);
    assert!(c.validate().is_err());
    c.requests = Some(10_000_000);
    c.validate().unwrap();

    let mut c = ok();
    c.version.header = Some("bad header".into());
    assert!(c.validate().is_err());

    // Non-loopback targets: refused by run() before any connection.
    for (url, private_ok) in [
        ("http://10.1.2.3:8080/", true),
        ("http://172.18.0.5/", true),
        ("http://192.168.1.1/", true),
        ("http://[fd00::1]/", true),
        ("http://8.8.8.8/", false),
        ("http://0.0.0.0/", false),
        ("http://[2001:db8::1]/", false),
        ("http://169.254.1.1/", false),
    ] {
        let mut c = LoadConfig::new(url).unwrap();
        c.requests = Some(1);
        let (_tx, rx) = watch::channel(false);
        let err = loadgen::run(c.clone(), rx).await.unwrap_err();
        assert!(err.to_string().contains("refusing"), "{url}: {err}");
        c.allow_private = true;
        assert_eq!(c.validate().is_ok(), private_ok, "{url} with allow_private");
    }
    for url in [
        "http://127.0.0.1/",
        "http://127.8.9.10:81/",
        "http://[::1]:8080/x",
        "http://localhost/",
    ] {
        let mut c = LoadConfig::new(url).unwrap();
        c.requests = Some(1);
        c.validate().unwrap();
    }
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    check_target(mapped, false).unwrap();
    let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
    assert!(check_target(mapped, false).is_err());
}

#[test]
fn urls_are_parsed_without_dns() {
    let t = parse_url("http://127.0.0.1:8080/a/b?c=1").unwrap();
    assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(t.host, "127.0.0.1:8080");
    assert_eq!(t.path, "/a/b?c=1");
    let t = parse_url("http://[::1]").unwrap();
    assert_eq!(t.addr, "[::1]:80".parse().unwrap());
    assert_eq!(t.path, "/");
    let t = parse_url("http://localhost:3000?x").unwrap();
    assert_eq!(t.addr, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(t.path, "/?x");
    assert!(parse_url("https://127.0.0.1/").is_err());
    assert!(parse_url("http://example.com/").is_err());
    assert!(parse_url("http://127.0.0.1:99999/").is_err());
    assert!(parse_url("http://user@127.0.0.1/").is_err());
    assert!(parse_url("http:///x").is_err());
}

#[test]
fn version_rules() {
    assert_eq!(extract_version("  v1  \nmore", None).unwrap(), "v1");
    assert_eq!(extract_version("", None).unwrap(), "");
    assert_eq!(
        extract_version("<p>build=abc123</p>", Some("build=")).unwrap(),
        "abc123"
    );
    assert_eq!(
        extract_version(r#"{"version":"2.1.0"}"#, Some(r#""version":""#)).unwrap(),
        "2.1.0"
    );
    assert_eq!(extract_version("nothing here", Some("v=")), None);
    assert_eq!(extract_version(&"x".repeat(500), None).unwrap().len(), 64);
}

fn loadgen_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stackctl-loadgen"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exit_codes_and_json() {
    let server = TestServer::start("v1").await;
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        loadgen_bin()
            .args([&url, "-n", "50", "-c", "4", "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"], 50);
    assert_eq!(json["version_stats"]["v1"]["count"], 50);
    assert!(String::from_utf8_lossy(&out.stderr).contains("failures 0"));

    server.set_status(500);
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        loadgen_bin()
            .args([&url, "-n", "10", "-c", "2"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("500: 10"));

    for args in [
        vec!["http://10.0.0.1/", "-n", "1"],
        vec!["http://8.8.8.8/", "-n", "1", "--allow-private"],
        vec!["http://127.0.0.1/"],
        vec!["http://127.0.0.1/", "-d", "601s"],
        vec!["http://127.0.0.1/", "-n", "1", "-c", "2000"],
    ] {
        let out = loadgen_bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
