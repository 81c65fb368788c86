//! Device edits, compared with before/after pairs under tests/golden/device-edit/: for each
//! kind of device an add, an edit and a remove, on a domain written by virt-manager (with the
//! `<address>` elements libvirt assigned) and on a running machine's live XML (with
//! `<alias>`). Besides the golden comparison every case proves that nothing outside the
//! device changed by a byte, that every address and alias libvirt wrote is still there, that
//! the result reads back as edited, and that libvirt's schema and its test driver accept it.
//!
//! `UPDATE_GOLDEN=1 cargo test --test xml_golden_devices` rewrites the files; review the diff.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hangar::backend::domain::device_list::{
    read_devices, DeviceClass, DeviceSettings, FilesystemSettings, NicSettings, NicSource,
};
use hangar::backend::domain::devices::DeviceKey;
use hangar::backend::xml::device_xml::{
    add_device, device_element, edit_device, edit_element, generate_mac, new_device_xml,
    next_target_dev, remove_device,
};

#[path = "xml_golden_devices/cases.rs"]
mod cases;

use cases::{Case, Op};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/device-edit")
}

fn source(name: &str) -> String {
    let path = golden_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()))
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

/// libvirt's schema and its parser on the test driver, as tests/xml_golden.rs does.
fn check_with_libvirt(name: &str, xml: &str) {
    let test_domain = xml
        .replacen("<domain type='kvm'", "<domain type='test'", 1)
        .replacen("<domain type='qemu' id='7'", "<domain type='test'", 1);
    let file = std::env::temp_dir().join(format!(
        "hangar-device-golden-{}-{name}.xml",
        std::process::id()
    ));
    std::fs::write(&file, &test_domain).expect("write temp XML");
    let runs: [(&str, &[&str]); 2] = [
        ("virt-xml-validate", &[]),
        ("virsh", &["-q", "-c", "test:///default", "define"]),
    ];
    for (program, args) in runs {
        if !common::have_program(program) {
            continue;
        }
        let output = Command::new(program)
            .args(args)
            .arg(&file)
            .output()
            .expect("run libvirt tool");
        assert!(
            output.status.success(),
            "{name}: {program} refused the XML: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_file(&file);
}

/// The `<address>` and `<alias>` elements of `xml` outside `skip`, as written.
fn assigned(xml: &str, skip: Option<std::ops::Range<usize>>) -> Vec<String> {
    let document = roxmltree::Document::parse(xml).expect("XML");
    document
        .descendants()
        .filter(|node| node.has_tag_name("address") || node.has_tag_name("alias"))
        // Host addresses inside <source> are settings, not what libvirt assigned.
        .filter(|node| !node.parent().is_some_and(|p| p.has_tag_name("source")))
        .filter(|node| {
            skip.as_ref()
                .map_or(true, |skip| !skip.contains(&node.range().start))
        })
        .map(|node| xml[node.range()].to_owned())
        .collect()
}

fn key_in(xml: &str, range_start: usize) -> DeviceKey {
    read_devices(xml)
        .expect("reads")
        .into_iter()
        .find(|device| device.range.start == range_start)
        .expect("a device starts there")
        .key
}

fn run(case: &Case) {
    let before = source(case.source);
    let devices = read_devices(&before).expect("source reads");
    let after = match &case.op {
        Op::Add(class, settings) => {
            let element = new_device_xml(class, settings)
                .unwrap_or_else(|error| panic!("{}: {error}", case.name));
            let after = add_device(&before, &element).expect("add");
            let added = read_devices(&after)
                .expect("after reads")
                .into_iter()
                .find(|device| {
                    !devices
                        .iter()
                        .any(|old| old.range.start == device.range.start && old.xml == device.xml)
                })
                .unwrap_or_else(|| panic!("{}: the device is not in the result", case.name));
            assert_eq!(&added.class, class, "{}", case.name);
            assert_eq!(
                &added.settings, settings,
                "{}: reads back differently",
                case.name
            );
            assert_eq!(
                added.xml.lines().map(str::trim).collect::<Vec<_>>(),
                element.lines().map(str::trim).collect::<Vec<_>>(),
                "{}: the domain got other XML than libvirt is given",
                case.name
            );
            // Everything before and after the new element is as it was.
            assert_eq!(
                format!(
                    "{}{}",
                    &after[..added.range.start],
                    &after[added.range.end..]
                )
                .replace(char::is_whitespace, ""),
                before.replace(char::is_whitespace, ""),
                "{}: bytes outside the new device changed",
                case.name
            );
            assert_eq!(
                assigned(&after, None),
                assigned(&before, None),
                "{}",
                case.name
            );
            after
        }
        Op::Edit(key, change) => {
            let device = devices
                .iter()
                .find(|device| device.key == *key)
                .unwrap_or_else(|| panic!("{}: no {key:?}", case.name));
            let mut settings = device.settings.clone();
            change(&mut settings);
            assert_ne!(
                settings, device.settings,
                "{}: the edit changes nothing",
                case.name
            );
            let after = edit_device(&before, key, &settings)
                .unwrap_or_else(|error| panic!("{}: {error}", case.name));
            let tail = before.len() - device.range.end;
            let end = after.len() - tail;
            assert_eq!(
                after[..device.range.start],
                before[..device.range.start],
                "{}",
                case.name
            );
            assert_eq!(after[end..], before[device.range.end..], "{}", case.name);
            let new_key = key_in(&after, device.range.start);
            let edited = device_element(&after, &new_key).expect("element");
            assert_eq!(
                edit_element(&device.xml, &settings).expect("element edit"),
                edited,
                "{}: the element given to update differs from the saved one",
                case.name
            );
            let reread = read_devices(&after).expect("after reads");
            let reread = reread.iter().find(|d| d.key == new_key).expect("device");
            assert_eq!(
                reread.settings, settings,
                "{}: reads back differently",
                case.name
            );
            assert_eq!(
                edit_device(&after, &new_key, &settings).expect("again"),
                after,
                "{}: writing the same edit twice changes more",
                case.name
            );
            let expected_kept = if case.drops_address {
                assert!(!edited.contains("<address"), "{}: {edited}", case.name);
                assigned(&before, Some(device.range.clone()))
            } else {
                assigned(&before, None)
            };
            assert_eq!(assigned(&after, None), expected_kept, "{}", case.name);
            after
        }
        Op::Remove(key) => {
            let device = devices
                .iter()
                .find(|device| device.key == *key)
                .unwrap_or_else(|| panic!("{}: no {key:?}", case.name));
            // What detach is given: the element exactly as written, libvirt's address too.
            let element = device_element(&before, key).expect("element");
            assert_eq!(element, before[device.range.clone()], "{}", case.name);
            let after = remove_device(&before, key).expect("remove");
            assert!(read_devices(&after)
                .expect("reads")
                .iter()
                .all(|d| d.key != *key || key.id.starts_with('#')));
            assert_eq!(
                assigned(&after, None),
                assigned(&before, Some(device.range.clone())),
                "{}: other devices' addresses changed",
                case.name
            );
            after
        }
    };
    check_golden(case.name, &after);
    check_with_libvirt(case.name, &after);
}

#[test]
fn device_edits_match_golden_files_keep_assigned_addresses_and_libvirt_accepts_them() {
    let all = cases::all();
    for case in &all {
        run(case);
    }
    // Every kind the page adds, edits and removes has its case.
    for kind in [
        "disk",
        "cdrom",
        "nic",
        "hostdev-usb",
        "hostdev-pci",
        "filesystem",
        "tpm",
        "rng",
        "watchdog",
        "sound",
        "video",
        "channel",
        "input",
        "serial",
        "console",
    ] {
        for op in ["add", "edit", "remove"] {
            let prefix = format!("{op}-{kind}");
            if op == "edit" && matches!(kind, "input" | "serial" | "console") {
                continue; // added and removed only
            }
            assert!(
                all.iter().any(|case| case.name.starts_with(&prefix)),
                "no case {prefix}"
            );
        }
    }
}

#[test]
fn new_names_follow_the_domains_devices() {
    let before = source("source-virt-manager.xml");
    let devices = read_devices(&before).expect("reads");
    let targets: Vec<String> = devices
        .iter()
        .filter_map(|d| match &d.settings {
            DeviceSettings::Disk(disk) => Some(disk.target_dev.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(next_target_dev("virtio", &targets), "vdb");
    assert_eq!(next_target_dev("sata", &targets), "sdb");
    let macs: Vec<String> = devices
        .iter()
        .filter(|d| d.class == DeviceClass::Nic)
        .map(|d| d.key.id.clone())
        .collect();
    assert!(!macs.contains(&generate_mac(1, &macs)));
    // A refused value never reaches the XML.
    let bad = DeviceSettings::Nic(NicSettings {
        source: NicSource::Network("default".into()),
        model: Some("virtio".into()),
        mac: "01:00:5e:00:00:01".into(),
        link_up: true,
    });
    assert!(new_device_xml(&DeviceClass::Nic, &bad).is_err());
    let relative = DeviceSettings::Filesystem(FilesystemSettings {
        source_dir: "srv/nas".into(),
        target_tag: "nas".into(),
        driver: None,
    });
    assert!(new_device_xml(&DeviceClass::Filesystem, &relative).is_err());
}
