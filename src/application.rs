//! The application: command line, actions and windows. No business logic lives here.

use std::cell::RefCell;
use std::ops::ControlFlow;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use crate::backend::libvirt::ffi;
use crate::backend::password::Password;
use crate::backend::secrets;
use crate::backend::store::{ConnectionStore, SavedConnection};
use crate::backend::uri;
use crate::config;
use crate::i18n::gettext_f;
use crate::model::Domain;
use crate::model::{Host, HostStatus};
use crate::ui::{ConnectionDialog, ConsoleWindow, CredentialsDialog, Window};

mod command_line;
use command_line::parse_vnc_address;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct Application {
        pub(super) hosts: RefCell<Option<gio::ListStore>>,
        pub(super) window: glib::WeakRef<Window>,
        pub(super) settings: RefCell<Option<gio::Settings>>,
        pub(super) store: RefCell<Option<std::sync::Arc<ConnectionStore>>>,
        pub(super) console_window: glib::WeakRef<ConsoleWindow>,
        /// A console asked for on the command line, opened once its domain is listed.
        pub(super) pending_console: RefCell<Option<(String, super::PendingView)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Application {
        const NAME: &'static str = "HangarApplication";
        type Type = super::Application;
        type ParentType = adw::Application;
    }

    impl ObjectImpl for Application {
        fn constructed(&self) {
            self.parent_constructed();
            let app = self.obj();
            self.hosts.replace(Some(gio::ListStore::new::<Host>()));
            self.settings.replace(load_settings());
            self.store.replace(Some(std::sync::Arc::new(
                ConnectionStore::default_location(),
            )));
            command_line::add_options(&*app);
            app.setup_actions();
        }
    }

    impl ApplicationImpl for Application {
        fn startup(&self) {
            self.parent_startup();
            ffi::init();
            gtk::Window::set_default_icon_name(config::APP_ID);
            self.obj().load_saved_connections();
            crate::diagnostics::start_from_environment();
            self.obj().watch_event_loop();
            if let Some(theme) =
                gtk::gdk::Display::default().map(|d| gtk::IconTheme::for_display(&d))
            {
                theme.add_resource_path(&format!("{}/icons", config::RESOURCE_BASE));
            }
        }

        fn activate(&self) {
            self.parent_activate();
            GtkWindowExt::present(&self.obj().main_window());
        }

        fn handle_local_options(&self, options: &glib::VariantDict) -> ControlFlow<glib::ExitCode> {
            if options.contains("version") {
                println!("{} {}", config::APP_NAME, config::VERSION);
                return ControlFlow::Break(glib::ExitCode::SUCCESS);
            }
            // Checked here, in the process that was started, so the message reaches its
            // terminal even when another instance does the work.
            if let Ok(Some(address)) = options.lookup::<String>("vnc") {
                if let Err(message) = parse_vnc_address(&address) {
                    eprintln!("hangar: {message}");
                    return ControlFlow::Break(glib::ExitCode::from(2));
                }
            }
            self.parent_handle_local_options(options)
        }

        fn command_line(&self, command_line: &gio::ApplicationCommandLine) -> glib::ExitCode {
            let app = self.obj();
            let options = command_line.options_dict();
            let vnc = options
                .lookup::<String>("vnc")
                .ok()
                .flatten()
                .and_then(|address| parse_vnc_address(&address).ok());
            // `--vnc` on its own opens just that console, without the main window.
            let main_window_options = [
                "demo",
                "connect",
                "show-domain-console",
                "show-domain-editor",
                "show-host-summary",
                "show-domain-creator",
            ];
            if vnc.is_none()
                || main_window_options
                    .iter()
                    .any(|name| options.contains(name))
            {
                app.activate();
            }
            if options.contains("demo") {
                app.open_demo();
            }
            if let Ok(Some(address)) = options.lookup::<String>("connect") {
                app.open_uri(&address, None);
            }
            if let Ok(Some(name)) = options.lookup::<String>("show-domain-console") {
                app.open_when_listed(name, PendingView::Console);
            }
            if let Ok(Some(name)) = options.lookup::<String>("show-domain-editor") {
                app.open_when_listed(name, PendingView::Details);
            }
            if options.contains("show-domain-creator") {
                app.show_creator_when_connected();
            }
            if options.contains("show-host-summary") {
                app.main_window().set_showing_summary(true);
            }
            if let Some((host, port)) = vnc {
                app.open_vnc_address(&host, port);
            }
            glib::ExitCode::SUCCESS
        }
    }

    impl GtkApplicationImpl for Application {}
    impl AdwApplicationImpl for Application {}
}

/// What `--show-domain-console` or `--show-domain-editor` opens once the domain is listed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PendingView {
    Console,
    Details,
}

glib::wrapper! {
    pub struct Application(ObjectSubclass<imp::Application>)
        @extends gio::Application, gtk::Application, adw::Application,
        @implements gio::ActionGroup, gio::ActionMap;
}

impl Application {
    pub fn new() -> Self {
        glib::Object::builder()
            .property("application-id", config::APP_ID)
            .property("flags", gio::ApplicationFlags::HANDLES_COMMAND_LINE)
            .property("resource-base-path", config::RESOURCE_BASE)
            .build()
    }

    fn setup_actions(&self) {
        let about = gio::ActionEntry::builder("about")
            .activate(|app: &Self, _, _| app.show_about())
            .build();
        let demo = gio::ActionEntry::builder("open-demo")
            .activate(|app: &Self, _, _| app.open_demo())
            .build();
        let quit = gio::ActionEntry::builder("quit")
            .activate(|app: &Self, _, _| app.quit())
            .build();
        let add = gio::ActionEntry::builder("add-connection")
            .activate(|app: &Self, _, _| app.show_connection_dialog(None))
            .build();
        let host_actions = [
            ("connect-host", Self::connect_host as fn(&Self, &Host)),
            ("disconnect-host", Self::disconnect_host),
            ("edit-host", Self::edit_host),
            ("remove-host", Self::remove_host),
        ]
        .map(|(name, handler)| {
            gio::ActionEntry::builder(name)
                .parameter_type(Some(glib::VariantTy::STRING))
                .activate(move |app: &Self, _, parameter| {
                    let uri = parameter.and_then(|value| value.get::<String>());
                    if let Some(host) = uri.and_then(|uri| app.host_by_uri(&uri)) {
                        handler(app, &host);
                    }
                })
                .build()
        });
        self.add_action_entries([about, demo, quit, add]);
        self.add_action_entries(host_actions);
        self.set_accels_for_action("app.add-connection", &["<Control>n"]);
        self.set_accels_for_action("win.search", &["<Control>f"]);
        self.set_accels_for_action("win.domain-delete", &["Delete"]);
        self.set_accels_for_action("win.domain-rename", &["F2"]);
        self.set_accels_for_action("win.domain-details", &["<Alt>Return"]);
        self.set_accels_for_action("app.quit", &["<Control>q"]);
        self.set_accels_for_action("window.close", &["<Control>w"]);
        self.set_accels_for_action("win.refresh", &["<Control>r", "F5"]);
    }

    fn hosts(&self) -> gio::ListStore {
        self.imp()
            .hosts
            .borrow()
            .clone()
            .unwrap_or_else(gio::ListStore::new::<Host>)
    }

    fn main_window(&self) -> Window {
        if let Some(window) = self.imp().window.upgrade() {
            return window;
        }
        let window = Window::new(self.upcast_ref(), self.imp().settings.borrow().clone());
        window.set_hosts(&self.hosts());
        self.imp().window.set(Some(&window));
        window
    }

    fn host_by_uri(&self, uri: &str) -> Option<Host> {
        self.hosts()
            .iter::<Host>()
            .flatten()
            .find(|host| host.uri() == uri)
    }

    /// Puts `host` in the sidebar and routes its questions and notices to the window.
    fn add_host(&self, host: &Host) {
        if let Some(settings) = self.imp().settings.borrow().as_ref() {
            let interval = settings.uint("refresh-interval");
            host.set_refresh_interval(std::time::Duration::from_millis(interval.into()));
        }
        host.connect_credentials_needed(glib::clone!(
            #[weak(rename_to = app)]
            self,
            move |host| app.answer_prompts(host)
        ));
        host.connect_notice(glib::clone!(
            #[weak(rename_to = app)]
            self,
            move |_, message| app.main_window().show_toast(message)
        ));
        self.hosts().append(host);
        if self.imp().pending_console.borrow().is_some() {
            self.watch_for_pending_console(host);
        }
    }

    fn answer_prompts(&self, host: &Host) {
        let window = self.main_window();
        while let Some(prompt) = host.take_prompt() {
            GtkWindowExt::present(&CredentialsDialog::new(&window, prompt));
        }
    }

    /// Adds the host at `address` for this run (or selects it when already there) and
    /// connects to it.
    pub fn open_uri(&self, address: &str, name: Option<&str>) {
        let host = self.host_by_uri(address).unwrap_or_else(|| {
            let host = match name {
                Some(name) => Host::with_name(address, name),
                None => Host::new(address),
            };
            self.add_host(&host);
            host
        });
        if matches!(host.status(), HostStatus::Disconnected | HostStatus::Failed) {
            host.retry();
        }
        self.main_window().select_host(&host);
    }

    /// Shows `domain`'s console in the console window (opening the window if needed).
    pub fn open_console(&self, domain: &Domain) {
        self.console_window().open(domain);
    }

    /// Shows `domain`'s details page (its window, beside the console).
    pub fn open_details(&self, domain: &Domain) {
        crate::ui::present_domain_page(self, domain);
    }

    /// Shows the console of the VNC server at `host`:`port`, which belongs to no domain.
    pub fn open_vnc_address(&self, host: &str, port: u16) {
        self.console_window().open_address(host, port);
    }

    fn console_window(&self) -> ConsoleWindow {
        self.imp().console_window.upgrade().unwrap_or_else(|| {
            let window = ConsoleWindow::new(self);
            self.imp().console_window.set(Some(&window));
            window
        })
    }

    /// Opens the new-VM wizard once the host on screen is connected.
    fn show_creator_when_connected(&self) {
        let window = self.main_window();
        let Some(host) = window.current_host() else {
            return;
        };
        if host.status() == HostStatus::Connected {
            WidgetExt::activate_action(&window, "win.new-vm", None).ok();
            return;
        }
        let handler: std::rc::Rc<std::cell::RefCell<Option<glib::SignalHandlerId>>> =
            std::rc::Rc::default();
        let slot = handler.clone();
        let id = host.connect_status_notify(glib::clone!(
            #[weak]
            window,
            move |host| {
                if host.status() == HostStatus::Connected {
                    WidgetExt::activate_action(&window, "win.new-vm", None).ok();
                    if let Some(id) = slot.take() {
                        host.disconnect(id);
                    }
                }
            }
        ));
        handler.replace(Some(id));
    }

    /// Opens the console of the domain called `name` as soon as a host lists it.
    fn open_when_listed(&self, name: String, view: PendingView) {
        self.imp().pending_console.replace(Some((name, view)));
        for host in self.hosts().iter::<Host>().flatten() {
            self.watch_for_pending_console(&host);
        }
    }

    fn watch_for_pending_console(&self, host: &Host) {
        let store = host.domain_store();
        let app = self.downgrade();
        let check = move |store: &gio::ListStore| {
            let Some(app) = app.upgrade() else { return };
            let wanted = app.imp().pending_console.borrow().clone();
            let Some((wanted, view)) = wanted else { return };
            if let Some(domain) = store
                .iter::<Domain>()
                .flatten()
                .find(|d| d.name() == wanted)
            {
                app.imp().pending_console.replace(None);
                match view {
                    PendingView::Console => app.open_console(&domain),
                    PendingView::Details => app.open_details(&domain),
                }
            }
        };
        check(&store);
        store.connect_items_changed(move |store, _, _, _| check(store));
    }

    /// Opens the new-machine wizard for the host at `address` as soon as it is connected.
    /// libvirt's event loop carries every host's events and keepalives; should it fail (it
    /// reports once, in the log), the user hears it too, once per failure.
    fn watch_event_loop(&self) {
        let reported = std::cell::Cell::new(false);
        let app = self.downgrade();
        glib::timeout_add_seconds_local(5, move || {
            let Some(app) = app.upgrade() else {
                return glib::ControlFlow::Break;
            };
            match ffi::event_loop_status() {
                ffi::EventLoopStatus::Failed(reason) if !reported.get() => {
                    reported.set(true);
                    // The console-only mode (`--vnc`) has no main window to say it in.
                    let Some(window) = app.imp().window.upgrade() else {
                        return glib::ControlFlow::Continue;
                    };
                    window.show_toast(&gettext_f(
                        "Live updates from your hosts may stop: libvirt's event loop failed ({reason}). Restart Hangar if the lists stop changing.",
                        &[("reason", &reason)],
                    ));
                }
                ffi::EventLoopStatus::Running => reported.set(false),
                _ => {}
            }
            glib::ControlFlow::Continue
        });
    }

    fn store(&self) -> Option<std::sync::Arc<ConnectionStore>> {
        self.imp().store.borrow().clone()
    }

    /// Reads the saved connections off the main thread, then shows and autoconnects them.
    fn load_saved_connections(&self) {
        let Some(store) = self.store() else { return };
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = app)]
            self,
            async move {
                let Ok(report) = gio::spawn_blocking(move || store.load()).await else {
                    return;
                };
                for saved in &report.connections {
                    if app.host_by_uri(&saved.uri).is_some() {
                        continue;
                    }
                    let host = Host::from_saved(saved);
                    app.add_host(&host);
                    if saved.autoconnect {
                        host.connect_to_host();
                    }
                }
                if let Some(problem) = report.problem {
                    app.main_window().show_toast(&problem.user_message());
                }
                for notice in &report.notices {
                    app.main_window().show_toast(notice);
                }
                app.main_window().select_first_host_if_none();
            }
        ));
    }

    /// Writes every saved host to the store, off the main thread.
    fn save_connections(&self) {
        let Some(store) = self.store() else { return };
        let saved: Vec<SavedConnection> = self
            .hosts()
            .iter::<Host>()
            .flatten()
            .filter_map(|host| host.saved())
            .collect();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = app)]
            self,
            async move {
                let result = gio::spawn_blocking(move || store.save(&saved)).await;
                if let Ok(Err(error)) = result {
                    app.main_window().show_toast(&error.to_string());
                }
            }
        ));
    }

    fn show_connection_dialog(&self, existing: Option<&Host>) {
        let saved = existing.and_then(Host::saved);
        let dialog = ConnectionDialog::new(&self.main_window(), saved.as_ref());
        let previous_uri = existing.map(Host::uri);
        dialog.connect_done(glib::clone!(
            #[weak(rename_to = app)]
            self,
            move |_, result| {
                app.accept_connection(previous_uri.as_deref(), result.saved, result.password);
            }
        ));
        GtkWindowExt::present(&dialog);
    }

    /// Adds or replaces a saved host and connects to it.
    fn accept_connection(
        &self,
        previous_uri: Option<&str>,
        saved: SavedConnection,
        password: Option<Password>,
    ) {
        let hosts = self.hosts();
        if let Some(old) = previous_uri.and_then(|uri| self.host_by_uri(uri)) {
            old.disconnect_from_host();
            if let Some(position) = hosts.find(&old) {
                hosts.remove(position);
            }
        }
        if let Some(existing) = self.host_by_uri(&saved.uri) {
            existing.disconnect_from_host();
            if let Some(position) = hosts.find(&existing) {
                hosts.remove(position);
            }
        }
        let host = Host::from_saved(&saved);
        host.set_typed_password(password);
        self.add_host(&host);
        self.save_connections();
        host.connect_to_host();
        self.main_window().select_host(&host);
    }

    fn connect_host(&self, host: &Host) {
        host.retry();
    }

    fn disconnect_host(&self, host: &Host) {
        host.disconnect_from_host();
    }

    fn edit_host(&self, host: &Host) {
        self.show_connection_dialog(Some(host));
    }

    /// Forgets a host: its settings, and its password in the keyring.
    fn remove_host(&self, host: &Host) {
        host.disconnect_from_host();
        let hosts = self.hosts();
        if let Some(position) = hosts.find(host) {
            hosts.remove(position);
        }
        let Some(saved) = host.saved() else { return };
        self.save_connections();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = app)]
            self,
            async move {
                let result = gio::spawn_blocking(move || secrets::delete_password(&saved.id)).await;
                if let Ok(Err(error)) = result {
                    app.main_window().show_toast(&error.to_string());
                }
            }
        ));
    }

    /// Opens the bundled demo host.
    pub fn open_demo(&self) {
        match config::demo_fixture() {
            Some(path) => self.open_uri(&uri::test_fixture_uri(&path), Some(&gettext("Demo host"))),
            None => self
                .main_window()
                .show_toast(&gettext("The demo host’s files are not installed.")),
        }
    }

    fn show_about(&self) {
        let about = adw::AboutWindow::builder()
            .application_name(config::APP_NAME)
            .application_icon(config::APP_ID)
            .developer_name(gettext("The Hangar developers"))
            .version(config::VERSION)
            .website("https://github.com/hangarvm/hangar")
            .issue_url("https://github.com/hangarvm/hangar/issues")
            .license_type(gtk::License::Gpl30)
            .comments(gettext(
                "Run virtual machines on your own hosts: local and remote libvirt servers, with a built-in console.",
            ))
            .transient_for(&self.main_window())
            .modal(true)
            .build();
        // Translators: put your names here, one per line.
        let translators = gettext("translator-credits");
        if translators != "translator-credits" {
            about.set_translator_credits(&translators);
        }
        GtkWindowExt::present(&about);
    }
}

impl Default for Application {
    fn default() -> Self {
        Self::new()
    }
}

/// The settings, from the installed schema or else from the one compiled into target/.
fn load_settings() -> Option<gio::Settings> {
    let installed =
        gio::SettingsSchemaSource::default().and_then(|source| source.lookup(config::APP_ID, true));
    let schema = installed.or_else(|| {
        let default = gio::SettingsSchemaSource::default();
        gio::SettingsSchemaSource::from_directory(
            config::build_schema_dir(),
            default.as_ref(),
            false,
        )
        .ok()?
        .lookup(config::APP_ID, false)
    })?;
    Some(gio::Settings::new_full(
        &schema,
        None::<&gio::SettingsBackend>,
        None,
    ))
}

/// Runs Hangar with the process's command line.
pub fn run() -> glib::ExitCode {
    if let Err(error) = gio::resources_register_include!("hangar.gresource") {
        eprintln!("hangar: the built-in resources are damaged: {error}");
        return glib::ExitCode::FAILURE;
    }
    glib::set_application_name(config::APP_NAME);
    Application::new().run()
}
