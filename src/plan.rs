//! Planning: what `up` must do to make the engine match the file. Pure: it
//! compares the desired services with the containers the engine reports
//! (by their labels) and returns actions; the `up` command carries them out.

use crate::compose::model::Service;
use crate::engine::containers::ContainerSummary;
use std::collections::BTreeMap;

/// Label holding the image ID a container was created from, so a rebuilt or
/// re-pulled image recreates the container even when the config is the same.
pub const IMAGE_ID_LABEL: &str = "io.stackctl.image-id";

/// What to do with one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No container yet: create and start replica `replica`.
    Create { replica: u32 },
    /// Config or image changed: replace `container` with a new one.
    Recreate { replica: u32, container: String },
    /// Up to date but not running: start it.
    Start { replica: u32, container: String },
    /// Up to date and running.
    Keep { replica: u32, container: String },
    /// Beyond the wanted replica count (scale down): stop and remove.
    Remove { container: String },
}

impl Action {
    pub fn changes_something(&self) -> bool {
        !matches!(self, Action::Keep { .. })
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    pub force_recreate: bool,
    pub no_recreate: bool,
}

/// The actions for one service, replica by replica, given its containers.
/// `config_hash` and `image_id` describe what the containers should be.
pub fn plan_service(
    service: &Service,
    config_hash: &str,
    image_id: Option<&str>,
    existing: &[&ContainerSummary],
    options: PlanOptions,
) -> Vec<Action> {
    let by_replica: BTreeMap<u32, &ContainerSummary> =
        existing.iter().map(|c| (c.replica, *c)).collect();
    let mut actions = Vec::new();
    for replica in 1..=service.replicas {
        let action = match by_replica.get(&replica) {
            None => Action::Create { replica },
            Some(container) => {
                let outdated =
                    container.config_hash != config_hash || image_changed(container, image_id);
                let container_name = container.name.clone();
                if options.force_recreate || (outdated && !options.no_recreate) {
                    Action::Recreate {
                        replica,
                        container: container_name,
                    }
                } else if container.state == "running" {
                    Action::Keep {
                        replica,
                        container: container_name,
                    }
                } else {
                    Action::Start {
                        replica,
                        container: container_name,
                    }
                }
            }
        };
        actions.push(action);
    }
    // Scale down: the highest replica numbers go, as with compose.
    for (replica, container) in by_replica.iter().rev() {
        if *replica > service.replicas || *replica == 0 {
            actions.push(Action::Remove {
                container: container.name.clone(),
            });
        }
    }
    actions
}

fn image_changed(container: &ContainerSummary, image_id: Option<&str>) -> bool {
    match (container.labels.get(IMAGE_ID_LABEL), image_id) {
        (Some(recorded), Some(current)) => recorded != current,
        _ => false,
    }
}

/// Containers of the project whose service is not in the file (any more).
pub fn orphans<'c>(
    services: &BTreeMap<String, Service>,
    disabled: &BTreeMap<String, Service>,
    containers: &'c [ContainerSummary],
) -> Vec<&'c ContainerSummary> {
    containers
        .iter()
        .filter(|c| !services.contains_key(&c.service) && !disabled.contains_key(&c.service))
        .collect()
}

/// True when a service publishes a fixed host port: two containers of it
/// cannot run at once, so a replacement must stop the old one first.
pub fn has_fixed_host_port(service: &Service) -> bool {
    service.ports.iter().any(|port| port.published.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn service(replicas: u32) -> Service {
        Service {
            name: "web".into(),
            image: Some("x".into()),
            replicas,
            ..Default::default()
        }
    }

    fn container(replica: u32, hash: &str, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: format!("id{replica}"),
            name: format!("p-web-{replica}"),
            service: "web".into(),
            replica,
            config_hash: hash.into(),
            state: state.into(),
            status: String::new(),
            health: None,
            image: "x".into(),
            ports: Vec::new(),
            labels: HashMap::from([(IMAGE_ID_LABEL.to_string(), "sha:1".to_string())]),
        }
    }

    fn plan(replicas: u32, existing: &[ContainerSummary], options: PlanOptions) -> Vec<Action> {
        let refs: Vec<&ContainerSummary> = existing.iter().collect();
        plan_service(&service(replicas), "h1", Some("sha:1"), &refs, options)
    }

    #[test]
    fn nothing_running_creates_every_replica() {
        assert_eq!(
            plan(2, &[], PlanOptions::default()),
            vec![Action::Create { replica: 1 }, Action::Create { replica: 2 }]
        );
    }

    #[test]
    fn unchanged_running_containers_are_kept() {
        let actions = plan(1, &[container(1, "h1", "running")], PlanOptions::default());
        assert_eq!(
            actions,
            vec![Action::Keep {
                replica: 1,
                container: "p-web-1".into()
            }]
        );
        assert!(!actions[0].changes_something());
    }

    #[test]
    fn stopped_unchanged_containers_are_started() {
        let actions = plan(1, &[container(1, "h1", "exited")], PlanOptions::default());
        assert!(matches!(actions[0], Action::Start { replica: 1, .. }));
    }

    #[test]
    fn a_changed_config_or_image_recreates() {
        let actions = plan(1, &[container(1, "old", "running")], PlanOptions::default());
        assert!(matches!(actions[0], Action::Recreate { replica: 1, .. }));
        let refs = [&container(1, "h1", "running")];
        let actions = plan_service(
            &service(1),
            "h1",
            Some("sha:2"),
            &refs,
            PlanOptions::default(),
        );
        assert!(matches!(actions[0], Action::Recreate { replica: 1, .. }));
    }

    #[test]
    fn no_recreate_and_force_recreate() {
        let no = PlanOptions {
            no_recreate: true,
            ..Default::default()
        };
        assert!(matches!(
            plan(1, &[container(1, "old", "running")], no)[0],
            Action::Keep { .. }
        ));
        let force = PlanOptions {
            force_recreate: true,
            ..Default::default()
        };
        assert!(matches!(
            plan(1, &[container(1, "h1", "running")], force)[0],
            Action::Recreate { .. }
        ));
    }

    #[test]
    fn scaling_down_removes_the_highest_replicas() {
        let existing = [
            container(1, "h1", "running"),
            container(2, "h1", "running"),
            container(3, "h1", "running"),
        ];
        let actions = plan(1, &existing, PlanOptions::default());
        assert_eq!(actions.len(), 3);
        assert_eq!(
            actions[1],
            Action::Remove {
                container: "p-web-3".into()
            }
        );
        assert_eq!(
            actions[2],
            Action::Remove {
                container: "p-web-2".into()
            }
        );
    }

    #[test]
    fn orphans_are_containers_of_unknown_services() {
        let services = BTreeMap::from([("web".to_string(), service(1))]);
        let mut old = container(1, "h", "running");
        old.service = "gone".into();
        let list = [container(1, "h", "running"), old];
        let found = orphans(&services, &BTreeMap::new(), &list);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].service, "gone");
    }
}
