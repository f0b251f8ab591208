//! `stackctl logs`: container logs, each line prefixed with its container's
//! name (padded so the text lines up) and, on a terminal, coloured per
//! container so interleaved output stays readable.

use super::targets::{containers_of, stdout_is_terminal};
use crate::cli::{GlobalOptions, LogsArgs};
use crate::compose::units::parse_duration;
use crate::engine::containers::{ContainerSummary, LogLine};
use crate::engine::EngineError;
use crate::error::{UsageError, EXIT_FAILURE, EXIT_OK};
use futures_util::stream::{self, BoxStream, StreamExt};
use owo_colors::{AnsiColors, OwoColorize};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Prefix colours, cycled per container in list order (compose's palette).
const PALETTE: &[AnsiColors] = &[
    AnsiColors::Cyan,
    AnsiColors::Yellow,
    AnsiColors::Green,
    AnsiColors::Magenta,
    AnsiColors::Blue,
    AnsiColors::BrightCyan,
    AnsiColors::BrightYellow,
    AnsiColors::BrightGreen,
    AnsiColors::BrightMagenta,
    AnsiColors::BrightBlue,
];

pub async fn run(global: &GlobalOptions, args: &LogsArgs) -> anyhow::Result<u8> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    // Stopped containers have logs too (often the interesting ones).
    let containers = containers_of(&engine, project, &services, true).await?;
    let prefixes = Prefixes::new(&containers, args);
    let streams: Vec<BoxStream<'static, (usize, Result<LogLine, EngineError>)>> = containers
        .iter()
        .enumerate()
        .map(|(index, container)| {
            engine
                .logs(
                    &container.id,
                    args.follow,
                    args.tail,
                    since,
                    args.timestamps,
                )
                .map(move |line| (index, line))
                .boxed()
        })
        .collect();
    let merged = if args.follow {
        // Following never ends on its own: every container at once.
        stream::select_all(streams).boxed()
    } else {
        // A finished log reads best one container after the other.
        stream::iter(streams).flatten().boxed()
    };
    tokio::select! {
        code = print_lines(merged, &prefixes, &containers) => Ok(code),
        _ = tokio::signal::ctrl_c() => Ok(EXIT_OK),
    }
}

/// Print every line with its prefix; report (and remember) stream errors
/// without stopping the other containers' output.
async fn print_lines(
    mut lines: BoxStream<'static, (usize, Result<LogLine, EngineError>)>,
    prefixes: &Prefixes,
    containers: &[ContainerSummary],
) -> u8 {
    let mut code = EXIT_OK;
    let mut stdout = std::io::stdout();
    while let Some((index, line)) = lines.next().await {
        match line {
            Ok(line) => {
                let written = writeln!(stdout, "{}{}", prefixes.get(index), line.line)
                    .and_then(|()| stdout.flush());
                if written.is_err() {
                    // The reader went away (`| head`): nothing more to do.
                    return code;
                }
            }
            Err(err) => {
                let name = containers.get(index).map_or("?", |c| c.name.as_str());
                eprintln!("error: logs of {name}: {err}");
                code = EXIT_FAILURE;
            }
        }
    }
    code
}

/// The `name | ` prefix of each container, ready to print.
struct Prefixes(Vec<String>);

impl Prefixes {
    fn new(containers: &[ContainerSummary], args: &LogsArgs) -> Prefixes {
        if args.no_log_prefix {
            return Prefixes(vec![String::new(); containers.len()]);
        }
        let colour =
            !args.no_color && stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let width = containers.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let prefixes = containers
            .iter()
            .enumerate()
            .map(|(index, container)| {
                let text = format!("{:<width$} | ", container.name);
                if colour {
                    text.color(PALETTE[index % PALETTE.len()]).to_string()
                } else {
                    text
                }
            })
            .collect();
        Prefixes(prefixes)
    }

    fn get(&self, index: usize) -> &str {
        self.0.get(index).map_or("", String::as_str)
    }
}

/// `--since`: a Unix timestamp, or a duration (`10m`, `1h30m`) back from now.
pub fn parse_since(text: &str) -> Result<i64, UsageError> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Ok(seconds as i64);
    }
    let ago = parse_duration(text).map_err(|err| {
        UsageError(format!(
            "--since: {err}, or a Unix timestamp such as 1700000000"
        ))
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    Ok(i64::try_from(now.saturating_sub(ago.as_secs())).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_timestamps_and_durations() {
        assert_eq!(parse_since("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_since("1700000000.5").unwrap(), 1_700_000_000);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let ten_minutes_ago = parse_since("10m").unwrap();
        assert!((now - 600 - ten_minutes_ago).abs() <= 2);
        assert!((now - 5400 - parse_since("1h30m").unwrap()).abs() <= 2);
        assert!(parse_since("yesterday").is_err());
    }
}
