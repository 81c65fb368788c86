//! Before a snapshot: internal or external, and why, in a sentence the page shows; whether
//! the pool has room. Pure: the facts come from the domain's XML, its snapshots and the host.
//!
//! Internal snapshots live inside qcow2 images, so every disk must be qcow2; libvirt took
//! internal snapshots of UEFI (pflash) machines only from 10.10 on, with the NVRAM in qcow2.
//! A running machine's internal snapshot always includes its memory, so a disk-only snapshot
//! of a running machine is external. Whatever mode the machine's snapshots already use is
//! kept, so its snapshot tree never mixes both.

use std::fmt;

use gettextrs::gettext;
use virt::sys;

use super::disk_resize::format_bytes;
use super::format_version;
pub use crate::backend::xml::snapshot::SnapshotMode;
use crate::i18n::gettext_f;

/// libvirt 10.10.0, packed as `virConnectGetLibVersion` packs it.
pub const UEFI_INTERNAL_SINCE: u64 = 10_010_000;

/// Room kept free beyond the memory for the disks' changes after the snapshot.
pub const SPACE_MARGIN: u64 = 128 << 20;

/// One `<disk>` of the domain as a snapshot sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDisk {
    /// `vda`.
    pub target: String,
    /// `<driver type>`: `qcow2`, `raw`; `None` when not stated (libvirt probes nothing: raw).
    pub format: Option<String>,
    /// A disk the guest writes to, with a source: snapshotted. CD-ROMs, read-only, shared
    /// and empty disks are left out.
    pub included: bool,
    /// Its image: a path or `pool/volume`.
    pub source: Option<String>,
}

/// What the plan is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub disks: Vec<SnapshotDisk>,
    pub uefi: bool,
    /// `<nvram format>`; `None` when not stated (raw).
    pub nvram_format: Option<String>,
    /// The daemon's libvirt version, packed (`10010000` for 10.10.0).
    pub libvirt_version: u64,
    /// The mode of the snapshots the machine already has.
    pub existing: Option<SnapshotMode>,
    pub running: bool,
    pub with_memory: bool,
}

/// How the snapshot will be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPlan {
    pub mode: SnapshotMode,
    /// Which mode and why, as one sentence.
    pub reason: String,
    pub with_memory: bool,
}

/// Why a snapshot cannot be taken as asked; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Memory was asked for, but the machine is off.
    MemoryNeedsRunning,
    /// The machine has no disk a snapshot could hold.
    NoDisks,
    /// The machine's snapshots are internal, it runs and a disk-only snapshot was asked for.
    RunningDiskOnlyInternal,
    /// The snapshot's storage pool has too little room: bytes needed and available.
    NoSpace {
        pool: String,
        needed: u64,
        available: u64,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::MemoryNeedsRunning => gettext(
                "Only a running virtual machine has memory to save. Start it first, or take a disk-only snapshot.",
            ),
            Self::NoDisks => gettext(
                "This virtual machine has no writable disk image to snapshot (CD-ROMs, read-only and shared disks are left out).",
            ),
            Self::RunningDiskOnlyInternal => gettext(
                "This virtual machine’s snapshots are internal, and an internal snapshot of a running machine always includes its memory. Take the snapshot with memory, or shut the machine down for a disk-only one.",
            ),
            Self::NoSpace {
                pool,
                needed,
                available,
            } => gettext_f(
                "The snapshot needs about {needed} in storage pool “{pool}” (the guest’s memory and room for the disks’ changes), but only {available} is free. Free some space in the pool, or take a disk-only snapshot.",
                &[
                    ("needed", &format_bytes(*needed)),
                    ("pool", pool),
                    ("available", &format_bytes(*available)),
                ],
            ),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for PlanError {}

/// Why internal snapshots are impossible for this machine, if they are.
fn internal_refusal(input: &PlanInput) -> Option<String> {
    let version = format_version(input.libvirt_version);
    if let Some(disk) = input
        .disks
        .iter()
        .find(|disk| disk.included && disk.format.as_deref() != Some("qcow2"))
    {
        let format = disk.format.as_deref().unwrap_or("raw");
        return Some(gettext_f(
            "External: disk {target} is a {format} image, which cannot hold snapshots inside it, so libvirt adds new overlay files beside the images.",
            &[("target", &disk.target), ("format", format)],
        ));
    }
    if input.uefi && input.libvirt_version < UEFI_INTERNAL_SINCE {
        return Some(gettext_f(
            "External: this machine starts with UEFI, and libvirt {version} on this host takes internal snapshots only of BIOS machines (libvirt 10.10 and later also of UEFI ones).",
            &[("version", &version)],
        ));
    }
    if input.uefi && input.nvram_format.as_deref() != Some("qcow2") {
        return Some(gettext(
            "External: this machine starts with UEFI and its NVRAM (firmware settings) file is not qcow2, which libvirt needs for an internal snapshot of a UEFI machine.",
        ));
    }
    None
}

/// Decides internal or external with a reason, or refuses before anything changes.
pub fn plan_snapshot(input: &PlanInput) -> Result<SnapshotPlan, PlanError> {
    if input.with_memory && !input.running {
        return Err(PlanError::MemoryNeedsRunning);
    }
    if !input.disks.iter().any(|disk| disk.included) {
        return Err(PlanError::NoDisks);
    }
    let running_disk_only = input.running && !input.with_memory;
    let plan = |mode, reason| {
        Ok(SnapshotPlan {
            mode,
            reason,
            with_memory: input.with_memory,
        })
    };
    match input.existing {
        Some(SnapshotMode::External) => plan(
            SnapshotMode::External,
            gettext("External, like this virtual machine’s other snapshots (a machine keeps one kind, so its snapshots can be reverted and deleted)."),
        ),
        Some(SnapshotMode::Internal) if internal_refusal(input).is_none() => {
            if running_disk_only {
                Err(PlanError::RunningDiskOnlyInternal)
            } else {
                plan(
                    SnapshotMode::Internal,
                    gettext("Internal, like this virtual machine’s other snapshots: kept inside its qcow2 images."),
                )
            }
        }
        _ => {
            if let Some(reason) = internal_refusal(input) {
                plan(SnapshotMode::External, reason)
            } else if running_disk_only {
                plan(
                    SnapshotMode::External,
                    gettext("External: a disk-only snapshot of a running machine goes into new overlay files, since an internal snapshot of a running machine always includes its memory."),
                )
            } else if input.uefi {
                plan(
                    SnapshotMode::Internal,
                    gettext_f(
                        "Internal: every disk and the NVRAM are qcow2 images, and libvirt {version} on this host takes internal snapshots of UEFI machines.",
                        &[("version", &format_version(input.libvirt_version))],
                    ),
                )
            } else {
                plan(
                    SnapshotMode::Internal,
                    gettext("Internal: every disk is a qcow2 image, so the snapshot is kept inside the images."),
                )
            }
        }
    }
}

/// Why `name` cannot name this snapshot, beyond libvirt's general name rules: libvirt runs
/// an internal snapshot of a running machine as a QEMU job named after the snapshot, and
/// QEMU takes only ids that start with a letter and hold letters, digits, “-”, “.” and “_”.
pub fn qemu_name_problem(plan: &SnapshotPlan, running: bool, name: &str) -> Option<String> {
    if plan.mode != SnapshotMode::Internal || !running {
        return None;
    }
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    (!well_formed).then(|| {
        gettext("An internal snapshot of a running machine needs a name that starts with a letter and has only letters, digits, “-”, “.” and “_” (no spaces), because QEMU names its job after it.")
    })
}

/// A name to suggest for a new snapshot taken at `unix_seconds` (UTC), valid for every
/// mode: `snapshot-2026-12-08-0244`; `prefix` must itself be such a name (`before-revert`).
pub fn suggested_name(prefix: &str, unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let minutes = unix_seconds.rem_euclid(86_400) / 60;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{prefix}-{year:04}-{month:02}-{day:02}-{:02}{:02}",
        minutes / 60,
        minutes % 60
    )
}

/// `virDomainSnapshotCreateXML` flags for the plan; `quiesce` when a guest agent answers.
pub fn create_flags(plan: &SnapshotPlan, running: bool, agent: bool) -> u32 {
    let mut flags = sys::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
    if plan.mode == SnapshotMode::External && !plan.with_memory {
        flags |= sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
        if running && agent {
            flags |= sys::VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
        }
    }
    flags
}

/// The bytes a snapshot needs in its pool: the memory when saved, plus a margin.
pub fn space_needed(plan: &SnapshotPlan, memory_kib: u64) -> u64 {
    let memory = if plan.with_memory {
        memory_kib.saturating_mul(1024)
    } else {
        0
    };
    memory.saturating_add(SPACE_MARGIN)
}

/// Refuses when `available` bytes in `pool` are fewer than `needed`.
pub fn check_space(pool: &str, needed: u64, available: u64) -> Result<(), PlanError> {
    if available < needed {
        Err(PlanError::NoSpace {
            pool: pool.to_owned(),
            needed,
            available,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[path = "snapshot_plan_tests.rs"]
mod tests;
