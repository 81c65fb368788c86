//! What the domain list shows beyond statistics: a domain's title and its guest's addresses.
//!
//! Bulk statistics carry neither. The title and the network cards' MAC addresses come from
//! each domain's XML, read once per domain (in small batches, between the worker's other
//! work) and again only when an event says it changed. Addresses come from the virtual
//! networks' DHCP leases (one call per network, every few refreshes) and, for guests whose
//! agent is connected but that have no lease, from the agent.

use std::collections::{HashMap, HashSet, VecDeque};

use super::domain::model::DomainModel;
use super::domain::DomainSummary;
use super::libvirt::session::HostSession;

/// With more domains than this to read, one call fetches every domain's handle first, so
/// each read costs one call instead of two.
const HANDLES_WORTH_FETCHING: usize = 20;
/// Agent questions per address refresh at most: each may wait for a slow guest.
const AGENT_QUERIES_PER_REFRESH: usize = 16;

/// The list's extra facts about one domain, as the worker sends them to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainDetails {
    pub uuid: String,
    /// The short description the user gave the domain (`<title>`), or empty.
    pub title: String,
    /// Where the guest can be reached, IPv4 first; empty when unknown or not running.
    pub addresses: Vec<String>,
}

/// What Hangar reads from a domain's live XML.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlFacts {
    pub title: String,
    /// MAC addresses of its network cards, lower case.
    pub macs: Vec<String>,
    /// The XML has a domain id, which only running domains have.
    pub running: bool,
    /// The QEMU guest agent's channel says it is connected.
    pub agent_connected: bool,
}

impl XmlFacts {
    /// Reads the facts from domain XML (through the one domain model); `None` when it is
    /// not domain XML.
    pub fn from_xml(xml: &str) -> Option<Self> {
        let model = DomainModel::from_xml(xml).ok()?;
        Some(Self {
            macs: model.nic_macs(),
            title: model.title,
            running: model.running,
            agent_connected: model.agent_connected,
        })
    }
}

/// Keeps every domain's details current for one connection and says which changed.
#[derive(Default)]
pub struct DetailsTracker {
    facts: HashMap<String, XmlFacts>,
    /// MAC address → addresses leased to it, from every active network.
    leases: HashMap<String, Vec<String>>,
    /// Domain → addresses its guest agent reported.
    agent: HashMap<String, Vec<String>>,
    /// What the UI was last told, to send only changes.
    sent: HashMap<String, DomainDetails>,
    queue: VecDeque<String>,
    queued: HashSet<String>,
    /// The host cannot list leases (e.g. the test driver): do not ask again.
    no_leases: bool,
    /// Where the next agent round starts, so every guest gets its turn.
    agent_turn: usize,
    /// Domain handles for a long queue, dropped when it is empty.
    handles: HashMap<String, virt::domain::Domain>,
}

impl DetailsTracker {
    /// Follows a full list: queues domains never read (running ones first), forgets gone ones.
    pub fn note_domains(&mut self, summaries: &[DomainSummary]) {
        let present: HashSet<&str> = summaries.iter().map(|s| s.uuid.as_str()).collect();
        self.facts.retain(|uuid, _| present.contains(uuid.as_str()));
        self.agent.retain(|uuid, _| present.contains(uuid.as_str()));
        self.sent.retain(|uuid, _| present.contains(uuid.as_str()));
        let (active, inactive): (Vec<_>, Vec<_>) = summaries
            .iter()
            .partition(|summary| summary.state.is_active());
        for summary in active.into_iter().chain(inactive) {
            if !self.facts.contains_key(&summary.uuid) && !self.queued.contains(&summary.uuid) {
                self.queued.insert(summary.uuid.clone());
                self.queue.push_back(summary.uuid.clone());
            }
        }
    }

    /// An event said this domain changed: read it again before the others.
    pub fn queue_first(&mut self, uuid: &str) {
        if self.queued.insert(uuid.to_owned()) {
            self.queue.push_front(uuid.to_owned());
        } else if let Some(position) = self.queue.iter().position(|queued| queued == uuid) {
            if let Some(uuid) = self.queue.remove(position) {
                self.queue.push_front(uuid);
            }
        }
    }

    pub fn forget(&mut self, uuid: &str) {
        self.facts.remove(uuid);
        self.agent.remove(uuid);
        self.sent.remove(uuid);
    }

    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Reads up to `budget` queued domains' XML; returns the details that changed.
    pub fn read_some(&mut self, session: &HostSession, budget: usize) -> Vec<DomainDetails> {
        if self.handles.is_empty() && self.queue.len() > HANDLES_WORTH_FETCHING {
            self.handles = session.domain_handles().unwrap_or_default();
        }
        let mut touched = Vec::new();
        for _ in 0..budget {
            let Some(uuid) = self.queue.pop_front() else {
                break;
            };
            self.queued.remove(&uuid);
            let facts = match self.handles.remove(&uuid) {
                Some(domain) => session.facts_of(&domain),
                None => session.domain_facts(&uuid),
            };
            match facts {
                Ok(Some(facts)) => {
                    let ask_agent = facts.running && facts.agent_connected;
                    self.facts.insert(uuid.clone(), facts);
                    if ask_agent {
                        self.ask_agent(session, &uuid);
                    } else {
                        self.agent.remove(&uuid);
                    }
                }
                // Gone, or unreadable for now: the next list or event brings it back.
                Ok(None) | Err(_) => {
                    self.forget(&uuid);
                    continue;
                }
            }
            touched.push(uuid);
        }
        if self.queue.is_empty() {
            self.handles.clear();
        }
        self.changes(touched)
    }

    /// Reads the networks' leases again and asks connected agents of guests without an
    /// address; returns the details that changed.
    pub fn refresh_addresses(&mut self, session: &HostSession) -> Vec<DomainDetails> {
        if !self.no_leases {
            match session.dhcp_leases() {
                Ok(Some(leases)) => {
                    self.leases.clear();
                    for lease in leases {
                        self.leases
                            .entry(lease.mac)
                            .or_default()
                            .push(lease.address);
                    }
                }
                Ok(None) => self.no_leases = true,
                // A network vanished between listing and asking: the next round catches up.
                Err(_) => {}
            }
        }
        let waiting: Vec<String> = self.agent_candidates();
        let skip = self.agent_turn % waiting.len().max(1);
        for uuid in waiting
            .iter()
            .cycle()
            .skip(skip)
            .take(waiting.len().min(AGENT_QUERIES_PER_REFRESH))
        {
            self.ask_agent(session, uuid);
        }
        self.agent_turn = self.agent_turn.wrapping_add(AGENT_QUERIES_PER_REFRESH);
        let everyone: Vec<String> = self.facts.keys().cloned().collect();
        self.changes(everyone)
    }

    /// Running guests with a connected agent that no lease or earlier answer placed.
    fn agent_candidates(&self) -> Vec<String> {
        let mut candidates: Vec<String> = self
            .facts
            .iter()
            .filter(|(uuid, facts)| {
                facts.running
                    && facts.agent_connected
                    && self.lease_addresses(facts).is_empty()
                    && self.agent.get(*uuid).map_or(true, Vec::is_empty)
            })
            .map(|(uuid, _)| uuid.clone())
            .collect();
        candidates.sort();
        candidates
    }

    fn ask_agent(&mut self, session: &HostSession, uuid: &str) {
        // An agent that cannot answer now (still starting) is asked again later.
        let addresses = session.agent_addresses(uuid).unwrap_or_default();
        self.agent.insert(uuid.to_owned(), addresses);
    }

    fn lease_addresses(&self, facts: &XmlFacts) -> Vec<String> {
        facts
            .macs
            .iter()
            .filter_map(|mac| self.leases.get(mac))
            .flatten()
            .cloned()
            .collect()
    }

    fn details_of(&self, uuid: &str, facts: &XmlFacts) -> DomainDetails {
        let mut addresses = Vec::new();
        if facts.running {
            let agent = self.agent.get(uuid).into_iter().flatten().cloned();
            for address in self.lease_addresses(facts).into_iter().chain(agent) {
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
        }
        DomainDetails {
            uuid: uuid.to_owned(),
            title: facts.title.clone(),
            addresses,
        }
    }

    /// The details of `uuids` that differ from what the UI was told, remembered as told.
    fn changes(&mut self, uuids: Vec<String>) -> Vec<DomainDetails> {
        let mut changed = Vec::new();
        for uuid in uuids {
            let Some(facts) = self.facts.get(&uuid) else {
                continue;
            };
            let details = self.details_of(&uuid, facts);
            // The first details of a domain always go out: after a reconnect the UI may
            // still show what was true before.
            if self.sent.get(&uuid) != Some(&details) {
                self.sent.insert(uuid, details.clone());
                changed.push(details);
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = "<domain type='kvm' id='4'>
        <name>web</name>
        <title> Web server </title>
        <devices>
          <interface type='network'><mac address='52:54:00:AB:00:01'/></interface>
          <interface type='bridge'><mac address='52:54:00:ab:00:02'/></interface>
          <channel type='unix'>
            <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
          </channel>
        </devices>
      </domain>";

    #[test]
    fn facts_come_from_the_live_xml() {
        let facts = XmlFacts::from_xml(RUNNING).expect("domain XML");
        assert_eq!(facts.title, "Web server");
        assert_eq!(facts.macs, ["52:54:00:ab:00:01", "52:54:00:ab:00:02"]);
        assert!(facts.running);
        assert!(facts.agent_connected);
    }

    #[test]
    fn a_shut_off_domain_without_agent_or_title() {
        let xml = "<domain type='kvm'><name>db</name><devices>
            <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'
              state='disconnected'/></channel></devices></domain>";
        let facts = XmlFacts::from_xml(xml).expect("domain XML");
        assert_eq!(facts, XmlFacts::default());
        assert!(XmlFacts::from_xml("<network/>").is_none());
        assert!(XmlFacts::from_xml("not xml").is_none());
    }

    #[test]
    fn addresses_combine_leases_and_agent_without_repeats() {
        let mut tracker = DetailsTracker::default();
        let facts = XmlFacts::from_xml(RUNNING).expect("domain XML");
        tracker.facts.insert("u".into(), facts.clone());
        tracker
            .leases
            .insert("52:54:00:ab:00:02".into(), vec!["10.0.0.7".into()]);
        tracker
            .agent
            .insert("u".into(), vec!["10.0.0.7".into(), "2001:db8::7".into()]);
        let details = tracker.details_of("u", &facts);
        assert_eq!(details.addresses, ["10.0.0.7", "2001:db8::7"]);
        assert_eq!(details.title, "Web server");

        let stopped = XmlFacts {
            running: false,
            ..facts
        };
        assert!(tracker.details_of("u", &stopped).addresses.is_empty());
    }

    #[test]
    fn only_changes_are_reported() {
        let mut tracker = DetailsTracker::default();
        let mut facts = XmlFacts::from_xml(RUNNING).expect("domain XML");
        tracker.facts.insert("u".into(), facts.clone());
        assert_eq!(tracker.changes(vec!["u".into()]).len(), 1);
        assert!(tracker.changes(vec!["u".into()]).is_empty());
        facts.title = "Mail".into();
        tracker.facts.insert("u".into(), facts);
        let changed = tracker.changes(vec!["u".into()]);
        assert_eq!(changed[0].title, "Mail");
    }

    #[test]
    fn events_put_a_domain_first_in_the_queue() {
        let mut tracker = DetailsTracker::default();
        let summaries: Vec<DomainSummary> = ["a", "b", "c"]
            .iter()
            .map(|uuid| DomainSummary {
                uuid: (*uuid).into(),
                ..DomainSummary::default()
            })
            .collect();
        tracker.note_domains(&summaries);
        tracker.queue_first("c");
        tracker.queue_first("d");
        assert_eq!(tracker.queue, ["d", "c", "a", "b"]);
    }
}
