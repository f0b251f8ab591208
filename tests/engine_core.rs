//! The engine layer against the REAL Docker engine. Every test uses its own
//! project name and a guard that removes everything labelled with it, even
//! when the test fails. Nothing sleeps blindly: waits poll with deadlines.

use stackctl::compose::model::{
    Healthcheck, Network, Project, ResourceSpec, Resources, Service, ServiceNetwork, Volume,
};
use stackctl::engine::spec::{container_name, container_spec, extra_networks};
use stackctl::engine::{Engine, EngineError};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

mod engine_support {
    use super::*;
    use std::process::Command;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    pub const IMAGE: &str = "stackctl-test/busybox:latest";
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    static IMAGE_LOCK: Mutex<()> = Mutex::new(());

    fn docker(args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(args)
            .output()
            .expect("the docker CLI runs")
    }

    /// Build the busybox test image (FROM scratch + static busybox) if missing.
    pub fn ensure_image() {
        let _guard = IMAGE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if docker(&["image", "inspect", IMAGE]).status.success() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir bin");
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("busybox-static is installed (apt-get install -y busybox-static)");
        std::fs::copy(busybox, dir.path().join("bin/busybox")).expect("copy busybox");
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY bin/ /bin/\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\nENV PATH=/bin\n",
        )
        .expect("write Dockerfile");
        let context = dir.path().to_string_lossy().to_string();
        let out = docker(&["build", "-q", "-t", IMAGE, &context]);
        assert!(
            out.status.success(),
            "building {IMAGE}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Removes every container, network and volume of the project on drop.
    pub struct Cleanup {
        pub project: String,
    }

    impl Cleanup {
        pub fn new(tag: &str) -> Cleanup {
            ensure_image();
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            Cleanup {
                project: format!("t-core-{}-{tag}-{n}", std::process::id()),
            }
        }

        fn ids(&self, kind: &[&str]) -> Vec<String> {
            let filter = format!("label=com.docker.compose.project={}", self.project);
            let mut args = kind.to_vec();
            args.extend(["-q", "--filter", &filter]);
            String::from_utf8_lossy(&docker(&args).stdout)
                .split_whitespace()
                .map(String::from)
                .collect()
        }
    }

    impl Drop for Cleanup {
        fn drop(&mut self) {
            for (list, remove) in [
                (vec!["ps", "-a"], vec!["rm", "-f", "-v"]),
                (vec!["network", "ls"], vec!["network", "rm"]),
                (vec!["volume", "ls"], vec!["volume", "rm", "-f"]),
            ] {
                let ids = self.ids(&list);
                if !ids.is_empty() {
                    let mut args: Vec<&str> = remove.clone();
                    args.extend(ids.iter().map(String::as_str));
                    docker(&args);
                }
            }
        }
    }

    pub fn service(name: &str, command: &[&str]) -> Service {
        let mut service = Service {
            name: name.into(),
            image: Some(IMAGE.into()),
            command: Some(command.iter().map(|s| s.to_string()).collect()),
            replicas: 1,
            ..Default::default()
        };
        service
            .networks
            .insert("default".into(), ServiceNetwork::default());
        service
    }

    pub fn project(name: &str, services: Vec<Service>, network_keys: &[&str]) -> Project {
        Project {
            name: name.into(),
            working_dir: std::env::temp_dir(),
            compose_files: Vec::new(),
            services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
            disabled_services: BTreeMap::new(),
            networks: network_keys
                .iter()
                .map(|key| {
                    let network = Network {
                        name: format!("{name}_{key}"),
                        driver: "bridge".into(),
                        ..Default::default()
                    };
                    (key.to_string(), network)
                })
                .collect(),
            volumes: BTreeMap::new(),
            extensions: Default::default(),
        }
    }

    /// Create networks, then create and start replica 1 of `service`.
    pub async fn up(engine: &Engine, project: &Project, service: &str) -> String {
        let service = &project.services[service];
        for key in service.networks.keys() {
            engine
                .ensure_network(key, &project.networks[key], &project.name)
                .await
                .expect("network");
        }
        let name = container_name(&project.name, service, 1);
        let body = container_spec(project, service, 1, &Default::default());
        let extra = extra_networks(project, service);
        engine
            .create_container(&name, body, &extra)
            .await
            .expect("create");
        engine.start_container(&name).await.expect("start");
        name
    }

    pub fn soon(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    pub async fn connect() -> Engine {
        Engine::connect().await.expect("engine reachable")
    }

    pub async fn sh(
        engine: &Engine,
        container: &str,
        script: &str,
    ) -> stackctl::engine::containers::ExecOutput {
        let cmd = ["sh", "-c", script].map(String::from);
        engine
            .exec(container, &cmd, &[], None, None, false)
            .await
            .expect("exec")
    }
}

use engine_support::*;

#[tokio::test]
async fn limits_read_back_from_inspect_and_cgroup_files() {
    let guard = Cleanup::new("limits");
    let engine = connect().await;
    let mut app = service("app", &["sleep", "300"]);
    app.resources = Resources {
        limits: ResourceSpec {
            memory: Some(64 << 20),
            cpus: Some(0.5),
            pids: Some(100),
        },
        reservations: ResourceSpec {
            memory: Some(32 << 20),
            ..Default::default()
        },
        cpu_shares: Some(512),
    };
    let project = project(&guard.project, vec![app], &["default"]);
    let name = up(&engine, &project, "app").await;

    let host = engine
        .inspect_container(&name)
        .await
        .expect("inspect")
        .host_config
        .expect("host config");
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.memory_reservation, Some(32 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.cpu_shares, Some(512));
    assert_eq!(host.pids_limit, Some(100));

    let memory = sh(
        &engine,
        &name,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    )
    .await;
    assert_eq!(
        memory.stdout.trim(),
        (64u64 << 20).to_string(),
        "{memory:?}"
    );
    let quota = sh(
        &engine,
        &name,
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
    )
    .await;
    let numbers: Vec<&str> = quota.stdout.split_whitespace().collect();
    assert_eq!(numbers, ["50000", "100000"], "{quota:?}");
}

#[tokio::test]
async fn services_reach_each_other_by_name_and_alias_over_networks() {
    let guard = Cleanup::new("dns");
    let engine = connect().await;
    let mut web = service(
        "web",
        &["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www"],
    );
    web.networks.insert(
        "back".into(),
        ServiceNetwork {
            aliases: vec!["api".into()],
            ipv4_address: None,
        },
    );
    let mut client = service("client", &["sleep", "300"]);
    client.networks.clear();
    client
        .networks
        .insert("back".into(), ServiceNetwork::default());
    let project = project(&guard.project, vec![web, client], &["default", "back"]);
    let web_name = up(&engine, &project, "web").await;
    let client_name = up(&engine, &project, "client").await;

    // `back` is web's second network: it was connected after create.
    let networks = engine
        .inspect_container(&web_name)
        .await
        .expect("inspect")
        .network_settings
        .and_then(|n| n.networks)
        .expect("networks");
    assert!(
        networks.contains_key(&format!("{}_back", guard.project)),
        "{networks:?}"
    );

    for host in ["web", "api"] {
        let deadline = soon(20);
        loop {
            let out = sh(
                &engine,
                &client_name,
                &format!("wget -qO- http://{host}:8080/"),
            )
            .await;
            if out.exit_code == 0 {
                assert_eq!(out.stdout.trim(), "hello-from-web");
                break;
            }
            assert!(Instant::now() < deadline, "{host} unreachable: {out:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn with_check(mut service: Service, script: &str) -> Service {
    service.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), script.into()],
        interval: Some(Duration::from_secs(1)),
        timeout: Some(Duration::from_secs(2)),
        retries: Some(1),
        start_period: None,
        disable: false,
    });
    service
}

#[tokio::test]
async fn wait_healthy_succeeds_and_fails_with_last_output() {
    let guard = Cleanup::new("health");
    let engine = connect().await;
    let good = with_check(service("good", &["sleep", "300"]), "true");
    let bad = with_check(
        service("bad", &["sleep", "300"]),
        "echo probe-failed-marker; exit 1",
    );
    let project = project(&guard.project, vec![good, bad], &["default"]);
    let good_name = up(&engine, &project, "good").await;
    let bad_name = up(&engine, &project, "bad").await;

    engine
        .wait_healthy(&good_name, soon(30))
        .await
        .expect("good becomes healthy");
    let failure = engine
        .wait_healthy(&bad_name, soon(30))
        .await
        .expect_err("bad never becomes healthy");
    assert_eq!(failure.status, "unhealthy");
    assert_eq!(failure.last_output.as_deref(), Some("probe-failed-marker"));
    let shown = failure.to_string();
    assert!(
        shown.contains(&bad_name) && shown.contains("probe-failed-marker"),
        "{shown}"
    );

    let listed = engine
        .list_project_containers(&guard.project, false)
        .await
        .expect("list");
    let health: Vec<_> = listed
        .iter()
        .map(|c| (c.service.as_str(), c.health.as_deref()))
        .collect();
    assert_eq!(
        health,
        [("bad", Some("unhealthy")), ("good", Some("healthy"))]
    );
}

#[tokio::test]
async fn memory_hog_is_oom_killed_while_neighbour_keeps_running() {
    let guard = Cleanup::new("oom");
    let engine = connect().await;
    let limited = |mut s: Service| {
        s.resources.limits.memory = Some(16 << 20);
        s
    };
    // busybox `tail` keeps a newline-free stream in memory: it grows until killed.
    let hog = limited(service("hog", &["tail", "/dev/zero"]));
    let calm = limited(service("calm", &["sleep", "300"]));
    let project = project(&guard.project, vec![hog, calm], &["default"]);
    let calm_name = up(&engine, &project, "calm").await;
    let hog_name = up(&engine, &project, "hog").await;

    let code = engine
        .wait_exit(&hog_name, soon(60))
        .await
        .expect("hog exits");
    assert_eq!(code, 137);
    let state = engine
        .inspect_container(&hog_name)
        .await
        .expect("inspect")
        .state
        .expect("state");
    assert_eq!(state.oom_killed, Some(true));
    let calm_state = engine
        .inspect_container(&calm_name)
        .await
        .expect("inspect")
        .state
        .expect("state");
    assert_eq!(calm_state.running, Some(true));
}

#[tokio::test]
async fn exec_reports_exit_codes_output_and_stopped_containers() {
    let guard = Cleanup::new("exec");
    let engine = connect().await;
    let project = project(
        &guard.project,
        vec![service("box", &["sleep", "300"])],
        &["default"],
    );
    let name = up(&engine, &project, "box").await;

    let out = sh(&engine, &name, "echo out; echo err >&2; exit 3").await;
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (3, "out\n", "err\n")
    );
    let env = ["GREETING=hi".to_string()];
    let cmd = ["sh", "-c", "echo $GREETING; pwd; id -u"].map(String::from);
    let out = engine
        .exec(&name, &cmd, &env, Some("1234"), Some("/tmp"), false)
        .await
        .expect("exec");
    assert_eq!(out.stdout, "hi\n/tmp\n1234\n");
    let missing = ["no-such-binary".to_string()];
    let out = engine
        .exec(&name, &missing, &[], None, None, false)
        .await
        .expect("exec");
    assert_eq!(out.exit_code, 126);

    engine
        .stop_container(&name, Some(Duration::from_secs(1)))
        .await
        .expect("stop");
    let err = engine
        .exec(&name, &missing, &[], None, None, false)
        .await
        .expect_err("stopped container");
    assert!(err.to_string().contains("not running"), "{err}");
}

#[tokio::test]
async fn stats_once_memory_used_within_limit() {
    let guard = Cleanup::new("stats");
    let engine = connect().await;
    let mut app = service("app", &["sleep", "300"]);
    app.resources.limits.memory = Some(64 << 20);
    let project = project(&guard.project, vec![app], &["default"]);
    let name = up(&engine, &project, "app").await;

    let stats = engine.stats_once(&name).await.expect("stats");
    assert_eq!(stats.memory_limit, 64 << 20);
    assert!(
        stats.memory_used > 0 && stats.memory_used <= stats.memory_limit,
        "{stats:?}"
    );
    assert!(stats.cpu_percent >= 0.0, "{stats:?}");
    let top = engine.top(&name).await.expect("top");
    assert!(
        top.processes
            .iter()
            .any(|p| p.join(" ").contains("sleep 300")),
        "{top:?}"
    );
}

#[tokio::test]
async fn ensure_network_is_idempotent_and_matches_exact_names() {
    let guard = Cleanup::new("net");
    let engine = connect().await;
    let project = project(&guard.project, Vec::new(), &["default"]);
    let spec = &project.networks["default"];
    // A decoy whose name CONTAINS ours: the engine's name filter would match it.
    let decoy = format!("{}_default_decoy", guard.project);
    let label = format!("com.docker.compose.project={}", guard.project);
    let out = std::process::Command::new("docker")
        .args(["network", "create", "--label", &label, &decoy])
        .output()
        .expect("docker network create");
    assert!(out.status.success());

    assert_eq!(engine.find_network(&spec.name).await.expect("find"), None);
    let (id, created) = engine
        .ensure_network("default", spec, &guard.project)
        .await
        .expect("create");
    assert!(created);
    let (again, created_again) = engine
        .ensure_network("default", spec, &guard.project)
        .await
        .expect("again");
    assert_eq!((again.as_str(), created_again), (id.as_str(), false));

    let listed = engine
        .list_project_networks(&guard.project)
        .await
        .expect("list");
    let ours = listed.iter().find(|n| n.id == id).expect("listed");
    assert_eq!(ours.key.as_deref(), Some("default"));
    assert_eq!(listed.len(), 2);

    let external = Network {
        name: format!("{}_absent", guard.project),
        external: true,
        ..Default::default()
    };
    let err = engine
        .ensure_network("ext", &external, &guard.project)
        .await
        .expect_err("missing external");
    assert!(err.to_string().contains("does not exist"), "{err}");

    engine.remove_network(&spec.name).await.expect("remove");
    engine
        .remove_network(&spec.name)
        .await
        .expect("remove again is fine");
    assert_eq!(engine.find_network(&spec.name).await.expect("find"), None);
}

#[tokio::test]
async fn volumes_are_ensured_listed_and_removed() {
    let guard = Cleanup::new("vol");
    let engine = connect().await;
    let spec = Volume {
        name: format!("{}_data", guard.project),
        driver: "local".into(),
        ..Default::default()
    };
    let (name, created) = engine
        .ensure_volume("data", &spec, &guard.project)
        .await
        .expect("create");
    assert!(created);
    let (_, created_again) = engine
        .ensure_volume("data", &spec, &guard.project)
        .await
        .expect("again");
    assert!(!created_again);
    let listed = engine
        .list_project_volumes(&guard.project)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].key.as_deref()),
        (name.as_str(), Some("data"))
    );
    let external = Volume {
        name: format!("{}_absent", guard.project),
        external: true,
        ..Default::default()
    };
    assert!(engine
        .ensure_volume("ext", &external, &guard.project)
        .await
        .is_err());
    engine.remove_volume(&name).await.expect("remove");
    engine
        .remove_volume(&name)
        .await
        .expect("remove again is fine");
    assert!(engine
        .list_project_volumes(&guard.project)
        .await
        .expect("list")
        .is_empty());
}

#[tokio::test]
async fn lifecycle_waits_logs_and_listing() {
    use futures_util::StreamExt;
    let guard = Cleanup::new("life");
    let engine = connect().await;
    let job = service("job", &["sh", "-c", "echo to-out; echo to-err >&2; exit 4"]);
    let stubborn = service(
        "stubborn",
        &["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
    );
    let project = project(&guard.project, vec![job, stubborn], &["default"]);
    let job_name = up(&engine, &project, "job").await;
    let stubborn_name = up(&engine, &project, "stubborn").await;

    assert_eq!(
        engine.wait_exit(&job_name, soon(30)).await.expect("wait"),
        4
    );
    assert_eq!(
        engine
            .wait_completed(&job_name, soon(30))
            .await
            .expect("completed"),
        4
    );
    engine
        .wait_running(&stubborn_name, soon(30))
        .await
        .expect("running");
    let err = engine
        .wait_running(&job_name, soon(5))
        .await
        .expect_err("job exited");
    assert!(matches!(err, EngineError::Other(_)), "{err}");

    let lines: Vec<_> = engine
        .logs(&job_name, false, None, None, false)
        .map(|line| line.expect("log line"))
        .collect()
        .await;
    let text: Vec<_> = lines.iter().map(|l| (l.stream, l.line.as_str())).collect();
    use stackctl::engine::containers::LogStream;
    assert!(text.contains(&(LogStream::Stdout, "to-out")), "{text:?}");
    assert!(text.contains(&(LogStream::Stderr, "to-err")), "{text:?}");

    let all = engine
        .list_project_containers(&guard.project, true)
        .await
        .expect("list");
    let seen: Vec<_> = all
        .iter()
        .map(|c| (c.service.as_str(), c.replica, c.state.as_str()))
        .collect();
    assert_eq!(seen, [("job", 1, "exited"), ("stubborn", 1, "running")]);
    let expected_hash = stackctl::engine::spec::config_hash(&project.services["job"]);
    assert_eq!(all[0].config_hash, expected_hash);
    let running = engine
        .list_project_containers(&guard.project, false)
        .await
        .expect("list");
    assert_eq!(running.len(), 1);

    // The stubborn one ignores SIGTERM: stop must still finish after the grace period.
    let started = Instant::now();
    engine
        .stop_container(&stubborn_name, Some(Duration::from_secs(1)))
        .await
        .expect("stop");
    assert!(started.elapsed() < Duration::from_secs(20));
    let state = engine
        .inspect_container(&stubborn_name)
        .await
        .expect("inspect")
        .state
        .expect("state");
    assert_eq!(state.running, Some(false));

    engine
        .remove_container(&job_name, false, true)
        .await
        .expect("remove");
    engine
        .remove_container(&job_name, false, true)
        .await
        .expect("remove again is fine");
    assert!(engine
        .find_container(&job_name)
        .await
        .expect("find")
        .is_none());
}
