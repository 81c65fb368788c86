//! Creates a storage pool on a host: the form with only the fields its type needs, checks as
//! the user types, the XML that will be sent, and the creation on the host's worker thread.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gdk, glib};

use super::wizard_form::{mark_invalid, show_failure, show_messages, show_xml, BusyForm};
use crate::backend::create;
use crate::backend::pool_form::{default_target_path, PoolForm, PoolType};
use crate::backend::xml::pool::{pool_xml, validate_pool, PoolField, PoolFieldError};
use crate::model::Host;

type CreatedHandler = Rc<dyn Fn(&NewPoolDialog, &str)>;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/new_pool_dialog.ui")]
    pub struct NewPoolDialog {
        #[template_child]
        pub(super) window_title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub(super) create_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) page: TemplateChild<adw::PreferencesPage>,
        #[template_child]
        pub(super) failure_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) failure_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) type_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) name_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) name_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) location_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) host_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) source_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) devices_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) target_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) location_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) build_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) build_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) start_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) autostart_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) options_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) xml_view: TemplateChild<gtk::TextView>,
        pub(super) host: RefCell<Option<Host>>,
        /// The host's pools, for the duplicate check; `None` until the host has answered.
        pub(super) existing_names: RefCell<Option<Vec<String>>>,
        /// Fields the user has changed: problems show only there, so a new form is not all red.
        pub(super) touched: RefCell<HashSet<PoolField>>,
        /// What was typed as each type's source, and the type the source row shows now: an
        /// export path typed for NFS is no volume group, but comes back on switching back.
        pub(super) sources: RefCell<HashMap<PoolType, String>>,
        pub(super) shown_type: Cell<PoolType>,
        /// Once the user edits the target path it no longer follows the name.
        pub(super) target_edited: Cell<bool>,
        /// True while the dialog fills fields itself, which is not the user touching them.
        pub(super) filling: Cell<bool>,
        /// While the host creates it, the form waits and cannot be closed.
        pub(super) busy: BusyForm,
        pub(super) created_handlers: RefCell<Vec<CreatedHandler>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for NewPoolDialog {
        const NAME: &'static str = "HangarNewPoolDialog";
        type Type = super::NewPoolDialog;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action("dialog.cancel", None, |dialog, _, _| {
                GtkWindowExt::close(dialog)
            });
            klass.add_binding_action(
                gdk::Key::Escape,
                gdk::ModifierType::empty(),
                "dialog.cancel",
            );
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for NewPoolDialog {
        fn constructed(&self) {
            self.parent_constructed();
            let dialog = self.obj();
            dialog.set_default_widget(Some(&*self.create_button));
            dialog.connect_form_signals();
            dialog.type_changed();
            GtkWindowExt::set_focus(&*dialog, Some(&*self.name_row));
            crate::ui::a11y::name_controls(&*dialog);
        }
    }

    impl WidgetImpl for NewPoolDialog {}

    impl WindowImpl for NewPoolDialog {
        // Closing while the host works would hide whether the pool was made.
        fn close_request(&self) -> glib::Propagation {
            if self.busy.is_busy() {
                return glib::Propagation::Stop;
            }
            self.parent_close_request()
        }
    }

    impl AdwWindowImpl for NewPoolDialog {}
}

glib::wrapper! {
    pub struct NewPoolDialog(ObjectSubclass<imp::NewPoolDialog>)
        @extends gtk::Widget, gtk::Window, adw::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl NewPoolDialog {
    /// A dialog creating a pool on `host`. Call `present()` to show it.
    pub fn new(parent: &impl IsA<gtk::Window>, host: &Host) -> Self {
        let dialog: Self = glib::Object::new();
        dialog.set_transient_for(Some(parent));
        dialog.imp().window_title.set_subtitle(&host.name());
        dialog.imp().host.replace(Some(host.clone()));
        dialog.load_existing_names(host);
        dialog
    }

    /// Calls `f` with the new pool's name once the host has created it; the dialog closes.
    pub fn connect_created<F: Fn(&Self, &str) + 'static>(&self, f: F) {
        self.imp().created_handlers.borrow_mut().push(Rc::new(f));
    }

    /// Asks the host for its pools once, for the duplicate check.
    fn load_existing_names(&self, host: &Host) {
        let host = host.clone();
        let dialog = self.downgrade();
        glib::spawn_future_local(async move {
            let facts = host.run(create::facts).await;
            let Some(dialog) = dialog.upgrade() else {
                return;
            };
            let names = match facts {
                Ok(facts) => facts.pools.into_iter().map(|pool| pool.name).collect(),
                Err(error) => {
                    // The host will still refuse a duplicate; say why the check is missing.
                    dialog.show_failure(&error.user_message());
                    Vec::new()
                }
            };
            dialog.imp().existing_names.replace(Some(names));
            dialog.refresh();
        });
    }

    /// The text rows, each with the field it holds.
    fn field_rows(&self) -> [(PoolField, adw::EntryRow); 5] {
        let imp = self.imp();
        [
            (PoolField::Name, imp.name_row.get()),
            (PoolField::TargetPath, imp.target_row.get()),
            (PoolField::Host, imp.host_row.get()),
            (PoolField::Source, imp.source_row.get()),
            (PoolField::Devices, imp.devices_row.get()),
        ]
    }

    /// The label under each field's group, where that field's problems are written.
    fn error_label(&self, field: PoolField) -> gtk::Label {
        let imp = self.imp();
        match field {
            PoolField::Name => imp.name_errors.get(),
            PoolField::TargetPath | PoolField::Host | PoolField::Source | PoolField::Devices => {
                imp.location_errors.get()
            }
            PoolField::Build => imp.options_errors.get(),
        }
    }

    fn connect_form_signals(&self) {
        let imp = self.imp();
        for (field, row) in self.field_rows() {
            row.connect_changed(glib::clone!(
                #[weak(rename_to = dialog)]
                self,
                move |_| dialog.field_changed(field)
            ));
        }
        imp.type_row.connect_selected_notify(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.type_changed()
        ));
        imp.build_switch.connect_active_notify(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.refresh()
        ));
        imp.create_button.connect_clicked(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.create()
        ));
    }

    fn field_changed(&self, field: PoolField) {
        let imp = self.imp();
        if !imp.filling.get() {
            imp.touched.borrow_mut().insert(field);
            match field {
                PoolField::Name => self.follow_name(),
                PoolField::TargetPath => imp.target_edited.set(true),
                _ => {}
            }
        }
        self.refresh();
    }

    /// Keeps the default target path in step with the name until the user edits it.
    fn follow_name(&self) {
        let imp = self.imp();
        if imp.target_edited.get() {
            return;
        }
        imp.filling.set(true);
        imp.target_row
            .set_text(&default_target_path(&imp.name_row.text()));
        imp.filling.set(false);
    }

    fn pool_type(&self) -> PoolType {
        let chosen = self.imp().type_row.selected() as usize;
        PoolType::ALL.get(chosen).copied().unwrap_or_default()
    }

    fn type_changed(&self) {
        let imp = self.imp();
        let pool_type = self.pool_type();
        self.swap_source(pool_type);
        imp.build_switch.set_active(pool_type.builds_by_default());
        self.show_relevant_rows(pool_type);
        if !imp.target_edited.get() {
            self.follow_name();
        }
        self.refresh();
    }

    /// Puts away the source typed for the previous type and brings back this type's.
    fn swap_source(&self, pool_type: PoolType) {
        let imp = self.imp();
        let previous = imp.shown_type.replace(pool_type);
        if previous == pool_type {
            return;
        }
        let restored = {
            let mut sources = imp.sources.borrow_mut();
            sources.insert(previous, imp.source_row.text().into());
            sources.get(&pool_type).cloned().unwrap_or_default()
        };
        imp.filling.set(true);
        imp.source_row.set_text(&restored);
        imp.filling.set(false);
        // An empty source the user has not typed in yet is not a problem to show.
        let mut touched = imp.touched.borrow_mut();
        if restored.is_empty() {
            touched.remove(&PoolField::Source);
        } else {
            touched.insert(PoolField::Source);
        }
    }

    fn show_relevant_rows(&self, pool_type: PoolType) {
        let imp = self.imp();
        imp.target_row.set_visible(pool_type.has_target_path());
        imp.host_row.set_visible(pool_type.has_host());
        imp.source_row.set_visible(pool_type.has_source());
        imp.devices_row.set_visible(pool_type.has_devices());
        imp.build_row.set_visible(pool_type.can_build());
        let (source_title, target_title) = match pool_type {
            PoolType::Netfs => (gettext("Export path"), gettext("Mount point")),
            PoolType::Logical => (gettext("Volume group"), String::new()),
            PoolType::Iscsi => (gettext("Target IQN"), String::new()),
            PoolType::Disk => (gettext("Device"), String::new()),
            PoolType::Dir => (String::new(), gettext("Directory")),
        };
        imp.source_row.set_title(&source_title);
        imp.target_row.set_title(&target_title);
        imp.build_row.set_subtitle(&build_explanation(pool_type));
        let hint = pool_type
            .has_devices()
            .then(|| gettext("Separate the devices with commas or spaces."));
        imp.location_group.set_description(hint.as_deref());
    }

    /// The form as the widgets show it now.
    fn read(&self) -> PoolForm {
        let imp = self.imp();
        PoolForm {
            pool_type: self.pool_type(),
            name: imp.name_row.text().into(),
            target_path: imp.target_row.text().into(),
            host: imp.host_row.text().into(),
            source: imp.source_row.text().into(),
            devices: imp.devices_row.text().into(),
            build: imp.build_switch.is_active(),
            start: imp.start_switch.is_active(),
            autostart: imp.autostart_switch.is_active(),
        }
    }

    /// Brings the messages, the XML and the Create button in line with the form.
    fn refresh(&self) {
        let imp = self.imp();
        let spec = self.read().to_spec();
        let existing = imp.existing_names.borrow().clone();
        let errors = validate_pool(&spec, existing.as_deref().unwrap_or_default());
        self.show_errors(&errors);
        show_xml(&imp.xml_view, pool_xml(&spec).ok().as_deref());
        // Until the host has answered, a duplicate name cannot be ruled out.
        imp.create_button
            .set_sensitive(errors.is_empty() && existing.is_some());
    }

    /// Marks touched rows with a problem and writes the reasons under their groups.
    fn show_errors(&self, errors: &[PoolFieldError]) {
        let imp = self.imp();
        let touched = imp.touched.borrow();
        // A switch's problem is shown at once: it is there because of what the user chose.
        let shown: Vec<&PoolFieldError> = errors
            .iter()
            .filter(|error| error.field == PoolField::Build || touched.contains(&error.field))
            .collect();
        for (field, row) in self.field_rows() {
            mark_invalid(&row, shown.iter().any(|error| error.field == field));
        }
        for label in [
            &*imp.name_errors,
            &*imp.location_errors,
            &*imp.options_errors,
        ] {
            let messages: Vec<&str> = shown
                .iter()
                .filter(|error| self.error_label(error.field) == *label)
                .map(|error| error.message.as_str())
                .collect();
            show_messages(label, &messages);
        }
    }

    fn create(&self) {
        let imp = self.imp();
        if imp.busy.is_busy() {
            return;
        }
        let spec = self.read().to_spec();
        let existing = imp.existing_names.borrow().clone().unwrap_or_default();
        let errors = validate_pool(&spec, &existing);
        let (Ok(xml), true) = (pool_xml(&spec), errors.is_empty()) else {
            // Only reachable if Create was pressed before the last change: show everything.
            imp.touched
                .borrow_mut()
                .extend(errors.iter().map(|error| error.field));
            self.refresh();
            return;
        };
        let Some(host) = imp.host.borrow().clone() else {
            return;
        };
        self.set_busy(true);
        let dialog = self.downgrade();
        glib::spawn_future_local(async move {
            let (build, start, autostart) = (spec.build, spec.start, spec.autostart);
            let result = host
                .run(move |session| create::create_pool(session, &xml, build, start, autostart))
                .await;
            let Some(dialog) = dialog.upgrade() else {
                return;
            };
            dialog.set_busy(false);
            match result {
                Ok(()) => dialog.finish(&spec.name),
                Err(error) => dialog.show_failure(&error.user_message()),
            }
        });
    }

    fn set_busy(&self, busy: bool) {
        if busy {
            self.show_failure("");
        }
        let imp = self.imp();
        imp.busy.set(self, &*imp.page, &imp.create_button, busy);
    }

    fn show_failure(&self, message: &str) {
        let imp = self.imp();
        show_failure(&imp.failure_group, &imp.failure_row, message);
    }

    fn finish(&self, name: &str) {
        // Cloned out, so a handler may add handlers or close the dialog without a borrow panic.
        let handlers = self.imp().created_handlers.borrow().clone();
        for handler in handlers {
            handler(self, name);
        }
        GtkWindowExt::close(self);
    }
}

/// What the Build switch does for this type, in the user's terms.
fn build_explanation(pool_type: PoolType) -> String {
    match pool_type {
        PoolType::Dir => gettext("Create the directory if it is missing"),
        PoolType::Netfs => gettext("Create the mount point if it is missing"),
        PoolType::Logical => gettext("Make a new volume group on the devices, erasing them"),
        PoolType::Disk => gettext("Write a new partition table, erasing the disk"),
        PoolType::Iscsi => String::new(),
    }
}
