//! Removing a device, after asking: detached from the running machine and the saved
//! settings (the saved settings alone while off); a disk's volume deleted too when asked
//! and allowed, the dialog saying beforehand when it would be kept and why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::{removed_note, DevicesSection, Presence};
use crate::backend::domain::device_apply::{detach, DeviceApplied, DeviceApplyError, DeviceScope};
use crate::backend::domain::device_list::{DeviceClass, DeviceEntry};
use crate::backend::domain::devices::DeviceKey;
use crate::backend::storage::deletion::{plan_disk, DiskVerdict};
use crate::i18n::gettext_f;

/// Asks before removing `entry`; for a disk, first finds out whether its volume may go.
pub(crate) fn confirm(
    section: &DevicesSection,
    entry: &DeviceEntry,
    presence: Presence,
    error_label: &gtk::Label,
) {
    if entry.class != DeviceClass::Disk {
        show(section, entry, presence, None, error_label);
        return;
    }
    let Some(host) = section.domain().and_then(|domain| domain.host()) else {
        return;
    };
    let Some(uuid) = section.domain().map(|domain| domain.uuid()) else {
        return;
    };
    let target = entry.key.id.clone();
    let entry = entry.clone();
    let error_label = error_label.clone();
    glib::spawn_future_local(glib::clone!(
        #[weak]
        section,
        async move {
            let verdict = host
                .run(move |session| plan_disk(session, &uuid, &target))
                .await;
            // No image to judge (an empty or network disk): nothing to offer deleting.
            show(&section, &entry, presence, verdict.ok(), &error_label);
        }
    ));
}

fn show(
    section: &DevicesSection,
    entry: &DeviceEntry,
    presence: Presence,
    verdict: Option<DiskVerdict>,
    error_label: &gtk::Label,
) {
    let running = presence != Presence::SavedOnly
        && section.domain().is_some_and(|domain| domain.is_active());
    let body = if running {
        gettext("The running machine is asked to release it, and it is removed from the saved settings. The guest must let go of it; some guests do so only after a while.")
    } else {
        gettext("It is removed from the saved settings.")
    };
    let window = section.root().and_downcast::<gtk::Window>();
    let dialog = adw::MessageDialog::new(
        window.as_ref(),
        Some(&gettext_f("Remove {device}?", &[("device", &entry.label)])),
        Some(&body),
    );
    let delete_check = verdict.as_ref().map(|verdict| {
        let content = gtk::Box::new(gtk::Orientation::Vertical, 6);
        let check = gtk::CheckButton::with_label(&gettext("Also delete the volume"));
        let path = gtk::Label::builder()
            .label(verdict.shown())
            .xalign(0.0)
            .selectable(true)
            .wrap(true)
            .css_classes(["monospace", "dim-label"])
            .build();
        content.append(&check);
        content.append(&path);
        if let Some(reason) = &verdict.keep {
            check.set_sensitive(false);
            let why = gtk::Label::builder()
                .label(gettext_f(
                    "It would be kept: {reason}",
                    &[("reason", &reason.to_string())],
                ))
                .xalign(0.0)
                .wrap(true)
                .build();
            content.append(&why);
        }
        dialog.set_extra_child(Some(&content));
        check
    });
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("remove", &gettext("_Remove")),
    ]);
    dialog.set_response_appearance("remove", adw::ResponseAppearance::Destructive);
    dialog.set_default_response(Some("cancel"));
    dialog.set_close_response("cancel");
    let section = section.downgrade();
    let key = entry.key.clone();
    let error_label = error_label.clone();
    dialog.connect_response(Some("remove"), move |_, _| {
        let delete = delete_check
            .as_ref()
            .filter(|check| check.is_active())
            .and(verdict.clone());
        if let Some(section) = section.upgrade() {
            run(
                &section,
                key.clone(),
                delete,
                presence == Presence::LiveOnly,
                &error_label,
            );
        }
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}

fn run(
    section: &DevicesSection,
    key: DeviceKey,
    delete: Option<DiskVerdict>,
    live_only: bool,
    error_label: &gtk::Label,
) {
    let waiting_key = key.clone();
    let waiting_delete = delete.clone();
    let waiting = Arc::new(AtomicBool::new(false));
    let waiting_seen = waiting.clone();
    let weak = section.downgrade();
    section.run_with(
        Some(error_label),
        None::<&gtk::Widget>,
        move |session, uuid| {
            let applied = match detach(session, uuid, &key, DeviceScope::LiveAndConfig) {
                Ok(applied) => applied,
                // Only in the running machine: the saved settings have nothing to drop.
                Err(DeviceApplyError::Split { .. }) if live_only => DeviceApplied {
                    live: true,
                    ..DeviceApplied::default()
                },
                Err(error) => return Err(error.message()),
            };
            if applied.waiting_for_guest {
                waiting.store(true, Ordering::SeqCst);
                return Ok(gettext(
                    "The guest has not released the device yet. It is removed when the guest lets go of it.",
                ));
            }
            Ok(removed_note(session, delete))
        },
        move |_| {
            if let (true, Some(section)) = (waiting_seen.load(Ordering::SeqCst), weak.upgrade()) {
                section.add_pending(waiting_key, waiting_delete);
            }
        },
    );
}
