//! The USB Device and PCI Device forms: the host's devices of that bus with their names,
//! driver, address and IOMMU group, marked when a machine already has one; USB devices can
//! be optional at start.

use std::cell::RefCell;
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;

use super::rows;
use super::Form;
use crate::backend::domain::device_list::{DeviceClass, DeviceSettings, HostdevSettings};
use crate::backend::host::choices::{HostChoices, HostDevice, HostDeviceBus};
use crate::backend::host::new_device::NewDevice;
use crate::i18n::gettext_f;

pub struct HostdevForm {
    usb: bool,
    page: gtk::Box,
    group: adw::PreferencesGroup,
    list: gtk::ListBox,
    empty: gtk::Label,
    optional: gtk::Switch,
    /// The devices listed, with the check button of each.
    shown: RefCell<Vec<(HostDevice, gtk::CheckButton)>>,
}

impl HostdevForm {
    pub fn new(usb: bool) -> Rc<Self> {
        let page = gtk::Box::new(gtk::Orientation::Vertical, 24);
        let group = if usb {
            rows::group(
                &gettext("USB Devices of the Host"),
                Some(&gettext(
                    "The guest gets the device; the host stops using it while the machine runs.",
                )),
            )
        } else {
            rows::group(
                &gettext("PCI Devices of the Host"),
                Some(&gettext("A device can be given to a guest with every other device of its IOMMU group. The host must have IOMMU turned on (intel_iommu=on or amd_iommu=on).")),
            )
        };
        let list = gtk::ListBox::builder()
            .selection_mode(gtk::SelectionMode::None)
            .css_classes(["boxed-list"])
            .build();
        crate::ui::a11y::set_label(
            &list,
            &if usb {
                gettext("USB Devices of the Host")
            } else {
                gettext("PCI Devices of the Host")
            },
        );
        let empty = rows::note(&gettext("Reading the host’s devices…"));
        group.add(&empty);
        group.add(&list);
        page.append(&group);
        let (optional_row, optional) = rows::switch(
            &gettext("Optional"),
            Some(&gettext(
                "The machine starts even when the device is not plugged in",
            )),
        );
        if usb {
            let options = rows::group(&gettext("Options"), None);
            options.add(&optional_row);
            page.append(&options);
        }
        Rc::new(Self {
            usb,
            page,
            group,
            list,
            empty,
            optional,
            shown: RefCell::default(),
        })
    }
}

/// “Driver vfio-pci · 0000:01:00.0 · IOMMU group 14 · In use by gaming”.
fn details(device: &HostDevice) -> String {
    let mut parts = vec![match &device.driver {
        Some(driver) => gettext_f("Driver {driver}", &[("driver", driver)]),
        None => gettext("No driver"),
    }];
    parts.push(device.address_text());
    if let Some(group) = device.iommu_group {
        parts.push(gettext_f(
            "IOMMU group {group}",
            &[("group", &group.to_string())],
        ));
    }
    if !device.used_by.is_empty() {
        parts.push(gettext_f(
            "In use by {names}",
            &[("names", &device.used_by.join(", "))],
        ));
    }
    parts.join(" · ")
}

impl Form for HostdevForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn show_choices(&self, choices: &HostChoices) {
        while let Some(row) = self.list.row_at_index(0) {
            self.list.remove(&row);
        }
        let bus = if self.usb {
            HostDeviceBus::Usb
        } else {
            HostDeviceBus::Pci
        };
        let mut shown = Vec::new();
        let mut first: Option<gtk::CheckButton> = None;
        for device in choices.devices.iter().filter(|device| device.bus == bus) {
            let title = device.title();
            let row = adw::ActionRow::builder()
                .title(glib_escape(&title))
                .subtitle(glib_escape(&details(device)))
                .build();
            let check = gtk::CheckButton::builder()
                .valign(gtk::Align::Center)
                .build();
            check.set_group(first.as_ref());
            if first.is_none() {
                first = Some(check.clone());
            }
            crate::ui::a11y::set_label(&check, &title);
            if !device.used_by.is_empty() {
                let mark = gtk::Label::builder()
                    .label(gettext("In use"))
                    .valign(gtk::Align::Center)
                    .css_classes(["dim-label"])
                    .build();
                row.add_suffix(&mark);
            }
            row.add_prefix(&check);
            row.set_activatable_widget(Some(&check));
            self.list.append(&row);
            shown.push((device.clone(), check));
        }
        self.list.set_visible(!shown.is_empty());
        self.empty.set_visible(shown.is_empty());
        self.empty.set_label(&if self.usb {
            gettext("The host lists no USB devices that can be given to a guest.")
        } else {
            gettext("The host lists no PCI devices.")
        });
        self.group.set_visible(true);
        self.shown.replace(shown);
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        let shown = self.shown.borrow();
        let Some((device, _)) = shown.iter().find(|(_, check)| check.is_active()) else {
            return Err(gettext("Choose a device of the host."));
        };
        Ok(NewDevice {
            class: if self.usb {
                DeviceClass::HostdevUsb
            } else {
                DeviceClass::HostdevPci
            },
            settings: DeviceSettings::Hostdev(HostdevSettings {
                source: device.source(),
                startup_policy: (self.usb && self.optional.is_active())
                    .then(|| "optional".to_owned()),
            }),
            new_volume: None,
        })
    }
}

/// Row titles are markup in libadwaita 1.2: device names may hold `&`.
fn glib_escape(text: &str) -> String {
    gtk::glib::markup_escape_text(text).to_string()
}
