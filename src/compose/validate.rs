//! Stage 5: checks that need the whole model (references between services,
//! volumes and networks, cycles, limits the engine would refuse). They run
//! before anything touches the engine, so a bad file changes nothing.

use super::diag::{child, Diagnostics};
use super::model::*;
use super::units::{format_size, MIN_MEMORY_LIMIT};
use crate::graph::{self, EdgeKind, ServiceGraph};
use std::collections::{BTreeMap, HashMap};

pub fn validate(project: &Project, diags: &mut Diagnostics) {
    for (name, service) in &project.services {
        let path = child("services", name);
        check_service_name(name, &path, diags);
        check_image_or_build(service, &path, diags);
        check_references(project, service, &path, diags);
        check_mounts(project, service, &path, diags);
        check_networks(project, service, &path, diags);
        check_resources(service, &path, diags);
        check_replicas(service, &path, diags);
    }
    check_cycles(project, diags);
    check_published_ports(project, diags);
    for (path, message) in crate::bluegreen::spec::validate(project) {
        diags.error(&path, message);
    }
}

/// Compose's rule for service names: they become DNS names and parts of
/// container names.
pub fn is_valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn check_service_name(name: &str, path: &str, diags: &mut Diagnostics) {
    if !is_valid_service_name(name) {
        diags.error(
            path,
            format!(
                "invalid service name `{name}`: expected letters, digits, `_`, `.` or `-`, starting with a letter or digit"
            ),
        );
    }
}

fn check_image_or_build(service: &Service, path: &str, diags: &mut Diagnostics) {
    if service.image.is_none() && service.build.is_none() {
        diags.error(
            path,
            "the service has neither `image` nor `build`: expected one of them",
        );
    }
    if let Some(image) = &service.image {
        if image.is_empty() || image.contains(char::is_whitespace) {
            diags.error(
                &child(path, "image"),
                format!("invalid image reference `{image}`"),
            );
        }
    }
}

/// depends_on, links, volumes_from and `network_mode: service:x` must name
/// services of this file; depends_on also checks healthcheck conditions.
fn check_references(project: &Project, service: &Service, path: &str, diags: &mut Diagnostics) {
    for (target, kind) in graph::references(service) {
        let field = match kind {
            EdgeKind::DependsOn { .. } => child(&child(path, "depends_on"), &target),
            EdgeKind::Link => child(path, "links"),
            EdgeKind::VolumesFrom => child(path, "volumes_from"),
            EdgeKind::NetworkMode => child(path, "network_mode"),
        };
        let required = match kind {
            EdgeKind::DependsOn { .. } => service
                .depends_on
                .get(&target)
                .is_none_or(|dependency| dependency.required),
            _ => true,
        };
        if target == service.name {
            diags.error(&field, format!("service `{target}` depends on itself"));
            continue;
        }
        let Some(dependency) = project.services.get(&target) else {
            report_missing_service(project, &target, &field, required, diags);
            continue;
        };
        if let EdgeKind::DependsOn {
            condition: DependencyCondition::ServiceHealthy,
        } = kind
        {
            if !dependency
                .healthcheck
                .as_ref()
                .is_some_and(Healthcheck::is_active)
            {
                diags.error(
                    &child(&field, "condition"),
                    format!(
                        "condition service_healthy, but `{target}` has no healthcheck: add a `healthcheck` to `{target}` or use service_started"
                    ),
                );
            }
        }
    }
}

fn report_missing_service(
    project: &Project,
    target: &str,
    field: &str,
    required: bool,
    diags: &mut Diagnostics,
) {
    let message = if let Some(disabled) = project.disabled_services.get(target) {
        format!(
            "service `{target}` is not enabled: it needs profile {}",
            disabled.profiles.join(" or ")
        )
    } else {
        let hint =
            crate::compose::diag::did_you_mean(target, project.services.keys().map(String::as_str))
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
        format!("undefined service `{target}`{hint}")
    };
    if required {
        diags.error(field, message);
    } else {
        diags.warning(
            field,
            format!("{message}; ignored because `required: false`"),
        );
    }
}

fn check_mounts(project: &Project, service: &Service, path: &str, diags: &mut Diagnostics) {
    for (i, mount) in service.volumes.iter().enumerate() {
        if mount.kind != MountType::Volume {
            continue;
        }
        let Some(source) = &mount.source else {
            continue;
        };
        if !project.volumes.contains_key(source) {
            let hint = crate::compose::diag::did_you_mean(
                source,
                project.volumes.keys().map(String::as_str),
            )
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
            diags.error(
                &format!("{}[{i}]", child(path, "volumes")),
                format!(
                    "undefined volume `{source}`{hint}: declare it under the top-level `volumes`, or use `./{source}` for a bind mount"
                ),
            );
        }
    }
}

fn check_networks(project: &Project, service: &Service, path: &str, diags: &mut Diagnostics) {
    if service.network_mode.is_some() && service.networks.keys().any(|n| n != "default") {
        diags.error(
            &child(path, "network_mode"),
            "`network_mode` and `networks` cannot both be set",
        );
    }
    for name in service.networks.keys() {
        if !project.networks.contains_key(name) {
            let hint = crate::compose::diag::did_you_mean(
                name,
                project.networks.keys().map(String::as_str),
            )
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
            diags.error(
                &child(&child(path, "networks"), name),
                format!(
                    "undefined network `{name}`{hint}: declare it under the top-level `networks`"
                ),
            );
        }
    }
}

/// What the daemon would refuse at create time, caught before any change.
fn check_resources(service: &Service, path: &str, diags: &mut Diagnostics) {
    let resources = &service.resources;
    if let Some(limit) = resources.limits.memory {
        if limit < MIN_MEMORY_LIMIT {
            diags.error(
                &resource_path(diags, path, "limits", "memory", "mem_limit"),
                format!(
                    "memory limit {} is below Docker's minimum of 6MiB",
                    format_size(limit)
                ),
            );
        }
    }
    if let (Some(limit), Some(reservation)) =
        (resources.limits.memory, resources.reservations.memory)
    {
        if reservation > limit {
            diags.error(
                &resource_path(diags, path, "reservations", "memory", "mem_reservation"),
                format!(
                    "memory reservation {} is above the memory limit {}",
                    format_size(reservation),
                    format_size(limit)
                ),
            );
        }
    }
    if let (Some(limit), Some(reservation)) = (resources.limits.cpus, resources.reservations.cpus) {
        if reservation > limit {
            diags.error(
                &resource_path(diags, path, "reservations", "cpus", "cpus"),
                format!("cpu reservation {reservation} is above the cpu limit {limit}"),
            );
        }
    }
    if let Some(pids) = resources.limits.pids {
        if pids < -1 || pids == 0 {
            diags.error(
                &resource_path(diags, path, "limits", "pids", "pids_limit"),
                format!(
                    "invalid pids limit {pids}: expected a positive number, or -1 for unlimited"
                ),
            );
        }
    }
}

/// Where a resource setting was written: one of the three syntaxes
/// (`deploy.resources`, service-level `resources`, the legacy key), so the
/// message points at the line the user wrote.
fn resource_path(
    diags: &Diagnostics,
    service_path: &str,
    block: &str,
    field: &str,
    legacy: &str,
) -> String {
    let candidates = [
        format!("{service_path}.deploy.resources.{block}.{field}"),
        format!("{service_path}.resources.{block}.{field}"),
        format!("{service_path}.{legacy}"),
    ];
    candidates
        .iter()
        .find(|candidate| diags.source_map().contains(candidate))
        .cloned()
        .unwrap_or_else(|| candidates[1].clone())
}

fn check_replicas(service: &Service, path: &str, diags: &mut Diagnostics) {
    if service.replicas > 1 {
        if let Some(name) = &service.container_name {
            diags.error(
                &child(path, "container_name"),
                format!(
                    "container_name `{name}` with {} replicas: container names must be unique; remove container_name or use one replica",
                    service.replicas
                ),
            );
        }
    }
}

fn check_cycles(project: &Project, diags: &mut Diagnostics) {
    let graph = ServiceGraph::new(project.services.values());
    if let Some(cycle) = graph.find_cycle() {
        if cycle.len() <= 2 {
            return; // self-dependency, reported with its service
        }
        let first = &cycle[0];
        diags.error(
            &child(&child("services", first), "depends_on"),
            format!("dependency cycle: {}", graph::format_cycle(&cycle)),
        );
    }
}

/// Host ports are a machine-wide resource: the same (address, port, protocol)
/// may be published once. A fixed host port on a service with several
/// replicas collides with itself.
fn check_published_ports(project: &Project, diags: &mut Diagnostics) {
    let mut seen: HashMap<(u16, Protocol), Vec<(String, String)>> = HashMap::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    for (name, service) in &project.services {
        let path = child(&child("services", name), "ports");
        for port in &service.ports {
            let Some(published) = port.published else {
                continue;
            };
            let address = port
                .host_ip
                .clone()
                .unwrap_or_else(|| "0.0.0.0".to_string());
            if service.replicas > 1 {
                errors.insert(
                    path.clone(),
                    format!(
                        "host port {published} is fixed but the service has {} replicas: only one container can publish it; publish a range or use a proxy",
                        service.replicas
                    ),
                );
            }
            let others = seen.entry((published, port.protocol)).or_default();
            for (other_service, other_address) in others.iter() {
                if addresses_overlap(&address, other_address) {
                    errors.insert(
                        path.clone(),
                        format!(
                            "host port {published}/{} is already published by service `{other_service}`",
                            port.protocol.as_str()
                        ),
                    );
                }
            }
            others.push((name.clone(), address));
        }
    }
    for (path, message) in errors {
        diags.error(&path, message);
    }
}

fn addresses_overlap(a: &str, b: &str) -> bool {
    let any = |ip: &str| ip == "0.0.0.0" || ip == "::" || ip.is_empty();
    a == b || any(a) || any(b)
}
