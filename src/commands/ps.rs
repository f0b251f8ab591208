//! `stackctl ps`: the project's containers, read back from the engine by
//! label, with each container's memory limit (the number the budget check
//! is about) next to its state.

use super::targets::{containers_of, table};
use crate::cli::{GlobalOptions, PsArgs, ReportFormat};
use crate::compose::units::format_size;
use crate::engine::containers::ContainerSummary;
use crate::engine::Engine;
use crate::error::EXIT_OK;
use futures_util::future::join_all;
use serde::Serialize;

/// One line of `ps`: the list entry plus what only inspect knows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PsEntry {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub project: String,
    pub service: String,
    pub replica: u32,
    pub image: String,
    pub state: String,
    pub health: Option<String>,
    /// The exit code, for a container that has exited.
    pub exit_code: Option<i64>,
    pub status: String,
    pub ports: Vec<String>,
    /// `HostConfig.Memory` in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// Blue-green color and revision (`blue r1`), for blue-green services.
    pub color: Option<String>,
}

/// The table's columns; [`row`] must produce the cells in this order.
pub const HEADER: &[&str] = &[
    "NAME",
    "SERVICE",
    "COLOR",
    "IMAGE",
    "STATE",
    "PORTS",
    "MEM LIMIT",
];

pub async fn run(global: &GlobalOptions, args: &PsArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let containers = containers_of(&engine, project, &services, args.all).await?;
    if args.quiet {
        for container in &containers {
            println!("{}", container.id);
        }
        return Ok(EXIT_OK);
    }
    let entries = entries(&engine, &project.name, containers).await;
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
        ReportFormat::Text => print!("{}", table(HEADER, entries.iter().map(row))),
    }
    Ok(EXIT_OK)
}

/// Inspect every container at once for what the list does not carry. A
/// container removed meanwhile keeps its list data, without a limit.
async fn entries(engine: &Engine, project: &str, list: Vec<ContainerSummary>) -> Vec<PsEntry> {
    let inspected = join_all(list.iter().map(|c| engine.inspect_container(&c.id))).await;
    list.into_iter()
        .zip(inspected)
        .map(|(container, inspect)| {
            let inspect = inspect.ok();
            let memory_limit = inspect
                .as_ref()
                .and_then(|i| i.host_config.as_ref())
                .and_then(|h| h.memory)
                .and_then(|bytes| u64::try_from(bytes).ok())
                .filter(|&bytes| bytes > 0);
            let exit_code = inspect
                .as_ref()
                .and_then(|i| i.state.as_ref())
                .and_then(|s| s.exit_code)
                .filter(|_| container.state == "exited");
            let color = crate::bluegreen::record::container_revision(&container.labels)
                .map(|(color, revision)| format!("{} r{revision}", color.as_str()));
            PsEntry {
                color,
                id: container.id,
                name: container.name,
                project: project.to_string(),
                service: container.service,
                replica: container.replica,
                image: container.image,
                state: container.state,
                health: container.health,
                exit_code,
                status: container.status,
                ports: container.ports,
                memory_limit,
            }
        })
        .collect()
}

/// The cells of one table row, in [`HEADER`] order. Kept in one place so a
/// column (such as a blue-green colour) is added here and in the header only.
pub fn row(entry: &PsEntry) -> Vec<String> {
    vec![
        entry.name.clone(),
        entry.service.clone(),
        entry.color.clone().unwrap_or_else(|| "-".to_string()),
        entry.image.clone(),
        state_text(entry),
        entry.ports.join(", "),
        entry
            .memory_limit
            .map_or_else(|| "-".to_string(), format_size),
    ]
}

/// `running (healthy)`, `exited (1)`, or the bare state.
pub fn state_text(entry: &PsEntry) -> String {
    match (&entry.health, entry.exit_code) {
        (Some(health), _) => format!("{} ({health})", entry.state),
        (None, Some(code)) => format!("{} ({code})", entry.state),
        (None, None) => entry.state.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> PsEntry {
        PsEntry {
            id: "abc".into(),
            name: "p-web-1".into(),
            project: "p".into(),
            service: "web".into(),
            replica: 1,
            image: "busybox".into(),
            state: "running".into(),
            health: Some("healthy".into()),
            exit_code: None,
            status: "Up 2 seconds (healthy)".into(),
            ports: vec!["127.0.0.1:8080->80/tcp".into()],
            memory_limit: Some(64 << 20),
            color: None,
        }
    }

    #[test]
    fn rows_show_health_and_memory_limit() {
        let cells = row(&entry());
        assert_eq!(cells.len(), HEADER.len());
        assert_eq!(cells[4], "running (healthy)");
        assert_eq!(cells[6], "64MiB");
    }

    #[test]
    fn exited_containers_show_their_code_and_unlimited_memory_a_dash() {
        let exited = PsEntry {
            state: "exited".into(),
            health: None,
            exit_code: Some(137),
            memory_limit: None,
            ..entry()
        };
        let cells = row(&exited);
        assert_eq!(cells[4], "exited (137)");
        assert_eq!(cells[6], "-");
    }
}
