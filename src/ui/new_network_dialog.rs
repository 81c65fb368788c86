//! Creates a virtual network on a host: name, mode and addresses, checked as the user types
//! against the host's other networks, the XML that will be sent, and the creation on the
//! host's worker thread. The network starts at once; the form decides only autostart.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gdk, glib};

use super::wizard_form::{mark_invalid, show_failure, show_messages, show_xml, BusyForm};
use crate::backend::create::{self, CreationFacts};
use crate::backend::network_form::{default_dhcp_range, ModeChoice, NetworkForm};
use crate::backend::xml::network::{
    network_xml, ExistingNetwork, Ipv4Config, NetworkField, NetworkFieldError,
};
use crate::model::Host;

type CreatedHandler = Rc<dyn Fn(&NewNetworkDialog, &str)>;

/// The IPv4 fields the dialog fills itself until the user types in one of them.
const IPV4_FIELDS: [NetworkField; 4] = [
    NetworkField::Ipv4Address,
    NetworkField::Ipv4Prefix,
    NetworkField::DhcpStart,
    NetworkField::DhcpEnd,
];

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/new_network_dialog.ui")]
    pub struct NewNetworkDialog {
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
        pub(super) name_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) mode_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) device_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) name_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) ipv4_address_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) ipv4_prefix_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) dhcp_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) dhcp_start_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) dhcp_end_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) ipv4_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) ipv6_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) ipv6_address_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) ipv6_prefix_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) ipv6_errors: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) autostart_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) xml_view: TemplateChild<gtk::TextView>,
        pub(super) host: RefCell<Option<Host>>,
        /// The host's networks, for the name and overlap checks; `None` until it answered.
        pub(super) existing: RefCell<Option<Vec<ExistingNetwork>>>,
        /// Fields the user has typed in. Only the name starts empty, so only its problems
        /// wait for a touch; the others also stop following the dialog's suggestions.
        pub(super) touched: RefCell<HashSet<NetworkField>>,
        /// True while the dialog fills fields itself, which is not the user touching them.
        pub(super) filling: Cell<bool>,
        /// While the host creates it, the form waits and cannot be closed.
        pub(super) busy: BusyForm,
        pub(super) created_handlers: RefCell<Vec<CreatedHandler>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for NewNetworkDialog {
        const NAME: &'static str = "HangarNewNetworkDialog";
        type Type = super::NewNetworkDialog;
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

    impl ObjectImpl for NewNetworkDialog {
        fn constructed(&self) {
            self.parent_constructed();
            let dialog = self.obj();
            dialog.set_default_widget(Some(&*self.create_button));
            dialog.fill(&NetworkForm::default());
            dialog.connect_form_signals();
            dialog.refresh();
            GtkWindowExt::set_focus(&*dialog, Some(&*self.name_row));
            crate::ui::a11y::name_controls(&*dialog);
        }
    }

    impl WidgetImpl for NewNetworkDialog {}

    impl WindowImpl for NewNetworkDialog {
        // Closing while the host works would hide whether the network was made.
        fn close_request(&self) -> glib::Propagation {
            if self.busy.is_busy() {
                return glib::Propagation::Stop;
            }
            self.parent_close_request()
        }
    }

    impl AdwWindowImpl for NewNetworkDialog {}
}

glib::wrapper! {
    pub struct NewNetworkDialog(ObjectSubclass<imp::NewNetworkDialog>)
        @extends gtk::Widget, gtk::Window, adw::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl NewNetworkDialog {
    /// A dialog creating a network on `host`. Call `present()` to show it.
    pub fn new(parent: &impl IsA<gtk::Window>, host: &Host) -> Self {
        let dialog: Self = glib::Object::new();
        dialog.set_transient_for(Some(parent));
        dialog.imp().window_title.set_subtitle(&host.name());
        dialog.imp().host.replace(Some(host.clone()));
        dialog.load_existing(host);
        dialog
    }

    /// Calls `f` with the new network's name once the host has created it; the dialog closes.
    pub fn connect_created<F: Fn(&Self, &str) + 'static>(&self, f: F) {
        self.imp().created_handlers.borrow_mut().push(Rc::new(f));
    }

    /// Asks the host for its networks once: for the checks, and a subnet clear of them.
    fn load_existing(&self, host: &Host) {
        let host = host.clone();
        let dialog = self.downgrade();
        glib::spawn_future_local(async move {
            let facts = host.run(create::facts).await;
            let Some(dialog) = dialog.upgrade() else {
                return;
            };
            match facts {
                Ok(facts) => dialog.use_facts(&facts),
                Err(error) => {
                    // The host will still refuse a clash; say why the checks are missing.
                    dialog.show_failure(&error.user_message());
                    dialog.imp().existing.replace(Some(Vec::new()));
                }
            }
            dialog.refresh();
        });
    }

    fn use_facts(&self, facts: &CreationFacts) {
        let imp = self.imp();
        let untouched = {
            let touched = imp.touched.borrow();
            IPV4_FIELDS.iter().all(|field| !touched.contains(field))
        };
        if untouched {
            let taken: Vec<_> = facts.networks.iter().filter_map(|net| net.subnet).collect();
            let mut form = self.read();
            form.set_ipv4(&Ipv4Config::suggested(&taken));
            self.fill(&form);
        }
        imp.existing.replace(Some(facts.existing_networks()));
    }

    /// The text rows, each with the field it holds.
    fn field_rows(&self) -> [(NetworkField, adw::EntryRow); 8] {
        let imp = self.imp();
        [
            (NetworkField::Name, imp.name_row.get()),
            (NetworkField::Device, imp.device_row.get()),
            (NetworkField::Ipv4Address, imp.ipv4_address_row.get()),
            (NetworkField::Ipv4Prefix, imp.ipv4_prefix_row.get()),
            (NetworkField::DhcpStart, imp.dhcp_start_row.get()),
            (NetworkField::DhcpEnd, imp.dhcp_end_row.get()),
            (NetworkField::Ipv6Address, imp.ipv6_address_row.get()),
            (NetworkField::Ipv6Prefix, imp.ipv6_prefix_row.get()),
        ]
    }

    /// The label under each field's group, where that field's problems are written.
    fn error_label(&self, field: NetworkField) -> gtk::Label {
        let imp = self.imp();
        match field {
            NetworkField::Name | NetworkField::Device => imp.name_errors.get(),
            NetworkField::Ipv4Address
            | NetworkField::Ipv4Prefix
            | NetworkField::DhcpStart
            | NetworkField::DhcpEnd => imp.ipv4_errors.get(),
            NetworkField::Ipv6Address | NetworkField::Ipv6Prefix => imp.ipv6_errors.get(),
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
        imp.mode_row.connect_selected_notify(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.refresh()
        ));
        for switch in [&*imp.dhcp_switch, &*imp.ipv6_switch] {
            switch.connect_active_notify(glib::clone!(
                #[weak(rename_to = dialog)]
                self,
                move |_| dialog.refresh()
            ));
        }
        imp.create_button.connect_clicked(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            move |_| dialog.create()
        ));
    }

    fn field_changed(&self, field: NetworkField) {
        if self.imp().filling.get() {
            return;
        }
        self.imp().touched.borrow_mut().insert(field);
        if matches!(field, NetworkField::Ipv4Address | NetworkField::Ipv4Prefix) {
            self.follow_subnet();
        }
        self.refresh();
    }

    /// Keeps the DHCP range inside the subnet until the user types a range of their own.
    fn follow_subnet(&self) {
        let imp = self.imp();
        let range_touched = {
            let touched = imp.touched.borrow();
            touched.contains(&NetworkField::DhcpStart) || touched.contains(&NetworkField::DhcpEnd)
        };
        let mut form = self.read();
        let address = form.ipv4_address.trim().parse().ok();
        let prefix = form.ipv4_prefix.trim().trim_start_matches('/').parse().ok();
        let range = address
            .zip(prefix)
            .and_then(|(address, prefix)| default_dhcp_range(address, prefix));
        if let (Some((start, end)), false) = (range, range_touched) {
            form.dhcp_start = start.to_string();
            form.dhcp_end = end.to_string();
            self.fill(&form);
        }
    }

    fn mode(&self) -> ModeChoice {
        let chosen = self.imp().mode_row.selected() as usize;
        ModeChoice::ALL.get(chosen).copied().unwrap_or_default()
    }

    /// The form as the widgets show it now.
    fn read(&self) -> NetworkForm {
        let imp = self.imp();
        NetworkForm {
            name: imp.name_row.text().into(),
            mode: self.mode(),
            device: imp.device_row.text().into(),
            ipv4_address: imp.ipv4_address_row.text().into(),
            ipv4_prefix: imp.ipv4_prefix_row.text().into(),
            dhcp: imp.dhcp_switch.is_active(),
            dhcp_start: imp.dhcp_start_row.text().into(),
            dhcp_end: imp.dhcp_end_row.text().into(),
            ipv6: imp.ipv6_switch.is_active(),
            ipv6_address: imp.ipv6_address_row.text().into(),
            ipv6_prefix: imp.ipv6_prefix_row.text().into(),
            autostart: imp.autostart_switch.is_active(),
        }
    }

    fn fill(&self, form: &NetworkForm) {
        let imp = self.imp();
        imp.filling.set(true);
        let position = ModeChoice::ALL.iter().position(|mode| *mode == form.mode);
        imp.mode_row.set_selected(position.unwrap_or(0) as u32);
        for (field, row) in self.field_rows() {
            let text = match field {
                NetworkField::Name => &form.name,
                NetworkField::Device => &form.device,
                NetworkField::Ipv4Address => &form.ipv4_address,
                NetworkField::Ipv4Prefix => &form.ipv4_prefix,
                NetworkField::DhcpStart => &form.dhcp_start,
                NetworkField::DhcpEnd => &form.dhcp_end,
                NetworkField::Ipv6Address => &form.ipv6_address,
                NetworkField::Ipv6Prefix => &form.ipv6_prefix,
            };
            // Only changed rows: setting a row's text moves its cursor to the end.
            if row.text() != text.as_str() {
                row.set_text(text);
            }
        }
        imp.dhcp_switch.set_active(form.dhcp);
        imp.ipv6_switch.set_active(form.ipv6);
        imp.autostart_switch.set_active(form.autostart);
        imp.filling.set(false);
    }

    /// Brings the rows, messages, XML and the Create button in line with the form.
    fn refresh(&self) {
        let imp = self.imp();
        let form = self.read();
        self.show_relevant_rows(&form);
        let existing = imp.existing.borrow().clone();
        let errors = form.errors(existing.as_deref().unwrap_or_default());
        self.show_errors(&errors);
        let xml = form.to_spec().ok().and_then(|spec| network_xml(&spec).ok());
        show_xml(&imp.xml_view, xml.as_deref());
        // Until the host has answered, a clash with its networks cannot be ruled out.
        imp.create_button
            .set_sensitive(errors.is_empty() && existing.is_some());
    }

    fn show_relevant_rows(&self, form: &NetworkForm) {
        let imp = self.imp();
        imp.device_row.set_visible(form.mode.has_device());
        imp.dhcp_start_row.set_visible(form.dhcp);
        imp.dhcp_end_row.set_visible(form.dhcp);
        imp.ipv6_address_row.set_visible(form.ipv6);
        imp.ipv6_prefix_row.set_visible(form.ipv6);
        imp.mode_row.set_subtitle(&mode_explanation(form.mode));
    }

    /// Marks rows with a problem and writes the reasons under their groups; the empty name
    /// is not a problem until the user has typed in it.
    fn show_errors(&self, errors: &[NetworkFieldError]) {
        let imp = self.imp();
        let name_touched = imp.touched.borrow().contains(&NetworkField::Name);
        let shown: Vec<&NetworkFieldError> = errors
            .iter()
            .filter(|error| error.field != NetworkField::Name || name_touched)
            .collect();
        for (field, row) in self.field_rows() {
            mark_invalid(&row, shown.iter().any(|error| error.field == field));
        }
        for label in [&*imp.name_errors, &*imp.ipv4_errors, &*imp.ipv6_errors] {
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
        let form = self.read();
        let existing = imp.existing.borrow().clone().unwrap_or_default();
        let errors = form.errors(&existing);
        let ready = form
            .to_spec()
            .ok()
            .and_then(|spec| Some((network_xml(&spec).ok()?, spec)));
        let (Some((xml, spec)), true) = (ready, errors.is_empty()) else {
            // Only reachable if Create was pressed before the last change: show everything.
            imp.touched.borrow_mut().insert(NetworkField::Name);
            self.refresh();
            return;
        };
        let Some(host) = imp.host.borrow().clone() else {
            return;
        };
        self.set_busy(true);
        let dialog = self.downgrade();
        glib::spawn_future_local(async move {
            let autostart = spec.autostart;
            let result = host
                .run(move |session| create::create_network(session, &xml, true, autostart))
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

/// What each mode means for the guests, in the user's terms.
fn mode_explanation(mode: ModeChoice) -> String {
    match mode {
        ModeChoice::Nat => {
            gettext("Guests reach out through the host’s address; nothing reaches in")
        }
        ModeChoice::Routed => {
            gettext("Guests are reachable from the LAN, which needs a route to this subnet")
        }
        ModeChoice::Isolated => gettext("Guests reach each other and the host only"),
        ModeChoice::Open => gettext("Routed, and libvirt adds no firewall rules at all"),
    }
}
