//! Command-line definitions (clap derive). Global options mirror docker
//! compose's and are accepted before or after the subcommand.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "stackctl",
    version,
    about = "Deploy compose-style stacks onto a Docker engine, with blue-green upgrades, rollback and a RAM budget check",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalOptions {
    /// Compose file(s); later files override earlier ones [default: compose.yaml,
    /// compose.yml, docker-compose.yaml or docker-compose.yml in the current directory]
    #[arg(short = 'f', long = "file", value_name = "FILE", global = true)]
    pub files: Vec<PathBuf>,
    /// Project name [default: COMPOSE_PROJECT_NAME, the file's `name:`, or the directory name]
    #[arg(short = 'p', long = "project-name", value_name = "NAME", global = true)]
    pub project_name: Option<String>,
    /// Read interpolation variables from this file instead of <project dir>/.env
    #[arg(long, value_name = "PATH", global = true)]
    pub env_file: Option<PathBuf>,
    /// Enable services of this profile (repeatable) [default: COMPOSE_PROFILES]
    #[arg(long = "profile", value_name = "PROFILE", global = true)]
    pub profiles: Vec<String>,
    /// Directory that relative paths resolve against [default: the first file's directory]
    #[arg(long, value_name = "DIR", global = true)]
    pub project_directory: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the compose file(s) and print the normalized model
    Config(ConfigArgs),
    /// Show the dependency graph as start waves, or as dot / mermaid
    Graph(GraphArgs),
    /// Check whether the stack's memory and CPU fit a host or an AWS instance type
    Budget(BudgetArgs),
    /// Create and start the stack (networks, volumes, containers in dependency order)
    Up(UpArgs),
    /// Stop and remove the stack's containers and networks (volumes only with -v)
    Down(DownArgs),
    /// List the project's containers
    Ps(PsArgs),
    /// Show container logs
    Logs(LogsArgs),
    /// Run a command in a running service container
    Exec(ExecArgs),
    /// Start existing containers of services
    Start(ServicesArgs),
    /// Stop running containers without removing them
    Stop(StopArgs),
    /// Restart service containers
    Restart(StopArgs),
    /// Send a signal to service containers (default SIGKILL)
    Kill(KillArgs),
    /// Pull service images (those without `build:`)
    Pull(ServicesArgs),
    /// Build service images from their `build:` sections
    Build(BuildArgs),
    /// List the images used by the project's containers
    Images(ServicesArgs),
    /// Show the processes running in service containers
    Top(ServicesArgs),
    /// Memory and CPU use of the project's containers against their limits
    Stats(StatsArgs),
    /// Upgrade a service with zero downtime: new color beside the old, health gate, switch, drain
    Upgrade(UpgradeArgs),
    /// Go back to a previous revision of a service (the last upgraded one by default)
    Rollback(RollbackArgs),
    /// Revisions of blue-green services: color, image, status and what changed
    History(HistoryArgs),
}

#[derive(Debug, Args, Clone)]
pub struct UpgradeArgs {
    /// The service to upgrade
    pub service: String,
    /// Blue-green through the service's router (x-stackctl.bluegreen); the default when declared
    #[arg(long)]
    pub blue_green: bool,
    /// Run this image instead of the compose file's
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// How long the new replicas may take to turn healthy
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub timeout: String,
    /// How long the old color keeps serving after the switch [default: the service's drain]
    #[arg(long, value_name = "DURATION")]
    pub drain: Option<String>,
    /// Old revisions whose containers are kept (stopped) for rollback
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep: usize,
    /// Go on even if the extra replicas do not fit the host's memory
    #[arg(long)]
    pub force: bool,
    /// For a service without a healthcheck: consider it ready this long after it starts
    #[arg(long, value_name = "DURATION")]
    pub ready_delay: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RollbackArgs {
    /// The service to roll back [default: the most recently upgraded one]
    pub service: Option<String>,
    /// The revision to go back to [default: the one before the active one]
    #[arg(long, value_name = "REV")]
    pub to: Option<u32>,
    /// How long the revision may take to turn healthy
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub timeout: String,
    /// How long the current color keeps serving after the switch [default: the service's drain]
    #[arg(long, value_name = "DURATION")]
    pub drain: Option<String>,
    /// For a service without a healthcheck: consider it ready this long after it starts
    #[arg(long, value_name = "DURATION")]
    pub ready_delay: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// Only this service
    pub service: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Debug, Args, Clone)]
pub struct UpArgs {
    /// Services to bring up (with their dependencies) [default: all]
    pub services: Vec<String>,
    /// Detached mode: accepted for compatibility; stackctl always detaches
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Wait for every service to be running, and healthy where it has a healthcheck
    #[arg(long)]
    pub wait: bool,
    /// Seconds to wait for health (depends_on service_healthy, --wait)
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub wait_timeout: u64,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Recreate containers even if their configuration is unchanged
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate existing containers
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Scale a service to N replicas (repeatable), e.g. --scale web=3
    #[arg(long, value_name = "SERVICE=N")]
    pub scale: Vec<String>,
    /// Print only errors and the final summary
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DownArgs {
    /// Also remove named volumes declared in the file (their data is lost)
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Seconds to wait for each container to stop [default: its stop_grace_period, else 10]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args, Clone)]
pub struct PsArgs {
    /// Only these services
    pub services: Vec<String>,
    /// Show stopped containers too
    #[arg(short, long)]
    pub all: bool,
    /// Only print container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Debug, Args, Clone)]
pub struct LogsArgs {
    /// Only these services
    pub services: Vec<String>,
    /// Follow log output (`logs -f` means this too, as in docker compose)
    // No clap short: the global `-f FILE` is propagated to every subcommand
    // and would clash; `compose_style_args` turns `logs -f` into `--follow`.
    #[arg(long)]
    pub follow: bool,
    /// Number of lines from the end of each container's log
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Only lines since this time: a duration (10m, 1h30m) or a Unix timestamp
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Don't prefix lines with the container name
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Don't use colours
    #[arg(long)]
    pub no_color: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    /// Service to run the command in
    pub service: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Which replica (1-based)
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Set an environment variable (repeatable): KEY=VALUE
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Run as this user
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Disable the pseudo-TTY (default: a TTY when stdin is a terminal)
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ServicesArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct StopArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
    /// Seconds to wait before killing [default: the service's stop_grace_period, else 10]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args, Clone)]
pub struct KillArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
    /// Signal to send
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
}

#[derive(Debug, Args, Clone)]
pub struct BuildArgs {
    /// Only these services [default: all with a build section]
    pub services: Vec<String>,
    /// Don't print the build output
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Clone)]
pub struct StatsArgs {
    /// Only these services
    pub services: Vec<String>,
    /// One sample, then exit (the default when stdout is not a terminal)
    #[arg(long)]
    pub no_stream: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DataFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: DataFormat,
    /// Only validate: print nothing on success
    #[arg(short, long)]
    pub quiet: bool,
    /// List the service names, one per line
    #[arg(long, conflicts_with_all = ["volumes", "networks"])]
    pub services: bool,
    /// List the volume names, one per line
    #[arg(long, conflicts_with = "networks")]
    pub volumes: bool,
    /// List the network names, one per line
    #[arg(long)]
    pub networks: bool,
    /// Show secret-looking environment values (PASSWORD, SECRET, TOKEN, KEY...) instead of masking them
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: GraphFormat,
    /// Only these services and what they depend on
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("host").required(true).args(["ram", "instance"])))]
pub struct BudgetArgs {
    /// Host memory, e.g. 1G, 1GiB, 512M (k/m/g are powers of 1024)
    #[arg(long, value_name = "SIZE")]
    pub ram: Option<String>,
    /// vCPUs of the host given with --ram (enables the CPU checks)
    #[arg(long, value_name = "N", requires = "ram")]
    pub vcpus: Option<f64>,
    /// An AWS burstable instance type: t3, t3a or t4g, nano to 2xlarge (e.g. t3.micro)
    #[arg(long, value_name = "TYPE")]
    pub instance: Option<String>,
    /// Memory kept for the kernel, OS and dockerd
    #[arg(long, value_name = "SIZE", default_value = "200MiB")]
    pub overhead: String,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Treat warnings (overcommit, unbounded services, CPU) as failures
    #[arg(long)]
    pub strict: bool,
    /// Also measure what the running containers use now (memory as `docker stats` counts it, CPU)
    #[arg(long)]
    pub live: bool,
}

/// Global options that take a value in the next argument.
const GLOBAL_VALUE_OPTIONS: &[&str] = &[
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--env-file",
    "--profile",
    "--project-directory",
];

/// The command line with docker compose's `logs -f` (follow) turned into
/// `--follow`. Global options are accepted after the subcommand, so clap
/// would read a `-f` there as `--file`; compose users mean follow. Only
/// `logs` is rewritten, and only up to a `--`; `-ft` becomes `--follow -t`.
pub fn compose_style_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let Some(logs) = subcommand_index(&args).filter(|&i| args[i] == "logs") else {
        return args;
    };
    let mut index = logs + 1;
    while index < args.len() {
        let Some(arg) = args[index].to_str().map(String::from) else {
            index += 1;
            continue;
        };
        if arg == "--" {
            break;
        }
        let is_cluster = arg.len() > 1
            && arg.starts_with('-')
            && !arg.starts_with("--")
            && arg[1..].chars().all(|ch| ch == 'f' || ch == 't')
            && arg.contains('f');
        if is_cluster {
            let mut replacement = vec![OsString::from("--follow")];
            if arg.contains('t') {
                replacement.push(OsString::from("-t"));
            }
            let added = replacement.len();
            args.splice(index..=index, replacement);
            index += added;
        } else {
            index += 1;
        }
    }
    args
}

/// Where the subcommand is: the first argument after the program name that
/// is neither an option nor a global option's value.
fn subcommand_index(args: &[OsString]) -> Option<usize> {
    let mut index = 1;
    while index < args.len() {
        let arg = args[index].to_str()?;
        if GLOBAL_VALUE_OPTIONS.contains(&arg) {
            index += 2;
        } else if arg.starts_with('-') {
            index += 1;
        } else {
            return Some(index);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn rewrite(args: &[&str]) -> Vec<String> {
        compose_style_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn every_subcommand_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn logs_dash_f_means_follow() {
        assert_eq!(
            rewrite(&["stackctl", "-f", "logs", "logs", "-f", "web"]),
            ["stackctl", "-f", "logs", "logs", "--follow", "web"]
        );
        assert_eq!(
            rewrite(&["stackctl", "-p", "x", "logs", "-ft", "--", "-f"]),
            ["stackctl", "-p", "x", "logs", "--follow", "-t", "--", "-f"]
        );
        assert_eq!(
            rewrite(&["stackctl", "config", "-f", "a.yaml"]),
            ["stackctl", "config", "-f", "a.yaml"]
        );
        let cli = Cli::parse_from(compose_style_args(
            ["stackctl", "-f", "c.yaml", "logs", "-f", "--tail", "3"].map(OsString::from),
        ));
        assert_eq!(cli.global.files, [PathBuf::from("c.yaml")]);
        match cli.command {
            Command::Logs(args) => assert!(args.follow && args.tail == Some(3)),
            other => panic!("parsed as {other:?}"),
        }
    }
}
