//! One open libvirt connection and the few questions Hangar asks it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use super::ffi::{self, stats, Connection, ConnectionWatch, CredentialProvider, LibvirtError};
use crate::backend::details::XmlFacts;
use crate::backend::domain::{format_version, DomainState, DomainSummary, HostInfo};
use crate::backend::error::BackendError;
use crate::backend::uri;

/// Statistics groups the domain list needs: cheap ones only.
const LIST_STATS: u32 = stats::STATE
    | stats::VCPU
    | stats::BALLOON
    | stats::CPU_TOTAL
    | stats::BLOCK
    | stats::INTERFACE;

/// Seconds between keepalive probes, and how many may go unanswered before libvirt gives up.
const KEEPALIVE_INTERVAL_S: i32 = 5;
const KEEPALIVE_COUNT: u32 = 3;

/// An open connection to one host.
pub struct HostSession {
    conn: Connection,
    /// Sizes of domains whose statistics lack them (drivers with partial bulk statistics,
    /// such as the test driver), fetched once per domain and refreshed by its events.
    sizes: RefCell<HashMap<String, DomainSize>>,
    /// Calls that may cross the network, for tests and benchmarks to count.
    calls: Cell<u64>,
}

/// What a domain is configured with; changes only through events.
#[derive(Debug, Clone, Copy)]
struct DomainSize {
    vcpus: u32,
    memory_kib: u64,
    max_memory_kib: u64,
}

impl HostSession {
    /// Checks `uri`, opens it and answers authentication questions with `provider`.
    pub fn open(uri: &str, provider: &mut CredentialProvider<'_>) -> Result<Self, BackendError> {
        uri::check_before_connecting(uri)?;
        let conn = ffi::open_with_credentials(uri, provider)?;
        // Drivers without keepalive (in-process ones) refuse it; they cannot drop either.
        let _ = conn.set_keep_alive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
        Ok(Self {
            conn,
            sizes: RefCell::default(),
            calls: Cell::new(0),
        })
    }

    /// How many libvirt calls this session made so far (remote round trips, roughly).
    pub fn libvirt_calls(&self) -> u64 {
        self.calls.get()
    }

    fn count(&self, calls: u64) {
        self.calls.set(self.calls.get() + calls);
    }

    pub fn host_info(&self) -> Result<HostInfo, BackendError> {
        self.count(3);
        Ok(HostInfo {
            hostname: self.conn.hostname()?,
            driver: self.conn.driver_type()?,
            libvirt_version: format_version(self.conn.lib_version()?.into()),
        })
    }

    /// Every domain with its list figures, from one bulk statistics call.
    pub fn domains(&self) -> Result<Vec<DomainSummary>, BackendError> {
        self.count(1);
        let records = match ffi::all_domain_stats(&self.conn, LIST_STATS, stats::FLAG_NOWAIT) {
            Err(error) if is_unsupported(&error) => {
                self.count(1);
                match ffi::all_domain_stats(&self.conn, LIST_STATS, 0) {
                    Err(error) if is_unsupported(&error) => return self.domains_one_by_one(),
                    other => other?,
                }
            }
            other => other?,
        };
        let mut summaries: Vec<DomainSummary> =
            records.iter().map(DomainSummary::from_stats).collect();
        for (summary, record) in summaries.iter_mut().zip(&records) {
            if record.has("vcpu.current") && record.has("balloon.current") {
                continue;
            }
            if let Some(size) = self.size_of(&summary.uuid) {
                summary.vcpus = size.vcpus;
                summary.memory_kib = size.memory_kib;
                summary.max_memory_kib = size.max_memory_kib;
            }
        }
        Ok(summaries)
    }

    /// The cached size of a domain, fetched with one call the first time.
    fn size_of(&self, uuid: &str) -> Option<DomainSize> {
        if let Some(size) = self.sizes.borrow().get(uuid) {
            return Some(*size);
        }
        self.count(2);
        let domain = self.conn.lookup_domain_by_uuid_string(uuid).ok()?;
        let summary = summary_of(&domain).ok()?;
        Some(self.remember_size(&summary))
    }

    fn remember_size(&self, summary: &DomainSummary) -> DomainSize {
        let size = DomainSize {
            vcpus: summary.vcpus,
            memory_kib: summary.memory_kib,
            max_memory_kib: summary.max_memory_kib,
        };
        self.sizes.borrow_mut().insert(summary.uuid.clone(), size);
        size
    }

    /// For drivers without bulk statistics: one call per domain, the slow way.
    fn domains_one_by_one(&self) -> Result<Vec<DomainSummary>, BackendError> {
        let domains = self.conn.list_all_domains(0)?;
        self.count(1 + domains.len() as u64);
        Ok(domains
            .iter()
            .filter_map(|domain| summary_of(domain).ok())
            .collect())
    }

    /// The domain with this UUID, or `None` when it no longer exists.
    pub fn domain(&self, uuid: &str) -> Result<Option<DomainSummary>, BackendError> {
        self.count(2);
        match self.conn.lookup_domain_by_uuid_string(uuid) {
            Ok(domain) => match summary_of(&domain) {
                Ok(summary) => {
                    self.remember_size(&summary);
                    Ok(Some(summary))
                }
                Err(error) if error.code == sys::VIR_ERR_NO_DOMAIN as i32 => Ok(None),
                Err(error) => Err(error.into()),
            },
            Err(error) if error.code().to_raw() == sys::VIR_ERR_NO_DOMAIN => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Title, network cards and agent state from the domain's live XML (two calls); `None`
    /// when the domain no longer exists.
    pub fn domain_facts(&self, uuid: &str) -> Result<Option<XmlFacts>, BackendError> {
        self.count(1);
        match self.conn.lookup_domain_by_uuid_string(uuid) {
            Ok(domain) => self.facts_of(&domain),
            Err(error) if error.code().to_raw() == sys::VIR_ERR_NO_DOMAIN => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Handles of every domain by UUID (one call), so that reading many domains' XML costs
    /// one call each instead of two.
    pub fn domain_handles(&self) -> Result<HashMap<String, Domain>, BackendError> {
        self.count(1);
        let domains = self.conn.list_all_domains(0)?;
        Ok(domains
            .into_iter()
            .filter_map(|domain| Some((domain.uuid_string().ok()?, domain)))
            .collect())
    }

    /// Like `domain_facts`, for a domain already at hand (one call).
    pub fn facts_of(&self, domain: &Domain) -> Result<Option<XmlFacts>, BackendError> {
        self.count(1);
        match domain.xml_desc(0) {
            Ok(xml) => Ok(XmlFacts::from_xml(&xml)),
            Err(error) if error.code().to_raw() == sys::VIR_ERR_NO_DOMAIN => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The DHCP leases of every active virtual network (one call per network, plus one);
    /// `None` when the host cannot tell leases.
    pub fn dhcp_leases(&self) -> Result<Option<Vec<ffi::Lease>>, BackendError> {
        self.count(1);
        let listed = self
            .conn
            .list_all_networks(sys::VIR_CONNECT_LIST_NETWORKS_ACTIVE)
            .map_err(LibvirtError::from);
        let networks = match listed {
            Ok(networks) => networks,
            Err(error) if is_unsupported(&error) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let mut leases = Vec::new();
        for network in &networks {
            self.count(1);
            match ffi::dhcp_leases(network) {
                Ok(found) => leases.extend(found),
                Err(error) if is_unsupported(&error) => return Ok(None),
                // A network stopped meanwhile: its guests have no lease to show.
                Err(_) => {}
            }
        }
        Ok(Some(leases))
    }

    /// The addresses the domain's guest agent reports (one call, two with the lookup).
    pub fn agent_addresses(&self, uuid: &str) -> Result<Vec<String>, BackendError> {
        self.count(2);
        let domain = self.conn.lookup_domain_by_uuid_string(uuid)?;
        Ok(ffi::agent_addresses(&domain)?)
    }

    /// Subscribes to domain events and to the connection's unexpected end.
    pub fn watch(
        &self,
        on_domain_event: impl Fn(ffi::DomainEvent) + Send + Sync + 'static,
        on_close: impl Fn(ffi::CloseReason) + Send + Sync + 'static,
    ) -> Result<ConnectionWatch, BackendError> {
        Ok(ConnectionWatch::register(
            &self.conn,
            on_domain_event,
            on_close,
        )?)
    }

    /// Whether the link to the host still works (no round trip).
    pub fn is_alive(&self) -> bool {
        self.conn.is_alive().unwrap_or(false)
    }

    /// The underlying connection, for backend code that needs more than this API.
    pub fn connection(&self) -> &Connect {
        &self.conn
    }
}

fn is_unsupported(error: &LibvirtError) -> bool {
    matches!(
        error.code as u32,
        sys::VIR_ERR_NO_SUPPORT | sys::VIR_ERR_INVALID_ARG | sys::VIR_ERR_ARGUMENT_UNSUPPORTED
    )
}

fn summary_of(domain: &virt::domain::Domain) -> Result<DomainSummary, LibvirtError> {
    let info = domain.info()?;
    Ok(DomainSummary {
        uuid: domain.uuid_string()?,
        name: domain.name()?,
        state: DomainState::from_raw(info.state.to_raw().into()),
        vcpus: info.nr_virt_cpu,
        memory_kib: info.memory,
        max_memory_kib: info.max_mem,
        cpu_time_ns: info.cpu_time,
        ..DomainSummary::default()
    })
}
