//! Revision records. Each revision of a blue-green service is written once,
//! as the labels of a small marker volume in the engine, so every shell that
//! reaches the engine sees the same history and nothing is kept locally.
//! Records are append-only: an outcome (a failed gate) is a second marker,
//! never an edit. Whether a revision is active, standby or removed is read
//! from its containers, which is the truth.

use crate::compose::model::{Project, Service, Volume};
use crate::engine::{labels, Engine, EngineError};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::BTreeMap;

pub const COLOR: &str = "io.stackctl.color";
pub const REVISION: &str = "io.stackctl.revision";
const RECORD: &str = "io.stackctl.record";
const RECORD_SERVICE: &str = "io.stackctl.record.service";
const RECORD_IMAGE: &str = "io.stackctl.record.image";
const RECORD_IMAGE_ID: &str = "io.stackctl.record.image-id";
const RECORD_CREATED: &str = "io.stackctl.record.created";
const RECORD_CONFIG: &str = "io.stackctl.record.config";
const RECORD_REASON: &str = "io.stackctl.record.reason";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Blue,
    Green,
}

impl Color {
    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    pub fn parse(text: &str) -> Option<Color> {
        match text {
            "blue" => Some(Color::Blue),
            "green" => Some(Color::Green),
            _ => None,
        }
    }
}

/// One revision of a service: everything needed to bring it back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    pub service: String,
    pub number: u32,
    pub color: Color,
    pub image: String,
    pub image_id: String,
    /// Unix seconds.
    pub created: i64,
    /// The full normalized service config (environment, limits, command…).
    #[serde(skip)]
    pub config: Service,
    /// Set when the revision's health gate failed (from its outcome marker).
    pub failed: Option<String>,
}

fn record_volume_name(project: &str, service: &str, number: u32) -> String {
    format!("{project}_stackctl-rev-{service}-{number}")
}

impl Revision {
    /// Write the record into the engine.
    pub async fn save(&self, engine: &Engine, project: &Project) -> Result<(), EngineError> {
        let config = serde_json::to_string(&self.config)
            .map_err(|err| EngineError::Other(format!("cannot record the config: {err}")))?;
        let labels = IndexMap::from([
            (RECORD.to_string(), "revision".to_string()),
            (RECORD_SERVICE.to_string(), self.service.clone()),
            (REVISION.to_string(), self.number.to_string()),
            (COLOR.to_string(), self.color.as_str().to_string()),
            (RECORD_IMAGE.to_string(), self.image.clone()),
            (RECORD_IMAGE_ID.to_string(), self.image_id.clone()),
            (RECORD_CREATED.to_string(), self.created.to_string()),
            (RECORD_CONFIG.to_string(), config),
        ]);
        let name = record_volume_name(&project.name, &self.service, self.number);
        marker(engine, project, &name, labels).await
    }

    /// Record that this revision's health gate failed.
    pub async fn mark_failed(
        &self,
        engine: &Engine,
        project: &Project,
        reason: &str,
    ) -> Result<(), EngineError> {
        let labels = IndexMap::from([
            (RECORD.to_string(), "failed".to_string()),
            (RECORD_SERVICE.to_string(), self.service.clone()),
            (REVISION.to_string(), self.number.to_string()),
            // Labels are for short values; the full output went to the user.
            (RECORD_REASON.to_string(), truncate(reason, 2000)),
        ]);
        let name = format!(
            "{}-failed",
            record_volume_name(&project.name, &self.service, self.number)
        );
        marker(engine, project, &name, labels).await
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_string(),
    }
}

async fn marker(
    engine: &Engine,
    project: &Project,
    name: &str,
    labels: IndexMap<String, String>,
) -> Result<(), EngineError> {
    let volume = Volume {
        name: name.to_string(),
        driver: "local".to_string(),
        labels,
        ..Default::default()
    };
    engine
        .ensure_volume("stackctl-record", &volume, &project.name)
        .await?;
    Ok(())
}

/// Every recorded revision of the project, by service, oldest first.
pub async fn load_all(
    engine: &Engine,
    project: &str,
) -> Result<BTreeMap<String, Vec<Revision>>, EngineError> {
    let volumes = engine.list_project_volumes(project).await?;
    let mut failures: BTreeMap<(String, u32), String> = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<Revision>> = BTreeMap::new();
    for volume in &volumes {
        let l = &volume.labels;
        let (Some(service), Some(number)) = (
            l.get(RECORD_SERVICE),
            l.get(REVISION).and_then(|n| n.parse::<u32>().ok()),
        ) else {
            continue;
        };
        match l.get(RECORD).map(String::as_str) {
            Some("failed") => {
                failures.insert(
                    (service.clone(), number),
                    l.get(RECORD_REASON).cloned().unwrap_or_default(),
                );
            }
            Some("revision") => {
                if let Some(revision) = parse_revision(service, number, l) {
                    out.entry(service.clone()).or_default().push(revision);
                }
            }
            _ => {}
        }
    }
    for (service, revisions) in out.iter_mut() {
        revisions.sort_by_key(|r| r.number);
        for revision in revisions.iter_mut() {
            revision.failed = failures.remove(&(service.clone(), revision.number));
        }
    }
    Ok(out)
}

fn parse_revision(
    service: &str,
    number: u32,
    labels: &std::collections::HashMap<String, String>,
) -> Option<Revision> {
    let mut config: Service = serde_json::from_str(labels.get(RECORD_CONFIG)?).ok()?;
    config.name = service.to_string();
    Some(Revision {
        service: service.to_string(),
        number,
        color: Color::parse(labels.get(COLOR)?)?,
        image: labels.get(RECORD_IMAGE).cloned().unwrap_or_default(),
        image_id: labels.get(RECORD_IMAGE_ID).cloned().unwrap_or_default(),
        created: labels
            .get(RECORD_CREATED)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        config,
        failed: None,
    })
}

/// What changed from `before` to `after`, for `history`: image, environment
/// keys, limits, command.
pub fn describe_changes(before: &Revision, after: &Revision) -> String {
    let mut changes = Vec::new();
    if before.image != after.image || before.image_id != after.image_id {
        changes.push(format!(
            "image {} -> {}",
            short_image(before),
            short_image(after)
        ));
    }
    let (old_env, new_env) = (&before.config.environment, &after.config.environment);
    let mut env_keys: Vec<&String> = old_env
        .keys()
        .chain(new_env.keys())
        .filter(|key| old_env.get(*key) != new_env.get(*key))
        .collect();
    env_keys.sort();
    env_keys.dedup();
    if !env_keys.is_empty() {
        let keys: Vec<&str> = env_keys.iter().map(|k| k.as_str()).collect();
        changes.push(format!("env {}", keys.join(",")));
    }
    if before.config.resources != after.config.resources {
        changes.push("limits".to_string());
    }
    if before.config.command != after.config.command
        || before.config.entrypoint != after.config.entrypoint
    {
        changes.push("command".to_string());
    }
    if before.config.replicas != after.config.replicas {
        changes.push(format!(
            "replicas {} -> {}",
            before.config.replicas, after.config.replicas
        ));
    }
    if changes.is_empty() {
        "no change".to_string()
    } else {
        changes.join("; ")
    }
}

fn short_image(revision: &Revision) -> String {
    let id = revision.image_id.trim_start_matches("sha256:");
    format!("{} ({})", revision.image, &id[..id.len().min(12)])
}

/// Labels every container of a blue-green revision carries.
pub fn container_labels(color: Color, revision: u32) -> IndexMap<String, String> {
    IndexMap::from([
        (COLOR.to_string(), color.as_str().to_string()),
        (REVISION.to_string(), revision.to_string()),
    ])
}

/// Is this label set a blue-green container's (rather than a record's)?
pub fn container_revision(
    labels: &std::collections::HashMap<String, String>,
) -> Option<(Color, u32)> {
    let color = Color::parse(labels.get(COLOR)?)?;
    let revision = labels.get(REVISION)?.parse().ok()?;
    let _ = labels.get(labels::SERVICE)?;
    Some((color, revision))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(number: u32, image: &str, env: &[(&str, &str)], memory: u64) -> Revision {
        let mut config = Service {
            name: "app".into(),
            image: Some(image.into()),
            replicas: 2,
            ..Default::default()
        };
        config.environment = env
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        config.resources.limits.memory = Some(memory);
        Revision {
            service: "app".into(),
            number,
            color: if number % 2 == 1 {
                Color::Blue
            } else {
                Color::Green
            },
            image: image.into(),
            image_id: format!("sha256:{number:064}"),
            created: 0,
            config,
            failed: None,
        }
    }

    #[test]
    fn changes_name_image_env_keys_and_limits() {
        let a = revision(1, "app:1", &[("A", "1"), ("B", "x")], 256);
        let b = revision(2, "app:2", &[("A", "2"), ("C", "y"), ("B", "x")], 512);
        let text = describe_changes(&a, &b);
        assert!(text.contains("image app:1"), "{text}");
        assert!(text.contains("env A,C"), "{text}");
        assert!(text.contains("limits"), "{text}");
        assert_eq!(describe_changes(&a, &a), "no change");
    }

    #[test]
    fn colors_alternate() {
        assert_eq!(Color::Blue.other(), Color::Green);
        assert_eq!(Color::parse("green"), Some(Color::Green));
        assert_eq!(Color::parse("red"), None);
    }
}
