//! Built-in catalog of AWS burstable instance types.
//!
//! Only the burstable families are listed because they are what small stacks
//! run on, and they are where a memory or CPU budget matters: a t3.micro has
//! 1 GiB of RAM and a 10% CPU baseline per vCPU. The figures are AWS's
//! published specifications and are the same for t3, t3a and t4g.

use serde::Serialize;

/// One instance type's capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// Canonical lower-case name, e.g. `t3.micro`.
    pub name: String,
    /// RAM in bytes.
    pub ram: u64,
    pub vcpus: u32,
    /// Sustained CPU each vCPU may use without spending CPU credits, in percent.
    pub baseline_percent: f64,
}

impl Instance {
    /// Sustained CPU the whole instance can use without spending credits,
    /// in vCPUs (e.g. 0.2 on a t3.micro: 2 × 10%).
    pub fn baseline_vcpus(&self) -> f64 {
        f64::from(self.vcpus) * self.baseline_percent / 100.0
    }
}

const MIB: u64 = 1024 * 1024;

const FAMILIES: [&str; 3] = ["t3", "t3a", "t4g"];

/// Size, RAM in MiB, vCPUs, baseline % per vCPU.
const SIZES: [(&str, u64, u32, f64); 7] = [
    ("nano", 512, 2, 5.0),
    ("micro", 1024, 2, 10.0),
    ("small", 2048, 2, 20.0),
    ("medium", 4096, 2, 20.0),
    ("large", 8192, 2, 30.0),
    ("xlarge", 16384, 4, 40.0),
    ("2xlarge", 32768, 8, 40.0),
];

/// Find an instance type by name, ignoring case and surrounding spaces
/// (`t3.micro`, `T4G.Small`).
pub fn lookup(name: &str) -> Option<Instance> {
    let lowered = name.trim().to_ascii_lowercase();
    let (family, size) = lowered.split_once('.')?;
    if !FAMILIES.contains(&family) {
        return None;
    }
    let (_, ram_mib, vcpus, baseline_percent) = SIZES.iter().copied().find(|(s, ..)| *s == size)?;
    Some(Instance {
        name: format!("{family}.{size}"),
        ram: ram_mib * MIB,
        vcpus,
        baseline_percent,
    })
}

/// Every known instance name, family by family in size order, so an
/// "unknown instance type" error can list what is accepted.
pub fn names() -> Vec<String> {
    FAMILIES
        .iter()
        .flat_map(|family| {
            SIZES
                .iter()
                .map(move |(size, ..)| format!("{family}.{size}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_micro_case_insensitively() {
        let micro = lookup(" T3.Micro ").expect("t3.micro is in the catalog");
        assert_eq!(micro.name, "t3.micro");
        assert_eq!(micro.ram, 1024 * MIB);
        assert_eq!(micro.vcpus, 2);
        assert_eq!(micro.baseline_percent, 10.0);
        assert!((micro.baseline_vcpus() - 0.2).abs() < 1e-9);
    }

    #[test]
    fn families_share_sizes() {
        for family in FAMILIES {
            let nano = lookup(&format!("{family}.nano")).expect("nano exists");
            assert_eq!(nano.ram, 512 * MIB);
            assert_eq!(nano.baseline_percent, 5.0);
            let big = lookup(&format!("{family}.2xlarge")).expect("2xlarge exists");
            assert_eq!(big.ram, 32 * 1024 * MIB);
            assert_eq!(big.vcpus, 8);
            assert_eq!(big.baseline_percent, 40.0);
        }
        let xl = lookup("t4g.xlarge").expect("t4g.xlarge exists");
        assert_eq!((xl.ram, xl.vcpus), (16 * 1024 * MIB, 4));
    }

    #[test]
    fn rejects_unknown_names() {
        for name in ["t2.micro", "t3", "t3.huge", "", "m5.large", "t3.micro.x"] {
            assert_eq!(lookup(name), None, "{name}");
        }
    }

    #[test]
    fn names_lists_every_entry() {
        let all = names();
        assert_eq!(all.len(), 21);
        assert_eq!(all[0], "t3.nano");
        assert!(all.contains(&"t4g.2xlarge".to_string()));
        assert!(all.iter().all(|n| lookup(n).is_some()));
    }
}
