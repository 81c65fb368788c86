//! Tests of `domain`.

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
        password: Some("123456789".into()),
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
    spec.console.password = Some("".into());
    assert!(!domain_xml(&spec).unwrap().contains("passwd"));
    spec.console.password = Some("s&cret".into());
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
