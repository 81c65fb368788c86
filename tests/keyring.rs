//! Passwords against the test bed's real gnome-keyring-daemon (Secret Service over D-Bus).

mod common;

use std::process::Command;

use hangar::backend::password::Password;
use hangar::backend::secrets::{
    connection_label, delete_password, lookup_password, store_password, SecretError,
};
use hangar::backend::store::new_connection_id;
use hangar::config::APP_ID;

/// Set in the child process that runs a test without a usable session bus.
const CHILD_VAR: &str = "HANGAR_KEYRING_TEST_CHILD";

/// A key no other test (or earlier run) uses.
fn unique_key() -> String {
    format!("test-{}", new_connection_id())
}

/// Runs `secret-tool search --all service <app id> [ATTRIBUTE VALUE...]`; returns what it
/// prints on stdout (labels; secrets left out) and on stderr (attributes) separately.
fn secret_tool_search(more: &[&str]) -> (String, String) {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", APP_ID])
        .args(more)
        .output()
        .expect("run secret-tool");
    let labels = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("secret = "))
        .collect::<Vec<_>>()
        .join("\n");
    let attributes = String::from_utf8_lossy(&output.stderr).into_owned();
    (labels, attributes)
}

/// Whether Hangar's listing has an item whose username is `key`.
fn is_listed(key: &str) -> bool {
    // Searched by key: listing every item races with the other tests deleting theirs.
    let (_, attributes) = secret_tool_search(&["username", key]);
    attributes
        .lines()
        .any(|line| line.trim() == format!("attribute.username = {key}"))
}

/// The labels of the items for `key`.
fn labels_of(key: &str) -> Vec<String> {
    let (labels, _) = secret_tool_search(&["username", key]);
    labels
        .lines()
        .filter_map(|line| line.strip_prefix("label = "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn password_round_trip_is_listed_by_secret_tool() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let key = unique_key();
    let label = connection_label(Some("admin"), Some("nas.local"));
    store_password(&key, &label, &Password::from_text("s3cret pass")).expect("store");
    assert_eq!(
        lookup_password(&key)
            .expect("lookup")
            .as_ref()
            .map(Password::expose),
        Some("s3cret pass")
    );

    assert!(is_listed(&key), "not listed by secret-tool");
    assert_eq!(labels_of(&key), ["Hangar: password for admin on nas.local"]);

    delete_password(&key).expect("delete");
    assert_eq!(lookup_password(&key).expect("lookup after delete"), None);
    assert!(!is_listed(&key), "still listed after delete");
    delete_password(&key).expect("deleting twice is fine");
}

#[test]
fn storing_again_replaces_the_password() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let key = unique_key();
    let label = connection_label(Some("admin"), Some("lab"));
    store_password(&key, &label, &Password::from_text("first")).expect("store first");
    store_password(&key, &label, &Password::from_text("second")).expect("store second");
    assert_eq!(
        lookup_password(&key)
            .expect("lookup")
            .as_ref()
            .map(Password::expose),
        Some("second")
    );
    assert_eq!(labels_of(&key).len(), 1, "one item per key");
    delete_password(&key).expect("delete");
}

#[test]
fn keys_are_independent() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let first = unique_key();
    let second = format!("vnc:{first}:6a4a1f2e-0000-4000-8000-000000000001");
    store_password(
        &first,
        &connection_label(None, Some("nas")),
        &Password::from_text("one"),
    )
    .expect("store one");
    store_password(
        &second,
        "Hangar: console password",
        &Password::from_text("two"),
    )
    .expect("store two");
    delete_password(&first).expect("delete first");
    assert_eq!(lookup_password(&first).expect("lookup first"), None);
    assert_eq!(
        lookup_password(&second)
            .expect("lookup second")
            .as_ref()
            .map(Password::expose),
        Some("two")
    );
    delete_password(&second).expect("delete second");
}

#[test]
fn missing_key_is_none() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    assert_eq!(lookup_password(&unique_key()).expect("lookup"), None);
}

/// Runs `keyring_child_process` (this test binary again) with `env` set and `unset` removed;
/// keyring opens its store once per process, so a broken session needs a process of its own.
/// Returns the message the child saw.
fn run_child(expected_cause: &str, env: &[(&str, String)], unset: &[&str]) -> String {
    run_child_test("keyring_child_process", expected_cause, env, unset)
}

/// Runs the child test `name` of this binary with `env`; returns the message it printed.
fn run_child_test(
    name: &str,
    expected_cause: &str,
    env: &[(&str, String)],
    unset: &[&str],
) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = Command::new(exe);
    command
        .args(["--exact", name, "--nocapture"])
        .env(CHILD_VAR, expected_cause);
    for (name, value) in env {
        command.env(name, value);
    }
    for name in unset {
        command.env_remove(name);
    }
    let output = command.output().expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "child ran no test:\n{stdout}");
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("child message: "))
        .unwrap_or_else(|| panic!("no message from the child:\n{stdout}"))
        .to_owned()
}

/// Only does something in a child started by `run_child`.
#[test]
fn keyring_child_process() {
    let Ok(expected_cause) = std::env::var(CHILD_VAR) else {
        return;
    };
    let stored = store_password(
        "never-stored",
        "Hangar: test",
        &Password::from_text("secret-value"),
    );
    let looked_up = lookup_password("never-stored").map(|_| ());
    let deleted = delete_password("never-stored");
    for result in [stored, looked_up, deleted] {
        let message = match result {
            Err(SecretError::Unavailable(message)) => message,
            other => panic!("expected Unavailable, got {other:?}"),
        };
        assert_eq!(
            message,
            format!("{expected_cause} Hangar will ask for the password each time it connects.")
        );
        assert!(!message.contains("secret-value"));
        println!("child message: {message}");
    }
}

const NO_BUS: &str = "Hangar cannot reach the desktop session bus.";
const NO_SERVICE: &str = "No keyring service (Secret Service) is running in this session.";

#[test]
fn bus_address_to_a_missing_socket_is_unavailable() {
    let missing = std::env::temp_dir().join(format!("hangar-no-bus-{}", new_connection_id()));
    let address = format!("unix:path={}", missing.display());
    let message = run_child(NO_BUS, &[("DBUS_SESSION_BUS_ADDRESS", address)], &[]);
    assert!(message.starts_with(NO_BUS), "{message}");
}

#[test]
fn no_bus_address_and_no_bus_socket_is_unavailable() {
    let empty = TempDir::new("hangar-no-runtime");
    let runtime_dir = empty.0.display().to_string();
    let message = run_child(
        NO_BUS,
        &[("XDG_RUNTIME_DIR", runtime_dir)],
        &["DBUS_SESSION_BUS_ADDRESS"],
    );
    assert!(message.starts_with(NO_BUS), "{message}");
}

#[test]
fn bus_without_a_secret_service_is_unavailable() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let bus = PrivateBus::start();
    let message = run_child(
        NO_SERVICE,
        &[("DBUS_SESSION_BUS_ADDRESS", bus.address.clone())],
        &[],
    );
    assert!(message.starts_with(NO_SERVICE), "{message}");
}

const LOCKED: &str = "The keyring is locked.";

/// A real gnome-keyring that was never unlocked (no login keyring, no prompter to ask
/// with): told apart by the Secret Service's answer, not by any message text.
#[test]
fn keyring_never_unlocked_is_locked() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let bus = PrivateBus::start();
    let home = TempDir::new("hangar-locked-home");
    let runtime = TempDir::new("hangar-locked-run");
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", bus.address.clone()),
        ("HOME", home.0.display().to_string()),
        ("XDG_DATA_HOME", home.0.join("data").display().to_string()),
        ("XDG_RUNTIME_DIR", runtime.0.display().to_string()),
    ];
    let mut daemon = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--components=secrets"])
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start gnome-keyring-daemon");
    let claimed = wait_for_name(&bus.address, "org.freedesktop.secrets");
    let message = claimed.then(|| run_child_test("locked_child_process", LOCKED, &env, &[]));
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(
        claimed,
        "gnome-keyring-daemon did not claim org.freedesktop.secrets"
    );
    let message = message.unwrap_or_default();
    assert!(message.starts_with(LOCKED), "{message}");
}

/// Only does something in a child started by `keyring_never_unlocked_is_locked`: storing
/// fails as locked, while reading finds nothing (a locked keyring shows no items).
#[test]
fn locked_child_process() {
    let Ok(expected_cause) = std::env::var(CHILD_VAR) else {
        return;
    };
    let stored = store_password(
        "never-stored",
        "Hangar: test",
        &Password::from_text("secret-value"),
    );
    let message = match stored {
        Err(SecretError::Unavailable(message)) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    };
    assert!(message.starts_with(&expected_cause), "{message}");
    assert_eq!(lookup_password("never-stored"), Ok(None));
    println!("child message: {message}");
}

/// Waits up to 15 s for `name` to have an owner on the bus at `address`.
fn wait_for_name(address: &str, name: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let reply = Command::new("dbus-send")
            .arg(format!("--bus={address}"))
            .args(["--dest=org.freedesktop.DBus", "--print-reply=literal"])
            .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
            .arg(format!("string:{name}"))
            .output()
            .expect("run dbus-send");
        if String::from_utf8_lossy(&reply.stdout).contains("true") {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", new_connection_id()));
        std::fs::create_dir(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A bare session bus with nothing on it and nothing activatable; killed by PID on drop.
struct PrivateBus {
    daemon: std::process::Child,
    address: String,
    _dir: TempDir,
}

impl PrivateBus {
    fn start() -> Self {
        use std::io::BufRead;
        let dir = TempDir::new("hangar-bus");
        let config = dir.0.join("bus.conf");
        std::fs::write(&config, bus_config(&dir.0.join("bus"))).expect("bus config");
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            // It warns that it cannot raise its file limit: noise, not a failure.
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut address = String::new();
        let stdout = daemon.stdout.take().expect("dbus-daemon stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut address)
            .expect("bus address");
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}"
        );
        Self {
            daemon,
            address: address.trim().to_owned(),
            _dir: dir,
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// No <servicedir>: nothing (gnome-keyring included) can be started on demand.
fn bus_config(socket: &std::path::Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}
