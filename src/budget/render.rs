//! Plain-text rendering of a budget [`Report`]: a table, a memory bar, the
//! findings and a verdict. ASCII only, so it survives any terminal or CI log.

use super::{format_cpus, Report, ServiceRow, Severity, Verdict};
use crate::compose::units::format_size;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

/// Columns the memory bar uses for the host's whole RAM. Together with
/// [`MAX_OVERFLOW`] and the indent, a bar line never exceeds 80 columns.
pub const BAR_WIDTH: usize = 40;

/// Overflow past the RAM marker is cut at this many columns (then `>>`) so a
/// wildly overcommitted stack does not wrap the terminal; 1.6x RAM still
/// draws in full.
const MAX_OVERFLOW: usize = 26;

const OVERHEAD_CHAR: char = '#';
const FREE_CHAR: char = '.';

/// Letters that mark services in the bar, in row order; `*` once exhausted.
const SEGMENT_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The report as text, with the verdict computed without `--strict`.
pub fn render_text(report: &Report) -> String {
    render_text_with(report, false)
}

/// The report as text, with the verdict line computed for `strict`.
pub fn render_text_with(report: &Report, strict: bool) -> String {
    let mut out = String::new();
    out.push_str(&table(report));
    out.push('\n');
    out.push_str(&host_line(report));
    out.push('\n');
    out.push_str(&memory_bars(report));
    out.push('\n');
    for finding in &report.findings {
        let prefix = match finding.severity {
            Severity::Fail => "FAIL",
            Severity::Warn => "warning",
        };
        out.push_str(&format!("{prefix}: {}\n", finding.message));
    }
    out.push_str(&verdict_line(report, strict));
    out.push('\n');
    out
}

fn table(report: &Report) -> String {
    let live = report.has_live();
    let mut builder = Builder::default();
    let mut header = vec!["SERVICE", "REPLICAS", "MEM LIMIT", "RESERVED", "CPUS"];
    if live {
        header.extend(["LIVE MEM", "LIVE CPU"]);
    }
    builder.push_record(header);
    for row in &report.services {
        builder.push_record(service_cells(row, live));
    }
    builder.push_record(total_cells(report, live));
    let mut table = builder.build();
    table
        .with(Style::blank())
        .modify(Columns::new(1..), Alignment::right());
    table.to_string()
}

fn service_cells(row: &ServiceRow, live: bool) -> Vec<String> {
    let mut cells = vec![
        row.name.clone(),
        row.replicas.to_string(),
        per_replica(
            row.replicas,
            row.memory_limit,
            row.memory_limit_total,
            format_size,
        )
        .unwrap_or_else(|| "unbounded".to_string()),
        per_replica(
            row.replicas,
            row.memory_reservation,
            row.memory_reservation_total,
            format_size,
        )
        .unwrap_or_else(|| "-".to_string()),
        per_replica(row.replicas, row.cpus, row.cpus_total, format_cpus)
            .unwrap_or_else(|| "-".to_string()),
    ];
    if live {
        let usage = row.live.as_ref();
        cells.push(usage.map_or("-".into(), |u| format_size(u.memory_used)));
        cells.push(usage.map_or("-".into(), |u| format_percent(u.cpu_percent)));
    }
    cells
}

/// `256MiB` for one replica, `2 x 256MiB = 512MiB` for several, so the
/// multiplication behind the totals is visible.
fn per_replica<T: Copy>(
    replicas: u32,
    each: Option<T>,
    total: Option<T>,
    format: impl Fn(T) -> String,
) -> Option<String> {
    let each = each?;
    if replicas == 1 {
        return Some(format(each));
    }
    let total = total.map(&format).unwrap_or_default();
    Some(format!("{replicas} x {} = {total}", format(each)))
}

fn total_cells(report: &Report, live: bool) -> Vec<String> {
    let totals = &report.totals;
    let mut cells = vec![
        "TOTAL".to_string(),
        totals.replicas.to_string(),
        format_size(totals.memory_limits),
        match totals.memory_reservations {
            0 => "-".to_string(),
            bytes => format_size(bytes),
        },
        format_cpus(totals.cpus),
    ];
    if live {
        cells.push(totals.live_memory.map_or("-".into(), format_size));
        cells.push(totals.live_cpu_percent.map_or("-".into(), format_percent));
    }
    cells
}

fn format_percent(percent: f64) -> String {
    format!("{percent:.1}%")
}

fn host_line(report: &Report) -> String {
    let host = &report.host;
    // A bare --ram host is labelled by its size already; don't say it twice.
    let mut line = if host.label.ends_with(" RAM") {
        format!("host: {}", host.label)
    } else {
        format!("host {}: {} RAM", host.label, format_size(host.ram))
    };
    if let Some(vcpus) = host.vcpus {
        line.push_str(&format!(", {} vCPUs", format_cpus(vcpus)));
    }
    if let Some(baseline) = host.baseline_vcpus() {
        line.push_str(&format!(" (baseline {} vCPU)", format_cpus(baseline)));
    }
    let headroom = if report.headroom < 0 {
        format!("-{}", format_size(report.headroom.unsigned_abs()))
    } else {
        format_size(report.headroom.unsigned_abs())
    };
    line.push_str(&format!(
        "; {} overhead, {} available, headroom {}\n",
        format_size(report.overhead),
        format_size(report.available),
        headroom
    ));
    if let Some(used) = report.totals.live_memory {
        let total = used + report.overhead;
        line.push_str(&format!(
            "measured now: {} in containers + {} overhead = {} of {} RAM ({:.0}%)\n",
            format_size(used),
            format_size(report.overhead),
            format_size(total),
            format_size(host.ram),
            total as f64 * 100.0 / host.ram.max(1) as f64
        ));
    }
    line
}

/// One drawn segment of a bar.
struct Segment {
    mark: char,
    label: String,
    bytes: u64,
}

/// The limits bar, and a measured-usage bar when live usage is present.
fn memory_bars(report: &Report) -> String {
    let mut out = String::new();
    let limits = limit_segments(report);
    out.push_str(&format!(
        "memory limits vs {} RAM ({} per column, '|' marks the end of RAM):\n",
        format_size(report.host.ram),
        format_size(report.host.ram / BAR_WIDTH as u64)
    ));
    out.push_str(&format!("  limits {}\n", bar(&limits, report.host.ram)));
    if report.has_live() {
        let measured = live_segments(report);
        out.push_str(&format!("  live   {}\n", bar(&measured, report.host.ram)));
    }
    out.push_str(&legend(&limits, report));
    out
}

fn limit_segments(report: &Report) -> Vec<Segment> {
    service_segments(report, |row| row.memory_limit_total)
}

fn live_segments(report: &Report) -> Vec<Segment> {
    service_segments(report, |row| row.live.as_ref().map(|l| l.memory_used))
}

/// Overhead first, then each service with a known size under its own mark.
/// Marks are assigned by row position so both bars use the same letters.
fn service_segments(report: &Report, size: impl Fn(&ServiceRow) -> Option<u64>) -> Vec<Segment> {
    let overhead = Segment {
        mark: OVERHEAD_CHAR,
        label: "host overhead".to_string(),
        bytes: report.overhead,
    };
    let services = report.services.iter().enumerate().filter_map(|(i, row)| {
        Some(Segment {
            mark: segment_mark(i),
            label: row.name.clone(),
            bytes: size(row)?,
        })
    });
    std::iter::once(overhead).chain(services).collect()
}

fn segment_mark(index: usize) -> char {
    SEGMENT_CHARS.chars().nth(index).unwrap_or('*')
}

/// `[##AAAABB.....]` or `[##AAAABBBBCC]|CCC`: the brackets span the RAM and
/// marks after the `|` overflow it. Segment edges are rounded cumulatively so the drawn total
/// stays proportional even when single segments are narrower than a column.
fn bar(segments: &[Segment], ram: u64) -> String {
    let mut cells = String::new();
    let mut cumulative: u64 = 0;
    let mut drawn = 0;
    for segment in segments {
        cumulative = cumulative.saturating_add(segment.bytes);
        let end = columns_for(cumulative, ram);
        let width = end.saturating_sub(drawn);
        cells.extend(std::iter::repeat_n(segment.mark, width));
        drawn = end.max(drawn);
    }
    let inside: String = cells.chars().take(BAR_WIDTH).collect();
    let free = BAR_WIDTH.saturating_sub(inside.chars().count());
    let overflow: String = cells.chars().skip(BAR_WIDTH).collect();
    let mut out = format!("[{inside}{}]", FREE_CHAR.to_string().repeat(free));
    if !overflow.is_empty() {
        out.push('|');
        out.extend(overflow.chars().take(MAX_OVERFLOW));
        if overflow.chars().count() > MAX_OVERFLOW {
            out.push_str(">>");
        }
    }
    out
}

/// Bar columns for `bytes`, with `ram` equal to [`BAR_WIDTH`] columns,
/// rounded to the nearest column. A zero RAM draws nothing.
fn columns_for(bytes: u64, ram: u64) -> usize {
    if ram == 0 {
        return 0;
    }
    let scaled = (u128::from(bytes) * BAR_WIDTH as u128 + u128::from(ram) / 2) / u128::from(ram);
    usize::try_from(scaled).unwrap_or(usize::MAX)
}

fn legend(segments: &[Segment], report: &Report) -> String {
    let name_width = segments.iter().map(|s| s.label.len()).max().unwrap_or(0);
    let mut out = String::new();
    for segment in segments {
        out.push_str(&format!(
            "    {} {:<name_width$}  {}\n",
            segment.mark,
            segment.label,
            format_size(segment.bytes)
        ));
    }
    for row in report
        .services
        .iter()
        .filter(|r| r.replicas > 0 && r.memory_limit.is_none())
    {
        out.push_str(&format!(
            "      {:<name_width$}  unbounded, not drawn\n",
            row.name
        ));
    }
    out.push_str(&format!("    {FREE_CHAR} free\n"));
    out
}

fn verdict_line(report: &Report, strict: bool) -> String {
    let verdict = report.verdict(strict);
    let fails = report.count(Severity::Fail);
    let warns = report.count(Severity::Warn);
    let detail = match verdict {
        Verdict::Ok => format!("the stack fits {}", report.host.label),
        Verdict::Warn => format!("{warns} warning(s), which --strict turns into a failure"),
        Verdict::Fail if fails == 0 => format!("{warns} warning(s), failing under --strict"),
        Verdict::Fail => format!("{fails} failure(s), {warns} warning(s)"),
    };
    format!(
        "verdict: {} - {detail} (exit {})",
        verdict.as_str().to_ascii_uppercase(),
        verdict.exit_code()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::tests::{extagram, extagram_live, micro, project, service, MIB};
    use crate::budget::{compute, Host, DEFAULT_OVERHEAD};

    #[test]
    fn extagram_text_has_table_bar_findings_and_verdict() {
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, None);
        let text = render_text(&report);
        for needle in [
            "SERVICE",
            "REPLICAS",
            "MEM LIMIT",
            "RESERVED",
            "CPUS",
            "2 x 256MiB = 512MiB",
            "TOTAL",
            "1408MiB",
            "headroom -584MiB",
            "warning: memory limits overcommitted by 584MiB",
            "warning: CPU overcommitted",
            "verdict: WARN",
            "(exit 0)",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(!text.contains("LIVE MEM"));
        assert!(text.is_ascii());
        let strict = render_text_with(&report, true);
        assert!(strict.contains("verdict: FAIL"), "{strict}");
        assert!(strict.contains("(exit 1)"));
    }

    #[test]
    fn extagram_bar_overflows_past_the_ram_marker() {
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, None);
        let text = render_text(&report);
        let bar_line = text
            .lines()
            .find(|l| l.trim_start().starts_with("limits ["))
            .expect("limits bar line");
        let bar = bar_line.trim_start().trim_start_matches("limits ");
        let (inside, overflow) = bar.split_once("]|").expect("overflow marker");
        // 200 MiB overhead of 1 GiB at 40 columns is 7.8 columns.
        assert_eq!(inside.len(), 1 + BAR_WIDTH);
        assert_eq!(inside.chars().filter(|c| *c == OVERHEAD_CHAR).count(), 8);
        assert!(!inside.contains(FREE_CHAR));
        // 1608 MiB of demand ends at column 62.8, so 23 columns overflow.
        assert_eq!(overflow.len(), 23, "{overflow}");
        assert!(bar_line.len() <= 80);
        assert!(text.contains("host overhead"));
        assert!(text.contains("mysql_db"));
    }

    #[test]
    fn fitting_stack_shows_free_space_and_ok() {
        let p = project(vec![("web", service(1, Some(256), Some(0.1)))]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, None);
        let text = render_text(&report);
        let bar = text
            .lines()
            .find(|l| l.trim_start().starts_with("limits ["))
            .expect("bar");
        assert!(bar.ends_with(".]"), "{bar}");
        assert_eq!(bar.matches('A').count(), 10);
        assert!(text.contains("verdict: OK - the stack fits t3.micro (exit 0)"));
    }

    #[test]
    fn live_usage_adds_columns_and_a_second_bar() {
        let live = extagram_live();
        let report = compute(&extagram(), &micro(), DEFAULT_OVERHEAD, Some(&live));
        let text = render_text(&report);
        assert!(text.contains("LIVE MEM"), "{text}");
        assert!(text.contains("LIVE CPU"));
        assert!(text.contains("920MiB"));
        assert!(text.contains("  live   ["));
        assert!(text.contains("warning: measured usage 920MiB"));
    }

    #[test]
    fn unbounded_and_failures_are_rendered() {
        let mut db = service(1, None, None);
        db.resources.reservations.memory = Some(900 * MIB);
        let report = compute(
            &project(vec![("db", db)]),
            &Host::from_ram(1024 * MIB, None),
            DEFAULT_OVERHEAD,
            None,
        );
        let text = render_text(&report);
        assert!(text.contains("unbounded"), "{text}");
        assert!(text.contains("unbounded, not drawn"));
        assert!(text.contains("FAIL: reservations need 900MiB"));
        assert!(text.contains("verdict: FAIL - 1 failure(s), 1 warning(s) (exit 1)"));
    }

    #[test]
    fn huge_overflow_is_cut() {
        let p = project(vec![("db", service(1, Some(4096), None))]);
        let report = compute(&p, &micro(), DEFAULT_OVERHEAD, None);
        let text = render_text(&report);
        let bar = text
            .lines()
            .find(|l| l.trim_start().starts_with("limits ["))
            .expect("bar");
        assert!(bar.ends_with(">>"), "{bar}");
        assert!(bar.len() <= 80, "{bar}");
    }

    #[test]
    fn zero_ram_does_not_panic() {
        let report = compute(&extagram(), &Host::from_ram(0, None), 0, None);
        assert!(render_text(&report).contains("verdict: WARN"));
    }
}
