//! The Snapshots section: the machine's snapshots as a tree; take, revert and delete them
//! (`backend::domain::snapshots`, `snapshot_plan`).
//! Snapshot actions apply at once from their own dialogs, not through the page's Apply.

use adw::subclass::prelude::*;
use gtk::glib;

use crate::backend::domain::reading::DomainReading;
use crate::model::Domain;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/snapshots.ui")]
    pub struct SnapshotsSection {}

    #[glib::object_subclass]
    impl ObjectSubclass for SnapshotsSection {
        const NAME: &'static str = "HangarSnapshotsSection";
        type Type = super::SnapshotsSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for SnapshotsSection {}
    impl WidgetImpl for SnapshotsSection {}
    impl BoxImpl for SnapshotsSection {}
}

glib::wrapper! {
    pub struct SnapshotsSection(ObjectSubclass<imp::SnapshotsSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl SnapshotsSection {
    /// The domain whose snapshots are shown (actions run on its host's worker).
    pub fn set_domain(&self, _domain: &Domain) {}

    /// The page read the domain again: its state or disks may have changed.
    pub fn show_reading(&self, _reading: &DomainReading) {}

    /// Calls `changed` after a snapshot was taken or reverted to, so the page reads the
    /// domain again.
    pub fn connect_changed(&self, _changed: impl Fn() + 'static) {}
}
