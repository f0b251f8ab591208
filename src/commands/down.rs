//! `stackctl down`: stop and remove the project's containers (dependents
//! first, each with its stop signal and grace period) and networks. Named
//! volumes hold data: they go only with `-v`.

use crate::cli::{DownArgs, GlobalOptions};
use crate::compose::model::Project;
use crate::engine::containers::ContainerSummary;
use crate::engine::{status_code, Engine, EngineError};
use crate::error::EXIT_OK;
use crate::graph::ServiceGraph;
use crate::progress::Progress;
use anyhow::Context as _;
use std::collections::HashMap;
use std::time::Duration;

pub async fn run(global: &GlobalOptions, args: &DownArgs) -> anyhow::Result<u8> {
    let project = super::load_project(global)?.project;
    let engine = super::connect().await?;
    let containers = engine.list_project_containers(&project.name, true).await?;
    let width = containers.iter().map(|c| c.name.len()).max().unwrap_or(20);
    let progress = Progress::new(false, width.max(20));

    let (ours, orphans): (Vec<_>, Vec<_>) = containers.into_iter().partition(|c| {
        project.services.contains_key(&c.service)
            || project.disabled_services.contains_key(&c.service)
    });
    if !orphans.is_empty() {
        if args.remove_orphans {
            remove_all(&engine, &project, &orphans, args, &progress).await?;
        } else {
            let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
            progress.note(&format!(
                "warning: orphan containers left running ({}); use --remove-orphans to remove them",
                names.join(", ")
            ));
        }
    }
    for wave in stop_waves(&project, &ours)? {
        remove_all(&engine, &project, &wave, args, &progress).await?;
    }
    remove_networks(&engine, &project, &progress).await?;
    if args.volumes {
        remove_volumes(&engine, &project, &progress).await?;
    }
    Ok(EXIT_OK)
}

/// Containers grouped in reverse dependency order: dependents stop before
/// what they depend on.
fn stop_waves(
    project: &Project,
    containers: &[ContainerSummary],
) -> anyhow::Result<Vec<Vec<ContainerSummary>>> {
    let graph = ServiceGraph::new(
        project
            .services
            .values()
            .chain(project.disabled_services.values()),
    );
    let mut by_service: HashMap<&str, Vec<ContainerSummary>> = HashMap::new();
    for container in containers {
        by_service
            .entry(container.service.as_str())
            .or_default()
            .push(container.clone());
    }
    Ok(graph
        .stop_waves()?
        .into_iter()
        .map(|wave| {
            wave.iter()
                .filter_map(|name| by_service.remove(name.as_str()))
                .flatten()
                .collect::<Vec<_>>()
        })
        .filter(|wave| !wave.is_empty())
        .collect())
}

/// Stop and remove one wave of containers in parallel.
async fn remove_all(
    engine: &Engine,
    project: &Project,
    containers: &[ContainerSummary],
    args: &DownArgs,
    progress: &Progress,
) -> anyhow::Result<()> {
    let tasks = containers.iter().map(|container| async move {
        let grace = grace_period(project, container, args.timeout);
        if container.state == "running" || container.state == "restarting" {
            progress.update(&container.name, "stopping");
            engine
                .stop_container(&container.name, Some(grace))
                .await
                .with_context(|| format!("stopping {}", container.name))?;
        }
        progress.update(&container.name, "removing");
        // Anonymous volumes go with `-v` only, like named ones.
        engine
            .remove_container(&container.name, true, args.volumes)
            .await
            .with_context(|| format!("removing {}", container.name))?;
        progress.finish(&container.name, "removed");
        anyhow::Ok(())
    });
    for result in futures_util::future::join_all(tasks).await {
        result?;
    }
    Ok(())
}

/// `-t`, else the service's stop_grace_period, else Docker's 10 s.
fn grace_period(project: &Project, container: &ContainerSummary, timeout: Option<u64>) -> Duration {
    if let Some(seconds) = timeout {
        return Duration::from_secs(seconds);
    }
    project
        .services
        .get(&container.service)
        .and_then(|service| service.stop_grace_period)
        .unwrap_or(Duration::from_secs(10))
}

async fn remove_networks(
    engine: &Engine,
    project: &Project,
    progress: &Progress,
) -> anyhow::Result<()> {
    for network in engine.list_project_networks(&project.name).await? {
        let label = format!("network {}", network.name);
        match engine.remove_network(&network.name).await {
            Ok(()) => progress.finish(&label, "removed"),
            // 403: containers are still attached (orphans left running without
            // --remove-orphans, or containers from outside the project). As
            // with compose, that is a warning, not a failed `down`.
            Err(EngineError::Api(err)) if status_code(&err) == Some(403) => {
                progress.note(&format!(
                    "warning: network {} is still in use by other containers; left in place",
                    network.name
                ));
            }
            Err(err) => {
                return Err(
                    anyhow::Error::new(err).context(format!("removing network {}", network.name))
                )
            }
        }
    }
    Ok(())
}

/// Named volumes of the project (never external ones).
async fn remove_volumes(
    engine: &Engine,
    project: &Project,
    progress: &Progress,
) -> anyhow::Result<()> {
    for volume in engine.list_project_volumes(&project.name).await? {
        let external = volume
            .key
            .as_ref()
            .and_then(|key| project.volumes.get(key))
            .is_some_and(|v| v.external);
        if external {
            continue;
        }
        let label = format!("volume {}", volume.name);
        engine
            .remove_volume(&volume.name)
            .await
            .with_context(|| format!("removing volume {}", volume.name))?;
        progress.finish(&label, "removed");
    }
    Ok(())
}
