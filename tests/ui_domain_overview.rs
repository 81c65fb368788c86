//! The details page's Overview in the real app: since when the machine is in its state, the
//! Guest Agent group, and Autostart, written only on Apply (test bed's QEMU guest, which has
//! no guest agent); and the Overview of the demo host's machine, for the screenshot.

mod common;

use common::atspi;

use std::time::Duration;

use common::RunningApp;

/// The agent hint shown when the machine runs without an agent that answers.
const NO_AGENT_HINT: &str =
    "Install qemu-guest-agent in the guest and give the virtual machine a guest agent channel.";

fn click(pid: &str, role: &str, name: &str) {
    atspi(&["click", "--pid", pid, "--role", role, "Hangar", name]);
}

/// Scrolls the Overview down with the mouse wheel, as a user reaches the Guest Agent group.
fn scroll_overview_down(app: &RunningApp) {
    let over = app
        .extents("UUID")
        .unwrap_or_else(|error| panic!("no UUID row on screen: {error}"));
    let (x, y) = (over.x + over.width / 2, over.y + over.height / 2);
    let status = std::process::Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string()])
        .args(["click", "--repeat", "15", "--delay", "30", "5"])
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool failed");
}

/// What `virsh dominfo` says of the guest's autostart.
fn autostart_of(guest: &str) -> bool {
    let info = common::admin_virsh(&["dominfo", guest]);
    let line = info
        .lines()
        .find(|line| line.starts_with("Autostart:"))
        .unwrap_or_else(|| panic!("no Autostart in dominfo:\n{info}"));
    line.contains("enable")
}

/// Waits until the guest's autostart is `wanted`.
fn autostart_becomes(guest: &str, wanted: bool) -> bool {
    common::wait_for(Duration::from_secs(20), || {
        (autostart_of(guest) == wanted).then_some(())
    })
    .is_some()
}

#[test]
fn autostart_is_written_on_apply_and_the_agent_says_it_is_not_connected() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    if autostart_of(&guest) {
        common::admin_virsh(&["autostart", "--disable", &guest]);
    }
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Autostart"])
        .expect("the details page opens on its Overview");
    scroll_overview_down(&app);
    let opened = app.wait_for_names(20, &["Guest Agent", "Not connected", NO_AGENT_HINT]);
    let path = app.screenshot("domain-overview-testbed");
    opened.unwrap_or_else(|error| panic!("the Overview lacks the agent's state: {error}"));
    println!("screenshot {}", path.display());
    let window = format!("{guest} — Details");
    // The section sidebar's rows (GtkStackSidebar) are another part's to name.
    if let Err(problems) =
        common::run_atspi(&["audit", "--pid", &pid, "--window", &window, "Hangar"])
    {
        let overview: Vec<&str> = problems
            .lines()
            .filter(|line| line.starts_with(&format!("{window}:")) && !line.contains("> Sidebar"))
            .collect();
        assert!(
            overview.is_empty(),
            "the Overview has controls a screen reader cannot name:\n{problems}"
        );
    }

    // A state change Hangar sees is shown with since when.
    common::admin_virsh(&["suspend", &guest]);
    let paused = app.wait_for_names(30, &["Paused · for less than a minute"]);
    common::admin_virsh(&["resume", &guest]);
    paused.unwrap_or_else(|error| panic!("no \"since when\" after a pause: {error}"));
    app.wait_for_names(30, &["Running · for less than a minute"])
        .expect("the state says since when it runs again");
    app.screenshot("domain-overview-state-since");

    click(&pid, "check box", "Autostart");
    // The wait is the point: a second in which an eager write would have landed.
    std::thread::sleep(Duration::from_secs(1));
    let early = autostart_of(&guest);
    click(&pid, "push button", "Apply");
    let enabled = autostart_becomes(&guest, true);
    app.screenshot("domain-overview-autostart-on");
    // Back off through the page, as a user would undo it.
    let undone = enabled && {
        click(&pid, "check box", "Autostart");
        click(&pid, "push button", "Apply");
        autostart_becomes(&guest, false)
    };
    if autostart_of(&guest) {
        common::admin_virsh(&["autostart", "--disable", &guest]);
    }
    assert!(!early, "autostart was written before Apply");
    assert!(enabled, "Apply did not enable autostart\n{}", app.log());
    assert!(
        undone,
        "Apply did not disable autostart again\n{}",
        app.log()
    );
}

/// The demo host's machine (libvirt's test driver, which cannot ask guest agents).
#[test]
fn the_demo_hosts_overview_shows_the_agent_and_autostart() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "win11-desktop"])
    else {
        return;
    };
    let shown = app.wait_for_names(60, &["Overview", "Autostart"]);
    let top = app.screenshot("domain-overview-demo");
    shown.expect("the demo machine's Overview opens with autostart");
    scroll_overview_down(&app);
    // The agent's answer comes from the host's worker after the page shows.
    let agent = app.wait_for_names(
        20,
        &[
            "Guest Agent",
            "Not connected",
            "This host cannot ask guest agents.",
        ],
    );
    let path = app.screenshot("domain-overview-demo-agent");
    agent.expect("the test driver, which has no guest agents, says why");
    println!("screenshot {}", top.display());
    println!("screenshot {}", path.display());
}
