//! Edits of existing domains: before XML (tests/golden/domain-edit/source-*.xml), the edit,
//! and the after XML (tests/golden/domain-edit/NAME.xml). Besides the golden comparison,
//! every case proves that nothing outside the edited elements changed by a byte, that the
//! after XML reads back with the edited values, and that libvirt accepts it.

use std::path::Path;

use hangar::backend::domain::devices::DeviceKey;
use hangar::backend::domain::fields::{changed_fields, Field};
use hangar::backend::domain::model::{
    BootOrder, CpuMode, DomainModel, Firmware, KernelBoot, Topology, VncListen, VncPassword,
};
use hangar::backend::xml::domain_edit::write_changes;

/// One edit: its golden name, the source it starts from, the elements it may change
/// (paths below `<domain>`), and the change to the model.
struct EditCase {
    name: &'static str,
    source: &'static str,
    touches: &'static [&'static str],
    edit: fn(&mut DomainModel),
}

fn source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()))
}

const VIRT_MANAGER: &str = "domain-edit/source-virt-manager.xml";
const MINIMAL: &str = "domain-edit/source-minimal.xml";
const HANGAR: &str = "domain-firmware-uefi-secure-boot.xml";
const OS_AND_BOOT_DEVICES: &[&str] = &["os", "devices/disk", "devices/interface"];

fn key(element: &str, id: &str) -> DeviceKey {
    DeviceKey {
        element: element.to_owned(),
        id: id.to_owned(),
    }
}

fn vnc(model: &mut DomainModel) -> &mut hangar::backend::domain::model::VncSettings {
    model.vnc.as_mut().expect("the source has VNC")
}

fn edit_everything(m: &mut DomainModel) {
    m.title = "Web & <db> server ✓".into();
    m.description = "Line one\nLine \"two\" & more".into();
    m.max_memory_kib = 8 * 1024 * 1024;
    m.memory_kib = 6 * 1024 * 1024;
    m.max_vcpus = 8;
    m.vcpus = 4;
    m.topology = Some(Topology {
        sockets: 1,
        dies: 1,
        cores: 4,
        threads: 2,
    });
    m.cpu_mode = CpuMode::HostModel;
    m.shared_memory = true;
    m.boot_order = BootOrder::PerDevice(vec![key("disk", "sda"), key("disk", "vda")]);
    m.boot_menu = true;
    m.firmware = Firmware::Uefi { secure_boot: true };
    m.kernel_boot = KernelBoot {
        kernel: "/srv/boot/vmlinuz".into(),
        initrd: "/srv/boot/initrd.img".into(),
        cmdline: "console=ttyS0 quiet".into(),
    };
    let vnc = vnc(m);
    vnc.listen = VncListen::Address("0.0.0.0".into());
    vnc.autoport = false;
    vnc.port = Some(5910);
    vnc.password = VncPassword::Set("pa&s<'\"".to_owned().into());
    vnc.keymap = Some("de".into());
}

fn cases() -> Vec<EditCase> {
    vec![
        EditCase {
            name: "title-added",
            source: VIRT_MANAGER,
            touches: &["title"],
            edit: |m| m.title = "Web & <db> server ✓".into(),
        },
        EditCase {
            name: "description-added",
            source: VIRT_MANAGER,
            touches: &["description"],
            edit: |m| m.description = "Line one\nLine \"two\" & more".into(),
        },
        EditCase {
            name: "memory",
            source: VIRT_MANAGER,
            touches: &["memory", "currentMemory"],
            edit: |m| {
                m.max_memory_kib = 8 * 1024 * 1024;
                m.memory_kib = 6 * 1024 * 1024;
            },
        },
        EditCase {
            name: "vcpus-and-topology",
            source: VIRT_MANAGER,
            touches: &["vcpu", "cpu"],
            edit: |m| {
                m.max_vcpus = 8;
                m.vcpus = 4;
                m.topology = Some(Topology {
                    sockets: 1,
                    dies: 1,
                    cores: 4,
                    threads: 2,
                });
            },
        },
        EditCase {
            name: "cpu-custom-model",
            source: VIRT_MANAGER,
            touches: &["cpu"],
            edit: |m| m.cpu_mode = CpuMode::Custom("Skylake-Client-IBRS".into()),
        },
        EditCase {
            name: "cpu-host-model",
            source: VIRT_MANAGER,
            touches: &["cpu"],
            edit: |m| m.cpu_mode = CpuMode::HostModel,
        },
        EditCase {
            name: "shared-memory-on",
            source: VIRT_MANAGER,
            touches: &["memoryBacking"],
            edit: |m| m.shared_memory = true,
        },
        EditCase {
            name: "boot-order-per-device",
            source: VIRT_MANAGER,
            touches: OS_AND_BOOT_DEVICES,
            edit: |m| {
                m.boot_order = BootOrder::PerDevice(vec![
                    key("disk", "sda"),
                    key("disk", "vda"),
                    key("interface", "52:54:00:6b:3c:58"),
                ])
            },
        },
        EditCase {
            name: "boot-menu-on",
            source: VIRT_MANAGER,
            touches: &["os"],
            edit: |m| m.boot_menu = true,
        },
        EditCase {
            name: "firmware-uefi-secure-boot",
            source: VIRT_MANAGER,
            touches: &["os", "features"],
            edit: |m| m.firmware = Firmware::Uefi { secure_boot: true },
        },
        EditCase {
            name: "kernel-boot",
            source: VIRT_MANAGER,
            touches: &["os"],
            edit: |m| {
                m.kernel_boot = KernelBoot {
                    kernel: "/srv/boot/vmlinuz".into(),
                    initrd: "/srv/boot/initrd.img".into(),
                    cmdline: "console=ttyS0 quiet".into(),
                }
            },
        },
        EditCase {
            name: "vnc-all-addresses-fixed-port-password-keymap",
            source: VIRT_MANAGER,
            touches: &["devices/graphics"],
            edit: |m| {
                let v = vnc(m);
                v.listen = VncListen::Address("0.0.0.0".into());
                v.autoport = false;
                v.port = Some(5910);
                v.password = VncPassword::Set("pa&s<'\"".to_owned().into());
                v.keymap = Some("de".into());
            },
        },
        EditCase {
            name: "everything-at-once",
            source: VIRT_MANAGER,
            touches: &[
                "title",
                "description",
                "memory",
                "currentMemory",
                "vcpu",
                "cpu",
                "memoryBacking",
                "os",
                "features",
                "devices/disk",
                "devices/interface",
                "devices/graphics",
            ],
            edit: edit_everything,
        },
        EditCase {
            name: "minimal-title-and-description",
            source: MINIMAL,
            touches: &["title", "description"],
            edit: |m| {
                m.title = "Tiny".into();
                m.description = "A <small> one".into();
            },
        },
        EditCase {
            name: "minimal-memory",
            source: MINIMAL,
            touches: &["memory", "currentMemory"],
            edit: |m| {
                m.max_memory_kib = 1024 * 1024;
                m.memory_kib = 768 * 1024;
            },
        },
        EditCase {
            name: "minimal-vcpus-and-topology",
            source: MINIMAL,
            touches: &["vcpu", "cpu"],
            edit: |m| {
                m.max_vcpus = 4;
                m.vcpus = 2;
                m.topology = Some(Topology {
                    sockets: 2,
                    dies: 1,
                    cores: 2,
                    threads: 1,
                });
            },
        },
        EditCase {
            name: "minimal-firmware-bios",
            source: MINIMAL,
            touches: &["os"],
            edit: |m| m.firmware = Firmware::Bios,
        },
        EditCase {
            name: "minimal-boot-order-network-first",
            source: MINIMAL,
            touches: OS_AND_BOOT_DEVICES,
            edit: |m| {
                m.boot_order = BootOrder::PerDevice(vec![
                    key("interface", "52:54:00:00:00:01"),
                    key("disk", "vda"),
                ])
            },
        },
        EditCase {
            name: "minimal-boot-order-by-class",
            source: MINIMAL,
            touches: OS_AND_BOOT_DEVICES,
            edit: |m| m.boot_order = BootOrder::ByClass(vec!["network".into(), "hd".into()]),
        },
        EditCase {
            name: "minimal-vnc-local-automatic-no-password",
            source: MINIMAL,
            touches: &["devices/graphics"],
            edit: |m| {
                let v = vnc(m);
                v.listen = VncListen::Address("127.0.0.1".into());
                v.autoport = true;
                v.port = None;
                v.password = VncPassword::None;
            },
        },
        EditCase {
            name: "minimal-shared-memory-on",
            source: MINIMAL,
            touches: &["memoryBacking"],
            edit: |m| m.shared_memory = true,
        },
        EditCase {
            name: "minimal-kernel-boot",
            source: MINIMAL,
            touches: &["os"],
            edit: |m| {
                m.kernel_boot = KernelBoot {
                    kernel: "/srv/vmlinuz".into(),
                    initrd: String::new(),
                    cmdline: "root=/dev/vda1".into(),
                }
            },
        },
        EditCase {
            name: "hangar-firmware-bios",
            source: HANGAR,
            touches: &["os"],
            edit: |m| m.firmware = Firmware::Bios,
        },
        EditCase {
            name: "hangar-title-cleared-cpu-maximum",
            source: HANGAR,
            touches: &["title", "cpu"],
            edit: |m| {
                m.title.clear();
                m.cpu_mode = CpuMode::Maximum;
            },
        },
        EditCase {
            name: "hangar-vnc-no-password-listen-none",
            source: HANGAR,
            touches: &["devices/graphics"],
            edit: |m| {
                let v = vnc(m);
                v.password = VncPassword::None;
                v.listen = VncListen::None;
                v.keymap = Some("fr".into());
            },
        },
    ]
}

/// `xml` without the elements at `paths` (and the white space before them), so what is
/// left is what an edit of those elements must keep byte for byte.
fn outside_of(xml: &str, paths: &[&str]) -> String {
    let document = roxmltree::Document::parse(xml).expect("well-formed XML");
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for path in paths {
        let mut nodes = vec![document.root_element()];
        for step in path.split('/') {
            nodes = nodes
                .iter()
                .flat_map(|node| node.children().filter(|c| c.has_tag_name(step)))
                .collect();
        }
        for node in nodes {
            let range = node.range();
            let start = xml[..range.start].trim_end().len();
            ranges.push(start..range.end);
        }
    }
    ranges.sort_by_key(|range| range.start);
    let mut kept = String::new();
    let mut copied_to = 0;
    for range in ranges {
        if range.start >= copied_to {
            kept.push_str(&xml[copied_to..range.start]);
            copied_to = range.end;
        }
    }
    kept.push_str(&xml[copied_to..]);
    kept
}

pub fn check_all(check_golden: fn(&str, &str), check_with_libvirt: fn(&str, &[&str], &str)) {
    for case in cases() {
        let before = source(case.source);
        let original = DomainModel::from_xml(&before).expect("source reads");
        let mut edited = original.clone();
        (case.edit)(&mut edited);
        let edited_fields = changed_fields(&original, &edited);
        assert!(
            !edited_fields.is_empty(),
            "{}: the edit changes nothing",
            case.name
        );

        let after = write_changes(&before, &edited)
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        check_golden(&format!("domain-edit/{}", case.name), &after);
        assert_eq!(
            outside_of(&before, case.touches),
            outside_of(&after, case.touches),
            "{}: bytes outside {:?} changed",
            case.name,
            case.touches
        );

        let reread = DomainModel::from_xml(&after).expect("after reads");
        let not_as_edited: Vec<Field> = changed_fields(&edited, &reread);
        assert!(
            not_as_edited.is_empty(),
            "{}: {not_as_edited:?} read back differently",
            case.name
        );
        assert_eq!(
            write_changes(&after, &edited).expect("again"),
            after,
            "{}: writing the same edit twice changes more",
            case.name
        );
        let for_test_driver = after
            .replacen("<domain type='kvm'", "<domain type='test'", 1)
            .replacen("<domain type=\"qemu\"", "<domain type=\"test\"", 1);
        check_with_libvirt(case.name, &["define"], &for_test_driver);
    }
}
