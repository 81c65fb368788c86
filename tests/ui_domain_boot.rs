//! The Boot section of the details page in the real app: on the test bed's QEMU guest
//! (given a disk and a CD-ROM) the CD-ROM is put first in the boot order with its check
//! and Move Up button, nothing is written before Apply, and Apply saves a per-device order;
//! on the demo host, the section as people see it.

mod common;

use common::atspi;

use std::path::PathBuf;

use common::RunningApp;

const AFTER_SHUTDOWN: &str = "Takes effect after the virtual machine shuts down";
const FIRMWARE_WHILE_SHUT_OFF: &str =
    "Firmware can be changed while the virtual machine is shut off";

/// Clicks the element with AT-SPI role `role` named `name`.
fn click(pid: &str, role: &str, name: &str) {
    atspi(&["click", "--pid", pid, "--role", role, "Hangar", name]);
}

/// The saved config's boot order: `<os><boot dev>` classes and each device's
/// `(target, order)` for those with `<boot order>`, sorted by order.
fn saved_boot_order(guest: &str) -> (Vec<String>, Vec<(String, u32)>) {
    let xml = common::admin_virsh(&["dumpxml", "--inactive", guest]);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    let classes = document
        .descendants()
        .filter(|node| {
            node.has_tag_name("boot") && node.parent_element().is_some_and(|p| p.has_tag_name("os"))
        })
        .filter_map(|node| node.attribute("dev").map(str::to_owned))
        .collect();
    let mut devices: Vec<(String, u32)> = document
        .descendants()
        .filter(|node| node.has_tag_name("disk"))
        .filter_map(|disk| {
            let target = disk
                .children()
                .find(|n| n.has_tag_name("target"))?
                .attribute("dev")?
                .to_owned();
            let order = disk
                .children()
                .find(|n| n.has_tag_name("boot"))?
                .attribute("order")?
                .parse()
                .ok()?;
            Some((target, order))
        })
        .collect();
    devices.sort_by_key(|(_, order)| *order);
    (classes, devices)
}

/// A scratch directory for the guest's image files, beside the test bed's own.
fn scratch_dir() -> PathBuf {
    let base = std::env::var_os("TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("boot-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("image dir");
    dir
}

#[test]
fn boot_order_changed_on_the_page_is_saved_per_device_on_apply() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let original_xml = common::admin_virsh(&["dumpxml", "--inactive", &guest]);
    let dir = scratch_dir();
    // The guest's own data disk (vda) and a CD-ROM added here.
    let iso = dir.join("debian.iso");
    std::fs::write(&iso, vec![0u8; 1 << 20]).expect("ISO image");
    let path = |p: &PathBuf| p.to_str().expect("UTF-8 path").to_owned();
    common::admin_virsh(&[
        "attach-disk",
        &guest,
        &path(&iso),
        "sda",
        "--type",
        "cdrom",
        "--targetbus",
        "sata",
        "--config",
    ]);
    let before = saved_boot_order(&guest);
    let outcome = change_boot_order(&uri, &guest);
    // Put the guest back as it was for the other tests, before asserting.
    let original = dir.join("original.xml");
    std::fs::write(&original, &original_xml).expect("original XML");
    common::admin_virsh(&["define", &path(&original)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        before,
        (vec!["hd".to_owned()], Vec::new()),
        "the guest did not start with libvirt's default order"
    );
    if let Err(problem) = outcome {
        panic!("{problem}");
    }
}

/// Every control of the details window has a name, but for the sidebar's rows (the page's
/// own; named in GTK 4.8 after nothing): those are not this section's.
fn audit_section(pid: &str, window: &str) -> Result<(), String> {
    let Err(problems) = common::run_atspi(&["audit", "--pid", pid, "--window", window, "Hangar"])
    else {
        return Ok(());
    };
    let ours: Vec<&str> = problems
        .lines()
        .filter(|line| line.contains(" in ") && !line.ends_with("> Sidebar"))
        .collect();
    if ours.is_empty() {
        eprintln!("audit, outside the Boot section:\n{problems}");
        return Ok(());
    }
    Err(format!(
        "controls a screen reader cannot name:\n{}",
        ours.join("\n")
    ))
}

/// Opens the guest's Boot section, checks the CD-ROM and moves it above the disk, applies.
fn change_boot_order(uri: &str, guest: &str) -> Result<(), String> {
    let Some((app, _turn)) = RunningApp::start(&["--connect", uri, "--show-domain-editor", guest])
    else {
        return Ok(());
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Apply"])
        .map_err(|error| format!("the details page did not open: {error}"))?;
    atspi(&["click", "--pid", &pid, "Hangar", "Boot"]);
    let (disk, cdrom) = (
        "Disk vda · hangar-guest-data.qcow2",
        "CD-ROM sda · debian.iso",
    );
    let shown = app.wait_for_names(
        30,
        &[
            "Boot Order",
            "Boot Menu",
            "Firmware",
            disk,
            cdrom,
            AFTER_SHUTDOWN,
        ],
    );
    app.screenshot("domain-boot-testbed");
    shown.map_err(|error| format!("the Boot section lacks a device or mark: {error}"))?;
    app.wait_for_names(5, &[FIRMWARE_WHILE_SHUT_OFF])
        .map_err(|error| format!("a running guest's firmware is not marked: {error}"))?;
    audit_section(&pid, &format!("{guest} — Details"))?;
    let before = saved_boot_order(guest);
    click(&pid, "check box", cdrom);
    click(&pid, "push button", &format!("Move {cdrom} up"));
    // The wait is the point: a second in which an eager write would have landed.
    std::thread::sleep(std::time::Duration::from_secs(1));
    app.screenshot("domain-boot-testbed-moved");
    if saved_boot_order(guest) != before {
        return Err(format!(
            "written before Apply: {:?}",
            saved_boot_order(guest)
        ));
    }
    click(&pid, "push button", "Apply");
    let wanted = (
        Vec::<String>::new(),
        vec![("sda".to_owned(), 1), ("vda".to_owned(), 2)],
    );
    let saved = common::wait_for(std::time::Duration::from_secs(20), || {
        (saved_boot_order(guest) == wanted).then_some(())
    });
    app.screenshot("domain-boot-testbed-applied");
    saved.ok_or_else(|| {
        format!(
            "the saved order is {:?}, not the CD-ROM then the disk\n{}",
            saved_boot_order(guest),
            app.log()
        )
    })?;
    // Re-read after Apply, the page shows the new order with nothing left to apply.
    app.wait_for_names(20, &[cdrom, disk, AFTER_SHUTDOWN])
        .map_err(|error| format!("the page lost the devices after Apply: {error}"))?;
    Ok(())
}

/// The demo host's Windows machine (running; CD-ROM then disk by class; a network card):
/// its Boot section, for the screenshot people look at.
#[test]
fn the_demo_machines_boot_section_shows_its_devices() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "win11-desktop"])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "win11-desktop"])
        .expect("the demo machine's details page opens");
    atspi(&["click", "--pid", &pid, "Hangar", "Boot"]);
    let shown = app.wait_for_names(
        30,
        &[
            "Boot Order",
            "CD-ROM sdb · virtio-win-0.1.266.iso",
            "Disk sda · win11-desktop.qcow2",
            "Network Card 52:54:00:3a:04:01 · default",
            "Direct Kernel Boot",
            AFTER_SHUTDOWN,
            FIRMWARE_WHILE_SHUT_OFF,
        ],
    );
    let path = app.screenshot("domain-boot-demo");
    shown.expect("the demo machine's Boot section shows its devices");
    println!("screenshot {}", path.display());
}

/// The rows of the Boot Order list, top to bottom.
fn order_rows(pid: &str) -> Vec<String> {
    common::run_atspi(&["rows", "--pid", pid, "Hangar", "Boot Order"])
        .unwrap_or_else(|error| panic!("no Boot Order list: {error}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A shut-off demo machine: nothing is marked as waiting, the firmware says the host did not
/// list its choices (the test driver has no domain capabilities), a moved device and a typed
/// kernel go back on Revert.
#[test]
fn a_shut_off_machines_boot_edits_go_back_on_revert() {
    let Some((app, _turn)) = RunningApp::start(&["--demo", "--show-domain-editor", "dev-fedora"])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "dev-fedora"])
        .expect("the demo machine's details page opens");
    atspi(&["click", "--pid", &pid, "Hangar", "Boot"]);
    let (cdrom, disk, nic) = (
        "CD-ROM sdb · Fedora-Workstation-Live-x86_64-41-1.4.iso",
        "Disk vda · dev-fedora.qcow2",
        "Network Card 52:54:00:3a:0e:01 · default",
    );
    app.wait_for_names(
        30,
        &[
            cdrom,
            disk,
            "The host did not say which firmware it offers",
            "Checked devices are tried from top to bottom",
        ],
    )
    .expect("the Boot section of a shut-off machine");
    app.wait_until_gone(
        5,
        &["Boot Order"],
        &[AFTER_SHUTDOWN, FIRMWARE_WHILE_SHUT_OFF],
    )
    .expect("nothing is marked as waiting on a shut-off machine");
    assert_eq!(
        order_rows(&pid),
        [cdrom, disk, nic],
        "CD-ROM, then disk, by class"
    );
    click(&pid, "push button", &format!("Move {disk} up"));
    assert_eq!(order_rows(&pid), [disk, cdrom, nic], "the disk moved up");
    atspi(&["click", "--pid", &pid, "Hangar", "Direct Kernel Boot"]);
    click(&pid, "text", "Kernel Path");
    atspi(&["type", "/boot/vmlinuz-demo"]);
    app.wait_for_names(10, &["/boot/vmlinuz-demo"])
        .expect("the kernel path is typed");
    let path = app.screenshot("domain-boot-demo-shut-off");
    click(&pid, "push button", "Revert");
    app.wait_until_gone(10, &["Kernel Path"], &["/boot/vmlinuz-demo"])
        .expect("Revert empties the kernel path");
    assert_eq!(
        order_rows(&pid),
        [cdrom, disk, nic],
        "Revert restores the order"
    );
    println!("screenshot {}", path.display());
}
