//! The window's actions on the selected domains: start, shut down, pause … delete. Each runs
//! on the hosts' workers; the dangerous ones ask first.

use std::collections::HashMap;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;

use super::Window;
use crate::backend::actions::DomainAction;
use crate::backend::domain::DomainState;
use crate::backend::storage::deletion::DiskVerdict;
use crate::i18n::gettext_f;
use crate::model::{Domain, Host};

type Handler = fn(&Window, Vec<Domain>);

const SIMPLE_ACTIONS: [(&str, Handler); 11] = [
    ("win.domain-console", |w, d| w.open_consoles(&d)),
    ("win.domain-details", |w, d| w.open_details(&d)),
    ("win.domain-start", |w, d| run(w, d, DomainAction::Start)),
    ("win.domain-shutdown", |w, d| {
        run(w, d, DomainAction::Shutdown)
    }),
    ("win.domain-reboot", |w, d| run(w, d, DomainAction::Reboot)),
    ("win.domain-pause", |w, d| run(w, d, DomainAction::Pause)),
    ("win.domain-resume", |w, d| run(w, d, DomainAction::Resume)),
    ("win.domain-save", |w, d| {
        run(w, d, DomainAction::ManagedSave)
    }),
    ("win.domain-force-off", confirm_force_off),
    ("win.domain-rename", ask_new_name),
    ("win.domain-delete", confirm_delete),
];

/// Installs the domain actions on the window class.
pub fn install(klass: &mut <super::window::imp::Window as ObjectSubclass>::Class) {
    for (name, handler) in SIMPLE_ACTIONS {
        klass.install_action(name, None, move |window, _, _| {
            handler(window, window.selected_domains());
        });
    }
    klass.install_action(
        "win.domain-autostart",
        Some(glib::VariantTy::BOOLEAN),
        |window, _, on| {
            let on = on.and_then(|value| value.get::<bool>()).unwrap_or(true);
            run(
                window,
                window.selected_domains(),
                DomainAction::SetAutostart(on),
            );
        },
    );
}

/// Enables each action when at least one selected domain can take it.
pub fn update_enabled(window: &Window, selected: &[Domain]) {
    let any = |test: fn(DomainState) -> bool| selected.iter().any(|domain| test(domain.state()));
    let running = |state: DomainState| matches!(state, DomainState::Running | DomainState::Blocked);
    let enabled = [
        ("win.domain-console", !selected.is_empty()),
        ("win.domain-details", !selected.is_empty()),
        ("win.domain-start", any(|state| !state.is_active())),
        ("win.domain-shutdown", any(running)),
        ("win.domain-reboot", any(running)),
        ("win.domain-pause", any(running)),
        (
            "win.domain-resume",
            any(|state| state == DomainState::Paused),
        ),
        ("win.domain-save", any(DomainState::is_active)),
        ("win.domain-force-off", any(DomainState::is_active)),
        (
            "win.domain-rename",
            selected.len() == 1 && any(|state| !state.is_active()),
        ),
        ("win.domain-delete", !selected.is_empty()),
        ("win.domain-autostart", !selected.is_empty()),
    ];
    for (name, on) in enabled {
        window.action_set_enabled(name, on);
    }
}

/// Sends `action` to each domain's host, one command per host.
fn run(window: &Window, domains: Vec<Domain>, action: DomainAction) {
    if domains.is_empty() {
        return;
    }
    let mut by_host: HashMap<String, (Host, Vec<String>)> = HashMap::new();
    for domain in domains {
        let Some(host) = domain.host() else { continue };
        by_host
            .entry(host.uri())
            .or_insert_with(|| (host, Vec::new()))
            .1
            .push(domain.uuid());
    }
    for (host, uuids) in by_host.into_values() {
        host.run_action(uuids, action.clone());
    }
    update_enabled(window, &window.selected_domains());
}

/// "web, db and 3 more" for the dialogs.
fn describe(domains: &[Domain]) -> String {
    match domains {
        [one] => format!("“{}”", one.name()),
        _ => ngettext(
            "{count} virtual machine",
            "{count} virtual machines",
            domains.len() as u32,
        )
        .replace("{count}", &domains.len().to_string()),
    }
}

fn confirm_force_off(window: &Window, domains: Vec<Domain>) {
    if domains.is_empty() {
        return;
    }
    let dialog = adw::MessageDialog::new(
        Some(window),
        Some(&gettext_f(
            "Force Off {what}?",
            &[("what", &describe(&domains))],
        )),
        Some(&gettext(
            "This cuts the power at once. Anything the guest has not saved is lost.",
        )),
    );
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("force-off", &gettext("_Force Off")),
    ]);
    dialog.set_response_appearance("force-off", adw::ResponseAppearance::Destructive);
    dialog.set_close_response("cancel");
    let window = window.downgrade();
    dialog.connect_response(Some("force-off"), move |_, _| {
        if let Some(window) = window.upgrade() {
            run(&window, domains.clone(), DomainAction::ForceOff);
        }
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}

fn ask_new_name(window: &Window, domains: Vec<Domain>) {
    let [domain] = domains.as_slice() else { return };
    let entry = gtk::Entry::builder()
        .text(domain.name())
        .activates_default(true)
        .build();
    crate::ui::a11y::set_label(&entry, &gettext("New Name"));
    let dialog = adw::MessageDialog::new(
        Some(window),
        Some(&gettext_f("Rename “{name}”", &[("name", &domain.name())])),
        Some(&gettext("The virtual machine must be shut off.")),
    );
    dialog.set_extra_child(Some(&entry));
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("rename", &gettext("_Rename")),
    ]);
    dialog.set_response_appearance("rename", adw::ResponseAppearance::Suggested);
    dialog.set_default_response(Some("rename"));
    dialog.set_close_response("cancel");
    let check = glib::clone!(
        #[weak]
        dialog,
        move |entry: &gtk::Entry| {
            let name = entry.text();
            let valid = !name.trim().is_empty() && !name.contains('/');
            dialog.set_response_enabled("rename", valid);
        }
    );
    entry.connect_changed(check);
    let window = window.downgrade();
    let domain = domain.clone();
    dialog.connect_response(Some("rename"), move |_, _| {
        let name = entry.text().trim().to_owned();
        if let Some(window) = window.upgrade() {
            run(&window, vec![domain.clone()], DomainAction::Rename(name));
        }
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}

/// Asks before deleting, listing the disk images that "also delete storage" would remove
/// and those it keeps, with the reason.
fn confirm_delete(window: &Window, domains: Vec<Domain>) {
    if domains.is_empty() {
        return;
    }
    let window = window.downgrade();
    glib::spawn_future_local(async move {
        let mut disks = Vec::new();
        for domain in &domains {
            if let Some(host) = domain.host() {
                disks.extend(host.disk_paths(&domain.uuid()).await.unwrap_or_default());
            }
        }
        if let Some(window) = window.upgrade() {
            show_delete_dialog(&window, domains, disks);
        }
    });
}

fn show_delete_dialog(window: &Window, domains: Vec<Domain>, verdicts: Vec<DiskVerdict>) {
    let (deletable, kept): (Vec<DiskVerdict>, Vec<DiskVerdict>) =
        verdicts.into_iter().partition(DiskVerdict::deletable);
    let disks: Vec<&str> = deletable.iter().map(DiskVerdict::shown).collect();
    let dialog = adw::MessageDialog::new(
        Some(window),
        Some(&gettext_f(
            "Delete {what}?",
            &[("what", &describe(&domains))],
        )),
        Some(&gettext(
            "Its definition is removed from the host, running or not. This cannot be undone.",
        )),
    );
    let delete_storage = gtk::CheckButton::with_label(&gettext("Also delete these disk images:"));
    let content = gtk::Box::new(gtk::Orientation::Vertical, 6);
    if !disks.is_empty() {
        content.append(&delete_storage);
        let list = gtk::Label::builder()
            .label(disks.join("\n"))
            .xalign(0.0)
            .selectable(true)
            .wrap(true)
            .css_classes(["monospace", "dim-label"])
            .build();
        content.append(&list);
    }
    if !kept.is_empty() {
        // Read-only, shareable or used elsewhere: never deleted, and the user sees why.
        let heading = gtk::Label::builder()
            .label(gettext("These disk images are kept:"))
            .xalign(0.0)
            .margin_top(6)
            .build();
        content.append(&heading);
        for disk in &kept {
            let Some(reason) = &disk.keep else { continue };
            let path = gtk::Label::builder()
                .label(disk.shown())
                .xalign(0.0)
                .selectable(true)
                .wrap(true)
                .css_classes(["monospace", "dim-label"])
                .build();
            let why = gtk::Label::builder()
                .label(reason.to_string())
                .xalign(0.0)
                .wrap(true)
                .margin_start(12)
                .build();
            content.append(&path);
            content.append(&why);
        }
    }
    if !disks.is_empty() || !kept.is_empty() {
        dialog.set_extra_child(Some(&content));
    }
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("delete", &gettext("_Delete")),
    ]);
    dialog.set_response_appearance("delete", adw::ResponseAppearance::Destructive);
    dialog.set_close_response("cancel");
    let window = window.downgrade();
    dialog.connect_response(Some("delete"), move |_, _| {
        let action = DomainAction::Delete {
            delete_storage: delete_storage.is_active(),
        };
        if let Some(window) = window.upgrade() {
            run(&window, domains.clone(), action);
        }
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}
