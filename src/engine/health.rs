//! Waiting for containers to become healthy, running or completed — what
//! `depends_on` conditions and blue-green cut-overs block on.

use crate::engine::containers::POLL_INTERVAL;
use crate::engine::{Engine, EngineError};
use bollard::models::{ContainerState, ContainerStateStatusEnum, HealthStatusEnum};
use std::fmt;
use std::time::Instant;

/// Why a container did not become healthy: enough to act on without running
/// `docker inspect` by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthFailure {
    pub container: String,
    /// `unhealthy`, `starting` (timed out), `exited (code 1)`, `no healthcheck`, …
    pub status: String,
    /// Output of the last health check run, trimmed.
    pub last_output: Option<String>,
}

impl fmt::Display for HealthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "container {} is not healthy: {}",
            self.container, self.status
        )?;
        match &self.last_output {
            Some(output) if !output.is_empty() => {
                write!(f, "; last health check output: {output}")
            }
            _ => write!(f, "; no health check output yet"),
        }
    }
}

impl std::error::Error for HealthFailure {}

impl Engine {
    /// Poll until the container's health check reports healthy. Fails at once
    /// when it turns unhealthy (as compose does) or the container exits.
    pub async fn wait_healthy(
        &self,
        container: &str,
        deadline: Instant,
    ) -> Result<(), HealthFailure> {
        loop {
            let state = self
                .inspect_container(container)
                .await
                .map_err(|err| failure(container, format!("cannot inspect: {err}"), None))?
                .state
                .unwrap_or_default();
            let last_output = last_health_output(&state);
            if let Some(code) = exit_code_if_stopped(&state) {
                return Err(failure(
                    container,
                    format!("exited (code {code})"),
                    last_output,
                ));
            }
            match health_status(&state) {
                None => return Err(failure(container, "no healthcheck".into(), None)),
                Some(HealthStatusEnum::HEALTHY) => return Ok(()),
                Some(HealthStatusEnum::UNHEALTHY) => {
                    return Err(failure(container, "unhealthy".into(), last_output))
                }
                Some(status) if Instant::now() >= deadline => {
                    let status = format!("still {status} at the deadline");
                    return Err(failure(container, status, last_output));
                }
                Some(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// Poll until the container runs; an exit before that is an error.
    pub async fn wait_running(
        &self,
        container: &str,
        deadline: Instant,
    ) -> Result<(), EngineError> {
        loop {
            let state = self
                .inspect_container(container)
                .await?
                .state
                .unwrap_or_default();
            if state.running.unwrap_or(false) {
                return Ok(());
            }
            if let Some(code) = exit_code_if_stopped(&state) {
                return Err(EngineError::Other(format!(
                    "container {container} exited (code {code}) instead of running"
                )));
            }
            if Instant::now() >= deadline {
                return Err(EngineError::Timeout(format!("{container} is not running")));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Poll until the container has run and exited; returns its exit code
    /// (`service_completed_successfully` wants 0). Unlike the engine's wait,
    /// a container that was created but never started is not "completed".
    pub async fn wait_completed(
        &self,
        container: &str,
        deadline: Instant,
    ) -> Result<i64, EngineError> {
        loop {
            let state = self
                .inspect_container(container)
                .await?
                .state
                .unwrap_or_default();
            if let Some(code) = exit_code_if_stopped(&state) {
                return Ok(code);
            }
            if Instant::now() >= deadline {
                return Err(EngineError::Timeout(format!(
                    "{container} did not complete"
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

fn failure(container: &str, status: String, last_output: Option<String>) -> HealthFailure {
    HealthFailure {
        container: container.to_string(),
        status,
        last_output,
    }
}

/// The health status, `None` when the container has no active check.
fn health_status(state: &ContainerState) -> Option<HealthStatusEnum> {
    match state.health.as_ref()?.status? {
        HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => None,
        status => Some(status),
    }
}

/// The exit code once the container has exited or died; `None` while it is
/// created, running, restarting or paused.
fn exit_code_if_stopped(state: &ContainerState) -> Option<i64> {
    match state.status? {
        ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD => {
            Some(state.exit_code.unwrap_or(-1))
        }
        _ => None,
    }
}

fn last_health_output(state: &ContainerState) -> Option<String> {
    let log = state.health.as_ref()?.log.as_ref()?;
    let output = log.last()?.output.as_ref()?;
    Some(output.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{Health, HealthcheckResult};

    fn state(status: ContainerStateStatusEnum, health: Option<HealthStatusEnum>) -> ContainerState {
        ContainerState {
            status: Some(status),
            exit_code: Some(3),
            health: health.map(|status| Health {
                status: Some(status),
                failing_streak: Some(1),
                log: Some(vec![HealthcheckResult {
                    output: Some("  connection refused\n".into()),
                    ..Default::default()
                }]),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn reads_status_exit_and_last_output() {
        let running = state(
            ContainerStateStatusEnum::RUNNING,
            Some(HealthStatusEnum::STARTING),
        );
        assert_eq!(health_status(&running), Some(HealthStatusEnum::STARTING));
        assert_eq!(exit_code_if_stopped(&running), None);
        assert_eq!(
            last_health_output(&running).as_deref(),
            Some("connection refused")
        );
        let exited = state(ContainerStateStatusEnum::EXITED, None);
        assert_eq!(exit_code_if_stopped(&exited), Some(3));
        assert_eq!(health_status(&exited), None);
    }

    #[test]
    fn failure_names_container_and_output() {
        let shown = failure("demo-web-1", "unhealthy".into(), Some("boom".into())).to_string();
        assert!(shown.contains("demo-web-1"));
        assert!(shown.contains("unhealthy"));
        assert!(shown.contains("boom"));
    }
}
