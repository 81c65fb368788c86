//! What the creation wizards do on a host, on its worker thread: learn what the host has,
//! upload an ISO into a pool over the libvirt connection, and define pools, networks and
//! virtual machines — undoing what they created when a later step fails.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use gettextrs::gettext;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;
use virt::sys;
use zeroize::Zeroizing;

use super::error::{BackendError, ErrorKind};
use super::libvirt::session::HostSession;
use super::osinfo;
use super::xml::domain::{domain_xml, NewVmSpec};
use super::xml::network::{ExistingNetwork, Ipv4Subnet};
use crate::i18n::gettext_f;

/// A storage pool as the wizards offer it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolFacts {
    pub name: String,
    pub active: bool,
    pub target_path: String,
    pub available_bytes: u64,
    pub volumes: Vec<VolumeFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeFacts {
    pub name: String,
    pub path: String,
    pub capacity_bytes: u64,
}

impl VolumeFacts {
    pub fn is_iso(&self) -> bool {
        self.name.to_lowercase().ends_with(".iso")
    }
}

/// A virtual network as the wizards offer it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFacts {
    pub name: String,
    pub active: bool,
    pub subnet: Option<Ipv4Subnet>,
}

/// What the wizards need to know about a host, collected with a few calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreationFacts {
    pub memory_mib: u64,
    pub cpus: u32,
    pub domain_names: Vec<String>,
    pub pools: Vec<PoolFacts>,
    pub networks: Vec<NetworkFacts>,
    /// Hardware acceleration is there (else guests run emulated, `type='qemu'`).
    pub has_kvm: bool,
    pub has_uefi: bool,
}

impl CreationFacts {
    pub fn existing_networks(&self) -> Vec<ExistingNetwork> {
        self.networks
            .iter()
            .map(|network| ExistingNetwork {
                name: network.name.clone(),
                subnet: network.subnet,
            })
            .collect()
    }
}

/// Collects the facts; one missing piece (say, no pools) leaves that piece empty.
pub fn facts(session: &HostSession) -> Result<CreationFacts, BackendError> {
    let conn = session.connection();
    let node = conn.node_info()?;
    let domain_names = conn
        .list_all_domains(0)?
        .iter()
        .filter_map(|domain| domain.name().ok())
        .collect();
    let capabilities = conn
        .domain_capabilities(None, None, None, None, 0)
        .unwrap_or_default();
    Ok(CreationFacts {
        memory_mib: node.memory / 1024,
        cpus: node.cpus,
        domain_names,
        pools: pools(session),
        networks: networks(session),
        has_kvm: capabilities.contains("<domain>kvm</domain>"),
        has_uefi: capabilities.contains("<value>efi</value>"),
    })
}

fn pools(session: &HostSession) -> Vec<PoolFacts> {
    let Ok(pools) = session.connection().list_all_storage_pools(0) else {
        return Vec::new();
    };
    pools
        .iter()
        .filter_map(|pool| {
            let info = pool.info().ok()?;
            let xml = pool.xml_desc(0).unwrap_or_default();
            let volumes = pool
                .list_all_volumes(0)
                .unwrap_or_default()
                .iter()
                .filter_map(|volume| {
                    Some(VolumeFacts {
                        name: volume.name().ok()?,
                        path: volume.path().ok()?,
                        capacity_bytes: volume.info().map(|info| info.capacity).unwrap_or(0),
                    })
                })
                .collect();
            Some(PoolFacts {
                name: pool.name().ok()?,
                active: pool.is_active().unwrap_or(false),
                target_path: first_text(&xml, "path").unwrap_or_default(),
                available_bytes: info.available,
                volumes,
            })
        })
        .collect()
}

fn networks(session: &HostSession) -> Vec<NetworkFacts> {
    let Ok(networks) = session.connection().list_all_networks(0) else {
        return Vec::new();
    };
    networks
        .iter()
        .filter_map(|network| {
            let xml = network.xml_desc(0).unwrap_or_default();
            Some(NetworkFacts {
                name: network.name().ok()?,
                active: network.is_active().unwrap_or(false),
                subnet: ipv4_subnet(&xml),
            })
        })
        .collect()
}

fn first_text(xml: &str, tag: &str) -> Option<String> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let node = document.descendants().find(|node| node.has_tag_name(tag))?;
    node.text().map(|text| text.trim().to_owned())
}

/// The network's IPv4 subnet from its `<ip address= prefix=|netmask=>`.
fn ipv4_subnet(xml: &str) -> Option<Ipv4Subnet> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let ip = document.descendants().find(|node| {
        node.has_tag_name("ip") && node.attribute("family").unwrap_or("ipv4") == "ipv4"
    })?;
    let address = ip.attribute("address")?.parse().ok()?;
    let prefix = match (ip.attribute("prefix"), ip.attribute("netmask")) {
        (Some(prefix), _) => prefix.parse().ok()?,
        (None, Some(mask)) => {
            u32::from(mask.parse::<std::net::Ipv4Addr>().ok()?).count_ones() as u8
        }
        (None, None) => 24,
    };
    Some(Ipv4Subnet { address, prefix })
}

/// Defines a storage pool, then builds, starts and marks it to start with the host, as
/// asked; if a step fails, the pool is removed again and the error says which step.
pub fn create_pool(
    session: &HostSession,
    xml: &str,
    build: bool,
    start: bool,
    autostart: bool,
) -> Result<(), BackendError> {
    let pool = session.connection().define_storage_pool_xml(xml, 0)?;
    let steps = || -> Result<(), BackendError> {
        if build {
            pool.build(0)
                .map_err(|error| step_failed(&gettext("build the pool"), error))?;
        }
        if start {
            pool.create(0)
                .map_err(|error| step_failed(&gettext("start the pool"), error))?;
        }
        if autostart {
            pool.set_autostart(true)
                .map_err(|error| step_failed(&gettext("start the pool with the host"), error))?;
        }
        Ok(())
    };
    steps().inspect_err(|_| {
        let _ = pool.destroy();
        let _ = pool.undefine();
    })
}

/// Defines a virtual network, starts it and sets autostart as asked, removing it again if a
/// step fails.
pub fn create_network(
    session: &HostSession,
    xml: &str,
    start: bool,
    autostart: bool,
) -> Result<(), BackendError> {
    let network = session.connection().define_network_xml(xml)?;
    let steps = || -> Result<(), BackendError> {
        if start {
            network
                .create()
                .map_err(|error| step_failed(&gettext("start the network"), error))?;
        }
        if autostart {
            network
                .set_autostart(true)
                .map_err(|error| step_failed(&gettext("start the network with the host"), error))?;
        }
        Ok(())
    };
    steps().inspect_err(|_| {
        let _ = network.destroy();
        let _ = network.undefine();
    })
}

/// A disk volume the new machine gets, created before it is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVolume {
    pub pool: String,
    pub xml: String,
}

/// Creates the disk volume (if any), defines the machine and starts it; undoes what was
/// created when a later step fails. Returns the new machine's UUID.
pub fn create_vm(
    session: &HostSession,
    spec: &NewVmSpec,
    volume: Option<&NewVolume>,
    start: bool,
) -> Result<String, BackendError> {
    // It carries the VNC password, if any: wiped once libvirt has it.
    let xml = Zeroizing::new(
        domain_xml(spec)
            .map_err(|error| BackendError::new(ErrorKind::InvalidInput, error.to_string()))?,
    );
    define_and_start(session, &xml, 0, volume, start)
}

/// The same from `<domain>` XML the user wrote or edited: libvirt checks it against its
/// schema first, so a misspelt element is reported instead of silently dropped.
pub fn create_vm_from_xml(
    session: &HostSession,
    xml: &str,
    volume: Option<&NewVolume>,
    start: bool,
) -> Result<String, BackendError> {
    define_and_start(session, xml, sys::VIR_DOMAIN_DEFINE_VALIDATE, volume, start)
}

fn define_and_start(
    session: &HostSession,
    xml: &str,
    define_flags: sys::virDomainDefineFlags,
    volume: Option<&NewVolume>,
    start: bool,
) -> Result<String, BackendError> {
    let created_volume = match volume {
        Some(volume) => {
            let pool = session
                .connection()
                .lookup_storage_pool_by_name(&volume.pool)?;
            Some(
                StorageVol::create_xml(&pool, &volume.xml, 0)
                    .map_err(|error| step_failed(&gettext("create the disk"), error))?,
            )
        }
        None => None,
    };
    let undo_volume = || {
        if let Some(volume) = &created_volume {
            let _ = volume.delete(0);
        }
    };
    let domain = match session
        .connection()
        .define_domain_xml_flags(xml, define_flags)
    {
        Ok(domain) => domain,
        Err(error) => {
            undo_volume();
            return Err(step_failed(&gettext("define the virtual machine"), error));
        }
    };
    if start {
        if let Err(error) = domain.create() {
            let _ = domain.undefine_flags(sys::VIR_DOMAIN_UNDEFINE_NVRAM);
            undo_volume();
            return Err(step_failed(&gettext("start the virtual machine"), error));
        }
    }
    Ok(domain.uuid_string()?)
}

/// Deletes the volume at `path`, such as an image uploaded for a machine that could then
/// not be created.
pub fn delete_volume(session: &HostSession, path: &str) -> Result<(), BackendError> {
    let volume = session.connection().lookup_storage_vol_by_path(path)?;
    volume.delete(0)?;
    Ok(())
}

/// How an upload goes; sent often enough for a progress bar.
pub type UploadProgress<'a> = &'a dyn Fn(u64, u64);

/// Uploads a local ISO file into `pool` as `volume_name` over the libvirt connection (no
/// shared file system needed). Checks it is an ISO 9660 image first; on failure or cancel
/// the partial volume is deleted. Returns the volume's path on the host.
pub fn upload_iso(
    session: &HostSession,
    local: &Path,
    pool_name: &str,
    volume_name: &str,
    progress: UploadProgress<'_>,
    cancelled: &AtomicBool,
) -> Result<String, BackendError> {
    osinfo::iso9660_identity(local).map_err(|_| {
        BackendError::new(
            ErrorKind::InvalidInput,
            gettext_f(
                "{path} is not an ISO 9660 image.",
                &[("path", &local.display().to_string())],
            ),
        )
    })?;
    upload_volume(session, local, pool_name, volume_name, progress, cancelled)
}

/// Uploads any local file into `pool` as a raw volume `volume_name`; on failure or cancel
/// the partial volume is deleted. Returns the volume's path on the host.
pub fn upload_volume(
    session: &HostSession,
    local: &Path,
    pool_name: &str,
    volume_name: &str,
    progress: UploadProgress<'_>,
    cancelled: &AtomicBool,
) -> Result<String, BackendError> {
    let mut file = File::open(local).map_err(|error| io_error(local, &error))?;
    let size = file
        .metadata()
        .map_err(|error| io_error(local, &error))?
        .len();
    let pool = session
        .connection()
        .lookup_storage_pool_by_name(pool_name)?;
    let volume = StorageVol::create_xml(&pool, &raw_volume_xml(volume_name, size), 0)?;
    let result = send_file(session, &volume, &mut file, size, progress, cancelled);
    match result {
        Ok(()) => {
            let _ = pool.refresh(0);
            Ok(volume.path()?)
        }
        Err(error) => {
            let _ = volume.delete(0);
            Err(error)
        }
    }
}

const UPLOAD_CHUNK: usize = 1024 * 1024;

fn send_file(
    session: &HostSession,
    volume: &StorageVol,
    file: &mut File,
    size: u64,
    progress: UploadProgress<'_>,
    cancelled: &AtomicBool,
) -> Result<(), BackendError> {
    let stream = Stream::new(session.connection(), 0)?;
    volume.upload(&stream, 0, size, 0)?;
    let mut buffer = vec![0u8; UPLOAD_CHUNK];
    let mut sent = 0u64;
    while sent < size {
        if cancelled.load(Ordering::Relaxed) {
            let _ = stream.abort();
            return Err(BackendError::new(
                ErrorKind::Other,
                gettext("the upload was cancelled"),
            ));
        }
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                let _ = stream.abort();
                return Err(BackendError::new(ErrorKind::Other, error.to_string()));
            }
        };
        send_all(&stream, &buffer[..read])?;
        sent += read as u64;
        progress(sent, size);
    }
    stream.finish()?;
    Ok(())
}

fn send_all(stream: &Stream, mut data: &[u8]) -> Result<(), BackendError> {
    while !data.is_empty() {
        let sent = stream.send(data)?;
        if sent <= 0 {
            return Err(BackendError::new(
                ErrorKind::ConnectionLost,
                gettext("the host stopped accepting the upload"),
            ));
        }
        data = &data[sent as usize..];
    }
    Ok(())
}

/// A raw volume of exactly `bytes`, for an uploaded image.
fn raw_volume_xml(name: &str, bytes: u64) -> String {
    format!(
        "<volume><name>{}</name><capacity unit='bytes'>{bytes}</capacity>\
         <target><format type='raw'/></target></volume>",
        quick_xml::escape::escape(name)
    )
}

/// The error with the step it stopped: its detail, not its sentence, which would repeat
/// “The host reported an error” once `user_message` wraps it again.
fn step_failed(step: &str, error: virt::error::Error) -> BackendError {
    // libvirt's own words: its error kinds describe connecting, not these steps.
    let detail = BackendError::from(error).detail;
    BackendError::new(
        ErrorKind::InvalidInput,
        gettext_f(
            "Could not {step}: {reason} Nothing was left behind.",
            &[("step", step), ("reason", &sentence(&detail))],
        ),
    )
}

/// libvirt's message as a sentence: capitalised, ending in a full stop.
fn sentence(message: &str) -> String {
    let mut text = message.trim().to_owned();
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

fn io_error(path: &Path, error: &std::io::Error) -> BackendError {
    BackendError::new(
        ErrorKind::InvalidInput,
        gettext_f(
            "{path} cannot be read: {error}",
            &[
                ("path", &path.display().to_string()),
                ("error", &error.to_string()),
            ],
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_subnets_come_from_prefix_or_netmask() {
        let with_prefix = "<network><ip address='10.77.0.1' prefix='24'/></network>";
        let with_mask = "<network><ip address='192.168.122.1' netmask='255.255.255.0'/></network>";
        assert_eq!(ipv4_subnet(with_prefix).map(|s| s.prefix), Some(24));
        assert_eq!(
            ipv4_subnet(with_mask).map(|s| s.address.to_string()),
            Some("192.168.122.1".into())
        );
        assert_eq!(ipv4_subnet("<network/>"), None);
    }

    #[test]
    fn raw_volume_names_are_escaped() {
        assert!(raw_volume_xml("a<b&c.iso", 10).contains("a&lt;b&amp;c.iso"));
    }
}
