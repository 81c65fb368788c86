//! A domain's snapshots: the tree with its current marker, and creating, reverting and
//! deleting them. The plan (internal or external, and why) is in `snapshot_plan`; the XML in
//! `xml::snapshot`. Failures carry libvirt's own words plus what to do, chosen by its code.

use std::collections::HashMap;

use gettextrs::gettext;
use roxmltree::Node;
use virt::domain::Domain;
use virt::domain_snapshot::DomainSnapshot;
use virt::sys;

use super::model::{child, DomainModel, Firmware};
pub use super::snapshot_error::{libvirt_message, SnapshotError};
use super::snapshot_plan::{
    check_space, create_flags, plan_snapshot, qemu_name_problem, space_needed, PlanInput,
    SnapshotDisk,
};
pub use super::snapshot_plan::{PlanError, SnapshotMode, SnapshotPlan};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::backend::storage::volumes;
use crate::backend::xml::snapshot::{snapshot_xml, DiskSnapshot, MemorySnapshot, SnapshotSpec};
use crate::backend::xml::{control_character_problem, object_name_problem};
use crate::i18n::gettext_f;

/// The state the domain was in when the snapshot was taken (`<state>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotState {
    Running,
    Paused,
    ShutOff,
    /// Disk only, taken while the domain ran.
    DiskSnapshot,
    Other(String),
}

/// One snapshot as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    pub description: String,
    /// Seconds since the epoch.
    pub created: i64,
    pub state: SnapshotState,
    /// The guest's memory is in the snapshot: reverting resumes it where it was.
    pub with_memory: bool,
    pub parent: Option<String>,
    /// The snapshot the domain's disks last came from.
    pub current: bool,
    pub mode: SnapshotMode,
}

impl SnapshotInfo {
    /// "With memory" or "Disk only", as the list's state column says it.
    pub fn kind_label(&self) -> String {
        if self.with_memory {
            gettext("With memory")
        } else {
            gettext("Disk only")
        }
    }
}

/// A snapshot with the snapshots taken on top of it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotNode {
    pub info: SnapshotInfo,
    pub children: Vec<SnapshotNode>,
}

/// What the user asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSnapshot {
    pub name: String,
    pub description: String,
    pub with_memory: bool,
}

/// The state a revert leaves the domain in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevertState {
    /// The snapshot's own: running or paused when it holds memory, else shut off.
    #[default]
    AsSaved,
    Running,
    Paused,
}

/// One snapshot's XML (`virDomainSnapshotGetXMLDesc`) read for the list; `current` is asked
/// separately.
pub fn parse_snapshot_xml(xml: &str, current: bool) -> Result<SnapshotInfo, String> {
    let document = roxmltree::Document::parse(xml).map_err(|error| error.to_string())?;
    let root = document.root_element();
    let text = |node: Option<Node>| {
        node.and_then(|node| node.text())
            .unwrap_or_default()
            .to_owned()
    };
    let state = match text(child(root, "state")).as_str() {
        "running" | "blocked" => SnapshotState::Running,
        "paused" | "pmsuspended" => SnapshotState::Paused,
        "shutoff" | "shutdown" | "crashed" => SnapshotState::ShutOff,
        "disk-snapshot" => SnapshotState::DiskSnapshot,
        other => SnapshotState::Other(other.to_owned()),
    };
    let memory = child(root, "memory").and_then(|memory| memory.attribute("snapshot"));
    let with_memory =
        matches!(state, SnapshotState::Running | SnapshotState::Paused) && memory != Some("no");
    let external_disk = child(root, "disks").is_some_and(|disks| {
        disks
            .children()
            .any(|disk| disk.has_tag_name("disk") && disk.attribute("snapshot") == Some("external"))
    });
    let mode = if memory == Some("external") || external_disk {
        SnapshotMode::External
    } else {
        SnapshotMode::Internal
    };
    Ok(SnapshotInfo {
        name: text(child(root, "name")),
        description: text(child(root, "description")),
        created: text(child(root, "creationTime")).parse().unwrap_or(0),
        state,
        with_memory,
        parent: child(root, "parent")
            .map(|parent| text(child(parent, "name")))
            .filter(|name| !name.is_empty()),
        current,
        mode,
    })
}

/// The snapshots as a tree: roots (and snapshots whose parent is gone) first, children
/// under their parent, each level oldest first.
pub fn build_tree(mut snapshots: Vec<SnapshotInfo>) -> Vec<SnapshotNode> {
    snapshots.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    let names: Vec<String> = snapshots.iter().map(|s| s.name.clone()).collect();
    let mut children: HashMap<String, Vec<SnapshotInfo>> = HashMap::new();
    let mut roots = Vec::new();
    for snapshot in snapshots {
        match &snapshot.parent {
            Some(parent) if names.contains(parent) => {
                children.entry(parent.clone()).or_default().push(snapshot)
            }
            _ => roots.push(snapshot),
        }
    }
    fn attach(
        info: SnapshotInfo,
        children: &mut HashMap<String, Vec<SnapshotInfo>>,
    ) -> SnapshotNode {
        let kids = children.remove(&info.name).unwrap_or_default();
        SnapshotNode {
            children: kids.into_iter().map(|kid| attach(kid, children)).collect(),
            info,
        }
    }
    roots
        .into_iter()
        .map(|root| attach(root, &mut children))
        .collect()
}

/// Every snapshot of the domain, flat, oldest first.
pub fn snapshot_infos(
    session: &HostSession,
    uuid: &str,
) -> Result<Vec<SnapshotInfo>, SnapshotError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    infos_of(&domain)
}

fn infos_of(domain: &Domain) -> Result<Vec<SnapshotInfo>, SnapshotError> {
    let mut infos = Vec::new();
    for snapshot in domain.list_all_snapshots(0)? {
        let current = snapshot.is_current(0)?;
        let xml = snapshot.xml_desc(0)?;
        let info = parse_snapshot_xml(&xml, current)
            .map_err(|reason| BackendError::new(ErrorKind::InvalidInput, reason))?;
        infos.push(info);
    }
    infos.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    Ok(infos)
}

/// The domain's snapshots as a tree.
pub fn list_snapshots(
    session: &HostSession,
    uuid: &str,
) -> Result<Vec<SnapshotNode>, SnapshotError> {
    Ok(build_tree(snapshot_infos(session, uuid)?))
}

/// The mode the domain's snapshots already use: external if any is.
pub fn existing_mode(infos: &[SnapshotInfo]) -> Option<SnapshotMode> {
    if infos.iter().any(|info| info.mode == SnapshotMode::External) {
        Some(SnapshotMode::External)
    } else if infos.is_empty() {
        None
    } else {
        Some(SnapshotMode::Internal)
    }
}

/// The domain's disks as a snapshot sees them, and the `<nvram format>`.
pub fn snapshot_disks(xml: &str) -> Result<(Vec<SnapshotDisk>, Option<String>), String> {
    let document = roxmltree::Document::parse(xml).map_err(|error| error.to_string())?;
    let root = document.root_element();
    let nvram_format = child(root, "os")
        .and_then(|os| child(os, "nvram"))
        .and_then(|nvram| nvram.attribute("format"))
        .map(str::to_owned);
    let disks = child(root, "devices")
        .into_iter()
        .flat_map(|devices| devices.children())
        .filter(|node| node.has_tag_name("disk"))
        .filter_map(|disk| {
            let target = child(disk, "target")?.attribute("dev")?.to_owned();
            let source = child(disk, "source").and_then(|source| {
                source
                    .attribute("file")
                    .or_else(|| source.attribute("dev"))
                    .map(str::to_owned)
                    .or_else(|| {
                        Some(format!(
                            "{}/{}",
                            source.attribute("pool")?,
                            source.attribute("volume")?
                        ))
                    })
            });
            let writable_kind =
                matches!(disk.attribute("device"), None | Some("disk") | Some("lun"));
            let included = writable_kind
                && source.is_some()
                && child(disk, "readonly").is_none()
                && child(disk, "shareable").is_none();
            Some(SnapshotDisk {
                target,
                format: child(disk, "driver")
                    .and_then(|d| d.attribute("type"))
                    .map(str::to_owned),
                included,
                source,
            })
        })
        .collect();
    Ok((disks, nvram_format))
}

/// What a create will do, before it does it: the plan and the domain's facts behind it.
struct Prepared {
    domain: Domain,
    model: DomainModel,
    disks: Vec<SnapshotDisk>,
    plan: SnapshotPlan,
    running: bool,
}

fn prepare(
    session: &HostSession,
    uuid: &str,
    with_memory: bool,
) -> Result<Prepared, SnapshotError> {
    let connection = session.connection();
    let domain = connection.lookup_domain_by_uuid_string(uuid)?;
    let running = domain.is_active()?;
    let xml = domain.xml_desc(0)?;
    let invalid = |reason: String| BackendError::new(ErrorKind::InvalidInput, reason);
    let model = DomainModel::from_xml(&xml).map_err(|error| invalid(error.to_string()))?;
    let (disks, nvram_format) = snapshot_disks(&xml).map_err(invalid)?;
    let input = PlanInput {
        disks: disks.clone(),
        uefi: matches!(model.firmware, Firmware::Uefi { .. }),
        nvram_format,
        libvirt_version: u64::from(connection.lib_version()?),
        existing: existing_mode(&infos_of(&domain)?),
        running,
        with_memory,
    };
    let plan = plan_snapshot(&input)?;
    Ok(Prepared {
        domain,
        model,
        disks,
        plan,
        running,
    })
}

/// The plan for a snapshot (internal or external and why), with the free-space check, so the
/// page can say it before the user confirms.
pub fn plan_for(
    session: &HostSession,
    uuid: &str,
    with_memory: bool,
) -> Result<SnapshotPlan, SnapshotError> {
    let prepared = prepare(session, uuid, with_memory)?;
    check_pool_space(session, &prepared)?;
    Ok(prepared.plan)
}

/// The first snapshotted disk's volume, if a pool holds it.
fn first_volume(
    session: &HostSession,
    disks: &[SnapshotDisk],
) -> Result<Option<virt::storage_vol::StorageVol>, SnapshotError> {
    let Some(source) = disks
        .iter()
        .find(|d| d.included)
        .and_then(|d| d.source.as_deref())
    else {
        return Ok(None);
    };
    Ok(volumes::find_volume(session, source)?)
}

/// Refuses when the pool of the first disk has less room than the snapshot needs. Disks in
/// no pool cannot be checked and are let through (libvirt reports a full disk itself).
fn check_pool_space(session: &HostSession, prepared: &Prepared) -> Result<(), SnapshotError> {
    let Some(volume) = first_volume(session, &prepared.disks)? else {
        return Ok(());
    };
    let pool = volume.lookup_storage_pool()?;
    // A pool's numbers are as old as its last refresh.
    let _ = pool.refresh(0);
    let available = pool.info()?.available;
    let needed = space_needed(
        &prepared.plan,
        prepared.model.memory_kib.max(prepared.model.max_memory_kib),
    );
    check_space(&pool.name()?, needed, available)?;
    Ok(())
}

/// The file an external memory snapshot goes to: beside the first disk's image.
fn memory_file(
    session: &HostSession,
    prepared: &Prepared,
    name: &str,
) -> Result<String, SnapshotError> {
    let image = match first_volume(session, &prepared.disks)? {
        Some(volume) => volume.path()?,
        None => prepared
            .disks
            .iter()
            .find(|disk| disk.included)
            .and_then(|disk| disk.source.clone())
            .unwrap_or_default(),
    };
    let folder = image.rsplit_once('/').map_or("", |(folder, _)| folder);
    let file_name = format!("{}.{name}.mem", prepared.model.name).replace('/', "_");
    Ok(format!("{folder}/{file_name}"))
}

/// Takes a snapshot as planned; returns the plan it followed.
pub fn create_snapshot(
    session: &HostSession,
    uuid: &str,
    request: &NewSnapshot,
) -> Result<SnapshotPlan, SnapshotError> {
    if let Some(reason) = object_name_problem(&request.name) {
        return Err(SnapshotError::BadName(reason));
    }
    if let Some(reason) = control_character_problem(request.description.replace('\n', " ").as_str())
    {
        return Err(SnapshotError::BadName(reason));
    }
    let prepared = prepare(session, uuid, request.with_memory)?;
    if Domain::lookup_snapshot_by_name(&prepared.domain, &request.name, 0).is_ok() {
        return Err(SnapshotError::BadName(gettext_f(
            "This virtual machine already has a snapshot named “{name}”. Choose another name.",
            &[("name", &request.name)],
        )));
    }
    if let Some(reason) = qemu_name_problem(&prepared.plan, prepared.running, &request.name) {
        return Err(SnapshotError::BadName(reason));
    }
    check_pool_space(session, &prepared)?;
    let plan = &prepared.plan;
    let memory = match (plan.with_memory, plan.mode) {
        (false, _) => MemorySnapshot::None,
        (true, SnapshotMode::Internal) => MemorySnapshot::Internal,
        (true, SnapshotMode::External) => {
            MemorySnapshot::External(memory_file(session, &prepared, &request.name)?)
        }
    };
    let spec = SnapshotSpec {
        name: request.name.clone(),
        description: request.description.clone(),
        memory,
        disks: prepared
            .disks
            .iter()
            .map(|disk| DiskSnapshot {
                target: disk.target.clone(),
                mode: disk.included.then_some(plan.mode),
            })
            .collect(),
    };
    let flags = create_flags(plan, prepared.running, prepared.model.agent_connected);
    prepared
        .domain
        .create_snapshot_xml(&snapshot_xml(&spec), flags)?;
    Ok(prepared.plan)
}

fn lookup(session: &HostSession, uuid: &str, name: &str) -> Result<DomainSnapshot, SnapshotError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    Ok(Domain::lookup_snapshot_by_name(&domain, name, 0)?)
}

/// Puts the domain back to snapshot `name`; `state` picks the state it is left in.
pub fn revert_snapshot(
    session: &HostSession,
    uuid: &str,
    name: &str,
    state: RevertState,
) -> Result<(), SnapshotError> {
    let flags = match state {
        RevertState::AsSaved => 0,
        RevertState::Running => sys::VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING,
        RevertState::Paused => sys::VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED,
    };
    lookup(session, uuid, name)?.revert(flags)?;
    Ok(())
}

/// "Snapshot the current state first": takes `current` as a new snapshot, then reverts to
/// `name`. Nothing is reverted when the new snapshot fails.
pub fn snapshot_then_revert(
    session: &HostSession,
    uuid: &str,
    current: &NewSnapshot,
    name: &str,
    state: RevertState,
) -> Result<SnapshotPlan, SnapshotError> {
    let plan = create_snapshot(session, uuid, current)?;
    revert_snapshot(session, uuid, name, state)?;
    Ok(plan)
}

/// Deletes snapshot `name`, and with `children` every snapshot taken on top of it.
///
/// libvirt deletes external snapshots only one at a time (it refuses
/// `VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN` for them), so a subtree holding one is deleted
/// newest first, each merged into its parent's files by libvirt.
pub fn delete_snapshot(
    session: &HostSession,
    uuid: &str,
    name: &str,
    children: bool,
) -> Result<(), SnapshotError> {
    let snapshot = lookup(session, uuid, name)?;
    if !children {
        snapshot.delete(0)?;
        return Ok(());
    }
    let tree = list_snapshots(session, uuid)?;
    let Some(node) = find_node(&tree, name) else {
        snapshot.delete(sys::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)?;
        return Ok(());
    };
    let mut order = Vec::new();
    newest_first(node, &mut order);
    if order
        .iter()
        .all(|(_, mode)| *mode == SnapshotMode::Internal)
    {
        snapshot.delete(sys::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)?;
        return Ok(());
    }
    for (each, _) in order {
        lookup(session, uuid, &each)?.delete(0)?;
    }
    Ok(())
}

fn find_node<'a>(nodes: &'a [SnapshotNode], name: &str) -> Option<&'a SnapshotNode> {
    nodes.iter().find_map(|node| {
        if node.info.name == name {
            Some(node)
        } else {
            find_node(&node.children, name)
        }
    })
}

/// The subtree's snapshots, children before their parent, newest child first.
fn newest_first(node: &SnapshotNode, order: &mut Vec<(String, SnapshotMode)>) {
    for child in node.children.iter().rev() {
        newest_first(child, order);
    }
    order.push((node.info.name.clone(), node.info.mode));
}

#[cfg(test)]
#[path = "snapshots_tests.rs"]
mod tests;
