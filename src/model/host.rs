//! One host (libvirt connection) in the sidebar, with its live domain list.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gio::prelude::*;
use glib::subclass::prelude::*;

use super::Domain;
use crate::backend::domain::{DomainSummary, HostInfo};
use crate::backend::uri;
use crate::backend::worker::{fixed_credentials, HostUpdate, HostWorker};

/// Where a host's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[enum_type(name = "HangarHostStatus")]
pub enum HostStatus {
    #[default]
    Disconnected,
    Connecting,
    Connected,
    Failed,
}

/// How often the domain list's figures are refreshed while connected.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(2);

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::Host)]
    pub struct Host {
        #[property(get, set)]
        pub(super) name: RefCell<String>,
        #[property(get, construct_only)]
        pub(super) uri: RefCell<String>,
        #[property(get, builder(HostStatus::default()))]
        pub(super) status: Cell<HostStatus>,
        /// Why the last attempt failed, in plain words.
        #[property(get)]
        pub(super) error_message: RefCell<String>,
        #[property(get)]
        pub(super) hostname: RefCell<String>,
        #[property(get)]
        pub(super) domains: RefCell<Option<gio::ListStore>>,
        pub(super) domain_index: RefCell<HashMap<String, Domain>>,
        pub(super) worker: RefCell<Option<HostWorker>>,
        pub(super) info: RefCell<HostInfo>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Host {
        const NAME: &'static str = "HangarHost";
        type Type = super::Host;
    }

    #[glib::derived_properties]
    impl ObjectImpl for Host {
        fn constructed(&self) {
            self.parent_constructed();
            self.domains.replace(Some(gio::ListStore::new::<Domain>()));
        }
    }
}

glib::wrapper! {
    pub struct Host(ObjectSubclass<imp::Host>);
}

impl Host {
    /// A host named after its address.
    pub fn new(uri: &str) -> Self {
        Self::with_name(uri, &uri::display_name(uri))
    }

    pub fn with_name(uri: &str, name: &str) -> Self {
        glib::Object::builder()
            .property("uri", uri)
            .property("name", name)
            .build()
    }

    /// The host's domains; always present after construction.
    pub fn domain_store(&self) -> gio::ListStore {
        self.imp()
            .domains
            .borrow()
            .clone()
            .unwrap_or_else(gio::ListStore::new::<Domain>)
    }

    pub fn info(&self) -> HostInfo {
        self.imp().info.borrow().clone()
    }

    /// Starts (or restarts) the connection on a worker thread.
    pub fn connect_to_host(&self) {
        let address = uri::ConnectionUri::parse(&self.uri()).ok();
        let username = address.and_then(|parsed| parsed.user);
        let worker = HostWorker::start(
            self.uri(),
            fixed_credentials(username, None),
            DEFAULT_REFRESH,
        );
        let updates = worker.updates();
        // Replacing the old worker stops it; its late updates go to a closed channel.
        self.imp().worker.replace(Some(worker));
        self.set_status(HostStatus::Connecting, "");
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            while let Ok(update) = updates.recv().await {
                let Some(host) = weak.upgrade() else { break };
                if !host.is_current_channel(&updates) {
                    break;
                }
                host.apply(update);
            }
        });
    }

    /// Closes the connection.
    pub fn disconnect_from_host(&self) {
        self.imp().worker.replace(None);
        self.set_status(HostStatus::Disconnected, "");
    }

    /// Asks the worker for a fresh list now.
    pub fn refresh(&self) {
        if let Some(worker) = self.imp().worker.borrow().as_ref() {
            worker.refresh();
        }
    }

    fn is_current_channel(&self, updates: &async_channel::Receiver<HostUpdate>) -> bool {
        self.imp()
            .worker
            .borrow()
            .as_ref()
            .is_some_and(|worker| worker.updates().same_channel(updates))
    }

    fn apply(&self, update: HostUpdate) {
        match update {
            HostUpdate::Connecting => self.set_status(HostStatus::Connecting, ""),
            HostUpdate::Connected(info) => {
                self.imp().hostname.replace(info.hostname.clone());
                self.imp().info.replace(info);
                self.notify_hostname();
            }
            HostUpdate::Domains(list) => {
                self.replace_domains(list);
                self.set_status(HostStatus::Connected, "");
            }
            HostUpdate::DomainChanged(summary) => self.upsert_domain(&summary),
            HostUpdate::DomainRemoved(uuid) => self.remove_domain(&uuid),
            HostUpdate::Failed(error) => {
                self.imp().worker.replace(None);
                self.set_status(HostStatus::Failed, &error.user_message());
            }
            HostUpdate::Stopped => self.set_status(HostStatus::Disconnected, ""),
        }
    }

    fn set_status(&self, status: HostStatus, message: &str) {
        let imp = self.imp();
        if *imp.error_message.borrow() != message {
            imp.error_message.replace(message.to_owned());
            self.notify_error_message();
        }
        if imp.status.get() != status {
            imp.status.set(status);
            self.notify_status();
        }
    }

    /// Merges a full snapshot: updates known domains in place, adds new ones, drops the gone.
    fn replace_domains(&self, list: Vec<DomainSummary>) {
        let store = self.domain_store();
        let mut index = self.imp().domain_index.borrow_mut();
        let present: HashSet<&str> = list.iter().map(|summary| summary.uuid.as_str()).collect();
        if index.keys().any(|uuid| !present.contains(uuid.as_str())) {
            index.retain(|uuid, _| present.contains(uuid.as_str()));
            store.retain(|object| {
                object
                    .downcast_ref::<Domain>()
                    .is_some_and(|domain| present.contains(domain.uuid().as_str()))
            });
        }
        let mut added = Vec::new();
        for summary in &list {
            match index.get(&summary.uuid) {
                Some(domain) => domain.update(summary),
                None => {
                    let domain = Domain::new(summary);
                    index.insert(summary.uuid.clone(), domain.clone());
                    added.push(domain);
                }
            }
        }
        if !added.is_empty() {
            store.extend_from_slice(&added);
        }
    }

    fn upsert_domain(&self, summary: &DomainSummary) {
        let existing = self.imp().domain_index.borrow().get(&summary.uuid).cloned();
        match existing {
            Some(domain) => domain.update(summary),
            None => {
                let domain = Domain::new(summary);
                self.imp()
                    .domain_index
                    .borrow_mut()
                    .insert(summary.uuid.clone(), domain.clone());
                self.domain_store().append(&domain);
            }
        }
    }

    fn remove_domain(&self, uuid: &str) {
        let Some(domain) = self.imp().domain_index.borrow_mut().remove(uuid) else {
            return;
        };
        let store = self.domain_store();
        if let Some(position) = store.find(&domain) {
            store.remove(position);
        }
    }
}
