//! Accessibility of every window of the real app, read through AT-SPI as a screen reader
//! reads it: the main window (with its menus and the rename dialog), the host summary, the
//! new-VM wizard, the add-host dialog, the new pool and network dialogs, and a console
//! window. Any interactive element (button, entry, check box, combo box, list item, menu
//! item...) without a name, or with a mnemonic underscore in its name ("_Retry Retry"),
//! fails the test. Each domain row is one element named with what it shows.

mod common;

use std::time::Duration;

use common::RunningApp;

/// Names of the rows a sighted user sees, as the domain list exposes them.
const SHUT_OFF_ROW: &str = "backup-restic, Shut off, 1 vCPU, 1 GiB";
const RUNNING_ROW: &str = "gitea, Running, 2 vCPUs, 2 GiB";
const PAUSED_ROW: &str = "gitea, Paused, 2 vCPUs, 2 GiB";

fn atspi(app: &RunningApp, args: &[&str]) -> Result<String, String> {
    let pid = app.pid().to_string();
    let mut full = vec![args[0], "--pid", &pid];
    full.extend_from_slice(&args[1..]);
    common::run_atspi(&full)
}

fn click(app: &RunningApp, name: &str) {
    if let Err(dump) = atspi(app, &["click", "Hangar", name]) {
        panic!("could not click {name:?}:\n{dump}\n{}", app.log());
    }
}

fn key(keys: &str) {
    common::run_atspi(&["key", keys]).expect("press keys");
}

/// Waits until an element called `name` exists, shown or not: GTK 4.8 gives dialogs no
/// on-screen extents.
fn wait_for_element(app: &RunningApp, name: &str) {
    if let Err(dump) = atspi(app, &["wait-names", "--hidden", "Hangar", "30", name]) {
        panic!("no element {name:?}:\n{dump}\n{}", app.log());
    }
}

/// Fails with every interactive element of the app's windows that a screen reader could
/// not name; `what` says which window was open, for the message.
fn audit(app: &RunningApp, what: &str) {
    match atspi(app, &["audit", "Hangar"]) {
        Ok(_) => eprintln!("{what}: every interactive element has a name"),
        Err(problems) => {
            let shot = app.screenshot(&format!("a11y-{what}"));
            panic!(
                "{what}: elements a screen reader cannot name (screenshot {}):\n{problems}",
                shot.display()
            )
        }
    }
}

/// The names of the domain rows on screen, as a screen reader reads them.
fn visible_rows(app: &RunningApp) -> Vec<String> {
    let output = atspi(app, &["rows", "Hangar", "Virtual Machines"])
        .unwrap_or_else(|error| panic!("reading the rows failed:\n{error}"));
    output.lines().map(str::to_owned).collect()
}

/// A running guest's row ends with its CPU use once the app has two samples to compare.
fn reads_as_running_gitea(name: &str) -> bool {
    let pattern = regex::Regex::new(r"^gitea, Running, 2 vCPUs, 2 GiB(, \d+ % CPU)?$")
        .expect("a valid pattern");
    pattern.is_match(name)
}

#[test]
fn main_window_rows_are_one_sentence_each_and_every_control_is_named() {
    let Some((app, _turn)) = RunningApp::start(&["--demo"]) else {
        return;
    };
    if let Err(dump) = app.wait_for_names(60, &[SHUT_OFF_ROW]) {
        panic!("the shut-off row is not read as {SHUT_OFF_ROW:?}:\n{dump}");
    }
    let rows = visible_rows(&app);
    assert!(
        rows.iter().any(|row| row == SHUT_OFF_ROW),
        "rows on screen: {rows:#?}"
    );
    assert!(
        rows.iter().any(|row| reads_as_running_gitea(row)),
        "no row reads as {RUNNING_ROW:?}[, N % CPU]; rows on screen: {rows:#?}"
    );
    audit(&app, "main-window");

    // The name follows the domain: pausing gitea renames its row.
    let gitea = rows
        .iter()
        .find(|row| reads_as_running_gitea(row))
        .expect("gitea's row");
    click(&app, gitea);
    click(&app, "Virtual Machine Actions");
    audit(&app, "domain-menu");
    click(&app, "Pause");
    if let Err(dump) = app.wait_for_names(30, &[PAUSED_ROW]) {
        panic!("the paused row is not read as {PAUSED_ROW:?}:\n{dump}");
    }

    click(&app, "Main Menu");
    audit(&app, "main-menu");
    key("Escape");

    // A dialog of libadwaita's, with mnemonic responses and an entry.
    click(&app, SHUT_OFF_ROW);
    key("F2");
    wait_for_element(&app, "New Name");
    audit(&app, "rename-dialog");
    key("Escape");
}

#[test]
fn add_host_pool_and_network_dialogs_name_every_control() {
    let Some((app, _turn)) = RunningApp::start(&["--demo"]) else {
        return;
    };
    app.wait_for_names(60, &[SHUT_OFF_ROW])
        .expect("the demo host's domains");
    key("ctrl+n");
    wait_for_element(&app, "Add Host");
    audit(&app, "add-host");
    key("Escape");
    for (item, title) in [
        ("New Storage Pool…", "New Storage Pool"),
        ("New Virtual Network…", "New Virtual Network"),
    ] {
        app.wait_for_names(30, &["Main Menu"])
            .expect("the main window again");
        click(&app, "Main Menu");
        click(&app, item);
        wait_for_element(&app, title);
        audit(&app, title);
        key("Escape");
    }
}

#[test]
fn new_vm_wizard_names_every_control_on_every_page() {
    let uri = common::demo_uri();
    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri, "--show-domain-creator"])
    else {
        return;
    };
    // GTK 4.8 exposes the pages not shown yet as well, so one look covers them all.
    wait_for_element(&app, "ISO image on the host");
    audit(&app, "new-vm-wizard");
}

#[test]
fn host_summary_names_every_control() {
    let uri = common::demo_uri();
    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri, "--show-host-summary"]) else {
        return;
    };
    app.wait_for_names(60, &["Hostname", "Memory"])
        .expect("the host summary");
    audit(&app, "host-summary");
}

#[test]
fn console_window_names_every_control() {
    let uri = common::demo_uri();
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-console", "gitea"])
    else {
        return;
    };
    wait_for_element(&app, "gitea — Console");
    // Its tab bar gets the tab's close button a moment after the tab.
    let named = common::wait_for(Duration::from_secs(20), || {
        atspi(&app, &["audit", "Hangar"]).ok()
    });
    if named.is_none() {
        audit(&app, "console-window");
    }
}

/// The issue's bound: a screen reader reads the rows on screen of a 5,000-domain list in
/// under 2 s (43 s when each row exposed its fifteen nested labels and panels).
const ROWS_READ_BOUND: Duration = Duration::from_secs(2);

/// Finding the list and reading the rows on screen, from atspi.py's own clock (Python's
/// start-up is the test's cost, not the app's): "found the list in X ms, read the rows in
/// Y ms".
fn time_rows_read(app: &RunningApp) -> (Duration, usize) {
    let pid = app.pid().to_string();
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui/atspi.py");
    let output = std::process::Command::new("/usr/bin/python3")
        .arg(script)
        .args(["rows", "--pid", &pid, "Hangar", "Virtual Machines"])
        .output()
        .expect("run atspi.py rows");
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "atspi.py rows failed: {report}");
    let milliseconds: Vec<u64> = report
        .split(" in ")
        .skip(1)
        .filter_map(|rest| rest.split(" ms").next()?.parse().ok())
        .collect();
    assert_eq!(milliseconds.len(), 2, "odd report: {report}");
    let rows = String::from_utf8_lossy(&output.stdout).lines().count();
    (Duration::from_millis(milliseconds.iter().sum()), rows)
}

#[test]
fn rows_of_a_5000_domain_list_read_in_under_two_seconds() {
    let fixture = common::fixtures::many_domains(5_000);
    let uri = format!("test://{}", fixture.display());
    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri]) else {
        return;
    };
    if let Err(dump) = app.wait_for_names(120, &["vm-00000, Running, 1 vCPU, 256 MiB"]) {
        panic!("the first row is not read as one sentence:\n{dump}");
    }
    // The median of three reads, so that one busy moment of a shared machine does not
    // decide.
    let mut reads: Vec<(Duration, usize)> = (0..3).map(|_| time_rows_read(&app)).collect();
    eprintln!("reading the rows on screen at 5,000 domains: {reads:?}");
    reads.sort();
    let (median, rows) = reads[1];
    let _ = std::fs::remove_file(&fixture);
    assert!(rows >= 5, "only {rows} rows read on screen");
    assert!(
        median < ROWS_READ_BOUND,
        "reading {rows} rows on screen took {median:?} (median of three), over {ROWS_READ_BOUND:?}"
    );
}
