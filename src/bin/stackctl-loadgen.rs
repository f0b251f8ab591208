//! stackctl-loadgen: a bounded HTTP/1.1 load generator for zero-downtime
//! checks. The logic lives in `stackctl::loadgen`; this is the CLI.
//!
//! Exit codes: 0 no failures, 1 failures (non-2xx or connection errors),
//! 2 usage or refused target.

use clap::Parser;
use stackctl::loadgen::{self, LoadConfig, VersionRule};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Keep N keep-alive connections busy with GET requests and report what the
/// client saw: statuses, connection errors, versions over time, latency.
/// Targets loopback only, or private container-network addresses with
/// --allow-private. SIGINT/SIGTERM stop the run early and still report.
#[derive(Debug, Parser)]
#[command(name = "stackctl-loadgen", version)]
struct Args {
    /// http://IP[:PORT][/PATH] (IPv4, [IPv6] or localhost; no DNS).
    url: String,
    /// Concurrent keep-alive connections (1-1024).
    #[arg(short, long, default_value_t = loadgen::DEFAULT_CONNECTIONS)]
    connections: usize,
    /// Stop after this long: 30, 30s, 500ms, 2m (at most 600 s).
    #[arg(short, long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many requests (at most 10,000,000).
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Allow a private-range target (a container network address).
    #[arg(long)]
    allow_private: bool,
    /// Read the version from this response header instead of the body.
    #[arg(long, value_name = "NAME")]
    version_header: Option<String>,
    /// Version = the token right after PREFIX (default: first line, trimmed).
    #[arg(long, value_name = "PREFIX")]
    version_pattern: Option<String>,
    /// Per-request timeout (connect + write + full response).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
    /// Pause between two requests on one connection (default: none).
    #[arg(long, value_parser = parse_duration, default_value = "0ms")]
    pause: Duration,
    /// Count a reused connection closed before any response byte as an error
    /// instead of retrying the GET once on a fresh connection.
    #[arg(long)]
    strict_keepalive: bool,
    /// Print the JSON report on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (try 30s, 500ms, 2m)"))?;
    if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 {
        return Err(format!("duration out of range: {text:?}"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match LoadConfig::new(&args.url) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("stackctl-loadgen: {err:#}");
            return ExitCode::from(2);
        }
    };
    config.connections = args.connections;
    config.duration = args.duration;
    config.requests = args.requests;
    config.allow_private = args.allow_private;
    config.timeout = args.timeout;
    config.pause = args.pause;
    config.strict_keepalive = args.strict_keepalive;
    config.version = VersionRule {
        header: args.version_header,
        pattern: args.version_pattern,
    };
    if let Err(err) = config.validate() {
        eprintln!("stackctl-loadgen: {err:#}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("stackctl-loadgen: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signal().await;
            let _ = tx.send(true);
        });
        loadgen::run(config, rx).await
    });
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            eprintln!("stackctl-loadgen: {err:#}");
            return ExitCode::from(2);
        }
    };
    // A closed stdout (e.g. `| head`) must not turn into a panic.
    let mut stdout = std::io::stdout().lock();
    if args.json {
        eprintln!("{}", report.summary());
        match serde_json::to_string_pretty(&report) {
            Ok(json) => {
                let _ = writeln!(stdout, "{json}");
            }
            Err(err) => {
                eprintln!("stackctl-loadgen: cannot write the JSON report: {err}");
                return ExitCode::from(2);
            }
        }
    } else {
        let _ = writeln!(stdout, "{}", report.summary());
    }
    if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// SIGINT or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
