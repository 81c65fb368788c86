//! The console window: one tab per console (tabs can be dragged out into a window of their
//! own), send-keys, screenshots, fit or 1:1, fullscreen, keyboard shortcut capture.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gdk, gio, glib};

use super::ConsolePage;
use crate::i18n::gettext_f;
use crate::model::Domain;
use crate::vnc::keysyms::KeyCombo;
use crate::vnc::session::display_address;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/console_window.ui")]
    pub struct ConsoleWindow {
        #[template_child]
        pub(super) toast_overlay: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub(super) fullscreen_bar: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub(super) header: TemplateChild<adw::HeaderBar>,
        #[template_child]
        pub(super) title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub(super) fit_button: TemplateChild<gtk::ToggleButton>,
        #[template_child]
        pub(super) grab_button: TemplateChild<gtk::ToggleButton>,
        #[template_child]
        pub(super) tab_bar: TemplateChild<adw::TabBar>,
        #[template_child]
        pub(super) tab_view: TemplateChild<adw::TabView>,
        #[template_child]
        pub(super) function_keys: TemplateChild<gio::Menu>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ConsoleWindow {
        const NAME: &'static str = "HangarConsoleWindow";
        type Type = super::ConsoleWindow;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action(
                "console.send-keys",
                Some(glib::VariantTy::STRING),
                |w, _, v| {
                    if let Some(combo) = v
                        .and_then(|v| v.get::<String>())
                        .and_then(|n| combo_named(&n))
                    {
                        if let Some(page) = w.current_page() {
                            page.viewer().send_keys(combo);
                        }
                    }
                },
            );
            klass.install_action("console.type-clipboard", None, |w, _, _| w.type_clipboard());
            klass.install_action("console.screenshot", None, |w, _, _| w.save_screenshot());
            klass.install_action("console.fullscreen", None, |w, _, _| w.toggle_fullscreen());
            klass.install_action("console.details", None, |w, _, _| w.open_details());
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ConsoleWindow {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().setup();
            crate::ui::a11y::name_controls(&*self.obj());
        }
    }

    impl WidgetImpl for ConsoleWindow {}
    impl WindowImpl for ConsoleWindow {}
    impl ApplicationWindowImpl for ConsoleWindow {}
    impl AdwApplicationWindowImpl for ConsoleWindow {}
}

glib::wrapper! {
    pub struct ConsoleWindow(ObjectSubclass<imp::ConsoleWindow>)
        @extends gtk::Widget, gtk::Window, gtk::ApplicationWindow, adw::ApplicationWindow,
        @implements gio::ActionGroup, gio::ActionMap, gtk::Buildable, gtk::ConstraintTarget,
                    gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl ConsoleWindow {
    pub fn new(app: &impl IsA<gtk::Application>) -> Self {
        glib::Object::builder().property("application", app).build()
    }

    /// Opens the details page of the console on screen, one click from it.
    fn open_details(&self) {
        let domain = self.current_page().and_then(|page| page.domain());
        if let (Some(app), Some(domain)) = (
            self.application()
                .and_downcast::<crate::application::Application>(),
            domain,
        ) {
            app.open_details(&domain);
        }
    }

    /// Shows `domain`'s console: its existing tab, or a new one.
    pub fn open(&self, domain: &Domain) {
        let view = &self.imp().tab_view;
        let existing = (0..view.n_pages())
            .map(|index| view.nth_page(index))
            .find(|page| {
                page.child()
                    .downcast::<ConsolePage>()
                    .ok()
                    .and_then(|console| console.domain())
                    .is_some_and(|shown| shown.uuid() == domain.uuid())
            });
        let page = existing.unwrap_or_else(|| {
            let console = ConsolePage::new(domain);
            let page = view.append(&console);
            page.set_title(&domain.name());
            page.set_tooltip(&domain.host_name());
            page
        });
        view.set_selected_page(&page);
        self.present();
    }

    /// Shows the console of the VNC server at `host`:`port`: its existing tab, or a new one.
    pub fn open_address(&self, host: &str, port: u16) {
        let view = &self.imp().tab_view;
        let wanted = Some((host.to_owned(), port));
        let existing = (0..view.n_pages())
            .map(|index| view.nth_page(index))
            .find(|page| {
                page.child()
                    .downcast::<ConsolePage>()
                    .is_ok_and(|console| console.address() == wanted)
            });
        let page = existing.unwrap_or_else(|| {
            let console = ConsolePage::for_address(host, port);
            let page = view.append(&console);
            page.set_title(&display_address(host, port));
            page
        });
        view.set_selected_page(&page);
        // The first tab is selected as it is added, before it has its title.
        self.show_current_title();
        self.present();
    }

    /// The number of open consoles.
    pub fn console_count(&self) -> i32 {
        self.imp().tab_view.n_pages()
    }

    fn current_page(&self) -> Option<ConsolePage> {
        self.imp()
            .tab_view
            .selected_page()
            .and_then(|page| page.child().downcast::<ConsolePage>().ok())
    }

    fn setup(&self) {
        let imp = self.imp();
        for number in 1..=12u8 {
            let item = gio::MenuItem::new(Some(&format!("Ctrl+Alt+F{number}")), None);
            item.set_action_and_target_value(
                Some("console.send-keys"),
                Some(&format!("ctrl-alt-f{number}").to_variant()),
            );
            imp.function_keys.append_item(&item);
        }
        // Each tab brings a close button named only by its tooltip.
        imp.tab_view.connect_page_attached(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_, _, _| {
                let window = window.downgrade();
                glib::idle_add_local_once(move || {
                    if let Some(window) = window.upgrade() {
                        crate::ui::a11y::name_controls(&*window.imp().tab_bar);
                    }
                });
            }
        ));
        imp.tab_view.connect_selected_page_notify(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |_| window.show_current_title()
        ));
        imp.tab_view.connect_close_page(glib::clone!(
            #[weak(rename_to = window)]
            self,
            #[upgrade_or]
            glib::Propagation::Proceed,
            move |view, page| {
                view.close_page_finish(page, true);
                if view.n_pages() == 0 {
                    window.close();
                }
                glib::Propagation::Stop
            }
        ));
        imp.tab_view.connect_create_window(glib::clone!(
            #[weak(rename_to = window)]
            self,
            #[upgrade_or]
            None,
            move |_| {
                let app = window.application()?;
                let other = ConsoleWindow::new(&app);
                other.present();
                Some(other.imp().tab_view.get())
            }
        ));
        imp.fit_button.connect_toggled(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |button| {
                if let Some(page) = window.current_page() {
                    page.set_fit_to_window(button.is_active());
                }
            }
        ));
        imp.grab_button.connect_toggled(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |button| window.capture_shortcuts(button.is_active())
        ));
    }

    fn show_current_title(&self) {
        let imp = self.imp();
        let domain = self.current_page().and_then(|page| page.domain());
        // A tab on a bare address has no domain: its tab title is the address.
        let title = match &domain {
            Some(domain) => domain.name(),
            None => imp
                .tab_view
                .selected_page()
                .map(|page| page.title().to_string())
                .unwrap_or_default(),
        };
        imp.title.set_title(&title);
        imp.title
            .set_subtitle(&domain.as_ref().map(Domain::host_name).unwrap_or_default());
        // What window lists and screen readers call the window.
        self.set_title(Some(&crate::i18n::gettext_f(
            "{name} — Console",
            &[("name", &title)],
        )));
        if let Some(page) = self.current_page() {
            page.set_fit_to_window(imp.fit_button.is_active());
        }
    }

    /// While on, the desktop's own shortcuts (Super, Alt+Tab …) go to the guest.
    fn capture_shortcuts(&self, capture: bool) {
        let Some(toplevel) = self.surface().and_downcast::<gdk::Toplevel>() else {
            return;
        };
        if capture {
            toplevel.inhibit_system_shortcuts(None::<&gdk::Event>);
            self.toast(&gettext(
                "Keyboard shortcuts now go to the guest. Turn the keyboard button off to release them.",
            ));
        } else {
            toplevel.restore_system_shortcuts();
        }
    }

    fn toggle_fullscreen(&self) {
        let imp = self.imp();
        let fullscreen = !self.is_fullscreen();
        self.set_fullscreened(fullscreen);
        imp.header.set_visible(!fullscreen);
        imp.tab_bar.set_visible(!fullscreen);
        imp.fullscreen_bar.set_reveal_child(fullscreen);
    }

    /// Types the clipboard's text into the guest, key by key, for guests without clipboard
    /// sharing.
    fn type_clipboard(&self) {
        let Some(page) = self.current_page() else {
            return;
        };
        let clipboard = self.clipboard();
        let window = self.downgrade();
        glib::spawn_future_local(async move {
            match clipboard.read_text_future().await {
                Ok(Some(text)) => page.viewer().type_text(&text),
                _ => {
                    if let Some(window) = window.upgrade() {
                        window.toast(&gettext("The clipboard holds no text."));
                    }
                }
            }
        });
    }

    /// Saves the screen as a PNG in the Pictures folder and says where.
    fn save_screenshot(&self) {
        let Some(page) = self.current_page() else {
            return;
        };
        let name = match (page.domain(), page.address()) {
            (Some(domain), _) => domain.name(),
            (None, Some((host, port))) => display_address(&host, port),
            (None, None) => String::new(),
        };
        let folder =
            glib::user_special_dir(glib::UserDirectory::Pictures).unwrap_or_else(glib::home_dir);
        let stamp = glib::DateTime::now_local()
            .and_then(|now| now.format("%Y-%m-%d %H-%M-%S"))
            .map(|text| text.to_string())
            .unwrap_or_default();
        let path = folder.join(format!("{name} {stamp}.png").replace('/', "-"));
        let message = match page.viewer().screenshot_png(&path) {
            Ok(()) => gettext_f(
                "Screenshot saved as {path}",
                &[("path", &path.display().to_string())],
            ),
            Err(error) => gettext_f(
                "Could not save the screenshot: {error}",
                &[("error", &error)],
            ),
        };
        self.toast(&message);
    }

    fn toast(&self, message: &str) {
        self.imp().toast_overlay.add_toast(adw::Toast::new(message));
    }
}

fn combo_named(name: &str) -> Option<KeyCombo> {
    match name {
        "ctrl-alt-delete" => Some(KeyCombo::CtrlAltDelete),
        "ctrl-alt-backspace" => Some(KeyCombo::CtrlAltBackspace),
        "print-screen" => Some(KeyCombo::PrintScreen),
        other => other
            .strip_prefix("ctrl-alt-f")
            .and_then(|number| number.parse::<u8>().ok())
            .filter(|number| (1..=12).contains(number))
            .map(KeyCombo::CtrlAltF),
    }
}
