//! The creation dialogs in the real app against the test bed's libvirtd: a directory pool and
//! a NAT network made from the main menu with the keyboard, as a user would, then looked up
//! with virsh. Also: the XML preview is what is sent, a field's problem shows beside it, and
//! a failure on the host keeps the dialog open with everything typed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::RunningApp;
use hangar::backend::network_form::NetworkForm;
use hangar::backend::pool_form::PoolForm;
use hangar::backend::xml::network::network_xml;
use hangar::backend::xml::pool::pool_xml;

const POOL: &str = "hangar-wizard-pool";
const NETWORK: &str = "hangar-wizard-net";
const CONNECTION_ID: &str = "wizards0001";

/// The tests share the config directory and keyring (with the other UI tests' files, which
/// run in other processes): one at a time, start to end.
static CONFIG_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn config_turn() -> std::sync::MutexGuard<'static, ()> {
    CONFIG_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn config_file() -> Option<PathBuf> {
    let config = common::testbed_var("XDG_CONFIG_HOME")?;
    Some(Path::new(&config).join("hangar/connections.toml"))
}

/// A saved TCP+SASL connection to the test bed that connects at start.
fn save_test_bed_connection(login: &common::SaslLogin) {
    let path = config_file().expect("XDG_CONFIG_HOME");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("config dir");
    let text = format!(
        "version = 1\n\n[[connection]]\nid = \"{CONNECTION_ID}\"\nname = \"Test bed\"\n\
         uri = \"{}\"\nusername = \"{}\"\nautoconnect = true\nremember_password = true\n",
        login.uri, login.user
    );
    std::fs::write(&path, text).expect("write connections.toml");
}

/// Leaves no saved host or password behind, for the next test and the tests that follow.
fn forget_saved_connection() {
    if let Some(path) = config_file() {
        let _ = std::fs::remove_file(path);
    }
    let _ = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            "io.github.hangarvm.Hangar",
            "username",
            CONNECTION_ID,
        ])
        .status();
}

/// The app, logged in to the test bed by typing the password, with the guest on screen.
struct LoggedIn {
    app: RunningApp,
    _app_turn: std::sync::MutexGuard<'static, ()>,
    _config_turn: std::sync::MutexGuard<'static, ()>,
}

impl Drop for LoggedIn {
    fn drop(&mut self) {
        forget_saved_connection();
    }
}

fn start_logged_in() -> Option<LoggedIn> {
    let login = common::sasl_login()?;
    let guest = common::testbed_var("HANGAR_TEST_GUEST")?;
    let config_turn = config_turn();
    forget_saved_connection();
    save_test_bed_connection(&login);
    let (app, app_turn) = RunningApp::start(&[])?;
    app.wait_for_names(60, &["Log In to Test bed", "Password"])
        .expect("the login question");
    common::run_atspi(&["type", &login.password]).expect("type");
    key(&["Return"]);
    app.wait_for_names(60, &[&guest, "Running"])
        .expect("the guest is listed");
    Some(LoggedIn {
        app,
        _app_turn: app_turn,
        _config_turn: config_turn,
    })
}

fn atspi(app: &RunningApp, args: &[&str]) {
    let pid = app.pid().to_string();
    let mut full = vec![args[0], "--pid", &pid, "Hangar"];
    full.extend_from_slice(&args[1..]);
    if let Err(dump) = common::run_atspi(&full) {
        panic!("atspi {args:?} failed:\n{dump}\n{}", app.log());
    }
}

fn key(keys: &[&str]) {
    let mut args = vec!["key"];
    args.extend_from_slice(keys);
    common::run_atspi(&args).expect("press keys");
}

/// Presses `name` `times` times, as focus moves from row to row.
fn press(name: &str, times: usize) {
    key(&vec![name; times]);
}

fn type_text(text: &str) {
    common::run_atspi(&["type", text]).expect("type");
}

/// Waits for elements of a dialog: GTK 4.8 gives dialogs no on-screen extents, so they are
/// looked for among hidden elements too.
fn wait_in_dialog(app: &RunningApp, timeout_s: u32, names: &[&str]) {
    let timeout = timeout_s.to_string();
    let mut args = vec!["wait-names", "--hidden", &timeout];
    args.extend_from_slice(names);
    atspi(app, &args);
}

/// Waits until some element's name or text contains `needle`; returns that line of the dump.
fn wait_for_text(app: &RunningApp, timeout: Duration, needle: &str) -> String {
    let pid = app.pid().to_string();
    let found = common::wait_for(timeout, || {
        let dump = common::run_atspi(&["dump", "--pid", &pid, "Hangar"]).ok()?;
        dump.lines()
            .find(|line| line.contains(needle))
            .map(str::to_owned)
    });
    found.unwrap_or_else(|| panic!("nothing says {needle:?}\n{}", app.log()))
}

fn open_from_main_menu(app: &RunningApp, item: &str) {
    atspi(app, &["click", "Main Menu"]);
    atspi(app, &["click", item]);
}

/// `virsh ARGS` on the admin socket, `None` when it fails (say, no such pool yet).
fn try_virsh(args: &[&str]) -> Option<String> {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI")?;
    let output = Command::new("virsh")
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn wait_for_virsh(args: &[&str], expect: &[&str]) -> String {
    let found = common::wait_for(Duration::from_secs(30), || {
        try_virsh(args).filter(|out| expect.iter().all(|line| out.contains(line)))
    });
    found.unwrap_or_else(|| {
        panic!(
            "virsh {args:?} never showed {expect:?}; last: {:?}",
            try_virsh(args)
        )
    })
}

/// Removes what a test made on the host, also when it fails half-way.
struct Cleanup(&'static [&'static [&'static str]]);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0 {
            let _ = try_virsh(args);
        }
    }
}

/// The XML the pool dialog shows (and sends) for a directory pool at `path`.
fn pool_preview(path: &str) -> String {
    let form = PoolForm {
        name: POOL.to_owned(),
        target_path: path.to_owned(),
        ..PoolForm::default()
    };
    let xml = pool_xml(&form.to_spec()).expect("a valid pool");
    xml.trim_end().to_owned()
}

#[test]
fn a_directory_pool_is_made_from_the_main_menu() {
    let Some(dir) = common::testbed_var("TESTBED_DIR") else {
        return;
    };
    let Some(session) = start_logged_in() else {
        return;
    };
    let app = &session.app;
    let _cleanup = Cleanup(&[&["pool-destroy", POOL], &["pool-undefine", POOL]]);
    // A file where the directory should be: the host fails, and says so.
    let blocked = format!("{dir}/not-a-directory");
    std::fs::write(&blocked, "").expect("write a file");
    let target = format!("{dir}/pools/{POOL}");

    open_from_main_menu(app, "New Storage Pool…");
    wait_in_dialog(app, 20, &["New Storage Pool", "Test bed", "Type", "Name"]);
    type_text(POOL);
    wait_in_dialog(app, 10, &["/var/lib/libvirt/images/hangar-wizard-pool"]);
    // Tab selects the directory, which followed the name, so typing replaces it.
    key(&["Tab"]);
    type_text("pools");
    wait_for_text(
        app,
        Duration::from_secs(10),
        "The path must start with “/”.",
    );
    key(&["ctrl+a"]);
    type_text(&blocked);
    // Build, its switch, Start now, its switch, Start with host, its switch, the XML; it
    // opens, and the next Tab brings it into view.
    press("Tab", 7);
    key(&["space", "Tab"]);
    wait_in_dialog(app, 10, &[&pool_preview(&blocked)]);
    app.screenshot("new-pool-dialog");

    press("shift+Tab", 8);
    key(&["Return"]);
    let failure = wait_for_text(app, Duration::from_secs(30), "Nothing was left behind.");
    eprintln!("the host's answer: {failure}");
    app.screenshot("new-pool-failure");
    // A listing that succeeded (admin_virsh fails otherwise) and lacks the pool: rolled back,
    // not a daemon that stopped answering.
    let pools = common::admin_virsh(&["pool-list", "--all", "--name"]);
    assert!(
        !pools.lines().any(|line| line.trim() == POOL),
        "rolled back: {pools}"
    );

    // Everything typed is still there; the keyboard is back in the directory row.
    key(&["ctrl+a"]);
    type_text(&target);
    wait_in_dialog(app, 10, &[&pool_preview(&target)]);
    key(&["Return"]);
    let info = wait_for_virsh(&["pool-info", POOL], &["State:          running"]);
    assert!(info.contains("Autostart:      yes"), "{info}");
    assert!(Path::new(&target).is_dir(), "the pool built {target}");
    let xml = wait_for_virsh(&["pool-dumpxml", POOL], &[&target]);
    assert!(xml.contains("<pool type='dir'>"), "{xml}");
    app.screenshot("new-pool-created");
}

#[test]
fn a_nat_network_is_made_from_the_main_menu() {
    let Some(session) = start_logged_in() else {
        return;
    };
    let app = &session.app;
    let _cleanup = Cleanup(&[&["net-destroy", NETWORK], &["net-undefine", NETWORK]]);

    open_from_main_menu(app, "New Virtual Network…");
    wait_in_dialog(app, 20, &["New Virtual Network", "Test bed", "Mode", "NAT"]);
    // The test bed has no other network: the first suggestion is free.
    wait_in_dialog(app, 10, &["192.168.100.1", "192.168.100.128"]);
    type_text(NETWORK);
    // Mode, Address, Prefix length, DHCP, its switch, then the range's first address.
    press("Tab", 6);
    type_text("192.168.99.10");
    // One sentence among the IPv4 group's: the gateway is now inside the range too.
    wait_for_text(
        app,
        Duration::from_secs(10),
        "The address must be inside 192.168.100.0/24, not its first or last one.",
    );
    app.screenshot("new-network-error");
    key(&["ctrl+a"]);
    type_text("192.168.100.10");
    let mut form = NetworkForm::suggested(&[]);
    form.name = NETWORK.to_owned();
    form.dhcp_start = "192.168.100.10".to_owned();
    let expected = network_xml(&form.to_spec().expect("a valid form")).expect("valid XML");
    // Last address, Use IPv6, its switch, Start with host, its switch, the XML; it opens,
    // and the next Tab brings it into view.
    press("Tab", 6);
    key(&["space", "Tab"]);
    wait_in_dialog(app, 10, &[expected.trim_end()]);
    app.screenshot("new-network-dialog");
    press("shift+Tab", 7);
    key(&["Return"]);

    let info = wait_for_virsh(&["net-info", NETWORK], &["Active:         yes"]);
    assert!(info.contains("Autostart:      yes"), "{info}");
    let xml = wait_for_virsh(&["net-dumpxml", NETWORK], &["<forward mode='nat'"]);
    assert!(
        xml.contains("<range start='192.168.100.10' end='192.168.100.254'"),
        "{xml}"
    );
    app.screenshot("new-network-created");
}
