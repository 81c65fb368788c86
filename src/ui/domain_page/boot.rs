//! The Boot section: boot order over disks, CD-ROMs and network cards, the boot menu,
//! firmware (from the host's domain capabilities) and direct kernel boot.

use adw::subclass::prelude::*;
use gtk::glib;

use super::Shown;
use crate::backend::domain::model::DomainModel;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/boot.ui")]
    pub struct BootSection {}

    #[glib::object_subclass]
    impl ObjectSubclass for BootSection {
        const NAME: &'static str = "HangarBootSection";
        type Type = super::BootSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for BootSection {}
    impl WidgetImpl for BootSection {}
    impl BoxImpl for BootSection {}
}

glib::wrapper! {
    pub struct BootSection(ObjectSubclass<imp::BootSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl BootSection {
    /// Shows the values of `shown`; editable fields get them too (dropping unapplied edits).
    pub fn show(&self, _shown: &Shown) {}

    /// Writes the edited values into `model`.
    pub fn read_into(&self, _model: &mut DomainModel) {}

    /// Calls `changed` whenever the user edits a value.
    pub fn connect_edited(&self, _changed: impl Fn() + Clone + 'static) {}
}
