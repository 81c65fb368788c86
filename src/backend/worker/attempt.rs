//! Connection attempts: each on a thread of its own, at most one per host, cancellable.
//!
//! libvirt's open cannot be interrupted, so cancelling means: the thread asks nothing more
//! (a question on screen is withdrawn, libvirt's next question gets no answer), tries no
//! further login, and closes whatever it opened once libvirt returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Instant;

use super::{
    AttemptResult, ConnectPhase, HostCommand, HostUpdate, Inbox, Login, Outcome, WorkerRun,
};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::ffi::{CredentialKind, CredentialRequest};
use crate::backend::libvirt::session::HostSession;
use crate::backend::login::{CredentialPrompt, LoginUi};

/// An attempt thread that has not reported back yet.
pub(super) struct RunningAttempt {
    number: u64,
    cancel: Arc<AtomicBool>,
}

/// Login questions go to the UI as updates; the worker learns that its clock must pause.
pub(super) struct ChannelLoginUi {
    pub(super) updates: async_channel::Sender<HostUpdate>,
    pub(super) inbox: Mutex<mpsc::Sender<Inbox>>,
}

impl ChannelLoginUi {
    fn tell_worker(&self, message: Inbox) {
        if let Ok(inbox) = self.inbox.lock() {
            let _ = inbox.send(message);
        }
    }
}

impl LoginUi for ChannelLoginUi {
    fn ask(&self, prompt: CredentialPrompt) {
        self.tell_worker(Inbox::Asking(true));
        let _ = self
            .updates
            .send_blocking(HostUpdate::CredentialsNeeded(prompt));
    }

    fn answered(&self) {
        self.tell_worker(Inbox::Asking(false));
    }

    fn notice(&self, message: String) {
        let _ = self.updates.send_blocking(HostUpdate::Notice(message));
    }
}

impl WorkerRun {
    /// Opens the connection on a thread of its own, answering login questions, within the
    /// timeout (which stops while the user is being asked). When an earlier attempt timed out
    /// but still runs, this waits for that one instead of starting a second.
    pub(super) fn attempt(&self) -> Result<AttemptResult, Outcome> {
        let still_running = self.running.borrow().as_ref().map(|running| running.number);
        if let Some(number) = still_running {
            return self.wait_for_attempt(number);
        }
        let number = self.attempts.get() + 1;
        self.attempts.set(number);
        let cancel = Arc::new(AtomicBool::new(false));
        let mut login = self.spare_login.take().unwrap_or_else(|| self.new_login());
        login.set_cancel_flag(cancel.clone());
        let uri = self.uri.clone();
        let inbox = self.inbox_sender.clone();
        let updates = self.updates.clone();
        let thread_cancel = cancel.clone();
        let spawned = thread::Builder::new()
            .name(format!("open {uri}"))
            .spawn(move || {
                let result = open_with_login(&uri, &mut login, &updates, &thread_cancel);
                let _ = inbox.send(Inbox::Attempted(number, Box::new((result, login))));
            });
        if let Err(error) = spawned {
            return Err(Outcome::WaitForRetry(BackendError::new(
                ErrorKind::Other,
                error.to_string(),
            )));
        }
        self.running
            .replace(Some(RunningAttempt { number, cancel }));
        self.wait_for_attempt(number)
    }

    fn wait_for_attempt(&self, number: u64) -> Result<AttemptResult, Outcome> {
        let mut deadline = Some(Instant::now() + self.options.connect_timeout);
        loop {
            let message = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match self.inbox.recv_timeout(left) {
                        Ok(message) => message,
                        // The thread goes on; the next attempt waits for it.
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            return Err(Outcome::TryAgain(self.timeout_error()))
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Outcome::Stop),
                    }
                }
                None => match self.inbox.recv() {
                    Ok(message) => message,
                    Err(_) => return Err(Outcome::Stop),
                },
            };
            match message {
                Inbox::Attempted(id, result) if id == number => {
                    self.running.replace(None);
                    return Ok(*result);
                }
                Inbox::Attempted(id, result) => self.late_result(id, *result),
                Inbox::Closed(_) | Inbox::Event(_) => {}
                Inbox::Asking(true) => deadline = None,
                Inbox::Asking(false) => {
                    deadline = Some(Instant::now() + self.options.connect_timeout);
                }
                Inbox::Command(HostCommand::Stop) => return Err(Outcome::Stop),
                Inbox::Command(_) => {}
            }
        }
    }

    /// The result of an attempt that timed out: its thread is done, its login state is kept
    /// for the next attempt and its connection, if any, is closed by dropping it.
    pub(super) fn late_result(&self, number: u64, (_result, login): AttemptResult) {
        let ours = self.running.borrow().as_ref().map(|running| running.number) == Some(number);
        if ours {
            self.running.replace(None);
            self.spare_login.replace(Some(login));
        }
    }

    /// Tells a running attempt thread to give up (on Stop or when the host is removed).
    pub(super) fn cancel_running(&self) {
        if let Some(running) = self.running.take() {
            running.cancel.store(true, Ordering::Relaxed);
        }
    }
}

/// Opens `uri`. Asks again, with the reason, only when the host rejected a password (typed,
/// from the keyring or accepted earlier); any other failure ends the attempt.
fn open_with_login(
    uri: &str,
    login: &mut Login,
    updates: &async_channel::Sender<HostUpdate>,
    cancel: &AtomicBool,
) -> Result<HostSession, BackendError> {
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        login.begin_attempt();
        let mut asked = false;
        let mut password_given = false;
        let mut answer = |request: &CredentialRequest| {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            if !asked {
                asked = true;
                let _ = updates.send_blocking(HostUpdate::Phase(ConnectPhase::LoggingIn));
            }
            let answer = login.answer(request);
            if request.kind == CredentialKind::Password && answer.is_some() {
                password_given = true;
            }
            answer
        };
        let error = match HostSession::open(uri, &mut answer) {
            Ok(session) => {
                login.succeeded();
                return Ok(session);
            }
            Err(error) => error,
        };
        // libvirt reports a question left unanswered as a failed (not cancelled) login.
        if login.was_cancelled() || cancel.load(Ordering::Relaxed) {
            return Err(error.with_kind(ErrorKind::AuthCancelled));
        }
        match error.kind {
            ErrorKind::AuthFailed if password_given => login.rejected(&error),
            // Refused before any password: asking or waiting would not change that.
            ErrorKind::AuthFailed if !password_given => {
                return Err(error.with_kind(ErrorKind::AuthUnavailable));
            }
            _ => return Err(error),
        }
    }
}

fn cancelled() -> BackendError {
    BackendError::new(ErrorKind::AuthCancelled, "the attempt was cancelled")
}
