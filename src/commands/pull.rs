//! `stackctl pull`: pull the images of services that do not build their
//! own, all at once, with per-layer progress (bars on a terminal, one line
//! per layer step otherwise, so CI logs stay short).

use crate::cli::{GlobalOptions, ServicesArgs};
use crate::compose::model::Service;
use crate::engine::images::PullProgress;
use crate::engine::Engine;
use crate::error::{EXIT_FAILURE, EXIT_OK};
use futures_util::future::join_all;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;

pub async fn run(global: &GlobalOptions, args: &ServicesArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let project = &loaded.project;
    let services = super::select_services(project, &args.services)?;
    let images = images_to_pull(&services);
    if images.is_empty() {
        eprintln!("nothing to pull: every selected service builds its image");
        return Ok(EXIT_OK);
    }
    let engine = super::connect().await?;
    let bars = std::io::stderr()
        .is_terminal()
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let results = join_all(
        images
            .iter()
            .map(|image| pull_one(&engine, image, bars.as_ref())),
    )
    .await;
    let mut code = EXIT_OK;
    for (image, result) in images.iter().zip(results) {
        match result {
            Ok(()) => eprintln!("Pulled {image}"),
            Err(err) => {
                eprintln!("error: {err}");
                code = EXIT_FAILURE;
            }
        }
    }
    Ok(code)
}

/// Distinct images of services without `build:` (those are built, not
/// pulled), in name order.
pub fn images_to_pull(services: &[&Service]) -> Vec<String> {
    let images: BTreeSet<String> = services
        .iter()
        .filter(|service| service.build.is_none())
        .filter_map(|service| service.image.clone())
        .collect();
    images.into_iter().collect()
}

async fn pull_one(
    engine: &Engine,
    image: &str,
    bars: Option<&MultiProgress>,
) -> Result<(), crate::engine::EngineError> {
    let display = PullDisplay::new(image, bars);
    let result = engine.pull_image(image, &|event| display.show(event)).await;
    display.finish();
    result
}

/// Progress of one image's pull: a bar per layer, or plain lines.
struct PullDisplay<'m> {
    image: String,
    bars: Option<&'m MultiProgress>,
    layers: RefCell<HashMap<String, ProgressBar>>,
    /// Plain mode: the last status printed per layer, to print changes only.
    printed: RefCell<HashMap<String, String>>,
}

impl<'m> PullDisplay<'m> {
    fn new(image: &str, bars: Option<&'m MultiProgress>) -> PullDisplay<'m> {
        PullDisplay {
            image: image.to_string(),
            bars,
            layers: RefCell::new(HashMap::new()),
            printed: RefCell::new(HashMap::new()),
        }
    }

    fn show(&self, event: PullProgress) {
        match self.bars {
            Some(bars) => self.show_bar(bars, event),
            None => self.show_line(event),
        }
    }

    /// One line per change of a layer's status, never per byte count.
    fn show_line(&self, event: PullProgress) {
        let key = event.layer.clone().unwrap_or_default();
        let mut printed = self.printed.borrow_mut();
        if printed.get(&key) == Some(&event.status) {
            return;
        }
        match &event.layer {
            Some(layer) => eprintln!("{}: {layer}: {}", self.image, event.status),
            None => eprintln!("{}: {}", self.image, event.status),
        }
        printed.insert(key, event.status);
    }

    fn show_bar(&self, bars: &MultiProgress, event: PullProgress) {
        let key = event.layer.clone().unwrap_or_default();
        let mut layers = self.layers.borrow_mut();
        let bar = layers.entry(key.clone()).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(0));
            bar.set_style(layer_style());
            bar.set_prefix(format!("{} {key}", self.image));
            bar
        });
        if let (Some(current), Some(total)) = (event.current, event.total) {
            bar.set_length(total);
            bar.set_position(current.min(total));
        }
        bar.set_message(event.status);
    }

    fn finish(&self) {
        for bar in self.layers.borrow().values() {
            bar.finish();
        }
    }
}

fn layer_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:.bold} {msg:<12} {bar:30} {bytes}/{total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::Build;

    #[test]
    fn only_services_without_build_are_pulled_once_each() {
        let with_image = |name: &str, image: &str| Service {
            name: name.into(),
            image: Some(image.into()),
            ..Default::default()
        };
        let a = with_image("a", "redis:7");
        let b = with_image("b", "redis:7");
        let built = Service {
            build: Some(Build::default()),
            ..with_image("c", "mine:1")
        };
        assert_eq!(images_to_pull(&[&a, &b, &built]), vec!["redis:7"]);
    }
}
