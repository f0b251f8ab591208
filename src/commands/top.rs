//! `stackctl top`: the processes of each selected running container, as
//! the host's `ps -ef` sees them.

use super::targets::{containers_of, table};
use crate::cli::{GlobalOptions, ServicesArgs};
use crate::error::{EXIT_FAILURE, EXIT_OK};
use futures_util::future::join_all;

pub async fn run(global: &GlobalOptions, args: &ServicesArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let running = containers_of(&engine, project, &services, false).await?;
    let tops = join_all(running.iter().map(|c| engine.top(&c.id))).await;
    let mut code = EXIT_OK;
    for (index, (container, top)) in running.iter().zip(tops).enumerate() {
        if index > 0 {
            println!();
        }
        match top {
            Ok(top) => {
                println!("{}", container.name);
                let titles: Vec<&str> = top.titles.iter().map(String::as_str).collect();
                print!("{}", table(&titles, top.processes));
            }
            Err(err) => {
                eprintln!("error: {}: {err}", container.name);
                code = EXIT_FAILURE;
            }
        }
    }
    Ok(code)
}
