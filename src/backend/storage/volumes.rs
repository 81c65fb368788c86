//! Finding the storage volume behind a disk, and the domains on the host that use it.
//!
//! A disk names its image by path (`<source file=…>`/`<source dev=…>`) or by pool and
//! volume (`<source pool=… volume=…>`, which the model reads as `pool/volume`). Another
//! domain may name the same volume either way, so a volume is known by all its names.

use virt::storage_vol::StorageVol;
use virt::sys;

use crate::backend::domain::model::{BootDevice, DeviceKind, DomainModel};
use crate::backend::error::BackendError;
use crate::backend::libvirt::session::HostSession;

/// A domain on the host and the images its disks (CD-ROMs too) use, live or saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUser {
    pub name: String,
    pub uuid: String,
    pub running: bool,
    /// The disks' sources as written in its XML: paths or `pool/volume`.
    pub sources: Vec<String>,
}

/// Whether the device is a disk image the guest writes to (not a CD-ROM), with a source.
pub fn is_image_disk(device: &BootDevice) -> bool {
    matches!(
        device.kind,
        DeviceKind::Disk | DeviceKind::Lun | DeviceKind::Floppy
    ) && device.source.is_some()
}

/// The sources of every `<disk>` of a domain (CD-ROMs and floppies included), in XML order.
pub fn disk_sources_of(model: &DomainModel) -> Vec<String> {
    model
        .boot_devices
        .iter()
        .filter(|device| device.key.element == "disk")
        .filter_map(|device| device.source.clone())
        .collect()
}

/// The volume a disk source names (a path or `pool/volume`); `None` when no active pool
/// on the host holds it.
pub fn find_volume(
    session: &HostSession,
    source: &str,
) -> Result<Option<StorageVol>, BackendError> {
    let connection = session.connection();
    let found = if source.starts_with('/') {
        connection.lookup_storage_vol_by_path(source)
    } else {
        let Some((pool, volume)) = source.split_once('/') else {
            return Ok(None);
        };
        match connection.lookup_storage_pool_by_name(pool) {
            Ok(pool) => pool.lookup_storage_vol_by_name(volume),
            Err(error) => Err(error),
        }
    };
    match found {
        Ok(volume) => Ok(Some(volume)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn is_not_found(error: &virt::error::Error) -> bool {
    matches!(
        error.code().to_raw(),
        sys::VIR_ERR_NO_STORAGE_VOL | sys::VIR_ERR_NO_STORAGE_POOL | sys::VIR_ERR_INVALID_ARG
    )
}

/// Every name a disk's image goes by: the source as written, and for a volume its path
/// and `pool/volume`.
pub fn names_of(source: &str, volume: Option<&StorageVol>) -> Vec<String> {
    let mut names = vec![source.to_owned()];
    if let Some(volume) = volume {
        if let Ok(path) = volume.path() {
            names.push(path);
        }
        if let (Ok(pool), Ok(name)) = (
            volume.lookup_storage_pool().and_then(|pool| pool.name()),
            volume.name(),
        ) {
            names.push(format!("{pool}/{name}"));
        }
    }
    names.dedup();
    names
}

/// The domains (other than `except_uuid`) whose disks name one of `names`, by name.
pub fn users_of<'a>(names: &[String], users: &'a [DiskUser]) -> Vec<&'a DiskUser> {
    users
        .iter()
        .filter(|user| user.sources.iter().any(|source| names.contains(source)))
        .collect()
}

/// Every domain on the host but `except_uuid`, with the images its disks use in its live
/// XML and its saved config (one call to list, one or two per domain).
pub fn disk_users(
    session: &HostSession,
    except_uuid: Option<&str>,
) -> Result<Vec<DiskUser>, BackendError> {
    let mut users = Vec::new();
    for domain in session.connection().list_all_domains(0)? {
        let Ok(uuid) = domain.uuid_string() else {
            continue;
        };
        if Some(uuid.as_str()) == except_uuid {
            continue;
        }
        match read_user(&domain, uuid) {
            Ok(user) => users.push(user),
            // Undefined while we looked: it uses nothing any more.
            Err(error) if error.code().to_raw() == sys::VIR_ERR_NO_DOMAIN => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(users)
}

fn read_user(domain: &virt::domain::Domain, uuid: String) -> Result<DiskUser, virt::error::Error> {
    let running = domain.is_active()?;
    let mut xmls = vec![domain.xml_desc(0)?];
    if running {
        xmls.push(domain.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?);
    }
    let mut user = DiskUser {
        name: domain.name()?,
        uuid,
        running,
        sources: Vec::new(),
    };
    for xml in xmls {
        // A definition the model cannot read still names its disks somewhere: keep its
        // raw text, so that any path in it counts as used rather than as free.
        match DomainModel::from_xml(&xml) {
            Ok(model) => user.sources.extend(disk_sources_of(&model)),
            Err(_) => user.sources.extend(quoted_paths(&xml)),
        }
    }
    user.sources.sort();
    user.sources.dedup();
    Ok(user)
}

/// Every quoted absolute path in a text (for XML the model could not read).
fn quoted_paths(xml: &str) -> Vec<String> {
    xml.split(['\'', '"'])
        .skip(1)
        .step_by(2)
        .filter(|part| part.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, sources: &[&str]) -> DiskUser {
        DiskUser {
            name: name.into(),
            uuid: format!("uuid-{name}"),
            running: false,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_volume_is_used_under_any_of_its_names() {
        let users = [
            user("by-path", &["/pool/a.qcow2"]),
            user("by-volume", &["images/a.qcow2"]),
            user("other", &["/pool/b.qcow2"]),
        ];
        let names = vec!["/pool/a.qcow2".to_owned(), "images/a.qcow2".to_owned()];
        let found: Vec<&str> = users_of(&names, &users)
            .iter()
            .map(|user| user.name.as_str())
            .collect();
        assert_eq!(found, ["by-path", "by-volume"]);
    }

    #[test]
    fn cdroms_count_as_uses_and_unreadable_xml_keeps_its_paths() {
        let model = DomainModel::from_xml(
            "<domain><devices>\
             <disk type='file' device='cdrom'><source file='/iso/a.iso'/><target dev='sda'/></disk>\
             <interface type='bridge'><source bridge='br0'/></interface>\
             </devices></domain>",
        )
        .expect("model");
        assert_eq!(disk_sources_of(&model), ["/iso/a.iso"]);
        assert_eq!(
            quoted_paths("<domain><disk><source file='/x/y.img'/></disk>"),
            ["/x/y.img"]
        );
    }
}
