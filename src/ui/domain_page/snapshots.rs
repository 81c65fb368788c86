//! The Snapshots section: the machine's snapshots as a tree; take, revert and delete them
//! (`backend::domain::snapshots`, `snapshot_plan`).
//! Snapshot actions apply at once from their own dialogs, not through the page's Apply.
//! They run on the host's worker with the section insensitive and a spinner turning; a
//! snapshot with memory can take long and belongs on the jobs framework once it exists.

mod dialogs;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::domain::reading::DomainReading;
use crate::backend::domain::snapshots::{
    list_snapshots, SnapshotError, SnapshotMode, SnapshotNode,
};
use crate::backend::libvirt::session::HostSession;
use crate::i18n::gettext_f;
use crate::model::Domain;

/// How far each level of the tree is indented, in pixels.
const INDENT: i32 = 24;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/snapshots.ui")]
    pub struct SnapshotsSection {
        #[template_child]
        pub(super) group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) spinner: TemplateChild<gtk::Spinner>,
        #[template_child]
        pub(super) take_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) error_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) list: TemplateChild<gtk::ListBox>,
        pub(super) domain: glib::WeakRef<Domain>,
        /// Whether the machine ran at the page's last reading.
        pub(super) running: Cell<bool>,
        /// Actions on their way; the section is insensitive while any is.
        pub(super) busy: Cell<u32>,
        pub(super) changed: RefCell<Vec<Rc<dyn Fn()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for SnapshotsSection {
        const NAME: &'static str = "HangarSnapshotsSection";
        type Type = super::SnapshotsSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for SnapshotsSection {
        fn constructed(&self) {
            self.parent_constructed();
            let placeholder = gtk::Label::builder()
                .label(gettext(
                    "This virtual machine has no snapshots yet. Take one before an upgrade to be able to go back.",
                ))
                .wrap(true)
                .margin_top(18)
                .margin_bottom(18)
                .margin_start(12)
                .margin_end(12)
                .css_classes(["dim-label"])
                .build();
            self.list.set_placeholder(Some(&placeholder));
            let section = self.obj().downgrade();
            self.take_button.connect_clicked(move |_| {
                if let Some(section) = section.upgrade() {
                    dialogs::take_snapshot(&section);
                }
            });
        }
    }
    impl WidgetImpl for SnapshotsSection {}
    impl BoxImpl for SnapshotsSection {}
}

glib::wrapper! {
    pub struct SnapshotsSection(ObjectSubclass<imp::SnapshotsSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

/// Runs a snapshot call on the domain's host worker: its result, or the failure as a
/// sentence in libvirt's words plus what to do.
pub(super) async fn run_on_host<T: Send + 'static>(
    domain: &Domain,
    job: impl FnOnce(&HostSession, &str) -> Result<T, SnapshotError> + Send + 'static,
) -> Result<T, String> {
    let Some(host) = domain.host() else {
        return Err(gettext(
            "The host of this virtual machine is not connected.",
        ));
    };
    let uuid = domain.uuid();
    match host.run(move |session| Ok(job(session, &uuid))).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(error) => Err(SnapshotError::from(error).to_string()),
    }
}

impl SnapshotsSection {
    /// The domain whose snapshots are shown (actions run on its host's worker).
    pub fn set_domain(&self, domain: &Domain) {
        self.imp().domain.set(Some(domain));
        self.imp().running.set(domain.is_active());
        self.refresh();
    }

    /// The page read the domain again: its state or disks may have changed.
    pub fn show_reading(&self, reading: &DomainReading) {
        self.imp().running.set(reading.live.is_some());
        self.refresh();
    }

    /// Calls `changed` after a snapshot was taken or reverted to, so the page reads the
    /// domain again.
    pub fn connect_changed(&self, changed: impl Fn() + 'static) {
        self.imp().changed.borrow_mut().push(Rc::new(changed));
    }

    pub(super) fn domain(&self) -> Option<Domain> {
        self.imp().domain.upgrade()
    }

    pub(super) fn is_running(&self) -> bool {
        self.imp().running.get()
    }

    /// Tells the page the machine changed (it re-reads, which refreshes the list too).
    pub(super) fn emit_changed(&self) {
        let callbacks: Vec<Rc<dyn Fn()>> = self.imp().changed.borrow().clone();
        for callback in callbacks {
            callback();
        }
        self.refresh();
    }

    /// Marks an action as running (`true`) or done: the section is insensitive meanwhile.
    pub(super) fn set_busy(&self, busy: bool) {
        let imp = self.imp();
        let count = if busy {
            imp.busy.get() + 1
        } else {
            imp.busy.get().saturating_sub(1)
        };
        imp.busy.set(count);
        imp.spinner.set_visible(count > 0);
        imp.spinner.set_spinning(count > 0);
        imp.take_button.set_sensitive(count == 0);
        imp.list.set_sensitive(count == 0);
    }

    /// Shows why the last action failed, or hides the message.
    pub(super) fn show_error(&self, error: Option<&str>) {
        let label = &self.imp().error_label;
        label.set_label(error.unwrap_or_default());
        label.set_visible(error.is_some());
    }

    /// Lists the snapshots again on the host's worker.
    pub(super) fn refresh(&self) {
        let Some(domain) = self.domain() else { return };
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = section)]
            self,
            async move {
                let tree = run_on_host(&domain, list_snapshots).await;
                match tree {
                    Ok(tree) => section.show_tree(&tree),
                    Err(error) => section.show_error(Some(&gettext_f(
                        "The snapshots could not be listed: {reason}",
                        &[("reason", &error)],
                    ))),
                }
            }
        ));
    }

    fn show_tree(&self, tree: &[SnapshotNode]) {
        let list = &self.imp().list;
        // Rows only: the placeholder is a child of the list too.
        while let Some(row) = list.row_at_index(0) {
            list.remove(&row);
        }
        let mut rows = Vec::new();
        flatten(tree, 0, &mut rows);
        for (node, depth) in rows {
            list.append(&self.snapshot_row(node, depth));
        }
    }

    fn snapshot_row(&self, node: &SnapshotNode, depth: i32) -> adw::ActionRow {
        let info = &node.info;
        let mode = match info.mode {
            SnapshotMode::Internal => gettext("Internal"),
            SnapshotMode::External => gettext("External"),
        };
        let mut facts = vec![local_time(info.created), info.kind_label(), mode];
        if !info.description.is_empty() {
            facts.push(info.description.replace('\n', " "));
        }
        let row = adw::ActionRow::builder()
            .title(glib::markup_escape_text(&info.name).as_str())
            .subtitle(glib::markup_escape_text(&facts.join(" · ")).as_str())
            .subtitle_lines(3)
            .build();
        let indent = gtk::Box::builder()
            .width_request(INDENT * depth)
            .visible(depth > 0)
            .build();
        row.add_prefix(&indent);
        if info.current {
            let current = gtk::Label::builder()
                .label(gettext("Current"))
                .valign(gtk::Align::Center)
                .css_classes(["accent", "caption-heading"])
                .tooltip_text(gettext("The machine’s disks last came from this snapshot"))
                .build();
            row.add_suffix(&current);
        }
        let revert = row_button(
            &gettext("Revert"),
            &gettext_f("Revert to {name}", &[("name", &info.name)]),
        );
        let delete = row_button(
            &gettext("Delete"),
            &gettext_f("Delete {name}", &[("name", &info.name)]),
        );
        delete.add_css_class("destructive-action");
        row.add_suffix(&revert);
        row.add_suffix(&delete);
        let name = info.name.clone();
        let with_memory = info.with_memory;
        revert.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| dialogs::confirm_revert(&section, &name, with_memory)
        ));
        let name = info.name.clone();
        let children = !node.children.is_empty();
        delete.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| dialogs::confirm_delete(&section, &name, children)
        ));
        let summary = if info.current {
            gettext_f(
                "{name}, current snapshot, {facts}",
                &[("name", &info.name), ("facts", &facts.join(", "))],
            )
        } else {
            format!("{}, {}", info.name, facts.join(", "))
        };
        crate::ui::a11y::set_label(&row, &summary);
        row
    }
}

/// A text button in a snapshot's row, named for the snapshot it acts on.
fn row_button(label: &str, name: &str) -> gtk::Button {
    let button = gtk::Button::builder()
        .label(label)
        .valign(gtk::Align::Center)
        .tooltip_text(name)
        .build();
    crate::ui::a11y::set_label(&button, name);
    button
}

/// The tree in display order with each snapshot's depth.
fn flatten<'a>(nodes: &'a [SnapshotNode], depth: i32, out: &mut Vec<(&'a SnapshotNode, i32)>) {
    for node in nodes {
        out.push((node, depth));
        flatten(&node.children, depth + 1, out);
    }
}

/// `seconds` since the epoch in the local time zone, as the desktop writes dates.
fn local_time(seconds: i64) -> String {
    glib::DateTime::from_unix_local(seconds)
        .and_then(|time| time.format("%x %H:%M"))
        .map(|text| text.to_string())
        .unwrap_or_default()
}
