//! The XML the creation wizards produce, compared with files under tests/golden/ and, when
//! `virsh` is installed, defined on libvirt's test driver so its own parser reads it.
//!
//! `UPDATE_GOLDEN=1 cargo test --test xml_golden` rewrites the files; review the diff.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use hangar::backend::xml::domain::{
    domain_xml, ConsoleSpec, DiskBus, DomainType, Firmware, InstallSource, NetworkChoice,
    NewVmSpec, NicModel, OsChoice, StorageChoice,
};
use hangar::backend::xml::network::{
    network_xml, Ipv4Config, Ipv6Config, NetworkMode, NetworkSpec,
};
use hangar::backend::xml::pool::{pool_xml, PoolKind, StoragePoolSpec};
use hangar::backend::xml::volume::{volume_xml, VolumeFormat};

/// Every name carries XML's special characters and non-ASCII text.
const VM_NAME: &str = "web & \"db\" <α>";
const POOL_NAME: &str = "images & 'iso' <β>";
const NETWORK_NAME: &str = "lab & \"dev\" <γ>";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `xml` with `tests/golden/NAME.xml`, or rewrites that file under UPDATE_GOLDEN=1.
fn check_golden(name: &str, xml: &str) {
    let path = golden_dir().join(format!("{name}.xml"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(golden_dir()).expect("create tests/golden");
        std::fs::write(&path, xml).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        xml, expected,
        "{name}: the XML changed; if that is intended, run with UPDATE_GOLDEN=1"
    );
}

/// Writes `xml` to a temporary file, runs `program ARGS FILE`, and fails with its stderr.
fn run_on_file(name: &str, program: &str, args: &[&str], xml: &str) {
    let file = std::env::temp_dir().join(format!(
        "hangar-golden-{}-{program}-{name}.xml",
        std::process::id()
    ));
    std::fs::write(&file, xml).expect("write temp XML");
    let output = Command::new(program)
        .args(args)
        .arg(&file)
        .output()
        .expect("run libvirt tool");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "{name}: {program} refused the XML: {}{}\n{xml}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// libvirt's checks: its RNG schema (`virt-xml-validate`, strict about names and values), and
/// its parser on the test driver (`virsh define`, which catches what only code checks, such as
/// a DHCP range outside its subnet). Each virsh is a process of its own, so its
/// test:///default is private and starts afresh. Each is skipped when its tool is missing,
/// except under HANGAR_REQUIRE_TESTBED (`make test`), where that fails.
fn check_with_libvirt(name: &str, define: &[&str], xml: &str) {
    if common::have_program("virt-xml-validate") {
        run_on_file(name, "virt-xml-validate", &[], xml);
    }
    if common::have_program("virsh") {
        let mut args = vec!["-q", "-c", "test:///default"];
        args.extend(define);
        run_on_file(name, "virsh", &args, &as_test_domain(xml));
    }
}

/// The test driver only runs `<domain type='test'>`; the rest of the XML is as generated,
/// and other XML passes unchanged.
fn as_test_domain(xml: &str) -> String {
    xml.replacen("<domain type=\"kvm\">", "<domain type=\"test\">", 1)
        .replacen("<domain type=\"qemu\">", "<domain type=\"test\">", 1)
}

fn fedora() -> OsChoice {
    OsChoice {
        short_id: "fedora37".to_owned(),
        id: "http://fedoraproject.org/fedora/37".to_owned(),
        name: "Fedora Linux 37".to_owned(),
        family: "linux".to_owned(),
    }
}

fn windows_11() -> OsChoice {
    OsChoice {
        short_id: "win11".to_owned(),
        id: "http://microsoft.com/win/11".to_owned(),
        name: "Microsoft Windows 11".to_owned(),
        family: "winnt".to_owned(),
    }
}

fn new_volume() -> StorageChoice {
    StorageChoice::NewVolume {
        pool: POOL_NAME.to_owned(),
        name: "web & db <α>.qcow2".to_owned(),
        size_gib: 20,
        format: VolumeFormat::Qcow2,
    }
}

fn iso_volume() -> InstallSource {
    InstallSource::IsoVolume {
        pool: POOL_NAME.to_owned(),
        volume: "Fedora \"37\" <α>.iso".to_owned(),
        path: "/srv/iso & co/Fedora \"37\" <α>.iso".to_owned(),
    }
}

/// A Fedora machine installing from an ISO in a pool onto a new volume, on `default`.
fn base_spec() -> NewVmSpec {
    NewVmSpec {
        name: VM_NAME.to_owned(),
        title: "Tom's <web> & \"db\" server ✓".to_owned(),
        memory_mib: 2048,
        vcpus: 2,
        os: fedora(),
        install: iso_volume(),
        storage: new_volume(),
        ..NewVmSpec::default()
    }
}

fn domain_cases() -> Vec<(&'static str, NewVmSpec)> {
    vec![
        ("domain-install-iso-volume", base_spec()),
        (
            "domain-install-local-iso",
            NewVmSpec {
                install: InstallSource::LocalIso {
                    path: "/home/me/Downloads/Fedora <37> & more.iso".to_owned(),
                    pool: POOL_NAME.to_owned(),
                    volume: "Fedora <37> & more.iso".to_owned(),
                },
                ..base_spec()
            },
        ),
        (
            "domain-install-network-url",
            NewVmSpec {
                install: InstallSource::NetworkTree {
                    url: "https://mirror.example.org:8443/fedora/37/Fedora-Server-netinst.iso?a=1&b=2"
                        .to_owned(),
                },
                ..base_spec()
            },
        ),
        (
            "domain-install-import-disk",
            NewVmSpec {
                install: InstallSource::ImportDisk {
                    path: "/srv/vm images/old \"web\" <α>.qcow2".to_owned(),
                    format: VolumeFormat::Qcow2,
                },
                storage: StorageChoice::None,
                ..base_spec()
            },
        ),
        (
            "domain-install-pxe",
            NewVmSpec {
                install: InstallSource::Pxe,
                storage: StorageChoice::ExistingVolume {
                    path: "/dev/vg_data/web & db".to_owned(),
                    format: VolumeFormat::Raw,
                },
                ..base_spec()
            },
        ),
        (
            "domain-firmware-bios",
            NewVmSpec {
                firmware: Firmware::Bios,
                ..base_spec()
            },
        ),
        (
            "domain-firmware-uefi",
            NewVmSpec {
                firmware: Firmware::Uefi { secure_boot: false },
                ..base_spec()
            },
        ),
        (
            "domain-firmware-uefi-secure-boot",
            NewVmSpec {
                os: windows_11(),
                memory_mib: 4096,
                firmware: Firmware::Uefi { secure_boot: true },
                tpm: true,
                disk_bus: DiskBus::Sata,
                nic_model: NicModel::E1000e,
                console: ConsoleSpec {
                    listen: "0.0.0.0".to_owned(),
                    password: Some("p&\"<'α".into()),
                },
                ..base_spec()
            },
        ),
        (
            "domain-network-virtual",
            NewVmSpec {
                network: NetworkChoice::Virtual {
                    name: NETWORK_NAME.to_owned(),
                },
                ..base_spec()
            },
        ),
        (
            "domain-network-bridge",
            NewVmSpec {
                network: NetworkChoice::Bridge {
                    name: "br0".to_owned(),
                },
                ..base_spec()
            },
        ),
        (
            "domain-network-macvtap",
            NewVmSpec {
                network: NetworkChoice::Macvtap {
                    device: "enp3s0".to_owned(),
                },
                ..base_spec()
            },
        ),
        (
            "domain-network-none",
            NewVmSpec {
                network: NetworkChoice::None,
                os: OsChoice::generic(),
                domain_type: DomainType::Qemu,
                ..base_spec()
            },
        ),
    ]
}

fn pool_spec(kind: PoolKind) -> StoragePoolSpec {
    StoragePoolSpec {
        name: POOL_NAME.to_owned(),
        kind,
        target_path: "/srv/vm images/α & \"β\" <γ>".to_owned(),
        ..StoragePoolSpec::default()
    }
}

fn pool_cases() -> Vec<(&'static str, StoragePoolSpec)> {
    vec![
        ("pool-dir", pool_spec(PoolKind::Dir)),
        (
            "pool-netfs",
            pool_spec(PoolKind::Netfs {
                host: "nas.example.org".to_owned(),
                export_path: "/exports/vm & \"iso\" <α>".to_owned(),
            }),
        ),
        (
            "pool-logical",
            pool_spec(PoolKind::Logical {
                volume_group: "vg_data".to_owned(),
                devices: vec!["/dev/sdb".to_owned(), "/dev/sdc1".to_owned()],
            }),
        ),
        (
            "pool-iscsi",
            StoragePoolSpec {
                build: false,
                ..pool_spec(PoolKind::Iscsi {
                    host: "192.168.1.20".to_owned(),
                    target_iqn: "iqn.2024-01.org.example:storage&<α>".to_owned(),
                })
            },
        ),
        (
            "pool-disk",
            pool_spec(PoolKind::Disk {
                device: "/dev/disk/by-id/ata-Disk \"A\" & <α>".to_owned(),
            }),
        ),
    ]
}

fn ipv4(address: [u8; 4], prefix: u8, dhcp: Option<([u8; 4], [u8; 4])>) -> Option<Ipv4Config> {
    Some(Ipv4Config {
        address: Ipv4Addr::from(address),
        prefix,
        dhcp: dhcp.map(|(start, end)| (Ipv4Addr::from(start), Ipv4Addr::from(end))),
    })
}

fn network_cases() -> Vec<(&'static str, NetworkSpec)> {
    let base = NetworkSpec {
        name: NETWORK_NAME.to_owned(),
        mode: NetworkMode::Nat,
        ipv4: ipv4(
            [192, 168, 100, 1],
            24,
            Some(([192, 168, 100, 128], [192, 168, 100, 254])),
        ),
        ipv6: None,
        autostart: true,
    };
    vec![
        (
            "network-nat",
            NetworkSpec {
                ipv6: Some(Ipv6Config {
                    address: "fd00:100::1".parse::<Ipv6Addr>().expect("IPv6"),
                    prefix: 64,
                }),
                ..base.clone()
            },
        ),
        (
            "network-routed",
            NetworkSpec {
                mode: NetworkMode::Routed {
                    device: "enp3s0".to_owned(),
                },
                ipv4: ipv4([10, 20, 0, 1], 16, None),
                ..base.clone()
            },
        ),
        (
            "network-isolated",
            NetworkSpec {
                mode: NetworkMode::Isolated,
                ..base.clone()
            },
        ),
        (
            "network-open",
            NetworkSpec {
                mode: NetworkMode::Open,
                ipv4: ipv4(
                    [172, 16, 5, 1],
                    24,
                    Some(([172, 16, 5, 10], [172, 16, 5, 20])),
                ),
                ..base
            },
        ),
    ]
}

/// The first text of element `tag`, unescaped, to prove escaping round-trips.
fn text_of(xml: &str, tag: &str) -> Option<String> {
    let document = roxmltree::Document::parse(xml).expect("well-formed XML");
    let text = document
        .descendants()
        .find(|node| node.has_tag_name(tag))
        .and_then(|node| node.text())
        .map(str::to_owned);
    text
}

#[test]
fn domain_xml_matches_golden_files_and_libvirt_accepts_it() {
    for (name, spec) in domain_cases() {
        let xml = domain_xml(&spec).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(text_of(&xml, "name").as_deref(), Some(VM_NAME), "{name}");
        check_golden(name, &xml);
        check_with_libvirt(name, &["define"], &xml);
    }
}

#[test]
fn pool_xml_matches_golden_files_and_libvirt_accepts_it() {
    for (name, spec) in pool_cases() {
        let xml = pool_xml(&spec).unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
        assert_eq!(text_of(&xml, "name").as_deref(), Some(POOL_NAME), "{name}");
        check_golden(name, &xml);
        check_with_libvirt(name, &["pool-define"], &xml);
    }
}

#[test]
fn network_xml_matches_golden_files_and_libvirt_accepts_it() {
    for (name, spec) in network_cases() {
        let xml = network_xml(&spec).unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
        assert_eq!(
            text_of(&xml, "name").as_deref(),
            Some(NETWORK_NAME),
            "{name}"
        );
        check_golden(name, &xml);
        check_with_libvirt(name, &["net-define"], &xml);
    }
}

#[test]
fn volume_xml_matches_golden_file_and_libvirt_accepts_it() {
    let xml = volume_xml("web & \"db\" <α>.qcow2", 20, VolumeFormat::Qcow2);
    assert_eq!(
        text_of(&xml, "name").as_deref(),
        Some("web & \"db\" <α>.qcow2")
    );
    check_golden("volume-qcow2", &xml);
    // The test driver's host has a directory pool named default-pool.
    check_with_libvirt("volume-qcow2", &["vol-create", "default-pool"], &xml);
}

mod xml_golden_edits;

#[test]
fn domain_edits_keep_everything_else_and_libvirt_accepts_them() {
    xml_golden_edits::check_all(check_golden, check_with_libvirt);
}
