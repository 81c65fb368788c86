//! One device's row: its kind's icon, label, a line on where it is connected, where it is
//! (saved only, until shutdown, waiting for the guest), Remove, and when expanded its
//! editor or, for what Hangar does not edit, its XML.

use adw::prelude::*;
use gettextrs::gettext;

use super::{cdrom, disk, nic, remove, DevicesSection, Presence};
use crate::backend::domain::device_list::{
    DeviceClass, DeviceEntry, DeviceSettings, DiskSource, HostdevSource, NicSource,
};
use crate::i18n::gettext_f;

pub(crate) fn build(
    section: &DevicesSection,
    entry: &DeviceEntry,
    saved: Option<&DeviceEntry>,
    presence: Presence,
    running: bool,
) -> adw::ExpanderRow {
    let row = adw::ExpanderRow::builder()
        .title(&entry.label)
        .subtitle(subtitle(entry))
        .build();
    row.set_use_markup(false);
    crate::ui::a11y::set_label(&row, &entry.label);
    row.add_prefix(&gtk::Image::from_icon_name(icon(&entry.class)));
    if let Some(mark) = mark(presence) {
        let label = gtk::Label::builder()
            .label(&mark)
            .wrap(true)
            .max_width_chars(18)
            .justify(gtk::Justification::Right)
            .css_classes(["caption", "dim-label"])
            .build();
        row.add_action(&label);
    }
    let remove_button = gtk::Button::builder()
        .icon_name("user-trash-symbolic")
        .valign(gtk::Align::Center)
        .tooltip_text(gettext_f("Remove {device}", &[("device", &entry.label)]))
        .css_classes(["flat"])
        .sensitive(presence != Presence::Waiting)
        .build();
    crate::ui::a11y::set_label(
        &remove_button,
        &gettext_f("Remove {device}", &[("device", &entry.label)]),
    );
    let error_label = error_label();
    {
        let section = section.downgrade();
        let entry = entry.clone();
        let error_label = error_label.clone();
        remove_button.connect_clicked(move |_| {
            if let Some(section) = section.upgrade() {
                remove::confirm(&section, &entry, presence, &error_label);
            }
        });
    }
    // Not devices to take away: the emulator's path, the audio backend.
    if !matches!(&entry.class, DeviceClass::Other(name) if name == "emulator" || name == "audio") {
        row.add_action(&remove_button);
    }

    // The editor works on the saved settings where there are some: what it applies.
    let edited = saved.unwrap_or(entry);
    let editable = match (&entry.class, &edited.settings) {
        (DeviceClass::Disk, DeviceSettings::Disk(settings))
            if !matches!(settings.source, DiskSource::Other(_)) =>
        {
            disk::add_editor(
                &row,
                section,
                entry,
                settings,
                presence,
                running,
                &error_label,
            );
            true
        }
        (DeviceClass::Cdrom, DeviceSettings::Disk(settings)) => {
            cdrom::add_editor(&row, section, entry, settings, presence, &error_label);
            true
        }
        (DeviceClass::Nic, DeviceSettings::Nic(settings))
            if !matches!(settings.source, NicSource::Other(_)) =>
        {
            nic::add_editor(
                &row,
                section,
                entry,
                settings,
                presence,
                running,
                &error_label,
            );
            true
        }
        _ => false,
    };
    let error_row = gtk::ListBoxRow::builder()
        .activatable(false)
        .child(&error_label)
        .build();
    error_label
        .bind_property("visible", &error_row, "visible")
        .sync_create()
        .build();
    crate::ui::a11y::set_label(
        &error_row,
        &gettext_f("Problems with {device}", &[("device", &entry.label)]),
    );
    row.add_row(&error_row);
    let xml_row = xml_view(entry, editable);
    crate::ui::a11y::set_label(
        &xml_row,
        &gettext_f("XML of {device}", &[("device", &entry.label)]),
    );
    row.add_row(&xml_row);
    row
}

/// The label failures of this row's changes show in.
fn error_label() -> gtk::Label {
    gtk::Label::builder()
        .visible(false)
        .xalign(0.0)
        .wrap(true)
        .selectable(true)
        .margin_start(12)
        .margin_end(12)
        .margin_top(6)
        .margin_bottom(6)
        .css_classes(["error"])
        .build()
}

/// The device's XML, selectable: the whole content for what Hangar does not edit, else
/// behind its own expander.
fn xml_view(entry: &DeviceEntry, editable: bool) -> gtk::Widget {
    let text = gtk::Label::builder()
        .label(dedent(&entry.xml))
        .xalign(0.0)
        .wrap(true)
        .wrap_mode(gtk::pango::WrapMode::WordChar)
        .selectable(true)
        .css_classes(["monospace"])
        .build();
    crate::ui::a11y::set_label(
        &text,
        &gettext_f("XML of {device}", &[("device", &entry.label)]),
    );
    let content = gtk::Box::builder()
        .orientation(gtk::Orientation::Vertical)
        .spacing(6)
        .margin_start(12)
        .margin_end(12)
        .margin_top(8)
        .margin_bottom(8)
        .build();
    if editable {
        let expander = gtk::Expander::new(Some(&gettext("XML")));
        expander.set_child(Some(&text));
        content.append(&expander);
    } else {
        let note = gtk::Label::builder()
            .label(gettext(
                "Hangar does not change this kind of device here; edit it in the XML section.",
            ))
            .xalign(0.0)
            .wrap(true)
            .css_classes(["dim-label"])
            .build();
        content.append(&note);
        content.append(&text);
    }
    gtk::ListBoxRow::builder()
        .activatable(false)
        .child(&content)
        .build()
        .upcast()
}

/// The element's lines without the indentation it had inside the domain XML.
fn dedent(xml: &str) -> String {
    let indent = xml
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut lines = xml.lines();
    let first = lines.next().unwrap_or_default().to_owned();
    let rest = lines.map(|line| {
        // The closing tag sits one level left of the children.
        let cut = indent
            .saturating_sub(2)
            .min(line.len() - line.trim_start().len());
        line[cut..].to_owned()
    });
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("\n")
}

fn mark(presence: Presence) -> Option<String> {
    match presence {
        Presence::Both => None,
        Presence::SavedOnly => Some(gettext("Only in the saved settings (after shutdown)")),
        Presence::LiveOnly => Some(gettext("Until shutdown")),
        Presence::Waiting => Some(gettext("Waiting for the guest to release it")),
    }
}

fn icon(class: &DeviceClass) -> &'static str {
    match class {
        DeviceClass::Disk => "drive-harddisk-symbolic",
        DeviceClass::Cdrom => "media-optical-symbolic",
        DeviceClass::Nic => "network-wired-symbolic",
        DeviceClass::HostdevUsb => "media-removable-symbolic",
        DeviceClass::HostdevPci => "drive-multidisk-symbolic",
        DeviceClass::Filesystem => "folder-remote-symbolic",
        DeviceClass::Sound => "audio-speakers-symbolic",
        DeviceClass::Video | DeviceClass::Graphics => "video-display-symbolic",
        DeviceClass::Input => "input-keyboard-symbolic",
        DeviceClass::Serial | DeviceClass::Console | DeviceClass::Channel => {
            "utilities-terminal-symbolic"
        }
        DeviceClass::Tpm | DeviceClass::Rng | DeviceClass::Watchdog => "security-high-symbolic",
        DeviceClass::Controller | DeviceClass::Other(_) => "application-x-addon-symbolic",
    }
}

/// Where the device is connected and how: source, bus, MAC, model.
pub(crate) fn subtitle(entry: &DeviceEntry) -> String {
    let parts: Vec<String> = match &entry.settings {
        DeviceSettings::Disk(disk) => {
            let source = match &disk.source {
                DiskSource::None => gettext("No medium"),
                DiskSource::File(path) | DiskSource::Block(path) => path.clone(),
                DiskSource::Volume { pool, volume } => format!("{pool}/{volume}"),
                DiskSource::Other(kind) => kind.clone(),
            };
            let mut parts = vec![source, disk.bus.to_uppercase()];
            if disk.readonly && entry.class == DeviceClass::Disk {
                parts.push(gettext("read-only"));
            }
            if disk.shareable {
                parts.push(gettext("shareable"));
            }
            parts
        }
        DeviceSettings::Nic(nic) => {
            let source = match &nic.source {
                NicSource::Network(name) => gettext_f("network {name}", &[("name", name)]),
                NicSource::Bridge(name) => gettext_f("bridge {name}", &[("name", name)]),
                NicSource::Direct { device, mode } => format!("macvtap {device} ({mode})"),
                NicSource::Other(kind) => kind.clone(),
            };
            let mut parts = vec![source];
            parts.extend(nic.model.clone());
            if !nic.link_up {
                parts.push(gettext("link down"));
            }
            parts
        }
        DeviceSettings::Hostdev(host) => vec![match &host.source {
            HostdevSource::UsbId { vendor, product } => format!("{vendor}:{product}"),
            HostdevSource::UsbAddress { bus, device } => format!("bus {bus} device {device}"),
            HostdevSource::Pci {
                domain,
                bus,
                slot,
                function,
            } => format!("{domain}:{bus}:{slot}.{function}"),
        }],
        DeviceSettings::Filesystem(fs) => vec![fs.source_dir.clone()],
        DeviceSettings::Tpm(tpm) => {
            let mut parts = vec![tpm.backend.clone()];
            parts.extend(tpm.version.clone());
            parts
        }
        DeviceSettings::Rng(rng) => {
            let mut parts = vec![rng.backend.clone()];
            parts.extend(rng.source.clone());
            parts
        }
        DeviceSettings::Watchdog(watchdog) => watchdog.action.clone().into_iter().collect(),
        DeviceSettings::Char(char) => {
            let mut parts = vec![char.source_type.clone()];
            parts.extend(char.target_type.clone());
            parts
        }
        DeviceSettings::Input(input) => input.bus.clone().into_iter().collect(),
        DeviceSettings::Sound(_) | DeviceSettings::Video(_) => Vec::new(),
        // The kind of what Hangar does not model: a controller's type and model, say.
        DeviceSettings::ReadOnly => roxmltree::Document::parse(&entry.xml)
            .map(|document| {
                let root = document.root_element();
                ["type", "model"]
                    .iter()
                    .filter_map(|name| root.attribute(*name).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}
