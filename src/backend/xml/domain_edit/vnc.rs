//! The first `<graphics type='vnc'>`: listen address, port, password, keymap.

use gettextrs::gettext;
use roxmltree::Node;

use super::{append_children, EditError};
use crate::backend::domain::fields::Field;
use crate::backend::domain::model::{vnc_graphics, DomainModel, VncListen, VncPassword};
use crate::backend::xml::splice::{escape, Splicer};

const VNC_FIELDS: [Field; 4] = [
    Field::VncListen,
    Field::VncPort,
    Field::VncPassword,
    Field::VncKeymap,
];

pub(super) fn write(
    splicer: &mut Splicer,
    root: Node,
    edited: &DomainModel,
    fields: &[Field],
) -> Result<(), EditError> {
    let Some(field) = fields.iter().copied().find(|f| VNC_FIELDS.contains(f)) else {
        return Ok(());
    };
    let (Some(graphics), Some(vnc)) = (vnc_graphics(root), &edited.vnc) else {
        return Err(EditError::Unsupported {
            field,
            reason: gettext("This virtual machine has no VNC display."),
        });
    };
    if fields.contains(&Field::VncListen) {
        write_listen(splicer, graphics, &vnc.listen);
    }
    if fields.contains(&Field::VncPort) {
        match (vnc.autoport, vnc.port) {
            (false, Some(port)) => {
                splicer.set_attribute(graphics, "port", &port.to_string());
                splicer.set_attribute(graphics, "autoport", "no");
            }
            _ => {
                splicer.set_attribute(graphics, "port", "-1");
                splicer.set_attribute(graphics, "autoport", "yes");
            }
        }
    }
    if fields.contains(&Field::VncPassword) {
        match &vnc.password {
            VncPassword::Set(password) => {
                splicer.set_attribute(graphics, "passwd", password.expose())
            }
            VncPassword::None => splicer.remove_attribute(graphics, "passwd"),
        }
    }
    if fields.contains(&Field::VncKeymap) {
        match &vnc.keymap {
            Some(keymap) => splicer.set_attribute(graphics, "keymap", keymap),
            None => splicer.remove_attribute(graphics, "keymap"),
        }
    }
    Ok(())
}

/// The `listen` attribute (older form, kept in step when present) and the first `<listen>`
/// child; further `<listen>` children go.
fn write_listen(splicer: &mut Splicer, graphics: Node, listen: &VncListen) {
    let mut listens = graphics.children().filter(|n| n.has_tag_name("listen"));
    let first = listens.next();
    for extra in listens {
        splicer.remove_element(extra);
    }
    match listen {
        VncListen::Address(address) if graphics.attribute("listen").is_some() => {
            splicer.set_attribute(graphics, "listen", address)
        }
        _ => splicer.remove_attribute(graphics, "listen"),
    }
    if matches!(listen, VncListen::Socket(_)) {
        // The socket attribute is an older spelling of <listen type='socket'>.
        splicer.remove_attribute(graphics, "socket");
    }
    let Some(first) = first else {
        let markup = match listen {
            VncListen::HostDefault => return,
            VncListen::Address(address) => {
                format!("<listen type='address' address='{}'/>", escape(address))
            }
            VncListen::Socket(path) => format!("<listen type='socket' socket='{}'/>", escape(path)),
            VncListen::None => "<listen type='none'/>".to_owned(),
        };
        append_children(splicer, graphics, &[markup]);
        return;
    };
    match listen {
        VncListen::HostDefault => splicer.remove_element(first),
        VncListen::Address(address) => {
            splicer.set_attribute(first, "type", "address");
            splicer.set_attribute(first, "address", address);
            for stale in ["socket", "network"] {
                splicer.remove_attribute(first, stale);
            }
        }
        VncListen::Socket(path) => {
            splicer.set_attribute(first, "type", "socket");
            splicer.set_attribute(first, "socket", path);
            for stale in ["address", "network"] {
                splicer.remove_attribute(first, stale);
            }
        }
        VncListen::None => {
            splicer.set_attribute(first, "type", "none");
            for stale in ["address", "socket", "network"] {
                splicer.remove_attribute(first, stale);
            }
        }
    }
}
