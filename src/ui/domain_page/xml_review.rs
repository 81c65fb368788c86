//! The dialog the XML section shows before saving: the line diff of the edited XML against
//! the saved one (added lines green with `+`, removed red with `-`, a few unchanged lines
//! around), with Save and Cancel.

use std::cell::Cell;
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::domain::xml_diff::DiffLine;
use crate::i18n::gettext_f;

/// Shows the diff over `parent`; `save` runs when the user chooses Save.
pub fn present(parent: Option<&gtk::Window>, diff: &[DiffLine], save: impl FnOnce() + 'static) {
    let window = adw::Window::builder()
        .modal(true)
        .default_width(760)
        .default_height(560)
        .title(gettext("Review XML Changes"))
        .build();
    window.set_transient_for(parent);

    let cancel = gtk::Button::with_mnemonic(&gettext("_Cancel"));
    let save_button = gtk::Button::with_mnemonic(&gettext("_Save"));
    save_button.add_css_class("suggested-action");
    let header = adw::HeaderBar::builder()
        .show_start_title_buttons(false)
        .show_end_title_buttons(false)
        .title_widget(&adw::WindowTitle::new(&gettext("Review XML Changes"), ""))
        .build();
    header.pack_start(&cancel);
    header.pack_end(&save_button);

    let (added, removed) = counts(diff);
    let summary = gtk::Label::builder()
        .label(gettext_f(
            "Lines added: {added}. Lines removed: {removed}. libvirt checks the XML when it is saved.",
            &[("added", &added.to_string()), ("removed", &removed.to_string())],
        ))
        .wrap(true)
        .xalign(0.0)
        .margin_start(12)
        .margin_end(12)
        .margin_top(12)
        .build();

    let view = gtk::TextView::builder()
        .editable(false)
        .cursor_visible(false)
        .monospace(true)
        .top_margin(6)
        .bottom_margin(6)
        .left_margin(6)
        .right_margin(6)
        .build();
    crate::ui::a11y::set_label(&view, &gettext("Changes"));
    fill(&view.buffer(), diff);
    let scrolled = gtk::ScrolledWindow::builder()
        .child(&view)
        .vexpand(true)
        .margin_start(12)
        .margin_end(12)
        .margin_top(12)
        .margin_bottom(12)
        .css_classes(["card"])
        .build();

    let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
    content.append(&header);
    content.append(&summary);
    content.append(&scrolled);
    window.set_content(Some(&content));

    cancel.connect_clicked(glib::clone!(
        #[weak]
        window,
        move |_| window.close()
    ));
    let save = Rc::new(Cell::new(Some(save)));
    save_button.connect_clicked(glib::clone!(
        #[weak]
        window,
        move |_| {
            window.close();
            if let Some(save) = save.take() {
                save();
            }
        }
    ));
    let escape = gtk::Shortcut::new(
        gtk::ShortcutTrigger::parse_string("Escape"),
        Some(gtk::CallbackAction::new(|widget, _| {
            if let Some(window) = widget.downcast_ref::<gtk::Window>() {
                window.close();
            }
            glib::Propagation::Stop
        })),
    );
    let shortcuts = gtk::ShortcutController::new();
    shortcuts.add_shortcut(escape);
    window.add_controller(shortcuts);
    crate::ui::a11y::name_controls(&window);
    window.set_default_widget(Some(&save_button));
    window.present();
    save_button.grab_focus();
}

fn counts(diff: &[DiffLine]) -> (usize, usize) {
    let added = diff
        .iter()
        .filter(|line| matches!(line, DiffLine::Added(..)))
        .count();
    let removed = diff
        .iter()
        .filter(|line| matches!(line, DiffLine::Removed(..)))
        .count();
    (added, removed)
}

/// Writes the diff into `buffer`, one line each: the line number (in the new text; in the
/// old one for a removed line), then the line as `diff -u` shows it, coloured.
fn fill(buffer: &gtk::TextBuffer, diff: &[DiffLine]) {
    let table = buffer.tag_table();
    let added = gtk::TextTag::builder()
        .name("added")
        .paragraph_background("rgba(46, 194, 126, 0.25)")
        .build();
    let removed = gtk::TextTag::builder()
        .name("removed")
        .paragraph_background("rgba(224, 27, 36, 0.25)")
        .build();
    let skipped = gtk::TextTag::builder()
        .name("skipped")
        .foreground("#77767b")
        .style(gtk::pango::Style::Italic)
        .build();
    for tag in [&added, &removed, &skipped] {
        table.add(tag);
    }
    for (index, line) in diff.iter().enumerate() {
        let (number, tag) = match line {
            DiffLine::Same(_, new, _) => (Some(*new), None),
            DiffLine::Added(new, _) => (Some(*new), Some(&added)),
            DiffLine::Removed(old, _) => (Some(*old), Some(&removed)),
            DiffLine::Skipped(_) => (None, Some(&skipped)),
        };
        let text = match line {
            DiffLine::Skipped(count) => gettext_f(
                "⋯ {count} unchanged lines ⋯",
                &[("count", &count.to_string())],
            ),
            line => line.to_text(),
        };
        let number = number.map(|n| n.to_string()).unwrap_or_default();
        let newline = if index + 1 < diff.len() { "\n" } else { "" };
        let mut end = buffer.end_iter();
        let row = format!("{number:>5} {text}{newline}");
        match tag {
            Some(tag) => buffer.insert_with_tags(&mut end, &row, &[tag]),
            None => buffer.insert(&mut end, &row),
        }
    }
}
