//! The application: command line, actions and windows. No business logic lives here.

use std::cell::RefCell;
use std::ops::ControlFlow;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use crate::backend::libvirt::ffi;
use crate::backend::uri;
use crate::config;
use crate::model::Host;
use crate::ui::Window;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct Application {
        pub(super) hosts: RefCell<Option<gio::ListStore>>,
        pub(super) window: glib::WeakRef<Window>,
        pub(super) settings: RefCell<Option<gio::Settings>>,
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
            app.add_command_line_options();
            app.setup_actions();
        }
    }

    impl ApplicationImpl for Application {
        fn startup(&self) {
            self.parent_startup();
            ffi::init();
            gtk::Window::set_default_icon_name(config::APP_ID);
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
            self.parent_handle_local_options(options)
        }

        fn command_line(&self, command_line: &gio::ApplicationCommandLine) -> glib::ExitCode {
            let app = self.obj();
            let options = command_line.options_dict();
            app.activate();
            if options.contains("demo") {
                app.open_demo();
            }
            if let Ok(Some(address)) = options.lookup::<String>("connect") {
                app.open_uri(&address, None);
            }
            glib::ExitCode::SUCCESS
        }
    }

    impl GtkApplicationImpl for Application {}
    impl AdwApplicationImpl for Application {}
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

    fn add_command_line_options(&self) {
        self.add_main_option(
            "demo",
            glib::Char::from(0),
            glib::OptionFlags::NONE,
            glib::OptionArg::None,
            &gettext("Open the demo host (libvirt's test driver, no server needed)"),
            None,
        );
        self.add_main_option(
            "connect",
            glib::Char::from(b'c'),
            glib::OptionFlags::NONE,
            glib::OptionArg::String,
            &gettext("Connect to the host at URI, e.g. qemu+tcp://server/system"),
            Some("URI"),
        );
        self.add_main_option(
            "version",
            glib::Char::from(0),
            glib::OptionFlags::NONE,
            glib::OptionArg::None,
            &gettext("Show the version and exit"),
            None,
        );
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
        self.add_action_entries([about, demo, quit]);
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

    /// Adds the host at `address` (or selects it when already there) and connects to it.
    pub fn open_uri(&self, address: &str, name: Option<&str>) {
        let hosts = self.hosts();
        let existing = hosts
            .iter::<Host>()
            .flatten()
            .find(|host| host.uri() == address);
        let host = existing.unwrap_or_else(|| {
            let host = match name {
                Some(name) => Host::with_name(address, name),
                None => Host::new(address),
            };
            hosts.append(&host);
            host
        });
        if matches!(
            host.status(),
            crate::model::HostStatus::Disconnected | crate::model::HostStatus::Failed
        ) {
            host.connect_to_host();
        }
        self.main_window().select_host(&host);
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
