//! Container lifecycle, exec, logs and stats. State is read back from the
//! engine through labels; nothing is remembered locally.

use crate::engine::{is_not_found, labels, status_code, Engine, EngineError};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStatsResponse, EndpointSettings,
    NetworkConnectRequest, PortSummary,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder, StatsOptionsBuilder,
    StopContainerOptionsBuilder, TopOptionsBuilder,
};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often state is polled while waiting for something to happen.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long an exec's exit code may lag behind the end of its output.
const EXEC_EXIT_WAIT: Duration = Duration::from_secs(5);

/// What a terminal sends for Ctrl-D: end-of-file for a TTY's reader.
const EOT: u8 = 0x04;

/// Slack on top of a grace period for the daemon to answer a stop.
const STOP_SLACK: Duration = Duration::from_secs(30);

/// One project container as `ps` shows it, read from its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub service: String,
    /// `com.docker.compose.container-number`; 0 when the label is missing.
    pub replica: u32,
    pub config_hash: String,
    /// `running`, `exited`, `created`, …
    pub state: String,
    /// The engine's human status, e.g. `Up 3 minutes (healthy)`.
    pub status: String,
    /// `healthy`, `unhealthy` or `starting` when the container has a check.
    pub health: Option<String>,
    pub image: String,
    /// `127.0.0.1:8080->80/tcp` or `80/tcp` when not published.
    pub ports: Vec<String>,
    pub labels: HashMap<String, String>,
}

/// What an exec printed and how it ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
    /// TTY containers have a single merged stream.
    Console,
}

/// One line of a container's log, without its newline.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub stream: LogStream,
    pub line: String,
}

/// Memory as `docker stats` shows it, and CPU over ~1 s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerStats {
    /// Usage minus inactive page cache (it can be reclaimed under pressure).
    pub memory_used: u64,
    pub memory_limit: u64,
    /// 100 = one full CPU.
    pub cpu_percent: f64,
    /// Processes (threads included) in the container's cgroup, when reported.
    pub pids: Option<u64>,
}

/// A command to run with [`Engine::exec_streaming`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    /// `KEY=VALUE` entries added to the container's environment.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Allocate a pseudo-TTY: output then arrives as one merged stream.
    pub tty: bool,
}

/// Processes in a container, as `ps` on the host lists them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

impl Engine {
    /// Containers labelled with `project`, sorted by service and replica;
    /// stopped ones too when `all`.
    pub async fn list_project_containers(
        &self,
        project: &str,
        all: bool,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={project}", labels::PROJECT)],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(all)
            .filters(&filters)
            .build();
        let found = self.docker.list_containers(Some(options)).await?;
        let mut list: Vec<ContainerSummary> = found.into_iter().map(summarize).collect();
        list.sort_by(|a, b| (&a.service, a.replica).cmp(&(&b.service, b.replica)));
        Ok(list)
    }

    /// Create a container, then connect the networks the daemon would not take
    /// at create (20.10 accepts one). If a connect fails the container is
    /// removed again, so no half-wired container is left behind.
    pub async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
        extra_networks: &[(String, Vec<String>)],
    ) -> Result<String, EngineError> {
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let created = self.docker.create_container(Some(options), body).await?;
        for warning in &created.warnings {
            tracing::warn!(container = name, "{warning}");
        }
        for (network, aliases) in extra_networks {
            if let Err(err) = self.connect_network(&created.id, network, aliases).await {
                let _ = self.remove_container(&created.id, true, true).await;
                return Err(err);
            }
        }
        Ok(created.id)
    }

    /// Attach a container to a network with aliases (not on `bridge`, which
    /// refuses them).
    pub async fn connect_network(
        &self,
        container: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<(), EngineError> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|err| {
                EngineError::Other(format!(
                    "cannot connect {container} to network {network}: {err}"
                ))
            })
    }

    pub async fn start_container(&self, name: &str) -> Result<(), EngineError> {
        Ok(self.docker.start_container(name, None).await?)
    }

    /// Stop with a grace period (the image's/daemon's default when `None`).
    /// The client timeout only covers response headers, so the request gets a
    /// client whose timeout covers the grace period; if it still times out the
    /// daemon is stopping anyway, and we wait for the container to stop.
    pub async fn stop_container(
        &self,
        name: &str,
        grace: Option<Duration>,
    ) -> Result<(), EngineError> {
        let mut builder = StopContainerOptionsBuilder::new();
        if let Some(grace) = grace {
            builder = builder.t(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX));
        }
        let budget = grace.unwrap_or(Duration::from_secs(10)) + STOP_SLACK;
        let client = self
            .docker
            .clone()
            .with_timeout(budget.max(self.docker.timeout()));
        match client.stop_container(name, Some(builder.build())).await {
            Err(bollard::errors::Error::RequestTimeoutError) => {
                self.wait_not_running(name, Instant::now() + budget).await
            }
            other => Ok(other?),
        }
    }

    /// Poll until the container is no longer running.
    async fn wait_not_running(&self, name: &str, deadline: Instant) -> Result<(), EngineError> {
        loop {
            let state = self
                .inspect_container(name)
                .await?
                .state
                .unwrap_or_default();
            if !state.running.unwrap_or(false) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(EngineError::Timeout(format!("{name} did not stop")));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Send a signal (`SIGKILL`, `SIGHUP`, …).
    pub async fn kill_container(&self, name: &str, signal: &str) -> Result<(), EngineError> {
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        Ok(self.docker.kill_container(name, Some(options)).await?)
    }

    /// Remove a container; a missing one is fine. Named volumes are never
    /// removed with a container (the engine only drops anonymous ones, and
    /// only when `anonymous_volumes`).
    pub async fn remove_container(
        &self,
        name: &str,
        force: bool,
        anonymous_volumes: bool,
    ) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(force)
            .v(anonymous_volumes)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Err(err) if is_not_found(&err) => Ok(()),
            other => Ok(other?),
        }
    }

    pub async fn restart_container(
        &self,
        name: &str,
        grace: Option<Duration>,
    ) -> Result<(), EngineError> {
        let mut builder = RestartContainerOptionsBuilder::new();
        if let Some(grace) = grace {
            builder = builder.t(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX));
        }
        let budget = grace.unwrap_or(Duration::from_secs(10)) + STOP_SLACK;
        let client = self
            .docker
            .clone()
            .with_timeout(budget.max(self.docker.timeout()));
        Ok(client
            .restart_container(name, Some(builder.build()))
            .await?)
    }

    pub async fn inspect_container(
        &self,
        name: &str,
    ) -> Result<ContainerInspectResponse, EngineError> {
        Ok(self.docker.inspect_container(name, None).await?)
    }

    /// Like [`Engine::inspect_container`], `None` when it does not exist.
    pub async fn find_container(
        &self,
        name: &str,
    ) -> Result<Option<ContainerInspectResponse>, EngineError> {
        match self.docker.inspect_container(name, None).await {
            Ok(found) => Ok(Some(found)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Wait until the container is not running and return its exit code.
    /// bollard turns a non-zero exit into an error value carrying the code.
    pub async fn wait_exit(&self, name: &str, deadline: Instant) -> Result<i64, EngineError> {
        let mut waiting = self.docker.wait_container(name, None);
        let next = tokio::time::timeout_at(deadline.into(), waiting.next()).await;
        match next {
            Err(_) => Err(EngineError::Timeout(format!("{name} did not exit"))),
            Ok(None) => Err(EngineError::Other(format!(
                "the engine ended the wait on {name} without an exit code"
            ))),
            Ok(Some(Ok(answer))) => Ok(answer.status_code),
            Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => {
                Ok(code)
            }
            Ok(Some(Err(err))) => Err(err.into()),
        }
    }

    /// A small text file from a container's filesystem, through the archive
    /// API: one request where an exec takes four, which matters on the way
    /// to a rollback. `None` when the file does not exist.
    pub async fn read_file(
        &self,
        container: &str,
        path: &str,
    ) -> Result<Option<String>, EngineError> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let mut stream = self
            .docker
            .download_from_container(container, Some(options));
        let mut tarball = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => tarball.extend_from_slice(&bytes),
                Err(err) if is_not_found(&err) => return Ok(None),
                Err(err) => return Err(err.into()),
            }
        }
        let unreadable = |err: std::io::Error| {
            EngineError::Other(format!("reading {path} from {container}: {err}"))
        };
        let mut archive = tar::Archive::new(tarball.as_slice());
        let mut entries = archive.entries().map_err(unreadable)?;
        let Some(entry) = entries.next() else {
            return Ok(None);
        };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry.map_err(unreadable)?, &mut text)
            .map_err(unreadable)?;
        Ok(Some(text))
    }

    /// Run a command in a running container and collect its output. A missing
    /// binary is exit code 126 (not an error); a stopped container is a clear
    /// error rather than the engine's bare 409.
    pub async fn exec(
        &self,
        container: &str,
        cmd: &[String],
        env: &[String],
        user: Option<&str>,
        workdir: Option<&str>,
        tty: bool,
    ) -> Result<ExecOutput, EngineError> {
        let request = ExecRequest {
            cmd: cmd.to_vec(),
            env: env.to_vec(),
            user: user.map(String::from),
            workdir: workdir.map(String::from),
            tty,
        };
        let exec_id = self.create_exec(container, &request, false).await?;
        let mut output = ExecOutput::default();
        if let StartExecResults::Attached {
            output: mut frames, ..
        } = self.docker.start_exec(&exec_id, None).await?
        {
            while let Some(frame) = frames.next().await {
                match frame? {
                    LogOutput::StdErr { message } => {
                        output.stderr.push_str(&String::from_utf8_lossy(&message))
                    }
                    other => output.stdout.push_str(&other.to_string()),
                }
            }
        }
        output.exit_code = self.exec_exit_code(container, &exec_id).await?;
        Ok(output)
    }

    /// Run a command in a running container, handing each chunk of output to
    /// `output` as it arrives (for long-running or interactive commands,
    /// where collecting would show nothing until the end). Bytes received on
    /// `stdin` are written to the command's stdin; when the sender is dropped
    /// the command sees end-of-file. Returns the command's exit code.
    pub async fn exec_streaming(
        &self,
        container: &str,
        request: &ExecRequest,
        stdin: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
        output: &mut (dyn FnMut(LogStream, &[u8]) + Send),
    ) -> Result<i64, EngineError> {
        let exec_id = self
            .create_exec(container, request, stdin.is_some())
            .await?;
        let options = StartExecOptions {
            detach: false,
            tty: request.tty,
            output_capacity: None,
        };
        if let StartExecResults::Attached {
            output: mut frames,
            input,
        } = self.docker.start_exec(&exec_id, Some(options)).await?
        {
            let forwarder = stdin.map(|rx| tokio::spawn(forward_stdin(rx, input, request.tty)));
            let mut result = Ok(());
            while let Some(frame) = frames.next().await {
                match frame {
                    Ok(frame) => output(frame_stream(&frame), &frame.into_bytes()),
                    Err(err) => {
                        result = Err(err);
                        break;
                    }
                }
            }
            // The command is over: whatever the user still types is not for it.
            if let Some(forwarder) = forwarder {
                forwarder.abort();
            }
            result?;
        }
        self.exec_exit_code(container, &exec_id).await
    }

    /// Create an exec instance; a stopped container becomes a clear error
    /// rather than the engine's bare 409.
    async fn create_exec(
        &self,
        container: &str,
        request: &ExecRequest,
        attach_stdin: bool,
    ) -> Result<String, EngineError> {
        let options = CreateExecOptions {
            attach_stdin: Some(attach_stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(request.tty),
            cmd: Some(request.cmd.clone()),
            env: (!request.env.is_empty()).then(|| request.env.clone()),
            user: request.user.clone(),
            working_dir: request.workdir.clone(),
            ..Default::default()
        };
        match self.docker.create_exec(container, options).await {
            Err(err) if status_code(&err) == Some(409) => Err(EngineError::Other(format!(
                "cannot exec in {container}: the container is not running"
            ))),
            other => Ok(other?.id),
        }
    }

    /// The exit code of a finished exec (the output stream ending means the
    /// command ended, but the code is only available from inspect, and only
    /// once the engine has noticed).
    async fn exec_exit_code(&self, container: &str, exec_id: &str) -> Result<i64, EngineError> {
        let deadline = Instant::now() + EXEC_EXIT_WAIT;
        loop {
            let inspected = self.docker.inspect_exec(exec_id).await?;
            // The stream can close a moment before the engine reaps the command.
            let running = inspected.running.unwrap_or(false);
            match inspected.exit_code {
                Some(code) if !running => return Ok(code),
                _ if Instant::now() >= deadline => {
                    return Err(EngineError::Other(format!(
                        "the engine reported no exit code for exec in {container}"
                    )))
                }
                _ => tokio::time::sleep(POLL_INTERVAL / 4).await,
            }
        }
    }

    /// A container's log as lines. Both streams are requested explicitly (the
    /// engine answers 400 when neither is). `since` is a unix time in seconds.
    pub fn logs(
        &self,
        container: &str,
        follow: bool,
        tail: Option<usize>,
        since: Option<i64>,
        timestamps: bool,
    ) -> BoxStream<'static, Result<LogLine, EngineError>> {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let options = LogsOptionsBuilder::new()
            .follow(follow)
            .stdout(true)
            .stderr(true)
            .timestamps(timestamps)
            .tail(&tail)
            .since(since.map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)))
            .build();
        self.docker
            .logs(container, Some(options))
            .flat_map(|frame| stream::iter(log_lines(frame)))
            .boxed()
    }

    /// Memory in use and CPU percentage. A one-shot read has no previous CPU
    /// sample, so the second sample of a stream (~1 s later) is used.
    pub async fn stats_once(&self, container: &str) -> Result<ContainerStats, EngineError> {
        let options = StatsOptionsBuilder::new().stream(true).build();
        let samples = self.docker.stats(container, Some(options)).take(2);
        let samples: Vec<_> = tokio::time::timeout(Duration::from_secs(10), samples.collect())
            .await
            .map_err(|_| EngineError::Timeout(format!("no stats from {container}")))?;
        let mut last = None;
        for sample in samples {
            last = Some(sample?);
        }
        let sample = last.ok_or_else(|| {
            EngineError::Other(format!("the engine sent no stats for {container}"))
        })?;
        Ok(stats_from(&sample))
    }

    /// Processes running in the container.
    pub async fn top(&self, container: &str) -> Result<Top, EngineError> {
        let options = TopOptionsBuilder::new().ps_args("-ef").build();
        let answer = self.docker.top_processes(container, Some(options)).await?;
        Ok(Top {
            titles: answer.titles.unwrap_or_default(),
            processes: answer.processes.unwrap_or_default(),
        })
    }
}

/// Copy what arrives on `rx` to an exec's stdin. When the sender is gone
/// (our stdin ended), a plain exec's stdin is closed: end-of-file for the
/// command. With a TTY the engine would instead end the whole session and
/// drop the output still to come, so the TTY gets Ctrl-D, which its reader
/// takes as end-of-file, and the session ends when the command does.
async fn forward_stdin(
    mut rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    tty: bool,
) {
    use tokio::io::AsyncWriteExt;
    while let Some(chunk) = rx.recv().await {
        if input.write_all(&chunk).await.is_err() || input.flush().await.is_err() {
            return;
        }
    }
    if tty {
        let _ = input.write_all(&[EOT]).await;
        let _ = input.flush().await;
        // Keep the write half open until the command ends (we are aborted).
        std::future::pending::<()>().await;
    } else {
        let _ = input.shutdown().await;
    }
}

/// Which stream a frame of output belongs to.
fn frame_stream(frame: &LogOutput) -> LogStream {
    match frame {
        LogOutput::StdErr { .. } => LogStream::Stderr,
        LogOutput::StdOut { .. } | LogOutput::StdIn { .. } => LogStream::Stdout,
        LogOutput::Console { .. } => LogStream::Console,
    }
}

/// Split a log frame into lines tagged with their stream.
fn log_lines(
    frame: Result<LogOutput, bollard::errors::Error>,
) -> Vec<Result<LogLine, EngineError>> {
    let frame = match frame {
        Ok(frame) => frame,
        Err(err) => return vec![Err(err.into())],
    };
    let stream = frame_stream(&frame);
    let text = frame.to_string();
    text.strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .map(|line| {
            Ok(LogLine {
                stream,
                line: line.trim_end_matches('\r').to_string(),
            })
        })
        .collect()
}

/// Memory used the way the docker CLI computes it: usage minus inactive file
/// cache (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
pub fn stats_from(sample: &ContainerStatsResponse) -> ContainerStats {
    let memory = sample.memory_stats.clone().unwrap_or_default();
    let details = memory.stats.unwrap_or_default();
    let inactive = details
        .get("total_inactive_file")
        .or_else(|| details.get("inactive_file"))
        .copied()
        .unwrap_or(0);
    ContainerStats {
        memory_used: memory.usage.unwrap_or(0).saturating_sub(inactive),
        memory_limit: memory.limit.unwrap_or(0),
        cpu_percent: cpu_percent(sample),
        pids: sample.pids_stats.as_ref().and_then(|pids| pids.current),
    }
}

/// CPU use between the previous and this sample, as `docker stats` does.
fn cpu_percent(sample: &ContainerStatsResponse) -> f64 {
    let (Some(now), Some(before)) = (&sample.cpu_stats, &sample.precpu_stats) else {
        return 0.0;
    };
    let total = |stats: &bollard::models::ContainerCpuStats| {
        stats
            .cpu_usage
            .as_ref()
            .and_then(|usage| usage.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(now).saturating_sub(total(before)) as f64;
    let system_delta = now
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(before.system_cpu_usage.unwrap_or(0)) as f64;
    let cpus = now.online_cpus.map_or_else(
        || {
            now.cpu_usage
                .as_ref()
                .and_then(|usage| usage.percpu_usage.as_ref())
                .map_or(1, Vec::len) as f64
        },
        f64::from,
    );
    if system_delta <= 0.0 || before.system_cpu_usage.unwrap_or(0) == 0 {
        return 0.0;
    }
    cpu_delta / system_delta * cpus * 100.0
}

/// A list entry turned into our summary, reading identity from labels.
fn summarize(item: bollard::models::ContainerSummary) -> ContainerSummary {
    let labels = item.labels.unwrap_or_default();
    let label = |key: &str| labels.get(key).cloned().unwrap_or_default();
    let status = item.status.unwrap_or_default();
    ContainerSummary {
        id: item.id.unwrap_or_default(),
        name: item
            .names
            .and_then(|names| names.into_iter().next())
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        service: label(labels::SERVICE),
        replica: label(labels::REPLICA).parse().unwrap_or(0),
        config_hash: label(labels::CONFIG_HASH),
        state: item.state.map(|s| s.to_string()).unwrap_or_default(),
        health: health_from_status(&status),
        status,
        image: item.image.unwrap_or_default(),
        ports: item
            .ports
            .unwrap_or_default()
            .iter()
            .map(format_port)
            .collect(),
        labels,
    }
}

/// API 1.41 lists no health field; the status text carries it.
pub fn health_from_status(status: &str) -> Option<String> {
    if status.contains("(health: starting)") {
        Some("starting".into())
    } else if status.contains("(unhealthy)") {
        Some("unhealthy".into())
    } else if status.contains("(healthy)") {
        Some("healthy".into())
    } else {
        None
    }
}

/// `127.0.0.1:8080->80/tcp`, or `80/tcp` when only exposed.
pub fn format_port(port: &PortSummary) -> String {
    let protocol = port
        .typ
        .map(|t| t.to_string())
        .unwrap_or_else(|| "tcp".into());
    match port.public_port {
        Some(public) => {
            let ip = port.ip.as_deref().unwrap_or("0.0.0.0");
            let ip = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            format!("{ip}:{public}->{}/{protocol}", port.private_port)
        }
        None => format!("{}/{protocol}", port.private_port),
    }
}

impl Engine {
    /// Rename a container. `up` renames the old container of a replica out of
    /// the way so its replacement can take the canonical name while the old
    /// one keeps serving.
    pub async fn rename_container(&self, name: &str, new_name: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::RenameContainerOptionsBuilder::new()
            .name(new_name)
            .build();
        self.docker.rename_container(name, options).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};

    #[test]
    fn health_is_read_from_status_text() {
        assert_eq!(
            health_from_status("Up 3 seconds (health: starting)").as_deref(),
            Some("starting")
        );
        assert_eq!(
            health_from_status("Up 1 minute (healthy)").as_deref(),
            Some("healthy")
        );
        assert_eq!(
            health_from_status("Up 1 minute (unhealthy)").as_deref(),
            Some("unhealthy")
        );
        assert_eq!(health_from_status("Exited (0) 2 seconds ago"), None);
    }

    #[test]
    fn ports_format_like_the_cli() {
        let published = PortSummary {
            ip: Some("127.0.0.1".into()),
            private_port: 80,
            public_port: Some(8080),
            typ: Some(bollard::models::PortSummaryTypeEnum::TCP),
        };
        assert_eq!(format_port(&published), "127.0.0.1:8080->80/tcp");
        let v6 = PortSummary {
            ip: Some("::".into()),
            ..published.clone()
        };
        assert_eq!(format_port(&v6), "[::]:8080->80/tcp");
        let exposed = PortSummary {
            ip: None,
            private_port: 53,
            public_port: None,
            typ: Some(bollard::models::PortSummaryTypeEnum::UDP),
        };
        assert_eq!(format_port(&exposed), "53/udp");
    }

    #[test]
    fn memory_excludes_inactive_file_and_cpu_uses_deltas() {
        let cpu = |total, system| ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(4),
            ..Default::default()
        };
        let sample = ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(100),
                limit: Some(1000),
                stats: Some(HashMap::from([("total_inactive_file".to_string(), 30)])),
                ..Default::default()
            }),
            cpu_stats: Some(cpu(1_500, 20_000)),
            precpu_stats: Some(cpu(1_000, 10_000)),
            ..Default::default()
        };
        let stats = stats_from(&sample);
        assert_eq!(stats.memory_used, 70);
        assert_eq!(stats.memory_limit, 1000);
        assert!((stats.cpu_percent - 20.0).abs() < 1e-9);
    }

    #[test]
    fn log_frames_split_into_lines() {
        let frame = Ok(LogOutput::StdErr {
            message: "one\ntwo\n".into(),
        });
        let lines: Vec<_> = log_lines(frame)
            .into_iter()
            .map(|l| l.expect("line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].line, "two");
        assert_eq!(lines[0].stream, LogStream::Stderr);
    }
}
