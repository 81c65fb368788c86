//! The Add Device dialog in the real app: on the test bed's running QEMU guest, Devices →
//! Add Device → Disk → a new 16 MiB qcow2 volume in the test bed's pool: on VirtIO the guest
//! (no ACPI) refuses it and the dialog says so, leaving no disk and no volume; on USB, Add
//! creates the volume through the storage API and hot-adds the disk to the running machine
//! and the saved configuration; on the demo host, the dialog's forms as people see them.

mod common;

use common::atspi;

use common::RunningApp;

fn click(pid: &str, role: &str, name: &str) {
    atspi(&["click", "--pid", pid, "--role", role, "Hangar", name]);
}

/// Replaces the text of the spin button called `name` with `value`. The click goes to the
/// text, at the left: the middle of a narrow spin button is its "−" button.
fn set_spin(pid: &str, name: &str, value: u32) {
    let found = common::run_atspi(&[
        "extents",
        "--pid",
        pid,
        "--role",
        "spin button",
        "Hangar",
        name,
    ])
    .unwrap_or_else(|error| panic!("spin button {name}: {error}"));
    let area = common::screen::Area::parse(&found).expect("extents");
    let (x, y) = (area.x + 10, area.y + area.height / 2);
    let status = std::process::Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .status()
        .expect("xdotool");
    assert!(status.success());
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", &value.to_string()]);
    atspi(&["key", "Tab"]);
}

/// The disks of the guest's XML (live or saved) as `(target, source pool, source volume,
/// driver type)`.
fn disks(guest: &str, inactive: bool) -> Vec<(String, String, String, String)> {
    let mut args = vec!["dumpxml", guest];
    if inactive {
        args.push("--inactive");
    }
    let xml = common::admin_virsh(&args);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    document
        .descendants()
        .filter(|node| node.has_tag_name("disk"))
        .map(|disk| {
            let child = |tag: &str| disk.children().find(|n| n.has_tag_name(tag));
            let attr = |tag: &str, name: &str| {
                child(tag)
                    .and_then(|node| node.attribute(name))
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                attr("target", "dev"),
                attr("source", "pool"),
                attr("source", "volume"),
                attr("driver", "type"),
            )
        })
        .collect()
}

/// The volumes of `pool` with their capacity in bytes.
fn volumes(pool: &str) -> Vec<(String, u64)> {
    common::admin_virsh(&["vol-list", pool])
        .lines()
        .skip(2)
        .filter_map(|line| line.split_whitespace().next())
        .map(|name| {
            let info = common::admin_virsh(&["vol-info", "--bytes", "--pool", pool, name]);
            let capacity = info
                .lines()
                .find(|line| line.starts_with("Capacity:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|bytes| bytes.parse().ok())
                .unwrap_or(0);
            (name.to_owned(), capacity)
        })
        .collect()
}

#[test]
fn a_new_volume_is_created_and_hot_added_as_a_disk_from_the_dialog() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
    let before = (disks(&guest, false), disks(&guest, true), volumes(&pool));
    let outcome = add_disk(&uri, &guest, &pool);
    let after = (disks(&guest, false), disks(&guest, true), volumes(&pool));
    // Put the guest back before asserting: the new disk out of both, its volume deleted.
    let volume = format!("{guest}-sda.qcow2");
    let added = after.0.iter().any(|disk| disk.0 == "sda");
    if added || after.1.iter().any(|disk| disk.0 == "sda") {
        let _ = std::process::Command::new("virsh")
            .args([
                "-q",
                "-c",
                &uri,
                "detach-disk",
                &guest,
                "sda",
                "--live",
                "--config",
            ])
            .output();
        let _ = std::process::Command::new("virsh")
            .args(["-q", "-c", &uri, "detach-disk", &guest, "sda", "--config"])
            .output();
    }
    let still_live = disks(&guest, false).iter().any(|disk| disk.0 == "sda");
    if still_live {
        // A guest that does not let go (it should: USB needs no guest driver) is restarted.
        common::admin_virsh(&["destroy", &guest]);
        common::admin_virsh(&["start", &guest]);
    }
    if after.2.iter().any(|(name, _)| *name == volume) {
        common::admin_virsh(&["vol-delete", "--pool", &pool, &volume]);
    }
    if let Err(problem) = outcome {
        panic!("{problem}");
    }
    assert!(
        !before.0.iter().chain(&before.1).any(|disk| disk.0 == "sda"),
        "the guest had an sda before the test: {before:?}"
    );
    let wanted = (
        "sda".to_owned(),
        pool.clone(),
        volume.clone(),
        "qcow2".to_owned(),
    );
    assert!(
        after.0.contains(&wanted),
        "live XML lacks {wanted:?}: {:?}",
        after.0
    );
    assert!(
        after.1.contains(&wanted),
        "saved XML lacks {wanted:?}: {:?}",
        after.1
    );
    assert!(
        after.2.contains(&(volume.clone(), 16 << 20)),
        "no 16 MiB volume {volume} in {pool}: {:?}",
        after.2
    );
    assert!(
        !disks(&guest, true).iter().any(|disk| disk.0 == "sda"),
        "the disk was not removed again"
    );
}

fn add_disk(uri: &str, guest: &str, pool: &str) -> Result<(), String> {
    let Some((app, _turn)) = RunningApp::start(&["--connect", uri, "--show-domain-editor", guest])
    else {
        return Ok(());
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Apply"])
        .map_err(|error| format!("the details page did not open: {error}"))?;
    atspi(&["click", "--pid", &pid, "Hangar", "Devices"]);
    click(&pid, "push button", "Add Device");
    app.wait_for_names(30, &["Device Kind", "Storage Pool", "Volume Name", "Bus"])
        .map_err(|error| format!("the dialog's Disk form did not show: {error}"))?;
    for (kind, shown, name) in [
        ("Network Card", "MAC Address", "add-device-testbed-nic"),
        ("USB Device", "Optional", "add-device-testbed-usb"),
        (
            "PCI Device",
            "PCI Devices of the Host",
            "add-device-testbed-pci",
        ),
    ] {
        click(&pid, "list item", kind);
        let found = app.wait_for_names(10, &[shown]);
        app.screenshot(name);
        found.map_err(|error| format!("the {kind} form did not show: {error}"))?;
    }
    click(&pid, "list item", "Disk");
    app.wait_for_names(10, &["Volume Name"])
        .map_err(|error| format!("back to the Disk form: {error}"))?;
    if app.wait_for_names(3, &[pool]).is_err() {
        click(&pid, "combo box", "Storage Pool");
        atspi(&["click", "--pid", &pid, "--role", "label", "Hangar", pool]);
    }
    app.wait_for_names(10, &[pool, &format!("{guest}-vdb.qcow2")])
        .map_err(|error| format!("the pool or the suggested name is not shown: {error}"))?;
    set_spin(&pid, "Size", 16);
    // The unit's list opens on GiB: one down is MiB.
    click(&pid, "push button", "Size unit");
    std::thread::sleep(std::time::Duration::from_millis(500));
    atspi(&["key", "Down", "Return"]);
    app.wait_for_names(10, &["MiB"])
        .map_err(|error| format!("MiB was not chosen: {error}"))?;
    app.screenshot("add-device-testbed-disk");
    audit(&pid)?;
    // The test guest has no ACPI: its PCI bus takes no hot-plugged VirtIO disk. The refusal
    // is said in the dialog, and nothing is left behind: no disk, no volume.
    let before = (disks(guest, false), disks(guest, true));
    click(&pid, "push button", "Add");
    app.wait_for_names(60, &["Add to Saved Settings Only"])
        .map_err(|error| format!("the refusal is not offered the saved settings: {error}"))?;
    app.screenshot("add-device-testbed-refused");
    app.wait_for_names(5, &["Device Kind"])
        .map_err(|error| format!("the dialog closed on a refusal: {error}"))?;
    if (disks(guest, false), disks(guest, true)) != before {
        return Err("a refused disk changed the guest".into());
    }
    if volumes(pool)
        .iter()
        .any(|(name, _)| name.starts_with(&format!("{guest}-vdb")))
    {
        return Err("a refused disk left its new volume behind".into());
    }
    // USB disks plug in without the guest's help.
    click(&pid, "combo box", "Bus");
    std::thread::sleep(std::time::Duration::from_millis(500));
    atspi(&["key", "Down", "Down", "Down", "Return"]);
    app.wait_for_names(10, &["USB", &format!("{guest}-sda.qcow2")])
        .map_err(|error| format!("USB was not chosen, or the name not renewed: {error}"))?;
    app.screenshot("add-device-testbed-usb-disk");
    click(&pid, "push button", "Add");
    let closed = app.wait_until_gone(60, &["Overview"], &["Device Kind"]);
    app.screenshot("add-device-testbed-added");
    closed
        .map_err(|error| format!("the dialog did not close after Add: {error}\n{}", app.log()))?;
    Ok(())
}

/// Every control of the dialog has a name a screen reader can say.
fn audit(pid: &str) -> Result<(), String> {
    match common::run_atspi(&["audit", "--pid", pid, "--window", "Add Device", "Hangar"]) {
        Ok(_) => Ok(()),
        Err(problems) => Err(format!("controls a screen reader cannot name:\n{problems}")),
    }
}

/// The demo host's Windows machine: the dialog's Disk, Network Card, USB Device and Shared
/// Folder forms, for the screenshots people look at.
#[test]
fn the_demo_machines_add_device_dialog_shows_its_forms() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "win11-desktop"])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "win11-desktop"])
        .expect("the demo machine's details page opens");
    atspi(&["click", "--pid", &pid, "Hangar", "Devices"]);
    click(&pid, "push button", "Add Device");
    app.wait_for_names(30, &["Device Kind", "Storage Pool", "Volume Name"])
        .expect("the Disk form");
    app.screenshot("add-device-demo-disk");
    for (kind, shown, name) in [
        ("CD-ROM", "Medium", "add-device-demo-cdrom"),
        ("Network Card", "MAC Address", "add-device-demo-nic"),
        ("USB Device", "Optional", "add-device-demo-usb"),
        (
            "Shared Folder",
            "Folder on the Host",
            "add-device-demo-folder",
        ),
        (
            "Watchdog",
            "When the Guest Stops Answering",
            "add-device-demo-watchdog",
        ),
    ] {
        click(&pid, "list item", kind);
        let found = app.wait_for_names(10, &[shown]);
        let path = app.screenshot(name);
        found.unwrap_or_else(|error| panic!("the {kind} form: {error}"));
        println!("screenshot {}", path.display());
    }
    // A shared folder without a folder is refused in a sentence, in the dialog.
    click(&pid, "list item", "Shared Folder");
    app.wait_for_names(10, &["Folder on the Host"])
        .expect("back to the Shared Folder form");
    click(&pid, "push button", "Add");
    app.wait_for_names(10, &["Enter the folder on the host to share."])
        .expect("the missing folder is said inline");
    audit(&pid).unwrap_or_else(|problem| panic!("{problem}"));
}
