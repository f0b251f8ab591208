//! Acceptance tests for `stackctl up` and `stackctl down`: the real binary
//! against the real engine, checked with the docker CLI.
//!
//! Every test writes its compose file into its own temporary directory, runs
//! under its own project name and holds a `Cleanup` guard, so containers,
//! networks and volumes go away even when an assertion fails. Nothing sleeps
//! blindly: waits poll the engine with a deadline.

mod common;

use common::{
    docker, docker_ok, ensure_test_images, free_port, unique_project, wait_for, Cleanup, BUSYBOX,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long anything in these tests may take to become true.
const DEADLINE: Duration = Duration::from_secs(30);

/// One test's stack: its directory, compose file, project and cleanup guard.
struct Stack {
    project: String,
    file: PathBuf,
    cleanup: Cleanup,
    // Dropped last, after the engine objects are gone.
    dir: tempfile::TempDir,
}

impl Stack {
    /// A new project named after `prefix` whose compose file is `yaml`
    /// (`{IMAGE}` stands for the busybox test image).
    fn new(prefix: &str, yaml: &str) -> Stack {
        ensure_test_images();
        let project = unique_project(&format!("acc-{prefix}"));
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("compose.yaml");
        let stack = Stack {
            cleanup: Cleanup::new(&project),
            project,
            file,
            dir,
        };
        stack.write(yaml);
        stack
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Replace the compose file.
    fn write(&self, yaml: &str) {
        std::fs::write(&self.file, yaml.replace("{IMAGE}", BUSYBOX)).expect("write compose file");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackctl"));
        command
            .arg("-f")
            .arg(&self.file)
            .arg("-p")
            .arg(&self.project)
            .args(args)
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_PROFILES")
            .env("NO_COLOR", "1");
        command
    }

    /// Run stackctl with `args`, whatever the outcome.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run stackctl {args:?}: {err}"))
    }

    /// Run stackctl with `args` and insist that it succeeds.
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "stackctl {args:?} failed ({:?}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        out
    }

    fn up(&self, extra: &[&str]) -> Output {
        let mut args = vec!["up", "-d"];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    fn down(&self, extra: &[&str]) -> Output {
        let mut args = vec!["down"];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    /// `<project>-<service>-<n>`, as compose v2 names containers.
    fn name(&self, service: &str, replica: u32) -> String {
        format!("{}-{service}-{replica}", self.project)
    }

    fn filter(&self) -> String {
        format!("label={}={}", common::PROJECT_LABEL, self.project)
    }

    /// Container ID of a replica, `None` when it does not exist.
    fn id(&self, service: &str, replica: u32) -> Option<String> {
        let out = docker(&[
            "container",
            "inspect",
            "-f",
            "{{.Id}}",
            &self.name(service, replica),
        ]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `docker inspect -f FORMAT` of a replica, trimmed.
    fn inspect(&self, service: &str, format: &str) -> String {
        docker_ok(&["inspect", "-f", format, &self.name(service, 1)])
            .trim()
            .to_string()
    }

    /// `docker exec` in replica 1 of `service`.
    fn exec(&self, service: &str, command: &[&str]) -> Output {
        let name = self.name(service, 1);
        let mut args = vec!["exec", name.as_str()];
        args.extend_from_slice(command);
        docker(&args)
    }

    /// Poll `docker exec` until it succeeds; its stdout.
    fn exec_eventually(&self, service: &str, command: &[&str]) -> String {
        wait_for(DEADLINE, || {
            let out = self.exec(service, command);
            out.status.success().then(|| stdout(&out))
        })
        .unwrap_or_else(|| {
            let out = self.exec(service, command);
            panic!(
                "`{}` in {service} never succeeded: {}{}",
                command.join(" "),
                stdout(&out),
                stderr(&out)
            )
        })
    }

    /// Names of the project's containers, all states, sorted.
    fn containers(&self) -> Vec<String> {
        listed(&[
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            &self.filter(),
        ])
    }

    fn networks(&self) -> Vec<String> {
        listed(&[
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &self.filter(),
        ])
    }

    fn volumes(&self) -> Vec<String> {
        listed(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &self.filter(),
        ])
    }
}

fn listed(args: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = docker_ok(args)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect();
    names.sort();
    names
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// GET `/` on 127.0.0.1:`port` with HTTP/1.0; the whole response.
fn http_get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// An engine timestamp (RFC 3339 with nanoseconds, `Z` or `±hh:mm`) as
/// nanoseconds since the epoch. Go trims trailing zeros of the fraction, so
/// the strings themselves do not sort.
fn unix_nanos(stamp: &str) -> i128 {
    let stamp = stamp.trim();
    let parse = |range: std::ops::Range<usize>| -> i64 {
        stamp
            .get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad timestamp `{stamp}`"))
    };
    let (year, month, day) = (parse(0..4), parse(5..7), parse(8..10));
    let (hour, minute, second) = (parse(11..13), parse(14..16), parse(17..19));
    let rest = &stamp[19..];
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(after) => {
            let end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        }
        None => ("", rest),
    };
    let nanos: i64 = format!("{fraction:0<9}")[..9].parse().expect("fraction");
    let offset_seconds = match zone {
        "Z" | "" => 0,
        zone => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hours: i64 = zone[1..3].parse().expect("zone hours");
            let minutes: i64 = zone[4..6].parse().expect("zone minutes");
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    i128::from(seconds) * 1_000_000_000 + i128::from(nanos)
}

#[test]
fn timestamps_parse_with_trimmed_fractions_and_offsets() {
    assert_eq!(unix_nanos("1970-01-01T00:00:01Z"), 1_000_000_000);
    assert_eq!(unix_nanos("1970-01-01T00:00:00.12Z"), 120_000_000);
    // As strings these sort the wrong way round ('Z' > '3').
    assert!("2024-03-01T10:00:00.12Z" > "2024-03-01T10:00:00.123Z");
    assert!(unix_nanos("2024-03-01T10:00:00.12Z") < unix_nanos("2024-03-01T10:00:00.123Z"));
    assert_eq!(
        unix_nanos("2024-03-01T12:00:00.5+02:00"),
        unix_nanos("2024-03-01T10:00:00.5Z")
    );
    assert_eq!(
        unix_nanos("2000-03-01T00:00:00Z"),
        951_868_800 * 1_000_000_000
    );
}

/// A service that serves `text` over HTTP on 8080 (busybox httpd).
fn httpd(text: &str) -> String {
    format!(
        r#"["sh", "-c", "mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 8080 -h /www"]"#
    )
}

// ---------------------------------------------------------------- limits

#[test]
fn limits_of_all_three_resource_forms_reach_the_engine_and_the_cgroups() {
    let stack = Stack::new(
        "limits",
        r#"
services:
  standard:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    deploy:
      resources:
        limits: { memory: 64M, cpus: "0.5", pids: 64 }
        reservations: { memory: 32M }
  legacy:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    mem_limit: 48m
    mem_reservation: 16m
    cpus: 0.25
    cpu_shares: 512
    pids_limit: 32
  service:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    resources:
      limits: { memory: 24M, cpus: "0.75", pids: 16 }
      reservations: { memory: 8M }
"#,
    );
    stack.up(&[]);

    const MIB: i64 = 1024 * 1024;
    // service → (Memory, MemoryReservation, NanoCpus, CpuShares, PidsLimit,
    //            cfs_quota_us with the default 100 ms period, cpu.shares)
    type Limits = (i64, i64, i64, i64, i64, i64, i64);
    let expected: [(&str, Limits); 3] = [
        (
            "standard",
            (64 * MIB, 32 * MIB, 500_000_000, 0, 64, 50_000, 1024),
        ),
        (
            "legacy",
            (48 * MIB, 16 * MIB, 250_000_000, 512, 32, 25_000, 512),
        ),
        (
            "service",
            (24 * MIB, 8 * MIB, 750_000_000, 0, 16, 75_000, 1024),
        ),
    ];
    for (service, (memory, reservation, nano_cpus, shares, pids, quota, cg_shares)) in expected {
        let host = stack.inspect(
            service,
            "{{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}} {{.HostConfig.NanoCpus}} \
             {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}",
        );
        assert_eq!(
            host,
            format!("{memory} {reservation} {nano_cpus} {shares} {pids}"),
            "HostConfig of {service}: Memory MemoryReservation NanoCpus CpuShares PidsLimit"
        );
        let read = |path: &str| -> i64 {
            let text = stack.exec_eventually(service, &["cat", path]);
            text.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{service}: {path} holds `{text}`"))
        };
        assert_eq!(
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            memory,
            "{service}: memory.limit_in_bytes"
        );
        assert_eq!(
            read("/sys/fs/cgroup/memory/memory.soft_limit_in_bytes"),
            reservation,
            "{service}: memory.soft_limit_in_bytes (the reservation)"
        );
        assert_eq!(
            read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
            100_000,
            "{service}: cpu.cfs_period_us"
        );
        assert_eq!(
            read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
            quota,
            "{service}: cpu.cfs_quota_us"
        );
        assert_eq!(
            read("/sys/fs/cgroup/cpu/cpu.shares"),
            cg_shares,
            "{service}: cpu.shares"
        );
        assert_eq!(
            read("/sys/fs/cgroup/pids/pids.max"),
            pids,
            "{service}: pids.max"
        );
    }
    stack.down(&[]);
    assert!(stack.containers().is_empty());
}

// ---------------------------------------------------------------- networking

#[test]
fn services_reach_each_other_by_service_name_and_alias() {
    let stack = Stack::new(
        "dns",
        &format!(
            r#"
services:
  web:
    image: {{IMAGE}}
    command: {}
    init: true
    networks:
      back:
        aliases: [www.internal]
  client:
    image: {{IMAGE}}
    command: ["sleep", "3600"]
    init: true
    networks: [back]
networks:
  back: {{}}
"#,
            httpd("served-by-web")
        ),
    );
    stack.up(&[]);
    for host in ["web", "www.internal"] {
        let url = format!("http://{host}:8080/");
        let body = stack.exec_eventually("client", &["wget", "-q", "-O-", &url]);
        assert_eq!(body.trim(), "served-by-web", "GET {url} from client");
    }
    stack.down(&[]);
}

// ---------------------------------------------------------------- ordering

#[test]
fn start_order_follows_the_dependency_waves() {
    let stack = Stack::new(
        "order",
        r#"
services:
  top:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    depends_on: [middle]
  middle:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    depends_on: [bottom]
  bottom:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    stack.up(&[]);
    let started = |service: &str| unix_nanos(&stack.inspect(service, "{{.State.StartedAt}}"));
    let created = |service: &str| unix_nanos(&stack.inspect(service, "{{.Created}}"));
    let (bottom, middle, top) = (started("bottom"), started("middle"), started("top"));
    assert!(
        bottom < middle,
        "bottom started at {bottom}, middle at {middle}"
    );
    assert!(middle < top, "middle started at {middle}, top at {top}");
    // Waves: a dependent is not even created before its dependency started.
    assert!(
        bottom < created("middle"),
        "middle created before bottom started"
    );
    assert!(middle < created("top"), "top created before middle started");
    stack.down(&[]);
}

#[test]
fn service_healthy_creates_the_dependent_only_once_the_dependency_is_healthy() {
    // db fails its checks until /tmp/ready exists, 1.5 s after it starts;
    // app must wait for that.
    let stack = Stack::new(
        "healthy",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 1.5 && touch /tmp/ready && exec sleep 3600"]
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 2s
      retries: 3
      start_period: 20s
  app:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    depends_on:
      db:
        condition: service_healthy
"#,
    );
    stack.up(&[]);
    assert_eq!(stack.inspect("db", "{{.State.Health.Status}}"), "healthy");
    let db_started = unix_nanos(&stack.inspect("db", "{{.State.StartedAt}}"));
    let app_created = unix_nanos(&stack.inspect("app", "{{.Created}}"));
    // db cannot pass a check before /tmp/ready exists.
    assert!(
        app_created > db_started + 1_500_000_000,
        "app created {} ms after db started: it did not wait for db to be healthy",
        (app_created - db_started) / 1_000_000
    );
    // And not before the first passing check ended. The log keeps the last
    // five runs: the first pass is known only while a failure precedes it.
    let log = stack.inspect(
        "db",
        r#"{{range .State.Health.Log}}{{.ExitCode}} {{.End.UnixNano}}{{"\n"}}{{end}}"#,
    );
    let runs: Vec<(String, i128)> = log
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(code, end)| (code.to_string(), end.parse().expect("nanos")))
        .collect();
    let first_pass = runs.iter().position(|(code, _)| code == "0");
    assert!(first_pass.is_some(), "no passing check in the log:\n{log}");
    if let Some(index) = first_pass.filter(|index| *index > 0) {
        let passed_at = runs[index].1;
        assert!(
            app_created > passed_at,
            "app created at {app_created}, before db's first passing check ended at {passed_at}\n{log}"
        );
    }
    stack.down(&[]);
}

#[test]
fn an_unhealthy_dependency_stops_up_with_a_clear_report() {
    let stack = Stack::new(
        "unhealthy",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    healthcheck:
      test: ["CMD", "sh", "-c", "echo probe-says-no; exit 1"]
      interval: 200ms
      timeout: 2s
      retries: 2
  app:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    depends_on:
      db:
        condition: service_healthy
  proxy:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    depends_on: [app]
"#,
    );
    let out = stack.run(&["up", "-d"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr:\n{err}");
    let db = stack.name("db", 1);
    assert!(err.contains(&db), "stderr names the container {db}:\n{err}");
    assert!(err.contains("unhealthy"), "stderr says unhealthy:\n{err}");
    assert!(
        err.contains("probe-says-no"),
        "stderr shows the last health output:\n{err}"
    );
    assert!(
        err.contains("up and running: db"),
        "stderr says what runs:\n{err}"
    );
    let not_started = err
        .lines()
        .find(|line| line.contains("not started"))
        .unwrap_or_else(|| panic!("stderr says what did not start:\n{err}"));
    assert!(not_started.contains("proxy"), "{not_started}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(stack.id("app", 1), None, "app must not have been created");
    assert_eq!(
        stack.id("proxy", 1),
        None,
        "proxy must not have been created"
    );
    assert_eq!(stack.inspect("db", "{{.State.Running}}"), "true");
    stack.down(&[]);
    assert!(stack.containers().is_empty());
}

// ---------------------------------------------------------------- OOM

#[test]
fn a_container_past_its_memory_limit_is_oom_killed_and_the_others_keep_running() {
    let stack = Stack::new(
        "oom",
        r#"
services:
  hog:
    image: {IMAGE}
    # One endless line: tail buffers it all.
    command: ["tail", "/dev/zero"]
    mem_limit: 16m
  steady:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    mem_limit: 16m
"#,
    );
    stack.up(&[]);
    let state = wait_for(DEADLINE, || {
        let state = stack.inspect("hog", "{{.State.Status}} {{.State.OOMKilled}}");
        (state != "running true" && state != "running false" && state != "created false")
            .then_some(state)
    })
    .expect("hog never stopped");
    assert_eq!(state, "exited true", "hog: Status OOMKilled");
    assert_eq!(
        stack.inspect("steady", "{{.State.Status}} {{.State.OOMKilled}}"),
        "running false"
    );
    stack.down(&[]);
    assert!(stack.containers().is_empty());
}

// ---------------------------------------------------------------- volumes

#[test]
fn named_volume_data_survives_down_and_up_and_goes_with_down_v() {
    let stack = Stack::new(
        "volume",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    volumes:
      - data:/data
volumes:
  data: {}
"#,
    );
    stack.up(&[]);
    let volume = format!("{}_data", stack.project);
    assert_eq!(stack.volumes(), vec![volume.clone()]);
    let write = stack.exec("db", &["sh", "-c", "echo kept-across-down > /data/file"]);
    assert!(write.status.success(), "{}", stderr(&write));

    stack.down(&[]);
    assert!(stack.containers().is_empty());
    assert_eq!(
        stack.volumes(),
        vec![volume.clone()],
        "down keeps the volume"
    );

    stack.up(&[]);
    let read = stack.exec_eventually("db", &["cat", "/data/file"]);
    assert_eq!(read.trim(), "kept-across-down");

    stack.down(&["-v"]);
    assert!(stack.containers().is_empty());
    assert!(stack.volumes().is_empty(), "down -v removes the volume");
    assert!(!docker(&["volume", "inspect", &volume]).status.success());
}

#[test]
fn down_removes_containers_and_networks_but_keeps_named_volumes() {
    let stack = Stack::new(
        "downkeep",
        r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    volumes: [data:/data]
    networks: [front, back]
  worker:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    volumes: [data:/data]
    networks: [back]
networks:
  front: {}
  back: {}
volumes:
  data: {}
"#,
    );
    stack.up(&[]);
    assert_eq!(stack.containers().len(), 2);
    let p = &stack.project;
    assert_eq!(
        stack.networks(),
        vec![format!("{p}_back"), format!("{p}_front")]
    );
    assert_eq!(stack.volumes(), vec![format!("{p}_data")]);

    stack.down(&[]);
    assert!(
        stack.containers().is_empty(),
        "containers left: {:?}",
        stack.containers()
    );
    assert!(
        stack.networks().is_empty(),
        "networks left: {:?}",
        stack.networks()
    );
    assert_eq!(stack.volumes(), vec![format!("{p}_data")]);
}

// ---------------------------------------------------------------- convergence

#[test]
fn a_second_up_recreates_nothing() {
    let stack = Stack::new(
        "idem",
        r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
    environment: { MODE: one }
    depends_on: [db]
  db:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    stack.up(&[]);
    let before = (stack.id("web", 1), stack.id("db", 1));
    assert!(before.0.is_some() && before.1.is_some());
    let out = stack.up(&[]);
    assert!(
        stdout(&out).contains("Nothing to do"),
        "stdout of the second up:\n{}",
        stdout(&out)
    );
    assert_eq!((stack.id("web", 1), stack.id("db", 1)), before);
    stack.down(&[]);
}

#[test]
fn a_changed_service_is_recreated_alone() {
    let file = |mode: &str| {
        format!(
            r#"
services:
  web:
    image: {{IMAGE}}
    command: ["sleep", "3600"]
    init: true
    environment: {{ MODE: {mode} }}
    depends_on: [db]
  db:
    image: {{IMAGE}}
    command: ["sleep", "3600"]
    init: true
"#
        )
    };
    let stack = Stack::new("changed", &file("one"));
    stack.up(&[]);
    let (web, db) = (stack.id("web", 1).unwrap(), stack.id("db", 1).unwrap());

    stack.write(&file("two"));
    stack.up(&[]);
    let new_web = stack.id("web", 1).expect("web exists");
    assert_ne!(new_web, web, "web changed: it must be recreated");
    assert_eq!(
        stack.id("db", 1).as_deref(),
        Some(db.as_str()),
        "db unchanged"
    );
    assert_eq!(stack.inspect("web", "{{.State.Running}}"), "true");
    let env = stack.inspect("web", "{{range .Config.Env}}{{.}} {{end}}");
    assert!(env.contains("MODE=two"), "{env}");
    // The replaced container is gone, not parked under another name.
    assert_eq!(stack.containers().len(), 2, "{:?}", stack.containers());
    stack.down(&[]);
}

#[test]
fn scale_up_then_down_removes_the_extra_replicas() {
    let stack = Stack::new(
        "scale",
        r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    stack.up(&["--scale", "web=3"]);
    let names: Vec<String> = (1..=3).map(|n| stack.name("web", n)).collect();
    assert_eq!(stack.containers(), names);
    for n in 1..=3 {
        let running = docker_ok(&["inspect", "-f", "{{.State.Running}}", &stack.name("web", n)]);
        assert_eq!(running.trim(), "true", "web-{n}");
    }
    let first = stack.id("web", 1);

    stack.up(&["--scale", "web=1"]);
    assert_eq!(stack.containers(), vec![stack.name("web", 1)]);
    assert_eq!(stack.id("web", 1), first, "scaling down keeps replica 1");
    stack.down(&[]);
}

#[test]
fn a_published_port_answers_on_loopback() {
    let port = free_port();
    let stack = Stack::new(
        "port",
        &format!(
            r#"
services:
  web:
    image: {{IMAGE}}
    command: {}
    init: true
    ports:
      - "127.0.0.1:{port}:8080"
"#,
            httpd("hello-from-the-port")
        ),
    );
    stack.up(&[]);
    let response = wait_for(DEADLINE, || {
        http_get(port).filter(|r| r.starts_with("HTTP/1.") && r.contains("hello-from-the-port"))
    });
    assert!(
        response.is_some(),
        "nothing answered on 127.0.0.1:{port}: {:?}",
        http_get(port)
    );
    stack.down(&[]);
    assert!(
        wait_for(DEADLINE, || http_get(port).is_none().then_some(())).is_some(),
        "the port still answers after down"
    );
}

#[test]
fn orphans_are_warned_about_and_removed_only_when_asked() {
    let both = r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
  old:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#;
    let stack = Stack::new("orphans", both);
    stack.up(&[]);
    let web = stack.id("web", 1);
    let old = stack.name("old", 1);

    stack.write(
        r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    let out = stack.up(&[]);
    let err = stderr(&out);
    assert!(
        err.contains("orphan") && err.contains(&old),
        "warning:\n{err}"
    );
    assert!(
        err.contains("--remove-orphans"),
        "the warning says how:\n{err}"
    );
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.Running}}", &old]).trim(),
        "true",
        "the orphan is left running"
    );
    assert_eq!(stack.id("web", 1), web);

    stack.up(&["--remove-orphans"]);
    assert_eq!(stack.id("old", 1), None, "the orphan is removed");
    assert_eq!(stack.id("web", 1), web, "web untouched");
    stack.down(&[]);
}

// ---------------------------------------------------------------- build

#[test]
fn a_build_service_comes_up_and_build_rebuilds_and_recreates_on_change() {
    let mut stack = Stack::new(
        "build",
        r#"
services:
  site:
    build: ./site
    init: true
"#,
    );
    let context = stack.dir().join("site");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM {BUSYBOX}\nCOPY index.html /www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(context.join("index.html"), "version-one\n").unwrap();
    let image = format!("{}-site", stack.project);
    stack.cleanup.image(&image);

    stack.up(&[]);
    let get = ["wget", "-q", "-O-", "http://127.0.0.1:8080/"];
    assert_eq!(stack.exec_eventually("site", &get).trim(), "version-one");
    let first_id = stack.id("site", 1).unwrap();
    let first_image = stack.inspect("site", "{{.Image}}");
    stack.cleanup.image(&first_image);

    // Without --build an existing image is reused.
    let out = stack.up(&[]);
    assert!(stdout(&out).contains("Nothing to do"), "{}", stdout(&out));

    std::fs::write(context.join("index.html"), "version-two\n").unwrap();
    stack.up(&["--build"]);
    let second_id = stack.id("site", 1).unwrap();
    let second_image = stack.inspect("site", "{{.Image}}");
    stack.cleanup.image(&second_image);
    assert_ne!(second_image, first_image, "--build made a new image");
    assert_ne!(second_id, first_id, "the new image recreated the container");
    assert_eq!(stack.exec_eventually("site", &get).trim(), "version-two");
    stack.down(&[]);
}

// ---------------------------------------------------------------- failures

#[test]
fn an_unreachable_engine_is_one_line_naming_the_target_and_dockerd() {
    let stack = Stack::new(
        "noengine",
        r#"
services:
  web:
    image: {IMAGE}
"#,
    );
    let out = stack
        .command(&["up", "-d"])
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run stackctl");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line:\n{err}");
    assert!(
        err.contains("/nonexistent.sock"),
        "names the target:\n{err}"
    );
    assert!(err.contains("dockerd"), "mentions dockerd:\n{err}");
    for trace in ["panicked", "stack backtrace", "Caused by"] {
        assert!(!err.contains(trace), "no stack trace:\n{err}");
    }
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn a_missing_image_that_cannot_be_pulled_says_to_build_it() {
    let stack = Stack::new(
        "pull",
        r#"
services:
  web:
    image: stackctl-test/does-not-exist:1
"#,
    );
    let out = stack.run(&["up", "-d"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert!(
        err.contains("stackctl-test/does-not-exist:1"),
        "names the image:\n{err}"
    );
    assert!(err.contains("build:"), "suggests a build section:\n{err}");
    assert!(err.contains("docker build"), "or building it:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    stack.down(&[]);
    assert!(stack.networks().is_empty());
}

#[test]
fn down_leaves_orphans_and_their_network_with_a_warning_unless_asked() {
    let stack = Stack::new(
        "downorph",
        r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
  old:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    stack.up(&[]);
    let old = stack.name("old", 1);
    stack.write(
        r#"
services:
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    init: true
"#,
    );
    // The orphan keeps the default network busy: a warning, not a failure.
    let out = stack.down(&[]);
    let err = stderr(&out);
    assert!(err.contains("orphan") && err.contains(&old), "{err}");
    assert!(err.contains("still in use"), "{err}");
    assert!(!err.contains("error"), "{err}");
    assert_eq!(stack.containers(), vec![old.clone()]);
    let default = format!("{}_default", stack.project);
    assert_eq!(stack.networks(), vec![default]);

    stack.down(&["--remove-orphans"]);
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert!(stack.networks().is_empty(), "{:?}", stack.networks());
}
