//! One module per command. Each takes the parsed arguments and returns the
//! process exit code, or an error that `main` maps to one.

pub mod budget;
pub mod build;
pub mod config;
pub mod down;
pub mod exec;
pub mod graph;
pub mod history;
pub mod images;
pub mod kill;
pub mod logs;
pub mod ps;
pub mod pull;
pub mod rollback;
pub mod start;
pub mod stats;
pub mod stop;
pub mod targets;
pub mod top;
pub mod up;
pub mod upgrade;

use crate::cli::{Cli, Command, GlobalOptions};
use crate::compose::model::{Project, Service};
use crate::compose::{self, LoadOptions, Loaded};
use crate::engine::Engine;
use crate::error::UsageError;

/// Run the command the user asked for.
pub async fn run(cli: &Cli) -> anyhow::Result<u8> {
    let global = &cli.global;
    match &cli.command {
        Command::Config(args) => config::run(global, args),
        Command::Graph(args) => graph::run(global, args),
        Command::Budget(args) => budget::run(global, args).await,
        Command::Up(args) => up::run(global, args).await,
        Command::Down(args) => down::run(global, args).await,
        Command::Upgrade(args) => upgrade::run(global, args).await,
        Command::Rollback(args) => rollback::run(global, args).await,
        Command::History(args) => history::run(global, args).await,
        Command::Ps(args) => ps::run(global, args).await,
        Command::Logs(args) => logs::run(global, args).await,
        Command::Exec(args) => exec::run(global, args).await,
        Command::Start(args) => start::run(global, args).await,
        Command::Stop(args) => stop::run(global, args).await,
        Command::Restart(args) => stop::restart(global, args).await,
        Command::Kill(args) => kill::run(global, args).await,
        Command::Pull(args) => pull::run(global, args).await,
        Command::Build(args) => build::run(global, args).await,
        Command::Images(args) => images::run(global, args).await,
        Command::Top(args) => top::run(global, args).await,
        Command::Stats(args) => stats::run(global, args).await,
    }
}

/// Load the project the global options point at, printing its warnings to
/// stderr.
pub fn load_project(global: &GlobalOptions) -> anyhow::Result<Loaded> {
    let mut options = LoadOptions::from_process();
    options.files = global.files.clone();
    options.project_name = global.project_name.clone();
    options.env_file = global.env_file.clone();
    options.profiles = global.profiles.clone();
    options.project_directory = global.project_directory.clone();
    let loaded = compose::load(&options)?;
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    Ok(loaded)
}

/// Connect to the engine; an unreachable engine is one clear line, exit 1.
pub async fn connect() -> anyhow::Result<Engine> {
    Ok(Engine::connect().await?)
}

/// The named services (all when `names` is empty); an unknown name is a
/// usage error that lists the known ones.
pub fn select_services<'p>(
    project: &'p Project,
    names: &[String],
) -> Result<Vec<&'p Service>, UsageError> {
    if names.is_empty() {
        return Ok(project.services.values().collect());
    }
    names
        .iter()
        .map(|name| {
            project.services.get(name).ok_or_else(|| {
                let known: Vec<&str> = project.services.keys().map(String::as_str).collect();
                UsageError(format!(
                    "no such service: `{name}` (services: {})",
                    known.join(", ")
                ))
            })
        })
        .collect()
}
