//! `stackctl images`: the images the project's containers run, with the
//! size each one costs on disk.

use super::targets::{containers_of, short_id, table};
use crate::cli::{GlobalOptions, ServicesArgs};
use crate::compose::units::format_size;
use crate::engine::containers::ContainerSummary;
use crate::engine::images::{split_reference, ImageFilter, ImageInfo};
use crate::engine::Engine;
use crate::error::EXIT_OK;
use futures_util::future::join_all;
use std::collections::HashMap;

const HEADER: &[&str] = &["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"];

pub async fn run(global: &GlobalOptions, args: &ServicesArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let engine = super::connect().await?;
    let containers = containers_of(&engine, project, &services, true).await?;
    let image_ids = image_ids(&engine, &containers).await;
    let images: HashMap<String, ImageInfo> = engine
        .list_images(&ImageFilter::default())
        .await?
        .into_iter()
        .map(|image| (image.id.clone(), image))
        .collect();
    let rows = containers.iter().zip(&image_ids).map(|(container, id)| {
        let image = id.as_ref().and_then(|id| images.get(id));
        row(container, id.as_deref(), image)
    });
    print!("{}", table(HEADER, rows));
    Ok(EXIT_OK)
}

/// The id of the image each container was created from. The list only has
/// the name it was created with, and that tag may since point elsewhere.
async fn image_ids(engine: &Engine, containers: &[ContainerSummary]) -> Vec<Option<String>> {
    join_all(containers.iter().map(|c| engine.inspect_container(&c.id)))
        .await
        .into_iter()
        .map(|inspect| inspect.ok().and_then(|i| i.image))
        .collect()
}

/// The container's image name if that image still carries it, else the
/// image's first tag, else `<none>`.
fn row(container: &ContainerSummary, id: Option<&str>, image: Option<&ImageInfo>) -> Vec<String> {
    let tags = image.map(|i| i.tags.as_slice()).unwrap_or_default();
    let reference = tags
        .iter()
        .find(|tag| **tag == container.image || **tag == format!("{}:latest", container.image))
        .or_else(|| tags.first());
    let (repository, tag) = match reference {
        Some(reference) => {
            let (repository, tag) = split_reference(reference);
            (repository.to_string(), tag.to_string())
        }
        None => ("<none>".to_string(), "<none>".to_string()),
    };
    vec![
        container.name.clone(),
        repository,
        tag,
        id.map(short_id).unwrap_or_else(|| "-".into()),
        image.map_or_else(|| "-".into(), |i| format_size(i.size)),
    ]
}
