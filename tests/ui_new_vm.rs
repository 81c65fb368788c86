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
    vm: &'static str,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let virsh = |args: &[&str]| {
            let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
            let _ = Command::new("virsh").arg("-c").arg(uri).args(args).output();
        };
        virsh(&["destroy", self.vm]);
        virsh(&["undefine", self.vm, "--nvram"]);
        for volume in pool_volumes() {
            virsh(&["vol-delete", "--pool", POOL, &volume]);
        }
        virsh(&["pool-destroy", POOL]);
        virsh(&["pool-undefine", POOL]);
        let _ = std::fs::remove_file(&self.config);
    }
}

/// A directory pool under the test bed's dir, which the daemon sees (it shares /tmp).
fn create_iso_pool(testbed_dir: &str) {
    let target = Path::new(testbed_dir).join("iso-pool");
    // Files left by an earlier run would become volumes of the new pool.
    let _ = std::fs::remove_dir_all(&target);
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

fn domain_state(name: &str) -> String {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
    let output = Command::new("virsh")
        .args(["-c", &uri, "domstate", name])
        .output()
        .expect("run virsh");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The volume names in the pool, from `virsh vol-list`'s table (it has no `--name`).
fn pool_volumes() -> Vec<String> {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
    let output = Command::new("virsh")
        .args(["-c", &uri, "vol-list", POOL])
        .output()
        .expect("run virsh");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip_while(|line| !line.starts_with("---"))
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Saves the test bed host, makes the pool, starts the app with the wizard and logs in.
fn start_wizard(vm: &'static str) -> Option<(RunningApp, impl Drop, Cleanup)> {
    let login = common::sasl_login()?;
    let testbed_dir = common::testbed_var("TESTBED_DIR")?;
    let uri = uri_with_user(&login);
    let cleanup = Cleanup {
        config: save_connection(&uri, &login.user),
        vm,
    };
    create_iso_pool(&testbed_dir);
    let (app, turn) = RunningApp::start(&["--connect", &uri, "--show-domain-creator"])?;
    app.wait_for_names(60, &["Password"])
        .expect("the login question");
    common::run_atspi(&["type", &login.password]).expect("type");
    common::run_atspi(&["key", "Return"]).expect("press Return");
    atspi(&app, &["wait-names", "60", "Step 1 of 6: Install From"]);
    Some((app, turn, cleanup))
}

/// Walks every page with a local ISO, the generic system, 256 MiB, no disk, emulation and
/// the name `vm`, photographing each page when `shots` is set; stops on the review page.
fn fill_wizard(app: &RunningApp, iso: &str, vm: &str, shots: bool) {
    let shot = |n: u32| {
        if shots {
            app.screenshot(&format!("new-vm-page-{n}"));
        }
    };
    // 1. Install from: the local file, typed; checked off the main thread.
    atspi(app, &["click", "Local ISO file"]);
    atspi(app, &["click", "--role", "text", "ISO file"]);
    common::run_atspi(&["type", iso]).expect("type the path");
    let file_name = Path::new(iso)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let checked = format!("An ISO image labelled “ISOIMAGE”. It is uploaded as “{file_name}”.");
    atspi(app, &["wait-names", "10", &checked]);
    // Another test's pool may come first: choose ours (a click on the shown name just
    // closes the list again).
    atspi(app, &["click", "Upload to pool"]);
    atspi(app, &["click", POOL]);
    atspi(app, &["wait-names", "5", POOL, &checked]);
    shot(1);

    // 2. Operating system: iPXE's image shares its label with ALT Linux 8.2 Server's but not
    // its publisher, so nothing is recognised; the generic settings are chosen by hand.
    next_page(app, "Step 2 of 6: Operating System");
    atspi(
        app,
        &[
            "wait-names",
            "5",
            "Not recognised from the ISO image’s label “ISOIMAGE”: choose it below, or keep the generic settings.",
        ],
    );
    atspi(
        app,
        &["click", "--role", "list item", "Generic operating system"],
    );
    shot(2);

    // 3. Memory: iPXE needs little.
    next_page(app, "Step 3 of 6: Memory and Processors");
    atspi(app, &["click", "Memory in MiB"]);
    retype("256");
    common::run_atspi(&["key", "Tab"]).expect("leave the field");
    shot(3);

    // 4. Storage: none, the ISO boots.
    next_page(app, "Step 4 of 6: Storage");
    atspi(app, &["click", "No disk"]);
    shot(4);

    // 5. Name; emulation, which every test machine runs (nested KVM refuses some CPUs).
    next_page(app, "Step 5 of 6: Name and Devices");
    atspi(app, &["click", "--role", "text", "Name"]);
    retype(vm);
    if shown(app, "1", "KVM") {
        atspi(app, &["click", "Run with"]);
        atspi(app, &["click", "QEMU emulation"]);
    }
    atspi(app, &["wait-names", "5", "QEMU emulation", "0.0.0.0"]);
    shot(5);

    next_page(app, "Step 6 of 6: Review");
    atspi(app, &["wait-names", "5", vm, "256 MiB, 2 processors"]);
    shot(6);
}

#[test]
fn local_iso_becomes_a_running_machine() {
    assert!(
        Path::new(IPXE_ISO).is_file() || common::testbed_var("TESTBED_DIR").is_none(),
        "{IPXE_ISO} is missing: install ipxe (tools/install-deps.sh)"
    );
    let _config = config_turn();
    let Some((app, _turn, _cleanup)) = start_wizard(VM_NAME) else {
        return;
    };
    fill_wizard(&app, IPXE_ISO, VM_NAME, true);
    atspi(&app, &["click", "Create"]);

    let running = common::wait_for(Duration::from_secs(60), || {
        (domain_state(VM_NAME) == "running").then_some(())
    });
    assert!(
        running.is_some(),
        "{VM_NAME} is not running: {}\n{}",
        domain_state(VM_NAME),
        app.log()
    );
    assert_eq!(pool_volumes(), vec!["ipxe.iso".to_owned()], "uploaded");
    let xml = common::admin_virsh(&["dumpxml", VM_NAME]);
    assert!(xml.contains("<memory unit='KiB'>262144</memory>"), "{xml}");

    // The wizard closed and the machine's console opened, showing iPXE's text; from the list
    // if it did not open by itself.
    if !shown(&app, "30", "Keys and Screenshot") {
        atspi(&app, &["wait-names", "30", VM_NAME, "Running"]);
        atspi(&app, &["click", VM_NAME]);
        atspi(&app, &["click", "Open Console"]);
        atspi(&app, &["wait-names", "30", "Keys and Screenshot"]);
    }
    // iPXE's text on black in the console, not a blank widget.
    common::wait_for_guest_screen(&app, "new-vm-console");
    // The guest's own screen, as libvirt sees it.
    let testbed_dir = common::testbed_var("TESTBED_DIR").expect("TESTBED_DIR");
    let guest_shot = Path::new(&testbed_dir).join("new-vm-guest.ppm");
    common::admin_virsh(&["screenshot", VM_NAME, &guest_shot.to_string_lossy()]);
    assert!(colour_count(&guest_shot) > 1, "the guest's screen is blank");
}

#[test]
fn a_cancelled_upload_leaves_nothing_and_keeps_the_answers() {
    let Some(testbed_dir) = common::testbed_var("TESTBED_DIR") else {
        return;
    };
    // iPXE's ISO 9660 header in a sparse 8 GiB file: an ISO that takes a while to send.
    let big_iso = Path::new(&testbed_dir).join("big.iso");
    let mut bytes = std::fs::read(IPXE_ISO).expect("read the iPXE ISO");
    bytes.truncate(64 * 1024);
    std::fs::write(&big_iso, &bytes).expect("write big.iso");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&big_iso)
        .expect("open big.iso");
    file.set_len(8 << 30).expect("grow big.iso");
    let _config = config_turn();
    let vm = "cancelled-upload";
    let Some((app, _turn, _cleanup)) = start_wizard(vm) else {
        return;
    };
    fill_wizard(&app, &big_iso.to_string_lossy(), vm, false);
    atspi(&app, &["click", "Create"]);
    atspi(&app, &["wait-names", "20", "Uploading “big.iso” to “isos”"]);
    app.screenshot("new-vm-uploading");
    // The upload is a job: the main window's header bar shows the Jobs button (its popover
    // is out of reach while the modal wizard is open; the wizard shows the job's progress).
    atspi(&app, &["wait-names", "10", "Jobs"]);
    atspi(&app, &["click", "Cancel Upload"]);
    atspi(
        &app,
        &[
            "wait-names",
            "60",
            "Upload cancelled. Nothing was left on the host.",
        ],
    );
    app.screenshot("new-vm-upload-cancelled");
    assert_eq!(
        pool_volumes(),
        Vec::<String>::new(),
        "a partial upload remains"
    );
    assert_eq!(domain_state(vm), "", "a machine was defined");
    // Every answer is still there: Create can be pressed again.
    atspi(
        &app,
        &["wait-names", "5", vm, "256 MiB, 2 processors", "Create"],
    );
    let _ = std::fs::remove_file(&big_iso);
}
