//! Tests of `new_vm_form`.

use super::*;
use crate::backend::create::{NetworkFacts, PoolFacts, VolumeFacts};
use crate::backend::osinfo::OsEntry;
use crate::backend::password::Password;

const GIB: u64 = 1024 * 1024 * 1024;

fn facts() -> CreationFacts {
    let volume = |name: &str| VolumeFacts {
        name: name.to_owned(),
        path: format!("/srv/isos/{name}"),
        capacity_bytes: GIB,
    };
    CreationFacts {
        memory_mib: 8192,
        cpus: 4,
        domain_names: vec!["vm".to_owned(), "web".to_owned()],
        pools: vec![
            PoolFacts {
                name: "isos".to_owned(),
                active: true,
                target_path: "/srv/isos".to_owned(),
                available_bytes: 2 * GIB,
                volumes: vec![volume("notes.txt"), volume("debian.iso")],
            },
            PoolFacts {
                name: "default".to_owned(),
                active: true,
                target_path: "/var/lib/libvirt/images".to_owned(),
                available_bytes: 100 * GIB,
                volumes: vec![volume("web.qcow2"), volume("ipxe.iso")],
            },
            PoolFacts {
                name: "stopped".to_owned(),
                active: false,
                ..PoolFacts::default()
            },
        ],
        networks: vec![
            NetworkFacts {
                name: "lab".to_owned(),
                active: true,
                subnet: None,
            },
            NetworkFacts {
                name: "default".to_owned(),
                active: false,
                subnet: None,
            },
        ],
        has_kvm: true,
        has_uefi: true,
    }
}

fn form() -> NewVmForm {
    NewVmForm {
        name: "web2".to_owned(),
        ..NewVmForm::for_host(&facts(), "qemu:///system")
    }
}

fn fields(errors: &[VmFieldError]) -> Vec<VmField> {
    errors.iter().map(|error| error.field).collect()
}

#[test]
fn a_new_form_takes_the_hosts_defaults() {
    let form = NewVmForm::for_host(&facts(), "qemu+tcp://nas.local/system");
    assert_eq!(form.source, SourceKind::PoolIso);
    assert_eq!(
        form.pool_iso,
        Some(PoolVolume {
            pool: "isos".into(),
            volume: "debian.iso".into(),
            path: "/srv/isos/debian.iso".into(),
        })
    );
    assert_eq!(form.upload_pool, "default");
    assert_eq!(form.disk_pool, "default");
    assert_eq!(form.network, NetworkKind::Virtual);
    assert_eq!(form.virtual_network, "default");
    assert_eq!(form.domain_type, DomainType::Kvm);
    assert_eq!(form.vnc_listen, "0.0.0.0");
}

#[test]
fn a_bare_host_gets_a_local_file_no_network_and_emulation() {
    let bare = CreationFacts {
        pools: vec![PoolFacts {
            name: "isos".into(),
            active: true,
            ..PoolFacts::default()
        }],
        ..CreationFacts::default()
    };
    let form = NewVmForm::for_host(&bare, "qemu:///system");
    assert_eq!(form.source, SourceKind::LocalIso);
    assert_eq!(form.upload_pool, "isos");
    assert_eq!(form.network, NetworkKind::None);
    assert_eq!(form.domain_type, DomainType::Qemu);
    assert_eq!(form.vnc_listen, "127.0.0.1");
}

#[test]
fn pool_iso_becomes_a_cdrom_volume_and_a_new_disk() {
    let spec = form().spec();
    assert_eq!(spec.name, "web2");
    assert_eq!(
        spec.install,
        InstallSource::IsoVolume {
            pool: "isos".into(),
            volume: "debian.iso".into(),
            path: "/srv/isos/debian.iso".into(),
        }
    );
    assert_eq!(
        spec.storage,
        StorageChoice::NewVolume {
            pool: "default".into(),
            name: "web2.qcow2".into(),
            size_gib: 20,
            format: VolumeFormat::Qcow2,
        }
    );
    assert_eq!(
        spec.network,
        NetworkChoice::Virtual {
            name: "default".into()
        }
    );
    assert_eq!(form().upload(), None);
}

#[test]
fn new_disk_and_upload_names_do_not_clash_with_the_pool() {
    let form = NewVmForm {
        name: "web".into(),
        source: SourceKind::LocalIso,
        local_iso_path: "/home/me/Downloads/ipxe.iso".into(),
        ..form()
    };
    let volume = form.new_volume().expect("a new disk");
    assert_eq!(volume.pool, "default");
    assert!(
        volume.xml.contains("<name>web-2.qcow2</name>"),
        "{}",
        volume.xml
    );
    assert_eq!(
        form.upload(),
        Some(Upload {
            local_path: "/home/me/Downloads/ipxe.iso".into(),
            pool: "default".into(),
            volume: "ipxe-2.iso".into(),
        })
    );
    let in_isos = NewVmForm {
        upload_pool: "isos".into(),
        ..form
    };
    assert_eq!(in_isos.upload_volume_name(), "ipxe.iso");
}

#[test]
fn local_iso_problems_show_on_the_source_page() {
    let form = NewVmForm {
        source: SourceKind::LocalIso,
        local_iso_path: "/tmp/notes.txt".into(),
        local_iso_check: LocalIsoCheck::Problem("The file is not an ISO image.".into()),
        ..form()
    };
    let limits = host_limits(&facts());
    assert_eq!(fields(&form.errors(&limits)), vec![VmField::InstallSource]);
    assert!(!form.page_is_complete(WizardPage::Source, &limits));
    assert!(form.page_is_complete(WizardPage::Resources, &limits));
    assert!(!form.page_is_complete(WizardPage::Review, &limits));

    let checking = NewVmForm {
        local_iso_check: LocalIsoCheck::Checking,
        ..form.clone()
    };
    assert!(checking.errors(&limits).is_empty());
    assert!(!checking.page_is_complete(WizardPage::Source, &limits));
    let iso = NewVmForm {
        local_iso_check: LocalIsoCheck::Iso(IsoIdentity {
            volume_id: "ISOIMAGE".into(),
            ..IsoIdentity::default()
        }),
        ..form
    };
    assert!(iso.page_is_complete(WizardPage::Source, &limits));
    assert_eq!(
        iso.iso_identity()
            .map(|identity| identity.volume_id.as_str()),
        Some("ISOIMAGE")
    );
}

#[test]
fn host_limits_reach_the_right_pages() {
    let limits = host_limits(&facts());
    let form = NewVmForm {
        name: "web".into(),
        memory_mib: 9000,
        disk_size_gib: 200,
        ..form()
    };
    let errors = form.errors(&limits);
    assert_eq!(
        fields(&errors),
        vec![VmField::Name, VmField::Memory, VmField::DiskSize]
    );
    let pages: Vec<WizardPage> = errors.iter().map(|e| WizardPage::of(e.field)).collect();
    assert_eq!(
        pages,
        vec![
            WizardPage::Details,
            WizardPage::Resources,
            WizardPage::Storage
        ]
    );
    assert!(form.page_is_complete(WizardPage::Source, &limits));
    assert!(!form.page_is_complete(WizardPage::Resources, &limits));
    assert!(!form.page_is_complete(WizardPage::Storage, &limits));
    assert!(!form.page_is_complete(WizardPage::Details, &limits));
}

#[test]
fn urls_must_be_http() {
    let limits = host_limits(&facts());
    let with_url = |url: &str| NewVmForm {
        source: SourceKind::Url,
        url: url.into(),
        ..form()
    };
    let bad = with_url("ftp://mirror/debian.iso");
    assert_eq!(fields(&bad.errors(&limits)), vec![VmField::InstallSource]);
    let good = with_url(" https://cdimage.debian.org/debian-12.iso ");
    assert!(good.errors(&limits).is_empty());
    assert_eq!(
        good.spec().install,
        InstallSource::NetworkTree {
            url: "https://cdimage.debian.org/debian-12.iso".into()
        }
    );
}

#[test]
fn an_imported_disk_is_the_only_disk() {
    let form = NewVmForm {
        source: SourceKind::Import,
        import_path: "/var/lib/libvirt/images/cloud.qcow2".into(),
        disk: DiskKind::New,
        ..form()
    };
    let spec = form.spec();
    assert_eq!(
        spec.install,
        InstallSource::ImportDisk {
            path: "/var/lib/libvirt/images/cloud.qcow2".into(),
            format: VolumeFormat::Qcow2,
        }
    );
    assert_eq!(spec.storage, StorageChoice::None);
    assert_eq!(form.new_volume(), None);
}

#[test]
fn other_disks_bridges_and_consoles() {
    let form = NewVmForm {
        source: SourceKind::Pxe,
        disk: DiskKind::Existing,
        existing_disk_path: "/dev/vg0/web".into(),
        network: NetworkKind::Bridge,
        bridge: " br0 ".into(),
        uefi: true,
        secure_boot: true,
        vnc_password: "secret".into(),
        domain_type: DomainType::Qemu,
        ..form()
    };
    let spec = form.spec();
    assert_eq!(spec.install, InstallSource::Pxe);
    assert_eq!(
        spec.storage,
        StorageChoice::ExistingVolume {
            path: "/dev/vg0/web".into(),
            format: VolumeFormat::Raw,
        }
    );
    assert_eq!(spec.network, NetworkChoice::Bridge { name: "br0".into() });
    assert_eq!(spec.firmware, Firmware::Uefi { secure_boot: true });
    assert_eq!(
        spec.console.password.as_ref().map(Password::expose),
        Some("secret")
    );
    assert_eq!(spec.domain_type, DomainType::Qemu);
    let no_password = NewVmForm {
        network: NetworkKind::Macvtap,
        macvtap_device: "eth0".into(),
        vnc_password: Password::default(),
        ..form
    };
    let spec = no_password.spec();
    assert_eq!(spec.console.password, None);
    assert_eq!(
        spec.network,
        NetworkChoice::Macvtap {
            device: "eth0".into()
        }
    );
}

#[test]
fn empty_fields_wait_for_the_user() {
    let form = NewVmForm {
        source: SourceKind::Url,
        name: String::new(),
        network: NetworkKind::Bridge,
        ..form()
    };
    assert!(form.is_blank(VmField::InstallSource));
    assert!(form.is_blank(VmField::Name));
    assert!(form.is_blank(VmField::Network));
    assert!(!form.is_blank(VmField::Memory));
    let typed = NewVmForm {
        url: "h".into(),
        ..form
    };
    assert!(!typed.is_blank(VmField::InstallSource));
}

#[test]
fn a_system_brings_its_hardware() {
    let windows = OsEntry {
        short_id: "win11".into(),
        id: "http://microsoft.com/win/11".into(),
        name: "Microsoft Windows 11".into(),
        family: "winnt".into(),
        efi_required: true,
        needs_tpm: true,
        ..OsEntry::default()
    };
    let mut form = form();
    form.apply_os(&windows, true);
    assert_eq!(form.os.short_id, "win11");
    assert!(form.uefi && form.secure_boot && form.tpm);
    assert_eq!(form.disk_bus, DiskBus::Sata);
    assert_eq!(form.nic_model, NicModel::E1000e);
    form.apply_os(&windows, false);
    assert!(!form.uefi, "no UEFI where the host has none");
    form.apply_os(&OsEntry::generic(), true);
    assert!(!form.uefi && !form.tpm);
    assert_eq!(form.memory_mib, 2048);
}

#[test]
fn machine_names_are_new() {
    let taken = vec![
        "vm".to_owned(),
        "fedora39".to_owned(),
        "fedora39-2".to_owned(),
    ];
    assert_eq!(default_vm_name(&OsChoice::generic(), &taken), "vm-2");
    let fedora = OsChoice {
        short_id: "fedora39".into(),
        ..OsChoice::generic()
    };
    assert_eq!(default_vm_name(&fedora, &taken), "fedora39-3");
    assert_eq!(default_vm_name(&fedora, &[]), "fedora39");
}

#[test]
fn file_names_are_numbered_before_the_extension() {
    let taken = vec!["a.iso".to_owned(), "a-2.iso".to_owned(), "b".to_owned()];
    assert_eq!(unique_file_name("a.iso", &taken), "a-3.iso");
    assert_eq!(unique_file_name("b", &taken), "b-2");
    assert_eq!(
        unique_file_name(".hidden", &[".hidden".into()]),
        ".hidden-2"
    );
    assert_eq!(unique_file_name("c.iso", &taken), "c.iso");
}

#[test]
fn consoles_listen_where_the_app_can_reach_them() {
    for (uri, listen) in [
        ("qemu:///system", "127.0.0.1"),
        ("qemu+ssh://root@nas/system", "127.0.0.1"),
        ("qemu+tcp://127.0.0.1:16509/system", "0.0.0.0"),
        ("qemu+tls://nas/system", "0.0.0.0"),
        ("qemu://nas/system", "0.0.0.0"),
        ("test:///default", "127.0.0.1"),
        ("not a uri", "127.0.0.1"),
    ] {
        assert_eq!(console_listen_for(uri), listen, "{uri}");
    }
}

#[test]
fn formats_and_sizes_in_words() {
    assert_eq!(format_from_path("/a/B.QCOW2"), VolumeFormat::Qcow2);
    assert_eq!(format_from_path("/a/b.img"), VolumeFormat::Raw);
    assert_eq!(memory_label(256), "256 MiB");
    assert_eq!(memory_label(2048), "2 GiB");
    assert_eq!(memory_label(1536), "1.5 GiB");
}
