//! The details page in the real app, on the test bed's QEMU guest: opened with
//! `--show-domain-editor`, the memory changed and applied, checked in the saved config.

mod common;

use common::RunningApp;

/// `<currentMemory>` of the guest's saved config, in KiB.
fn saved_memory_kib(guest: &str) -> u64 {
    let xml = common::admin_virsh(&["dumpxml", "--inactive", guest]);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    document
        .descendants()
        .find(|node| node.has_tag_name("currentMemory"))
        .and_then(|node| node.text())
        .and_then(|text| text.trim().parse().ok())
        .expect("<currentMemory> in KiB")
}

fn atspi(args: &[&str]) {
    common::run_atspi(args).unwrap_or_else(|error| panic!("{args:?}: {error}"));
}

#[test]
fn memory_edited_on_the_details_page_is_saved_on_apply() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let before_kib = saved_memory_kib(&guest);
    let wanted_mib = before_kib / 1024 - 16;
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let pid = app.pid().to_string();
    let opened = app.wait_for_names(60, &["Overview", "CPU", "Memory", "Apply", "Revert"]);
    app.screenshot("domain-details-opened");
    if let Err(error) = opened {
        let missing = error.lines().find(|line| line.contains("missing"));
        panic!("the details page lacks a section or button: {missing:?}\n{error}");
    }
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
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(saved_memory_kib(&guest), before_kib, "written before Apply");
    atspi(&[
        "click",
        "--pid",
        &pid,
        "--role",
        "push button",
        "Hangar",
        "Apply",
    ]);
    let started = std::time::Instant::now();
    let saved = common::wait_for(std::time::Duration::from_secs(20), || {
        let now = saved_memory_kib(&guest);
        (now == wanted_mib * 1024).then_some(now)
    });
    let path = app.screenshot("domain-details-applied");
    // Put the guest back as it was for the other tests, before asserting.
    common::admin_virsh(&["setmem", &guest, &format!("{before_kib}k"), "--config"]);
    assert!(
        saved.is_some(),
        "the saved config never got {wanted_mib} MiB\n{}",
        app.log()
    );
    println!(
        "saved {wanted_mib} MiB {} ms after Apply; screenshot {}",
        started.elapsed().as_millis(),
        path.display()
    );
}
