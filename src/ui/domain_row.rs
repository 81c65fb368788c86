//! A row of the domain list: state, name and title, addresses, CPU, vCPUs and memory. Rows are recycled by the list
//! view, so binding and unbinding must leave no trace of the previous domain.
//!
//! For assistive technologies the row is one element: the list item holding it is named
//! with what the row shows ("gitea, Running, 2 vCPUs, 2 GiB, 3 % CPU") and the row's own
//! labels are left out of the tree, so a screen reader reads one line per domain instead of
//! walking a dozen nested panels, and reading a long list stays quick.

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
        pub(super) title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) state_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) address_separator: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) address_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) io_separator: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) host_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) io_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) pending_spinner: TemplateChild<gtk::Spinner>,
        #[template_child]
        pub(super) cpu_graph: TemplateChild<gtk::DrawingArea>,
        #[template_child]
        pub(super) cpu_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) vcpus_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) memory_label: TemplateChild<gtk::Label>,
        pub(super) bindings: RefCell<Vec<glib::Binding>>,
        pub(super) domain: RefCell<Option<Domain>>,
        pub(super) handlers: RefCell<Vec<glib::SignalHandlerId>>,
        pub(super) show_host: std::cell::Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DomainRow {
        const NAME: &'static str = "HangarDomainRow";
        type Type = super::DomainRow;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            // The list item holding the row carries its name; see `accessible_name`.
            klass.set_accessible_role(gtk::AccessibleRole::Presentation);
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DomainRow {
        fn constructed(&self) {
            self.parent_constructed();
            let row = self.obj().downgrade();
            self.cpu_graph
                .set_draw_func(move |_, cairo, width, height| {
                    if let Some(domain) = row
                        .upgrade()
                        .and_then(|row| row.imp().domain.borrow().clone())
                    {
                        draw_sparkline(cairo, width, height, &domain.cpu_history());
                    }
                });
            // Should the row be bound before it sits in its list item, name the item then.
            self.obj()
                .connect_parent_notify(|row| row.update_accessible_name());
        }
    }
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

    /// Shows `domain` (with its host's name when `show_host`) and follows its changes until
    /// `unbind`.
    pub fn bind(&self, domain: &Domain, show_host: bool) {
        let imp = self.imp();
        imp.host_label.set_visible(show_host);
        imp.show_host.set(show_host);
        imp.domain.replace(Some(domain.clone()));
        let graph = imp.cpu_graph.downgrade();
        let mut handlers = vec![domain.connect_cpu_percent_notify(move |_| {
            if let Some(graph) = graph.upgrade() {
                graph.queue_draw();
            }
        })];
        for property in NAMED_PROPERTIES {
            let row = self.downgrade();
            handlers.push(domain.connect_notify_local(Some(property), move |_, _| {
                if let Some(row) = row.upgrade() {
                    row.update_accessible_name();
                }
            }));
        }
        imp.handlers.replace(handlers);
        imp.cpu_graph.queue_draw();
        self.update_accessible_name();
        let bindings = vec![
            domain
                .bind_property("host-name", &*imp.host_label, "label")
                .transform_to(|_, host: String| Some(format!("· {host}")))
                .sync_create()
                .build(),
            domain
                .bind_property("io-label", &*imp.io_label, "label")
                .sync_create()
                .build(),
            shown_when_set(domain, "io-label", &imp.io_separator),
            domain
                .bind_property("pending", &*imp.pending_spinner, "visible")
                .sync_create()
                .build(),
            domain
                .bind_property("pending", &*imp.pending_spinner, "spinning")
                .sync_create()
                .build(),
            domain
                .bind_property("cpu-percent", &*imp.cpu_label, "label")
                .transform_to(|_, percent: f64| {
                    Some(if percent < 0.0 {
                        "—".to_owned()
                    } else {
                        format!("{}%", rounded_percent(percent))
                    })
                })
                .sync_create()
                .build(),
            domain
                .bind_property("name", &*imp.name_label, "label")
                .sync_create()
                .build(),
            domain
                .bind_property("title", &*imp.title_label, "label")
                .sync_create()
                .build(),
            domain
                .bind_property("addresses", &*imp.address_label, "label")
                .sync_create()
                .build(),
            shown_when_set(domain, "addresses", &imp.address_separator),
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
        let imp = self.imp();
        for binding in imp.bindings.take() {
            binding.unbind();
        }
        let handlers = imp.handlers.take();
        if let Some(domain) = imp.domain.take() {
            for handler in handlers {
                domain.disconnect(handler);
            }
        }
    }

    /// Names the list item holding this row after the domain it shows.
    fn update_accessible_name(&self) {
        let Some(domain) = self.imp().domain.borrow().clone() else {
            return;
        };
        if let Some(item) = self.parent() {
            let name = accessible_name(&domain, self.imp().show_host.get());
            crate::ui::a11y::set_label(&item, &name);
        }
    }
}

/// The domain properties the accessible name reads.
const NAMED_PROPERTIES: [&str; 8] = [
    "name",
    "title",
    "state-label",
    "host-name",
    "addresses",
    "vcpus",
    "memory-kib",
    "cpu-percent",
];

/// What a sighted user reads in the row, in its order: "gitea, Running, 2 vCPUs, 2 GiB,
/// 3 % CPU". Disk and network rates are left out: they change every few seconds and would
/// drown the rest.
fn accessible_name(domain: &Domain, show_host: bool) -> String {
    let mut parts = vec![domain.name()];
    parts.extend(Some(domain.title()).filter(|title| !title.is_empty()));
    parts.push(domain.state_label());
    if show_host {
        parts.push(domain.host_name());
    }
    parts.extend(Some(domain.addresses()).filter(|addresses| !addresses.is_empty()));
    parts.push(vcpus_text(domain.vcpus()));
    parts.push(format_memory(domain.memory_kib()));
    if domain.cpu_percent() >= 0.0 {
        // xgettext:no-c-format
        parts.push(gettextrs::gettext("{percent} % CPU").replace(
            "{percent}",
            &rounded_percent(domain.cpu_percent()).to_string(),
        ));
    }
    // Translators: the separator between the parts of a virtual machine's spoken
    // description, as in "gitea, Running, 2 vCPUs".
    parts.join(&gettextrs::gettext(", "))
}

fn rounded_percent(percent: f64) -> i64 {
    percent.round() as i64
}

/// Shows a separator dot only while the text after it is not empty.
fn shown_when_set(domain: &Domain, property: &str, separator: &gtk::Label) -> glib::Binding {
    domain
        .bind_property(property, separator, "visible")
        .transform_to(|_, text: String| Some(!text.is_empty()))
        .sync_create()
        .build()
}

fn vcpus_text(count: u32) -> String {
    let template = gettextrs::ngettext("{count} vCPU", "{count} vCPUs", count);
    template.replace("{count}", &count.to_string())
}

/// Draws CPU use samples (0–100) as a filled line, newest at the right.
fn draw_sparkline(cairo: &gtk::cairo::Context, width: i32, height: i32, samples: &[f32]) {
    // Nothing to see until two samples exist, or while the guest is idle.
    if samples.len() < 2 || samples.iter().all(|sample| *sample <= 0.0) {
        return;
    }
    let (width, height) = (f64::from(width), f64::from(height));
    let step = width / (CPU_SAMPLES_SHOWN - 1) as f64;
    let start = width - step * (samples.len() - 1) as f64;
    let y = |sample: f32| height - 1.0 - (f64::from(sample) / 100.0) * (height - 2.0);
    cairo.move_to(start, height);
    for (index, sample) in samples.iter().enumerate() {
        cairo.line_to(start + step * index as f64, y(*sample));
    }
    cairo.line_to(width, height);
    cairo.close_path();
    // The accent blue of the GNOME palette, light fill under a solid line.
    cairo.set_source_rgba(0.21, 0.52, 0.89, 0.25);
    let _ = cairo.fill_preserve();
    cairo.set_source_rgba(0.21, 0.52, 0.89, 1.0);
    cairo.set_line_width(1.0);
    let _ = cairo.stroke();
}

/// The sparkline spans this many samples, so a young one grows in from the right.
const CPU_SAMPLES_SHOWN: usize = 60;
