//! A row of the domain list: state, name, vCPUs and memory. Rows are recycled by the list
//! view, so binding and unbinding must leave no trace of the previous domain.

use std::cell::RefCell;

use adw::subclass::prelude::*;
use gtk::glib;
use gtk::prelude::*;

use crate::model::domain::format_memory;
use crate::model::Domain;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_row.ui")]
    pub struct DomainRow {
        #[template_child]
        pub(super) state_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub(super) name_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) state_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) vcpus_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) memory_label: TemplateChild<gtk::Label>,
        pub(super) bindings: RefCell<Vec<glib::Binding>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DomainRow {
        const NAME: &'static str = "HangarDomainRow";
        type Type = super::DomainRow;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DomainRow {}
    impl WidgetImpl for DomainRow {}
    impl BoxImpl for DomainRow {}
}

glib::wrapper! {
    pub struct DomainRow(ObjectSubclass<imp::DomainRow>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for DomainRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl DomainRow {
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `domain` and follows its changes until `unbind`.
    pub fn bind(&self, domain: &Domain) {
        let imp = self.imp();
        let bindings = vec![
            domain
                .bind_property("name", &*imp.name_label, "label")
                .sync_create()
                .build(),
            domain
                .bind_property("state-label", &*imp.state_label, "label")
                .sync_create()
                .build(),
            domain
                .bind_property("state-icon", &*imp.state_icon, "icon-name")
                .sync_create()
                .build(),
            domain
                .bind_property("vcpus", &*imp.vcpus_label, "label")
                .transform_to(|_, count: u32| Some(vcpus_text(count)))
                .sync_create()
                .build(),
            domain
                .bind_property("memory-kib", &*imp.memory_label, "label")
                .transform_to(|_, kib: u64| Some(format_memory(kib)))
                .sync_create()
                .build(),
        ];
        imp.bindings.replace(bindings);
    }

    pub fn unbind(&self) {
        for binding in self.imp().bindings.take() {
            binding.unbind();
        }
    }
}

fn vcpus_text(count: u32) -> String {
    let template = gettextrs::ngettext("{count} vCPU", "{count} vCPUs", count);
    template.replace("{count}", &count.to_string())
}
