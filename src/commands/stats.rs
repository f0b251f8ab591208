//! `stackctl stats`: memory and CPU of the running containers against their
//! limits, once (`--no-stream`, or when stdout is not a terminal) or
//! refreshed every ~2 s until Ctrl-C.

use super::targets::{containers_of, stdout_is_terminal, table};
use crate::cli::{GlobalOptions, ReportFormat, StatsArgs};
use crate::compose::units::format_size;
use crate::engine::containers::{ContainerStats, ContainerSummary};
use crate::engine::Engine;
use crate::error::{EXIT_FAILURE, EXIT_OK};
use futures_util::future::join_all;
use serde::Serialize;
use std::time::Duration;

const HEADER: &[&str] = &["NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"];

/// A sample itself takes ~1 s (CPU needs two readings); this pause makes a
/// refresh every ~2 s, like `docker stats`.
const REFRESH_PAUSE: Duration = Duration::from_secs(1);

/// Clear the screen and go home, before each refresh.
const CLEAR: &str = "\x1b[2J\x1b[H";

/// One container's sample, as JSON prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatsEntry {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub service: String,
    pub cpu_percent: f64,
    /// Bytes in use (page cache that can be reclaimed excluded).
    pub mem_usage: u64,
    /// Bytes: the container's limit, or the host's memory when unlimited.
    pub mem_limit: u64,
    pub mem_percent: f64,
    #[serde(rename = "PIDs")]
    pub pids: Option<u64>,
}

pub async fn run(global: &GlobalOptions, args: &StatsArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let stream = !args.no_stream && stdout_is_terminal();
    if !stream {
        let running = containers_of(&engine, project, &services, false).await?;
        let (entries, code) = sample(&engine, &running).await;
        print_entries(&entries, args.format)?;
        return Ok(code);
    }
    let refresh = async {
        loop {
            // Re-listed each time: containers come and go while watching.
            let running = containers_of(&engine, project, &services, false).await?;
            let (entries, _) = sample(&engine, &running).await;
            print!("{CLEAR}");
            print_entries(&entries, args.format)?;
            tokio::time::sleep(REFRESH_PAUSE).await;
        }
    };
    tokio::select! {
        result = refresh => result,
        _ = tokio::signal::ctrl_c() => Ok(EXIT_OK),
    }
}

/// Sample every container at once; a container that vanished or did not
/// answer is reported and left out.
async fn sample(engine: &Engine, running: &[ContainerSummary]) -> (Vec<StatsEntry>, u8) {
    let samples = join_all(running.iter().map(|c| engine.stats_once(&c.id))).await;
    let mut code = EXIT_OK;
    let mut entries = Vec::new();
    for (container, stats) in running.iter().zip(samples) {
        match stats {
            Ok(stats) => entries.push(entry(container, &stats)),
            Err(err) => {
                eprintln!("error: stats of {}: {err}", container.name);
                code = EXIT_FAILURE;
            }
        }
    }
    (entries, code)
}

fn entry(container: &ContainerSummary, stats: &ContainerStats) -> StatsEntry {
    StatsEntry {
        id: container.id.clone(),
        name: container.name.clone(),
        service: container.service.clone(),
        cpu_percent: stats.cpu_percent,
        mem_usage: stats.memory_used,
        mem_limit: stats.memory_limit,
        mem_percent: percent(stats.memory_used, stats.memory_limit),
        pids: stats.pids,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

fn print_entries(entries: &[StatsEntry], format: ReportFormat) -> anyhow::Result<()> {
    match format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(entries)?),
        ReportFormat::Text => print!("{}", table(HEADER, entries.iter().map(row))),
    }
    Ok(())
}

/// Cells in [`HEADER`] order.
fn row(entry: &StatsEntry) -> Vec<String> {
    vec![
        entry.name.clone(),
        format!("{:.2}%", entry.cpu_percent),
        format!(
            "{} / {}",
            format_size(entry.mem_usage),
            format_size(entry.mem_limit)
        ),
        format!("{:.2}%", entry.mem_percent),
        entry.pids.map_or_else(|| "-".into(), |p| p.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_usage_against_limit() {
        let entry = StatsEntry {
            id: "x".into(),
            name: "p-web-1".into(),
            service: "web".into(),
            cpu_percent: 1.234,
            mem_usage: 16 << 20,
            mem_limit: 64 << 20,
            mem_percent: percent(16 << 20, 64 << 20),
            pids: Some(3),
        };
        assert_eq!(
            row(&entry),
            vec!["p-web-1", "1.23%", "16MiB / 64MiB", "25.00%", "3"]
        );
        assert_eq!(percent(1, 0), 0.0);
    }
}
