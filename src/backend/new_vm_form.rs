//! The new-machine wizard's answers as its pages hold them, and the `NewVmSpec` (plus the disk
//! volume and the upload) they stand for. Kept apart from the wizard so it is tested without
//! GTK or a host.

use std::collections::HashMap;
use std::path::Path;

use gettextrs::gettext;

use super::create::{CreationFacts, NewVolume};
use super::osinfo::{defaults_for, IsoIdentity, OsEntry};
use super::uri::ConnectionUri;
use super::xml::domain::{
    validate, ConsoleSpec, DiskBus, DomainType, Firmware, HostLimits, InstallSource, NetworkChoice,
    NewVmSpec, NicModel, OsChoice, StorageChoice, VmField, VmFieldError,
};
use super::xml::volume::{volume_xml, VolumeFormat};

/// The wizard's pages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WizardPage {
    Source,
    System,
    Resources,
    Storage,
    Details,
    Review,
}

impl WizardPage {
    pub const ALL: [Self; 6] = [
        Self::Source,
        Self::System,
        Self::Resources,
        Self::Storage,
        Self::Details,
        Self::Review,
    ];

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|page| *page == self).unwrap_or(0)
    }

    /// The page that asks for `field`, where its problems are shown.
    pub fn of(field: VmField) -> Self {
        match field {
            VmField::InstallSource => Self::Source,
            VmField::Memory | VmField::Vcpus => Self::Resources,
            VmField::Disk | VmField::DiskSize => Self::Storage,
            VmField::Name
            | VmField::Title
            | VmField::Network
            | VmField::ConsoleListen
            | VmField::ConsolePassword => Self::Details,
        }
    }
}

/// Where the system comes from, in the order of the first page's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    #[default]
    PoolIso,
    LocalIso,
    Url,
    Import,
    Pxe,
}

impl SourceKind {
    pub const ALL: [Self; 5] = [
        Self::PoolIso,
        Self::LocalIso,
        Self::Url,
        Self::Import,
        Self::Pxe,
    ];
}

/// The machine's disk, in the order of the storage page's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskKind {
    #[default]
    New,
    Existing,
    None,
}

impl DiskKind {
    pub const ALL: [Self; 3] = [Self::New, Self::Existing, Self::None];
}

/// What the network card is plugged into, apart from the virtual network's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkKind {
    #[default]
    Virtual,
    Bridge,
    Macvtap,
    None,
}

/// What the wizard knows about the local ISO file the user chose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LocalIsoCheck {
    /// No file yet, or not looked at yet.
    #[default]
    NotChecked,
    /// Being read off the main thread.
    Checking,
    /// An ISO 9660 image with these identifiers.
    Iso(IsoIdentity),
    /// Not an ISO image, or unreadable: the sentence says which.
    Problem(String),
}

/// An ISO volume already in a pool of the host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolVolume {
    pub pool: String,
    pub volume: String,
    pub path: String,
}

/// A local file to upload into a pool before the machine is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub local_path: String,
    pub pool: String,
    pub volume: String,
}

/// Every answer of the wizard, texts as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVmForm {
    pub source: SourceKind,
    pub pool_iso: Option<PoolVolume>,
    pub local_iso_path: String,
    pub local_iso_check: LocalIsoCheck,
    pub upload_pool: String,
    pub url: String,
    pub import_path: String,
    pub os: OsChoice,
    pub memory_mib: u64,
    pub vcpus: u32,
    pub disk: DiskKind,
    pub disk_pool: String,
    pub disk_size_gib: u64,
    pub existing_disk_path: String,
    pub disk_bus: DiskBus,
    pub nic_model: NicModel,
    pub tpm: bool,
    pub name: String,
    pub network: NetworkKind,
    pub virtual_network: String,
    pub bridge: String,
    pub macvtap_device: String,
    pub uefi: bool,
    /// Secure boot when UEFI is chosen; the system's default (Windows 11 wants it).
    pub secure_boot: bool,
    pub vnc_listen: String,
    pub vnc_password: super::password::Password,
    pub domain_type: DomainType,
    /// The volumes already in each pool, so new names do not clash with them.
    pub pool_volumes: HashMap<String, Vec<String>>,
}

impl Default for NewVmForm {
    fn default() -> Self {
        let spec = NewVmSpec::default();
        Self {
            source: SourceKind::default(),
            pool_iso: None,
            local_iso_path: String::new(),
            local_iso_check: LocalIsoCheck::default(),
            upload_pool: String::new(),
            url: String::new(),
            import_path: String::new(),
            os: spec.os,
            memory_mib: spec.memory_mib,
            vcpus: spec.vcpus,
            disk: DiskKind::default(),
            disk_pool: String::new(),
            disk_size_gib: 20,
            existing_disk_path: String::new(),
            disk_bus: spec.disk_bus,
            nic_model: spec.nic_model,
            tpm: spec.tpm,
            name: String::new(),
            network: NetworkKind::default(),
            virtual_network: String::new(),
            bridge: String::new(),
            macvtap_device: String::new(),
            uefi: false,
            secure_boot: false,
            vnc_listen: spec.console.listen,
            vnc_password: Default::default(),
            domain_type: spec.domain_type,
            pool_volumes: HashMap::new(),
        }
    }
}

impl NewVmForm {
    /// A form with the host's sensible starting values: its first pools, its `default`
    /// network, KVM when it has it, and a VNC listener the app can reach over `uri`.
    pub fn for_host(facts: &CreationFacts, uri: &str) -> Self {
        let active_pools: Vec<&str> = facts
            .pools
            .iter()
            .filter(|pool| pool.active)
            .map(|pool| pool.name.as_str())
            .collect();
        let preferred_pool = active_pools
            .iter()
            .find(|name| **name == "default")
            .or(active_pools.first())
            .map(|name| name.to_string())
            .unwrap_or_default();
        let pool_iso = facts.pools.iter().find_map(|pool| {
            let volume = pool.volumes.iter().find(|volume| volume.is_iso())?;
            Some(PoolVolume {
                pool: pool.name.clone(),
                volume: volume.name.clone(),
                path: volume.path.clone(),
            })
        });
        let default_network = facts
            .networks
            .iter()
            .find(|network| network.name == "default")
            .or(facts.networks.first());
        Self {
            source: if pool_iso.is_some() {
                SourceKind::PoolIso
            } else {
                SourceKind::LocalIso
            },
            pool_iso,
            upload_pool: preferred_pool.clone(),
            disk_pool: preferred_pool,
            network: match default_network {
                Some(_) => NetworkKind::Virtual,
                None => NetworkKind::None,
            },
            virtual_network: default_network
                .map(|network| network.name.clone())
                .unwrap_or_default(),
            vnc_listen: console_listen_for(uri).to_owned(),
            domain_type: if facts.has_kvm {
                DomainType::Kvm
            } else {
                DomainType::Qemu
            },
            pool_volumes: facts
                .pools
                .iter()
                .map(|pool| {
                    let names = pool.volumes.iter().map(|v| v.name.clone()).collect();
                    (pool.name.clone(), names)
                })
                .collect(),
            ..Self::default()
        }
    }

    /// Takes `entry`'s hardware defaults; UEFI only where the host has it.
    pub fn apply_os(&mut self, entry: &OsEntry, has_uefi: bool) {
        let defaults = defaults_for(entry);
        self.os = entry.choice();
        self.memory_mib = defaults.memory_mib;
        self.vcpus = defaults.vcpus;
        self.disk_size_gib = defaults.disk_gib;
        self.disk_bus = defaults.disk_bus;
        self.nic_model = defaults.nic_model;
        self.tpm = defaults.tpm;
        let (uefi, secure_boot) = match defaults.firmware {
            Firmware::Bios => (false, false),
            Firmware::Uefi { secure_boot } => (true, secure_boot),
        };
        self.uefi = uefi && has_uefi;
        self.secure_boot = secure_boot;
    }

    /// An imported disk is the machine's disk: no other is added.
    pub fn disk_choice(&self) -> DiskKind {
        if self.source == SourceKind::Import {
            DiskKind::None
        } else {
            self.disk
        }
    }

    /// The machine the answers describe.
    pub fn spec(&self) -> NewVmSpec {
        NewVmSpec {
            name: self.name.trim().to_owned(),
            memory_mib: self.memory_mib,
            vcpus: self.vcpus,
            os: self.os.clone(),
            install: self.install_source(),
            storage: self.storage(),
            disk_bus: self.disk_bus,
            network: self.network_choice(),
            nic_model: self.nic_model,
            firmware: if self.uefi {
                Firmware::Uefi {
                    secure_boot: self.secure_boot,
                }
            } else {
                Firmware::Bios
            },
            tpm: self.tpm,
            console: ConsoleSpec {
                listen: self.vnc_listen.trim().to_owned(),
                password: self.vnc_password.clone().non_empty(),
            },
            domain_type: self.domain_type,
            ..NewVmSpec::default()
        }
    }

    fn install_source(&self) -> InstallSource {
        match self.source {
            SourceKind::PoolIso => {
                let chosen = self.pool_iso.clone().unwrap_or_default();
                InstallSource::IsoVolume {
                    pool: chosen.pool,
                    volume: chosen.volume,
                    path: chosen.path,
                }
            }
            SourceKind::LocalIso => InstallSource::LocalIso {
                path: self.local_iso_path.trim().to_owned(),
                pool: self.upload_pool.clone(),
                volume: self.upload_volume_name(),
            },
            SourceKind::Url => InstallSource::NetworkTree {
                url: self.url.trim().to_owned(),
            },
            SourceKind::Import => {
                let path = self.import_path.trim();
                InstallSource::ImportDisk {
                    path: path.to_owned(),
                    format: format_from_path(path),
                }
            }
            SourceKind::Pxe => InstallSource::Pxe,
        }
    }

    fn storage(&self) -> StorageChoice {
        match self.disk_choice() {
            DiskKind::New => StorageChoice::NewVolume {
                pool: self.disk_pool.clone(),
                name: self.disk_volume_name(),
                size_gib: self.disk_size_gib,
                format: VolumeFormat::Qcow2,
            },
            DiskKind::Existing => {
                let path = self.existing_disk_path.trim();
                StorageChoice::ExistingVolume {
                    path: path.to_owned(),
                    format: format_from_path(path),
                }
            }
            DiskKind::None => StorageChoice::None,
        }
    }

    fn network_choice(&self) -> NetworkChoice {
        match self.network {
            NetworkKind::Virtual => NetworkChoice::Virtual {
                name: self.virtual_network.clone(),
            },
            NetworkKind::Bridge => NetworkChoice::Bridge {
                name: self.bridge.trim().to_owned(),
            },
            NetworkKind::Macvtap => NetworkChoice::Macvtap {
                device: self.macvtap_device.trim().to_owned(),
            },
            NetworkKind::None => NetworkChoice::None,
        }
    }

    /// `NAME.qcow2`, numbered when the pool has one already.
    fn disk_volume_name(&self) -> String {
        let name = self.name.trim();
        if name.is_empty() {
            return String::new();
        }
        unique_file_name(&format!("{name}.qcow2"), self.taken_in(&self.disk_pool))
    }

    /// The local file's name, numbered when the pool has one already.
    pub fn upload_volume_name(&self) -> String {
        let file_name = Path::new(self.local_iso_path.trim())
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file_name.is_empty() {
            return String::new();
        }
        unique_file_name(&file_name, self.taken_in(&self.upload_pool))
    }

    fn taken_in(&self, pool: &str) -> &[String] {
        self.pool_volumes.get(pool).map_or(&[], Vec::as_slice)
    }

    /// The disk volume to create before the machine is defined, if any.
    pub fn new_volume(&self) -> Option<NewVolume> {
        match self.storage() {
            StorageChoice::NewVolume {
                pool,
                name,
                size_gib,
                format,
            } => Some(NewVolume {
                xml: volume_xml(&name, size_gib, format),
                pool,
            }),
            _ => None,
        }
    }

    /// The local ISO to upload first, if any.
    pub fn upload(&self) -> Option<Upload> {
        match self.install_source() {
            InstallSource::LocalIso { path, pool, volume } => Some(Upload {
                local_path: path,
                pool,
                volume,
            }),
            _ => None,
        }
    }

    /// Every problem: the spec's own, against the host's limits, and the local file's.
    pub fn errors(&self, limits: &HostLimits) -> Vec<VmFieldError> {
        let mut errors = validate(&self.spec(), limits);
        let has_source_error = errors.iter().any(|e| e.field == VmField::InstallSource);
        if self.source == SourceKind::LocalIso && !has_source_error {
            if let LocalIsoCheck::Problem(message) = &self.local_iso_check {
                errors.push(VmFieldError {
                    field: VmField::InstallSource,
                    message: message.clone(),
                });
            }
        }
        errors
    }

    /// Whether the page can be left forward: no problem on it (on the review page: none
    /// at all), and the local file's check done.
    pub fn page_is_complete(&self, page: WizardPage, limits: &HostLimits) -> bool {
        let checking = page == WizardPage::Source
            && self.source == SourceKind::LocalIso
            && matches!(
                self.local_iso_check,
                LocalIsoCheck::Checking | LocalIsoCheck::NotChecked
            );
        let errors = self.errors(limits);
        !checking
            && match page {
                WizardPage::Review => errors.is_empty(),
                page => errors
                    .iter()
                    .all(|error| WizardPage::of(error.field) != page),
            }
    }

    /// True while the field is still empty: its “enter something” problem waits until the
    /// user has typed there, so a fresh page is not all red.
    pub fn is_blank(&self, field: VmField) -> bool {
        let text = match field {
            VmField::InstallSource => match self.source {
                SourceKind::LocalIso => &self.local_iso_path,
                SourceKind::Url => &self.url,
                SourceKind::Import => &self.import_path,
                SourceKind::PoolIso | SourceKind::Pxe => return false,
            },
            VmField::Disk if self.disk_choice() == DiskKind::Existing => &self.existing_disk_path,
            VmField::Network => match self.network {
                NetworkKind::Bridge => &self.bridge,
                NetworkKind::Macvtap => &self.macvtap_device,
                NetworkKind::Virtual | NetworkKind::None => return false,
            },
            VmField::Name => &self.name,
            _ => return false,
        };
        text.trim().is_empty()
    }

    /// Where the install source can tell the system: the local ISO's identifiers.
    pub fn iso_identity(&self) -> Option<&IsoIdentity> {
        match (&self.source, &self.local_iso_check) {
            (SourceKind::LocalIso, LocalIsoCheck::Iso(identity)) => Some(identity),
            _ => None,
        }
    }
}

/// What `validate` needs to know about the host.
pub fn host_limits(facts: &CreationFacts) -> HostLimits {
    HostLimits {
        memory_mib: facts.memory_mib,
        pool_free_bytes: facts
            .pools
            .iter()
            .map(|pool| (pool.name.clone(), pool.available_bytes))
            .collect(),
        existing_names: facts.domain_names.clone(),
    }
}

/// Where the console listens: only on the host when the app reaches it locally or through
/// SSH (which tunnels), on every address when it connects over the network (TCP, TLS).
pub fn console_listen_for(uri: &str) -> &'static str {
    let Ok(address) = ConnectionUri::parse(uri) else {
        return "127.0.0.1";
    };
    let over_network = match address.transport.as_deref() {
        Some("tcp" | "tls") => true,
        // `qemu://host/system` is TLS.
        None => address.host.is_some_and(|host| !host.is_empty()),
        Some(_) => false,
    };
    if over_network {
        "0.0.0.0"
    } else {
        "127.0.0.1"
    }
}

/// “2 GiB”, “512 MiB”: memory as people say it.
pub fn memory_label(mib: u64) -> String {
    if mib >= 1024 && mib % 1024 == 0 {
        format!("{} GiB", mib / 1024)
    } else if mib >= 1024 {
        format!("{:.1} GiB", mib as f64 / 1024.0)
    } else {
        format!("{mib} MiB")
    }
}

/// The first page's choice for an install source, in words.
pub fn source_label(kind: SourceKind) -> String {
    match kind {
        SourceKind::PoolIso => gettext("ISO image on the host"),
        SourceKind::LocalIso => gettext("Local ISO file"),
        SourceKind::Url => gettext("Network install (URL)"),
        SourceKind::Import => gettext("Existing disk image"),
        SourceKind::Pxe => gettext("Network boot (PXE)"),
    }
}

mod names;
#[cfg(test)]
mod tests;

pub use names::{default_vm_name, format_from_path, unique_file_name};
