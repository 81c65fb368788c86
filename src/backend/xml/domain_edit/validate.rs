//! Checks of edited values before they are written, as sentences for the user.

use gettextrs::gettext;

use super::EditError;
use crate::backend::domain::fields::Field;
use crate::backend::domain::model::{CpuMode, DomainModel, VncListen, VncPassword};
use crate::backend::xml::{control_character_problem, host_name_problem, host_path_problem};
use crate::i18n::gettext_f;

/// QEMU needs some memory to start a guest at all.
const MIN_MEMORY_KIB: u64 = 64 * 1024;
/// VNC's DES challenge uses only 8 bytes; QEMU refuses longer passwords.
const MAX_VNC_PASSWORD_CHARS: usize = 8;
/// libvirt numbers VNC displays from port 5900.
const MIN_VNC_PORT: u16 = 5900;

pub(super) fn check(field: Field, edited: &DomainModel) -> Result<(), EditError> {
    match problem(field, edited) {
        Some(message) => Err(EditError::Invalid { field, message }),
        None => Ok(()),
    }
}

fn problem(field: Field, edited: &DomainModel) -> Option<String> {
    match field {
        Field::Title => control_character_problem(&edited.title),
        Field::Description => None,
        Field::Memory | Field::MaxMemory => memory_problem(edited),
        Field::Vcpus | Field::MaxVcpus => vcpu_problem(edited),
        Field::Topology => topology_problem(edited),
        Field::CpuMode => match &edited.cpu_mode {
            CpuMode::Custom(model) if model.trim().is_empty() => {
                Some(gettext("Choose a CPU model."))
            }
            CpuMode::Custom(model) => control_character_problem(model),
            _ => None,
        },
        Field::KernelBoot => kernel_problem(edited),
        Field::VncListen => match edited.vnc.as_ref().map(|vnc| &vnc.listen) {
            Some(VncListen::Address(address)) => host_name_problem(address),
            Some(VncListen::Socket(path)) => host_path_problem(path),
            _ => None,
        },
        Field::VncPort => edited
            .vnc
            .as_ref()
            .and_then(|vnc| match (vnc.autoport, vnc.port) {
                (false, None) => Some(gettext("Enter a port, or choose automatic.")),
                (false, Some(port)) if port < MIN_VNC_PORT => Some(gettext_f(
                    "The port must be {min} or higher.",
                    &[("min", &MIN_VNC_PORT.to_string())],
                )),
                _ => None,
            }),
        Field::VncPassword => match edited.vnc.as_ref().map(|vnc| &vnc.password) {
            Some(VncPassword::Set(password)) => vnc_password_problem(password.expose()),
            _ => None,
        },
        Field::VncKeymap => edited
            .vnc
            .as_ref()
            .and_then(|vnc| vnc.keymap.as_deref())
            .and_then(|keymap| {
                let valid = !keymap.is_empty()
                    && keymap
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                (!valid).then(|| {
                    gettext("This is not a keyboard layout name (such as “en-us” or “de”).")
                })
            }),
        Field::SharedMemory | Field::BootOrder | Field::BootMenu | Field::Firmware => None,
    }
}

fn memory_problem(edited: &DomainModel) -> Option<String> {
    if edited.max_memory_kib < MIN_MEMORY_KIB {
        Some(gettext(
            "A virtual machine needs at least 64 MiB of memory.",
        ))
    } else if edited.memory_kib > edited.max_memory_kib {
        Some(gettext(
            "The current memory cannot be more than the maximum.",
        ))
    } else if edited.memory_kib == 0 {
        Some(gettext("The current memory cannot be zero."))
    } else {
        None
    }
}

fn vcpu_problem(edited: &DomainModel) -> Option<String> {
    if edited.vcpus == 0 || edited.max_vcpus == 0 {
        Some(gettext("A virtual machine needs at least one vCPU."))
    } else if edited.vcpus > edited.max_vcpus {
        Some(gettext(
            "The vCPUs at start cannot be more than the maximum.",
        ))
    } else {
        topology_problem(edited)
    }
}

fn topology_problem(edited: &DomainModel) -> Option<String> {
    let topology = edited.topology.as_ref()?;
    if topology.vcpus() == 0 {
        return Some(gettext(
            "Sockets, dies, cores and threads must each be at least 1.",
        ));
    }
    (topology.vcpus() != u64::from(edited.max_vcpus)).then(|| {
        gettext_f(
            "Sockets × dies × cores × threads is {total}, but the maximum is {max} vCPUs: they must be equal.",
            &[
                ("total", &topology.vcpus().to_string()),
                ("max", &edited.max_vcpus.to_string()),
            ],
        )
    })
}

fn kernel_problem(edited: &DomainModel) -> Option<String> {
    let kernel = &edited.kernel_boot;
    if kernel.kernel.is_empty() {
        return (!kernel.initrd.is_empty() || !kernel.cmdline.is_empty())
            .then(|| gettext("An initrd or command line needs a kernel path."));
    }
    host_path_problem(&kernel.kernel)
        .or_else(|| {
            (!kernel.initrd.is_empty())
                .then(|| host_path_problem(&kernel.initrd))
                .flatten()
        })
        .or_else(|| control_character_problem(&kernel.cmdline))
}

fn vnc_password_problem(password: &str) -> Option<String> {
    if password.is_empty() {
        Some(gettext("Enter a password, or clear it."))
    } else if password.chars().count() > MAX_VNC_PASSWORD_CHARS {
        Some(gettext("VNC passwords can have at most 8 characters."))
    } else {
        control_character_problem(password)
    }
}
