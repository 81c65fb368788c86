//! A domain's XML read once into one typed model: what the details page shows and edits.
//!
//! Reading never panics on XML from outside: missing elements take libvirt's defaults, and
//! numbers that do not parse are errors naming the element, so the page can say what is
//! wrong instead of showing a made-up value.

use std::fmt;

use roxmltree::Node;

use crate::backend::password::Password;
use crate::i18n::gettext_f;

pub use super::devices::{BootDevice, DeviceKey, DeviceKind};

const LIBOSINFO_NAMESPACE: &str = "http://libosinfo.org/xmlns/libvirt/domain/1.0";

/// Why a domain's XML could not be read into the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// Not well-formed XML: roxmltree's message with line and column.
    Syntax(String),
    /// Well-formed, but not a `<domain>`.
    NotADomain(String),
    /// A value that must be a number is not one: (where, the text found).
    BadNumber { place: String, value: String },
    /// A memory unit libvirt does not know.
    BadUnit { place: String, unit: String },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Syntax(reason) => gettext_f(
                "The virtual machine’s XML is not well-formed: {reason}",
                &[("reason", reason)],
            ),
            Self::NotADomain(root) => gettext_f(
                "This is not a virtual machine’s XML: it starts with <{root}>, not <domain>.",
                &[("root", root)],
            ),
            Self::BadNumber { place, value } => gettext_f(
                "{place} in the XML must be a whole number, not “{value}”.",
                &[("place", place), ("value", value)],
            ),
            Self::BadUnit { place, unit } => gettext_f(
                "{place} in the XML has an unknown unit “{unit}”.",
                &[("place", place), ("unit", unit)],
            ),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for ModelError {}

/// The firmware the machine starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Firmware {
    #[default]
    Bios,
    Uefi {
        secure_boot: bool,
    },
}

/// How the guest's CPU is presented.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CpuMode {
    /// The host's CPU as it is (fastest, not migratable to other CPUs).
    HostPassthrough,
    /// The closest named model to the host's, with its extra features.
    HostModel,
    /// QEMU's "max": everything the accelerator can do.
    Maximum,
    /// A named model from the host's domain capabilities (`Skylake-Client`, `qemu64`).
    Custom(String),
    /// No `<cpu>` mode: the hypervisor's default.
    #[default]
    HypervisorDefault,
}

/// `<cpu><topology>`; absent means one socket with one core per vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    pub sockets: u32,
    pub dies: u32,
    pub cores: u32,
    pub threads: u32,
}

impl Topology {
    /// The vCPUs this topology holds (libvirt wants it to equal the maximum).
    pub fn vcpus(&self) -> u64 {
        u64::from(self.sockets)
            * u64::from(self.dies)
            * u64::from(self.cores)
            * u64::from(self.threads)
    }
}

/// Where the machine looks for a system to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootOrder {
    /// `<os><boot dev='hd'/>…`: device classes (`hd`, `cdrom`, `network`, `fd`).
    ByClass(Vec<String>),
    /// `<boot order='N'/>` in each device: these devices, first to last.
    PerDevice(Vec<DeviceKey>),
}

impl Default for BootOrder {
    fn default() -> Self {
        // libvirt's default with neither: the first hard disk.
        Self::ByClass(Vec::new())
    }
}

/// Direct kernel boot: a kernel and initrd on the host instead of the guest's boot loader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelBoot {
    /// Empty when the machine boots normally.
    pub kernel: String,
    pub initrd: String,
    pub cmdline: String,
}

/// Which addresses the VNC server listens on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VncListen {
    /// No address in the XML: the host's `vnc_listen` (127.0.0.1 unless changed).
    #[default]
    HostDefault,
    /// An address: `127.0.0.1` (this machine only), `0.0.0.0`/`::` (all), or a given one.
    Address(String),
    /// A unix socket on the host.
    Socket(String),
    /// `<listen type='none'>`: only through libvirt (`virDomainOpenGraphics`).
    None,
}

/// The VNC password, whose value only the secure XML carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VncPassword {
    #[default]
    None,
    /// Set. libvirt leaves `passwd` out unless the XML is read with
    /// `VIR_DOMAIN_XML_SECURE`, so read the secure XML to know whether one is set.
    Set(Password),
}

impl VncPassword {
    pub fn is_set(&self) -> bool {
        !matches!(self, Self::None)
    }
}

/// The first `<graphics type='vnc'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VncSettings {
    pub listen: VncListen,
    /// Chosen by libvirt at start (from 5900 up).
    pub autoport: bool,
    /// The fixed port, or the port in use when the domain runs with autoport.
    pub port: Option<u16>,
    pub password: VncPassword,
    /// Keyboard layout QEMU translates for (`en-us`, `de`); `None` for the default.
    pub keymap: Option<String>,
}

impl VncSettings {
    /// True when other machines can connect.
    pub fn listens_on_all_addresses(&self) -> bool {
        matches!(&self.listen, VncListen::Address(a) if matches!(a.as_str(), "0.0.0.0" | "::" | "[::]"))
    }
}

/// Everything the details page shows and edits about one domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainModel {
    pub name: String,
    pub uuid: String,
    pub title: String,
    pub description: String,
    /// libosinfo's id from the metadata (`http://fedoraproject.org/fedora/37`).
    pub os_id: Option<String>,
    /// `kvm`, `qemu`, `test`.
    pub hypervisor: String,
    /// Only running domains have an id.
    pub running: bool,
    pub arch: Option<String>,
    /// `pc-q35-8.2`, `q35`, `pc`.
    pub machine: Option<String>,
    pub firmware: Firmware,
    /// vCPUs at start (≤ `max_vcpus`).
    pub vcpus: u32,
    pub max_vcpus: u32,
    pub topology: Option<Topology>,
    pub cpu_mode: CpuMode,
    /// `<currentMemory>`: what the balloon gives the guest.
    pub memory_kib: u64,
    /// `<memory>`: the most the guest can have.
    pub max_memory_kib: u64,
    /// memfd with shared access, which virtiofs needs.
    pub shared_memory: bool,
    pub boot_order: BootOrder,
    pub boot_menu: bool,
    pub kernel_boot: KernelBoot,
    pub vnc: Option<VncSettings>,
    /// Disks, CD-ROMs, network cards and other bootable devices, in XML order.
    pub boot_devices: Vec<BootDevice>,
    /// The QEMU guest agent's channel says it is connected (live XML only).
    pub agent_connected: bool,
}

impl DomainModel {
    /// Reads domain XML (live or inactive, secure or not).
    pub fn from_xml(xml: &str) -> Result<Self, ModelError> {
        let document = roxmltree::Document::parse(xml)
            .map_err(|error| ModelError::Syntax(error.to_string()))?;
        let root = document.root_element();
        if !root.has_tag_name("domain") {
            return Err(ModelError::NotADomain(root.tag_name().name().to_owned()));
        }
        let os = child(root, "os");
        let max_memory_kib = match child(root, "memory") {
            Some(memory) => memory_kib(memory, "<memory>")?,
            None => 0,
        };
        let memory_kib = match child(root, "currentMemory") {
            Some(current) => memory_kib(current, "<currentMemory>")?,
            None => max_memory_kib,
        };
        let (vcpus, max_vcpus) = read_vcpus(root)?;
        let cpu = child(root, "cpu");
        let boot_devices = super::devices::read(root)?;
        Ok(Self {
            name: child_text(root, "name"),
            uuid: child_text(root, "uuid"),
            title: child_text(root, "title"),
            description: child_text(root, "description"),
            os_id: os_id(root),
            hypervisor: root.attribute("type").unwrap_or_default().to_owned(),
            running: root.attribute("id").is_some_and(|id| id != "-1"),
            arch: os
                .and_then(|os| child(os, "type"))
                .and_then(|kind| kind.attribute("arch"))
                .map(str::to_owned),
            machine: os
                .and_then(|os| child(os, "type"))
                .and_then(|kind| kind.attribute("machine"))
                .map(str::to_owned),
            firmware: os.map(read_firmware).unwrap_or_default(),
            vcpus,
            max_vcpus,
            topology: cpu
                .and_then(|cpu| child(cpu, "topology"))
                .map(read_topology)
                .transpose()?,
            cpu_mode: cpu.map(read_cpu_mode).unwrap_or_default(),
            memory_kib,
            max_memory_kib,
            shared_memory: child(root, "memoryBacking")
                .and_then(|backing| child(backing, "access"))
                .is_some_and(|access| access.attribute("mode") == Some("shared")),
            boot_order: read_boot_order(os, &boot_devices),
            boot_menu: os
                .and_then(|os| child(os, "bootmenu"))
                .is_some_and(|menu| menu.attribute("enable") == Some("yes")),
            kernel_boot: os.map(read_kernel_boot).unwrap_or_default(),
            vnc: vnc_graphics(root).map(read_vnc).transpose()?,
            boot_devices,
            agent_connected: agent_connected(root),
        })
    }

    /// The MAC addresses of its network cards, lower case, in XML order.
    pub fn nic_macs(&self) -> Vec<String> {
        self.boot_devices
            .iter()
            .filter(|device| device.kind == DeviceKind::Nic)
            .filter_map(|device| device.mac.clone())
            .collect()
    }

    /// The host paths of its writable disks (not CD-ROMs): the files or block devices that
    /// deleting its storage removes. Volumes named by pool and network disks have none.
    pub fn disk_image_paths(&self) -> Vec<String> {
        self.boot_devices
            .iter()
            .filter(|device| {
                matches!(
                    device.kind,
                    DeviceKind::Disk | DeviceKind::Lun | DeviceKind::Floppy
                )
            })
            .filter_map(|device| device.source.clone())
            .filter(|source| source.starts_with('/'))
            .collect()
    }
}

/// Whether the guest agent channel's target reports `state='connected'`.
fn agent_connected(root: Node) -> bool {
    child(root, "devices")
        .into_iter()
        .flat_map(|devices| devices.children())
        .filter(|node| node.has_tag_name("channel"))
        .filter_map(|channel| child(channel, "target"))
        .any(|target| {
            target.attribute("name") == Some("org.qemu.guest_agent.0")
                && target.attribute("state") == Some("connected")
        })
}

pub(crate) fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name(name))
}

/// The element's text (all of it, entities resolved), trimmed; empty when absent.
fn child_text(node: Node, name: &str) -> String {
    child(node, name)
        .map(|element| element_text(element))
        .unwrap_or_default()
}

fn element_text(element: Node) -> String {
    let text: String = element
        .descendants()
        .filter(Node::is_text)
        .filter_map(|node| node.text())
        .collect();
    text.trim().to_owned()
}

pub(crate) fn vnc_graphics<'a, 'input>(root: Node<'a, 'input>) -> Option<Node<'a, 'input>> {
    child(root, "devices")?
        .children()
        .find(|node| node.has_tag_name("graphics") && node.attribute("type") == Some("vnc"))
}

pub(crate) fn parse_number<T: std::str::FromStr>(text: &str, place: &str) -> Result<T, ModelError> {
    text.trim().parse().map_err(|_| ModelError::BadNumber {
        place: place.to_owned(),
        value: text.trim().to_owned(),
    })
}

/// A `<memory unit=…>` value in KiB, with libvirt's units (KB = 1000 bytes, KiB = 1024).
fn memory_kib(element: Node, place: &str) -> Result<u64, ModelError> {
    let value: u64 = parse_number(&element_text(element), place)?;
    let unit = element.attribute("unit").unwrap_or("KiB");
    let bytes_per_unit: u128 = match unit {
        "b" | "bytes" => 1,
        "KB" => 1000,
        "k" | "K" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "m" | "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "g" | "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "t" | "T" | "TiB" => 1 << 40,
        _ => {
            return Err(ModelError::BadUnit {
                place: place.to_owned(),
                unit: unit.to_owned(),
            })
        }
    };
    let kib = (u128::from(value) * bytes_per_unit).div_ceil(1024);
    u64::try_from(kib).map_err(|_| ModelError::BadNumber {
        place: place.to_owned(),
        value: value.to_string(),
    })
}

fn os_id(root: Node) -> Option<String> {
    child(root, "metadata")?
        .descendants()
        .find(|node| {
            node.tag_name().namespace() == Some(LIBOSINFO_NAMESPACE)
                && node.has_tag_name((LIBOSINFO_NAMESPACE, "os"))
        })?
        .attribute("id")
        .map(str::to_owned)
}

fn read_vcpus(root: Node) -> Result<(u32, u32), ModelError> {
    let Some(vcpu) = child(root, "vcpu") else {
        return Ok((1, 1));
    };
    let max: u32 = parse_number(&element_text(vcpu), "<vcpu>")?;
    let current = match vcpu.attribute("current") {
        Some(current) => parse_number(current, "<vcpu current>")?,
        None => max,
    };
    Ok((current, max))
}

fn read_topology(topology: Node) -> Result<Topology, ModelError> {
    let number = |name: &str| -> Result<u32, ModelError> {
        match topology.attribute(name) {
            Some(value) => parse_number(value, &format!("<topology {name}>")),
            None => Ok(1),
        }
    };
    Ok(Topology {
        sockets: number("sockets")?,
        dies: number("dies")?,
        cores: number("cores")?,
        threads: number("threads")?,
    })
}

fn read_cpu_mode(cpu: Node) -> CpuMode {
    match cpu.attribute("mode") {
        Some("host-passthrough") => CpuMode::HostPassthrough,
        Some("host-model") => CpuMode::HostModel,
        Some("maximum") => CpuMode::Maximum,
        // `custom` is the default mode when a model is named.
        _ => match child(cpu, "model").map(element_text) {
            Some(model) if !model.is_empty() => CpuMode::Custom(model),
            _ => CpuMode::HypervisorDefault,
        },
    }
}

fn read_firmware(os: Node) -> Firmware {
    let loader = child(os, "loader");
    let efi = os.attribute("firmware") == Some("efi")
        || loader.is_some_and(|loader| {
            loader.attribute("type") == Some("pflash")
                || element_text(loader).to_ascii_lowercase().contains("ovmf")
                || element_text(loader).contains("edk2")
        });
    if !efi {
        return Firmware::Bios;
    }
    let feature_enabled = child(os, "firmware").and_then(|firmware| {
        firmware
            .children()
            .find(|f| f.has_tag_name("feature") && f.attribute("name") == Some("secure-boot"))
            .map(|f| f.attribute("enabled") == Some("yes"))
    });
    let secure_boot = feature_enabled
        .unwrap_or_else(|| loader.is_some_and(|loader| loader.attribute("secure") == Some("yes")));
    Firmware::Uefi { secure_boot }
}

fn read_boot_order(os: Option<Node>, devices: &[BootDevice]) -> BootOrder {
    let mut ordered: Vec<&BootDevice> = devices.iter().filter(|d| d.boot_order.is_some()).collect();
    if !ordered.is_empty() {
        ordered.sort_by_key(|device| device.boot_order);
        return BootOrder::PerDevice(ordered.into_iter().map(|d| d.key.clone()).collect());
    }
    BootOrder::ByClass(
        os.into_iter()
            .flat_map(|os| os.children())
            .filter(|node| node.has_tag_name("boot"))
            .filter_map(|boot| boot.attribute("dev"))
            .map(str::to_owned)
            .collect(),
    )
}

fn read_kernel_boot(os: Node) -> KernelBoot {
    KernelBoot {
        kernel: child_text(os, "kernel"),
        initrd: child_text(os, "initrd"),
        cmdline: child_text(os, "cmdline"),
    }
}

fn read_vnc(graphics: Node) -> Result<VncSettings, ModelError> {
    let listen_element = child(graphics, "listen");
    let listen = match listen_element.and_then(|l| l.attribute("type")) {
        Some("none") => VncListen::None,
        Some("socket") => VncListen::Socket(
            listen_element
                .and_then(|l| l.attribute("socket"))
                .unwrap_or_default()
                .to_owned(),
        ),
        _ => match graphics
            .attribute("listen")
            .or_else(|| listen_element.and_then(|l| l.attribute("address")))
        {
            Some(address) => VncListen::Address(address.to_owned()),
            None => match graphics.attribute("socket") {
                Some(socket) => VncListen::Socket(socket.to_owned()),
                None => VncListen::HostDefault,
            },
        },
    };
    let port = match graphics.attribute("port") {
        Some(port) => parse_number::<i32>(port, "<graphics port>")?,
        None => -1,
    };
    let autoport = match graphics.attribute("autoport") {
        Some(autoport) => autoport == "yes",
        None => port <= 0,
    };
    let password = match graphics.attribute("passwd") {
        Some(value) => VncPassword::Set(Password::from_text(value)),
        None => VncPassword::None,
    };
    Ok(VncSettings {
        listen,
        autoport,
        port: u16::try_from(port).ok().filter(|port| *port > 0),
        password,
        keymap: graphics.attribute("keymap").map(str::to_owned),
    })
}
