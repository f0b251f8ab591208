//! `stackctl build`: build the images of services with a `build:` section,
//! tagged with the name their containers will run (`image:` when given, else
//! `<project>-<service>`), one after the other so the output stays readable.

use crate::cli::{BuildArgs, GlobalOptions};
use crate::compose::model::Service;
use crate::engine::spec;
use crate::error::{EXIT_FAILURE, EXIT_OK};

pub async fn run(global: &GlobalOptions, args: &BuildArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let buildable: Vec<&Service> = services
        .into_iter()
        .filter(|service| service.build.is_some())
        .collect();
    if buildable.is_empty() {
        eprintln!("nothing to build: no selected service has a `build:` section");
        return Ok(EXIT_OK);
    }
    let engine = super::connect().await?;
    let mut code = EXIT_OK;
    for service in buildable {
        let Some(build) = &service.build else {
            continue;
        };
        let tag = spec::image_name(&project.name, service);
        if !args.quiet {
            eprintln!("Building {} ({tag})", service.name);
        }
        let quiet = args.quiet;
        let print = |line: &str| {
            if !quiet {
                println!("{line}");
            }
        };
        match engine.build_image(build, &tag, &print).await {
            Ok(id) if quiet => println!("{id}"),
            Ok(_) => eprintln!("Built {tag}"),
            Err(err) => {
                eprintln!("error: {err}");
                code = EXIT_FAILURE;
            }
        }
    }
    Ok(code)
}
