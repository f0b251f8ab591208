//! What the container verbs share: finding the selected services'
//! containers (by label, from the engine: there is no local state), running
//! one action on many containers at once, and plain table output.

use crate::compose::model::{Project, Service};
use crate::engine::containers::ContainerSummary;
use crate::engine::Engine;
use crate::error::{EXIT_FAILURE, EXIT_OK};
use crate::graph::ServiceGraph;
use futures_util::future::join_all;
use std::collections::BTreeSet;
use std::future::Future;
use std::io::IsTerminal;
use tabled::builder::Builder;
use tabled::settings::{Padding, Style};

/// The project's containers that belong to `services`, sorted by service and
/// replica; stopped ones too when `all`.
pub async fn containers_of(
    engine: &Engine,
    project: &Project,
    services: &[&Service],
    all: bool,
) -> anyhow::Result<Vec<ContainerSummary>> {
    let wanted: BTreeSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mut found = engine.list_project_containers(&project.name, all).await?;
    found.retain(|container| wanted.contains(container.service.as_str()));
    Ok(found)
}

/// The selected services grouped in dependency waves (start order, or stop
/// order when `reverse`), so a wave's containers can be handled in parallel.
pub fn waves(services: &[&Service], reverse: bool) -> anyhow::Result<Vec<Vec<String>>> {
    let graph = ServiceGraph::new(services.iter().copied());
    Ok(if reverse {
        graph.stop_waves()?
    } else {
        graph.start_waves()?
    })
}

/// Run `action` on every container at once; print `done` for each success
/// (as compose prints `Container x  Stopped`) and the error for each
/// failure. Exit 1 if any failed, so one bad container does not hide the rest.
pub async fn for_each_container<'c, F, Fut>(
    containers: impl IntoIterator<Item = &'c ContainerSummary>,
    done: &str,
    action: F,
) -> u8
where
    F: Fn(&'c ContainerSummary) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let containers: Vec<&ContainerSummary> = containers.into_iter().collect();
    let results = join_all(containers.iter().map(|c| action(c))).await;
    let mut code = EXIT_OK;
    for (container, result) in containers.iter().zip(results) {
        match result {
            Ok(()) => eprintln!("Container {}  {done}", container.name),
            Err(err) => {
                eprintln!("error: {}: {err:#}", container.name);
                code = EXIT_FAILURE;
            }
        }
    }
    code
}

/// Containers of one wave (those whose service is in `wave`).
pub fn in_wave<'c>(
    containers: &'c [ContainerSummary],
    wave: &'c [String],
) -> impl Iterator<Item = &'c ContainerSummary> + 'c {
    containers
        .iter()
        .filter(move |container| wave.contains(&container.service))
}

/// A borderless, left-aligned table like the docker CLI prints.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut builder = Builder::default();
    builder.push_record(header.iter().copied());
    for row in rows {
        builder.push_record(row);
    }
    let mut table = builder.build();
    table.with(Style::blank()).with(Padding::new(0, 2, 0, 0));
    // The last column's padding would leave trailing blanks on every line.
    let mut text: String = table
        .to_string()
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

/// Whether stdout is an interactive terminal: decides colours, live
/// progress bars and refreshing displays, none of which belong in a pipe.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// 12 hex digits of an id, without the `sha256:` prefix, as the CLI shows.
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}
