//! The typed, normalized compose model: what every later stage (graph, budget,
//! plan, engine) reads. Produced by `compose::load`; nothing here touches YAML.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A loaded, validated project.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Project {
    pub name: String,
    /// Directory that relative paths (build contexts, binds, env_files) resolve against.
    #[serde(skip)]
    pub working_dir: PathBuf,
    #[serde(skip)]
    pub compose_files: Vec<PathBuf>,
    /// Services enabled by the active profiles, by name.
    pub services: BTreeMap<String, Service>,
    /// Services whose profiles are not active: kept so references to them can be
    /// explained, never deployed.
    #[serde(skip)]
    pub disabled_services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    /// Top-level `x-*` keys, kept verbatim.
    #[serde(flatten)]
    pub extensions: IndexMap<String, serde_yaml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// env_file contents first, then `environment` on top (as compose merges them).
    /// `None` values mean "take it from the shell at run time" (`- KEY` form).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub environment: IndexMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_file: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// Networks the service joins. Empty in the file means the project's `default`;
    /// normalization fills that in unless `network_mode` is set.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, ServiceNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub depends_on: IndexMap<String, Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::compose::units::serialize_opt_duration",
        deserialize_with = "crate::compose::units::deserialize_opt_duration",
        default
    )]
    pub stop_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub ulimits: IndexMap<String, Ulimit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// All three resource syntaxes (deploy.resources, legacy keys, service-level
    /// `resources:`) normalized to this one.
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    pub replicas: u32,
    /// Service-level `x-*` keys (e.g. `x-stackctl`), kept verbatim.
    #[serde(flatten)]
    pub extensions: IndexMap<String, serde_yaml::Value>,
}

impl Service {
    /// Memory limit of one replica, if any.
    pub fn memory_limit(&self) -> Option<u64> {
        self.resources.limits.memory
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Build {
    pub context: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub args: IndexMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// One container port, possibly published. Ranges are expanded during
/// normalization, so each entry is a single port.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PortMapping {
    pub target: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Volume,
    Bind,
    Tmpfs,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: MountType,
    /// Volume name (as declared in the file), absolute host path for binds,
    /// `None` for anonymous volumes and tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DependencyCondition {
    #[default]
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

impl DependencyCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyCondition::ServiceStarted => "service_started",
            DependencyCondition::ServiceHealthy => "service_healthy",
            DependencyCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Dependency {
    pub condition: DependencyCondition,
    /// Restart this service when the dependency is restarted/recreated.
    pub restart: bool,
    /// When false, a missing or disabled dependency is only a warning.
    pub required: bool,
}

impl Default for Dependency {
    fn default() -> Self {
        Dependency {
            condition: DependencyCondition::ServiceStarted,
            restart: false,
            required: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Healthcheck {
    /// The engine's form: `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::compose::units::serialize_opt_duration",
        deserialize_with = "crate::compose::units::deserialize_opt_duration",
        default
    )]
    pub interval: Option<Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::compose::units::serialize_opt_duration",
        deserialize_with = "crate::compose::units::deserialize_opt_duration",
        default
    )]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::compose::units::serialize_opt_duration",
        deserialize_with = "crate::compose::units::deserialize_opt_duration",
        default
    )]
    pub start_period: Option<Duration>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

impl Healthcheck {
    /// True when this check will actually run in the container.
    pub fn is_active(&self) -> bool {
        !self.disable && !self.test.is_empty() && self.test[0] != "NONE"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    No,
    Always,
    UnlessStopped,
    OnFailure(Option<u32>),
}

impl RestartPolicy {
    /// The name the engine uses.
    pub fn engine_name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
            RestartPolicy::OnFailure(_) => "on-failure",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// cgroup limits of ONE replica.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Resources {
    #[serde(skip_serializing_if = "ResourceSpec::is_empty")]
    pub limits: ResourceSpec,
    #[serde(skip_serializing_if = "ResourceSpec::is_empty")]
    pub reservations: ResourceSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.reservations.is_empty() && self.cpu_shares.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct ResourceSpec {
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

impl ResourceSpec {
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.cpus.is_none() && self.pids.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Network {
    /// Engine-side name: `<project>_<key>` unless `name:` or `external`.
    pub name: String,
    pub driver: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Volume {
    /// Engine-side name: `<project>_<key>` unless `name:` or `external`.
    pub name: String,
    pub driver: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub driver_opts: IndexMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Revision records store a service as JSON and rollback reads it back:
    /// the round trip must be lossless.
    #[test]
    fn services_round_trip_through_json() {
        let service = Service {
            name: "web".into(),
            image: Some("nginx:1".into()),
            environment: IndexMap::from([("A".into(), Some("1".into())), ("B".into(), None)]),
            stop_grace_period: Some(Duration::from_millis(1500)),
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: Some(Duration::from_secs(5)),
                retries: Some(3),
                ..Default::default()
            }),
            restart: Some(RestartPolicy::OnFailure(Some(3))),
            ports: vec![PortMapping {
                target: 80,
                published: Some(8080),
                host_ip: None,
                protocol: Protocol::Tcp,
            }],
            resources: Resources {
                limits: ResourceSpec {
                    memory: Some(256 << 20),
                    cpus: Some(0.5),
                    pids: None,
                },
                ..Default::default()
            },
            replicas: 2,
            extensions: IndexMap::from([(
                "x-stackctl".into(),
                serde_yaml::from_str("{bluegreen: {router: proxy}}").unwrap(),
            )]),
            ..Default::default()
        };
        let json = serde_json::to_string(&service).unwrap();
        let mut back: Service = serde_json::from_str(&json).unwrap();
        back.name = "web".into();
        assert_eq!(back, service);
    }
}
