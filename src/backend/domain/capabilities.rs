//! What the host can give one domain (`virConnectGetDomainCapabilities` for its emulator,
//! arch, machine and hypervisor): CPU modes and named models, firmware choices, vCPU limit.
//! The CPU and Boot sections offer only these.

use roxmltree::{Document, Node};

use super::model::DomainModel;
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;

/// The choices for one domain, as the host reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainCapabilities {
    /// `host-passthrough`: only with hardware virtualisation (not under TCG).
    pub host_passthrough: bool,
    /// `host-model`, and the named model it resolves to (`EPYC`, `Skylake-Client`).
    pub host_model: Option<String>,
    /// QEMU's `maximum` mode.
    pub maximum: bool,
    /// Named models this host can run (`usable='yes'`), in libvirt's order.
    pub usable_models: Vec<String>,
    pub firmware: FirmwareChoices,
    /// The most vCPUs the machine type allows.
    pub max_vcpus: Option<u32>,
}

/// Which firmware the machine can start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirmwareChoices {
    pub bios: bool,
    pub uefi: bool,
    pub uefi_secure_boot: bool,
}

/// The domain capabilities for the domain's emulator, arch, machine and hypervisor (one
/// libvirt call).
pub fn domain_capabilities(
    session: &HostSession,
    model: &DomainModel,
    emulator: Option<&str>,
) -> Result<DomainCapabilities, BackendError> {
    let virt_type = (!model.hypervisor.is_empty()).then_some(model.hypervisor.as_str());
    let xml = session.connection().domain_capabilities(
        emulator,
        model.arch.as_deref(),
        model.machine.as_deref(),
        virt_type,
        0,
    )?;
    DomainCapabilities::from_xml(&xml).map_err(|reason| BackendError::new(ErrorKind::Other, reason))
}

/// The `<emulator>` path of a domain's XML, which the capabilities call takes.
pub fn emulator_of(domain_xml: &str) -> Option<String> {
    let document = Document::parse(domain_xml).ok()?;
    let emulator = document
        .root_element()
        .children()
        .find(|node| node.has_tag_name("devices"))?
        .children()
        .find(|node| node.has_tag_name("emulator"))?;
    Some(emulator.text()?.trim().to_owned())
}

impl DomainCapabilities {
    /// Reads `<domainCapabilities>` XML; an error only when it is not that at all.
    pub fn from_xml(xml: &str) -> Result<Self, String> {
        let document = Document::parse(xml).map_err(|error| error.to_string())?;
        let root = document.root_element();
        if !root.has_tag_name("domainCapabilities") {
            return Err(format!(
                "<{}> is not <domainCapabilities>",
                root.tag_name().name()
            ));
        }
        let arch = child(root, "arch")
            .and_then(|node| node.text())
            .unwrap_or("");
        let cpu = child(root, "cpu");
        let mode = |name: &str| cpu.and_then(|cpu| cpu_mode(cpu, name));
        Ok(Self {
            host_passthrough: mode("host-passthrough").is_some(),
            host_model: mode("host-model").map(|node| {
                child(node, "model")
                    .and_then(|model| model.text())
                    .unwrap_or("")
                    .to_owned()
            }),
            maximum: mode("maximum").is_some(),
            usable_models: mode("custom").map(usable_models).unwrap_or_default(),
            firmware: child(root, "os")
                .filter(|os| is_supported(*os))
                .map(|os| firmware_choices(os, arch))
                .unwrap_or_default(),
            max_vcpus: child(root, "vcpu")
                .and_then(|vcpu| vcpu.attribute("max"))
                .and_then(|max| max.parse().ok()),
        })
    }
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name(name))
}

fn is_supported(node: Node) -> bool {
    node.attribute("supported") == Some("yes")
}

/// A supported `<mode name='…'>` of `<cpu>`.
fn cpu_mode<'a, 'input>(cpu: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    cpu.children()
        .find(|node| node.has_tag_name("mode") && node.attribute("name") == Some(name))
        .filter(|node| is_supported(*node))
}

fn usable_models(custom: Node) -> Vec<String> {
    custom
        .children()
        .filter(|node| node.has_tag_name("model") && node.attribute("usable") == Some("yes"))
        .filter_map(|node| node.text())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// The values of `<enum name='…'>` under `node`; `None` when the enum is not there at all.
fn enum_values(node: Node, name: &str) -> Option<Vec<String>> {
    let list = node
        .children()
        .find(|child| child.has_tag_name("enum") && child.attribute("name") == Some(name))?;
    Some(
        list.children()
            .filter(|value| value.has_tag_name("value"))
            .filter_map(|value| value.text())
            .map(|value| value.trim().to_owned())
            .collect(),
    )
}

/// From `<os><enum name='firmware'>` (libvirt picks the firmware files itself), else, on an
/// older libvirt without that enum, from the loader paths it lists. BIOS on x86 needs no
/// firmware file: QEMU carries SeaBIOS.
fn firmware_choices(os: Node, arch: &str) -> FirmwareChoices {
    let loader = child(os, "loader").filter(|loader| is_supported(*loader));
    let loader_paths = loader.is_some_and(|loader| {
        loader
            .children()
            .any(|node| node.has_tag_name("value") && node.text().is_some())
    });
    let firmware = enum_values(os, "firmware");
    let uefi = match &firmware {
        Some(values) if !values.is_empty() => values.iter().any(|value| value == "efi"),
        _ => loader_paths,
    };
    let x86 = matches!(arch, "x86_64" | "i686");
    let bios = firmware
        .as_ref()
        .is_some_and(|values| values.iter().any(|value| value == "bios"))
        || x86;
    let secure = loader
        .and_then(|loader| enum_values(loader, "secure"))
        .is_some_and(|values| values.iter().any(|value| value == "yes"));
    FirmwareChoices {
        bios,
        uefi,
        uefi_secure_boot: uefi && secure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from the test bed (`virsh domcapabilities --virttype qemu --arch x86_64`):
    /// QEMU under TCG, no OVMF installed.
    const TESTBED: &str = include_str!("../../../tests/golden/domcaps-qemu-x86_64-tcg.xml");

    #[test]
    fn the_test_beds_capabilities_are_read() {
        let caps = DomainCapabilities::from_xml(TESTBED).expect("capabilities");
        assert!(!caps.host_passthrough, "TCG has no host-passthrough");
        assert_eq!(caps.host_model.as_deref(), Some("EPYC"));
        assert!(caps.maximum);
        assert_eq!(caps.max_vcpus, Some(255));
        assert!(caps.usable_models.iter().any(|model| model == "qemu64"));
        assert!(caps.usable_models.iter().any(|model| model == "486"));
        assert!(!caps.usable_models.iter().any(|model| model == "Broadwell"));
        assert_eq!(caps.usable_models.len(), 36);
        assert_eq!(
            caps.firmware,
            FirmwareChoices {
                bios: true,
                uefi: false,
                uefi_secure_boot: false
            }
        );
    }

    const WITH_OVMF: &str = "<domainCapabilities><arch>x86_64</arch><vcpu max='4096'/>
        <os supported='yes'>
          <enum name='firmware'><value>bios</value><value>efi</value></enum>
          <loader supported='yes'>
            <value>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</value>
            <enum name='secure'><value>yes</value><value>no</value></enum>
          </loader>
        </os>
        <cpu><mode name='host-passthrough' supported='yes'/>
          <mode name='host-model' supported='no'/>
          <mode name='custom' supported='yes'><model usable='yes'>Skylake-Client</model></mode>
        </cpu></domainCapabilities>";

    #[test]
    fn uefi_and_secure_boot_come_from_the_firmware_enum_and_loader() {
        let caps = DomainCapabilities::from_xml(WITH_OVMF).expect("capabilities");
        assert_eq!(
            caps.firmware,
            FirmwareChoices {
                bios: true,
                uefi: true,
                uefi_secure_boot: true
            }
        );
        assert!(caps.host_passthrough);
        assert_eq!(caps.host_model, None);
        assert!(!caps.maximum);
        assert_eq!(caps.usable_models, ["Skylake-Client"]);
        assert_eq!(caps.max_vcpus, Some(4096));
    }

    #[test]
    fn an_older_libvirt_without_the_firmware_enum_offers_uefi_by_loader_paths() {
        let xml = "<domainCapabilities><arch>aarch64</arch><os supported='yes'>
            <loader supported='yes'><value>/usr/share/AAVMF/AAVMF_CODE.fd</value>
            <enum name='secure'><value>no</value></enum></loader></os></domainCapabilities>";
        let caps = DomainCapabilities::from_xml(xml).expect("capabilities");
        assert_eq!(
            caps.firmware,
            FirmwareChoices {
                bios: false,
                uefi: true,
                uefi_secure_boot: false
            }
        );
    }

    #[test]
    fn not_capabilities_is_an_error() {
        assert!(DomainCapabilities::from_xml("<domain/>").is_err());
        assert!(DomainCapabilities::from_xml("<domainCapabilities").is_err());
    }

    #[test]
    fn the_emulator_is_read_from_the_domain() {
        let xml = "<domain><devices><emulator> /usr/bin/qemu-system-x86_64 </emulator>\
            </devices></domain>";
        assert_eq!(
            emulator_of(xml).as_deref(),
            Some("/usr/bin/qemu-system-x86_64")
        );
        assert_eq!(emulator_of("<domain/>"), None);
    }
}
