//! Adds a host or edits a saved one: the form, its checks as the user types, and the address
//! it makes. The dialog hands back what was typed; saving it is the caller's job.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gdk, gio, glib};

use crate::backend::connection_form::{ConnectionForm, Field, FieldError, Hypervisor, Transport};
use crate::backend::password::Password;
use crate::backend::store::{new_connection_id, SavedConnection};
use crate::backend::uri;
use crate::i18n::gettext_f;

use super::password_entry::take_password;
use super::wizard_form::mark_invalid;

/// What the user confirmed with Add or Save.
#[derive(Debug, Clone)]
pub struct ConnectionResult {
    pub saved: SavedConnection,
    /// The password as typed, if one was; the dialog itself never stores it.
    pub password: Option<Password>,
    pub remember_password: bool,
}

type DoneHandler = Rc<dyn Fn(&ConnectionDialog, ConnectionResult)>;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/connection_dialog.ui")]
    pub struct ConnectionDialog {
        #[template_child]
        pub(super) save_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) hypervisor_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) transport_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) host_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) port_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) keyfile_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) keyfile_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) custom_uri_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) host_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) login_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) username_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) password_row: TemplateChild<adw::PasswordEntryRow>,
        #[template_child]
        pub(super) remember_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) remember_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) login_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) shown_as_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) name_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) autoconnect_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) name_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) address_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) warning_row: TemplateChild<adw::ActionRow>,
        /// The saved connection's id when editing; adding makes a new one.
        pub(super) existing_id: RefCell<Option<String>>,
        /// Fields the user has changed: problems show only there, so a new form is not all red.
        pub(super) touched: RefCell<HashSet<Field>>,
        /// True while the dialog fills the fields itself, which is not the user touching them.
        pub(super) filling: Cell<bool>,
        pub(super) done_handlers: RefCell<Vec<DoneHandler>>,
        /// Kept alive until it answers; a native chooser is not owned by any widget.
        pub(super) key_chooser: RefCell<Option<gtk::FileChooserNative>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ConnectionDialog {
        const NAME: &'static str = "HangarConnectionDialog";
        type Type = super::ConnectionDialog;
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

    impl ObjectImpl for ConnectionDialog {
        fn constructed(&self) {
            self.parent_constructed();
            let dialog = self.obj();
            dialog.set_default_widget(Some(&*self.save_button));
            dialog.connect_form_signals();
            dialog.refresh();
            crate::ui::a11y::name_controls(&*dialog);
        }
    }

    impl WidgetImpl for ConnectionDialog {}
    impl WindowImpl for ConnectionDialog {}
    impl AdwWindowImpl for ConnectionDialog {}
}

glib::wrapper! {
    pub struct ConnectionDialog(ObjectSubclass<imp::ConnectionDialog>)
        @extends gtk::Widget, gtk::Window, adw::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl ConnectionDialog {
    /// A dialog adding a host, or editing `existing`. Call `present()` to show it.
    pub fn new(parent: &impl IsA<gtk::Window>, existing: Option<&SavedConnection>) -> Self {
        let dialog: Self = glib::Object::new();
        dialog.set_transient_for(Some(parent));
        match existing {
            Some(saved) => dialog.edit(saved),
            None => dialog.add(),
        }
        dialog
    }

    /// Calls `f` when the user confirms; the dialog closes right after.
    pub fn connect_done<F: Fn(&Self, ConnectionResult) + 'static>(&self, f: F) {
        self.imp().done_handlers.borrow_mut().push(Rc::new(f));
    }

    fn add(&self) {
        self.fill(&ConnectionForm::default());
        GtkWindowExt::set_focus(self, Some(&*self.imp().host_row));
    }

    fn edit(&self, saved: &SavedConnection) {
        let imp = self.imp();
        self.set_title(Some(&gettext("Edit Host")));
        imp.save_button.set_label(&gettext("Save"));
        imp.existing_id.replace(Some(saved.id.clone()));
        self.fill(&ConnectionForm::from_saved(saved));
        // What was saved is the user's own input: show any problem in it at once.
        imp.touched.replace(
            self.field_rows()
                .into_iter()
                .map(|(field, _)| field)
                .collect(),
        );
        self.refresh();
    }

    /// The rows whose text is one form field, with that field.
    fn field_rows(&self) -> [(Field, adw::EntryRow); 6] {
        let imp = self.imp();
        [
            (Field::Host, imp.host_row.get()),
            (Field::Port, imp.port_row.get()),
            (Field::KeyFile, imp.keyfile_row.get()),
            (Field::CustomUri, imp.custom_uri_row.get()),
            (Field::Username, imp.username_row.get()),
            (Field::Name, imp.name_row.get()),
        ]
    }

    /// The label under each field's group, where that field's problems are written.
    fn error_label(&self, field: Field) -> gtk::Label {
        let imp = self.imp();
        match field {
            Field::Host | Field::Port | Field::KeyFile | Field::CustomUri => imp.host_errors.get(),
            Field::Username => imp.login_errors.get(),
            Field::Name => imp.name_errors.get(),
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
        for row in [&*imp.hypervisor_row, &*imp.transport_row] {
            row.connect_selected_notify(glib::clone!(
                #[weak(rename_to = dialog)]
                self,
                move |_| dialog.refresh()
            ));
        }
        imp.save_button.connect_clicked(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.confirm()
        ));
        imp.keyfile_button.connect_clicked(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.choose_key_file()
        ));
    }

    fn field_changed(&self, field: Field) {
        if !self.imp().filling.get() {
            self.imp().touched.borrow_mut().insert(field);
        }
        self.refresh();
    }

    /// The form as the widgets show it now.
    fn read(&self) -> ConnectionForm {
        let imp = self.imp();
        let chosen = |row: &adw::ComboRow| row.selected() as usize;
        ConnectionForm {
            hypervisor: Hypervisor::ALL
                .get(chosen(&imp.hypervisor_row))
                .copied()
                .unwrap_or_default(),
            transport: Transport::ALL
                .get(chosen(&imp.transport_row))
                .copied()
                .unwrap_or_default(),
            host: imp.host_row.text().into(),
            port: imp.port_row.text().into(),
            username: imp.username_row.text().into(),
            ssh_keyfile: imp.keyfile_row.text().into(),
            custom_uri: imp.custom_uri_row.text().into(),
            name: imp.name_row.text().into(),
            autoconnect: imp.autoconnect_switch.is_active(),
            remember_password: imp.remember_switch.is_active(),
        }
    }

    fn fill(&self, form: &ConnectionForm) {
        let imp = self.imp();
        imp.filling.set(true);
        let position = |found: Option<usize>| found.unwrap_or(0) as u32;
        imp.hypervisor_row.set_selected(position(
            Hypervisor::ALL.iter().position(|h| *h == form.hypervisor),
        ));
        imp.transport_row.set_selected(position(
            Transport::ALL.iter().position(|t| *t == form.transport),
        ));
        imp.host_row.set_text(&form.host);
        imp.port_row.set_text(&form.port);
        imp.username_row.set_text(&form.username);
        imp.keyfile_row.set_text(&form.ssh_keyfile);
        imp.custom_uri_row.set_text(&form.custom_uri);
        imp.name_row.set_text(&form.name);
        imp.autoconnect_switch.set_active(form.autoconnect);
        imp.remember_switch.set_active(form.remember_password);
        imp.filling.set(false);
        self.refresh();
    }

    /// Brings every row, message and the Add button in line with the form.
    fn refresh(&self) {
        let form = self.read();
        let errors = form.errors();
        self.show_relevant_rows(&form);
        self.show_errors(&errors);
        self.show_address(&form);
        self.show_warning(form.security_warning());
        self.imp().save_button.set_sensitive(errors.is_empty());
    }

    fn show_relevant_rows(&self, form: &ConnectionForm) {
        let imp = self.imp();
        let transport = form.transport;
        imp.hypervisor_row
            .set_visible(transport != Transport::Custom);
        imp.host_row.set_visible(transport.is_remote());
        imp.port_row.set_visible(transport.is_remote());
        imp.keyfile_row.set_visible(transport == Transport::Ssh);
        imp.custom_uri_row
            .set_visible(transport == Transport::Custom);
        imp.login_group.set_visible(form.uses_login());
        imp.password_row.set_visible(form.uses_password());
        imp.remember_row.set_visible(form.uses_password());
        let port_hint = transport.default_port().map(|port| {
            gettext_f(
                "Leave empty to use port {port}.",
                &[("port", &port.to_string())],
            )
        });
        imp.port_row.set_tooltip_text(port_hint.as_deref());
    }

    /// Marks touched rows with a problem and writes the reasons under their groups.
    fn show_errors(&self, errors: &[FieldError]) {
        let touched = self.imp().touched.borrow();
        let shown: Vec<&FieldError> = errors
            .iter()
            .filter(|error| touched.contains(&error.field))
            .collect();
        for (field, row) in self.field_rows() {
            let is_bad = shown.iter().any(|error| error.field == field);
            mark_invalid(&row, is_bad);
        }
        let imp = self.imp();
        for label in [&*imp.host_errors, &*imp.login_errors, &*imp.name_errors] {
            let text = shown
                .iter()
                .filter(|error| self.error_label(error.field) == *label)
                .map(|error| error.message.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            label.set_label(&text);
            label.set_visible(!text.is_empty());
        }
    }

    fn show_address(&self, form: &ConnectionForm) {
        let imp = self.imp();
        let label = &*imp.address_label;
        let address = form.uri();
        match &address {
            Ok(uri) => {
                label.set_label(uri);
                label.remove_css_class("dim-label");
            }
            Err(_) => {
                label.set_label(&gettext("Not complete yet"));
                label.add_css_class("dim-label");
            }
        }
        let name_hint = match address {
            Ok(uri) if form.name.trim().is_empty() => Some(gettext_f(
                "Leave the name empty to show “{name}”.",
                &[("name", &uri::display_name(&uri))],
            )),
            _ => None,
        };
        imp.shown_as_group.set_description(name_hint.as_deref());
    }

    fn show_warning(&self, warning: Option<String>) {
        let row = &*self.imp().warning_row;
        row.set_visible(warning.is_some());
        row.set_title(warning.as_deref().unwrap_or_default());
    }

    fn confirm(&self) {
        let form = self.read();
        let id = self
            .imp()
            .existing_id
            .borrow()
            .clone()
            .unwrap_or_else(new_connection_id);
        match form.to_saved(id) {
            Ok(saved) => {
                let result = ConnectionResult {
                    password: self.typed_password(&form),
                    remember_password: saved.remember_password,
                    saved,
                };
                self.emit_done(result);
                GtkWindowExt::close(self);
            }
            Err(errors) => {
                // Only reachable if Add was pressed before the last change: show everything.
                self.imp()
                    .touched
                    .borrow_mut()
                    .extend(errors.iter().map(|error| error.field));
                self.refresh();
            }
        }
    }

    fn typed_password(&self, form: &ConnectionForm) -> Option<Password> {
        let password = take_password(&*self.imp().password_row).non_empty()?;
        form.uses_password().then_some(password)
    }

    fn emit_done(&self, result: ConnectionResult) {
        // Cloned out, so a handler may add handlers or close the dialog without a borrow panic.
        let handlers = self.imp().done_handlers.borrow().clone();
        for handler in handlers {
            handler(self, result.clone());
        }
    }

    fn choose_key_file(&self) {
        let chooser = gtk::FileChooserNative::new(
            Some(&gettext("Choose SSH Key File")),
            Some(self),
            gtk::FileChooserAction::Open,
            Some(&gettext("_Open")),
            Some(&gettext("_Cancel")),
        );
        chooser.set_modal(true);
        let ssh_folder = glib::home_dir().join(".ssh");
        if ssh_folder.is_dir() {
            // Only a starting point: the chooser still opens if the folder cannot be shown.
            let _ = chooser.set_current_folder(Some(&gio::File::for_path(ssh_folder)));
        }
        chooser.connect_response(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |chooser, response| {
                let path = chooser.file().and_then(|file| file.path());
                if let (gtk::ResponseType::Accept, Some(path)) = (response, path) {
                    dialog.imp().keyfile_row.set_text(&path.to_string_lossy());
                }
                dialog.imp().key_chooser.take();
            }
        ));
        chooser.show();
        self.imp().key_chooser.replace(Some(chooser));
    }
}
