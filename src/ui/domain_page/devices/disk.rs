//! A disk's editor inside its row: bus, cache, discard, read-only and shareable, written by
//! its own Apply to the saved settings (a running machine takes them at its next start),
//! and Resize.

use std::cell::RefCell;
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;

use super::{resize, DevicesSection, Outcome, Presence};
use crate::backend::domain::device_apply::{replace_saved, update, DeviceScope};
use crate::backend::domain::device_list::{
    read_devices, DeviceClass, DeviceEntry, DeviceSettings, DiskSettings,
};
use crate::backend::domain::devices::DeviceKey;
use crate::backend::libvirt::session::HostSession;
use crate::backend::xml::device_xml::next_target_dev;
use crate::i18n::gettext_f;

const BUSES: [&str; 4] = ["virtio", "sata", "scsi", "usb"];
const CACHES: [&str; 5] = ["none", "writeback", "writethrough", "directsync", "unsafe"];
const DISCARDS: [&str; 2] = ["unmap", "ignore"];

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_editor(
    row: &adw::ExpanderRow,
    section: &DevicesSection,
    entry: &DeviceEntry,
    saved: &DiskSettings,
    presence: Presence,
    running: bool,
    error_label: &gtk::Label,
) {
    let name = &entry.label;
    let bus = combo_row(
        &gettext("Bus"),
        &choices(&BUSES, Some(&saved.bus), false),
        Some(&saved.bus),
    );
    let cache = combo_row(
        &gettext("Cache"),
        &choices(&CACHES, saved.cache.as_deref(), true),
        saved.cache.as_deref(),
    );
    let discard = combo_row(
        &gettext("Discard"),
        &choices(&DISCARDS, saved.discard.as_deref(), true),
        saved.discard.as_deref(),
    );
    let (readonly_row, readonly) = switch_row(&gettext("Read-only"), saved.readonly);
    let (shareable_row, shareable) = switch_row(&gettext("Shareable"), saved.shareable);
    for widget in [
        bus.row.upcast_ref::<gtk::Widget>(),
        cache.row.upcast_ref(),
        discard.row.upcast_ref(),
        readonly_row.upcast_ref(),
        shareable_row.upcast_ref(),
    ] {
        row.add_row(widget);
    }

    let apply = gtk::Button::builder()
        .label(gettext("Apply"))
        .valign(gtk::Align::Center)
        .sensitive(false)
        .css_classes(["suggested-action"])
        .build();
    crate::ui::a11y::set_label(&apply, &gettext_f("Apply {device}", &[("device", name)]));
    let resize_button = gtk::Button::builder()
        .label(gettext("Resize…"))
        .valign(gtk::Align::Center)
        .sensitive(!saved.readonly && presence != Presence::Waiting)
        .build();
    crate::ui::a11y::set_label(
        &resize_button,
        &gettext_f("Resize {device}", &[("device", name)]),
    );
    let actions = adw::ActionRow::builder()
        .subtitle(if running {
            gettext("Bus, cache, discard and the flags apply after shutdown")
        } else {
            gettext("Changes are saved on Apply")
        })
        .build();
    actions.set_use_markup(false);
    actions.add_suffix(&resize_button);
    actions.add_suffix(&apply);
    // A row of buttons under a note: it reads as the note.
    if let Some(note) = actions.subtitle() {
        crate::ui::a11y::set_label(&actions, &note);
    }
    row.add_row(&actions);

    let read = {
        let (bus, cache, discard) = (bus.clone(), cache.clone(), discard.clone());
        let (readonly, shareable) = (readonly.clone(), shareable.clone());
        let saved = saved.clone();
        Rc::new(move || DiskSettings {
            bus: bus.value().unwrap_or_else(|| saved.bus.clone()),
            cache: cache.value(),
            discard: discard.value(),
            readonly: readonly.is_active(),
            shareable: shareable.is_active(),
            ..saved.clone()
        })
    };
    let refresh = {
        let (read, apply, saved) = (read.clone(), apply.clone(), saved.clone());
        move || apply.set_sensitive(read() != saved)
    };
    let refresh_combo = refresh.clone();
    for combo in [&bus, &cache, &discard] {
        let refresh = refresh_combo.clone();
        combo.row.connect_selected_notify(move |_| refresh());
    }
    for switch in [&readonly, &shareable] {
        let refresh = refresh.clone();
        switch.connect_active_notify(move |_| refresh());
    }

    let in_config = presence != Presence::LiveOnly;
    apply.set_visible(in_config);
    {
        let section = section.downgrade();
        let (key, saved) = (entry.key.clone(), saved.clone());
        let error_label = error_label.clone();
        apply.connect_clicked(move |button| {
            let Some(section) = section.upgrade() else {
                return;
            };
            let mut new = read();
            if new.bus != saved.bus {
                new.target_dev = next_target_dev(&new.bus, &disk_targets(&section, &key));
            }
            let key = key.clone();
            let renamed = new.bus != saved.bus;
            section.run_with(
                Some(&error_label),
                Some(button),
                move |session, uuid| apply_disk(session, uuid, &key, new, renamed, running),
                |_| {},
            );
        });
    }
    {
        let section = section.downgrade();
        let entry = entry.clone();
        let error_label = error_label.clone();
        resize_button.connect_clicked(move |_| {
            if let Some(section) = section.upgrade() {
                resize::present(&section, &entry, &error_label);
            }
        });
    }
}

/// The targets of the machine's other disks (a new bus needs a name of its own).
fn disk_targets(section: &DevicesSection, key: &DeviceKey) -> Vec<String> {
    let Some(reading) = section.reading() else {
        return Vec::new();
    };
    let mut xmls = vec![reading.config_xml];
    xmls.extend(reading.live_xml);
    xmls.iter()
        .flat_map(|xml| read_devices(xml).unwrap_or_default())
        .filter(|entry| matches!(entry.class, DeviceClass::Disk | DeviceClass::Cdrom))
        .filter(|entry| entry.key != *key)
        .map(|entry| entry.key.id)
        .collect()
}

fn apply_disk(
    session: &HostSession,
    uuid: &str,
    key: &DeviceKey,
    new: DiskSettings,
    renamed: bool,
    running: bool,
) -> Outcome {
    let settings = DeviceSettings::Disk(new);
    if renamed {
        // libvirt finds a disk by its target, which a new bus changes: the saved device is
        // replaced, its other settings kept.
        replace_saved(session, uuid, key, &settings).map_err(|error| error.user_message())?;
    } else {
        update(session, uuid, key, &settings, DeviceScope::ConfigOnly)
            .map_err(|error| error.message())?;
    }
    Ok(if running {
        gettext("Saved. The disk changes take effect after the virtual machine shuts down.")
    } else {
        gettext("The disk settings were saved.")
    })
}

/// A choice list: the known values, the current one if unknown, and "Default" first when
/// `with_default` (no value: the hypervisor's default).
pub(crate) fn choices(
    known: &[&str],
    current: Option<&str>,
    with_default: bool,
) -> Vec<(Option<String>, String)> {
    let mut list: Vec<(Option<String>, String)> = Vec::new();
    if with_default {
        list.push((None, gettext("Default")));
    }
    list.extend(
        known
            .iter()
            .map(|value| (Some((*value).to_owned()), (*value).to_owned())),
    );
    if let Some(current) = current.filter(|current| !known.contains(current)) {
        list.push((Some(current.to_owned()), current.to_owned()));
    }
    list
}

/// A combo row over values, each shown by its text.
#[derive(Clone)]
pub(crate) struct Combo {
    pub row: adw::ComboRow,
    values: Rc<RefCell<Vec<Option<String>>>>,
}

impl Combo {
    pub fn value(&self) -> Option<String> {
        let index = usize::try_from(self.row.selected()).unwrap_or(usize::MAX);
        self.values.borrow().get(index).cloned().flatten()
    }
}

pub(crate) fn combo_row(
    title: &str,
    list: &[(Option<String>, String)],
    current: Option<&str>,
) -> Combo {
    let shown: Vec<&str> = list.iter().map(|(_, text)| text.as_str()).collect();
    let row = adw::ComboRow::builder()
        .title(title)
        .model(&gtk::StringList::new(&shown))
        .build();
    row.set_use_markup(false);
    let selected = list
        .iter()
        .position(|(value, _)| value.as_deref() == current)
        .unwrap_or(0);
    row.set_selected(u32::try_from(selected).unwrap_or(0));
    Combo {
        row,
        values: Rc::new(RefCell::new(
            list.iter().map(|(value, _)| value.clone()).collect(),
        )),
    }
}

pub(crate) fn switch_row(title: &str, active: bool) -> (adw::ActionRow, gtk::Switch) {
    let switch = gtk::Switch::builder()
        .active(active)
        .valign(gtk::Align::Center)
        .build();
    let row = adw::ActionRow::builder()
        .title(title)
        .activatable_widget(&switch)
        .build();
    row.set_use_markup(false);
    row.add_suffix(&switch);
    (row, switch)
}
