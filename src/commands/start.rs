//! `stackctl start`: start the existing containers of services, dependencies
//! first (in start waves), without creating anything; `up` creates.

use super::targets::{containers_of, for_each_container, in_wave, waves};
use crate::cli::{GlobalOptions, ServicesArgs};
use crate::error::EXIT_OK;

pub async fn run(global: &GlobalOptions, args: &ServicesArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let containers = containers_of(&engine, project, &services, true).await?;
    if containers.is_empty() {
        anyhow::bail!("no containers to start: create them with `stackctl up` first");
    }
    let mut code = EXIT_OK;
    for wave in waves(&services, false)? {
        // Starting a running container is a no-op for the user, not an error.
        let stopped = in_wave(&containers, &wave).filter(|c| c.state != "running");
        let result = for_each_container(stopped, "Started", |container| {
            let engine = &engine;
            async move { Ok(engine.start_container(&container.id).await?) }
        })
        .await;
        code = code.max(result);
    }
    Ok(code)
}
