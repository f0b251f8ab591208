//! The stackctl binary: exit codes (0 ok, 1 runtime failure, 2 invalid input),
//! errors on stderr, global options before or after the subcommand.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stackctl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("DB_PASSWORD")
        .output()
        .expect("run stackctl")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn extagram_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "-f",
        "stacks/extagram/compose.yaml",
        "--env-file",
        "stacks/extagram/.env.example",
    ];
    args.extend_from_slice(extra);
    args
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn config_quiet_validates_silently() {
    let out = stackctl(&extagram_args(&["config", "-q"]), &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn global_options_work_after_the_subcommand() {
    let out = stackctl(
        &[
            "config",
            "--services",
            "-f",
            "stacks/extagram/compose.yaml",
            "--env-file",
            "stacks/extagram/.env.example",
            "--profile",
            "cache",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "mysql_db\nnginx_app\nnginx_proxy\nnginx_static\nphp_upload\nredis_cache\n"
    );
}

#[test]
fn invalid_files_exit_2_with_located_errors_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web:\n    imgae: x\n    restart: sometimes\n",
    )
    .unwrap();
    let out = stackctl(&["config"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("compose.yaml:3:5: services.web.imgae: unknown key `imgae`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("compose.yaml:4:5: services.web.restart"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 errors found; nothing was changed"),
        "{stderr}"
    );
}

#[test]
fn a_missing_required_variable_names_it() {
    // An empty env file stands in for stacks/extagram/.env, which
    // scripts/setup.sh writes (with the passwords) in a working checkout.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let env_file = empty.path().to_str().unwrap();
    let out = stackctl(
        &[
            "-f",
            "stacks/extagram/compose.yaml",
            "--env-file",
            env_file,
            "config",
            "-q",
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DB_PASSWORD"), "{stderr}");
}

#[test]
fn config_masks_secrets_unless_asked() {
    let out = stackctl(&extagram_args(&["config", "--format", "json"]), &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let env = &json["services"]["mysql_db"]["environment"];
    assert_eq!(env["MYSQL_PASSWORD"], "********");
    assert_eq!(env["MYSQL_DATABASE"], "extagram");

    let out = stackctl(&extagram_args(&["config", "--no-redact"]), &root());
    assert!(text(&out.stdout).contains("MYSQL_PASSWORD: change-me"));
}

#[test]
fn graph_formats() {
    let out = stackctl(&extagram_args(&["graph"]), &root());
    assert_eq!(out.status.code(), Some(0));
    let waves = text(&out.stdout);
    assert!(
        waves.starts_with("wave 1: mysql_db, nginx_static\n"),
        "{waves}"
    );
    assert!(waves.contains("wave 3: nginx_proxy"));

    let dot = text(&stackctl(&extagram_args(&["graph", "--format", "dot"]), &root()).stdout);
    assert!(dot.starts_with("digraph"), "{dot}");
    let mermaid =
        text(&stackctl(&extagram_args(&["graph", "--format", "mermaid"]), &root()).stdout);
    assert!(mermaid.contains("flowchart TD"), "{mermaid}");

    let sub = text(&stackctl(&extagram_args(&["graph", "php_upload"]), &root()).stdout);
    assert_eq!(
        sub,
        "wave 1: mysql_db\nwave 2: php_upload (needs mysql_db: service_healthy)\n"
    );
    let unknown = stackctl(&extagram_args(&["graph", "nope"]), &root());
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn budget_on_a_t3_micro_warns_about_overcommit() {
    let out = stackctl(
        &extagram_args(&["budget", "--instance", "t3.micro"]),
        &root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains("memory limits overcommitted by 584MiB"),
        "{report}"
    );
    assert!(report.contains("TOTAL"), "{report}");
    assert!(report.contains("1408MiB"), "{report}");

    let strict = stackctl(
        &extagram_args(&["budget", "--ram", "1G", "--strict"]),
        &root(),
    );
    assert_eq!(strict.status.code(), Some(1));

    let json = stackctl(
        &extagram_args(&["budget", "--ram", "1GiB", "--format", "json"]),
        &root(),
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["totals"]["memory_limits"], 1408u64 * 1024 * 1024);
}

#[test]
fn budget_fails_when_reservations_do_not_fit() {
    let out = stackctl(
        &extagram_args(&["budget", "--instance", "t3.nano"]),
        &root(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("FAIL"));
}

#[test]
fn budget_usage_errors_exit_2() {
    let none = stackctl(&extagram_args(&["budget"]), &root());
    assert_eq!(none.status.code(), Some(2));
    let unknown = stackctl(
        &extagram_args(&["budget", "--instance", "m5.large"]),
        &root(),
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("t3.micro"));
    let bad_size = stackctl(&extagram_args(&["budget", "--ram", "lots"]), &root());
    assert_eq!(bad_size.status.code(), Some(2));
}

#[test]
fn unknown_commands_exit_2() {
    let out = stackctl(&["frobnicate"], &root());
    assert_eq!(out.status.code(), Some(2));
}
