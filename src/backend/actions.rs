//! Lifecycle actions on domains, run on the host's worker thread.

use gettextrs::gettext;
use virt::sys;

use super::domain::model::DomainModel;
use super::error::BackendError;
use super::libvirt::session::HostSession;

/// What the user can do to a domain from the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainAction {
    Start,
    /// Ask the guest to shut down (ACPI).
    Shutdown,
    Reboot,
    /// Pull the plug.
    ForceOff,
    Pause,
    Resume,
    /// Save the guest's memory to disk and stop it; the next start resumes it.
    ManagedSave,
    SetAutostart(bool),
    Rename(String),
    /// Undefine; with `delete_storage`, also delete the volumes of its disks.
    Delete {
        delete_storage: bool,
    },
}

impl DomainAction {
    /// The action as a short verb phrase, for messages ("Start", "Force off").
    pub fn label(&self) -> String {
        match self {
            Self::Start => gettext("Start"),
            Self::Shutdown => gettext("Shut Down"),
            Self::Reboot => gettext("Reboot"),
            Self::ForceOff => gettext("Force Off"),
            Self::Pause => gettext("Pause"),
            Self::Resume => gettext("Resume"),
            Self::ManagedSave => gettext("Save"),
            Self::SetAutostart(true) => gettext("Start with Host"),
            Self::SetAutostart(false) => gettext("Don’t Start with Host"),
            Self::Rename(_) => gettext("Rename"),
            Self::Delete { .. } => gettext("Delete"),
        }
    }
}

/// Runs `action` on the domain with `uuid`.
pub fn run(session: &HostSession, uuid: &str, action: &DomainAction) -> Result<(), BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    match action {
        DomainAction::Start => domain.create()?,
        DomainAction::Shutdown => domain.shutdown()?,
        DomainAction::Reboot => domain.reboot(0)?,
        DomainAction::ForceOff => domain.destroy()?,
        DomainAction::Pause => domain.suspend()?,
        DomainAction::Resume => domain.resume()?,
        DomainAction::ManagedSave => domain.managed_save(0)?,
        DomainAction::SetAutostart(on) => domain.set_autostart(*on)?,
        DomainAction::Rename(name) => domain.rename(name, 0)?,
        DomainAction::Delete { delete_storage } => delete(session, &domain, *delete_storage)?,
    }
    Ok(())
}

/// Undefines a domain (stopping it first), optionally deleting its disk volumes afterwards.
fn delete(
    session: &HostSession,
    domain: &virt::domain::Domain,
    delete_storage: bool,
) -> Result<(), BackendError> {
    let volumes = if delete_storage {
        let xml = domain.xml_desc(0)?;
        disk_sources(&xml)
    } else {
        Vec::new()
    };
    if domain.is_active()? {
        domain.destroy()?;
    }
    let flags = sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | sys::VIR_DOMAIN_UNDEFINE_NVRAM;
    if domain.undefine_flags(flags).is_err() {
        // Drivers that know none of these flags (the test driver) take a plain undefine.
        domain.undefine()?;
    }
    for path in volumes {
        if let Ok(volume) = session.connection().lookup_storage_vol_by_path(&path) {
            volume.delete(0)?;
        }
    }
    Ok(())
}

/// The disk image paths of the domain with `uuid` (one XML fetch).
pub fn disk_paths(session: &HostSession, uuid: &str) -> Result<Vec<String>, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    Ok(disk_sources(&domain.xml_desc(0)?))
}

/// The file or device paths of a domain's writable disks (not CD-ROMs), from its XML.
pub fn disk_sources(domain_xml: &str) -> Vec<String> {
    DomainModel::from_xml(domain_xml)
        .map(|model| model.disk_image_paths())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::disk_sources;

    #[test]
    fn disks_but_not_cdroms_are_listed() {
        let xml = "<domain><devices>\
            <disk type='file' device='disk'><source file='/var/lib/libvirt/images/a.qcow2'/></disk>\
            <disk type='file' device='cdrom'><source file='/iso/debian.iso'/></disk>\
            <disk type='block' device='disk'><source dev='/dev/vg/b'/></disk>\
            </devices></domain>";
        assert_eq!(
            disk_sources(xml),
            ["/var/lib/libvirt/images/a.qcow2", "/dev/vg/b"]
        );
    }
}
