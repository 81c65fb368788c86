//! A host in the sidebar: its name and how its connection stands.

use std::cell::RefCell;

use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::prelude::*;
use gtk::{gio, glib};

use super::wait_spinner::WaitSpinner;
use crate::backend::uri::ConnectionUri;
use crate::model::{Host, HostStatus};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/host_row.ui")]
    pub struct HostRow {
        #[template_child]
        pub(super) host_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub(super) name_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) status_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) spinner: TemplateChild<WaitSpinner>,
        #[template_child]
        pub(super) status_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub(super) menu_button: TemplateChild<gtk::MenuButton>,
        pub(super) host: RefCell<Option<Host>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for HostRow {
        const NAME: &'static str = "HangarHostRow";
        type Type = super::HostRow;
        type ParentType = gtk::ListBoxRow;

        fn class_init(klass: &mut Self::Class) {
            WaitSpinner::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for HostRow {}
    impl WidgetImpl for HostRow {}
    impl ListBoxRowImpl for HostRow {}
}

glib::wrapper! {
    pub struct HostRow(ObjectSubclass<imp::HostRow>)
        @extends gtk::Widget, gtk::ListBoxRow,
        @implements gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl HostRow {
    pub fn new(host: &Host) -> Self {
        let row: Self = glib::Object::new();
        let imp = row.imp();
        host.bind_property("name", &*imp.name_label, "label")
            .sync_create()
            .build();
        let is_remote = ConnectionUri::parse(&host.uri()).is_ok_and(|uri| !uri.is_local());
        imp.host_icon.set_icon_name(Some(if is_remote {
            "network-server-symbolic"
        } else {
            "computer-symbolic"
        }));
        host.connect_status_notify(glib::clone!(
            #[weak]
            row,
            move |host| row.show_status(host)
        ));
        host.connect_not_answering_notify(glib::clone!(
            #[weak]
            row,
            move |host| row.show_status(host)
        ));
        host.connect_name_notify(glib::clone!(
            #[weak]
            row,
            move |host| row.show_status(host)
        ));
        row.show_status(host);
        imp.menu_button.set_menu_model(Some(&host_menu(host)));
        imp.host.replace(Some(host.clone()));
        row
    }

    pub fn host(&self) -> Option<Host> {
        self.imp().host.borrow().clone()
    }

    fn show_status(&self, host: &Host) {
        let imp = self.imp();
        let status = host.status();
        let not_answering = status == HostStatus::Connected && host.not_answering();
        let text = match status {
            HostStatus::Connected if not_answering => gettext("Not answering"),
            HostStatus::Disconnected => gettext("Not connected"),
            HostStatus::Connecting => gettext("Connecting…"),
            HostStatus::Connected => gettext("Connected"),
            HostStatus::Failed => gettext("Connection failed"),
        };
        imp.status_label.set_label(&text);
        // The row is a list item: a screen reader reads its name, not the labels inside.
        let name = gettext("{host}, {status}")
            .replace("{host}", &host.name())
            .replace("{status}", &text);
        crate::ui::a11y::set_label(self, &name);
        let connecting = status == HostStatus::Connecting;
        imp.spinner.set_visible(connecting);
        imp.spinner.set_spinning(connecting);
        imp.status_icon
            .set_visible(status == HostStatus::Failed || not_answering);
        imp.status_icon
            .set_icon_name(Some("dialog-warning-symbolic"));
        let tooltip = if not_answering {
            gettext(
                "The host has stopped answering. Hangar keeps waiting and reconnects by itself.",
            )
        } else {
            host.error_message()
        };
        imp.status_icon.set_tooltip_text(Some(&tooltip));
    }
}

/// Connect, disconnect, edit and remove, aimed at this host by its address.
fn host_menu(host: &Host) -> gio::Menu {
    let target = host.uri().to_variant();
    let menu = gio::Menu::new();
    let item = |label: String, action: &str| {
        let item = gio::MenuItem::new(Some(&label), None);
        item.set_action_and_target_value(Some(action), Some(&target));
        item
    };
    let session = gio::Menu::new();
    session.append_item(&item(gettext("_Connect"), "app.connect-host"));
    session.append_item(&item(gettext("_Disconnect"), "app.disconnect-host"));
    menu.append_section(None, &session);
    if host.saved().is_some() {
        let manage = gio::Menu::new();
        manage.append_item(&item(gettext("_Edit…"), "app.edit-host"));
        manage.append_item(&item(gettext("_Remove"), "app.remove-host"));
        menu.append_section(None, &manage);
    }
    menu
}
