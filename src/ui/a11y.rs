//! Names for assistive technologies where GTK 4.8 gets them wrong.
//!
//! GTK 4.8 names a button whose label has a mnemonic after both its `label` property, raw
//! ("_Retry"), and the label widget that labels it ("Retry"): a screen reader says
//! "_Retry Retry". The buttons here get the label's text alone, whenever it changes.

use gtk::glib;
use gtk::glib::translate::{IntoGlib, ToGlibPtr};
use gtk::prelude::*;

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

/// Gives every button with a mnemonic under `root` (and `root` itself) a clean name. Call it
/// once a tree is built; buttons added later need a call of their own.
pub fn name_mnemonic_buttons(root: &impl IsA<gtk::Widget>) {
    let mut pending = vec![root.as_ref().clone()];
    while let Some(widget) = pending.pop() {
        if let Some(button) = widget.downcast_ref::<gtk::Button>() {
            follow_mnemonic_label(button);
        }
        let mut child = widget.first_child();
        while let Some(widget) = child {
            child = widget.next_sibling();
            pending.push(widget);
        }
    }
}

/// Names `button` after its label without the mnemonic, now and whenever the label changes.
/// Following a button twice only repeats the same update.
fn follow_mnemonic_label(button: &gtk::Button) {
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
