//! The Devices section of the details page in the real app. On the test bed's QEMU guest:
//! every device has a named row, and its data disk is resized from the section while it
//! runs (`virsh domblkinfo`). On a running machine of the test's own with a CD-ROM and a
//! network card: the medium is ejected and the card's link set down, live and saved
//! (`virsh dumpxml` and `--inactive`). On the demo host: the section as people see it.

mod common;

use common::{atspi, click};

use std::time::Duration;

use common::RunningApp;

const MIB: u64 = 1 << 20;
const OWN: &str = "hangar-devui-test";
const NETWORK: &str = "hangar-devuinet";
const MAC: &str = "52:54:00:7e:11:01";
const OWN_VOLUME: &str = "hangar-devui-test.qcow2";

/// Runs xdotool (which tests/ui/atspi.py clicks with too).
fn xdotool(args: &[&str]) {
    let status = std::process::Command::new("xdotool")
        .args(args)
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool {args:?} failed");
}

/// Opens the details page of `domain` and its Devices section.
fn open_devices(
    args: &[&str],
    domain: &str,
) -> Option<(RunningApp, std::sync::MutexGuard<'static, ()>)> {
    let (app, turn) = RunningApp::start(args)?;
    app.wait_for_names(60, &["Overview", domain])
        .expect("the details page opens");
    click(&app.pid().to_string(), None, "Devices");
    let shown = app.wait_for_names(30, &["Add Device"]);
    let path = app.screenshot("domain-devices-opened");
    shown.unwrap_or_else(|error| {
        panic!(
            "the Devices section shows no Add button: {error}\n{}",
            path.display()
        )
    });
    Some((app, turn))
}

/// `Capacity` of `virsh domblkinfo --bytes`.
fn blk_capacity(domain: &str) -> u64 {
    let output = common::admin_virsh(&["domblkinfo", domain, "vda"]);
    output
        .lines()
        .find_map(|line| line.strip_prefix("Capacity:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no capacity in {output}"))
}

/// Puts the shared guest's disk back to 64 MiB however the test ends (QEMU shrinks the
/// empty qcow2 on request, as tests/disk_resize.rs does).
struct GuestDiskSize(String);

impl Drop for GuestDiskSize {
    fn drop(&mut self) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        let _ = std::process::Command::new("virsh")
            .args(["-q", "-c", &uri, "blockresize", &self.0, "vda", "64M"])
            .output();
    }
}

#[test]
fn the_guests_devices_are_listed_and_its_disk_grows_from_the_section() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _restore = GuestDiskSize(guest.clone());
    assert_eq!(
        blk_capacity(&guest),
        64 * MIB,
        "the test bed's disk starts at 64 MiB"
    );
    let Some((app, _turn)) =
        open_devices(&["--connect", &uri, "--show-domain-editor", &guest], &guest)
    else {
        return;
    };
    let pid = app.pid().to_string();
    let shown = app.wait_for_names(20, &["Disk vda", "Remove Disk vda", "Display"]);
    let path = app.screenshot("domain-devices-testbed");
    shown.unwrap_or_else(|error| panic!("rows missing: {error}\n{}", path.display()));

    click(&pid, None, "Disk vda");
    click(&pid, Some("push button"), "Resize Disk vda");
    app.wait_for_names(20, &["New size", "Unit"])
        .expect("the Resize dialog opens");
    // 64 MiB is no whole number of GiB: the dialog starts in MiB.
    click(&pid, Some("spin button"), "New size");
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", "80"]);
    atspi(&["key", "Tab"]);
    let dialog = app.screenshot("domain-devices-resize");
    click(&pid, Some("push button"), "Resize");
    let grown = common::wait_for(Duration::from_secs(20), || {
        (blk_capacity(&guest) == 80 * MIB).then_some(())
    });
    assert!(
        grown.is_some(),
        "virsh domblkinfo shows {} bytes, not 80 MiB\n{}\n{}",
        blk_capacity(&guest),
        dialog.display(),
        app.log()
    );
    let resized = app.screenshot("domain-devices-resized");
    println!(
        "screenshots {} {} {}",
        path.display(),
        dialog.display(),
        resized.display()
    );
}

/// A running machine of the test's own with a CD-ROM holding a medium and a network card
/// on a network of its own; removed when dropped.
struct OwnMachine {
    iso: std::path::PathBuf,
}

impl OwnMachine {
    fn start(pool: &str, pool_dir: &str) -> Self {
        Self::remove();
        common::admin_virsh(&["vol-create-as", pool, OWN_VOLUME, "8M", "--format", "qcow2"]);
        let dir = std::env::temp_dir();
        let iso = dir.join(format!("{OWN}-{}.iso", std::process::id()));
        std::fs::write(&iso, vec![0u8; MIB as usize]).expect("an image");
        let domain = format!(
            "<domain type='qemu'><name>{OWN}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type></os><features><acpi/></features><devices>\
             <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='sda' bus='sata'/><readonly/></disk>\
             <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{pool_dir}/{OWN_VOLUME}'/><target dev='sdb' bus='usb'/></disk>\
             <interface type='network'><mac address='{MAC}'/><source network='{NETWORK}'/>\
             <model type='virtio'/></interface>\
             <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>\
             <memballoon model='none'/></devices></domain>",
            iso.display()
        );
        let network = format!(
            "<network><name>{NETWORK}</name><bridge name='hangarui0'/>\
             <ip address='192.168.233.1' netmask='255.255.255.0'/></network>"
        );
        let domain_file = dir.join(format!("{OWN}-{}.xml", std::process::id()));
        let network_file = dir.join(format!("{NETWORK}-{}.xml", std::process::id()));
        std::fs::write(&domain_file, domain).expect("domain XML");
        std::fs::write(&network_file, network).expect("network XML");
        common::admin_virsh(&["net-create", network_file.to_str().expect("path")]);
        common::admin_virsh(&["define", domain_file.to_str().expect("path")]);
        let _ = std::fs::remove_file(&domain_file);
        let _ = std::fs::remove_file(&network_file);
        common::admin_virsh(&["start", OWN]);
        Self { iso }
    }

    fn remove() {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        for args in [
            ["destroy", OWN],
            ["undefine", OWN],
            ["net-destroy", NETWORK],
        ] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        }
    }
}

impl Drop for OwnMachine {
    fn drop(&mut self) {
        Self::remove();
        let _ = std::fs::remove_file(&self.iso);
    }
}

/// `virsh dumpxml` of the own machine, live or `--inactive`.
fn dumped(inactive: bool) -> String {
    let mut args = vec!["dumpxml", OWN];
    if inactive {
        args.push("--inactive");
    }
    common::admin_virsh(&args)
}

/// Whether the CD-ROM of `xml` has a medium.
fn has_medium(xml: &str) -> bool {
    let document = roxmltree::Document::parse(xml).expect("domain XML");
    document
        .descendants()
        .filter(|node| node.has_tag_name("disk") && node.attribute("device") == Some("cdrom"))
        .any(|disk| {
            disk.children()
                .any(|child| child.has_tag_name("source") && child.attribute("file").is_some())
        })
}

/// Whether the network card of `xml` has `<link state='down'/>`.
fn link_down(xml: &str) -> bool {
    let document = roxmltree::Document::parse(xml).expect("domain XML");
    document
        .descendants()
        .filter(|node| node.has_tag_name("link"))
        .any(|link| link.attribute("state") == Some("down"))
}

#[test]
fn the_cdrom_is_ejected_and_the_link_set_down_live_and_saved() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
    let pool_dir = common::testbed_var("HANGAR_TEST_POOL_DIR").expect("pool dir");
    let _own = OwnMachine::start(&pool, &pool_dir);
    assert!(has_medium(&dumped(false)) && has_medium(&dumped(true)));
    let Some((app, _turn)) = open_devices(&["--connect", &uri, "--show-domain-editor", OWN], OWN)
    else {
        return;
    };
    let pid = app.pid().to_string();
    let nic = format!("Network card {MAC}");
    app.wait_for_names(20, &["CD-ROM sda", "Disk sdb", &nic])
        .expect("the CD-ROM, the disk and the network card have rows");

    // The USB disk goes, from both, and its volume with it (USB needs no guest to let go).
    click(&pid, Some("push button"), "Remove Disk sdb");
    app.wait_for_names(20, &["Also delete the volume"])
        .expect("the dialog offers to delete the volume");
    click(&pid, Some("check box"), "Also delete the volume");
    let asked = app.screenshot("domain-devices-remove");
    click(&pid, Some("push button"), "Remove");
    let gone = common::wait_for(Duration::from_secs(20), || {
        let volumes = common::admin_virsh(&["vol-list", &pool]);
        (!dumped(false).contains("dev='sdb'")
            && !dumped(true).contains("dev='sdb'")
            && !volumes.contains(OWN_VOLUME))
        .then_some(())
    });
    assert!(
        gone.is_some(),
        "the disk or its volume is still there:\n{}\n{}\n{}",
        dumped(true),
        asked.display(),
        app.log()
    );

    click(&pid, None, "CD-ROM sda");
    let expanded = app.screenshot("domain-devices-cdrom");
    click(&pid, Some("push button"), "Eject CD-ROM sda");
    let ejected = common::wait_for(Duration::from_secs(20), || {
        (!has_medium(&dumped(false)) && !has_medium(&dumped(true))).then_some(())
    });
    assert!(
        ejected.is_some(),
        "the medium is still in:\n{}\n{}\n{}",
        dumped(false),
        expanded.display(),
        app.log()
    );
    // Collapse the CD-ROM row again; the network card's row is below it.
    click(&pid, None, "CD-ROM sda");

    click(&pid, None, &nic);
    // The card's editor opens below the controllers' rows: scroll down to it (the pointer
    // is over the row just clicked).
    xdotool(&["click", "--repeat", "10", "--delay", "50", "5"]);
    let editor = app.wait_for_names(10, &["Link up"]);
    let opened = app.screenshot("domain-devices-nic-editor");
    editor.unwrap_or_else(|error| panic!("no Link up: {error}\n{}", opened.display()));
    click(&pid, Some("check box"), "Link up");
    let apply = format!("Apply {nic}");
    click(&pid, Some("push button"), &apply);
    let down = common::wait_for(Duration::from_secs(20), || {
        (link_down(&dumped(false)) && link_down(&dumped(true))).then_some(())
    });
    let path = app.screenshot("domain-devices-nic");
    assert!(
        down.is_some(),
        "the link is not down in both:\n{}\n{}\n{}",
        dumped(false),
        path.display(),
        app.log()
    );
    println!("screenshots {} {}", expanded.display(), path.display());
}

#[test]
fn the_demo_machines_devices_section_shows_every_device() {
    let Some((app, _turn)) = open_devices(
        &["--demo", "--show-domain-editor", "win11-desktop"],
        "win11-desktop",
    ) else {
        return;
    };
    let pid = app.pid().to_string();
    let shown = app.wait_for_names(
        30,
        &[
            "Disk sda",
            "CD-ROM sdb",
            "Network card 52:54:00:3a:04:01",
            "Remove Disk sda",
        ],
    );
    let path = app.screenshot("domain-devices-demo");
    shown.unwrap_or_else(|error| panic!("rows missing: {error}\n{}", path.display()));
    click(&pid, None, "Network card 52:54:00:3a:04:01");
    let nic = app.wait_for_names(10, &["Link up", "MAC address", "Connected to"]);
    let expanded = app.screenshot("domain-devices-demo-nic");
    nic.unwrap_or_else(|error| panic!("no editor: {error}\n{}", expanded.display()));
    // Every control of the section has a name (the sidebar's rows are the page's own).
    if let Err(problems) = common::run_atspi(&[
        "audit",
        "--pid",
        &pid,
        "--window",
        "win11-desktop — Details",
        "Hangar",
    ]) {
        let ours: Vec<&str> = problems
            .lines()
            .filter(|line| line.contains(" in ") && !line.ends_with("> Sidebar"))
            .collect();
        assert!(ours.is_empty(), "unnamed controls:\n{}", ours.join("\n"));
    }
    println!("screenshots {} {}", path.display(), expanded.display());
}
