//! One host (libvirt connection) in the sidebar, with its live domain list.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::Duration;

use gettextrs::gettext;
use gio::prelude::*;
use glib::subclass::prelude::*;
use glib::subclass::Signal;

use super::Domain;

mod domains;
use crate::backend::actions::DomainAction;
use crate::backend::console::ConsoleTarget;
use crate::backend::domain::HostInfo;
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::backend::login::{CredentialPrompt, LoginSettings, SessionPassword, TypedPassword};
use crate::backend::password::Password;
use crate::backend::secrets;
use crate::backend::storage::deletion::DiskVerdict;
use crate::backend::store::SavedConnection;
use crate::backend::summary::HostSummary;
use crate::backend::uri;
use crate::backend::worker::{
    ConnectPhase, HostCommand, HostUpdate, HostWorker, Job, WorkerOptions,
};
use crate::i18n::gettext_f;

/// How long a connected host may keep its worker waiting before it is shown as not answering.
const NOT_ANSWERING_AFTER: Duration = Duration::from_secs(5);

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
        /// Connected, but the host has kept its worker waiting for a while (a stopped daemon,
        /// a dead link that libvirt's keepalive has not noticed yet).
        #[property(get)]
        pub(super) not_answering: Cell<bool>,
        /// The timer that looks for that is running.
        pub(super) answer_watch: Cell<bool>,
        /// What the connection is doing now, in words ("Logging in…").
        #[property(get)]
        pub(super) phase: RefCell<String>,
        #[property(get)]
        pub(super) domains: RefCell<Option<gio::ListStore>>,
        pub(super) domain_index: RefCell<HashMap<String, Domain>>,
        pub(super) worker: RefCell<Option<HostWorker>>,
        pub(super) info: RefCell<HostInfo>,
        pub(super) saved: RefCell<Option<SavedConnection>>,
        pub(super) prompts: RefCell<VecDeque<CredentialPrompt>>,
        pub(super) refresh_interval: Cell<Option<Duration>>,
        pub(super) typed_password: RefCell<Option<Password>>,
        /// Shared with the worker's login; jobs log in with it (see `SessionPassword`).
        pub(super) session_password: SessionPassword,
        pub(super) summary: RefCell<Option<HostSummary>>,
        pub(super) polling: Cell<bool>,
        /// Open pages that need the periodic refresh whatever the main window shows.
        pub(super) polling_holds: Cell<u32>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Host {
        const NAME: &'static str = "HangarHost";
        type Type = super::Host;
    }

    #[glib::derived_properties]
    impl ObjectImpl for Host {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    // A login question is waiting in `take_prompt`.
                    Signal::builder("credentials-needed").build(),
                    // A fresh host summary is in `summary`.
                    Signal::builder("summary-updated").build(),
                    // Domains changed state, figures, title or addresses (filters look again).
                    Signal::builder("domains-updated").build(),
                    // The definition of the domain with this UUID changed.
                    Signal::builder("domain-definition-changed")
                        .param_types([String::static_type()])
                        .build(),
                    // A sentence for a toast.
                    Signal::builder("notice")
                        .param_types([String::static_type()])
                        .build(),
                ]
            })
        }

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

    /// A host from the user's saved connections.
    pub fn from_saved(saved: &SavedConnection) -> Self {
        let host = Self::with_name(&saved.uri, &saved.name);
        host.imp().saved.replace(Some(saved.clone()));
        host
    }

    pub fn saved(&self) -> Option<SavedConnection> {
        self.imp().saved.borrow().clone()
    }

    /// Whether the host should connect when Hangar starts.
    pub fn autoconnect(&self) -> bool {
        self.saved().is_some_and(|saved| saved.autoconnect)
    }

    /// A password the user just typed, for the next connection attempt only.
    pub fn set_typed_password(&self, password: Option<Password>) {
        self.imp().typed_password.replace(password);
    }

    pub fn set_refresh_interval(&self, interval: Duration) {
        self.imp().refresh_interval.set(Some(interval));
    }

    /// The oldest unanswered login question, for the dialog that answers it.
    pub fn take_prompt(&self) -> Option<CredentialPrompt> {
        self.imp().prompts.borrow_mut().pop_front()
    }

    pub fn connect_credentials_needed<F: Fn(&Self) + 'static>(
        &self,
        f: F,
    ) -> glib::SignalHandlerId {
        self.connect_local("credentials-needed", false, move |values| {
            if let Some(host) = values.first().and_then(|value| value.get::<Self>().ok()) {
                f(&host);
            }
            None
        })
    }

    pub fn connect_notice<F: Fn(&Self, &str) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("notice", false, move |values| {
            let host = values.first().and_then(|value| value.get::<Self>().ok());
            let message = values.get(1).and_then(|value| value.get::<String>().ok());
            if let (Some(host), Some(message)) = (host, message) {
                f(&host, &message);
            }
            None
        })
    }

    fn login_settings(&self) -> LoginSettings {
        self.login_settings_with(TypedPassword::new(self.imp().typed_password.take()))
    }

    fn login_settings_with(&self, typed_password: TypedPassword) -> LoginSettings {
        let address = uri::ConnectionUri::parse(&self.uri()).ok();
        let saved = self.saved();
        let username = saved
            .as_ref()
            .and_then(|saved| saved.username.clone())
            .or_else(|| address.as_ref().and_then(|parsed| parsed.user.clone()));
        let host = address.and_then(|parsed| parsed.host);
        LoginSettings {
            keyring_key: saved.as_ref().map(|saved| saved.id.clone()),
            keyring_label: secrets::connection_label(username.as_deref(), host.as_deref()),
            username,
            remember_password: saved.is_some_and(|saved| saved.remember_password),
            host_name: self.name(),
            typed_password,
            session_password: self.imp().session_password.clone(),
        }
    }

    /// The login a job's own connection uses: the saved user name and keyring password, or
    /// what the worker's login was accepted with this run; never a password typed for the
    /// worker's next attempt (a job does not ask).
    pub fn job_login_settings(&self) -> LoginSettings {
        let mut settings = self.login_settings_with(TypedPassword::default());
        settings.host_name = self.name();
        settings
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
        let mut options = WorkerOptions {
            connect_timeout: crate::config::connect_timeout(),
            ..WorkerOptions::default()
        };
        if let Some(interval) = self.imp().refresh_interval.get() {
            options.refresh_interval = interval;
        }
        let worker = HostWorker::start(self.uri(), self.login_settings(), options);
        worker.send(HostCommand::SetPolling(self.polling_wanted()));
        let updates = worker.updates();
        // Replacing the old worker stops it; its late updates go to a closed channel.
        self.imp().worker.replace(Some(worker));
        self.imp().prompts.borrow_mut().clear();
        self.set_status(HostStatus::Connecting, "");
        self.watch_answers();
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

    /// Checks every second whether the connected host still answers, while the host lives.
    fn watch_answers(&self) {
        if self.imp().answer_watch.replace(true) {
            return;
        }
        let weak = self.downgrade();
        glib::timeout_add_seconds_local(1, move || {
            let Some(host) = weak.upgrade() else {
                return glib::ControlFlow::Break;
            };
            host.check_answering();
            glib::ControlFlow::Continue
        });
    }

    fn check_answering(&self) {
        let waiting = self
            .imp()
            .worker
            .borrow()
            .as_ref()
            .and_then(HostWorker::waiting_for_host);
        let not_answering = self.status() == HostStatus::Connected
            && waiting.is_some_and(|waiting| waiting >= NOT_ANSWERING_AFTER);
        self.set_not_answering(not_answering);
    }

    fn set_not_answering(&self, not_answering: bool) {
        if self.imp().not_answering.replace(not_answering) != not_answering {
            self.notify_not_answering();
        }
    }

    /// Closes the connection.
    pub fn disconnect_from_host(&self) {
        self.imp().worker.replace(None);
        self.set_status(HostStatus::Disconnected, "");
    }

    /// The listed domain with this UUID, if the host has reported it.
    pub fn domain_by_uuid(&self, uuid: &str) -> Option<Domain> {
        self.imp().domain_index.borrow().get(uuid).cloned()
    }

    /// Runs `action` on the domains with these UUIDs; their rows show it as pending.
    pub fn run_action(&self, uuids: Vec<String>, action: DomainAction) {
        let Some(worker) = self.imp().worker.borrow().as_ref().map(HostWorker::sender) else {
            return;
        };
        for uuid in &uuids {
            if let Some(domain) = self.imp().domain_index.borrow().get(uuid) {
                domain.set_pending(true);
            }
        }
        worker.send(HostCommand::Domains { uuids, action });
    }

    /// Which disk images deleting the domain with its storage would delete or keep, asked
    /// of the worker.
    pub async fn disk_paths(&self, uuid: &str) -> Result<Vec<DiskVerdict>, BackendError> {
        let uuid = uuid.to_owned();
        self.ask(|reply| HostCommand::DiskPaths { uuid, reply })
            .await
    }

    /// How to reach a domain's console, asked of the worker.
    pub async fn console_target(&self, uuid: &str) -> Result<ConsoleTarget, BackendError> {
        let uuid = uuid.to_owned();
        self.ask(|reply| HostCommand::Console { uuid, reply }).await
    }

    /// Runs `job` with the host's open session on its worker thread and waits for the result.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&HostSession) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        self.ask(move |reply| {
            HostCommand::Run(Job(Box::new(move |session| {
                let _ = reply.send_blocking(job(session));
            })))
        })
        .await
    }

    /// Sends the command `make` builds around a reply channel and waits for the answer.
    async fn ask<T>(
        &self,
        make: impl FnOnce(async_channel::Sender<Result<T, BackendError>>) -> HostCommand,
    ) -> Result<T, BackendError> {
        let not_connected = || {
            BackendError::new(
                ErrorKind::ConnectionLost,
                gettext("the host is not connected"),
            )
        };
        let sender = self.imp().worker.borrow().as_ref().map(HostWorker::sender);
        let Some(sender) = sender else {
            return Err(not_connected());
        };
        let (reply, answer) = async_channel::bounded(1);
        sender.send(make(reply));
        answer.recv().await.unwrap_or_else(|_| Err(not_connected()))
    }

    /// Refreshes figures periodically only while someone looks; events still arrive.
    pub fn set_polling(&self, on: bool) {
        self.imp().polling.set(on);
        self.send_polling();
    }

    /// `true` keeps the periodic refresh going until a `false` for each, even while the main
    /// window is minimized or shows another host (a Performance section samples it).
    pub fn hold_polling(&self, hold: bool) {
        let holds = &self.imp().polling_holds;
        holds.set((holds.get() + u32::from(hold)).saturating_sub(u32::from(!hold)));
        self.send_polling();
    }

    fn polling_wanted(&self) -> bool {
        self.imp().polling.get() || self.imp().polling_holds.get() > 0
    }

    fn send_polling(&self) {
        if let Some(worker) = self.imp().worker.borrow().as_ref() {
            worker.send(HostCommand::SetPolling(self.polling_wanted()));
        }
    }

    /// Asks for a fresh summary; `summary-updated` says when it is there.
    pub fn fetch_summary(&self) {
        if let Some(worker) = self.imp().worker.borrow().as_ref() {
            worker.send(HostCommand::FetchSummary);
        }
    }

    /// The last summary the host sent.
    pub fn summary(&self) -> Option<HostSummary> {
        self.imp().summary.borrow().clone()
    }

    pub fn connect_summary_updated<F: Fn(&Self) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("summary-updated", false, move |values| {
            if let Some(host) = values.first().and_then(|value| value.get::<Self>().ok()) {
                f(&host);
            }
            None
        })
    }

    /// Asks the worker for a fresh list now.
    pub fn refresh(&self) {
        if let Some(worker) = self.imp().worker.borrow().as_ref() {
            worker.send(HostCommand::Refresh);
        }
    }

    /// Tries to connect now: wakes a waiting worker, or starts one.
    pub fn retry(&self) {
        let woke = self
            .imp()
            .worker
            .borrow()
            .as_ref()
            .map(|worker| worker.send(HostCommand::Retry))
            .is_some();
        if woke {
            self.set_status(HostStatus::Connecting, "");
        } else {
            self.connect_to_host();
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
        let domains_changed = matches!(
            update,
            HostUpdate::Domains(_)
                | HostUpdate::DomainChanged(_)
                | HostUpdate::DomainRemoved(_)
                | HostUpdate::DomainDetails(_)
        );
        self.apply_update(update);
        if domains_changed {
            self.emit_by_name::<()>("domains-updated", &[]);
        }
    }

    fn apply_update(&self, update: HostUpdate) {
        match update {
            HostUpdate::Phase(phase) => {
                // While it tries again, the host keeps saying why the last attempt failed.
                let last_failure = self.error_message();
                self.set_status(HostStatus::Connecting, &last_failure);
                self.set_phase(&phase_text(phase));
            }
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
            HostUpdate::DomainDefinitionChanged(uuid) => {
                self.emit_by_name::<()>("domain-definition-changed", &[&uuid]);
            }
            HostUpdate::DomainDetails(changed) => {
                for details in &changed {
                    if let Some(domain) = self.domain_by_uuid(&details.uuid) {
                        domain.update_details(details);
                    }
                }
            }
            HostUpdate::CredentialsNeeded(prompt) => {
                self.imp().prompts.borrow_mut().push_back(prompt);
                self.emit_by_name::<()>("credentials-needed", &[]);
            }
            HostUpdate::Notice(message) => self.emit_by_name::<()>("notice", &[&message]),
            HostUpdate::ActionFailed {
                domain,
                action,
                error,
            } => {
                let message = gettext_f(
                    "{action} failed for “{domain}”: {reason}",
                    &[
                        ("action", &action.label()),
                        ("domain", &domain),
                        ("reason", &error.user_message()),
                    ],
                );
                self.emit_by_name::<()>("notice", &[&message]);
            }
            HostUpdate::Summary(summary) => {
                self.imp().summary.replace(Some(*summary));
                self.emit_by_name::<()>("summary-updated", &[]);
            }
            HostUpdate::Failed(error) => {
                self.set_phase("");
                self.set_status(HostStatus::Failed, &error.user_message());
            }
            HostUpdate::Retrying(pause) => {
                let seconds = pause.as_secs().max(1).to_string();
                self.set_phase(&gettext_f(
                    "Trying again in {seconds} s",
                    &[("seconds", &seconds)],
                ));
            }
            HostUpdate::Stopped => self.set_status(HostStatus::Disconnected, ""),
        }
    }

    fn set_phase(&self, text: &str) {
        if *self.imp().phase.borrow() != text {
            self.imp().phase.replace(text.to_owned());
            self.notify_phase();
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
            if status != HostStatus::Connected {
                self.set_not_answering(false);
            }
            self.notify_status();
        }
    }
}

fn phase_text(phase: ConnectPhase) -> String {
    match phase {
        ConnectPhase::Opening => gettext("Contacting the host…"),
        ConnectPhase::LoggingIn => gettext("Logging in…"),
        ConnectPhase::LoadingDomains => gettext("Loading virtual machines…"),
    }
}
