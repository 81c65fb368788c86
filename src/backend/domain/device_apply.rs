//! Adding, changing and removing one device of a domain on its host, in the running machine
//! and in the saved configuration, so that both end up changed or both as they were.
//!
//! A running machine is changed in two calls, `AFFECT_CONFIG` and `AFFECT_LIVE`, in the
//! order that can be undone: attach and update change the saved configuration first (undone
//! exactly by the inverse call when the running machine refuses); detach asks the running
//! machine first, because only the guest decides whether it lets go of a device. A guest that
//! has not let go when libvirt gives up waiting leaves both as they were
//! ([`DeviceApplied::waiting_for_guest`]); when it does later, the device-removed event calls
//! for [`finish_detach`]. A machine that is off gets `AFFECT_CONFIG` only, a transient one
//! `AFFECT_LIVE` only; [`DeviceScope::ConfigOnly`] changes the saved configuration alone
//! (for devices that cannot change while the machine runs). Failures are told apart by libvirt's error codes, never its text.

use std::fmt;

use gettextrs::gettext;
use virt::domain::Domain;
use virt::sys;

use super::device_list::{read_devices, DeviceSettings};
use super::devices::DeviceKey;
use crate::backend::error::BackendError;
use crate::backend::libvirt::session::HostSession;
use crate::backend::xml::device_xml::{device_element, edit_element, DeviceXmlError};
use crate::i18n::gettext_f;

const LIVE: u32 = sys::VIR_DOMAIN_AFFECT_LIVE;
const CONFIG: u32 = sys::VIR_DOMAIN_AFFECT_CONFIG;

/// Where a change took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceApplied {
    /// The running machine has it now.
    pub live: bool,
    /// The saved configuration has it (from the next start on, and now when `live`).
    pub config: bool,
    /// Detach only: the guest was asked to let go of the device and has not yet; the running
    /// machine and the saved configuration both still have it.
    pub waiting_for_guest: bool,
}

/// Why a change did not (fully) happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceApplyError {
    /// The device XML could not be written (a value refused, the device gone).
    Xml(DeviceXmlError),
    /// The host refused; the running machine and the saved configuration are as they were.
    Refused {
        message: String,
        error: BackendError,
    },
    /// The running machine and the saved configuration now differ; `message` says which
    /// holds what.
    Split {
        message: String,
        error: BackendError,
    },
}

impl DeviceApplyError {
    /// The running machine cannot take this change while it runs (by libvirt's code): the
    /// page can offer [`DeviceScope::ConfigOnly`], in effect after a shutdown.
    pub fn cannot_change_live(&self) -> bool {
        match self {
            Self::Refused { error, .. } | Self::Split { error, .. } => [
                sys::VIR_ERR_OPERATION_UNSUPPORTED,
                sys::VIR_ERR_CONFIG_UNSUPPORTED,
                sys::VIR_ERR_NO_SUPPORT,
            ]
            .iter()
            .any(|code| error.is_libvirt(*code)),
            Self::Xml(_) => false,
        }
    }

    /// The sentences for the user.
    pub fn message(&self) -> String {
        match self {
            Self::Xml(error) => error.to_string(),
            Self::Refused { message, .. } | Self::Split { message, .. } => message.clone(),
        }
    }
}

impl fmt::Display for DeviceApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for DeviceApplyError {}

impl From<DeviceXmlError> for DeviceApplyError {
    fn from(error: DeviceXmlError) -> Self {
        Self::Xml(error)
    }
}

impl From<BackendError> for DeviceApplyError {
    fn from(error: BackendError) -> Self {
        refused(error)
    }
}

impl From<virt::error::Error> for DeviceApplyError {
    fn from(error: virt::error::Error) -> Self {
        refused(error.into())
    }
}

/// The host's reason, by libvirt's error code, as a sentence ending in a full stop.
fn reason(error: &BackendError) -> String {
    let code = |number: u32| error.is_libvirt(number);
    let mut message = if code(sys::VIR_ERR_OPERATION_TIMEOUT) {
        gettext("The guest did not answer in time.")
    } else if code(sys::VIR_ERR_OPERATION_UNSUPPORTED) || code(sys::VIR_ERR_CONFIG_UNSUPPORTED) {
        format!(
            "{} {}",
            gettext("This is not possible with this device or machine."),
            error.detail
        )
    } else {
        error.user_message()
    };
    if !message.ends_with(['.', '!', '?', '。']) {
        message.push('.');
    }
    message
}

fn refused(error: BackendError) -> DeviceApplyError {
    DeviceApplyError::Refused {
        message: gettext_f(
            "{reason} Nothing was changed: the running machine and the saved configuration are as they were.",
            &[("reason", &reason(&error))],
        ),
        error,
    }
}

/// Which sides to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceScope {
    /// The running machine (when it runs) and the saved configuration, both or neither.
    #[default]
    LiveAndConfig,
    /// The saved configuration only: takes effect after the machine shuts down (for devices
    /// that cannot change while it runs).
    ConfigOnly,
}

/// How the machine is changed: `(change the running machine, change the configuration)`.
fn state(domain: &Domain, scope: DeviceScope) -> Result<(bool, bool), DeviceApplyError> {
    let live = scope == DeviceScope::LiveAndConfig && domain.is_active()?;
    Ok((live, domain.is_persistent()?))
}

fn lookup(session: &HostSession, uuid: &str) -> Result<Domain, DeviceApplyError> {
    Ok(session.connection().lookup_domain_by_uuid_string(uuid)?)
}

fn live_xml(domain: &Domain) -> Result<String, BackendError> {
    Ok(domain.xml_desc(0)?)
}

fn config_xml(domain: &Domain) -> Result<String, BackendError> {
    let inactive = sys::VIR_DOMAIN_XML_INACTIVE;
    Ok(domain
        .xml_desc(inactive | sys::VIR_DOMAIN_XML_SECURE)
        .or_else(|_| domain.xml_desc(inactive))?)
}

/// One call on one side, as a `BackendError`.
fn call(result: Result<(), virt::error::Error>) -> Result<(), BackendError> {
    result.map_err(BackendError::from)
}

/// Adds the device `element` (from `device_xml::new_device_xml`).
pub fn attach(
    session: &HostSession,
    uuid: &str,
    element: &str,
    scope: DeviceScope,
) -> Result<DeviceApplied, DeviceApplyError> {
    let domain = lookup(session, uuid)?;
    match state(&domain, scope)? {
        (false, _) => {
            call(domain.attach_device_flags(element, CONFIG)).map_err(refused)?;
            Ok(DeviceApplied {
                config: true,
                ..DeviceApplied::default()
            })
        }
        (true, false) => {
            call(domain.attach_device_flags(element, LIVE)).map_err(refused)?;
            Ok(DeviceApplied {
                live: true,
                ..DeviceApplied::default()
            })
        }
        (true, true) => {
            call(domain.attach_device_flags(element, CONFIG)).map_err(refused)?;
            if let Err(error) = call(domain.attach_device_flags(element, LIVE)) {
                let undone = call(domain.detach_device_flags(element, CONFIG)).is_ok();
                return Err(live_refused(error, undone, LiveStep::Attach));
            }
            Ok(DeviceApplied {
                live: true,
                config: true,
                waiting_for_guest: false,
            })
        }
    }
}

/// Changes the device `key` to `settings` (CD-ROM medium, link state, …).
pub fn update(
    session: &HostSession,
    uuid: &str,
    key: &DeviceKey,
    settings: &DeviceSettings,
    scope: DeviceScope,
) -> Result<DeviceApplied, DeviceApplyError> {
    let domain = lookup(session, uuid)?;
    let (running, persistent) = state(&domain, scope)?;
    let mut applied = DeviceApplied::default();
    let mut config_before = None;
    if persistent {
        match device_element(&config_xml(&domain)?, key) {
            Ok(old) => {
                let new = edit_element(&old, settings)?;
                call(domain.update_device_flags(&new, CONFIG)).map_err(refused)?;
                applied.config = true;
                config_before = Some(old);
            }
            // Hot-plugged into the running machine only: nothing saved to change.
            Err(DeviceXmlError::NotFound(_)) if running => {}
            Err(error) => return Err(error.into()),
        }
    }
    if running {
        let put_back = |config_before: &Option<String>| {
            config_before.as_deref().map_or(true, |old| {
                call(domain.update_device_flags(old, CONFIG)).is_ok()
            })
        };
        let edited = live_xml(&domain)
            .map_err(refused)
            .and_then(|xml| Ok(edit_element(&device_element(&xml, key)?, settings)?));
        let new = match edited {
            Ok(new) => new,
            Err(error) => {
                put_back(&config_before);
                return Err(error);
            }
        };
        if let Err(error) = call(domain.update_device_flags(&new, LIVE)) {
            let undone = put_back(&config_before);
            return Err(live_refused(error, undone, LiveStep::Update));
        }
        applied.live = true;
    }
    Ok(applied)
}

/// Removes the device `key`.
pub fn detach(
    session: &HostSession,
    uuid: &str,
    key: &DeviceKey,
    scope: DeviceScope,
) -> Result<DeviceApplied, DeviceApplyError> {
    let domain = lookup(session, uuid)?;
    let (running, persistent) = state(&domain, scope)?;
    let mut applied = DeviceApplied::default();
    if running {
        let live = live_xml(&domain)?;
        match device_element(&live, key) {
            Ok(element) => {
                call(domain.detach_device_flags(&element, LIVE)).map_err(refused)?;
                // libvirt waits a few seconds for the guest, then returns with the device
                // still there when the guest did not let go (yet).
                if device_element(&live_xml(&domain)?, key).is_ok() {
                    applied.waiting_for_guest = true;
                    return Ok(applied);
                }
                applied.live = true;
            }
            // Only in the saved configuration: nothing to ask the guest.
            Err(DeviceXmlError::NotFound(_)) if persistent => {}
            Err(error) => return Err(error.into()),
        }
    }
    if persistent {
        match detach_config(&domain, key) {
            Ok(()) => applied.config = true,
            Err(error) if applied.live => {
                return Err(DeviceApplyError::Split {
                    message: gettext_f(
                        "The device was removed from the running machine, but the saved configuration could not drop it: {reason} It comes back at the next start.",
                        &[("reason", &reason_of(&error))],
                    ),
                    error: backend_of(error),
                });
            }
            Err(error) => return Err(error),
        }
    }
    Ok(applied)
}

/// After the guest let go of a device late (the device-removed event for `key`): drops it
/// from the saved configuration too. `false` when the configuration no longer has it.
pub fn finish_detach(
    session: &HostSession,
    uuid: &str,
    key: &DeviceKey,
) -> Result<bool, DeviceApplyError> {
    let domain = lookup(session, uuid)?;
    if !domain.is_persistent()? || device_element(&live_xml(&domain)?, key).is_ok() {
        return Ok(false);
    }
    match detach_config(&domain, key) {
        Ok(()) => Ok(true),
        Err(DeviceApplyError::Xml(DeviceXmlError::NotFound(_))) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Every MAC address the host's domains use (running machines and saved configurations),
/// lower case, with the name of the domain using it: a new network card's address must be
/// none of them. One or two calls per domain.
pub fn macs_in_use(session: &HostSession) -> Result<Vec<(String, String)>, BackendError> {
    let mut found: Vec<(String, String)> = Vec::new();
    for domain in session.domain_handles()?.values() {
        let name = domain.name().unwrap_or_default();
        let mut xmls = vec![domain.xml_desc(0)?];
        if domain.is_active().unwrap_or(false) && domain.is_persistent().unwrap_or(false) {
            xmls.push(domain.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?);
        }
        for xml in xmls {
            let Ok(devices) = read_devices(&xml) else {
                continue;
            };
            for device in devices {
                if let DeviceSettings::Nic(nic) = device.settings {
                    if !nic.mac.is_empty() && !found.iter().any(|(mac, _)| *mac == nic.mac) {
                        found.push((nic.mac, name.clone()));
                    }
                }
            }
        }
    }
    Ok(found)
}

fn detach_config(domain: &Domain, key: &DeviceKey) -> Result<(), DeviceApplyError> {
    let element = device_element(&config_xml(domain)?, key)?;
    call(domain.detach_device_flags(&element, CONFIG)).map_err(refused)
}

fn reason_of(error: &DeviceApplyError) -> String {
    match error {
        DeviceApplyError::Refused { error, .. } | DeviceApplyError::Split { error, .. } => {
            reason(error)
        }
        DeviceApplyError::Xml(error) => error.to_string(),
    }
}

fn backend_of(error: DeviceApplyError) -> BackendError {
    match error {
        DeviceApplyError::Refused { error, .. } | DeviceApplyError::Split { error, .. } => error,
        DeviceApplyError::Xml(error) => BackendError::new(
            crate::backend::error::ErrorKind::InvalidInput,
            error.to_string(),
        ),
    }
}

#[derive(Clone, Copy)]
enum LiveStep {
    Attach,
    Update,
}

/// The running machine refused after the saved configuration took the change; `undone`:
/// the configuration was put back.
fn live_refused(error: BackendError, undone: bool, step: LiveStep) -> DeviceApplyError {
    let reason = reason(&error);
    let args = [("reason", reason.as_str())];
    match (step, undone) {
        (LiveStep::Attach, true) => DeviceApplyError::Refused {
            message: gettext_f(
                "The running machine refused the device: {reason} The saved configuration was put back, so nothing was changed.",
                &args,
            ),
            error,
        },
        (LiveStep::Attach, false) => DeviceApplyError::Split {
            message: gettext_f(
                "The running machine refused the device: {reason} The saved configuration has it, so the machine gets it at the next start; the running machine does not have it.",
                &args,
            ),
            error,
        },
        (LiveStep::Update, true) => DeviceApplyError::Refused {
            message: gettext_f(
                "The running machine refused the change: {reason} The saved configuration was put back, so nothing was changed.",
                &args,
            ),
            error,
        },
        (LiveStep::Update, false) => DeviceApplyError::Split {
            message: gettext_f(
                "The running machine refused the change: {reason} The saved configuration has it and it takes effect at the next start; the running machine keeps the old settings.",
                &args,
            ),
            error,
        },
    }
}

/// Replaces the saved device `key` by itself changed to `settings` (for changes of what
/// libvirt finds the device by: a disk's target, a network card's MAC address). The old
/// device comes back when the new one is refused.
pub fn replace_saved(
    session: &HostSession,
    uuid: &str,
    key: &DeviceKey,
    settings: &DeviceSettings,
) -> Result<(), BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    let inactive = sys::VIR_DOMAIN_XML_INACTIVE;
    let xml = domain
        .xml_desc(inactive | sys::VIR_DOMAIN_XML_SECURE)
        .or_else(|_| domain.xml_desc(inactive))?;
    let invalid = |error: crate::backend::xml::device_xml::DeviceXmlError| {
        BackendError::new(
            crate::backend::error::ErrorKind::InvalidInput,
            error.to_string(),
        )
    };
    let old = device_element(&xml, key).map_err(invalid)?;
    let new = edit_element(&old, settings).map_err(invalid)?;
    let config = sys::VIR_DOMAIN_AFFECT_CONFIG;
    domain.detach_device_flags(&old, config)?;
    if let Err(error) = domain.attach_device_flags(&new, config) {
        let _ = domain.attach_device_flags(&old, config);
        return Err(error.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::libvirt::ffi::LibvirtError;

    fn error(code: u32, message: &str) -> BackendError {
        LibvirtError {
            code: code as i32,
            domain: sys::VIR_FROM_QEMU as i32,
            message: message.into(),
        }
        .into()
    }

    #[test]
    fn reasons_come_from_codes_and_end_as_sentences() {
        let timeout = error(sys::VIR_ERR_OPERATION_TIMEOUT, "any words");
        assert_eq!(reason(&timeout), "The guest did not answer in time.");
        let unsupported = error(sys::VIR_ERR_OPERATION_UNSUPPORTED, "cannot modify model");
        assert!(reason(&unsupported).ends_with("cannot modify model."));
        assert!(refused(unsupported.clone()).cannot_change_live());
        assert!(!refused(timeout.clone()).cannot_change_live());
        let message = live_refused(timeout, false, LiveStep::Attach).message();
        assert!(message.contains("saved configuration has it"), "{message}");
        assert!(message.contains("does not have it"), "{message}");
    }
}
