//! The Performance section: CPU, memory, disk and network use of the last ten minutes as
//! graphs, fed by the bulk statistics the domain list already gets (the domain's
//! `DomainHistory`). While the section lives it keeps its host refreshing, so the graphs go
//! on even when the main window is minimized or shows another host.

use std::cell::RefCell;
use std::time::Instant;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;

use super::graph::{nice_top, GraphData, PerformanceGraph};
use crate::i18n::gettext_f;
use crate::model::domain::{format_memory, format_rate};
use crate::model::domain_history::{DomainHistory, Series};
use crate::model::{Domain, Host};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/performance.ui")]
    pub struct PerformanceSection {
        #[template_child]
        pub(super) status_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cpu_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) cpu_graph: TemplateChild<PerformanceGraph>,
        #[template_child]
        pub(super) cpu_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) memory_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) memory_graph: TemplateChild<PerformanceGraph>,
        #[template_child]
        pub(super) memory_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) disk_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) disk_graph: TemplateChild<PerformanceGraph>,
        #[template_child]
        pub(super) disk_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) net_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) net_graph: TemplateChild<PerformanceGraph>,
        #[template_child]
        pub(super) net_label: TemplateChild<gtk::Label>,
        pub(super) domain: RefCell<Option<Domain>>,
        /// The host kept refreshing for the graphs, and the handler that redraws them.
        pub(super) followed: RefCell<Option<(Host, glib::SignalHandlerId)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for PerformanceSection {
        const NAME: &'static str = "HangarPerformanceSection";
        type Type = super::PerformanceSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            PerformanceGraph::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for PerformanceSection {
        fn dispose(&self) {
            if let Some((host, handler)) = self.followed.take() {
                host.disconnect(handler);
                host.hold_polling(false);
            }
        }
    }
    impl WidgetImpl for PerformanceSection {}
    impl BoxImpl for PerformanceSection {}
}

glib::wrapper! {
    pub struct PerformanceSection(ObjectSubclass<imp::PerformanceSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl PerformanceSection {
    /// Follows `domain`'s statistics until the page goes, keeping its host refreshing.
    pub fn follow(&self, domain: &Domain) {
        let imp = self.imp();
        imp.domain.replace(Some(domain.clone()));
        if let Some((host, handler)) = imp.followed.take() {
            host.disconnect(handler);
            host.hold_polling(false);
        }
        if let Some(host) = domain.host() {
            host.hold_polling(true);
            let handler = host.connect_local(
                "domains-updated",
                false,
                glib::clone!(
                    #[weak(rename_to = section)]
                    self,
                    #[upgrade_or]
                    None,
                    move |_| {
                        section.refresh();
                        None
                    }
                ),
            );
            imp.followed.replace(Some((host, handler)));
        }
        self.refresh();
    }

    /// Shows the domain's history as it is now.
    fn refresh(&self) {
        let imp = self.imp();
        let Some(domain) = imp.domain.borrow().clone() else {
            return;
        };
        let history = domain.history();
        let groups = [
            &*imp.cpu_group,
            &*imp.memory_group,
            &*imp.disk_group,
            &*imp.net_group,
        ];
        let history = match history.as_ref() {
            Some(history) if domain.is_active() => history,
            _ => {
                for group in groups {
                    group.set_visible(false);
                }
                imp.status_label.set_label(&gettext(
                    "Statistics are shown while the virtual machine runs.",
                ));
                imp.status_label.set_visible(true);
                return;
            }
        };
        for group in groups {
            group.set_visible(true);
        }
        imp.status_label
            .set_label(&gettext("Collecting the first figures…"));
        imp.status_label.set_visible(history.is_empty());
        let now = Instant::now();
        self.show_cpu(history, domain.vcpus(), now);
        self.show_memory(history, domain.memory_kib(), now);
        let disk = [gettext("Read"), gettext("Write")];
        let not_reported = [
            gettext("This host does not report disk throughput."),
            gettext("This virtual machine has no disks."),
        ];
        let (graph, label) = (&*imp.disk_graph, &*imp.disk_label);
        let series = [Series::DiskRead, Series::DiskWrite];
        show_rates(history, series, &disk, &not_reported, (graph, label), now);
        let net = [gettext("Received"), gettext("Sent")];
        let not_reported = [
            gettext("This host does not report network throughput."),
            gettext("This virtual machine has no network cards."),
        ];
        let (graph, label) = (&*imp.net_graph, &*imp.net_label);
        let series = [Series::NetRx, Series::NetTx];
        show_rates(history, series, &net, &not_reported, (graph, label), now);
    }

    fn show_cpu(&self, history: &DomainHistory, vcpus: u32, now: Instant) {
        let imp = self.imp();
        if !history.reports(Series::Cpu) {
            // The test driver has no CPU time: a flat zero would be a lie.
            imp.cpu_graph.set_visible(false);
            show_text(
                &imp.cpu_label,
                &gettext("This host does not report CPU time, so CPU use cannot be shown."),
            );
            return;
        }
        imp.cpu_graph.set_visible(true);
        let latest = latest(history, Series::Cpu);
        let text = match latest {
            Some(percent) => {
                let words = ngettext(
                    // xgettext:no-c-format
                    "{percent} % of {count} vCPU",
                    "{percent} % of {count} vCPUs",
                    vcpus,
                );
                words
                    .replace("{percent}", &format!("{percent:.1}"))
                    .replace("{count}", &vcpus.to_string())
            }
            None => gettext("Measuring…"),
        };
        show_text(&imp.cpu_label, &text);
        set_graph(
            &imp.cpu_graph,
            GraphData {
                series: vec![history.points(Series::Cpu, now)],
                top: 100.0,
                top_label: "100 %".to_owned(),
            },
            &text,
        );
    }

    fn show_memory(&self, history: &DomainHistory, memory_kib: u64, now: Instant) {
        let imp = self.imp();
        if !history.reports(Series::Memory) {
            imp.memory_graph.set_visible(false);
            show_text(
                &imp.memory_label,
                &gettext("This host does not report the memory the guest uses."),
            );
            return;
        }
        imp.memory_graph.set_visible(true);
        let points = history.points(Series::Memory, now);
        let peak = points
            .iter()
            .map(|point| f64::from(point.1))
            .filter(|value| value.is_finite())
            .fold(memory_kib as f64, f64::max);
        let top = peak.max(1.0);
        let text = match latest(history, Series::Memory) {
            Some(used) => gettext_f(
                "{used} used of {total}",
                &[
                    ("used", &format_memory(used as u64)),
                    ("total", &format_memory(memory_kib)),
                ],
            ),
            None => gettext("Measuring…"),
        };
        show_text(&imp.memory_label, &text);
        set_graph(
            &imp.memory_graph,
            GraphData {
                series: vec![points],
                top,
                top_label: format_memory(top as u64),
            },
            &text,
        );
    }
}

/// The newest value of `series`, when it is known.
fn latest(history: &DomainHistory, series: Series) -> Option<f64> {
    history
        .latest()
        .map(|sample| f64::from(sample.value(series)))
        .filter(|value| value.is_finite())
}

/// A two-line rate graph (disk, network) with its legend: "● Read 1.2 MB/s · ● Write 0 B/s".
fn show_rates(
    history: &DomainHistory,
    series: [Series; 2],
    names: &[String; 2],
    [not_reported, no_devices]: &[String; 2],
    (graph, label): (&PerformanceGraph, &gtk::Label),
    now: Instant,
) {
    let missing = if !series.iter().any(|series| history.reports(*series)) {
        Some(not_reported)
    } else if history.device_count(series[0]) == Some(0) {
        Some(no_devices)
    } else {
        None
    };
    if let Some(sentence) = missing {
        graph.set_visible(false);
        show_text(label, sentence);
        return;
    }
    graph.set_visible(true);
    let points = series.map(|series| history.points(series, now));
    let peak = points
        .iter()
        .flatten()
        .map(|point| f64::from(point.1))
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max);
    let top = nice_top(peak);
    let values =
        series.map(|series| latest(history, series).map_or_else(|| "–".to_owned(), format_rate));
    let parts = |marked: bool| -> Vec<String> {
        (0..2)
            .map(|index| {
                let words = gettext_f(
                    "{name} {rate}",
                    &[("name", &names[index]), ("rate", &values[index])],
                );
                if marked {
                    let colour = graph.series_colour(index);
                    let words = glib::markup_escape_text(&words);
                    format!("<span foreground=\"{colour}\">●</span> {words}")
                } else {
                    words
                }
            })
            .collect()
    };
    let separator = gettext(" · ");
    let text = parts(false).join(&separator);
    label.set_markup(&parts(true).join(&glib::markup_escape_text(&separator)));
    set_graph(
        graph,
        GraphData {
            series: points.into(),
            top,
            top_label: format_rate(top),
        },
        &text,
    );
}

fn show_text(label: &gtk::Label, text: &str) {
    label.set_markup(&glib::markup_escape_text(text));
}

/// Draws `data`; the figures in words become its tooltip, which screen readers read as its
/// description.
fn set_graph(graph: &PerformanceGraph, data: GraphData, figures: &str) {
    graph.set_data(data);
    graph.set_tooltip_text(Some(figures));
}
