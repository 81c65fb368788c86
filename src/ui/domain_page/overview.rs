//! The Overview section: name, title, description, UUID, state, operating system,
//! hypervisor, machine type and firmware. Title and description are edited here.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::Shown;
use crate::backend::domain::model::{DomainModel, Firmware};

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
    impl WidgetImpl for OverviewSection {}
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
        imp.state_row.set_subtitle(&facts.state);
        let unknown = gettext("Unknown");
        imp.os_row
            .set_subtitle(facts.os_name.as_deref().unwrap_or(&unknown));
        imp.hypervisor_row.set_subtitle(&model.hypervisor);
        imp.machine_row
            .set_subtitle(model.machine.as_deref().unwrap_or(&unknown));
        imp.firmware_row
            .set_subtitle(&firmware_label(model.firmware));
    }

    /// Shows a new run state (the domain started or stopped while the page was open).
    pub fn show_state(&self, state: &str) {
        self.imp().state_row.set_subtitle(state);
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
    }
}

fn firmware_label(firmware: Firmware) -> String {
    match firmware {
        Firmware::Bios => gettext("BIOS"),
        Firmware::Uefi { secure_boot: false } => gettext("UEFI"),
        Firmware::Uefi { secure_boot: true } => gettext("UEFI with Secure Boot"),
    }
}
