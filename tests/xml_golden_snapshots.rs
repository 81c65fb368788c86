//! The `<domainsnapshot>` XML Hangar gives `virDomainSnapshotCreateXML`, compared with files
//! under tests/golden/ and, when `virt-xml-validate` is installed, checked against libvirt's
//! own domainsnapshot schema.
//!
//! `UPDATE_GOLDEN=1 cargo test --test xml_golden_snapshots` rewrites the files; review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use hangar::backend::xml::snapshot::{
    snapshot_xml, DiskSnapshot, MemorySnapshot, SnapshotMode, SnapshotSpec,
};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check_golden(name: &str, xml: &str) {
    let path = golden_dir().join(format!("{name}.xml"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|value| value == "1") {
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

/// libvirt's schema for snapshots accepts it (skipped without virt-xml-validate).
fn check_schema(name: &str, xml: &str) {
    let file = std::env::temp_dir().join(format!(
        "hangar-snapshot-golden-{}-{name}.xml",
        std::process::id()
    ));
    std::fs::write(&file, xml).expect("write XML");
    let result = Command::new("virt-xml-validate")
        .arg(&file)
        .arg("domainsnapshot")
        .output();
    let _ = std::fs::remove_file(&file);
    match result {
        Ok(output) => assert!(
            output.status.success(),
            "{name}: libvirt's schema refuses it: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => eprintln!("virt-xml-validate is not installed; schema check skipped"),
    }
}

fn disks(mode: SnapshotMode) -> Vec<DiskSnapshot> {
    vec![
        DiskSnapshot {
            target: "vda".into(),
            mode: Some(mode),
        },
        DiskSnapshot {
            target: "sda".into(),
            mode: None,
        },
    ]
}

fn spec(memory: MemorySnapshot, mode: SnapshotMode) -> SnapshotSpec {
    SnapshotSpec {
        name: "before upgrade & \"reboot\" <α>".into(),
        description: "Kernel 6.8 → 6.9\nsecond line".into(),
        memory,
        disks: disks(mode),
    }
}

#[test]
fn snapshot_xml_matches_the_golden_files_and_libvirts_schema() {
    let cases = [
        (
            "snapshot-internal-memory",
            spec(MemorySnapshot::Internal, SnapshotMode::Internal),
        ),
        (
            "snapshot-internal-disk-only",
            spec(MemorySnapshot::None, SnapshotMode::Internal),
        ),
        (
            "snapshot-external-memory",
            spec(
                MemorySnapshot::External("/var/lib/libvirt/images/web.before.mem".into()),
                SnapshotMode::External,
            ),
        ),
        (
            "snapshot-external-disk-only",
            spec(MemorySnapshot::None, SnapshotMode::External),
        ),
    ];
    for (name, spec) in cases {
        let xml = snapshot_xml(&spec);
        check_golden(name, &xml);
        check_schema(name, &xml);
        let parsed = roxmltree::Document::parse(&xml).expect("well-formed");
        let text = |tag: &str| {
            parsed
                .descendants()
                .find(|node| node.has_tag_name(tag))
                .and_then(|node| node.text())
                .map(str::to_owned)
        };
        assert_eq!(text("name"), Some(spec.name.clone()), "{name}");
        assert_eq!(
            text("description"),
            Some(spec.description.clone()),
            "{name}"
        );
    }
}
