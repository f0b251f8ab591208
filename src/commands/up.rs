//! `stackctl up`: make the engine match the compose file.
//!
//! Networks and volumes first, then images, then containers wave by wave
//! (services of one wave in parallel), each service converged to its plan:
//! unchanged containers are left alone, changed ones replaced one replica at a
//! time. If something fails, what started stays up and the message says what
//! runs and what does not; running `up` again continues from there.

use crate::bluegreen::{
    self,
    deploy::Deployer,
    flow::{self, FlowOptions},
};
use crate::cli::{GlobalOptions, UpArgs};
use crate::compose::model::{DependencyCondition, MountType, Project, Service};
use crate::engine::containers::ContainerSummary;
use crate::engine::{spec, Engine};
use crate::error::{UsageError, EXIT_OK};
use crate::graph::ServiceGraph;
use crate::plan::{self, Action, PlanOptions, IMAGE_ID_LABEL};
use crate::progress::Progress;
use anyhow::{anyhow, Context as _};
use indexmap::IndexMap;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What every task of one `up` shares.
struct Up {
    engine: Engine,
    project: Project,
    progress: Progress,
    options: PlanOptions,
    health_timeout: Duration,
    /// Image ID per service, resolved before any container is created.
    image_ids: HashMap<String, String>,
    /// The project's containers as found at the start, by service.
    existing: HashMap<String, Vec<ContainerSummary>>,
}

/// Counts for the closing summary.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    created: usize,
    recreated: usize,
    started: usize,
    unchanged: usize,
    removed: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.created += other.created;
        self.recreated += other.recreated;
        self.started += other.started;
        self.unchanged += other.unchanged;
        self.removed += other.removed;
    }

    fn changed(&self) -> bool {
        self.created + self.recreated + self.started + self.removed > 0
    }
}

pub async fn run(global: &GlobalOptions, args: &UpArgs) -> anyhow::Result<u8> {
    let loaded = super::load_project(global)?;
    let mut project = loaded.project;
    apply_scale(&mut project, &args.scale)?;
    let graph = selected_graph(&project, &args.services)?;
    let waves = graph.start_waves()?;
    let selected: Vec<String> = waves.iter().flatten().cloned().collect();

    let engine = super::connect().await?;
    let width = selected.iter().map(String::len).max().unwrap_or(8).max(8);
    let progress = Progress::new(args.quiet, width);

    ensure_networks(&engine, &project, &selected, &progress).await?;
    ensure_volumes(&engine, &project, &selected, &progress).await?;
    let image_ids = prepare_images(&engine, &project, &selected, args.build, &progress).await?;

    let all = engine.list_project_containers(&project.name, true).await?;
    let mut tally = handle_orphans(&engine, &project, &all, args.remove_orphans, &progress).await?;
    let mut existing: HashMap<String, Vec<ContainerSummary>> = HashMap::new();
    for container in all {
        existing
            .entry(container.service.clone())
            .or_default()
            .push(container);
    }

    let up = Arc::new(Up {
        engine,
        project,
        progress,
        options: PlanOptions {
            force_recreate: args.force_recreate,
            no_recreate: args.no_recreate,
        },
        health_timeout: Duration::from_secs(args.wait_timeout),
        image_ids,
        existing,
    });
    tally.add(run_services(&up, &graph, &selected).await?);
    if args.wait {
        wait_all(&up, &selected).await?;
    }
    print_summary(&up, &selected, tally);
    Ok(EXIT_OK)
}

/// `--scale web=3` overrides the file's replica count.
fn apply_scale(project: &mut Project, scales: &[String]) -> Result<(), UsageError> {
    for entry in scales {
        let (name, count) = entry
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--scale `{entry}`: expected SERVICE=N")))?;
        let count: u32 = count
            .parse()
            .map_err(|_| UsageError(format!("--scale `{entry}`: N must be a whole number")))?;
        let service = project
            .services
            .get_mut(name)
            .ok_or_else(|| UsageError(format!("--scale: no such service `{name}`")))?;
        if count > 1 && service.container_name.is_some() {
            return Err(UsageError(format!(
                "--scale {name}={count}: the service sets container_name, so it can have one replica"
            )));
        }
        service.replicas = count;
    }
    Ok(())
}

/// The services to bring up: all, or the named ones and their dependencies.
fn selected_graph(project: &Project, names: &[String]) -> anyhow::Result<ServiceGraph> {
    let graph = ServiceGraph::new(project.services.values());
    if names.is_empty() {
        return Ok(graph);
    }
    super::select_services(project, names)?;
    Ok(graph.with_dependencies(names)?)
}

fn selected_services<'p>(project: &'p Project, selected: &[String]) -> Vec<&'p Service> {
    selected
        .iter()
        .filter_map(|name| project.services.get(name))
        .collect()
}

async fn ensure_networks(
    engine: &Engine,
    project: &Project,
    selected: &[String],
    progress: &Progress,
) -> anyhow::Result<()> {
    let used: BTreeSet<&String> = selected_services(project, selected)
        .iter()
        .flat_map(|service| service.networks.keys())
        .collect();
    for key in used {
        let Some(network) = project.networks.get(key) else {
            continue;
        };
        let label = format!("network {}", network.name);
        let (_, created) = engine
            .ensure_network(key, network, &project.name)
            .await
            .with_context(|| format!("network `{}`", network.name))?;
        if created {
            progress.finish(&label, "created");
        }
    }
    Ok(())
}

async fn ensure_volumes(
    engine: &Engine,
    project: &Project,
    selected: &[String],
    progress: &Progress,
) -> anyhow::Result<()> {
    let used: BTreeSet<&String> = selected_services(project, selected)
        .iter()
        .flat_map(|service| service.volumes.iter())
        .filter(|mount| mount.kind == MountType::Volume)
        .filter_map(|mount| mount.source.as_ref())
        .collect();
    for key in used {
        let Some(volume) = project.volumes.get(key) else {
            continue;
        };
        let label = format!("volume {}", volume.name);
        let (_, created) = engine
            .ensure_volume(key, volume, &project.name)
            .await
            .with_context(|| format!("volume `{}`", volume.name))?;
        if created {
            progress.finish(&label, "created");
        }
    }
    Ok(())
}

/// Build or pull what is missing (or everything buildable with `--build`)
/// and return each service's image ID.
async fn prepare_images(
    engine: &Engine,
    project: &Project,
    selected: &[String],
    rebuild: bool,
    progress: &Progress,
) -> anyhow::Result<HashMap<String, String>> {
    let mut by_reference: HashMap<String, String> = HashMap::new();
    let mut ids = HashMap::new();
    for service in selected_services(project, selected) {
        let reference = spec::image_name(&project.name, service);
        if let Some(id) = by_reference.get(&reference) {
            ids.insert(service.name.clone(), id.clone());
            continue;
        }
        let id = image_for(engine, service, &reference, rebuild, progress).await?;
        by_reference.insert(reference, id.clone());
        ids.insert(service.name.clone(), id);
    }
    Ok(ids)
}

/// The image ID `service` runs: built (when it has `build:` and the image
/// is missing or `rebuild`), present, or pulled.
pub(crate) async fn image_for(
    engine: &Engine,
    service: &Service,
    reference: &str,
    rebuild: bool,
    progress: &Progress,
) -> anyhow::Result<String> {
    let present = engine.image_id(reference).await?;
    if let Some(build) = &service.build {
        if rebuild || present.is_none() {
            progress.update(&service.name, &format!("building {reference}"));
            let name = service.name.clone();
            let output = |line: &str| progress.note(&format!("{name} | {}", line.trim_end()));
            let id = engine.build_image(build, reference, &output).await?;
            progress.update(&service.name, "built");
            return Ok(id);
        }
    }
    if let Some(id) = present {
        return Ok(id);
    }
    progress.update(&service.name, &format!("pulling {reference}"));
    let name = service.name.clone();
    let report = |update: crate::engine::images::PullProgress| {
        let layer = update.layer.as_deref().unwrap_or("");
        progress.update(&name, &format!("pulling {layer} {}", update.status));
    };
    engine.pull_image(reference, &report).await?;
    engine
        .image_id(reference)
        .await?
        .ok_or_else(|| anyhow!("image `{reference}` is missing after the pull"))
}

/// Containers of services that left the file: removed with
/// `--remove-orphans`, otherwise a warning that says how.
async fn handle_orphans(
    engine: &Engine,
    project: &Project,
    containers: &[ContainerSummary],
    remove: bool,
    progress: &Progress,
) -> anyhow::Result<Tally> {
    let orphans = plan::orphans(&project.services, &project.disabled_services, containers);
    let mut tally = Tally::default();
    if orphans.is_empty() {
        return Ok(tally);
    }
    if !remove {
        let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
        progress.note(&format!(
            "warning: found orphan containers ({}) for services not in the compose file; run with --remove-orphans to remove them",
            names.join(", ")
        ));
        return Ok(tally);
    }
    for orphan in orphans {
        progress.update(&orphan.name, "removing orphan");
        engine.stop_container(&orphan.name, None).await?;
        engine.remove_container(&orphan.name, true, false).await?;
        progress.finish(&orphan.name, "removed (orphan)");
        tally.removed += 1;
    }
    Ok(tally)
}

/// How many services converge at once (each may create several containers).
const PARALLEL_SERVICES: usize = 8;

/// Converge every service as soon as its own dependencies are done: the
/// order of the waves, without waiting for a whole wave (one slow container
/// holds up only what depends on it). A failure stops what depends on it;
/// everything else carries on, and the report says what runs and what not.
async fn run_services(
    up: &Arc<Up>,
    graph: &ServiceGraph,
    order: &[String],
) -> anyhow::Result<Tally> {
    use tokio::sync::{watch, Semaphore};
    let limit = Arc::new(Semaphore::new(PARALLEL_SERVICES));
    let mut outcomes: HashMap<String, watch::Receiver<Option<bool>>> = HashMap::new();
    let mut tasks = JoinSet::new();
    for name in order {
        let (done_tx, done_rx) = watch::channel(None);
        let dependencies: Vec<watch::Receiver<Option<bool>>> = graph
            .dependencies_of(name)
            .iter()
            .filter_map(|dep| outcomes.get(dep).cloned())
            .collect();
        outcomes.insert(name.clone(), done_rx);
        let (up, name, limit) = (Arc::clone(up), name.clone(), Arc::clone(&limit));
        tasks.spawn(async move {
            for mut dependency in dependencies {
                let ok = dependency
                    .wait_for(Option::is_some)
                    .await
                    .map(|v| *v == Some(true));
                if !matches!(ok, Ok(true)) {
                    let _ = done_tx.send(Some(false));
                    return (name, None);
                }
            }
            let _permit = limit.acquire_owned().await;
            let result = converge_service(&up, &name).await;
            let _ = done_tx.send(Some(result.is_ok()));
            (name, Some(result))
        });
    }
    let mut tally = Tally::default();
    let (mut done, mut blocked, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (name, result) = joined.context("a service task panicked")?;
        match result {
            Some(Ok(service_tally)) => {
                tally.add(service_tally);
                done.push(name);
            }
            Some(Err(err)) => {
                up.progress.fail(&name, &format!("{err:#}"));
                failures.push((name, err));
            }
            None => blocked.push(name),
        }
    }
    if !failures.is_empty() {
        done.sort();
        blocked.sort();
        return Err(partial_failure(&failures, &done, &blocked));
    }
    Ok(tally)
}

fn partial_failure(
    failures: &[(String, anyhow::Error)],
    done: &[String],
    not_started: &[String],
) -> anyhow::Error {
    let mut message = String::from("up did not finish:\n");
    for (name, err) in failures {
        message.push_str(&format!("  {name}: {err:#}\n"));
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    message.push_str(&format!("  up and running: {}\n", list(done)));
    message.push_str(&format!(
        "  not started (waiting on the failed services): {}\n",
        list(not_started)
    ));
    message.push_str(
        "  nothing was rolled back; fix the problem and run `stackctl up` again to continue",
    );
    anyhow!(message)
}

/// Wait for the service's dependencies, then apply its plan.
async fn converge_service(up: &Up, name: &str) -> anyhow::Result<Tally> {
    let service = up
        .project
        .services
        .get(name)
        .ok_or_else(|| anyhow!("no such service `{name}`"))?;
    wait_for_dependencies(up, service).await?;
    if let Some(bluegreen) = bluegreen::spec::bluegreen_spec(service) {
        return converge_bluegreen(up, service, bluegreen).await;
    }
    let hash = spec::config_hash(service);
    let image_id = up.image_ids.get(name).map(String::as_str);
    let existing: Vec<&ContainerSummary> = up
        .existing
        .get(name)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    let actions = plan::plan_service(service, &hash, image_id, &existing, up.options);
    // New and stopped replicas come up in parallel; replacements and
    // removals go one at a time so the service keeps serving.
    let (parallel, serial): (Vec<&Action>, Vec<&Action>) = actions
        .iter()
        .partition(|a| matches!(a, Action::Create { .. } | Action::Start { .. }));
    let applied = futures_util::future::join_all(parallel.into_iter().map(|action| async move {
        let mut tally = Tally::default();
        apply(up, service, action, &mut tally).await.map(|_| tally)
    }))
    .await;
    let mut tally = Tally::default();
    for result in applied {
        tally.add(result?);
    }
    for action in serial {
        apply(up, service, action, &mut tally).await?;
    }
    if bluegreen::spec::router_spec(service).is_some() {
        sync_routes(up, service).await?;
    }
    let running = service.replicas;
    let state = if tally.changed() {
        format!("running ({running}/{running})")
    } else {
        format!("up to date ({running}/{running} running)")
    };
    up.progress.finish(name, &state);
    Ok(tally)
}

/// A blue-green service: keep the active revision when the file asks for the
/// same config and image; otherwise bring a new revision in through the
/// blue-green flow. An operation interrupted by a crash is converged first.
async fn converge_bluegreen(
    up: &Up,
    service: &Service,
    bluegreen: bluegreen::spec::BlueGreenSpec,
) -> anyhow::Result<Tally> {
    let drain = bluegreen.drain;
    let deployer = Deployer {
        engine: &up.engine,
        project: &up.project,
        service,
        spec: bluegreen,
        progress: &up.progress,
    };
    recover_interrupted(up, &deployer).await?;
    let state = deployer.state().await?;
    let image_id = up.image_ids.get(&service.name).cloned().unwrap_or_default();
    let reference = spec::image_name(&up.project.name, service);
    let replicas = service.replicas as usize;
    let mut tally = Tally::default();
    let current = state.active().and_then(|n| state.revision(n));
    if let Some(current) = current {
        if flow::same_config(current, service, &image_id) && !up.options.force_recreate {
            tally.unchanged += replicas;
            return finish_bluegreen(up, service, tally);
        }
        if up.options.no_recreate {
            tally.unchanged += replicas;
            return finish_bluegreen(up, service, tally);
        }
        let revision = flow::new_revision(&state, service, reference, image_id);
        revision.save(&up.engine, &up.project).await?;
        let options = FlowOptions {
            timeout: up.health_timeout,
            drain,
            ready_delay: Some(Duration::ZERO),
            keep: 3,
        };
        let report = flow::bring_in(&deployer, &state, &revision, true, &options).await?;
        up.progress.note(&report.summary(&service.name));
        tally.recreated += replicas;
        return finish_bluegreen(up, service, tally);
    }
    // Nothing runs: bring back a kept revision of the same config, or start
    // a new one.
    let kept = state
        .revisions
        .iter()
        .rev()
        .find(|r| {
            flow::same_config(r, service, &image_id) && !state.containers_of(r.number).is_empty()
        })
        .cloned();
    let revision = match kept {
        Some(revision) => revision,
        None => {
            let revision = flow::new_revision(&state, service, reference, image_id);
            revision.save(&up.engine, &up.project).await?;
            revision
        }
    };
    let names = deployer.start_revision(&state, &revision).await?;
    deployer.switch(&names).await?;
    tally.created += names.len();
    finish_bluegreen(up, service, tally)
}

fn finish_bluegreen(up: &Up, service: &Service, tally: Tally) -> anyhow::Result<Tally> {
    let running = service.replicas;
    let state = if tally.changed() {
        format!("running ({running}/{running})")
    } else {
        format!("up to date ({running}/{running} running)")
    };
    up.progress.finish(&service.name, &state);
    Ok(tally)
}

/// A lock left by a killed `upgrade`/`rollback` of this service: converge
/// what it left (traffic on a running, healthy color; no half-started one).
async fn recover_interrupted(up: &Up, deployer: &Deployer<'_>) -> anyhow::Result<()> {
    let Some((operation, stale)) =
        bluegreen::lock::stale_operation(&up.engine, &up.project.name).await?
    else {
        return Ok(());
    };
    if operation.service != deployer.service.name {
        return Ok(());
    }
    if !stale {
        return Err(anyhow!(
            "a {} of {} is in progress: wait for it to finish",
            operation.kind,
            operation.service
        ));
    }
    for note in deployer.converge(Some(&operation)).await? {
        up.progress.note(&format!("recovered: {note}"));
    }
    bluegreen::lock::clear_stale(&up.engine, &up.project.name).await?;
    Ok(())
}

/// The router (re)started: point each blue-green service routed through it
/// at its active color.
async fn sync_routes(up: &Up, router: &Service) -> anyhow::Result<()> {
    for service in up.project.services.values() {
        let Some(bluegreen) = bluegreen::spec::bluegreen_spec(service) else {
            continue;
        };
        if bluegreen.router != router.name {
            continue;
        }
        let port = bluegreen.port;
        let deployer = Deployer {
            engine: &up.engine,
            project: &up.project,
            service,
            spec: bluegreen,
            progress: &up.progress,
        };
        let state = deployer.state().await?;
        let Some(active) = state.active() else {
            continue;
        };
        let names: Vec<String> = state
            .containers_of(active)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        if state.routed != names {
            up.progress.update(
                &router.name,
                &format!(
                    "routing {} to revision {active} (port {port})",
                    service.name
                ),
            );
            deployer.switch(&names).await?;
        }
    }
    Ok(())
}

async fn wait_for_dependencies(up: &Up, service: &Service) -> anyhow::Result<()> {
    for (dependency, condition) in &service.depends_on {
        let Some(target) = up.project.services.get(dependency) else {
            continue; // `required: false` on a missing service: validated already
        };
        let names = running_containers(up, target).await?;
        match condition.condition {
            DependencyCondition::ServiceStarted => {}
            DependencyCondition::ServiceHealthy => {
                up.progress.update(
                    &service.name,
                    &format!("waiting for {dependency} to be healthy"),
                );
                let deadline = Instant::now() + up.health_timeout;
                for container in &names {
                    up.engine
                        .wait_healthy(container, deadline)
                        .await
                        .with_context(|| format!("dependency `{dependency}` is not healthy"))?;
                }
            }
            DependencyCondition::ServiceCompletedSuccessfully => {
                up.progress.update(
                    &service.name,
                    &format!("waiting for {dependency} to complete"),
                );
                let deadline = Instant::now() + up.health_timeout;
                for container in &names {
                    let code = up.engine.wait_completed(container, deadline).await?;
                    if code != 0 {
                        return Err(anyhow!(
                            "dependency `{dependency}` ({container}) exited with code {code}; expected 0"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The containers serving `service` now: its running ones (for a blue-green
/// service, the active color's), else the names its replicas will have.
async fn running_containers(up: &Up, service: &Service) -> anyhow::Result<Vec<String>> {
    let running: Vec<ContainerSummary> = up
        .engine
        .list_project_containers(&up.project.name, false)
        .await?
        .into_iter()
        .filter(|c| c.service == service.name)
        .collect();
    let newest = running
        .iter()
        .filter_map(bluegreen::deploy::revision_of)
        .max();
    let names: Vec<String> = running
        .iter()
        .filter(|c| newest.is_none() || bluegreen::deploy::revision_of(c) == newest)
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        return Ok(replica_names(&up.project, service));
    }
    Ok(names)
}

fn replica_names(project: &Project, service: &Service) -> Vec<String> {
    (1..=service.replicas)
        .map(|replica| spec::container_name(&project.name, service, replica))
        .collect()
}

async fn apply(
    up: &Up,
    service: &Service,
    action: &Action,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    match action {
        Action::Keep { .. } => tally.unchanged += 1,
        Action::Start { container, .. } => {
            up.progress
                .update(&service.name, &format!("starting {container}"));
            up.engine.start_container(container).await?;
            tally.started += 1;
        }
        Action::Create { replica } => {
            create_and_start(up, service, *replica).await?;
            tally.created += 1;
        }
        Action::Recreate { replica, container } => {
            replace(up, service, *replica, container).await?;
            tally.recreated += 1;
        }
        Action::Remove { container } => {
            up.progress
                .update(&service.name, &format!("removing {container}"));
            up.engine
                .stop_container(container, service.stop_grace_period)
                .await?;
            up.engine.remove_container(container, true, false).await?;
            tally.removed += 1;
        }
    }
    Ok(())
}

fn extra_labels(up: &Up, service: &Service) -> IndexMap<String, String> {
    let mut labels = IndexMap::new();
    if let Some(id) = up.image_ids.get(&service.name) {
        labels.insert(IMAGE_ID_LABEL.to_string(), id.clone());
    }
    labels
}

async fn create_and_start(up: &Up, service: &Service, replica: u32) -> anyhow::Result<String> {
    let name = spec::container_name(&up.project.name, service, replica);
    up.progress
        .update(&service.name, &format!("creating {name}"));
    let body = spec::container_spec(&up.project, service, replica, &extra_labels(up, service));
    let networks = spec::extra_networks(&up.project, service);
    up.engine
        .create_container(&name, body, &networks)
        .await
        .with_context(|| format!("creating {name}"))?;
    up.progress
        .update(&service.name, &format!("starting {name}"));
    up.engine
        .start_container(&name)
        .await
        .with_context(|| format!("starting {name}"))?;
    Ok(name)
}

/// Replace one replica. Without a fixed host port the new container starts
/// beside the old one and the old one goes only once the new one runs (and is
/// healthy, when it has a check), so the service keeps serving. With a fixed
/// host port the two cannot coexist: the old one stops first.
async fn replace(up: &Up, service: &Service, replica: u32, old: &str) -> anyhow::Result<()> {
    let parked = format!("{old}-replaced-{}", std::process::id());
    up.engine.rename_container(old, &parked).await?;
    if plan::has_fixed_host_port(service) {
        up.progress
            .update(&service.name, &format!("stopping {old}"));
        up.engine
            .stop_container(&parked, service.stop_grace_period)
            .await?;
    }
    let started = create_and_start(up, service, replica).await;
    let ready = match started {
        Ok(name) => wait_ready(up, service, &name).await.map(|_| name),
        Err(err) => Err(err),
    };
    match ready {
        Ok(_) => {
            up.progress
                .update(&service.name, &format!("removing old {old}"));
            up.engine
                .stop_container(&parked, service.stop_grace_period)
                .await?;
            up.engine.remove_container(&parked, true, false).await?;
            Ok(())
        }
        Err(err) => {
            // Put the old replica back so the service is as it was.
            let name = spec::container_name(&up.project.name, service, replica);
            let _ = up.engine.remove_container(&name, true, false).await;
            let _ = up.engine.rename_container(&parked, old).await;
            let _ = up.engine.start_container(old).await;
            Err(err.context(format!("replacing {old}; the old container was kept")))
        }
    }
}

/// A new replica is ready when it runs, and is healthy if it has a check.
async fn wait_ready(up: &Up, service: &Service, container: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + up.health_timeout;
    if service
        .healthcheck
        .as_ref()
        .is_some_and(|check| check.is_active())
    {
        up.progress.update(
            &service.name,
            &format!("waiting for {container} to be healthy"),
        );
        up.engine.wait_healthy(container, deadline).await?;
    } else {
        up.engine.wait_running(container, deadline).await?;
    }
    Ok(())
}

/// `--wait`: every replica running, and healthy where it has a check.
async fn wait_all(up: &Up, selected: &[String]) -> anyhow::Result<()> {
    for service in selected_services(&up.project, selected) {
        for container in running_containers(up, service).await? {
            wait_ready(up, service, &container).await?;
        }
        up.progress.finish(&service.name, "ready");
    }
    Ok(())
}

fn print_summary(up: &Up, selected: &[String], tally: Tally) {
    let containers: u32 = selected_services(&up.project, selected)
        .iter()
        .map(|s| s.replicas)
        .sum();
    if !tally.changed() {
        println!(
            "Nothing to do: {containers} container{} of project {} up to date",
            if containers == 1 { "" } else { "s" },
            up.project.name
        );
        return;
    }
    let parts: Vec<(&str, usize)> = [
        ("created", tally.created),
        ("recreated", tally.recreated),
        ("started", tally.started),
        ("unchanged", tally.unchanged),
        ("removed", tally.removed),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect();
    let text: Vec<String> = parts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "Project {} is up: {} ({containers} container{} running)",
        up.project.name,
        text.join(", "),
        if containers == 1 { "" } else { "s" }
    );
}
