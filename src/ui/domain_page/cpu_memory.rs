//! The CPU and Memory section: vCPUs at start and their maximum, the CPU model and
//! topology, memory now (the balloon) and its maximum in MiB, and shared memory.
//!
//! While the machine runs, the vCPUs and the memory change live; every other setting here
//! is saved and takes effect after it shuts down, and its row says so. Values that cannot
//! go together (more vCPUs than the maximum, a topology that does not add up) are said
//! under their rows, and [`CpuMemorySection::problem`] keeps Apply from writing them.

use std::cell::{Cell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::Shown;
use crate::backend::domain::capabilities::DomainCapabilities;
use crate::backend::domain::model::{CpuMode, DomainModel, Topology};
use crate::i18n::gettext_f;
use choices::{cpu_choices, default_topology, fitting_topology};

mod choices;

const KIB_PER_MIB: u64 = 1024;
/// QEMU needs some memory to start a guest at all (as `xml::domain_edit` checks).
const MIN_MEMORY_MIB: u64 = 64;
/// The spins' limit where the host does not say (the test driver).
const VCPU_LIMIT: u32 = 4096;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/cpu_memory.ui")]
    pub struct CpuMemorySection {
        #[template_child]
        pub(super) vcpus_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) max_vcpus_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) max_vcpus_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) vcpu_problem: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) vcpu_note: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cpu_model_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) model_note: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) topology_row: TemplateChild<adw::ExpanderRow>,
        #[template_child]
        pub(super) manual_topology_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) sockets_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) dies_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) cores_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) threads_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) topology_problem_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) topology_fix_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) memory_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) memory_gib: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) max_memory_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) max_memory_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub(super) max_memory_gib: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) shared_memory_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) shared_memory_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) memory_problem: TemplateChild<gtk::Label>,
        /// The CPU modes the model row offers, in its order.
        pub(super) choices: RefCell<Vec<CpuMode>>,
        /// Whether the machine runs: after-shutdown rows say so, the vCPUs go live.
        pub(super) running: Cell<bool>,
        /// The running machine's maximum, up to which vCPUs can be added live.
        pub(super) live_max_vcpus: Cell<Option<u32>>,
        /// The most vCPUs the machine type allows, when the host says.
        pub(super) vcpu_cap: Cell<Option<u32>>,
        /// The maximum as shown, which stays allowed even beyond the cap.
        pub(super) shown_max_vcpus: Cell<u32>,
        /// Set while `show` fills the controls: nothing is adjusted for the user then.
        pub(super) showing: Cell<bool>,
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

    impl ObjectImpl for CpuMemorySection {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().setup();
        }
    }
    impl WidgetImpl for CpuMemorySection {}
    impl BoxImpl for CpuMemorySection {}
}

glib::wrapper! {
    pub struct CpuMemorySection(ObjectSubclass<imp::CpuMemorySection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl CpuMemorySection {
    fn spins(&self) -> [&gtk::SpinButton; 8] {
        let imp = self.imp();
        [
            &imp.vcpus_spin,
            &imp.max_vcpus_spin,
            &imp.sockets_spin,
            &imp.dies_spin,
            &imp.cores_spin,
            &imp.threads_spin,
            &imp.memory_spin,
            &imp.max_memory_spin,
        ]
    }

    fn setup(&self) {
        let imp = self.imp();
        let refresh = glib::clone!(
            #[weak(rename_to = section)]
            self,
            move || section.refresh()
        );
        for spin in self.spins() {
            let refresh = refresh.clone();
            spin.connect_value_changed(move |_| refresh());
        }
        imp.manual_topology_switch
            .connect_active_notify(glib::clone!(
                #[weak(rename_to = section)]
                self,
                move |switch| {
                    // Turned on: start from numbers that add up to the maximum.
                    let by_user = !section.imp().showing.get();
                    if by_user && switch.is_active() && section.topology_problem().is_some() {
                        section.fix_topology();
                    }
                    section.refresh();
                }
            ));
        imp.topology_fix_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.fix_topology()
        ));
    }

    pub fn show(&self, shown: &Shown) {
        let (imp, model) = (self.imp(), shown.model);
        imp.showing.set(true);
        imp.running.set(shown.live.is_some());
        imp.live_max_vcpus
            .set(shown.live.map(|live| live.max_vcpus));
        let cap = shown.capabilities.and_then(|caps| caps.max_vcpus);
        imp.vcpu_cap.set(cap);
        imp.shown_max_vcpus.set(model.max_vcpus);
        // A maximum beyond the host's limit (set elsewhere) is shown as it is.
        let limit = cap
            .unwrap_or(VCPU_LIMIT)
            .max(model.max_vcpus)
            .max(model.vcpus);
        for spin in [&imp.vcpus_spin, &imp.max_vcpus_spin] {
            spin.adjustment().set_upper(f64::from(limit));
        }
        imp.vcpus_spin.set_value(f64::from(model.vcpus));
        imp.max_vcpus_spin.set_value(f64::from(model.max_vcpus));
        // The switch first: while it is off, the spins follow the maximum.
        imp.manual_topology_switch
            .set_active(model.topology.is_some());
        let topology = model
            .topology
            .unwrap_or_else(|| default_topology(model.max_vcpus));
        self.show_topology(&topology);
        self.show_cpu_modes(&model.cpu_mode, shown.capabilities);
        imp.memory_spin.set_value(mib(model.memory_kib) as f64);
        imp.max_memory_spin
            .set_value(mib(model.max_memory_kib) as f64);
        imp.shared_memory_switch.set_active(model.shared_memory);
        let running = imp.running.get();
        mark(&imp.max_vcpus_row, None, running);
        mark(
            imp.cpu_model_row.upcast_ref(),
            Some(gettext(
                "Host passthrough is fastest, but the machine then cannot move to a host with another CPU; a named model can.",
            )),
            running,
        );
        mark(&imp.max_memory_row, None, running);
        mark(
            &imp.shared_memory_row,
            Some(gettext("Needed for shared folders (virtiofs)")),
            running,
        );
        imp.showing.set(false);
        self.refresh();
    }

    /// Writes the edited values into `model`. A size that is no whole number of MiB stays
    /// as it is unless the user changed it.
    pub fn read_into(&self, model: &mut DomainModel) {
        let imp = self.imp();
        for spin in self.spins() {
            spin.update();
        }
        model.vcpus = spin_value(&imp.vcpus_spin) as u32;
        model.max_vcpus = spin_value(&imp.max_vcpus_spin) as u32;
        model.topology = imp
            .manual_topology_switch
            .is_active()
            .then(|| self.shown_topology());
        let chosen = imp
            .choices
            .borrow()
            .get(imp.cpu_model_row.selected() as usize)
            .cloned();
        if let Some(mode) = chosen {
            model.cpu_mode = mode;
        }
        set_kib(&mut model.memory_kib, spin_value(&imp.memory_spin));
        set_kib(&mut model.max_memory_kib, spin_value(&imp.max_memory_spin));
        model.shared_memory = imp.shared_memory_switch.is_active();
    }

    /// Calls `changed` whenever the user edits a value.
    pub fn connect_edited(&self, changed: impl Fn() + Clone + 'static) {
        let imp = self.imp();
        for spin in self.spins() {
            let changed = changed.clone();
            spin.connect_value_changed(move |_| changed());
        }
        for switch in [&imp.manual_topology_switch, &imp.shared_memory_switch] {
            let changed = changed.clone();
            switch.connect_active_notify(move |_| changed());
        }
        imp.cpu_model_row
            .connect_selected_notify(move |_| changed());
    }

    /// Why the values shown cannot be applied, as the sentence shown under their row.
    pub fn problem(&self) -> Option<String> {
        self.vcpu_problem()
            .or_else(|| self.topology_problem())
            .or_else(|| self.memory_problem())
    }

    fn vcpu_problem(&self) -> Option<String> {
        let imp = self.imp();
        let (vcpus, max) = (spin_value(&imp.vcpus_spin), spin_value(&imp.max_vcpus_spin));
        let beyond_cap = imp
            .vcpu_cap
            .get()
            .filter(|&cap| max > u64::from(cap) && max != u64::from(imp.shown_max_vcpus.get()));
        if let Some(cap) = beyond_cap {
            Some(gettext_f(
                "This machine type allows at most {max} vCPUs.",
                &[("max", &cap.to_string())],
            ))
        } else if vcpus > max {
            Some(gettext(
                "The vCPUs at start cannot be more than the maximum.",
            ))
        } else {
            None
        }
    }

    fn topology_problem(&self) -> Option<String> {
        let imp = self.imp();
        if !imp.manual_topology_switch.is_active() {
            return None;
        }
        let total = self.shown_topology().vcpus();
        let max = spin_value(&imp.max_vcpus_spin);
        (total != max).then(|| {
            gettext_f(
                "Sockets × dies × cores × threads is {total}, but the maximum is {max} vCPUs: they must be equal.",
                &[("total", &total.to_string()), ("max", &max.to_string())],
            )
        })
    }

    fn memory_problem(&self) -> Option<String> {
        let imp = self.imp();
        let (memory, max) = (
            spin_value(&imp.memory_spin),
            spin_value(&imp.max_memory_spin),
        );
        if max < MIN_MEMORY_MIB {
            Some(gettext(
                "A virtual machine needs at least 64 MiB of memory.",
            ))
        } else if memory > max {
            Some(gettext(
                "The current memory cannot be more than the maximum.",
            ))
        } else {
            None
        }
    }

    /// Brings the sentences, hints and the topology rows in line with the values shown.
    fn refresh(&self) {
        let imp = self.imp();
        show_sentence(&imp.vcpu_problem, self.vcpu_problem());
        let vcpus = spin_value(&imp.vcpus_spin);
        let live_note = imp
            .live_max_vcpus
            .get()
            .filter(|&live_max| imp.running.get() && vcpus > u64::from(live_max))
            .map(|live_max| {
                gettext_f(
                    "While it runs, the virtual machine can have at most {max} vCPUs; the others are added when it next starts.",
                    &[("max", &live_max.to_string())],
                )
            });
        show_sentence(&imp.vcpu_note, live_note);
        let manual = imp.manual_topology_switch.is_active();
        if !manual {
            // libvirt's default follows the maximum.
            self.show_topology(&default_topology(spin_value(&imp.max_vcpus_spin) as u32));
        }
        for spin in [
            &imp.sockets_spin,
            &imp.dies_spin,
            &imp.cores_spin,
            &imp.threads_spin,
        ] {
            spin.set_sensitive(manual);
        }
        let topology_problem = self.topology_problem();
        imp.topology_problem_row
            .set_visible(topology_problem.is_some());
        if let Some(problem) = &topology_problem {
            imp.topology_problem_row.set_title(problem);
            let fit = fitting_topology(
                &self.shown_topology(),
                spin_value(&imp.max_vcpus_spin) as u32,
            );
            imp.topology_fix_button.set_label(&gettext_f(
                "Use {sockets} × {dies} × {cores} × {threads}",
                &[
                    ("sockets", &fit.sockets.to_string()),
                    ("dies", &fit.dies.to_string()),
                    ("cores", &fit.cores.to_string()),
                    ("threads", &fit.threads.to_string()),
                ],
            ));
        }
        let summary = if manual {
            let shown = self.shown_topology();
            gettext_f(
                "Sockets × dies × cores × threads: {sockets} × {dies} × {cores} × {threads}",
                &[
                    ("sockets", &shown.sockets.to_string()),
                    ("dies", &shown.dies.to_string()),
                    ("cores", &shown.cores.to_string()),
                    ("threads", &shown.threads.to_string()),
                ],
            )
        } else {
            gettext("libvirt’s default: one socket, one core per vCPU")
        };
        imp.topology_row
            .set_subtitle(&with_shutdown_note(Some(summary), imp.running.get()));
        show_gib(&imp.memory_gib, spin_value(&imp.memory_spin));
        show_gib(&imp.max_memory_gib, spin_value(&imp.max_memory_spin));
        show_sentence(&imp.memory_problem, self.memory_problem());
    }

    fn shown_topology(&self) -> Topology {
        let imp = self.imp();
        Topology {
            sockets: spin_value(&imp.sockets_spin) as u32,
            dies: spin_value(&imp.dies_spin) as u32,
            cores: spin_value(&imp.cores_spin) as u32,
            threads: spin_value(&imp.threads_spin) as u32,
        }
    }

    fn show_topology(&self, topology: &Topology) {
        let imp = self.imp();
        imp.sockets_spin.set_value(f64::from(topology.sockets));
        imp.dies_spin.set_value(f64::from(topology.dies));
        imp.cores_spin.set_value(f64::from(topology.cores));
        imp.threads_spin.set_value(f64::from(topology.threads));
    }

    /// Sets the topology to numbers whose product is the maximum, keeping what it can.
    fn fix_topology(&self) {
        let max = spin_value(&self.imp().max_vcpus_spin) as u32;
        self.show_topology(&fitting_topology(&self.shown_topology(), max));
    }

    /// Offers the modes and models the host has, with `current` chosen.
    fn show_cpu_modes(&self, current: &CpuMode, caps: Option<&DomainCapabilities>) {
        let imp = self.imp();
        // A host that lists no CPU modes at all (the test driver) cannot say.
        let caps = caps.filter(|caps| {
            caps.host_passthrough
                || caps.host_model.is_some()
                || caps.maximum
                || !caps.usable_models.is_empty()
        });
        let choices = cpu_choices(current, caps);
        let labels: Vec<&str> = choices.iter().map(|(_, label)| label.as_str()).collect();
        let position = choices
            .iter()
            .position(|(mode, _)| mode == current)
            .unwrap_or(0);
        imp.choices
            .replace(choices.iter().map(|(mode, _)| mode.clone()).collect());
        imp.cpu_model_row
            .set_model(Some(&gtk::StringList::new(&labels)));
        imp.cpu_model_row.set_selected(position as u32);
        let no_passthrough = caps.is_some_and(|caps| !caps.host_passthrough);
        show_sentence(
            &imp.model_note,
            no_passthrough.then(|| {
                gettext(
                    "Host passthrough is unavailable: it needs hardware virtualisation (KVM), which this host does not offer this machine.",
                )
            }),
        );
    }
}

/// Sets a row's subtitle to `base`, with the after-shutdown note while the machine runs.
fn mark(row: &adw::ActionRow, base: Option<String>, running: bool) {
    row.set_subtitle(&with_shutdown_note(base, running));
}

fn with_shutdown_note(base: Option<String>, running: bool) -> String {
    let note = running.then(|| gettext("Takes effect after the virtual machine shuts down"));
    match (base, note) {
        (Some(base), Some(note)) => format!("{base}\n{note}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => String::new(),
    }
}

fn show_sentence(label: &gtk::Label, sentence: Option<String>) {
    label.set_label(sentence.as_deref().unwrap_or_default());
    label.set_visible(sentence.is_some());
}

/// "4 GiB" beside a size in MiB of a GiB or more.
fn show_gib(label: &gtk::Label, mib: u64) {
    let text = (mib >= KIB_PER_MIB).then(|| {
        let size = if mib % KIB_PER_MIB == 0 {
            (mib / KIB_PER_MIB).to_string()
        } else {
            format!("{:.1}", mib as f64 / KIB_PER_MIB as f64)
        };
        gettext_f("{size} GiB", &[("size", &size)])
    });
    show_sentence(label, text);
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
