//! Tests of `osinfo`.

use super::*;

const DB: &str = "/usr/share/osinfo";

/// A package's files are missing: skip, except under HANGAR_REQUIRE_TESTBED (`make test`),
/// where tools/install-deps.sh should have installed them.
fn skip_without(what: &str) {
    if std::env::var_os("HANGAR_REQUIRE_TESTBED").is_some() {
        panic!("{what}: run tools/install-deps.sh");
    }
    eprintln!("skipped: {what}");
}

fn catalog() -> Option<Vec<OsEntry>> {
    let dir = Path::new(DB);
    if !dir.join("os").is_dir() {
        skip_without("osinfo-db is not installed (apt-get install osinfo-db)");
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

/// An image carrying only a volume label, as label-only detection saw every image.
fn labelled(volume_id: &str) -> IsoIdentity {
    IsoIdentity {
        volume_id: volume_id.to_owned(),
        ..IsoIdentity::default()
    }
}

fn write_db(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hangar-osinfo-{}-{name}", std::process::id()));
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
    let dir = write_db(
        "inheritance",
        &[
            ("a-1.xml", PARENT),
            ("a-2.xml", CHILD),
            ("broken.xml", "<libosinfo><os"),
        ],
    );
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
    let alpha_1 = MediaIds {
        volume_id: Some("^ALPHA 1".to_owned()),
        ..MediaIds::default()
    };
    assert_eq!(parent.media, vec![alpha_1]);
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
    let detect = |label| detect_from_iso(&labelled(label), &catalog).map(|e| e.short_id.as_str());
    assert_eq!(detect("ALPHA 1.9 x86"), Some("a2"));
    assert_eq!(detect("ALPHA 1.0 x86"), Some("a1"));
    assert_eq!(detect("ALPHA-ARM"), None);
    assert_eq!(detect(""), None);
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

/// Servers from two vendors whose ISO images share the label `ISOIMAGE`, told apart by their
/// publisher and size; a system recognised without a label; and case and anchoring.
const SHARED_LABEL: &str = r#"<libosinfo version="0.0.1">
  <os id="http://example.org/beta/1">
    <short-id>beta1</short-id><name>Beta 1</name><release-date>2019-01-01</release-date>
    <media arch="x86_64"><iso><volume-id>ISOIMAGE</volume-id>
      <publisher-id>BETA TEAM</publisher-id><volume-size>4096</volume-size></iso></media>
  </os>
  <os id="http://example.org/gamma/1">
    <short-id>gamma1</short-id><name>Gamma 1</name><release-date>2020-01-01</release-date>
    <media arch="x86_64"><iso><volume-id>ISOIMAGE</volume-id>
      <system-id>LINUX</system-id><application-id>^GAMMA</application-id></iso></media>
  </os>
  <os id="http://example.org/delta/1">
    <short-id>delta1</short-id><name>Delta 1</name><release-date>2023-01-01</release-date>
    <media arch="x86_64"><iso><volume-id>ISOIMAGE</volume-id></iso></media>
  </os>
  <os id="http://example.org/old/1">
    <short-id>old1</short-id><name>Old 1</name>
    <media arch="i686"><iso><system-id>LINUX</system-id><application-id>OLD</application-id>
      <volume-size>2048</volume-size></iso></media>
    <media arch="x86_64"><iso><l10n-language>en</l10n-language></iso></media>
  </os>
</libosinfo>"#;

#[test]
fn every_identifier_a_medium_gives_must_match() {
    let dir = write_db("shared-label", &[("shared.xml", SHARED_LABEL)]);
    let catalog = load_catalog(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let beta = find(&catalog, "beta1");
    assert_eq!(
        beta.media,
        vec![MediaIds {
            volume_id: Some("ISOIMAGE".into()),
            publisher_id: Some("BETA TEAM".into()),
            volume_size: Some(4096),
            ..MediaIds::default()
        }]
    );
    // A medium with no identifier recognises nothing, as in libosinfo.
    assert_eq!(find(&catalog, "old1").media.len(), 1);
    let detect = |iso: &IsoIdentity| detect_from_iso(iso, &catalog).map(|e| e.short_id.as_str());
    let beta_iso = IsoIdentity {
        volume_id: "ISOIMAGE".into(),
        publisher_id: "BETA TEAM".into(),
        volume_size: 4096,
        ..IsoIdentity::default()
    };
    assert_eq!(
        detect(&beta_iso),
        Some("beta1"),
        "more specific than Delta's"
    );
    let resized = IsoIdentity {
        volume_size: 8192,
        ..beta_iso.clone()
    };
    assert_eq!(detect(&resized), Some("delta1"), "Beta's size differs");
    let gamma_iso = IsoIdentity {
        system_id: "LINUX".into(),
        volume_id: "ISOIMAGE".into(),
        application_id: "GAMMA INSTALLER".into(),
        ..IsoIdentity::default()
    };
    assert_eq!(detect(&gamma_iso), Some("gamma1"));
    let lower_case = IsoIdentity {
        application_id: "gamma installer".into(),
        ..gamma_iso.clone()
    };
    assert_eq!(
        detect(&lower_case),
        Some("delta1"),
        "patterns are case-sensitive"
    );
    let not_at_start = IsoIdentity {
        application_id: "NOT GAMMA".into(),
        ..gamma_iso.clone()
    };
    assert_eq!(detect(&not_at_start), Some("delta1"), "anchored as written");
    // Unanchored patterns match anywhere, as GLib's do.
    assert_eq!(detect(&labelled("MY ISOIMAGE 2")), Some("delta1"));
    let old_iso = IsoIdentity {
        system_id: "LINUX".into(),
        volume_id: "OLD DISC".into(),
        application_id: "OLD".into(),
        volume_size: 2048,
        ..IsoIdentity::default()
    };
    assert_eq!(detect(&old_iso), Some("old1"), "no volume-id to match");
    assert_eq!(detect(&labelled("OLD DISC")), None);

    // The same label from another vendor: only the label-only medium takes it.
    let ipxe_like = IsoIdentity {
        volume_id: "ISOIMAGE".into(),
        publisher_id: "HTTP://IPXE.ORG/".into(),
        volume_size: 4096,
        ..IsoIdentity::default()
    };
    assert_eq!(detect(&ipxe_like), Some("delta1"));
    let without_delta: Vec<OsEntry> = catalog
        .iter()
        .filter(|entry| entry.short_id != "delta1")
        .cloned()
        .collect();
    assert!(detect_from_iso(&ipxe_like, &without_delta).is_none());
    // An identifier the image leaves empty matches no pattern.
    let unpublished = IsoIdentity {
        publisher_id: String::new(),
        ..beta_iso
    };
    assert!(detect_from_iso(&unpublished, &without_delta).is_none());
}

#[test]
fn real_images_are_detected() {
    let Some(catalog) = catalog() else { return };
    let detect = |iso: &IsoIdentity| detect_from_iso(iso, &catalog).map(|e| e.short_id.as_str());
    let linux = |volume_id: &str| IsoIdentity {
        system_id: "LINUX".into(),
        volume_id: volume_id.into(),
        ..IsoIdentity::default()
    };
    assert_eq!(detect(&linux("Fedora-WS-Live-37-1-7")), Some("fedora37"));
    assert_eq!(detect(&linux("Fedora-S-dvd-x86_64-37")), Some("fedora37"));
    assert_eq!(detect(&linux("Debian 11.5.0 amd64 n")), Some("debian11"));
    assert_eq!(
        detect(&linux("Ubuntu 22.04.1 LTS amd64")),
        Some("ubuntu22.04")
    );
    let windows = IsoIdentity {
        volume_id: "CCCOMA_X64FRE_EN-US_DV9".into(),
        publisher_id: "MICROSOFT CORPORATION".into(),
        application_id: "CDIMAGE 2.56 (01/01/2005 TM)".into(),
        volume_size: 5_300_000_768,
        ..IsoIdentity::default()
    };
    // Windows 10 and 11 share this medium: the newer wins.
    assert_eq!(detect(&windows), Some("win11"));
    assert_eq!(
        detect(&labelled("CCCOMA_X64FRE_EN-US_DV9")),
        None,
        "no publisher"
    );
    assert_eq!(detect(&labelled("no such label")), None);
    assert_eq!(detect(&labelled("")), None);
}

/// iPXE's image is labelled `ISOIMAGE` like ALT Linux 8.2 Server's, which osinfo-db tells
/// apart by its publisher: it is no system osinfo-db knows.
#[test]
fn ipxe_iso_is_no_known_system() {
    const IPXE_ISO: &str = "/usr/lib/ipxe/ipxe.iso";
    if !Path::new(IPXE_ISO).is_file() {
        skip_without(&format!("{IPXE_ISO} is missing (apt-get install ipxe)"));
        return;
    }
    let iso = iso9660_identity(Path::new(IPXE_ISO)).unwrap();
    assert_eq!(iso.volume_id, "ISOIMAGE");
    assert_eq!(iso.publisher_id, "HTTP://IPXE.ORG/");
    assert!(iso.application_id.starts_with("IPXE"), "{iso:?}");
    let Some(catalog) = catalog() else { return };
    let shares_label = catalog.iter().any(|entry| {
        entry
            .media
            .iter()
            .any(|media| media.volume_id.as_deref() == Some("ISOIMAGE"))
    });
    assert!(shares_label, "osinfo-db has a medium labelled ISOIMAGE");
    let detected = detect_from_iso(&iso, &catalog).map(|entry| entry.name.as_str());
    assert_eq!(detected, None);
}

/// Type, identifier, version 1. (Byte-string escapes would trip xgettext's C lexer.)
fn descriptor_start(kind: u8, identifier: &[u8; 5]) -> Vec<u8> {
    [&[kind][..], identifier, &[1]].concat()
}

/// An image's first `ISO_IDENTITY_BYTES` with `descriptor` in sector 16, its identifier fields
/// padded with spaces and 1000 blocks of 2048 bytes.
fn iso_image(descriptor: &[u8], ids: [&str; 4]) -> Vec<u8> {
    let mut image = vec![0; ISO_IDENTITY_BYTES];
    let sector = &mut image[16 * 2048..];
    sector[..descriptor.len()].copy_from_slice(descriptor);
    let fields = [8..40, 40..72, 318..446, 574..702];
    for (field, text) in fields.into_iter().zip(ids) {
        sector[field.clone()].fill(b' ');
        sector[field.start..field.start + text.len()].copy_from_slice(text.as_bytes());
    }
    // Both-endian: little-endian, then big-endian.
    sector[80..88].copy_from_slice(&[0xe8, 0x03, 0, 0, 0, 0, 0x03, 0xe8]);
    sector[128..132].copy_from_slice(&[0, 0x08, 0x08, 0]);
    image
}

const FEDORA_IDS: [&str; 4] = [
    "LINUX",
    "Fedora-WS-Live-37-1-7",
    "FEDORA PROJECT",
    "GENISOIMAGE ISO 9660/HFS FILESYSTEM CREATOR",
];

#[test]
fn iso_identities_are_read_from_the_primary_descriptor() {
    let image = iso_image(&descriptor_start(1, b"CD001"), FEDORA_IDS);
    let fedora = IsoIdentity {
        system_id: "LINUX".into(),
        volume_id: "Fedora-WS-Live-37-1-7".into(),
        publisher_id: "FEDORA PROJECT".into(),
        application_id: "GENISOIMAGE ISO 9660/HFS FILESYSTEM CREATOR".into(),
        volume_size: 1000 * 2048,
    };
    assert_eq!(identity_from_bytes(&image).unwrap(), fedora);
    let path = std::env::temp_dir().join(format!("hangar-label-{}.iso", std::process::id()));
    std::fs::write(&path, &image).unwrap();
    assert_eq!(iso9660_identity(&path).unwrap(), fedora);
    std::fs::write(&path, b"short").unwrap();
    assert_eq!(iso9660_identity(&path), Err(IsoError::NotIso));
    let _ = std::fs::remove_file(&path);
    // Unset fields are empty; a NUL ends a field early, as libosinfo reads it.
    let mut sparse = iso_image(&descriptor_start(1, b"CD001"), ["", "DATA", "", ""]);
    sparse[16 * 2048 + 40 + 2] = 0;
    assert_eq!(
        identity_from_bytes(&sparse).unwrap(),
        IsoIdentity {
            volume_id: "DA".into(),
            volume_size: 1000 * 2048,
            ..IsoIdentity::default()
        }
    );
    let udf = iso_image(&descriptor_start(0, b"BEA01"), FEDORA_IDS);
    assert_eq!(identity_from_bytes(&udf), Err(IsoError::NotIso));
    let supplementary = iso_image(&descriptor_start(2, b"CD001"), FEDORA_IDS);
    assert_eq!(identity_from_bytes(&supplementary), Err(IsoError::NotIso));
    assert_eq!(identity_from_bytes(&image[..100]), Err(IsoError::NotIso));
    assert_eq!(
        identity_from_bytes(&image[..ISO_IDENTITY_BYTES - 1]),
        Err(IsoError::NotIso)
    );
    assert!(matches!(
        iso9660_identity(Path::new("/nonexistent.iso")),
        Err(IsoError::Unreadable(_))
    ));
}

/// An ISO made by xorriso (tools/install-deps.sh installs it), read back.
#[test]
fn xorriso_output_is_an_iso() {
    let dir = std::env::temp_dir().join(format!("hangar-iso-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let iso = dir.with_extension("iso");
    let output = std::process::Command::new("xorriso")
        .args([
            "-as",
            "mkisofs",
            "-quiet",
            "-V",
            "HANGAR_TEST",
            "-sysid",
            "LINUX",
        ])
        .args(["-publisher", "HANGAR", "-A", "HANGAR TESTS", "-o"])
        .arg(&iso)
        .arg(&dir)
        .output()
        .expect("run xorriso (package xorriso, from tools/install-deps.sh)");
    assert!(
        output.status.success(),
        "xorriso failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let identity = iso9660_identity(&iso).unwrap();
    assert_eq!(
        (
            identity.system_id.as_str(),
            identity.volume_id.as_str(),
            identity.publisher_id.as_str(),
            identity.application_id.as_str()
        ),
        ("LINUX", "HANGAR_TEST", "HANGAR", "HANGAR TESTS")
    );
    let size = std::fs::metadata(&iso).unwrap().len();
    assert!(identity.volume_size > 0 && identity.volume_size <= size);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&iso);
}
