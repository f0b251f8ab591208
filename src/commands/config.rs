//! `stackctl config`: validate and print the normalized model.

use crate::cli::{ConfigArgs, DataFormat, GlobalOptions};
use crate::compose::emit;
use crate::compose::model::Project;
use crate::error::EXIT_OK;
use serde_yaml::Value;

/// Placeholder printed instead of a secret-looking value.
pub const REDACTED: &str = "********";

/// Name fragments that mark an environment variable as secret.
const SECRET_MARKERS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
];

pub fn run(global: &GlobalOptions, args: &ConfigArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    if args.quiet {
        return Ok(EXIT_OK);
    }
    if args.services {
        print_lines(project.services.keys());
    } else if args.volumes {
        print_lines(project.volumes.keys());
    } else if args.networks {
        print_lines(project.networks.keys());
    } else {
        print!("{}", render(project, args.format, !args.no_redact)?);
    }
    Ok(EXIT_OK)
}

fn print_lines<'a>(names: impl Iterator<Item = &'a String>) {
    for name in names {
        println!("{name}");
    }
}

/// The model as YAML or JSON, with secrets masked when `redact`.
pub fn render(project: &Project, format: DataFormat, redact: bool) -> anyhow::Result<String> {
    let mut value = serde_yaml::to_value(project)?;
    if redact {
        redact_secrets(&mut value);
    }
    Ok(match format {
        DataFormat::Yaml => emit::to_yaml(&value),
        DataFormat::Json => serde_json::to_string_pretty(&value)? + "\n",
    })
}

pub fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|marker| upper.contains(marker))
}

/// Mask secret-looking environment values and build args in the rendered
/// model (a value left unset stays `null`: there is nothing to hide).
fn redact_secrets(model: &mut Value) {
    let Some(Value::Mapping(services)) = model.get_mut("services") else {
        return;
    };
    for service in services.values_mut() {
        if let Some(environment) = service.get_mut("environment") {
            mask(environment);
        }
        if let Some(args) = service.get_mut("build").and_then(|b| b.get_mut("args")) {
            mask(args);
        }
    }
}

fn mask(entries: &mut Value) {
    let Value::Mapping(entries) = entries else {
        return;
    };
    for (key, value) in entries.iter_mut() {
        if key.as_str().is_some_and(looks_secret) && !value.is_null() {
            *value = Value::String(REDACTED.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for key in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in ["DB_HOST", "PORT", "USER"] {
            assert!(!looks_secret(key), "{key}");
        }
    }
}
