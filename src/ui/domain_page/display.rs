//! The Display section: where the VNC server listens, its port, password and keymap.
//!
//! Every edit (a new or cleared password too) waits for the page's Apply. After an Apply
//! that set, changed or cleared the password, [`DisplaySection::applied`] keeps the keyring
//! in step, under the key the console uses, so the console opens without asking.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use super::Shown;
use crate::backend::console::open_to_network_warning;
use crate::backend::domain::fields::Field;
use crate::backend::domain::model::{DomainModel, VncListen, VncPassword, VncSettings};
use crate::backend::secrets;
use crate::i18n::gettext_f;
use crate::model::Domain;
use crate::ui::password_entry::{read_password, take_password};

/// QEMU's keymaps (`pc-bios/keymaps`).
const KEYMAPS: [&str; 34] = [
    "ar", "bepo", "cz", "da", "de", "de-ch", "en-gb", "en-us", "es", "et", "fi", "fo", "fr",
    "fr-be", "fr-ca", "fr-ch", "hr", "hu", "is", "it", "ja", "lt", "lv", "mk", "nl", "no", "pl",
    "pt", "pt-br", "ru", "sl", "sv", "th", "tr",
];

/// The fixed port shown while the port is chosen automatically.
const FIRST_VNC_PORT: u16 = 5900;

/// The listen choices the combo row offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenChoice {
    ThisMachine,
    AllAddresses,
    Given,
    HostDefault,
}

impl ListenChoice {
    fn label(self) -> String {
        match self {
            Self::ThisMachine => gettext("This machine only"),
            Self::AllAddresses => gettext("All addresses"),
            Self::Given => gettext("A given address"),
            Self::HostDefault => gettext("Host default (vnc_listen)"),
        }
    }

    /// The choice showing `listen`; `None` for a socket or no listener (shown, not edited).
    fn of(listen: &VncListen) -> Option<Self> {
        match listen {
            VncListen::HostDefault => Some(Self::HostDefault),
            VncListen::Address(address) => Some(match address.as_str() {
                "127.0.0.1" => Self::ThisMachine,
                "0.0.0.0" | "::" | "[::]" => Self::AllAddresses,
                _ => Self::Given,
            }),
            VncListen::Socket(_) | VncListen::None => None,
        }
    }
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/display.ui")]
    pub struct DisplaySection {
        #[template_child]
        pub(super) no_vnc_group: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) settings_box: TemplateChild<gtk::Box>,
        #[template_child]
        pub(super) listen_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) listen_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) listen_fixed_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) address_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) address_error: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) network_warning: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) port_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) autoport_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) port_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) port_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) port_in_use_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) port_in_use_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) password_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) password_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) set_password_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) clear_password_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) new_password_row: TemplateChild<adw::PasswordEntryRow>,
        #[template_child]
        pub(super) confirm_password_row: TemplateChild<adw::PasswordEntryRow>,
        #[template_child]
        pub(super) password_form_buttons: TemplateChild<gtk::Box>,
        #[template_child]
        pub(super) password_error: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) password_hint: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cancel_password_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) use_password_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) keymap_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) keymap_row: TemplateChild<adw::ComboRow>,
        /// The VNC settings as shown (the saved config with kept edits); `None`: no VNC.
        pub(super) shown: RefCell<Option<VncSettings>>,
        /// What the listen combo row offers, in its order.
        pub(super) choices: RefCell<Vec<ListenChoice>>,
        /// The keymap combo row's entries: `None` is "Default".
        pub(super) keymaps: RefCell<Vec<Option<String>>>,
        /// A password set or cleared on the page, waiting for Apply.
        pub(super) staged_password: RefCell<Option<VncPassword>>,
        /// The port the spin button showed after `show` (a port below 5900 shows as 5900).
        pub(super) shown_port: Cell<u16>,
        /// Set while `show` fills the controls, so that is no edit.
        pub(super) filling: Cell<bool>,
        pub(super) changed: RefCell<Option<Rc<dyn Fn()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DisplaySection {
        const NAME: &'static str = "HangarDisplaySection";
        type Type = super::DisplaySection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DisplaySection {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().setup();
        }
    }
    impl WidgetImpl for DisplaySection {}
    impl BoxImpl for DisplaySection {}
}

glib::wrapper! {
    pub struct DisplaySection(ObjectSubclass<imp::DisplaySection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl DisplaySection {
    fn setup(&self) {
        let imp = self.imp();
        let edited = glib::clone!(
            #[weak(rename_to = section)]
            self,
            move || section.edited()
        );
        let on_edit = edited.clone();
        imp.listen_row.connect_selected_notify(move |_| on_edit());
        let on_edit = edited.clone();
        imp.address_row.connect_changed(move |_| on_edit());
        let on_edit = edited.clone();
        imp.autoport_switch
            .connect_active_notify(move |_| on_edit());
        let on_edit = edited.clone();
        imp.port_spin.connect_value_changed(move |_| on_edit());
        imp.keymap_row.connect_selected_notify(move |_| edited());
        imp.set_password_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.open_password_form()
        ));
        imp.cancel_password_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.close_password_form()
        ));
        imp.use_password_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.use_typed_password()
        ));
        imp.confirm_password_row
            .connect_entry_activated(glib::clone!(
                #[weak(rename_to = section)]
                self,
                move |_| section.use_typed_password()
            ));
        imp.clear_password_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.stage_password(VncPassword::None)
        ));
    }

    /// Shows the values of `shown`; editable fields get them too (dropping unapplied edits).
    pub fn show(&self, shown: &Shown) {
        let imp = self.imp();
        imp.filling.set(true);
        imp.staged_password.replace(None);
        self.close_password_form();
        let vnc = shown.model.vnc.clone();
        imp.no_vnc_group.set_visible(vnc.is_none());
        imp.settings_box.set_visible(vnc.is_some());
        if let Some(vnc) = &vnc {
            self.show_listen(&vnc.listen);
            imp.autoport_switch.set_active(vnc.autoport);
            let fixed = vnc.port.filter(|_| !vnc.autoport);
            imp.port_spin
                .set_value(f64::from(fixed.unwrap_or(FIRST_VNC_PORT)));
            imp.shown_port.set(spin_port(&imp.port_spin));
            let live = shown.live.and_then(|live| live.vnc.as_ref());
            imp.port_in_use_row.set_visible(shown.live.is_some());
            imp.port_in_use_label
                .set_label(&match live.and_then(|l| l.port) {
                    Some(port) => port.to_string(),
                    None => gettext("None"),
                });
            self.show_keymap(vnc.keymap.as_deref());
            self.mark_after_shutdown(shown.live.is_some());
        }
        imp.shown.replace(vnc);
        imp.filling.set(false);
        self.refresh();
    }

    fn show_listen(&self, listen: &VncListen) {
        let imp = self.imp();
        let Some(choice) = ListenChoice::of(listen) else {
            imp.listen_row.set_visible(false);
            imp.listen_fixed_row.set_visible(true);
            imp.listen_fixed_row.set_subtitle(&match listen {
                VncListen::Socket(path) if !path.is_empty() => {
                    gettext_f("A Unix socket on the host: {path}", &[("path", path)])
                }
                VncListen::Socket(_) => gettext("A Unix socket on the host"),
                _ => gettext("No address: only through libvirt"),
            });
            imp.choices.replace(Vec::new());
            imp.address_row.set_text("");
            return;
        };
        imp.listen_row.set_visible(true);
        imp.listen_fixed_row.set_visible(false);
        let mut choices = vec![
            ListenChoice::ThisMachine,
            ListenChoice::AllAddresses,
            ListenChoice::Given,
        ];
        if choice == ListenChoice::HostDefault {
            choices.push(ListenChoice::HostDefault);
        }
        let labels: Vec<String> = choices.iter().map(|c| c.label()).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let position = choices.iter().position(|c| *c == choice).unwrap_or(0);
        imp.choices.replace(choices);
        imp.listen_row
            .set_model(Some(&gtk::StringList::new(&labels)));
        imp.listen_row.set_selected(position as u32);
        imp.address_row.set_text(match listen {
            VncListen::Address(address) if choice == ListenChoice::Given => address,
            _ => "",
        });
    }

    fn show_keymap(&self, keymap: Option<&str>) {
        let imp = self.imp();
        let mut keymaps: Vec<Option<String>> = std::iter::once(None)
            .chain(KEYMAPS.iter().map(|k| Some((*k).to_owned())))
            .collect();
        if let Some(keymap) = keymap.filter(|k| !KEYMAPS.contains(k)) {
            keymaps.push(Some(keymap.to_owned()));
        }
        let default = gettext("Default");
        let labels: Vec<&str> = keymaps
            .iter()
            .map(|k| k.as_deref().unwrap_or(default.as_str()))
            .collect();
        let position = keymaps
            .iter()
            .position(|k| k.as_deref() == keymap)
            .unwrap_or(0);
        imp.keymap_row
            .set_model(Some(&gtk::StringList::new(&labels)));
        imp.keymap_row.set_selected(position as u32);
        imp.keymaps.replace(keymaps);
    }

    /// While the machine runs, the groups whose changes wait for a shutdown say so.
    fn mark_after_shutdown(&self, running: bool) {
        let imp = self.imp();
        let note = gettext("Takes effect after the virtual machine shuts down");
        for (group, field) in [
            (&*imp.listen_group, Field::VncListen),
            (&*imp.port_group, Field::VncPort),
            (&*imp.password_group, Field::VncPassword),
            (&*imp.keymap_group, Field::VncKeymap),
        ] {
            let marked = running && field.needs_shutdown();
            group.set_description(marked.then_some(note.as_str()));
        }
    }

    /// Writes the edited values into `model`.
    pub fn read_into(&self, model: &mut DomainModel) {
        if let (Some(vnc), Some(edited)) = (model.vnc.as_mut(), self.edited_vnc()) {
            *vnc = edited;
        }
    }

    /// Calls `changed` whenever the user edits a value.
    pub fn connect_edited(&self, changed: impl Fn() + Clone + 'static) {
        self.imp().changed.replace(Some(Rc::new(changed)));
    }

    /// After an Apply saved `saved` over `before`: keeps the keyring's VNC password for
    /// `domain` in step with a password set, changed or cleared on the page.
    pub fn applied(&self, before: &DomainModel, saved: &DomainModel, domain: &Domain) {
        let password = |model: &DomainModel| model.vnc.as_ref().map(|v| v.password.clone());
        let new = password(saved);
        if password(before) == new {
            return;
        }
        let key = secrets::vnc_password_key(&domain.uuid());
        match new {
            Some(VncPassword::Set(password)) => {
                let label = secrets::vnc_password_label(&domain.name());
                gio::spawn_blocking(move || {
                    let _ = secrets::store_password(&key, &label, &password);
                });
            }
            _ => {
                gio::spawn_blocking(move || {
                    let _ = secrets::delete_password(&key);
                });
            }
        }
    }

    /// The shown settings with the user's edits; an address that is no IP address leaves
    /// the listen setting as shown (the page says what is wrong).
    fn edited_vnc(&self) -> Option<VncSettings> {
        let imp = self.imp();
        let shown = imp.shown.borrow().clone()?;
        let mut vnc = shown.clone();
        if let Some(choice) = self.selected_choice() {
            let address = imp.address_row.text();
            let unchanged = Some(choice) == ListenChoice::of(&shown.listen)
                && (choice != ListenChoice::Given
                    || matches!(&shown.listen, VncListen::Address(a) if *a == address.trim()));
            if !unchanged {
                vnc.listen = match choice {
                    ListenChoice::ThisMachine => VncListen::Address("127.0.0.1".to_owned()),
                    ListenChoice::AllAddresses => VncListen::Address("0.0.0.0".to_owned()),
                    ListenChoice::HostDefault => VncListen::HostDefault,
                    ListenChoice::Given => match ip_address(&address) {
                        Some(address) => VncListen::Address(address),
                        None => shown.listen.clone(),
                    },
                };
            }
        }
        imp.port_spin.update();
        let autoport = imp.autoport_switch.is_active();
        let port = spin_port(&imp.port_spin);
        if autoport != shown.autoport || (!autoport && port != imp.shown_port.get()) {
            vnc.autoport = autoport;
            if !autoport {
                vnc.port = Some(port);
            }
        }
        if let Some(staged) = imp.staged_password.borrow().as_ref() {
            vnc.password = staged.clone();
        }
        let selected = imp.keymap_row.selected() as usize;
        if let Some(keymap) = imp.keymaps.borrow().get(selected) {
            vnc.keymap.clone_from(keymap);
        }
        Some(vnc)
    }

    fn selected_choice(&self) -> Option<ListenChoice> {
        let imp = self.imp();
        if !imp.listen_row.is_visible() {
            return None;
        }
        let selected = imp.listen_row.selected() as usize;
        imp.choices.borrow().get(selected).copied()
    }

    /// A user edit: the section's own state, then the page's buttons.
    fn edited(&self) {
        if self.imp().filling.get() {
            return;
        }
        self.refresh();
        let changed = self.imp().changed.borrow().clone();
        if let Some(changed) = changed {
            changed();
        }
    }

    /// Shows what follows from the values: the address row and its error, the port's
    /// spin, the password's state and the warning about an open display.
    fn refresh(&self) {
        let imp = self.imp();
        let given = self.selected_choice() == Some(ListenChoice::Given);
        imp.address_row.set_visible(given);
        let address = imp.address_row.text();
        let error = (given && ip_address(&address).is_none()).then(|| {
            if address.trim().is_empty() {
                gettext("Type an IP address, such as 192.168.1.10.")
            } else {
                gettext_f(
                    "“{address}” is not an IP address, such as 192.168.1.10 or fd00::1.",
                    &[("address", address.trim())],
                )
            }
        });
        imp.address_error
            .set_label(error.as_deref().unwrap_or_default());
        imp.address_error.set_visible(error.is_some());
        if error.is_some() {
            imp.address_row.add_css_class("error");
        } else {
            imp.address_row.remove_css_class("error");
        }
        imp.port_row.set_sensitive(!imp.autoport_switch.is_active());
        let Some(vnc) = self.edited_vnc() else {
            imp.network_warning.set_visible(false);
            return;
        };
        let staged = matches!(
            (imp.staged_password.borrow().as_ref(), imp.shown.borrow().as_ref()),
            (Some(staged), Some(shown)) if *staged != shown.password
        );
        let status = match (vnc.password.is_set(), staged) {
            (true, false) => gettext("Set"),
            (false, false) => gettext("Not set"),
            (true, true) => gettext("Set; the new password is saved on Apply"),
            (false, true) => gettext("Not set; cleared on Apply"),
        };
        imp.password_row.set_subtitle(&status);
        let button = if vnc.password.is_set() {
            gettext("Change…")
        } else {
            gettext("Set…")
        };
        imp.set_password_button.set_label(&button);
        crate::ui::a11y::set_label(&*imp.set_password_button, &button);
        imp.clear_password_button.set_visible(vnc.password.is_set());
        let open = vnc.listens_on_all_addresses() && !vnc.password.is_set();
        imp.network_warning.set_label(&open_to_network_warning());
        imp.network_warning.set_visible(open);
    }

    fn open_password_form(&self) {
        let imp = self.imp();
        for row in [&*imp.new_password_row, &*imp.confirm_password_row] {
            row.set_text("");
            row.set_visible(true);
        }
        imp.password_error.set_label("");
        imp.password_form_buttons.set_visible(true);
        imp.password_hint.set_visible(true);
        imp.new_password_row.grab_focus();
    }

    fn close_password_form(&self) {
        let imp = self.imp();
        for row in [&*imp.new_password_row, &*imp.confirm_password_row] {
            row.set_text("");
            row.set_visible(false);
        }
        imp.password_error.set_label("");
        imp.password_form_buttons.set_visible(false);
        imp.password_hint.set_visible(false);
    }

    /// Stages the typed password when both entries agree; says why not otherwise.
    fn use_typed_password(&self) {
        let imp = self.imp();
        let password = read_password(&*imp.new_password_row);
        let confirmed = read_password(&*imp.confirm_password_row);
        let problem = if password.is_empty() {
            Some(gettext("Type the new password in both fields."))
        } else if password != confirmed {
            Some(gettext(
                "The two passwords differ. Type the same password twice.",
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            imp.password_error.set_label(&problem);
            return;
        }
        let password = take_password(&*imp.new_password_row);
        drop(take_password(&*imp.confirm_password_row));
        self.close_password_form();
        self.stage_password(VncPassword::Set(password));
    }

    fn stage_password(&self, password: VncPassword) {
        self.imp().staged_password.replace(Some(password));
        self.edited();
    }
}

fn spin_port(spin: &gtk::SpinButton) -> u16 {
    spin.value().round().clamp(0.0, f64::from(u16::MAX)) as u16
}

/// `text` as an IP address libvirt takes for `<listen address>`, or `None`.
fn ip_address(text: &str) -> Option<String> {
    let text = text.trim();
    text.parse::<IpAddr>().ok().map(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_map_to_their_choices() {
        let address = |a: &str| VncListen::Address(a.to_owned());
        assert_eq!(
            ListenChoice::of(&address("127.0.0.1")),
            Some(ListenChoice::ThisMachine)
        );
        assert_eq!(
            ListenChoice::of(&address("::")),
            Some(ListenChoice::AllAddresses)
        );
        assert_eq!(
            ListenChoice::of(&address("192.168.1.4")),
            Some(ListenChoice::Given)
        );
        assert_eq!(
            ListenChoice::of(&VncListen::HostDefault),
            Some(ListenChoice::HostDefault)
        );
        assert_eq!(ListenChoice::of(&VncListen::None), None);
    }

    #[test]
    fn only_ip_addresses_are_taken() {
        assert_eq!(ip_address(" 10.0.0.2 "), Some("10.0.0.2".to_owned()));
        assert_eq!(ip_address("fd00::1"), Some("fd00::1".to_owned()));
        assert_eq!(ip_address("example.org"), None);
        assert_eq!(ip_address("10.0.0"), None);
        assert_eq!(ip_address(""), None);
    }
}
