//! Pieces the form dialogs share: marking fields, writing problems under a group, the
//! XML preview, the busy Create button and the form that waits while the host works.

use std::cell::{Cell, RefCell};

use adw::prelude::*;
use gettextrs::gettext;

/// Adds or removes the `error` style that marks a row with a problem.
pub(super) fn mark_invalid(row: &impl IsA<gtk::Widget>, is_bad: bool) {
    if is_bad {
        row.add_css_class("error");
    } else {
        row.remove_css_class("error");
    }
}

/// Writes `messages` (one per line) into a group's problem label; hidden when there are none.
pub(super) fn show_messages(label: &gtk::Label, messages: &[&str]) {
    let text = messages.join("\n");
    label.set_label(&text);
    label.set_visible(!text.is_empty());
}

/// Shows the XML that will be sent, or why there is none yet.
pub(super) fn show_xml(view: &gtk::TextView, xml: Option<&str>) {
    let text = match xml {
        Some(xml) => xml.trim_end().to_owned(),
        None => gettext("The XML appears here once every field is filled in correctly."),
    };
    view.buffer().set_text(&text);
    if xml.is_some() {
        view.remove_css_class("dim-label");
    } else {
        view.add_css_class("dim-label");
    }
}

/// Puts a spinner and “Creating…” on the button while the host works, and its label back
/// afterwards.
pub(super) fn show_busy(button: &gtk::Button, busy: bool) {
    if !busy {
        button.set_label(&gettext("Create"));
        return;
    }
    let spinner = gtk::Spinner::new();
    spinner.start();
    let content = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    content.append(&spinner);
    content.append(&gtk::Label::new(Some(&gettext("Creating…"))));
    button.set_child(Some(&content));
}

/// Shows the host's answer at the top of the form, or hides it.
pub(super) fn show_failure(group: &adw::PreferencesGroup, row: &adw::ActionRow, message: &str) {
    row.set_title(message);
    group.set_visible(!message.is_empty());
}

/// A creation dialog while the host works: the form waits, cannot be closed, and gives the
/// keyboard back where it was afterwards.
#[derive(Default)]
pub(super) struct BusyForm {
    busy: Cell<bool>,
    /// Where the keyboard was when Create was pressed.
    focus_before: RefCell<Option<gtk::Widget>>,
}

impl BusyForm {
    pub(super) fn is_busy(&self) -> bool {
        self.busy.get()
    }

    /// Makes `page` wait (or not), with the spinner on `create_button` and the window's
    /// `dialog.cancel` action off while busy.
    pub(super) fn set(
        &self,
        window: &(impl IsA<gtk::Window> + IsA<gtk::Widget>),
        page: &impl IsA<gtk::Widget>,
        create_button: &gtk::Button,
        busy: bool,
    ) {
        if busy {
            self.focus_before.replace(window.focus());
        }
        self.busy.set(busy);
        page.set_sensitive(!busy);
        window.action_set_enabled("dialog.cancel", !busy);
        show_busy(create_button, busy);
        // An insensitive form drops the focus; the user carries on where they were.
        let focus_before = if busy { None } else { self.focus_before.take() };
        if let Some(widget) = focus_before {
            widget.grab_focus();
        }
    }
}
