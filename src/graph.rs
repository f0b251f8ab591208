//! The service dependency graph: which services must be running before which.
//!
//! Nodes are services; an edge `A → B` means "A depends on B", so B has to be
//! started first and stopped last. Edges come from every compose key that ties
//! one service to another: `depends_on`, `volumes_from`, `network_mode:
//! service:NAME` and `links`. Deploy, stop, partial `up svc` and restarts all
//! read their ordering from here, so every answer is deterministic (sorted by
//! service name) to keep plans and output reproducible.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction::{self, Incoming, Outgoing};
use serde::Serialize;
use thiserror::Error;

use crate::compose::model::{DependencyCondition, Service};

/// Why one service depends on another. Kept on the edge so output can explain
/// an ordering and the deployer knows what to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EdgeKind {
    /// Explicit `depends_on`, with the condition the dependent waits for.
    DependsOn { condition: DependencyCondition },
    /// `volumes_from: [svc]`: the source container must exist first.
    VolumesFrom,
    /// `network_mode: service:svc`: joins that container's network namespace.
    NetworkMode,
    /// Legacy `links: [svc]` / `[svc:alias]`.
    Link,
}

impl EdgeKind {
    /// Short label used by every renderer: the wait condition for `depends_on`
    /// (that is what matters when reading a plan), the compose key otherwise.
    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::DependsOn { condition } => condition.as_str(),
            EdgeKind::VolumesFrom => "volumes_from",
            EdgeKind::NetworkMode => "network_mode",
            EdgeKind::Link => "links",
        }
    }

    /// Implicit edges are drawn differently so people can tell them apart from
    /// the `depends_on` they wrote.
    fn is_implicit(self) -> bool {
        !matches!(self, EdgeKind::DependsOn { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    /// The services cannot be ordered; holds the cycle as `[a, b, a]`.
    #[error("dependency cycle: {}", format_cycle(.0))]
    Cycle(Vec<String>),
    #[error("no such service: {0}")]
    UnknownService(String),
}

/// Renders a cycle from [`ServiceGraph::find_cycle`] as `a -> b -> a`.
pub fn format_cycle(cycle: &[String]) -> String {
    cycle.join(" -> ")
}

/// Every service name `service` refers to, with the kind of reference, in
/// declaration order (`depends_on`, `volumes_from`, `network_mode`, `links`).
///
/// Public so validation can report references to unknown or disabled services;
/// the graph builder silently skips those.
pub fn references(service: &Service) -> Vec<(String, EdgeKind)> {
    let depends_on = service.depends_on.iter().map(|(name, dep)| {
        let kind = EdgeKind::DependsOn {
            condition: dep.condition,
        };
        (name.clone(), kind)
    });
    let volumes_from = service
        .volumes_from
        .iter()
        .filter_map(|entry| volumes_from_service(entry))
        .map(|name| (name.to_string(), EdgeKind::VolumesFrom));
    let network_mode = service
        .network_mode
        .as_deref()
        .and_then(network_mode_service)
        .map(|name| (name.to_string(), EdgeKind::NetworkMode));
    let links = service
        .links
        .iter()
        .filter_map(|entry| link_service(entry))
        .map(|name| (name.to_string(), EdgeKind::Link));
    depends_on
        .chain(volumes_from)
        .chain(network_mode)
        .chain(links)
        .collect()
}

/// `svc`, `svc:ro`, `svc:rw` name a service; `container:NAME[:mode]` names a
/// container outside the project, which orders nothing.
fn volumes_from_service(entry: &str) -> Option<&str> {
    if entry.starts_with("container:") {
        return None;
    }
    non_empty(entry.split_once(':').map_or(entry, |(name, _mode)| name))
}

/// Only `service:NAME` ties to another service; `host`, `none`, `bridge` and
/// `container:NAME` do not.
fn network_mode_service(mode: &str) -> Option<&str> {
    mode.strip_prefix("service:").and_then(non_empty)
}

/// `svc` or `svc:alias`.
fn link_service(entry: &str) -> Option<&str> {
    non_empty(entry.split_once(':').map_or(entry, |(name, _alias)| name))
}

fn non_empty(name: &str) -> Option<&str> {
    let name = name.trim();
    (!name.is_empty()).then_some(name)
}

/// The dependency graph of a set of services.
///
/// Invariant: nodes are inserted in name order and never removed in place
/// (subgraphs are rebuilt), and there is at most one edge per ordered pair.
#[derive(Debug, Clone, Default)]
pub struct ServiceGraph {
    graph: DiGraph<String, EdgeKind>,
    index: BTreeMap<String, NodeIndex>,
}

impl ServiceGraph {
    /// Builds the graph from services (named by `Service::name`).
    ///
    /// References to services not in the set are skipped: validation reports
    /// them, and a partial graph is still useful for `graph` output. When a
    /// service refers to another in several ways, the first reference wins, so
    /// a `depends_on` condition is kept over an implicit edge. Duplicate
    /// service names keep the first one.
    pub fn new<'a>(services: impl IntoIterator<Item = &'a Service>) -> ServiceGraph {
        let mut by_name: BTreeMap<&str, &Service> = BTreeMap::new();
        for service in services {
            by_name.entry(service.name.as_str()).or_insert(service);
        }
        let mut graph = DiGraph::with_capacity(by_name.len(), by_name.len());
        let index: BTreeMap<String, NodeIndex> = by_name
            .keys()
            .map(|name| (name.to_string(), graph.add_node(name.to_string())))
            .collect();
        for (name, service) in &by_name {
            if let Some(&from) = index.get(*name) {
                add_edges(&mut graph, &index, from, service);
            }
        }
        ServiceGraph { graph, index }
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Service names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.keys().map(String::as_str)
    }

    /// All edges as `(dependent, dependency, kind)`, sorted by both names.
    pub fn edges(&self) -> Vec<(String, String, EdgeKind)> {
        self.index
            .values()
            .flat_map(|&from| {
                self.out_edges(from).into_iter().map(move |(to, kind)| {
                    (self.name(from).to_string(), self.name(to).to_string(), kind)
                })
            })
            .collect()
    }

    /// The shortest cycle through the smallest-named service that is on any
    /// cycle, as `[a, b, c, a]` (`[a, a]` for a self-dependency). `None` when
    /// the graph can be ordered.
    pub fn find_cycle(&self) -> Option<Vec<String>> {
        let (start, members) = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| self.is_cyclic_component(scc))
            .filter_map(|scc| {
                let start = scc.iter().copied().min_by_key(|&n| self.name(n))?;
                Some((start, scc))
            })
            .min_by(|(a, _), (b, _)| self.name(*a).cmp(self.name(*b)))?;
        let members: HashSet<NodeIndex> = members.into_iter().collect();
        self.shortest_cycle_through(start, &members)
    }

    /// Start order: wave 0 has no dependencies, wave n holds services whose
    /// dependencies are all in earlier waves (each at its longest-path depth),
    /// so a wave can be started in parallel. Names are sorted within a wave.
    pub fn start_waves(&self) -> Result<Vec<Vec<String>>, GraphError> {
        let waves = self.levels()?;
        Ok(waves.iter().map(|wave| self.names_of(wave)).collect())
    }

    /// Stop order: the start waves reversed, so dependents stop before the
    /// services they depend on.
    pub fn stop_waves(&self) -> Result<Vec<Vec<String>>, GraphError> {
        let mut waves = self.start_waves()?;
        waves.reverse();
        Ok(waves)
    }

    /// The subgraph of `names` plus everything they transitively depend on:
    /// what `up svc` has to start.
    pub fn with_dependencies(&self, names: &[String]) -> Result<ServiceGraph, GraphError> {
        let starts = names
            .iter()
            .map(|name| self.node(name))
            .collect::<Result<Vec<_>, _>>()?;
        let keep = self.reachable(starts, Outgoing);
        Ok(self.restricted_to(&keep))
    }

    /// Services that depend on `name`, directly or transitively, sorted: what
    /// has to be restarted when `name` is recreated. Empty for unknown names.
    pub fn dependents_of(&self, name: &str) -> Vec<String> {
        self.transitive(name, Incoming)
    }

    /// Services `name` depends on, directly or transitively, sorted. Empty for
    /// unknown names.
    pub fn all_dependencies_of(&self, name: &str) -> Vec<String> {
        self.transitive(name, Outgoing)
    }

    /// Services `name` directly depends on, sorted. Empty for unknown names.
    pub fn dependencies_of(&self, name: &str) -> Vec<String> {
        let Some(&node) = self.index.get(name) else {
            return Vec::new();
        };
        let deps: Vec<NodeIndex> = self.out_edges(node).into_iter().map(|(n, _)| n).collect();
        self.names_of(&deps)
    }

    /// Number of services on the longest dependency chain (= number of start
    /// waves): the lower bound on sequential startup steps. 0 for an empty
    /// graph, and also 0 when there is a cycle, since no chain can be started
    /// then; call [`ServiceGraph::find_cycle`] to tell the two apart.
    pub fn critical_path_len(&self) -> usize {
        self.levels().map_or(0, |waves| waves.len())
    }

    /// Human-readable waves, numbered from 1, each service followed by what it
    /// waits for: `wave 2: app (needs db: service_healthy)`.
    pub fn render_text(&self) -> Result<String, GraphError> {
        let waves = self.levels()?;
        let mut out = String::new();
        for (number, wave) in waves.iter().enumerate() {
            let entries: Vec<String> = wave.iter().map(|&n| self.describe(n)).collect();
            out.push_str(&format!("wave {}: {}\n", number + 1, entries.join(", ")));
        }
        Ok(out)
    }

    /// Graphviz DOT: one node per service, edges labelled with the condition
    /// or kind; implicit edges are dashed. Every ID is quoted and escaped.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph services {\n");
        for &node in self.index.values() {
            out.push_str(&format!("  {};\n", dot_quote(self.name(node))));
        }
        for (from, to, kind) in self.edges() {
            let style = if kind.is_implicit() {
                ", style=dashed"
            } else {
                ""
            };
            out.push_str(&format!(
                "  {} -> {} [label={}{style}];\n",
                dot_quote(&from),
                dot_quote(&to),
                dot_quote(kind.label())
            ));
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart. Node ids are `n0`, `n1`, ... (service names may hold
    /// characters Mermaid treats as syntax) with the name as a quoted label.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        let ids: HashMap<NodeIndex, String> = self
            .index
            .values()
            .enumerate()
            .map(|(i, &node)| (node, format!("n{i}")))
            .collect();
        let id = |node: NodeIndex| ids.get(&node).map_or("", String::as_str);
        for &node in self.index.values() {
            let label = mermaid_escape(self.name(node));
            out.push_str(&format!("    {}[\"{label}\"]\n", id(node)));
        }
        for &from in self.index.values() {
            for (to, kind) in self.out_edges(from) {
                let (from_id, to_id, label) = (id(from), id(to), kind.label());
                out.push_str(&format!("    {from_id} -->|{label}| {to_id}\n"));
            }
        }
        out
    }

    fn name(&self, node: NodeIndex) -> &str {
        self.graph.node_weight(node).map_or("", String::as_str)
    }

    fn node(&self, name: &str) -> Result<NodeIndex, GraphError> {
        self.index
            .get(name)
            .copied()
            .ok_or_else(|| GraphError::UnknownService(name.to_string()))
    }

    /// Names of `nodes`, sorted.
    fn names_of(&self, nodes: &[NodeIndex]) -> Vec<String> {
        let mut names: Vec<String> = nodes.iter().map(|&n| self.name(n).to_string()).collect();
        names.sort();
        names
    }

    /// Direct dependencies of `node` with the edge kind, sorted by name.
    fn out_edges(&self, node: NodeIndex) -> Vec<(NodeIndex, EdgeKind)> {
        let mut edges: Vec<(NodeIndex, EdgeKind)> = self
            .graph
            .edges_directed(node, Outgoing)
            .map(|edge| (edge.target(), *edge.weight()))
            .collect();
        edges.sort_by(|(a, _), (b, _)| self.name(*a).cmp(self.name(*b)));
        edges
    }

    /// `name (needs dep: label, ...)` for the text rendering.
    fn describe(&self, node: NodeIndex) -> String {
        let needs: Vec<String> = self
            .out_edges(node)
            .into_iter()
            .map(|(dep, kind)| format!("{}: {}", self.name(dep), kind.label()))
            .collect();
        if needs.is_empty() {
            self.name(node).to_string()
        } else {
            format!("{} (needs {})", self.name(node), needs.join(", "))
        }
    }

    /// Kahn's algorithm by levels. A node becomes ready once its last
    /// dependency is placed, which puts it at its longest-path depth. Nodes
    /// left over are on or behind a cycle.
    fn levels(&self) -> Result<Vec<Vec<NodeIndex>>, GraphError> {
        let mut pending: Vec<usize> = self
            .graph
            .node_indices()
            .map(|n| self.graph.edges_directed(n, Outgoing).count())
            .collect();
        let mut wave: Vec<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|n| pending.get(n.index()) == Some(&0))
            .collect();
        let mut waves = Vec::new();
        let mut placed = 0;
        while !wave.is_empty() {
            wave.sort_by(|a, b| self.name(*a).cmp(self.name(*b)));
            placed += wave.len();
            let next = self.release_dependents(&wave, &mut pending);
            waves.push(std::mem::replace(&mut wave, next));
        }
        if placed == self.len() {
            Ok(waves)
        } else {
            Err(GraphError::Cycle(self.find_cycle().unwrap_or_default()))
        }
    }

    /// Marks `wave` as started and returns the dependents that are now ready.
    fn release_dependents(&self, wave: &[NodeIndex], pending: &mut [usize]) -> Vec<NodeIndex> {
        let mut ready = Vec::new();
        for &node in wave {
            for dependent in self.graph.neighbors_directed(node, Incoming) {
                if let Some(count) = pending.get_mut(dependent.index()) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        ready.push(dependent);
                    }
                }
            }
        }
        ready
    }

    fn is_cyclic_component(&self, scc: &[NodeIndex]) -> bool {
        match scc {
            [single] => self.graph.contains_edge(*single, *single),
            _ => scc.len() > 1,
        }
    }

    /// Breadth-first search from `start` back to itself inside its strongly
    /// connected component, visiting dependencies in name order so the result
    /// is the shortest cycle and always the same one.
    fn shortest_cycle_through(
        &self,
        start: NodeIndex,
        members: &HashSet<NodeIndex>,
    ) -> Option<Vec<String>> {
        let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for (next, _) in self.out_edges(node) {
                if next == start {
                    return Some(self.cycle_path(start, node, &parent));
                }
                if members.contains(&next) && !parent.contains_key(&next) {
                    parent.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Walks `parent` links from `last` back to `start` and closes the loop.
    fn cycle_path(
        &self,
        start: NodeIndex,
        last: NodeIndex,
        parent: &HashMap<NodeIndex, NodeIndex>,
    ) -> Vec<String> {
        let mut path = vec![last];
        let mut current = last;
        while current != start {
            match parent.get(&current) {
                Some(&previous) => {
                    path.push(previous);
                    current = previous;
                }
                None => break,
            }
        }
        path.reverse();
        path.push(start);
        path.iter().map(|&n| self.name(n).to_string()).collect()
    }

    /// Every node reachable from `starts` (included) following `direction`.
    fn reachable(&self, starts: Vec<NodeIndex>, direction: Direction) -> HashSet<NodeIndex> {
        let mut seen = HashSet::new();
        let mut stack = starts;
        while let Some(node) = stack.pop() {
            if seen.insert(node) {
                stack.extend(self.graph.neighbors_directed(node, direction));
            }
        }
        seen
    }

    /// Sorted names reachable from `name` in `direction`, excluding `name`.
    fn transitive(&self, name: &str, direction: Direction) -> Vec<String> {
        let Some(&node) = self.index.get(name) else {
            return Vec::new();
        };
        let starts = self.graph.neighbors_directed(node, direction).collect();
        let mut found: Vec<NodeIndex> = self.reachable(starts, direction).into_iter().collect();
        found.retain(|&n| n != node);
        self.names_of(&found)
    }

    /// A new graph holding only `keep`; `filter_map` preserves node order, so
    /// the name-order invariant holds.
    fn restricted_to(&self, keep: &HashSet<NodeIndex>) -> ServiceGraph {
        let graph = self.graph.filter_map(
            |node, name| keep.contains(&node).then(|| name.clone()),
            |_, kind| Some(*kind),
        );
        let index = graph
            .node_indices()
            .filter_map(|n| graph.node_weight(n).map(|name| (name.clone(), n)))
            .collect();
        ServiceGraph { graph, index }
    }
}

/// Adds `from`'s edges, one per target service, first reference winning.
fn add_edges(
    graph: &mut DiGraph<String, EdgeKind>,
    index: &BTreeMap<String, NodeIndex>,
    from: NodeIndex,
    service: &Service,
) {
    let mut seen = HashSet::new();
    for (target, kind) in references(service) {
        if let Some(&to) = index.get(&target) {
            if seen.insert(to) {
                graph.add_edge(from, to, kind);
            }
        }
    }
}

/// A DOT double-quoted ID: only `"` and `\` need escaping, and line breaks
/// are written as `\n` so the ID stays on one line.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Mermaid label text inside `["..."]`: quotes, `#` (entity prefix) and angle
/// brackets (HTML labels) are written as Mermaid entity codes.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::Dependency;
    use DependencyCondition::{ServiceHealthy, ServiceStarted};

    fn svc(name: &str, deps: &[(&str, DependencyCondition)]) -> Service {
        Service {
            name: name.to_string(),
            depends_on: deps
                .iter()
                .map(|(dep, condition)| {
                    let dependency = Dependency {
                        condition: *condition,
                        ..Default::default()
                    };
                    (dep.to_string(), dependency)
                })
                .collect(),
            ..Default::default()
        }
    }

    fn started(name: &str, deps: &[&str]) -> Service {
        let deps: Vec<(&str, DependencyCondition)> =
            deps.iter().map(|d| (*d, ServiceStarted)).collect();
        svc(name, &deps)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn waves(items: &[&[&str]]) -> Vec<Vec<String>> {
        items.iter().map(|wave| strings(wave)).collect()
    }

    fn extagram() -> Vec<Service> {
        vec![
            svc(
                "nginx_proxy",
                &[
                    ("nginx_app", ServiceHealthy),
                    ("php_upload", ServiceStarted),
                    ("nginx_static", ServiceStarted),
                ],
            ),
            svc("nginx_app", &[("mysql_db", ServiceHealthy)]),
            svc("php_upload", &[("mysql_db", ServiceHealthy)]),
            svc("nginx_static", &[]),
            svc("mysql_db", &[]),
        ]
    }

    fn diamond() -> Vec<Service> {
        vec![
            started("top", &["left", "right"]),
            started("left", &["bottom"]),
            started("right", &["bottom"]),
            started("bottom", &[]),
        ]
    }

    #[test]
    fn diamond_waves() {
        let graph = ServiceGraph::new(&diamond());
        let expected = waves(&[&["bottom"], &["left", "right"], &["top"]]);
        assert_eq!(graph.start_waves(), Ok(expected));
    }

    #[test]
    fn extagram_waves() {
        let graph = ServiceGraph::new(&extagram());
        let expected = waves(&[
            &["mysql_db", "nginx_static"],
            &["nginx_app", "php_upload"],
            &["nginx_proxy"],
        ]);
        assert_eq!(graph.start_waves(), Ok(expected));
    }

    #[test]
    fn chain_puts_each_service_at_longest_path_depth() {
        // d depends on a directly and via the chain; it must wait for c.
        let services = vec![
            started("a", &[]),
            started("b", &["a"]),
            started("c", &["b"]),
            started("d", &["a", "c"]),
        ];
        let graph = ServiceGraph::new(&services);
        let expected = waves(&[&["a"], &["b"], &["c"], &["d"]]);
        assert_eq!(graph.start_waves(), Ok(expected));
    }

    #[test]
    fn independent_services_all_start_in_wave_zero() {
        let services = vec![started("z", &[]), started("a", &[]), started("m", &[])];
        let graph = ServiceGraph::new(&services);
        assert_eq!(graph.start_waves(), Ok(waves(&[&["a", "m", "z"]])));
        assert_eq!(graph.len(), 3);
        assert_eq!(graph.critical_path_len(), 1);
    }

    #[test]
    fn empty_graph() {
        let graph = ServiceGraph::new(&[]);
        assert!(graph.is_empty());
        assert_eq!(graph.start_waves(), Ok(vec![]));
        assert_eq!(graph.critical_path_len(), 0);
        assert_eq!(graph.find_cycle(), None);
        assert_eq!(graph.render_text(), Ok(String::new()));
    }

    #[test]
    fn references_cover_implicit_edges() {
        let app = Service {
            name: "app".into(),
            volumes_from: strings(&["data", "logs:ro", "cache:rw", "container:legacy"]),
            network_mode: Some("service:vpn".into()),
            links: strings(&["db", "redis:cache"]),
            ..started("app", &["init"])
        };
        let expected = vec![
            (
                "init".to_string(),
                EdgeKind::DependsOn {
                    condition: ServiceStarted,
                },
            ),
            ("data".to_string(), EdgeKind::VolumesFrom),
            ("logs".to_string(), EdgeKind::VolumesFrom),
            ("cache".to_string(), EdgeKind::VolumesFrom),
            ("vpn".to_string(), EdgeKind::NetworkMode),
            ("db".to_string(), EdgeKind::Link),
            ("redis".to_string(), EdgeKind::Link),
        ];
        assert_eq!(references(&app), expected);
    }

    #[test]
    fn non_service_network_modes_are_not_references() {
        for mode in ["host", "none", "bridge", "container:x", "service:"] {
            let service = Service {
                network_mode: Some(mode.into()),
                ..started("app", &[])
            };
            assert_eq!(references(&service), vec![], "{mode}");
        }
    }

    #[test]
    fn implicit_edges_order_startup_and_unknown_targets_are_skipped() {
        let app = Service {
            volumes_from: strings(&["data:ro", "container:legacy"]),
            network_mode: Some("service:vpn".into()),
            links: strings(&["db:database", "missing"]),
            ..started("app", &[])
        };
        let legacy = started("legacy", &[]);
        let services = vec![
            app,
            started("data", &[]),
            started("vpn", &[]),
            started("db", &[]),
            legacy,
        ];
        let graph = ServiceGraph::new(&services);
        assert_eq!(
            graph.dependencies_of("app"),
            strings(&["data", "db", "vpn"])
        );
        let expected = waves(&[&["data", "db", "legacy", "vpn"], &["app"]]);
        assert_eq!(graph.start_waves(), Ok(expected));
    }

    #[test]
    fn depends_on_condition_wins_over_implicit_edge_to_same_service() {
        let app = Service {
            links: strings(&["db"]),
            ..svc("app", &[("db", ServiceHealthy)])
        };
        let graph = ServiceGraph::new(&[app, started("db", &[])]);
        let expected = vec![(
            "app".to_string(),
            "db".to_string(),
            EdgeKind::DependsOn {
                condition: ServiceHealthy,
            },
        )];
        assert_eq!(graph.edges(), expected);
    }

    #[test]
    fn cycle_is_reported_from_smallest_name() {
        let services = vec![
            started("c", &["a"]),
            started("b", &["c"]),
            started("a", &["b"]),
            started("x", &["c"]),
        ];
        let graph = ServiceGraph::new(&services);
        assert_eq!(graph.find_cycle(), Some(strings(&["a", "b", "c", "a"])));
        let err = graph.start_waves().unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a -> b -> c -> a");
        assert!(matches!(graph.stop_waves(), Err(GraphError::Cycle(_))));
        assert!(graph.render_text().is_err());
        assert_eq!(graph.critical_path_len(), 0);
    }

    #[test]
    fn cycle_picks_shortest_loop_through_start() {
        // a -> b -> c -> d -> a and a -> d -> a: the short one is reported.
        let services = vec![
            started("a", &["b", "d"]),
            started("b", &["c"]),
            started("c", &["d"]),
            started("d", &["a"]),
        ];
        let graph = ServiceGraph::new(&services);
        assert_eq!(graph.find_cycle(), Some(strings(&["a", "d", "a"])));
    }

    #[test]
    fn cycle_through_implicit_edge() {
        let a = Service {
            network_mode: Some("service:b".into()),
            ..started("a", &[])
        };
        let graph = ServiceGraph::new(&[a, started("b", &["a"])]);
        assert_eq!(graph.find_cycle(), Some(strings(&["a", "b", "a"])));
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let graph = ServiceGraph::new(&[started("a", &["a"]), started("b", &[])]);
        assert_eq!(graph.find_cycle(), Some(strings(&["a", "a"])));
        assert_eq!(
            graph.start_waves(),
            Err(GraphError::Cycle(strings(&["a", "a"])))
        );
        assert_eq!(format_cycle(&strings(&["a", "a"])), "a -> a");
    }

    #[test]
    fn acyclic_graph_has_no_cycle() {
        assert_eq!(ServiceGraph::new(&extagram()).find_cycle(), None);
    }

    #[test]
    fn stop_waves_are_start_waves_reversed() {
        let graph = ServiceGraph::new(&extagram());
        let expected = waves(&[
            &["nginx_proxy"],
            &["nginx_app", "php_upload"],
            &["mysql_db", "nginx_static"],
        ]);
        assert_eq!(graph.stop_waves(), Ok(expected));
    }

    #[test]
    fn subgraph_includes_transitive_dependencies_only() {
        let graph = ServiceGraph::new(&extagram());
        let sub = graph.with_dependencies(&strings(&["nginx_app"])).unwrap();
        assert_eq!(sub.names().collect::<Vec<_>>(), ["mysql_db", "nginx_app"]);
        let expected = waves(&[&["mysql_db"], &["nginx_app"]]);
        assert_eq!(sub.start_waves(), Ok(expected));

        let whole = graph.with_dependencies(&strings(&["nginx_proxy"])).unwrap();
        assert_eq!(whole.len(), 5);
        assert_eq!(whole.edges(), graph.edges());
    }

    #[test]
    fn subgraph_of_unknown_service_is_an_error() {
        let graph = ServiceGraph::new(&extagram());
        let err = graph
            .with_dependencies(&strings(&["nginx_app", "nope"]))
            .unwrap_err();
        assert_eq!(err, GraphError::UnknownService("nope".into()));
        assert_eq!(err.to_string(), "no such service: nope");
    }

    #[test]
    fn dependents_are_direct_and_transitive() {
        let graph = ServiceGraph::new(&extagram());
        let expected = strings(&["nginx_app", "nginx_proxy", "php_upload"]);
        assert_eq!(graph.dependents_of("mysql_db"), expected);
        assert_eq!(
            graph.dependents_of("nginx_static"),
            strings(&["nginx_proxy"])
        );
        assert!(graph.dependents_of("nginx_proxy").is_empty());
        assert!(graph.dependents_of("unknown").is_empty());
    }

    #[test]
    fn dependencies_direct_and_transitive() {
        let graph = ServiceGraph::new(&extagram());
        let direct = strings(&["nginx_app", "nginx_static", "php_upload"]);
        assert_eq!(graph.dependencies_of("nginx_proxy"), direct);
        let all = strings(&["mysql_db", "nginx_app", "nginx_static", "php_upload"]);
        assert_eq!(graph.all_dependencies_of("nginx_proxy"), all);
        assert!(graph.dependencies_of("mysql_db").is_empty());
    }

    #[test]
    fn critical_path_counts_services_on_longest_chain() {
        assert_eq!(ServiceGraph::new(&extagram()).critical_path_len(), 3);
        assert_eq!(ServiceGraph::new(&diamond()).critical_path_len(), 3);
    }

    #[test]
    fn text_rendering() {
        let text = ServiceGraph::new(&extagram()).render_text().unwrap();
        let expected = "\
wave 1: mysql_db, nginx_static
wave 2: nginx_app (needs mysql_db: service_healthy), php_upload (needs mysql_db: service_healthy)
wave 3: nginx_proxy (needs nginx_app: service_healthy, nginx_static: service_started, php_upload: service_started)
";
        assert_eq!(text, expected);
    }

    fn small_graph() -> Vec<Service> {
        let web = Service {
            links: strings(&["cache"]),
            ..svc("web", &[("db", ServiceHealthy)])
        };
        vec![web, started("db", &[]), started("cache", &[])]
    }

    #[test]
    fn dot_snapshot() {
        let dot = ServiceGraph::new(&small_graph()).to_dot();
        let expected = r#"digraph services {
  "cache";
  "db";
  "web";
  "web" -> "cache" [label="links", style=dashed];
  "web" -> "db" [label="service_healthy"];
}
"#;
        assert_eq!(dot, expected);
    }

    #[test]
    fn mermaid_snapshot() {
        let mermaid = ServiceGraph::new(&small_graph()).to_mermaid();
        let expected = "\
flowchart TD
    n0[\"cache\"]
    n1[\"db\"]
    n2[\"web\"]
    n2 -->|links| n0
    n2 -->|service_healthy| n1
";
        assert_eq!(mermaid, expected);
    }

    #[test]
    fn odd_names_are_quoted() {
        let services = vec![started("we\"ird\\x", &["my-db.1"]), started("my-db.1", &[])];
        let graph = ServiceGraph::new(&services);
        let dot = graph.to_dot();
        assert!(dot.contains(r#"  "we\"ird\\x" -> "my-db.1" [label="service_started"];"#));
        let mermaid = graph.to_mermaid();
        assert!(mermaid.contains("    n0[\"my-db.1\"]\n"));
        assert!(mermaid.contains("    n1[\"we#quot;ird\\x\"]\n"));
        assert!(mermaid.contains("    n1 -->|service_started| n0\n"));
    }

    #[test]
    fn large_generated_graph() {
        // svcN depends on N/2, N/3 and N/5: wide fan-in, depth floor(log2 N)+1.
        let names: Vec<String> = (0..1000).map(|i| format!("svc{i:04}")).collect();
        let services: Vec<Service> = (0..1000)
            .map(|i: usize| {
                let deps: Vec<&str> = [i / 2, i / 3, i / 5]
                    .into_iter()
                    .filter(|&d| d < i)
                    .filter_map(|d| names.get(d).map(String::as_str))
                    .collect();
                started(&names[i], &deps)
            })
            .collect();
        let graph = ServiceGraph::new(&services);
        let waves = graph.start_waves().unwrap();
        assert_eq!(waves.iter().map(Vec::len).sum::<usize>(), 1000);
        assert_eq!(waves.len(), 11);
        assert_eq!(graph.critical_path_len(), 11);
        assert_eq!(graph.find_cycle(), None);
        assert_eq!(graph.dependents_of("svc0000").len(), 999);
    }
}
