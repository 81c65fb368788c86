//! Every device under `<devices>`, read into a typed list for the details page's Devices
//! section: what it is, an identity that survives re-reads, a short label, the settings the
//! page edits, and its own XML exactly as the domain XML has it (shown read-only, and given
//! to libvirt to detach it).
//!
//! The writers are in `backend::xml::device_xml`.

use std::ops::Range;

use gettextrs::gettext;
use roxmltree::Node;

use super::devices::DeviceKey;
use super::model::{child, ModelError};
use crate::i18n::gettext_f;

/// What a device is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    Disk,
    Cdrom,
    Nic,
    HostdevUsb,
    HostdevPci,
    Filesystem,
    Tpm,
    Rng,
    Serial,
    Console,
    Watchdog,
    Sound,
    Video,
    Input,
    Channel,
    Graphics,
    Controller,
    /// Any other element (`memballoon`, `redirdev`, `emulator`, `audio`, …), by its name.
    Other(String),
}

/// Where a disk's data is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DiskSource {
    /// No medium (an empty CD-ROM drive).
    #[default]
    None,
    /// A file on the host (`type='file'`).
    File(String),
    /// A block device on the host (`type='block'`).
    Block(String),
    /// A volume of a storage pool (`type='volume'`).
    Volume { pool: String, volume: String },
    /// Anything else (network disks, …): read-only here, kept as written.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskSettings {
    pub source: DiskSource,
    /// `virtio`, `sata`, `scsi`, `usb`, `ide`, `fdc`.
    pub bus: String,
    /// `vda`, `sdb`, …
    pub target_dev: String,
    /// `<driver cache>`: `none`, `writeback`, … (`None`: the hypervisor's default).
    pub cache: Option<String>,
    /// `<driver discard>`: `unmap` or `ignore`.
    pub discard: Option<String>,
    /// `<driver type>`: `qcow2`, `raw`, …
    pub format: Option<String>,
    pub readonly: bool,
    pub shareable: bool,
}

/// What a network card is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicSource {
    /// A libvirt virtual network by name.
    Network(String),
    /// A bridge on the host.
    Bridge(String),
    /// macvtap on a host interface, with its mode (`bridge`, `vepa`, …).
    Direct { device: String, mode: String },
    /// Any other interface type (user, vhostuser, …), by its type: read-only here.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicSettings {
    pub source: NicSource,
    /// `virtio`, `e1000e`, … (`None`: the hypervisor's default).
    pub model: Option<String>,
    /// Lower case, `52:54:00:…`.
    pub mac: String,
    /// `<link state='down'/>` makes this false.
    pub link_up: bool,
}

/// Which host device is passed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostdevSource {
    /// A USB device by vendor and product ids (`0x046d`).
    UsbId { vendor: String, product: String },
    /// A USB device by its place on the host's buses.
    UsbAddress { bus: String, device: String },
    /// A PCI function by its host address, `0000:01:00.0` parts as written (`0x01`).
    Pci {
        domain: String,
        bus: String,
        slot: String,
        function: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostdevSettings {
    pub source: HostdevSource,
    /// `optional`: the machine starts without the device (USB only).
    pub startup_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilesystemSettings {
    /// The folder on the host.
    pub source_dir: String,
    /// The tag the guest mounts it by.
    pub target_tag: String,
    /// `<driver type>`: `virtiofs` (or `path` for 9p).
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TpmSettings {
    /// `tpm-crb`, `tpm-tis`.
    pub model: String,
    /// `emulator` or `passthrough`.
    pub backend: String,
    /// `2.0` or `1.2` for an emulator.
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RngSettings {
    /// `virtio`.
    pub model: String,
    /// `random`, `egd`, `builtin`.
    pub backend: String,
    /// The host's source for `random` (`/dev/urandom`).
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchdogSettings {
    /// `itco`, `i6300esb`, …
    pub model: String,
    /// `reset`, `poweroff`, `pause`, `none`, …
    pub action: Option<String>,
}

/// Serial ports, consoles and channels: character devices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharSettings {
    /// `pty`, `unix`, `spicevmc`, `qemu-vdagent`, …
    pub source_type: String,
    /// `<target type>`: `isa-serial`, `serial`, `virtio`, …
    pub target_type: Option<String>,
    /// A channel's `<target name>`: `org.qemu.guest_agent.0`, `com.redhat.spice.0`.
    pub target_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputSettings {
    /// `tablet`, `mouse`, `keyboard`, …
    pub input_type: String,
    pub bus: Option<String>,
}

/// The settings the page edits, per kind; `ReadOnly` for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSettings {
    Disk(DiskSettings),
    Nic(NicSettings),
    Hostdev(HostdevSettings),
    Filesystem(FilesystemSettings),
    Tpm(TpmSettings),
    Rng(RngSettings),
    Watchdog(WatchdogSettings),
    /// `<sound model>`.
    Sound(String),
    /// `<video><model type>`.
    Video(String),
    Char(CharSettings),
    Input(InputSettings),
    ReadOnly,
}

/// One device of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    pub key: DeviceKey,
    pub class: DeviceClass,
    /// A few words for the row: “Disk vda”, “Network card 52:54:00:…”.
    pub label: String,
    pub settings: DeviceSettings,
    /// The element's text, byte for byte as in the domain XML.
    pub xml: String,
    /// Where that text is in the domain XML.
    pub range: Range<usize>,
}

/// Every element under `<devices>`, in XML order.
pub fn read_devices(domain_xml: &str) -> Result<Vec<DeviceEntry>, ModelError> {
    let document =
        roxmltree::Document::parse(domain_xml).map_err(|e| ModelError::Syntax(e.to_string()))?;
    let root = document.root_element();
    if !root.has_tag_name("domain") {
        return Err(ModelError::NotADomain(root.tag_name().name().to_owned()));
    }
    Ok(device_nodes(root)
        .map(|(node, key)| {
            let class = class_of(node);
            let settings = settings_of(node, &class);
            DeviceEntry {
                label: label_of(&class, &key, &settings),
                xml: domain_xml[node.range()].to_owned(),
                range: node.range(),
                class,
                settings,
                key,
            }
        })
        .collect())
}

/// The elements of `<devices>` with their keys.
pub(crate) fn device_nodes<'a, 'input: 'a>(
    root: Node<'a, 'input>,
) -> impl Iterator<Item = (Node<'a, 'input>, DeviceKey)> + 'a {
    let devices = child(root, "devices");
    let mut seen: Vec<String> = Vec::new();
    devices
        .into_iter()
        .flat_map(|devices| devices.children())
        .filter(Node::is_element)
        .map(move |node| {
            let name = node.tag_name().name().to_owned();
            let index = seen.iter().filter(|seen| **seen == name).count();
            seen.push(name);
            let key = key_of(node, index);
            (node, key)
        })
}

/// The element of `<devices>` with this key.
pub(crate) fn find_device<'a, 'input: 'a>(
    root: Node<'a, 'input>,
    key: &DeviceKey,
) -> Option<Node<'a, 'input>> {
    device_nodes(root).find_map(|(node, found)| (found == *key).then_some(node))
}

/// A disk by its target (`vda`), a network card by its MAC address, a host device by the
/// host device it passes, a shared folder by its tag, a channel by its name; anything else
/// by its element and its position among elements of its name (`#0`).
pub(crate) fn key_of(node: Node, index: usize) -> DeviceKey {
    let element = node.tag_name().name().to_owned();
    let attr = |name: &str, attribute: &str| child(node, name).and_then(|n| n.attribute(attribute));
    let id = match element.as_str() {
        "disk" => attr("target", "dev").map(str::to_ascii_lowercase),
        "interface" => attr("mac", "address").map(str::to_ascii_lowercase),
        "hostdev" => hostdev_source(node).map(|source| hostdev_id(&source)),
        "filesystem" => attr("target", "dir").map(str::to_owned),
        "channel" => attr("target", "name").map(str::to_owned),
        _ => None,
    };
    DeviceKey {
        element,
        id: id.unwrap_or_else(|| format!("#{index}")),
    }
}

/// The key part of a host device: `usb:0x046d:0xc52b`, `usb-at:1.4`, `pci:0x0000:0x01:0x00.0x0`.
pub(crate) fn hostdev_id(source: &HostdevSource) -> String {
    match source {
        HostdevSource::UsbId { vendor, product } => {
            format!(
                "usb:{}:{}",
                vendor.to_ascii_lowercase(),
                product.to_ascii_lowercase()
            )
        }
        HostdevSource::UsbAddress { bus, device } => format!("usb-at:{bus}.{device}"),
        HostdevSource::Pci {
            domain,
            bus,
            slot,
            function,
        } => format!("pci:{domain}:{bus}:{slot}.{function}").to_ascii_lowercase(),
    }
}

pub(crate) fn class_of(node: Node) -> DeviceClass {
    let name = node.tag_name().name();
    match (name, node.attribute("device"), node.attribute("type")) {
        ("disk", Some("cdrom"), _) => DeviceClass::Cdrom,
        ("disk", _, _) => DeviceClass::Disk,
        ("interface", _, _) => DeviceClass::Nic,
        ("hostdev", _, Some("usb")) => DeviceClass::HostdevUsb,
        ("hostdev", _, Some("pci")) => DeviceClass::HostdevPci,
        ("filesystem", _, _) => DeviceClass::Filesystem,
        ("tpm", _, _) => DeviceClass::Tpm,
        ("rng", _, _) => DeviceClass::Rng,
        ("serial", _, _) => DeviceClass::Serial,
        ("console", _, _) => DeviceClass::Console,
        ("watchdog", _, _) => DeviceClass::Watchdog,
        ("sound", _, _) => DeviceClass::Sound,
        ("video", _, _) => DeviceClass::Video,
        ("input", _, _) => DeviceClass::Input,
        ("channel", _, _) => DeviceClass::Channel,
        ("graphics", _, _) => DeviceClass::Graphics,
        ("controller", _, _) => DeviceClass::Controller,
        (other, _, _) => DeviceClass::Other(other.to_owned()),
    }
}

fn owned(value: Option<&str>) -> Option<String> {
    value.map(str::to_owned)
}

pub(crate) fn settings_of(node: Node, class: &DeviceClass) -> DeviceSettings {
    let attr = |name: &str, attribute: &str| child(node, name).and_then(|n| n.attribute(attribute));
    match class {
        DeviceClass::Disk | DeviceClass::Cdrom => DeviceSettings::Disk(DiskSettings {
            source: disk_source(node),
            bus: attr("target", "bus").unwrap_or_default().to_owned(),
            target_dev: attr("target", "dev").unwrap_or_default().to_owned(),
            cache: owned(attr("driver", "cache")),
            discard: owned(attr("driver", "discard")),
            format: owned(attr("driver", "type")),
            readonly: child(node, "readonly").is_some(),
            shareable: child(node, "shareable").is_some(),
        }),
        DeviceClass::Nic => DeviceSettings::Nic(NicSettings {
            source: nic_source(node),
            model: owned(attr("model", "type")),
            mac: attr("mac", "address")
                .unwrap_or_default()
                .to_ascii_lowercase(),
            link_up: attr("link", "state") != Some("down"),
        }),
        DeviceClass::HostdevUsb | DeviceClass::HostdevPci => match hostdev_source(node) {
            Some(source) => DeviceSettings::Hostdev(HostdevSettings {
                source,
                startup_policy: owned(attr("source", "startupPolicy")),
            }),
            None => DeviceSettings::ReadOnly,
        },
        DeviceClass::Filesystem => DeviceSettings::Filesystem(FilesystemSettings {
            source_dir: attr("source", "dir").unwrap_or_default().to_owned(),
            target_tag: attr("target", "dir").unwrap_or_default().to_owned(),
            driver: owned(attr("driver", "type")),
        }),
        DeviceClass::Tpm => DeviceSettings::Tpm(TpmSettings {
            model: node.attribute("model").unwrap_or_default().to_owned(),
            backend: attr("backend", "type").unwrap_or_default().to_owned(),
            version: owned(attr("backend", "version")),
        }),
        DeviceClass::Rng => DeviceSettings::Rng(RngSettings {
            model: node.attribute("model").unwrap_or_default().to_owned(),
            backend: attr("backend", "model").unwrap_or_default().to_owned(),
            source: child(node, "backend")
                .and_then(|backend| backend.text())
                .map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty()),
        }),
        DeviceClass::Watchdog => DeviceSettings::Watchdog(WatchdogSettings {
            model: node.attribute("model").unwrap_or_default().to_owned(),
            action: owned(node.attribute("action")),
        }),
        DeviceClass::Sound => {
            DeviceSettings::Sound(node.attribute("model").unwrap_or_default().to_owned())
        }
        DeviceClass::Video => {
            DeviceSettings::Video(attr("model", "type").unwrap_or_default().to_owned())
        }
        DeviceClass::Serial | DeviceClass::Console | DeviceClass::Channel => {
            DeviceSettings::Char(CharSettings {
                source_type: node.attribute("type").unwrap_or_default().to_owned(),
                target_type: owned(attr("target", "type")),
                target_name: owned(attr("target", "name")),
            })
        }
        DeviceClass::Input => DeviceSettings::Input(InputSettings {
            input_type: node.attribute("type").unwrap_or_default().to_owned(),
            bus: owned(node.attribute("bus")),
        }),
        _ => DeviceSettings::ReadOnly,
    }
}

fn disk_source(node: Node) -> DiskSource {
    let Some(source) = child(node, "source") else {
        return DiskSource::None;
    };
    let attribute = |name: &str| source.attribute(name).map(str::to_owned);
    match node.attribute("type") {
        Some("file") => attribute("file").map_or(DiskSource::None, DiskSource::File),
        Some("block") => attribute("dev").map_or(DiskSource::None, DiskSource::Block),
        Some("volume") => DiskSource::Volume {
            pool: attribute("pool").unwrap_or_default(),
            volume: attribute("volume").unwrap_or_default(),
        },
        other => DiskSource::Other(other.unwrap_or_default().to_owned()),
    }
}

fn nic_source(node: Node) -> NicSource {
    let source = |name: &str| {
        child(node, "source")
            .and_then(|s| s.attribute(name))
            .unwrap_or_default()
            .to_owned()
    };
    match node.attribute("type").unwrap_or_default() {
        "network" => NicSource::Network(source("network")),
        "bridge" => NicSource::Bridge(source("bridge")),
        "direct" => NicSource::Direct {
            device: source("dev"),
            mode: source("mode"),
        },
        other => NicSource::Other(other.to_owned()),
    }
}

pub(crate) fn hostdev_source(node: Node) -> Option<HostdevSource> {
    let source = child(node, "source")?;
    let value = |element: &str, attribute: &str| {
        child(source, element)
            .and_then(|n| n.attribute(attribute))
            .map(str::to_owned)
    };
    match node.attribute("type")? {
        "usb" => match (value("vendor", "id"), value("product", "id")) {
            (Some(vendor), Some(product)) => Some(HostdevSource::UsbId { vendor, product }),
            _ => Some(HostdevSource::UsbAddress {
                bus: value("address", "bus")?,
                device: value("address", "device")?,
            }),
        },
        "pci" => Some(HostdevSource::Pci {
            domain: value("address", "domain").unwrap_or_else(|| "0x0000".into()),
            bus: value("address", "bus")?,
            slot: value("address", "slot")?,
            function: value("address", "function").unwrap_or_else(|| "0x0".into()),
        }),
        _ => None,
    }
}

fn label_of(class: &DeviceClass, key: &DeviceKey, settings: &DeviceSettings) -> String {
    let detail = match settings {
        DeviceSettings::Sound(model) | DeviceSettings::Video(model) => model.clone(),
        DeviceSettings::Tpm(tpm) => tpm.model.clone(),
        DeviceSettings::Rng(rng) => rng.model.clone(),
        DeviceSettings::Watchdog(watchdog) => watchdog.model.clone(),
        DeviceSettings::Input(input) => input.input_type.clone(),
        DeviceSettings::Char(char) => char.target_name.clone().unwrap_or(char.source_type.clone()),
        _ => key.id.clone(),
    };
    match class {
        DeviceClass::Disk => gettext_f("Disk {name}", &[("name", &key.id)]),
        DeviceClass::Cdrom => gettext_f("CD-ROM {name}", &[("name", &key.id)]),
        DeviceClass::Nic => gettext_f("Network card {name}", &[("name", &key.id)]),
        DeviceClass::HostdevUsb => gettext_f("Host USB device {name}", &[("name", &detail)]),
        DeviceClass::HostdevPci => gettext_f("Host PCI device {name}", &[("name", &detail)]),
        DeviceClass::Filesystem => gettext_f("Shared folder {name}", &[("name", &key.id)]),
        DeviceClass::Tpm => gettext_f("TPM {name}", &[("name", &detail)]),
        DeviceClass::Rng => gettext_f("Random number generator {name}", &[("name", &detail)]),
        DeviceClass::Serial => gettext("Serial port"),
        DeviceClass::Console => gettext("Console"),
        DeviceClass::Watchdog => gettext_f("Watchdog {name}", &[("name", &detail)]),
        DeviceClass::Sound => gettext_f("Sound {name}", &[("name", &detail)]),
        DeviceClass::Video => gettext_f("Video {name}", &[("name", &detail)]),
        DeviceClass::Input => gettext_f("Input {name}", &[("name", &detail)]),
        DeviceClass::Channel => gettext_f("Channel {name}", &[("name", &detail)]),
        DeviceClass::Graphics => gettext("Display"),
        DeviceClass::Controller => gettext("Controller"),
        DeviceClass::Other(name) => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<domain><devices>
    <emulator>/usr/bin/qemu</emulator>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
      <source pool='default' volume='a.qcow2'/><target dev='vdb' bus='virtio'/><shareable/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
    <interface type='bridge'><mac address='52:54:00:AA:bb:cc'/><source bridge='br0'/><link state='down'/></interface>
    <hostdev mode='subsystem' type='usb'><source startupPolicy='optional'><vendor id='0x046d'/><product id='0xc52b'/></source></hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <input type='tablet' bus='usb'/><input type='mouse' bus='ps2'/>
  </devices></domain>";

    #[test]
    fn every_device_is_read_with_its_identity_and_exact_text() {
        let devices = read_devices(XML).expect("read");
        let ids: Vec<String> = devices
            .iter()
            .map(|d| format!("{}/{}", d.key.element, d.key.id))
            .collect();
        assert_eq!(
            ids,
            [
                "emulator/#0",
                "disk/vdb",
                "disk/sda",
                "interface/52:54:00:aa:bb:cc",
                "hostdev/usb:0x046d:0xc52b",
                "hostdev/pci:0x0000:0x01:0x00.0x0",
                "channel/org.qemu.guest_agent.0",
                "input/#0",
                "input/#1",
            ]
        );
        for device in &devices {
            assert_eq!(&XML[device.range.clone()], device.xml);
        }
        assert_eq!(devices[2].class, DeviceClass::Cdrom);
        let DeviceSettings::Disk(disk) = &devices[1].settings else {
            panic!("a disk");
        };
        assert_eq!(
            disk.source,
            DiskSource::Volume {
                pool: "default".into(),
                volume: "a.qcow2".into()
            }
        );
        assert!(disk.shareable && !disk.readonly);
        assert_eq!(disk.cache.as_deref(), Some("none"));
        let DeviceSettings::Nic(nic) = &devices[3].settings else {
            panic!("a NIC");
        };
        assert_eq!(nic.source, NicSource::Bridge("br0".into()));
        assert!(!nic.link_up);
        let DeviceSettings::Hostdev(usb) = &devices[4].settings else {
            panic!("a hostdev");
        };
        assert_eq!(usb.startup_policy.as_deref(), Some("optional"));
        assert_eq!(devices[5].class, DeviceClass::HostdevPci);
        assert_eq!(devices[0].class, DeviceClass::Other("emulator".into()));
        assert_eq!(devices[1].label, "Disk vdb");
    }
}
