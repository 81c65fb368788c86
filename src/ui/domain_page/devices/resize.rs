//! The Resize dialog of a disk: its current size and a new one in GiB or MiB. A running
//! machine's disk grows live (the guest sees it at once), a stopped one's volume grows;
//! shrinking is refused with the reason (`backend::domain::disk_resize`).

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::DevicesSection;
use crate::backend::domain::device_list::DeviceEntry;
use crate::backend::domain::disk_resize::{disk_capacity, format_bytes, resize_disk};
use crate::i18n::gettext_f;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Asks the host for the disk's size, then shows the dialog.
pub(crate) fn present(section: &DevicesSection, entry: &DeviceEntry, error_label: &gtk::Label) {
    let Some(domain) = section.domain() else {
        return;
    };
    let Some(host) = domain.host() else { return };
    let uuid = domain.uuid();
    let target = entry.key.id.clone();
    let entry = entry.clone();
    let error_label = error_label.clone();
    glib::spawn_future_local(glib::clone!(
        #[weak]
        section,
        async move {
            let capacity = host
                .run(move |session| {
                    Ok(disk_capacity(session, &uuid, &target).map_err(|error| error.to_string()))
                })
                .await
                .unwrap_or_else(|error| Err(error.user_message()));
            match capacity {
                Ok(bytes) => show(&section, &entry, bytes, &error_label),
                Err(message) => {
                    error_label.set_label(&message);
                    error_label.set_visible(true);
                }
            }
        }
    ));
}

fn show(section: &DevicesSection, entry: &DeviceEntry, current: u64, error_label: &gtk::Label) {
    let window = section.root().and_downcast::<gtk::Window>();
    let running = section.domain().is_some_and(|domain| domain.is_active());
    let body = gettext_f(
        "Current size: {size}. A disk only grows; the guest then has to grow its partition and file system into the new space.",
        &[("size", &format_bytes(current))],
    );
    let dialog = adw::MessageDialog::new(
        window.as_ref(),
        Some(&gettext_f("Resize {device}", &[("device", &entry.label)])),
        Some(&body),
    );
    let whole_gib = current % GIB == 0;
    let unit_bytes = |index: u32| if index == 0 { GIB } else { MIB };
    let units = gtk::DropDown::from_strings(&[&gettext("GiB"), &gettext("MiB")]);
    units.set_selected(if whole_gib { 0 } else { 1 });
    units.set_tooltip_text(Some(&gettext("Unit")));
    crate::ui::a11y::set_label(&units, &gettext("Unit"));
    let size = gtk::SpinButton::with_range(1.0, 1_048_576.0, 1.0);
    size.set_value((current / unit_bytes(units.selected())) as f64);
    size.set_hexpand(true);
    crate::ui::a11y::set_label(&size, &gettext("New size"));
    let line = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    line.append(&size);
    line.append(&units);
    let note = gtk::Label::builder()
        .label(if running {
            gettext("The running machine’s disk grows at once.")
        } else {
            gettext("The disk’s volume grows on the host.")
        })
        .xalign(0.0)
        .wrap(true)
        .css_classes(["dim-label"])
        .build();
    let content = gtk::Box::new(gtk::Orientation::Vertical, 12);
    content.append(&line);
    content.append(&note);
    dialog.set_extra_child(Some(&content));
    units.connect_selected_notify(glib::clone!(
        #[weak]
        size,
        move |units| {
            // The same size in the other unit, rounded up so as not to shrink.
            let bytes = unit_bytes(units.selected());
            size.set_value(current.div_ceil(bytes) as f64);
        }
    ));
    dialog.add_responses(&[
        ("cancel", &gettext("_Cancel")),
        ("resize", &gettext("_Resize")),
    ]);
    dialog.set_response_appearance("resize", adw::ResponseAppearance::Suggested);
    dialog.set_default_response(Some("resize"));
    dialog.set_close_response("cancel");
    let section = section.downgrade();
    let target = entry.key.id.clone();
    let label = entry.label.clone();
    let error_label = error_label.clone();
    dialog.connect_response(Some("resize"), move |_, _| {
        let Some(section) = section.upgrade() else {
            return;
        };
        size.update();
        let bytes = (size.value() as u64).saturating_mul(unit_bytes(units.selected()));
        let (target, label) = (target.clone(), label.clone());
        section.run(Some(&error_label), move |session, uuid| {
            let resized = resize_disk(session, uuid, &target, bytes).map_err(|e| e.to_string())?;
            Ok(gettext_f(
                "{device} is now {size}.",
                &[("device", &label), ("size", &format_bytes(resized.after))],
            ))
        });
    });
    crate::ui::a11y::name_controls(&dialog);
    dialog.present();
}
