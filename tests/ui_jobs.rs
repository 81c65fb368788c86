//! The Jobs popover with two real uploads running to the test bed's libvirtd (TCP+SASL):
//! each row shows its title, progress and speed; its Cancel button stops that upload alone,
//! removes its partial volume and says so (the toast's sentence); the list empties as the
//! jobs end. A screenshot of the popover goes to target/screenshots/jobs-popover.png.
//!
//! A file of its own: GTK must own GLib's default main context before libvirt's event loop
//! thread starts iterating it (see ui_host_summary.rs).

mod common;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use gtk::prelude::*;
use hangar::backend::jobs::upload::{upload_work, UploadSpec};
use hangar::model::{HostStatus, JobItem, JobList};

const GIB: u64 = 1024 * 1024 * 1024;

struct SparseFile(PathBuf);

impl Drop for SparseFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn sparse_file(name: &str) -> SparseFile {
    let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(4 * GIB).expect("sparse");
    SparseFile(path)
}

fn pump_until<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let context = gtk::glib::MainContext::default();
    common::wait_for(timeout, || {
        while context.iteration(false) {}
        check()
    })
}

fn labels_under(widget: &gtk::Widget, found: &mut Vec<String>) {
    if let Some(label) = widget.downcast_ref::<gtk::Label>() {
        found.push(label.label().to_string());
    }
    let mut child = widget.first_child();
    while let Some(current) = child {
        labels_under(&current, found);
        child = current.next_sibling();
    }
}

fn buttons_under(widget: &gtk::Widget, found: &mut Vec<gtk::Button>) {
    if let Some(button) = widget.downcast_ref::<gtk::Button>() {
        found.push(button.clone());
    }
    let mut child = widget.first_child();
    while let Some(current) = child {
        buttons_under(&current, found);
        child = current.next_sibling();
    }
}

fn volumes(pool: &str) -> String {
    common::admin_virsh(&["pool-refresh", pool]);
    common::admin_virsh(&["vol-list", pool])
}

#[test]
fn the_jobs_popover_lists_two_uploads_and_cancels_one() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let Some(login) = common::sasl_login() else {
        return;
    };
    gtk::gio::resources_register_include!("hangar.gresource").expect("resources");
    gtk::init().expect("GTK");
    adw::init().expect("libadwaita");
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");

    // The host's worker logs in with a typed password (not remembered): jobs reuse it.
    let uri = login.uri.replacen("://", &format!("://{}@", login.user), 1);
    let host = hangar::model::Host::with_name(&uri, "test bed");
    host.set_typed_password(Some(hangar::backend::password::Password::from_text(
        &login.password,
    )));
    host.connect_to_host();
    pump_until(Duration::from_secs(30), || {
        (host.status() == HostStatus::Connected).then_some(())
    })
    .expect("the host connects");

    let popover = hangar::ui::JobsPopover::default();
    let button = gtk::MenuButton::builder()
        .icon_name("folder-download-symbolic")
        .popover(&popover)
        .build();
    let header = gtk::HeaderBar::new();
    header.pack_end(&button);
    let window = gtk::Window::builder()
        .default_width(800)
        .default_height(560)
        .titlebar(&header)
        .build();
    window.present();

    let ended = Rc::new(RefCell::new(Vec::<String>::new()));
    let jobs = JobList::get();
    let ended_clone = ended.clone();
    jobs.connect_job_ended(move |message| ended_clone.borrow_mut().push(message.to_owned()));
    let files = [sparse_file("debian.iso"), sparse_file("fedora.iso")];
    let names = ["hangar-jobs-ui-debian.img", "hangar-jobs-ui-fedora.img"];
    let items: Vec<JobItem> = files
        .iter()
        .zip(names)
        .map(|(file, volume)| {
            let spec = UploadSpec {
                local: file.0.clone(),
                pool: pool.clone(),
                volume: volume.to_owned(),
                iso: false,
            };
            let title = format!("Uploading {volume} to test bed");
            jobs.start(&host, &title, upload_work(spec))
        })
        .collect();
    button.popup();
    let texts = pump_until(Duration::from_secs(30), || {
        let mut texts = Vec::new();
        labels_under(popover.upcast_ref(), &mut texts);
        let speeds = texts.iter().filter(|text| text.contains("MB/s")).count();
        (speeds == 2 && items.iter().all(|item| item.fraction() > 0.0)).then_some(texts)
    })
    .unwrap_or_else(|| panic!("both uploads show their speed: {:?}", ended.borrow()));
    for volume in names {
        let title = format!("Uploading {volume} to test bed");
        assert!(texts.contains(&title), "{title} not in {texts:?}");
    }
    // Let the popover draw, then photograph the screen.
    pump_until(Duration::from_millis(500), || None::<()>);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let shot = dir.join("jobs-popover.png");
    let status = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .status()
        .expect("import");
    assert!(status.success());

    // The first row's Cancel stops the first upload only.
    let mut buttons = Vec::new();
    buttons_under(popover.upcast_ref(), &mut buttons);
    let cancel = buttons
        .iter()
        .find(|button| button.tooltip_text().as_deref() == Some("Cancel"))
        .expect("a Cancel button");
    cancel.emit_clicked();
    let message = pump_until(Duration::from_secs(30), || ended.borrow().first().cloned())
        .expect("the cancelled job ends");
    assert_eq!(
        message,
        format!("Cancelled: Uploading {} to test bed", names[0])
    );
    assert_eq!(jobs.store().n_items(), 1, "the other job still runs");
    assert!(items[1].running());
    let left = volumes(&pool);
    assert!(
        !left.contains(names[0]),
        "the partial volume is gone: {left}"
    );
    assert!(left.contains(names[1]), "the other upload goes on: {left}");

    jobs.cancel_all();
    pump_until(Duration::from_secs(30), || {
        (jobs.store().n_items() == 0).then_some(())
    })
    .expect("every job ends");
    assert!(!volumes(&pool).contains(names[1]));
    window.close();
}
