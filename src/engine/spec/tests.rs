use super::*;
use crate::compose::model::{
    Healthcheck, Logging, Network, PortMapping, Protocol, ResourceSpec, Resources, ServiceNetwork,
    Ulimit, Volume,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn service(name: &str) -> Service {
    let mut service = Service {
        name: name.into(),
        image: Some("stackctl-test/busybox:latest".into()),
        replicas: 1,
        ..Default::default()
    };
    service
        .networks
        .insert("default".into(), ServiceNetwork::default());
    service
}

fn project(services: Vec<Service>) -> Project {
    let network = |key: &str| Network {
        name: format!("demo_{key}"),
        driver: "bridge".into(),
        ..Default::default()
    };
    Project {
        name: "demo".into(),
        working_dir: PathBuf::from("/srv/demo"),
        compose_files: vec![PathBuf::from("/srv/demo/compose.yaml")],
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        disabled_services: BTreeMap::new(),
        networks: ["default", "back"]
            .into_iter()
            .map(|k| (k.to_string(), network(k)))
            .collect(),
        volumes: BTreeMap::from([(
            "data".to_string(),
            Volume {
                name: "shared-data".into(),
                driver: "local".into(),
                ..Default::default()
            },
        )]),
        extensions: IndexMap::new(),
    }
}

fn spec(service: &Service) -> ContainerCreateBody {
    let project = project(vec![service.clone()]);
    container_spec(&project, service, 2, &IndexMap::new())
}

fn host(service: &Service) -> HostConfig {
    spec(service).host_config.expect("host config")
}

#[test]
fn names_follow_compose_v2_or_container_name() {
    let mut web = service("web");
    assert_eq!(container_name("demo", &web, 3), "demo-web-3");
    web.container_name = Some("frontdoor".into());
    assert_eq!(container_name("demo", &web, 1), "frontdoor");
}

#[test]
fn image_defaults_to_project_service_for_build_only() {
    let mut web = service("web");
    assert_eq!(
        spec(&web).image.as_deref(),
        Some("stackctl-test/busybox:latest")
    );
    web.image = None;
    assert_eq!(spec(&web).image.as_deref(), Some("demo-web"));
}

#[test]
fn config_hash_is_stable_ignores_replicas_and_sees_changes() {
    let mut web = service("web");
    let first = config_hash(&web);
    assert_eq!(first.len(), 64);
    assert_eq!(first, config_hash(&web.clone()));
    web.replicas = 5;
    assert_eq!(first, config_hash(&web), "scaling is not a config change");
    web.resources.limits.memory = Some(64 << 20);
    assert_ne!(first, config_hash(&web));
    let mut other = service("web");
    other.command = Some(vec!["sleep".into(), "1".into()]);
    assert_ne!(first, config_hash(&other));
}

#[test]
fn command_entrypoint_user_workdir_hostname() {
    let mut web = service("web");
    web.command = Some(vec!["httpd".into(), "-f".into()]);
    web.entrypoint = Some(vec!["/bin/sh".into(), "-c".into()]);
    web.user = Some("1000:1000".into());
    web.working_dir = Some("/www".into());
    web.hostname = Some("web-host".into());
    let body = spec(&web);
    assert_eq!(body.cmd, web.command);
    assert_eq!(body.entrypoint, web.entrypoint);
    assert_eq!(body.user.as_deref(), Some("1000:1000"));
    assert_eq!(body.working_dir.as_deref(), Some("/www"));
    assert_eq!(body.hostname.as_deref(), Some("web-host"));
}

#[test]
fn environment_resolves_none_from_process_env_or_skips() {
    let mut web = service("web");
    web.environment.insert("A".into(), Some("1".into()));
    web.environment.insert("PATH".into(), None);
    web.environment
        .insert("STACKCTL_SURELY_UNSET_VAR_42".into(), None);
    let env = spec(&web).env.expect("env");
    assert_eq!(env[0], "A=1");
    assert!(env[1].starts_with("PATH="));
    assert_eq!(env.len(), 2);
}

#[test]
fn labels_carry_compose_keys_service_labels_and_extras() {
    let mut web = service("web");
    web.labels.insert("team".into(), "core".into());
    let extra = IndexMap::from([("io.stackctl.slot".to_string(), "blue".to_string())]);
    let project = project(vec![web.clone()]);
    let body = container_spec(&project, &web, 2, &extra);
    let got = body.labels.expect("labels");
    let get = |k: &str| got.get(k).map(String::as_str);
    assert_eq!(get("team"), Some("core"));
    assert_eq!(get(labels::PROJECT), Some("demo"));
    assert_eq!(get(labels::SERVICE), Some("web"));
    assert_eq!(get(labels::REPLICA), Some("2"));
    assert_eq!(get(labels::ONEOFF), Some("False"));
    assert_eq!(get(labels::WORKING_DIR), Some("/srv/demo"));
    assert_eq!(get(labels::CONFIG_FILES), Some("/srv/demo/compose.yaml"));
    assert_eq!(get(labels::MANAGED_BY), Some("stackctl"));
    assert_eq!(get(labels::CONFIG_HASH), Some(config_hash(&web).as_str()));
    assert_eq!(get("io.stackctl.slot"), Some("blue"));
}

#[test]
fn ports_publish_with_host_ip_and_expose_unpublished() {
    let mut web = service("web");
    web.ports = vec![
        PortMapping {
            target: 80,
            published: Some(8080),
            host_ip: Some("127.0.0.1".into()),
            protocol: Protocol::Tcp,
        },
        PortMapping {
            target: 53,
            published: None,
            host_ip: None,
            protocol: Protocol::Udp,
        },
    ];
    web.expose = vec!["9000-9001".into(), "7000/udp".into()];
    let body = spec(&web);
    assert_eq!(
        body.exposed_ports.expect("exposed"),
        vec!["80/tcp", "53/udp", "9000/tcp", "9001/tcp", "7000/udp"]
    );
    let bindings = body
        .host_config
        .and_then(|h| h.port_bindings)
        .expect("bindings");
    assert_eq!(bindings.len(), 1);
    let binding = &bindings["80/tcp"].as_ref().expect("binding")[0];
    assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(binding.host_port.as_deref(), Some("8080"));
}

#[test]
fn mounts_named_anonymous_bind_and_tmpfs() {
    let mut web = service("web");
    let mount = |kind, source: Option<&str>, target: &str, read_only| Mount {
        kind,
        source: source.map(String::from),
        target: target.into(),
        read_only,
    };
    web.volumes = vec![
        mount(MountType::Volume, Some("data"), "/data", false),
        mount(MountType::Volume, None, "/cache", false),
        mount(MountType::Bind, Some("/srv/demo/conf"), "/conf", true),
        mount(MountType::Tmpfs, None, "/scratch", false),
    ];
    web.tmpfs = vec!["/run:size=64m,mode=1777".into(), "/tmp:noexec".into()];
    let host = host(&web);
    let mounts = host.mounts.expect("mounts");
    assert_eq!(mounts[0].source.as_deref(), Some("shared-data"));
    assert_eq!(mounts[0].typ, Some(EngineMountType::VOLUME));
    assert_eq!(mounts[1].source, None);
    assert_eq!(mounts[1].typ, Some(EngineMountType::VOLUME));
    assert_eq!(mounts[2].typ, Some(EngineMountType::BIND));
    assert_eq!(mounts[2].read_only, Some(true));
    assert_eq!(mounts[3].typ, Some(EngineMountType::TMPFS));
    let run = &mounts[4];
    assert_eq!(run.target.as_deref(), Some("/run"));
    let options = run.tmpfs_options.as_ref().expect("tmpfs options");
    assert_eq!(options.size_bytes, Some(64 << 20));
    assert_eq!(options.mode, Some(0o1777));
    assert_eq!(mounts.len(), 5);
    assert_eq!(host.tmpfs.expect("raw tmpfs")["/tmp"], "noexec");
}

#[test]
fn restart_policies_map_with_retry_count() {
    let mut web = service("web");
    web.restart = Some(RestartPolicy::OnFailure(Some(3)));
    let policy = host(&web).restart_policy.expect("restart");
    assert_eq!(policy.name, Some(RestartPolicyNameEnum::ON_FAILURE));
    assert_eq!(policy.maximum_retry_count, Some(3));
    web.restart = Some(RestartPolicy::UnlessStopped);
    let policy = host(&web).restart_policy.expect("restart");
    assert_eq!(policy.name, Some(RestartPolicyNameEnum::UNLESS_STOPPED));
    assert_eq!(policy.maximum_retry_count, None);
}

#[test]
fn healthcheck_durations_in_nanoseconds() {
    let mut web = service("web");
    web.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), "wget -q localhost".into()],
        interval: Some(Duration::from_secs(2)),
        timeout: Some(Duration::from_millis(500)),
        retries: Some(4),
        start_period: Some(Duration::from_secs(10)),
        disable: false,
    });
    let check = spec(&web).healthcheck.expect("healthcheck");
    assert_eq!(check.test.expect("test")[0], "CMD-SHELL");
    assert_eq!(check.interval, Some(2_000_000_000));
    assert_eq!(check.timeout, Some(500_000_000));
    assert_eq!(check.retries, Some(4));
    assert_eq!(check.start_period, Some(10_000_000_000));
    web.healthcheck.as_mut().expect("set").disable = true;
    let check = spec(&web).healthcheck.expect("healthcheck");
    assert_eq!(check.test, Some(vec!["NONE".to_string()]));
}

#[test]
fn stop_signal_grace_init_readonly() {
    let mut web = service("web");
    web.stop_signal = Some("SIGINT".into());
    web.stop_grace_period = Some(Duration::from_secs(42));
    web.init = Some(true);
    web.read_only = true;
    let body = spec(&web);
    assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(body.stop_timeout, Some(42));
    let host = body.host_config.expect("host");
    assert_eq!(host.init, Some(true));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(self::host(&service("x")).readonly_rootfs, None);
}

#[test]
fn security_ulimits_hosts_and_logging() {
    let mut web = service("web");
    web.cap_add = vec!["NET_ADMIN".into()];
    web.cap_drop = vec!["ALL".into()];
    web.security_opt = vec!["no-new-privileges:true".into()];
    web.ulimits.insert(
        "nofile".into(),
        Ulimit {
            soft: 1024,
            hard: 2048,
        },
    );
    web.extra_hosts = vec!["db.local:10.0.0.5".into()];
    web.logging = Some(Logging {
        driver: Some("json-file".into()),
        options: IndexMap::from([("max-size".to_string(), "10m".to_string())]),
    });
    let host = host(&web);
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_string()]));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges:true".to_string()])
    );
    let ulimit = &host.ulimits.expect("ulimits")[0];
    assert_eq!(
        (ulimit.name.as_deref(), ulimit.soft, ulimit.hard),
        (Some("nofile"), Some(1024), Some(2048))
    );
    assert_eq!(
        host.extra_hosts,
        Some(vec!["db.local:10.0.0.5".to_string()])
    );
    let log = host.log_config.expect("log config");
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    assert_eq!(log.config.expect("options")["max-size"], "10m");
}

#[test]
fn cgroup_limits_use_nano_cpus_never_quota() {
    let mut web = service("web");
    web.resources = Resources {
        limits: ResourceSpec {
            memory: Some(128 << 20),
            cpus: Some(0.5),
            pids: Some(64),
        },
        reservations: ResourceSpec {
            memory: Some(32 << 20),
            ..Default::default()
        },
        cpu_shares: Some(512),
    };
    let host = host(&web);
    assert_eq!(host.memory, Some(128 << 20));
    assert_eq!(host.memory_reservation, Some(32 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.cpu_quota, None);
    assert_eq!(host.cpu_shares, Some(512));
    assert_eq!(host.pids_limit, Some(64));
}

#[test]
fn first_network_in_body_others_extra_with_service_alias() {
    let mut web = service("web");
    web.networks.insert(
        "back".into(),
        ServiceNetwork {
            aliases: vec!["api".into()],
            ipv4_address: None,
        },
    );
    let project = project(vec![web.clone()]);
    let body = container_spec(&project, &web, 1, &IndexMap::new());
    let endpoints = body
        .networking_config
        .and_then(|n| n.endpoints_config)
        .expect("endpoints");
    assert_eq!(endpoints.len(), 1);
    assert_eq!(
        endpoints["demo_default"].aliases,
        Some(vec!["web".to_string()])
    );
    assert_eq!(
        extra_networks(&project, &web),
        vec![(
            "demo_back".to_string(),
            vec!["web".to_string(), "api".to_string()]
        )]
    );
}

#[test]
fn network_mode_service_points_at_replica_one() {
    let db = service("db");
    let mut sidecar = service("sidecar");
    sidecar.networks.clear();
    sidecar.network_mode = Some("service:db".into());
    let project = project(vec![db, sidecar.clone()]);
    let body = container_spec(&project, &sidecar, 1, &IndexMap::new());
    assert_eq!(
        body.host_config.and_then(|h| h.network_mode).as_deref(),
        Some("container:demo-db-1")
    );
    assert!(body.networking_config.is_none());
    assert!(extra_networks(&project, &sidecar).is_empty());
    let mut host_mode = service("h");
    host_mode.network_mode = Some("host".into());
    assert_eq!(self::host(&host_mode).network_mode.as_deref(), Some("host"));
}

#[test]
fn volumes_from_services_map_to_container_names() {
    let data = service("data");
    let mut app = service("app");
    app.volumes_from = vec!["data:ro".into(), "container:legacy".into()];
    let project = project(vec![data, app.clone()]);
    let body = container_spec(&project, &app, 1, &IndexMap::new());
    assert_eq!(
        body.host_config.and_then(|h| h.volumes_from),
        Some(vec!["demo-data-1:ro".to_string(), "legacy".to_string()])
    );
}

#[test]
fn config_hash_survives_extensions_json_cannot_carry() {
    let mut web = service("web");
    let odd: serde_yaml::Value = serde_yaml::from_str("{1: one}").expect("yaml");
    web.extensions.insert("x-odd".into(), odd);
    let mut other = web.clone();
    other.command = Some(vec!["true".into()]);
    assert_eq!(config_hash(&web), config_hash(&web.clone()));
    assert_ne!(config_hash(&web), config_hash(&other));
}
