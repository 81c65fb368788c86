//! The Devices section: every device of the machine, added, changed and removed live and
//! in the saved config as libvirt allows (`backend::domain::device_list`, `device_apply`).
//! Device changes apply at once from their own rows and dialogs, not through the page's
//! Apply. The rows and per-kind editors are in `devices/`.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::create::{self, CreationFacts};
use crate::backend::domain::device_apply::finish_detach;
use crate::backend::domain::device_list::{read_devices, DeviceEntry};
use crate::backend::domain::devices::DeviceKey;
use crate::backend::domain::reading::DomainReading;
use crate::backend::error::BackendError;
use crate::backend::libvirt::session::HostSession;
use crate::backend::storage::deletion::{delete_allowed, DiskVerdict};
use crate::model::Domain;

mod cdrom;
mod disk;
mod nic;
mod remove;
mod resize;
mod row;

/// Where a shown device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// In the running machine and the saved settings (or the machine is off).
    Both,
    /// Saved only: the running machine gets it after a shutdown.
    SavedOnly,
    /// In the running machine only: gone at shutdown.
    LiveOnly,
    /// Asked to go; the guest has not let go yet.
    Waiting,
}

/// What a change on the worker answers: a note for a toast, or the sentences of a failure.
pub(crate) type Outcome = Result<String, String>;

/// A device being detached that the guest has not released yet, with the volume to delete
/// once it has.
struct Pending {
    key: DeviceKey,
    delete: Option<DiskVerdict>,
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/devices.ui")]
    pub struct DevicesSection {
        #[template_child]
        pub(super) group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) add_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) error_label: TemplateChild<gtk::Label>,
        pub(super) domain: glib::WeakRef<Domain>,
        pub(super) reading: RefCell<Option<DomainReading>>,
        pub(super) rows: RefCell<Vec<adw::ExpanderRow>>,
        /// The XML last shown (config, live): a reading that changed nothing keeps the rows
        /// and what the user is typing in them.
        pub(super) shown: RefCell<Option<(String, Option<String>)>>,
        pub(super) pending: RefCell<Vec<Pending>>,
        pub(super) facts: RefCell<Option<Rc<CreationFacts>>>,
        pub(super) asked_facts: Cell<bool>,
        pub(super) changed: RefCell<Option<Rc<dyn Fn()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DevicesSection {
        const NAME: &'static str = "HangarDevicesSection";
        type Type = super::DevicesSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DevicesSection {
        fn constructed(&self) {
            self.parent_constructed();
            let section = self.obj().downgrade();
            self.add_button.connect_clicked(move |_| {
                if let Some(section) = section.upgrade() {
                    section.add_device();
                }
            });
        }
    }
    impl WidgetImpl for DevicesSection {}
    impl BoxImpl for DevicesSection {}
}

glib::wrapper! {
    pub struct DevicesSection(ObjectSubclass<imp::DevicesSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl DevicesSection {
    /// The domain whose devices are shown (changes run on its host's worker).
    pub fn set_domain(&self, domain: &Domain) {
        self.imp().domain.set(Some(domain));
    }

    pub(crate) fn domain(&self) -> Option<Domain> {
        self.imp().domain.upgrade()
    }

    /// The last reading shown.
    pub(crate) fn reading(&self) -> Option<DomainReading> {
        self.imp().reading.borrow().clone()
    }

    /// The host's pools, volumes and networks, once asked (`None` until they arrive).
    pub(crate) fn facts(&self) -> Option<Rc<CreationFacts>> {
        self.imp().facts.borrow().clone()
    }

    /// Shows the devices of the domain as just read (saved config and running machine).
    pub fn show_reading(&self, reading: &DomainReading) {
        let imp = self.imp();
        imp.reading.replace(Some(reading.clone()));
        self.follow_pending(reading);
        self.ask_facts();
        let xmls = (reading.config_xml.clone(), reading.live_xml.clone());
        if imp.shown.borrow().as_ref() == Some(&xmls) {
            return;
        }
        imp.shown.replace(Some(xmls));
        self.rebuild();
    }

    /// Calls `changed` after a device was added, changed or removed, so the page reads the
    /// domain again.
    pub fn connect_changed(&self, changed: impl Fn() + 'static) {
        self.imp().changed.replace(Some(Rc::new(changed)));
    }

    /// The "Add Device…" button: the add dialog, which calls back when it added one.
    pub fn add_device(&self) {
        let Some(domain) = self.domain() else { return };
        let Some(reading) = self.imp().reading.borrow().clone() else {
            return;
        };
        let section = self.downgrade();
        super::add_device::present(self, &domain, &reading, move || {
            if let Some(section) = section.upgrade() {
                section.emit_changed();
            }
        });
    }

    fn emit_changed(&self) {
        let changed = self.imp().changed.borrow().clone();
        if let Some(changed) = changed {
            changed();
        }
    }

    /// Builds the rows again from the last reading; expanded rows stay expanded.
    fn rebuild(&self) {
        let imp = self.imp();
        let Some(reading) = imp.reading.borrow().clone() else {
            return;
        };
        let expanded: HashSet<String> = imp
            .rows
            .borrow()
            .iter()
            .filter(|row| row.is_expanded())
            .map(|row| row.widget_name().to_string())
            .collect();
        for row in imp.rows.take() {
            imp.group.remove(&row);
        }
        let config = read_devices(&reading.config_xml).unwrap_or_default();
        let live = reading
            .live_xml
            .as_deref()
            .map(|xml| read_devices(xml).unwrap_or_default());
        let waiting: Vec<DeviceKey> = imp.pending.borrow().iter().map(|p| p.key.clone()).collect();
        let mut shown: Vec<(DeviceEntry, Option<DeviceEntry>, Presence)> = Vec::new();
        match &live {
            Some(live) => {
                for entry in live {
                    let saved = config.iter().find(|c| c.key == entry.key).cloned();
                    let presence = if waiting.contains(&entry.key) {
                        Presence::Waiting
                    } else if saved.is_some() || !reading_is_persistent(&reading) {
                        Presence::Both
                    } else {
                        Presence::LiveOnly
                    };
                    shown.push((entry.clone(), saved, presence));
                }
                for entry in config
                    .iter()
                    .filter(|c| !live.iter().any(|l| l.key == c.key))
                {
                    shown.push((entry.clone(), Some(entry.clone()), Presence::SavedOnly));
                }
            }
            None => {
                for entry in &config {
                    shown.push((entry.clone(), Some(entry.clone()), Presence::Both));
                }
            }
        }
        let running = reading.live_xml.is_some();
        let mut rows = Vec::new();
        for (entry, saved, presence) in &shown {
            let row = row::build(self, entry, saved.as_ref(), *presence, running);
            row.set_widget_name(&row_name(&entry.key));
            row.set_expanded(expanded.contains(&row_name(&entry.key)));
            imp.group.add(&row);
            rows.push(row);
        }
        imp.rows.replace(rows);
        crate::ui::a11y::name_controls(self);
    }

    /// A device the guest released late (gone from the running machine): the saved
    /// settings follow, and its volume goes when that was asked.
    fn follow_pending(&self, reading: &DomainReading) {
        let imp = self.imp();
        let live_keys: Option<Vec<DeviceKey>> = reading.live_xml.as_deref().map(|xml| {
            read_devices(xml)
                .unwrap_or_default()
                .into_iter()
                .map(|entry| entry.key)
                .collect()
        });
        let released: Vec<Pending> = {
            let mut pending = imp.pending.borrow_mut();
            let (released, still): (Vec<Pending>, Vec<Pending>) =
                pending.drain(..).partition(|p| match &live_keys {
                    Some(keys) => !keys.contains(&p.key),
                    None => true,
                });
            *pending = still;
            released
        };
        for done in released {
            let key = done.key.clone();
            let delete = done.delete;
            self.run(None, move |session, uuid| {
                // Still in the running machine (it shut down first), or already gone from
                // the saved settings: nothing to say.
                if !finish_detach(session, uuid, &key).map_err(|error| error.message())? {
                    return Ok(String::new());
                }
                Ok(removed_note(session, delete))
            });
        }
    }

    /// Remembers that the guest was asked to release `key` and has not yet.
    pub(crate) fn add_pending(&self, key: DeviceKey, delete: Option<DiskVerdict>) {
        self.imp()
            .pending
            .borrow_mut()
            .push(Pending { key, delete });
        self.rebuild();
    }

    /// Asks the host once for its pools, volumes and networks (the CD-ROM and network card
    /// choices); the rows are built again when they arrive.
    fn ask_facts(&self) {
        let imp = self.imp();
        if imp.asked_facts.replace(true) {
            return;
        }
        let Some(host) = self.domain().and_then(|domain| domain.host()) else {
            return;
        };
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = section)]
            self,
            async move {
                if let Ok(facts) = host.run(create::facts).await {
                    section.imp().facts.replace(Some(Rc::new(facts)));
                    section.rebuild();
                }
            }
        ));
    }

    /// Runs `job` on the host's worker with the domain's UUID. Its note goes to a toast and
    /// the page reads the domain again; a failure shows in `error_label` (the section's own
    /// when `None`). `busy` is insensitive meanwhile.
    pub(crate) fn run(
        &self,
        error_label: Option<&gtk::Label>,
        job: impl FnOnce(&HostSession, &str) -> Outcome + Send + 'static,
    ) {
        self.run_with(error_label, None::<&gtk::Widget>, job, |_| {});
    }

    /// [`run`](Self::run), with `busy` insensitive meanwhile and `after` called with the
    /// outcome before the page reads again.
    pub(crate) fn run_with(
        &self,
        error_label: Option<&gtk::Label>,
        busy: Option<&impl IsA<gtk::Widget>>,
        job: impl FnOnce(&HostSession, &str) -> Outcome + Send + 'static,
        after: impl FnOnce(&Outcome) + 'static,
    ) {
        let Some(domain) = self.domain() else { return };
        let Some(host) = domain.host() else { return };
        let uuid = domain.uuid();
        let label = error_label
            .cloned()
            .unwrap_or_else(|| self.imp().error_label.get());
        label.set_visible(false);
        let busy = busy.map(|widget| widget.as_ref().clone());
        if let Some(busy) = &busy {
            busy.set_sensitive(false);
        }
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = section)]
            self,
            async move {
                let outcome = host
                    .run(move |session| Ok::<_, BackendError>(job(session, &uuid)))
                    .await
                    .unwrap_or_else(|error| Err(error.user_message()));
                if let Some(busy) = &busy {
                    busy.set_sensitive(true);
                }
                after(&outcome);
                match &outcome {
                    Ok(note) => {
                        if !note.is_empty() {
                            section.toast(note);
                        }
                    }
                    Err(message) => {
                        label.set_label(message);
                        label.set_visible(true);
                    }
                }
                section.emit_changed();
            }
        ));
    }

    /// A short message at the bottom of the page.
    pub(crate) fn toast(&self, text: &str) {
        let overlay = self
            .ancestor(adw::ToastOverlay::static_type())
            .and_downcast::<adw::ToastOverlay>();
        match overlay {
            Some(overlay) => overlay.add_toast(adw::Toast::new(text)),
            None => {
                let label = self.imp().error_label.get();
                label.set_label(text);
                label.set_visible(true);
            }
        }
    }
}

fn row_name(key: &DeviceKey) -> String {
    format!("{}:{}", key.element, key.id)
}

/// A transient machine has no saved settings: its devices are not "live only".
fn reading_is_persistent(reading: &DomainReading) -> bool {
    !reading.config_xml.is_empty()
}

/// After a device is gone: deletes the volume when asked and allowed, and says what happened.
pub(crate) fn removed_note(session: &HostSession, delete: Option<DiskVerdict>) -> String {
    let Some(verdict) = delete else {
        return gettext("The device was removed.");
    };
    let outcome = delete_allowed(session, vec![verdict]);
    match outcome.kept.first() {
        Some(kept) => crate::i18n::gettext_f(
            "The device was removed. Its volume {volume} was kept: {reason}",
            &[
                ("volume", kept.shown()),
                (
                    "reason",
                    &kept
                        .keep
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
            ],
        ),
        None => gettext("The device and its volume were removed."),
    }
}
