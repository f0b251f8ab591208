//! A bounded HTTP/1.1 load generator for zero-downtime checks.
//!
//! `run` keeps N keep-alive connections busy with `GET path` requests against
//! one address and reports what a client saw: responses by status, connection
//! errors by kind, which "version" answered when, and latency percentiles.
//!
//! Safety rails (this is a test tool, not a benchmark for other people's
//! servers): the target must be an IP literal or `localhost`; loopback
//! (127.0.0.0/8, ::1) is always allowed, private ranges (container networks)
//! only with `allow_private`, anything else is refused. Every run is bounded
//! by a duration (at most [`MAX_DURATION`]) and/or a request count (at most
//! [`MAX_REQUESTS`]), with at most [`MAX_CONNECTIONS`] connections.
//!
//! Failures are counted the way the zero-downtime notes ask: non-2xx
//! responses plus connection errors seen by this client. One exception is
//! made, as curl, hyper and browsers make it: when a *reused* keep-alive
//! connection is closed by the server before any byte of the response arrived
//! (the server closed an idle connection while the request was on its way,
//! e.g. an nginx worker retiring after `nginx -s reload`), the idempotent GET
//! is retried once on a fresh connection and counted in
//! `stale_keepalive_retries`, not as a failure. `strict_keepalive` turns that
//! off and counts those as connection errors.

use anyhow::{bail, Context, Result};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Longest run allowed.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Most requests allowed in one run.
pub const MAX_REQUESTS: u64 = 10_000_000;
/// Most concurrent connections allowed.
pub const MAX_CONNECTIONS: usize = 1024;
/// Default number of connections.
pub const DEFAULT_CONNECTIONS: usize = 32;
/// Default per-request timeout (connect + write + full response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest version string kept (longer ones are cut).
const MAX_VERSION_LEN: usize = 64;
/// Version runs kept before the run list stops growing (per-version
/// statistics stay exact).
const MAX_RUNS: usize = 100_000;
/// Distinct versions tracked; later ones are classified as `(other)`.
const MAX_VERSIONS: usize = 256;
/// Failure events kept for the timeline.
const MAX_FAILURE_EVENTS: usize = 1_000;
/// Status line / header line limit.
const MAX_LINE: u64 = 16 * 1024;
const MAX_HEADERS: usize = 128;
/// Body bytes kept for version classification; the rest is read and dropped.
const MAX_KEPT_BODY: usize = 1024 * 1024;

/// Where the version of a 2xx response is read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionRule {
    /// Read this response header instead of the body.
    pub header: Option<String>,
    /// Take the token right after this prefix; without it, the first line,
    /// trimmed.
    pub pattern: Option<String>,
}

/// What to load and how hard.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Target address: must be loopback, or private with `allow_private`.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host: String,
    /// Request path, starting with `/`.
    pub path: String,
    /// Keep-alive connections kept busy (1..=1024).
    pub connections: usize,
    /// Stop after this long (at most 600 s).
    pub duration: Option<Duration>,
    /// Stop after this many requests (at most 10,000,000).
    pub requests: Option<u64>,
    /// Allow private-range targets (container networks).
    pub allow_private: bool,
    /// Per-request timeout (connect + write + full response).
    pub timeout: Duration,
    /// Pause between two requests on one connection (zero: closed loop).
    pub pause: Duration,
    /// Count a reused connection closed before any response byte as an
    /// error instead of retrying the GET once.
    pub strict_keepalive: bool,
    /// How to classify 2xx responses into versions.
    pub version: VersionRule,
    /// Requests finished so far (any outcome), readable while the load runs
    /// so a caller can wait for a count instead of guessing a duration.
    pub completed: Arc<AtomicU64>,
}

impl LoadConfig {
    /// A config for `url` (`http://IP[:port][/path]` or `http://localhost...`)
    /// with defaults: 32 connections, no bound yet (set `duration` and/or
    /// `requests`), 10 s timeout.
    pub fn new(url: &str) -> Result<Self> {
        let target = parse_url(url)?;
        Ok(Self {
            addr: target.addr,
            host: target.host,
            path: target.path,
            connections: DEFAULT_CONNECTIONS,
            duration: None,
            requests: None,
            allow_private: false,
            timeout: DEFAULT_TIMEOUT,
            pause: Duration::ZERO,
            strict_keepalive: false,
            version: VersionRule::default(),
            completed: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Checks the safety rails and bounds.
    pub fn validate(&self) -> Result<()> {
        check_target(self.addr.ip(), self.allow_private)?;
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            bail!(
                "connections must be between 1 and {MAX_CONNECTIONS} (got {})",
                self.connections
            );
        }
        if self.duration.is_none() && self.requests.is_none() {
            bail!("a run must be bounded: give a duration and/or a request count");
        }
        if let Some(duration) = self.duration {
            if duration.is_zero() || duration > MAX_DURATION {
                bail!(
                    "duration must be more than 0 and at most {} s (got {:.3} s)",
                    MAX_DURATION.as_secs(),
                    duration.as_secs_f64()
                );
            }
        }
        if let Some(requests) = self.requests {
            if requests == 0 || requests > MAX_REQUESTS {
                bail!("requests must be between 1 and {MAX_REQUESTS} (got {requests})");
            }
        }
        if self.timeout.is_zero() || self.timeout > MAX_DURATION {
            bail!(
                "timeout must be more than 0 and at most {} s",
                MAX_DURATION.as_secs()
            );
        }
        if self.pause > Duration::from_secs(60) {
            bail!("pause must be at most 60 s");
        }
        if !self.path.starts_with('/') || self.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            bail!("path must start with '/' and hold no spaces or control characters");
        }
        if self.host.is_empty() || self.host.bytes().any(|b| b <= b' ' || b == 0x7f) {
            bail!("host header must be non-empty and hold no spaces or control characters");
        }
        if let Some(header) = &self.version.header {
            if header.is_empty() || !header.bytes().all(is_token_byte) {
                bail!("version header name {header:?} is not a valid header name");
            }
        }
        if let Some(pattern) = &self.version.pattern {
            if pattern.is_empty() {
                bail!("version pattern must not be empty");
            }
        }
        Ok(())
    }
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
}

/// Parses `http://HOST[:PORT][/PATH]` where HOST is an IPv4 literal,
/// `[IPv6]` literal or `localhost` (127.0.0.1). No DNS: names are refused.
pub fn parse_url(url: &str) -> Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("only http:// URLs are supported (got {url:?})"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let path = match path.find('#') {
        Some(i) => path[..i].to_string(),
        None => path,
    };
    if authority.is_empty() || authority.contains('@') {
        bail!("URL {url:?} needs a host and no user info");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6
            .find(']')
            .with_context(|| format!("unclosed '[' in {url:?}"))?;
        let port = match &v6[end + 1..] {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .with_context(|| format!("bad port in {url:?}"))?,
            ),
        };
        (&v6[..end], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port: u16 = match port {
        None => 80,
        Some(p) => p
            .parse()
            .with_context(|| format!("bad port {p:?} in {url:?}"))?,
    };
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse().with_context(|| {
            format!("host {host:?} must be an IP address or localhost (no DNS look-ups)")
        })?
    };
    Ok(Target {
        addr: SocketAddr::new(ip, port),
        host: authority.to_string(),
        path,
    })
}

/// Loopback always; private ranges (RFC 1918, fc00::/7) only with
/// `allow_private`; everything else refused.
pub fn check_target(ip: IpAddr, allow_private: bool) -> Result<()> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    if ip.is_loopback() {
        return Ok(());
    }
    let private = match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    if private && allow_private {
        return Ok(());
    }
    if private {
        bail!("refusing {ip}: not loopback; pass --allow-private (allow_private) for a container network address");
    }
    bail!("refusing {ip}: only loopback (127.0.0.0/8, ::1) or, with --allow-private, private container-network addresses are allowed");
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads a version out of `text` by `pattern`: the token after the first
/// occurrence of `pattern` (up to whitespace or one of `"',;&<>()[]{}`), or
/// without a pattern the first line, trimmed. `None` when the pattern is
/// absent.
pub fn extract_version(text: &str, pattern: Option<&str>) -> Option<String> {
    let found = match pattern {
        Some(prefix) => {
            let start = text.find(prefix)? + prefix.len();
            let rest = &text[start..];
            let end = rest
                .find(|c: char| c.is_whitespace() || "\"',;&<>()[]{}".contains(c))
                .unwrap_or(rest.len());
            &rest[..end]
        }
        None => text.lines().next().unwrap_or("").trim(),
    };
    let mut version = found.to_string();
    if version.len() > MAX_VERSION_LEN {
        let mut cut = MAX_VERSION_LEN;
        while !version.is_char_boundary(cut) {
            cut -= 1;
        }
        version.truncate(cut);
    }
    Some(version)
}

// ---------------------------------------------------------------------------
// Report

fn ser_dur<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// A stretch of consecutive responses (in completion order) of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRun {
    pub version: String,
    /// Completion time of the first response of the run, since start.
    #[serde(serialize_with = "ser_dur", rename = "first_at_ms")]
    pub first_at: Duration,
    /// Completion time of the last response of the run, since start.
    #[serde(serialize_with = "ser_dur", rename = "last_at_ms")]
    pub last_at: Duration,
    pub count: u64,
}

/// Exact per-version numbers (kept even when the run list is truncated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionStats {
    pub count: u64,
    /// Completion time of the first response of this version.
    #[serde(serialize_with = "ser_dur", rename = "first_at_ms")]
    pub first_at: Duration,
    /// Completion time of the last response of this version.
    #[serde(serialize_with = "ser_dur", rename = "last_at_ms")]
    pub last_at: Duration,
    /// Latest send time of a request answered by this version.
    #[serde(serialize_with = "ser_dur", rename = "last_sent_ms")]
    pub last_sent: Duration,
}

/// Traffic that went back: `from` answered before `to` first did, and then
/// again to requests sent after the first `to` response had arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WentBack {
    pub from: String,
    pub to: String,
    /// Send time of the earliest such request, since start.
    #[serde(serialize_with = "ser_dur", rename = "first_sent_ms")]
    pub first_sent: Duration,
    /// Send time of the latest such request, since start.
    #[serde(serialize_with = "ser_dur", rename = "last_sent_ms")]
    pub last_sent: Duration,
    pub count: u64,
}

/// One failure on the timeline (the first 1,000 are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureEvent {
    #[serde(serialize_with = "ser_dur", rename = "at_ms")]
    pub at: Duration,
    /// `status 503` or a connection error kind such as `read_eof`.
    pub what: String,
}

/// Latency of answered requests (any status), send to full response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    #[serde(serialize_with = "ser_dur", rename = "p50_ms")]
    pub p50: Duration,
    #[serde(serialize_with = "ser_dur", rename = "p90_ms")]
    pub p90: Duration,
    #[serde(serialize_with = "ser_dur", rename = "p99_ms")]
    pub p99: Duration,
    #[serde(serialize_with = "ser_dur", rename = "max_ms")]
    pub max: Duration,
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    Stopped,
    Duration,
    Requests,
}

/// What the client saw.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub target: String,
    pub connections: usize,
    #[serde(serialize_with = "ser_dur", rename = "elapsed_ms")]
    pub elapsed: Duration,
    pub stopped_by: StopReason,
    /// Finished attempts: `ok_2xx + non_2xx + connection_errors`.
    pub total: u64,
    pub ok_2xx: u64,
    pub non_2xx: BTreeMap<u16, u64>,
    pub connection_errors: BTreeMap<String, u64>,
    /// Reused connections closed before any response byte, retried once
    /// (not failures unless `strict_keepalive`).
    pub stale_keepalive_retries: u64,
    /// TCP connections opened.
    pub connects: u64,
    /// Runs of 2xx versions in completion order.
    pub versions: Vec<VersionRun>,
    /// The run list hit its cap; `version_stats` is still exact.
    pub versions_truncated: bool,
    pub version_stats: BTreeMap<String, VersionStats>,
    /// Every (from, to) pair where `from` answered before `to` first did,
    /// and again for a request sent after the first `to` response arrived.
    pub went_back: Vec<WentBack>,
    /// The first failures, with their times.
    pub failure_events: Vec<FailureEvent>,
    pub latency: Latency,
}

impl LoadReport {
    /// Non-2xx responses plus connection errors.
    pub fn failures(&self) -> u64 {
        self.non_2xx.values().sum::<u64>() + self.connection_errors.values().sum::<u64>()
    }

    /// Completion time of the first 2xx response of `version`.
    pub fn first_seen(&self, version: &str) -> Option<Duration> {
        self.version_stats.get(version).map(|s| s.first_at)
    }

    /// Completion time of the last 2xx response of `version`.
    pub fn last_seen(&self, version: &str) -> Option<Duration> {
        self.version_stats.get(version).map(|s| s.last_at)
    }

    /// 2xx responses of `version`.
    pub fn count(&self, version: &str) -> u64 {
        self.version_stats.get(version).map_or(0, |s| s.count)
    }

    /// Whether traffic went back from `to` to `from`: `from` answered before
    /// `to` first did, and then again to a request *sent after* the first
    /// `to` response had arrived. Requests
    /// already in flight when `to` first answered (old connections draining)
    /// don't count, so concurrent connections can't cause a false alarm.
    pub fn went_back(&self, from: &str, to: &str) -> bool {
        self.went_back_entry(from, to).is_some()
    }

    /// Like [`went_back`](Self::went_back), counting only requests sent
    /// before `mark` (e.g. the moment a rollback started).
    pub fn went_back_before(&self, from: &str, to: &str, mark: Duration) -> bool {
        self.went_back_entry(from, to)
            .is_some_and(|w| w.first_sent < mark)
    }

    /// The went-back record for (`from`, `to`), if traffic went back.
    pub fn went_back_entry(&self, from: &str, to: &str) -> Option<&WentBack> {
        self.went_back.iter().find(|w| w.from == from && w.to == to)
    }

    /// Like [`went_back`](Self::went_back) by completion order only: some
    /// `from` response completed after the first `to` (includes drains).
    pub fn interleaved(&self, from: &str, to: &str) -> bool {
        match (self.version_stats.get(from), self.version_stats.get(to)) {
            (Some(from), Some(to)) => from.last_at > to.first_at,
            _ => false,
        }
    }

    /// A few human-readable lines.
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.total as f64 / secs
        } else {
            0.0
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "target {} | {} connections | {:.2} s ({:?}) | {} requests ({:.0}/s) | {} connects",
            self.target, self.connections, secs, self.stopped_by, self.total, rate, self.connects
        );
        let non_2xx: u64 = self.non_2xx.values().sum();
        let errors: u64 = self.connection_errors.values().sum();
        let _ = write!(
            out,
            "2xx {} | non-2xx {} | connection errors {} | failures {}",
            self.ok_2xx,
            non_2xx,
            errors,
            self.failures()
        );
        if self.stale_keepalive_retries > 0 {
            let _ = write!(
                out,
                " | stale keep-alive retries {}",
                self.stale_keepalive_retries
            );
        }
        out.push('\n');
        if non_2xx > 0 {
            let parts: Vec<String> = self
                .non_2xx
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect();
            let _ = writeln!(out, "  non-2xx by status: {}", parts.join(", "));
        }
        if errors > 0 {
            let parts: Vec<String> = self
                .connection_errors
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            let _ = writeln!(out, "  connection errors: {}", parts.join(", "));
        }
        let _ = writeln!(
            out,
            "latency p50 {:.2} ms | p90 {:.2} ms | p99 {:.2} ms | max {:.2} ms",
            ms(self.latency.p50),
            ms(self.latency.p90),
            ms(self.latency.p99),
            ms(self.latency.max)
        );
        for back in &self.went_back {
            let _ = writeln!(
                out,
                "WENT BACK: {:?} answered {} requests sent after the first {:?} (first sent at {:.1} ms)",
                back.from,
                back.count,
                back.to,
                ms(back.first_sent)
            );
        }
        let shown = 20;
        let _ = write!(out, "versions ({} runs", self.versions.len());
        if self.versions_truncated {
            out.push_str(", truncated");
        }
        out.push_str("):");
        for run in self.versions.iter().take(shown) {
            let _ = write!(
                out,
                " {:?} x{} [{:.1}-{:.1} ms]",
                run.version,
                run.count,
                ms(run.first_at),
                ms(run.last_at)
            );
        }
        if self.versions.len() > shown {
            let _ = write!(out, " ... ({} more)", self.versions.len() - shown);
        }
        out
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------
// Latency histogram: log-linear buckets, 64 sub-buckets per power of two
// (under 1.6 % error), values in microseconds.

const SUB: u64 = 64;

#[derive(Clone)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max_us: u64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: vec![0; Self::index(u64::MAX) + 1],
            count: 0,
            max_us: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            return v as usize;
        }
        let mag = 63 - u64::from(v.leading_zeros()); // >= 7
        let shift = mag - 6;
        ((mag - 5) * SUB + (v >> shift) - SUB) as usize
    }

    /// Highest value that falls in bucket `i`.
    fn upper(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let mag = i / SUB + 5;
        let sub = i % SUB + SUB;
        let shift = mag - 6;
        let upper = (u128::from(sub + 1) << shift) - 1;
        u64::try_from(upper).unwrap_or(u64::MAX)
    }

    fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[Self::index(us)] += 1;
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.max_us = self.max_us.max(other.max_us);
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_micros(Self::upper(i).min(self.max_us));
            }
        }
        Duration::from_micros(self.max_us)
    }

    fn summary(&self) -> Latency {
        Latency {
            p50: self.percentile(50.0),
            p90: self.percentile(90.0),
            p99: self.percentile(99.0),
            max: Duration::from_micros(self.max_us),
        }
    }
}

// ---------------------------------------------------------------------------
// Shared state

#[derive(Default)]
struct VersionLog {
    runs: Vec<VersionRun>,
    truncated: bool,
    stats: BTreeMap<String, VersionStats>,
    back: BTreeMap<(String, String), WentBack>,
}

struct Shared {
    start: Instant,
    issued: AtomicU64,
    versions: Mutex<VersionLog>,
    failures: Mutex<Vec<FailureEvent>>,
}

impl Shared {
    fn record_version(&self, mut version: String, sent: Instant) {
        let mut guard = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        let log = &mut *guard;
        // Taken under the lock so the run list is in completion order.
        let at = self.start.elapsed();
        let sent = sent.saturating_duration_since(self.start);
        if log.stats.len() >= MAX_VERSIONS && !log.stats.contains_key(&version) {
            version = "(other)".to_string();
        }
        // Went back: this version had answered before another one first
        // did, and this request left after that other one had answered.
        let own_first = log.stats.get(&version).map(|s| s.first_at);
        for (other, other_stats) in &log.stats {
            let again = own_first.is_some_and(|own| own < other_stats.first_at);
            if *other != version && again && other_stats.first_at < sent {
                log.back
                    .entry((version.clone(), other.clone()))
                    .and_modify(|w| {
                        w.first_sent = w.first_sent.min(sent);
                        w.last_sent = w.last_sent.max(sent);
                        w.count += 1;
                    })
                    .or_insert_with(|| WentBack {
                        from: version.clone(),
                        to: other.clone(),
                        first_sent: sent,
                        last_sent: sent,
                        count: 1,
                    });
            }
        }
        let stats = log.stats.entry(version.clone()).or_insert(VersionStats {
            count: 0,
            first_at: at,
            last_at: at,
            last_sent: sent,
        });
        stats.count += 1;
        stats.last_at = at;
        stats.last_sent = stats.last_sent.max(sent);
        let full = log.runs.len() >= MAX_RUNS;
        match log.runs.last_mut() {
            Some(run) if run.version == version => {
                run.last_at = at;
                run.count += 1;
            }
            _ if full => log.truncated = true,
            _ => log.runs.push(VersionRun {
                version,
                first_at: at,
                last_at: at,
                count: 1,
            }),
        }
    }

    fn record_failure(&self, what: String) {
        let mut events = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() < MAX_FAILURE_EVENTS {
            events.push(FailureEvent {
                at: self.start.elapsed(),
                what,
            });
        }
    }
}

struct WorkerStats {
    total: u64,
    ok_2xx: u64,
    non_2xx: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    stale: u64,
    connects: u64,
    latency: Histogram,
}

impl WorkerStats {
    fn new() -> Self {
        Self {
            total: 0,
            ok_2xx: 0,
            non_2xx: BTreeMap::new(),
            errors: BTreeMap::new(),
            stale: 0,
            connects: 0,
            latency: Histogram::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1 client

/// Why an attempt failed.
#[derive(Debug)]
struct Failure {
    kind: String,
    /// Nothing of the response arrived (candidate for a stale keep-alive retry).
    before_response: bool,
}

impl Failure {
    fn io(phase: &str, err: &std::io::Error, before_response: bool) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::ConnectionRefused => "refused",
            K::ConnectionReset => "reset",
            K::ConnectionAborted => "aborted",
            K::BrokenPipe => "broken_pipe",
            K::UnexpectedEof => "eof",
            K::TimedOut => "timeout",
            K::AddrNotAvailable => "addr_not_available",
            _ => "other",
        };
        Self {
            kind: format!("{phase}_{kind}"),
            before_response,
        }
    }

    fn eof(before_response: bool) -> Self {
        Self {
            kind: "read_eof".into(),
            before_response,
        }
    }

    fn malformed(what: &str) -> Self {
        Self {
            kind: format!("malformed_{what}"),
            before_response: false,
        }
    }
}

struct Response {
    status: u16,
    close: bool,
    version_text: Option<String>,
}

type Conn = BufReader<TcpStream>;

async fn connect(addr: SocketAddr) -> std::result::Result<Conn, Failure> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::io("connect", &e, true))?;
    let _ = stream.set_nodelay(true);
    Ok(BufReader::with_capacity(16 * 1024, stream))
}

/// Reads one line (CRLF or LF) into `buf`; `Ok(false)` on EOF before any byte.
async fn read_line(conn: &mut Conn, buf: &mut Vec<u8>) -> std::result::Result<bool, Failure> {
    buf.clear();
    let n = (&mut *conn)
        .take(MAX_LINE)
        .read_until(b'\n', buf)
        .await
        .map_err(|e| Failure::io("read", &e, false))?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') {
        return Err(if n as u64 >= MAX_LINE {
            Failure::malformed("line_too_long")
        } else {
            Failure::eof(false)
        });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(true)
}

async fn read_body_exact(
    conn: &mut Conn,
    mut len: u64,
    body: &mut Vec<u8>,
) -> std::result::Result<(), Failure> {
    let mut scratch = [0u8; 8192];
    while len > 0 {
        let want = len.min(scratch.len() as u64) as usize;
        let n = conn
            .read(&mut scratch[..want])
            .await
            .map_err(|e| Failure::io("read", &e, false))?;
        if n == 0 {
            return Err(Failure::eof(false));
        }
        let keep = n.min(MAX_KEPT_BODY.saturating_sub(body.len()));
        body.extend_from_slice(&scratch[..keep]);
        len -= n as u64;
    }
    Ok(())
}

async fn read_body_to_eof(conn: &mut Conn, body: &mut Vec<u8>) -> std::result::Result<(), Failure> {
    let mut scratch = [0u8; 8192];
    loop {
        let n = conn
            .read(&mut scratch)
            .await
            .map_err(|e| Failure::io("read", &e, false))?;
        if n == 0 {
            return Ok(());
        }
        let keep = n.min(MAX_KEPT_BODY.saturating_sub(body.len()));
        body.extend_from_slice(&scratch[..keep]);
    }
}

async fn read_chunked(conn: &mut Conn, body: &mut Vec<u8>) -> std::result::Result<(), Failure> {
    let mut line = Vec::new();
    loop {
        if !read_line(conn, &mut line).await? {
            return Err(Failure::eof(false));
        }
        let text = std::str::from_utf8(&line).map_err(|_| Failure::malformed("chunk_size"))?;
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size =
            u64::from_str_radix(size_text, 16).map_err(|_| Failure::malformed("chunk_size"))?;
        if size == 0 {
            // Trailers up to an empty line.
            loop {
                if !read_line(conn, &mut line).await? {
                    return Err(Failure::eof(false));
                }
                if line.is_empty() {
                    return Ok(());
                }
            }
        }
        read_body_exact(conn, size, body).await?;
        if !read_line(conn, &mut line).await? {
            return Err(Failure::eof(false));
        }
        if !line.is_empty() {
            return Err(Failure::malformed("chunk_end"));
        }
    }
}

async fn read_response(
    conn: &mut Conn,
    rule: &VersionRule,
) -> std::result::Result<Response, Failure> {
    let mut line = Vec::new();
    let mut first = true;
    loop {
        // Status line.
        match read_line(conn, &mut line).await {
            Ok(true) => {}
            Ok(false) => return Err(Failure::eof(first)),
            Err(mut f) => {
                // Nothing of the response arrived if the very first read failed
                // before any byte.
                f.before_response = first && line.is_empty() && f.kind.starts_with("read_");
                return Err(f);
            }
        }
        first = false;
        let text = std::str::from_utf8(&line).map_err(|_| Failure::malformed("status_line"))?;
        let mut parts = text.splitn(3, ' ');
        let proto = parts.next().unwrap_or("");
        let code = parts.next().unwrap_or("");
        if !proto.starts_with("HTTP/1.") || code.len() != 3 {
            return Err(Failure::malformed("status_line"));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| Failure::malformed("status_line"))?;
        if !(100..=599).contains(&status) {
            return Err(Failure::malformed("status_line"));
        }
        let http10 = proto == "HTTP/1.0";

        // Headers.
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut close = http10;
        let mut header_version = None;
        let mut headers = 0;
        loop {
            if !read_line(conn, &mut line).await? {
                return Err(Failure::eof(false));
            }
            if line.is_empty() {
                break;
            }
            headers += 1;
            if headers > MAX_HEADERS {
                return Err(Failure::malformed("too_many_headers"));
            }
            let text = String::from_utf8_lossy(&line);
            let (name, value) = text
                .split_once(':')
                .ok_or_else(|| Failure::malformed("header"))?;
            let name = name.trim();
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n: u64 = value
                    .parse()
                    .map_err(|_| Failure::malformed("content_length"))?;
                if content_length.is_some_and(|old| old != n) {
                    return Err(Failure::malformed("content_length"));
                }
                content_length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                        close = false;
                    }
                }
            }
            if let Some(want) = &rule.header {
                if name.eq_ignore_ascii_case(want) {
                    header_version = Some(value.to_string());
                }
            }
        }

        if (100..200).contains(&status) {
            if status == 101 {
                return Err(Failure::malformed("unexpected_101"));
            }
            continue; // 100 Continue and friends: the real response follows.
        }

        let mut body = Vec::new();
        if status == 204 || status == 304 {
            // No body.
        } else if chunked {
            read_chunked(conn, &mut body).await?;
        } else if let Some(len) = content_length {
            read_body_exact(conn, len, &mut body).await?;
        } else {
            read_body_to_eof(conn, &mut body).await?;
            close = true;
        }

        let version_text = if (200..300).contains(&status) {
            match &rule.header {
                Some(_) => header_version,
                None => Some(String::from_utf8_lossy(&body).into_owned()),
            }
        } else {
            None
        };
        return Ok(Response {
            status,
            close,
            version_text,
        });
    }
}

async fn exchange(
    conn: &mut Conn,
    request: &[u8],
    rule: &VersionRule,
) -> std::result::Result<Response, Failure> {
    conn.get_mut()
        .write_all(request)
        .await
        .map_err(|e| Failure::io("write", &e, true))?;
    read_response(conn, rule).await
}

/// One request, opening a connection when needed; retries once on a fresh
/// connection when a reused one was closed before the response began.
async fn attempt(
    conn: &mut Option<Conn>,
    cfg: &LoadConfig,
    request: &[u8],
    stats: &mut WorkerStats,
) -> std::result::Result<Response, Failure> {
    let mut retried = false;
    loop {
        let reused = conn.is_some();
        if conn.is_none() {
            *conn = Some(connect(cfg.addr).await?);
            stats.connects += 1;
        }
        let c = conn.as_mut().expect("connection just set");
        match exchange(c, request, &cfg.version).await {
            Ok(resp) => return Ok(resp),
            Err(f) => {
                *conn = None;
                if reused && f.before_response && !retried && !cfg.strict_keepalive {
                    retried = true;
                    stats.stale += 1;
                    continue;
                }
                return Err(f);
            }
        }
    }
}

async fn wait_stop(mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            // Sender gone: only the bounds can end the run.
            std::future::pending::<()>().await;
        }
    }
}

async fn worker(
    cfg: Arc<LoadConfig>,
    shared: Arc<Shared>,
    request: Arc<[u8]>,
    stop: watch::Receiver<bool>,
    deadline: Option<tokio::time::Instant>,
) -> WorkerStats {
    let mut stats = WorkerStats::new();
    let mut conn: Option<Conn> = None;
    let stop_fut = wait_stop(stop);
    tokio::pin!(stop_fut);
    let end = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    loop {
        if let Some(limit) = cfg.requests {
            if shared.issued.fetch_add(1, Ordering::Relaxed) >= limit {
                break;
            }
        }
        let sent = Instant::now();
        let outcome = tokio::select! {
            biased;
            _ = &mut stop_fut => break,
            _ = &mut end => break,
            r = tokio::time::timeout(cfg.timeout, attempt(&mut conn, &cfg, &request, &mut stats)) => r,
        };
        stats.total += 1;
        cfg.completed.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(Ok(resp)) => {
                stats.latency.record(sent.elapsed());
                if (200..300).contains(&resp.status) {
                    stats.ok_2xx += 1;
                    let version = resp
                        .version_text
                        .as_deref()
                        .and_then(|t| extract_version(t, cfg.version.pattern.as_deref()))
                        .unwrap_or_else(|| "(none)".to_string());
                    shared.record_version(version, sent);
                } else {
                    *stats.non_2xx.entry(resp.status).or_default() += 1;
                    shared.record_failure(format!("status {}", resp.status));
                }
                if resp.close {
                    conn = None;
                }
            }
            Ok(Err(failure)) => {
                *stats.errors.entry(failure.kind.clone()).or_default() += 1;
                shared.record_failure(failure.kind);
                // Don't spin on a refused port.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(_elapsed) => {
                conn = None;
                *stats.errors.entry("timeout".into()).or_default() += 1;
                shared.record_failure("timeout".into());
            }
        }
        if !cfg.pause.is_zero() {
            tokio::select! {
                biased;
                _ = &mut stop_fut => break,
                _ = &mut end => break,
                _ = tokio::time::sleep(cfg.pause) => {}
            }
        }
    }
    stats
}

/// Runs the load until `stop` turns true, the duration passes or the request
/// count is reached. Errors only when the config is refused (see
/// [`LoadConfig::validate`]); once started, every problem is counted.
pub async fn run(config: LoadConfig, stop: watch::Receiver<bool>) -> Result<LoadReport> {
    config.validate()?;
    let host = config.host.clone();
    let request: Arc<[u8]> = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: stackctl-loadgen\r\nAccept: */*\r\n\r\n",
        config.path, host
    )
    .into_bytes()
    .into();
    let cfg = Arc::new(config);
    let shared = Arc::new(Shared {
        start: Instant::now(),
        issued: AtomicU64::new(0),
        versions: Mutex::new(VersionLog::default()),
        failures: Mutex::new(Vec::new()),
    });
    let deadline = cfg.duration.map(|d| tokio::time::Instant::now() + d);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cfg.connections {
        tasks.spawn(worker(
            cfg.clone(),
            shared.clone(),
            request.clone(),
            stop.clone(),
            deadline,
        ));
    }
    let mut total = WorkerStats::new();
    while let Some(joined) = tasks.join_next().await {
        let stats = joined.context("load worker panicked")?;
        total.total += stats.total;
        total.ok_2xx += stats.ok_2xx;
        for (k, v) in stats.non_2xx {
            *total.non_2xx.entry(k).or_default() += v;
        }
        for (k, v) in stats.errors {
            *total.errors.entry(k).or_default() += v;
        }
        total.stale += stats.stale;
        total.connects += stats.connects;
        total.latency.merge(&stats.latency);
    }
    let elapsed = shared.start.elapsed();
    let stopped_by = if cfg
        .requests
        .is_some_and(|limit| shared.issued.load(Ordering::Relaxed) >= limit)
    {
        StopReason::Requests
    } else if *stop.borrow() {
        StopReason::Stopped
    } else {
        StopReason::Duration
    };
    let log = std::mem::take(&mut *shared.versions.lock().unwrap_or_else(|e| e.into_inner()));
    let failure_events =
        std::mem::take(&mut *shared.failures.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(LoadReport {
        target: format!("http://{}{}", cfg.host, cfg.path),
        connections: cfg.connections,
        elapsed,
        stopped_by,
        total: total.total,
        ok_2xx: total.ok_2xx,
        non_2xx: total.non_2xx,
        connection_errors: total.errors,
        stale_keepalive_retries: total.stale,
        connects: total.connects,
        versions: log.runs,
        versions_truncated: log.truncated,
        version_stats: log.stats,
        went_back: log.back.into_values().collect(),
        failure_events,
        latency: total.latency.summary(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_round_trip() {
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            12_345,
            1 << 40,
            u64::MAX,
        ] {
            let i = Histogram::index(v);
            assert!(Histogram::upper(i) >= v, "upper({i}) < {v}");
            if i > 0 {
                assert!(
                    Histogram::upper(i - 1) < v,
                    "bucket {i} for {v} not minimal"
                );
            }
        }
    }

    #[test]
    fn histogram_percentiles() {
        let mut h = Histogram::new();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let l = h.summary();
        let p50 = l.p50.as_micros() as f64;
        assert!((p50 - 500.0).abs() / 500.0 < 0.02, "p50 {p50}");
        let p99 = l.p99.as_micros() as f64;
        assert!((p99 - 990.0).abs() / 990.0 < 0.02, "p99 {p99}");
        assert_eq!(l.max, Duration::from_micros(1000));
    }
}
