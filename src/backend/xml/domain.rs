//! A new virtual machine: what the wizard asks, its checks, and the `<domain>` XML it defines.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use gettextrs::gettext;
use zeroize::Zeroizing;

use super::volume::VolumeFormat;
use super::{control_character_problem, host_path_problem, object_name_problem, Element};
use crate::backend::password::Password;
use crate::i18n::gettext_f;

const LIBOSINFO_NAMESPACE: &str = "http://libosinfo.org/xmlns/libvirt/domain/1.0";
const MIN_MEMORY_MIB: u64 = 64;
/// VNC's DES challenge uses only the first 8 bytes of a password; QEMU refuses longer ones.
const MAX_VNC_PASSWORD_CHARS: usize = 8;
const GIB: u64 = 1024 * 1024 * 1024;

/// Where the guest's system comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum InstallSource {
    /// An ISO image already in a storage pool of the host, attached as a CD-ROM.
    IsoVolume {
        pool: String,
        volume: String,
        path: String,
    },
    /// An ISO image on this computer (`path`), uploaded as `volume` into `pool` before the
    /// machine is defined. The XML names the volume, so libvirt resolves the path it lands at.
    LocalIso {
        path: String,
        pool: String,
        volume: String,
    },
    /// An ISO image served over HTTP(S), attached as a network CD-ROM that QEMU reads on
    /// demand. libvirt cannot install from a distribution tree URL (`…/os/`) by itself: that
    /// needs the tree's kernel and initrd downloaded to the host first, which this does not do.
    NetworkTree { url: String },
    /// A disk image with an installed system; it becomes the first disk and boots.
    ImportDisk { path: String, format: VolumeFormat },
    /// Boot from the network (PXE) through the machine's network interface.
    #[default]
    Pxe,
}

/// The operating system the machine is for, recorded in libosinfo's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsChoice {
    /// osinfo's short id (`fedora37`, `win11`), or `generic`.
    pub short_id: String,
    /// osinfo's full id (`http://fedoraproject.org/fedora/37`); empty for a generic system.
    pub id: String,
    pub name: String,
    /// osinfo's family (`linux`, `winnt`, …); Windows gets local time and Hyper-V hints.
    pub family: String,
}

impl OsChoice {
    pub const GENERIC_SHORT_ID: &'static str = "generic";

    pub fn generic() -> Self {
        Self {
            short_id: Self::GENERIC_SHORT_ID.to_owned(),
            id: String::new(),
            name: gettext("Generic operating system"),
            family: String::new(),
        }
    }

    fn is_windows(&self) -> bool {
        self.family == "winnt" || self.family == "win9x"
    }
}

impl Default for OsChoice {
    fn default() -> Self {
        Self::generic()
    }
}

/// The machine's main disk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StorageChoice {
    /// A volume created in `pool` before the machine is defined (see `volume::volume_xml`).
    NewVolume {
        pool: String,
        name: String,
        size_gib: u64,
        format: VolumeFormat,
    },
    /// A disk image or block device already on the host.
    ExistingVolume { path: String, format: VolumeFormat },
    /// No disk, for live systems or with an imported disk.
    #[default]
    None,
}

/// How the guest sees its hard disks. CD-ROMs are always SATA: q35 has no IDE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskBus {
    /// Fastest; needs drivers on Windows.
    #[default]
    Virtio,
    /// Works in every system without drivers.
    Sata,
}

impl DiskBus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Virtio => "virtio",
            Self::Sata => "sata",
        }
    }

    fn device_prefix(self) -> &'static str {
        match self {
            Self::Virtio => "vd",
            Self::Sata => "sd",
        }
    }
}

/// The network card the guest sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NicModel {
    /// Fastest; needs drivers on Windows.
    #[default]
    Virtio,
    /// An Intel card every system has drivers for.
    E1000e,
}

impl NicModel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Virtio => "virtio",
            Self::E1000e => "e1000e",
        }
    }
}

/// What the machine's network card is plugged into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkChoice {
    /// A libvirt virtual network, such as `default`.
    Virtual {
        name: String,
    },
    /// A bridge on the host, such as `br0`: the guest is on the host's network.
    Bridge {
        name: String,
    },
    /// A host interface shared through macvtap: on the network, but unable to reach the host.
    Macvtap {
        device: String,
    },
    None,
}

impl Default for NetworkChoice {
    fn default() -> Self {
        Self::Virtual {
            name: "default".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Firmware {
    #[default]
    Bios,
    /// libvirt picks a matching OVMF build; secure boot also enrols Microsoft's keys.
    Uefi { secure_boot: bool },
}

/// The graphical console: always VNC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSpec {
    /// The host address VNC listens on; `127.0.0.1` keeps it to the host (and SSH tunnels).
    pub listen: String,
    /// Asked by VNC clients when set; the XML has `passwd` only then.
    pub password: Option<Password>,
}

impl Default for ConsoleSpec {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1".to_owned(),
            password: None,
        }
    }
}

impl ConsoleSpec {
    fn password(&self) -> Option<&str> {
        self.password
            .as_ref()
            .map(Password::expose)
            .filter(|password| !password.is_empty())
    }
}

/// Which accelerator runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DomainType {
    #[default]
    Kvm,
    /// Plain emulation, for hosts without KVM: slow, but it runs.
    Qemu,
}

impl DomainType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Kvm => "kvm",
            Self::Qemu => "qemu",
        }
    }
}

/// Everything the new-machine wizard asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVmSpec {
    pub name: String,
    /// A short description shown instead of the name; may be empty.
    pub title: String,
    pub memory_mib: u64,
    pub vcpus: u32,
    pub os: OsChoice,
    pub install: InstallSource,
    pub storage: StorageChoice,
    pub disk_bus: DiskBus,
    pub network: NetworkChoice,
    pub nic_model: NicModel,
    pub firmware: Firmware,
    /// An emulated TPM 2.0, which Windows 11 requires.
    pub tpm: bool,
    pub console: ConsoleSpec,
    pub domain_type: DomainType,
    pub arch: String,
    pub machine: String,
}

impl Default for NewVmSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            title: String::new(),
            memory_mib: 2048,
            vcpus: 2,
            os: OsChoice::generic(),
            install: InstallSource::default(),
            storage: StorageChoice::default(),
            disk_bus: DiskBus::default(),
            network: NetworkChoice::default(),
            nic_model: NicModel::default(),
            firmware: Firmware::default(),
            tpm: false,
            console: ConsoleSpec::default(),
            domain_type: DomainType::default(),
            arch: "x86_64".to_owned(),
            machine: "q35".to_owned(),
        }
    }
}

/// The wizard fields a problem can be shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmField {
    Name,
    Title,
    Memory,
    Vcpus,
    InstallSource,
    /// The new volume's pool or name, or the existing disk's path.
    Disk,
    DiskSize,
    Network,
    ConsoleListen,
    ConsolePassword,
}

pub type VmFieldError = super::FieldError<VmField>;

/// What the host allows, for the checks that depend on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostLimits {
    /// The host's memory; 0 when unknown, which skips the check.
    pub memory_mib: u64,
    /// Free bytes in each storage pool, by pool name.
    pub pool_free_bytes: HashMap<String, u64>,
    /// The names of the machines already on the host.
    pub existing_names: Vec<String>,
}

/// The spec cannot be turned into XML: every problem, by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub errors: Vec<VmFieldError>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.errors.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&messages.join(" "))
    }
}

impl std::error::Error for SpecError {}

/// Every problem in the spec, including those against what the host has.
pub fn validate(spec: &NewVmSpec, host: &HostLimits) -> Vec<VmFieldError> {
    let mut errors = spec_errors(spec);
    if host.existing_names.contains(&spec.name) {
        let message = gettext_f(
            "There is already a virtual machine named “{name}” on this host.",
            &[("name", &spec.name)],
        );
        errors.push(VmFieldError::new(VmField::Name, message));
    }
    if host.memory_mib > 0 && spec.memory_mib > host.memory_mib {
        let message = gettext_f(
            "The host has only {size} MiB of memory.",
            &[("size", &host.memory_mib.to_string())],
        );
        errors.push(VmFieldError::new(VmField::Memory, message));
    }
    errors.extend(pool_space_error(&spec.storage, &host.pool_free_bytes));
    errors
}

/// What the XML review shows instead of the VNC password.
pub const MASKED_PASSWORD: &str = "••••••";

/// The `<domain>` XML as the wizard's review shows it: the VNC password masked, checked
/// with the real one.
pub fn review_xml(spec: &NewVmSpec) -> Result<String, SpecError> {
    let errors = spec_errors(spec);
    if !errors.is_empty() {
        return Err(SpecError { errors });
    }
    let mut masked = spec.clone();
    if masked.console.password().is_some() {
        masked.console.password = Some(Password::from_text(MASKED_PASSWORD));
    }
    domain_xml(&masked)
}

/// The review's XML as the user edited it, with the real VNC password back where the mask
/// still stands (a `passwd` the user typed over is theirs).
pub fn unmask_review_xml(edited: &str, spec: &NewVmSpec) -> Zeroizing<String> {
    let Some(password) = spec.console.password() else {
        return Zeroizing::new(edited.to_owned());
    };
    let real = Zeroizing::new(format!(
        "passwd=\"{}\"",
        quick_xml::escape::escape(password)
    ));
    let mut xml = Zeroizing::new(edited.replace(&format!("passwd=\"{MASKED_PASSWORD}\""), &real));
    let single = format!("passwd='{MASKED_PASSWORD}'");
    if xml.contains(&single) {
        xml = Zeroizing::new(xml.replace(&single, &real));
    }
    xml
}

/// The `<domain>` XML that defines the machine, or the problems that stop it.
pub fn domain_xml(spec: &NewVmSpec) -> Result<String, SpecError> {
    let errors = spec_errors(spec);
    if !errors.is_empty() {
        return Err(SpecError { errors });
    }
    let http_source = match &spec.install {
        InstallSource::NetworkTree { url } => parse_http_url(url),
        _ => None,
    };
    let domain = Element::new("domain")
        .attr("type", spec.domain_type.as_str())
        .child(Element::with_text("name", &spec.name))
        .children(title_element(&spec.title))
        .children(metadata_element(&spec.os))
        .child(Element::with_text("memory", spec.memory_mib).attr("unit", "MiB"))
        .child(Element::with_text("vcpu", spec.vcpus).attr("placement", "static"))
        .child(os_element(spec))
        .child(features_element(spec))
        .children(cpu_element(spec.domain_type))
        .child(clock_element(&spec.os))
        .child(devices_element(spec, http_source));
    Ok(domain.render())
}

/// The problems that need no knowledge of the host.
fn spec_errors(spec: &NewVmSpec) -> Vec<VmFieldError> {
    let mut errors = Vec::new();
    let mut check = |field, problem: Option<String>| {
        if let Some(message) = problem {
            errors.push(VmFieldError::new(field, message));
        }
    };
    check(VmField::Name, object_name_problem(&spec.name));
    check(VmField::Title, control_character_problem(&spec.title));
    check(VmField::Memory, memory_problem(spec.memory_mib));
    check(VmField::Vcpus, vcpus_problem(spec.vcpus));
    check(VmField::InstallSource, install_problem(&spec.install));
    check(VmField::Disk, storage_problem(&spec.storage));
    check(VmField::DiskSize, disk_size_problem(&spec.storage));
    check(VmField::Network, network_problem(spec));
    check(VmField::ConsoleListen, listen_problem(&spec.console.listen));
    check(VmField::ConsolePassword, password_problem(&spec.console));
    errors
}

fn memory_problem(memory_mib: u64) -> Option<String> {
    (memory_mib < MIN_MEMORY_MIB).then(|| {
        gettext_f(
            "A virtual machine needs at least {size} MiB of memory.",
            &[("size", &MIN_MEMORY_MIB.to_string())],
        )
    })
}

fn vcpus_problem(vcpus: u32) -> Option<String> {
    (vcpus == 0).then(|| gettext("A virtual machine needs at least one processor."))
}

fn install_problem(install: &InstallSource) -> Option<String> {
    match install {
        InstallSource::IsoVolume { path, .. } if path.is_empty() => {
            Some(gettext("Choose an ISO image."))
        }
        InstallSource::IsoVolume { path, .. } => host_path_problem(path),
        InstallSource::LocalIso { path, pool, volume } => {
            if path.is_empty() {
                Some(gettext("Choose an ISO image."))
            } else if pool.is_empty() {
                Some(gettext("Choose a storage pool to upload the image to."))
            } else {
                object_name_problem(volume)
            }
        }
        InstallSource::NetworkTree { url } => parse_http_url(url)
            .is_none()
            .then(|| gettext("Enter the http:// or https:// address of an ISO image.")),
        InstallSource::ImportDisk { path, .. } => host_path_problem(path),
        InstallSource::Pxe => None,
    }
}

fn storage_problem(storage: &StorageChoice) -> Option<String> {
    match storage {
        StorageChoice::NewVolume { pool, name, .. } => {
            if pool.is_empty() {
                Some(gettext("Choose a storage pool for the disk."))
            } else {
                object_name_problem(name)
            }
        }
        StorageChoice::ExistingVolume { path, .. } => host_path_problem(path),
        StorageChoice::None => None,
    }
}

fn disk_size_problem(storage: &StorageChoice) -> Option<String> {
    match storage {
        StorageChoice::NewVolume { size_gib: 0, .. } => {
            Some(gettext("A disk needs at least 1 GiB."))
        }
        _ => None,
    }
}

fn pool_space_error(
    storage: &StorageChoice,
    pool_free_bytes: &HashMap<String, u64>,
) -> Option<VmFieldError> {
    let StorageChoice::NewVolume { pool, size_gib, .. } = storage else {
        return None;
    };
    let free = *pool_free_bytes.get(pool)?;
    if size_gib.saturating_mul(GIB) <= free {
        return None;
    }
    let free_gib = format!("{:.1}", free as f64 / GIB as f64);
    let message = gettext_f(
        "The pool “{pool}” has only {size} GiB free.",
        &[("pool", pool), ("size", &free_gib)],
    );
    Some(VmFieldError::new(VmField::DiskSize, message))
}

fn network_problem(spec: &NewVmSpec) -> Option<String> {
    match &spec.network {
        NetworkChoice::Virtual { name } if name.is_empty() => Some(gettext("Choose a network.")),
        NetworkChoice::Bridge { name } if name.is_empty() => Some(gettext(
            "Enter the name of a bridge on the host, such as br0.",
        )),
        NetworkChoice::Macvtap { device } if device.is_empty() => Some(gettext(
            "Enter the name of a network interface on the host, such as eth0.",
        )),
        NetworkChoice::Virtual { name } | NetworkChoice::Bridge { name } => {
            control_character_problem(name)
        }
        NetworkChoice::Macvtap { device } => control_character_problem(device),
        NetworkChoice::None if spec.install == InstallSource::Pxe => Some(gettext(
            "Booting from the network needs a network connection.",
        )),
        NetworkChoice::None => None,
    }
}

fn listen_problem(listen: &str) -> Option<String> {
    listen
        .parse::<IpAddr>()
        .is_err()
        .then(|| gettext("Enter an IP address, such as 127.0.0.1."))
}

fn password_problem(console: &ConsoleSpec) -> Option<String> {
    let password = console.password()?;
    if password.chars().count() > MAX_VNC_PASSWORD_CHARS {
        Some(gettext_f(
            "A VNC password can be at most {count} characters long.",
            &[("count", &MAX_VNC_PASSWORD_CHARS.to_string())],
        ))
    } else {
        control_character_problem(password)
    }
}

mod build;
use build::*;

#[cfg(test)]
mod tests;
