//! `stackctl budget`: will the stack fit this host or AWS instance type?

use crate::budget::{self, catalog, render, Host, LiveUsage};
use crate::cli::{BudgetArgs, GlobalOptions, ReportFormat};
use crate::compose::units::parse_size;
use crate::error::UsageError;
use futures_util::future::join_all;
use std::collections::BTreeMap;

pub async fn run(global: &GlobalOptions, args: &BudgetArgs) -> anyhow::Result<u8> {
    let host = host(args)?;
    let overhead =
        parse_size(&args.overhead).map_err(|err| UsageError(format!("--overhead: {err}")))?;
    let loaded = super::load_project(global)?;
    let live = match args.live {
        true => Some(measure(&loaded.project.name).await?),
        false => None,
    };
    let report = budget::compute(&loaded.project, &host, overhead, live.as_ref());
    match args.format {
        ReportFormat::Text => print!("{}", render::render_text_with(&report, args.strict)),
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(report.verdict(args.strict).exit_code() as u8)
}

/// Memory in use and CPU of the project's running containers, summed per
/// service (all replicas and colors that run).
async fn measure(project: &str) -> anyhow::Result<BTreeMap<String, LiveUsage>> {
    let engine = super::connect().await?;
    let containers = engine.list_project_containers(project, false).await?;
    let samples = join_all(containers.iter().map(|c| engine.stats_once(&c.name))).await;
    let mut usage: BTreeMap<String, LiveUsage> = BTreeMap::new();
    for (container, sample) in containers.iter().zip(samples) {
        let Ok(stats) = sample else { continue }; // stopped meanwhile
        let entry = usage.entry(container.service.clone()).or_insert(LiveUsage {
            memory_used: 0,
            cpu_percent: 0.0,
        });
        entry.memory_used += stats.memory_used;
        entry.cpu_percent += stats.cpu_percent;
    }
    Ok(usage)
}

/// The host from `--instance` or `--ram` (clap makes sure one is given).
fn host(args: &BudgetArgs) -> Result<Host, UsageError> {
    if let Some(name) = &args.instance {
        let instance = catalog::lookup(name).ok_or_else(|| {
            UsageError(format!(
                "unknown instance type `{name}`: expected one of {}",
                catalog::names().join(", ")
            ))
        })?;
        return Ok(Host::from_instance(&instance));
    }
    let text = args.ram.as_deref().unwrap_or_default();
    let ram = parse_size(text).map_err(|err| UsageError(format!("--ram: {err}")))?;
    if let Some(vcpus) = args.vcpus {
        if !(vcpus.is_finite() && vcpus > 0.0) {
            return Err(UsageError(format!(
                "--vcpus: expected a positive number, got {vcpus}"
            )));
        }
    }
    Ok(Host::from_ram(ram, args.vcpus))
}
