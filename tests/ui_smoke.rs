//! The real app under Xvfb, inspected through AT-SPI like a screen reader would.

mod common;

use common::RunningApp;

#[test]
fn demo_host_shows_the_fixture_domains() {
    let Some((app, _turn)) = RunningApp::start(&["--demo"]) else {
        return;
    };
    let found = app.wait_for_names(
        60,
        &[
            "Demo host",
            "backup-restic",
            "build-runner-01",
            "db-postgres",
            "Running",
            "Paused",
            "Shut off",
        ],
    );
    let shot = app.screenshot("demo-host");
    if let Err(dump) = found {
        panic!(
            "domain names not on screen (screenshot {}):\n{dump}",
            shot.display()
        );
    }
}

#[test]
fn connect_option_opens_test_default() {
    let Some((app, _turn)) = RunningApp::start(&["--connect", "test:///default"]) else {
        return;
    };
    let found = app.wait_for_names(60, &["test", "Running"]);
    app.screenshot("connect-test-default");
    found.expect("the domain `test` is listed");
}

#[test]
fn unknown_scheme_shows_a_message_and_the_app_keeps_running() {
    let Some((mut app, _turn)) = RunningApp::start(&["-c", "frobnicate:///system"]) else {
        return;
    };
    let found = app.wait_for_names(60, &["Could Not Connect", "Retry"]);
    app.screenshot("unknown-scheme");
    found.expect("an error page");
    assert!(app.is_running(), "the app must not crash on a bad address");
    let description = common::run_atspi(&[
        "wait-names",
        "--pid",
        &app.pid().to_string(),
        "Hangar",
        "10",
        "“frobnicate” is not a hypervisor Hangar can connect to. Addresses start with qemu://, qemu+tcp://, qemu+ssh://, qemu+tls:// or test://.",
    ]);
    description.expect("the reason is shown");
}

#[test]
fn version_option_prints_the_version() {
    let _turn = common::app_turn();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hangar"))
        .arg("--version")
        .output()
        .expect("run hangar --version");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.trim(), format!("Hangar {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_the_virt_manager_compatible_options() {
    let _turn = common::app_turn();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hangar"))
        .arg("--help")
        .output()
        .expect("run hangar --help");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for option in ["--demo", "-c, --connect=URI", "--version"] {
        assert!(text.contains(option), "--help lacks {option}:\n{text}");
    }
}

#[test]
fn search_finds_a_domain_by_part_of_its_name() {
    let Some((app, _turn)) = RunningApp::start(&["--demo"]) else {
        return;
    };
    app.wait_for_names(60, &["backup-restic"])
        .expect("the demo list");
    common::run_atspi(&["key", "ctrl+f"]).expect("open search");
    common::run_atspi(&["type", "jelly"]).expect("type a query");
    let found = app.wait_for_names(20, &["media-jellyfin", "1 virtual machine"]);
    app.screenshot("search");
    found.expect("the search finds the row");
    let hidden = app.wait_until_gone(10, &["media-jellyfin"], &["backup-restic"]);
    assert!(
        hidden.is_ok(),
        "rows that do not match are hidden: {}",
        hidden.unwrap_err()
    );
}
