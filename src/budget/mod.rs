//! Memory and CPU budget of a project against one host.
//!
//! Small instances fail in a particular way: every container starts fine, and
//! then under load the kernel's OOM killer picks one, or the burstable CPU
//! credits run out. This module does the arithmetic that predicts that from
//! the compose file alone (limits and reservations × replicas against the
//! host), optionally alongside measured usage. It is pure: no Docker, no CLI.

pub mod catalog;
pub mod render;

use crate::compose::model::{Project, Service};
use crate::compose::units::format_size;
use catalog::Instance;
use serde::Serialize;
use std::collections::BTreeMap;

const MIB: u64 = 1024 * 1024;

/// Memory the host itself needs before any container runs: kernel, OS
/// services and dockerd on a small instance. The seed estimate for a
/// t3.micro-class Amazon Linux host counts about 200 MiB, so that is what a
/// budget subtracts unless told otherwise.
pub const DEFAULT_OVERHEAD: u64 = 200 * MIB;

/// The machine the stack has to fit on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// RAM in bytes.
    pub ram: u64,
    /// vCPU count; `None` when only RAM was given, which skips the CPU checks.
    pub vcpus: Option<f64>,
    /// Burstable baseline per vCPU in percent; `None` for non-burstable or
    /// unknown hosts, which skips the CPU-credit check.
    pub baseline_percent: Option<f64>,
    /// How findings name the host: `t3.micro` or `1GiB RAM`.
    pub label: String,
}

impl Host {
    /// A host from the built-in instance catalog.
    pub fn from_instance(instance: &Instance) -> Host {
        Host {
            ram: instance.ram,
            vcpus: Some(f64::from(instance.vcpus)),
            baseline_percent: Some(instance.baseline_percent),
            label: instance.name.clone(),
        }
    }

    /// A host known only by its RAM (`--ram 1g`), optionally with a vCPU count.
    /// It is not assumed to be burstable.
    pub fn from_ram(ram: u64, vcpus: Option<f64>) -> Host {
        Host {
            ram,
            vcpus,
            baseline_percent: None,
            label: format!("{} RAM", format_size(ram)),
        }
    }

    /// Sustained CPU, in vCPUs, the host gives without spending credits.
    pub fn baseline_vcpus(&self) -> Option<f64> {
        Some(self.vcpus? * self.baseline_percent? / 100.0)
    }
}

/// Measured usage of one service, summed over its running replicas.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveUsage {
    /// Bytes in use now.
    pub memory_used: u64,
    /// CPU use in percent of one CPU (200 = two CPUs busy), as `docker stats` shows it.
    pub cpu_percent: f64,
}

/// One service's share of the budget. Per-replica values come straight from
/// the compose file; totals multiply by the replica count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRow {
    pub name: String,
    pub replicas: u32,
    /// Memory limit of one replica; `None` means unbounded.
    pub memory_limit: Option<u64>,
    pub memory_limit_total: Option<u64>,
    pub memory_reservation: Option<u64>,
    pub memory_reservation_total: Option<u64>,
    pub cpus: Option<f64>,
    pub cpus_total: Option<f64>,
    /// Present only when live usage was supplied and the service was measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveUsage>,
}

/// Sums over all services. Unbounded services add nothing to the limit totals,
/// which is why they get their own finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub replicas: u32,
    pub memory_limits: u64,
    pub memory_reservations: u64,
    pub cpus: f64,
    /// Measured memory of the project's services; `None` without live usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_memory: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_cpu_percent: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Fail,
}

/// What a finding is about, stable for JSON consumers and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    ReservationsExceedHost,
    MemoryOvercommitted,
    UnboundedMemory,
    CpuAboveHost,
    CpuOvercommitted,
    CpuAboveBaseline,
    LiveMemoryAboveHost,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    /// The service concerned, for per-service findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub message: String,
}

/// The whole budget: what `budget` prints and `--format json` emits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub host: Host,
    pub overhead: u64,
    /// RAM left for containers: `ram - overhead`, never below zero.
    pub available: u64,
    pub services: Vec<ServiceRow>,
    pub totals: Totals,
    /// `available - total memory limits`; negative when overcommitted.
    pub headroom: i64,
    pub findings: Vec<Finding>,
}

/// Overall outcome, mapped to the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

impl Verdict {
    /// Warnings still exit 0: an overcommitted stack often runs fine because
    /// services rarely peak together, so only `--strict` makes them fatal.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok | Verdict::Warn => 0,
            Verdict::Fail => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

impl Report {
    /// Fail on any failing finding, or on any warning when `strict`.
    pub fn verdict(&self, strict: bool) -> Verdict {
        match self.findings.iter().map(|f| f.severity).max() {
            None => Verdict::Ok,
            Some(Severity::Fail) => Verdict::Fail,
            Some(Severity::Warn) if strict => Verdict::Fail,
            Some(Severity::Warn) => Verdict::Warn,
        }
    }

    /// Number of findings of one severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// True when live usage was part of the computation.
    pub fn has_live(&self) -> bool {
        self.totals.live_memory.is_some()
    }
}

/// Budget `project` against `host`, keeping `overhead` bytes for the host
/// itself. `live`, keyed by service name, adds measured usage; entries for
/// services not in the project are ignored.
pub fn compute(
    project: &Project,
    host: &Host,
    overhead: u64,
    live: Option<&BTreeMap<String, LiveUsage>>,
) -> Report {
    let services: Vec<ServiceRow> = project
        .services
        .iter()
        .map(|(name, service)| service_row(name, service, live))
        .collect();
    let totals = totals(&services, live.is_some());
    let available = host.ram.saturating_sub(overhead);
    let mut report = Report {
        host: host.clone(),
        overhead,
        available,
        headroom: signed_diff(available, totals.memory_limits),
        services,
        totals,
        findings: Vec::new(),
    };
    report.findings = findings(&report);
    report
}

fn service_row(
    name: &str,
    service: &Service,
    live: Option<&BTreeMap<String, LiveUsage>>,
) -> ServiceRow {
    let replicas = service.replicas;
    let limits = &service.resources.limits;
    let reservations = &service.resources.reservations;
    ServiceRow {
        name: name.to_string(),
        replicas,
        memory_limit: limits.memory,
        memory_limit_total: limits.memory.map(|m| m.saturating_mul(u64::from(replicas))),
        memory_reservation: reservations.memory,
        memory_reservation_total: reservations
            .memory
            .map(|m| m.saturating_mul(u64::from(replicas))),
        cpus: limits.cpus,
        cpus_total: limits.cpus.map(|c| c * f64::from(replicas)),
        live: live.and_then(|usage| usage.get(name).cloned()),
    }
}

fn totals(rows: &[ServiceRow], with_live: bool) -> Totals {
    let live_rows = || rows.iter().filter_map(|r| r.live.as_ref());
    Totals {
        replicas: rows.iter().fold(0, |sum, r| sum.saturating_add(r.replicas)),
        memory_limits: sum_bytes(rows.iter().filter_map(|r| r.memory_limit_total)),
        memory_reservations: sum_bytes(rows.iter().filter_map(|r| r.memory_reservation_total)),
        cpus: rows.iter().filter_map(|r| r.cpus_total).sum(),
        live_memory: with_live.then(|| sum_bytes(live_rows().map(|l| l.memory_used))),
        live_cpu_percent: with_live.then(|| live_rows().map(|l| l.cpu_percent).sum()),
    }
}

fn sum_bytes(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

/// `a - b` as a signed number, clamped rather than wrapping.
fn signed_diff(a: u64, b: u64) -> i64 {
    let diff = i128::from(a) - i128::from(b);
    i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
}

/// All checks, most severe kinds first so the text output leads with them.
fn findings(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(reservation_finding(report));
    out.extend(overcommit_finding(report));
    out.extend(unbounded_findings(report));
    out.extend(cpu_findings(report));
    out.extend(live_finding(report));
    out
}

fn finding(severity: Severity, kind: FindingKind, message: String) -> Finding {
    Finding {
        severity,
        kind,
        service: None,
        message,
    }
}

/// Reservations are promises: if they do not fit, the stack cannot honour
/// them even when idle, hence Fail.
fn reservation_finding(report: &Report) -> Option<Finding> {
    let needed = report.totals.memory_reservations;
    (needed > report.available).then(|| {
        finding(
            Severity::Fail,
            FindingKind::ReservationsExceedHost,
            format!(
                "reservations need {} but only {} is left after {} overhead on {}",
                format_size(needed),
                format_size(report.available),
                format_size(report.overhead),
                report.host.label
            ),
        )
    })
}

/// Limits are ceilings, not usage, so overcommitting them is only a warning:
/// it means the OOM killer steps in if enough services peak at once.
fn overcommit_finding(report: &Report) -> Option<Finding> {
    let limits = report.totals.memory_limits;
    (limits > report.available).then(|| {
        finding(
            Severity::Warn,
            FindingKind::MemoryOvercommitted,
            format!(
                "memory limits overcommitted by {}: limits total {}, {} left after {} overhead on {}",
                format_size(limits - report.available),
                format_size(limits),
                format_size(report.available),
                format_size(report.overhead),
                report.host.label
            ),
        )
    })
}

/// Services that will run but have no limit: the totals cannot account for them.
fn unbounded_findings(report: &Report) -> Vec<Finding> {
    report
        .services
        .iter()
        .filter(|row| row.replicas > 0 && row.memory_limit.is_none())
        .map(|row| Finding {
            service: Some(row.name.clone()),
            ..finding(
                Severity::Warn,
                FindingKind::UnboundedMemory,
                format!(
                    "unbounded: {} has no memory limit; it can take all the host's memory",
                    row.name
                ),
            )
        })
        .collect()
}

fn cpu_findings(report: &Report) -> Vec<Finding> {
    let Some(vcpus) = report.host.vcpus else {
        return Vec::new();
    };
    let mut out: Vec<Finding> = report
        .services
        .iter()
        .filter_map(|row| cpu_above_host(row, vcpus, &report.host.label))
        .collect();
    let total = report.totals.cpus;
    if total > vcpus + CPU_EPSILON {
        out.push(finding(
            Severity::Warn,
            FindingKind::CpuOvercommitted,
            format!(
                "CPU overcommitted: limits total {} CPUs on {}'s {} vCPUs; services are throttled when busy at the same time",
                format_cpus(total),
                report.host.label,
                format_cpus(vcpus)
            ),
        ));
    }
    out.extend(baseline_finding(report));
    out
}

/// Tolerance for comparing sums of fractional CPU counts.
const CPU_EPSILON: f64 = 1e-9;

/// The engine refuses a `--cpus` above the host's CPU count, so such a
/// service will not even start there.
fn cpu_above_host(row: &ServiceRow, vcpus: f64, host: &str) -> Option<Finding> {
    let cpus = row.cpus.filter(|c| *c > vcpus + CPU_EPSILON)?;
    Some(Finding {
        service: Some(row.name.clone()),
        ..finding(
            Severity::Warn,
            FindingKind::CpuAboveHost,
            format!(
                "{} asks for {} CPUs per replica but {} has only {} vCPUs; the engine rejects a CPU limit above the host's count",
                row.name,
                format_cpus(cpus),
                host,
                format_cpus(vcpus)
            ),
        )
    })
}

/// Burstable instances only sustain `vcpus × baseline%`; anything above it
/// spends CPU credits. Worth saying because a t3.micro's baseline (0.2 vCPU)
/// is far below what its "2 vCPUs" suggests.
fn baseline_finding(report: &Report) -> Option<Finding> {
    let baseline = report.host.baseline_vcpus()?;
    let total = report.totals.cpus;
    (total > baseline + CPU_EPSILON).then(|| {
        finding(
            Severity::Warn,
            FindingKind::CpuAboveBaseline,
            format!(
                "CPU limits total {} CPUs but {} sustains only {} vCPU without spending CPU credits ({} vCPUs x {}% baseline); load above that drains credits, then costs extra (unlimited mode) or is throttled to the baseline (standard mode)",
                format_cpus(total),
                report.host.label,
                format_cpus(baseline),
                format_cpus(report.host.vcpus.unwrap_or_default()),
                format_cpus(report.host.baseline_percent.unwrap_or_default())
            ),
        )
    })
}

/// Measured usage beyond RAM means the host is swapping or about to OOM now,
/// whatever the limits say.
fn live_finding(report: &Report) -> Option<Finding> {
    let used = report.totals.live_memory?;
    let with_overhead = used.saturating_add(report.overhead);
    (with_overhead > report.host.ram).then(|| {
        finding(
            Severity::Warn,
            FindingKind::LiveMemoryAboveHost,
            format!(
                "measured usage {} plus {} overhead is {}, above {}'s {} RAM",
                format_size(used),
                format_size(report.overhead),
                format_size(with_overhead),
                report.host.label,
                format_size(report.host.ram)
            ),
        )
    })
}

/// CPU counts without float noise: `0.25`, `1`, `3.5`.
pub fn format_cpus(cpus: f64) -> String {
    if cpus.abs() < 0.005 {
        return "0".to_string();
    }
    let text = format!("{cpus:.2}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    trimmed.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compose::model::{ResourceSpec, Resources};

    pub(crate) const MIB: u64 = 1024 * 1024;

    pub(crate) fn service(replicas: u32, memory_mib: Option<u64>, cpus: Option<f64>) -> Service {
        Service {
            replicas,
            resources: Resources {
                limits: ResourceSpec {
                    memory: memory_mib.map(|m| m * MIB),
                    cpus,
                    pids: None,
                },
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub(crate) fn project(services: Vec<(&str, Service)>) -> Project {
        let services = services
            .into_iter()
            .map(|(name, mut s)| {
                s.name = name.to_string();
                (name.to_string(), s)
            })
            .collect();
        Project {
            name: "t".into(),
            working_dir: Default::default(),
            compose_files: vec![],
            services,
            disabled_services: Default::default(),
            networks: Default::default(),
            volumes: Default::default(),
            extensions: Default::default(),
        }
    }

    /// The Extagram stack: 1408 MiB of limits and 3 CPUs.
    pub(crate) fn extagram() -> Project {
        project(vec![
            ("nginx_proxy", service(1, Some(128), Some(0.25))),
            ("nginx_app", service(2, Some(256), Some(0.5))),
            ("php_upload", service(1, Some(128), Some(0.25))),
            ("nginx_static", service(2, Some(64), Some(0.25))),
            ("mysql_db", service(1, Some(512), Some(1.0))),
        ])
    }

    pub(crate) fn micro() -> Host {
        Host::from_instance(&catalog::lookup("t3.micro").expect("t3.micro"))
    }

    fn kinds(report: &Report) -> Vec<FindingKind> {
        report.findings.iter().map(|f| f.kind).collect()
    }

    fn with_kind(report: &Report, kind: FindingKind) -> &Finding {
        report
            .findings
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} finding in {:#?}", report.findings))
    }

    #[test]
    fn extagram_limits_total_1408_mib() {
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, None);
        assert_eq!(report.totals.memory_limits, 1408 * MIB);
        assert_eq!(report.totals.replicas, 7);
        assert!((report.totals.cpus - 3.0).abs() < 1e-9);
        assert_eq!(report.available, 824 * MIB);
        assert_eq!(report.headroom, -584 * MIB as i64);
        let app = report
            .services
            .iter()
            .find(|r| r.name == "nginx_app")
            .expect("row");
        assert_eq!(app.memory_limit, Some(256 * MIB));
        assert_eq!(app.memory_limit_total, Some(512 * MIB));
        assert_eq!(app.cpus_total, Some(1.0));
    }

    #[test]
    fn extagram_on_micro_is_overcommitted_warning() {
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, None);
        let over = with_kind(&report, FindingKind::MemoryOvercommitted);
        assert_eq!(over.severity, Severity::Warn);
        assert_eq!(
            over.message,
            "memory limits overcommitted by 584MiB: limits total 1408MiB, 824MiB left after 200MiB overhead on t3.micro"
        );
        assert_eq!(report.count(Severity::Fail), 0);
        assert_eq!(report.verdict(false), Verdict::Warn);
        assert_eq!(report.verdict(false).exit_code(), 0);
        assert_eq!(report.verdict(true), Verdict::Fail);
        assert_eq!(report.verdict(true).exit_code(), 1);
    }

    #[test]
    fn extagram_fits_a_small() {
        let host = Host::from_instance(&catalog::lookup("t3.small").expect("t3.small"));
        let report = compute(&extagram(), &host, DEFAULT_OVERHEAD, None);
        assert!(!kinds(&report).contains(&FindingKind::MemoryOvercommitted));
        assert_eq!(report.headroom, (2048 - 200 - 1408) * MIB as i64);
    }

    #[test]
    fn everything_fits_is_ok() {
        let p = project(vec![("web", service(1, Some(128), Some(0.1)))]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, None);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
        assert_eq!(report.verdict(true), Verdict::Ok);
        assert_eq!(report.verdict(true).exit_code(), 0);
    }

    #[test]
    fn reservations_that_do_not_fit_fail() {
        let mut db = service(2, Some(512), None);
        db.resources.reservations.memory = Some(512 * MIB);
        let report = compute(&project(vec![("db", db)]), &micro(), DEFAULT_OVERHEAD, None);
        assert_eq!(report.totals.memory_reservations, 1024 * MIB);
        let fail = with_kind(&report, FindingKind::ReservationsExceedHost);
        assert_eq!(fail.severity, Severity::Fail);
        assert_eq!(
            fail.message,
            "reservations need 1GiB but only 824MiB is left after 200MiB overhead on t3.micro"
        );
        assert_eq!(report.verdict(false), Verdict::Fail);
        assert_eq!(report.verdict(false).exit_code(), 1);
    }

    #[test]
    fn unbounded_service_is_warned() {
        let p = project(vec![
            ("cache", service(1, None, None)),
            ("off", service(0, None, None)),
            ("web", service(1, Some(64), None)),
        ]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, None);
        let unbounded: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::UnboundedMemory)
            .collect();
        assert_eq!(unbounded.len(), 1, "replicas: 0 runs nothing");
        assert_eq!(unbounded[0].service.as_deref(), Some("cache"));
        assert_eq!(
            unbounded[0].message,
            "unbounded: cache has no memory limit; it can take all the host's memory"
        );
        assert_eq!(report.totals.memory_limits, 64 * MIB);
    }

    #[test]
    fn cpu_findings_on_micro() {
        let p = project(vec![
            ("big", service(1, Some(64), Some(4.0))),
            ("small", service(1, Some(64), Some(0.1))),
        ]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, None);
        let above = with_kind(&report, FindingKind::CpuAboveHost);
        assert_eq!(above.service.as_deref(), Some("big"));
        assert!(
            above.message.contains("4 CPUs per replica"),
            "{}",
            above.message
        );
        let over = with_kind(&report, FindingKind::CpuOvercommitted);
        assert!(
            over.message.contains("limits total 4.1 CPUs"),
            "{}",
            over.message
        );
        let baseline = with_kind(&report, FindingKind::CpuAboveBaseline);
        assert!(
            baseline.message.contains("sustains only 0.2 vCPU"),
            "{}",
            baseline.message
        );
        assert!(baseline.message.contains("2 vCPUs x 10% baseline"));
    }

    #[test]
    fn cpu_within_baseline_is_quiet() {
        let p = project(vec![("web", service(2, Some(64), Some(0.1)))]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, None);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }

    #[test]
    fn ram_only_host_skips_cpu_checks() {
        let host = Host::from_ram(1024 * MIB, None);
        assert_eq!(host.label, "1GiB RAM");
        let report = compute(&extagram(), &host, DEFAULT_OVERHEAD, None);
        assert_eq!(kinds(&report), vec![FindingKind::MemoryOvercommitted]);
        assert!(report.findings[0].message.ends_with("on 1GiB RAM"));

        let with_cpus = Host::from_ram(1024 * MIB, Some(2.0));
        let report = compute(&extagram(), &with_cpus, DEFAULT_OVERHEAD, None);
        assert!(kinds(&report).contains(&FindingKind::CpuOvercommitted));
        assert!(!kinds(&report).contains(&FindingKind::CpuAboveBaseline));
    }

    #[test]
    fn overhead_larger_than_ram_saturates() {
        let host = Host::from_ram(100 * MIB, None);
        let p = project(vec![("web", service(1, Some(64), None))]);
        let report = compute(&p, &host, DEFAULT_OVERHEAD, None);
        assert_eq!(report.available, 0);
        assert_eq!(report.headroom, -64 * MIB as i64);
    }

    pub(crate) fn extagram_live() -> BTreeMap<String, LiveUsage> {
        let usage = |mib: u64, cpu: f64| LiveUsage {
            memory_used: mib * MIB,
            cpu_percent: cpu,
        };
        BTreeMap::from([
            ("nginx_proxy".to_string(), usage(20, 0.5)),
            ("nginx_app".to_string(), usage(300, 12.0)),
            ("mysql_db".to_string(), usage(600, 3.5)),
            ("not_in_project".to_string(), usage(999, 50.0)),
        ])
    }

    #[test]
    fn live_usage_is_reported_per_service() {
        let live = extagram_live();
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, Some(&live));
        let app = report
            .services
            .iter()
            .find(|r| r.name == "nginx_app")
            .expect("row");
        assert_eq!(app.live.as_ref().map(|l| l.memory_used), Some(300 * MIB));
        let php = report
            .services
            .iter()
            .find(|r| r.name == "php_upload")
            .expect("row");
        assert_eq!(php.live, None);
        assert_eq!(report.totals.live_memory, Some(920 * MIB));
        assert_eq!(report.totals.live_cpu_percent, Some(16.0));
        let measured = with_kind(&report, FindingKind::LiveMemoryAboveHost);
        assert_eq!(
            measured.message,
            "measured usage 920MiB plus 200MiB overhead is 1120MiB, above t3.micro's 1GiB RAM"
        );
    }

    #[test]
    fn live_usage_within_ram_is_quiet() {
        let live = BTreeMap::from([(
            "web".to_string(),
            LiveUsage {
                memory_used: 100 * MIB,
                cpu_percent: 1.0,
            },
        )]);
        let p = project(vec![("web", service(1, Some(128), Some(0.1)))]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, Some(&live));
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
        assert_eq!(report.totals.live_memory, Some(100 * MIB));
    }

    #[test]
    fn report_serializes_to_json() {
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, None);
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["host"]["label"], "t3.micro");
        assert_eq!(json["totals"]["memory_limits"], 1408 * MIB);
        assert_eq!(json["headroom"], -(584 * MIB as i64));
        assert_eq!(json["services"].as_array().map(Vec::len), Some(5));
        let kinds: Vec<&str> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["kind"].as_str())
            .collect();
        assert!(kinds.contains(&"memory-overcommitted"));
        assert_eq!(json["findings"][0]["severity"], "warn");
        assert!(json["totals"].get("live_memory").is_none());
    }

    #[test]
    fn formats_cpus_without_noise() {
        assert_eq!(format_cpus(0.25), "0.25");
        assert_eq!(format_cpus(1.0), "1");
        assert_eq!(format_cpus(3.5), "3.5");
        assert_eq!(format_cpus(0.1 + 0.2), "0.3");
    }
}
