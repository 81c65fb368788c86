//! Names for assistive technologies where GTK 4.8 gets them wrong.
//!
//! GTK 4.8 names a button whose label has a mnemonic after both its `label` property, raw
//! ("_Retry"), and the label widget that labels it ("Retry"): a screen reader says
//! "_Retry Retry". The buttons here get the label's text alone, whenever it changes.
//! A drop-down's inner button has no name at all (GTK falls back to "GtkToggleButton"):
//! it gets the drop-down's tooltip, which is what labels the drop-down on screen. Icon-only
//! buttons, expanders, rows holding just a label and the choice shown in a combo row are
//! named as they read on screen.

use adw::prelude::*;
use gtk::glib;
use gtk::glib::translate::{IntoGlib, ToGlibPtr};

/// `gtk_accessible_update_property_value` and `gtk_accessible_reset_relation` are GTK 4.0
/// API, but gtk4-rs offers them only with its `v4_10` feature, which would require GTK 4.10
/// at run time. Declared here for GTK 4.8.
mod ffi {
    use gtk::glib::gobject_ffi::GValue;
    use gtk::{ffi::GtkAccessible, ffi::GtkAccessibleProperty, ffi::GtkAccessibleRelation};

    extern "C" {
        pub fn gtk_accessible_update_property_value(
            accessible: *mut GtkAccessible,
            n_properties: std::ffi::c_int,
            properties: *mut GtkAccessibleProperty,
            values: *const GValue,
        );
        pub fn gtk_accessible_reset_relation(
            accessible: *mut GtkAccessible,
            relation: GtkAccessibleRelation,
        );
    }
}

/// Sets the name assistive technologies give `element`.
pub fn set_label(element: &impl IsA<gtk::Widget>, label: &str) {
    let value = glib::Value::from(label);
    let mut property = gtk::AccessibleProperty::Label.into_glib();
    // SAFETY: one property and one string value, as the function expects; GTK copies the
    // string before returning.
    unsafe {
        ffi::gtk_accessible_update_property_value(
            accessible(element),
            1,
            &mut property,
            value.to_glib_none().0,
        );
    }
}

/// Every widget implements GtkAccessible (gtk4-rs has the type only with `v4_10`).
fn accessible(widget: &impl IsA<gtk::Widget>) -> *mut gtk::ffi::GtkAccessible {
    let widget: *mut gtk::ffi::GtkWidget = widget.as_ref().to_glib_none().0;
    widget.cast()
}

/// Drops every "labelled by" relation of `element`.
fn reset_labelled_by(element: &impl IsA<gtk::Widget>) {
    // SAFETY: a valid accessible and relation; GTK ignores a relation that was not set.
    unsafe {
        ffi::gtk_accessible_reset_relation(
            accessible(element),
            gtk::AccessibleRelation::LabelledBy.into_glib(),
        );
    }
}

/// Gives every button with a mnemonic under `root` (and `root` itself) a clean name, and the
/// button inside every drop-down its drop-down's name. Call it once a tree is built, and again
/// on the part that grew when widgets are added later.
pub fn name_controls(root: &impl IsA<gtk::Widget>) {
    let mut pending = vec![root.as_ref().clone()];
    while let Some(widget) = pending.pop() {
        if let Some(button) = widget.downcast_ref::<gtk::Button>() {
            follow_mnemonic_label(button);
        }
        if let Some(dropdown) = widget.downcast_ref::<gtk::DropDown>() {
            name_dropdown_button(dropdown);
        }
        if let Some(row) = widget.downcast_ref::<adw::ComboRow>() {
            follow_combo_row_choice(row);
        }
        if let Some(expander) = widget.downcast_ref::<gtk::Expander>() {
            follow_expander_label(expander);
        }
        if let Some(row) = widget.downcast_ref::<gtk::ListBoxRow>() {
            name_label_row(row);
        }
        let mut child = widget.first_child();
        while let Some(widget) = child {
            child = widget.next_sibling();
            pending.push(widget);
        }
    }
}

/// A list row that only holds a label (a stack sidebar's row): GTK 4.8 leaves it
/// nameless; it reads as its label.
fn name_label_row(row: &gtk::ListBoxRow) {
    let Some(label) = row.child().and_downcast::<gtk::Label>() else {
        return;
    };
    let name_after_label =
        |row: &gtk::ListBoxRow, label: &gtk::Label| set_label(row, &label.text());
    name_after_label(row, &label);
    label.connect_label_notify(glib::clone!(
        #[weak]
        row,
        move |label| name_after_label(&row, label)
    ));
}

fn name_dropdown_button(dropdown: &gtk::DropDown) {
    let Some(name) = dropdown.tooltip_text() else {
        return;
    };
    let mut child = dropdown.first_child();
    while let Some(widget) = child {
        if widget.is::<gtk::ToggleButton>() {
            set_label(&widget, &name);
        }
        child = widget.next_sibling();
    }
}

/// An icon-only button: GTK 4.8 exposes its tooltip as the description only, and names it
/// after its image ("GtkImage"). Libadwaita's own (a password entry's "Show Text") too.
fn follow_tooltip(button: &gtk::Button) {
    let name_after_tooltip = |button: &gtk::Button| {
        if let Some(tooltip) = button.tooltip_text() {
            set_label(button, &tooltip);
        }
    };
    name_after_tooltip(button);
    button.connect_tooltip_text_notify(name_after_tooltip);
}

/// GTK 4.8 exposes an expander as a button without the name its label shows.
fn follow_expander_label(expander: &gtk::Expander) {
    let name_after_label = |expander: &gtk::Expander| {
        if let Some(label) = expander.label() {
            let label = if expander.uses_underline() {
                strip_mnemonic(&label)
            } else {
                label.to_string()
            };
            set_label(expander, &label);
        }
    };
    name_after_label(expander);
    expander.connect_label_notify(name_after_label);
}

/// A combo row shows its choice in a one-row list whose row GTK 4.8 leaves nameless: name it
/// after the text it shows, whenever the choice changes.
fn follow_combo_row_choice(row: &adw::ComboRow) {
    // The row widget is bound to the new item after the notification: look once it is.
    let later = |row: &adw::ComboRow| {
        let row = row.downgrade();
        glib::idle_add_local_once(move || {
            if let Some(row) = row.upgrade() {
                name_list_items_by_text(&row);
            }
        });
    };
    later(row);
    row.connect_selected_item_notify(later);
    row.connect_map(later);
}

/// Names every list item widget under `root` after the labels it holds.
fn name_list_items_by_text(root: &impl IsA<gtk::Widget>) {
    let mut pending = vec![root.as_ref().clone()];
    while let Some(widget) = pending.pop() {
        if widget.type_().name() == "GtkListItemWidget" {
            let text = shown_text(&widget);
            if !text.is_empty() {
                set_label(&widget, &text);
            }
            continue;
        }
        let mut child = widget.first_child();
        while let Some(next) = child {
            child = next.next_sibling();
            pending.push(next);
        }
    }
}

/// The texts of the visible labels under `root`, in order, joined by spaces.
fn shown_text(root: &gtk::Widget) -> String {
    let mut texts = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(widget) = pending.pop() {
        if !widget.is_visible() {
            continue;
        }
        if let Some(label) = widget.downcast_ref::<gtk::Label>() {
            if !label.text().is_empty() {
                texts.push(label.text().to_string());
            }
        }
        let mut child = widget.last_child();
        while let Some(previous) = child {
            child = previous.prev_sibling();
            pending.push(previous);
        }
    }
    texts.join(" ")
}

/// Names `button` after its label (without the mnemonic) or its tooltip, now and whenever
/// they change.
fn follow_mnemonic_label(button: &gtk::Button) {
    // Marks a button already followed, for trees walked again as they grow (tab bars).
    const FOLLOWED: &str = "hangar-a11y-followed";
    // SAFETY: this key only ever holds a `bool`, set and read here.
    unsafe {
        if button.data::<bool>(FOLLOWED).is_some() {
            return;
        }
        button.set_data(FOLLOWED, true);
    }
    if button.label().is_none() && button.tooltip_text().is_some() {
        follow_tooltip(button);
    }
    if !button.uses_underline() {
        return;
    }
    name_without_mnemonic(button);
    button.connect_label_notify(name_without_mnemonic);
}

fn name_without_mnemonic(button: &gtk::Button) {
    let Some(label) = button.label().filter(|_| button.uses_underline()) else {
        return;
    };
    reset_labelled_by(button);
    set_label(button, &strip_mnemonic(&label));
}

/// The text a label with `use-underline` shows: "_" marks the next character as the
/// mnemonic, "__" is a literal underscore.
pub fn strip_mnemonic(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        if character != '_' {
            shown.push(character);
        } else if let Some(next) = characters.next() {
            shown.push(next);
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::strip_mnemonic;

    #[test]
    fn mnemonics_are_dropped_and_doubled_underscores_kept() {
        assert_eq!(strip_mnemonic("_Retry"), "Retry");
        assert_eq!(strip_mnemonic("C_onnect"), "Connect");
        assert_eq!(strip_mnemonic("disk__one _Add"), "disk_one Add");
        assert_eq!(strip_mnemonic("Plain"), "Plain");
    }
}
