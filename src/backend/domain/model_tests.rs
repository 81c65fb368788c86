//! Reading domain XML into the model: what libvirt and virt-manager write, and what they
//! never should (missing elements, bad numbers): clear errors, no panics.

use super::devices::{DeviceKey, DeviceKind};
use super::fields::{changed_fields, ApplyScope, Field};
use super::model::*;

const VIRT_MANAGER: &str =
    include_str!("../../../tests/golden/domain-edit/source-virt-manager.xml");
const MINIMAL: &str = include_str!("../../../tests/golden/domain-edit/source-minimal.xml");
const HANGAR: &str = include_str!("../../../tests/golden/domain-firmware-uefi-secure-boot.xml");

fn key(element: &str, id: &str) -> DeviceKey {
    DeviceKey {
        element: element.to_owned(),
        id: id.to_owned(),
    }
}

#[test]
fn a_virt_manager_domain_reads_whole() {
    let model = DomainModel::from_xml(VIRT_MANAGER).expect("model");
    assert_eq!(model.name, "fedora-web");
    assert_eq!(model.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    assert_eq!(
        model.os_id.as_deref(),
        Some("http://fedoraproject.org/fedora/39")
    );
    assert_eq!(model.hypervisor, "kvm");
    assert!(!model.running);
    assert_eq!(model.machine.as_deref(), Some("pc-q35-8.1"));
    assert_eq!(model.firmware, Firmware::Bios);
    assert_eq!((model.vcpus, model.max_vcpus), (4, 4));
    assert_eq!(model.topology, None);
    assert_eq!(model.cpu_mode, CpuMode::HostPassthrough);
    assert_eq!((model.memory_kib, model.max_memory_kib), (4194304, 4194304));
    assert!(!model.shared_memory);
    assert_eq!(
        model.boot_order,
        BootOrder::ByClass(vec!["hd".into(), "cdrom".into()])
    );
    let vnc = model.vnc.expect("vnc");
    assert_eq!(vnc.listen, VncListen::Address("127.0.0.1".into()));
    assert!(vnc.autoport);
    assert_eq!(vnc.port, None);
    assert_eq!(vnc.keymap.as_deref(), Some("en-us"));
    assert!(!vnc.password.is_set());
    let kinds: Vec<_> = model.boot_devices.iter().map(|d| d.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            DeviceKind::Disk,
            DeviceKind::Cdrom,
            DeviceKind::Nic,
            DeviceKind::Other("redirdev".into())
        ]
    );
    assert_eq!(model.boot_devices[0].key, key("disk", "vda"));
    assert_eq!(
        model.boot_devices[0].source.as_deref(),
        Some("/var/lib/libvirt/images/fedora-web.qcow2")
    );
    assert_eq!(
        model.boot_devices[2].key,
        key("interface", "52:54:00:6b:3c:58")
    );
    assert_eq!(model.boot_devices[2].bus.as_deref(), Some("virtio"));
    assert_eq!(model.boot_devices[3].key, key("redirdev", "#3"));
}

#[test]
fn a_minimal_domain_takes_libvirts_defaults() {
    let model = DomainModel::from_xml(MINIMAL).expect("model");
    assert_eq!(model.title, "");
    assert_eq!(model.os_id, None);
    assert_eq!((model.memory_kib, model.max_memory_kib), (524288, 524288));
    assert_eq!((model.vcpus, model.max_vcpus), (1, 1));
    assert_eq!(model.cpu_mode, CpuMode::HypervisorDefault);
    assert_eq!(model.firmware, Firmware::Uefi { secure_boot: false });
    assert_eq!(
        model.boot_order,
        BootOrder::PerDevice(vec![
            key("disk", "vda"),
            key("interface", "52:54:00:00:00:01")
        ])
    );
    let vnc = model.vnc.expect("vnc");
    assert_eq!((vnc.autoport, vnc.port), (false, Some(5905)));
    assert!(vnc.listens_on_all_addresses());
    assert_eq!(vnc.password, VncPassword::Set("secret".to_owned().into()));
}

#[test]
fn hangars_own_domains_read_back() {
    let model = DomainModel::from_xml(HANGAR).expect("model");
    assert_eq!(model.firmware, Firmware::Uefi { secure_boot: true });
    assert_eq!(model.max_memory_kib, 4096 * 1024);
    assert_eq!(model.title, "Tom's <web> & \"db\" server ✓");
    assert_eq!(model.os_id.as_deref(), Some("http://microsoft.com/win/11"));
}

#[test]
fn units_cpu_models_topology_and_kernel_boot() {
    let xml = "<domain type='kvm' id='7'><name>k</name>\
        <title> Web </title><description>line one\nline two</description>\
        <memory unit='GiB'>2</memory><currentMemory unit='MB'>1000</currentMemory>\
        <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>\
        <vcpu current='2'>8</vcpu>\
        <os firmware='efi'><type>hvm</type><kernel>/boot/vmlinuz</kernel>\
        <initrd>/boot/initrd</initrd><cmdline>console=ttyS0</cmdline><bootmenu enable='yes'/></os>\
        <cpu match='exact'><model fallback='allow'>Skylake-Client</model>\
        <topology sockets='2' cores='2' threads='2'/></cpu></domain>";
    let model = DomainModel::from_xml(xml).expect("model");
    assert!(model.running);
    assert_eq!(model.title, "Web");
    assert_eq!(model.description, "line one\nline two");
    assert_eq!(model.max_memory_kib, 2 * 1024 * 1024);
    assert_eq!(model.memory_kib, 976563);
    assert!(model.shared_memory);
    assert_eq!((model.vcpus, model.max_vcpus), (2, 8));
    assert_eq!(model.cpu_mode, CpuMode::Custom("Skylake-Client".into()));
    let topology = model.topology.expect("topology");
    assert_eq!(
        (topology.sockets, topology.dies, topology.vcpus()),
        (2, 1, 8)
    );
    assert_eq!(model.firmware, Firmware::Uefi { secure_boot: false });
    assert!(model.boot_menu);
    assert_eq!(model.kernel_boot.kernel, "/boot/vmlinuz");
    assert_eq!(model.kernel_boot.cmdline, "console=ttyS0");
    assert_eq!(model.vnc, None);
}

#[test]
fn bad_input_gives_clear_errors() {
    let cases = [
        ("<domain", "not well-formed"),
        ("<network/>", "<network>"),
        (
            "<domain><memory>lots</memory></domain>",
            "<memory> in the XML must be a whole number, not “lots”",
        ),
        (
            "<domain><memory unit='parsec'>1</memory></domain>",
            "unknown unit “parsec”",
        ),
        (
            "<domain><vcpu current='x'>2</vcpu></domain>",
            "<vcpu current>",
        ),
        ("<domain><vcpu>-1</vcpu></domain>", "<vcpu>"),
        (
            "<domain><cpu><topology sockets='0x2'/></cpu></domain>",
            "<topology sockets>",
        ),
        (
            "<domain><devices><disk><boot order='first'/></disk></devices></domain>",
            "<boot order>",
        ),
        (
            "<domain><devices><graphics type='vnc' port='59o0'/></devices></domain>",
            "<graphics port>",
        ),
        (
            "<domain><memory unit='TiB'>99999999999</memory></domain>",
            "<memory>",
        ),
    ];
    for (xml, expected) in cases {
        let error = DomainModel::from_xml(xml).expect_err(xml).to_string();
        assert!(error.contains(expected), "{xml}: {error}");
    }
}

#[test]
fn an_empty_domain_is_all_defaults() {
    let model = DomainModel::from_xml("<domain/>").expect("model");
    assert_eq!(model.max_memory_kib, 0);
    assert_eq!(model.boot_order, BootOrder::ByClass(Vec::new()));
    assert!(model.boot_devices.is_empty());
}

#[test]
fn fields_say_how_they_apply() {
    assert_eq!(Field::Memory.apply_scope(true), ApplyScope::LiveAndConfig);
    assert_eq!(
        Field::MaxMemory.apply_scope(true),
        ApplyScope::ConfigAfterShutdown
    );
    assert_eq!(
        Field::BootOrder.apply_scope(true),
        ApplyScope::ConfigAfterShutdown
    );
    assert_eq!(
        Field::VncPassword.apply_scope(true),
        ApplyScope::LiveAndConfig
    );
    assert_eq!(Field::Firmware.apply_scope(false), ApplyScope::Config);
    let waiting: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|f| f.needs_shutdown())
        .collect();
    assert_eq!(
        waiting,
        [
            Field::MaxMemory,
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
            Field::VncKeymap
        ]
    );
}

#[test]
fn a_running_autoport_display_is_not_a_pending_change() {
    let saved = DomainModel::from_xml(VIRT_MANAGER).expect("model");
    let live_xml = VIRT_MANAGER
        .replace("<domain type='kvm'", "<domain type='kvm' id='3'")
        .replace("port='-1' autoport='yes'", "port='5900' autoport='yes'");
    let live = DomainModel::from_xml(&live_xml).expect("model");
    assert!(super::fields::pending_after_shutdown(&live, &saved).is_empty());
    let mut edited = saved.clone();
    edited.max_memory_kib *= 2;
    edited.title = "t".into();
    assert_eq!(
        changed_fields(&saved, &edited),
        [Field::Title, Field::MaxMemory]
    );
}
