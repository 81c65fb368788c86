//! A virtual machine's details page, a window of its own one click from its console: its
//! sections (Overview, Performance, CPU and Memory, Boot, Display, XML) down the side, one
//! file each, with Apply and Revert for the whole page. Nothing is written before Apply; the
//! writing (re-read, conflict check, saved config, then live) is `backend::domain::apply`,
//! run on the host's worker. The XML section saves on its own, after showing the diff.

mod boot;
mod cpu_memory;
mod display;
mod overview;
mod performance;
mod xml;

use std::cell::RefCell;
use std::sync::OnceLock;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::domain::apply::{self, Applied, ApplyError};
use crate::backend::domain::capabilities::{domain_capabilities, emulator_of, DomainCapabilities};
use crate::backend::domain::conflict::OutsideChanges;
use crate::backend::domain::fields::{changed_fields, pending_after_shutdown, Field};
use crate::backend::domain::model::DomainModel;
use crate::backend::error::BackendError;
use crate::backend::osinfo::{self, OsEntry};
use crate::i18n::gettext_f;
use crate::model::domain::state_label;
use crate::model::Domain;
use boot::BootSection;
use cpu_memory::CpuMemorySection;
use display::DisplaySection;
use overview::OverviewSection;
use performance::PerformanceSection;
use xml::XmlSection;

/// The domain as read from its host: the saved config the page edits, and the running
/// machine's XML when it runs.
struct Reading {
    config_xml: String,
    live_xml: Option<String>,
    /// Whether `live_xml` carries secrets (the VNC password) as the config does.
    live_secure: bool,
    /// What the host offers this domain; `None` where the driver cannot say (test://).
    capabilities: Option<DomainCapabilities>,
}

/// What every section shows: the saved config (with the user's kept edits), the running
/// machine, the host's choices and what the page knows beside the XML.
pub struct Shown<'a> {
    pub model: &'a DomainModel,
    /// The running machine's XML read into the model; `None` while shut off.
    pub live: Option<&'a DomainModel>,
    pub capabilities: Option<&'a DomainCapabilities>,
    /// The run state as the list shows it ("Running").
    pub state: String,
    /// The OS's name from osinfo-db, from the id the wizard wrote.
    pub os_name: Option<String>,
}

/// What the page was opened with (or last re-read): the base edits are compared to.
struct Opened {
    xml: String,
    model: DomainModel,
    live: Option<DomainModel>,
    capabilities: Option<DomainCapabilities>,
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
        pub(super) sidebar: TemplateChild<gtk::StackSidebar>,
        #[template_child]
        pub(super) loading_status: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) overview: TemplateChild<OverviewSection>,
        #[template_child]
        pub(super) performance: TemplateChild<PerformanceSection>,
        #[template_child]
        pub(super) cpu_memory: TemplateChild<CpuMemorySection>,
        #[template_child]
        pub(super) boot: TemplateChild<BootSection>,
        #[template_child]
        pub(super) display: TemplateChild<DisplaySection>,
        #[template_child]
        pub(super) xml: TemplateChild<XmlSection>,
        pub(super) domain: RefCell<Option<Domain>>,
        pub(super) opened: RefCell<Option<Opened>>,
        /// The page follows its domain's state; disconnected when the page goes, as the
        /// domain outlives it.
        pub(super) state_handler: RefCell<Option<glib::SignalHandlerId>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DomainPage {
        const NAME: &'static str = "HangarDomainPage";
        type Type = super::DomainPage;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            OverviewSection::ensure_type();
            PerformanceSection::ensure_type();
            CpuMemorySection::ensure_type();
            BootSection::ensure_type();
            DisplaySection::ensure_type();
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
                move |domain, _| page.imp().overview.show_state(&domain.state_label())
            ),
        );
        page.imp().state_handler.replace(Some(handler));
        GtkWindowExt::set_title(
            &page,
            Some(&gettext_f("{name} — Details", &[("name", &domain.name())])),
        );
        page.imp().window_title.set_title(&domain.name());
        page.imp().window_title.set_subtitle(&gettext("Details"));
        page.imp().performance.follow(domain);
        page.imp().xml.set_domain(domain);
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
        imp.xml.connect_saved(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move || page.reload(None)
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
        name_sidebar_rows(&imp.sidebar);
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

    fn update_buttons(&self) {
        let dirty = !self.edited_fields().is_empty();
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

    fn show_reading(
        &self,
        reading: Result<Reading, BackendError>,
        keep: Option<(DomainModel, Vec<Field>)>,
    ) {
        let imp = self.imp();
        let parsed = reading.and_then(|reading| {
            let model = DomainModel::from_xml(&reading.config_xml).map_err(|error| {
                BackendError::new(
                    crate::backend::error::ErrorKind::InvalidInput,
                    error.to_string(),
                )
            })?;
            let live = reading
                .live_xml
                .as_deref()
                .and_then(|xml| DomainModel::from_xml(xml).ok());
            Ok((reading, model, live))
        });
        let (reading, model, live) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                imp.loading_status
                    .set_title(&gettext("Cannot read the virtual machine"));
                imp.loading_status
                    .set_description(Some(&error.user_message()));
                imp.stack.set_visible_child_name("loading");
                return;
            }
        };
        let mut shown = model.clone();
        if let Some((edited, conflicts)) = keep {
            for field in changed_fields(&model, &edited) {
                if !conflicts.contains(&field) {
                    copy_field(field, &edited, &mut shown);
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
        imp.opened.replace(Some(Opened {
            xml: reading.config_xml,
            model,
            live,
            capabilities: reading.capabilities,
        }));
        self.show_model(&shown);
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
        self.imp().apply_button.set_sensitive(false);
        self.show_notice(None);
        let job_edited = edited.clone();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = page)]
            self,
            async move {
                let result = host
                    .run(move |session| Ok(apply::apply(session, &uuid, &opened_xml, &job_edited)))
                    .await;
                page.applied(result, edited);
            }
        ));
    }

    fn applied(
        &self,
        result: Result<Result<Applied, ApplyError>, BackendError>,
        edited: DomainModel,
    ) {
        match result {
            Ok(Ok(applied)) => {
                let toast = if applied.live_failures.is_empty() {
                    gettext("Changes applied")
                } else {
                    gettext("Changes saved; some take effect after the virtual machine shuts down")
                };
                self.imp().toast_overlay.add_toast(adw::Toast::new(&toast));
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
        self.show_notice(Some(&gettext(
            "The virtual machine was changed elsewhere while this page was open. Its new values are shown; check them and apply again.",
        )));
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

/// GTK 4.8 leaves a stack sidebar's rows nameless: each gets the title it shows.
fn name_sidebar_rows(sidebar: &gtk::StackSidebar) {
    let mut pending = vec![sidebar.clone().upcast::<gtk::Widget>()];
    while let Some(widget) = pending.pop() {
        if let Some(row) = widget.downcast_ref::<gtk::ListBoxRow>() {
            if let Some(label) = row.child().and_downcast::<gtk::Label>() {
                crate::ui::a11y::set_label(row, &label.text());
            }
            continue;
        }
        let mut child = widget.first_child();
        while let Some(next) = child {
            child = next.next_sibling();
            pending.push(next);
        }
    }
}

/// Reads the saved config (and the live XML of a running domain) on the host's worker.
fn read_domain(
    session: &crate::backend::libvirt::session::HostSession,
    uuid: &str,
) -> Result<Reading, BackendError> {
    let config_xml = apply::read_config_xml(session, uuid)?;
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    // Secure like the config, or the VNC password would look pending when it is not.
    let (live_xml, live_secure) = if !domain.is_active()? {
        (None, true)
    } else if let Ok(xml) = domain.xml_desc(virt::sys::VIR_DOMAIN_XML_SECURE) {
        (Some(xml), true)
    } else {
        (Some(domain.xml_desc(0)?), false)
    };
    // Only the choices offered depend on it: a host that cannot say still shows the page.
    let capabilities = DomainModel::from_xml(&config_xml).ok().and_then(|model| {
        domain_capabilities(session, &model, emulator_of(&config_xml).as_deref()).ok()
    });
    Ok(Reading {
        config_xml,
        live_xml,
        live_secure,
        capabilities,
    })
}

/// Copies one edited field the page shows from `from` into `to`.
fn copy_field(field: Field, from: &DomainModel, to: &mut DomainModel) {
    match field {
        Field::Title => to.title.clone_from(&from.title),
        Field::Description => to.description.clone_from(&from.description),
        Field::Memory => to.memory_kib = from.memory_kib,
        Field::MaxMemory => to.max_memory_kib = from.max_memory_kib,
        Field::Vcpus => to.vcpus = from.vcpus,
        Field::MaxVcpus => to.max_vcpus = from.max_vcpus,
        Field::Topology => to.topology = from.topology,
        Field::CpuMode => to.cpu_mode.clone_from(&from.cpu_mode),
        Field::SharedMemory => to.shared_memory = from.shared_memory,
        Field::BootOrder => to.boot_order.clone_from(&from.boot_order),
        Field::BootMenu => to.boot_menu = from.boot_menu,
        Field::Firmware => to.firmware = from.firmware,
        Field::KernelBoot => to.kernel_boot.clone_from(&from.kernel_boot),
        Field::VncListen | Field::VncPort | Field::VncPassword | Field::VncKeymap => {
            copy_vnc_field(field, from, to)
        }
    }
}

/// Copies one VNC setting; a domain without VNC on either side has nothing to copy.
fn copy_vnc_field(field: Field, from: &DomainModel, to: &mut DomainModel) {
    let (Some(from), Some(to)) = (from.vnc.as_ref(), to.vnc.as_mut()) else {
        return;
    };
    match field {
        Field::VncListen => to.listen.clone_from(&from.listen),
        Field::VncPort => (to.autoport, to.port) = (from.autoport, from.port),
        Field::VncPassword => to.password.clone_from(&from.password),
        Field::VncKeymap => to.keymap.clone_from(&from.keymap),
        _ => {}
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
