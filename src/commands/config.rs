//! `stackctl config`: validate and print the normalized model.

use crate::cli::{ConfigArgs, DataFormat, GlobalOptions};
use crate::compose::emit;
use crate::compose::model::Project;
use crate::error::EXIT_OK;

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
    let mut project = super::load_project(global)?.project;
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
        if !args.no_redact {
            redact_secrets(&mut project);
        }
        print!("{}", render(&project, args.format)?);
    }
    Ok(EXIT_OK)
}

fn print_lines<'a>(names: impl Iterator<Item = &'a String>) {
    for name in names {
        println!("{name}");
    }
}

/// The model as YAML or JSON.
pub fn render(project: &Project, format: DataFormat) -> anyhow::Result<String> {
    Ok(match format {
        DataFormat::Yaml => emit::to_yaml(project)?,
        DataFormat::Json => serde_json::to_string_pretty(project)? + "\n",
    })
}

pub fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|marker| upper.contains(marker))
}

/// Mask secret-looking environment values and build args (a variable left
/// unset stays unset: there is nothing to hide).
fn redact_secrets(project: &mut Project) {
    for service in project.services.values_mut() {
        mask(service.environment.iter_mut());
        if let Some(build) = &mut service.build {
            mask(build.args.iter_mut());
        }
    }
}

fn mask<'a>(entries: impl Iterator<Item = (&'a String, &'a mut Option<String>)>) {
    for (key, value) in entries {
        if looks_secret(key) && value.is_some() {
            *value = Some(REDACTED.to_string());
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
