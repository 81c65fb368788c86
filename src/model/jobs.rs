//! The app's running jobs, for the header bar's Jobs popover and the wizards that start
//! them. One list per process (Hangar has one application); a job leaves the list when it
//! ends, and `job-ended` carries the sentence for the toast.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use gettextrs::gettext;
use gio::prelude::*;
use glib::subclass::prelude::*;
use glib::subclass::Signal;

use super::Host;
use crate::backend::jobs::{self, JobHandle, JobProgress, JobUpdate, JobWork};
use crate::i18n::gettext_f;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// With the job's result (such as an uploaded volume's path).
    Finished(String),
    Failed(String),
    Cancelled,
}

mod item_imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::JobItem)]
    pub struct JobItem {
        /// "Uploading debian.iso to host".
        #[property(get)]
        pub(super) title: RefCell<String>,
        /// Done, 0 to 1.
        #[property(get)]
        pub(super) fraction: Cell<f64>,
        /// "12.0 MB/s · 3 min left".
        #[property(get)]
        pub(super) status: RefCell<String>,
        #[property(get)]
        pub(super) running: Cell<bool>,
        pub(super) handle: RefCell<Option<JobHandle>>,
        pub(super) cancelling: Cell<bool>,
        pub(super) outcome: RefCell<Option<JobOutcome>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for JobItem {
        const NAME: &'static str = "HangarJobItem";
        type Type = super::JobItem;
    }

    #[glib::derived_properties]
    impl ObjectImpl for JobItem {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| vec![Signal::builder("ended").build()])
        }
    }
}

glib::wrapper! {
    /// One job as the UI shows it.
    pub struct JobItem(ObjectSubclass<item_imp::JobItem>);
}

impl JobItem {
    /// Asks the job to stop; it ends as cancelled once it cleaned up.
    pub fn cancel(&self) {
        if let Some(handle) = self.imp().handle.borrow().as_ref() {
            handle.cancel();
        }
        self.imp().cancelling.set(true);
        self.set_status(&gettext("Cancelling…"));
    }

    /// How it ended; `None` while it runs.
    pub fn outcome(&self) -> Option<JobOutcome> {
        self.imp().outcome.borrow().clone()
    }

    /// Calls `f` once the job ended (see `outcome`).
    pub fn connect_ended<F: Fn(&Self) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("ended", false, move |values| {
            if let Some(item) = values.first().and_then(|value| value.get::<Self>().ok()) {
                f(&item);
            }
            None
        })
    }

    fn set_status(&self, status: &str) {
        if *self.imp().status.borrow() != status {
            self.imp().status.replace(status.to_owned());
            self.notify_status();
        }
    }

    fn apply(&self, update: JobUpdate) -> Option<JobOutcome> {
        match update {
            JobUpdate::Started => self.set_status(&gettext("Starting…")),
            JobUpdate::Progress(progress) => {
                self.imp().fraction.set(progress.fraction());
                self.notify_fraction();
                if !self.imp().cancelling.get() {
                    self.set_status(&progress_text(&progress));
                }
            }
            JobUpdate::Finished(result) => return Some(JobOutcome::Finished(result)),
            JobUpdate::Failed(reason) => return Some(JobOutcome::Failed(reason)),
            JobUpdate::Cancelled => return Some(JobOutcome::Cancelled),
        }
        None
    }
}

/// "12.0 MB/s · 3 min left", or less while the speed is unknown.
pub fn progress_text(progress: &JobProgress) -> String {
    let Some(rate) = progress.bytes_per_sec else {
        return gettext("Measuring speed…");
    };
    let speed = gettext_f(
        "{speed} MB/s",
        &[("speed", &format!("{:.1}", rate / 1_000_000.0))],
    );
    let Some(left) = progress.time_left else {
        return speed;
    };
    let seconds = left.as_secs();
    let left = if seconds < 60 {
        gettext_f("{seconds} s left", &[("seconds", &seconds.to_string())])
    } else if seconds < 3600 {
        gettext_f(
            "{minutes} min left",
            &[("minutes", &seconds.div_ceil(60).to_string())],
        )
    } else {
        gettext_f(
            "{hours} h {minutes} min left",
            &[
                ("hours", &(seconds / 3600).to_string()),
                ("minutes", &((seconds % 3600) / 60).to_string()),
            ],
        )
    };
    format!("{speed} · {left}")
}

mod list_imp {
    use super::*;

    #[derive(Default)]
    pub struct JobList {
        pub(super) store: RefCell<Option<gio::ListStore>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for JobList {
        const NAME: &'static str = "HangarJobList";
        type Type = super::JobList;
    }

    impl ObjectImpl for JobList {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    // A job ended: the sentence for a toast.
                    Signal::builder("job-ended")
                        .param_types([String::static_type()])
                        .build(),
                ]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            self.store.replace(Some(gio::ListStore::new::<JobItem>()));
        }
    }
}

glib::wrapper! {
    /// The running jobs.
    pub struct JobList(ObjectSubclass<list_imp::JobList>);
}

thread_local! {
    static JOBS: JobList = glib::Object::new();
}

impl JobList {
    /// The app's list (on the GTK main thread).
    pub fn get() -> Self {
        JOBS.with(Clone::clone)
    }

    /// The running jobs, as `JobItem`s.
    pub fn store(&self) -> gio::ListStore {
        self.imp()
            .store
            .borrow()
            .clone()
            .unwrap_or_else(gio::ListStore::new::<JobItem>)
    }

    pub fn running(&self) -> u32 {
        self.store().n_items()
    }

    pub fn cancel_all(&self) {
        for item in self.store().iter::<JobItem>().flatten() {
            item.cancel();
        }
    }

    pub fn connect_job_ended<F: Fn(&str) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("job-ended", false, move |values| {
            if let Some(message) = values.get(1).and_then(|value| value.get::<String>().ok()) {
                f(&message);
            }
            None
        })
    }

    /// Starts `work` as a job on `host` (its own connection, with the host's saved login) and
    /// lists it until it ends.
    pub fn start(&self, host: &Host, title: &str, work: JobWork) -> JobItem {
        let item: JobItem = glib::Object::new();
        item.imp().title.replace(title.to_owned());
        item.imp().running.set(true);
        item.imp().status.replace(gettext("Connecting…"));
        let handle = jobs::start(title, &host.uri(), host.job_login_settings(), work);
        let updates = handle.updates();
        item.imp().handle.replace(Some(handle));
        self.store().append(&item);
        let list = self.downgrade();
        let job = item.clone();
        glib::spawn_future_local(async move {
            let mut outcome = None;
            while let Ok(update) = updates.recv().await {
                outcome = job.apply(update);
                if outcome.is_some() {
                    break;
                }
            }
            let outcome = outcome.unwrap_or_else(|| {
                JobOutcome::Failed(gettext("The job stopped without saying why."))
            });
            job.imp().running.set(false);
            job.notify_running();
            job.imp().outcome.replace(Some(outcome.clone()));
            if let Some(list) = list.upgrade() {
                let store = list.store();
                if let Some(position) = store.find(&job) {
                    store.remove(position);
                }
                let message = ended_text(&job.title(), &outcome);
                list.emit_by_name::<()>("job-ended", &[&message]);
            }
            job.emit_by_name::<()>("ended", &[]);
        });
        item
    }
}

fn ended_text(title: &str, outcome: &JobOutcome) -> String {
    match outcome {
        JobOutcome::Finished(_) => gettext_f("Done: {job}", &[("job", title)]),
        JobOutcome::Failed(reason) => gettext_f(
            "Failed: {job}. {reason}",
            &[("job", title), ("reason", reason)],
        ),
        JobOutcome::Cancelled => gettext_f("Cancelled: {job}", &[("job", title)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn progress_reads_as_speed_and_time_left() {
        let mut progress = JobProgress {
            done: 10,
            total: 100,
            bytes_per_sec: None,
            time_left: None,
        };
        assert_eq!(progress_text(&progress), "Measuring speed…");
        progress.bytes_per_sec = Some(12_000_000.0);
        assert_eq!(progress_text(&progress), "12.0 MB/s");
        progress.time_left = Some(Duration::from_secs(170));
        assert_eq!(progress_text(&progress), "12.0 MB/s · 3 min left");
        progress.time_left = Some(Duration::from_secs(42));
        assert_eq!(progress_text(&progress), "12.0 MB/s · 42 s left");
    }
}
