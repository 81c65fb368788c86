//! The new-machine wizard in the real app, on the test bed's libvirtd over TCP+SASL: a local
//! ISO (iPXE's) uploaded into a fresh pool, a machine created and started from it, and its
//! console showing iPXE. Every page is photographed (target/screenshots/new-vm-page-N.png).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::RunningApp;

/// Debian's `ipxe` package (tools/install-deps.sh installs it): a 2 MiB bootable ISO.
const IPXE_ISO: &str = "/usr/lib/ipxe/ipxe.iso";
const POOL: &str = "isos";
const VM_NAME: &str = "ipxe-wizard";

/// The saved connection and the keyring are shared with other UI tests: one at a time.
static CONFIG_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn config_turn() -> std::sync::MutexGuard<'static, ()> {
    CONFIG_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The test bed's TCP address with the user in it, so the login asks only for the password
/// whether the saved host or the one from --connect answers.
fn uri_with_user(login: &common::SaslLogin) -> String {
    login
        .uri
        .replacen("qemu+tcp://", &format!("qemu+tcp://{}@", login.user), 1)
}

fn save_connection(uri: &str, user: &str) -> PathBuf {
    let config = common::testbed_var("XDG_CONFIG_HOME").expect("XDG_CONFIG_HOME");
    let path = Path::new(&config).join("hangar/connections.toml");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("config dir");
    let text = format!(
        "version = 1\n\n[[connection]]\nid = \"newvm0001\"\nname = \"Test bed\"\n\
         uri = \"{uri}\"\nusername = \"{user}\"\nautoconnect = true\nremember_password = false\n"
    );
    std::fs::write(&path, text).expect("write connections.toml");
    path
}

/// Removes what the test made on the host and in the config, also when it fails.
struct Cleanup {
    config: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let virsh = |args: &[&str]| {
            let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
            let _ = Command::new("virsh").arg("-c").arg(uri).args(args).output();
        };
        virsh(&["destroy", VM_NAME]);
        virsh(&["undefine", VM_NAME, "--nvram"]);
        virsh(&["vol-delete", "--pool", POOL, "ipxe.iso"]);
        virsh(&["pool-destroy", POOL]);
        virsh(&["pool-undefine", POOL]);
        let _ = std::fs::remove_file(&self.config);
    }
}

/// A directory pool under the test bed's dir, which the daemon sees (it shares /tmp).
fn create_iso_pool(testbed_dir: &str) {
    let target = Path::new(testbed_dir).join("iso-pool");
    std::fs::create_dir_all(&target).expect("pool dir");
    let target = target.to_string_lossy();
    common::admin_virsh(&["pool-define-as", POOL, "dir", "--target", &target]);
    common::admin_virsh(&["pool-build", POOL]);
    common::admin_virsh(&["pool-start", POOL]);
}

fn atspi(app: &RunningApp, args: &[&str]) {
    let pid = app.pid().to_string();
    let mut full = vec![args[0], "--pid", &pid, "Hangar"];
    full.extend_from_slice(&args[1..]);
    if let Err(dump) = common::run_atspi(&full) {
        panic!("atspi {args:?} failed:\n{dump}\n{}", app.log());
    }
}

fn shown(app: &RunningApp, timeout_s: &str, name: &str) -> bool {
    let pid = app.pid().to_string();
    common::run_atspi(&["wait-names", "--pid", &pid, "Hangar", timeout_s, name]).is_ok()
}

/// Replaces the text of the focused field.
fn retype(text: &str) {
    common::run_atspi(&["key", "ctrl+a"]).expect("select all");
    common::run_atspi(&["type", text]).expect("type");
}

fn next_page(app: &RunningApp, step: &str) {
    atspi(app, &["click", "Next"]);
    atspi(app, &["wait-names", "20", step]);
}

/// How many different colours an image has (a blank screen has one).
fn colour_count(path: &Path) -> usize {
    let output = Command::new("identify")
        .args(["-format", "%k"])
        .arg(path)
        .output()
        .expect("run identify");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn domain_state() -> String {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
    let output = Command::new("virsh")
        .args(["-c", &uri, "domstate", VM_NAME])
        .output()
        .expect("run virsh");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn local_iso_becomes_a_running_machine() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let Some(testbed_dir) = common::testbed_var("TESTBED_DIR") else {
        return;
    };
    assert!(
        Path::new(IPXE_ISO).is_file(),
        "{IPXE_ISO} is missing: install ipxe (tools/install-deps.sh)"
    );
    let _config = config_turn();
    let uri = uri_with_user(&login);
    let _cleanup = Cleanup {
        config: save_connection(&uri, &login.user),
    };
    create_iso_pool(&testbed_dir);

    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri, "--show-domain-creator"])
    else {
        return;
    };
    app.wait_for_names(60, &["Password"])
        .expect("the login question");
    common::run_atspi(&["type", &login.password]).expect("type");
    common::run_atspi(&["key", "Return"]).expect("press Return");

    // 1. Install from: the local file, typed; checked off the main thread.
    atspi(&app, &["wait-names", "60", "Step 1 of 6: Install From"]);
    atspi(&app, &["click", "Local ISO file"]);
    atspi(&app, &["click", "--role", "text", "ISO file"]);
    common::run_atspi(&["type", IPXE_ISO]).expect("type the path");
    atspi(
        &app,
        &[
            "wait-names",
            "10",
            "An ISO image labelled “ISOIMAGE”. It is uploaded as “ipxe.iso”.",
            POOL,
        ],
    );
    app.screenshot("new-vm-page-1");

    // 2. Operating system: the generic settings, whatever the label suggested.
    next_page(&app, "Step 2 of 6: Operating System");
    atspi(
        &app,
        &["click", "--role", "list item", "Generic operating system"],
    );
    app.screenshot("new-vm-page-2");

    // 3. Memory: iPXE needs little.
    next_page(&app, "Step 3 of 6: Memory and Processors");
    atspi(&app, &["click", "Memory in MiB"]);
    retype("256");
    common::run_atspi(&["key", "Tab"]).expect("leave the field");
    app.screenshot("new-vm-page-3");

    // 4. Storage: none, the ISO boots.
    next_page(&app, "Step 4 of 6: Storage");
    atspi(&app, &["click", "No disk"]);
    app.screenshot("new-vm-page-4");

    // 5. Name; emulation, which every test machine can run (nested KVM may refuse some CPUs).
    next_page(&app, "Step 5 of 6: Name and Devices");
    atspi(&app, &["click", "--role", "text", "Name"]);
    retype(VM_NAME);
    if shown(&app, "1", "KVM") {
        atspi(&app, &["click", "Run with"]);
        atspi(&app, &["click", "QEMU emulation"]);
    }
    atspi(&app, &["wait-names", "5", "QEMU emulation", "0.0.0.0"]);
    app.screenshot("new-vm-page-5");

    // 6. Review, then Create with “Start after creating” on.
    next_page(&app, "Step 6 of 6: Review");
    atspi(
        &app,
        &["wait-names", "5", VM_NAME, "256 MiB, 2 processors", "None"],
    );
    app.screenshot("new-vm-page-6");
    atspi(&app, &["click", "Create"]);

    let running = common::wait_for(Duration::from_secs(60), || {
        (domain_state() == "running").then_some(())
    });
    assert!(
        running.is_some(),
        "{VM_NAME} is not running: {}\n{}",
        domain_state(),
        app.log()
    );
    let volumes = common::admin_virsh(&["vol-list", POOL]);
    assert!(volumes.contains("ipxe.iso"), "uploaded: {volumes}");
    let xml = common::admin_virsh(&["dumpxml", VM_NAME]);
    assert!(xml.contains("<memory unit='KiB'>262144</memory>"), "{xml}");

    // The wizard closed; the machine is listed. Its console shows iPXE's text.
    atspi(&app, &["wait-names", "30", VM_NAME, "Running"]);
    atspi(&app, &["click", VM_NAME]);
    atspi(&app, &["click", "Open Console"]);
    atspi(&app, &["wait-names", "30", "Keys and Screenshot"]);
    std::thread::sleep(Duration::from_secs(4));
    let shot = app.screenshot("new-vm-console");
    let colours = colour_count(&shot);
    assert!(colours > 2, "the console looks blank: {}", shot.display());
    // The guest's own screen, as libvirt sees it: iPXE has printed something.
    let guest_shot = Path::new(&testbed_dir).join("new-vm-guest.ppm");
    common::admin_virsh(&["screenshot", VM_NAME, &guest_shot.to_string_lossy()]);
    let guest_colours = colour_count(&guest_shot);
    assert!(guest_colours > 1, "the guest's screen is blank");
}
