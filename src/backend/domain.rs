//! Plain descriptions of domains and hosts, as the worker sends them to the UI.

use super::libvirt::ffi::DomainStats;

// One domain's XML as a typed model, its fields, and the checks before writing it back
// (the writers are in `backend::xml::domain_edit`).
pub mod apply;
pub mod capabilities;
pub mod conflict;
pub mod device_apply;
pub mod device_list;
pub mod devices;
pub mod disk_resize;
pub mod fields;
pub mod guest_info;
pub mod model;
#[cfg(test)]
mod model_tests;
pub mod reading;
pub mod snapshot_error;
pub mod snapshot_plan;
pub mod snapshots;
pub mod xml_diff;
pub mod xml_editor;

/// A domain's run state (`virDomainState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DomainState {
    #[default]
    Unknown,
    Running,
    Blocked,
    Paused,
    ShuttingDown,
    ShutOff,
    Crashed,
    Suspended,
}

impl DomainState {
    pub fn from_raw(raw: u64) -> Self {
        match raw {
            1 => Self::Running,
            2 => Self::Blocked,
            3 => Self::Paused,
            4 => Self::ShuttingDown,
            5 => Self::ShutOff,
            6 => Self::Crashed,
            7 => Self::Suspended,
            _ => Self::Unknown,
        }
    }

    /// Running in the sense the user means: the guest has a live CPU.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Running | Self::Blocked | Self::Paused | Self::ShuttingDown
        )
    }
}

/// What the domain list shows of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainSummary {
    pub uuid: String,
    pub name: String,
    pub state: DomainState,
    pub vcpus: u32,
    /// Memory the guest has now, in KiB.
    pub memory_kib: u64,
    /// Memory the guest may grow to, in KiB.
    pub max_memory_kib: u64,
    /// Total CPU time used so far, in nanoseconds.
    pub cpu_time_ns: u64,
    /// Bytes read from and written to all its disks so far, when the host reports them.
    pub disk_bytes: Option<u64>,
    /// Bytes received and sent on all its network cards so far, when the host reports them.
    pub net_bytes: Option<u64>,
    /// The counters behind those sums, one by one, for the Performance graphs.
    pub io: IoCounters,
    /// Memory the guest uses now, in KiB, when the balloon statistics say.
    pub memory_used_kib: Option<u64>,
}

/// Growing byte counters of a domain's disks and network cards, summed over its devices;
/// `None` where the host does not report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoCounters {
    /// How many disks and network cards the counters cover.
    pub disks: Option<u64>,
    pub nics: Option<u64>,
    pub disk_read: Option<u64>,
    pub disk_write: Option<u64>,
    pub net_rx: Option<u64>,
    pub net_tx: Option<u64>,
}

impl DomainSummary {
    /// Builds the summary from a bulk statistics record (state, vcpu, balloon, cpu-total).
    pub fn from_stats(stats: &DomainStats) -> Self {
        let memory_kib = stats.get_u64("balloon.current").unwrap_or(0);
        Self {
            uuid: stats.uuid.clone(),
            name: stats.name.clone(),
            state: DomainState::from_raw(stats.get_u64("state.state").unwrap_or(0)),
            vcpus: stats
                .get_u64("vcpu.current")
                .and_then(|count| u32::try_from(count).ok())
                .unwrap_or(0),
            memory_kib,
            max_memory_kib: stats.get_u64("balloon.maximum").unwrap_or(memory_kib),
            cpu_time_ns: stats.get_u64("cpu.time").unwrap_or(0),
            disk_bytes: sum_counters(stats, "block", &["rd.bytes", "wr.bytes"]),
            net_bytes: sum_counters(stats, "net", &["rx.bytes", "tx.bytes"]),
            io: IoCounters {
                disks: stats.get_u64("block.count"),
                nics: stats.get_u64("net.count"),
                disk_read: sum_counters(stats, "block", &["rd.bytes"]),
                disk_write: sum_counters(stats, "block", &["wr.bytes"]),
                net_rx: sum_counters(stats, "net", &["rx.bytes"]),
                net_tx: sum_counters(stats, "net", &["tx.bytes"]),
            },
            memory_used_kib: memory_used_kib(stats),
        }
    }
}

/// Memory in use as the guest sees it (usable minus free), else what the guest's memory
/// holds beside the balloon (current minus free), else the host's resident size of the
/// machine, no more than its current memory.
fn memory_used_kib(stats: &DomainStats) -> Option<u64> {
    let unused = stats.get_u64("balloon.unused");
    let total = stats
        .get_u64("balloon.available")
        .or_else(|| stats.get_u64("balloon.current"));
    if let (Some(total), Some(unused)) = (total, unused) {
        return Some(total.saturating_sub(unused));
    }
    let rss = stats.get_u64("balloon.rss")?;
    Some(match stats.get_u64("balloon.current") {
        Some(current) => rss.min(current),
        None => rss,
    })
}

/// Adds up `PREFIX.N.FIELD` over every device N (`block.0.rd.bytes` …); `None` when the
/// record has no such devices.
fn sum_counters(stats: &DomainStats, prefix: &str, fields: &[&str]) -> Option<u64> {
    let count = stats.get_u64(&format!("{prefix}.count"))?;
    let total = (0..count)
        .flat_map(|device| {
            fields
                .iter()
                .map(move |field| format!("{prefix}.{device}.{field}"))
        })
        .filter_map(|key| stats.get_u64(&key))
        .fold(0u64, u64::saturating_add);
    Some(total)
}

/// Facts about a connected host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostInfo {
    pub hostname: String,
    /// The driver's name for itself, e.g. "QEMU" or "TEST".
    pub driver: String,
    /// libvirt's version on the host, e.g. "11.3.0".
    pub libvirt_version: String,
}

/// Formats libvirt's packed version number (major * 1,000,000 + minor * 1,000 + micro).
pub fn format_version(packed: u64) -> String {
    format!(
        "{}.{}.{}",
        packed / 1_000_000,
        packed / 1_000 % 1_000,
        packed % 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::libvirt::ffi::TypedValue;

    #[test]
    fn summary_reads_bulk_stats_fields() {
        let stats = DomainStats {
            name: "web".into(),
            uuid: "u".into(),
            params: [
                ("state.state", TypedValue::Int(3)),
                ("vcpu.current", TypedValue::UInt(4)),
                ("balloon.current", TypedValue::UInt(2_097_152)),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        };
        let summary = DomainSummary::from_stats(&stats);
        assert_eq!(summary.state, DomainState::Paused);
        assert_eq!(summary.vcpus, 4);
        assert_eq!(summary.memory_kib, 2_097_152);
        assert_eq!(summary.max_memory_kib, 2_097_152);
        assert_eq!(summary.disk_bytes, None);
    }

    #[test]
    fn io_counters_add_up_over_devices() {
        let stats = DomainStats {
            name: "web".into(),
            uuid: "u".into(),
            params: [
                ("block.count", 2),
                ("block.0.rd.bytes", 100),
                ("block.0.wr.bytes", 20),
                ("block.1.rd.bytes", 3),
                ("net.count", 1),
                ("net.0.rx.bytes", 7),
                ("net.0.tx.bytes", 8),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), TypedValue::UInt(value)))
            .collect(),
        };
        let summary = DomainSummary::from_stats(&stats);
        assert_eq!(summary.disk_bytes, Some(123));
        assert_eq!(summary.net_bytes, Some(15));
        assert_eq!((summary.io.disks, summary.io.nics), (Some(2), Some(1)));
        assert_eq!(summary.io.disk_read, Some(103));
        assert_eq!(summary.io.disk_write, Some(20));
        assert_eq!(summary.io.net_rx, Some(7));
        assert_eq!(summary.io.net_tx, Some(8));
    }

    fn balloon(fields: &[(&str, u64)]) -> Option<u64> {
        let stats = DomainStats {
            name: "web".into(),
            uuid: "u".into(),
            params: fields
                .iter()
                .map(|(key, value)| ((*key).to_owned(), TypedValue::UInt(*value)))
                .collect(),
        };
        DomainSummary::from_stats(&stats).memory_used_kib
    }

    #[test]
    fn memory_in_use_prefers_the_guests_own_view() {
        let guest_view = [
            ("balloon.current", 4_000_000),
            ("balloon.available", 3_900_000),
            ("balloon.unused", 2_900_000),
            ("balloon.rss", 3_500_000),
        ];
        assert_eq!(balloon(&guest_view), Some(1_000_000));
        let no_available = [
            ("balloon.current", 4_000_000),
            ("balloon.unused", 1_000_000),
        ];
        assert_eq!(balloon(&no_available), Some(3_000_000));
        // Only the host's view: the resident size, never above the guest's memory.
        let rss_only = [("balloon.current", 1_048_576), ("balloon.rss", 1_200_000)];
        assert_eq!(balloon(&rss_only), Some(1_048_576));
        assert_eq!(balloon(&[("balloon.rss", 700_000)]), Some(700_000));
        assert_eq!(balloon(&[("balloon.current", 1_048_576)]), None);
    }

    #[test]
    fn versions_unpack() {
        assert_eq!(format_version(11_003_000), "11.3.0");
    }
}
