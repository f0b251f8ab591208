//! Stage 3: merge several compose files (`-f a.yaml -f b.yaml`); later files
//! override earlier ones, with docker compose's rules: mappings merge key by
//! key, list-like settings that accumulate (ports, volumes...) are joined,
//! everything else is replaced.

use serde_yaml::{Mapping, Value};

/// Service keys whose lists accumulate across files rather than replace.
const APPENDED_SERVICE_KEYS: &[&str] = &[
    "ports",
    "expose",
    "cap_add",
    "cap_drop",
    "security_opt",
    "extra_hosts",
    "tmpfs",
    "volumes_from",
    "links",
    "env_file",
    "profiles",
];

/// Service keys that may be written as a list or a mapping; both forms are
/// turned into a mapping before merging so that keys override one by one.
const KEYED_SERVICE_KEYS: &[&str] = &["environment", "labels", "depends_on", "networks"];

/// Merge `overlay` on top of `base` (both whole compose documents).
pub fn merge_documents(base: &mut Mapping, overlay: Mapping) {
    for (key, value) in overlay {
        if key.as_str() == Some("services") {
            match (base.get_mut(&key), value) {
                (Some(Value::Mapping(base_services)), Value::Mapping(services)) => {
                    merge_services(base_services, services)
                }
                (_, value) => {
                    base.insert(key, value);
                }
            }
            continue;
        }
        merge_entry(base, key, value);
    }
}

fn merge_services(base: &mut Mapping, overlay: Mapping) {
    for (name, service) in overlay {
        match (base.get_mut(&name), service) {
            (Some(Value::Mapping(base_service)), Value::Mapping(service)) => {
                merge_service(base_service, service)
            }
            (_, service) => {
                base.insert(name, service);
            }
        }
    }
}

fn merge_service(base: &mut Mapping, overlay: Mapping) {
    for (key, value) in overlay {
        let name = key.as_str().unwrap_or_default().to_string();
        if APPENDED_SERVICE_KEYS.contains(&name.as_str()) {
            append(base, key, value);
        } else if KEYED_SERVICE_KEYS.contains(&name.as_str()) {
            let value = keyed(value);
            match base.get_mut(&key) {
                Some(existing) => {
                    let mut merged = keyed(existing.clone());
                    if let (Value::Mapping(into), Value::Mapping(from)) = (&mut merged, value) {
                        for (k, v) in from {
                            into.insert(k, v);
                        }
                    }
                    *existing = merged;
                }
                None => {
                    base.insert(key, value);
                }
            }
        } else if name == "volumes" {
            merge_volumes(base, key, value);
        } else if matches!(name.as_str(), "command" | "entrypoint") {
            base.insert(key, value);
        } else {
            merge_entry(base, key, value);
        }
    }
}

/// Mappings merge recursively; anything else is replaced.
fn merge_entry(base: &mut Mapping, key: Value, value: Value) {
    match (base.get_mut(&key), value) {
        (Some(Value::Mapping(into)), Value::Mapping(from)) => {
            for (k, v) in from {
                merge_entry(into, k, v);
            }
        }
        (_, value) => {
            base.insert(key, value);
        }
    }
}

fn append(base: &mut Mapping, key: Value, value: Value) {
    match (base.get_mut(&key), value) {
        (Some(Value::Sequence(into)), Value::Sequence(from)) => {
            for item in from {
                if !into.contains(&item) {
                    into.push(item);
                }
            }
        }
        (_, value) => {
            base.insert(key, value);
        }
    }
}

/// Volumes are keyed by their container path: an override for the same
/// target replaces the earlier mount.
fn merge_volumes(base: &mut Mapping, key: Value, value: Value) {
    match (base.get_mut(&key), value) {
        (Some(Value::Sequence(into)), Value::Sequence(from)) => {
            for item in from {
                let target = mount_target(&item);
                match into
                    .iter()
                    .position(|existing| target.is_some() && mount_target(existing) == target)
                {
                    Some(position) => into[position] = item,
                    None => into.push(item),
                }
            }
        }
        (_, value) => {
            base.insert(key, value);
        }
    }
}

fn mount_target(item: &Value) -> Option<String> {
    match item {
        Value::String(text) => {
            let parts: Vec<&str> = text.split(':').collect();
            match parts.as_slice() {
                [target] => Some(target.to_string()),
                [_, target, ..] => Some(target.to_string()),
                _ => None,
            }
        }
        Value::Mapping(map) => map.get("target").and_then(Value::as_str).map(String::from),
        _ => None,
    }
}

/// A `[KEY=VALUE]` / `[name]` list turned into the equivalent mapping.
fn keyed(value: Value) -> Value {
    let Value::Sequence(items) = value else {
        return value;
    };
    let mut map = Mapping::new();
    for item in items {
        match item {
            Value::String(text) => match text.split_once('=') {
                Some((key, value)) => {
                    map.insert(Value::from(key), Value::from(value));
                }
                None => {
                    map.insert(Value::from(text), Value::Null);
                }
            },
            other => {
                map.insert(other, Value::Null);
            }
        }
    }
    Value::Mapping(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Mapping {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn later_files_override_scalars_and_merge_mappings() {
        let mut base = doc(
            "services:\n  web:\n    image: a\n    restart: always\n    environment: [A=1, B=2]\n",
        );
        merge_documents(
            &mut base,
            doc("services:\n  web:\n    image: b\n    environment:\n      B: '3'\n      C: '4'\n  db:\n    image: d\n"),
        );
        let web = &base["services"]["web"];
        assert_eq!(web["image"], Value::from("b"));
        assert_eq!(web["restart"], Value::from("always"));
        assert_eq!(web["environment"]["A"], Value::from("1"));
        assert_eq!(web["environment"]["B"], Value::from("3"));
        assert_eq!(web["environment"]["C"], Value::from("4"));
        assert_eq!(base["services"]["db"]["image"], Value::from("d"));
    }

    #[test]
    fn ports_append_and_volumes_replace_by_target() {
        let mut base = doc("services:\n  web:\n    ports: ['80:80']\n    volumes: ['data:/data', './a:/a']\n    command: [x, y]\n");
        merge_documents(
            &mut base,
            doc("services:\n  web:\n    ports: ['443:443', '80:80']\n    volumes: ['other:/data']\n    command: [z]\n"),
        );
        let web = &base["services"]["web"];
        assert_eq!(web["ports"].as_sequence().unwrap().len(), 2);
        let volumes = web["volumes"].as_sequence().unwrap();
        assert_eq!(volumes[0], Value::from("other:/data"));
        assert_eq!(volumes.len(), 2);
        assert_eq!(
            web["command"],
            serde_yaml::from_str::<Value>("[z]").unwrap()
        );
    }

    #[test]
    fn depends_on_list_and_map_forms_merge() {
        let mut base = doc("services:\n  web:\n    depends_on: [db]\n");
        merge_documents(
            &mut base,
            doc("services:\n  web:\n    depends_on:\n      cache: {condition: service_started}\n"),
        );
        let deps = base["services"]["web"]["depends_on"].as_mapping().unwrap();
        assert!(deps.contains_key("db") && deps.contains_key("cache"));
    }
}
