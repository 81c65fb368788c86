//! VNC passwords in the real app, on a real QEMU guest with a VNC password: refused with a
//! reason, accepted, remembered in the keyring for the next start, asked again (once) when
//! the saved one is refused, and never asked on a connection allowed to read the guest's
//! secure XML.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::RunningApp;
use hangar::backend::secrets;

const GUEST: &str = "hangar-vnc-password";
/// VNC passwords count 8 characters at most.
const PASSWORD: &str = "hgr-vnc1";
const WRONG_PASSWORD: &str = "wrong-pw";

/// A transient guest of the test bed (gone once destroyed); destroyed when dropped, also when
/// the test fails.
struct TransientGuest {
    name: String,
    xml_path: PathBuf,
}

impl TransientGuest {
    /// Like tests/testbed/guest.xml, with a VNC password.
    fn create(name: &str, vnc_password: &str) -> Self {
        let xml = format!(
            "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='{vnc_password}'/>
    <memballoon model='none'/>
  </devices>
</domain>
"
        );
        let xml_path =
            std::env::temp_dir().join(format!("hangar-{name}-{}.xml", std::process::id()));
        std::fs::write(&xml_path, xml).expect("write the guest's XML");
        common::admin_virsh(&["create", xml_path.to_str().expect("a UTF-8 path")]);
        Self {
            name: name.to_owned(),
            xml_path,
        }
    }

    /// The TCP port of its VNC server, on 127.0.0.1.
    fn vnc_port(&self) -> u16 {
        // "127.0.0.1:1": a display number, 5900 + N.
        let display = common::admin_virsh(&["vncdisplay", &self.name]);
        let number: u16 = display
            .trim()
            .rsplit(':')
            .next()
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("odd vncdisplay output: {display:?}"));
        5900 + number
    }
}

impl Drop for TransientGuest {
    fn drop(&mut self) {
        // Not admin_virsh: a panic while unwinding would abort the whole test run.
        if let Ok(uri) = std::env::var("HANGAR_TEST_UNIX_URI") {
            let _ = Command::new("virsh")
                .args(["-c", &uri, "destroy", &self.name])
                .output();
        }
        let _ = std::fs::remove_file(&self.xml_path);
    }
}

/// Runs an AT-SPI command on the app (`--pid` and the app name go in after the command).
fn atspi(app: &RunningApp, args: &[&str]) -> Result<String, String> {
    let pid = app.pid().to_string();
    let mut full = vec![args[0], "--pid", &pid, "Hangar"];
    full.extend_from_slice(&args[1..]);
    common::run_atspi(&full)
}

/// Types `password` into the password page's entry and presses Return.
fn enter_password(app: &RunningApp, password: &str) {
    atspi(app, &["click", "VNC Password"]).expect("click the password entry");
    common::run_atspi(&["type", password]).expect("type");
    common::run_atspi(&["key", "Return"]).expect("press Return");
}

/// Whether the password page shows now (given a second to appear).
fn asks_for_password(app: &RunningApp) -> bool {
    atspi(app, &["wait-names", "1", "Console Password"]).is_ok()
}

fn saved_password(key: &str) -> Option<String> {
    secrets::lookup_password(key)
        .expect("the test bed's keyring answers")
        .map(|password| password.expose().to_owned())
}

#[test]
fn vnc_password_refused_accepted_and_remembered() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let guest = TransientGuest::create(GUEST, PASSWORD);
    let address = format!("127.0.0.1:{}", guest.vnc_port());
    let key = format!("vnc:{address}");
    secrets::delete_password(&key).expect("forget an earlier run's password");

    // First start: nothing saved, so the console asks.
    let (app, turn) = RunningApp::start(&["--vnc", &address]).expect("the test bed's desktop");
    app.wait_for_names(
        60,
        &[
            "Console Password",
            "This console asks for its VNC password.",
            "Remember in the keyring",
        ],
    )
    .expect("the password page");
    enter_password(&app, WRONG_PASSWORD);
    app.wait_for_names(
        60,
        &["The console did not accept the password (Authentication failed). Try again."],
    )
    .expect("asked again with the reason");
    app.screenshot("console-password-refused");
    assert_eq!(
        saved_password(&key),
        None,
        "a refused password must not be stored"
    );

    // "Remember in the keyring" is on unless the user turns it off.
    enter_password(&app, PASSWORD);
    let shot = common::wait_for_guest_screen(&app, "console-password-accepted");
    let saved = common::wait_for(Duration::from_secs(10), || saved_password(&key));
    assert_eq!(
        saved.as_deref(),
        Some(PASSWORD),
        "the accepted password is in the keyring under {key} (screen: {})",
        shot.display()
    );
    drop(app);
    drop(turn);

    // Second start: the saved password opens the console; nothing is typed.
    let (app, turn) = RunningApp::start(&["--vnc", &address]).expect("the test bed's desktop");
    let shot = common::wait_for_guest_screen(&app, "console-password-remembered");
    assert!(
        !asks_for_password(&app),
        "asked again although the password was saved: {}",
        shot.display()
    );
    drop(app);
    drop(turn);

    // A saved password the server refuses (changed since): asked once, with the reason,
    // never tried again and again; the one typed then replaces it.
    secrets::store_password(
        &key,
        "Hangar: VNC password for a test",
        &hangar::backend::password::Password::from_text(WRONG_PASSWORD),
    )
    .expect("store a stale password");
    let (app, turn) = RunningApp::start(&["--vnc", &address]).expect("the test bed's desktop");
    app.wait_for_names(
        60,
        &["The console did not accept the password (Authentication failed). Try again."],
    )
    .expect("asked with the reason");
    app.screenshot("console-password-stale");
    enter_password(&app, PASSWORD);
    common::wait_for_guest_screen(&app, "console-password-replaced");
    let saved = common::wait_for(Duration::from_secs(10), || {
        saved_password(&key).filter(|saved| saved == PASSWORD)
    });
    assert!(saved.is_some(), "the stale password was not replaced");
    drop(app);
    drop(turn);

    // A connection with full rights reads the password from the guest's secure XML (and the
    // local graphics socket needs none): no question either.
    let (app, _turn) = RunningApp::start(&["--connect", &uri, "--show-domain-console", GUEST])
        .expect("the test bed's desktop");
    app.wait_for_names(60, &["Console", GUEST])
        .expect("the console tab opens");
    let shot = common::wait_for_guest_screen(&app, "console-password-full-rights");
    assert!(
        !asks_for_password(&app),
        "a full-rights connection asked for the password: {}",
        shot.display()
    );
    drop(app);
    drop(guest);
    secrets::delete_password(&key).expect("forget the password");
}
