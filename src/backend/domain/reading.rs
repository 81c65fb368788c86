//! One read of a domain for the details page, on the host's worker: the saved config the
//! page edits, the running machine, the host's choices for it and its autostart.

use super::apply::read_config_xml;
use super::capabilities::{domain_capabilities, emulator_of, DomainCapabilities};
use super::model::DomainModel;
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;

/// The domain as read from its host.
#[derive(Debug, Clone)]
pub struct DomainReading {
    /// The saved config, as text (the XML section edits it, conflicts compare it).
    pub config_xml: String,
    pub config: DomainModel,
    /// The running machine; `None` while shut off.
    pub live: Option<DomainModel>,
    /// Its XML, for what the model does not hold (the device list).
    pub live_xml: Option<String>,
    /// Whether `live` carries secrets (the VNC password) as the config does.
    pub live_secure: bool,
    /// What the host offers this domain; `None` where the driver cannot say (test://).
    pub capabilities: Option<DomainCapabilities>,
    /// Whether the domain starts with its host (not in the XML); `None` where the host
    /// cannot say.
    pub autostart: Option<bool>,
}

/// Reads the domain with `uuid`: its saved config (secure), live XML when running,
/// capabilities and autostart.
pub fn read_domain(session: &HostSession, uuid: &str) -> Result<DomainReading, BackendError> {
    let config_xml = read_config_xml(session, uuid)?;
    let config = DomainModel::from_xml(&config_xml)
        .map_err(|error| BackendError::new(ErrorKind::InvalidInput, error.to_string()))?;
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    // Secure like the config, or the VNC password would look pending when it is not.
    let (live_xml, live_secure) = if !domain.is_active()? {
        (None, true)
    } else if let Ok(xml) = domain.xml_desc(virt::sys::VIR_DOMAIN_XML_SECURE) {
        (Some(xml), true)
    } else {
        (Some(domain.xml_desc(0)?), false)
    };
    // Only the choices offered depend on it: a host that cannot say still shows the page.
    let capabilities =
        domain_capabilities(session, &config, emulator_of(&config_xml).as_deref()).ok();
    Ok(DomainReading {
        live: live_xml
            .as_deref()
            .and_then(|xml| DomainModel::from_xml(xml).ok()),
        live_xml,
        config_xml,
        config,
        live_secure,
        capabilities,
        autostart: domain.autostart().ok(),
    })
}
