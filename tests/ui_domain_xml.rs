//! The details page's XML section in the real app, on the test bed's QEMU guest: an edit
//! libvirt refuses is not saved and its reason is shown; an edit over a change made
//! elsewhere is refused and the current XML offered; a valid edit is saved after the diff.

mod common;

use std::time::Duration;

use common::RunningApp;

const SAVED: &str = "XML saved.";
const CHANGED_OUTSIDE: &str = "Nothing was saved: the virtual machine was changed elsewhere \
    while you edited its XML. Your text is kept; load the current XML to see the change (your \
    edits are then dropped).";

const CHANGED_ON_PAGE: &str = "The saved XML changed while you edited it. Your text is kept; \
    load the current XML to see the change (your edits are then dropped).";

fn atspi(args: &[&str]) -> String {
    common::run_atspi(args).unwrap_or_else(|error| panic!("{args:?}: {error}"))
}

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

fn saved_xml(guest: &str) -> String {
    common::admin_virsh(&["dumpxml", "--inactive", guest])
}

/// The text of the top-level element `tag` of the guest's saved config, if any.
fn saved_element(guest: &str, tag: &str) -> Option<String> {
    let xml = saved_xml(guest);
    let document = roxmltree::Document::parse(&xml).expect("domain XML");
    let node = document
        .root_element()
        .children()
        .find(|node| node.has_tag_name(tag))?;
    Some(node.text().unwrap_or_default().to_owned())
}

/// Types `line` as a new second line of the editor's text (after `<domain ...>`).
fn type_second_line(pid: &str, line: &str) {
    atspi(&["click", "--pid", pid, "Hangar", "Domain XML"]);
    atspi(&["key", "ctrl+Home", "End", "Return"]);
    atspi(&["type", line]);
}

/// Opens the diff with Review and Save…, takes its screenshot and saves.
fn review_and_save(app: &RunningApp, screenshot: Option<&str>) {
    let pid = app.pid().to_string();
    click_button(&pid, "Review and Save…");
    app.wait_for_names(20, &["Review XML Changes", "Save", "Cancel"])
        .expect("the diff dialog opens");
    if let Some(name) = screenshot {
        let path = app.screenshot(name);
        println!("screenshot {}", path.display());
        let audit = [
            "audit",
            "--pid",
            &pid,
            "--window",
            "Review XML Changes",
            "Hangar",
        ];
        if let Err(problems) = common::run_atspi(&audit) {
            panic!("the diff dialog has controls a screen reader cannot name:\n{problems}");
        }
    }
    click_button(&pid, "Save");
}

/// Waits for a line of the app's accessible tree that contains `text`.
fn wait_for_text(app: &RunningApp, text: &str) -> Option<String> {
    let pid = app.pid().to_string();
    common::wait_for(Duration::from_secs(20), || {
        let dump = common::run_atspi(&["dump", "--pid", &pid, "Hangar"]).ok()?;
        dump.lines()
            .find(|line| line.contains(text) && !line.contains("(hidden)"))
            .map(str::to_owned)
    })
}

#[test]
fn xml_edits_are_validated_checked_against_outside_changes_and_saved() {
    let Some(uri) = common::testbed_var("HANGAR_TEST_UNIX_URI") else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let original = saved_xml(&guest);
    let Some((app, _turn)) =
        RunningApp::start(&["--connect", &uri, "--show-domain-editor", &guest])
    else {
        return;
    };
    let result = edit_xml(&app, &guest, &original);
    // Put the guest back as it was for the other tests, before asserting.
    let path = std::env::temp_dir().join(format!("hangar-xml-{}.xml", std::process::id()));
    std::fs::write(&path, &original).expect("write the original XML");
    common::admin_virsh(&["define", path.to_str().expect("path")]);
    let _ = std::fs::remove_file(&path);
    // The title the page applied went live too; the list shows the live one.
    let title = roxmltree::Document::parse(&original)
        .ok()
        .and_then(|document| {
            let title = document
                .root_element()
                .children()
                .find(|node| node.has_tag_name("title"))?;
            title.text().map(str::to_owned)
        })
        .unwrap_or_default();
    common::admin_virsh(&["desc", &guest, "--live", "--title", &title]);
    if let Err(problem) = result {
        panic!("{problem}\n{}", app.log());
    }
}

fn edit_xml(app: &RunningApp, guest: &str, original: &str) -> Result<(), String> {
    let pid = app.pid().to_string();
    app.wait_for_names(60, &["Overview", "XML"])
        .map_err(|error| format!("the details page did not open: {error}"))?;
    atspi(&["click", "--pid", &pid, "Hangar", "XML"]);
    app.wait_for_names(20, &["Domain XML", "Review and Save…", "Discard Changes"])
        .map_err(|error| format!("the XML section lacks its editor or buttons: {error}"))?;
    let window = format!("{guest} — Details");
    // The sidebar's rows are the page's (GtkStackSidebar names none in GTK 4.8): only the
    // section's own controls are judged here.
    if let Err(problems) =
        common::run_atspi(&["audit", "--pid", &pid, "--window", &window, "Hangar"])
    {
        let own: Vec<&str> = problems
            .lines()
            .filter(|line| line.starts_with(&format!("{window}:")) && !line.contains("> Sidebar"))
            .collect();
        if !own.is_empty() {
            return Err(format!("unnamed controls in the XML section:\n{problems}"));
        }
    }
    let shown = app.screenshot("domain-xml-section");
    println!("screenshot {}", shown.display());

    // An element libvirt's schema does not know: refused, nothing written, reason shown.
    type_second_line(&pid, "<hangar-bogus/>");
    review_and_save(app, Some("domain-xml-diff"));
    let reason = wait_for_text(app, "The XML was not saved")
        .ok_or("no reason shown after saving XML libvirt refuses")?;
    let refused = app.screenshot("domain-xml-refused");
    println!("refused: {reason}; screenshot {}", refused.display());
    if saved_xml(guest) != original {
        return Err("XML libvirt refuses changed the saved config".into());
    }
    click_button(&pid, "Discard Changes");
    wait_until_no_text(app, "The XML was not saved")
        .ok_or("Discard Changes left the reason shown")?;

    // Not even well-formed: the parser's line is shown (the cursor is put on it).
    type_second_line(&pid, "<hangar-open>");
    review_and_save(app, None);
    let reason = wait_for_text(app, "The XML was not saved. Line ")
        .ok_or("no line shown for XML that is not well-formed")?;
    let marked = app.screenshot("domain-xml-line");
    println!("refused: {reason}; screenshot {}", marked.display());
    if saved_xml(guest) != original {
        return Err("XML that is not well-formed changed the saved config".into());
    }
    click_button(&pid, "Discard Changes");
    wait_until_no_text(app, "The XML was not saved")
        .ok_or("Discard Changes left the reason shown")?;

    // Someone else changes the machine while the user edits: nothing is overwritten.
    type_second_line(
        &pid,
        "<description>Saved from the XML section</description>",
    );
    common::admin_virsh(&["desc", guest, "--config", "--title", "Changed outside"]);
    review_and_save(app, None);
    app.wait_for_names(20, &[CHANGED_OUTSIDE, "Load Current XML"])
        .map_err(|error| format!("no notice of the outside change: {error}"))?;
    app.screenshot("domain-xml-changed-outside");
    if saved_element(guest, "description").is_some() {
        return Err("saving over an outside change wrote the user's XML".into());
    }
    click_button(&pid, "Load Current XML");
    app.wait_until_gone(10, &["Domain XML"], &[CHANGED_OUTSIDE])
        .map_err(|error| format!("Load Current XML left the notice: {error}"))?;

    // A valid edit on the current XML is saved.
    type_second_line(
        &pid,
        "<description>Saved from the XML section</description>",
    );
    review_and_save(app, None);
    app.wait_for_names(20, &[SAVED])
        .map_err(|error| format!("no confirmation after a valid save: {error}"))?;
    let saved = app.screenshot("domain-xml-saved");
    println!("screenshot {}", saved.display());
    let description = saved_element(guest, "description");
    let title = saved_element(guest, "title");
    if description.as_deref() != Some("Saved from the XML section")
        || title.as_deref() != Some("Changed outside")
    {
        return Err(format!(
            "the saved config has description {description:?} and title {title:?}"
        ));
    }
    // Saved and shown again: nothing left to review.
    app.wait_until_gone(10, &["Domain XML"], &[CHANGED_OUTSIDE])
        .map_err(|error| format!("a notice after saving: {error}"))?;
    edits_kept_when_the_page_applies(app, guest)
}

/// Unsaved XML edits survive an Apply of the page's other sections: the page reads the
/// domain again, and the XML section keeps the user's text and offers the new XML.
fn edits_kept_when_the_page_applies(app: &RunningApp, guest: &str) -> Result<(), String> {
    let pid = app.pid().to_string();
    type_second_line(&pid, "<hangar-unsaved/>");
    atspi(&["click", "--pid", &pid, "Hangar", "Overview"]);
    atspi(&["click", "--pid", &pid, "--role", "text", "Hangar", "Title"]);
    atspi(&["key", "ctrl+a"]);
    atspi(&["type", "Applied on the page"]);
    click_button(&pid, "Apply");
    common::wait_for(Duration::from_secs(20), || {
        (saved_element(guest, "title").as_deref() == Some("Applied on the page")).then_some(())
    })
    .ok_or("Apply did not save the title")?;
    atspi(&["click", "--pid", &pid, "Hangar", "XML"]);
    app.wait_for_names(20, &[CHANGED_ON_PAGE, "Load Current XML"])
        .map_err(|error| format!("no offer of the XML the page applied: {error}"))?;
    let shot = app.screenshot("domain-xml-kept-after-apply");
    println!("screenshot {}", shot.display());
    let text = wait_for_text(app, "hangar-unsaved")
        .ok_or("the page's Apply dropped the unsaved XML edit")?;
    if text.contains("Applied on the page") {
        return Err("the unsaved XML edit was merged with the applied XML".into());
    }
    click_button(&pid, "Discard Changes");
    app.wait_until_gone(10, &["Domain XML"], &[CHANGED_ON_PAGE])
        .map_err(|error| format!("Discard Changes left the offer: {error}"))?;
    wait_for_text(app, "Applied on the page")
        .ok_or("Discard Changes did not show the current XML")?;
    Ok(())
}

/// Waits until no on-screen line of the app's accessible tree contains `text`.
fn wait_until_no_text(app: &RunningApp, text: &str) -> Option<()> {
    let pid = app.pid().to_string();
    common::wait_for(Duration::from_secs(10), || {
        let dump = common::run_atspi(&["dump", "--pid", &pid, "Hangar"]).ok()?;
        let shown = dump
            .lines()
            .any(|line| line.contains(text) && !line.contains("(hidden)"));
        (dump.contains("Domain XML") && !shown).then_some(())
    })
}
