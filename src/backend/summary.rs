//! What the host summary page shows: the host's hardware, software, and its storage pools
//! and networks, collected on the worker thread.

use super::domain::DomainState;
use super::error::BackendError;
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

/// Collects the summary with a handful of calls, none per domain.
pub fn collect(session: &HostSession) -> Result<HostSummary, BackendError> {
    let info = session.host_info()?;
    Ok(HostSummary {
        hostname: info.hostname,
        libvirt_version: info.libvirt_version,
        ..HostSummary::default()
    })
}
