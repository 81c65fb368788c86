//! One domain (virtual machine) in a host's list.

use std::cell::{Cell, Ref, RefCell};
use std::collections::VecDeque;
use std::time::Instant;

use gettextrs::gettext;
use glib::prelude::*;
use glib::subclass::prelude::*;

use super::domain_history::DomainHistory;
use super::Host;
use crate::backend::details::DomainDetails;
use crate::backend::domain::{DomainState, DomainSummary};

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::Domain)]
    pub struct Domain {
        #[property(get)]
        pub(super) uuid: RefCell<String>,
        #[property(get)]
        pub(super) name: RefCell<String>,
        /// The user's short description (`<title>`), or empty.
        #[property(get)]
        pub(super) title: RefCell<String>,
        /// Where the guest can be reached ("192.168.122.7, 2001:db8::7"), or empty.
        #[property(get)]
        pub(super) addresses: RefCell<String>,
        /// The state in words ("Running").
        #[property(get)]
        pub(super) state_label: RefCell<String>,
        #[property(get)]
        pub(super) state_icon: RefCell<String>,
        #[property(get)]
        pub(super) is_active: Cell<bool>,
        #[property(get)]
        pub(super) vcpus: Cell<u32>,
        #[property(get)]
        pub(super) memory_kib: Cell<u64>,
        /// An action was sent and its outcome is not known yet.
        #[property(get)]
        pub(super) pending: Cell<bool>,
        /// The name of the host it runs on (shown when searching across hosts).
        #[property(get, set)]
        pub(super) host_name: RefCell<String>,
        /// CPU use over the last refresh, 0–100 % of its vCPUs.
        #[property(get)]
        pub(super) cpu_percent: Cell<f64>,
        pub(super) state: Cell<DomainState>,
        /// When Hangar saw the state change (an event or a refresh), in local time; `None`
        /// while the state is as first seen, as libvirt does not say since when.
        pub(super) state_since: RefCell<Option<glib::DateTime>>,
        pub(super) cpu_sample: Cell<Option<(u64, Instant)>>,
        /// Disk and network throughput in words ("disk 1.2 MB/s · net 3 kB/s"), empty when
        /// the host does not report it or the guest is off.
        #[property(get)]
        pub(super) io_label: RefCell<String>,
        pub(super) io_sample: Cell<Option<(u64, u64, Instant)>>,
        pub(super) cpu_history: RefCell<VecDeque<f32>>,
        /// The last ten minutes for the Performance graphs, while the domain runs.
        pub(super) history: RefCell<Option<DomainHistory>>,
        pub(super) host: glib::WeakRef<Host>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Domain {
        const NAME: &'static str = "HangarDomain";
        type Type = super::Domain;
    }

    #[glib::derived_properties]
    impl ObjectImpl for Domain {}
}

glib::wrapper! {
    pub struct Domain(ObjectSubclass<imp::Domain>);
}

impl Domain {
    pub fn new(summary: &DomainSummary) -> Self {
        let domain: Self = glib::Object::new();
        domain.imp().uuid.replace(summary.uuid.clone());
        domain.update(summary);
        domain
    }

    pub fn state(&self) -> DomainState {
        self.imp().state.get()
    }

    /// When Hangar saw the domain enter its state, if it did (not for the state it had when
    /// first listed).
    pub fn state_since(&self) -> Option<glib::DateTime> {
        self.imp().state_since.borrow().clone()
    }

    /// Remembers the host the domain belongs to (weakly: the host owns its domains).
    pub fn set_host(&self, host: &Host) {
        self.imp().host.set(Some(host));
        self.set_host_name(host.name());
    }

    pub fn host(&self) -> Option<Host> {
        self.imp().host.upgrade()
    }

    pub fn set_pending(&self, pending: bool) {
        if self.imp().pending.get() != pending {
            self.imp().pending.set(pending);
            self.notify_pending();
        }
    }

    /// Applies the title and addresses the host found, notifying only what changed.
    pub fn update_details(&self, details: &DomainDetails) {
        let imp = self.imp();
        if *imp.title.borrow() != details.title {
            imp.title.replace(details.title.clone());
            self.notify_title();
        }
        let addresses = details.addresses.join(", ");
        if *imp.addresses.borrow() != addresses {
            imp.addresses.replace(addresses);
            self.notify_addresses();
        }
    }

    /// Applies a fresh summary, notifying only the properties that changed.
    pub fn update(&self, summary: &DomainSummary) {
        let imp = self.imp();
        if *imp.name.borrow() != summary.name {
            imp.name.replace(summary.name.clone());
            self.notify_name();
        }
        if imp.state.get() != summary.state || imp.state_label.borrow().is_empty() {
            imp.state.set(summary.state);
            let label = state_label(summary.state);
            // A change seen, not the first sight, and not Running ⇄ Blocked (both "Running").
            let seen_before = !imp.state_label.borrow().is_empty();
            if seen_before && *imp.state_label.borrow() != label {
                imp.state_since.replace(glib::DateTime::now_local().ok());
            }
            imp.state_label.replace(label);
            imp.state_icon.replace(state_icon(summary.state).to_owned());
            imp.is_active.set(summary.state.is_active());
            self.notify_state_label();
            self.notify_state_icon();
            self.notify_is_active();
        }
        if imp.vcpus.get() != summary.vcpus {
            imp.vcpus.set(summary.vcpus);
            self.notify_vcpus();
        }
        if imp.memory_kib.get() != summary.memory_kib {
            imp.memory_kib.set(summary.memory_kib);
            self.notify_memory_kib();
        }
        self.sample_cpu(summary);
        self.sample_io(summary);
        if !summary.state.is_active() {
            imp.history.replace(None);
        }
    }

    /// Adds a refresh's bulk statistics to the history, after `update` (the summaries events
    /// bring lack the I/O counters, so they are not sampled).
    pub fn record_sample(&self, summary: &DomainSummary) {
        if summary.state.is_active() {
            self.imp()
                .history
                .borrow_mut()
                .get_or_insert_with(|| DomainHistory::new(Instant::now()))
                .record(summary, Instant::now());
        }
    }

    /// The last ten minutes of figures; `None` while the domain is not running.
    pub fn history(&self) -> Ref<'_, Option<DomainHistory>> {
        self.imp().history.borrow()
    }

    /// Throughput since the previous sample, from the growing byte counters.
    fn sample_io(&self, summary: &DomainSummary) {
        let imp = self.imp();
        let now = Instant::now();
        let counters = summary.disk_bytes.zip(summary.net_bytes);
        let previous = imp
            .io_sample
            .replace(counters.map(|(disk, net)| (disk, net, now)));
        let label = match (counters, previous) {
            (Some((disk, net)), Some((last_disk, last_net, at))) if summary.state.is_active() => {
                let seconds = now.duration_since(at).as_secs_f64().max(0.001);
                let rate = |now: u64, before: u64| now.saturating_sub(before) as f64 / seconds;
                crate::i18n::gettext_f(
                    "disk {disk} · net {net}",
                    &[
                        ("disk", &format_rate(rate(disk, last_disk))),
                        ("net", &format_rate(rate(net, last_net))),
                    ],
                )
            }
            _ => String::new(),
        };
        if *imp.io_label.borrow() != label {
            imp.io_label.replace(label);
            self.notify_io_label();
        }
    }

    /// The last CPU use samples, oldest first, for the sparkline.
    pub fn cpu_history(&self) -> Vec<f32> {
        self.imp().cpu_history.borrow().iter().copied().collect()
    }

    /// Derives CPU use from the growth of the total CPU time since the previous sample; a
    /// negative value means the host does not report CPU time (the test driver).
    fn sample_cpu(&self, summary: &DomainSummary) {
        let imp = self.imp();
        // No CPU time reported, or nothing running: there is no figure to show.
        if summary.cpu_time_ns == 0 || !summary.state.is_active() {
            if imp.cpu_percent.get() >= 0.0 {
                imp.cpu_percent.set(-1.0);
                self.notify_cpu_percent();
            }
            return;
        }
        let now = Instant::now();
        let previous = imp.cpu_sample.replace(Some((summary.cpu_time_ns, now)));
        let percent = match previous {
            Some((cpu_ns, at)) if summary.state.is_active() && summary.cpu_time_ns >= cpu_ns => {
                let elapsed_ns = now.duration_since(at).as_nanos() as f64;
                let capacity = elapsed_ns * f64::from(summary.vcpus.max(1));
                if capacity > 0.0 {
                    ((summary.cpu_time_ns - cpu_ns) as f64 / capacity * 100.0).clamp(0.0, 100.0)
                } else {
                    return;
                }
            }
            _ => 0.0,
        };
        let mut history = imp.cpu_history.borrow_mut();
        if history.len() == CPU_HISTORY_LENGTH {
            history.pop_front();
        }
        history.push_back(percent as f32);
        drop(history);
        if (imp.cpu_percent.get() - percent).abs() > f64::EPSILON {
            imp.cpu_percent.set(percent);
            self.notify_cpu_percent();
        }
    }
}

/// How many CPU samples the sparkline shows.
const CPU_HISTORY_LENGTH: usize = 60;

/// Sort rank of a state: running first, then paused, then the rest.
pub fn state_rank(state: DomainState) -> u8 {
    match state {
        DomainState::Running | DomainState::Blocked => 0,
        DomainState::ShuttingDown => 1,
        DomainState::Paused | DomainState::Suspended => 2,
        DomainState::Crashed => 3,
        DomainState::ShutOff | DomainState::Unknown => 4,
    }
}

pub fn state_label(state: DomainState) -> String {
    match state {
        DomainState::Running | DomainState::Blocked => gettext("Running"),
        DomainState::Paused => gettext("Paused"),
        DomainState::ShuttingDown => gettext("Shutting down"),
        DomainState::ShutOff => gettext("Shut off"),
        DomainState::Crashed => gettext("Crashed"),
        DomainState::Suspended => gettext("Suspended"),
        DomainState::Unknown => gettext("Unknown"),
    }
}

fn state_icon(state: DomainState) -> &'static str {
    match state {
        DomainState::Running | DomainState::Blocked => "media-playback-start-symbolic",
        DomainState::Paused | DomainState::Suspended => "media-playback-pause-symbolic",
        DomainState::ShuttingDown => "system-shutdown-symbolic",
        DomainState::Crashed => "dialog-error-symbolic",
        DomainState::ShutOff | DomainState::Unknown => "media-playback-stop-symbolic",
    }
}

/// Bytes per second as people read them: "0 B/s", "12 kB/s", "1.2 MB/s".
pub fn format_rate(bytes_per_second: f64) -> String {
    let units = ["B/s", "kB/s", "MB/s", "GB/s"];
    let mut value = bytes_per_second.max(0.0);
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit > 0 && value < 10.0 {
        format!("{value:.1} {}", units[unit])
    } else {
        format!("{value:.0} {}", units[unit])
    }
}

/// Memory as people read it: "512 MiB", "2 GiB", "1.5 GiB".
pub fn format_memory(kib: u64) -> String {
    const MIB: u64 = 1024;
    const GIB: u64 = 1024 * 1024;
    if kib >= GIB {
        let gib = kib as f64 / GIB as f64;
        if (gib - gib.round()).abs() < 0.05 {
            format!("{} GiB", gib.round())
        } else {
            format!("{gib:.1} GiB")
        }
    } else {
        format!("{} MiB", kib / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::format_memory;

    #[test]
    fn rates_read_naturally() {
        assert_eq!(super::format_rate(0.0), "0 B/s");
        assert_eq!(super::format_rate(12_300.0), "12 kB/s");
        assert_eq!(super::format_rate(1_230_000.0), "1.2 MB/s");
    }

    #[test]
    fn memory_reads_naturally() {
        assert_eq!(format_memory(524_288), "512 MiB");
        assert_eq!(format_memory(2_097_152), "2 GiB");
        assert_eq!(format_memory(1_572_864), "1.5 GiB");
    }
}
