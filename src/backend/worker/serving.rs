//! The connected period of a worker: commands, events, refreshes and, between them, the
//! domains' details in small batches.

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{connection_lost, ConnectPhase, HostCommand, HostUpdate, Inbox, Outcome, WorkerRun};
use crate::backend::actions::{self, DomainAction};
use crate::backend::console::{self, ConsoleTarget};
use crate::backend::details::{DetailsTracker, DomainDetails};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::ffi::{CloseReason, ConnectionWatch};
use crate::backend::libvirt::session::HostSession;
use crate::backend::summary;
use crate::backend::uri::ConnectionUri;

/// Domains whose XML is read between two looks at the inbox: small enough that commands
/// and events still get an answer at once while 5,000 domains are read.
const DETAILS_BATCH: usize = 25;
/// Leases and agents are asked every this many refreshes (every 10 s by default).
const REFRESHES_PER_ADDRESS_ROUND: u32 = 5;

/// What one connected period keeps between messages.
struct ServeState {
    details: DetailsTracker,
    /// CPU use is measured between two summaries on the same connection.
    sampler: summary::SummarySampler,
    next_refresh: Instant,
    refreshes: u32,
    /// The first pass over every domain's details is done and addresses were read once.
    addresses_read: bool,
}

impl Default for ServeState {
    fn default() -> Self {
        Self {
            details: DetailsTracker::default(),
            sampler: summary::SummarySampler::default(),
            next_refresh: Instant::now(),
            refreshes: 0,
            addresses_read: false,
        }
    }
}

impl WorkerRun {
    /// Answers commands and events until told to stop or the connection ends.
    pub(super) fn serve(&self, session: &HostSession) -> Outcome {
        self.send(HostUpdate::Phase(ConnectPhase::LoadingDomains));
        let first_list = self.busy.enter();
        let _watch = self.watch(session);
        match session.host_info() {
            Ok(info) => self.send(HostUpdate::Connected(info)),
            Err(error) => return Outcome::TryAgain(error),
        }
        let mut state = ServeState::default();
        if let Err(error) = self.refresh(session, &mut state) {
            return Outcome::TryAgain(error);
        }
        drop(first_list);
        loop {
            let message = self.next_message(&state);
            let _busy = is_quick_work(&message).then(|| self.busy.enter());
            let result = match message {
                Ok(Inbox::Command(HostCommand::Stop)) => return Outcome::Stop,
                Ok(Inbox::Closed(reason)) if reason != CloseReason::ClientRequest => {
                    return Outcome::TryAgain(connection_lost(reason));
                }
                // A steady stream of events must not hold the figures back.
                Ok(message) => self
                    .handle(session, &mut state, message)
                    .and_then(|()| self.refresh_if_due(session, &mut state)),
                Err(mpsc::RecvTimeoutError::Timeout) => self.on_idle(session, &mut state),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Outcome::Stop,
            };
            if let Err(error) = result {
                if !session.is_alive() {
                    return Outcome::TryAgain(BackendError::new(
                        ErrorKind::ConnectionLost,
                        error.detail,
                    ));
                }
                self.send(HostUpdate::Notice(error.user_message()));
            }
            if self.updates.is_closed() {
                return Outcome::Stop;
            }
        }
    }

    fn handle(
        &self,
        session: &HostSession,
        state: &mut ServeState,
        message: Inbox,
    ) -> Result<(), BackendError> {
        match message {
            Inbox::Command(HostCommand::SetPolling(on)) => {
                self.polling.set(on);
                // Catch up at once when the list becomes visible again.
                if on {
                    return self.refresh(session, state);
                }
            }
            Inbox::Command(HostCommand::Refresh | HostCommand::Retry) => {
                return self.refresh(session, state)
            }
            Inbox::Event(event) => {
                if event.kind.changes_definition() {
                    self.send(HostUpdate::DomainDefinitionChanged(event.uuid.clone()));
                }
                state.details.queue_first(&event.uuid);
                return self.send_domain(session, &mut state.details, &event.uuid);
            }
            Inbox::Command(HostCommand::Domains { uuids, action }) => {
                self.run_actions(session, &mut state.details, &uuids, &action);
            }
            Inbox::Command(HostCommand::Run(job)) => (job.0)(session),
            Inbox::Command(HostCommand::Console { uuid, reply }) => {
                let _ = reply.send_blocking(self.console_target(session, &uuid));
            }
            Inbox::Command(HostCommand::DiskPaths { uuid, reply }) => {
                let _ = reply.send_blocking(actions::disk_plan(session, &uuid));
            }
            Inbox::Command(HostCommand::FetchSummary) => {
                let summary = summary::collect(session, &mut state.sampler)?;
                self.send(HostUpdate::Summary(Box::new(summary)));
            }
            _ => {}
        }
        Ok(())
    }

    fn refresh_if_due(
        &self,
        session: &HostSession,
        state: &mut ServeState,
    ) -> Result<(), BackendError> {
        if self.polling.get() && Instant::now() >= state.next_refresh {
            self.refresh(session, state)
        } else {
            Ok(())
        }
    }

    /// Nothing in the inbox: refresh when it is time, else read a few domains' details.
    fn on_idle(&self, session: &HostSession, state: &mut ServeState) -> Result<(), BackendError> {
        if self.polling.get() && Instant::now() >= state.next_refresh {
            return self.refresh(session, state);
        }
        let changed = state.details.read_some(session, DETAILS_BATCH);
        if !state.details.has_pending() && !state.addresses_read {
            // The first pass is done: place the guests at once instead of in a few seconds.
            state.addresses_read = true;
            self.send_details(changed);
            self.send_details(state.details.refresh_addresses(session));
            return Ok(());
        }
        self.send_details(changed);
        Ok(())
    }

    /// The whole list with fresh figures, and every few rounds the guests' addresses.
    fn refresh(&self, session: &HostSession, state: &mut ServeState) -> Result<(), BackendError> {
        state.next_refresh = Instant::now() + self.options.refresh_interval;
        let domains = session.domains()?;
        // Events queue the domains they name; this pass catches what no event reported (a
        // host without events), so it can wait for the slower address round.
        let round = state.refreshes % REFRESHES_PER_ADDRESS_ROUND == 0;
        if round {
            state.details.note_domains(&domains);
        }
        self.send(HostUpdate::Domains(domains));
        state.refreshes = state.refreshes.wrapping_add(1);
        if round && state.addresses_read {
            self.send_details(state.details.refresh_addresses(session));
        }
        Ok(())
    }

    fn send_details(&self, changed: Vec<DomainDetails>) {
        if !changed.is_empty() {
            self.send(HostUpdate::DomainDetails(changed));
        }
    }

    fn watch(&self, session: &HostSession) -> Option<ConnectionWatch> {
        // The callbacks run on libvirt's event thread; they only post into our inbox.
        let events = Mutex::new(self.inbox_sender.clone());
        let closes = Mutex::new(self.inbox_sender.clone());
        let watch = session.watch(
            move |event| {
                if let Ok(inbox) = events.lock() {
                    let _ = inbox.send(Inbox::Event(event));
                }
            },
            move |reason| {
                if let Ok(inbox) = closes.lock() {
                    let _ = inbox.send(Inbox::Closed(reason));
                }
            },
        );
        // Without events the list still follows through polling.
        watch.ok()
    }

    /// Runs `action` on every domain; each failure is reported and the rest go on. The
    /// domain's row is refreshed afterwards, so a pending state always ends.
    fn run_actions(
        &self,
        session: &HostSession,
        details: &mut DetailsTracker,
        uuids: &[String],
        action: &DomainAction,
    ) {
        for uuid in uuids {
            if let Err(error) = actions::run(session, uuid, action) {
                let domain = session
                    .domain(uuid)
                    .ok()
                    .flatten()
                    .map(|summary| summary.name)
                    .unwrap_or_default();
                self.send(HostUpdate::ActionFailed {
                    domain,
                    action: action.clone(),
                    error,
                });
            }
            let _ = self.send_domain(session, details, uuid);
        }
    }

    fn console_target(
        &self,
        session: &HostSession,
        uuid: &str,
    ) -> Result<ConsoleTarget, BackendError> {
        let uri = ConnectionUri::parse(&self.uri)?;
        console::resolve(session, &uri, uuid)
    }

    /// The next message; a timeout when it is time to refresh (while polling) or at once
    /// when details are still to be read.
    fn next_message(&self, state: &ServeState) -> Result<Inbox, mpsc::RecvTimeoutError> {
        if state.details.has_pending() {
            return self.inbox.recv_timeout(Duration::ZERO);
        }
        if self.polling.get() {
            let left = state.next_refresh.saturating_duration_since(Instant::now());
            self.inbox.recv_timeout(left)
        } else {
            self.inbox
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        }
    }

    fn send_domain(
        &self,
        session: &HostSession,
        details: &mut DetailsTracker,
        uuid: &str,
    ) -> Result<(), BackendError> {
        match session.domain(uuid)? {
            Some(summary) => self.send(HostUpdate::DomainChanged(summary)),
            None => {
                details.forget(uuid);
                self.send(HostUpdate::DomainRemoved(uuid.to_owned()));
            }
        }
        Ok(())
    }
}

/// Work that a host answering normally finishes in moments. Actions (a managed save writes
/// the guest's memory) and wizard jobs (uploads) may rightly take minutes.
fn is_quick_work(message: &Result<Inbox, mpsc::RecvTimeoutError>) -> bool {
    !matches!(
        message,
        Ok(Inbox::Command(
            HostCommand::Run(_) | HostCommand::Domains { .. }
        ))
    )
}
