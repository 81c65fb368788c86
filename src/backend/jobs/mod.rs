//! Jobs: long operations (uploads, and later copies, migrations, saves) that run beside a
//! host's worker, each on a thread of its own with a libvirt connection of its own, opened
//! with the host's saved login. The host's list, events and actions keep going meanwhile.
//!
//! A job reports `Started`, then `Progress` (units done of a total, with the speed and time
//! left over a sliding window), then one of `Finished`, `Failed` or `Cancelled`. Cancelling
//! sets a flag the job checks between chunks (a stream is aborted there).
//!
//! A job never asks the user: when its login would need an answer that the keyring does not
//! hold, it fails with a sentence that says so.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::error::{BackendError, ErrorKind};
use super::libvirt::session::HostSession;
use super::login::{CredentialPrompt, Login, LoginSettings, LoginUi};
use crate::i18n::gettext_f;

pub mod rate;
pub mod upload;

use rate::RateMeter;

/// How often progress is reported at most (the last report always goes out).
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobProgress {
    pub done: u64,
    pub total: u64,
    /// Over the last few seconds; `None` at first.
    pub bytes_per_sec: Option<f64>,
    pub time_left: Option<Duration>,
}

impl JobProgress {
    /// Done, from 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
    }
}

/// What a job tells the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    /// Connected; the work begins.
    Started,
    Progress(JobProgress),
    /// Done; the job's result (such as the uploaded volume's path).
    Finished(String),
    /// Why it failed, as a sentence.
    Failed(String),
    /// Stopped because the user asked; what it made is undone.
    Cancelled,
}

/// What a running job's function gets.
pub struct JobContext<'a> {
    session: &'a HostSession,
    cancel: &'a AtomicBool,
    updates: &'a async_channel::Sender<JobUpdate>,
    meter: RefCell<RateMeter>,
    last_report: Cell<Option<Instant>>,
}

impl JobContext<'_> {
    /// The job's own connection.
    pub fn session(&self) -> &HostSession {
        self.session
    }

    /// The flag Cancel sets; check it between chunks.
    pub fn cancel_flag(&self) -> &AtomicBool {
        self.cancel
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Notes that `done` of `total` units (bytes) are done; sent to the UI a few times a
    /// second with the speed and time left.
    pub fn report(&self, done: u64, total: u64) {
        let now = Instant::now();
        self.meter.borrow_mut().record(now, done);
        let due = self
            .last_report
            .get()
            .map_or(true, |last| now.duration_since(last) >= REPORT_EVERY);
        if !due && done < total {
            return;
        }
        self.last_report.set(Some(now));
        let meter = self.meter.borrow();
        let _ = self.updates.try_send(JobUpdate::Progress(JobProgress {
            done,
            total,
            bytes_per_sec: meter.per_second(),
            time_left: meter.time_left(total),
        }));
    }
}

/// A started job: its updates, and Cancel.
#[derive(Clone)]
pub struct JobHandle {
    cancel: Arc<AtomicBool>,
    updates: async_channel::Receiver<JobUpdate>,
}

impl JobHandle {
    /// Asks the job to stop; it reports `Cancelled` once it has cleaned up.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn updates(&self) -> async_channel::Receiver<JobUpdate> {
        self.updates.clone()
    }
}

/// The work of a job, run with its own connection; `Ok` carries the result.
pub type JobWork = Box<dyn FnOnce(&JobContext<'_>) -> Result<String, BackendError> + Send>;

/// Starts `work` on a thread of its own, connected to `uri` with `login` (never asking).
pub fn start(name: &str, uri: &str, login: LoginSettings, work: JobWork) -> JobHandle {
    let cancel = Arc::new(AtomicBool::new(false));
    let (sender, updates) = async_channel::unbounded();
    let handle = JobHandle {
        cancel: cancel.clone(),
        updates,
    };
    let uri = uri.to_owned();
    let thread_sender = sender.clone();
    let spawned = thread::Builder::new()
        .name(format!("job {name}"))
        .spawn(move || run(&uri, login, work, &cancel, &thread_sender));
    if let Err(error) = spawned {
        let _ = sender.try_send(JobUpdate::Failed(error.to_string()));
    }
    handle
}

fn run(
    uri: &str,
    login: LoginSettings,
    work: JobWork,
    cancel: &AtomicBool,
    updates: &async_channel::Sender<JobUpdate>,
) {
    let session = match open_without_asking(uri, login) {
        Ok(session) => session,
        Err(error) => {
            let _ = updates.try_send(JobUpdate::Failed(error.user_message()));
            return;
        }
    };
    if cancel.load(Ordering::Relaxed) {
        let _ = updates.try_send(JobUpdate::Cancelled);
        return;
    }
    let _ = updates.try_send(JobUpdate::Started);
    let context = JobContext {
        session: &session,
        cancel,
        updates,
        meter: RefCell::default(),
        last_report: Cell::new(None),
    };
    let result = work(&context);
    let last = match result {
        Ok(result) => JobUpdate::Finished(result),
        Err(_) if cancel.load(Ordering::Relaxed) => JobUpdate::Cancelled,
        Err(error) => JobUpdate::Failed(error.user_message()),
    };
    let _ = updates.try_send(last);
}

/// Login questions a job cannot ask: the question is dropped, which cancels the login.
struct NoQuestions;

impl LoginUi for NoQuestions {
    fn ask(&self, prompt: CredentialPrompt) {
        drop(prompt);
    }

    fn notice(&self, _message: String) {}
}

/// Opens `uri` as the host's worker does (user name, keyring, a typed password), but when
/// the login would need the user, fails with a sentence instead of asking.
pub fn open_without_asking(
    uri: &str,
    settings: LoginSettings,
) -> Result<HostSession, BackendError> {
    let host = settings.host_name.clone();
    let mut login = Login::new(settings, Box::new(NoQuestions));
    login.begin_attempt();
    let result = HostSession::open(uri, &mut |request| login.answer(request));
    match result {
        Ok(session) => {
            login.succeeded();
            Ok(session)
        }
        Err(_) if login.was_cancelled() => Err(BackendError::new(
            ErrorKind::InvalidInput,
            gettext_f(
                "The job needs its own connection to {host}, and logging in would mean asking for a password. Save the password in the keyring (Remember password) to run jobs on this host.",
                &[("host", &host)],
            ),
        )),
        Err(error) => Err(error),
    }
}
