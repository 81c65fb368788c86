//! The Network Card form: a virtual network, a bridge or macvtap on a host NIC, each chosen
//! from the host's lists; the model; a generated MAC address, editable and checked against
//! every address the host's machines use.

use std::cell::RefCell;
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::rows::{self, chosen};
use super::Form;
use crate::backend::domain::device_list::{DeviceClass, DeviceSettings, NicSettings, NicSource};
use crate::backend::host::choices::{HostChoices, InterfaceKind};
use crate::backend::host::new_device::NewDevice;
use crate::backend::xml::device_xml::{generate_mac, random_seed};
use crate::i18n::gettext_f;

const MODELS: [&str; 3] = ["virtio", "e1000e", "rtl8139"];
const MODES: [&str; 4] = ["bridge", "vepa", "private", "passthrough"];

pub struct NicForm {
    page: gtk::Box,
    connection: adw::ComboRow,
    network: adw::ComboRow,
    bridge: adw::ComboRow,
    device: adw::ComboRow,
    mode: adw::ComboRow,
    model: adw::ComboRow,
    mac: adw::EntryRow,
    /// Names behind the network, bridge and device rows.
    networks: RefCell<Vec<String>>,
    bridges: RefCell<Vec<String>>,
    devices: RefCell<Vec<String>>,
    /// The MAC addresses the host's machines use.
    taken: RefCell<Vec<String>>,
}

impl NicForm {
    pub fn new() -> Rc<Self> {
        let connections = [
            gettext("Virtual network"),
            gettext("Bridge on the host"),
            gettext("Host network card (macvtap)"),
        ];
        let models = [
            gettext("VirtIO"),
            gettext("Intel e1000e"),
            gettext("Realtek RTL8139"),
        ];
        let form = Rc::new(Self {
            page: gtk::Box::new(gtk::Orientation::Vertical, 24),
            connection: rows::combo(&gettext("Connection"), &connections),
            network: rows::combo(&gettext("Virtual Network"), &[]),
            bridge: rows::combo(&gettext("Bridge"), &[]),
            device: rows::combo(&gettext("Host Network Card"), &[]),
            mode: rows::combo(
                &gettext("Mode"),
                &MODES
                    .iter()
                    .map(|mode| mode.to_string())
                    .collect::<Vec<_>>(),
            ),
            model: rows::combo(&gettext("Model"), &models),
            mac: rows::entry(&gettext("MAC Address")),
            networks: RefCell::default(),
            bridges: RefCell::default(),
            devices: RefCell::default(),
            taken: RefCell::default(),
        });
        let source = rows::group(
            &gettext("Connection"),
            Some(&gettext(
                "With macvtap the guest reaches the network but not the host itself.",
            )),
        );
        for row in [
            &form.connection,
            &form.network,
            &form.bridge,
            &form.device,
            &form.mode,
        ] {
            source.add(row);
        }
        form.page.append(&source);
        let card = rows::group(&gettext("Card"), None);
        card.add(&form.model);
        let regenerate = gtk::Button::builder()
            .icon_name("view-refresh-symbolic")
            .tooltip_text(gettext("New MAC Address"))
            .valign(gtk::Align::Center)
            .css_classes(["flat"])
            .build();
        form.mac.add_suffix(&regenerate);
        card.add(&form.mac);
        form.page.append(&card);
        regenerate.connect_clicked(glib::clone!(
            #[weak]
            form,
            move |_| form.new_mac()
        ));
        form.connection.connect_selected_notify(glib::clone!(
            #[weak]
            form,
            move |_| form.update_rows()
        ));
        form.update_rows();
        form
    }

    fn update_rows(&self) {
        let connection = chosen(&self.connection).unwrap_or(0);
        self.network.set_visible(connection == 0);
        self.bridge.set_visible(connection == 1);
        self.device.set_visible(connection == 2);
        self.mode.set_visible(connection == 2);
    }

    fn new_mac(&self) {
        let mac = generate_mac(random_seed(), &self.taken.borrow());
        self.mac.set_text(&mac);
    }

    fn pick(
        row: &adw::ComboRow,
        names: &RefCell<Vec<String>>,
        missing: String,
    ) -> Result<String, String> {
        chosen(row)
            .and_then(|index| names.borrow().get(index).cloned())
            .ok_or(missing)
    }
}

impl Form for NicForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn show_choices(&self, choices: &HostChoices) {
        let networks: Vec<String> = choices.networks.iter().map(|n| n.name.clone()).collect();
        let shown: Vec<String> = choices
            .networks
            .iter()
            .map(|network| {
                if network.active {
                    network.name.clone()
                } else {
                    gettext_f("{name} (not running)", &[("name", &network.name)])
                }
            })
            .collect();
        rows::set_items(&self.network, &shown);
        let default = networks.iter().position(|name| name == "default");
        self.network.set_selected(default.unwrap_or(0) as u32);
        self.networks.replace(networks);
        let (bridges, devices): (Vec<_>, Vec<_>) = choices
            .interfaces
            .iter()
            .partition(|interface| interface.kind == InterfaceKind::Bridge);
        let bridges: Vec<String> = bridges.iter().map(|i| i.name.clone()).collect();
        let devices: Vec<String> = devices.iter().map(|i| i.name.clone()).collect();
        rows::set_items(&self.bridge, &bridges);
        rows::set_items(&self.device, &devices);
        self.bridges.replace(bridges);
        self.devices.replace(devices);
        let taken: Vec<String> = choices.macs.iter().map(|(mac, _)| mac.clone()).collect();
        self.taken.replace(taken);
        self.new_mac();
    }

    fn device(&self, choices: &HostChoices) -> Result<NewDevice, String> {
        let source = match chosen(&self.connection).unwrap_or(0) {
            0 => NicSource::Network(Self::pick(
                &self.network,
                &self.networks,
                gettext("The host has no virtual network. Create one, or choose a bridge."),
            )?),
            1 => NicSource::Bridge(Self::pick(
                &self.bridge,
                &self.bridges,
                gettext(
                    "The host lists no bridges. Choose a virtual network, or a host network card.",
                ),
            )?),
            _ => NicSource::Direct {
                device: Self::pick(
                    &self.device,
                    &self.devices,
                    gettext("The host lists no network cards. Choose a virtual network."),
                )?,
                mode: MODES
                    .get(chosen(&self.mode).unwrap_or(0))
                    .unwrap_or(&MODES[0])
                    .to_string(),
            },
        };
        let mac = self.mac.text().trim().to_ascii_lowercase();
        if !is_mac(&mac) {
            return Err(gettext(
                "A MAC address is six pairs of hexadecimal digits, such as 52:54:00:12:34:56.",
            ));
        }
        if let Some((_, user)) = choices.macs.iter().find(|(used, _)| *used == mac) {
            return Err(gettext_f(
                "The MAC address {mac} is already used by “{name}”. Choose another.",
                &[("mac", &mac), ("name", user)],
            ));
        }
        let model = MODELS
            .get(chosen(&self.model).unwrap_or(0))
            .map(|model| model.to_string());
        Ok(NewDevice {
            class: DeviceClass::Nic,
            settings: DeviceSettings::Nic(NicSettings {
                source,
                model,
                mac,
                link_up: true,
            }),
            new_volume: None,
        })
    }
}

/// Six pairs of hex digits separated by colons, and not a multicast address.
fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|first| first & 1 == 0)
}
