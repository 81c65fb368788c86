//! Growing a disk: while the domain runs through QEMU (`virDomainBlockResize`, the guest
//! sees the new size at once), while it is off through the storage pool that holds the
//! image (`virStorageVolResize`). Shrinking is refused before anything changes: it cuts off
//! whatever the guest keeps at the end of the disk.

use std::fmt;

use gettextrs::gettext;
use virt::sys;

use super::model::{DeviceKind, DomainModel};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::backend::storage::volumes;
use crate::i18n::gettext_f;

/// Why a disk was not resized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResizeError {
    /// The new size is smaller than the disk: sizes in bytes.
    Shrink { current: u64, requested: u64 },
    /// No disk with this target.
    NoSuchDisk(String),
    /// A CD-ROM or a read-only disk.
    NotWritable(String),
    /// Off, and no storage pool on the host holds the image (a plain file elsewhere).
    NotInPool(String),
    /// Off, but a running domain has the image open: its name.
    InUseBy(String),
    /// libvirt refused or failed.
    Backend(BackendError),
}

impl fmt::Display for ResizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Shrink { current, requested } => gettext_f(
                "Disks can only grow: {requested} is smaller than the disk’s {current}, and shrinking would cut off what the guest keeps at its end.",
                &[
                    ("requested", &format_bytes(*requested)),
                    ("current", &format_bytes(*current)),
                ],
            ),
            Self::NoSuchDisk(target) => gettext_f(
                "The virtual machine has no disk {target}.",
                &[("target", target)],
            ),
            Self::NotWritable(target) => gettext_f(
                "Disk {target} is a CD-ROM or read-only; only writable disks can be resized.",
                &[("target", target)],
            ),
            Self::NotInPool(source) => gettext_f(
                "{source} is in none of the host’s storage pools, so it cannot be resized while the virtual machine is off. Start the machine to grow it, or add its folder as a storage pool.",
                &[("source", source)],
            ),
            Self::InUseBy(name) => gettext_f(
                "The running virtual machine “{name}” uses this image; grow it from there.",
                &[("name", name)],
            ),
            Self::Backend(error) => error.user_message(),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for ResizeError {}

impl From<BackendError> for ResizeError {
    fn from(error: BackendError) -> Self {
        Self::Backend(error)
    }
}

impl From<virt::error::Error> for ResizeError {
    fn from(error: virt::error::Error) -> Self {
        Self::Backend(error.into())
    }
}

/// What a resize did, sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resized {
    pub before: u64,
    pub after: u64,
    /// Grown in the running guest (else the volume of a machine that is off).
    pub live: bool,
}

/// Whether a disk of `current` bytes may become `requested` bytes: `Ok(false)` when it
/// already has that size, a refusal when it would shrink.
pub fn check_grow(current: u64, requested: u64) -> Result<bool, ResizeError> {
    if requested < current {
        Err(ResizeError::Shrink { current, requested })
    } else {
        Ok(requested > current)
    }
}

/// Sizes as people read them: binary units with one decimal, and the exact bytes when the
/// rounding hides a difference.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} {}", gettext("bytes"))
    } else if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {} ({bytes} {})", UNITS[unit], gettext("bytes"))
    }
}

/// The disk's source, checked to be a writable disk of the domain.
fn writable_disk(xml: &str, target: &str) -> Result<Option<String>, ResizeError> {
    let model = DomainModel::from_xml(xml)
        .map_err(|error| BackendError::new(ErrorKind::InvalidInput, error.to_string()))?;
    let disk = model
        .boot_devices
        .into_iter()
        .find(|device| device.key.element == "disk" && device.key.id == target)
        .ok_or_else(|| ResizeError::NoSuchDisk(target.to_owned()))?;
    if disk.readonly || !matches!(disk.kind, DeviceKind::Disk | DeviceKind::Lun) {
        return Err(ResizeError::NotWritable(target.to_owned()));
    }
    Ok(disk.source)
}

/// The size of the domain's disk `target` in bytes, as the guest sees it when running,
/// else as its volume's capacity.
pub fn disk_capacity(session: &HostSession, uuid: &str, target: &str) -> Result<u64, ResizeError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    if domain.is_active()? {
        return Ok(domain.block_info(target, 0)?.capacity);
    }
    let source = writable_disk(&domain.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?, target)?
        .ok_or_else(|| ResizeError::NotInPool(target.to_owned()))?;
    let volume = volumes::find_volume(session, &source)?
        .ok_or_else(|| ResizeError::NotInPool(source.clone()))?;
    Ok(volume.info()?.capacity)
}

/// Grows the domain's disk `target` to `bytes`: live while the domain runs, else its
/// volume. Refuses to shrink before changing anything.
pub fn resize_disk(
    session: &HostSession,
    uuid: &str,
    target: &str,
    bytes: u64,
) -> Result<Resized, ResizeError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    if domain.is_active()? {
        writable_disk(&domain.xml_desc(0)?, target)?;
        let before = domain.block_info(target, 0)?.capacity;
        if check_grow(before, bytes)? {
            domain.block_resize(target, bytes, sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES)?;
        }
        let after = domain.block_info(target, 0)?.capacity;
        return Ok(Resized {
            before,
            after,
            live: true,
        });
    }
    let source = writable_disk(&domain.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?, target)?
        .ok_or_else(|| ResizeError::NotInPool(target.to_owned()))?;
    let volume = volumes::find_volume(session, &source)?
        .ok_or_else(|| ResizeError::NotInPool(source.clone()))?;
    let names = volumes::names_of(&source, Some(&volume));
    let users = volumes::disk_users(session, Some(uuid))?;
    if let Some(user) = volumes::users_of(&names, &users)
        .into_iter()
        .find(|user| user.running)
    {
        return Err(ResizeError::InUseBy(user.name.clone()));
    }
    let before = volume.info()?.capacity;
    if check_grow(before, bytes)? {
        // Without VIR_STORAGE_VOL_RESIZE_SHRINK libvirt itself refuses to shrink too.
        volume.resize(bytes, 0)?;
    }
    Ok(Resized {
        before,
        after: volume.info()?.capacity,
        live: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn shrinking_is_refused_with_both_sizes() {
        let refusal = check_grow(64 * MIB, 32 * MIB).expect_err("shrink");
        assert_eq!(
            refusal,
            ResizeError::Shrink {
                current: 64 * MIB,
                requested: 32 * MIB
            }
        );
        let text = refusal.to_string();
        assert!(text.contains("32 MiB") && text.contains("64 MiB"), "{text}");
        assert_eq!(check_grow(64 * MIB, 64 * MIB), Ok(false));
        assert_eq!(check_grow(64 * MIB, 96 * MIB), Ok(true));
        // One byte less is still a shrink, and the message shows the difference.
        let text = check_grow(64 * MIB, 64 * MIB - 1)
            .expect_err("shrink")
            .to_string();
        assert!(text.contains("67108863 bytes"), "{text}");
    }

    #[test]
    fn only_writable_disks_are_resized() {
        let xml = "<domain><devices>\
            <disk type='file' device='disk'><source file='/p/a.qcow2'/><target dev='vda'/></disk>\
            <disk type='file' device='disk'><source file='/p/b.qcow2'/><target dev='vdb'/><readonly/></disk>\
            <disk type='file' device='cdrom'><target dev='sda'/></disk>\
            </devices></domain>";
        assert_eq!(writable_disk(xml, "vda"), Ok(Some("/p/a.qcow2".into())));
        assert_eq!(
            writable_disk(xml, "vdb"),
            Err(ResizeError::NotWritable("vdb".into()))
        );
        assert_eq!(
            writable_disk(xml, "sda"),
            Err(ResizeError::NotWritable("sda".into()))
        );
        assert_eq!(
            writable_disk(xml, "vdz"),
            Err(ResizeError::NoSuchDisk("vdz".into()))
        );
    }
}
