//! The built-in console in the real app, on the test bed's real QEMU guest.

mod common;

use common::RunningApp;

#[test]
fn console_shows_the_guest_screen_through_the_local_graphics_socket() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-console", &guest])
    else {
        return;
    };
    app.wait_for_names(60, &["Console", &guest])
        .expect("the console tab opens");
    // SeaBIOS's banner: text on black inside the console, not a blank or empty widget.
    common::wait_for_guest_screen(&app, "console-local");
}

#[test]
fn console_opens_from_the_list_and_reconnects_after_the_guest_restarts() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri]) else {
        return;
    };
    let pid = app.pid().to_string();
    let atspi = |args: &[&str]| {
        let mut full = vec![args[0], "--pid", &pid, "Hangar"];
        full.extend_from_slice(&args[1..]);
        common::run_atspi(&full)
    };
    app.wait_for_names(60, &[&guest])
        .expect("the guest is listed");
    atspi(&["click", &guest]).expect("select the guest");
    atspi(&["click", "Open Console"]).expect("open its console");
    app.wait_for_names(60, &["Console"])
        .expect("the console tab opens");

    common::admin_virsh(&["destroy", &guest]);
    app.wait_for_names(30, &["Guest Is Not Running"])
        .expect("the tab says the guest stopped");
    common::admin_virsh(&["start", &guest]);
    // The tab follows the domain's events and connects again by itself. The guest's name,
    // read in the same walk, shows the app is alive and the reader sees it.
    let gone = app.wait_until_gone(30, &[&guest], &["Guest Is Not Running"]);
    let shot = app.screenshot("console-after-restart");
    assert!(
        gone.is_ok(),
        "the console did not come back: {}\n{}",
        shot.display(),
        gone.unwrap_err()
    );
    common::wait_for_guest_screen(&app, "console-after-restart");
}
