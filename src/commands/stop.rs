//! `stackctl stop` and `stackctl restart`. Stops go in reverse dependency
//! order (dependents first, so nothing loses a dependency while running),
//! restarts in start order; each service gets its own grace period.

use super::targets::{containers_of, for_each_container, in_wave, waves};
use crate::cli::{GlobalOptions, StopArgs};
use crate::compose::model::Service;
use crate::error::EXIT_OK;
use std::collections::HashMap;
use std::time::Duration;

pub async fn run(global: &GlobalOptions, args: &StopArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let running = containers_of(&engine, project, &services, false).await?;
    let graces = grace_periods(&services, args.timeout);
    let mut code = EXIT_OK;
    for wave in waves(&services, true)? {
        let result = for_each_container(in_wave(&running, &wave), "Stopped", |container| {
            let (engine, grace) = (&engine, graces.get(&container.service).copied().flatten());
            async move { Ok(engine.stop_container(&container.id, grace).await?) }
        })
        .await;
        code = code.max(result);
    }
    Ok(code)
}

/// `restart`: stopped containers are started too, as compose does.
pub async fn restart(global: &GlobalOptions, args: &StopArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let containers = containers_of(&engine, project, &services, true).await?;
    if containers.is_empty() {
        anyhow::bail!("no containers to restart: create them with `stackctl up` first");
    }
    let graces = grace_periods(&services, args.timeout);
    let mut code = EXIT_OK;
    for wave in waves(&services, false)? {
        let result = for_each_container(in_wave(&containers, &wave), "Restarted", |container| {
            let (engine, grace) = (&engine, graces.get(&container.service).copied().flatten());
            async move { Ok(engine.restart_container(&container.id, grace).await?) }
        })
        .await;
        code = code.max(result);
    }
    Ok(code)
}

/// Each service's grace period: `-t` for all, else its `stop_grace_period`;
/// `None` leaves it to the container's own stop timeout (set from the same
/// field at create) or the engine's 10 s.
pub fn grace_periods(
    services: &[&Service],
    timeout: Option<u64>,
) -> HashMap<String, Option<Duration>> {
    services
        .iter()
        .map(|service| {
            let grace = timeout
                .map(Duration::from_secs)
                .or(service.stop_grace_period);
            (service.name.clone(), grace)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_overrides_each_services_grace_period() {
        let slow = Service {
            name: "db".into(),
            stop_grace_period: Some(Duration::from_secs(30)),
            ..Default::default()
        };
        let plain = Service {
            name: "web".into(),
            ..Default::default()
        };
        let own = grace_periods(&[&slow, &plain], None);
        assert_eq!(own["db"], Some(Duration::from_secs(30)));
        assert_eq!(own["web"], None);
        let forced = grace_periods(&[&slow, &plain], Some(2));
        assert_eq!(forced["db"], Some(Duration::from_secs(2)));
        assert_eq!(forced["web"], Some(Duration::from_secs(2)));
    }
}
