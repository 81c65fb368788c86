//! The Snapshots section's dialogs: take a snapshot (name, description, memory, and the
//! plan said before anything happens), revert to one (offering a snapshot of the current
//! state first) and delete one or it with its children.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::{run_on_host, SnapshotsSection};
use crate::backend::domain::snapshot_plan::{qemu_name_problem, suggested_name};
use crate::backend::domain::snapshots::{
    create_snapshot, delete_snapshot, plan_for, revert_snapshot, snapshot_infos,
    snapshot_then_revert, NewSnapshot, RevertState, SnapshotPlan,
};
use crate::backend::xml::{control_character_problem, object_name_problem};
use crate::i18n::gettext_f;

fn now() -> i64 {
    glib::real_time() / 1_000_000
}

fn window_of(section: &SnapshotsSection) -> Option<gtk::Window> {
    section.root().and_downcast::<gtk::Window>()
}

fn wrapped_label(css: &[&str]) -> gtk::Label {
    gtk::Label::builder()
        .wrap(true)
        .xalign(0.0)
        .css_classes(css.iter().map(|c| c.to_string()).collect::<Vec<_>>())
        .build()
}

/// A labelled entry for the Take Snapshot dialog.
fn field(content: &gtk::Box, title: &str, text: &str) -> gtk::Entry {
    let label = gtk::Label::builder()
        .label(title)
        .xalign(0.0)
        .css_classes(["heading"])
        .build();
    let entry = gtk::Entry::builder()
        .text(text)
        .activates_default(true)
        .build();
    crate::ui::a11y::set_label(&entry, title);
    content.append(&label);
    content.append(&entry);
    entry
}

/// What the Take Snapshot dialog holds while it is open.
struct TakeForm {
    dialog: adw::MessageDialog,
    name: gtk::Entry,
    description: gtk::Entry,
    memory: gtk::Switch,
    plan_label: gtk::Label,
    problem_label: gtk::Label,
    plan: RefCell<Option<SnapshotPlan>>,
    /// Counts plan questions so an older answer never replaces a newer one.
    asked: Cell<u32>,
    running: bool,
}

impl TakeForm {
    fn with_memory(&self) -> bool {
        self.running && self.memory.is_active()
    }

    /// Says what keeps the snapshot from being taken, and allows Create only without it.
    fn check(&self) {
        let name = self.name.text();
        let description = self.description.text();
        let plan = self.plan.borrow();
        let problem = if name.trim().is_empty() {
            Some(gettext("Give the snapshot a name."))
        } else {
            object_name_problem(&name)
                .or_else(|| control_character_problem(&description))
                .or_else(|| {
                    plan.as_ref()
                        .and_then(|plan| qemu_name_problem(plan, self.running, &name))
                })
        };
        if plan.is_some() || problem.is_some() {
            self.problem_label
                .set_label(problem.as_deref().unwrap_or_default());
            self.problem_label.set_visible(problem.is_some());
        }
        self.dialog
            .set_response_enabled("create", plan.is_some() && problem.is_none());
    }
}

/// Asks the host how the snapshot would be taken (and whether there is room) and shows it.
fn ask_plan(form: &Rc<TakeForm>, section: &SnapshotsSection) {
    let Some(domain) = section.domain() else {
        return;
    };
    let asked = form.asked.get() + 1;
    form.asked.set(asked);
    form.plan.replace(None);
    form.plan_label
        .set_label(&gettext("Checking how the snapshot would be taken…"));
    form.check();
    let with_memory = form.with_memory();
    let form = form.clone();
    glib::spawn_future_local(async move {
        let plan = run_on_host(&domain, move |session, uuid| {
            plan_for(session, uuid, with_memory)
        })
        .await;
        if form.asked.get() != asked {
            return;
        }
        match plan {
            Ok(plan) => {
                form.plan_label.set_label(&plan.reason);
                form.plan_label.set_visible(true);
                form.plan.replace(Some(plan));
            }
            Err(refusal) => {
                form.plan_label.set_visible(false);
                form.problem_label.set_label(&refusal);
                form.problem_label.set_visible(true);
            }
        }
        form.check();
    });
}

/// The Take Snapshot dialog: on Create the snapshot is taken on the host's worker.
pub(super) fn take_snapshot(section: &SnapshotsSection) {
    let running = section.is_running();
    let content = gtk::Box::new(gtk::Orientation::Vertical, 6);
    let name = field(
        &content,
        &gettext("Name"),
        &suggested_name("snapshot", now()),
    );
    let description = field(&content, &gettext("Description"), "");
    let memory = gtk::Switch::builder()
        .active(running)
        .sensitive(running)
        .valign(gtk::Align::Center)
        .build();
    let memory_label = gtk::Label::builder()
        .label(gettext("Include memory"))
        .xalign(0.0)
        .hexpand(true)
        .build();
    crate::ui::a11y::set_label(&memory, &gettext("Include memory"));
    let memory_box = gtk::Box::builder().spacing(12).margin_top(6).build();
    memory_box.append(&memory_label);
    memory_box.append(&memory);
    content.append(&memory_box);
    let memory_note = wrapped_label(&["dim-label"]);
    memory_note.set_label(&if running {
        gettext("With memory, reverting resumes the machine exactly where it was; without, it is as after a power cut.")
    } else {
        gettext("The machine is shut off, so the snapshot holds its disks only.")
    });
    content.append(&memory_note);
    let plan_label = wrapped_label(&[]);
    plan_label.set_margin_top(6);
    let problem_label = wrapped_label(&["error"]);
    problem_label.set_visible(false);
    content.append(&plan_label);
    content.append(&problem_label);

    let dialog = adw::MessageDialog::new(
        window_of(section).as_ref(),
        Some(&gettext("Take Snapshot")),
        Some(&gettext(
            "A snapshot keeps the machine’s disks (and, if chosen, its memory) as they are now, to come back to later.",
        )),
    );
    dialog.set_extra_child(Some(&content));
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("create", &gettext("C_reate")),
    ]);
    dialog.set_response_appearance("create", adw::ResponseAppearance::Suggested);
    dialog.set_default_response(Some("create"));
    dialog.set_close_response("cancel");
    let form = Rc::new(TakeForm {
        dialog: dialog.clone(),
        name,
        description,
        memory,
        plan_label,
        problem_label,
        plan: RefCell::new(None),
        asked: Cell::new(0),
        running,
    });
    for entry in [&form.name, &form.description] {
        let weak = Rc::downgrade(&form);
        entry.connect_changed(move |_| {
            if let Some(form) = weak.upgrade() {
                form.check();
            }
        });
    }
    let weak = Rc::downgrade(&form);
    let weak_section = section.downgrade();
    form.memory.connect_active_notify(move |_| {
        if let (Some(form), Some(section)) = (weak.upgrade(), weak_section.upgrade()) {
            ask_plan(&form, &section);
        }
    });
    let weak_section = section.downgrade();
    let kept = form.clone();
    dialog.connect_response(None, move |_, response| {
        let form = &kept;
        let Some(section) = weak_section.upgrade() else {
            return;
        };
        if response != "create" {
            return;
        }
        let request = NewSnapshot {
            name: form.name.text().trim().to_owned(),
            description: form.description.text().to_string(),
            with_memory: form.with_memory(),
        };
        run_action(&section, move |session, uuid| {
            create_snapshot(session, uuid, &request).map(|_| ())
        });
    });
    ask_plan(&form, section);
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}

/// Runs `job` with the section busy; on success the page re-reads the machine, on failure
/// the section says why.
fn run_action(
    section: &SnapshotsSection,
    job: impl FnOnce(
            &crate::backend::libvirt::session::HostSession,
            &str,
        ) -> Result<(), crate::backend::domain::snapshots::SnapshotError>
        + Send
        + 'static,
) {
    let Some(domain) = section.domain() else {
        return;
    };
    section.set_busy(true);
    section.show_error(None);
    glib::spawn_future_local(glib::clone!(
        #[weak]
        section,
        async move {
            let outcome = run_on_host(&domain, job).await;
            section.set_busy(false);
            match outcome {
                Ok(()) => section.emit_changed(),
                Err(error) => {
                    section.show_error(Some(&error));
                    section.refresh();
                }
            }
        }
    ));
}

/// Asks before reverting to `name`, offering to snapshot the current state first.
pub(super) fn confirm_revert(section: &SnapshotsSection, name: &str, with_memory: bool) {
    let body = if with_memory {
        gettext("The machine goes back to the moment the snapshot was taken, running as it was then. What changed since is lost unless you keep it in a snapshot.")
    } else {
        gettext("The machine’s disks go back to the snapshot and the machine is left shut off. What changed since is lost unless you keep it in a snapshot.")
    };
    let dialog = adw::MessageDialog::new(
        window_of(section).as_ref(),
        Some(&gettext_f("Revert to “{name}”?", &[("name", name)])),
        Some(&body),
    );
    let first =
        gtk::CheckButton::with_label(&gettext("Take a snapshot of the current state first"));
    first.set_active(true);
    dialog.set_extra_child(Some(&first));
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("revert", &gettext("_Revert to Snapshot")),
    ]);
    dialog.set_response_appearance("revert", adw::ResponseAppearance::Destructive);
    dialog.set_close_response("cancel");
    let name = name.to_owned();
    let running = section.is_running();
    let weak_section = section.downgrade();
    dialog.connect_response(Some("revert"), move |_, _| {
        let Some(section) = weak_section.upgrade() else {
            return;
        };
        let target = name.clone();
        if !first.is_active() {
            run_action(&section, move |session, uuid| {
                revert_snapshot(session, uuid, &target, RevertState::AsSaved)
            });
            return;
        }
        let description = gettext_f(
            "The state before reverting to “{name}”",
            &[("name", &target)],
        );
        run_action(&section, move |session, uuid| {
            let taken: Vec<String> = snapshot_infos(session, uuid)?
                .into_iter()
                .map(|info| info.name)
                .collect();
            let base = suggested_name("before-revert", now());
            let mut new_name = base.clone();
            let mut count = 2;
            while taken.contains(&new_name) {
                new_name = format!("{base}-{count}");
                count += 1;
            }
            let current = NewSnapshot {
                name: new_name,
                description,
                with_memory: running,
            };
            snapshot_then_revert(session, uuid, &current, &target, RevertState::AsSaved).map(|_| ())
        });
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}

/// Asks before deleting `name`; with `children`, also offers to delete those.
pub(super) fn confirm_delete(section: &SnapshotsSection, name: &str, children: bool) {
    let body = if children {
        gettext("The machine itself stays as it is now. Snapshots taken on top of this one are kept unless you delete them too.")
    } else {
        gettext("The machine itself stays as it is now. This cannot be undone.")
    };
    let dialog = adw::MessageDialog::new(
        window_of(section).as_ref(),
        Some(&gettext_f("Delete “{name}”?", &[("name", name)])),
        Some(&body),
    );
    dialog.add_response("cancel", &gettext("_Cancel"));
    dialog.add_response("delete", &gettext("_Delete This Snapshot"));
    dialog.set_response_appearance("delete", adw::ResponseAppearance::Destructive);
    if children {
        dialog.add_response("children", &gettext("Delete With Its C_hildren"));
        dialog.set_response_appearance("children", adw::ResponseAppearance::Destructive);
    }
    dialog.set_close_response("cancel");
    let name = name.to_owned();
    let weak_section = section.downgrade();
    dialog.connect_response(None, move |_, response| {
        let Some(section) = weak_section.upgrade() else {
            return;
        };
        let with_children = match response {
            "delete" => false,
            "children" => true,
            _ => return,
        };
        let name = name.clone();
        run_action(&section, move |session, uuid| {
            delete_snapshot(session, uuid, &name, with_children)
        });
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}
