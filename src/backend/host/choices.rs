//! The host's lists a new device is chosen from: storage pools and their volumes and the
//! virtual networks (as the creation wizard reads them, `create::facts`), the host's network
//! interfaces (bridges, and NICs for macvtap), its USB and PCI devices with their names,
//! driver and IOMMU group, which domains already have each of those, and the MAC addresses
//! in use.

use roxmltree::Node;

use crate::backend::create::{facts, NetworkFacts, PoolFacts};
use crate::backend::domain::device_apply::macs_in_use;
use crate::backend::domain::device_list::{read_devices, DeviceSettings, HostdevSource};
use crate::backend::error::BackendError;
use crate::backend::libvirt::session::HostSession;

/// What a host interface is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceKind {
    /// A bridge: network cards join it directly.
    Bridge,
    /// A physical or other NIC: network cards use it through macvtap.
    Ethernet,
    /// Bonds, VLANs, …: offered for macvtap too.
    Other,
}

/// A network interface of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInterface {
    pub name: String,
    pub kind: InterfaceKind,
    pub mac: Option<String>,
}

/// USB or PCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostDeviceBus {
    Usb,
    Pci,
}

/// A USB device or PCI function of the host, from its node device XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDevice {
    /// libvirt's node device name (`usb_1_3`, `pci_0000_01_00_0`).
    pub name: String,
    pub bus: HostDeviceBus,
    /// `0x046d`.
    pub vendor_id: String,
    pub product_id: String,
    /// The names the host's ID database gives, empty when it has none.
    pub vendor: String,
    pub product: String,
    /// The driver holding it now (`vfio-pci`, `snd_hda_intel`, `usbhid`).
    pub driver: Option<String>,
    /// PCI only.
    pub iommu_group: Option<u32>,
    /// USB: bus and device number; PCI: domain, bus, slot, function.
    pub address: Vec<u32>,
    /// The domains that already have it (by name), from their XML.
    pub used_by: Vec<String>,
}

impl HostDevice {
    /// “Logitech, Inc. · USB Receiver”, or the IDs when the host has no names.
    pub fn title(&self) -> String {
        let vendor = if self.vendor.is_empty() {
            &self.vendor_id
        } else {
            &self.vendor
        };
        let product = if self.product.is_empty() {
            &self.product_id
        } else {
            &self.product
        };
        format!("{vendor} · {product}")
    }

    /// `0000:01:00.0` for PCI, `001:003` for USB.
    pub fn address_text(&self) -> String {
        match (self.bus, self.address.as_slice()) {
            (HostDeviceBus::Pci, [domain, bus, slot, function]) => {
                format!("{domain:04x}:{bus:02x}:{slot:02x}.{function:x}")
            }
            (HostDeviceBus::Usb, [bus, device]) => format!("{bus:03}:{device:03}"),
            _ => self.name.clone(),
        }
    }

    /// How a domain's `<hostdev>` names it: USB by vendor and product (it keeps working when
    /// the stick moves to another port), PCI by address.
    pub fn source(&self) -> HostdevSource {
        match (self.bus, self.address.as_slice()) {
            (HostDeviceBus::Pci, [domain, bus, slot, function]) => HostdevSource::Pci {
                domain: format!("0x{domain:04x}"),
                bus: format!("0x{bus:02x}"),
                slot: format!("0x{slot:02x}"),
                function: format!("0x{function:x}"),
            },
            _ => HostdevSource::UsbId {
                vendor: self.vendor_id.clone(),
                product: self.product_id.clone(),
            },
        }
    }

    /// Whether a domain's `<hostdev>` source is this device.
    pub fn is(&self, source: &HostdevSource) -> bool {
        match source {
            HostdevSource::UsbId { vendor, product } => {
                self.bus == HostDeviceBus::Usb
                    && number(vendor) == number(&self.vendor_id)
                    && number(product) == number(&self.product_id)
            }
            HostdevSource::UsbAddress { bus, device } => {
                self.bus == HostDeviceBus::Usb
                    && [number(bus), number(device)]
                        .iter()
                        .copied()
                        .collect::<Option<Vec<u32>>>()
                        .is_some_and(|address| address == self.address)
            }
            HostdevSource::Pci {
                domain,
                bus,
                slot,
                function,
            } => {
                self.bus == HostDeviceBus::Pci
                    && [domain, bus, slot, function]
                        .iter()
                        .map(|part| number(part))
                        .collect::<Option<Vec<u32>>>()
                        .is_some_and(|address| address == self.address)
            }
        }
    }
}

/// Everything the Add Device dialog offers from the host.
#[derive(Debug, Clone, Default)]
pub struct HostChoices {
    pub pools: Vec<PoolFacts>,
    pub networks: Vec<NetworkFacts>,
    pub interfaces: Vec<HostInterface>,
    /// USB devices, then PCI functions.
    pub devices: Vec<HostDevice>,
    /// Every MAC address in use on the host, with the domain using it.
    pub macs: Vec<(String, String)>,
}

/// Reads the host's choices; a list the host cannot give (no interface driver, say) stays
/// empty.
pub fn read_choices(session: &HostSession) -> Result<HostChoices, BackendError> {
    let facts = facts(session)?;
    let conn = session.connection();
    let interfaces = conn
        .list_all_interfaces(0)
        .unwrap_or_default()
        .iter()
        .filter_map(|interface| parse_interface(&interface.xml_desc(0).ok()?))
        .collect();
    let mut devices: Vec<HostDevice> = [
        virt::sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV,
        virt::sys::VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV,
    ]
    .iter()
    .flat_map(|cap| conn.list_all_node_devices(*cap).unwrap_or_default())
    .filter_map(|device| parse_node_device(&device.xml_desc(0).ok()?))
    .collect();
    let mut domains = Vec::new();
    for domain in session.domain_handles()?.values() {
        let name = domain.name().unwrap_or_default();
        let mut xmls = vec![domain.xml_desc(0)?];
        if domain.is_active().unwrap_or(false) {
            if let Ok(saved) = domain.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE) {
                xmls.push(saved);
            }
        }
        domains.extend(xmls.into_iter().map(|xml| (name.clone(), xml)));
    }
    mark_users(&mut devices, &domains);
    Ok(HostChoices {
        pools: facts.pools,
        networks: facts.networks,
        interfaces,
        devices,
        macs: macs_in_use(session)?,
    })
}

/// Notes in each device which of `domains` (name, XML) have it.
pub fn mark_users(devices: &mut [HostDevice], domains: &[(String, String)]) {
    for (name, xml) in domains {
        let Ok(entries) = read_devices(xml) else {
            continue;
        };
        for entry in entries {
            let DeviceSettings::Hostdev(hostdev) = entry.settings else {
                continue;
            };
            for device in devices.iter_mut() {
                if device.is(&hostdev.source) && !device.used_by.contains(name) {
                    device.used_by.push(name.clone());
                }
            }
        }
    }
}

/// A host interface from its XML (`<interface type='bridge' name='br0'>`); `None` for the
/// loopback and what does not read.
pub fn parse_interface(xml: &str) -> Option<HostInterface> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let root = document.root_element();
    let name = root.attribute("name")?.to_owned();
    if name == "lo" || !root.has_tag_name("interface") {
        return None;
    }
    let kind = match root.attribute("type") {
        Some("bridge") => InterfaceKind::Bridge,
        Some("ethernet") => InterfaceKind::Ethernet,
        _ => InterfaceKind::Other,
    };
    let mac = child(root, "mac")
        .and_then(|mac| mac.attribute("address"))
        .map(str::to_owned);
    Some(HostInterface { name, kind, mac })
}

/// A USB device or PCI function from its node device XML; `None` for other devices, USB
/// hubs of the host's own controllers and what does not read.
pub fn parse_node_device(xml: &str) -> Option<HostDevice> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let root = document.root_element();
    let name = text(child(root, "name")?);
    let driver = child(root, "driver")
        .and_then(|driver| child(driver, "name"))
        .map(text)
        .filter(|driver| !driver.is_empty());
    let capability = root
        .children()
        .find(|node| node.has_tag_name("capability"))?;
    let bus = match capability.attribute("type")? {
        "usb_device" => HostDeviceBus::Usb,
        "pci" => HostDeviceBus::Pci,
        _ => return None,
    };
    let id_and_name = |tag: &str| {
        let node = child(capability, tag)?;
        Some((node.attribute("id")?.to_owned(), text(node)))
    };
    let (vendor_id, vendor) = id_and_name("vendor")?;
    let (product_id, product) = id_and_name("product")?;
    let parts: &[&str] = match bus {
        HostDeviceBus::Usb => &["bus", "device"],
        HostDeviceBus::Pci => &["domain", "bus", "slot", "function"],
    };
    let address = parts
        .iter()
        .map(|part| child(capability, part).and_then(|node| text(node).parse().ok()))
        .collect::<Option<Vec<u32>>>()?;
    // The root hubs of the host's own USB controllers (Linux Foundation) cannot be passed.
    if bus == HostDeviceBus::Usb && number(&vendor_id) == Some(0x1d6b) {
        return None;
    }
    let iommu_group = child(capability, "iommuGroup")
        .and_then(|group| group.attribute("number"))
        .and_then(|group| group.parse().ok());
    Some(HostDevice {
        name,
        bus,
        vendor_id,
        product_id,
        vendor,
        product,
        driver,
        iommu_group,
        address,
        used_by: Vec::new(),
    })
}

fn child<'a, 'input>(node: Node<'a, 'input>, tag: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name(tag))
}

fn text(node: Node) -> String {
    node.text().unwrap_or_default().trim().to_owned()
}

/// `0x1f`, `1f` or `31` as written in hostdev XML (hex with or without `0x`; a plain
/// decimal USB bus number reads the same for the small numbers buses have).
fn number(value: &str) -> Option<u32> {
    let value = value.trim();
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => value
            .parse()
            .ok()
            .or_else(|| u32::from_str_radix(value, 16).ok()),
    }
}

#[cfg(test)]
#[path = "choices_tests.rs"]
mod tests;
