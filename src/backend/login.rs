//! Answers libvirt's authentication questions on a host's worker thread: from the saved user
//! name and the keyring first, else by asking the user through the UI and waiting.
//!
//! A typed password is stored only after libvirt accepted it, so a wrong one never replaces
//! a working one. Once accepted it is dropped (wiped): the keyring has it when the user
//! asked to remember it; otherwise the one copy left is kept in memory to reconnect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use super::error::BackendError;
use super::libvirt::ffi::{CredentialAnswer, CredentialKind, CredentialRequest};
use super::password::{Password, REDACTED};
use super::secrets;

/// How a host logs in.
#[derive(Clone, Default)]
pub struct LoginSettings {
    /// Where the password lives in the keyring; `None` for hosts that are not saved.
    pub keyring_key: Option<String>,
    /// The keyring item's label, naming user and host.
    pub keyring_label: String,
    pub username: Option<String>,
    /// Use and keep the password in the keyring.
    pub remember_password: bool,
    /// The host's name, for the question the user sees.
    pub host_name: String,
    /// A password the user just typed (e.g. in the add-connection dialog), tried first and
    /// kept in the keyring only if the host accepts it and `remember_password` is set.
    pub typed_password: TypedPassword,
    /// Where an accepted password that the keyring does not keep waits for the host's jobs,
    /// which open connections of their own and never ask (see `SessionPassword`).
    pub session_password: SessionPassword,
}

/// The user name and password the host accepted this run when the keyring does not hold
/// them (not remembered, or no keyring): the worker's login puts them here, and a job's
/// login of the same host reads them instead of asking. Cleared when the host rejects them.
#[derive(Clone, Default)]
pub struct SessionPassword(Arc<Mutex<Option<(String, Password)>>>);

impl SessionPassword {
    fn set(&self, value: Option<(String, Password)>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }

    fn get(&self) -> Option<(String, Password)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl std::fmt::Debug for SessionPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(_) => f.write_str(REDACTED),
            None => f.write_str("None"),
        }
    }
}

/// A typed password on its way to the first login that uses it.
///
/// Copies of the settings share it: the login that takes it takes it from every copy (the
/// worker keeps one to start later logins), so no copy of the settings holds it afterwards.
#[derive(Clone, Default)]
pub struct TypedPassword(Arc<Mutex<Option<Password>>>);

impl TypedPassword {
    pub fn new(password: Option<Password>) -> Self {
        Self(Arc::new(Mutex::new(password)))
    }

    /// The password, once: later calls, from any copy, get `None`.
    pub fn take(&self) -> Option<Password> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Whether a password is still waiting to be used.
    pub fn is_set(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl From<Password> for TypedPassword {
    fn from(password: Password) -> Self {
        Self::new(Some(password))
    }
}

impl std::fmt::Debug for TypedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.is_set() {
            true => f.write_str(REDACTED),
            false => f.write_str("None"),
        }
    }
}

impl std::fmt::Debug for LoginSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSettings")
            .field("keyring_key", &self.keyring_key)
            .field("username", &self.username)
            .field("remember_password", &self.remember_password)
            .field("host_name", &self.host_name)
            .field("typed_password", &self.typed_password)
            .field("session_password", &self.session_password)
            .finish_non_exhaustive()
    }
}

/// What the user typed.
#[derive(Clone)]
pub struct PromptAnswer {
    pub username: String,
    pub password: Password,
    pub remember: bool,
}

impl std::fmt::Debug for PromptAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptAnswer")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("remember", &self.remember)
            .finish()
    }
}

/// A question for the user; the worker waits until `answer` is called (or it is dropped).
pub struct CredentialPrompt {
    pub host_name: String,
    pub username: Option<String>,
    /// Why the user is asked again, when a previous answer was rejected.
    pub reason: Option<String>,
    /// Whether "Remember password" makes sense (the host is saved and the keyring works).
    pub offer_remember: bool,
    pub remember_default: bool,
    reply: mpsc::Sender<Option<PromptAnswer>>,
}

impl CredentialPrompt {
    /// Gives the worker the user's answer; `None` cancels the login.
    pub fn answer(self, answer: Option<PromptAnswer>) {
        let _ = self.reply.send(answer);
    }
}

impl std::fmt::Debug for CredentialPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialPrompt")
            .field("host_name", &self.host_name)
            .field("username", &self.username)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// Where a login asks its questions and reports what the user should know.
pub trait LoginUi: Send {
    /// Shows `prompt`; the answer comes back through the prompt itself.
    fn ask(&self, prompt: CredentialPrompt);
    /// The user answered (or closed the question).
    fn answered(&self) {}
    /// A sentence worth a toast (e.g. the keyring cannot be used).
    fn notice(&self, message: String);
}

/// The keyring problem is said once per run, not once per host.
static KEYRING_PROBLEM_REPORTED: AtomicBool = AtomicBool::new(false);

/// The credentials of one host across its login attempts.
pub struct Login {
    settings: LoginSettings,
    ui: Box<dyn LoginUi>,
    stored_password_tried: bool,
    keyring_usable: bool,
    /// What the user typed for the current attempt.
    typed: Option<PromptAnswer>,
    /// Answers the host accepted this run that the keyring does not keep (not remembered,
    /// or no keyring), reused from memory only to reconnect.
    accepted: Option<PromptAnswer>,
    rejection: Option<String>,
    cancelled: bool,
    /// Set by the worker to withdraw an open question (the host was closed or removed).
    cancel: Arc<AtomicBool>,
}

/// How often a question waiting for the user checks whether it was withdrawn.
const CANCEL_CHECK: Duration = Duration::from_millis(100);

impl Login {
    pub fn new(settings: LoginSettings, ui: Box<dyn LoginUi>) -> Self {
        Self {
            settings,
            ui,
            stored_password_tried: false,
            keyring_usable: true,
            typed: None,
            accepted: None,
            rejection: None,
            cancelled: false,
            cancel: Arc::default(),
        }
    }

    /// The flag that, once set, makes a waiting question give up as if cancelled.
    pub fn set_cancel_flag(&mut self, cancel: Arc<AtomicBool>) {
        self.cancel = cancel;
    }

    /// Starts a fresh attempt: answers typed for the previous one are forgotten.
    pub fn begin_attempt(&mut self) {
        self.typed = None;
        self.cancelled = false;
    }

    /// Answers one of libvirt's questions; `None` gives up.
    pub fn answer(&mut self, request: &CredentialRequest) -> Option<CredentialAnswer> {
        match request.kind {
            CredentialKind::Username => self.username(request).map(CredentialAnswer::Text),
            CredentialKind::Password => self.password().map(CredentialAnswer::Secret),
            CredentialKind::Text => request.default.clone().map(CredentialAnswer::Text),
        }
    }

    /// Whether a password typed for this host is still held for the next attempt.
    pub fn holds_typed_password(&self) -> bool {
        self.typed.is_some() || self.settings.typed_password.is_set()
    }

    /// Whether an accepted password is kept in memory to reconnect (the keyring has none).
    pub fn holds_accepted_password(&self) -> bool {
        self.accepted.is_some()
    }

    /// The user closed the question: the attempt failed because of that, not the host.
    pub fn was_cancelled(&self) -> bool {
        self.cancelled
    }

    /// libvirt rejected the answers: the next attempt asks the user, saying why.
    pub fn rejected(&mut self, error: &BackendError) {
        self.rejection = Some(error.user_message());
        self.accepted = None;
        self.settings.session_password.set(None);
    }

    /// libvirt accepted the answers: keep or forget a typed password as the user chose, then
    /// drop it. Only when the keyring does not hold it is it kept, in memory, to reconnect.
    pub fn succeeded(&mut self) {
        self.rejection = None;
        // The keyring's password worked (or none was needed): a reconnect may read it again.
        self.stored_password_tried = false;
        let Some(typed) = self.typed.take() else {
            return;
        };
        self.settings.username = Some(typed.username.clone());
        if self.save_in_keyring(&typed) {
            self.accepted = None;
            self.settings.session_password.set(None);
        } else {
            self.settings
                .session_password
                .set(Some((typed.username.clone(), typed.password.clone())));
            self.accepted = Some(typed);
        }
    }

    /// Stores (or, when not to be remembered, forgets) the accepted password in the
    /// keyring; true when the keyring now holds it.
    fn save_in_keyring(&mut self, typed: &PromptAnswer) -> bool {
        let Some(key) = self.settings.keyring_key.clone() else {
            return false;
        };
        if !self.keyring_usable {
            return false;
        }
        let result = if typed.remember {
            secrets::store_password(&key, &self.settings.keyring_label, &typed.password)
        } else {
            secrets::delete_password(&key)
        };
        match result {
            Ok(()) => typed.remember,
            Err(error) => {
                self.report_keyring_problem(&error);
                false
            }
        }
    }

    fn username(&mut self, request: &CredentialRequest) -> Option<String> {
        if let Some(typed) = &self.typed {
            return Some(typed.username.clone());
        }
        if let Some(username) = &self.settings.username {
            return Some(username.clone());
        }
        if let Some((username, _)) = self.settings.session_password.get() {
            return Some(username);
        }
        if let Some(default) = &request.default {
            return Some(default.clone());
        }
        self.ask().map(|typed| typed.username)
    }

    fn password(&mut self) -> Option<Password> {
        if let Some(typed) = &self.typed {
            return Some(typed.password.clone());
        }
        if let (Some(accepted), None) = (&self.accepted, &self.rejection) {
            return Some(accepted.password.clone());
        }
        if let (Some((_, password)), None) = (self.settings.session_password.get(), &self.rejection)
        {
            return Some(password);
        }
        if let Some(password) = self.settings.typed_password.take() {
            let typed = PromptAnswer {
                username: self.settings.username.clone().unwrap_or_default(),
                password,
                remember: self.settings.remember_password,
            };
            let answer = typed.password.clone();
            self.typed = Some(typed);
            return Some(answer);
        }
        if !self.stored_password_tried && self.rejection.is_none() {
            self.stored_password_tried = true;
            if let Some(password) = self.stored_password() {
                return Some(password);
            }
        }
        self.ask().map(|typed| typed.password)
    }

    fn stored_password(&mut self) -> Option<Password> {
        let key = self.settings.keyring_key.clone()?;
        if !self.settings.remember_password {
            return None;
        }
        match secrets::lookup_password(&key) {
            Ok(password) => password,
            Err(error) => {
                self.report_keyring_problem(&error);
                None
            }
        }
    }

    /// Asks the user and blocks this (worker) thread until they answer.
    fn ask(&mut self) -> Option<PromptAnswer> {
        let (reply, answer) = mpsc::channel();
        self.ui.ask(CredentialPrompt {
            host_name: self.settings.host_name.clone(),
            username: self.settings.username.clone(),
            reason: self.rejection.clone(),
            offer_remember: self.settings.keyring_key.is_some() && self.keyring_usable,
            remember_default: self.settings.remember_password,
            reply,
        });
        let answer = self.wait_for_answer(&answer);
        self.ui.answered();
        match answer {
            Some(Some(typed)) => {
                self.typed = Some(typed.clone());
                Some(typed)
            }
            _ => {
                self.cancelled = true;
                None
            }
        }
    }

    /// The user's answer; `None` when the question was dropped or withdrawn.
    fn wait_for_answer(
        &self,
        answer: &mpsc::Receiver<Option<PromptAnswer>>,
    ) -> Option<Option<PromptAnswer>> {
        while !self.cancel.load(Ordering::Relaxed) {
            match answer.recv_timeout(CANCEL_CHECK) {
                Ok(answer) => return Some(answer),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
        None
    }

    fn report_keyring_problem(&mut self, error: &secrets::SecretError) {
        self.keyring_usable = false;
        if !KEYRING_PROBLEM_REPORTED.swap(true, Ordering::Relaxed) {
            self.ui.notice(error.to_string());
        }
    }
}
