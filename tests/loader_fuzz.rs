//! The loader must never panic, whatever YAML it is given: it either loads a
//! project or returns diagnostics. Property test over generated documents
//! built from compose's own vocabulary (so they get deep into normalization)
//! and over arbitrary text.

use proptest::prelude::*;
use serde_yaml::{Mapping, Value};
use stackctl::compose::{load, LoadOptions};

const KEYS: &[&str] = &[
    "services",
    "image",
    "build",
    "context",
    "command",
    "environment",
    "env_file",
    "ports",
    "target",
    "published",
    "volumes",
    "networks",
    "aliases",
    "depends_on",
    "condition",
    "healthcheck",
    "test",
    "interval",
    "restart",
    "deploy",
    "resources",
    "limits",
    "reservations",
    "memory",
    "cpus",
    "pids",
    "replicas",
    "mem_limit",
    "ulimits",
    "soft",
    "hard",
    "logging",
    "x-ext",
    "name",
    "external",
    "ipam",
    "config",
    "subnet",
    "tmpfs",
    "extra_hosts",
    "labels",
    "profiles",
    "container_name",
    "web",
    "db",
    "a",
];

const SCALARS: &[&str] = &[
    "web",
    "db",
    "nginx",
    "8080:80",
    "127.0.0.1:80-81:80-81/udp",
    "${A:-${B}}",
    "${X:?boom}",
    "$$",
    "128m",
    "0.5",
    "-1",
    "1m30s",
    "service_healthy",
    "CMD",
    "NONE",
    "./x:/y:ro",
    "on-failure:3",
    "",
    "~",
    "9999999999999999999999",
    "a=b",
    "${",
    "\u{1F600}",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(SCALARS).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        "[ -~]{0,12}".prop_map(Value::from),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                let mut map = Mapping::new();
                for (key, value) in entries {
                    map.insert(Value::from(key), value);
                }
                Value::Mapping(map)
            }),
        ]
    })
}

fn load_text(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), text).unwrap();
    let options = LoadOptions {
        cwd: dir.path().to_path_buf(),
        project_name: Some("fuzz".into()),
        ..Default::default()
    };
    // Either outcome is fine; a panic fails the test.
    match load(&options) {
        Ok(_) => {}
        Err(err) => assert!(!err.diagnostics.is_empty()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn generated_compose_documents_never_panic(doc in document()) {
        let mut root = Mapping::new();
        root.insert(Value::from("services"), doc.clone());
        load_text(&serde_yaml::to_string(&Value::Mapping(root)).unwrap());
        load_text(&serde_yaml::to_string(&doc).unwrap());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        load_text(&text);
    }

    #[test]
    fn yaml_shaped_text_never_panics(lines in prop::collection::vec("[ a-z:\\-\\[\\]{}&*!|>'\"#$]{0,20}", 0..20)) {
        load_text(&lines.join("\n"));
    }
}
