//! Creates a virtual machine on a host, page by page: where the system comes from, which
//! system it is, memory and processors, the disk, name and devices, then a review with the
//! XML. The answers live in a `NewVmForm`; every libvirt call runs on the host's worker.

mod fields;
mod network;
mod review;
mod source;
mod system;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gdk, gio, glib};

use crate::backend::create::{self, CreationFacts};
use crate::backend::new_vm_form::{host_limits, NetworkKind, NewVmForm, WizardPage};
use crate::backend::osinfo::{self, IsoIdentity, OsEntry};
use crate::backend::xml::domain::VmField;
use crate::i18n::gettext_f;
use crate::model::Host;

type CreatedHandler = Rc<dyn Fn(&NewVmWizard, &str)>;

/// osinfo-db, read once per run: a few hundred files.
static CATALOG: OnceLock<Arc<Vec<OsEntry>>> = OnceLock::new();

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/new_vm_wizard.ui")]
    pub struct NewVmWizard {
        #[template_child]
        pub(super) window_title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub(super) cancel_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) back_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) next_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) create_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub(super) failed_page: TemplateChild<adw::StatusPage>,
        // 1. Install from
        #[template_child]
        pub(super) source_pool_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) source_local_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) source_url_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) source_import_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) source_pxe_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) pool_iso_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) iso_pool_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) iso_volume_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) local_iso_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) local_iso_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) choose_iso_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) upload_pool_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) url_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) url_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) import_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) import_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) source_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) source_note: TemplateChild<gtk::Label>,
        // 2. Operating system
        #[template_child]
        pub(super) chosen_os_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) os_search: TemplateChild<gtk::SearchEntry>,
        #[template_child]
        pub(super) os_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub(super) os_more_label: TemplateChild<gtk::Label>,
        // 3. Memory and processors
        #[template_child]
        pub(super) resources_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) memory_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) memory_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) vcpus_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) vcpus_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) resources_errors: TemplateChild<gtk::Label>,
        // 4. Storage
        #[template_child]
        pub(super) disk_choice_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) disk_new_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) disk_existing_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) disk_none_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) new_disk_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) disk_size_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) disk_size_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) disk_pool_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) existing_disk_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) existing_disk_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) storage_errors: TemplateChild<gtk::Label>,
        // 5. Name, network, firmware, console
        #[template_child]
        pub(super) name_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) name_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) network_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) network_device_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) network_stopped_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) start_network_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) network_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) firmware_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) domain_type_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) vnc_listen_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) vnc_password_row: TemplateChild<adw::PasswordEntryRow>,
        #[template_child]
        pub(super) console_errors: TemplateChild<gtk::Label>,
        // 6. Review
        #[template_child]
        pub(super) failure_group: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub(super) failure_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) upload_group: TemplateChild<gtk::Box>,
        #[template_child]
        pub(super) upload_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) cancel_upload_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) upload_progress: TemplateChild<gtk::ProgressBar>,
        #[template_child]
        pub(super) summary_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) start_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) reset_xml_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) xml_view: TemplateChild<gtk::TextView>,

        pub(super) host: RefCell<Option<Host>>,
        pub(super) facts: RefCell<Option<CreationFacts>>,
        pub(super) catalog: RefCell<Option<Arc<Vec<OsEntry>>>>,
        /// Every answer; the widgets are read into it on each change.
        pub(super) form: RefCell<NewVmForm>,
        pub(super) page: Cell<Option<WizardPage>>,
        /// Fields the user has typed in: “enter something” problems wait for them.
        pub(super) touched: RefCell<HashSet<VmField>>,
        /// True while the wizard sets widgets itself, which is not the user changing them.
        pub(super) filling: Cell<bool>,
        pub(super) refreshing: Cell<bool>,
        /// The name the wizard suggested; replaced when the system changes, unless edited.
        pub(super) suggested_name: RefCell<String>,
        /// The ISO identifiers the system was last detected from.
        pub(super) detected_iso: RefCell<Option<IsoIdentity>>,
        /// What the chosen system row says about where the choice came from.
        pub(super) os_note: RefCell<String>,
        /// The network row's choices, in its order.
        pub(super) network_choices: RefCell<Vec<(NetworkKind, String)>>,
        pub(super) summary_rows: RefCell<Vec<adw::ActionRow>>,
        /// The XML was edited by the user and is what gets defined.
        pub(super) xml_edited: Cell<bool>,
        /// Set while the host creates the machine; stops an upload when set to true.
        pub(super) busy: RefCell<Option<Arc<AtomicBool>>>,
        /// The upload job Create started, while it runs.
        pub(super) upload_job: RefCell<Option<crate::model::JobItem>>,
        /// Each local file check gets a number; a late answer for an older one is dropped.
        pub(super) iso_check_serial: Cell<u64>,
        /// Kept alive until it answers; a native chooser is not owned by any widget.
        pub(super) chooser: RefCell<Option<gtk::FileChooserNative>>,
        pub(super) created_handlers: RefCell<Vec<CreatedHandler>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for NewVmWizard {
        const NAME: &'static str = "HangarNewVmWizard";
        type Type = super::NewVmWizard;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action("wizard.cancel", None, |wizard, _, _| {
                GtkWindowExt::close(wizard)
            });
            klass.add_binding_action(
                gdk::Key::Escape,
                gdk::ModifierType::empty(),
                "wizard.cancel",
            );
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for NewVmWizard {
        fn constructed(&self) {
            self.parent_constructed();
            let wizard = self.obj();
            wizard.connect_navigation();
            wizard.connect_field_signals();
            wizard.connect_source_signals();
            wizard.connect_system_signals();
            wizard.connect_network_signals();
            wizard.connect_review_signals();
            crate::ui::a11y::name_controls(&*wizard);
        }
    }

    impl WidgetImpl for NewVmWizard {}

    impl WindowImpl for NewVmWizard {
        fn close_request(&self) -> glib::Propagation {
            // While the host works, closing would leave its result unseen: stop an upload
            // instead, and let the failure show.
            if let Some(cancelled) = self.busy.borrow().as_ref() {
                cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                if let Some(job) = self.upload_job.borrow().as_ref() {
                    job.cancel();
                }
                return glib::Propagation::Stop;
            }
            self.parent_close_request()
        }
    }

    impl AdwWindowImpl for NewVmWizard {}
}

glib::wrapper! {
    pub struct NewVmWizard(ObjectSubclass<imp::NewVmWizard>)
        @extends gtk::Widget, gtk::Window, adw::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl NewVmWizard {
    /// A wizard creating a machine on `host`, which must be connected. Call `present()`.
    pub fn new(parent: &impl IsA<gtk::Window>, host: &Host) -> Self {
        let wizard: Self = glib::Object::new();
        wizard.set_transient_for(Some(parent));
        wizard.imp().host.replace(Some(host.clone()));
        wizard.set_title(Some(&gettext_f(
            "New Virtual Machine on {host}",
            &[("host", &host.name())],
        )));
        wizard.load();
        wizard
    }

    /// Calls `f` with the new machine's UUID once it is created; the wizard closes then.
    pub fn connect_created<F: Fn(&Self, &str) + 'static>(&self, f: F) {
        self.imp().created_handlers.borrow_mut().push(Rc::new(f));
    }

    fn host(&self) -> Option<Host> {
        self.imp().host.borrow().clone()
    }

    /// Asks the host for its facts and reads osinfo-db, both off the main thread.
    fn load(&self) {
        let Some(host) = self.host() else { return };
        self.imp().stack.set_visible_child_name("loading");
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            async move {
                let catalog = load_catalog().await;
                match host.run(create::facts).await {
                    Ok(facts) => wizard.start(facts, catalog),
                    Err(error) => {
                        wizard
                            .imp()
                            .failed_page
                            .set_description(Some(&error.user_message()));
                        wizard.imp().stack.set_visible_child_name("failed");
                    }
                }
            }
        ));
    }

    fn start(&self, facts: CreationFacts, catalog: Arc<Vec<OsEntry>>) {
        let imp = self.imp();
        let uri = self.host().map(|host| host.uri()).unwrap_or_default();
        let mut form = NewVmForm::for_host(&facts, &uri);
        if let Some(generic) = catalog.iter().find(|entry| entry.is_generic()) {
            form.apply_os(generic, facts.has_uefi);
        }
        imp.form.replace(form);
        imp.facts.replace(Some(facts));
        imp.catalog.replace(Some(catalog));
        self.fill_choices();
        self.fill();
        self.suggest_name();
        self.show_page(WizardPage::Source);
    }

    fn facts(&self) -> CreationFacts {
        self.imp().facts.borrow().clone().unwrap_or_default()
    }

    fn connect_navigation(&self) {
        let imp = self.imp();
        imp.next_button.connect_clicked(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| wizard.go_next()
        ));
        imp.back_button.connect_clicked(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| wizard.go_back()
        ));
        imp.create_button.connect_clicked(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| wizard.create()
        ));
    }

    fn go_next(&self) {
        let Some(page) = self.imp().page.get() else {
            return;
        };
        self.refresh();
        if !self.page_is_complete(page) {
            return;
        }
        if let Some(next) = WizardPage::ALL.get(page.index() + 1) {
            self.show_page(*next);
        }
    }

    fn go_back(&self) {
        let Some(page) = self.imp().page.get() else {
            return;
        };
        if let Some(previous) = page.index().checked_sub(1) {
            self.show_page(WizardPage::ALL[previous]);
        }
    }

    fn show_page(&self, page: WizardPage) {
        let imp = self.imp();
        match page {
            WizardPage::System => self.enter_system_page(),
            WizardPage::Review => self.enter_review_page(),
            _ => {}
        }
        imp.page.set(Some(page));
        imp.stack.set_visible_child_name(page_name(page));
        let step = gettext_f(
            "Step {number} of {count}: {page}",
            &[
                ("number", &(page.index() + 1).to_string()),
                ("count", &WizardPage::ALL.len().to_string()),
                ("page", &page_title(page)),
            ],
        );
        imp.window_title.set_subtitle(&step);
        let first = page == WizardPage::Source;
        let last = page == WizardPage::Review;
        imp.cancel_button.set_visible(first);
        imp.back_button.set_visible(!first);
        imp.next_button.set_visible(!last);
        imp.create_button.set_visible(last);
        self.set_default_widget(Some(if last {
            &*imp.create_button
        } else {
            &*imp.next_button
        }));
        self.refresh();
    }

    fn page_is_complete(&self, page: WizardPage) -> bool {
        let limits = host_limits(&self.facts());
        self.imp().form.borrow().page_is_complete(page, &limits)
    }

    /// Reads the widgets into the form, then shows what follows from it: which rows apply,
    /// the problems, and whether the page can be left.
    fn refresh(&self) {
        let imp = self.imp();
        if imp.filling.get() || imp.refreshing.replace(true) {
            return;
        }
        self.read();
        self.show_relevant_rows();
        self.show_errors();
        if let Some(page) = imp.page.get() {
            let idle = imp.busy.borrow().is_none();
            let complete = self.page_is_complete(page);
            imp.next_button.set_sensitive(complete);
            imp.create_button.set_sensitive(idle && complete);
        }
        imp.refreshing.set(false);
    }

    /// Marks the rows with a problem and writes the reasons under their groups.
    fn show_errors(&self) {
        let imp = self.imp();
        let limits = host_limits(&self.facts());
        let form = imp.form.borrow();
        let touched = imp.touched.borrow();
        let errors = form.errors(&limits);
        let shown: Vec<_> = errors
            .iter()
            .filter(|error| touched.contains(&error.field) || !form.is_blank(error.field))
            .collect();
        for (field, widgets) in self.field_widgets() {
            let is_bad = shown.iter().any(|error| error.field == field);
            for widget in widgets {
                mark_invalid(&widget, is_bad);
            }
        }
        for (label, fields) in self.error_labels() {
            let text = shown
                .iter()
                .filter(|error| fields.contains(&error.field))
                .map(|error| error.message.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            label.set_label(&text);
            label.set_visible(!text.is_empty());
        }
    }

    /// The label under each group, with the fields whose problems it shows.
    fn error_labels(&self) -> [(gtk::Label, &'static [VmField]); 6] {
        let imp = self.imp();
        [
            (imp.source_errors.get(), &[VmField::InstallSource]),
            (
                imp.resources_errors.get(),
                &[VmField::Memory, VmField::Vcpus],
            ),
            (
                imp.storage_errors.get(),
                &[VmField::Disk, VmField::DiskSize],
            ),
            (imp.name_errors.get(), &[VmField::Name, VmField::Title]),
            (imp.network_errors.get(), &[VmField::Network]),
            (
                imp.console_errors.get(),
                &[VmField::ConsoleListen, VmField::ConsolePassword],
            ),
        ]
    }

    fn emit_created(&self, uuid: &str) {
        // Cloned out, so a handler may close the wizard without a borrow panic.
        let handlers = self.imp().created_handlers.borrow().clone();
        for handler in handlers {
            handler(self, uuid);
        }
    }
}

/// osinfo-db's systems, read on a worker thread the first time.
async fn load_catalog() -> Arc<Vec<OsEntry>> {
    if let Some(catalog) = CATALOG.get() {
        return catalog.clone();
    }
    let loaded = gio::spawn_blocking(|| Arc::new(osinfo::load_catalog(&osinfo::system_db_dir())))
        .await
        .unwrap_or_else(|_| Arc::new(vec![OsEntry::generic()]));
    CATALOG.get_or_init(|| loaded).clone()
}

fn page_name(page: WizardPage) -> &'static str {
    match page {
        WizardPage::Source => "source",
        WizardPage::System => "system",
        WizardPage::Resources => "resources",
        WizardPage::Storage => "storage",
        WizardPage::Details => "details",
        WizardPage::Review => "review",
    }
}

fn page_title(page: WizardPage) -> String {
    match page {
        WizardPage::Source => gettext("Install From"),
        WizardPage::System => gettext("Operating System"),
        WizardPage::Resources => gettext("Memory and Processors"),
        WizardPage::Storage => gettext("Storage"),
        WizardPage::Details => gettext("Name and Devices"),
        WizardPage::Review => gettext("Review"),
    }
}

fn mark_invalid(widget: &gtk::Widget, is_bad: bool) {
    if is_bad {
        widget.add_css_class("error");
    } else {
        widget.remove_css_class("error");
    }
}
