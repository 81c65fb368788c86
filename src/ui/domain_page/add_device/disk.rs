//! The Disk and CD-ROM forms: a new volume in a pool, an existing volume, a path on the
//! host, or (CD-ROM) an empty drive; bus, cache, discard and the read-only and shareable
//! flags.

use std::cell::RefCell;
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::rows::{self, chosen};
use super::{Context, Form};
use crate::backend::create::PoolFacts;
use crate::backend::domain::device_list::{DeviceClass, DeviceSettings, DiskSettings, DiskSource};
use crate::backend::host::choices::HostChoices;
use crate::backend::host::new_device::{suggest_volume_name, NewDevice, NewVolumeSpec};
use crate::backend::xml::device_xml::next_target_dev;
use crate::backend::xml::volume::VolumeFormat;
use crate::i18n::gettext_f;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    NewVolume,
    Volume,
    Path,
    Empty,
}

const DISK_BUSES: [&str; 4] = ["virtio", "sata", "scsi", "usb"];
const CDROM_BUSES: [&str; 3] = ["sata", "scsi", "usb"];
const CACHES: [&str; 5] = ["none", "writeback", "writethrough", "directsync", "unsafe"];
const DISCARDS: [&str; 2] = ["unmap", "ignore"];

pub struct DiskForm {
    cdrom: bool,
    context: Rc<Context>,
    page: gtk::Box,
    origins: Vec<Origin>,
    origin: adw::ComboRow,
    pool: adw::ComboRow,
    volume: adw::ComboRow,
    name: adw::EntryRow,
    size: adw::ActionRow,
    size_value: gtk::SpinButton,
    size_unit: gtk::DropDown,
    format: adw::ComboRow,
    path: adw::EntryRow,
    bus: adw::ComboRow,
    cache: adw::ComboRow,
    discard: adw::ComboRow,
    readonly: gtk::Switch,
    shareable: gtk::Switch,
    /// The pools shown (active ones), and the volumes of the chosen pool.
    pools: RefCell<Vec<PoolFacts>>,
    volumes: RefCell<Vec<String>>,
    /// The name last suggested: replaced while the user has not typed another.
    suggested: RefCell<String>,
}

impl DiskForm {
    pub fn new(context: &Rc<Context>, cdrom: bool) -> Rc<Self> {
        let origins = if cdrom {
            vec![Origin::Volume, Origin::Path, Origin::Empty]
        } else {
            vec![Origin::NewVolume, Origin::Volume, Origin::Path]
        };
        let origin_names: Vec<String> = origins
            .iter()
            .map(|origin| match origin {
                Origin::NewVolume => gettext("New volume"),
                Origin::Volume if cdrom => gettext("ISO image in a storage pool"),
                Origin::Volume => gettext("Existing volume"),
                Origin::Path => gettext("Path on the host"),
                Origin::Empty => gettext("Empty drive"),
            })
            .collect();
        let buses: &[&str] = if cdrom { &CDROM_BUSES } else { &DISK_BUSES };
        let (size, size_value) = rows::number(&gettext("Size"), 1.0, 1_048_576.0, 20.0);
        let size_unit = gtk::DropDown::from_strings(&[&gettext("GiB"), &gettext("MiB")]);
        size_unit.set_valign(gtk::Align::Center);
        size_unit.set_tooltip_text(Some(&gettext("Size unit")));
        crate::ui::a11y::set_label(&size_unit, &gettext("Size unit"));
        size.add_suffix(&size_unit);
        let (readonly_row, readonly) = rows::switch(
            &gettext("Read-Only"),
            Some(&gettext("The guest cannot write to the disk")),
        );
        let (shareable_row, shareable) = rows::switch(
            &gettext("Shareable"),
            Some(&gettext(
                "Other virtual machines may use the same disk at once",
            )),
        );
        let form = Rc::new(Self {
            cdrom,
            context: context.clone(),
            page: gtk::Box::new(gtk::Orientation::Vertical, 24),
            origin: rows::combo(&gettext("Source"), &origin_names),
            origins,
            pool: rows::combo(&gettext("Storage Pool"), &[]),
            volume: rows::combo(&gettext("Volume"), &[]),
            name: rows::entry(&gettext("Volume Name")),
            size,
            size_value,
            size_unit,
            format: rows::combo(&gettext("Format"), &["qcow2".into(), "raw".into()]),
            path: rows::entry(&gettext("Path on the Host")),
            bus: rows::combo(
                &gettext("Bus"),
                &buses.iter().map(|bus| bus_name(bus)).collect::<Vec<_>>(),
            ),
            cache: rows::combo(&gettext("Cache"), &with_default(&CACHES)),
            discard: rows::combo(&gettext("Discard"), &with_default(&DISCARDS)),
            readonly,
            shareable,
            pools: RefCell::default(),
            volumes: RefCell::default(),
            suggested: RefCell::default(),
        });
        let source = rows::group(
            &if cdrom {
                gettext("Medium")
            } else {
                gettext("Storage")
            },
            None,
        );
        source.add(&form.origin);
        source.add(&form.pool);
        source.add(&form.volume);
        source.add(&form.name);
        source.add(&form.size);
        source.add(&form.format);
        source.add(&form.path);
        form.page.append(&source);
        let options = rows::group(
            &gettext("Options"),
            (!cdrom)
                .then(|| {
                    gettext("VirtIO is the fastest bus; Windows needs the VirtIO drivers for it.")
                })
                .as_deref(),
        );
        options.add(&form.bus);
        if !cdrom {
            options.add(&form.cache);
            options.add(&form.discard);
            options.add(&readonly_row);
            options.add(&shareable_row);
        }
        form.page.append(&options);
        form.connect();
        form.update_rows();
        form
    }

    fn connect(self: &Rc<Self>) {
        let update = glib::clone!(
            #[weak(rename_to = form)]
            self,
            move || form.update_rows()
        );
        let changed = update.clone();
        self.origin.connect_selected_notify(move |_| changed());
        self.pool.connect_selected_notify(glib::clone!(
            #[weak(rename_to = form)]
            self,
            move |_| {
                form.fill_volumes();
                form.suggest_name();
            }
        ));
        self.format.connect_selected_notify(glib::clone!(
            #[weak(rename_to = form)]
            self,
            move |_| form.suggest_name()
        ));
        self.bus.connect_selected_notify(glib::clone!(
            #[weak(rename_to = form)]
            self,
            move |_| form.suggest_name()
        ));
    }

    fn origin(&self) -> Origin {
        chosen(&self.origin)
            .and_then(|index| self.origins.get(index).copied())
            .unwrap_or(Origin::Path)
    }

    fn update_rows(&self) {
        let origin = self.origin();
        let in_pool = matches!(origin, Origin::NewVolume | Origin::Volume);
        self.pool.set_visible(in_pool);
        self.volume.set_visible(origin == Origin::Volume);
        for row in [
            self.name.upcast_ref::<gtk::Widget>(),
            self.size.upcast_ref(),
            self.format.upcast_ref(),
        ] {
            row.set_visible(origin == Origin::NewVolume);
        }
        self.path.set_visible(origin == Origin::Path);
    }

    fn fill_volumes(&self) {
        let pools = self.pools.borrow();
        let Some(pool) = chosen(&self.pool).and_then(|index| pools.get(index)) else {
            rows::set_items(&self.volume, &[]);
            return;
        };
        let names: Vec<String> = pool
            .volumes
            .iter()
            .filter(|volume| volume.is_iso() == self.cdrom)
            .map(|volume| volume.name.clone())
            .collect();
        self.volume.set_selected(0);
        rows::set_items(&self.volume, &names);
        self.volumes.replace(names);
    }

    fn target(&self) -> String {
        next_target_dev(&self.bus_value(), &self.context.targets)
    }

    fn bus_value(&self) -> String {
        let buses: &[&str] = if self.cdrom {
            &CDROM_BUSES
        } else {
            &DISK_BUSES
        };
        chosen(&self.bus)
            .and_then(|index| buses.get(index))
            .unwrap_or(&buses[0])
            .to_string()
    }

    fn volume_format(&self) -> VolumeFormat {
        if chosen(&self.format) == Some(1) {
            VolumeFormat::Raw
        } else {
            VolumeFormat::Qcow2
        }
    }

    /// Suggests a free volume name, unless the user typed their own.
    fn suggest_name(&self) {
        let typed = self.name.text().to_string();
        if !typed.is_empty() && typed != *self.suggested.borrow() {
            return;
        }
        let taken: Vec<String> = {
            let pools = self.pools.borrow();
            chosen(&self.pool)
                .and_then(|index| pools.get(index))
                .map(|pool| pool.volumes.iter().map(|v| v.name.clone()).collect())
                .unwrap_or_default()
        };
        let name = suggest_volume_name(
            &self.context.name,
            &self.target(),
            self.volume_format(),
            &taken,
        );
        self.suggested.replace(name.clone());
        self.name.set_text(&name);
    }

    fn size_bytes(&self) -> u64 {
        let unit: u64 = if self.size_unit.selected() == 1 {
            1 << 20
        } else {
            1 << 30
        };
        (self.size_value.value().max(0.0) as u64) * unit
    }

    fn chosen_pool(&self) -> Result<String, String> {
        let pools = self.pools.borrow();
        chosen(&self.pool)
            .and_then(|index| pools.get(index))
            .map(|pool| pool.name.clone())
            .ok_or_else(|| {
                gettext(
                    "The host has no active storage pool. Start one, or choose a path on the host.",
                )
            })
    }
}

impl Form for DiskForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn show_choices(&self, choices: &HostChoices) {
        let pools: Vec<PoolFacts> = choices
            .pools
            .iter()
            .filter(|pool| pool.active)
            .cloned()
            .collect();
        let names: Vec<String> = pools.iter().map(|pool| pool.name.clone()).collect();
        self.pools.replace(pools);
        self.pool.set_selected(0);
        rows::set_items(&self.pool, &names);
        self.fill_volumes();
        self.suggest_name();
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        let origin = self.origin();
        let mut new_volume = None;
        let source = match origin {
            Origin::NewVolume => {
                let name = self.name.text().trim().to_owned();
                if name.is_empty() {
                    return Err(gettext("Enter a name for the new volume."));
                }
                let pool = self.chosen_pool()?;
                let taken = self.pools.borrow().iter().any(|facts| {
                    facts.name == pool && facts.volumes.iter().any(|volume| volume.name == name)
                });
                if taken {
                    return Err(gettext_f(
                        "The pool “{pool}” already has a volume named “{name}”. Choose another name.",
                        &[("pool", &pool), ("name", &name)],
                    ));
                }
                new_volume = Some(NewVolumeSpec {
                    pool: pool.clone(),
                    name: name.clone(),
                    bytes: self.size_bytes(),
                    format: self.volume_format(),
                });
                DiskSource::Volume { pool, volume: name }
            }
            Origin::Volume => {
                let pool = self.chosen_pool()?;
                let volume = chosen(&self.volume)
                    .and_then(|index| self.volumes.borrow().get(index).cloned())
                    .ok_or_else(|| {
                        if self.cdrom {
                            gettext("This pool has no ISO images. Choose another pool, or a path on the host.")
                        } else {
                            gettext("This pool has no volumes to choose. Choose another pool, or create a new volume.")
                        }
                    })?;
                DiskSource::Volume { pool, volume }
            }
            Origin::Path => {
                let path = self.path.text().trim().to_owned();
                if path.is_empty() {
                    return Err(gettext("Enter the path of the image file on the host."));
                }
                DiskSource::File(path)
            }
            Origin::Empty => DiskSource::None,
        };
        let pick = |row: &adw::ComboRow, values: &[&str]| {
            chosen(row)
                .filter(|index| *index > 0)
                .and_then(|index| values.get(index - 1))
                .map(|value| value.to_string())
        };
        let disk = DiskSettings {
            source,
            bus: self.bus_value(),
            target_dev: self.target(),
            cache: (!self.cdrom).then(|| pick(&self.cache, &CACHES)).flatten(),
            discard: (!self.cdrom)
                .then(|| pick(&self.discard, &DISCARDS))
                .flatten(),
            format: new_volume
                .as_ref()
                .map(|spec| spec.format.as_str().to_owned()),
            readonly: self.cdrom || self.readonly.is_active(),
            shareable: !self.cdrom && self.shareable.is_active(),
        };
        Ok(NewDevice {
            class: if self.cdrom {
                DeviceClass::Cdrom
            } else {
                DeviceClass::Disk
            },
            settings: DeviceSettings::Disk(disk),
            new_volume,
        })
    }
}

fn bus_name(bus: &str) -> String {
    match bus {
        "virtio" => gettext("VirtIO"),
        "sata" => gettext("SATA"),
        "scsi" => gettext("SCSI"),
        _ => gettext("USB"),
    }
}

/// “Hypervisor default” then the values.
fn with_default(values: &[&str]) -> Vec<String> {
    std::iter::once(gettext("Hypervisor default"))
        .chain(values.iter().map(|value| value.to_string()))
        .collect()
}
