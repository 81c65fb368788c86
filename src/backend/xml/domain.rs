//! A new virtual machine: what the wizard asks, its checks, and the `<domain>` XML it defines.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use gettextrs::gettext;

use super::volume::VolumeFormat;
use super::{control_character_problem, host_path_problem, object_name_problem, Element};
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
    pub password: Option<String>,
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
            .as_deref()
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

/// An ISO image's address split the way libvirt's network disks want it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HttpSource {
    protocol: &'static str,
    host: String,
    port: u16,
    /// The path, still percent-encoded: QEMU puts it back into a URL as it is.
    path: String,
    query: Option<String>,
}

/// Splits `http(s)://host[:port]/path[?query]`; no user names, no fragments.
fn parse_http_url(url: &str) -> Option<HttpSource> {
    let (protocol, port, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("https", 443, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        ("http", 80, rest)
    } else {
        return None;
    };
    let (authority, path_and_query) = rest.split_at(rest.find('/')?);
    let (host, port) = split_host_port(authority, port)?;
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (path_and_query, None),
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '#';
    if path.len() < 2 || url.chars().any(bad_char) {
        return None;
    }
    Some(HttpSource {
        protocol,
        host,
        port,
        path: path.to_owned(),
        query,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the host comes back without brackets.
fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => port.parse().ok().filter(|port| *port > 0)?,
        None => default_port,
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    (!host.is_empty() && host.chars().all(valid)).then(|| (host.to_owned(), port))
}

fn title_element(title: &str) -> Option<Element> {
    (!title.is_empty()).then(|| Element::with_text("title", title))
}

/// libosinfo's record of the guest system, which virt-manager and GNOME Boxes read too.
fn metadata_element(os: &OsChoice) -> Option<Element> {
    if os.id.is_empty() {
        return None;
    }
    let libosinfo = Element::new("libosinfo:libosinfo")
        .attr("xmlns:libosinfo", LIBOSINFO_NAMESPACE)
        .child(Element::new("libosinfo:os").attr("id", &os.id));
    Some(Element::new("metadata").child(libosinfo))
}

fn os_element(spec: &NewVmSpec) -> Element {
    let os_type = Element::with_text("type", "hvm")
        .attr("arch", &spec.arch)
        .attr("machine", &spec.machine);
    match spec.firmware {
        Firmware::Bios => Element::new("os").child(os_type),
        Firmware::Uefi { secure_boot } => Element::new("os")
            .attr("firmware", "efi")
            .child(os_type)
            .child(firmware_features(secure_boot)),
    }
}

/// Naming secure boot either way makes libvirt pick an OVMF build with or without it.
fn firmware_features(secure_boot: bool) -> Element {
    let enabled = if secure_boot { "yes" } else { "no" };
    let feature = |name| {
        Element::new("feature")
            .attr("enabled", enabled)
            .attr("name", name)
    };
    Element::new("firmware")
        .child(feature("secure-boot"))
        .child(feature("enrolled-keys"))
}

fn features_element(spec: &NewVmSpec) -> Element {
    let secure_boot = matches!(spec.firmware, Firmware::Uefi { secure_boot: true });
    Element::new("features")
        .child(Element::new("acpi"))
        .child(Element::new("apic"))
        .children(spec.os.is_windows().then(hyperv_element))
        // Secure boot firmware keeps its variables in SMM-protected flash.
        .children(secure_boot.then(|| Element::new("smm").attr("state", "on")))
}

/// The Hyper-V enlightenments that make Windows fast and stable under KVM.
fn hyperv_element() -> Element {
    let on = |name| Element::new(name).attr("state", "on");
    Element::new("hyperv")
        .attr("mode", "custom")
        .child(on("relaxed"))
        .child(on("vapic"))
        .child(on("spinlocks").attr("retries", 8191))
}

/// KVM guests get the host's processor; emulation keeps QEMU's default model.
fn cpu_element(domain_type: DomainType) -> Option<Element> {
    (domain_type == DomainType::Kvm).then(|| {
        Element::new("cpu")
            .attr("mode", "host-passthrough")
            .attr("check", "none")
            .attr("migratable", "on")
    })
}

/// Windows keeps the hardware clock in local time; everything else in UTC.
fn clock_element(os: &OsChoice) -> Element {
    if os.is_windows() {
        Element::new("clock").attr("offset", "localtime").child(
            Element::new("timer")
                .attr("name", "hypervclock")
                .attr("present", "yes"),
        )
    } else {
        Element::new("clock").attr("offset", "utc")
    }
}

fn devices_element(spec: &NewVmSpec, http_source: Option<HttpSource>) -> Element {
    let disks = disk_devices(spec, http_source);
    let boot_disks = disks
        .iter()
        .filter(|disk| disk.boot_order.is_some())
        .count();
    let pxe_boot_order = u32::try_from(boot_disks + 1).unwrap_or(u32::MAX);
    Element::new("devices")
        .children(disk_elements(disks))
        .child(
            Element::new("controller")
                .attr("type", "usb")
                .attr("model", "qemu-xhci"),
        )
        .children(interface_element(spec, pxe_boot_order))
        .child(guest_agent_channel())
        // An absolute pointer keeps the VNC cursor where the user's is.
        .child(
            Element::new("input")
                .attr("type", "tablet")
                .attr("bus", "usb"),
        )
        .child(graphics_element(&spec.console))
        .child(video_element(&spec.os))
        .child(Element::new("console").attr("type", "pty"))
        .children(spec.tpm.then(tpm_element))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DiskDeviceKind {
    Disk,
    Cdrom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DiskSource {
    File(String),
    Volume { pool: String, volume: String },
    Http(HttpSource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DiskDevice {
    kind: DiskDeviceKind,
    source: DiskSource,
    format: VolumeFormat,
    bus: DiskBus,
    boot_order: Option<u32>,
}

/// Hard disks first, then the install CD-ROM. The first hard disk boots first: while it is
/// empty the firmware falls through to the CD-ROM (or network), and once the system is
/// installed the machine boots it without the installer starting again.
fn disk_devices(spec: &NewVmSpec, http_source: Option<HttpSource>) -> Vec<DiskDevice> {
    let mut disks: Vec<DiskDevice> = imported_disk(spec)
        .into_iter()
        .chain(storage_disk(spec))
        .collect();
    disks.extend(install_cdrom(&spec.install, http_source));
    let mut next_order = 1;
    for (index, disk) in disks.iter_mut().enumerate() {
        let boots = index == 0 || disk.kind == DiskDeviceKind::Cdrom;
        if boots {
            disk.boot_order = Some(next_order);
            next_order += 1;
        }
    }
    disks
}

fn imported_disk(spec: &NewVmSpec) -> Option<DiskDevice> {
    let InstallSource::ImportDisk { path, format } = &spec.install else {
        return None;
    };
    Some(hard_disk(
        DiskSource::File(path.clone()),
        *format,
        spec.disk_bus,
    ))
}

fn storage_disk(spec: &NewVmSpec) -> Option<DiskDevice> {
    match &spec.storage {
        StorageChoice::NewVolume {
            pool, name, format, ..
        } => {
            let source = DiskSource::Volume {
                pool: pool.clone(),
                volume: name.clone(),
            };
            Some(hard_disk(source, *format, spec.disk_bus))
        }
        StorageChoice::ExistingVolume { path, format } => Some(hard_disk(
            DiskSource::File(path.clone()),
            *format,
            spec.disk_bus,
        )),
        StorageChoice::None => None,
    }
}

fn hard_disk(source: DiskSource, format: VolumeFormat, bus: DiskBus) -> DiskDevice {
    DiskDevice {
        kind: DiskDeviceKind::Disk,
        source,
        format,
        bus,
        boot_order: None,
    }
}

fn install_cdrom(install: &InstallSource, http_source: Option<HttpSource>) -> Option<DiskDevice> {
    let source = match install {
        InstallSource::IsoVolume { path, .. } => DiskSource::File(path.clone()),
        InstallSource::LocalIso { pool, volume, .. } => DiskSource::Volume {
            pool: pool.clone(),
            volume: volume.clone(),
        },
        InstallSource::NetworkTree { .. } => DiskSource::Http(http_source?),
        InstallSource::ImportDisk { .. } | InstallSource::Pxe => return None,
    };
    Some(DiskDevice {
        kind: DiskDeviceKind::Cdrom,
        source,
        format: VolumeFormat::Raw,
        bus: DiskBus::Sata,
        boot_order: None,
    })
}

/// Each bus names its disks in order: vda, vdb, … and sda, sdb, …
fn disk_elements(disks: Vec<DiskDevice>) -> Vec<Element> {
    let mut used: HashMap<&'static str, u8> = HashMap::new();
    disks
        .into_iter()
        .map(|disk| {
            let prefix = disk.bus.device_prefix();
            let index = used.entry(prefix).or_insert(0);
            let target = format!("{prefix}{}", char::from(b'a' + *index));
            *index += 1;
            disk_element(disk, &target)
        })
        .collect()
}

fn disk_element(disk: DiskDevice, target: &str) -> Element {
    let (source_type, source) = source_element(disk.source);
    let device = match disk.kind {
        DiskDeviceKind::Disk => "disk",
        DiskDeviceKind::Cdrom => "cdrom",
    };
    let driver = Element::new("driver")
        .attr("name", "qemu")
        .attr("type", disk.format.as_str())
        // Lets a thin qcow2 image shrink when the guest frees space.
        .attr_if(
            "discard",
            (disk.kind == DiskDeviceKind::Disk).then_some("unmap"),
        );
    Element::new("disk")
        .attr("type", source_type)
        .attr("device", device)
        .child(driver)
        .child(source)
        .child(
            Element::new("target")
                .attr("dev", target)
                .attr("bus", disk.bus.as_str()),
        )
        .children((disk.kind == DiskDeviceKind::Cdrom).then(|| Element::new("readonly")))
        .children(
            disk.boot_order
                .map(|order| Element::new("boot").attr("order", order)),
        )
}

fn source_element(source: DiskSource) -> (&'static str, Element) {
    match source {
        DiskSource::File(path) => ("file", Element::new("source").attr("file", path)),
        DiskSource::Volume { pool, volume } => (
            "volume",
            Element::new("source")
                .attr("pool", pool)
                .attr("volume", volume),
        ),
        DiskSource::Http(http) => (
            "network",
            Element::new("source")
                .attr("protocol", http.protocol)
                .attr("name", http.path)
                .attr_if("query", http.query)
                .child(
                    Element::new("host")
                        .attr("name", http.host)
                        .attr("port", http.port),
                ),
        ),
    }
}

fn interface_element(spec: &NewVmSpec, pxe_boot_order: u32) -> Option<Element> {
    let (interface_type, source) = match &spec.network {
        NetworkChoice::Virtual { name } => {
            ("network", Element::new("source").attr("network", name))
        }
        NetworkChoice::Bridge { name } => ("bridge", Element::new("source").attr("bridge", name)),
        NetworkChoice::Macvtap { device } => (
            "direct",
            Element::new("source")
                .attr("dev", device)
                .attr("mode", "bridge"),
        ),
        NetworkChoice::None => return None,
    };
    let boot = (spec.install == InstallSource::Pxe)
        .then(|| Element::new("boot").attr("order", pxe_boot_order));
    Some(
        Element::new("interface")
            .attr("type", interface_type)
            .child(source)
            .child(Element::new("model").attr("type", spec.nic_model.as_str()))
            .children(boot),
    )
}

/// Lets libvirt ask a guest with qemu-guest-agent for its addresses and shut it down cleanly.
fn guest_agent_channel() -> Element {
    Element::new("channel").attr("type", "unix").child(
        Element::new("target")
            .attr("type", "virtio")
            .attr("name", "org.qemu.guest_agent.0"),
    )
}

fn graphics_element(console: &ConsoleSpec) -> Element {
    Element::new("graphics")
        .attr("type", "vnc")
        .attr("port", -1)
        .attr("autoport", "yes")
        .attr("listen", &console.listen)
        .attr_if("passwd", console.password())
}

/// Linux drives virtio-gpu out of the box; other systems get a plain VGA card they all know.
fn video_element(os: &OsChoice) -> Element {
    let model = if os.family == "linux" {
        "virtio"
    } else {
        "vga"
    };
    Element::new("video").child(Element::new("model").attr("type", model))
}

fn tpm_element() -> Element {
    Element::new("tpm").attr("model", "tpm-crb").child(
        Element::new("backend")
            .attr("type", "emulator")
            .attr("version", "2.0"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> NewVmSpec {
        NewVmSpec {
            name: "web".to_owned(),
            install: InstallSource::IsoVolume {
                pool: "iso".to_owned(),
                volume: "debian.iso".to_owned(),
                path: "/srv/iso/debian.iso".to_owned(),
            },
            storage: StorageChoice::NewVolume {
                pool: "default".to_owned(),
                name: "web.qcow2".to_owned(),
                size_gib: 20,
                format: VolumeFormat::Qcow2,
            },
            ..NewVmSpec::default()
        }
    }

    fn fields(errors: &[VmFieldError]) -> Vec<VmField> {
        errors.iter().map(|error| error.field).collect()
    }

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(xml).unwrap()
    }

    #[test]
    fn default_spec_with_a_name_is_valid() {
        let spec = NewVmSpec {
            name: "pxe".to_owned(),
            ..NewVmSpec::default()
        };
        assert_eq!(validate(&spec, &HostLimits::default()), vec![]);
        assert!(domain_xml(&spec).is_ok());
    }

    #[test]
    fn names_are_escaped_and_read_back() {
        let spec = NewVmSpec {
            name: "web & \"db\" <α>".to_owned(),
            title: "Tom's <server>".to_owned(),
            ..spec()
        };
        let xml = domain_xml(&spec).unwrap();
        let doc = parse(&xml);
        let text = |name| {
            doc.descendants()
                .find(|node| node.has_tag_name(name))
                .and_then(|node| node.text())
        };
        assert_eq!(text("name"), Some("web & \"db\" <α>"));
        assert_eq!(text("title"), Some("Tom's <server>"));
    }

    #[test]
    fn invalid_names_are_reported() {
        for name in ["", "a/b", ".hidden", "line\nbreak"] {
            let spec = NewVmSpec {
                name: name.to_owned(),
                ..spec()
            };
            let error = domain_xml(&spec).unwrap_err();
            assert_eq!(fields(&error.errors), vec![VmField::Name], "{name:?}");
        }
    }

    #[test]
    fn host_limits_catch_duplicates_memory_and_pool_space() {
        let spec = NewVmSpec {
            memory_mib: 8192,
            ..spec()
        };
        let host = HostLimits {
            memory_mib: 4096,
            pool_free_bytes: HashMap::from([("default".to_owned(), 10 * GIB)]),
            existing_names: vec!["web".to_owned()],
        };
        let errors = validate(&spec, &host);
        assert_eq!(
            fields(&errors),
            vec![VmField::Name, VmField::Memory, VmField::DiskSize]
        );
        assert!(errors[2].message.contains("10.0"), "{}", errors[2].message);
    }

    #[test]
    fn enough_pool_space_and_unknown_pools_pass() {
        let mut host = HostLimits {
            memory_mib: 16384,
            pool_free_bytes: HashMap::from([("default".to_owned(), 20 * GIB)]),
            existing_names: vec!["other".to_owned()],
        };
        assert_eq!(validate(&spec(), &host), vec![]);
        host.pool_free_bytes.clear();
        assert_eq!(validate(&spec(), &host), vec![]);
    }

    #[test]
    fn small_memory_no_cpus_and_empty_disk_are_reported() {
        let spec = NewVmSpec {
            memory_mib: 16,
            vcpus: 0,
            storage: StorageChoice::NewVolume {
                pool: "default".to_owned(),
                name: "a".to_owned(),
                size_gib: 0,
                format: VolumeFormat::Qcow2,
            },
            ..spec()
        };
        let errors = domain_xml(&spec).unwrap_err().errors;
        assert_eq!(
            fields(&errors),
            vec![VmField::Memory, VmField::Vcpus, VmField::DiskSize]
        );
    }

    #[test]
    fn pxe_needs_a_network() {
        let spec = NewVmSpec {
            name: "pxe".to_owned(),
            network: NetworkChoice::None,
            ..NewVmSpec::default()
        };
        assert_eq!(
            fields(&domain_xml(&spec).unwrap_err().errors),
            vec![VmField::Network]
        );
    }

    #[test]
    fn console_listen_and_password_are_checked() {
        let mut spec = spec();
        spec.console = ConsoleSpec {
            listen: "localhost".to_owned(),
            password: Some("123456789".to_owned()),
        };
        assert_eq!(
            fields(&domain_xml(&spec).unwrap_err().errors),
            vec![VmField::ConsoleListen, VmField::ConsolePassword]
        );
    }

    #[test]
    fn password_is_written_only_when_set() {
        let mut spec = spec();
        assert!(!domain_xml(&spec).unwrap().contains("passwd"));
        spec.console.password = Some(String::new());
        assert!(!domain_xml(&spec).unwrap().contains("passwd"));
        spec.console.password = Some("s&cret".to_owned());
        assert!(domain_xml(&spec).unwrap().contains("passwd=\"s&amp;cret\""));
    }

    #[test]
    fn the_empty_disk_boots_before_the_installer() {
        let xml = domain_xml(&spec()).unwrap();
        let doc = parse(&xml);
        let boots: Vec<(&str, &str)> = doc
            .descendants()
            .filter(|node| node.has_tag_name("disk"))
            .map(|disk| {
                let order = disk
                    .children()
                    .find(|node| node.has_tag_name("boot"))
                    .and_then(|boot| boot.attribute("order"))
                    .unwrap();
                (disk.attribute("device").unwrap(), order)
            })
            .collect();
        assert_eq!(boots, vec![("disk", "1"), ("cdrom", "2")]);
    }

    #[test]
    fn import_with_extra_storage_boots_the_imported_disk() {
        let spec = NewVmSpec {
            install: InstallSource::ImportDisk {
                path: "/srv/images/old.qcow2".to_owned(),
                format: VolumeFormat::Qcow2,
            },
            ..spec()
        };
        let xml = domain_xml(&spec).unwrap();
        assert!(xml.contains("<target dev=\"vda\" bus=\"virtio\"/>\n      <boot order=\"1\"/>"));
        assert!(xml.contains("<target dev=\"vdb\" bus=\"virtio\"/>\n    </disk>"));
        assert!(!xml.contains("cdrom"));
    }

    #[test]
    fn http_urls_are_split_for_libvirt() {
        let parsed = parse_http_url("https://[fd00::1]:8443/isos/a%20b.iso?token=x").unwrap();
        assert_eq!(
            parsed,
            HttpSource {
                protocol: "https",
                host: "fd00::1".to_owned(),
                port: 8443,
                path: "/isos/a%20b.iso".to_owned(),
                query: Some("token=x".to_owned()),
            }
        );
        let plain = parse_http_url("http://mirror.example/debian.iso").unwrap();
        assert_eq!((plain.port, plain.query), (80, None));
        for bad in [
            "ftp://mirror/a.iso",
            "https://mirror",
            "https://mirror/",
            "https://user@mirror/a.iso",
            "https://mirror:0/a.iso",
            "https://mirror/a b.iso",
            "https:///a.iso",
        ] {
            assert_eq!(parse_http_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows_gets_local_time_and_hyperv() {
        let spec = NewVmSpec {
            os: OsChoice {
                short_id: "win11".to_owned(),
                id: "http://microsoft.com/win/11".to_owned(),
                name: "Microsoft Windows 11".to_owned(),
                family: "winnt".to_owned(),
            },
            ..spec()
        };
        let xml = domain_xml(&spec).unwrap();
        assert!(xml.contains("<clock offset=\"localtime\">"));
        assert!(xml.contains("<hyperv mode=\"custom\">"));
        assert!(xml.contains("<libosinfo:os id=\"http://microsoft.com/win/11\"/>"));
    }

    #[test]
    fn emulation_has_no_host_cpu() {
        let spec = NewVmSpec {
            domain_type: DomainType::Qemu,
            ..spec()
        };
        let xml = domain_xml(&spec).unwrap();
        assert!(xml.starts_with("<domain type=\"qemu\">"));
        assert!(!xml.contains("<cpu"));
    }
}
