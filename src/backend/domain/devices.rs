//! The devices a domain can boot from, identified well enough to order them.

use roxmltree::Node;

use super::model::{child, parse_number, ModelError};

/// Elements under `<devices>` that take `<boot order='N'/>`.
const BOOTABLE: [&str; 5] = ["disk", "interface", "hostdev", "redirdev", "filesystem"];

/// What a bootable device is, for the page's icon and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceKind {
    Disk,
    Cdrom,
    Floppy,
    /// A disk passed through as SCSI LUN.
    Lun,
    Nic,
    /// `hostdev`, `redirdev`, `filesystem`: kept in the order, not described.
    Other(String),
}

/// Identifies one device across re-reads of the XML: a disk by its target (`vda`), a
/// network card by its MAC address, anything else by its element and position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceKey {
    pub element: String,
    pub id: String,
}

/// A device the machine can start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootDevice {
    pub key: DeviceKey,
    pub kind: DeviceKind,
    /// `virtio`, `sata`, `scsi` for disks; the model (`virtio`, `e1000e`) for network cards.
    pub bus: Option<String>,
    /// The image path, volume (`pool/volume`), network or bridge it uses, if any.
    pub source: Option<String>,
    /// The MAC address of a network card, lower case.
    pub mac: Option<String>,
    /// `<boot order='N'/>` when it has one.
    pub boot_order: Option<u32>,
    /// A disk the guest may only read (`<readonly/>`).
    pub readonly: bool,
    /// A disk other machines may use at the same time (`<shareable/>`).
    pub shareable: bool,
}

/// Every bootable device under `<devices>`, in XML order.
pub(crate) fn read(root: Node) -> Result<Vec<BootDevice>, ModelError> {
    let Some(devices) = child(root, "devices") else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (index, node) in bootable_nodes(devices).enumerate() {
        found.push(read_device(node, index)?);
    }
    Ok(found)
}

/// The bootable elements of `<devices>`, in the order [`device_key`] numbers them.
pub(crate) fn bootable_nodes<'a, 'input>(
    devices: Node<'a, 'input>,
) -> impl Iterator<Item = Node<'a, 'input>> {
    devices
        .children()
        .filter(|node| node.is_element() && BOOTABLE.contains(&node.tag_name().name()))
}

/// The key of the `index`-th bootable element.
pub(crate) fn device_key(node: Node, index: usize) -> DeviceKey {
    let element = node.tag_name().name().to_owned();
    let id = match element.as_str() {
        "disk" => child(node, "target").and_then(|t| t.attribute("dev")),
        "interface" => child(node, "mac").and_then(|m| m.attribute("address")),
        _ => None,
    };
    let id = match id {
        Some(id) => id.to_ascii_lowercase(),
        None => format!("#{index}"),
    };
    DeviceKey { element, id }
}

fn read_device(node: Node, index: usize) -> Result<BootDevice, ModelError> {
    let key = device_key(node, index);
    let kind = match (key.element.as_str(), node.attribute("device")) {
        ("disk", Some("cdrom")) => DeviceKind::Cdrom,
        ("disk", Some("floppy")) => DeviceKind::Floppy,
        ("disk", Some("lun")) => DeviceKind::Lun,
        ("disk", _) => DeviceKind::Disk,
        ("interface", _) => DeviceKind::Nic,
        (other, _) => DeviceKind::Other(other.to_owned()),
    };
    let bus = match kind {
        DeviceKind::Nic => child(node, "model").and_then(|m| m.attribute("type")),
        _ => child(node, "target").and_then(|t| t.attribute("bus")),
    };
    let boot_order = match child(node, "boot").and_then(|boot| boot.attribute("order")) {
        Some(order) => Some(parse_number(order, "<boot order>")?),
        None => None,
    };
    Ok(BootDevice {
        source: source_of(node),
        mac: child(node, "mac")
            .and_then(|mac| mac.attribute("address"))
            .map(str::to_ascii_lowercase),
        bus: bus.map(str::to_owned),
        kind,
        key,
        boot_order,
        readonly: child(node, "readonly").is_some(),
        shareable: child(node, "shareable").is_some(),
    })
}

fn source_of(node: Node) -> Option<String> {
    let source = child(node, "source")?;
    if let (Some(pool), Some(volume)) = (source.attribute("pool"), source.attribute("volume")) {
        return Some(format!("{pool}/{volume}"));
    }
    ["file", "dev", "network", "bridge", "dir", "name"]
        .iter()
        .find_map(|name| source.attribute(*name))
        .map(str::to_owned)
}
