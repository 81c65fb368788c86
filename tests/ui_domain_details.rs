//! The details page in the real app, on the test bed's QEMU guest: opened with
//! `--show-domain-editor`, the memory changed and applied, checked in the saved config.

mod common;

use common::atspi;

use common::RunningApp;

const CONFLICT_NOTICE: &str = "The virtual machine was changed elsewhere while this page was \
    open. Its new values are shown; check them and apply again.";

/// `<currentMemory>` of the guest's saved config, in KiB.
fn saved_memory_kib(guest: &str) -> u64 {
    saved_kib(guest, "currentMemory")
}

/// The memory element `tag` of the guest's saved config, in KiB.
fn saved_kib(guest: &str, tag: &str) -> u64 {
    let xml = common::admin_virsh(&["dumpxml", "--inactive", guest]);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    document
        .descendants()
        .find(|node| node.has_tag_name(tag))
        .and_then(|node| node.text())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(|| panic!("<{tag}> in KiB"))
}

/// Replaces the text of the spin button called `name` with `value`.
fn set_spin(pid: &str, name: &str, value: u64) {
    atspi(&[
        "click",
        "--pid",
        pid,
        "--role",
        "spin button",
        "Hangar",
        name,
    ]);
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", &value.to_string()]);
    atspi(&["key", "Tab"]);
}

/// Shows the page's "CPU and Memory" section, clicked in its sidebar.
fn open_cpu_and_memory(app: &RunningApp) {
    let pid = app.pid().to_string();
    atspi(&["click", "--pid", &pid, "Hangar", "CPU and Memory"]);
    app.wait_for_names(30, &["CPU", "Memory", "Memory (MiB)"])
        .expect("the CPU and Memory section shows its groups");
}

/// Clicks the push button named `name` in the app with process id `pid`.
fn click_button(pid: &str, name: &str) {
    atspi(&[
        "click",
        "--pid",
        pid,
        "--role",
        "push button",
        "Hangar",
        name,
    ]);
}

#[test]
fn memory_edited_on_the_details_page_is_saved_on_apply() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let before_kib = saved_memory_kib(&guest);
    let before_max_kib = saved_kib(&guest, "memory");
    let wanted_mib = before_kib / 1024 - 16;
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    let opened = app.wait_for_names(
        60,
        &[
            "Overview",
            "CPU and Memory",
            "Boot",
            "Display",
            "Apply",
            "Revert",
        ],
    );
    app.screenshot("domain-details-opened");
    if let Err(error) = opened {
        let missing = error.lines().find(|line| line.contains("missing"));
        panic!("the details page lacks a section or button: {missing:?}\n{error}");
    }
    let details_window = format!("{guest} — Details");
    if let Err(problems) = common::run_atspi(&[
        "audit",
        "--pid",
        &pid,
        "--window",
        &details_window,
        "Hangar",
    ]) {
        panic!("the details page has controls a screen reader cannot name:\n{problems}");
    }
    open_cpu_and_memory(&app);
    // Nothing is written before Apply.
    atspi(&[
        "click",
        "--pid",
        &pid,
        "--role",
        "spin button",
        "Hangar",
        "Memory (MiB)",
    ]);
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", &wanted_mib.to_string()]);
    atspi(&["key", "Tab"]);
    // The wait is the point: a second in which an eager write would have landed.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(saved_memory_kib(&guest), before_kib, "written before Apply");
    click_button(&pid, "Apply");
    let started = std::time::Instant::now();
    let saved = common::wait_for(std::time::Duration::from_secs(20), || {
        let now = saved_memory_kib(&guest);
        (now == wanted_mib * 1024).then_some(now)
    });
    let apply_ms = started.elapsed().as_millis();
    let path = app.screenshot("domain-details-applied");
    let conflict = saved.map(|_| edit_against_an_outside_change(&app, &guest, before_kib));
    // Put the guest back as it was for the other tests, before asserting.
    let max_kib = saved_kib(&guest, "memory");
    common::admin_virsh(&["setmaxmem", &guest, &format!("{max_kib}k"), "--config"]);
    common::admin_virsh(&["setmem", &guest, &format!("{before_kib}k"), "--config"]);
    common::admin_virsh(&[
        "setmaxmem",
        &guest,
        &format!("{before_max_kib}k"),
        "--config",
    ]);
    assert!(
        saved.is_some(),
        "the saved config never got {wanted_mib} MiB\n{}",
        app.log()
    );
    println!(
        "saved {wanted_mib} MiB {apply_ms} ms after Apply; screenshot {}",
        path.display()
    );
    if let Some(Err(problem)) = conflict {
        panic!("{problem}\n{}", app.log());
    }
}

/// The page has unapplied edits of the memory and its maximum when `virsh setmaxmem
/// --config` changes the maximum: Apply says so and writes nothing; the page shows the new
/// maximum and keeps the memory edit, which a second Apply saves beside the outside change.
fn edit_against_an_outside_change(
    app: &RunningApp,
    guest: &str,
    original_kib: u64,
) -> Result<(), String> {
    let pid = app.pid().to_string();
    let max_mib = saved_kib(guest, "memory") / 1024;
    let my_memory_mib = original_kib / 1024 - 8;
    set_spin(&pid, "Memory (MiB)", my_memory_mib);
    set_spin(&pid, "Maximum Memory (MiB)", max_mib + 16);
    let their_max_mib = max_mib + 32;
    common::admin_virsh(&["setmaxmem", guest, &format!("{their_max_mib}M"), "--config"]);
    // `setmaxmem --config` sends no event: Apply finds the change when it re-reads.
    click_button(&pid, "Apply");
    app.wait_for_names(20, &[CONFLICT_NOTICE])
        .map_err(|error| format!("no conflict notice: {error}"))?;
    app.screenshot("domain-details-conflict");
    let (memory, max) = (saved_memory_kib(guest), saved_kib(guest, "memory"));
    if max != their_max_mib * 1024 || memory == my_memory_mib * 1024 {
        return Err(format!(
            "the conflicting Apply wrote: memory {memory}, max {max} KiB"
        ));
    }
    click_button(&pid, "Apply");
    let both = common::wait_for(std::time::Duration::from_secs(20), || {
        let memory = saved_memory_kib(guest);
        let max = saved_kib(guest, "memory");
        (memory == my_memory_mib * 1024 && max == their_max_mib * 1024).then_some(())
    });
    both.ok_or_else(|| {
        format!(
            "after the conflict, Apply lost a change: memory {} KiB, max {} KiB",
            saved_memory_kib(guest),
            saved_kib(guest, "memory")
        )
    })
}

/// The page on the demo host (libvirt's test driver): the OS from the wizard's libosinfo
/// metadata, UEFI firmware, and the sections, for the screenshot people look at.
#[test]
fn the_demo_hosts_machine_shows_its_overview() {
    let Some((app, _turn)) =
        RunningApp::start(&["--demo", "--show-domain-editor", "win11-desktop"])
    else {
        return;
    };
    let shown = app.wait_for_names(60, &["Overview", "CPU and Memory", "win11-desktop"]);
    let path = app.screenshot("domain-details-demo");
    shown.expect("the demo machine's details page opens");
    open_cpu_and_memory(&app);
    // Its saved and live XML differ only in the id: nothing waits for a shutdown.
    app.wait_until_gone(
        10,
        &["CPU and Memory"],
        &["Some changes take effect after the virtual machine shuts down"],
    )
    .expect("no after-shutdown notice for a machine with nothing pending");
    println!("screenshot {}", path.display());
}

/// Alt+Enter on the selected row opens its details; the page's Console button is one click
/// from the console.
#[test]
fn alt_enter_opens_the_selected_machines_details() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let Some((app, _turn)) = RunningApp::start(&["--connect", &uri]) else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &[&guest])
        .expect("the guest is listed");
    atspi(&["click", "--pid", &pid, "Hangar", &guest]);
    atspi(&["key", "alt+Return"]);
    app.wait_for_names(
        30,
        &["Overview", "CPU and Memory", &format!("{guest} — Details")],
    )
    .expect("Alt+Enter opens the details page");
    click_button(&pid, "Console");
    app.wait_for_names(60, &["Keys and Screenshot"])
        .expect("the page's Console button opens the console");
}

/// The guest's `<title>` in the live (`inactive` false) or saved XML, if any.
fn title_of(guest: &str, inactive: bool) -> Option<String> {
    let mut args = vec!["dumpxml", guest];
    if inactive {
        args.push("--inactive");
    }
    let xml = common::admin_virsh(&args);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    let title = document
        .root_element()
        .children()
        .find(|node| node.has_tag_name("title"))?;
    Some(title.text().unwrap_or_default().to_owned())
}

/// A title typed on the page reaches the running machine and its saved config on Apply;
/// cleared on the page, it is gone from both.
#[test]
fn title_is_set_live_and_saved_then_cleared() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "Apply"])
        .expect("the details page opens");
    let title = "Test bed guest";
    atspi(&["click", "--pid", &pid, "--role", "text", "Hangar", "Title"]);
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", title]);
    click_button(&pid, "Apply");
    let both = |wanted: Option<&str>| {
        common::wait_for(std::time::Duration::from_secs(20), || {
            let live = title_of(&guest, false);
            let saved = title_of(&guest, true);
            (live.as_deref() == wanted && saved.as_deref() == wanted).then_some(())
        })
    };
    let set = both(Some(title));
    app.screenshot("domain-details-title");
    atspi(&["click", "--pid", &pid, "--role", "text", "Hangar", "Title"]);
    atspi(&["key", "ctrl+a"]);
    atspi(&["key", "BackSpace"]);
    click_button(&pid, "Apply");
    let cleared = both(None);
    // A title set elsewhere while the page is open, without edits, shows up by itself: the
    // metadata event makes the page read the machine again.
    let outside = "Set elsewhere";
    if cleared.is_some() {
        common::admin_virsh(&["desc", &guest, "--live", "--config", "--title", outside]);
    }
    let followed = app.wait_for_names(20, &[outside]);
    app.screenshot("domain-details-outside-title");
    common::admin_virsh(&["desc", &guest, "--live", "--config", "--title", ""]);
    assert!(
        set.is_some(),
        "title not set live and saved: {:?} / {:?}",
        title_of(&guest, false),
        title_of(&guest, true)
    );
    assert!(
        cleared.is_some(),
        "title not cleared: {:?} / {:?}",
        title_of(&guest, false),
        title_of(&guest, true)
    );
    if let Err(error) = followed {
        panic!("the page did not follow a title set elsewhere: {error}");
    }
}
