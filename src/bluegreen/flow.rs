//! The two flows, used by `upgrade`, `rollback` and `up`:
//! bring a revision in beside the active one, gate it, switch, drain, stop
//! the old one. A failed gate leaves the active color serving, untouched.

use super::deploy::{now_secs, Deployer, State};
use super::record::{Color, Revision};
use crate::compose::model::Service;
use crate::engine::spec as engine_spec;
use anyhow::anyhow;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct FlowOptions {
    pub timeout: Duration,
    pub drain: Duration,
    pub ready_delay: Option<Duration>,
    /// Standby revisions whose containers are kept.
    pub keep: usize,
}

/// What happened, with the figures people ask about.
#[derive(Debug, Clone)]
pub struct FlowReport {
    pub from: Option<u32>,
    pub to: u32,
    pub color: Color,
    pub containers: Vec<String>,
    /// Start of the new containers until all passed the gate.
    pub gate: Duration,
    /// Router write + check + reload (None without a router).
    pub switch: Option<Duration>,
    pub drained: Duration,
    pub pruned: Vec<u32>,
}

impl FlowReport {
    pub fn summary(&self, service: &str) -> String {
        let mut text = format!(
            "{service}: revision {} ({}) is active",
            self.to,
            self.color.as_str()
        );
        if let Some(from) = self.from {
            text.push_str(&format!("; revision {from} stopped and kept for rollback"));
        }
        text.push_str(&format!(". Health gate {:.1}s", self.gate.as_secs_f64()));
        if let Some(switch) = self.switch {
            text.push_str(&format!(", switch {} ms", switch.as_millis()));
        }
        text.push_str(&format!(", drain {:.0}s", self.drained.as_secs_f64()));
        if !self.pruned.is_empty() {
            let pruned: Vec<String> = self.pruned.iter().map(|n| n.to_string()).collect();
            text.push_str(&format!(
                "; removed the containers of revision {}",
                pruned.join(", ")
            ));
        }
        text
    }
}

/// A new revision of `config` with `image_id`, in the color not in use.
pub fn new_revision(state: &State, config: &Service, image: String, image_id: String) -> Revision {
    let color = state
        .active()
        .and_then(|active| state.containers_of(active).first().copied().cloned())
        .and_then(|c| super::record::container_revision(&c.labels))
        .map(|(color, _)| color.other())
        .unwrap_or(Color::Blue);
    Revision {
        service: config.name.clone(),
        number: state.next_number(),
        color,
        image,
        image_id,
        created: now_secs(),
        config: config.clone(),
        failed: None,
    }
}

/// True when `revision` already runs `config` on `image_id`.
pub fn same_config(revision: &Revision, config: &Service, image_id: &str) -> bool {
    engine_spec::config_hash(&revision.config) == engine_spec::config_hash(config)
        && revision.image_id == image_id
}

/// Bring `target` in (new, or a kept older revision), then retire the active
/// one. On a failed gate, the target's new containers are removed (kept ones
/// are stopped again), the revision is marked failed when it was new, and
/// the error carries the last health output.
pub async fn bring_in(
    deployer: &Deployer<'_>,
    state: &State,
    target: &Revision,
    is_new: bool,
    options: &FlowOptions,
) -> anyhow::Result<FlowReport> {
    let from = state.active();
    if from == Some(target.number) {
        return Err(anyhow!(
            "revision {} of {} is already active",
            target.number,
            deployer.name()
        ));
    }
    let started = Instant::now();
    let names = match deployer.start_revision(state, target).await {
        Ok(names) => names,
        Err(err) => {
            undo_start(deployer, target, is_new, &err.to_string()).await;
            return Err(err);
        }
    };
    if let Err(err) = deployer
        .gate(&target.config, &names, options.timeout, options.ready_delay)
        .await
    {
        undo_start(deployer, target, is_new, &format!("{err:#}")).await;
        return Err(err.context(format!(
            "revision {} of {} failed its health gate; revision {} keeps serving, untouched",
            target.number,
            deployer.name(),
            from.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
        )));
    }
    let gate = started.elapsed();
    let switch = deployer.switch_via(state.router.as_deref(), &names).await?;
    let old: Vec<_> = from.map(|n| state.containers_of(n)).unwrap_or_default();
    let drain_started = Instant::now();
    if !old.is_empty() {
        deployer.progress.update(
            deployer.name(),
            &format!("draining for {}s", options.drain.as_secs()),
        );
        tokio::time::sleep(options.drain).await;
        deployer.stop(&old).await?;
    }
    let drained = drain_started.elapsed();
    let pruned = deployer.prune(options.keep).await?;
    Ok(FlowReport {
        from,
        to: target.number,
        color: target.color,
        containers: names,
        gate,
        switch,
        drained,
        pruned,
    })
}

/// Leave things as they were before a failed start or gate.
async fn undo_start(deployer: &Deployer<'_>, target: &Revision, is_new: bool, reason: &str) {
    let Ok(state) = deployer.state().await else {
        return;
    };
    let containers = state.containers_of(target.number);
    if is_new {
        let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
        let _ = deployer.remove(&names).await;
        let _ = target
            .mark_failed(deployer.engine, deployer.project, reason)
            .await;
    } else {
        let running: Vec<_> = containers
            .into_iter()
            .filter(|c| c.state == "running")
            .collect();
        let _ = deployer.stop(&running).await;
    }
}

/// The revision a rollback goes to: `--to`, else the newest one older than
/// the active one that did not fail.
pub fn rollback_target(state: &State, to: Option<u32>) -> anyhow::Result<Revision> {
    let active = state.active();
    if let Some(number) = to {
        let revision = state
            .revision(number)
            .ok_or_else(|| anyhow!("there is no revision {number}: see `stackctl history`"))?;
        if revision.failed.is_some() {
            return Err(anyhow!(
                "revision {number} failed its health gate; pick another (see `stackctl history`)"
            ));
        }
        return Ok(revision.clone());
    }
    let active = active.ok_or_else(|| anyhow!("nothing is running to roll back from"))?;
    state
        .revisions
        .iter()
        .rev()
        .find(|r| r.number < active && r.failed.is_none())
        .cloned()
        .ok_or_else(|| anyhow!("there is no earlier revision to roll back to (active: {active})"))
}
