//! The XML section: the domain's saved config as text, saved whole after libvirt validates
//! it, with a diff of what changes shown first (`backend::domain::xml_editor`).

use adw::subclass::prelude::*;
use gtk::glib;

use crate::model::Domain;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/xml.ui")]
    pub struct XmlSection {}

    #[glib::object_subclass]
    impl ObjectSubclass for XmlSection {
        const NAME: &'static str = "HangarXmlSection";
        type Type = super::XmlSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for XmlSection {}
    impl WidgetImpl for XmlSection {}
    impl BoxImpl for XmlSection {}
}

glib::wrapper! {
    pub struct XmlSection(ObjectSubclass<imp::XmlSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl XmlSection {
    /// The domain whose XML is edited (saving runs on its host's worker).
    pub fn set_domain(&self, _domain: &Domain) {}

    /// Shows the saved config as the page read it (drops unsaved text edits).
    pub fn show_xml(&self, _config_xml: &str) {}

    /// Calls `saved` after the XML was saved, so the page reads the domain again.
    pub fn connect_saved(&self, _saved: impl Fn() + 'static) {}
}
