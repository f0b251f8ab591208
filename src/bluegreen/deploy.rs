//! The blue-green operations shared by `up`, `upgrade` and `rollback`:
//! read a service's state from the engine, start a revision's containers,
//! gate them on health, switch the router, drain and stop the old color,
//! prune old revisions, and converge an operation that was interrupted.

use super::lock::Operation;
use super::record::{self, Color, Revision};
use super::router::Router;
use super::spec::{self, BlueGreenSpec, RouterSpec};
use crate::compose::model::{Project, Service};
use crate::engine::containers::ContainerSummary;
use crate::engine::{spec as engine_spec, Engine, EngineError};
use crate::plan::IMAGE_ID_LABEL;
use crate::progress::Progress;
use anyhow::{anyhow, Context as _};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How often the gate re-runs the health probe.
const PROBE_INTERVAL: Duration = Duration::from_millis(150);

/// Everything one operation on one blue-green service needs.
pub struct Deployer<'a> {
    pub engine: &'a Engine,
    pub project: &'a Project,
    pub service: &'a Service,
    pub spec: BlueGreenSpec,
    pub progress: &'a Progress,
}

/// A blue-green service as the engine has it.
#[derive(Debug, Default)]
pub struct State {
    pub containers: Vec<ContainerSummary>,
    pub revisions: Vec<Revision>,
    /// Container names the router currently sends traffic to.
    pub routed: Vec<String>,
    /// The router container, when one runs.
    pub router: Option<String>,
}

impl State {
    pub fn revision(&self, number: u32) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == number)
    }

    pub fn containers_of(&self, number: u32) -> Vec<&ContainerSummary> {
        self.containers
            .iter()
            .filter(|c| revision_of(c) == Some(number))
            .collect()
    }

    fn running_revisions(&self) -> BTreeSet<u32> {
        self.containers
            .iter()
            .filter(|c| c.state == "running")
            .filter_map(revision_of)
            .collect()
    }

    /// The revision taking traffic: the routed one when its containers run,
    /// else the newest running one.
    pub fn active(&self) -> Option<u32> {
        let routed: BTreeSet<u32> = self
            .containers
            .iter()
            .filter(|c| c.state == "running" && self.routed.contains(&c.name))
            .filter_map(revision_of)
            .collect();
        if routed.len() == 1 {
            return routed.into_iter().next();
        }
        self.running_revisions().into_iter().next_back()
    }

    pub fn next_number(&self) -> u32 {
        let recorded = self.revisions.iter().map(|r| r.number).max().unwrap_or(0);
        let seen = self
            .containers
            .iter()
            .filter_map(revision_of)
            .max()
            .unwrap_or(0);
        recorded.max(seen) + 1
    }
}

pub fn revision_of(container: &ContainerSummary) -> Option<u32> {
    record::container_revision(&container.labels).map(|(_, n)| n)
}

/// The router service of a blue-green spec and its router settings.
pub fn router_of<'p>(
    project: &'p Project,
    spec: &BlueGreenSpec,
) -> anyhow::Result<(&'p Service, RouterSpec)> {
    let service = project
        .services
        .get(&spec.router)
        .ok_or_else(|| anyhow!("router service `{}` is not in the project", spec.router))?;
    let router = spec::router_spec(service)
        .ok_or_else(|| anyhow!("service `{}` is not declared as a router", spec.router))?;
    Ok((service, router))
}

impl<'a> Deployer<'a> {
    pub fn name(&self) -> &str {
        &self.service.name
    }

    /// Read containers, records and the router's current file.
    pub async fn state(&self) -> anyhow::Result<State> {
        // One container list serves both the service and its router; the
        // records are read at the same time.
        let (all, records) = tokio::join!(
            self.engine
                .list_project_containers(&self.project.name, true),
            record::load_all(self.engine, &self.project.name)
        );
        let all = all?;
        let revisions = records?.remove(&self.service.name).unwrap_or_default();
        let router = self.router_among(&all)?;
        let routed = match &router {
            Some(router) => router
                .current(self.name())
                .await?
                .into_iter()
                .map(|server| {
                    server
                        .rsplit_once(':')
                        .map(|(h, _)| h.to_string())
                        .unwrap_or(server)
                })
                .collect(),
            None => Vec::new(),
        };
        let containers = all
            .into_iter()
            .filter(|c| c.service == self.service.name)
            .collect();
        Ok(State {
            containers,
            revisions,
            routed,
            router: router.map(|r| r.container().to_string()),
        })
    }

    /// The running router container among the project's containers.
    fn router_among(&self, containers: &[ContainerSummary]) -> anyhow::Result<Option<Router<'a>>> {
        if self.spec.router.is_empty() {
            return Ok(None); // start-first replacement without a router
        }
        let (router_service, router_spec) = router_of(self.project, &self.spec)?;
        Ok(containers
            .iter()
            .find(|c| c.service == router_service.name && c.state == "running")
            .map(|c| Router::new(self.engine, router_spec, c.name.clone())))
    }

    /// The running router container (replica 1), if any.
    async fn router(&self) -> anyhow::Result<Option<Router<'a>>> {
        if self.spec.router.is_empty() {
            return Ok(None); // start-first replacement without a router
        }
        let (router_service, router_spec) = router_of(self.project, &self.spec)?;
        let containers = self
            .engine
            .list_project_containers(&self.project.name, false)
            .await?;
        Ok(containers
            .into_iter()
            .find(|c| c.service == router_service.name && c.state == "running")
            .map(|c| Router::new(self.engine, router_spec, c.name)))
    }

    /// Name of replica `n` of a color: `<project>-<service>-<color>-<n>`.
    pub fn container_name(&self, color: Color, replica: u32) -> String {
        format!(
            "{}-{}-{}-{replica}",
            self.project.name,
            self.service.name,
            color.as_str()
        )
    }

    /// Start revision `revision`'s replicas: existing stopped ones are started,
    /// missing ones created from the recorded config and image. Containers of
    /// an older revision holding a name are renamed out of the way first.
    pub async fn start_revision(
        &self,
        state: &State,
        revision: &Revision,
    ) -> anyhow::Result<Vec<String>> {
        // Replicas start in parallel: a rollback's speed is this step.
        let starts = (1..=revision.config.replicas.max(1)).map(|replica| async move {
            let existing = state
                .containers
                .iter()
                .find(|c| revision_of(c) == Some(revision.number) && c.replica == replica);
            match existing {
                Some(container) => {
                    self.progress
                        .update(self.name(), &format!("starting {}", container.name));
                    if container.state != "running" {
                        self.engine.start_container(&container.name).await?;
                    }
                    Ok(container.name.clone())
                }
                None => self.create_replica(state, revision, replica).await,
            }
        });
        futures_util::future::join_all(starts)
            .await
            .into_iter()
            .collect()
    }

    async fn create_replica(
        &self,
        state: &State,
        revision: &Revision,
        replica: u32,
    ) -> anyhow::Result<String> {
        let name = self.container_name(revision.color, replica);
        if let Some(holder) = state.containers.iter().find(|c| c.name == name) {
            let parked = format!(
                "{}-{}-r{}-{replica}",
                self.project.name,
                self.service.name,
                revision_of(holder).unwrap_or(0)
            );
            self.engine.rename_container(&name, &parked).await?;
        }
        if self.engine.image_id(&revision.image_id).await?.is_none() {
            return Err(anyhow!(
                "revision {} of {} used image {} ({}), which is no longer on this engine: rebuild or re-tag it",
                revision.number,
                self.name(),
                revision.image,
                revision.image_id
            ));
        }
        let mut labels = record::container_labels(revision.color, revision.number);
        labels.insert(IMAGE_ID_LABEL.to_string(), revision.image_id.clone());
        let mut body =
            engine_spec::container_spec(self.project, &revision.config, replica, &labels);
        // The exact image of the revision: by its name while the name still
        // points at it (readable in `ps`), by ID once the tag has moved on.
        let tag_current = self.engine.image_id(&revision.image).await?.as_deref()
            == Some(revision.image_id.as_str());
        if !tag_current {
            body.image = Some(revision.image_id.clone());
        }
        let networks = engine_spec::extra_networks(self.project, &revision.config);
        self.progress
            .update(self.name(), &format!("creating {name}"));
        self.engine
            .create_container(&name, body, &networks)
            .await
            .with_context(|| format!("creating {name}"))?;
        self.engine
            .start_container(&name)
            .await
            .with_context(|| format!("starting {name}"))?;
        Ok(name)
    }

    /// Every container must pass its health probe before `deadline`. The probe
    /// is the service's own healthcheck command, run at once and then every
    /// 150 ms, so a container that is ready takes traffic within a fraction of
    /// a second instead of after the engine's next scheduled check. Without a
    /// healthcheck, `ready_delay` after the container runs is the gate.
    pub async fn gate(
        &self,
        config: &Service,
        containers: &[String],
        timeout: Duration,
        ready_delay: Option<Duration>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let test = config
            .healthcheck
            .as_ref()
            .filter(|check| check.is_active())
            .map(|check| check.test.clone());
        // All replicas are probed at once: the gate ends with the slowest.
        let checks = containers.iter().map(|container| {
            let test = test.clone();
            async move {
                self.progress.update(
                    self.name(),
                    &format!("waiting for {container} to be healthy"),
                );
                match &test {
                    Some(test) => self.probe_until_healthy(container, test, deadline).await,
                    None => {
                        self.engine.wait_running(container, deadline).await?;
                        tokio::time::sleep(ready_delay.unwrap_or_default()).await;
                        Ok(())
                    }
                }
            }
        });
        for result in futures_util::future::join_all(checks).await {
            result?;
        }
        Ok(())
    }

    async fn probe_until_healthy(
        &self,
        container: &str,
        test: &[String],
        deadline: Instant,
    ) -> anyhow::Result<()> {
        let command = probe_command(test);
        let mut last = String::new();
        loop {
            let inspect = self.engine.inspect_container(container).await?;
            let state = inspect.state.unwrap_or_default();
            if !state.running.unwrap_or(false) {
                return Err(anyhow!(
                    "{container} stopped (exit code {}) before it was healthy; last health output: {}",
                    state.exit_code.unwrap_or(-1),
                    or_none(&last)
                ));
            }
            match self
                .engine
                .exec(container, &command, &[], None, None, false)
                .await
            {
                Ok(output) if output.exit_code == 0 => return Ok(()),
                Ok(output) => {
                    last = format!("{}{}", output.stdout, output.stderr)
                        .trim()
                        .to_string()
                }
                Err(err) => last = err.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(anyhow!(
                    "{container} did not turn healthy in time; last health output: {}",
                    or_none(&last)
                ));
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// Send the service's traffic to `containers`. Returns the switch time.
    pub async fn switch(&self, containers: &[String]) -> anyhow::Result<Option<Duration>> {
        let router = self.router().await?;
        self.switch_on(router, containers).await
    }

    /// Switch through a router already looked up (saves a round trip).
    pub async fn switch_via(
        &self,
        router: Option<&str>,
        containers: &[String],
    ) -> anyhow::Result<Option<Duration>> {
        let router = match router {
            Some(name) => {
                let (_, spec) = router_of(self.project, &self.spec)?;
                Some(Router::new(self.engine, spec, name.to_string()))
            }
            None => None,
        };
        self.switch_on(router, containers).await
    }

    async fn switch_on(
        &self,
        router: Option<Router<'a>>,
        containers: &[String],
    ) -> anyhow::Result<Option<Duration>> {
        let Some(router) = router else {
            return Ok(None);
        };
        let servers: Vec<String> = containers
            .iter()
            .map(|name| format!("{name}:{}", self.spec.port))
            .collect();
        self.progress.update(
            self.name(),
            &format!(
                "switching {} to {}",
                router.container(),
                containers.join(", ")
            ),
        );
        let took = router.point(self.name(), &servers).await?;
        Ok(Some(took))
    }

    /// Stop containers with their own stop signal and grace period (stopped,
    /// not removed: they are the rollback).
    pub async fn stop(&self, containers: &[&ContainerSummary]) -> Result<(), EngineError> {
        let grace = self.service.stop_grace_period;
        let stops = containers.iter().map(|c| async move {
            self.progress
                .update(self.name(), &format!("stopping {}", c.name));
            self.engine.stop_container(&c.name, grace).await
        });
        for result in futures_util::future::join_all(stops).await {
            result?;
        }
        Ok(())
    }

    pub async fn remove(&self, names: &[String]) -> Result<(), EngineError> {
        for name in names {
            self.engine.remove_container(name, true, false).await?;
        }
        Ok(())
    }

    /// Remove the containers of standby revisions beyond the newest `keep`
    /// (records stay: `history` shows them as removed).
    pub async fn prune(&self, keep: usize) -> anyhow::Result<Vec<u32>> {
        let state = self.state().await?;
        let active = state.active();
        let standby: BTreeSet<u32> = state
            .containers
            .iter()
            .filter(|c| c.state != "running")
            .filter_map(revision_of)
            .filter(|n| Some(*n) != active)
            .collect();
        let doomed: Vec<u32> = standby.iter().rev().skip(keep).copied().collect();
        for number in &doomed {
            let names: Vec<String> = state
                .containers_of(*number)
                .iter()
                .map(|c| c.name.clone())
                .collect();
            self.remove(&names).await?;
        }
        Ok(doomed)
    }

    /// After a crash: traffic must point at a running, healthy color and no
    /// half-started color may remain. `interrupted` is what the dead run was
    /// doing, when its lock said so.
    pub async fn converge(&self, interrupted: Option<&Operation>) -> anyhow::Result<Vec<String>> {
        let mut notes = Vec::new();
        let state = self.state().await?;
        let Some(active) = state.active() else {
            return Ok(notes);
        };
        let active_names: Vec<String> = state
            .containers_of(active)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let routed_ok =
            !state.routed.is_empty() && state.routed.iter().all(|name| active_names.contains(name));
        if state.router.is_some() && !routed_ok {
            self.switch(&active_names).await?;
            notes.push(format!("pointed the router back at revision {active}"));
        }
        let running_others: BTreeSet<u32> = state
            .running_revisions()
            .into_iter()
            .filter(|n| *n != active)
            .collect();
        for number in running_others {
            let containers = state.containers_of(number);
            let never_switched = interrupted.is_some_and(|op| {
                op.kind == "upgrade" && op.service == self.service.name && op.target == number
            });
            if never_switched {
                let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
                self.remove(&names).await?;
                if let Some(revision) = state.revision(number) {
                    revision
                        .mark_failed(self.engine, self.project, "interrupted before the switch")
                        .await?;
                }
                notes.push(format!(
                    "removed revision {number}, started by an interrupted upgrade"
                ));
            } else {
                self.stop(&containers).await?;
                notes.push(format!(
                    "stopped revision {number}, left running by an interrupted operation"
                ));
            }
        }
        Ok(notes)
    }
}

/// The healthcheck test as an exec command.
fn probe_command(test: &[String]) -> Vec<String> {
    match test.first().map(String::as_str) {
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")],
        Some("CMD") => test[1..].to_vec(),
        _ => test.to_vec(),
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "(none)"
    } else {
        text
    }
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn container(name: &str, revision: u32, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: name.into(),
            name: name.into(),
            service: "app".into(),
            replica: 1,
            config_hash: String::new(),
            state: state.into(),
            status: String::new(),
            health: None,
            image: String::new(),
            ports: Vec::new(),
            labels: HashMap::from([
                (record::COLOR.to_string(), "blue".to_string()),
                (record::REVISION.to_string(), revision.to_string()),
                (
                    crate::engine::labels::SERVICE.to_string(),
                    "app".to_string(),
                ),
            ]),
        }
    }

    #[test]
    fn the_routed_running_revision_is_active() {
        let state = State {
            containers: vec![container("a1", 1, "running"), container("a2", 2, "running")],
            routed: vec!["a1".into()],
            ..Default::default()
        };
        assert_eq!(state.active(), Some(1));
        assert_eq!(state.next_number(), 3);
    }

    #[test]
    fn without_a_route_the_newest_running_revision_is_active() {
        let state = State {
            containers: vec![container("a1", 1, "exited"), container("a2", 2, "running")],
            routed: vec!["gone".into()],
            ..Default::default()
        };
        assert_eq!(state.active(), Some(2));
        let none = State {
            containers: vec![container("a1", 1, "exited")],
            ..Default::default()
        };
        assert_eq!(none.active(), None);
    }

    #[test]
    fn probes_run_the_healthcheck_command() {
        let shell = vec!["CMD-SHELL".to_string(), "curl -f x || exit 1".to_string()];
        assert_eq!(
            probe_command(&shell),
            vec!["/bin/sh", "-c", "curl -f x || exit 1"]
        );
        let cmd = vec!["CMD".to_string(), "wget".to_string(), "-q".to_string()];
        assert_eq!(probe_command(&cmd), vec!["wget", "-q"]);
    }
}
