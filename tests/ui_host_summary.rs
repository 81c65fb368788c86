//! The host summary page on the demo host, under the test bed's desktop.
//!
//! A file of its own: GTK must own GLib's default main context before libvirt's event loop
//! thread (started by the first connection) starts iterating it, so no other test in this
//! process may connect first.

mod common;

use std::time::Duration;

/// Every label's text under `widget`, rows' titles and subtitles included.
fn texts_under(widget: &gtk::Widget, found: &mut Vec<String>) {
    use gtk::prelude::*;
    if let Some(label) = widget.downcast_ref::<gtk::Label>() {
        found.push(label.label().to_string());
    }
    let mut child = widget.first_child();
    while let Some(current) = child {
        texts_under(&current, found);
        child = current.next_sibling();
    }
}

/// Scrolls the first scrolled window under `widget` to its end.
fn scroll_to_end(widget: &gtk::Widget) {
    use gtk::prelude::*;
    if let Some(scrolled) = widget.downcast_ref::<gtk::ScrolledWindow>() {
        let adjustment = scrolled.vadjustment();
        adjustment.set_value(adjustment.upper());
        return;
    }
    let mut child = widget.first_child();
    while let Some(current) = child {
        scroll_to_end(&current);
        child = current.next_sibling();
    }
}

/// Renders `window` to target/screenshots/NAME.png, for people to look at.
fn save_screenshot(window: &gtk::Window, name: &str) {
    use gtk::prelude::*;
    let paintable = gtk::WidgetPaintable::new(Some(window));
    let snapshot = gtk::Snapshot::new();
    let (width, height) = (window.width(), window.height());
    paintable.snapshot(&snapshot, f64::from(width), f64::from(height));
    let Some(node) = snapshot.to_node() else {
        return;
    };
    let Some(renderer) = window.renderer() else {
        return;
    };
    let texture = renderer.render_texture(&node, None);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    texture
        .save_to_png(dir.join(format!("{name}.png")))
        .expect("save screenshot");
}

/// Runs the main loop until the window is drawn (mapped, with a size) and nothing is pending.
fn settle(window: &gtk::Window) {
    use gtk::prelude::*;
    let context = gtk::glib::MainContext::default();
    let drawn = common::wait_for(Duration::from_secs(10), || {
        while context.iteration(false) {}
        (window.is_mapped() && window.width() > 0).then_some(())
    });
    assert!(drawn.is_some(), "the window was never drawn");
}

/// Runs the main loop for about `duration`: for claims about what does not happen over it.
fn spin(duration: Duration) {
    let context = gtk::glib::MainContext::default();
    let deadline = std::time::Instant::now() + duration;
    while std::time::Instant::now() < deadline {
        while context.iteration(false) {}
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A window showing the summary page of `host`.
fn page_for(host: &hangar::model::Host) -> (gtk::Window, hangar::ui::HostSummaryPage) {
    use gtk::prelude::*;
    let page = hangar::ui::HostSummaryPage::new();
    page.set_host(Some(host));
    let window = gtk::Window::builder()
        .default_width(720)
        .default_height(800)
        .child(&page)
        .build();
    window.present();
    (window, page)
}

fn page_texts(page: &hangar::ui::HostSummaryPage) -> Vec<String> {
    use gtk::prelude::*;
    let mut texts = Vec::new();
    texts_under(page.upcast_ref(), &mut texts);
    texts
}

// One test: GTK belongs to the first thread that initialises it.
#[test]
fn page_shows_hosts_and_follows_their_usage() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    gtk::gio::resources_register_include!("hangar.gresource").expect("resources");
    gtk::init().expect("GTK");
    adw::init().expect("libadwaita");
    shows_the_demo_host();
    follows_a_real_hosts_usage();
}

fn shows_the_demo_host() {
    use gtk::prelude::*;
    let host = hangar::model::Host::new(&common::demo_uri());
    host.connect_to_host();
    let (window, page) = page_for(&host);
    let context = gtk::glib::MainContext::default();
    let shown = common::wait_for(Duration::from_secs(20), || {
        while context.iteration(false) {}
        let texts = page_texts(&page);
        texts
            .iter()
            .any(|text| text.contains("NAT"))
            .then_some(texts)
    })
    .expect("the summary reaches the page");
    for expected in [
        "16 (1 socket × 8 cores × 2 threads)",
        "128 GiB",
        "Active · 77.2 GiB of 100 GiB used",
        "Active · NAT · 192.168.122.1/24 · virbr0",
        "Active · Isolated · 10.77.0.1/24 · virbr1",
        "Running",
        "10",
    ] {
        assert!(
            shown.iter().any(|text| text == expected),
            "{expected:?} not in {shown:?}"
        );
    }
    settle(&window);
    save_screenshot(&window, "host-summary");
    scroll_to_end(page.upcast_ref());
    settle(&window);
    save_screenshot(&window, "host-summary-end");
    page.set_host(None);
    window.close();
}

/// The page asks for a summary every two seconds while shown, and graphs what comes back.
fn follows_a_real_hosts_usage() {
    use gtk::prelude::*;
    let Some(login) = common::sasl_login() else {
        return;
    };
    let uri = login.uri.replacen("://", &format!("://{}@", login.user), 1);
    let host = hangar::model::Host::new(&uri);
    host.set_typed_password(Some(hangar::backend::password::Password::from_text(
        &login.password,
    )));
    host.connect_to_host();
    let (window, page) = page_for(&host);
    let context = gtk::glib::MainContext::default();
    let memory = common::wait_for(Duration::from_secs(30), || {
        while context.iteration(false) {}
        let (cpu, memory) = page.usage_history();
        (cpu.len() >= 2).then_some(memory)
    })
    .expect("two CPU samples within 30 s");
    assert!(memory.len() >= 2, "{memory:?}");
    assert!(memory.iter().all(|share| *share > 0.0 && *share <= 1.0));
    let texts = page_texts(&page);
    assert!(
        texts.iter().any(|text| text.starts_with("QEMU ")),
        "{texts:?}"
    );
    save_screenshot(&window, "host-summary-real");
    // Off screen, the page stops asking: over more than two of its 2 s intervals (the period
    // is the point), then it asks again once shown, so the pause was not a dead page.
    window.set_visible(false);
    let before = page.usage_history().0.len();
    spin(Duration::from_secs(5));
    assert_eq!(page.usage_history().0.len(), before, "polled while hidden");
    window.set_visible(true);
    let resumed = common::wait_for(Duration::from_secs(30), || {
        while context.iteration(false) {}
        (page.usage_history().0.len() > before).then_some(())
    });
    assert!(resumed.is_some(), "no sample once shown again");
    page.set_host(None);
    window.close();
}
