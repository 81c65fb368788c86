//! One thread per host owns its libvirt connection. The UI sends it commands and receives
//! updates over channels, so no libvirt call ever runs on the GTK main thread.

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use super::domain::{DomainSummary, HostInfo};
use super::error::{BackendError, ErrorKind};
use super::libvirt::ffi::{CloseReason, CredentialRequest, DomainEvent};
use super::libvirt::session::HostSession;

/// Answers authentication questions on the worker thread; may block while the user types.
pub type CredentialSource = Box<dyn FnMut(&CredentialRequest) -> Option<String> + Send>;

/// What the UI asks a worker to do.
#[derive(Debug)]
pub enum HostCommand {
    /// Fetch the domain list now instead of at the next tick.
    Refresh,
    /// Close the connection and end the thread.
    Stop,
}

/// What a worker tells the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum HostUpdate {
    Connecting,
    Connected(HostInfo),
    /// The whole list, replacing the previous one.
    Domains(Vec<DomainSummary>),
    /// One domain changed (an event said so).
    DomainChanged(DomainSummary),
    /// The domain with this UUID is gone.
    DomainRemoved(String),
    /// Opening failed or the connection broke; the worker has ended.
    Failed(BackendError),
    /// The worker ended because it was asked to.
    Stopped,
}

/// Everything the worker thread waits for, in arrival order.
enum Inbox {
    Command(HostCommand),
    Event(DomainEvent),
    Closed(CloseReason),
}

/// Handle to one host's worker thread. Dropping it stops the worker.
pub struct HostWorker {
    inbox: mpsc::Sender<Inbox>,
    updates: async_channel::Receiver<HostUpdate>,
}

impl HostWorker {
    /// Starts a worker that connects to `uri` and refreshes its domain list every `interval`.
    pub fn start(uri: String, credentials: CredentialSource, interval: Duration) -> Self {
        let (inbox, inbox_receiver) = mpsc::channel();
        let (updates_sender, updates) = async_channel::unbounded();
        let worker_inbox = inbox.clone();
        let spawned = thread::Builder::new()
            .name(format!("host {uri}"))
            .spawn(move || {
                let run = WorkerRun {
                    uri,
                    interval,
                    inbox: inbox_receiver,
                    inbox_sender: worker_inbox,
                    updates: updates_sender,
                };
                run.run(credentials);
            });
        if let Err(error) = spawned {
            let (sender, receiver) = async_channel::unbounded();
            let _ = sender.send_blocking(HostUpdate::Failed(BackendError::new(
                ErrorKind::Other,
                error.to_string(),
            )));
            return Self {
                inbox,
                updates: receiver,
            };
        }
        Self { inbox, updates }
    }

    /// The stream of updates; ends when the worker ends.
    pub fn updates(&self) -> async_channel::Receiver<HostUpdate> {
        self.updates.clone()
    }

    pub fn refresh(&self) {
        let _ = self.inbox.send(Inbox::Command(HostCommand::Refresh));
    }

    pub fn stop(&self) {
        let _ = self.inbox.send(Inbox::Command(HostCommand::Stop));
    }
}

impl Drop for HostWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

struct WorkerRun {
    uri: String,
    interval: Duration,
    inbox: mpsc::Receiver<Inbox>,
    inbox_sender: mpsc::Sender<Inbox>,
    updates: async_channel::Sender<HostUpdate>,
}

impl WorkerRun {
    fn run(self, mut credentials: CredentialSource) {
        self.send(HostUpdate::Connecting);
        let session = match HostSession::open(&self.uri, &mut *credentials) {
            Ok(session) => session,
            Err(error) => {
                self.send(HostUpdate::Failed(error));
                return;
            }
        };
        let _watch = match self.watch(&session) {
            Ok(watch) => Some(watch),
            Err(error) => {
                // Without events the list still follows through polling.
                eprintln!(
                    "hangar: no domain events from {}: {}",
                    self.uri, error.detail
                );
                None
            }
        };
        let outcome = self.serve(&session);
        self.send(outcome);
    }

    fn watch(
        &self,
        session: &HostSession,
    ) -> Result<super::libvirt::ffi::ConnectionWatch, BackendError> {
        // The callbacks run on libvirt's event thread; they only post into our inbox.
        let events = Mutex::new(self.inbox_sender.clone());
        let closes = Mutex::new(self.inbox_sender.clone());
        session.watch(
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
        )
    }

    /// Answers commands and events until told to stop or the connection ends.
    fn serve(&self, session: &HostSession) -> HostUpdate {
        match session.host_info() {
            Ok(info) => self.send(HostUpdate::Connected(info)),
            Err(error) => return HostUpdate::Failed(error),
        }
        if let Err(error) = self.send_domains(session) {
            return HostUpdate::Failed(error);
        }
        loop {
            let result = match self.inbox.recv_timeout(self.interval) {
                Ok(Inbox::Command(HostCommand::Stop)) => return HostUpdate::Stopped,
                Ok(Inbox::Command(HostCommand::Refresh)) | Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.send_domains(session)
                }
                Ok(Inbox::Event(event)) => self.send_domain(session, &event.uuid),
                Ok(Inbox::Closed(reason)) if reason != CloseReason::ClientRequest => {
                    return HostUpdate::Failed(connection_lost(reason));
                }
                Ok(Inbox::Closed(_)) => Ok(()),
                Err(mpsc::RecvTimeoutError::Disconnected) => return HostUpdate::Stopped,
            };
            if let Err(error) = result {
                if !session.is_alive() {
                    return HostUpdate::Failed(error);
                }
                eprintln!("hangar: {}: {}", self.uri, error.detail);
            }
            if self.updates.is_closed() {
                return HostUpdate::Stopped;
            }
        }
    }

    fn send_domains(&self, session: &HostSession) -> Result<(), BackendError> {
        self.send(HostUpdate::Domains(session.domains()?));
        Ok(())
    }

    fn send_domain(&self, session: &HostSession, uuid: &str) -> Result<(), BackendError> {
        match session.domain(uuid)? {
            Some(summary) => self.send(HostUpdate::DomainChanged(summary)),
            None => self.send(HostUpdate::DomainRemoved(uuid.to_owned())),
        }
        Ok(())
    }

    fn send(&self, update: HostUpdate) {
        let _ = self.updates.send_blocking(update);
    }
}

fn connection_lost(reason: CloseReason) -> BackendError {
    let detail = match reason {
        CloseReason::KeepaliveTimeout => "the host stopped answering keepalive messages",
        CloseReason::EndOfFile => "the host closed the connection",
        _ => "the connection failed",
    };
    BackendError::new(ErrorKind::ConnectionLost, detail)
}

/// A credential source that answers from a fixed user name and password, and gives up on
/// anything else.
pub fn fixed_credentials(username: Option<String>, password: Option<String>) -> CredentialSource {
    use super::libvirt::ffi::CredentialKind;
    Box::new(move |request| match request.kind {
        CredentialKind::Username => username.clone().or_else(|| request.default.clone()),
        CredentialKind::Password => password.clone(),
        CredentialKind::Text => request.default.clone(),
    })
}
