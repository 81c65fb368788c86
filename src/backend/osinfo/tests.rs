//! Tests of `osinfo`.

use super::*;

const DB: &str = "/usr/share/osinfo";

fn catalog() -> Option<Vec<OsEntry>> {
    let dir = Path::new(DB);
    if !dir.join("os").is_dir() {
        eprintln!("skipped: osinfo-db is not installed (apt-get install osinfo-db)");
        return None;
    }
    Some(load_catalog(dir))
}

fn find<'a>(catalog: &'a [OsEntry], short_id: &str) -> &'a OsEntry {
    catalog
        .iter()
        .find(|entry| entry.short_ids().any(|id| id == short_id))
        .unwrap()
}

fn write_db(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "hangar-osinfo-{}-{}",
        std::process::id(),
        files.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("os/example.org")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join("os/example.org").join(name), text).unwrap();
    }
    dir
}

const PARENT: &str = r#"<libosinfo version="0.0.1"><os id="http://example.org/a/1">
    <short-id>a1</short-id><name>Alpha 1</name><name xml:lang="de">Alpha Eins</name>
    <family>linux</family><release-date>2020-01-01</release-date>
    <devices><device id="http://pcisig.com/pci/1af4/1001"/>
      <device id="http://pcisig.com/pci/1af4/1000"/></devices>
    <firmware arch="x86_64" type="efi"/>
    <resources arch="all"><minimum><ram>1073741824</ram><n-cpus>1</n-cpus></minimum>
      <recommended><ram>2147483648</ram><storage>21474836480</storage></recommended></resources>
    <media arch="x86_64"><iso><volume-id>^ALPHA 1</volume-id></iso></media>
    <media arch="aarch64"><iso><volume-id>^ALPHA-ARM</volume-id></iso></media>
  </os></libosinfo>"#;

const CHILD: &str = r#"<libosinfo version="0.0.1"><os id="http://example.org/a/2">
    <short-id>a2</short-id><short-id>alphatwo</short-id><name>Alpha 2 &amp; more</name>
    <family>linux</family><release-date>2022-01-01</release-date>
    <release-status>prerelease</release-status>
    <derives-from id="http://example.org/a/1"/>
    <devices><device id="http://pcisig.com/pci/1af4/1000" supported="false"/></devices>
    <resources arch="all" inherit="true"/>
    <media arch="x86_64"><iso><volume-id>^ALPHA 1\.9</volume-id></iso></media>
  </os></libosinfo>"#;

#[test]
fn inheritance_resolves_devices_firmware_and_resources() {
    let dir = write_db(&[
        ("a-1.xml", PARENT),
        ("a-2.xml", CHILD),
        ("broken.xml", "<libosinfo><os"),
    ]);
    let catalog = load_catalog(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(catalog.len(), 3, "two systems and generic");
    let child = find(&catalog, "alphatwo");
    assert_eq!(child.name, "Alpha 2 & more");
    assert_eq!(child.release_status, ReleaseStatus::Prerelease);
    assert!(child.virtio_block && !child.virtio_net && child.efi_supported);
    assert_eq!(child.recommended.storage_bytes, Some(20 * GIB));
    let parent = find(&catalog, "a1");
    assert_eq!(parent.name, "Alpha 1");
    assert_eq!(parent.volume_ids, vec!["^ALPHA 1".to_owned()]);
    let defaults = defaults_for(child);
    assert_eq!(
        defaults,
        OsDefaults {
            memory_mib: 2048,
            vcpus: 2,
            disk_gib: 20,
            disk_bus: DiskBus::Virtio,
            nic_model: NicModel::E1000e,
            firmware: Firmware::Bios,
            tpm: false,
        }
    );
    // Both patterns match; the longer one is the more specific.
    assert_eq!(
        detect_from_iso_label("ALPHA 1.9 x86", &catalog)
            .unwrap()
            .short_id,
        "a2"
    );
    assert_eq!(
        detect_from_iso_label("ALPHA 1.0 x86", &catalog)
            .unwrap()
            .short_id,
        "a1"
    );
    assert!(detect_from_iso_label("ALPHA-ARM", &catalog).is_none());
}

#[test]
fn generic_is_always_there() {
    let catalog = load_catalog(Path::new("/nonexistent/osinfo"));
    assert_eq!(catalog.len(), 1);
    assert!(catalog[0].is_generic());
    let defaults = defaults_for(&catalog[0]);
    assert_eq!(
        (defaults.memory_mib, defaults.disk_gib, defaults.disk_bus),
        (2048, 20, DiskBus::Sata)
    );
    assert_eq!(search(&catalog, "GENERIC").len(), 1);
}

#[test]
fn search_matches_every_word_newest_first() {
    let Some(catalog) = catalog() else { return };
    let found = search(&catalog, "fedora");
    assert!(found.len() > 30);
    let dates: Vec<_> = found
        .iter()
        .filter_map(|e| e.release_date.clone())
        .collect();
    assert!(dates.windows(2).all(|pair| pair[0] >= pair[1]));
    assert_eq!(search(&catalog, "WINDOWS 11")[0].short_id, "win11");
    assert_eq!(search(&catalog, "debianbullseye")[0].short_id, "debian11");
    assert!(search(&catalog, "no such system").is_empty());
}

#[test]
fn real_catalog_resolves_what_wizards_need() {
    let Some(catalog) = catalog() else { return };
    assert!(catalog.len() > 500);
    let win11 = defaults_for(find(&catalog, "win11"));
    assert_eq!(win11.firmware, Firmware::Uefi { secure_boot: true });
    assert!(win11.tpm);
    assert_eq!(
        (win11.memory_mib, win11.vcpus, win11.disk_gib),
        (4096, 2, 64)
    );
    // Windows has no virtio drivers in the box.
    assert_eq!(
        (win11.disk_bus, win11.nic_model),
        (DiskBus::Sata, NicModel::E1000e)
    );
    // Fedora 37 lists no devices itself: they come from Fedora 36 and older.
    let fedora = defaults_for(find(&catalog, "fedora37"));
    assert_eq!(
        (fedora.disk_bus, fedora.nic_model),
        (DiskBus::Virtio, NicModel::Virtio)
    );
    assert_eq!((fedora.memory_mib, fedora.disk_gib), (2048, 20));
    assert_eq!(fedora.firmware, Firmware::Bios);
    assert!(!fedora.tpm);
    let debian = find(&catalog, "debian11");
    assert!(debian.aliases.contains(&"debianbullseye".to_owned()));
    assert!(debian.virtio_block && debian.efi_supported);
}

#[test]
fn real_labels_are_detected() {
    let Some(catalog) = catalog() else { return };
    let detect = |label| detect_from_iso_label(label, &catalog).map(|e| e.short_id.as_str());
    assert_eq!(detect("Fedora-WS-Live-37-1-7"), Some("fedora37"));
    assert_eq!(detect("Fedora-S-dvd-x86_64-37"), Some("fedora37"));
    assert_eq!(detect("Debian 11.5.0 amd64 n"), Some("debian11"));
    assert_eq!(detect("Ubuntu 22.04.1 LTS amd64"), Some("ubuntu22.04"));
    assert_eq!(detect("CCCOMA_X64FRE_EN-US_DV9"), Some("win11"));
    assert_eq!(detect("no such label"), None);
    assert_eq!(detect("   "), None);
}

/// Type, identifier, version 1. (Byte-string escapes would trip xgettext's C lexer.)
fn descriptor_start(kind: u8, identifier: &[u8; 5]) -> Vec<u8> {
    [&[kind][..], identifier, &[1]].concat()
}

fn iso_image(descriptor: &[u8], label: &str) -> Vec<u8> {
    let mut image = vec![0; ISO_LABEL_BYTES];
    let sector = &mut image[ISO_DESCRIPTOR_OFFSET..];
    sector[..descriptor.len()].copy_from_slice(descriptor);
    sector[40..72].fill(b' ');
    sector[40..40 + label.len()].copy_from_slice(label.as_bytes());
    image
}

#[test]
fn iso_labels_are_read_from_the_primary_descriptor() {
    let image = iso_image(&descriptor_start(1, b"CD001"), "Fedora-WS-Live-37-1-7");
    assert_eq!(
        volume_label_from_bytes(&image).unwrap(),
        "Fedora-WS-Live-37-1-7"
    );
    let path = std::env::temp_dir().join(format!("hangar-label-{}.iso", std::process::id()));
    std::fs::write(&path, &image).unwrap();
    assert_eq!(
        iso9660_volume_label(&path).unwrap(),
        "Fedora-WS-Live-37-1-7"
    );
    std::fs::write(&path, b"short").unwrap();
    assert_eq!(iso9660_volume_label(&path), Err(IsoError::NotIso));
    let _ = std::fs::remove_file(&path);
    let udf = iso_image(&descriptor_start(0, b"BEA01"), "X");
    assert_eq!(volume_label_from_bytes(&udf), Err(IsoError::NotIso));
    assert_eq!(
        volume_label_from_bytes(&image[..100]),
        Err(IsoError::NotIso)
    );
    assert!(matches!(
        iso9660_volume_label(Path::new("/nonexistent.iso")),
        Err(IsoError::Unreadable(_))
    ));
}

#[test]
fn genisoimage_output_is_an_iso() {
    let dir = std::env::temp_dir().join(format!("hangar-iso-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let iso = dir.with_extension("iso");
    let made = ["xorriso", "genisoimage", "mkisofs"].iter().any(|tool| {
        let mut command = std::process::Command::new(tool);
        if *tool == "xorriso" {
            command.args(["-as", "mkisofs"]);
        }
        command
            .args(["-quiet", "-V", "HANGAR_TEST", "-o"])
            .arg(&iso)
            .arg(&dir)
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if made {
        assert_eq!(iso9660_volume_label(&iso).unwrap(), "HANGAR_TEST");
    } else {
        eprintln!("skipped: no xorriso, genisoimage or mkisofs");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&iso);
}
