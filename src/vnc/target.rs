//! Where a domain's VNC console listens, from the `<graphics type='vnc'>` settings of the
//! domain model.

use crate::backend::domain::model::{DomainModel, ModelError, VncListen, VncSettings};

/// The VNC server of a domain as its XML describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VncGraphics {
    /// The TCP port; `None` while the domain is off and the port is chosen at start.
    pub port: Option<u16>,
    /// The listen address (`listen` attribute or `<listen type='address'>`).
    pub listen: Option<String>,
    /// A unix socket path instead of TCP.
    pub socket: Option<String>,
    /// Whether a VNC password is set (its value is only in the secure XML).
    pub has_password: bool,
}

impl VncGraphics {
    /// True when the server accepts connections from other machines.
    pub fn listens_on_all_addresses(&self) -> bool {
        matches!(self.listen.as_deref(), Some("0.0.0.0" | "::" | "[::]"))
    }
}

impl VncGraphics {
    /// Where the VNC server of `settings` can be reached.
    pub fn from_settings(settings: &VncSettings) -> Self {
        let (listen, socket) = match &settings.listen {
            VncListen::Address(address) => (Some(address.clone()), None),
            VncListen::Socket(path) => (None, Some(path.clone())),
            VncListen::HostDefault | VncListen::None => (None, None),
        };
        Self {
            port: settings.port,
            listen,
            socket,
            has_password: settings.password.is_set(),
        }
    }
}

/// Reads the first VNC graphics device from a domain's XML; `None` when it has none.
pub fn vnc_graphics(domain_xml: &str) -> Result<Option<VncGraphics>, ModelError> {
    let model = DomainModel::from_xml(domain_xml)?;
    Ok(model.vnc.as_ref().map(VncGraphics::from_settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_port_and_listen_attribute() {
        let xml = "<domain><devices><graphics type='vnc' port='5901' autoport='yes' \
                   listen='0.0.0.0' passwd='x'><listen type='address' address='0.0.0.0'/>\
                   </graphics></devices></domain>";
        let graphics = vnc_graphics(xml).expect("parse").expect("vnc");
        assert_eq!(graphics.port, Some(5901));
        assert!(graphics.listens_on_all_addresses());
        assert!(graphics.has_password);
    }

    #[test]
    fn off_domains_have_no_port_yet() {
        let xml = "<domain><devices><graphics type='vnc' port='-1' autoport='yes'>\
                   <listen type='address' address='127.0.0.1'/></graphics></devices></domain>";
        let graphics = vnc_graphics(xml).expect("parse").expect("vnc");
        assert_eq!(graphics.port, None);
        assert_eq!(graphics.listen.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn no_vnc_is_none_and_bad_xml_is_an_error() {
        assert_eq!(vnc_graphics("<domain/>").expect("parse"), None);
        assert!(vnc_graphics("<domain").is_err());
    }
}
