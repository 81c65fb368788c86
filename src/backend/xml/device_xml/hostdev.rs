//! Host USB and PCI devices passed through.

use gettextrs::gettext;
use roxmltree::Node;

use super::{invalid, set_optional_attribute, DeviceXmlError};
use crate::backend::domain::device_list::{HostdevSettings, HostdevSource};
use crate::backend::domain::model::child;
use crate::backend::xml::splice::{escape, Splicer};

fn is_hex(value: &str) -> bool {
    let digits = value.strip_prefix("0x").unwrap_or(value);
    !digits.is_empty() && digits.len() <= 8 && digits.chars().all(|c| c.is_ascii_hexdigit())
}

fn check(host: &HostdevSettings) -> Result<(), DeviceXmlError> {
    let numbers: Vec<&String> = match &host.source {
        HostdevSource::UsbId { vendor, product } => vec![vendor, product],
        HostdevSource::UsbAddress { bus, device } => vec![bus, device],
        HostdevSource::Pci {
            domain,
            bus,
            slot,
            function,
        } => vec![domain, bus, slot, function],
    };
    if !numbers.iter().all(|number| is_hex(number)) {
        return Err(invalid(gettext(
            "The host device is not given as numbers. Choose it from the host’s list.",
        )));
    }
    match (&host.source, host.startup_policy.as_deref()) {
        (_, None) => Ok(()),
        (HostdevSource::Pci { .. }, Some(_)) => Err(invalid(gettext(
            "Only USB devices can be optional at start.",
        ))),
        (_, Some("optional" | "mandatory" | "requisite")) => Ok(()),
        (_, Some(other)) => super::check_choice(other, &["optional"]),
    }
}

/// The `<source>` element, with its indentation for a new element's lines.
fn source_markup(host: &HostdevSettings, indent: &str) -> String {
    let policy = super::attributes(&[("startupPolicy", host.startup_policy.as_deref())]);
    let inner = match &host.source {
        HostdevSource::UsbId { vendor, product } => vec![
            format!("<vendor id='{}'/>", escape(vendor)),
            format!("<product id='{}'/>", escape(product)),
        ],
        HostdevSource::UsbAddress { bus, device } => vec![format!(
            "<address bus='{}' device='{}'/>",
            escape(bus),
            escape(device)
        )],
        HostdevSource::Pci {
            domain,
            bus,
            slot,
            function,
        } => vec![format!(
            "<address domain='{}' bus='{}' slot='{}' function='{}'/>",
            escape(domain),
            escape(bus),
            escape(slot),
            escape(function)
        )],
    };
    let inner: Vec<String> = inner
        .into_iter()
        .map(|line| format!("{indent}  {line}"))
        .collect();
    format!("<source{policy}>\n{}\n{indent}</source>", inner.join("\n"))
}

pub(super) fn new_xml(host: &HostdevSettings) -> Result<String, DeviceXmlError> {
    check(host)?;
    let kind = match host.source {
        HostdevSource::Pci { .. } => "pci",
        _ => "usb",
    };
    Ok(format!(
        "<hostdev mode='subsystem' type='{kind}' managed='yes'>\n  {}\n</hostdev>",
        source_markup(host, "  ")
    ))
}

/// Writes what differs between `old` and `new` into the `<hostdev>` element `node`.
pub(super) fn edit(
    splicer: &mut Splicer,
    node: Node,
    old: &HostdevSettings,
    new: &HostdevSettings,
) -> Result<(), DeviceXmlError> {
    check(new)?;
    let same_kind = matches!(
        (&old.source, &new.source),
        (HostdevSource::Pci { .. }, HostdevSource::Pci { .. })
            | (
                HostdevSource::UsbId { .. } | HostdevSource::UsbAddress { .. },
                HostdevSource::UsbId { .. } | HostdevSource::UsbAddress { .. }
            )
    );
    if !same_kind {
        return Err(super::unsupported_change());
    }
    let source = child(node, "source").ok_or_else(super::unsupported_change)?;
    if old.source != new.source {
        let indent = line_indent_of(splicer, source);
        splicer.replace_element(source, &source_markup(new, &indent));
    } else if old.startup_policy != new.startup_policy {
        set_optional_attribute(
            splicer,
            source,
            "startupPolicy",
            new.startup_policy.as_deref(),
        );
    }
    Ok(())
}

/// The indentation of `element`'s first child, less two spaces (its own).
fn line_indent_of(splicer: &Splicer, element: Node) -> String {
    let children = splicer.child_indent_of(element);
    children.strip_suffix("  ").unwrap_or(&children).to_owned()
}
