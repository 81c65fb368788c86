//! The new-pool form as typed: one text per field, whatever the pool type, and the
//! `StoragePoolSpec` it stands for. Kept apart from the dialog so it is tested without GTK.

use super::xml::pool::{PoolKind, StoragePoolSpec};

/// Where new directory pools go when the user does not say otherwise.
const DEFAULT_POOL_PARENT: &str = "/var/lib/libvirt/images";

/// The pool types in the order of the form's drop-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PoolType {
    #[default]
    Dir,
    Netfs,
    Logical,
    Iscsi,
    Disk,
}

impl PoolType {
    pub const ALL: [Self; 5] = [
        Self::Dir,
        Self::Netfs,
        Self::Logical,
        Self::Iscsi,
        Self::Disk,
    ];

    /// Which fields the form shows for this type.
    pub fn has_target_path(self) -> bool {
        matches!(self, Self::Dir | Self::Netfs)
    }

    pub fn has_host(self) -> bool {
        matches!(self, Self::Netfs | Self::Iscsi)
    }

    /// Every type but a directory has one source text (export, group, IQN or device).
    pub fn has_source(self) -> bool {
        self != Self::Dir
    }

    pub fn has_devices(self) -> bool {
        self == Self::Logical
    }

    /// iSCSI targets exist already: there is nothing to build.
    pub fn can_build(self) -> bool {
        self != Self::Iscsi
    }

    /// Building a volume group or a partition table erases the disks, so it is opt-in there.
    pub fn builds_by_default(self) -> bool {
        matches!(self, Self::Dir | Self::Netfs)
    }
}

/// What the new-pool form holds; texts exactly as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolForm {
    pub pool_type: PoolType,
    pub name: String,
    pub target_path: String,
    pub host: String,
    /// The NFS export path, the volume group, the iSCSI target IQN or the disk device.
    pub source: String,
    /// The volume group's devices, separated by commas or spaces.
    pub devices: String,
    pub build: bool,
    pub start: bool,
    pub autostart: bool,
}

impl Default for PoolForm {
    fn default() -> Self {
        Self {
            pool_type: PoolType::Dir,
            name: String::new(),
            target_path: default_target_path(""),
            host: String::new(),
            source: String::new(),
            devices: String::new(),
            build: true,
            start: true,
            autostart: true,
        }
    }
}

impl PoolForm {
    /// The spec the form stands for. Surrounding spaces are dropped: they are never meant.
    pub fn to_spec(&self) -> StoragePoolSpec {
        let host = self.host.trim().to_owned();
        let source = self.source.trim().to_owned();
        let kind = match self.pool_type {
            PoolType::Dir => PoolKind::Dir,
            PoolType::Netfs => PoolKind::Netfs {
                host,
                export_path: source,
            },
            PoolType::Logical => PoolKind::Logical {
                volume_group: source,
                devices: split_devices(&self.devices),
            },
            PoolType::Iscsi => PoolKind::Iscsi {
                host,
                target_iqn: source,
            },
            PoolType::Disk => PoolKind::Disk { device: source },
        };
        StoragePoolSpec {
            name: self.name.trim().to_owned(),
            target_path: if self.pool_type.has_target_path() {
                self.target_path.trim().to_owned()
            } else {
                String::new()
            },
            build: self.build && self.pool_type.can_build(),
            start: self.start,
            autostart: self.autostart,
            kind,
        }
    }
}

/// `/var/lib/libvirt/images/NAME`: where a directory pool goes unless the user says otherwise.
pub fn default_target_path(name: &str) -> String {
    format!("{DEFAULT_POOL_PARENT}/{}", name.trim())
}

/// Device paths from a list typed with commas, spaces or both.
pub fn split_devices(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|device| !device.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pool_type: PoolType) -> PoolForm {
        PoolForm {
            pool_type,
            name: " images ".to_owned(),
            target_path: "/srv/images ".to_owned(),
            host: " nas.local".to_owned(),
            source: "/exports/vm ".to_owned(),
            devices: "/dev/sdb, /dev/sdc,,/dev/sdd  /dev/sde".to_owned(),
            ..PoolForm::default()
        }
    }

    #[test]
    fn a_directory_keeps_only_its_target() {
        let spec = form(PoolType::Dir).to_spec();
        assert_eq!(spec.name, "images");
        assert_eq!(spec.kind, PoolKind::Dir);
        assert_eq!(spec.target_path, "/srv/images");
        assert!(spec.build && spec.start && spec.autostart);
    }

    #[test]
    fn each_type_takes_its_own_fields() {
        assert_eq!(
            form(PoolType::Netfs).to_spec().kind,
            PoolKind::Netfs {
                host: "nas.local".into(),
                export_path: "/exports/vm".into()
            }
        );
        let logical = form(PoolType::Logical).to_spec();
        assert_eq!(logical.target_path, "");
        assert_eq!(
            logical.kind,
            PoolKind::Logical {
                volume_group: "/exports/vm".into(),
                devices: vec![
                    "/dev/sdb".into(),
                    "/dev/sdc".into(),
                    "/dev/sdd".into(),
                    "/dev/sde".into()
                ]
            }
        );
        assert_eq!(
            form(PoolType::Disk).to_spec().kind,
            PoolKind::Disk {
                device: "/exports/vm".into()
            }
        );
    }

    #[test]
    fn iscsi_is_never_built() {
        let spec = form(PoolType::Iscsi).to_spec();
        assert!(!spec.build);
        assert_eq!(
            spec.kind,
            PoolKind::Iscsi {
                host: "nas.local".into(),
                target_iqn: "/exports/vm".into()
            }
        );
    }

    #[test]
    fn the_default_target_follows_the_name() {
        assert_eq!(default_target_path(" web "), "/var/lib/libvirt/images/web");
        assert_eq!(split_devices(" , "), Vec::<String>::new());
    }
}
