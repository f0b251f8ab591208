//! The loader pipeline end to end, on files written to temporary directories:
//! every validation error names file, line, field path and what was expected.

use stackctl::compose::diag::{Diagnostic, Severity};
use stackctl::compose::model::*;
use stackctl::compose::{load, LoadOptions, Loaded};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

const MIB: u64 = 1024 * 1024;

/// A project directory with files in it.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new(compose: &str) -> Fixture {
        let fixture = Fixture {
            dir: tempfile::Builder::new().prefix("proj").tempdir().unwrap(),
        };
        fixture.write("compose.yaml", compose);
        fixture
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn options(&self) -> LoadOptions {
        LoadOptions {
            cwd: self.dir.path().to_path_buf(),
            project_name: Some("test".into()),
            ..Default::default()
        }
    }

    fn load(&self) -> Result<Loaded, Vec<Diagnostic>> {
        self.load_with(self.options())
    }

    fn load_with(&self, options: LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
        load(&options).map_err(|err| err.diagnostics)
    }

    fn errors(&self) -> Vec<String> {
        match self.load() {
            Ok(_) => panic!("expected the load to fail"),
            Err(diags) => diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .collect(),
        }
    }

    fn project(&self) -> Project {
        match self.load() {
            Ok(loaded) => loaded.project,
            Err(diags) => panic!("load failed: {diags:#?}"),
        }
    }
}

/// Assert one error mentions all of `parts`.
fn assert_error(errors: &[String], parts: &[&str]) {
    assert!(
        errors.iter().any(|e| parts.iter().all(|p| e.contains(p))),
        "no error contains {parts:?}; errors: {errors:#?}"
    );
}

#[test]
fn a_valid_file_loads_into_the_model() {
    let project = Fixture::new(
        "services:\n  web:\n    image: nginx\n    ports: ['127.0.0.1:8080:80']\n    depends_on: [db]\n  db:\n    image: mariadb\n    volumes: ['data:/var/lib/mysql']\nvolumes:\n  data:\n",
    )
    .project();
    assert_eq!(project.name, "test");
    let web = &project.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx"));
    assert_eq!(web.ports[0].published, Some(8080));
    assert_eq!(web.ports[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert!(web.depends_on.contains_key("db"));
    assert!(web.networks.contains_key("default"));
    assert_eq!(project.networks["default"].name, "test_default");
    assert_eq!(project.volumes["data"].name, "test_data");
}

#[test]
fn unknown_keys_get_a_suggestion_and_a_line() {
    let errors = Fixture::new("services:\n  web:\n    imgae: nginx\n").errors();
    assert_error(
        &errors,
        &[
            "compose.yaml:3:5",
            "services.web.imgae",
            "unknown key",
            "did you mean `image`?",
        ],
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let errors =
        Fixture::new("services:\n  web:\n    image: [a, b]\n    read_only: maybe\n").errors();
    assert_error(
        &errors,
        &["services.web.image", "expected a string, got a list"],
    );
    assert_error(
        &errors,
        &["services.web.read_only", "expected true or false"],
    );
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: nginx\n    restart: sometimes\n    stop_grace_period: soon\n    ports: ['99999']\n",
    )
    .errors();
    assert!(errors.len() >= 3, "{errors:#?}");
}

#[test]
fn undefined_references_are_named() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: nginx\n    depends_on: [dbb]\n    volumes: ['dataa:/data']\n    networks: [backend]\n  db:\n    image: x\nvolumes:\n  data:\n",
    )
    .errors();
    assert_error(
        &errors,
        &["services.web.depends_on.dbb", "undefined service `dbb`"],
    );
    assert_error(
        &errors,
        &[
            "services.web.volumes[0]",
            "undefined volume `dataa`",
            "did you mean `data`?",
        ],
    );
    assert_error(
        &errors,
        &[
            "services.web.networks.backend",
            "undefined network `backend`",
        ],
    );
}

#[test]
fn dependency_cycles_are_named() {
    let errors = Fixture::new(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n",
    )
    .errors();
    assert_error(&errors, &["dependency cycle: a -> b -> c -> a"]);
}

#[test]
fn self_dependency_is_an_error() {
    let errors = Fixture::new("services:\n  a:\n    image: x\n    depends_on: [a]\n").errors();
    assert_error(&errors, &["services.a.depends_on.a", "depends on itself"]);
}

#[test]
fn service_healthy_needs_a_healthcheck() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_healthy}\n  db:\n    image: y\n",
    )
    .errors();
    assert_error(
        &errors,
        &[
            "services.web.depends_on.db",
            "service_healthy",
            "`db` has no healthcheck",
        ],
    );
}

#[test]
fn bad_ports_and_ranges() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\n    ports: ['70000:80', '90-80:80', '8000-8002:80-81', 'abc', {target: 0}]\n",
    )
    .errors();
    assert_error(&errors, &["services.web.ports[0]", "out of range"]);
    assert_error(
        &errors,
        &["services.web.ports[1]", "start is above the end"],
    );
    assert_error(&errors, &["services.web.ports[2]", "differ in length"]);
    assert_error(
        &errors,
        &["services.web.ports[3]", "invalid container port"],
    );
    assert_error(&errors, &["services.web.ports[4]", "out of range"]);
}

#[test]
fn the_same_host_port_twice_is_an_error() {
    let errors = Fixture::new(
        "services:\n  a:\n    image: x\n    ports: ['8080:80']\n  b:\n    image: x\n    ports: ['127.0.0.1:8080:81']\n",
    )
    .errors();
    assert_error(
        &errors,
        &[
            "services.b.ports",
            "host port 8080/tcp is already published by service `a`",
        ],
    );
}

#[test]
fn different_addresses_or_protocols_may_share_a_port() {
    Fixture::new(
        "services:\n  a:\n    image: x\n    ports: ['127.0.0.1:8080:80', '8080:80/udp']\n  b:\n    image: x\n    ports: ['127.0.0.2:8080:81']\n",
    )
    .project();
}

#[test]
fn container_name_with_replicas_is_an_error() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\n    container_name: web\n    deploy: {replicas: 2}\n",
    )
    .errors();
    assert_error(&errors, &["services.web.container_name", "2 replicas"]);
}

#[test]
fn reservation_above_limit_and_tiny_limits() {
    let errors = Fixture::new(
        "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        limits: {memory: 64M, cpus: '0.5'}\n        reservations: {memory: 128M, cpus: '1'}\n  b:\n    image: x\n    mem_limit: 4m\n",
    )
    .errors();
    assert_error(
        &errors,
        &[
            "services.a",
            "memory reservation 128MiB is above the memory limit 64MiB",
        ],
    );
    assert_error(
        &errors,
        &["services.a", "cpu reservation 1 is above the cpu limit 0.5"],
    );
    assert_error(&errors, &["services.b", "below Docker's minimum of 6MiB"]);
}

#[test]
fn unknown_restart_policy_and_bad_durations() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\n    restart: sometimes\n    healthcheck:\n      test: ['CMD', 'true']\n      interval: 10\n",
    )
    .errors();
    assert_error(
        &errors,
        &["services.web.restart", "unknown restart policy `sometimes`"],
    );
    assert_error(
        &errors,
        &["services.web.healthcheck.interval", "expected a duration"],
    );
}

#[test]
fn invalid_service_and_project_names() {
    let errors = Fixture::new("services:\n  _web:\n    image: x\n").errors();
    assert_error(&errors, &["services._web", "invalid service name"]);

    let fixture = Fixture::new("name: My_Project\nservices:\n  web:\n    image: x\n");
    let mut options = fixture.options();
    options.project_name = None;
    let errors: Vec<String> = fixture
        .load_with(options)
        .unwrap_err()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_error(
        &errors,
        &["invalid project name `My_Project`", "lower-case"],
    );
}

#[test]
fn a_missing_env_file_is_named() {
    let errors =
        Fixture::new("services:\n  web:\n    image: x\n    env_file: missing.env\n").errors();
    assert_error(
        &errors,
        &["services.web.env_file[0]", "missing.env", "cannot be read"],
    );
}

#[test]
fn optional_env_files_may_be_missing() {
    Fixture::new(
        "services:\n  web:\n    image: x\n    env_file:\n      - path: missing.env\n        required: false\n",
    )
    .project();
}

#[test]
fn duplicate_keys_are_refused_with_their_line() {
    let errors = Fixture::new("services:\n  web:\n    image: x\n    image: y\n").errors();
    assert_error(
        &errors,
        &["compose.yaml:4:5", "services.web.image", "duplicate key"],
    );
}

#[test]
fn empty_files_and_files_without_services() {
    assert_error(&Fixture::new("").errors(), &["the file is empty"]);
    assert_error(
        &Fixture::new("# just a comment\n").errors(),
        &["the file is empty"],
    );
    assert_error(
        &Fixture::new("volumes: {}\n").errors(),
        &["no services defined"],
    );
    assert_error(
        &Fixture::new("services: {}\n").errors(),
        &["no services defined"],
    );
}

#[test]
fn interpolation_reads_dot_env_under_the_process_environment() {
    let fixture = Fixture::new(
        "services:\n  web:\n    image: \"nginx:${TAG:-latest}\"\n    environment:\n      A: ${FROM_FILE}\n      B: ${BOTH}\n      C: $${LITERAL}\n",
    );
    fixture.write(".env", "FROM_FILE=file\nBOTH=file\nTAG=1.25\n");
    let mut options = fixture.options();
    options.environment = HashMap::from([("BOTH".to_string(), "process".to_string())]);
    let project = fixture.load_with(options).unwrap().project;
    let web = &project.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx:1.25"));
    assert_eq!(web.environment["A"].as_deref(), Some("file"));
    assert_eq!(web.environment["B"].as_deref(), Some("process"));
    assert_eq!(web.environment["C"].as_deref(), Some("${LITERAL}"));
}

#[test]
fn env_file_flag_replaces_dot_env() {
    let fixture = Fixture::new("services:\n  web:\n    image: \"nginx:${TAG}\"\n");
    fixture.write(".env", "TAG=from-dot-env\n");
    let other = fixture.write("other.env", "TAG=from-flag\n");
    let mut options = fixture.options();
    options.env_file = Some(other);
    let project = fixture.load_with(options).unwrap().project;
    assert_eq!(
        project.services["web"].image.as_deref(),
        Some("nginx:from-flag")
    );
}

#[test]
fn unset_variables_warn_and_become_empty() {
    let loaded =
        Fixture::new("services:\n  web:\n    image: x\n    environment: [\"A=${NOPE}\"]\n")
            .load()
            .unwrap();
    assert_eq!(
        loaded.project.services["web"].environment["A"].as_deref(),
        Some("")
    );
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.to_string().contains("NOPE")));
}

#[test]
fn required_variables_fail_with_their_message() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\n    environment:\n      PW: ${DB_PASSWORD:?set it in .env}\n",
    )
    .errors();
    assert_error(
        &errors,
        &[
            "compose.yaml:5:7",
            "services.web.environment.PW",
            "DB_PASSWORD",
            "set it in .env",
        ],
    );
}

#[test]
fn three_resource_forms_normalize_to_one() {
    let project = Fixture::new(
        "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        limits: {memory: 256M, cpus: '0.5', pids: 100}\n        reservations: {memory: 64M}\n  b:\n    image: x\n    mem_limit: 128m\n    mem_reservation: 32m\n    cpus: 0.25\n    cpu_shares: 512\n    pids_limit: 50\n  c:\n    image: x\n    resources:\n      limits: {memory: 64MiB, cpus: 1}\n      reservations: {memory: 16M}\n",
    )
    .project();
    let spec = |name: &str| project.services[name].resources.clone();
    assert_eq!(spec("a").limits.memory, Some(256 * MIB));
    assert_eq!(spec("a").limits.cpus, Some(0.5));
    assert_eq!(spec("a").limits.pids, Some(100));
    assert_eq!(spec("a").reservations.memory, Some(64 * MIB));
    assert_eq!(spec("b").limits.memory, Some(128 * MIB));
    assert_eq!(spec("b").reservations.memory, Some(32 * MIB));
    assert_eq!(spec("b").limits.cpus, Some(0.25));
    assert_eq!(spec("b").cpu_shares, Some(512));
    assert_eq!(spec("b").limits.pids, Some(50));
    assert_eq!(spec("c").limits.memory, Some(64 * MIB));
    assert_eq!(spec("c").limits.cpus, Some(1.0));
    assert_eq!(spec("c").reservations.memory, Some(16 * MIB));
}

#[test]
fn a_limit_given_twice_with_different_values_is_an_error() {
    let errors = Fixture::new(
        "services:\n  a:\n    image: x\n    mem_limit: 128m\n    deploy:\n      resources:\n        limits: {memory: 256M}\n",
    )
    .errors();
    assert_error(
        &errors,
        &[
            "services.a.mem_limit",
            "memory limit given twice",
            "128MiB",
            "256MiB",
        ],
    );
    // The same value twice is fine.
    Fixture::new(
        "services:\n  a:\n    image: x\n    mem_limit: 256m\n    deploy:\n      resources:\n        limits: {memory: 256MiB}\n",
    )
    .project();
}

#[test]
fn project_name_precedence() {
    let fixture = Fixture::new("name: fromfile\nservices:\n  web:\n    image: x\n");
    let mut options = fixture.options();
    options.environment = HashMap::from([("COMPOSE_PROJECT_NAME".into(), "fromenv".into())]);
    assert_eq!(
        fixture.load_with(options.clone()).unwrap().project.name,
        "test"
    );
    options.project_name = None;
    assert_eq!(
        fixture.load_with(options.clone()).unwrap().project.name,
        "fromenv"
    );
    options.environment.clear();
    assert_eq!(fixture.load_with(options).unwrap().project.name, "fromfile");

    let fixture = Fixture::new("services:\n  web:\n    image: x\n");
    let mut options = fixture.options();
    options.project_name = None;
    let name = fixture.load_with(options).unwrap().project.name;
    let dir_name = fixture
        .dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase();
    assert_eq!(name, dir_name);
}

#[test]
fn later_files_override_earlier_ones() {
    let fixture = Fixture::new(
        "services:\n  web:\n    image: x:1\n    ports: ['8080:80']\n    environment: {A: '1'}\n",
    );
    let override_file = fixture.write(
        "override.yaml",
        "services:\n  web:\n    image: x:2\n    ports: ['8443:443']\n    environment: {B: '2'}\n",
    );
    let mut options = fixture.options();
    options.files = vec![PathBuf::from("compose.yaml"), override_file];
    let web = fixture.load_with(options).unwrap().project.services["web"].clone();
    assert_eq!(web.image.as_deref(), Some("x:2"));
    assert_eq!(web.ports.len(), 2);
    assert_eq!(web.environment.len(), 2);
}

#[test]
fn errors_name_the_file_and_line_where_each_field_was_written() {
    // Locations are found only when there is something to report; with two
    // files, a field the override sets is located in the override, the
    // others in the base file.
    let fixture = Fixture::new(
        "services:\n  web:\n    image: x:1\n    restart: sometimes\n  db:\n    image: y\n",
    );
    let override_file = fixture.write("override.yaml", "services:\n  db:\n    mem_limit: lots\n");
    let mut options = fixture.options();
    options.files = vec![PathBuf::from("compose.yaml"), override_file];
    let errors: Vec<String> = fixture
        .load_with(options)
        .unwrap_err()
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert_error(
        &errors,
        &["compose.yaml:4:5", "services.web.restart", "sometimes"],
    );
    assert_error(
        &errors,
        &["override.yaml:3:5", "services.db.mem_limit", "lots"],
    );
}

#[test]
fn default_file_names_are_found_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  old:\n    image: x\n",
    )
    .unwrap();
    let options = LoadOptions {
        cwd: dir.path().to_path_buf(),
        project_name: Some("t".into()),
        ..Default::default()
    };
    assert!(load(&options).unwrap().project.services.contains_key("old"));
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  new:\n    image: x\n",
    )
    .unwrap();
    assert!(load(&options).unwrap().project.services.contains_key("new"));
}

#[test]
fn no_compose_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let options = LoadOptions {
        cwd: dir.path().to_path_buf(),
        ..Default::default()
    };
    let err = load(&options).unwrap_err().to_string();
    assert!(err.contains("no compose file found"), "{err}");
}

#[test]
fn profiles_disable_services_unless_active() {
    let fixture = Fixture::new(
        "services:\n  web:\n    image: x\n  cache:\n    image: r\n    profiles: [cache]\n",
    );
    let project = fixture.project();
    assert!(!project.services.contains_key("cache"));
    assert!(project.disabled_services.contains_key("cache"));
    let mut options = fixture.options();
    options.profiles = vec!["cache".into()];
    assert!(fixture
        .load_with(options)
        .unwrap()
        .project
        .services
        .contains_key("cache"));
}

#[test]
fn depending_on_a_disabled_service_says_which_profile() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\n    depends_on: [cache]\n  cache:\n    image: r\n    profiles: [cache]\n",
    )
    .errors();
    assert_error(&errors, &["`cache` is not enabled", "profile cache"]);
}

#[test]
fn every_supported_service_key_is_read() {
    let fixture = Fixture::new(
        r#"services:
  web:
    image: x
    build:
      context: ./app
      dockerfile: Dockerfile.dev
      args: [VERSION=1]
      target: prod
    command: sh -c "echo 'hi there'"
    entrypoint: ["/bin/init"]
    environment: [A=1, B]
    env_file: app.env
    expose: ["3000", "4000-4001/udp"]
    volumes:
      - ./html:/usr/share/html:ro
      - type: tmpfs
        target: /cache
      - /anon
    networks:
      front:
        aliases: [www]
    links: ["cache:c"]
    healthcheck:
      test: curl -f http://localhost
      interval: 1m30s
      timeout: 5s
      retries: 3
      start_period: 10s
    restart: on-failure:3
    labels: {tier: web}
    hostname: web1
    user: 1000
    working_dir: /app
    stop_signal: SIGQUIT
    stop_grace_period: 20s
    init: true
    read_only: true
    tmpfs: /run
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    extra_hosts: ["host.local:10.0.0.1"]
    logging:
      driver: json-file
      options: {max-size: 10m}
    x-owner: team-a
  cache:
    image: z
  db:
    image: y
    volumes_from: ["web:ro"]
    network_mode: "service:web"
networks:
  front:
"#,
    );
    fixture.write("app.env", "FROM_FILE=1\nA=overridden-by-environment\n");
    let project = fixture.project();
    let web = &project.services["web"];
    let build = web.build.as_ref().unwrap();
    assert!(build.context.ends_with("app"));
    assert_eq!(build.dockerfile.as_deref(), Some("Dockerfile.dev"));
    assert_eq!(build.target.as_deref(), Some("prod"));
    assert_eq!(
        web.command.as_ref().unwrap(),
        &vec!["sh", "-c", "echo 'hi there'"]
    );
    assert_eq!(web.environment["A"].as_deref(), Some("1"));
    assert_eq!(web.environment["FROM_FILE"].as_deref(), Some("1"));
    assert_eq!(web.volumes[0].kind, MountType::Bind);
    assert!(web.volumes[0].read_only);
    assert!(Path::new(web.volumes[0].source.as_ref().unwrap()).is_absolute());
    assert_eq!(web.volumes[1].kind, MountType::Tmpfs);
    assert_eq!(web.volumes[2].source, None);
    assert_eq!(web.networks["front"].aliases, vec!["www"]);
    let check = web.healthcheck.as_ref().unwrap();
    assert_eq!(check.test, vec!["CMD-SHELL", "curl -f http://localhost"]);
    assert_eq!(check.interval, Some(Duration::from_secs(90)));
    assert_eq!(web.restart, Some(RestartPolicy::OnFailure(Some(3))));
    assert_eq!(web.user.as_deref(), Some("1000"));
    assert_eq!(web.stop_grace_period, Some(Duration::from_secs(20)));
    assert_eq!(
        web.ulimits["nofile"],
        Ulimit {
            soft: 1024,
            hard: 2048
        }
    );
    assert_eq!(
        web.ulimits["nproc"],
        Ulimit {
            soft: 512,
            hard: 512
        }
    );
    assert_eq!(web.logging.as_ref().unwrap().options["max-size"], "10m");
    assert!(web.extensions.contains_key("x-owner"));
    assert_eq!(
        project.services["db"].network_mode.as_deref(),
        Some("service:web")
    );
    assert!(project.services["db"].networks.is_empty());
    assert_config_reads_back(&project);
}

/// `stackctl config`'s YAML, read by serde_yaml, is the model as serde_yaml
/// itself sees it: nothing lost, retyped or reordered by our emitter.
fn assert_config_reads_back(project: &Project) {
    let text = stackctl::commands::config::render(project, stackctl::cli::DataFormat::Yaml)
        .expect("the model renders");
    let read_back: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    assert_eq!(read_back, serde_yaml::to_value(project).unwrap(), "{text}");
}

#[test]
fn the_extagram_stack_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = LoadOptions {
        cwd: root.to_path_buf(),
        files: vec![root.join("stacks/extagram/compose.yaml")],
        env_file: Some(root.join("stacks/extagram/.env.example")),
        ..Default::default()
    };
    let project = load(&options).unwrap_or_else(|err| panic!("{err}")).project;
    assert_eq!(project.name, "extagram");
    let names: Vec<_> = project.services.keys().cloned().collect();
    assert_eq!(
        names,
        [
            "mysql_db",
            "nginx_app",
            "nginx_proxy",
            "nginx_static",
            "php_upload"
        ]
    );
    let total: u64 = project
        .services
        .values()
        .map(|s| s.resources.limits.memory.unwrap() * s.replicas as u64)
        .sum();
    assert_eq!(total, 1408 * MIB);
    assert!(project.services["nginx_proxy"]
        .extensions
        .contains_key("x-stackctl"));
    assert_config_reads_back(&project);
}

#[test]
fn the_examples_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for example in ["hello", "resources", "webapp"] {
        let options = LoadOptions {
            cwd: root.join("examples").join(example),
            ..Default::default()
        };
        match load(&options) {
            Ok(loaded) => assert_config_reads_back(&loaded.project),
            Err(err) => panic!("examples/{example}: {err}"),
        }
    }
}

#[test]
fn top_level_networks_and_volumes() {
    let project = Fixture::new(
        r#"services:
  web:
    image: x
    networks: [front, shared]
    volumes: [data:/data, ext:/ext]
networks:
  front:
    internal: true
    ipam:
      config:
        - subnet: 172.28.0.0/16
  shared:
    external: true
volumes:
  data:
    name: fixed-name
    labels: {backup: "yes"}
  ext:
    external: true
"#,
    )
    .project();
    let front = &project.networks["front"];
    assert_eq!(front.name, "test_front");
    assert!(front.internal);
    assert_eq!(front.subnets, vec!["172.28.0.0/16"]);
    assert_eq!(project.networks["shared"].name, "shared");
    assert!(project.networks["shared"].external);
    assert_eq!(project.volumes["data"].name, "fixed-name");
    assert_eq!(project.volumes["data"].labels["backup"], "yes");
    assert_eq!(project.volumes["ext"].name, "ext");
    assert!(!project.networks.contains_key("default"));
}

#[test]
fn bad_subnets_are_refused() {
    let errors = Fixture::new(
        "services:\n  web:\n    image: x\nnetworks:\n  n:\n    ipam:\n      config: [{subnet: 300.1.0.0/16}]\n",
    )
    .errors();
    assert_error(
        &errors,
        &["networks.n.ipam.config[0].subnet", "invalid subnet"],
    );
}

#[test]
fn x_stackctl_extensions_are_validated() {
    let errors = Fixture::new(
        r#"services:
  proxy:
    image: x
  app:
    image: y
    x-stackctl:
      bluegreen: {router: proxy, port: 99999, drian: 1s}
  other:
    image: z
    x-stackctl:
      bluegreen: {router: proxy}
"#,
    )
    .errors();
    assert_error(
        &errors,
        &["services.app.x-stackctl.bluegreen", "unknown key `drian`"],
    );
    assert_error(
        &errors,
        &[
            "services.other.x-stackctl.bluegreen.router",
            "not declared as a router",
        ],
    );
}
