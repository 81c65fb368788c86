//! The rows the Add Device forms are built of, each with its accessible name.

use adw::prelude::*;

use crate::ui::a11y::set_label;

/// A group with a title and, when given, a sentence under it.
pub fn group(title: &str, description: Option<&str>) -> adw::PreferencesGroup {
    let group = adw::PreferencesGroup::builder().title(title).build();
    if let Some(description) = description {
        group.set_description(Some(description));
    }
    group
}

/// A combo row offering `items` (shown texts).
pub fn combo(title: &str, items: &[String]) -> adw::ComboRow {
    let row = adw::ComboRow::builder().title(title).build();
    set_items(&row, items);
    row
}

/// Replaces the texts `row` offers, keeping the choice where it still fits.
pub fn set_items(row: &adw::ComboRow, items: &[String]) {
    let texts: Vec<&str> = items.iter().map(String::as_str).collect();
    let selected = row.selected();
    row.set_model(Some(&gtk::StringList::new(&texts)));
    if selected != gtk::INVALID_LIST_POSITION && (selected as usize) < items.len() {
        row.set_selected(selected);
    }
}

/// The index chosen in `row`, if any.
pub fn chosen(row: &adw::ComboRow) -> Option<usize> {
    let selected = row.selected();
    let count = row.model().map_or(0, |model| model.n_items());
    (selected != gtk::INVALID_LIST_POSITION && selected < count).then_some(selected as usize)
}

/// A text entry row.
pub fn entry(title: &str) -> adw::EntryRow {
    adw::EntryRow::builder().title(title).build()
}

/// A row with a switch at its end.
pub fn switch(title: &str, subtitle: Option<&str>) -> (adw::ActionRow, gtk::Switch) {
    let row = adw::ActionRow::builder().title(title).build();
    if let Some(subtitle) = subtitle {
        row.set_subtitle(subtitle);
    }
    let switch = gtk::Switch::builder().valign(gtk::Align::Center).build();
    set_label(&switch, title);
    row.add_suffix(&switch);
    row.set_activatable_widget(Some(&switch));
    (row, switch)
}

/// A row with a number field at its end.
pub fn number(title: &str, min: f64, max: f64, value: f64) -> (adw::ActionRow, gtk::SpinButton) {
    let row = adw::ActionRow::builder().title(title).build();
    let spin = gtk::SpinButton::with_range(min, max, 1.0);
    spin.set_value(value);
    spin.set_valign(gtk::Align::Center);
    set_label(&spin, title);
    row.add_suffix(&spin);
    (row, spin)
}

/// A row that only says something.
pub fn note(text: &str) -> gtk::Label {
    gtk::Label::builder()
        .label(text)
        .wrap(true)
        .xalign(0.0)
        .css_classes(["dim-label"])
        .build()
}
