//! The "Add Device" dialog of the Devices section (a stub: filled in by its own change).

use gtk::prelude::*;

use crate::backend::domain::reading::DomainReading;
use crate::model::Domain;

/// Shows the dialog adding a device to `domain`; calls `done` after one was added.
pub fn present(
    _parent: &impl IsA<gtk::Widget>,
    _domain: &Domain,
    _reading: &DomainReading,
    _done: impl Fn() + 'static,
) {
}
