//! The main window: hosts on the left, the selected host's domains on the right.

use std::cell::{Cell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

mod jobs;

use super::{creation, domain_actions, DomainList, HostRow, HostSummaryPage};
use crate::model::{Domain, Host, HostStatus};

pub(super) mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate, glib::Properties)]
    #[template(resource = "/io/github/hangarvm/Hangar/window.ui")]
    #[properties(wrapper_type = super::Window)]
    pub struct Window {
        /// The host summary shows instead of the domain list.
        #[property(get, set)]
        pub(super) showing_summary: Cell<bool>,
        #[template_child]
        pub(super) toast_overlay: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub(super) leaflet: TemplateChild<adw::Leaflet>,
        #[template_child]
        pub(super) sidebar_header: TemplateChild<adw::HeaderBar>,
        #[template_child]
        pub(super) host_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub(super) content_header: TemplateChild<adw::HeaderBar>,
        #[template_child]
        pub(super) back_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) jobs_button: TemplateChild<gtk::MenuButton>,
        /// The user agreed to close while jobs ran (they were cancelled).
        pub(super) closing_with_jobs: Cell<bool>,
        #[template_child]
        pub(super) content_title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub(super) content_stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub(super) connecting_page: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) connecting_spinner: TemplateChild<crate::ui::wait_spinner::WaitSpinner>,
        #[template_child]
        pub(super) failed_page: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) domain_list: TemplateChild<DomainList>,
        #[template_child]
        pub(super) summary_page: TemplateChild<HostSummaryPage>,
        pub(super) hosts: RefCell<Option<gio::ListStore>>,
        pub(super) current_host: RefCell<Option<Host>>,
        pub(super) host_handlers: RefCell<Vec<glib::SignalHandlerId>>,
        pub(super) domain_handler: RefCell<Option<(gio::ListStore, glib::SignalHandlerId)>>,
        pub(super) settings: RefCell<Option<gio::Settings>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Window {
        const NAME: &'static str = "HangarWindow";
        type Type = super::Window;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            DomainList::ensure_type();
            HostSummaryPage::ensure_type();
            crate::ui::wait_spinner::WaitSpinner::ensure_type();
            klass.bind_template();
            domain_actions::install(klass);
            klass.install_property_action("win.show-summary", "showing-summary");
            klass.install_action("win.new-vm", None, |window, _, _| {
                creation::new_vm(window);
            });
            klass.install_action("win.new-pool", None, |window, _, _| {
                creation::new_pool(window);
            });
            klass.install_action("win.new-network", None, |window, _, _| {
                creation::new_network(window);
            });
            klass.install_action("win.search", None, |window, _, _| {
                window.imp().domain_list.toggle_search();
            });
            klass.install_action("win.refresh", None, |window, _, _| {
                if let Some(host) = window.current_host() {
                    host.refresh();
                }
            });
            klass.install_action("win.reconnect", None, |window, _, _| {
                if let Some(host) = window.current_host() {
                    host.retry();
                }
            });
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[glib::derived_properties]
    impl ObjectImpl for Window {
        fn constructed(&self) {
            self.parent_constructed();
            let window = self.obj();
            window.follow_leaflet_folding();
            window.setup_domain_list();
            window.setup_host_selection();
            window.setup_jobs();
            window.connect_showing_summary_notify(|window| window.show_content_page());
            window.show_content_page();
            crate::ui::a11y::name_controls(&*window);
        }
    }

    impl WidgetImpl for Window {
        fn realize(&self) {
            self.parent_realize();
            self.obj().pause_polling_while_minimized();
        }
    }

    impl WindowImpl for Window {
        fn close_request(&self) -> glib::Propagation {
            if super::jobs::confirm_close(&self.obj()) {
                return glib::Propagation::Stop;
            }
            self.obj().save_window_size();
            self.parent_close_request()
        }
    }

    impl ApplicationWindowImpl for Window {}
    impl AdwApplicationWindowImpl for Window {}
}

glib::wrapper! {
    pub struct Window(ObjectSubclass<imp::Window>)
        @extends gtk::Widget, gtk::Window, gtk::ApplicationWindow, adw::ApplicationWindow,
        @implements gio::ActionGroup, gio::ActionMap, gtk::Buildable,
                    gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl Window {
    pub fn new(app: &adw::Application, settings: Option<gio::Settings>) -> Self {
        let window: Self = glib::Object::builder().property("application", app).build();
        window.imp().settings.replace(settings);
        window.restore_window_size();
        window
    }

    /// Shows `hosts` in the sidebar.
    pub fn set_hosts(&self, hosts: &gio::ListStore) {
        let imp = self.imp();
        imp.domain_list.set_hosts(hosts);
        imp.host_list.bind_model(Some(hosts), |object| {
            let host = object
                .downcast_ref::<Host>()
                .expect("the host list holds hosts");
            HostRow::new(host).upcast()
        });
        hosts.connect_items_changed(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |hosts, _, _, _| {
                if hosts.n_items() == 0 {
                    window.show_host(None);
                }
            }
        ));
        imp.hosts.replace(Some(hosts.clone()));
    }

    /// Selects `host` in the sidebar and shows its domains.
    pub fn select_host(&self, host: &Host) {
        let imp = self.imp();
        let Some(position) = imp
            .hosts
            .borrow()
            .as_ref()
            .and_then(|hosts| hosts.find(host))
        else {
            return;
        };
        if let Some(row) = imp.host_list.row_at_index(position as i32) {
            imp.host_list.select_row(Some(&row));
        }
    }

    /// Shows the first host when none is selected yet (e.g. after loading saved hosts).
    pub fn select_first_host_if_none(&self) {
        let imp = self.imp();
        if imp.current_host.borrow().is_some() {
            return;
        }
        if let Some(row) = imp.host_list.row_at_index(0) {
            imp.host_list.select_row(Some(&row));
        }
    }

    pub fn current_host(&self) -> Option<Host> {
        self.imp().current_host.borrow().clone()
    }

    /// Shows a short message at the bottom of the window.
    pub fn show_toast(&self, message: &str) {
        self.imp().toast_overlay.add_toast(adw::Toast::new(message));
    }

    fn is_minimized(&self) -> bool {
        self.surface()
            .and_downcast::<gtk::gdk::Toplevel>()
            .is_some_and(|toplevel| {
                toplevel
                    .state()
                    .contains(gtk::gdk::ToplevelState::MINIMIZED)
            })
    }

    /// Stops the periodic refresh while the window is minimized; events still update rows.
    fn pause_polling_while_minimized(&self) {
        let Some(toplevel) = self.surface().and_downcast::<gtk::gdk::Toplevel>() else {
            return;
        };
        toplevel.connect_state_notify(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_| {
                if let Some(host) = window.current_host() {
                    host.set_polling(!window.is_minimized());
                }
            }
        ));
    }

    fn follow_leaflet_folding(&self) {
        let imp = self.imp();
        let leaflet = &*imp.leaflet;
        leaflet
            .bind_property("folded", &*imp.sidebar_header, "show-end-title-buttons")
            .sync_create()
            .build();
        leaflet
            .bind_property("folded", &*imp.content_header, "show-start-title-buttons")
            .sync_create()
            .build();
        leaflet
            .bind_property("folded", &*imp.back_button, "visible")
            .sync_create()
            .build();
        imp.back_button.connect_clicked(glib::clone!(
            #[weak]
            leaflet,
            move |_| {
                leaflet.navigate(adw::NavigationDirection::Back);
            }
        ));
    }

    fn setup_domain_list(&self) {
        let list = &self.imp().domain_list;
        list.capture_typing_from(self);
        list.connect_selection_changed(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |list| domain_actions::update_enabled(&window, &list.selected_domains())
        ));
        list.connect_domain_activated(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_, domain| window.open_consoles(std::slice::from_ref(domain))
        ));
        list.connect_search_changed(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_| window.show_content_page()
        ));
        domain_actions::update_enabled(self, &[]);
    }

    fn hangar_application(&self) -> Option<crate::application::Application> {
        self.application()
            .and_downcast::<crate::application::Application>()
    }

    /// Opens the consoles of `domains` in the console window.
    pub fn open_consoles(&self, domains: &[Domain]) {
        let Some(app) = self.hangar_application() else {
            return;
        };
        for domain in domains {
            app.open_console(domain);
        }
    }

    /// Opens the details page of each of `domains`.
    pub fn open_details(&self, domains: &[Domain]) {
        let Some(app) = self.hangar_application() else {
            return;
        };
        for domain in domains {
            app.open_details(domain);
        }
    }

    /// The domains the user picked in the list.
    pub fn selected_domains(&self) -> Vec<Domain> {
        self.imp().domain_list.selected_domains()
    }

    fn setup_host_selection(&self) {
        self.imp().host_list.connect_row_selected(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_, row| {
                let host = row.and_then(|row| row.downcast_ref::<HostRow>()?.host());
                window.show_host(host.as_ref());
                if host.is_some() {
                    window
                        .imp()
                        .leaflet
                        .navigate(adw::NavigationDirection::Forward);
                }
            }
        ));
    }

    /// Makes `host` the one on the right, following its status and domain list.
    fn show_host(&self, host: Option<&Host>) {
        let imp = self.imp();
        if let Some(old) = imp.current_host.take() {
            for handler in imp.host_handlers.take() {
                old.disconnect(handler);
            }
            old.set_polling(false);
        }
        if let Some((store, handler)) = imp.domain_handler.take() {
            store.disconnect(handler);
        }
        imp.domain_list.set_host(host);
        imp.summary_page.set_host(host);
        if let Some(host) = host {
            self.follow_host(host);
            host.set_polling(!self.is_minimized());
        }
        imp.current_host.replace(host.cloned());
        self.show_content_page();
    }

    fn follow_host(&self, host: &Host) {
        let imp = self.imp();
        let redraw = glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_: &Host, _: &glib::ParamSpec| window.show_content_page()
        );
        let handlers = vec![
            host.connect_notify_local(Some("status"), redraw.clone()),
            host.connect_notify_local(Some("error-message"), redraw.clone()),
            host.connect_notify_local(Some("name"), redraw.clone()),
            host.connect_notify_local(Some("phase"), redraw.clone()),
            host.connect_notify_local(Some("not-answering"), redraw),
        ];
        imp.host_handlers.replace(handlers);
        let store = host.domain_store();
        let handler = store.connect_items_changed(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_, _, _, _| window.show_content_page()
        ));
        imp.domain_handler.replace(Some((store, handler)));
    }

    /// Picks the page on the right from the current host's status.
    fn show_content_page(&self) {
        let imp = self.imp();
        let host = imp.current_host.borrow().clone();
        if imp.domain_list.is_searching() {
            imp.content_stack.set_visible_child_name("domains");
            return;
        }
        let Some(host) = host else {
            let has_hosts = imp.hosts.borrow().as_ref().is_some_and(|h| h.n_items() > 0);
            imp.content_title
                .set_title(if has_hosts { "" } else { "Hangar" });
            imp.content_title.set_subtitle("");
            imp.content_stack.set_visible_child_name("no-hosts");
            imp.connecting_spinner.set_spinning(false);
            self.action_set_enabled("win.refresh", false);
            return;
        };
        imp.content_title.set_title(&host.name());
        let subtitle = if host.not_answering() {
            crate::i18n::gettext_f("{address} — not answering", &[("address", &host.uri())])
        } else {
            host.uri()
        };
        imp.content_title.set_subtitle(&subtitle);
        let status = host.status();
        imp.connecting_spinner
            .set_spinning(status == HostStatus::Connecting);
        self.action_set_enabled("win.refresh", status == HostStatus::Connected);
        let page = match status {
            HostStatus::Connecting => "connecting",
            HostStatus::Failed => {
                let description = [host.error_message(), host.phase()]
                    .into_iter()
                    .filter(|text| !text.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                imp.failed_page.set_description(Some(&description));
                "failed"
            }
            HostStatus::Disconnected => "disconnected",
            HostStatus::Connected if self.showing_summary() => "summary",
            HostStatus::Connected if host.domain_store().n_items() == 0 => "empty",
            HostStatus::Connected => "domains",
        };
        let mut phase = host.phase();
        if phase.is_empty() {
            phase = gettext("Waiting for the host to answer");
        }
        // Reconnecting: what happened last time, under what is happening now.
        let last_failure = host.error_message();
        if status == HostStatus::Connecting && !last_failure.is_empty() {
            phase = format!("{phase}\n{last_failure}");
        }
        imp.connecting_page.set_description(Some(&phase));
        imp.content_stack.set_visible_child_name(page);
    }

    fn restore_window_size(&self) {
        let Some(settings) = self.imp().settings.borrow().clone() else {
            return;
        };
        self.set_default_size(settings.int("window-width"), settings.int("window-height"));
        if settings.boolean("is-maximized") {
            self.maximize();
        }
    }

    fn save_window_size(&self) {
        let Some(settings) = self.imp().settings.borrow().clone() else {
            return;
        };
        let (width, height) = self.default_size();
        // Saving is best effort: a read-only settings backend must not stop the window closing.
        let _ = settings.set_int("window-width", width);
        let _ = settings.set_int("window-height", height);
        let _ = settings.set_boolean("is-maximized", self.is_maximized());
    }
}
