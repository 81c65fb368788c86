//! The settings of the details page one by one: which differ between two models, and how
//! libvirt applies each (live, to the saved config, or both).

use super::model::{DomainModel, VncSettings};

/// One setting the page edits. Each is written as a whole by `xml::domain_edit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Title,
    Description,
    /// `<currentMemory>`: the balloon, changeable while running.
    Memory,
    /// `<memory>`: the maximum, only while shut off.
    MaxMemory,
    /// vCPUs at start, hot-pluggable up to the maximum.
    Vcpus,
    MaxVcpus,
    Topology,
    CpuMode,
    SharedMemory,
    BootOrder,
    BootMenu,
    Firmware,
    KernelBoot,
    VncListen,
    /// Autoport and the fixed port together.
    VncPort,
    VncPassword,
    VncKeymap,
}

impl Field {
    pub const ALL: [Field; 17] = [
        Field::Title,
        Field::Description,
        Field::Memory,
        Field::MaxMemory,
        Field::Vcpus,
        Field::MaxVcpus,
        Field::Topology,
        Field::CpuMode,
        Field::SharedMemory,
        Field::BootOrder,
        Field::BootMenu,
        Field::Firmware,
        Field::KernelBoot,
        Field::VncListen,
        Field::VncPort,
        Field::VncPassword,
        Field::VncKeymap,
    ];

    /// Whether the field's value is the same in both models.
    pub fn same_in(self, a: &DomainModel, b: &DomainModel) -> bool {
        match self {
            Field::Title => a.title == b.title,
            Field::Description => a.description == b.description,
            Field::Memory => a.memory_kib == b.memory_kib,
            Field::MaxMemory => a.max_memory_kib == b.max_memory_kib,
            Field::Vcpus => a.vcpus == b.vcpus,
            Field::MaxVcpus => a.max_vcpus == b.max_vcpus,
            Field::Topology => a.topology == b.topology,
            Field::CpuMode => a.cpu_mode == b.cpu_mode,
            Field::SharedMemory => a.shared_memory == b.shared_memory,
            Field::BootOrder => a.boot_order == b.boot_order,
            Field::BootMenu => a.boot_menu == b.boot_menu,
            Field::Firmware => a.firmware == b.firmware,
            Field::KernelBoot => a.kernel_boot == b.kernel_boot,
            Field::VncListen => vnc(a, |v| v.listen.clone()) == vnc(b, |v| v.listen.clone()),
            Field::VncPort => vnc(a, port_setting) == vnc(b, port_setting),
            Field::VncPassword => vnc(a, |v| v.password.clone()) == vnc(b, |v| v.password.clone()),
            Field::VncKeymap => vnc(a, |v| v.keymap.clone()) == vnc(b, |v| v.keymap.clone()),
        }
    }

    /// Whether a change made while the machine runs waits for its next start (the page
    /// marks these fields).
    pub fn needs_shutdown(self) -> bool {
        self.apply_scope(true) == ApplyScope::ConfigAfterShutdown
    }

    /// How libvirt applies a change of this field to a domain that is `running` or not.
    /// A live VNC password change needs a display started with a password (QEMU refuses
    /// `set_password` otherwise); `apply` then reports it as waiting for a shutdown.
    pub fn apply_scope(self, running: bool) -> ApplyScope {
        if !running {
            return ApplyScope::Config;
        }
        match self {
            // virDomainSetMetadata, virDomainSetMemoryFlags, virDomainSetVcpusFlags and
            // virDomainUpdateDeviceFlags (graphics password) all take AFFECT_LIVE|CONFIG.
            Field::Title
            | Field::Description
            | Field::Memory
            | Field::Vcpus
            | Field::VncPassword => ApplyScope::LiveAndConfig,
            _ => ApplyScope::ConfigAfterShutdown,
        }
    }

    /// Copies this field's value from `from` into `to` (an edit kept across a re-read).
    pub fn copy(self, from: &DomainModel, to: &mut DomainModel) {
        match self {
            Field::Title => to.title.clone_from(&from.title),
            Field::Description => to.description.clone_from(&from.description),
            Field::Memory => to.memory_kib = from.memory_kib,
            Field::MaxMemory => to.max_memory_kib = from.max_memory_kib,
            Field::Vcpus => to.vcpus = from.vcpus,
            Field::MaxVcpus => to.max_vcpus = from.max_vcpus,
            Field::Topology => to.topology = from.topology,
            Field::CpuMode => to.cpu_mode.clone_from(&from.cpu_mode),
            Field::SharedMemory => to.shared_memory = from.shared_memory,
            Field::BootOrder => to.boot_order.clone_from(&from.boot_order),
            Field::BootMenu => to.boot_menu = from.boot_menu,
            Field::Firmware => to.firmware = from.firmware,
            Field::KernelBoot => to.kernel_boot.clone_from(&from.kernel_boot),
            Field::VncListen | Field::VncPort | Field::VncPassword | Field::VncKeymap => {
                copy_vnc_field(self, from, to)
            }
        }
    }
}

/// Autoport wins over the port: a running autoport domain's port is not a setting.
fn port_setting(vnc: &VncSettings) -> (bool, Option<u16>) {
    (vnc.autoport, if vnc.autoport { None } else { vnc.port })
}

fn vnc<T>(model: &DomainModel, read: impl Fn(&VncSettings) -> T) -> Option<T> {
    model.vnc.as_ref().map(read)
}

/// Where a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyScope {
    /// The domain is shut off: only the saved config exists (`AFFECT_CONFIG`).
    Config,
    /// Running: now and in the saved config (`AFFECT_LIVE | AFFECT_CONFIG`).
    LiveAndConfig,
    /// Running: saved now, in effect after the next shutdown. The page marks these.
    ConfigAfterShutdown,
}

/// The fields whose values differ between `a` and `b`, in page order.
pub fn changed_fields(a: &DomainModel, b: &DomainModel) -> Vec<Field> {
    Field::ALL
        .into_iter()
        .filter(|field| !field.same_in(a, b))
        .collect()
}

/// Whether the page should say "Some changes take effect after the virtual machine shuts
/// down": the saved config differs from the live XML in a field the page shows.
pub fn pending_after_shutdown(live: &DomainModel, saved: &DomainModel) -> Vec<Field> {
    changed_fields(live, saved)
}

/// Copies one VNC setting; a domain without VNC on either side has nothing to copy.
fn copy_vnc_field(field: Field, from: &DomainModel, to: &mut DomainModel) {
    let (Some(from), Some(to)) = (from.vnc.as_ref(), to.vnc.as_mut()) else {
        return;
    };
    match field {
        Field::VncListen => to.listen.clone_from(&from.listen),
        Field::VncPort => (to.autoport, to.port) = (from.autoport, from.port),
        Field::VncPassword => to.password.clone_from(&from.password),
        Field::VncKeymap => to.keymap.clone_from(&from.keymap),
        _ => {}
    }
}
