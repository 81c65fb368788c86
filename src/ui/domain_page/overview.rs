//! The Overview section: name, title, description, UUID, state and since when, operating
//! system, hypervisor, machine type, firmware and autostart. Title, description and
//! autostart are edited here.

use std::cell::RefCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;

use super::Shown;
use crate::backend::domain::model::{DomainModel, Firmware};
use crate::i18n::gettext_f;

/// How often "for 3 minutes" is brought up to date while the section is on screen.
const STATE_TICK_SECONDS: u32 = 30;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/overview.ui")]
    pub struct OverviewSection {
        #[template_child]
        pub(super) name_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) title_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) description_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) uuid_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) state_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) os_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) hypervisor_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) machine_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) firmware_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) autostart_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) autostart_switch: TemplateChild<gtk::Switch>,
        /// The state in words and when Hangar saw it begin, if it did.
        pub(super) state: RefCell<(String, Option<glib::DateTime>)>,
        /// Brings the state's age up to date while the section is mapped.
        pub(super) tick: RefCell<Option<glib::SourceId>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for OverviewSection {
        const NAME: &'static str = "HangarOverviewSection";
        type Type = super::OverviewSection;
        type ParentType = adw::PreferencesGroup;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for OverviewSection {}

    impl WidgetImpl for OverviewSection {
        fn map(&self) {
            self.parent_map();
            self.obj().render_state();
            let section = self.obj().downgrade();
            let tick = glib::timeout_add_seconds_local(STATE_TICK_SECONDS, move || {
                match section.upgrade() {
                    Some(section) => {
                        section.render_state();
                        glib::ControlFlow::Continue
                    }
                    None => glib::ControlFlow::Break,
                }
            });
            if let Some(old) = self.tick.replace(Some(tick)) {
                old.remove();
            }
        }

        fn unmap(&self) {
            if let Some(tick) = self.tick.take() {
                tick.remove();
            }
            self.parent_unmap();
        }
    }
    impl PreferencesGroupImpl for OverviewSection {}
}

glib::wrapper! {
    pub struct OverviewSection(ObjectSubclass<imp::OverviewSection>)
        @extends gtk::Widget, adw::PreferencesGroup,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl OverviewSection {
    /// Shows `model`'s values; the editable fields get them too (dropping unapplied edits).
    pub fn show(&self, shown: &Shown) {
        let (imp, model, facts) = (self.imp(), shown.model, shown);
        imp.name_row.set_subtitle(&model.name);
        imp.title_row.set_text(&model.title);
        imp.description_row.set_text(&model.description);
        imp.uuid_row.set_subtitle(&model.uuid);
        self.show_state(&facts.state, facts.state_since.clone());
        let unknown = gettext("Unknown");
        imp.os_row
            .set_subtitle(facts.os_name.as_deref().unwrap_or(&unknown));
        imp.hypervisor_row.set_subtitle(&model.hypervisor);
        imp.machine_row
            .set_subtitle(model.machine.as_deref().unwrap_or(&unknown));
        imp.firmware_row
            .set_subtitle(&firmware_label(model.firmware));
    }

    /// Shows a new run state (the domain started or stopped while the page was open), and
    /// since when when Hangar saw it begin.
    pub fn show_state(&self, state: &str, since: Option<glib::DateTime>) {
        self.imp().state.replace((state.to_owned(), since));
        self.render_state();
    }

    fn render_state(&self) {
        let state = self.imp().state.borrow();
        let text = match glib::DateTime::now_local() {
            Ok(now) => state_text(&state.0, state.1.as_ref(), &now),
            Err(_) => state.0.clone(),
        };
        self.imp().state_row.set_subtitle(&text);
    }

    /// Shows whether the domain starts with its host; `None` where the host cannot say (the
    /// switch is then off and cannot be changed).
    pub fn show_autostart(&self, autostart: Option<bool>) {
        let imp = self.imp();
        imp.autostart_switch.set_active(autostart.unwrap_or(false));
        imp.autostart_row.set_sensitive(autostart.is_some());
    }

    /// The autostart the user wants.
    pub fn autostart(&self) -> bool {
        self.imp().autostart_switch.is_active()
    }

    /// Writes the edited fields into `model`.
    pub fn read_into(&self, model: &mut DomainModel) {
        model.title = self.imp().title_row.text().to_string();
        model.description = self.imp().description_row.text().to_string();
    }

    /// Calls `changed` whenever the user edits a field.
    pub fn connect_edited(&self, changed: impl Fn() + Clone + 'static) {
        for row in [&self.imp().title_row, &self.imp().description_row] {
            let changed = changed.clone();
            row.connect_changed(move |_| changed());
        }
        self.imp()
            .autostart_switch
            .connect_active_notify(move |_| changed());
    }
}

/// "Running · for 3 minutes", "Shut off · since 14:02"; only the state when Hangar did not
/// see it begin.
fn state_text(state: &str, since: Option<&glib::DateTime>, now: &glib::DateTime) -> String {
    let Some(since) = since else {
        return state.to_owned();
    };
    let minutes = now.difference(since).as_minutes().max(0);
    if minutes < 1 {
        return gettext_f("{state} · for less than a minute", &[("state", state)]);
    }
    if minutes < 60 {
        let count = u32::try_from(minutes).unwrap_or(u32::MAX);
        return ngettext(
            "{state} · for {count} minute",
            "{state} · for {count} minutes",
            count,
        )
        .replace("{state}", state)
        .replace("{count}", &minutes.to_string());
    }
    let format = if since.ymd() == now.ymd() {
        "%H:%M"
    } else {
        "%x %H:%M"
    };
    match since.format(format) {
        Ok(time) => gettext_f(
            "{state} · since {time}",
            &[("state", state), ("time", &time)],
        ),
        Err(_) => state.to_owned(),
    }
}

fn firmware_label(firmware: Firmware) -> String {
    match firmware {
        Firmware::Bios => gettext("BIOS"),
        Firmware::Uefi { secure_boot: false } => gettext("UEFI"),
        Firmware::Uefi { secure_boot: true } => gettext("UEFI with Secure Boot"),
    }
}

#[cfg(test)]
mod tests {
    use super::state_text;
    use gtk::glib;

    fn at(day: i32, hour: i32, minute: i32) -> glib::DateTime {
        glib::DateTime::from_utc(2026, 12, day, hour, minute, 0.0).expect("a valid time")
    }

    #[test]
    fn the_state_says_since_when_only_when_known() {
        let now = at(8, 14, 30);
        assert_eq!(state_text("Running", None, &now), "Running");
        assert_eq!(
            state_text("Running", Some(&at(8, 14, 30)), &now),
            "Running · for less than a minute"
        );
        assert_eq!(
            state_text("Shut off", Some(&at(8, 14, 27)), &now),
            "Shut off · for 3 minutes"
        );
        assert_eq!(
            state_text("Running", Some(&at(8, 14, 29)), &now),
            "Running · for 1 minute"
        );
        assert_eq!(
            state_text("Running", Some(&at(8, 9, 5)), &now),
            "Running · since 09:05"
        );
        assert!(state_text("Paused", Some(&at(7, 9, 5)), &now).ends_with("09:05"));
    }
}
