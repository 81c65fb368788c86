//! The XML of one device: a new element to attach, an existing element edited in place
//! (its `<address>`, `<alias>` and everything Hangar does not model kept byte for byte), and
//! the element to give libvirt to detach it.
//!
//! The same writers edit a device in the whole domain XML (for a machine that is off, and
//! for the golden tests) and in the device's own element text (for
//! `virDomainUpdateDeviceFlags`).

use std::fmt;

use gettextrs::gettext;
use roxmltree::Node;

use super::splice::{OverlappingEdits, Splicer};
use crate::backend::domain::device_list::{
    class_of, find_device, settings_of, DeviceClass, DeviceSettings,
};
use crate::backend::domain::devices::DeviceKey;
use crate::backend::domain::model::{child, ModelError};
use crate::i18n::gettext_f;

mod disk;
mod hostdev;
mod names;
mod nic;
mod other;

pub use names::{generate_mac, next_target_dev, random_seed};

/// Why device XML cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceXmlError {
    /// The domain XML does not read.
    Model(ModelError),
    /// No device with this key (removed meanwhile).
    NotFound(DeviceKey),
    /// A value is not acceptable: a sentence for the user.
    Invalid(String),
    /// This change is not made here (edit the XML, or remove and add the device).
    Unsupported(String),
    /// Two writers touched the same bytes: a bug.
    Overlap,
}

impl fmt::Display for DeviceXmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Model(error) => error.fmt(f),
            Self::NotFound(key) => f.write_str(&gettext_f(
                "The device “{name}” is no longer there. It was removed or changed meanwhile.",
                &[("name", &key.id)],
            )),
            Self::Invalid(message) | Self::Unsupported(message) => f.write_str(message),
            Self::Overlap => f.write_str(&gettext(
                "Hangar could not combine these changes. Apply them one at a time.",
            )),
        }
    }
}

impl std::error::Error for DeviceXmlError {}

impl From<ModelError> for DeviceXmlError {
    fn from(error: ModelError) -> Self {
        Self::Model(error)
    }
}

impl From<OverlappingEdits> for DeviceXmlError {
    fn from(_: OverlappingEdits) -> Self {
        Self::Overlap
    }
}

pub(crate) fn invalid(message: String) -> DeviceXmlError {
    DeviceXmlError::Invalid(message)
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>, DeviceXmlError> {
    roxmltree::Document::parse(xml)
        .map_err(|error| DeviceXmlError::Model(ModelError::Syntax(error.to_string())))
}

fn domain_root<'a, 'input>(
    document: &'a roxmltree::Document<'input>,
) -> Result<Node<'a, 'input>, DeviceXmlError> {
    let root = document.root_element();
    if !root.has_tag_name("domain") {
        return Err(ModelError::NotADomain(root.tag_name().name().to_owned()).into());
    }
    Ok(root)
}

/// The text of a new device of `class` with `settings`, indented by two spaces per level.
pub fn new_device_xml(
    class: &DeviceClass,
    settings: &DeviceSettings,
) -> Result<String, DeviceXmlError> {
    let unsupported = || {
        DeviceXmlError::Unsupported(gettext(
            "Hangar cannot add this kind of device. Add it in the XML editor.",
        ))
    };
    match (class, settings) {
        (DeviceClass::Disk, DeviceSettings::Disk(disk)) => disk::new_xml(disk, false),
        (DeviceClass::Cdrom, DeviceSettings::Disk(disk)) => disk::new_xml(disk, true),
        (DeviceClass::Nic, DeviceSettings::Nic(nic)) => nic::new_xml(nic),
        (DeviceClass::HostdevUsb | DeviceClass::HostdevPci, DeviceSettings::Hostdev(host)) => {
            hostdev::new_xml(host)
        }
        (class, settings) => other::new_xml(class, settings).ok_or_else(unsupported)?,
    }
}

/// `domain_xml` with `element` added to `<devices>`, after the last device of its kind
/// (the saved config of a machine that is off, as libvirt would write it).
pub fn add_device(domain_xml: &str, element: &str) -> Result<String, DeviceXmlError> {
    let document = parse(domain_xml)?;
    let root = domain_root(&document)?;
    let name = parse(element)?.root_element().tag_name().name().to_owned();
    let mut splicer = Splicer::new(domain_xml);
    let Some(devices) = child(root, "devices") else {
        let markup = format!("<devices>\n{}\n  </devices>", indented(element, "    "));
        splicer.append_child(root, &markup);
        return finish(splicer);
    };
    let indent = splicer.child_indent_of(devices);
    let markup = indented(element, &indent);
    let last_of_kind = devices
        .children()
        .rev()
        .find(|node| node.has_tag_name(name.as_str()));
    match last_of_kind {
        Some(sibling) => splicer.insert_after(sibling, &markup),
        None => splicer.append_child(devices, &markup),
    }
    finish(splicer)
}

/// `domain_xml` without the device `key`, the white space before it included.
pub fn remove_device(domain_xml: &str, key: &DeviceKey) -> Result<String, DeviceXmlError> {
    let document = parse(domain_xml)?;
    let root = domain_root(&document)?;
    let node = find_device(root, key).ok_or_else(|| DeviceXmlError::NotFound(key.clone()))?;
    let mut splicer = Splicer::new(domain_xml);
    splicer.remove_element(node);
    finish(splicer)
}

/// The device `key` exactly as written in `domain_xml`: what detach and update are given.
pub fn device_element(domain_xml: &str, key: &DeviceKey) -> Result<String, DeviceXmlError> {
    let document = parse(domain_xml)?;
    let root = domain_root(&document)?;
    let node = find_device(root, key).ok_or_else(|| DeviceXmlError::NotFound(key.clone()))?;
    Ok(domain_xml[node.range()].to_owned())
}

/// `domain_xml` with the device `key` changed to `settings`; only what changed is written.
pub fn edit_device(
    domain_xml: &str,
    key: &DeviceKey,
    settings: &DeviceSettings,
) -> Result<String, DeviceXmlError> {
    let document = parse(domain_xml)?;
    let root = domain_root(&document)?;
    let node = find_device(root, key).ok_or_else(|| DeviceXmlError::NotFound(key.clone()))?;
    let mut splicer = Splicer::new(domain_xml);
    write_edit(&mut splicer, node, settings)?;
    finish(splicer)
}

/// The device element `element_xml` (as [`device_element`] gives it) changed to
/// `settings`: what `virDomainUpdateDeviceFlags` is given.
pub fn edit_element(
    element_xml: &str,
    settings: &DeviceSettings,
) -> Result<String, DeviceXmlError> {
    let document = parse(element_xml)?;
    let mut splicer = Splicer::new(element_xml);
    write_edit(&mut splicer, document.root_element(), settings)?;
    finish(splicer)
}

fn write_edit(
    splicer: &mut Splicer,
    node: Node,
    settings: &DeviceSettings,
) -> Result<(), DeviceXmlError> {
    let class = class_of(node);
    let old = settings_of(node, &class);
    if old == *settings {
        return Ok(());
    }
    match (&old, settings) {
        (DeviceSettings::Disk(old), DeviceSettings::Disk(new)) => {
            disk::edit(splicer, node, old, new)
        }
        (DeviceSettings::Nic(old), DeviceSettings::Nic(new)) => nic::edit(splicer, node, old, new),
        (DeviceSettings::Hostdev(old), DeviceSettings::Hostdev(new)) => {
            hostdev::edit(splicer, node, old, new)
        }
        (old, new) => other::edit(splicer, node, old, new),
    }
}

fn finish(splicer: Splicer) -> Result<String, DeviceXmlError> {
    let written = splicer.finish()?;
    // A writer must never produce XML that does not parse.
    roxmltree::Document::parse(&written).map_err(|_| DeviceXmlError::Overlap)?;
    Ok(written)
}

/// `markup`'s second and later lines moved right by `indent`.
fn indented(markup: &str, indent: &str) -> String {
    markup.replace('\n', &format!("\n{indent}"))
}

/// Sets `name` on `element` when `value` is some, removes it when none.
pub(super) fn set_optional_attribute(
    splicer: &mut Splicer,
    element: Node,
    name: &str,
    value: Option<&str>,
) {
    match value {
        Some(value) => splicer.set_attribute(element, name, value),
        None => splicer.remove_attribute(element, name),
    }
}

/// ` name='value'` for each present value, escaped.
pub(super) fn attributes(pairs: &[(&str, Option<&str>)]) -> String {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            value.map(|value| format!(" {name}='{}'", super::splice::escape(value)))
        })
        .collect()
}

/// A sentence when `text` is empty or carries control characters.
pub(super) fn check_text(text: &str, what: &str) -> Result<(), DeviceXmlError> {
    if text.trim().is_empty() {
        return Err(invalid(gettext_f("Enter {name}.", &[("name", what)])));
    }
    match super::control_character_problem(text) {
        Some(problem) => Err(invalid(problem)),
        None => Ok(()),
    }
}

/// A sentence when `path` is not an absolute host path.
pub(super) fn check_path(path: &str) -> Result<(), DeviceXmlError> {
    match super::host_path_problem(path) {
        Some(problem) => Err(invalid(problem)),
        None => Ok(()),
    }
}

/// A sentence when `value` is not one of `allowed` (choices the page offers).
pub(super) fn check_choice(value: &str, allowed: &[&str]) -> Result<(), DeviceXmlError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid(gettext_f(
            "“{name}” is not a choice Hangar offers here.",
            &[("name", value)],
        )))
    }
}

/// What cannot change in place.
pub(super) fn unsupported_change() -> DeviceXmlError {
    DeviceXmlError::Unsupported(gettext(
        "This change cannot be made in place. Remove the device and add a new one, or edit the XML.",
    ))
}
