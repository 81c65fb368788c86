//! Lifecycle actions on domains, run on the host's worker thread.

use gettextrs::gettext;
use virt::sys;

use super::error::BackendError;
use super::libvirt::session::HostSession;
use super::storage::deletion::{self, DeleteOutcome, DiskVerdict};

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
        DomainAction::Delete { delete_storage } => {
            delete(session, &domain, uuid, *delete_storage)?;
        }
    }
    Ok(())
}

/// Undefines the domain with `uuid` (stopping it first). With `delete_storage`, also
/// deletes the volumes of its disks that nothing else needs (see `storage::deletion`),
/// and says which were kept and why.
pub fn delete_domain(
    session: &HostSession,
    uuid: &str,
    delete_storage: bool,
) -> Result<DeleteOutcome, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    delete(session, &domain, uuid, delete_storage)
}

fn delete(
    session: &HostSession,
    domain: &virt::domain::Domain,
    uuid: &str,
    delete_storage: bool,
) -> Result<DeleteOutcome, BackendError> {
    // Decided while the domain is still defined, so that its own XMLs are complete.
    let verdicts = if delete_storage {
        deletion::plan(session, uuid)?
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
    Ok(deletion::delete_allowed(session, verdicts))
}

/// Which of the disk images of the domain with `uuid` deleting it with its storage would
/// delete, and which it would keep and why.
pub fn disk_plan(session: &HostSession, uuid: &str) -> Result<Vec<DiskVerdict>, BackendError> {
    deletion::plan(session, uuid)
}
