//! The details page's Display section in the real app: on the test bed's QEMU guest a VNC
//! password set on the page reaches the saved config, the running machine (after a restart,
//! as QEMU takes a new password live only on a display started with one) and the keyring;
//! cleared, it is gone from all three. On the demo host, the warning about a display open
//! to the network, for the screenshot.

mod common;

use common::{atspi, click};

use std::process::Command;
use std::time::Duration;

use common::RunningApp;

const APP_ID: &str = "io.github.hangarvm.Hangar";
const PASSWORD: &str = "hgr-vnc1";
const OPEN_WARNING: &str = "Anyone on the network can open this console: it listens on all \
    addresses and has no password. Set a VNC password for this virtual machine.";
const AFTER_SHUTDOWN: &str = "Takes effect after the virtual machine shuts down";

/// The `passwd` of the guest's VNC display: live, or in the saved config (`inactive`).
fn vnc_passwd(guest: &str, inactive: bool) -> Option<String> {
    let mut args = vec!["dumpxml", "--security-info", guest];
    if inactive {
        args.push("--inactive");
    }
    let xml = common::admin_virsh(&args);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    let graphics = document
        .descendants()
        .find(|node| node.has_tag_name("graphics") && node.attribute("type") == Some("vnc"))
        .expect("the guest has a VNC display");
    graphics.attribute("passwd").map(str::to_owned)
}

/// The VNC password the keyring holds for the domain `uuid`, as the console looks it up.
fn keyring_password(uuid: &str) -> Option<String> {
    let key = format!("vnc:{uuid}");
    let search = Command::new("secret-tool")
        .args(["search", "--all", "service", APP_ID])
        .output()
        .expect("run secret-tool");
    assert!(
        search.status.success(),
        "secret-tool could not search the keyring: {}",
        String::from_utf8_lossy(&search.stderr)
    );
    let output = Command::new("secret-tool")
        .args(["lookup", "service", APP_ID, "username", &key])
        .output()
        .expect("run secret-tool");
    let secret = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.success() && !secret.is_empty()).then_some(secret)
}

/// Puts the guest back as it was (its saved config, running without a password) when the
/// test ends, however it ends. Not admin_virsh: a panic while unwinding would abort.
struct RestoreGuest {
    guest: String,
    xml_path: std::path::PathBuf,
}

impl RestoreGuest {
    fn save(guest: &str) -> Self {
        let xml = common::admin_virsh(&["dumpxml", "--inactive", "--security-info", guest]);
        let xml_path =
            std::env::temp_dir().join(format!("hangar-display-{}.xml", std::process::id()));
        std::fs::write(&xml_path, xml).expect("keep the guest's XML");
        Self {
            guest: guest.to_owned(),
            xml_path,
        }
    }
}

impl Drop for RestoreGuest {
    fn drop(&mut self) {
        let Ok(uri) = std::env::var("HANGAR_TEST_UNIX_URI") else {
            return;
        };
        let virsh = |args: &[&str]| {
            let _ = Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        };
        virsh(&["define", &self.xml_path.to_string_lossy()]);
        virsh(&["destroy", &self.guest]);
        virsh(&["start", &self.guest]);
        let _ = std::fs::remove_file(&self.xml_path);
        let uuid = common::admin_virsh(&["domuuid", &self.guest]);
        let _ = Command::new("secret-tool")
            .args(["clear", "service", APP_ID, "username"])
            .arg(format!("vnc:{}", uuid.trim()))
            .status();
    }
}

/// Restarts the guest so its display starts with the saved config's password.
fn restart(guest: &str) {
    common::admin_virsh(&["destroy", guest]);
    common::admin_virsh(&["start", guest]);
}

/// Fails on any control of the Display section a screen reader cannot name. The page's
/// sidebar (GtkStackSidebar, not this section's) is left to the details page's own test.
fn audit_section(pid: &str, window: &str) {
    let Err(problems) = common::run_atspi(&["audit", "--pid", pid, "--window", window, "Hangar"])
    else {
        return;
    };
    let ours: Vec<&str> = problems
        .lines()
        .filter(|line| line.starts_with(window) && !line.contains("> Sidebar"))
        .collect();
    assert!(
        ours.is_empty(),
        "the Display section has controls a screen reader cannot name:\n{}",
        ours.join("\n")
    );
}

fn wait_until(what: impl Fn() -> bool) -> bool {
    common::wait_for(Duration::from_secs(20), || what().then_some(())).is_some()
}

#[test]
fn vnc_password_set_and_cleared_on_the_page() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let uuid = common::admin_virsh(&["domuuid", &guest]).trim().to_owned();
    assert_eq!(
        vnc_passwd(&guest, true),
        None,
        "the guest starts without a password"
    );
    let _restore = RestoreGuest::save(&guest);
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Apply"])
        .expect("the details page opens");
    click(&pid, None, "Display");
    let shown = app.wait_for_names(20, &["VNC listens on", "This machine only", "Port in use"]);
    let path = app.screenshot("domain-display-testbed");
    shown.unwrap_or_else(|error| panic!("the Display section: {error}\n{}", path.display()));
    app.wait_for_names(5, &[AFTER_SHUTDOWN])
        .expect("the running guest's listen, port and keymap say they wait for a shutdown");

    // Set: staged on the page, written on Apply.
    click(&pid, Some("push button"), "Set…");
    audit_section(&pid, &format!("{guest} — Details"));
    click(&pid, None, "New password");
    atspi(&["type", PASSWORD]);
    click(&pid, None, "Confirm password");
    atspi(&["type", PASSWORD]);
    app.screenshot("domain-display-password-form");
    click(&pid, Some("push button"), "Use Password");
    app.wait_for_names(10, &["Set; the new password is saved on Apply", "Change…"])
        .expect("the password waits for Apply");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(vnc_passwd(&guest, true), None, "written before Apply");
    app.screenshot("domain-display-password-staged");
    click(&pid, Some("push button"), "Apply");
    let saved = wait_until(|| vnc_passwd(&guest, true).as_deref() == Some(PASSWORD));
    let in_keyring = wait_until(|| keyring_password(&uuid).as_deref() == Some(PASSWORD));
    let path = app.screenshot("domain-display-password-applied");
    assert!(saved, "the saved config has no password\n{}", app.log());
    assert!(
        in_keyring,
        "the keyring lacks the password: {}",
        path.display()
    );
    // QEMU refuses a new password on a display started without one: it waits for a restart.
    if vnc_passwd(&guest, false).is_none() {
        restart(&guest);
    }
    assert_eq!(vnc_passwd(&guest, false).as_deref(), Some(PASSWORD), "live");

    // Clear: gone from the running machine, the saved config and the keyring.
    app.wait_for_names(20, &["Set", "Change…"])
        .expect("the page shows the password set");
    click(&pid, Some("push button"), "Clear");
    app.wait_for_names(10, &["Not set; cleared on Apply"])
        .expect("the cleared password waits for Apply");
    click(&pid, Some("push button"), "Apply");
    let cleared = wait_until(|| {
        vnc_passwd(&guest, true).is_none()
            && vnc_passwd(&guest, false).is_none()
            && keyring_password(&uuid).is_none()
    });
    let path = app.screenshot("domain-display-password-cleared");
    assert!(
        cleared,
        "after Clear: saved {:?}, live {:?}, keyring {}; {}\n{}",
        vnc_passwd(&guest, true).is_some(),
        vnc_passwd(&guest, false).is_some(),
        keyring_password(&uuid).is_some(),
        path.display(),
        app.log()
    );
}

/// A demo machine listening on all addresses without a password: the section warns, and
/// the warning goes once a password waits for Apply.
#[test]
fn the_demo_machine_open_to_the_network_is_warned_about() {
    let Some((app, _turn)) = RunningApp::start(&["--demo", "--show-domain-editor", "web-frontend"])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "web-frontend"])
        .expect("the demo machine's details page opens");
    click(&pid, None, "Display");
    let shown = app.wait_for_names(20, &["All addresses", OPEN_WARNING, AFTER_SHUTDOWN]);
    let path = app.screenshot("domain-display-demo");
    shown.unwrap_or_else(|error| panic!("no warning: {error}\n{}", path.display()));
    click(&pid, Some("push button"), "Set…");
    click(&pid, None, "New password");
    atspi(&["type", PASSWORD]);
    click(&pid, None, "Confirm password");
    atspi(&["type", PASSWORD]);
    atspi(&["key", "Return"]);
    app.wait_until_gone(
        10,
        &["Set; the new password is saved on Apply"],
        &[OPEN_WARNING],
    )
    .expect("a password on the way ends the warning");
    // A given address is checked as it is typed.
    click(&pid, None, "VNC listens on");
    click(&pid, None, "A given address");
    click(&pid, None, "IP address");
    atspi(&["type", "not-an-ip"]);
    let error = "“not-an-ip” is not an IP address, such as 192.168.1.10 or fd00::1.";
    let said = app.wait_for_names(10, &[error]);
    let edits = app.screenshot("domain-display-demo-edits");
    said.unwrap_or_else(|e| panic!("no inline error: {e}\n{}", edits.display()));
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", "192.168.1.10"]);
    app.wait_until_gone(10, &["A given address"], &[error])
        .expect("a valid address clears the error");
    println!("screenshots {} {}", path.display(), edits.display());
}

const NO_VNC_NAME: &str = "hangar-display-novnc";

/// A shut-off domain without graphics, undefined when dropped.
struct NoVncDomain;

impl NoVncDomain {
    fn define() -> Self {
        let xml = format!(
            "<domain type='qemu'><name>{NO_VNC_NAME}</name><memory unit='MiB'>64</memory>\
             <os><type arch='x86_64'>hvm</type></os></domain>"
        );
        let file = std::env::temp_dir().join(format!("{NO_VNC_NAME}-{}.xml", std::process::id()));
        std::fs::write(&file, xml).expect("write domain XML");
        common::admin_virsh(&["define", &file.to_string_lossy()]);
        let _ = std::fs::remove_file(&file);
        Self
    }
}

impl Drop for NoVncDomain {
    fn drop(&mut self) {
        if let Ok(uri) = std::env::var("HANGAR_TEST_UNIX_URI") {
            let _ = Command::new("virsh")
                .args(["-q", "-c", &uri, "undefine", NO_VNC_NAME])
                .output();
        }
    }
}

/// A machine without a VNC display says so, and offers nothing to edit.
#[test]
fn a_machine_without_vnc_says_so() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let _domain = NoVncDomain::define();
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", NO_VNC_NAME])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Apply"])
        .expect("the details page opens");
    click(&pid, None, "Display");
    let said = app.wait_until_gone(
        20,
        &["This virtual machine has no VNC display."],
        &["VNC listens on", "VNC password", "Keymap"],
    );
    let path = app.screenshot("domain-display-no-vnc");
    said.unwrap_or_else(|error| panic!("{error}\n{}", path.display()));
}
