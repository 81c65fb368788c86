//! Adding a device to a domain: a disk's new volume is created in its pool first (through
//! the storage API, never as a path on the desktop) and deleted again when the domain does
//! not take the disk; a volume's format is read from the pool so QEMU opens it right.

use gettextrs::gettext;
use virt::storage_vol::StorageVol;

use crate::backend::domain::device_apply::{attach, DeviceApplied, DeviceApplyError, DeviceScope};
use crate::backend::domain::device_list::{DeviceClass, DeviceSettings, DiskSource};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::backend::xml::device_xml::new_device_xml;
use crate::backend::xml::volume::VolumeFormat;
use crate::i18n::gettext_f;

/// A volume to create for a new disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVolumeSpec {
    pub pool: String,
    pub name: String,
    pub bytes: u64,
    pub format: VolumeFormat,
}

/// A device to add, as the dialog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub class: DeviceClass,
    pub settings: DeviceSettings,
    /// A disk on a volume created first (its source is set to it).
    pub new_volume: Option<NewVolumeSpec>,
}

/// The `<volume>` of `spec`, its capacity in bytes.
pub fn volume_xml(spec: &NewVolumeSpec) -> String {
    format!(
        "<volume>\n  <name>{}</name>\n  <capacity unit='bytes'>{}</capacity>\n  <target>\n    <format type='{}'/>\n  </target>\n</volume>",
        quick_xml::escape::escape(spec.name.as_str()),
        spec.bytes,
        spec.format.as_str()
    )
}

/// Adds `device` to the domain `uuid`, creating its volume first when it has one.
pub fn add_device(
    session: &HostSession,
    uuid: &str,
    device: &NewDevice,
    scope: DeviceScope,
) -> Result<DeviceApplied, DeviceApplyError> {
    let mut settings = device.settings.clone();
    let created = match (&device.new_volume, &mut settings) {
        (Some(spec), DeviceSettings::Disk(disk)) => {
            let volume = create_volume(session, spec)?;
            disk.source = DiskSource::Volume {
                pool: spec.pool.clone(),
                volume: spec.name.clone(),
            };
            disk.format = Some(spec.format.as_str().to_owned());
            Some(volume)
        }
        (_, DeviceSettings::Disk(disk)) if disk.format.is_none() => {
            disk.format = volume_format(session, &disk.source);
            None
        }
        _ => None,
    };
    let result = new_device_xml(&device.class, &settings)
        .map_err(DeviceApplyError::from)
        .and_then(|xml| attach(session, uuid, &xml, scope));
    if result.is_err() {
        if let Some(volume) = created {
            let _ = volume.delete(0);
        }
    }
    result
}

fn create_volume(
    session: &HostSession,
    spec: &NewVolumeSpec,
) -> Result<StorageVol, DeviceApplyError> {
    let failed = |error: virt::error::Error| {
        let detail = BackendError::from(error).detail;
        DeviceApplyError::from(BackendError::new(
            ErrorKind::InvalidInput,
            gettext_f(
                "The volume “{name}” could not be created in the pool “{pool}”: {reason}",
                &[
                    ("name", &spec.name),
                    ("pool", &spec.pool),
                    ("reason", &detail),
                ],
            ),
        ))
    };
    let pool = session
        .connection()
        .lookup_storage_pool_by_name(&spec.pool)
        .map_err(failed)?;
    if spec.bytes == 0 {
        return Err(DeviceApplyError::from(BackendError::new(
            ErrorKind::InvalidInput,
            gettext("A new volume needs a size above zero."),
        )));
    }
    StorageVol::create_xml(&pool, &volume_xml(spec), 0).map_err(failed)
}

/// The format the pool gives a volume or a file of a pool (`qcow2`, `raw`); `None` when the
/// host does not know the file or gives another format.
fn volume_format(session: &HostSession, source: &DiskSource) -> Option<String> {
    let conn = session.connection();
    let volume = match source {
        DiskSource::Volume { pool, volume } => conn
            .lookup_storage_pool_by_name(pool)
            .and_then(|pool| pool.lookup_storage_vol_by_name(volume))
            .ok()?,
        DiskSource::File(path) => conn.lookup_storage_vol_by_path(path).ok()?,
        _ => return None,
    };
    let xml = volume.xml_desc(0).ok()?;
    format_of(&xml)
}

/// `<target><format type>` of a volume's XML, when Hangar offers that format.
pub fn format_of(volume_xml: &str) -> Option<String> {
    let document = roxmltree::Document::parse(volume_xml).ok()?;
    let target = document
        .root_element()
        .children()
        .find(|node| node.has_tag_name("target"))?;
    let format = target
        .children()
        .find(|node| node.has_tag_name("format"))?
        .attribute("type")?;
    ["qcow2", "raw"]
        .contains(&format)
        .then(|| format.to_owned())
}

/// A volume name for a new disk of `domain` on target `target` not in `taken`:
/// `name-vdb.qcow2`, then `name-vdb-2.qcow2`, ….
pub fn suggest_volume_name(
    domain: &str,
    target: &str,
    format: VolumeFormat,
    taken: &[String],
) -> String {
    let extension = match format {
        VolumeFormat::Qcow2 => "qcow2",
        VolumeFormat::Raw => "img",
    };
    (1..)
        .map(|n| match n {
            1 => format!("{domain}-{target}.{extension}"),
            n => format!("{domain}-{target}-{n}.{extension}"),
        })
        .find(|name| !taken.contains(name))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_volumes_are_sized_in_bytes_with_escaped_names() {
        let spec = NewVolumeSpec {
            pool: "default".into(),
            name: "a<b.qcow2".into(),
            bytes: 16 << 20,
            format: VolumeFormat::Qcow2,
        };
        let xml = volume_xml(&spec);
        assert!(xml.contains("<name>a&lt;b.qcow2</name>"), "{xml}");
        assert!(xml.contains("<capacity unit='bytes'>16777216</capacity>"));
        assert!(xml.contains("<format type='qcow2'/>"));
        assert!(roxmltree::Document::parse(&xml).is_ok());
    }

    #[test]
    fn formats_come_from_the_volume_and_names_are_free() {
        let xml =
            "<volume><name>x</name><target><path>/x</path><format type='qcow2'/></target></volume>";
        assert_eq!(format_of(xml).as_deref(), Some("qcow2"));
        assert_eq!(
            format_of("<volume><target><format type='vmdk'/></target></volume>"),
            None
        );
        let taken = vec!["web-vdb.qcow2".to_owned()];
        assert_eq!(
            suggest_volume_name("web", "vdb", VolumeFormat::Qcow2, &taken),
            "web-vdb-2.qcow2"
        );
        assert_eq!(
            suggest_volume_name("web", "vdb", VolumeFormat::Raw, &taken),
            "web-vdb.img"
        );
    }
}
