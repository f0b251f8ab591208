//! `stackctl upgrade SERVICE --blue-green`: the new version starts beside the
//! old one, must pass its health gate, takes the traffic through the router,
//! and the old color drains and stops (kept for rollback).

use crate::bluegreen::deploy::Deployer;
use crate::bluegreen::flow::{self, FlowOptions};
use crate::bluegreen::lock::{Lock, Operation};
use crate::bluegreen::spec::{self, BlueGreenSpec};
use crate::budget;
use crate::cli::{GlobalOptions, UpgradeArgs};
use crate::compose::model::Project;
use crate::compose::units::{format_size, parse_duration};
use crate::engine::{spec as engine_spec, Engine};
use crate::error::{UsageError, EXIT_OK};
use crate::progress::Progress;
use anyhow::anyhow;
use std::time::Duration;

pub async fn run(global: &GlobalOptions, args: &UpgradeArgs) -> anyhow::Result<u8> {
    let timeout = duration_arg("--timeout", &args.timeout)?;
    let ready_delay = args
        .ready_delay
        .as_deref()
        .map(|d| duration_arg("--ready-delay", d))
        .transpose()?;
    let mut project = super::load_project(global)?.project;
    let service = project
        .services
        .get_mut(&args.service)
        .ok_or_else(|| UsageError(format!("no such service: `{}`", args.service)))?;
    if let Some(image) = &args.image {
        service.image = Some(image.clone());
    }
    let service = service.clone();
    let progress = Progress::new(false, service.name.len().max(12));
    let spec = match spec::bluegreen_spec(&service) {
        Some(spec) => spec,
        None => start_first_spec(&service, args.blue_green, &progress)?,
    };
    let drain = match &args.drain {
        Some(text) => duration_arg("--drain", text)?,
        None => spec.drain,
    };
    if service.healthcheck.as_ref().is_none_or(|c| !c.is_active()) && ready_delay.is_none() {
        return Err(UsageError(format!(
            "`{}` has no healthcheck, so there is nothing to gate the switch on: add a healthcheck, or give --ready-delay",
            service.name
        ))
        .into());
    }

    let engine = super::connect().await?;
    let reference = engine_spec::image_name(&project.name, &service);
    let image_id = super::up::image_for(&engine, &service, &reference, false, &progress).await?;
    let operation_stub = Operation {
        kind: "upgrade".into(),
        service: service.name.clone(),
        target: 0,
    };
    let deployer = Deployer {
        engine: &engine,
        project: &project,
        service: &service,
        spec: spec.clone(),
        progress: &progress,
    };
    let mut state = deployer.state().await?;
    let operation = Operation {
        target: state.next_number(),
        ..operation_stub
    };
    let taken = Lock::acquire(&engine, &project.name, &image_id, &operation).await?;
    let result = async {
        if let Some(interrupted) = &taken.interrupted {
            for note in deployer.converge(Some(interrupted)).await? {
                progress.note(&format!("recovered: {note}"));
            }
            state = deployer.state().await?;
        }
        if state.active().is_none() {
            return Err(anyhow!(
                "`{}` is not running: bring the stack up first (`stackctl up`)",
                service.name
            ));
        }
        if !args.force {
            check_memory(&engine, &project, &service).await?;
        }
        let revision = flow::new_revision(&state, &service, reference.clone(), image_id.clone());
        revision.save(&engine, &project).await?;
        let options = FlowOptions {
            timeout,
            drain,
            ready_delay,
            keep: args.keep,
        };
        flow::bring_in(&deployer, &state, &revision, true, &options).await
    }
    .await;
    taken.lock.release(&engine).await?;
    let report = result?;
    progress.finish(&service.name, &format!("revision {} active", report.to));
    println!("{}", report.summary(&service.name));
    Ok(EXIT_OK)
}

pub(crate) fn duration_arg(flag: &str, text: &str) -> Result<Duration, UsageError> {
    parse_duration(text).map_err(|err| UsageError(format!("{flag}: {err}")))
}

/// A service without a router gets a start-first replacement: the new
/// replicas join its DNS name, the old ones leave after the drain.
fn start_first_spec(
    service: &crate::compose::model::Service,
    asked_blue_green: bool,
    progress: &Progress,
) -> Result<BlueGreenSpec, UsageError> {
    if asked_blue_green {
        return Err(UsageError(format!(
            "--blue-green needs a router: add `x-stackctl: {{bluegreen: {{router: <router service>, port: <port>}}}}` to `{}` (see README)",
            service.name
        )));
    }
    progress.note(&format!(
        "warning: `{}` has no router, so this is a start-first replacement: the new replicas join its DNS name and the old ones leave after the drain; clients that cache DNS may see errors",
        service.name
    ));
    Ok(BlueGreenSpec {
        router: String::new(),
        port: 0,
        drain: spec::DEFAULT_DRAIN,
    })
}

/// The new color runs beside the old one for a while: refuse when the
/// memory in use plus the new replicas' limits would not fit the host.
async fn check_memory(
    engine: &Engine,
    project: &Project,
    service: &crate::compose::model::Service,
) -> anyhow::Result<()> {
    let Some(per_replica) = service
        .resources
        .limits
        .memory
        .or(service.resources.reservations.memory)
    else {
        return Ok(());
    };
    let extra = per_replica * u64::from(service.replicas.max(1));
    let total = engine.docker.info().await?.mem_total.unwrap_or(0).max(0) as u64;
    let containers = engine.list_project_containers(&project.name, false).await?;
    let samples = containers.iter().map(|c| engine.stats_once(&c.name));
    let used: u64 = futures_util::future::join_all(samples)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .map(|s| s.memory_used)
        .sum();
    let available = total.saturating_sub(budget::DEFAULT_OVERHEAD);
    if used + extra > available {
        return Err(anyhow!(
            "the new replicas need {} beside the {} in use, but the host has {} ({} minus {} overhead): free memory, lower the limits, or pass --force",
            format_size(extra),
            format_size(used),
            format_size(available),
            format_size(total),
            format_size(budget::DEFAULT_OVERHEAD)
        ));
    }
    Ok(())
}
