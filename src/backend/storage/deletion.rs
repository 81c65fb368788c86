//! Which of a domain's disk images may be deleted with it (or with the disk), and why the
//! others are kept: never a read-only or shareable disk, never an image another domain on
//! the host uses (live or in its saved config), and only volumes of the host's pools.

use std::fmt;

use gettextrs::{gettext, ngettext};
use virt::sys;

use super::volumes::{self, DiskUser};
use crate::backend::domain::model::DomainModel;
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::i18n::gettext_f;

/// Why a disk image is not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    /// `<readonly/>`: typically a base image or a medium other machines rely on.
    ReadOnly,
    /// `<shareable/>`: meant to be used by several machines at once.
    Shareable,
    /// Other domains on the host name it in their disks: their names.
    UsedBy(Vec<String>),
    /// No active storage pool on the host holds it (a plain file, a network disk).
    NotAVolume,
    /// The host refused to delete it: its message.
    DeleteFailed(String),
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::ReadOnly => gettext("The disk is read-only, so other machines may rely on it."),
            Self::Shareable => gettext("The disk is shareable: other machines may use it at the same time."),
            Self::UsedBy(names) => ngettext(
                "The virtual machine {names} uses it too.",
                "The virtual machines {names} use it too.",
                u32::try_from(names.len()).unwrap_or(u32::MAX),
            )
            .replace("{names}", &quoted_list(names)),
            Self::NotAVolume => gettext(
                "It is not a volume of the host’s active storage pools, so Hangar does not delete it.",
            ),
            Self::DeleteFailed(reason) => {
                gettext_f("Deleting it failed: {reason}", &[("reason", reason)])
            }
        };
        f.write_str(&text)
    }
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("“{name}”"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One disk image of a domain and whether it may be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskVerdict {
    /// The disk's target (`vda`).
    pub target: String,
    /// The source as the XML names it: a path or `pool/volume`.
    pub source: String,
    /// The volume's path on the host, when a pool holds it.
    pub path: Option<String>,
    /// `None`: it may be deleted.
    pub keep: Option<KeepReason>,
}

impl DiskVerdict {
    /// What the user sees: the volume's path, else the source.
    pub fn shown(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.source)
    }

    pub fn deletable(&self) -> bool {
        self.keep.is_none()
    }
}

/// What deleting a domain's storage did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteOutcome {
    /// The volumes deleted, as shown.
    pub deleted: Vec<String>,
    /// The disks whose images were kept, with the reason.
    pub kept: Vec<DiskVerdict>,
}

/// A writable disk of the domain, merged over its live XML and saved config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDisk {
    pub target: String,
    pub source: String,
    pub readonly: bool,
    pub shareable: bool,
}

/// The domain's disk images (not CD-ROMs) over all its XMLs, one per source; a flag set in
/// either XML counts.
pub fn own_disks(models: &[DomainModel]) -> Vec<OwnDisk> {
    let mut disks: Vec<OwnDisk> = Vec::new();
    let devices = models
        .iter()
        .flat_map(|model| model.boot_devices.iter())
        .filter(|device| volumes::is_image_disk(device));
    for device in devices {
        let Some(source) = device.source.clone() else {
            continue;
        };
        match disks.iter_mut().find(|disk| disk.source == source) {
            Some(disk) => {
                disk.readonly |= device.readonly;
                disk.shareable |= device.shareable;
            }
            None => disks.push(OwnDisk {
                target: device.key.id.clone(),
                source,
                readonly: device.readonly,
                shareable: device.shareable,
            }),
        }
    }
    disks
}

/// Decides one disk: `names` are all the names its image goes by (see
/// [`volumes::names_of`]), `path` the volume's path when a pool holds it.
pub fn decide(
    disk: &OwnDisk,
    names: &[String],
    path: Option<String>,
    others: &[DiskUser],
) -> DiskVerdict {
    let users: Vec<String> = volumes::users_of(names, others)
        .into_iter()
        .map(|user| user.name.clone())
        .collect();
    let keep = if disk.readonly {
        Some(KeepReason::ReadOnly)
    } else if disk.shareable {
        Some(KeepReason::Shareable)
    } else if !users.is_empty() {
        Some(KeepReason::UsedBy(users))
    } else if path.is_none() {
        Some(KeepReason::NotAVolume)
    } else {
        None
    };
    DiskVerdict {
        target: disk.target.clone(),
        source: disk.source.clone(),
        path,
        keep,
    }
}

/// The live XML and, for a running domain, the saved config, read into models.
pub fn domain_models(domain: &virt::domain::Domain) -> Result<Vec<DomainModel>, BackendError> {
    let mut xmls = vec![domain.xml_desc(0)?];
    if domain.is_active()? {
        xmls.push(domain.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?);
    }
    xmls.iter()
        .map(|xml| {
            DomainModel::from_xml(xml)
                .map_err(|error| BackendError::new(ErrorKind::InvalidInput, error.to_string()))
        })
        .collect()
}

/// What deleting the storage of the domain with `uuid` would delete and keep.
pub fn plan(session: &HostSession, uuid: &str) -> Result<Vec<DiskVerdict>, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    let disks = own_disks(&domain_models(&domain)?);
    if disks.is_empty() {
        return Ok(Vec::new());
    }
    let others = volumes::disk_users(session, Some(uuid))?;
    disks
        .iter()
        .map(|disk| verdict(session, disk, &others))
        .collect()
}

/// Whether the image of the domain's disk `target` may be deleted when the disk is removed:
/// the domain's other disks count as users too.
pub fn plan_disk(
    session: &HostSession,
    uuid: &str,
    target: &str,
) -> Result<DiskVerdict, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    let models = domain_models(&domain)?;
    let disks = own_disks(&models);
    let Some(disk) = disks.iter().find(|disk| disk.target == target) else {
        return Err(BackendError::new(
            ErrorKind::NotFound,
            gettext_f(
                "The virtual machine has no disk {target} with an image.",
                &[("target", target)],
            ),
        ));
    };
    let mut others = volumes::disk_users(session, Some(uuid))?;
    let own_other_sources: Vec<String> = models
        .iter()
        .flat_map(|model| model.boot_devices.iter())
        .filter(|device| device.key.element == "disk" && device.key.id != target)
        .filter_map(|device| device.source.clone())
        .collect();
    if !own_other_sources.is_empty() {
        others.push(DiskUser {
            name: models
                .first()
                .map(|model| model.name.clone())
                .unwrap_or_default(),
            uuid: uuid.to_owned(),
            running: domain.is_active()?,
            sources: own_other_sources,
        });
    }
    verdict(session, disk, &others)
}

fn verdict(
    session: &HostSession,
    disk: &OwnDisk,
    others: &[DiskUser],
) -> Result<DiskVerdict, BackendError> {
    let volume = volumes::find_volume(session, &disk.source)?;
    let names = volumes::names_of(&disk.source, volume.as_ref());
    let path = volume.as_ref().and_then(|volume| volume.path().ok());
    Ok(decide(disk, &names, path, others))
}

/// Deletes the volumes the verdicts allow; the rest, and any the host refused, are kept.
pub fn delete_allowed(session: &HostSession, verdicts: Vec<DiskVerdict>) -> DeleteOutcome {
    let mut outcome = DeleteOutcome::default();
    for mut verdict in verdicts {
        if !verdict.deletable() {
            outcome.kept.push(verdict);
            continue;
        }
        let source = verdict
            .path
            .clone()
            .unwrap_or_else(|| verdict.source.clone());
        let deleted = match volumes::find_volume(session, &source) {
            Ok(Some(volume)) => volume.delete(0).map_err(BackendError::from),
            // Gone already: nothing left to delete.
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        match deleted {
            Ok(()) => outcome.deleted.push(verdict.shown().to_owned()),
            Err(error) => {
                verdict.keep = Some(KeepReason::DeleteFailed(error.user_message()));
                outcome.kept.push(verdict);
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(xml_devices: &str) -> Vec<DomainModel> {
        vec![DomainModel::from_xml(&format!(
            "<domain><name>me</name><devices>{xml_devices}</devices></domain>"
        ))
        .expect("model")]
    }

    fn disk(target: &str, source: &str, flags: &str) -> String {
        format!(
            "<disk type='file' device='disk'><source file='{source}'/>\
             <target dev='{target}' bus='virtio'/>{flags}</disk>"
        )
    }

    fn other(name: &str, sources: &[&str]) -> DiskUser {
        DiskUser {
            name: name.into(),
            uuid: name.into(),
            running: true,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn judge(disk: &OwnDisk, in_pool: bool, others: &[DiskUser]) -> Option<KeepReason> {
        let path = in_pool.then(|| disk.source.clone());
        decide(disk, std::slice::from_ref(&disk.source), path, others).keep
    }

    #[test]
    fn only_unshared_writable_volumes_are_deleted() {
        let disks = own_disks(&models(&format!(
            "{}{}{}{}{}",
            disk("vda", "/p/mine.qcow2", ""),
            disk("vdb", "/p/base.qcow2", "<readonly/>"),
            disk("vdc", "/p/cluster.raw", "<shareable/>"),
            disk("vdd", "/p/both.qcow2", ""),
            "<disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda'/></disk>",
        )));
        let targets: Vec<&str> = disks.iter().map(|d| d.target.as_str()).collect();
        assert_eq!(
            targets,
            ["vda", "vdb", "vdc", "vdd"],
            "CD-ROMs are never candidates"
        );
        let others = [other("db", &["/p/both.qcow2", "/iso/x.iso"])];
        let reasons: Vec<Option<KeepReason>> =
            disks.iter().map(|d| judge(d, true, &others)).collect();
        assert_eq!(
            reasons,
            [
                None,
                Some(KeepReason::ReadOnly),
                Some(KeepReason::Shareable),
                Some(KeepReason::UsedBy(vec!["db".into()])),
            ]
        );
        assert_eq!(
            judge(&disks[0], false, &others),
            Some(KeepReason::NotAVolume),
            "a file outside the pools is not deleted"
        );
    }

    #[test]
    fn a_flag_in_either_xml_keeps_the_disk_and_reasons_are_sentences() {
        let mut both = models(&disk("vda", "/p/a.qcow2", ""));
        both.extend(models(&disk("vda", "/p/a.qcow2", "<shareable/>")));
        let disks = own_disks(&both);
        assert_eq!(disks.len(), 1);
        assert!(disks[0].shareable);
        let used = KeepReason::UsedBy(vec!["web".into(), "db".into()]).to_string();
        assert_eq!(used, "The virtual machines “web”, “db” use it too.");
        assert!(KeepReason::ReadOnly.to_string().ends_with('.'));
    }
}
