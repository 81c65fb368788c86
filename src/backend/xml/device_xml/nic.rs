//! Network cards.

use gettextrs::gettext;
use roxmltree::Node;

use super::{check_choice, check_text, invalid, unsupported_change, DeviceXmlError};
use crate::backend::domain::device_list::{NicSettings, NicSource};
use crate::backend::domain::model::child;
use crate::backend::xml::splice::{escape, Splicer};
use crate::i18n::gettext_f;

const MODELS: [&str; 4] = ["virtio", "e1000e", "e1000", "rtl8139"];
const DIRECT_MODES: [&str; 4] = ["bridge", "vepa", "private", "passthrough"];

/// Why `mac` cannot be a network card's address: six pairs of hex digits, not multicast.
pub(crate) fn mac_problem(mac: &str) -> Option<String> {
    let pairs: Vec<&str> = mac.split(':').collect();
    let well_formed = pairs.len() == 6
        && pairs
            .iter()
            .all(|pair| pair.len() == 2 && pair.chars().all(|c| c.is_ascii_hexdigit()));
    if !well_formed {
        return Some(gettext_f(
            "“{name}” is not a MAC address. It is six pairs of hexadecimal digits, such as 52:54:00:12:34:56.",
            &[("name", mac)],
        ));
    }
    let first = u8::from_str_radix(pairs[0], 16).unwrap_or(0);
    (first & 1 == 1).then(|| {
        gettext("This is a multicast address; a network card needs one whose first byte is even.")
    })
}

fn check(nic: &NicSettings) -> Result<(), DeviceXmlError> {
    if let Some(problem) = mac_problem(&nic.mac) {
        return Err(invalid(problem));
    }
    if let Some(model) = &nic.model {
        check_choice(model, &MODELS)?;
    }
    match &nic.source {
        NicSource::Network(name) => check_text(name, &gettext("a virtual network")),
        NicSource::Bridge(name) => check_text(name, &gettext("a bridge")),
        NicSource::Direct { device, mode } => {
            check_text(device, &gettext("a host network interface"))?;
            check_choice(mode, &DIRECT_MODES)
        }
        NicSource::Other(_) => Err(unsupported_change()),
    }
}

/// `type` of `<interface>` and its `<source>` element.
fn source_markup(source: &NicSource) -> (&'static str, String) {
    match source {
        NicSource::Network(name) => ("network", format!("<source network='{}'/>", escape(name))),
        NicSource::Bridge(name) => ("bridge", format!("<source bridge='{}'/>", escape(name))),
        NicSource::Direct { device, mode } => (
            "direct",
            format!("<source dev='{}' mode='{}'/>", escape(device), escape(mode)),
        ),
        NicSource::Other(_) => ("user", String::new()),
    }
}

pub(super) fn new_xml(nic: &NicSettings) -> Result<String, DeviceXmlError> {
    check(nic)?;
    let (kind, source) = source_markup(&nic.source);
    let mut lines = vec![
        format!("<interface type='{kind}'>"),
        format!(
            "  <mac address='{}'/>",
            escape(&nic.mac.to_ascii_lowercase())
        ),
        format!("  {source}"),
    ];
    if let Some(model) = &nic.model {
        lines.push(format!("  <model type='{}'/>", escape(model)));
    }
    if !nic.link_up {
        lines.push("  <link state='down'/>".into());
    }
    lines.push("</interface>".into());
    Ok(lines.join("\n"))
}

/// Writes what differs between `old` and `new` into the `<interface>` element `node`.
pub(super) fn edit(
    splicer: &mut Splicer,
    node: Node,
    old: &NicSettings,
    new: &NicSettings,
) -> Result<(), DeviceXmlError> {
    if matches!(old.source, NicSource::Other(_)) && old.source != new.source {
        return Err(unsupported_change());
    }
    check(new)?;
    let mac = child(node, "mac");
    if old.mac != new.mac {
        let address = new.mac.to_ascii_lowercase();
        match mac {
            Some(mac) => splicer.set_attribute(mac, "address", &address),
            None => first_child_insert(splicer, node, &format!("<mac address='{address}'/>")),
        }
    }
    let source = child(node, "source");
    if old.source != new.source {
        let (kind, markup) = source_markup(&new.source);
        if node.attribute("type") != Some(kind) {
            splicer.set_attribute(node, "type", kind);
        }
        match (source, &old.source, &new.source) {
            (Some(source), NicSource::Network(_), NicSource::Network(name)) => {
                splicer.set_attribute(source, "network", name)
            }
            (Some(source), NicSource::Bridge(_), NicSource::Bridge(name)) => {
                splicer.set_attribute(source, "bridge", name)
            }
            (Some(source), _, _) => splicer.replace_element(source, &markup),
            (None, _, _) => match mac {
                Some(mac) => splicer.insert_after(mac, &markup),
                None => first_child_insert(splicer, node, &markup),
            },
        }
    }
    let model = child(node, "model");
    if old.model != new.model {
        match (model, &new.model) {
            (Some(element), Some(name)) => splicer.set_attribute(element, "type", name),
            (Some(element), None) => splicer.remove_element(element),
            (None, Some(name)) => {
                let markup = format!("<model type='{}'/>", escape(name));
                match source.or(mac) {
                    Some(anchor) => splicer.insert_after(anchor, &markup),
                    None => first_child_insert(splicer, node, &markup),
                }
            }
            (None, None) => {}
        }
    }
    if old.link_up != new.link_up {
        let state = if new.link_up { "up" } else { "down" };
        match child(node, "link") {
            Some(link) => splicer.set_attribute(link, "state", state),
            None => {
                let markup = format!("<link state='{state}'/>");
                // Before libvirt's own <alias> and <address>, after the settings.
                match node
                    .children()
                    .find(|n| n.has_tag_name("alias") || n.has_tag_name("address"))
                {
                    Some(anchor) => splicer.insert_before(anchor, &markup),
                    None => splicer.append_child(node, &markup),
                }
            }
        }
    }
    Ok(())
}

fn first_child_insert(splicer: &mut Splicer, node: Node, markup: &str) {
    match node.children().find(Node::is_element) {
        Some(first) => splicer.insert_before(first, markup),
        None => splicer.append_child(node, markup),
    }
}
