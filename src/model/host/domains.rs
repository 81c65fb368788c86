//! A host's domain list: the full list from a refresh merged in place, single domains from
//! events added, updated or removed.

use std::collections::HashSet;

use gio::prelude::*;
use glib::subclass::prelude::*;

use super::Host;
use crate::backend::domain::DomainSummary;
use crate::model::Domain;

impl Host {
    /// Merges a full snapshot: updates known domains in place, adds new ones, drops the gone.
    pub(super) fn replace_domains(&self, list: Vec<DomainSummary>) {
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
                Some(domain) => {
                    domain.update(summary);
                    domain.record_sample(summary);
                }
                None => {
                    let domain = Domain::new(summary);
                    domain.record_sample(summary);
                    domain.set_host(self);
                    index.insert(summary.uuid.clone(), domain.clone());
                    added.push(domain);
                }
            }
        }
        if !added.is_empty() {
            store.extend_from_slice(&added);
        }
    }

    pub(super) fn upsert_domain(&self, summary: &DomainSummary) {
        let existing = self.imp().domain_index.borrow().get(&summary.uuid).cloned();
        match existing {
            Some(domain) => {
                domain.update(summary);
                domain.set_pending(false);
            }
            None => {
                let domain = Domain::new(summary);
                domain.set_host(self);
                self.imp()
                    .domain_index
                    .borrow_mut()
                    .insert(summary.uuid.clone(), domain.clone());
                self.domain_store().append(&domain);
            }
        }
    }

    pub(super) fn remove_domain(&self, uuid: &str) {
        let Some(domain) = self.imp().domain_index.borrow_mut().remove(uuid) else {
            return;
        };
        let store = self.domain_store();
        if let Some(position) = store.find(&domain) {
            store.remove(position);
        }
    }
}
