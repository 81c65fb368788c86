//! Reads a password entry straight into a [`Password`].
//!
//! GTK keeps a password entry's text in its own wiped (secure) memory. `EditableExt::text`
//! would copy it into a `GString` that is freed without being wiped, so the text is read
//! from GTK's buffer instead and copied once, into the zeroizing `Password`.

use std::ffi::CStr;

use glib::translate::ToGlibPtr;
use gtk::prelude::*;
use gtk::{glib, Editable};

use crate::backend::password::Password;

/// The entry's text as a password; the entry is then cleared so no copy lingers in it.
pub fn take_password(entry: &impl IsA<Editable>) -> Password {
    let password = read_password(entry);
    entry.set_text("");
    password
}

/// The entry's text as a password, left in the entry (a form the user may come back to).
pub fn read_password(entry: &impl IsA<Editable>) -> Password {
    let editable: &Editable = entry.upcast_ref();
    // SAFETY: gtk_editable_get_text returns the editable's own NUL-terminated UTF-8 text
    // (never NULL), valid until the text changes; it is copied at once.
    unsafe {
        let text = gtk::ffi::gtk_editable_get_text(editable.to_glib_none().0);
        Password::from_text(CStr::from_ptr(text).to_str().unwrap_or_default())
    }
}
