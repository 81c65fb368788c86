//! Shared folders, TPM, random number generator, watchdog, sound, video, serial ports,
//! consoles, channels and input devices.

use gettextrs::gettext;
use roxmltree::Node;

use super::{
    attributes, check_choice, check_path, check_text, set_optional_attribute, unsupported_change,
    DeviceXmlError,
};
use crate::backend::domain::device_list::{
    CharSettings, DeviceClass, DeviceSettings, FilesystemSettings, InputSettings, RngSettings,
    TpmSettings, WatchdogSettings,
};
use crate::backend::domain::model::child;
use crate::backend::xml::splice::{escape, Splicer};

const TPM_MODELS: [&str; 2] = ["tpm-crb", "tpm-tis"];
const TPM_VERSIONS: [&str; 2] = ["2.0", "1.2"];
const WATCHDOG_MODELS: [&str; 3] = ["itco", "i6300esb", "ib700"];
const WATCHDOG_ACTIONS: [&str; 7] = [
    "reset",
    "shutdown",
    "poweroff",
    "pause",
    "none",
    "dump",
    "inject-nmi",
];
const SOUND_MODELS: [&str; 4] = ["ich9", "ich6", "ac97", "es1370"];
const VIDEO_MODELS: [&str; 5] = ["virtio", "qxl", "vga", "bochs", "ramfb"];
const INPUT_TYPES: [&str; 3] = ["tablet", "mouse", "keyboard"];
const INPUT_BUSES: [&str; 3] = ["usb", "virtio", "ps2"];
/// Channels Hangar adds: the guest agent's and the clipboard's.
const CHANNELS: [(&str, &str); 2] = [
    ("unix", "org.qemu.guest_agent.0"),
    ("qemu-vdagent", "com.redhat.spice.0"),
];
/// Attributes of a video model that belong to one model only (sizes of qxl memory, …).
const VIDEO_MODEL_SIZES: [&str; 4] = ["ram", "vram", "vram64", "vgamem"];

fn check_filesystem(fs: &FilesystemSettings) -> Result<(), DeviceXmlError> {
    check_path(&fs.source_dir)?;
    check_text(&fs.target_tag, &gettext("a tag"))?;
    if let Some(driver) = &fs.driver {
        check_choice(driver, &["virtiofs"])?;
    }
    Ok(())
}

fn check_tpm(tpm: &TpmSettings) -> Result<(), DeviceXmlError> {
    check_choice(&tpm.model, &TPM_MODELS)?;
    check_choice(&tpm.backend, &["emulator"])?;
    match &tpm.version {
        Some(version) => check_choice(version, &TPM_VERSIONS),
        None => Ok(()),
    }
}

fn check_rng(rng: &RngSettings) -> Result<(), DeviceXmlError> {
    check_choice(&rng.model, &["virtio"])?;
    check_choice(&rng.backend, &["random", "builtin"])?;
    match &rng.source {
        Some(path) => check_path(path),
        None => Ok(()),
    }
}

fn check_watchdog(watchdog: &WatchdogSettings) -> Result<(), DeviceXmlError> {
    check_choice(&watchdog.model, &WATCHDOG_MODELS)?;
    match &watchdog.action {
        Some(action) => check_choice(action, &WATCHDOG_ACTIONS),
        None => Ok(()),
    }
}

fn check_input(input: &InputSettings) -> Result<(), DeviceXmlError> {
    check_choice(&input.input_type, &INPUT_TYPES)?;
    match &input.bus {
        Some(bus) => check_choice(bus, &INPUT_BUSES),
        None => Ok(()),
    }
}

fn rng_backend(rng: &RngSettings) -> String {
    let model = escape(&rng.backend);
    match &rng.source {
        Some(source) => format!("<backend model='{model}'>{}</backend>", escape(source)),
        None => format!("<backend model='{model}'/>"),
    }
}

/// A new device of one of these kinds; `None` for kinds Hangar does not add.
pub(super) fn new_xml(
    class: &DeviceClass,
    settings: &DeviceSettings,
) -> Option<Result<String, DeviceXmlError>> {
    let xml = match (class, settings) {
        (DeviceClass::Filesystem, DeviceSettings::Filesystem(fs)) => {
            check_filesystem(fs).map(|()| {
                format!(
                    "<filesystem type='mount' accessmode='passthrough'>\n  <driver type='virtiofs'/>\n  <source dir='{}'/>\n  <target dir='{}'/>\n</filesystem>",
                    escape(&fs.source_dir),
                    escape(&fs.target_tag)
                )
            })
        }
        (DeviceClass::Tpm, DeviceSettings::Tpm(tpm)) => check_tpm(tpm).map(|()| {
            format!(
                "<tpm model='{}'>\n  <backend type='emulator'{}/>\n</tpm>",
                escape(&tpm.model),
                attributes(&[("version", tpm.version.as_deref())])
            )
        }),
        (DeviceClass::Rng, DeviceSettings::Rng(rng)) => check_rng(rng).map(|()| {
            format!(
                "<rng model='{}'>\n  {}\n</rng>",
                escape(&rng.model),
                rng_backend(rng)
            )
        }),
        (DeviceClass::Watchdog, DeviceSettings::Watchdog(watchdog)) => {
            check_watchdog(watchdog).map(|()| {
                format!(
                    "<watchdog model='{}'{}/>",
                    escape(&watchdog.model),
                    attributes(&[("action", watchdog.action.as_deref())])
                )
            })
        }
        (DeviceClass::Sound, DeviceSettings::Sound(model)) => check_choice(model, &SOUND_MODELS)
            .map(|()| format!("<sound model='{}'/>", escape(model))),
        (DeviceClass::Video, DeviceSettings::Video(model)) => check_choice(model, &VIDEO_MODELS)
            .map(|()| format!("<video>\n  <model type='{}'/>\n</video>", escape(model))),
        (DeviceClass::Input, DeviceSettings::Input(input)) => check_input(input).map(|()| {
            format!(
                "<input type='{}'{}/>",
                escape(&input.input_type),
                attributes(&[("bus", input.bus.as_deref())])
            )
        }),
        (DeviceClass::Serial | DeviceClass::Console, DeviceSettings::Char(char)) => {
            new_terminal(class, char)
        }
        (DeviceClass::Channel, DeviceSettings::Char(char)) => new_channel(char),
        _ => return None,
    };
    Some(xml)
}

/// A serial port or console on a pseudo terminal, with the target type asked for.
fn new_terminal(class: &DeviceClass, char: &CharSettings) -> Result<String, DeviceXmlError> {
    check_choice(&char.source_type, &["pty"])?;
    let element = if *class == DeviceClass::Serial {
        "serial"
    } else {
        "console"
    };
    Ok(match &char.target_type {
        Some(target) => {
            check_choice(target, &["isa-serial", "serial", "virtio"])?;
            format!("<{element} type='pty'>\n  <target type='{target}'/>\n</{element}>")
        }
        None => format!("<{element} type='pty'/>"),
    })
}

fn new_channel(char: &CharSettings) -> Result<String, DeviceXmlError> {
    let name = char.target_name.as_deref().unwrap_or_default();
    if !CHANNELS.contains(&(char.source_type.as_str(), name)) {
        return Err(unsupported_change());
    }
    Ok(format!(
        "<channel type='{}'>\n  <target type='virtio' name='{}'/>\n</channel>",
        escape(&char.source_type),
        escape(name)
    ))
}

/// Writes what differs between `old` and `new` into `node`; kinds without editable
/// settings (and changes that need a new device) are refused.
pub(super) fn edit(
    splicer: &mut Splicer,
    node: Node,
    old: &DeviceSettings,
    new: &DeviceSettings,
) -> Result<(), DeviceXmlError> {
    let element = |name: &str| child(node, name).ok_or_else(unsupported_change);
    match (old, new) {
        (DeviceSettings::Filesystem(old), DeviceSettings::Filesystem(new)) => {
            check_filesystem(new)?;
            if old.source_dir != new.source_dir {
                splicer.set_attribute(element("source")?, "dir", &new.source_dir);
            }
            if old.target_tag != new.target_tag {
                splicer.set_attribute(element("target")?, "dir", &new.target_tag);
            }
            if old.driver != new.driver {
                set_optional_attribute(splicer, element("driver")?, "type", new.driver.as_deref());
            }
        }
        (DeviceSettings::Tpm(old), DeviceSettings::Tpm(new)) => {
            check_tpm(new)?;
            if old.backend != new.backend {
                return Err(unsupported_change());
            }
            if old.model != new.model {
                splicer.set_attribute(node, "model", &new.model);
            }
            if old.version != new.version {
                set_optional_attribute(
                    splicer,
                    element("backend")?,
                    "version",
                    new.version.as_deref(),
                );
            }
        }
        (DeviceSettings::Rng(old), DeviceSettings::Rng(new)) => {
            check_rng(new)?;
            if old.model != new.model {
                splicer.set_attribute(node, "model", &new.model);
            }
            if old.backend != new.backend || old.source != new.source {
                splicer.replace_element(element("backend")?, &rng_backend(new));
            }
        }
        (DeviceSettings::Watchdog(old), DeviceSettings::Watchdog(new)) => {
            check_watchdog(new)?;
            if old.model != new.model {
                splicer.set_attribute(node, "model", &new.model);
            }
            if old.action != new.action {
                set_optional_attribute(splicer, node, "action", new.action.as_deref());
            }
        }
        (DeviceSettings::Sound(_), DeviceSettings::Sound(model)) => {
            check_choice(model, &SOUND_MODELS)?;
            splicer.set_attribute(node, "model", model);
        }
        (DeviceSettings::Video(_), DeviceSettings::Video(model)) => {
            check_choice(model, &VIDEO_MODELS)?;
            let model_element = element("model")?;
            splicer.set_attribute(model_element, "type", model);
            for size in VIDEO_MODEL_SIZES {
                splicer.remove_attribute(model_element, size);
            }
        }
        (DeviceSettings::Char(old), DeviceSettings::Char(new))
            if node.has_tag_name("channel")
                && old.source_type == new.source_type
                && old.target_type == new.target_type =>
        {
            let name = new.target_name.as_deref().unwrap_or_default();
            check_text(name, &gettext("a channel name"))?;
            splicer.set_attribute(element("target")?, "name", name);
        }
        _ => return Err(unsupported_change()),
    }
    Ok(())
}
