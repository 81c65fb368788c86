//! The forms of the smaller kinds: shared folder (virtiofs), TPM, random number generator,
//! watchdog, sound card and the guest agent's channel.

use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;

use super::rows::{self, chosen};
use super::{Context, Form};
use crate::backend::domain::device_list::{
    CharSettings, DeviceClass, DeviceSettings, FilesystemSettings, RngSettings, TpmSettings,
    WatchdogSettings,
};
use crate::backend::host::choices::HostChoices;
use crate::backend::host::new_device::NewDevice;

fn page() -> gtk::Box {
    gtk::Box::new(gtk::Orientation::Vertical, 24)
}

fn device(class: DeviceClass, settings: DeviceSettings) -> Result<NewDevice, String> {
    Ok(NewDevice {
        class,
        settings,
        new_volume: None,
    })
}

/// The value at the row's choice.
fn value(row: &adw::ComboRow, values: &[&str]) -> String {
    values
        .get(chosen(row).unwrap_or(0))
        .unwrap_or(&values[0])
        .to_string()
}

pub struct FolderForm {
    page: gtk::Box,
    path: adw::EntryRow,
    tag: adw::EntryRow,
}

impl FolderForm {
    pub fn new(context: &Rc<Context>) -> Rc<Self> {
        let form = Self {
            page: page(),
            path: rows::entry(&gettext("Folder on the Host")),
            tag: rows::entry(&gettext("Tag")),
        };
        let group = rows::group(
            &gettext("Shared Folder"),
            Some(&gettext(
                "The guest mounts the folder by its tag, for example: mount -t virtiofs TAG /mnt",
            )),
        );
        group.add(&form.path);
        group.add(&form.tag);
        form.page.append(&group);
        if !context.shared_memory {
            let note = rows::note(&gettext(
                "Shared folders need shared memory, which this machine does not have. Turn on “Shared memory” in the CPU and Memory section and apply; it takes effect after the machine shuts down.",
            ));
            note.remove_css_class("dim-label");
            note.add_css_class("warning");
            form.page.append(&note);
        }
        Rc::new(form)
    }
}

impl Form for FolderForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        let source_dir = self.path.text().trim().to_owned();
        let target_tag = self.tag.text().trim().to_owned();
        if source_dir.is_empty() {
            return Err(gettext("Enter the folder on the host to share."));
        }
        if target_tag.is_empty() {
            return Err(gettext(
                "Enter a tag: the name the guest mounts the folder by.",
            ));
        }
        device(
            DeviceClass::Filesystem,
            DeviceSettings::Filesystem(FilesystemSettings {
                source_dir,
                target_tag,
                driver: Some("virtiofs".into()),
            }),
        )
    }
}

pub struct TpmForm {
    page: gtk::Box,
    model: adw::ComboRow,
}

const TPM_MODELS: [&str; 2] = ["tpm-crb", "tpm-tis"];

impl TpmForm {
    pub fn new() -> Rc<Self> {
        let form = Self {
            page: page(),
            model: rows::combo(
                &gettext("Model"),
                &[gettext("CRB (recommended)"), gettext("TIS")],
            ),
        };
        let group = rows::group(
            &gettext("Trusted Platform Module"),
            Some(&gettext(
                "An emulated TPM 2.0, kept by the host (swtpm). Windows 11 needs one.",
            )),
        );
        group.add(&form.model);
        form.page.append(&group);
        Rc::new(form)
    }
}

impl Form for TpmForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        device(
            DeviceClass::Tpm,
            DeviceSettings::Tpm(TpmSettings {
                model: value(&self.model, &TPM_MODELS),
                backend: "emulator".into(),
                version: Some("2.0".into()),
            }),
        )
    }
}

pub struct RngForm {
    page: gtk::Box,
}

impl RngForm {
    pub fn new() -> Rc<Self> {
        let form = Self { page: page() };
        let group = rows::group(
            &gettext("Random Number Generator"),
            Some(&gettext(
                "A VirtIO device that gives the guest randomness from the host’s /dev/urandom.",
            )),
        );
        form.page.append(&group);
        Rc::new(form)
    }
}

impl Form for RngForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        device(
            DeviceClass::Rng,
            DeviceSettings::Rng(RngSettings {
                model: "virtio".into(),
                backend: "random".into(),
                source: Some("/dev/urandom".into()),
            }),
        )
    }
}

const WATCHDOG_MODELS: [&str; 3] = ["i6300esb", "itco", "ib700"];
const WATCHDOG_ACTIONS: [&str; 5] = ["reset", "poweroff", "shutdown", "pause", "none"];

pub struct WatchdogForm {
    page: gtk::Box,
    model: adw::ComboRow,
    action: adw::ComboRow,
}

impl WatchdogForm {
    pub fn new() -> Rc<Self> {
        let form = Self {
            page: page(),
            model: rows::combo(
                &gettext("Model"),
                &[
                    gettext("Intel 6300ESB (PCI)"),
                    gettext("Intel iTCO (Q35 machines)"),
                    gettext("IB700 (ISA)"),
                ],
            ),
            action: rows::combo(
                &gettext("When the Guest Stops Answering"),
                &[
                    gettext("Reset the machine"),
                    gettext("Turn the machine off"),
                    gettext("Ask the guest to shut down"),
                    gettext("Pause the machine"),
                    gettext("Do nothing"),
                ],
            ),
        };
        let group = rows::group(
            &gettext("Watchdog"),
            Some(&gettext(
                "The guest must keep a watchdog service running; when it stops, the host acts.",
            )),
        );
        group.add(&form.model);
        group.add(&form.action);
        form.page.append(&group);
        Rc::new(form)
    }
}

impl Form for WatchdogForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        device(
            DeviceClass::Watchdog,
            DeviceSettings::Watchdog(WatchdogSettings {
                model: value(&self.model, &WATCHDOG_MODELS),
                action: Some(value(&self.action, &WATCHDOG_ACTIONS)),
            }),
        )
    }
}

const SOUND_MODELS: [&str; 4] = ["ich9", "ich6", "ac97", "es1370"];

pub struct SoundForm {
    page: gtk::Box,
    model: adw::ComboRow,
}

impl SoundForm {
    pub fn new() -> Rc<Self> {
        let form = Self {
            page: page(),
            model: rows::combo(
                &gettext("Model"),
                &[
                    gettext("Intel HDA ICH9 (Q35 machines)"),
                    gettext("Intel HDA ICH6"),
                    gettext("AC97 (older guests)"),
                    gettext("Ensoniq ES1370"),
                ],
            ),
        };
        let group = rows::group(&gettext("Sound Card"), None);
        group.add(&form.model);
        form.page.append(&group);
        Rc::new(form)
    }
}

impl Form for SoundForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        device(
            DeviceClass::Sound,
            DeviceSettings::Sound(value(&self.model, &SOUND_MODELS)),
        )
    }
}

pub struct ChannelForm {
    page: gtk::Box,
}

impl ChannelForm {
    pub fn new() -> Rc<Self> {
        let form = Self { page: page() };
        let group = rows::group(
            &gettext("Guest Agent Channel"),
            Some(&gettext(
                "A VirtIO channel named org.qemu.guest_agent.0. With qemu-guest-agent installed in the guest, Hangar shows its addresses and file systems and can shut it down cleanly.",
            )),
        );
        form.page.append(&group);
        Rc::new(form)
    }
}

impl Form for ChannelForm {
    fn widget(&self) -> gtk::Widget {
        self.page.clone().upcast()
    }

    fn device(&self, _choices: &HostChoices) -> Result<NewDevice, String> {
        device(
            DeviceClass::Channel,
            DeviceSettings::Char(CharSettings {
                source_type: "unix".into(),
                target_type: Some("virtio".into()),
                target_name: Some("org.qemu.guest_agent.0".into()),
            }),
        )
    }
}
