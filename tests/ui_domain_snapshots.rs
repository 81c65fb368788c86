//! The Snapshots section of the details page in the real app: on the test bed's running
//! QEMU guest (a qcow2 data disk, so internal snapshots) a snapshot is taken with a typed
//! name, a second on top of it, the first reverted to (after a snapshot of the current
//! state) and the second deleted, each checked with virsh; on the demo host, the section
//! as people see it. Every snapshot made here is deleted again, whatever happens.

mod common;

use common::atspi;

use std::time::Duration;

use common::RunningApp;

const INTERNAL_REASON: &str =
    "Internal: every disk is a qcow2 image, so the snapshot is kept inside the images.";
const DISK_ONLY_REFUSAL: &str = "This virtual machine’s snapshots are internal, and an internal snapshot of a running machine always includes its memory. Take the snapshot with memory, or shut the machine down for a disk-only one.";

const EXTERNAL_DISK_ONLY: &str = "External: a disk-only snapshot of a running machine goes into new overlay files, since an internal snapshot of a running machine always includes its memory.";
const INTERNAL_LIKE_OTHERS: &str =
    "Internal, like this virtual machine’s other snapshots: kept inside its qcow2 images.";
const NO_SNAPSHOTS: &str =
    "This virtual machine has no snapshots yet. Take one before an upgrade to be able to go back.";

/// Clicks the element with AT-SPI role `role` named `name`.
fn click(pid: &str, role: &str, name: &str) {
    atspi(&["click", "--pid", pid, "--role", role, "Hangar", name]);
}

fn snapshot_names(guest: &str) -> Vec<String> {
    common::admin_virsh(&["snapshot-list", guest, "--name"])
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn current_snapshot(guest: &str) -> String {
    common::admin_virsh(&["snapshot-current", guest, "--name"])
        .trim()
        .to_owned()
}

/// Deletes, when dropped, every snapshot of the guest that was not there before.
struct Cleanup {
    guest: String,
    before: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // Children first: the newest snapshots are listed last.
        let mut made: Vec<String> = snapshot_names(&self.guest)
            .into_iter()
            .filter(|name| !self.before.contains(name))
            .collect();
        made.reverse();
        for name in made {
            let deleted = std::panic::catch_unwind(|| {
                common::admin_virsh(&["snapshot-delete", &self.guest, &name]);
            });
            if deleted.is_err() {
                let _ = std::panic::catch_unwind(|| {
                    common::admin_virsh(&["snapshot-delete", &self.guest, &name, "--metadata"]);
                });
            }
        }
    }
}

/// Opens the Take Snapshot dialog, types `name` and creates the snapshot.
fn take_snapshot(app: &RunningApp, pid: &str, name: &str, reason: &str, screenshot: Option<&str>) {
    click(pid, "push button", "Take Snapshot");
    app.wait_for_names(30, &["Include memory", reason])
        .expect("the dialog says how the snapshot is taken, and why");
    click(pid, "text", "Name");
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", name]);
    app.wait_for_names(10, &[name]).expect("the name is typed");
    if let Some(screenshot) = screenshot {
        println!("screenshot {}", app.screenshot(screenshot).display());
    }
    click(pid, "push button", "Create");
}

#[test]
fn a_snapshot_is_taken_reverted_to_and_deleted_from_the_page() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _cleanup = Cleanup {
        before: snapshot_names(&guest),
        guest: guest.clone(),
    };
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Apply"])
        .expect("the details page opens");
    atspi(&["click", "--pid", &pid, "Hangar", "Snapshots"]);
    app.wait_for_names(
        30,
        &[
            "Take Snapshot",
            "Snapshots are taken, reverted to and deleted at once, without Apply.",
        ],
    )
    .expect("the Snapshots section opens");

    // Without snapshots yet, disk-only on the running machine plans an external one.
    click(&pid, "push button", "Take Snapshot");
    app.wait_for_names(30, &["Include memory", INTERNAL_REASON])
        .expect("the dialog says the snapshot is internal, and why");
    // GTK 4.8 exposes a switch as a check box.
    click(&pid, "check box", "Include memory");
    app.wait_for_names(30, &[EXTERNAL_DISK_ONLY])
        .expect("the dialog says a disk-only snapshot would be external, and why");
    click(&pid, "push button", "Cancel");

    let (first, second) = ("hangar-ui-first", "hangar-ui-second");
    take_snapshot(
        &app,
        &pid,
        first,
        INTERNAL_REASON,
        Some("domain-snapshots-take-dialog"),
    );
    let found = common::wait_for(Duration::from_secs(120), || {
        snapshot_names(&guest)
            .contains(&first.to_owned())
            .then_some(())
    });
    assert!(
        found.is_some(),
        "virsh does not list {first}\n{}",
        app.log()
    );
    app.wait_for_names(30, &[first, "Current"])
        .expect("the new snapshot's row appears, marked current");
    // Now the machine's snapshots are internal: disk-only is refused inline, saying why.
    click(&pid, "push button", "Take Snapshot");
    app.wait_for_names(30, &["Include memory", INTERNAL_LIKE_OTHERS])
        .expect("the dialog says internal, like the machine's other snapshots");
    click(&pid, "check box", "Include memory");
    let refused = app.wait_for_names(30, &[DISK_ONLY_REFUSAL]);
    println!(
        "screenshot {}",
        app.screenshot("domain-snapshots-disk-only-refused")
            .display()
    );
    refused.expect("the dialog refuses a running internal disk-only snapshot, saying why");
    click(&pid, "push button", "Cancel");
    take_snapshot(&app, &pid, second, INTERNAL_LIKE_OTHERS, None);
    let found = common::wait_for(Duration::from_secs(120), || {
        snapshot_names(&guest)
            .contains(&second.to_owned())
            .then_some(())
    });
    assert!(
        found.is_some(),
        "virsh does not list {second}\n{}",
        app.log()
    );
    app.wait_for_names(30, &[first, second, &format!("Revert to {second}")])
        .expect("both snapshots are listed");
    println!(
        "screenshot {}",
        app.screenshot("domain-snapshots-two").display()
    );
    assert_eq!(current_snapshot(&guest), second);
    let audit = common::run_atspi(&[
        "audit",
        "--pid",
        &pid,
        "--window",
        &format!("{guest} — Details"),
        "Hangar",
    ]);
    if let Err(problems) = audit {
        let ours: Vec<&str> = problems
            .lines()
            .filter(|line| line.contains(" in ") && !line.ends_with("> Sidebar"))
            .collect();
        assert!(
            ours.is_empty(),
            "controls without a name:\n{}",
            ours.join("\n")
        );
    }

    // Revert to the first, keeping the current state in a snapshot first.
    click(&pid, "push button", &format!("Revert to {first}"));
    app.wait_for_names(30, &["Take a snapshot of the current state first"])
        .expect("the revert dialog offers a snapshot first");
    click(&pid, "push button", "Revert to Snapshot");
    let reverted = common::wait_for(Duration::from_secs(120), || {
        (current_snapshot(&guest) == first).then_some(())
    });
    assert!(
        reverted.is_some(),
        "snapshot-current is {:?}, not {first}\n{}",
        current_snapshot(&guest),
        app.log()
    );
    let names = snapshot_names(&guest);
    assert!(
        names.iter().any(|name| name.starts_with("before-revert-")),
        "no snapshot of the state before the revert: {names:?}"
    );

    click(&pid, "push button", &format!("Delete {second}"));
    click(&pid, "push button", "Delete This Snapshot");
    let gone = common::wait_for(Duration::from_secs(60), || {
        (!snapshot_names(&guest).contains(&second.to_owned())).then_some(())
    });
    assert!(gone.is_some(), "{second} is still listed\n{}", app.log());
    app.wait_until_gone(30, &[first], &[&format!("Delete {second}")])
        .expect("the deleted snapshot's row goes");
}

/// The demo host's running web server (BIOS, qcow2: internal snapshots, which the test
/// driver takes; win11-desktop's UEFI plan is external, which it refuses): a snapshot taken
/// from the page, for the screenshot people look at.
#[test]
fn the_demo_machines_snapshots_section_takes_a_snapshot() {
    let Some((app, _turn)) = RunningApp::start(&["--demo", "--show-domain-editor", "web-frontend"])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "web-frontend"])
        .expect("the demo machine's details page opens");
    atspi(&["click", "--pid", &pid, "Hangar", "Snapshots"]);
    app.wait_for_names(30, &["Take Snapshot", NO_SNAPSHOTS])
        .expect("the Snapshots section opens, saying there are none yet");
    click(&pid, "push button", "Take Snapshot");
    app.wait_for_names(30, &["Include memory", INTERNAL_REASON])
        .expect("the Take Snapshot dialog opens");
    click(&pid, "text", "Name");
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", "before-update"]);
    println!(
        "screenshot {}",
        app.screenshot("domain-snapshots-demo-dialog").display()
    );
    click(&pid, "push button", "Create");
    let shown = app.wait_for_names(30, &["before-update", "Revert to before-update", "Current"]);
    println!(
        "screenshot {}",
        app.screenshot("domain-snapshots-demo").display()
    );
    shown.expect("the demo snapshot is listed, marked current");
}
