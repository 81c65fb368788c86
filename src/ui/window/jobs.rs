//! The main window's part in jobs: the header bar's Jobs button (shown while jobs run, with
//! their popover), a toast when one ends, and a question before closing while jobs run.

use std::time::{Duration, Instant};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;

use super::Window;
use crate::model::JobList;
use crate::ui::jobs_popover::JobsPopover;

/// How long closing waits for cancelled jobs to clean up (delete partial volumes).
const CLEANUP_WAIT: Duration = Duration::from_secs(15);

impl Window {
    pub(super) fn setup_jobs(&self) {
        let jobs = JobList::get();
        let button = &*self.imp().jobs_button;
        button.set_popover(Some(&JobsPopover::default()));
        let store = jobs.store();
        let show = glib::clone!(
            #[weak]
            button,
            move |store: &gtk::gio::ListStore| {
                let running = store.n_items();
                button.set_visible(running > 0);
                if running == 0 {
                    button.popdown();
                }
                button.set_tooltip_text(Some(
                    &ngettext("{count} job running", "{count} jobs running", running)
                        .replace("{count}", &running.to_string()),
                ));
            }
        );
        show(&store);
        store.connect_items_changed(move |store, _, _, _| show(store));
        jobs.connect_job_ended(glib::clone!(
            #[weak(rename_to = window)]
            self,
            move |message| window.show_toast(message)
        ));
    }
}

/// True when the close must wait: jobs run and the user is asked first (or cancelled jobs
/// are still cleaning up).
pub(super) fn confirm_close(window: &Window) -> bool {
    let jobs = JobList::get();
    let running = jobs.running();
    if running == 0 {
        return false;
    }
    if window.imp().closing_with_jobs.get() {
        return true;
    }
    let dialog = adw::MessageDialog::new(
        Some(window),
        Some(&gettext("Stop the running jobs?")),
        Some(
            &ngettext(
                "{count} job is still running. Closing Hangar cancels it and removes what it left unfinished.",
                "{count} jobs are still running. Closing Hangar cancels them and removes what they left unfinished.",
                running,
            )
            .replace("{count}", &running.to_string()),
        ),
    );
    dialog.add_response("keep", &gettext("_Keep Running"));
    dialog.add_response("close", &gettext("_Cancel Jobs and Close"));
    dialog.set_response_appearance("close", adw::ResponseAppearance::Destructive);
    dialog.set_default_response(Some("keep"));
    dialog.set_close_response("keep");
    dialog.connect_response(
        None,
        glib::clone!(
            #[weak]
            window,
            move |_, response| {
                if response == "close" {
                    close_after_cleanup(&window);
                }
            }
        ),
    );
    dialog.present();
    true
}

/// Cancels every job and closes once they cleaned up (or after a while).
fn close_after_cleanup(window: &Window) {
    window.imp().closing_with_jobs.set(true);
    let jobs = JobList::get();
    jobs.cancel_all();
    let deadline = Instant::now() + CLEANUP_WAIT;
    glib::timeout_add_local(
        Duration::from_millis(100),
        glib::clone!(
            #[weak]
            window,
            #[upgrade_or]
            glib::ControlFlow::Break,
            move || {
                if jobs.running() > 0 && Instant::now() < deadline {
                    return glib::ControlFlow::Continue;
                }
                window.imp().closing_with_jobs.set(false);
                // Nothing left to ask about (or the wait is over): close for real.
                if jobs.running() > 0 {
                    jobs.store().remove_all();
                }
                window.close();
                glib::ControlFlow::Break
            }
        ),
    );
}
