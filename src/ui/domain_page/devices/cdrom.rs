//! A CD-ROM drive's editor inside its row: the medium, chosen among the ISO volumes of the
//! host's pools or as a path on the host, changed or ejected in the running machine and the
//! saved settings at once.

use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;

use super::disk::{combo_row, Combo};
use super::{DevicesSection, Presence};
use crate::backend::domain::device_apply::{update, DeviceScope};
use crate::backend::domain::device_list::{DeviceEntry, DeviceSettings, DiskSettings, DiskSource};
use crate::i18n::gettext_f;

/// The choice standing for "a path typed below".
const OTHER_PATH: &str = "\u{1}path";

pub(crate) fn add_editor(
    row: &adw::ExpanderRow,
    section: &DevicesSection,
    entry: &DeviceEntry,
    saved: &DiskSettings,
    presence: Presence,
    error_label: &gtk::Label,
) {
    let name = &entry.label;
    let current = match &saved.source {
        DiskSource::File(path) | DiskSource::Block(path) => Some(path.clone()),
        DiskSource::Volume { pool, volume } => Some(format!("{pool}/{volume}")),
        _ => None,
    };
    let mut list: Vec<(Option<String>, String)> = Vec::new();
    if let Some(facts) = section.facts() {
        for pool in facts.pools.iter().filter(|pool| pool.active) {
            for volume in pool.volumes.iter().filter(|volume| volume.is_iso()) {
                list.push((
                    Some(volume.path.clone()),
                    format!("{} ({})", volume.name, pool.name),
                ));
            }
        }
    }
    if let Some(current) = &current {
        if !list
            .iter()
            .any(|(value, _)| value.as_ref() == Some(current))
        {
            list.insert(0, (Some(current.clone()), current.clone()));
        }
    }
    list.push((Some(OTHER_PATH.to_owned()), gettext("A path on the host")));
    let medium = combo_row(&gettext("Medium"), &list, current.as_deref());
    let path = gtk::Entry::builder()
        .placeholder_text("/var/lib/libvirt/images/installer.iso")
        .valign(gtk::Align::Center)
        .hexpand(true)
        .build();
    crate::ui::a11y::set_label(&path, &gettext("Path on the host"));
    let path_row = adw::ActionRow::builder()
        .title(gettext("Path on the host"))
        .build();
    path_row.add_suffix(&path);
    let show_path = {
        let (medium, path_row) = (medium.clone(), path_row.clone());
        move || path_row.set_visible(medium.value().as_deref() == Some(OTHER_PATH))
    };
    show_path();
    medium.row.connect_selected_notify(move |_| show_path());
    row.add_row(&medium.row);
    row.add_row(&path_row);

    let change = gtk::Button::builder()
        .label(gettext("Change Medium"))
        .valign(gtk::Align::Center)
        .css_classes(["suggested-action"])
        .build();
    crate::ui::a11y::set_label(
        &change,
        &gettext_f("Change the medium of {device}", &[("device", name)]),
    );
    let eject = gtk::Button::builder()
        .label(gettext("Eject"))
        .valign(gtk::Align::Center)
        .sensitive(current.is_some())
        .build();
    crate::ui::a11y::set_label(&eject, &gettext_f("Eject {device}", &[("device", name)]));
    let actions = adw::ActionRow::builder()
        .subtitle(match &current {
            Some(_) => gettext("The medium changes in the running machine too"),
            None => gettext("The drive is empty"),
        })
        .build();
    actions.add_suffix(&eject);
    actions.add_suffix(&change);
    // A row of buttons under a note: it reads as the note.
    if let Some(note) = actions.subtitle() {
        crate::ui::a11y::set_label(&actions, &note);
    }
    row.add_row(&actions);

    let scope = if presence == Presence::SavedOnly {
        DeviceScope::ConfigOnly
    } else {
        DeviceScope::LiveAndConfig
    };
    let apply = Rc::new({
        let section = section.downgrade();
        let (key, saved) = (entry.key.clone(), saved.clone());
        let error_label = error_label.clone();
        move |source: DiskSource, button: &gtk::Button| {
            let Some(section) = section.upgrade() else {
                return;
            };
            let ejecting = source == DiskSource::None;
            let settings = DeviceSettings::Disk(DiskSettings {
                source,
                ..saved.clone()
            });
            let key = key.clone();
            section.run_with(
                Some(&error_label),
                Some(button),
                move |session, uuid| {
                    update(session, uuid, &key, &settings, scope)
                        .map_err(|error| error.message())?;
                    Ok(if ejecting {
                        gettext("The medium was ejected.")
                    } else {
                        gettext("The medium was changed.")
                    })
                },
                |_| {},
            );
        }
    });
    {
        let apply = apply.clone();
        let error_label = error_label.clone();
        let (current, saved_source) = (current.clone(), saved.source.clone());
        change.connect_clicked(move |button| {
            match chosen(&medium, &path) {
                // The medium it has, whatever its kind (a pool volume stays one).
                Some(path) if Some(&path) == current.as_ref() => {
                    apply(saved_source.clone(), button)
                }
                Some(path) => apply(DiskSource::File(path), button),
                None => {
                    error_label.set_label(&gettext(
                        "Choose an ISO image or type its path on the host.",
                    ));
                    error_label.set_visible(true);
                }
            }
        });
    }
    eject.connect_clicked(move |button| apply(DiskSource::None, button));
}

/// The path of the chosen medium.
fn chosen(medium: &Combo, path: &gtk::Entry) -> Option<String> {
    match medium.value() {
        Some(value) if value == OTHER_PATH => {
            let typed = path.text().trim().to_owned();
            (!typed.is_empty()).then_some(typed)
        }
        value => value,
    }
}
