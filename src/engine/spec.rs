//! Pure translation of one service replica into the engine's create body.
//! Nothing here talks to the engine, so every mapping is unit-tested.

use crate::compose::model::{Mount, MountType, Project, RestartPolicy, Service};
use crate::compose::{ports, units};
use crate::engine::labels;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig, Mount as EngineMount, MountTmpfsOptions, MountType as EngineMountType,
    NetworkingConfig, PortBinding, PortMap, ResourcesUlimits, RestartPolicy as EngineRestart,
    RestartPolicyNameEnum,
};
use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;

/// `<project>-<service>-<n>` as compose v2 names containers, unless the
/// service pins `container_name` (then it can only have one replica).
pub fn container_name(project: &str, service: &Service, replica: u32) -> String {
    match &service.container_name {
        Some(name) => name.clone(),
        None => format!("{project}-{}-{replica}", service.name),
    }
}

/// The image a replica runs: the declared one, or the name a `build`-only
/// service's image is tagged with (`<project>-<service>`, as compose v2 does).
pub fn image_name(project: &str, service: &Service) -> String {
    match &service.image {
        Some(image) => image.clone(),
        None => format!("{project}-{}", service.name),
    }
}

/// sha256 (hex) of the service's normalized config as JSON. A second `up`
/// compares it with the label on running containers to decide whether to
/// recreate. `replicas` is left out because scaling must not recreate, and
/// `environment` is hashed as resolved, since a `- KEY` entry takes its value
/// from the shell at deploy time and a new value changes the container.
pub fn config_hash(service: &Service) -> String {
    let mut hashed = service.clone();
    hashed.replicas = 0;
    hashed.environment = service
        .environment
        .keys()
        .map(|key| (key.clone(), resolved_value(service, key)))
        .collect();
    // JSON cannot carry YAML maps with non-string keys (possible in `x-*`
    // extensions); the Debug form is just as stable for the same input.
    let text = match serde_json::to_value(&hashed) {
        Ok(mut value) => {
            if let serde_json::Value::Object(map) = &mut value {
                map.insert("name".into(), service.name.clone().into());
            }
            value.to_string()
        }
        Err(_) => format!("{hashed:?}"),
    };
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    hex(&hasher.finalize())
}

/// The value a container will see for `key`: declared, else stackctl's own.
fn resolved_value(service: &Service, key: &str) -> Option<String> {
    match service.environment.get(key) {
        Some(Some(value)) => Some(value.clone()),
        _ => std::env::var(key).ok(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `KEY=value` entries. `None` values come from stackctl's own environment and
/// are skipped when it has none, as compose does.
pub fn resolved_env(service: &Service) -> Vec<String> {
    service
        .environment
        .keys()
        .filter_map(|key| resolved_value(service, key).map(|value| format!("{key}={value}")))
        .collect()
}

/// The full create body of replica `replica` of `service`.
pub fn container_spec(
    project: &Project,
    service: &Service,
    replica: u32,
    extra_labels: &IndexMap<String, String>,
) -> ContainerCreateBody {
    let (exposed, bindings) = port_config(service);
    ContainerCreateBody {
        image: Some(image_name(&project.name, service)),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: Some(resolved_env(service)),
        labels: Some(container_labels(project, service, replica, extra_labels)),
        user: service.user.clone(),
        working_dir: service.working_dir.clone(),
        hostname: service.hostname.clone(),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: healthcheck(service),
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service.stop_grace_period.map(|d| d.as_secs() as i64),
        host_config: Some(host_config(project, service, bindings)),
        networking_config: first_network(project, service),
        ..Default::default()
    }
}

/// Labels that let `ps`/`down`/a second `up` find and judge this container.
pub fn container_labels(
    project: &Project,
    service: &Service,
    replica: u32,
    extra_labels: &IndexMap<String, String>,
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = service.labels.clone().into_iter().collect();
    let config_files = project
        .compose_files
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let ours = [
        (labels::PROJECT, project.name.clone()),
        (labels::SERVICE, service.name.clone()),
        (labels::REPLICA, replica.to_string()),
        (labels::CONFIG_HASH, config_hash(service)),
        (labels::ONEOFF, "False".to_string()),
        (
            labels::WORKING_DIR,
            project.working_dir.display().to_string(),
        ),
        (labels::CONFIG_FILES, config_files),
        (labels::MANAGED_BY, labels::MANAGED_BY_VALUE.to_string()),
    ];
    out.extend(ours.into_iter().map(|(k, v)| (k.to_string(), v)));
    out.extend(extra_labels.clone());
    out
}

/// Exposed ports (`80/tcp`) and host bindings. Entries of `ports` without a
/// published port are only exposed, like `expose`.
fn port_config(service: &Service) -> (Vec<String>, PortMap) {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: PortMap = HashMap::new();
    for port in &service.ports {
        let key = format!("{}/{}", port.target, port.protocol.as_str());
        push_unique(&mut exposed, key.clone());
        if let Some(published) = port.published {
            let binding = PortBinding {
                host_ip: port.host_ip.clone(),
                host_port: Some(published.to_string()),
            };
            bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(binding);
        }
    }
    for entry in &service.expose {
        for key in expose_keys(entry) {
            push_unique(&mut exposed, key);
        }
    }
    (exposed, bindings)
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `3000`, `3000/udp`, `3000-3002` → engine port keys. Invalid entries were
/// already reported by validation, so they are skipped here.
fn expose_keys(entry: &str) -> Vec<String> {
    let (range, protocol) = entry.rsplit_once('/').unwrap_or((entry, "tcp"));
    match ports::parse_range(range, "exposed port") {
        Ok((start, end)) => (start..=end).map(|p| format!("{p}/{protocol}")).collect(),
        Err(_) => Vec::new(),
    }
}

fn healthcheck(service: &Service) -> Option<HealthConfig> {
    let check = service.healthcheck.as_ref()?;
    if check.disable {
        return Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    Some(HealthConfig {
        test: (!check.test.is_empty()).then(|| check.test.clone()),
        interval: check.interval.map(nanos),
        timeout: check.timeout.map(nanos),
        retries: check.retries.map(i64::from),
        start_period: check.start_period.map(nanos),
        start_interval: None,
    })
}

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

fn host_config(project: &Project, service: &Service, bindings: PortMap) -> HostConfig {
    let limits = &service.resources.limits;
    let mut tmpfs = HashMap::new();
    let mut mounts: Vec<EngineMount> = service
        .volumes
        .iter()
        .map(|mount| engine_mount(project, mount))
        .collect();
    for entry in &service.tmpfs {
        match tmpfs_mount(entry) {
            Some(mount) => mounts.push(mount),
            None => {
                let (path, options) = entry.split_once(':').unwrap_or((entry, ""));
                tmpfs.insert(path.to_string(), options.to_string());
            }
        }
    }
    HostConfig {
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        restart_policy: service.restart.as_ref().map(restart_policy),
        init: service.init,
        readonly_rootfs: service.read_only.then_some(true),
        cap_add: non_empty(&service.cap_add),
        cap_drop: non_empty(&service.cap_drop),
        security_opt: non_empty(&service.security_opt),
        extra_hosts: non_empty(&service.extra_hosts),
        ulimits: ulimits(service),
        log_config: service.logging.as_ref().map(|logging| HostConfigLogConfig {
            typ: logging.driver.clone(),
            config: (!logging.options.is_empty())
                .then(|| logging.options.clone().into_iter().collect()),
        }),
        memory: limits.memory.map(clamp_i64),
        memory_reservation: service.resources.reservations.memory.map(clamp_i64),
        // NanoCpus only: the daemon rejects it together with CpuQuota.
        nano_cpus: limits.cpus.map(|cpus| (cpus * 1e9).round() as i64),
        cpu_shares: service.resources.cpu_shares.map(clamp_i64),
        pids_limit: limits.pids,
        network_mode: network_mode(project, service),
        volumes_from: non_empty(&volumes_from(project, service)),
        ..Default::default()
    }
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn non_empty(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

fn restart_policy(policy: &RestartPolicy) -> EngineRestart {
    let (name, retries) = match policy {
        RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
        RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
        RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
        RestartPolicy::OnFailure(max) => (RestartPolicyNameEnum::ON_FAILURE, *max),
    };
    EngineRestart {
        name: Some(name),
        maximum_retry_count: retries.map(i64::from),
    }
}

fn ulimits(service: &Service) -> Option<Vec<ResourcesUlimits>> {
    let list: Vec<_> = service
        .ulimits
        .iter()
        .map(|(name, limit)| ResourcesUlimits {
            name: Some(name.clone()),
            soft: Some(limit.soft),
            hard: Some(limit.hard),
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

/// Named volumes use their engine-side name (`<project>_<key>` or `name:`);
/// anonymous volumes have no source; binds are already absolute.
fn engine_mount(project: &Project, mount: &Mount) -> EngineMount {
    let (typ, source) = match mount.kind {
        MountType::Volume => (
            EngineMountType::VOLUME,
            mount.source.as_ref().map(|key| {
                project
                    .volumes
                    .get(key)
                    .map(|volume| volume.name.clone())
                    .unwrap_or_else(|| key.clone())
            }),
        ),
        MountType::Bind => (EngineMountType::BIND, mount.source.clone()),
        MountType::Tmpfs => (EngineMountType::TMPFS, None),
    };
    EngineMount {
        target: Some(mount.target.clone()),
        source,
        typ: Some(typ),
        read_only: mount.read_only.then_some(true),
        ..Default::default()
    }
}

/// `/run:size=64m,mode=1777` → a tmpfs mount. Returns `None` when the entry
/// has options a mount cannot carry on API 1.41 (e.g. `noexec`); those go to
/// `HostConfig.Tmpfs`, which passes options through verbatim.
pub fn tmpfs_mount(entry: &str) -> Option<EngineMount> {
    let (path, options) = entry.split_once(':').unwrap_or((entry, ""));
    let mut tmpfs = MountTmpfsOptions::default();
    for option in options.split(',').filter(|o| !o.is_empty()) {
        match option.split_once('=') {
            Some(("size", size)) => {
                tmpfs.size_bytes = Some(clamp_i64(units::parse_size(size).ok()?))
            }
            Some(("mode", mode)) => tmpfs.mode = Some(i64::from_str_radix(mode, 8).ok()?),
            _ => return None,
        }
    }
    Some(EngineMount {
        target: Some(path.to_string()),
        typ: Some(EngineMountType::TMPFS),
        tmpfs_options: (tmpfs != MountTmpfsOptions::default()).then_some(tmpfs),
        ..Default::default()
    })
}

/// `service:x` → `container:<x replica 1>`; other modes pass through.
fn network_mode(project: &Project, service: &Service) -> Option<String> {
    let mode = service.network_mode.as_ref()?;
    Some(match mode.strip_prefix("service:") {
        Some(other) => format!("container:{}", replica_one(project, other)),
        None => mode.clone(),
    })
}

/// `service[:ro]` entries name services; `container:name[:ro]` pass through.
fn volumes_from(project: &Project, service: &Service) -> Vec<String> {
    service
        .volumes_from
        .iter()
        .map(|entry| match entry.strip_prefix("container:") {
            Some(rest) => rest.to_string(),
            None => {
                let (name, mode) = match entry.split_once(':') {
                    Some((name, mode)) => (name, format!(":{mode}")),
                    None => (entry.as_str(), String::new()),
                };
                format!("{}{mode}", replica_one(project, name))
            }
        })
        .collect()
}

fn replica_one(project: &Project, service_name: &str) -> String {
    match project.services.get(service_name) {
        Some(other) => container_name(&project.name, other, 1),
        None => format!("{}-{service_name}-1", project.name),
    }
}

/// Endpoint settings for one network: the service name is always an alias,
/// so other services reach any replica by it.
fn endpoint(service: &Service, key: &str) -> (Vec<String>, Option<EndpointIpamConfig>) {
    let declared = service.networks.get(key);
    let mut aliases = vec![service.name.clone()];
    for alias in declared.map(|n| n.aliases.as_slice()).unwrap_or_default() {
        push_unique(&mut aliases, alias.clone());
    }
    let ipam = declared
        .and_then(|n| n.ipv4_address.clone())
        .map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip),
            ..Default::default()
        });
    (aliases, ipam)
}

fn network_engine_name(project: &Project, key: &str) -> String {
    project
        .networks
        .get(key)
        .map(|network| network.name.clone())
        .unwrap_or_else(|| format!("{}_{key}", project.name))
}

/// Only the FIRST network goes into the create body: daemon 20.10 accepts
/// one endpoint at create. The others come from [`extra_networks`].
fn first_network(project: &Project, service: &Service) -> Option<NetworkingConfig> {
    if service.network_mode.is_some() {
        return None;
    }
    let key = service.networks.keys().next()?;
    let (aliases, ipam_config) = endpoint(service, key);
    let settings = EndpointSettings {
        aliases: Some(aliases),
        ipam_config,
        ..Default::default()
    };
    Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network_engine_name(project, key),
            settings,
        )])),
    })
}

/// Networks to connect after create, as (engine-side name, aliases), in the
/// order the service declares them.
pub fn extra_networks(project: &Project, service: &Service) -> Vec<(String, Vec<String>)> {
    if service.network_mode.is_some() {
        return Vec::new();
    }
    service
        .networks
        .keys()
        .skip(1)
        .map(|key| (network_engine_name(project, key), endpoint(service, key).0))
        .collect()
}

#[cfg(test)]
mod tests;
