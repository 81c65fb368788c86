//! The CPU and Memory sections: vCPUs at start and their maximum, memory now (the balloon)
//! and its maximum, in MiB.

use adw::subclass::prelude::*;
use gtk::glib;

use super::Shown;
use crate::backend::domain::model::DomainModel;

const KIB_PER_MIB: u64 = 1024;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/cpu_memory.ui")]
    pub struct CpuMemorySection {
        #[template_child]
        pub(super) vcpus_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) max_vcpus_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) memory_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) max_memory_spin: TemplateChild<gtk::SpinButton>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for CpuMemorySection {
        const NAME: &'static str = "HangarCpuMemorySection";
        type Type = super::CpuMemorySection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for CpuMemorySection {}
    impl WidgetImpl for CpuMemorySection {}
    impl BoxImpl for CpuMemorySection {}
}

glib::wrapper! {
    pub struct CpuMemorySection(ObjectSubclass<imp::CpuMemorySection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl CpuMemorySection {
    pub fn show(&self, shown: &Shown) {
        let (imp, model) = (self.imp(), shown.model);
        imp.vcpus_spin.set_value(f64::from(model.vcpus));
        imp.max_vcpus_spin.set_value(f64::from(model.max_vcpus));
        imp.memory_spin.set_value(mib(model.memory_kib) as f64);
        imp.max_memory_spin
            .set_value(mib(model.max_memory_kib) as f64);
    }

    /// Writes the edited values into `model`. A size that is no whole number of MiB stays
    /// as it is unless the user changed it.
    pub fn read_into(&self, model: &mut DomainModel) {
        let imp = self.imp();
        imp.vcpus_spin.update();
        imp.max_vcpus_spin.update();
        imp.memory_spin.update();
        imp.max_memory_spin.update();
        model.vcpus = spin_value(&imp.vcpus_spin) as u32;
        model.max_vcpus = spin_value(&imp.max_vcpus_spin) as u32;
        set_kib(&mut model.memory_kib, spin_value(&imp.memory_spin));
        set_kib(&mut model.max_memory_kib, spin_value(&imp.max_memory_spin));
    }

    /// Calls `changed` whenever the user edits a value.
    pub fn connect_edited(&self, changed: impl Fn() + Clone + 'static) {
        let imp = self.imp();
        for spin in [
            &imp.vcpus_spin,
            &imp.max_vcpus_spin,
            &imp.memory_spin,
            &imp.max_memory_spin,
        ] {
            let changed = changed.clone();
            spin.connect_value_changed(move |_| changed());
        }
    }
}

fn spin_value(spin: &gtk::SpinButton) -> u64 {
    spin.value().max(0.0).round() as u64
}

fn mib(kib: u64) -> u64 {
    kib / KIB_PER_MIB
}

fn set_kib(kib: &mut u64, shown_mib: u64) {
    if shown_mib != mib(*kib) {
        *kib = shown_mib * KIB_PER_MIB;
    }
}
