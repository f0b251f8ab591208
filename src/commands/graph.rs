//! `stackctl graph`: the dependency graph as start waves, dot or mermaid.

use crate::cli::{GlobalOptions, GraphArgs, GraphFormat};
use crate::error::{UsageError, EXIT_OK};
use crate::graph::{GraphError, ServiceGraph};

pub fn run(global: &GlobalOptions, args: &GraphArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let mut graph = ServiceGraph::new(loaded.project.services.values());
    if !args.services.is_empty() {
        graph = graph
            .with_dependencies(&args.services)
            .map_err(|err| match err {
                GraphError::UnknownService(_) => anyhow::Error::new(UsageError(err.to_string())),
                other => anyhow::Error::new(other),
            })?;
    }
    let text = match args.format {
        GraphFormat::Text => graph.render_text()?,
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(EXIT_OK)
}
