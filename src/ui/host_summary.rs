//! One host at a glance: its hardware and software, CPU and memory use over time, its
//! virtual machines by state, its storage pools and networks.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;

use super::usage_graph::UsageGraph;
use crate::backend::summary::{HostSummary, NetworkSummary, PoolSummary};
use crate::i18n::gettext_f;
use crate::model::domain::{format_memory, state_label};
use crate::model::Host;

/// How often the page asks for a fresh summary while it is on screen.
const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// How long an unanswered request keeps the page from asking again.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Share of a pool's capacity past which its bar turns to the warning colour.
const POOL_NEARLY_FULL: f64 = 0.9;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/host_summary.ui")]
    pub struct HostSummaryPage {
        #[template_child]
        pub(super) hostname_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) libvirt_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) hypervisor_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cpu_model_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cpus_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) memory_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cpu_usage_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) memory_usage_value: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) cpu_graph: TemplateChild<UsageGraph>,
        #[template_child]
        pub(super) memory_graph: TemplateChild<UsageGraph>,
        #[template_child]
        pub(super) domains_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) pools_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) networks_group: TemplateChild<adw::PreferencesGroup>,
        pub(super) domain_rows: RefCell<Vec<InfoRow>>,
        pub(super) pool_rows: RefCell<Vec<InfoRow>>,
        pub(super) network_rows: RefCell<Vec<InfoRow>>,
        /// Weak, so a host removed from Hangar is not kept alive (and connected) by the page.
        pub(super) host: glib::WeakRef<Host>,
        pub(super) summary_handler: RefCell<Option<glib::SignalHandlerId>>,
        pub(super) timer: RefCell<Option<glib::SourceId>>,
        /// When the unanswered request went out; a slow or hung host gets no pile of them.
        pub(super) asked_at: Cell<Option<Instant>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for HostSummaryPage {
        const NAME: &'static str = "HangarHostSummaryPage";
        type Type = super::HostSummaryPage;
        type ParentType = adw::PreferencesPage;

        fn class_init(klass: &mut Self::Class) {
            UsageGraph::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for HostSummaryPage {
        fn dispose(&self) {
            self.obj().stop_polling();
            self.obj().forget_host();
        }
    }

    impl WidgetImpl for HostSummaryPage {
        fn map(&self) {
            self.parent_map();
            self.obj().start_polling();
        }

        fn unmap(&self) {
            self.obj().stop_polling();
            self.parent_unmap();
        }
    }

    impl PreferencesPageImpl for HostSummaryPage {}
}

glib::wrapper! {
    pub struct HostSummaryPage(ObjectSubclass<imp::HostSummaryPage>)
        @extends gtk::Widget, adw::PreferencesPage,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for HostSummaryPage {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl HostSummaryPage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `host`, or nothing. The page asks the host for a summary now and every two
    /// seconds while it is on screen.
    pub fn set_host(&self, host: Option<&Host>) {
        if self.host().as_ref() == host {
            return;
        }
        self.stop_polling();
        self.forget_host();
        self.imp().cpu_graph.clear();
        self.imp().memory_graph.clear();
        self.imp().asked_at.set(None);
        self.imp().host.set(host);
        let Some(host) = host else {
            self.show_summary(None);
            return;
        };
        let handler = host.connect_summary_updated(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |host| page.on_summary(host)
        ));
        self.imp().summary_handler.replace(Some(handler));
        self.show_summary(host.summary().as_ref());
        if WidgetExt::is_mapped(self) {
            self.start_polling();
        }
    }

    pub fn host(&self) -> Option<Host> {
        self.imp().host.upgrade()
    }

    /// Samples the graphs hold now, oldest first (CPU, memory), for tests.
    pub fn usage_history(&self) -> (Vec<f64>, Vec<f64>) {
        (
            self.imp().cpu_graph.samples(),
            self.imp().memory_graph.samples(),
        )
    }

    fn forget_host(&self) {
        let handler = self.imp().summary_handler.take();
        if let (Some(host), Some(handler)) = (self.host(), handler) {
            host.disconnect(handler);
        }
        self.imp().host.set(None);
    }

    fn start_polling(&self) {
        let Some(host) = self.host() else {
            return;
        };
        if self.imp().timer.borrow().is_some() {
            return;
        }
        self.ask(&host);
        let page = self.downgrade();
        let timer = glib::timeout_add_local(REFRESH_INTERVAL, move || {
            let Some(page) = page.upgrade() else {
                return glib::ControlFlow::Break;
            };
            if let Some(host) = page.host() {
                page.ask(&host);
            }
            glib::ControlFlow::Continue
        });
        self.imp().timer.replace(Some(timer));
    }

    /// Asks for a summary unless the last request is still unanswered (but not forgotten).
    fn ask(&self, host: &Host) {
        let waiting = self
            .imp()
            .asked_at
            .get()
            .is_some_and(|asked| asked.elapsed() < ANSWER_TIMEOUT);
        if !waiting {
            self.imp().asked_at.set(Some(Instant::now()));
            host.fetch_summary();
        }
    }

    fn stop_polling(&self) {
        if let Some(timer) = self.imp().timer.take() {
            timer.remove();
        }
    }

    fn on_summary(&self, host: &Host) {
        self.imp().asked_at.set(None);
        let Some(summary) = host.summary() else {
            return;
        };
        if let Some(share) = summary.cpu_usage {
            self.imp().cpu_graph.push(share);
        }
        if let Some(share) = summary.memory_usage() {
            self.imp().memory_graph.push(share);
        }
        self.show_summary(Some(&summary));
    }

    fn show_summary(&self, summary: Option<&HostSummary>) {
        let imp = self.imp();
        let fallback = HostSummary::default();
        let summary = summary.unwrap_or(&fallback);
        imp.hostname_value.set_label(&summary.hostname);
        imp.libvirt_value.set_label(&summary.libvirt_version);
        imp.hypervisor_value.set_label(&summary.hypervisor);
        imp.cpu_model_value.set_label(&summary.cpu_model);
        imp.cpus_value.set_label(&cpus_text(summary));
        imp.memory_value.set_label(&memory_text(summary));
        imp.cpu_usage_value
            .set_label(&usage_text(summary.cpu_usage));
        imp.memory_usage_value
            .set_label(&usage_text(summary.memory_usage()));
        self.show_rows(summary);
    }

    fn show_rows(&self, summary: &HostSummary) {
        let imp = self.imp();
        let domains: Vec<RowContent> = summary
            .domains_by_state
            .iter()
            .map(|(state, count)| RowContent::value(state_label(*state), count.to_string()))
            .collect();
        sync_rows(&imp.domains_group, &imp.domain_rows, &domains);
        let pools: Vec<RowContent> = summary.pools.iter().map(pool_content).collect();
        sync_rows(&imp.pools_group, &imp.pool_rows, &pools);
        let networks: Vec<RowContent> = summary.networks.iter().map(network_content).collect();
        sync_rows(&imp.networks_group, &imp.network_rows, &networks);
        let has_host = !summary.hostname.is_empty();
        imp.pools_group.set_description(
            (has_host && pools.is_empty())
                .then(|| gettext("No storage pools"))
                .as_deref(),
        );
        imp.networks_group.set_description(
            (has_host && networks.is_empty())
                .then(|| gettext("No networks"))
                .as_deref(),
        );
    }
}

/// "16 (1 socket × 8 cores × 2 threads)"; empty before the first summary.
fn cpus_text(summary: &HostSummary) -> String {
    if summary.cpus == 0 {
        return String::new();
    }
    let (sockets, cores, threads) = (
        summary.sockets,
        summary.cores_per_socket,
        summary.threads_per_core,
    );
    let sockets = with_count(
        ngettext("{count} socket", "{count} sockets", sockets),
        sockets,
    );
    let cores = with_count(ngettext("{count} core", "{count} cores", cores), cores);
    let threads = with_count(
        ngettext("{count} thread", "{count} threads", threads),
        threads,
    );
    gettext_f(
        "{cpus} ({sockets} × {cores} × {threads})",
        &[
            ("cpus", &summary.cpus.to_string()),
            ("sockets", &sockets),
            ("cores", &cores),
            ("threads", &threads),
        ],
    )
}

fn with_count(text: String, count: u32) -> String {
    text.replace("{count}", &count.to_string())
}

/// "128 GiB, 97 GiB free", or just the total when the host does not say what is free.
fn memory_text(summary: &HostSummary) -> String {
    if summary.memory_total_kib == 0 {
        return String::new();
    }
    let total = format_memory(summary.memory_total_kib);
    match summary.memory_free_kib {
        Some(free) => gettext_f(
            "{total}, {free} free",
            &[("total", &total), ("free", &format_memory(free))],
        ),
        None => total,
    }
}

/// "23%", or a dash while the host has not said (some never do, like the demo host).
fn usage_text(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), percent_text)
}

fn percent_text(share: f64) -> String {
    let percent = (share * 100.0).round().to_string();
    gettext_f("{percent}%", &[("percent", &percent)])
}

fn active_text(active: bool) -> String {
    if active {
        gettext("Active")
    } else {
        gettext("Inactive")
    }
}

/// "Active · 77.2 GiB of 100 GiB used", with a bar of the used share.
fn pool_content(pool: &PoolSummary) -> RowContent {
    let mut parts = vec![active_text(pool.active)];
    let mut level = None;
    if pool.capacity_bytes > 0 {
        parts.push(gettext_f(
            "{used} of {capacity} used",
            &[
                ("used", &format_memory(pool.allocation_bytes / 1024)),
                ("capacity", &format_memory(pool.capacity_bytes / 1024)),
            ],
        ));
        level = Some(pool.allocation_bytes as f64 / pool.capacity_bytes as f64);
    }
    RowContent {
        title: pool.name.clone(),
        subtitle: parts.join(" · "),
        value: String::new(),
        level,
    }
}

/// "Active · NAT · 192.168.122.1/24 · virbr0".
fn network_content(network: &NetworkSummary) -> RowContent {
    let mut parts = vec![
        active_text(network.active),
        forward_mode_text(&network.forward_mode),
    ];
    parts.extend(network.ipv4.iter().cloned());
    parts.extend(network.bridge.iter().cloned());
    RowContent {
        title: network.name.clone(),
        subtitle: parts.join(" · "),
        value: String::new(),
        level: None,
    }
}

fn forward_mode_text(mode: &str) -> String {
    match mode {
        "nat" => gettext("NAT"),
        "route" => gettext("Routed"),
        "open" => gettext("Open (no firewall rules)"),
        "bridge" => gettext("Bridged"),
        "isolated" => gettext("Isolated"),
        "passthrough" | "private" | "vepa" | "hostdev" => gettext("Direct to a host device"),
        other => other.to_owned(),
    }
}

/// What one row of a changing group shows.
#[derive(Debug, Clone, PartialEq)]
struct RowContent {
    title: String,
    subtitle: String,
    value: String,
    /// A share (0.0–1.0) shown as a bar, for things that fill up.
    level: Option<f64>,
}

impl RowContent {
    fn value(title: String, value: String) -> Self {
        Self {
            title,
            subtitle: String::new(),
            value,
            level: None,
        }
    }
}

/// A row with room for a value and a bar, reused from one summary to the next so focus and
/// screen readers do not lose their place every two seconds.
pub(super) struct InfoRow {
    row: adw::ActionRow,
    value: gtk::Label,
    level: gtk::LevelBar,
}

impl InfoRow {
    fn new() -> Self {
        let row = adw::ActionRow::new();
        // Names come from the host; they are text, never markup.
        row.set_use_markup(false);
        let value = gtk::Label::new(None);
        value.add_css_class("dim-label");
        value.add_css_class("numeric");
        let level = level_bar();
        row.add_suffix(&value);
        row.add_suffix(&level);
        Self { row, value, level }
    }

    fn show(&self, content: &RowContent) {
        self.row.set_title(&content.title);
        self.row.set_subtitle(&content.subtitle);
        self.value.set_label(&content.value);
        self.value.set_visible(!content.value.is_empty());
        self.level.set_visible(content.level.is_some());
        self.level
            .set_value(content.level.unwrap_or(0.0).clamp(0.0, 1.0));
    }
}

/// A bar in the accent colour that turns to the warning colour when nearly full.
fn level_bar() -> gtk::LevelBar {
    let level = gtk::LevelBar::builder()
        .min_value(0.0)
        .max_value(1.0)
        .valign(gtk::Align::Center)
        .width_request(120)
        .build();
    // Adwaita colours the filled part by the first offset at or above the value: "high" is
    // the accent colour and "low" the warning one (GTK's defaults suit a battery, not a disk).
    for name in ["low", "high", "full"] {
        level.remove_offset_value(Some(name));
    }
    level.add_offset_value("high", POOL_NEARLY_FULL);
    level.add_offset_value("low", 1.0);
    level
}

/// Makes `group` show one row per item of `contents`, reusing the rows it has.
fn sync_rows(group: &adw::PreferencesGroup, rows: &RefCell<Vec<InfoRow>>, contents: &[RowContent]) {
    let mut rows = rows.borrow_mut();
    while rows.len() > contents.len() {
        if let Some(extra) = rows.pop() {
            group.remove(&extra.row);
        }
    }
    while rows.len() < contents.len() {
        let row = InfoRow::new();
        group.add(&row.row);
        rows.push(row);
    }
    for (row, content) in rows.iter().zip(contents) {
        row.show(content);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_read_as_total_and_topology() {
        let summary = HostSummary {
            cpus: 16,
            sockets: 1,
            cores_per_socket: 8,
            threads_per_core: 2,
            ..HostSummary::default()
        };
        assert_eq!(cpus_text(&summary), "16 (1 socket × 8 cores × 2 threads)");
        assert_eq!(cpus_text(&HostSummary::default()), "");
    }

    #[test]
    fn memory_reads_total_then_free() {
        let mut summary = HostSummary {
            memory_total_kib: 128 * 1024 * 1024,
            ..HostSummary::default()
        };
        assert_eq!(memory_text(&summary), "128 GiB");
        summary.memory_free_kib = Some(97 * 1024 * 1024);
        assert_eq!(memory_text(&summary), "128 GiB, 97 GiB free");
    }

    #[test]
    fn pool_row_says_state_and_use() {
        let pool = PoolSummary {
            name: "default".into(),
            active: true,
            capacity_bytes: 100 << 30,
            allocation_bytes: (772 << 30) / 10,
            ..PoolSummary::default()
        };
        let content = pool_content(&pool);
        assert_eq!(content.subtitle, "Active · 77.2 GiB of 100 GiB used");
        let level = content.level.expect("a bar");
        assert!((level - 0.772).abs() < 0.001);
        let idle = PoolSummary {
            name: "off".into(),
            ..PoolSummary::default()
        };
        assert_eq!(pool_content(&idle).subtitle, "Inactive");
        assert_eq!(pool_content(&idle).level, None);
    }

    #[test]
    fn network_row_says_state_mode_address_and_bridge() {
        let network = NetworkSummary {
            name: "default".into(),
            active: true,
            forward_mode: "nat".into(),
            bridge: Some("virbr0".into()),
            ipv4: Some("192.168.122.1/24".into()),
            ..NetworkSummary::default()
        };
        assert_eq!(
            network_content(&network).subtitle,
            "Active · NAT · 192.168.122.1/24 · virbr0"
        );
    }

    #[test]
    fn percent_is_rounded() {
        assert_eq!(percent_text(0.234), "23%");
        assert_eq!(percent_text(1.0), "100%");
    }
}
