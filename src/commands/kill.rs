//! `stackctl kill`: send a signal to the selected services' running
//! containers (SIGKILL unless `-s`); the engine rejects unknown signals.

use super::targets::{containers_of, for_each_container};
use crate::cli::{GlobalOptions, KillArgs};
use crate::error::EXIT_OK;

pub async fn run(global: &GlobalOptions, args: &KillArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let running = containers_of(&engine, project, &services, false).await?;
    if running.is_empty() {
        eprintln!("no running containers to kill");
        return Ok(EXIT_OK);
    }
    let signal = args.signal.as_str();
    Ok(for_each_container(&running, "Killed", |container| {
        let engine = &engine;
        async move { Ok(engine.kill_container(&container.id, signal).await?) }
    })
    .await)
}
