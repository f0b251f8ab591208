//! `stackctl rollback [SERVICE] [--to REV]`: bring a previous revision back,
//! with its whole recorded config (environment, limits, command…), through
//! the same gate → switch → drain as an upgrade.

use super::upgrade::duration_arg;
use crate::bluegreen::deploy::Deployer;
use crate::bluegreen::flow::{self, FlowOptions};
use crate::bluegreen::lock::{Lock, Operation};
use crate::bluegreen::record;
use crate::bluegreen::spec::{self, BlueGreenSpec};
use crate::cli::{GlobalOptions, RollbackArgs};
use crate::error::{UsageError, EXIT_OK};
use crate::progress::Progress;
use anyhow::anyhow;

pub async fn run(global: &GlobalOptions, args: &RollbackArgs) -> anyhow::Result<u8> {
    let timeout = duration_arg("--timeout", &args.timeout)?;
    let ready_delay = args
        .ready_delay
        .as_deref()
        .map(|d| duration_arg("--ready-delay", d))
        .transpose()?;
    let project = super::load_project(global)?.project;
    let engine = super::connect().await?;
    let name = match &args.service {
        Some(name) => name.clone(),
        None => most_recent_upgrade(&engine, &project.name).await?,
    };
    let service = project
        .services
        .get(&name)
        .ok_or_else(|| UsageError(format!("no such service: `{name}`")))?;
    let spec = spec::bluegreen_spec(service).unwrap_or(BlueGreenSpec {
        router: String::new(),
        port: 0,
        drain: spec::DEFAULT_DRAIN,
    });
    let drain = match &args.drain {
        Some(text) => duration_arg("--drain", text)?,
        None => spec.drain,
    };
    let progress = Progress::new(false, name.len().max(12));
    let deployer = Deployer {
        engine: &engine,
        project: &project,
        service,
        spec,
        progress: &progress,
    };
    let state = deployer.state().await?;
    let target = flow::rollback_target(&state, args.to)?;
    let operation = Operation {
        kind: "rollback".into(),
        service: name.clone(),
        target: target.number,
    };
    let taken = Lock::acquire(&engine, &project.name, &target.image_id, &operation).await?;
    let result = async {
        let mut state = state;
        if let Some(interrupted) = &taken.interrupted {
            for note in deployer.converge(Some(interrupted)).await? {
                progress.note(&format!("recovered: {note}"));
            }
            state = deployer.state().await?;
        }
        let options = FlowOptions {
            timeout,
            drain,
            ready_delay,
            keep: usize::MAX,
        };
        flow::bring_in(&deployer, &state, &target, false, &options).await
    }
    .await;
    taken.lock.release(&engine).await?;
    let report = result?;
    progress.finish(&name, &format!("rolled back to revision {}", report.to));
    println!("{}", report.summary(&name));
    Ok(EXIT_OK)
}

/// The service whose newest revision is the most recent in the project.
async fn most_recent_upgrade(
    engine: &crate::engine::Engine,
    project: &str,
) -> anyhow::Result<String> {
    record::load_all(engine, project)
        .await?
        .into_iter()
        .filter_map(|(service, revisions)| {
            let newest = revisions.iter().map(|r| (r.created, r.number)).max()?;
            (revisions.len() > 1).then_some((newest, service))
        })
        .max()
        .map(|(_, service)| service)
        .ok_or_else(|| {
            anyhow!("no upgrade to roll back in project `{project}`: see `stackctl history`")
        })
}
