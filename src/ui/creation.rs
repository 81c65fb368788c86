//! Opens the creation wizards for the host on screen and follows up on what they created.

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::{NewNetworkDialog, NewPoolDialog, NewVmWizard, Window};
use crate::i18n::gettext_f;
use crate::model::{Host, HostStatus};

fn connected_host(window: &Window) -> Option<Host> {
    let host = window
        .current_host()
        .filter(|host| host.status() == HostStatus::Connected);
    if host.is_none() {
        window.show_toast(&gettext("Connect to a host first."));
    }
    host
}

/// How many times to look for a new machine in the list before giving up on its console.
const LIST_WAIT_TRIES: u32 = 40;

/// Opens the new-VM wizard; the created machine's console opens when it is listed.
pub fn new_vm(window: &Window) {
    let Some(host) = connected_host(window) else {
        return;
    };
    let wizard = NewVmWizard::new(window, &host);
    let window = window.downgrade();
    wizard.connect_created(move |_, uuid| {
        if let Some(window) = window.upgrade() {
            open_console_when_listed(&window, &host, uuid.to_owned(), LIST_WAIT_TRIES);
        }
    });
    wizard.present();
}

/// The new machine shows up with the next event or refresh; open its console then.
fn open_console_when_listed(window: &Window, host: &Host, uuid: String, tries: u32) {
    if let Some(domain) = host.domain_by_uuid(&uuid) {
        window.open_consoles(&[domain]);
        return;
    }
    if tries == 0 {
        return;
    }
    host.refresh();
    let (window, host) = (window.downgrade(), host.downgrade());
    glib::timeout_add_local_once(std::time::Duration::from_millis(250), move || {
        if let (Some(window), Some(host)) = (window.upgrade(), host.upgrade()) {
            open_console_when_listed(&window, &host, uuid, tries - 1);
        }
    });
}

pub fn new_pool(window: &Window) {
    let Some(host) = connected_host(window) else {
        return;
    };
    let dialog = NewPoolDialog::new(window, &host);
    let window = window.downgrade();
    dialog.connect_created(move |_, name| {
        if let Some(window) = window.upgrade() {
            window.show_toast(&gettext_f(
                "Storage pool “{name}” created",
                &[("name", name)],
            ));
        }
    });
    dialog.present();
}

pub fn new_network(window: &Window) {
    let Some(host) = connected_host(window) else {
        return;
    };
    let dialog = NewNetworkDialog::new(window, &host);
    let window = window.downgrade();
    dialog.connect_created(move |_, name| {
        if let Some(window) = window.upgrade() {
            window.show_toast(&gettext_f(
                "Virtual network “{name}” created",
                &[("name", name)],
            ));
        }
    });
    dialog.present();
}
