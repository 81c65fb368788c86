//! A virtual machine's details page, a window of its own one click from its console: its
//! sections (Overview, Performance, CPU and Memory, Boot, Display, Devices, Snapshots, XML)
//! down the side, one file each, with Apply and Revert for the whole page. Nothing is
//! written before Apply; the writing (re-read, conflict check, saved config, then live) is
//! `backend::domain::apply`, run on the host's worker. The XML, Devices and Snapshots
//! sections act on their own, each after showing or asking what it will do.

mod add_device;
mod boot;
mod cpu_memory;
mod devices;
mod display;
mod graph;
mod guest_agent;
mod outside;
mod overview;
mod performance;
mod snapshots;
mod xml;
mod xml_review;

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::domain::apply::{self, Applied, ApplyError};
use crate::backend::domain::capabilities::DomainCapabilities;
use crate::backend::domain::conflict::OutsideChanges;
use crate::backend::domain::fields::{changed_fields, pending_after_shutdown, Field};
use crate::backend::domain::model::DomainModel;
use crate::backend::domain::reading::{read_domain, DomainReading};
use crate::backend::error::BackendError;
use crate::backend::osinfo::{self, OsEntry};
use crate::i18n::gettext_f;
use crate::model::domain::state_label;
use crate::model::{Domain, Host};
use boot::BootSection;
use cpu_memory::CpuMemorySection;
use devices::DevicesSection;
use display::DisplaySection;
use guest_agent::GuestAgentSection;
use outside::changed_elsewhere_notice;
use overview::OverviewSection;
use performance::PerformanceSection;
use snapshots::SnapshotsSection;
use xml::XmlSection;

/// What every section shows: the saved config (with the user's kept edits), the running
/// machine, the host's choices and what the page knows beside the XML.
pub struct Shown<'a> {
    pub model: &'a DomainModel,
    /// The running machine's XML read into the model; `None` while shut off.
    pub live: Option<&'a DomainModel>,
    pub capabilities: Option<&'a DomainCapabilities>,
    /// The run state as the list shows it ("Running").
    pub state: String,
    /// When Hangar saw the domain enter that state, if it did.
    pub state_since: Option<glib::DateTime>,
    /// The OS's name from osinfo-db, from the id the wizard wrote.
    pub os_name: Option<String>,
}

/// What the page was opened with (or last re-read): the base edits are compared to.
struct Opened {
    xml: String,
    model: DomainModel,
    live: Option<DomainModel>,
    capabilities: Option<DomainCapabilities>,
    autostart: Option<bool>,
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/domain_page.ui")]
    pub struct DomainPage {
        #[template_child]
        pub(super) toast_overlay: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub(super) window_title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub(super) apply_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) revert_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) console_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) notice_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub(super) notice_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) shutdown_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub(super) stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub(super) loading_status: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) overview: TemplateChild<OverviewSection>,
        #[template_child]
        pub(super) guest_agent: TemplateChild<GuestAgentSection>,
        #[template_child]
        pub(super) performance: TemplateChild<PerformanceSection>,
        #[template_child]
        pub(super) cpu_memory: TemplateChild<CpuMemorySection>,
        #[template_child]
        pub(super) boot: TemplateChild<BootSection>,
        #[template_child]
        pub(super) display: TemplateChild<DisplaySection>,
        #[template_child]
        pub(super) devices: TemplateChild<DevicesSection>,
        #[template_child]
        pub(super) snapshots: TemplateChild<SnapshotsSection>,
        #[template_child]
        pub(super) xml: TemplateChild<XmlSection>,
        pub(super) domain: RefCell<Option<Domain>>,
        pub(super) opened: RefCell<Option<Opened>>,
        /// The page follows its domain's state; disconnected when the page goes, as the
        /// domain outlives it.
        pub(super) state_handler: RefCell<Option<glib::SignalHandlerId>>,
        /// Definition changes from elsewhere, reported by the domain's host.
        pub(super) host_handler: RefCell<Option<(Host, glib::SignalHandlerId)>>,
        /// An Apply is running: the events it causes are the page's own.
        pub(super) applying: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DomainPage {
        const NAME: &'static str = "HangarDomainPage";
        type Type = super::DomainPage;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            OverviewSection::ensure_type();
            GuestAgentSection::ensure_type();
            PerformanceSection::ensure_type();
            CpuMemorySection::ensure_type();
            BootSection::ensure_type();
            DisplaySection::ensure_type();
            DevicesSection::ensure_type();
            SnapshotsSection::ensure_type();
            XmlSection::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DomainPage {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().setup();
        }

        fn dispose(&self) {
            let handler = self.state_handler.take();
            if let (Some(domain), Some(handler)) = (self.domain.borrow().as_ref(), handler) {
                domain.disconnect(handler);
            }
            if let Some((host, handler)) = self.host_handler.take() {
                host.disconnect(handler);
            }
        }
    }

    impl WidgetImpl for DomainPage {}
    impl WindowImpl for DomainPage {}
    impl AdwWindowImpl for DomainPage {}
}

glib::wrapper! {
    pub struct DomainPage(ObjectSubclass<imp::DomainPage>)
        @extends gtk::Widget, gtk::Window, adw::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl DomainPage {
    pub fn new(app: &impl IsA<gtk::Application>, domain: &Domain) -> Self {
        let page: Self = glib::Object::builder().property("application", app).build();
        page.imp().domain.replace(Some(domain.clone()));
        let handler = domain.connect_notify_local(
            Some("state-label"),
            glib::clone!(
                #[weak]
                page,
                move |domain, _| {
                    let overview = &page.imp().overview;
                    overview.show_state(&domain.state_label(), domain.state_since());
                    // What applies live, and the marks, follow the run state.
                    page.reload_keeping_edits();
                }
            ),
        );
        page.imp().state_handler.replace(Some(handler));
        page.follow_definition(domain);
        GtkWindowExt::set_title(
            &page,
            Some(&gettext_f("{name} — Details", &[("name", &domain.name())])),
        );
        page.imp().window_title.set_title(&domain.name());
        page.imp().window_title.set_subtitle(&gettext("Details"));
        page.imp().performance.follow(domain);
        page.imp().guest_agent.follow(domain);
        page.imp().xml.set_domain(domain);
        page.imp().devices.set_domain(domain);
        page.imp().snapshots.set_domain(domain);
        page.reload(None);
        page
    }

    /// The domain shown, to find its page again.
    pub fn domain(&self) -> Option<Domain> {
        self.imp().domain.borrow().clone()
    }

    fn setup(&self) {
        let imp = self.imp();
        let edited = glib::clone!(
            #[weak(rename_to = page)]
            self,
            move || page.update_buttons()
        );
        imp.overview.connect_edited(edited.clone());
        imp.cpu_memory.connect_edited(edited.clone());
        imp.boot.connect_edited(edited.clone());
        imp.display.connect_edited(edited);
        imp.devices.connect_changed(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move || page.reload_keeping_edits()
        ));
        imp.snapshots.connect_changed(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move || page.reload_keeping_edits()
        ));
        imp.xml.connect_saved(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move || page.reload_keeping_edits()
        ));
        imp.apply_button.connect_clicked(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_| page.apply()
        ));
        imp.revert_button.connect_clicked(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_| page.revert()
        ));
        imp.console_button.connect_clicked(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_| page.open_console()
        ));
        crate::ui::a11y::name_controls(self);
    }

    /// The opened model with the user's edits.
    fn edited(&self) -> Option<DomainModel> {
        let mut model = self.imp().opened.borrow().as_ref()?.model.clone();
        self.imp().overview.read_into(&mut model);
        self.imp().cpu_memory.read_into(&mut model);
        self.imp().boot.read_into(&mut model);
        self.imp().display.read_into(&mut model);
        Some(model)
    }

    fn edited_fields(&self) -> Vec<Field> {
        let opened = self.imp().opened.borrow();
        match (opened.as_ref(), self.edited()) {
            (Some(opened), Some(edited)) => changed_fields(&opened.model, &edited),
            _ => Vec::new(),
        }
    }

    /// The autostart the user chose, when it differs from the one read.
    fn edited_autostart(&self) -> Option<bool> {
        let opened = self.imp().opened.borrow().as_ref()?.autostart?;
        let wanted = self.imp().overview.autostart();
        (wanted != opened).then_some(wanted)
    }

    fn update_buttons(&self) {
        let dirty = !self.edited_fields().is_empty() || self.edited_autostart().is_some();
        // Values that cannot go together are said under their rows, and on Apply.
        let problem = self.imp().cpu_memory.problem();
        self.imp()
            .apply_button
            .set_sensitive(dirty && problem.is_none());
        self.imp().apply_button.set_tooltip_text(problem.as_deref());
        self.imp().revert_button.set_sensitive(dirty);
    }

    fn revert(&self) {
        let opened = self.imp().opened.borrow().as_ref().map(|o| o.model.clone());
        if let Some(model) = opened {
            self.show_model(&model);
        }
        let autostart = self.imp().opened.borrow().as_ref().map(|o| o.autostart);
        if let Some(autostart) = autostart {
            self.imp().overview.show_autostart(autostart);
        }
        self.update_buttons();
    }

    fn show_model(&self, model: &DomainModel) {
        let imp = self.imp();
        let opened = imp.opened.borrow();
        let shown = Shown {
            model,
            live: opened.as_ref().and_then(|o| o.live.as_ref()),
            capabilities: opened.as_ref().and_then(|o| o.capabilities.as_ref()),
            state: self
                .domain()
                .map(|d| state_label(d.state()))
                .unwrap_or_default(),
            state_since: self.domain().and_then(|d| d.state_since()),
            os_name: model.os_id.as_deref().and_then(os_name),
        };
        imp.overview.show(&shown);
        imp.cpu_memory.show(&shown);
        imp.boot.show(&shown);
        imp.display.show(&shown);
    }

    fn show_notice(&self, text: Option<&str>) {
        let imp = self.imp();
        imp.notice_label.set_label(text.unwrap_or_default());
        imp.notice_revealer.set_reveal_child(text.is_some());
    }

    /// Reads the domain again and shows it. With `keep`, the fields the user edited (and
    /// nobody else changed: not in `keep.1`) keep the user's values.
    fn reload(&self, keep: Option<(DomainModel, Vec<Field>)>) {
        let Some(domain) = self.domain() else { return };
        let Some(host) = domain.host() else { return };
        let uuid = domain.uuid();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = page)]
            self,
            async move {
                let reading = host.run(move |session| read_domain(session, &uuid)).await;
                page.show_reading(reading, keep);
            }
        ));
    }

    /// Reads the domain again; the user's edits stay.
    fn reload_keeping_edits(&self) {
        let keep = (!self.edited_fields().is_empty())
            .then(|| self.edited())
            .flatten()
            .map(|edited| (edited, Vec::new()));
        self.reload(keep);
    }

    fn show_reading(
        &self,
        reading: Result<DomainReading, BackendError>,
        keep: Option<(DomainModel, Vec<Field>)>,
    ) {
        let imp = self.imp();
        let keep_autostart = keep.is_some();
        let reading = match reading {
            Ok(reading) => reading,
            Err(error) => {
                imp.loading_status
                    .set_title(&gettext("Cannot read the virtual machine"));
                imp.loading_status
                    .set_description(Some(&error.user_message()));
                imp.stack.set_visible_child_name("loading");
                return;
            }
        };
        let (model, live) = (reading.config.clone(), reading.live.clone());
        let mut shown = model.clone();
        if let Some((edited, conflicts)) = keep {
            // The user's edits are what differs from what the page showed before, not from
            // the new reading: a field only changed elsewhere shows its new value.
            let before = imp.opened.borrow().as_ref().map(|o| o.model.clone());
            let user_edits =
                before.map_or_else(Vec::new, |before| changed_fields(&before, &edited));
            for field in user_edits {
                if !conflicts.contains(&field) {
                    field.copy(&edited, &mut shown);
                }
            }
        }
        let pending = live.as_ref().is_some_and(|live| {
            pending_after_shutdown(live, &model)
                .into_iter()
                .any(|field| reading.live_secure || field != Field::VncPassword)
        });
        imp.shutdown_revealer.set_reveal_child(pending);
        imp.xml.show_xml(&reading.config_xml);
        imp.devices.show_reading(&reading);
        imp.snapshots.show_reading(&reading);
        // After a conflict the user's autostart choice stays, as their other edits do.
        let kept_autostart = keep_autostart.then(|| self.edited_autostart()).flatten();
        imp.opened.replace(Some(Opened {
            xml: reading.config_xml,
            model,
            live,
            capabilities: reading.capabilities,
            autostart: reading.autostart,
        }));
        self.show_model(&shown);
        imp.overview
            .show_autostart(kept_autostart.or(reading.autostart));
        imp.stack.set_visible_child_name("settings");
        self.update_buttons();
    }

    fn apply(&self) {
        let Some(domain) = self.domain() else { return };
        let Some(host) = domain.host() else { return };
        // Nothing is written while values cannot go together (see `update_buttons`).
        if let Some(problem) = self.imp().cpu_memory.problem() {
            self.show_notice(Some(&problem));
            return;
        }
        let Some(edited) = self.edited() else { return };
        let Some(opened_xml) = self.imp().opened.borrow().as_ref().map(|o| o.xml.clone()) else {
            return;
        };
        let uuid = domain.uuid();
        let autostart = self.edited_autostart();
        self.imp().apply_button.set_sensitive(false);
        self.imp().applying.set(true);
        self.show_notice(None);
        let job_edited = edited.clone();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = page)]
            self,
            async move {
                let result = host
                    .run(move |session| {
                        let applied = apply::apply(session, &uuid, &opened_xml, &job_edited);
                        // Autostart is not in the XML: set after the config, never without it.
                        let autostart_error = match (&applied, autostart) {
                            (Ok(_), Some(on)) => apply::set_autostart(session, &uuid, on).err(),
                            _ => None,
                        };
                        Ok((applied, autostart_error))
                    })
                    .await;
                page.applied(result, edited);
            }
        ));
    }

    fn applied(
        &self,
        result: Result<(Result<Applied, ApplyError>, Option<BackendError>), BackendError>,
        edited: DomainModel,
    ) {
        self.imp().applying.set(false);
        let (result, autostart_error) = match result {
            Ok((applied, autostart_error)) => (Ok(applied), autostart_error),
            Err(error) => (Err(error), None),
        };
        match result {
            Ok(Ok(applied)) => {
                if let Some(error) = &autostart_error {
                    self.show_notice(Some(&gettext_f(
                        "Autostart could not be changed: {reason}",
                        &[("reason", &error.user_message())],
                    )));
                }
                let before = self.imp().opened.borrow().as_ref().map(|o| o.model.clone());
                if let (Some(before), Some(domain)) = (before, self.domain()) {
                    self.imp().display.applied(&before, &edited, &domain);
                }
                let toast = if applied.live_failures.is_empty() && applied.after_shutdown.is_empty()
                {
                    gettext("Changes applied")
                } else {
                    gettext("Changes saved; some take effect after the virtual machine shuts down")
                };
                if autostart_error.is_none() || !applied.saved.is_empty() {
                    self.imp().toast_overlay.add_toast(adw::Toast::new(&toast));
                }
                self.reload(None);
            }
            Ok(Err(ApplyError::Conflict(outside))) => self.conflicted(outside, edited),
            Ok(Err(ApplyError::Edit(error))) => {
                self.show_notice(Some(&error.to_string()));
                self.update_buttons();
            }
            Ok(Err(ApplyError::Host(error))) | Err(error) => {
                self.show_notice(Some(&error.user_message()));
                self.update_buttons();
            }
        }
    }

    /// Someone else changed a field the user edited: say so, show their values for those
    /// fields and keep the user's other edits.
    fn conflicted(&self, outside: OutsideChanges, edited: DomainModel) {
        self.show_notice(Some(&changed_elsewhere_notice()));
        self.reload(Some((edited, outside.conflicts)));
    }

    fn open_console(&self) {
        let app = self
            .application()
            .and_downcast::<crate::application::Application>();
        if let (Some(app), Some(domain)) = (app, self.domain()) {
            app.open_console(&domain);
        }
    }
}

/// The name osinfo-db gives the OS id the wizard wrote, such as "Fedora Linux 39".
fn os_name(id: &str) -> Option<String> {
    static CATALOG: OnceLock<Vec<OsEntry>> = OnceLock::new();
    CATALOG
        .get_or_init(|| osinfo::load_catalog(&osinfo::system_db_dir()))
        .iter()
        .find(|entry| entry.id == id)
        .map(|entry| entry.name.clone())
}

/// Shows `domain`'s details page: its open window, or a new one.
pub fn present_for(app: &impl IsA<gtk::Application>, domain: &Domain) {
    let existing = app
        .as_ref()
        .windows()
        .into_iter()
        .filter_map(|window| window.downcast::<DomainPage>().ok())
        .find(|page| {
            page.domain()
                .is_some_and(|shown| shown.uuid() == domain.uuid())
        });
    let page = existing.unwrap_or_else(|| DomainPage::new(app, domain));
    GtkWindowExt::present(&page);
}
