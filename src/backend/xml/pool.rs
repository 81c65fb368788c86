//! A new storage pool: what the wizard asks, its checks, and the `<pool>` XML it defines.

use gettextrs::gettext;

use super::{host_name_problem, host_path_problem, object_name_problem, Element, FieldError};
use crate::i18n::gettext_f;

/// Where the pool's volumes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolKind {
    /// A directory on the host; volumes are files.
    Dir,
    /// An NFS export mounted at the target directory.
    Netfs { host: String, export_path: String },
    /// An LVM volume group; `devices` are its physical volumes when the pool builds it.
    Logical {
        volume_group: String,
        devices: Vec<String>,
    },
    /// The LUNs of an iSCSI target; volumes are those LUNs.
    Iscsi { host: String, target_iqn: String },
    /// A whole disk; volumes are its partitions.
    Disk { device: String },
}

impl PoolKind {
    /// libvirt's name for the kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Dir => "dir",
            Self::Netfs { .. } => "netfs",
            Self::Logical { .. } => "logical",
            Self::Iscsi { .. } => "iscsi",
            Self::Disk { .. } => "disk",
        }
    }

    /// True when `virStoragePoolBuild` can prepare it (iSCSI targets exist already).
    pub fn can_build(&self) -> bool {
        !matches!(self, Self::Iscsi { .. })
    }

    /// True when the wizard asks for the target: the others have a fixed one.
    pub fn has_target_path(&self) -> bool {
        matches!(self, Self::Dir | Self::Netfs { .. })
    }
}

/// Everything the new-pool wizard asks. The flags tell the caller what to do after defining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoragePoolSpec {
    pub name: String,
    pub kind: PoolKind,
    /// The directory (dir, netfs); the other kinds use fixed places under /dev.
    pub target_path: String,
    /// Create the directory, format the volume group or write a partition table first.
    /// For a disk pool this erases the disk.
    pub build: bool,
    pub start: bool,
    pub autostart: bool,
}

impl Default for StoragePoolSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            kind: PoolKind::Dir,
            target_path: String::new(),
            build: true,
            start: true,
            autostart: true,
        }
    }
}

/// The wizard fields a problem can be shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolField {
    Name,
    TargetPath,
    Host,
    /// The NFS export, the volume group, the iSCSI target or the disk device.
    Source,
    Devices,
    Build,
}

pub type PoolFieldError = FieldError<PoolField>;

/// Every problem in the spec; `existing_names` are the host's pools.
pub fn validate_pool(spec: &StoragePoolSpec, existing_names: &[String]) -> Vec<PoolFieldError> {
    let mut errors = Vec::new();
    let mut check = |field, problem: Option<String>| {
        if let Some(message) = problem {
            errors.push(PoolFieldError::new(field, message));
        }
    };
    check(PoolField::Name, object_name_problem(&spec.name));
    check(
        PoolField::Name,
        duplicate_problem(&spec.name, existing_names),
    );
    if spec.kind.has_target_path() {
        check(PoolField::TargetPath, host_path_problem(&spec.target_path));
    }
    match &spec.kind {
        PoolKind::Dir => {}
        PoolKind::Netfs { host, export_path } => {
            check(PoolField::Host, host_name_problem(host));
            check(PoolField::Source, host_path_problem(export_path));
        }
        PoolKind::Logical {
            volume_group,
            devices,
        } => {
            check(PoolField::Source, volume_group_problem(volume_group));
            check(PoolField::Devices, devices_problem(devices, spec.build));
        }
        PoolKind::Iscsi { host, target_iqn } => {
            check(PoolField::Host, host_name_problem(host));
            check(PoolField::Source, iqn_problem(target_iqn));
            check(PoolField::Build, spec.build.then(cannot_build_iscsi));
        }
        PoolKind::Disk { device } => check(PoolField::Source, host_path_problem(device)),
    }
    errors
}

/// The `<pool>` XML for `virStoragePoolDefineXML`, or every problem in the spec.
pub fn pool_xml(spec: &StoragePoolSpec) -> Result<String, Vec<PoolFieldError>> {
    let errors = validate_pool(spec, &[]);
    if !errors.is_empty() {
        return Err(errors);
    }
    let pool = Element::new("pool")
        .attr("type", spec.kind.as_str())
        .child(Element::with_text("name", &spec.name))
        .children(source_element(spec))
        .child(Element::new("target").child(Element::with_text("path", target_path(spec))));
    Ok(pool.render())
}

fn duplicate_problem(name: &str, existing_names: &[String]) -> Option<String> {
    existing_names
        .iter()
        .any(|existing| existing == name)
        .then(|| {
            gettext_f(
                "There is already a storage pool named “{name}” on this host.",
                &[("name", name)],
            )
        })
}

/// LVM allows letters, digits and `+_.-` in volume group names, not starting with `-`.
fn volume_group_problem(name: &str) -> Option<String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '_' | '.' | '-');
    if name.is_empty() {
        Some(gettext("Enter the name of the volume group."))
    } else if name.starts_with('-') || name == "." || name == ".." || !name.chars().all(valid_char)
    {
        Some(gettext(
            "A volume group name can only contain letters, digits and “+_.-”, and cannot start with “-”.",
        ))
    } else {
        None
    }
}

fn devices_problem(devices: &[String], build: bool) -> Option<String> {
    if build && devices.is_empty() {
        return Some(gettext(
            "Choose at least one disk or partition for the new volume group.",
        ));
    }
    devices.iter().find_map(|device| host_path_problem(device))
}

/// iSCSI names are `iqn.…`, `eui.…` or `naa.…` (RFC 3720), without spaces.
fn iqn_problem(iqn: &str) -> Option<String> {
    let known_prefix = ["iqn.", "eui.", "naa."]
        .iter()
        .any(|prefix| iqn.to_ascii_lowercase().starts_with(prefix));
    let no_spaces = !iqn.chars().any(|c| c.is_whitespace() || c.is_control());
    (!(known_prefix && no_spaces))
        .then(|| gettext("Enter the target’s iSCSI name, such as iqn.2024-01.com.example:storage."))
}

fn cannot_build_iscsi() -> String {
    gettext("An iSCSI target cannot be prepared from here; turn off building it.")
}

fn source_element(spec: &StoragePoolSpec) -> Option<Element> {
    let source = Element::new("source");
    let device = |path: &str| Element::new("device").attr("path", path);
    let format = |kind: &str| Element::new("format").attr("type", kind);
    match &spec.kind {
        PoolKind::Dir => None,
        PoolKind::Netfs { host, export_path } => Some(
            source
                .child(Element::new("host").attr("name", host))
                .child(Element::new("dir").attr("path", export_path))
                .child(format("nfs")),
        ),
        PoolKind::Logical {
            volume_group,
            devices,
        } => Some(
            source
                .child(Element::with_text("name", volume_group))
                .children(devices.iter().map(|path| device(path)))
                .child(format("lvm2")),
        ),
        PoolKind::Iscsi { host, target_iqn } => Some(
            source
                .child(Element::new("host").attr("name", host))
                .child(device(target_iqn)),
        ),
        // Building writes this partition table; an existing one is read whatever it is.
        PoolKind::Disk { device: path } => Some(
            source
                .child(device(path))
                .children(spec.build.then(|| format("gpt"))),
        ),
    }
}

/// Where the volumes appear on the host: fixed for the kinds that are not directories.
fn target_path(spec: &StoragePoolSpec) -> String {
    match &spec.kind {
        PoolKind::Dir | PoolKind::Netfs { .. } => spec.target_path.clone(),
        PoolKind::Logical { volume_group, .. } => format!("/dev/{volume_group}"),
        PoolKind::Iscsi { .. } => "/dev/disk/by-path".to_owned(),
        PoolKind::Disk { .. } => "/dev".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: PoolKind) -> StoragePoolSpec {
        StoragePoolSpec {
            name: "images".to_owned(),
            kind,
            target_path: "/srv/images".to_owned(),
            ..StoragePoolSpec::default()
        }
    }

    fn fields(errors: &[PoolFieldError]) -> Vec<PoolField> {
        errors.iter().map(|error| error.field).collect()
    }

    #[test]
    fn a_directory_pool_has_only_a_target() {
        assert_eq!(
            pool_xml(&spec(PoolKind::Dir)).unwrap(),
            "<pool type=\"dir\">\n  <name>images</name>\n  <target>\n    \
             <path>/srv/images</path>\n  </target>\n</pool>\n"
        );
    }

    #[test]
    fn duplicates_and_bad_paths_are_reported() {
        let mut spec = spec(PoolKind::Dir);
        spec.target_path = "images".to_owned();
        let errors = validate_pool(&spec, &["images".to_owned()]);
        assert_eq!(
            fields(&errors),
            vec![PoolField::Name, PoolField::TargetPath]
        );
    }

    #[test]
    fn netfs_needs_a_host_and_an_export() {
        let spec = spec(PoolKind::Netfs {
            host: String::new(),
            export_path: "exports/vm".to_owned(),
        });
        assert_eq!(
            fields(&pool_xml(&spec).unwrap_err()),
            vec![PoolField::Host, PoolField::Source]
        );
    }

    #[test]
    fn logical_pools_check_the_group_and_its_devices() {
        let building = spec(PoolKind::Logical {
            volume_group: "-vg".to_owned(),
            devices: vec![],
        });
        assert_eq!(
            fields(&pool_xml(&building).unwrap_err()),
            vec![PoolField::Source, PoolField::Devices]
        );
        let existing = StoragePoolSpec {
            build: false,
            ..spec(PoolKind::Logical {
                volume_group: "vg_data".to_owned(),
                devices: vec![],
            })
        };
        assert!(pool_xml(&existing)
            .unwrap()
            .contains("<path>/dev/vg_data</path>"));
    }

    #[test]
    fn iscsi_needs_a_name_and_cannot_be_built() {
        let spec = spec(PoolKind::Iscsi {
            host: "san.local".to_owned(),
            target_iqn: "storage".to_owned(),
        });
        assert_eq!(
            fields(&pool_xml(&spec).unwrap_err()),
            vec![PoolField::Source, PoolField::Build]
        );
        assert!(iqn_problem("iqn.2024-01.com.example:storage").is_none());
        assert!(iqn_problem("IQN.2024-01.com.example:storage").is_none());
        assert!(iqn_problem("iqn.2024 x").is_some());
    }

    #[test]
    fn disk_pools_get_a_partition_table_only_when_built() {
        let device = PoolKind::Disk {
            device: "/dev/sdb".to_owned(),
        };
        assert!(pool_xml(&spec(device.clone())).unwrap().contains("gpt"));
        let existing = StoragePoolSpec {
            build: false,
            ..spec(device)
        };
        assert!(!pool_xml(&existing).unwrap().contains("format"));
    }
}
