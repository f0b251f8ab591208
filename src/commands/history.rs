//! `stackctl history [SERVICE]`: the revisions of blue-green services, read
//! from the engine: number, color, image, created, status and what changed.

use crate::bluegreen::deploy::{Deployer, State};
use crate::bluegreen::record::{self, Revision};
use crate::bluegreen::spec;
use crate::cli::{GlobalOptions, HistoryArgs, ReportFormat};
use crate::error::{UsageError, EXIT_OK};
use crate::progress::Progress;
use serde::Serialize;
use tabled::{settings::Style, Table, Tabled};

#[derive(Debug, Serialize, Tabled)]
pub struct Row {
    #[tabled(rename = "SERVICE")]
    pub service: String,
    #[tabled(rename = "REV")]
    pub revision: u32,
    #[tabled(rename = "COLOR")]
    pub color: String,
    #[tabled(rename = "IMAGE")]
    pub image: String,
    #[tabled(rename = "CREATED")]
    pub created: String,
    #[tabled(rename = "STATUS")]
    pub status: String,
    #[tabled(rename = "CHANGES")]
    pub changes: String,
}

pub async fn run(global: &GlobalOptions, args: &HistoryArgs) -> anyhow::Result<u8> {
    let project = super::load_project(global)?.project;
    if let Some(name) = &args.service {
        if !project.services.contains_key(name) {
            return Err(UsageError(format!("no such service: `{name}`")).into());
        }
    }
    let engine = super::connect().await?;
    let progress = Progress::new(true, 0);
    let mut rows = Vec::new();
    for (name, revisions) in record::load_all(&engine, &project.name).await? {
        if args.service.as_ref().is_some_and(|s| *s != name) {
            continue;
        }
        let Some(service) = project.services.get(&name) else {
            continue;
        };
        let spec = spec::bluegreen_spec(service).unwrap_or(spec::BlueGreenSpec {
            router: String::new(),
            port: 0,
            drain: spec::DEFAULT_DRAIN,
        });
        let deployer = Deployer {
            engine: &engine,
            project: &project,
            service,
            spec,
            progress: &progress,
        };
        let state = deployer.state().await?;
        rows.extend(rows_for(&name, &revisions, &state));
    }
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        ReportFormat::Text if rows.is_empty() => {
            println!("No revisions recorded yet in project {}", project.name)
        }
        ReportFormat::Text => println!("{}", Table::new(&rows).with(Style::blank())),
    }
    Ok(EXIT_OK)
}

fn rows_for(service: &str, revisions: &[Revision], state: &State) -> Vec<Row> {
    let active = state.active();
    revisions
        .iter()
        .enumerate()
        .map(|(i, revision)| Row {
            service: service.to_string(),
            revision: revision.number,
            color: revision.color.as_str().to_string(),
            image: revision.image.clone(),
            created: format_time(revision.created),
            status: status(revision, active, state),
            changes: match i {
                0 => "first deployment".to_string(),
                _ => record::describe_changes(&revisions[i - 1], revision),
            },
        })
        .collect()
}

fn status(revision: &Revision, active: Option<u32>, state: &State) -> String {
    if revision.failed.is_some() {
        "failed".to_string()
    } else if active == Some(revision.number) {
        "active".to_string()
    } else if state.containers_of(revision.number).is_empty() {
        "removed".to_string()
    } else {
        "standby".to_string()
    }
}

/// `YYYY-MM-DD HH:MM:SS` UTC from Unix seconds, without a date crate.
pub fn format_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_795_000_000), "2026-11-18 11:06:40");
    }
}
