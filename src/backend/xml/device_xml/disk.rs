//! Disks and CD-ROM drives.

use gettextrs::gettext;
use roxmltree::Node;

use super::{
    attributes, check_choice, check_path, check_text, invalid, set_optional_attribute,
    unsupported_change, DeviceXmlError,
};
use crate::backend::domain::device_list::{DiskSettings, DiskSource};
use crate::backend::domain::model::child;
use crate::backend::xml::splice::{escape, Splicer};

const BUSES: [&str; 6] = ["virtio", "sata", "scsi", "usb", "ide", "fdc"];
const CACHES: [&str; 5] = ["none", "writethrough", "writeback", "directsync", "unsafe"];
const DISCARDS: [&str; 2] = ["unmap", "ignore"];
const FORMATS: [&str; 2] = ["qcow2", "raw"];

fn check(disk: &DiskSettings, cdrom: bool) -> Result<(), DeviceXmlError> {
    check_choice(&disk.bus, &BUSES)?;
    let target_ok = !disk.target_dev.is_empty()
        && disk
            .target_dev
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !target_ok {
        return Err(invalid(gettext(
            "A disk’s target is a name such as “vdb” or “sdc”.",
        )));
    }
    for (value, allowed) in [
        (&disk.cache, &CACHES[..]),
        (&disk.discard, &DISCARDS[..]),
        (&disk.format, &FORMATS[..]),
    ] {
        if let Some(value) = value {
            check_choice(value, allowed)?;
        }
    }
    match &disk.source {
        DiskSource::None if !cdrom => Err(invalid(gettext(
            "Choose the volume or file this disk uses.",
        ))),
        DiskSource::None => Ok(()),
        DiskSource::File(path) | DiskSource::Block(path) => check_path(path),
        DiskSource::Volume { pool, volume } => {
            check_text(pool, &gettext("a storage pool"))?;
            check_text(volume, &gettext("a volume"))
        }
        DiskSource::Other(_) => Err(unsupported_change()),
    }
}

/// `type` of `<disk>` and the `<source>` element for `source`.
fn source_markup(source: &DiskSource) -> (&'static str, Option<String>) {
    match source {
        DiskSource::None | DiskSource::Other(_) => ("file", None),
        DiskSource::File(path) => ("file", Some(format!("<source file='{}'/>", escape(path)))),
        DiskSource::Block(path) => ("block", Some(format!("<source dev='{}'/>", escape(path)))),
        DiskSource::Volume { pool, volume } => (
            "volume",
            Some(format!(
                "<source pool='{}' volume='{}'/>",
                escape(pool),
                escape(volume)
            )),
        ),
    }
}

fn driver_markup(disk: &DiskSettings) -> String {
    format!(
        "<driver name='qemu'{}/>",
        attributes(&[
            ("type", disk.format.as_deref()),
            ("cache", disk.cache.as_deref()),
            ("discard", disk.discard.as_deref()),
        ])
    )
}

/// A new disk (or CD-ROM drive, always read-only).
pub(super) fn new_xml(disk: &DiskSettings, cdrom: bool) -> Result<String, DeviceXmlError> {
    check(disk, cdrom)?;
    let (kind, source) = source_markup(&disk.source);
    let device = if cdrom { "cdrom" } else { "disk" };
    let mut lines = vec![
        format!("<disk type='{kind}' device='{device}'>"),
        format!("  {}", driver_markup(disk)),
    ];
    lines.extend(source.map(|source| format!("  {source}")));
    lines.push(format!(
        "  <target dev='{}' bus='{}'/>",
        escape(&disk.target_dev),
        escape(&disk.bus)
    ));
    if disk.readonly || cdrom {
        lines.push("  <readonly/>".into());
    }
    if disk.shareable {
        lines.push("  <shareable/>".into());
    }
    lines.push("</disk>".into());
    Ok(lines.join("\n"))
}

/// Writes what differs between `old` and `new` into the `<disk>` element `node`.
pub(super) fn edit(
    splicer: &mut Splicer,
    node: Node,
    old: &DiskSettings,
    new: &DiskSettings,
) -> Result<(), DeviceXmlError> {
    let cdrom = node.attribute("device") == Some("cdrom");
    if matches!(old.source, DiskSource::Other(_)) && old.source != new.source {
        return Err(unsupported_change());
    }
    check(new, cdrom)?;
    let target = child(node, "target").ok_or_else(unsupported_change)?;
    let driver = child(node, "driver");
    if old.format != new.format || old.cache != new.cache || old.discard != new.discard {
        match driver {
            Some(driver) => {
                for (name, old, new) in [
                    ("type", &old.format, &new.format),
                    ("cache", &old.cache, &new.cache),
                    ("discard", &old.discard, &new.discard),
                ] {
                    if old != new {
                        set_optional_attribute(splicer, driver, name, new.as_deref());
                    }
                }
            }
            None => first_child_insert(splicer, node, &driver_markup(new)),
        }
    }
    if old.source != new.source {
        write_source(splicer, node, target, &old.source, &new.source);
    }
    if old.target_dev != new.target_dev {
        splicer.set_attribute(target, "dev", &new.target_dev);
    }
    if old.bus != new.bus {
        splicer.set_attribute(target, "bus", &new.bus);
        // The address libvirt assigned belongs to the old bus (PCI for virtio, a drive on a
        // controller for SATA/SCSI): libvirt assigns a new one.
        if let Some(address) = child(node, "address") {
            splicer.remove_element(address);
        }
    }
    for (name, old, new) in [
        ("readonly", old.readonly, new.readonly),
        ("shareable", old.shareable, new.shareable),
    ] {
        match (old, new, child(node, name)) {
            (false, true, None) => splicer.insert_after(target, &format!("<{name}/>")),
            (true, false, Some(element)) => splicer.remove_element(element),
            _ => {}
        }
    }
    Ok(())
}

fn write_source(
    splicer: &mut Splicer,
    node: Node,
    target: Node,
    old: &DiskSource,
    new: &DiskSource,
) {
    let (kind, markup) = source_markup(new);
    // Ejecting keeps the drive's type.
    if !matches!(new, DiskSource::None) && node.attribute("type") != Some(kind) {
        splicer.set_attribute(node, "type", kind);
    }
    let existing = child(node, "source");
    match (existing, markup) {
        (Some(element), None) => splicer.remove_element(element),
        (Some(element), Some(markup)) => match (old, new) {
            // Same kind: only the path changes; other attributes and children stay.
            (DiskSource::File(_), DiskSource::File(path)) => {
                splicer.set_attribute(element, "file", path)
            }
            (DiskSource::Block(_), DiskSource::Block(path)) => {
                splicer.set_attribute(element, "dev", path)
            }
            _ => splicer.replace_element(element, &markup),
        },
        (None, Some(markup)) => splicer.insert_before(target, &markup),
        (None, None) => {}
    }
}

/// Inserts `markup` before the first child element of `node`.
fn first_child_insert(splicer: &mut Splicer, node: Node, markup: &str) {
    match node.children().find(Node::is_element) {
        Some(first) => splicer.insert_before(first, markup),
        None => splicer.append_child(node, markup),
    }
}
