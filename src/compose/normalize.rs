//! Stage 4: turn the merged, interpolated YAML into the typed model.
//!
//! Each compose key has one small function; type errors and unknown keys are
//! recorded (with their path) and the rest of the file is still read, so one
//! run reports every problem.

use super::diag::{child, index, Diagnostics};
use super::dotenv;
use super::model::*;
use super::ports;
use super::reader::{extensions, Reader};
use super::units::{parse_cpus, parse_duration, parse_size};
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TOP_LEVEL_KEYS: &[&str] = &["version", "name", "services", "networks", "volumes"];
const TOP_LEVEL_IGNORED: &[&str] = &["secrets", "configs", "include"];

const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "volumes_from",
    "networks",
    "network_mode",
    "depends_on",
    "links",
    "healthcheck",
    "restart",
    "labels",
    "container_name",
    "hostname",
    "user",
    "working_dir",
    "stop_signal",
    "stop_grace_period",
    "init",
    "read_only",
    "tmpfs",
    "cap_add",
    "cap_drop",
    "security_opt",
    "ulimits",
    "profiles",
    "extra_hosts",
    "logging",
    "deploy",
    "resources",
    "mem_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "pids_limit",
    "scale",
];

/// Valid compose keys that stackctl does not apply (yet): warned about, not refused.
const SERVICE_IGNORED: &[&str] = &[
    "platform",
    "privileged",
    "pull_policy",
    "dns",
    "dns_search",
    "dns_opt",
    "domainname",
    "sysctls",
    "shm_size",
    "devices",
    "pid",
    "ipc",
    "stdin_open",
    "tty",
    "secrets",
    "configs",
    "develop",
    "mac_address",
    "runtime",
    "userns_mode",
    "group_add",
    "oom_score_adj",
    "oom_kill_disable",
    "memswap_limit",
    "mem_swappiness",
    "cpu_quota",
    "cpu_period",
    "cpuset",
    "cgroup_parent",
    "storage_opt",
    "annotations",
    "attach",
    "external_links",
    "isolation",
    "cpu_count",
    "cpu_percent",
    "blkio_config",
    "device_cgroup_rules",
    "credential_spec",
    "gpus",
    "post_start",
    "pre_stop",
];

/// Everything normalization needs to know besides the YAML itself.
pub struct Context<'a> {
    pub project_name: &'a str,
    pub working_dir: &'a Path,
}

/// Normalize a merged compose document into a `Project`. Services are all
/// returned in `services`; the loader moves profile-disabled ones aside.
pub fn normalize(root: &Mapping, ctx: &Context, diags: &mut Diagnostics) -> Project {
    let mut reader = Reader::new(diags);
    reader.check_keys(root, "", TOP_LEVEL_KEYS, TOP_LEVEL_IGNORED);
    if root.contains_key("version") {
        reader.warning(
            "version",
            "the top-level `version` is obsolete and is ignored",
        );
    }
    let mut project = Project {
        name: ctx.project_name.to_string(),
        working_dir: ctx.working_dir.to_path_buf(),
        compose_files: Vec::new(),
        services: BTreeMap::new(),
        disabled_services: BTreeMap::new(),
        networks: BTreeMap::new(),
        volumes: BTreeMap::new(),
        extensions: extensions(root),
    };
    if let Some(value) = root.get("networks") {
        project.networks = normalize_networks(&mut reader, value, ctx);
    }
    if let Some(value) = root.get("volumes") {
        project.volumes = normalize_volumes(&mut reader, value, ctx);
    }
    match root.get("services") {
        None | Some(Value::Null) => reader.error(
            "services",
            "no services defined: expected a `services` mapping with at least one service",
        ),
        Some(value) => {
            if let Some(map) = reader.mapping(value, "services") {
                if map.is_empty() {
                    reader.error(
                        "services",
                        "no services defined: expected at least one service",
                    );
                }
                for (name, service) in reader.entries(map, "services") {
                    let path = child("services", &name);
                    let service = normalize_service(&mut reader, &name, service, &path, ctx);
                    project.services.insert(name, service);
                }
            }
        }
    }
    add_default_network(&mut project, ctx);
    project
}

/// Services that name no network join the project's `default` network, as
/// with docker compose.
fn add_default_network(project: &mut Project, ctx: &Context) {
    let mut needs_default = false;
    for service in project.services.values_mut() {
        if service.networks.is_empty() && service.network_mode.is_none() {
            service
                .networks
                .insert("default".to_string(), ServiceNetwork::default());
            needs_default = true;
        }
        if service.networks.contains_key("default") {
            needs_default = true;
        }
    }
    if needs_default && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".to_string(),
            Network {
                name: format!("{}_default", ctx.project_name),
                driver: "bridge".to_string(),
                ..Default::default()
            },
        );
    }
}

fn normalize_service(
    reader: &mut Reader,
    name: &str,
    value: &Value,
    path: &str,
    ctx: &Context,
) -> Service {
    let mut service = Service {
        name: name.to_string(),
        replicas: 1,
        ..Default::default()
    };
    let map = match value {
        Value::Null => {
            reader.error(path, "the service is empty: expected `image` or `build`");
            return service;
        }
        other => match reader.mapping(other, path) {
            Some(map) => map,
            None => return service,
        },
    };
    reader.check_keys(map, path, SERVICE_KEYS, SERVICE_IGNORED);
    service.extensions = extensions(map);
    for (key, value) in reader.entries(map, path) {
        let field = child(path, &key);
        apply_service_key(reader, &mut service, &key, value, &field, ctx);
    }
    service.resources = resources::normalize(reader, map, path);
    service.replicas = replicas(reader, map, path);
    merge_env_files(reader, &mut service, map, path, ctx);
    service
}

/// Apply one service key. Resources, replicas and env_file are handled
/// separately because several keys feed each of them.
fn apply_service_key(
    reader: &mut Reader,
    service: &mut Service,
    key: &str,
    value: &Value,
    path: &str,
    ctx: &Context,
) {
    match key {
        "image" => service.image = reader.string(value, path),
        "build" => service.build = build(reader, value, path, ctx),
        "command" => service.command = command(reader, value, path),
        "entrypoint" => service.entrypoint = command(reader, value, path),
        "environment" => service.environment = environment(reader, value, path),
        "ports" => service.ports = port_list(reader, value, path),
        "expose" => service.expose = expose(reader, value, path),
        "volumes" => service.volumes = mounts(reader, value, path, ctx),
        "volumes_from" => service.volumes_from = reader.string_list(value, path, false),
        "networks" => service.networks = service_networks(reader, value, path),
        "network_mode" => service.network_mode = reader.string(value, path),
        "depends_on" => service.depends_on = depends_on(reader, value, path),
        "links" => service.links = reader.string_list(value, path, false),
        "healthcheck" => service.healthcheck = healthcheck(reader, value, path),
        "restart" => service.restart = restart(reader, value, path),
        "labels" => service.labels = labels(reader, value, path),
        "container_name" => service.container_name = reader.string(value, path),
        "hostname" => service.hostname = reader.string(value, path),
        "user" => service.user = reader.scalar(value, path),
        "working_dir" => service.working_dir = reader.string(value, path),
        "stop_signal" => service.stop_signal = reader.scalar(value, path),
        "stop_grace_period" => service.stop_grace_period = duration(reader, value, path),
        "init" => service.init = reader.boolean(value, path),
        "read_only" => service.read_only = reader.boolean(value, path).unwrap_or(false),
        "tmpfs" => service.tmpfs = reader.string_list(value, path, true),
        "cap_add" => service.cap_add = reader.string_list(value, path, false),
        "cap_drop" => service.cap_drop = reader.string_list(value, path, false),
        "security_opt" => service.security_opt = reader.string_list(value, path, false),
        "ulimits" => service.ulimits = ulimits(reader, value, path),
        "profiles" => service.profiles = reader.string_list(value, path, false),
        "extra_hosts" => service.extra_hosts = extra_hosts(reader, value, path),
        "logging" => service.logging = logging(reader, value, path),
        _ => {}
    }
}

fn duration(reader: &mut Reader, value: &Value, path: &str) -> Option<std::time::Duration> {
    let text = reader.scalar(value, path)?;
    match parse_duration(&text) {
        Ok(duration) => Some(duration),
        Err(message) => {
            reader.error(path, message);
            None
        }
    }
}

fn resolve_path(working_dir: &Path, text: &str) -> PathBuf {
    let expanded = match text.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(rest))
            .unwrap_or_else(|| PathBuf::from(text)),
        None => PathBuf::from(text),
    };
    let joined = if expanded.is_absolute() {
        expanded
    } else {
        working_dir.join(expanded)
    };
    clean_path(&joined)
}

/// Remove `.` and resolve `..` lexically, so paths print as a person expects.
fn clean_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn build(reader: &mut Reader, value: &Value, path: &str, ctx: &Context) -> Option<Build> {
    if let Value::String(context) = value {
        return Some(Build {
            context: resolve_path(ctx.working_dir, context),
            ..Default::default()
        });
    }
    let map = reader.mapping(value, path)?;
    reader.check_keys(
        map,
        path,
        &["context", "dockerfile", "args", "target"],
        &[
            "cache_from",
            "cache_to",
            "labels",
            "network",
            "shm_size",
            "extra_hosts",
            "platforms",
            "secrets",
            "ssh",
            "tags",
            "pull",
            "no_cache",
            "isolation",
            "additional_contexts",
            "dockerfile_inline",
            "privileged",
        ],
    );
    let context = match map.get("context") {
        Some(value) => reader.string(value, &child(path, "context"))?,
        None => ".".to_string(),
    };
    Some(Build {
        context: resolve_path(ctx.working_dir, &context),
        dockerfile: map
            .get("dockerfile")
            .and_then(|v| reader.string(v, &child(path, "dockerfile"))),
        args: map
            .get("args")
            .map(|v| reader.key_values(v, &child(path, "args"), true))
            .unwrap_or_default(),
        target: map
            .get("target")
            .and_then(|v| reader.string(v, &child(path, "target"))),
    })
}

/// A command as a string (split like a shell would) or a list.
fn command(reader: &mut Reader, value: &Value, path: &str) -> Option<Vec<String>> {
    match value {
        Value::Null => None,
        Value::String(text) => match shell_words::split(text) {
            Ok(words) => Some(words),
            Err(err) => {
                reader.error(
                    path,
                    format!("cannot split the command like a shell: {err}"),
                );
                None
            }
        },
        Value::Sequence(_) => Some(reader.string_list(value, path, false)),
        other => {
            reader.error(
                path,
                format!(
                    "expected a string or a list of strings, got {}",
                    super::parse::describe(other)
                ),
            );
            None
        }
    }
}

fn environment(reader: &mut Reader, value: &Value, path: &str) -> IndexMap<String, Option<String>> {
    let env = reader.key_values(value, path, true);
    for key in env.keys() {
        if key.is_empty() || key.contains(char::is_whitespace) {
            reader.error(path, format!("invalid environment variable name `{key}`"));
        }
    }
    env
}

fn labels(reader: &mut Reader, value: &Value, path: &str) -> IndexMap<String, String> {
    reader
        .key_values(value, path, true)
        .into_iter()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect()
}

/// env_file contents go under `environment`, which wins on conflicts.
fn merge_env_files(
    reader: &mut Reader,
    service: &mut Service,
    map: &Mapping,
    path: &str,
    ctx: &Context,
) {
    let Some(value) = map.get("env_file") else {
        return;
    };
    let field = child(path, "env_file");
    let mut merged: IndexMap<String, Option<String>> = IndexMap::new();
    for (i, (file, required)) in env_file_entries(reader, value, &field)
        .into_iter()
        .enumerate()
    {
        let item_path = index(&field, i);
        let file = resolve_path(ctx.working_dir, &file.to_string_lossy());
        service.env_file.push(file.clone());
        match std::fs::read_to_string(&file) {
            Ok(text) => match dotenv::parse_env_file_entries(&text) {
                Ok(entries) => {
                    for (key, value) in entries {
                        let value = value.or_else(|| std::env::var(&key).ok());
                        merged.insert(key, value);
                    }
                }
                Err(err) => reader.error(
                    &item_path,
                    format!("{}:{}: {}", file.display(), err.line, err.message),
                ),
            },
            Err(_) if !required => {}
            Err(err) => reader.error(
                &item_path,
                format!("env_file `{}` cannot be read: {err}", file.display()),
            ),
        }
    }
    for (key, value) in std::mem::take(&mut service.environment) {
        merged.insert(key, value);
    }
    service.environment = merged;
}

/// `env_file` as a string, a list of strings, or a list of `{path, required}`
/// (paths as written; the caller resolves them against the project directory).
fn env_file_entries(reader: &mut Reader, value: &Value, path: &str) -> Vec<(PathBuf, bool)> {
    let items: Vec<Value> = match value {
        Value::String(_) => vec![value.clone()],
        Value::Sequence(items) => items.clone(),
        other => {
            reader.error(
                path,
                format!(
                    "expected a path or a list of paths, got {}",
                    super::parse::describe(other)
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        match item {
            Value::String(text) => out.push((PathBuf::from(text), true)),
            Value::Mapping(map) => {
                reader.check_keys(map, &item_path, &["path", "required", "format"], &[]);
                let Some(file) = map
                    .get("path")
                    .and_then(|v| reader.string(v, &child(&item_path, "path")))
                else {
                    reader.error(&item_path, "expected a `path`");
                    continue;
                };
                let required = map
                    .get("required")
                    .and_then(|v| reader.boolean(v, &child(&item_path, "required")))
                    .unwrap_or(true);
                out.push((PathBuf::from(file), required));
            }
            other => reader.error(
                &item_path,
                format!(
                    "expected a path or `{{path, required}}`, got {}",
                    super::parse::describe(other)
                ),
            ),
        }
    }
    out
}

fn port_list(reader: &mut Reader, value: &Value, path: &str) -> Vec<PortMapping> {
    let Value::Sequence(items) = value else {
        reader.error(path, "expected a list of ports");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        let parsed = match item {
            Value::Mapping(map) => long_port(reader, map, &item_path),
            other => match reader.scalar(other, &item_path) {
                Some(text) => ports::parse_short(&text),
                None => continue,
            },
        };
        match parsed {
            Ok(mappings) => out.extend(mappings),
            Err(message) => reader.error(&item_path, message),
        }
    }
    out
}

fn long_port(reader: &mut Reader, map: &Mapping, path: &str) -> Result<Vec<PortMapping>, String> {
    reader.check_keys(
        map,
        path,
        &[
            "target",
            "published",
            "host_ip",
            "protocol",
            "mode",
            "name",
            "app_protocol",
        ],
        &[],
    );
    let target = map
        .get("target")
        .and_then(|v| reader.scalar(v, &child(path, "target")))
        .ok_or("expected a `target` container port")?;
    let target = ports::parse_range(&target, "container port")?;
    let published = match map.get("published") {
        Some(v) => match reader.scalar(v, &child(path, "published")) {
            Some(text) if !text.is_empty() => Some(ports::parse_range(&text, "host port")?),
            _ => None,
        },
        None => None,
    };
    let protocol = match map.get("protocol") {
        Some(v) => ports::parse_protocol(
            &reader
                .string(v, &child(path, "protocol"))
                .unwrap_or_default(),
        )?,
        None => Protocol::Tcp,
    };
    let host_ip = map
        .get("host_ip")
        .and_then(|v| reader.string(v, &child(path, "host_ip")));
    let mut spec = String::new();
    if let Some((start, end)) = published {
        spec = if start == end {
            format!("{start}:")
        } else {
            format!("{start}-{end}:")
        };
    }
    spec.push_str(&if target.0 == target.1 {
        target.0.to_string()
    } else {
        format!("{}-{}", target.0, target.1)
    });
    let mut mappings = ports::parse_short(&spec)?;
    for mapping in &mut mappings {
        mapping.protocol = protocol;
        mapping.host_ip = host_ip.clone();
    }
    Ok(mappings)
}

fn expose(reader: &mut Reader, value: &Value, path: &str) -> Vec<String> {
    let items = reader.string_list(value, path, false);
    for (i, item) in items.iter().enumerate() {
        let (ports_part, protocol) = match item.rsplit_once('/') {
            Some((ports_part, protocol)) => (ports_part, Some(protocol)),
            None => (item.as_str(), None),
        };
        let checked = ports::parse_range(ports_part, "exposed port")
            .and_then(|_| protocol.map(ports::parse_protocol).transpose().map(|_| ()));
        if let Err(message) = checked {
            reader.error(&index(path, i), message);
        }
    }
    items
}

fn mounts(reader: &mut Reader, value: &Value, path: &str, ctx: &Context) -> Vec<Mount> {
    let Value::Sequence(items) = value else {
        reader.error(path, "expected a list of volumes");
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let item_path = index(path, i);
            match item {
                Value::Mapping(map) => long_mount(reader, map, &item_path, ctx),
                other => {
                    let text = reader.string(other, &item_path)?;
                    short_mount(reader, &text, &item_path, ctx)
                }
            }
        })
        .collect()
}

/// `SOURCE:TARGET[:MODE]` or just `TARGET` (an anonymous volume). Sources
/// that look like paths are binds, resolved against the project directory.
fn short_mount(reader: &mut Reader, text: &str, path: &str, ctx: &Context) -> Option<Mount> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => {
            reader.error(
                path,
                format!("invalid volume `{text}`: expected `SOURCE:TARGET[:MODE]`"),
            );
            return None;
        }
    };
    if !target.starts_with('/') {
        reader.error(
            path,
            format!("invalid volume `{text}`: the container path `{target}` must be absolute"),
        );
        return None;
    }
    let mut read_only = false;
    for option in mode.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" => read_only = true,
            "rw" | "z" | "Z" | "nocopy" | "cached" | "delegated" | "consistent" | "shared"
            | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {}
            other => reader.error(
                path,
                format!("unknown volume option `{other}`: expected ro, rw, z, Z or nocopy"),
            ),
        }
    }
    let (kind, source) = match source {
        None => (MountType::Volume, None),
        Some(source) if looks_like_path(source) => (
            MountType::Bind,
            Some(resolve_path(ctx.working_dir, source).display().to_string()),
        ),
        Some(source) => (MountType::Volume, Some(source.to_string())),
    };
    Some(Mount {
        kind,
        source,
        target: target.to_string(),
        read_only,
    })
}

fn looks_like_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

fn long_mount(reader: &mut Reader, map: &Mapping, path: &str, ctx: &Context) -> Option<Mount> {
    reader.check_keys(
        map,
        path,
        &[
            "type",
            "source",
            "target",
            "read_only",
            "volume",
            "bind",
            "tmpfs",
            "consistency",
        ],
        &[],
    );
    let kind = match map.get("type") {
        None => MountType::Volume,
        Some(value) => match reader.string(value, &child(path, "type"))?.as_str() {
            "volume" => MountType::Volume,
            "bind" => MountType::Bind,
            "tmpfs" => MountType::Tmpfs,
            other => {
                reader.error(
                    &child(path, "type"),
                    format!("unknown mount type `{other}`: expected volume, bind or tmpfs"),
                );
                return None;
            }
        },
    };
    let Some(target) = map
        .get("target")
        .and_then(|v| reader.string(v, &child(path, "target")))
    else {
        reader.error(path, "expected a `target` path in the container");
        return None;
    };
    let source = map
        .get("source")
        .and_then(|v| reader.string(v, &child(path, "source")));
    let source = match (kind, source) {
        (MountType::Bind, None) => {
            reader.error(path, "a bind mount needs a `source` path on the host");
            return None;
        }
        (MountType::Bind, Some(source)) => {
            Some(resolve_path(ctx.working_dir, &source).display().to_string())
        }
        (MountType::Tmpfs, _) => None,
        (MountType::Volume, source) => source,
    };
    let read_only = map
        .get("read_only")
        .and_then(|v| reader.boolean(v, &child(path, "read_only")))
        .unwrap_or(false);
    Some(Mount {
        kind,
        source,
        target,
        read_only,
    })
}

fn service_networks(
    reader: &mut Reader,
    value: &Value,
    path: &str,
) -> IndexMap<String, ServiceNetwork> {
    let mut out = IndexMap::new();
    match value {
        Value::Sequence(_) => {
            for name in reader.string_list(value, path, false) {
                out.insert(name, ServiceNetwork::default());
            }
        }
        Value::Mapping(map) => {
            for (name, config) in reader.entries(map, path) {
                let net_path = child(path, &name);
                let network = match config {
                    Value::Null => ServiceNetwork::default(),
                    other => match reader.mapping(other, &net_path) {
                        Some(config) => service_network(reader, config, &net_path),
                        None => continue,
                    },
                };
                out.insert(name, network);
            }
        }
        other => reader.error(
            path,
            format!(
                "expected a list of network names or a mapping, got {}",
                super::parse::describe(other)
            ),
        ),
    }
    out
}

fn service_network(reader: &mut Reader, config: &Mapping, path: &str) -> ServiceNetwork {
    reader.check_keys(
        config,
        path,
        &["aliases", "ipv4_address"],
        &[
            "ipv6_address",
            "priority",
            "link_local_ips",
            "mac_address",
            "driver_opts",
            "gw_priority",
        ],
    );
    ServiceNetwork {
        aliases: config
            .get("aliases")
            .map(|v| reader.string_list(v, &child(path, "aliases"), false))
            .unwrap_or_default(),
        ipv4_address: config
            .get("ipv4_address")
            .and_then(|v| reader.string(v, &child(path, "ipv4_address"))),
    }
}

fn depends_on(reader: &mut Reader, value: &Value, path: &str) -> IndexMap<String, Dependency> {
    let mut out = IndexMap::new();
    match value {
        Value::Sequence(_) => {
            for name in reader.string_list(value, path, false) {
                out.insert(name, Dependency::default());
            }
        }
        Value::Mapping(map) => {
            for (name, config) in reader.entries(map, path) {
                let dep_path = child(path, &name);
                let dependency = match config {
                    Value::Null => Dependency::default(),
                    other => match reader.mapping(other, &dep_path) {
                        Some(config) => dependency(reader, config, &dep_path),
                        None => continue,
                    },
                };
                out.insert(name, dependency);
            }
        }
        other => reader.error(
            path,
            format!(
                "expected a list of service names or a mapping, got {}",
                super::parse::describe(other)
            ),
        ),
    }
    out
}

fn dependency(reader: &mut Reader, config: &Mapping, path: &str) -> Dependency {
    reader.check_keys(config, path, &["condition", "restart", "required"], &[]);
    let mut dependency = Dependency::default();
    if let Some(value) = config.get("condition") {
        let cond_path = child(path, "condition");
        if let Some(text) = reader.string(value, &cond_path) {
            dependency.condition = match text.as_str() {
                "service_started" => DependencyCondition::ServiceStarted,
                "service_healthy" => DependencyCondition::ServiceHealthy,
                "service_completed_successfully" => {
                    DependencyCondition::ServiceCompletedSuccessfully
                }
                other => {
                    reader.error(
                        &cond_path,
                        format!(
                            "unknown condition `{other}`: expected service_started, service_healthy or service_completed_successfully"
                        ),
                    );
                    DependencyCondition::ServiceStarted
                }
            };
        }
    }
    if let Some(value) = config.get("restart") {
        dependency.restart = reader
            .boolean(value, &child(path, "restart"))
            .unwrap_or(false);
    }
    if let Some(value) = config.get("required") {
        dependency.required = reader
            .boolean(value, &child(path, "required"))
            .unwrap_or(true);
    }
    dependency
}

fn healthcheck(reader: &mut Reader, value: &Value, path: &str) -> Option<Healthcheck> {
    let map = reader.mapping(value, path)?;
    reader.check_keys(
        map,
        path,
        &[
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "disable",
        ],
        &["start_interval"],
    );
    let mut check = Healthcheck::default();
    if let Some(value) = map.get("test") {
        check.test = health_test(reader, value, &child(path, "test"));
    }
    let field = |key: &str| child(path, key);
    check.interval = map
        .get("interval")
        .and_then(|v| duration(reader, v, &field("interval")));
    check.timeout = map
        .get("timeout")
        .and_then(|v| duration(reader, v, &field("timeout")));
    check.start_period = map
        .get("start_period")
        .and_then(|v| duration(reader, v, &field("start_period")));
    check.retries = map
        .get("retries")
        .and_then(|v| reader.unsigned(v, &field("retries")))
        .map(|n| n.min(u32::MAX as u64) as u32);
    check.disable = map
        .get("disable")
        .and_then(|v| reader.boolean(v, &field("disable")))
        .unwrap_or(false);
    if check.test.first().map(String::as_str) == Some("NONE") {
        check.disable = true;
    }
    Some(check)
}

/// A string test runs through the shell; a list must start with CMD,
/// CMD-SHELL or NONE, as the engine requires.
fn health_test(reader: &mut Reader, value: &Value, path: &str) -> Vec<String> {
    match value {
        Value::String(text) => vec!["CMD-SHELL".to_string(), text.clone()],
        Value::Sequence(_) => {
            let test = reader.string_list(value, path, false);
            match test.first().map(String::as_str) {
                Some("CMD") | Some("CMD-SHELL") if test.len() > 1 => test,
                Some("NONE") => test,
                Some("CMD") | Some("CMD-SHELL") => {
                    reader.error(path, "expected a command after CMD / CMD-SHELL");
                    Vec::new()
                }
                _ => {
                    reader.error(
                        path,
                        "expected the list to start with \"CMD\", \"CMD-SHELL\" or \"NONE\"",
                    );
                    Vec::new()
                }
            }
        }
        other => {
            reader.error(
                path,
                format!(
                    "expected a string or a list, got {}",
                    super::parse::describe(other)
                ),
            );
            Vec::new()
        }
    }
}

fn restart(reader: &mut Reader, value: &Value, path: &str) -> Option<RestartPolicy> {
    // YAML 1.1 readers turn a bare `no` into false; accept that spelling too.
    if let Value::Bool(false) = value {
        return Some(RestartPolicy::No);
    }
    let text = reader.string(value, path)?;
    let policy = match text.as_str() {
        "no" => RestartPolicy::No,
        "always" => RestartPolicy::Always,
        "unless-stopped" => RestartPolicy::UnlessStopped,
        "on-failure" => RestartPolicy::OnFailure(None),
        other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
            Some(Ok(count)) => RestartPolicy::OnFailure(Some(count)),
            _ => {
                reader.error(
                    path,
                    format!(
                        "unknown restart policy `{other}`: expected no, always, unless-stopped, on-failure or on-failure:N"
                    ),
                );
                return None;
            }
        },
    };
    Some(policy)
}

fn ulimits(reader: &mut Reader, value: &Value, path: &str) -> IndexMap<String, Ulimit> {
    let mut out = IndexMap::new();
    let Some(map) = reader.mapping(value, path) else {
        return out;
    };
    for (name, limit) in reader.entries(map, path) {
        let limit_path = child(path, &name);
        let parsed = match limit {
            Value::Mapping(bounds) => {
                reader.check_keys(bounds, &limit_path, &["soft", "hard"], &[]);
                let soft = bounds
                    .get("soft")
                    .and_then(|v| reader.integer(v, &child(&limit_path, "soft")));
                let hard = bounds
                    .get("hard")
                    .and_then(|v| reader.integer(v, &child(&limit_path, "hard")));
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Some(Ulimit { soft, hard }),
                    _ => {
                        reader.error(&limit_path, "expected both `soft` and `hard`");
                        None
                    }
                }
            }
            other => reader
                .integer(other, &limit_path)
                .map(|n| Ulimit { soft: n, hard: n }),
        };
        if let Some(parsed) = parsed {
            if parsed.soft > parsed.hard {
                reader.error(&limit_path, "the soft limit is above the hard limit");
            }
            out.insert(name, parsed);
        }
    }
    out
}

fn extra_hosts(reader: &mut Reader, value: &Value, path: &str) -> Vec<String> {
    match value {
        Value::Mapping(map) => reader
            .entries(map, path)
            .into_iter()
            .filter_map(|(host, ip)| {
                let ip = reader.scalar(ip, &child(path, &host))?;
                Some(format!("{host}:{ip}"))
            })
            .collect(),
        _ => {
            let hosts = reader.string_list(value, path, false);
            for (i, host) in hosts.iter().enumerate() {
                if !host.contains(['=', ':']) {
                    reader.error(
                        &index(path, i),
                        format!("invalid extra host `{host}`: expected `HOST:IP` or `HOST=IP`"),
                    );
                }
            }
            hosts
                .into_iter()
                .map(|host| match host.split_once('=') {
                    Some((name, ip)) => format!("{name}:{ip}"),
                    None => host,
                })
                .collect()
        }
    }
}

fn logging(reader: &mut Reader, value: &Value, path: &str) -> Option<Logging> {
    let map = reader.mapping(value, path)?;
    reader.check_keys(map, path, &["driver", "options"], &[]);
    Some(Logging {
        driver: map
            .get("driver")
            .and_then(|v| reader.string(v, &child(path, "driver"))),
        options: map
            .get("options")
            .map(|v| labels(reader, v, &child(path, "options")))
            .unwrap_or_default(),
    })
}

/// `deploy.replicas` and the older `scale`; two different values are an error.
fn replicas(reader: &mut Reader, map: &Mapping, path: &str) -> u32 {
    let deploy_path = child(&child(path, "deploy"), "replicas");
    let from_deploy = map
        .get("deploy")
        .and_then(Value::as_mapping)
        .and_then(|deploy| deploy.get("replicas"))
        .and_then(|v| reader.unsigned(v, &deploy_path));
    let scale_path = child(path, "scale");
    let from_scale = map
        .get("scale")
        .and_then(|v| reader.unsigned(v, &scale_path));
    let count = match (from_deploy, from_scale) {
        (Some(a), Some(b)) if a != b => {
            reader.error(
                &scale_path,
                format!("`scale: {b}` contradicts `deploy.replicas: {a}`: give one of them"),
            );
            a
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => 1,
    };
    count.min(u32::MAX as u64) as u32
}

/// The `deploy` keys stackctl reads; others are valid swarm settings it ignores.
const DEPLOY_KEYS: &[&str] = &["replicas", "resources"];
const DEPLOY_IGNORED: &[&str] = &[
    "mode",
    "endpoint_mode",
    "labels",
    "placement",
    "restart_policy",
    "rollback_config",
    "update_config",
];

mod resources {
    //! The three resource syntaxes, normalized to one. A limit given in two
    //! places with different values is an error naming both.

    use super::*;

    /// A candidate value for one limit and where it came from.
    struct Found<T> {
        value: T,
        path: String,
    }

    pub fn normalize(reader: &mut Reader, service: &Mapping, path: &str) -> Resources {
        let mut memory_limit = Vec::new();
        let mut memory_reservation = Vec::new();
        let mut cpus_limit = Vec::new();
        let mut cpus_reservation = Vec::new();
        let mut pids_limit = Vec::new();
        let mut pids_reservation = Vec::new();

        let mut read_block = |reader: &mut Reader, block: &Value, block_path: &str| {
            let Some(block) = reader.mapping(block, block_path) else {
                return;
            };
            reader.check_keys(block, block_path, &["limits", "reservations"], &[]);
            for (which, memory, cpus, pids) in [
                (
                    "limits",
                    &mut memory_limit,
                    &mut cpus_limit,
                    &mut pids_limit,
                ),
                (
                    "reservations",
                    &mut memory_reservation,
                    &mut cpus_reservation,
                    &mut pids_reservation,
                ),
            ] {
                let Some(spec) = block.get(which) else {
                    continue;
                };
                let spec_path = child(block_path, which);
                let Some(spec) = reader.mapping(spec, &spec_path) else {
                    continue;
                };
                reader.check_keys(
                    spec,
                    &spec_path,
                    &["memory", "cpus", "pids"],
                    &["devices", "generic_resources"],
                );
                collect_size(reader, spec, &spec_path, "memory", memory);
                collect_cpus(reader, spec, &spec_path, "cpus", cpus);
                collect_int(reader, spec, &spec_path, "pids", pids);
            }
        };

        if let Some(deploy) = service.get("deploy") {
            let deploy_path = child(path, "deploy");
            if let Some(map) = reader.mapping(deploy, &deploy_path) {
                reader.check_keys(map, &deploy_path, DEPLOY_KEYS, DEPLOY_IGNORED);
                if let Some(block) = map.get("resources") {
                    read_block(reader, block, &child(&deploy_path, "resources"));
                }
            }
        }
        if let Some(block) = service.get("resources") {
            read_block(reader, block, &child(path, "resources"));
        }
        collect_size(reader, service, path, "mem_limit", &mut memory_limit);
        collect_size(
            reader,
            service,
            path,
            "mem_reservation",
            &mut memory_reservation,
        );
        collect_cpus(reader, service, path, "cpus", &mut cpus_limit);
        collect_int(reader, service, path, "pids_limit", &mut pids_limit);
        let cpu_shares = service
            .get("cpu_shares")
            .and_then(|v| reader.unsigned(v, &child(path, "cpu_shares")));

        Resources {
            limits: ResourceSpec {
                memory: single(reader, memory_limit, "memory limit", show_size),
                cpus: single(reader, cpus_limit, "cpu limit", |c| c.to_string()),
                pids: single(reader, pids_limit, "pids limit", |p| p.to_string()),
            },
            reservations: ResourceSpec {
                memory: single(reader, memory_reservation, "memory reservation", show_size),
                cpus: single(reader, cpus_reservation, "cpu reservation", |c| {
                    c.to_string()
                }),
                pids: single(reader, pids_reservation, "pids reservation", |p| {
                    p.to_string()
                }),
            },
            cpu_shares,
        }
    }

    fn show_size(bytes: &u64) -> String {
        crate::compose::units::format_size(*bytes)
    }

    /// `map[key]`, when present, as a candidate; its path is built only then.
    fn collect_size(
        reader: &mut Reader,
        map: &Mapping,
        parent: &str,
        key: &str,
        out: &mut Vec<Found<u64>>,
    ) {
        let Some(value) = map.get(key) else { return };
        let path = &child(parent, key);
        let Some(text) = reader.scalar(value, path) else {
            return;
        };
        match parse_size(&text) {
            Ok(bytes) => out.push(Found {
                value: bytes,
                path: path.to_string(),
            }),
            Err(message) => reader.error(path, message),
        }
    }

    /// `map[key]`, when present, as a candidate; its path is built only then.
    fn collect_cpus(
        reader: &mut Reader,
        map: &Mapping,
        parent: &str,
        key: &str,
        out: &mut Vec<Found<f64>>,
    ) {
        let Some(value) = map.get(key) else { return };
        let path = &child(parent, key);
        let Some(text) = reader.scalar(value, path) else {
            return;
        };
        match parse_cpus(&text) {
            Ok(cpus) => out.push(Found {
                value: cpus,
                path: path.to_string(),
            }),
            Err(message) => reader.error(path, message),
        }
    }

    fn collect_int(
        reader: &mut Reader,
        map: &Mapping,
        parent: &str,
        key: &str,
        out: &mut Vec<Found<i64>>,
    ) {
        let Some(value) = map.get(key) else { return };
        let path = &child(parent, key);
        if let Some(n) = reader.integer(value, path) {
            out.push(Found {
                value: n,
                path: path.to_string(),
            });
        }
    }

    /// The one value of a limit; distinct values from different places are an error.
    fn single<T: PartialEq + Copy>(
        reader: &mut Reader,
        found: Vec<Found<T>>,
        what: &str,
        show: impl Fn(&T) -> String,
    ) -> Option<T> {
        let first = found.first()?;
        for other in &found[1..] {
            if other.value != first.value {
                reader.error(
                    &other.path,
                    format!(
                        "{what} given twice with different values: {} here and {} at `{}`; keep one",
                        show(&other.value),
                        show(&first.value),
                        first.path
                    ),
                );
            }
        }
        Some(first.value)
    }
}

/// What top-level networks and volumes have in common.
struct Declared {
    name: String,
    driver: String,
    external: bool,
    driver_opts: IndexMap<String, String>,
    labels: IndexMap<String, String>,
}

/// Read the shared keys of a top-level network or volume. The engine-side
/// name is `<project>_<key>` unless `name:` or `external` fixes it.
fn read_declared(
    reader: &mut Reader,
    config: Option<&Mapping>,
    path: &str,
    key: &str,
    ctx: &Context,
    default_driver: &str,
) -> Declared {
    let mut declared = Declared {
        name: format!("{}_{}", ctx.project_name, key),
        driver: default_driver.to_string(),
        external: false,
        driver_opts: IndexMap::new(),
        labels: IndexMap::new(),
    };
    let Some(config) = config else {
        return declared;
    };
    let (external, external_name) = external(reader, config, path);
    declared.external = external;
    if let Some(name) = explicit_name(reader, config, path, external_name, key) {
        declared.name = name;
    }
    if let Some(v) = config.get("driver") {
        declared.driver = reader.string(v, &child(path, "driver")).unwrap_or_default();
    }
    declared.driver_opts = config
        .get("driver_opts")
        .map(|v| labels(reader, v, &child(path, "driver_opts")))
        .unwrap_or_default();
    declared.labels = config
        .get("labels")
        .map(|v| labels(reader, v, &child(path, "labels")))
        .unwrap_or_default();
    declared
}

/// The entries of the top-level `networks` or `volumes` mapping, each with
/// its path and its settings (`None` for `name:` with nothing under it).
fn declared_entries<'v>(
    reader: &mut Reader,
    value: &'v Value,
    section: &str,
) -> Vec<(String, String, Option<&'v Mapping>)> {
    let Some(map) = reader.mapping(value, section) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, config) in reader.entries(map, section) {
        let path = child(section, &key);
        let config = match config {
            Value::Null => None,
            other => match reader.mapping(other, &path) {
                Some(config) => Some(config),
                None => continue,
            },
        };
        out.push((key, path, config));
    }
    out
}

fn normalize_networks(
    reader: &mut Reader,
    value: &Value,
    ctx: &Context,
) -> BTreeMap<String, Network> {
    let mut out = BTreeMap::new();
    for (key, path, config) in declared_entries(reader, value, "networks") {
        if let Some(config) = config {
            reader.check_keys(
                config,
                &path,
                &[
                    "driver",
                    "driver_opts",
                    "internal",
                    "external",
                    "name",
                    "ipam",
                    "labels",
                ],
                &["attachable", "enable_ipv6", "enable_ipv4"],
            );
        }
        let declared = read_declared(reader, config, &path, &key, ctx, "bridge");
        let internal = config
            .and_then(|c| c.get("internal"))
            .and_then(|v| reader.boolean(v, &child(&path, "internal")))
            .unwrap_or(false);
        let subnets = config
            .and_then(|c| c.get("ipam"))
            .map(|ipam| subnets(reader, ipam, &child(&path, "ipam")))
            .unwrap_or_default();
        let network = Network {
            name: declared.name,
            driver: declared.driver,
            internal,
            external: declared.external,
            subnets,
            driver_opts: declared.driver_opts,
            labels: declared.labels,
        };
        out.insert(key, network);
    }
    out
}

fn normalize_volumes(
    reader: &mut Reader,
    value: &Value,
    ctx: &Context,
) -> BTreeMap<String, Volume> {
    let mut out = BTreeMap::new();
    for (key, path, config) in declared_entries(reader, value, "volumes") {
        if let Some(config) = config {
            reader.check_keys(
                config,
                &path,
                &["driver", "driver_opts", "external", "name", "labels"],
                &[],
            );
        }
        let declared = read_declared(reader, config, &path, &key, ctx, "local");
        let volume = Volume {
            name: declared.name,
            driver: declared.driver,
            driver_opts: declared.driver_opts,
            external: declared.external,
            labels: declared.labels,
        };
        out.insert(key, volume);
    }
    out
}

fn subnets(reader: &mut Reader, value: &Value, path: &str) -> Vec<String> {
    let Some(ipam) = reader.mapping(value, path) else {
        return Vec::new();
    };
    reader.check_keys(ipam, path, &["driver", "config", "options"], &[]);
    let Some(config) = ipam.get("config") else {
        return Vec::new();
    };
    let config_path = child(path, "config");
    let Value::Sequence(items) = config else {
        reader.error(&config_path, "expected a list of `{subnet: ...}`");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = index(&config_path, i);
        let Some(entry) = reader.mapping(item, &item_path) else {
            continue;
        };
        reader.check_keys(
            entry,
            &item_path,
            &["subnet", "gateway", "ip_range", "aux_addresses"],
            &[],
        );
        if let Some(subnet) = entry
            .get("subnet")
            .and_then(|v| reader.string(v, &child(&item_path, "subnet")))
        {
            if !is_cidr(&subnet) {
                reader.error(
                    &child(&item_path, "subnet"),
                    format!("invalid subnet `{subnet}`: expected CIDR like 172.28.0.0/16"),
                );
            }
            out.push(subnet);
        }
    }
    out
}

fn is_cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 32),
        Ok(std::net::IpAddr::V6(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 128),
        Err(_) => false,
    }
}

/// `external: true`, or the legacy `external: {name: x}`.
fn external(reader: &mut Reader, config: &Mapping, path: &str) -> (bool, Option<String>) {
    match config.get("external") {
        None => (false, None),
        Some(Value::Mapping(map)) => {
            let name = map
                .get("name")
                .and_then(|v| reader.string(v, &child(&child(path, "external"), "name")));
            (true, name)
        }
        Some(other) => (
            reader
                .boolean(other, &child(path, "external"))
                .unwrap_or(false),
            None,
        ),
    }
}

/// The engine-side name when the file fixes it: `name:`, or for external
/// resources the key itself.
fn explicit_name(
    reader: &mut Reader,
    config: &Mapping,
    path: &str,
    external_name: Option<String>,
    key: &str,
) -> Option<String> {
    let name = config
        .get("name")
        .and_then(|v| reader.string(v, &child(path, "name")));
    let external = config
        .get("external")
        .is_some_and(|v| !matches!(v, Value::Bool(false)));
    name.or(external_name)
        .or_else(|| external.then(|| key.to_string()))
}
