//! The details page's CPU and Memory section in the real app: on the test bed's running
//! QEMU guest, a new maximum of vCPUs and a new CPU model are saved on Apply and wait for the
//! shutdown (the running machine keeps its maximum); values that do not go together are
//! said under their rows and never written. On the demo host, the topology's check and its
//! offered numbers.

mod common;

use common::{atspi, click};

use std::time::Duration;

use common::RunningApp;

const AFTER_SHUTDOWN: &str = "Takes effect after the virtual machine shuts down";
const PENDING_NOTICE: &str = "Some changes take effect after the virtual machine shuts down";
const TOO_MANY_VCPUS: &str = "The vCPUs at start cannot be more than the maximum.";

/// Runs xdotool (which tests/ui/atspi.py clicks with too).
fn xdotool(args: &[&str]) {
    let status = std::process::Command::new("xdotool")
        .args(args)
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool {args:?} failed");
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
    xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", &value.to_string()]);
    atspi(&["key", "Tab"]);
}

/// The guest's XML: saved (`inactive`) or the running machine's.
fn domain_xml(guest: &str, inactive: bool) -> String {
    let mut args = vec!["dumpxml", guest];
    if inactive {
        args.push("--inactive");
    }
    common::admin_virsh(&args)
}

/// `<vcpu>`'s maximum and `<cpu mode>` of a domain's XML.
fn vcpu_and_mode(xml: &str) -> (u32, Option<String>) {
    let document = roxmltree::Document::parse(xml).expect("domain XML");
    let root = document.root_element();
    let element = |name: &str| root.children().find(|node| node.has_tag_name(name));
    let max = element("vcpu")
        .and_then(|vcpu| vcpu.text())
        .and_then(|text| text.trim().parse().ok())
        .expect("<vcpu>");
    let mode = element("cpu").and_then(|cpu| cpu.attribute("mode").map(str::to_owned));
    (max, mode)
}

/// Defines the guest's saved config as it was when the test began, however it ends.
struct RestoreGuest(std::path::PathBuf);

impl RestoreGuest {
    fn save(guest: &str) -> Self {
        let path = std::env::temp_dir().join(format!("hangar-cpu-{}.xml", std::process::id()));
        std::fs::write(&path, domain_xml(guest, true)).expect("save the guest's XML");
        Self(path)
    }
}

impl Drop for RestoreGuest {
    fn drop(&mut self) {
        common::admin_virsh(&["define", self.0.to_str().expect("path")]);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Opens the page's "CPU and Memory" section from its sidebar.
fn open_section(app: &RunningApp) {
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "CPU and Memory", "Apply"])
        .expect("the details page opens with its sidebar");
    click(&pid, None, "CPU and Memory");
}

#[test]
fn a_new_maximum_and_cpu_model_wait_for_the_shutdown() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let restore = RestoreGuest::save(&guest);
    let (saved_max, saved_mode) = vcpu_and_mode(&domain_xml(&guest, true));
    let (live_max, live_mode) = vcpu_and_mode(&domain_xml(&guest, false));
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    open_section(&app);
    let shown = app.wait_for_names(
        30,
        &[
            "CPU",
            "Memory",
            "Maximum vCPUs",
            "CPU model",
            "Topology",
            "Shared memory",
            AFTER_SHUTDOWN,
        ],
    );
    app.screenshot("domain-cpu-opened");
    shown.expect("the section shows its rows, the after-shutdown ones marked");

    // More vCPUs at start than the maximum: said under the row; Apply writes nothing.
    set_spin(&pid, "vCPUs", saved_max + 2);
    app.wait_for_names(10, &[TOO_MANY_VCPUS])
        .expect("the section says the vCPUs exceed the maximum");
    click(&pid, Some("push button"), "Apply");
    std::thread::sleep(Duration::from_secs(1));
    app.screenshot("domain-cpu-invalid");
    assert_eq!(
        vcpu_and_mode(&domain_xml(&guest, true)),
        (saved_max, saved_mode.clone()),
        "Apply wrote vCPUs beyond the maximum"
    );
    set_spin(&pid, "vCPUs", 1);
    app.wait_until_gone(10, &["Maximum vCPUs"], &[TOO_MANY_VCPUS])
        .expect("the sentence goes once the vCPUs fit");

    let new_max = saved_max + 1;
    set_spin(&pid, "Maximum vCPUs", new_max);
    click(&pid, None, "CPU model");
    click(&pid, None, "Maximum");
    app.wait_for_names(10, &["Maximum vCPUs", "Maximum"])
        .expect("the CPU model row shows the choice");
    click(&pid, Some("push button"), "Apply");
    let saved = common::wait_for(Duration::from_secs(20), || {
        let now = vcpu_and_mode(&domain_xml(&guest, true));
        (now == (new_max, Some("maximum".to_owned()))).then_some(now)
    });
    let pending = app.wait_for_names(20, &[PENDING_NOTICE]);
    let path = app.screenshot("domain-cpu-applied");
    let live_after = vcpu_and_mode(&domain_xml(&guest, false));
    drop(restore);
    assert!(
        saved.is_some(),
        "the saved config did not get {new_max} vCPUs and mode maximum: {:?}\n{}",
        vcpu_and_mode(&domain_xml(&guest, true)),
        app.log()
    );
    assert_eq!(
        live_after,
        (live_max, live_mode),
        "the running machine's maximum or CPU changed"
    );
    pending.expect("the page says changes wait for the shutdown");
    println!(
        "saved {new_max} vCPUs, mode maximum; screenshot {}",
        path.display()
    );
}

/// The demo host's running machine: memory with its GiB hint, the marks, and a manual
/// topology that does not add up to the maximum, fixed with the numbers offered.
#[test]
fn the_topology_must_add_up_to_the_maximum() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "win11-desktop"])
    else {
        return;
    };
    let pid = app.pid().to_string();
    open_section(&app);
    let shown = app.wait_for_names(
        30,
        &[
            "CPU model",
            "Hypervisor default",
            "8 GiB",
            "Shared memory",
            AFTER_SHUTDOWN,
        ],
    );
    app.screenshot("domain-cpu-demo");
    shown.expect("the demo machine's CPU and memory are shown");
    click(&pid, None, "Topology");
    click(&pid, Some("check box"), "Manual topology");
    set_spin(&pid, "Threads per core", 2);
    // The sentence and its button come under the last row: scroll down to them.
    let threads = app.extents("Threads per core").expect("the threads row");
    let (x, y) = (threads.x, threads.y);
    xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
    xdotool(&["click", "--repeat", "6", "5"]);
    let mismatch = "Sockets × dies × cores × threads is 8, but the maximum is 4 vCPUs: \
        they must be equal.";
    let offered = app.wait_for_names(10, &[mismatch, "Use 1 × 1 × 2 × 2"]);
    let path = app.screenshot("domain-cpu-topology");
    offered.expect("the section says the topology does not add up and offers numbers");
    click(&pid, Some("push button"), "Use 1 × 1 × 2 × 2");
    app.wait_until_gone(10, &["Threads per core"], &[mismatch])
        .expect("the offered numbers add up");
    app.screenshot("domain-cpu-topology-fixed");
    println!("screenshot {}", path.display());
}
