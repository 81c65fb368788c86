//! One thread per host owns its libvirt connection. The UI sends it commands and receives
//! updates over channels, so no libvirt call ever runs on the GTK main thread.
//!
//! The worker connects (asking for credentials through the UI when needed), serves the domain
//! list, and after a lost connection or an unreachable host tries again with growing pauses.
//! Each connection attempt runs on a short-lived thread of its own, so a host that accepts
//! the connection and then never answers costs a timeout, not a frozen worker. At most one
//! such thread runs per host: after a timeout the next attempt waits for the old thread.
//!
//! Only a password that the host rejected leads to another try at once (asking the user,
//! with the reason). A login refused without any password asked (polkit without an agent,
//! no Kerberos ticket) or cancelled waits for the user; so does a host still unreachable
//! after `max_retries` pauses that double each time.

use std::cell::{Cell, RefCell};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use gettextrs::gettext;

use super::actions::DomainAction;
use super::console::ConsoleTarget;
use super::details::DomainDetails;
use super::domain::{DomainSummary, HostInfo};
use super::error::{BackendError, ErrorKind};
use super::libvirt::ffi::{CloseReason, DomainEvent};
use super::libvirt::session::HostSession;
use super::login::{CredentialPrompt, Login, LoginSettings};
use super::storage::deletion::DiskVerdict;
use super::summary::HostSummary;

mod attempt;
mod busy;
mod serving;

use attempt::ChannelLoginUi;
use busy::BusyClock;

/// Tunables of a worker.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How often the domain list's figures are refreshed.
    pub refresh_interval: Duration,
    /// How long an attempt may take (not counting time spent waiting for the user).
    pub connect_timeout: Duration,
    /// Try again by itself after a lost connection or an unreachable host.
    pub auto_reconnect: bool,
    /// The first pause before trying again; it doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Automatic attempts after failures that may pass (network, timeout), in a row; then
    /// the host waits for the user's Retry. Refused logins are never retried by themselves.
    pub max_retries: u32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(30),
            auto_reconnect: true,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            // 1 + 2 + 4 + … s, then a minute apart: about 8 minutes of trying.
            max_retries: 12,
        }
    }
}

/// Work for the worker thread, given the open session.
pub struct Job(pub Box<dyn FnOnce(&HostSession) + Send>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// What the UI asks a worker to do.
#[derive(Debug)]
pub enum HostCommand {
    /// Fetch the domain list now instead of at the next tick.
    Refresh,
    /// Connect now (after a failure, instead of waiting for the next attempt).
    Retry,
    /// Run a lifecycle action on each of these domains.
    Domains {
        uuids: Vec<String>,
        action: DomainAction,
    },
    /// Collect the host summary.
    FetchSummary,
    /// Reply with which of a domain's disk images deleting it with its storage would delete
    /// and which it keeps, and why (for the delete confirmation).
    DiskPaths {
        uuid: String,
        reply: async_channel::Sender<Result<Vec<DiskVerdict>, BackendError>>,
    },
    /// Reply with how to reach a domain's console.
    Console {
        uuid: String,
        reply: async_channel::Sender<Result<ConsoleTarget, BackendError>>,
    },
    /// Run a job that needs the connection (wizards, uploads); it replies on its own channel.
    Run(Job),
    /// Refresh the figures periodically (true) or only on events and request (false), e.g.
    /// while the host is not shown.
    SetPolling(bool),
    /// Close the connection and end the thread.
    Stop,
}

/// Where a connection attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectPhase {
    Opening,
    /// The host asked for credentials and Hangar is answering (or the user is).
    LoggingIn,
    LoadingDomains,
}

/// What a worker tells the UI.
#[derive(Debug)]
pub enum HostUpdate {
    Phase(ConnectPhase),
    Connected(HostInfo),
    /// The whole list, replacing the previous one.
    Domains(Vec<DomainSummary>),
    /// One domain changed (an event said so).
    DomainChanged(DomainSummary),
    /// The domain with this UUID is gone.
    DomainRemoved(String),
    /// The definition of the domain with this UUID changed (saved config, metadata or
    /// devices): an open details page reads it again.
    DomainDefinitionChanged(String),
    /// Titles and guest addresses that changed (read after the list, in batches).
    DomainDetails(Vec<DomainDetails>),
    /// An action failed on one domain (the others in the same command went on).
    ActionFailed {
        domain: String,
        action: DomainAction,
        error: BackendError,
    },
    Summary(Box<HostSummary>),
    /// The user must answer a login question; the worker waits for it.
    CredentialsNeeded(CredentialPrompt),
    /// Something the user should know that is not a failure of this host.
    Notice(String),
    /// Connecting failed or the connection broke.
    Failed(BackendError),
    /// The worker will try again after this pause (or at once on `Retry`).
    Retrying(Duration),
    /// The worker ended because it was asked to.
    Stopped,
}

/// Everything the worker thread waits for, in arrival order.
enum Inbox {
    Command(HostCommand),
    Event(DomainEvent),
    Closed(CloseReason),
    /// The attempt thread is waiting for the user (true) or no longer (false).
    Asking(bool),
    /// The result of attempt number N.
    Attempted(u64, Box<AttemptResult>),
}

type AttemptResult = (Result<HostSession, BackendError>, Login);

/// Handle to one host's worker thread. Dropping it stops the worker.
pub struct HostWorker {
    inbox: mpsc::Sender<Inbox>,
    updates: async_channel::Receiver<HostUpdate>,
    busy: BusyClock,
}

impl HostWorker {
    /// Starts a worker that connects to `uri` and keeps its domain list current.
    pub fn start(uri: String, login: LoginSettings, options: WorkerOptions) -> Self {
        let (inbox, inbox_receiver) = mpsc::channel();
        let (updates_sender, updates) = async_channel::unbounded();
        let busy = BusyClock::default();
        let run = WorkerRun {
            busy: busy.clone(),
            uri: uri.clone(),
            options,
            login,
            attempts: Cell::new(0),
            running: RefCell::default(),
            spare_login: RefCell::default(),
            polling: Cell::new(true),
            inbox: inbox_receiver,
            inbox_sender: inbox.clone(),
            updates: updates_sender.clone(),
        };
        let spawned = thread::Builder::new()
            .name(format!("host {uri}"))
            .spawn(move || run.run());
        if let Err(error) = spawned {
            let _ = updates_sender.send_blocking(HostUpdate::Failed(BackendError::new(
                ErrorKind::Other,
                error.to_string(),
            )));
        }
        Self {
            inbox,
            updates,
            busy,
        }
    }

    /// While connected: how long the host has kept the worker waiting on the current call
    /// (`None` when it is not waiting). Cheap, and never waits for the worker.
    pub fn waiting_for_host(&self) -> Option<Duration> {
        self.busy.busy_for()
    }

    /// The stream of updates; ends when the worker ends.
    pub fn updates(&self) -> async_channel::Receiver<HostUpdate> {
        self.updates.clone()
    }

    pub fn send(&self, command: HostCommand) {
        let _ = self.inbox.send(Inbox::Command(command));
    }

    /// A handle that sends commands without owning the worker (dropping it stops nothing).
    pub fn sender(&self) -> CommandSender {
        CommandSender(self.inbox.clone())
    }
}

/// Sends commands to a worker; see `HostWorker::sender`.
#[derive(Clone)]
pub struct CommandSender(mpsc::Sender<Inbox>);

impl CommandSender {
    pub fn send(&self, command: HostCommand) {
        let _ = self.0.send(Inbox::Command(command));
    }
}

impl Drop for HostWorker {
    fn drop(&mut self) {
        self.send(HostCommand::Stop);
    }
}

/// How a connected period or a failed attempt ended.
enum Outcome {
    /// Asked to stop, or the UI went away.
    Stop,
    /// Try again after a pause (or wait for Retry when not reconnecting by itself).
    TryAgain(BackendError),
    /// The failure will not go away by waiting (bad address, login cancelled): wait for Retry.
    WaitForRetry(BackendError),
}

struct WorkerRun {
    /// Set while the connected period works on a message (see `busy`).
    busy: BusyClock,
    uri: String,
    options: WorkerOptions,
    login: LoginSettings,
    attempts: Cell<u64>,
    /// The attempt thread that still runs (one that timed out, until it ends).
    running: RefCell<Option<attempt::RunningAttempt>>,
    /// The login state between attempts (answers the host accepted, what was tried).
    spare_login: RefCell<Option<Login>>,
    polling: Cell<bool>,
    inbox: mpsc::Receiver<Inbox>,
    inbox_sender: mpsc::Sender<Inbox>,
    updates: async_channel::Sender<HostUpdate>,
}

impl WorkerRun {
    fn run(self) {
        let mut failures = 0u32;
        loop {
            let outcome = self.connect_and_serve(&mut failures);
            let wait = match outcome {
                Outcome::Stop => return self.stop(),
                Outcome::TryAgain(error) if self.may_retry(failures) => {
                    self.send(HostUpdate::Failed(error));
                    let pause = self.backoff(failures);
                    self.send(HostUpdate::Retrying(pause));
                    Some(pause)
                }
                Outcome::TryAgain(error) | Outcome::WaitForRetry(error) => {
                    self.send(HostUpdate::Failed(error));
                    // The user asks for the next attempt, which starts a new series.
                    failures = 0;
                    None
                }
            };
            if !self.pause(wait) {
                return self.stop();
            }
        }
    }

    /// Automatic retries stop after `max_retries` failures in a row.
    fn may_retry(&self, failures: u32) -> bool {
        self.options.auto_reconnect && failures <= self.options.max_retries
    }

    fn stop(&self) {
        self.cancel_running();
        self.send(HostUpdate::Stopped);
    }

    /// One attempt, and if it connects, the connected period until it ends.
    fn connect_and_serve(&self, failures: &mut u32) -> Outcome {
        self.send(HostUpdate::Phase(ConnectPhase::Opening));
        let (result, login) = match self.attempt() {
            Ok(done) => done,
            Err(outcome) => {
                *failures += 1;
                return outcome;
            }
        };
        let cancelled = login.was_cancelled();
        self.spare_login.replace(Some(login));
        let session = match result {
            Ok(session) => session,
            Err(error) => {
                *failures += 1;
                return if cancelled || !is_transient(&error) {
                    Outcome::WaitForRetry(error)
                } else {
                    Outcome::TryAgain(error)
                };
            }
        };
        *failures = 0;
        self.serve(&session)
    }

    fn new_login(&self) -> Login {
        let ui = ChannelLoginUi {
            updates: self.updates.clone(),
            inbox: Mutex::new(self.inbox_sender.clone()),
        };
        Login::new(self.login.clone(), Box::new(ui))
    }

    fn timeout_error(&self) -> BackendError {
        let seconds = self.options.connect_timeout.as_secs().to_string();
        BackendError::new(
            ErrorKind::Unreachable,
            gettext("the host did not answer within {seconds} seconds")
                .replace("{seconds}", &seconds),
        )
    }

    /// Waits `pause` (or, when `None`, until Retry); false when asked to stop meanwhile.
    fn pause(&self, pause: Option<Duration>) -> bool {
        let deadline = pause.map(|pause| Instant::now() + pause);
        loop {
            let message = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match self.inbox.recv_timeout(left) {
                        Ok(message) => message,
                        Err(mpsc::RecvTimeoutError::Timeout) => return true,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return false,
                    }
                }
                None => match self.inbox.recv() {
                    Ok(message) => message,
                    Err(_) => return false,
                },
            };
            match message {
                Inbox::Command(HostCommand::Stop) => return false,
                Inbox::Command(HostCommand::Retry) => return true,
                Inbox::Attempted(number, result) => self.late_result(number, *result),
                _ => {}
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        (self.options.first_backoff * factor).min(self.options.max_backoff)
    }

    fn send(&self, update: HostUpdate) {
        let _ = self.updates.send_blocking(update);
    }
}

/// Failures that may go away by themselves: the network, a restarting daemon.
fn is_transient(error: &BackendError) -> bool {
    matches!(
        error.kind,
        ErrorKind::Unreachable | ErrorKind::ConnectionLost | ErrorKind::Other
    )
}

fn connection_lost(reason: CloseReason) -> BackendError {
    let detail = match reason {
        CloseReason::KeepaliveTimeout => gettext("the host stopped answering"),
        CloseReason::EndOfFile => gettext("the host closed the connection"),
        _ => gettext("the connection failed"),
    };
    BackendError::new(ErrorKind::ConnectionLost, detail)
}
