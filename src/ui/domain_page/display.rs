//! The Display section: where the VNC server listens, its port, password and keymap.

use adw::subclass::prelude::*;
use gtk::glib;

use super::Shown;
use crate::backend::domain::model::DomainModel;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/display.ui")]
    pub struct DisplaySection {}

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

    impl ObjectImpl for DisplaySection {}
    impl WidgetImpl for DisplaySection {}
    impl BoxImpl for DisplaySection {}
}

glib::wrapper! {
    pub struct DisplaySection(ObjectSubclass<imp::DisplaySection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl DisplaySection {
    /// Shows the values of `shown`; editable fields get them too (dropping unapplied edits).
    pub fn show(&self, _shown: &Shown) {}

    /// Writes the edited values into `model`.
    pub fn read_into(&self, _model: &mut DomainModel) {}

    /// Calls `changed` whenever the user edits a value.
    pub fn connect_edited(&self, _changed: impl Fn() + Clone + 'static) {}
}
