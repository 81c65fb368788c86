//! Opens the creation wizards for the host on screen and follows up on what they created.

use adw::prelude::*;
use gettextrs::gettext;

use super::{NewNetworkDialog, NewPoolDialog, Window};
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
