//! Sizes, CPU counts and durations as Docker and compose read them.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Docker's minimum memory limit; the daemon refuses anything lower.
pub const MIN_MEMORY_LIMIT: u64 = 6 * 1024 * 1024;

/// Parse a size the way Docker does (`RAMInBytes`): a number, optionally
/// fractional, then an optional unit `b`, `k`, `m`, `g`, `t`, `p` (any case),
/// optionally followed by `b` or `ib`. All units are powers of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let expected = || {
        format!(
            "expected a size like `128m`, `1g`, `512M`, `64MiB` or a number of bytes, got `{text}`"
        )
    };
    if number.is_empty() || number.chars().filter(|c| *c == '.').count() > 1 {
        return Err(expected());
    }
    let value: f64 = number.parse().map_err(|_| expected())?;
    let unit = unit.trim().to_ascii_lowercase();
    let multiplier: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        "p" | "pb" | "pib" => 1 << 50,
        _ => return Err(expected()),
    };
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("size `{text}` is too large"));
    }
    Ok(bytes as u64)
}

/// Parse a CPU count (`0.5`, `"1.25"`). Must be positive and finite.
pub fn parse_cpus(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of CPUs like `0.5` or `2`, got `{text}`"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("expected a positive number of CPUs, got `{text}`"));
    }
    Ok(value)
}

/// Parse a Go-style duration as compose does: `10s`, `1m30s`, `500ms`, `1h`,
/// `1.5s`, `2us`. A bare `0` is allowed; other bare numbers are not.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || format!("expected a duration like `10s`, `1m30s` or `500ms`, got `{text}`");
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    if trimmed.is_empty() {
        return Err(expected());
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(expected)?;
        if number_end == 0 {
            return Err(expected());
        }
        let value: f64 = rest[..number_end].parse().map_err(|_| expected())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit: f64 = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(expected()),
        };
        total_nanos += value * nanos_per_unit;
        rest = &rest[unit_end..];
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(format!("duration `{text}` is too large"));
    }
    Ok(Duration::from_nanos(total_nanos as u64))
}

/// Format a duration the way Go prints it (`1m30s`, `500ms`, `0s`).
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        return if nanos % 1_000_000 == 0 {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos % 1_000 == 0 {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let total_seconds = duration.as_secs();
    let hours = total_seconds / 3600;
    let minutes = (total_seconds % 3600) / 60;
    let seconds = total_seconds % 60;
    let sub_nanos = duration.subsec_nanos();
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if sub_nanos == 0 {
        out.push_str(&format!("{seconds}s"));
    } else {
        let fraction = format!("{:09}", sub_nanos);
        out.push_str(&format!("{seconds}.{}s", fraction.trim_end_matches('0')));
    }
    out
}

/// Human size in binary units, e.g. `256MiB`, `1408MiB`, `2GiB`, `1.5KiB`.
/// Above MiB a larger unit is used only when it is exact or at least 10 of
/// it, so budget figures stay exact where people compare them (1408MiB, not
/// 1.4GiB); small sizes round (1.8MiB, not 1800KiB).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while unit < UNITS.len() - 1 {
        let next = 1u64 << (10 * (unit + 1));
        // From MiB up, stay exact (1408MiB, not 1.4GiB); below, round.
        if bytes < next || (unit >= 2 && bytes % next != 0 && bytes / next < 10) {
            break;
        }
        unit += 1;
    }
    let size = 1u64 << (10 * unit);
    if bytes % size == 0 {
        format!("{}{}", bytes / size, UNITS[unit])
    } else {
        format!("{:.1}{}", bytes as f64 / size as f64, UNITS[unit])
    }
}

pub fn serialize_opt_duration<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(duration) => serializer.serialize_str(&format_duration(*duration)),
        None => serializer.serialize_none(),
    }
}

/// Read back what `serialize_opt_duration` wrote (revision records store the
/// normalized config and rollback reads it).
pub fn deserialize_opt_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    text.map(|t| parse_duration(&t).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn sizes_as_docker_reads_them() {
        assert_eq!(parse_size("128m").unwrap(), 128 * MIB);
        assert_eq!(parse_size("512M").unwrap(), 512 * MIB);
        assert_eq!(parse_size("64MiB").unwrap(), 64 * MIB);
        assert_eq!(parse_size("64mb").unwrap(), 64 * MIB);
        assert_eq!(parse_size("1g").unwrap(), 1024 * MIB);
        assert_eq!(parse_size("1.5g").unwrap(), 1536 * MIB);
        assert_eq!(parse_size("100k").unwrap(), 100 * 1024);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("4096b").unwrap(), 4096);
        assert_eq!(parse_size(" 2G ").unwrap(), 2048 * MIB);
    }

    #[test]
    fn bad_sizes_are_refused_with_the_expected_form() {
        for bad in ["", "m", "12x", "1.2.3m", "-5m", "12 megs", "1e3"] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.contains("expected a size"), "{bad}: {err}");
        }
    }

    #[test]
    fn cpus_from_strings_and_numbers() {
        assert_eq!(parse_cpus("0.5").unwrap(), 0.5);
        assert_eq!(parse_cpus("2").unwrap(), 2.0);
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("-1").is_err());
        assert!(parse_cpus("half").is_err());
        assert!(parse_cpus("inf").is_err());
    }

    #[test]
    fn durations_in_go_syntax() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2us").unwrap(), Duration::from_micros(2));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "10", "s", "10x", "1m30", "ten seconds", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_format_back() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn sizes_format_in_binary_units() {
        assert_eq!(format_size(256 * MIB), "256MiB");
        assert_eq!(format_size(1408 * MIB), "1408MiB");
        assert_eq!(format_size(20 * 1024 * MIB + 512 * MIB), "20.5GiB");
        assert_eq!(format_size(1536), "1.5KiB");
        assert_eq!(format_size(1800 * 1024), "1.8MiB");
        assert_eq!(format_size(1024 * MIB), "1GiB");
        assert_eq!(format_size(512), "512B");
    }
}
