//! The Devices section: every device of the machine, added, changed and removed live and
//! in the saved config as libvirt allows (`backend::domain::device_list`, `device_apply`).
//! Device changes apply at once from their own dialogs, not through the page's Apply.

use std::cell::RefCell;
use std::rc::Rc;

use adw::subclass::prelude::*;
use gtk::glib;
use gtk::prelude::*;

use crate::backend::domain::reading::DomainReading;
use crate::model::Domain;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/devices.ui")]
    pub struct DevicesSection {
        #[template_child]
        pub(super) add_button: TemplateChild<gtk::Button>,
        pub(super) domain: RefCell<Option<Domain>>,
        pub(super) reading: RefCell<Option<DomainReading>>,
        pub(super) changed: RefCell<Option<Rc<dyn Fn()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DevicesSection {
        const NAME: &'static str = "HangarDevicesSection";
        type Type = super::DevicesSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DevicesSection {
        fn constructed(&self) {
            self.parent_constructed();
            let section = self.obj().downgrade();
            self.add_button.connect_clicked(move |button| {
                let Some(section) = section.upgrade() else {
                    return;
                };
                let imp = section.imp();
                let (Some(domain), Some(reading)) =
                    (imp.domain.borrow().clone(), imp.reading.borrow().clone())
                else {
                    return;
                };
                let changed = imp.changed.borrow().clone();
                super::super::add_device::present(button, &domain, &reading, move || {
                    if let Some(changed) = &changed {
                        changed();
                    }
                });
            });
        }
    }
    impl WidgetImpl for DevicesSection {}
    impl BoxImpl for DevicesSection {}
}

glib::wrapper! {
    pub struct DevicesSection(ObjectSubclass<imp::DevicesSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl DevicesSection {
    /// The domain whose devices are shown (changes run on its host's worker).
    pub fn set_domain(&self, domain: &Domain) {
        self.imp().domain.replace(Some(domain.clone()));
    }

    /// Shows the devices of the domain as just read (saved config and running machine).
    pub fn show_reading(&self, reading: &DomainReading) {
        self.imp().reading.replace(Some(reading.clone()));
    }

    /// Calls `changed` after a device was added, changed or removed, so the page reads the
    /// domain again.
    pub fn connect_changed(&self, changed: impl Fn() + 'static) {
        self.imp().changed.replace(Some(Rc::new(changed)));
    }
}
