//! Saved connections in the real app: the password asked once, kept in the keyring, and
//! used on the next start; a host that never answers leaves the window responsive.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::RunningApp;

fn config_file() -> Option<PathBuf> {
    let config = common::testbed_var("XDG_CONFIG_HOME")?;
    Some(Path::new(&config).join("hangar/connections.toml"))
}

/// A saved TCP+SASL connection to the test bed, with no password anywhere yet.
fn save_test_bed_connection(login: &common::SaslLogin) -> PathBuf {
    let path = config_file().expect("XDG_CONFIG_HOME");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("config dir");
    let text = format!(
        "version = 1\n\n[[connection]]\nid = \"testbed0001\"\nname = \"Test bed\"\n\
         uri = \"{}\"\nusername = \"{}\"\nautoconnect = true\nremember_password = true\n",
        login.uri, login.user
    );
    std::fs::write(&path, text).expect("write connections.toml");
    path
}

/// Hangar's items in the keyring. A search that finds nothing succeeds; one that could not
/// ask the Secret Service fails, so "not in the keyring" never means "keyring gone".
fn keyring_items() -> String {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", "io.github.hangarvm.Hangar"])
        .output()
        .expect("run secret-tool");
    assert!(
        output.status.success(),
        "secret-tool could not search the keyring: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn files_containing(dir: &Path, needle: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_symlink() {
            continue;
        }
        if path.is_dir() {
            files_containing(&path, needle, found);
        } else if std::fs::read(&path).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        }) {
            found.push(path);
        }
    }
}

/// Both tests use the same config directory and keyring: one at a time, start to end.
static CONFIG_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn config_turn() -> std::sync::MutexGuard<'static, ()> {
    CONFIG_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn atspi(app: &RunningApp, args: &[&str]) {
    let pid = app.pid().to_string();
    let mut full = vec![args[0], "--pid", &pid, "Hangar"];
    full.extend_from_slice(&args[1..]);
    if let Err(dump) = common::run_atspi(&full) {
        let shot = app.screenshot("ui-connections-failure");
        panic!(
            "atspi {args:?} failed (screen: {}):\n{dump}\n{}",
            shot.display(),
            app.log()
        );
    }
}

#[test]
fn password_asked_once_then_kept_in_the_keyring() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let home = common::testbed_var("HOME").expect("HOME");
    let _config = config_turn();
    save_test_bed_connection(&login);

    // First start: nothing in the keyring, so Hangar asks.
    let Some((app, turn)) = RunningApp::start(&[]) else {
        return;
    };
    app.wait_for_names(60, &["Log In to Test bed", "Password", "Remember password"])
        .expect("the login question");
    common::run_atspi(&["type", "wrong-password"]).expect("type");
    common::run_atspi(&["key", "Return"]).expect("press Return");
    app.wait_for_names(
        60,
        &["The host did not accept the user name or password. Try again."],
    )
    .expect("asked again with the reason");
    assert!(
        !keyring_items().contains("testbed0001"),
        "a rejected password must not be stored"
    );
    common::run_atspi(&["type", &login.password]).expect("type");
    common::run_atspi(&["key", "Return"]).expect("press Return");
    app.wait_for_names(60, &[&guest, "Running"])
        .expect("the guest is listed");
    app.screenshot("saved-connection-first-login");
    drop(app);
    drop(turn);

    let items = keyring_items();
    assert!(
        items.contains("testbed0001"),
        "the password is in the keyring:\n{items}"
    );
    assert!(
        items.contains(&login.user),
        "the label names the user:\n{items}"
    );
    let mut leaks = Vec::new();
    files_containing(Path::new(&home), &login.password, &mut leaks);
    assert!(leaks.is_empty(), "the password is in files: {leaks:?}");

    // Second start: connects with the stored password, without asking.
    let Some((app, _turn)) = RunningApp::start(&[]) else {
        return;
    };
    app.wait_for_names(60, &[&guest, "Running"])
        .expect("connected again");
    // Connected means the question would have come before: one read that sees the guest
    // and no login dialog.
    let asked = app.wait_until_gone(10, &[&guest, "Running"], &["Log In to Test bed"]);
    assert!(
        asked.is_ok(),
        "Hangar asked again although the password was saved: {}",
        asked.unwrap_err()
    );
    app.screenshot("saved-connection-second-start");
    drop(app);
    forget_saved_connections();
}

/// Leaves no saved host behind for the tests that follow.
fn forget_saved_connections() {
    if let Some(path) = config_file() {
        let _ = std::fs::remove_file(path);
    }
    let _ = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            "io.github.hangarvm.Hangar",
            "username",
            "testbed0001",
        ])
        .status();
}

#[test]
fn host_that_never_answers_leaves_the_window_responsive() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = listener.local_addr().expect("address").port();
    let _server = common::SilentServer::hold(listener, 8);
    let Some(dir) = common::testbed_var("TESTBED_DIR") else {
        return;
    };
    let report = Path::new(&dir).join("stall-report.txt");
    let uri = format!("qemu+tcp://127.0.0.1:{port}/system");
    // A config folder of its own: no saved host (and no login question) in the way.
    let config = Path::new(&dir).join("hung-host-config");
    std::fs::create_dir_all(&config).expect("config dir");
    let env = [
        ("HANGAR_STALL_REPORT", report.as_os_str()),
        ("HANGAR_CONNECT_TIMEOUT", std::ffi::OsStr::new("4")),
        ("XDG_CONFIG_HOME", config.as_os_str()),
    ];
    let Some((app, _turn)) = RunningApp::start_with_env(&["--connect", &uri], &env) else {
        return;
    };
    atspi(&app, &["wait-names", "20", "Contacting the host…"]);
    // The window answers while the host hangs: a dialog opens at once.
    atspi(&app, &["click", "Add Connection"]);
    // GTK 4.8 exposes only shown windows, but its dialogs lack on-screen extents.
    atspi(
        &app,
        &["wait-names", "--hidden", "30", "Add Host", "Hypervisor"],
    );
    common::run_atspi(&["key", "Escape"]).expect("close the dialog");
    atspi(&app, &["wait-names", "30", "Could Not Connect"]);
    app.wait_for_names(
        10,
        &["Could not reach the host. The host did not answer within 4 seconds."],
    )
    .expect("the timeout is explained");
    app.screenshot("hung-host");
    // The app rewrites the report every second: wait for one written after all of the above.
    let checked_until = std::time::SystemTime::now();
    let stall_ms: u64 = common::wait_for(Duration::from_secs(10), || {
        let written = std::fs::metadata(&report).ok()?.modified().ok()?;
        if written <= checked_until {
            return None;
        }
        let text = std::fs::read_to_string(&report).ok()?;
        text.trim().strip_prefix("max_stall_ms=")?.parse().ok()
    })
    .expect("a stall report written after the timeout message");
    eprintln!("longest main loop stall while a host hung: {stall_ms} ms");
    assert!(stall_ms < 500, "the window froze for {stall_ms} ms");
}
