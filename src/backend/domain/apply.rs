//! Applying the details page's edits to a domain on its host: re-read, check for changes
//! from outside, write the saved config once (validated by libvirt), then change the
//! running machine for the fields that can change live.
//!
//! The saved config gets every edit in one `virDomainDefineXMLFlags(VALIDATE)`, so it is
//! never half-written. Live changes follow one call per field with `AFFECT_LIVE` (the config
//! already has them); one failing (a guest without balloon driver, vCPU hot-unplug refused)
//! leaves the saved value to take effect at the next start, and is reported with its field.

use virt::domain::Domain;
use virt::sys;

use super::conflict::{self, OutsideChanges};
use super::fields::{changed_fields, ApplyScope, Field};
use super::model::{vnc_graphics, DomainModel};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::backend::xml::domain_edit::{apply_edits, EditError};

/// Why nothing was written.
#[derive(Debug)]
pub enum ApplyError {
    /// Someone else changed a field the user edited: show the new values, ask again.
    Conflict(OutsideChanges),
    /// An edited value is refused (with its field), or the XML cannot be edited safely.
    Edit(EditError),
    /// The host refused (libvirt's reason: validation with the line, permissions, …).
    Host(BackendError),
}

impl From<BackendError> for ApplyError {
    fn from(error: BackendError) -> Self {
        Self::Host(error)
    }
}

impl From<virt::error::Error> for ApplyError {
    fn from(error: virt::error::Error) -> Self {
        Self::Host(error.into())
    }
}

impl From<EditError> for ApplyError {
    fn from(error: EditError) -> Self {
        Self::Edit(error)
    }
}

/// What was written where.
#[derive(Debug, Default)]
pub struct Applied {
    /// Written to the saved config.
    pub saved: Vec<Field>,
    /// Also changed in the running machine.
    pub live: Vec<Field>,
    /// Saved, in effect after the machine shuts down (the page marks these).
    pub after_shutdown: Vec<Field>,
    /// Live changes the host refused, with its reason; they too wait for a shutdown.
    pub live_failures: Vec<(Field, BackendError)>,
    /// Fields changed from outside that the edits kept (the page shows their new values).
    pub kept_outside_changes: Vec<Field>,
}

/// The saved config as the page edits it, with the VNC password when this connection may
/// read it.
pub fn read_config_xml(session: &HostSession, uuid: &str) -> Result<String, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    config_xml(&domain)
}

fn config_xml(domain: &Domain) -> Result<String, BackendError> {
    let inactive = sys::VIR_DOMAIN_XML_INACTIVE;
    Ok(domain
        .xml_desc(inactive | sys::VIR_DOMAIN_XML_SECURE)
        .or_else(|_| domain.xml_desc(inactive))?)
}

/// Writes the fields where `edited` differs from `opened_xml` (the config XML the page was
/// opened with, from [`read_config_xml`] so both reads carry the same secrets) onto the
/// config as it is now, unless one of them changed from outside.
pub fn apply(
    session: &HostSession,
    uuid: &str,
    opened_xml: &str,
    edited: &DomainModel,
) -> Result<Applied, ApplyError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    let current_xml = config_xml(&domain)?;
    let outside = conflict::check(opened_xml, edited, &current_xml).map_err(EditError::from)?;
    if !outside.can_apply() {
        return Err(ApplyError::Conflict(outside));
    }
    let opened = DomainModel::from_xml(opened_xml).map_err(EditError::from)?;
    let fields = changed_fields(&opened, edited);
    let mut applied = Applied {
        kept_outside_changes: outside.changed_fields,
        ..Applied::default()
    };
    if fields.is_empty() {
        return Ok(applied);
    }
    let new_xml = apply_edits(&current_xml, edited, &fields)?;
    session
        .connection()
        .define_domain_xml_flags(&new_xml, sys::VIR_DOMAIN_DEFINE_VALIDATE)?;
    applied.saved = fields.clone();
    let running = domain.is_active()?;
    for field in fields {
        match field.apply_scope(running) {
            ApplyScope::Config => {}
            ApplyScope::ConfigAfterShutdown => applied.after_shutdown.push(field),
            ApplyScope::LiveAndConfig => match change_live(&domain, field, edited) {
                Ok(()) => applied.live.push(field),
                Err(error) => {
                    applied.after_shutdown.push(field);
                    applied.live_failures.push((field, error));
                }
            },
        }
    }
    Ok(applied)
}

/// One field of the running machine, with `AFFECT_LIVE` only: the config has it already.
fn change_live(domain: &Domain, field: Field, edited: &DomainModel) -> Result<(), BackendError> {
    let live = sys::VIR_DOMAIN_AFFECT_LIVE;
    let text_or_none = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    match field {
        Field::Title => domain.set_metadata(
            sys::VIR_DOMAIN_METADATA_TITLE as i32,
            text_or_none(&edited.title).as_deref(),
            None,
            None,
            live,
        )?,
        Field::Description => domain.set_metadata(
            sys::VIR_DOMAIN_METADATA_DESCRIPTION as i32,
            text_or_none(&edited.description).as_deref(),
            None,
            None,
            live,
        )?,
        Field::Memory => domain.set_memory_flags(edited.memory_kib, live)?,
        Field::Vcpus => domain.set_vcpus_flags(edited.vcpus, live)?,
        Field::VncPassword => {
            let live_xml = domain.xml_desc(sys::VIR_DOMAIN_XML_SECURE)?;
            let changed = apply_edits(&live_xml, edited, &[Field::VncPassword])
                .map_err(|error| BackendError::new(ErrorKind::InvalidInput, error.to_string()))?;
            let graphics = graphics_element(&changed).ok_or_else(|| {
                BackendError::new(ErrorKind::InvalidInput, EditError::Overlap.to_string())
            })?;
            domain.update_device_flags(&graphics, live)?;
        }
        // Everything else only takes effect at the next start (see Field::apply_scope).
        _ => {}
    }
    Ok(())
}

/// The text of the first VNC `<graphics>` element, for virDomainUpdateDeviceFlags.
fn graphics_element(domain_xml: &str) -> Option<String> {
    let document = roxmltree::Document::parse(domain_xml).ok()?;
    let graphics = vnc_graphics(document.root_element())?;
    Some(domain_xml[graphics.range()].to_owned())
}

/// Makes the domain start with its host, or not (virDomainSetAutostart), on the host's
/// worker after Apply wrote the other changes: autostart is not in the XML.
pub fn set_autostart(session: &HostSession, uuid: &str, on: bool) -> Result<(), BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    Ok(domain.set_autostart(on)?)
}

#[cfg(test)]
mod tests {
    use super::graphics_element;

    #[test]
    fn the_graphics_element_is_cut_out_as_written() {
        let xml = "<domain><devices><graphics type='spice'/>\
            <graphics type='vnc' passwd='x'><listen type='address'/></graphics></devices></domain>";
        assert_eq!(
            graphics_element(xml).as_deref(),
            Some("<graphics type='vnc' passwd='x'><listen type='address'/></graphics>")
        );
        assert_eq!(graphics_element("<domain/>"), None);
    }
}
