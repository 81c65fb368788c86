//! A network card's editor inside its row: what it is connected to (the host's virtual
//! networks, or the bridge or macvtap it has), its model, its MAC address (checked unique on
//! the host; changed while the machine is off) and its link, up or down at once in the
//! running machine.

use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;

use super::disk::{choices, combo_row, switch_row};
use super::{DevicesSection, Outcome, Presence};
use crate::backend::domain::device_apply::{macs_in_use, replace_saved, update, DeviceScope};
use crate::backend::domain::device_list::{DeviceEntry, DeviceSettings, NicSettings, NicSource};
use crate::backend::domain::devices::DeviceKey;
use crate::backend::libvirt::session::HostSession;
use crate::i18n::gettext_f;

const MODELS: [&str; 4] = ["virtio", "e1000e", "e1000", "rtl8139"];

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_editor(
    row: &adw::ExpanderRow,
    section: &DevicesSection,
    entry: &DeviceEntry,
    saved: &NicSettings,
    presence: Presence,
    running: bool,
    error_label: &gtk::Label,
) {
    let name = &entry.label;
    let mut sources: Vec<(Option<String>, String)> = Vec::new();
    if let Some(facts) = section.facts() {
        for network in &facts.networks {
            sources.push((
                Some(source_value(&NicSource::Network(network.name.clone()))),
                gettext_f("Virtual network {name}", &[("name", &network.name)]),
            ));
        }
    }
    let current_source = source_value(&saved.source);
    if !sources
        .iter()
        .any(|(value, _)| value.as_ref() == Some(&current_source))
    {
        sources.insert(
            0,
            (Some(current_source.clone()), source_text(&saved.source)),
        );
    }
    let source = combo_row(&gettext("Connected to"), &sources, Some(&current_source));
    let model = combo_row(
        &gettext("Model"),
        &choices(&MODELS, saved.model.as_deref(), true),
        saved.model.as_deref(),
    );
    let mac = gtk::Entry::builder()
        .text(&saved.mac)
        .valign(gtk::Align::Center)
        .width_chars(17)
        .sensitive(!running)
        .build();
    crate::ui::a11y::set_label(&mac, &gettext("MAC address"));
    let mac_row = adw::ActionRow::builder()
        .title(gettext("MAC address"))
        .build();
    if running {
        mac_row.set_subtitle(&gettext("Changed while the virtual machine is off"));
    }
    mac_row.add_suffix(&mac);
    let (link_row, link) = switch_row(&gettext("Link up"), saved.link_up);
    link_row.set_subtitle(&gettext("Down is like pulling the cable"));
    row.add_row(&source.row);
    row.add_row(&model.row);
    row.add_row(&mac_row);
    row.add_row(&link_row);

    let apply = gtk::Button::builder()
        .label(gettext("Apply"))
        .valign(gtk::Align::Center)
        .sensitive(false)
        .css_classes(["suggested-action"])
        .build();
    crate::ui::a11y::set_label(&apply, &gettext_f("Apply {device}", &[("device", name)]));
    let actions = adw::ActionRow::builder()
        .subtitle(gettext(
            "Changes apply to the running machine where it can take them",
        ))
        .build();
    actions.add_suffix(&apply);
    // A row of buttons under a note: it reads as the note.
    if let Some(note) = actions.subtitle() {
        crate::ui::a11y::set_label(&actions, &note);
    }
    row.add_row(&actions);

    let read = Rc::new({
        let (source, model, mac, link) = (source.clone(), model.clone(), mac.clone(), link.clone());
        let saved = saved.clone();
        move || NicSettings {
            source: source
                .value()
                .and_then(|value| source_of(&value))
                .unwrap_or_else(|| saved.source.clone()),
            model: model.value(),
            mac: mac.text().trim().to_ascii_lowercase(),
            link_up: link.is_active(),
        }
    });
    let refresh = Rc::new({
        let (read, apply, saved) = (read.clone(), apply.clone(), saved.clone());
        move || apply.set_sensitive(read() != saved)
    });
    for combo in [&source, &model] {
        let refresh = refresh.clone();
        combo.row.connect_selected_notify(move |_| refresh());
    }
    {
        let refresh = refresh.clone();
        mac.connect_changed(move |_| refresh());
    }
    link.connect_active_notify(move |_| refresh());

    let scope = if presence == Presence::SavedOnly {
        DeviceScope::ConfigOnly
    } else {
        DeviceScope::LiveAndConfig
    };
    let section = section.downgrade();
    let key = entry.key.clone();
    let saved = saved.clone();
    let error_label = error_label.clone();
    apply.connect_clicked(move |button| {
        let Some(section) = section.upgrade() else {
            return;
        };
        let new = read();
        let key = key.clone();
        let old_mac = saved.mac.clone();
        section.run_with(
            Some(&error_label),
            Some(button),
            move |session, uuid| apply_nic(session, uuid, &key, &old_mac, new, scope),
            |_| {},
        );
    });
}

fn apply_nic(
    session: &HostSession,
    uuid: &str,
    key: &DeviceKey,
    old_mac: &str,
    new: NicSettings,
    scope: DeviceScope,
) -> Outcome {
    if new.mac != old_mac {
        let used = macs_in_use(session).map_err(|error| error.user_message())?;
        let own = session
            .connection()
            .lookup_domain_by_uuid_string(uuid)
            .and_then(|domain| domain.name())
            .unwrap_or_default();
        if let Some((_, user)) = used.iter().find(|(mac, _)| *mac == new.mac) {
            return Err(if *user == own {
                gettext_f(
                    "Another network card of this virtual machine has the MAC address {mac}.",
                    &[("mac", &new.mac)],
                )
            } else {
                gettext_f(
                    "The virtual machine “{name}” uses the MAC address {mac}. Choose another.",
                    &[("name", user), ("mac", &new.mac)],
                )
            });
        }
        // libvirt finds a network card by its address: the saved card is replaced.
        replace_saved(session, uuid, key, &DeviceSettings::Nic(new))
            .map_err(|error| error.user_message())?;
        return Ok(gettext("The network card settings were saved."));
    }
    let settings = DeviceSettings::Nic(new);
    match update(session, uuid, key, &settings, scope) {
        Ok(applied) if applied.live => Ok(gettext("The network card was changed.")),
        Ok(_) => Ok(gettext("The network card settings were saved.")),
        Err(error) if error.cannot_change_live() && scope == DeviceScope::LiveAndConfig => {
            update(session, uuid, key, &settings, DeviceScope::ConfigOnly)
                .map_err(|error| error.message())?;
            Ok(gettext(
                "The running machine cannot take this change; it was saved and takes effect after the virtual machine shuts down.",
            ))
        }
        Err(error) => Err(error.message()),
    }
}

fn source_value(source: &NicSource) -> String {
    match source {
        NicSource::Network(name) => format!("network\u{1}{name}"),
        NicSource::Bridge(name) => format!("bridge\u{1}{name}"),
        NicSource::Direct { device, mode } => format!("direct\u{1}{device}\u{1}{mode}"),
        NicSource::Other(kind) => format!("other\u{1}{kind}"),
    }
}

fn source_of(value: &str) -> Option<NicSource> {
    let parts: Vec<&str> = value.split('\u{1}').collect();
    Some(match parts.as_slice() {
        ["network", name] => NicSource::Network((*name).to_owned()),
        ["bridge", name] => NicSource::Bridge((*name).to_owned()),
        ["direct", device, mode] => NicSource::Direct {
            device: (*device).to_owned(),
            mode: (*mode).to_owned(),
        },
        ["other", kind] => NicSource::Other((*kind).to_owned()),
        _ => return None,
    })
}

fn source_text(source: &NicSource) -> String {
    match source {
        NicSource::Network(name) => gettext_f("Virtual network {name}", &[("name", name)]),
        NicSource::Bridge(name) => gettext_f("Bridge {name}", &[("name", name)]),
        NicSource::Direct { device, mode } => gettext_f(
            "macvtap on {device} ({mode})",
            &[("device", device), ("mode", mode)],
        ),
        NicSource::Other(kind) => kind.clone(),
    }
}
