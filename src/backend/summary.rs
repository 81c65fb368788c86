//! What the host summary page shows: the host's hardware, software, and its storage pools
//! and networks, collected on the worker thread.
//!
//! Every fact but the domain list is optional: drivers lack some calls (the test driver has
//! no memory statistics, a host may have no storage driver), and one missing fact must not
//! hide the others.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use virt::connect::Connect;
use virt::sys;

use super::domain::{format_version, DomainState, DomainSummary};
use super::error::BackendError;
use super::libvirt::ffi;
use super::libvirt::session::HostSession;

/// Facts about one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSummary {
    pub hostname: String,
    pub libvirt_version: String,
    /// The hypervisor's name and version, e.g. "QEMU 10.0.2".
    pub hypervisor: String,
    pub cpu_model: String,
    pub sockets: u32,
    pub cores_per_socket: u32,
    pub threads_per_core: u32,
    pub cpus: u32,
    pub cpu_mhz: u32,
    pub memory_total_kib: u64,
    pub memory_free_kib: Option<u64>,
    /// Share of CPU time in use since the previous summary (0.0–1.0), when the host says.
    pub cpu_usage: Option<f64>,
    pub domains_by_state: Vec<(DomainState, usize)>,
    pub pools: Vec<PoolSummary>,
    pub networks: Vec<NetworkSummary>,
}

impl HostSummary {
    /// Share of memory in use (0.0–1.0), when the host says how much is free.
    pub fn memory_usage(&self) -> Option<f64> {
        let free = self.memory_free_kib?;
        if self.memory_total_kib == 0 {
            return None;
        }
        let used = self.memory_total_kib.saturating_sub(free);
        Some(used as f64 / self.memory_total_kib as f64)
    }

    /// How many domains are in `state` (0 when none).
    pub fn domain_count(&self, state: DomainState) -> usize {
        self.domains_by_state
            .iter()
            .find(|(counted, _)| *counted == state)
            .map_or(0, |(_, count)| *count)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSummary {
    pub name: String,
    pub active: bool,
    pub autostart: bool,
    pub capacity_bytes: u64,
    pub allocation_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSummary {
    pub name: String,
    pub active: bool,
    pub autostart: bool,
    /// "nat", "route", "open", "bridge" … or "isolated" when there is no forward element.
    pub forward_mode: String,
    pub bridge: Option<String>,
    /// The IPv4 address and prefix, e.g. "192.168.122.1/24".
    pub ipv4: Option<String>,
}

/// What `collect` keeps between calls on one connection: the facts that never change while
/// it is open, and the previous CPU sample that usage is measured against.
#[derive(Debug, Default)]
pub struct SummarySampler {
    facts: Option<HostSummary>,
    previous_cpu: Option<CpuTimes>,
}

/// Collects the summary with a handful of calls, none per domain.
pub fn collect(
    session: &HostSession,
    sampler: &mut SummarySampler,
) -> Result<HostSummary, BackendError> {
    let mut summary = sampler.facts(session)?;
    let conn = session.connection();
    if let Some((total, free)) = memory_kib(conn) {
        summary.memory_total_kib = total;
        summary.memory_free_kib = Some(free);
    } else {
        summary.memory_free_kib =
            free_memory_kib(conn).map(|free| free.min(summary.memory_total_kib));
    }
    summary.cpu_usage = sampler.cpu_usage(conn);
    summary.domains_by_state = count_by_state(&session.domains()?);
    summary.pools = pools(conn);
    summary.networks = networks(conn);
    Ok(summary)
}

impl SummarySampler {
    /// The unchanging facts, asked for once per connection (capabilities are large).
    fn facts(&mut self, session: &HostSession) -> Result<HostSummary, BackendError> {
        if let Some(facts) = &self.facts {
            return Ok(facts.clone());
        }
        let facts = host_facts(session)?;
        self.facts = Some(facts.clone());
        Ok(facts)
    }

    /// CPU use since the last call; `None` the first time and when the host has no figures.
    fn cpu_usage(&mut self, conn: &Connect) -> Option<f64> {
        let stats = ffi::node_cpu_stats(conn).ok()?;
        if let Some(percent) = stats.get("utilization") {
            return Some((*percent as f64 / 100.0).clamp(0.0, 1.0));
        }
        let now = CpuTimes::from_stats(&stats)?;
        let previous = self.previous_cpu.replace(now)?;
        now.usage_since(previous)
    }
}

fn host_facts(session: &HostSession) -> Result<HostSummary, BackendError> {
    let info = session.host_info()?;
    let conn = session.connection();
    let node = conn.node_info().ok();
    let capabilities_model = conn
        .capabilities()
        .ok()
        .and_then(|xml| host_cpu_model(&xml));
    let node_model = node.as_ref().map(|node| node.model.clone());
    Ok(HostSummary {
        hostname: info.hostname,
        libvirt_version: info.libvirt_version,
        hypervisor: hypervisor_name(&info.driver, conn.hyp_version().ok()),
        cpu_model: capabilities_model.or(node_model).unwrap_or_default(),
        sockets: node
            .as_ref()
            .map_or(0, |node| node.sockets * node.nodes.max(1)),
        cores_per_socket: node.as_ref().map_or(0, |node| node.cores),
        threads_per_core: node.as_ref().map_or(0, |node| node.threads),
        cpus: node.as_ref().map_or(0, |node| node.cpus),
        cpu_mhz: node.as_ref().map_or(0, |node| node.mhz),
        memory_total_kib: node.as_ref().map_or(0, |node| node.memory),
        ..HostSummary::default()
    })
}

/// "QEMU 10.0.2"; just the driver when the version is unknown (libvirt reports 0 then).
fn hypervisor_name(driver: &str, version: Option<u32>) -> String {
    match version {
        Some(version) if version > 0 => format!("{driver} {}", format_version(version.into())),
        _ => driver.to_owned(),
    }
}

/// The host CPU's vendor and model from the capabilities XML, e.g. "Intel Skylake-Client".
fn host_cpu_model(capabilities: &str) -> Option<String> {
    let document = roxmltree::Document::parse(capabilities).ok()?;
    let cpu = child(document.root_element(), "host").and_then(|host| child(host, "cpu"))?;
    let model = child_text(cpu, "model")?;
    Some(match child_text(cpu, "vendor") {
        Some(vendor) => format!("{vendor} {model}"),
        None => model,
    })
}

/// Total and free memory in KiB from the host's memory statistics, both from the same
/// source: node info can count less memory than the kernel does (a NUMA view, a container),
/// and free must never exceed total. Free includes what the kernel would give back from its
/// caches.
fn memory_kib(conn: &Connect) -> Option<(u64, u64)> {
    memory_from_stats(&ffi::node_memory_stats(conn).ok()?)
}

fn memory_from_stats(stats: &HashMap<String, u64>) -> Option<(u64, u64)> {
    let total = *stats.get("total")?;
    let free = *stats.get("free")?;
    let buffers = stats.get("buffers").copied().unwrap_or(0);
    let cached = stats.get("cached").copied().unwrap_or(0);
    Some((total, (free + buffers + cached).min(total)))
}

/// The plain free figure in KiB, for drivers without memory statistics.
fn free_memory_kib(conn: &Connect) -> Option<u64> {
    conn.free_memory().ok().map(|bytes| bytes / 1024)
}

/// Cumulative CPU time of the whole host, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuTimes {
    busy_ns: u64,
    total_ns: u64,
}

impl CpuTimes {
    /// Every field is a kind of time except "utilization"; all but idle and I/O wait (idle
    /// as far as the CPU is concerned) are busy.
    fn from_stats(stats: &HashMap<String, u64>) -> Option<Self> {
        let idle = *stats.get("idle")?;
        let waiting = stats.get("iowait").copied().unwrap_or(0);
        let total = stats
            .iter()
            .filter(|(field, _)| field.as_str() != "utilization")
            .fold(0u64, |sum, (_, value)| sum.saturating_add(*value));
        Some(Self {
            busy_ns: total.saturating_sub(idle).saturating_sub(waiting),
            total_ns: total,
        })
    }

    fn usage_since(self, earlier: Self) -> Option<f64> {
        let total = self.total_ns.checked_sub(earlier.total_ns)?;
        let busy = self.busy_ns.checked_sub(earlier.busy_ns)?;
        (total > 0).then(|| (busy as f64 / total as f64).clamp(0.0, 1.0))
    }
}

/// States in the order the page lists them; the first three always appear.
const STATE_ORDER: [DomainState; 7] = [
    DomainState::Running,
    DomainState::Paused,
    DomainState::ShutOff,
    DomainState::ShuttingDown,
    DomainState::Suspended,
    DomainState::Crashed,
    DomainState::Unknown,
];

fn count_by_state(domains: &[DomainSummary]) -> Vec<(DomainState, usize)> {
    let mut counts: HashMap<DomainState, usize> = HashMap::new();
    for domain in domains {
        // The domain list shows a blocked guest (waiting on I/O) as running; so does this.
        let state = match domain.state {
            DomainState::Blocked => DomainState::Running,
            state => state,
        };
        *counts.entry(state).or_default() += 1;
    }
    STATE_ORDER
        .iter()
        .enumerate()
        .map(|(index, state)| (index, *state, counts.get(state).copied().unwrap_or(0)))
        .filter(|(index, _, count)| *index < 3 || *count > 0)
        .map(|(_, state, count)| (state, count))
        .collect()
}

fn pools(conn: &Connect) -> Vec<PoolSummary> {
    let Ok(pools) = conn.list_all_storage_pools(0) else {
        return Vec::new();
    };
    let mut summaries: Vec<PoolSummary> = pools.iter().filter_map(pool_summary).collect();
    summaries.sort_by(|a, b| a.name.cmp(&b.name));
    summaries
}

fn pool_summary(pool: &virt::storage_pool::StoragePool) -> Option<PoolSummary> {
    let info = pool.info().ok()?;
    Some(PoolSummary {
        name: pool.name().ok()?,
        active: info.state == sys::VIR_STORAGE_POOL_RUNNING,
        autostart: pool.autostart().unwrap_or(false),
        capacity_bytes: info.capacity,
        allocation_bytes: info.allocation,
        available_bytes: info.available,
    })
}

fn networks(conn: &Connect) -> Vec<NetworkSummary> {
    let Ok(networks) = conn.list_all_networks(0) else {
        return Vec::new();
    };
    let mut summaries: Vec<NetworkSummary> = networks.iter().filter_map(network_summary).collect();
    summaries.sort_by(|a, b| a.name.cmp(&b.name));
    summaries
}

fn network_summary(network: &virt::network::Network) -> Option<NetworkSummary> {
    let xml = network.xml_desc(0).ok()?;
    let mut summary = network_from_xml(&xml)?;
    summary.active = network.is_active().unwrap_or(false);
    summary.autostart = network.autostart().unwrap_or(false);
    Some(summary)
}

/// Name, forward mode, bridge and IPv4 address from a network's XML.
fn network_from_xml(xml: &str) -> Option<NetworkSummary> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let network = document.root_element();
    let forward_mode = match child(network, "forward") {
        // libvirt's default forward mode is NAT.
        Some(forward) => forward.attribute("mode").unwrap_or("nat").to_owned(),
        None => "isolated".to_owned(),
    };
    Some(NetworkSummary {
        name: child_text(network, "name")?,
        forward_mode,
        bridge: child(network, "bridge")
            .and_then(|bridge| bridge.attribute("name"))
            .map(str::to_owned),
        ipv4: network
            .children()
            .filter(|node| node.has_tag_name("ip"))
            .find(|ip| ip.attribute("family").unwrap_or("ipv4") == "ipv4")
            .and_then(ipv4_with_prefix),
        ..NetworkSummary::default()
    })
}

/// "192.168.122.1/24" from `address` with `prefix` or `netmask`; the bare address without.
fn ipv4_with_prefix(ip: roxmltree::Node) -> Option<String> {
    let address = ip.attribute("address")?;
    let prefix = ip
        .attribute("prefix")
        .and_then(|prefix| prefix.parse::<u8>().ok())
        .or_else(|| ip.attribute("netmask").and_then(netmask_prefix));
    Some(match prefix {
        Some(prefix) => format!("{address}/{prefix}"),
        None => address.to_owned(),
    })
}

/// 24 for "255.255.255.0"; `None` for a mask that is not a prefix.
fn netmask_prefix(netmask: &str) -> Option<u8> {
    let bits = u32::from(netmask.parse::<Ipv4Addr>().ok()?);
    let ones = bits.leading_ones();
    (bits.count_ones() == ones).then_some(ones as u8)
}

fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|child| child.has_tag_name(name))
}

fn child_text(node: roxmltree::Node, name: &str) -> Option<String> {
    let text = child(node, name)?.text()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAT_NETWORK: &str = "<network>
          <name>default</name>
          <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
          <bridge name='virbr0' stp='on' delay='0'/>
          <ip family='ipv6' address='fd00::1' prefix='64'/>
          <ip address='192.168.122.1' netmask='255.255.255.0'>
            <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
          </ip>
        </network>";

    #[test]
    fn nat_network_shows_mode_bridge_and_ipv4() {
        let network = network_from_xml(NAT_NETWORK).expect("parsed");
        assert_eq!(network.name, "default");
        assert_eq!(network.forward_mode, "nat");
        assert_eq!(network.bridge.as_deref(), Some("virbr0"));
        assert_eq!(network.ipv4.as_deref(), Some("192.168.122.1/24"));
    }

    #[test]
    fn network_without_forward_is_isolated() {
        let xml = "<network><name>lab</name><bridge name='virbr1'/>\
                   <ip address='10.77.0.1' prefix='16'/></network>";
        let network = network_from_xml(xml).expect("parsed");
        assert_eq!(network.forward_mode, "isolated");
        assert_eq!(network.ipv4.as_deref(), Some("10.77.0.1/16"));
    }

    #[test]
    fn forward_without_mode_is_nat_and_bridged_network_has_no_ip() {
        let xml = "<network><name>n</name><forward/></network>";
        assert_eq!(network_from_xml(xml).expect("parsed").forward_mode, "nat");
        let xml = "<network><name>br</name><forward mode='bridge'/><bridge name='br0'/></network>";
        let network = network_from_xml(xml).expect("parsed");
        assert_eq!(network.forward_mode, "bridge");
        assert_eq!(network.ipv4, None);
    }

    #[test]
    fn broken_network_xml_is_skipped() {
        assert_eq!(network_from_xml("<network><name>x</name>"), None);
        assert_eq!(network_from_xml("<network/>"), None);
    }

    #[test]
    fn netmasks_become_prefixes() {
        assert_eq!(netmask_prefix("255.255.255.0"), Some(24));
        assert_eq!(netmask_prefix("255.255.0.0"), Some(16));
        assert_eq!(netmask_prefix("0.0.0.0"), Some(0));
        assert_eq!(netmask_prefix("255.0.255.0"), None);
        assert_eq!(netmask_prefix("not a mask"), None);
    }

    #[test]
    fn cpu_model_comes_from_the_host_cpu_with_its_vendor() {
        let xml = "<capabilities><host><uuid>x</uuid><cpu><arch>x86_64</arch>\
                   <model>Skylake-Client-IBRS</model><vendor>Intel</vendor></cpu></host>\
                   <guest><arch name='x86_64'><model>ignored</model></arch></guest></capabilities>";
        assert_eq!(
            host_cpu_model(xml).as_deref(),
            Some("Intel Skylake-Client-IBRS")
        );
        let xml = "<capabilities><host><cpu><arch>i686</arch></cpu></host></capabilities>";
        assert_eq!(host_cpu_model(xml), None);
        assert_eq!(host_cpu_model("not xml"), None);
    }

    #[test]
    fn hypervisor_reads_like_a_product_and_version() {
        assert_eq!(hypervisor_name("QEMU", Some(10_000_002)), "QEMU 10.0.2");
        assert_eq!(hypervisor_name("QEMU", Some(0)), "QEMU");
        assert_eq!(hypervisor_name("LXC", None), "LXC");
    }

    fn times(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
        pairs
            .iter()
            .map(|(field, value)| ((*field).to_owned(), *value))
            .collect()
    }

    #[test]
    fn cpu_usage_is_busy_share_between_samples() {
        let earlier = CpuTimes::from_stats(&times(&[
            ("kernel", 100),
            ("user", 100),
            ("idle", 800),
            ("iowait", 0),
        ]))
        .expect("times");
        let later = CpuTimes::from_stats(&times(&[
            ("kernel", 150),
            ("user", 200),
            ("idle", 1000),
            ("iowait", 50),
        ]))
        .expect("times");
        let usage = later.usage_since(earlier).expect("usage");
        assert!((usage - 0.375).abs() < 1e-9, "{usage}");
        assert_eq!(earlier.usage_since(earlier), None, "no time passed");
        assert_eq!(earlier.usage_since(later), None, "counters went back");
        assert_eq!(CpuTimes::from_stats(&times(&[("user", 1)])), None);
    }

    #[test]
    fn free_memory_counts_caches_and_stays_below_total() {
        let stats = times(&[("total", 100), ("free", 10), ("buffers", 5), ("cached", 20)]);
        assert_eq!(memory_from_stats(&stats), Some((100, 35)));
        let odd = times(&[("total", 100), ("free", 90), ("cached", 20)]);
        assert_eq!(memory_from_stats(&odd), Some((100, 100)));
        assert_eq!(memory_from_stats(&times(&[("total", 100)])), None);
    }

    #[test]
    fn memory_usage_needs_a_free_figure() {
        let mut summary = HostSummary {
            memory_total_kib: 400,
            ..HostSummary::default()
        };
        assert_eq!(summary.memory_usage(), None);
        summary.memory_free_kib = Some(100);
        assert_eq!(summary.memory_usage(), Some(0.75));
    }

    fn domain(state: DomainState) -> DomainSummary {
        DomainSummary {
            state,
            ..DomainSummary::default()
        }
    }

    #[test]
    fn domains_are_counted_by_state_in_a_fixed_order() {
        let domains = [
            domain(DomainState::ShutOff),
            domain(DomainState::Running),
            domain(DomainState::Blocked),
            domain(DomainState::Crashed),
        ];
        assert_eq!(
            count_by_state(&domains),
            [
                (DomainState::Running, 2),
                (DomainState::Paused, 0),
                (DomainState::ShutOff, 1),
                (DomainState::Crashed, 1),
            ]
        );
    }
}
