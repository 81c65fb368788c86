//! The operating systems a new virtual machine can be for, read from osinfo-db's XML files,
//! with the hardware each one wants and the ISO identifiers that recognise its install media.

mod iso;
mod media;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use roxmltree::Node;

pub use self::iso::{
    identity_from_bytes, iso9660_identity, IsoError, IsoIdentity, ISO_IDENTITY_BYTES,
};
pub use self::media::MediaIds;
use self::media::Specificity;
use super::xml::domain::{DiskBus, Firmware, NicModel, OsChoice};

/// Where Debian and Flatpak's GNOME runtime keep osinfo-db.
const SYSTEM_DB_DIR: &str = "/usr/share/osinfo";
/// The architectures whose media and resources matter to an x86_64 guest.
const MEDIA_ARCHES: &[&str] = &["x86_64", "i686", "all"];
/// PCI ids (vendor 1af4 is Red Hat's virtio) for legacy and modern virtio devices.
const VIRTIO_BLOCK_DEVICES: &[&str] = &[
    "http://pcisig.com/pci/1af4/1001",
    "http://pcisig.com/pci/1af4/1042",
];
const VIRTIO_NET_DEVICES: &[&str] = &[
    "http://pcisig.com/pci/1af4/1000",
    "http://pcisig.com/pci/1af4/1041",
];
/// derives-from chains are a few levels deep; a longer one is a loop in broken data.
const MAX_DERIVATION_DEPTH: usize = 32;
const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const GENERIC_MEMORY_MIB: u64 = 2048;
const GENERIC_DISK_GIB: u64 = 20;
const DEFAULT_VCPUS: u32 = 2;

/// Hardware needs as osinfo-db states them; any may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resources {
    pub ram_bytes: Option<u64>,
    pub n_cpus: Option<u32>,
    pub cpu_hz: Option<u64>,
    pub storage_bytes: Option<u64>,
}

impl Resources {
    /// Each missing value taken from `fallback`.
    fn or(self, fallback: Resources) -> Resources {
        Resources {
            ram_bytes: self.ram_bytes.or(fallback.ram_bytes),
            n_cpus: self.n_cpus.or(fallback.n_cpus),
            cpu_hz: self.cpu_hz.or(fallback.cpu_hz),
            storage_bytes: self.storage_bytes.or(fallback.storage_bytes),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReleaseStatus {
    #[default]
    Released,
    Prerelease,
    Snapshot,
    Rolling,
}

impl ReleaseStatus {
    fn parse(text: &str) -> Self {
        match text {
            "prerelease" => Self::Prerelease,
            "snapshot" => Self::Snapshot,
            "rolling" => Self::Rolling,
            _ => Self::Released,
        }
    }
}

/// One operating system, with what it inherits from the ones it derives from resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsEntry {
    /// osinfo's full id, such as `http://fedoraproject.org/fedora/37`; empty for generic.
    pub id: String,
    /// The first short id, such as `fedora37`.
    pub short_id: String,
    /// Other short ids of the same system, such as `debianbullseye`.
    pub aliases: Vec<String>,
    pub name: String,
    pub vendor: String,
    pub version: String,
    /// `linux`, `winnt`, `bsd`, …
    pub family: String,
    pub distro: String,
    pub release_status: ReleaseStatus,
    /// `YYYY-MM-DD`, so it sorts as text.
    pub release_date: Option<String>,
    pub eol_date: Option<String>,
    /// For x86_64, or for all architectures.
    pub minimum: Resources,
    pub recommended: Resources,
    pub virtio_block: bool,
    pub virtio_net: bool,
    pub efi_supported: bool,
    /// The system does not boot with BIOS (Windows 11).
    pub efi_required: bool,
    /// osinfo-db has no TPM data: this is true for Windows versions that need UEFI.
    pub needs_tpm: bool,
    /// The ISO identifiers of its x86 install media.
    pub media: Vec<MediaIds>,
}

impl OsEntry {
    /// The entry for a system osinfo-db does not know; always in the catalog.
    pub fn generic() -> Self {
        let choice = OsChoice::generic();
        Self {
            short_id: choice.short_id,
            name: choice.name,
            ..Self::default()
        }
    }

    pub fn is_generic(&self) -> bool {
        self.short_id == OsChoice::GENERIC_SHORT_ID
    }

    /// What the new-machine spec records about this system.
    pub fn choice(&self) -> OsChoice {
        OsChoice {
            short_id: self.short_id.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
            family: self.family.clone(),
        }
    }

    fn short_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.short_id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// The wizard's starting values for a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsDefaults {
    pub memory_mib: u64,
    pub vcpus: u32,
    pub disk_gib: u64,
    pub disk_bus: DiskBus,
    pub nic_model: NicModel,
    pub firmware: Firmware,
    pub tpm: bool,
}

/// The osinfo-db directory: `$OSINFO_SYSTEM_DIR` (libosinfo's own override) or the system's.
pub fn system_db_dir() -> PathBuf {
    std::env::var_os("OSINFO_SYSTEM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SYSTEM_DB_DIR))
}

/// Every system described under `db_dir/os` (or `db_dir` itself when it has no `os`), plus
/// the generic entry. Files that cannot be read or parsed are skipped.
pub fn load_catalog(db_dir: &Path) -> Vec<OsEntry> {
    let os_dir = db_dir.join("os");
    let root = if os_dir.is_dir() {
        os_dir
    } else {
        db_dir.to_owned()
    };
    let mut files = Vec::new();
    xml_files_under(&root, &mut files);
    files.sort();
    let raw: Vec<RawOs> = files.iter().flat_map(|file| parse_file(file)).collect();
    let mut entries = resolve_inheritance(raw);
    entries.push(OsEntry::generic());
    entries
}

/// Entries whose name or short ids contain every word of `query` (any case), newest first.
pub fn search<'a>(catalog: &'a [OsEntry], query: &str) -> Vec<&'a OsEntry> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut found: Vec<&OsEntry> = catalog
        .iter()
        .filter(|entry| matches_words(entry, &words))
        .collect();
    found.sort_by(|a, b| newest_first(a, b));
    found
}

/// The wizard's starting values: osinfo's recommendation, else ours or its minimum when that
/// is more (a bare minimum makes a slow installer).
pub fn defaults_for(entry: &OsEntry) -> OsDefaults {
    let wanted = entry.recommended.or(entry.minimum);
    let memory_mib = recommended_or_at_least(
        entry.recommended.ram_bytes,
        entry.minimum.ram_bytes,
        GENERIC_MEMORY_MIB * MIB,
    )
    .div_ceil(MIB);
    let disk_gib = recommended_or_at_least(
        entry.recommended.storage_bytes,
        entry.minimum.storage_bytes,
        GENERIC_DISK_GIB * GIB,
    )
    .div_ceil(GIB)
    .max(1);
    // Unknown systems get devices every system has drivers for.
    let disk_bus = if entry.virtio_block {
        DiskBus::Virtio
    } else {
        DiskBus::Sata
    };
    let nic_model = if entry.virtio_net {
        NicModel::Virtio
    } else {
        NicModel::E1000e
    };
    let firmware = if entry.efi_required {
        Firmware::Uefi { secure_boot: true }
    } else {
        Firmware::Bios
    };
    OsDefaults {
        memory_mib,
        vcpus: wanted.n_cpus.unwrap_or(DEFAULT_VCPUS).max(DEFAULT_VCPUS),
        disk_gib,
        disk_bus,
        nic_model,
        firmware,
        tpm: entry.needs_tpm,
    }
}

fn recommended_or_at_least(recommended: Option<u64>, minimum: Option<u64>, ours: u64) -> u64 {
    recommended.unwrap_or_else(|| minimum.map_or(ours, |minimum| minimum.max(ours)))
}

/// The system whose install media the ISO image `iso` is: one of its media's identifiers all
/// match, as libosinfo checks them. osinfo's patterns overlap (Windows 10 and 11 share theirs;
/// old versions' patterns match new labels), so the most specific (longest) volume pattern
/// wins, then the medium checking more, then the newest system.
pub fn detect_from_iso<'a>(iso: &IsoIdentity, catalog: &'a [OsEntry]) -> Option<&'a OsEntry> {
    if iso.volume_id.is_empty() {
        return None;
    }
    let mut best: Option<(Specificity, &OsEntry)> = None;
    for entry in catalog {
        let Some(specificity) = entry.media.iter().filter_map(|ids| ids.matches(iso)).max() else {
            continue;
        };
        let better = match best {
            None => true,
            Some((best_specificity, best_entry)) => {
                specificity > best_specificity
                    || (specificity == best_specificity
                        && entry.release_date > best_entry.release_date)
            }
        };
        if better {
            best = Some((specificity, entry));
        }
    }
    best.map(|(_, entry)| entry)
}

fn xml_files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.is_dir() {
            xml_files_under(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "xml") {
            found.push(path);
        }
    }
}

/// One `<os>` as written, before inheritance.
#[derive(Debug, Clone, Default)]
struct RawOs {
    entry: OsEntry,
    derives_from: Option<String>,
    /// Device id and whether it is supported (`supported="false"` withdraws an inherited one).
    devices: Vec<(String, bool)>,
    /// Firmware type (`bios`, `efi`) and whether it is supported, for x86_64.
    firmware: Vec<(String, bool)>,
    /// No resources of its own, or `inherit="true"`: take the parent's.
    inherits_resources: bool,
}

fn parse_file(path: &Path) -> Vec<RawOs> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(document) = roxmltree::Document::parse(&text) else {
        return Vec::new();
    };
    document
        .root_element()
        .children()
        .filter(|node| node.has_tag_name("os"))
        .filter_map(parse_os)
        .collect()
}

fn parse_os(os: Node) -> Option<RawOs> {
    let mut short_ids = elements(os, "short-id").filter_map(|node| node.text());
    let short_id = short_ids.next()?.trim().to_owned();
    let entry = OsEntry {
        id: os.attribute("id")?.to_owned(),
        short_id,
        aliases: short_ids.map(|id| id.trim().to_owned()).collect(),
        name: unlocalised_text(os, "name")?,
        vendor: unlocalised_text(os, "vendor").unwrap_or_default(),
        version: child_text(os, "version").unwrap_or_default(),
        family: child_text(os, "family").unwrap_or_default(),
        distro: child_text(os, "distro").unwrap_or_default(),
        release_status: ReleaseStatus::parse(&child_text(os, "release-status").unwrap_or_default()),
        release_date: child_text(os, "release-date"),
        eol_date: child_text(os, "eol-date"),
        minimum: resources(os, "minimum"),
        recommended: resources(os, "recommended"),
        media: media_ids(os),
        ..OsEntry::default()
    };
    Some(RawOs {
        inherits_resources: inherits_resources(os),
        derives_from: elements(os, "derives-from")
            .find_map(|node| node.attribute("id"))
            .map(str::to_owned),
        devices: devices(os),
        firmware: firmware(os),
        entry,
    })
}

fn elements<'a, 'input>(
    parent: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    parent
        .children()
        .filter(move |node| node.has_tag_name(name))
}

fn child_text(parent: Node, name: &'static str) -> Option<String> {
    elements(parent, name)
        .find_map(|node| node.text())
        .map(|text| text.trim().to_owned())
}

/// The English text: the element without `xml:lang`.
fn unlocalised_text(parent: Node, name: &'static str) -> Option<String> {
    elements(parent, name)
        .find(|node| {
            !node
                .attributes()
                .any(|attribute| attribute.name() == "lang")
        })
        .and_then(|node| node.text())
        .map(|text| text.trim().to_owned())
}

fn supported(node: Node) -> bool {
    node.attribute("supported") != Some("false")
}

fn is_media_arch(node: Node) -> bool {
    MEDIA_ARCHES.contains(&node.attribute("arch").unwrap_or("all"))
}

fn resources_elements<'a, 'input>(os: Node<'a, 'input>, arch: &str) -> Option<Node<'a, 'input>> {
    elements(os, "resources").find(|node| node.attribute("arch") == Some(arch))
}

/// x86_64's values, completed by those for all architectures.
fn resources(os: Node, level: &'static str) -> Resources {
    let read = |arch| {
        resources_elements(os, arch)
            .and_then(|node| elements(node, level).next())
            .map(resource_values)
            .unwrap_or_default()
    };
    read("x86_64").or(read("all"))
}

fn resource_values(node: Node) -> Resources {
    let number = |name| child_text(node, name).and_then(|text| text.parse::<u64>().ok());
    Resources {
        ram_bytes: number("ram"),
        n_cpus: number("n-cpus").and_then(|count| u32::try_from(count).ok()),
        cpu_hz: number("cpu"),
        storage_bytes: number("storage"),
    }
}

fn inherits_resources(os: Node) -> bool {
    let own = ["x86_64", "all"]
        .iter()
        .filter_map(|arch| resources_elements(os, arch))
        .collect::<Vec<_>>();
    own.is_empty()
        || own
            .iter()
            .any(|node| node.attribute("inherit") == Some("true"))
}

fn media_ids(os: Node) -> Vec<MediaIds> {
    elements(os, "media")
        .filter(|media| is_media_arch(*media))
        .flat_map(|media| elements(media, "iso"))
        .filter_map(MediaIds::parse)
        .collect()
}

fn devices(os: Node) -> Vec<(String, bool)> {
    elements(os, "devices")
        .flat_map(|devices| elements(devices, "device"))
        .filter_map(|device| Some((device.attribute("id")?.to_owned(), supported(device))))
        .collect()
}

fn firmware(os: Node) -> Vec<(String, bool)> {
    elements(os, "firmware")
        .filter(|node| node.attribute("arch") == Some("x86_64"))
        .filter_map(|node| Some((node.attribute("type")?.to_owned(), supported(node))))
        .collect()
}

/// Devices, firmware and missing resources come from the systems each one derives from.
fn resolve_inheritance(raw: Vec<RawOs>) -> Vec<OsEntry> {
    let by_id: HashMap<&str, usize> = raw
        .iter()
        .enumerate()
        .map(|(index, os)| (os.entry.id.as_str(), index))
        .collect();
    (0..raw.len())
        .map(|index| resolved_entry(&raw, &ancestry(&raw, &by_id, index)))
        .collect()
}

/// `index` and the systems it derives from, nearest first.
fn ancestry(raw: &[RawOs], by_id: &HashMap<&str, usize>, index: usize) -> Vec<usize> {
    let mut chain = vec![index];
    let mut current = index;
    while let Some(parent) = raw[current]
        .derives_from
        .as_deref()
        .and_then(|id| by_id.get(id).copied())
    {
        if chain.contains(&parent) || chain.len() > MAX_DERIVATION_DEPTH {
            break;
        }
        chain.push(parent);
        current = parent;
    }
    chain
}

fn resolved_entry(raw: &[RawOs], chain: &[usize]) -> OsEntry {
    let own = &raw[chain[0]];
    let mut entry = own.entry.clone();
    let devices = nearest_wins(chain.iter().map(|index| &raw[*index].devices));
    let firmware = nearest_wins(chain.iter().map(|index| &raw[*index].firmware));
    let has =
        |map: &HashMap<&str, bool>, ids: &[&str]| ids.iter().any(|id| map.get(id) == Some(&true));
    entry.virtio_block = has(&devices, VIRTIO_BLOCK_DEVICES);
    entry.virtio_net = has(&devices, VIRTIO_NET_DEVICES);
    entry.efi_supported = firmware.get("efi") == Some(&true);
    entry.efi_required = firmware.get("bios") == Some(&false);
    entry.needs_tpm = entry.efi_required && entry.family == "winnt";
    for index in inherited_resources_chain(raw, chain) {
        entry.minimum = entry.minimum.or(raw[index].entry.minimum);
        entry.recommended = entry.recommended.or(raw[index].entry.recommended);
    }
    entry
}

/// The ancestors to take resources from: up to and including the first with its own.
fn inherited_resources_chain(raw: &[RawOs], chain: &[usize]) -> Vec<usize> {
    let mut ancestors = Vec::new();
    for window in chain.windows(2) {
        if !raw[window[0]].inherits_resources {
            break;
        }
        ancestors.push(window[1]);
    }
    ancestors
}

/// Merges `(id, supported)` lists given nearest first: a nearer system's word wins.
fn nearest_wins<'a>(
    lists: impl Iterator<Item = &'a Vec<(String, bool)>>,
) -> HashMap<&'a str, bool> {
    let mut merged = HashMap::new();
    for list in lists {
        for (id, supported) in list {
            merged.entry(id.as_str()).or_insert(*supported);
        }
    }
    merged
}

fn matches_words(entry: &OsEntry, words: &[String]) -> bool {
    let name = entry.name.to_lowercase();
    words.iter().all(|word| {
        name.contains(word.as_str())
            || entry
                .short_ids()
                .any(|id| id.to_lowercase().contains(word.as_str()))
    })
}

/// Newest release first; undated ones (rolling, unknown, generic) after, by name.
fn newest_first(a: &OsEntry, b: &OsEntry) -> std::cmp::Ordering {
    match (&a.release_date, &b.release_date) {
        (Some(a_date), Some(b_date)) => b_date.cmp(a_date).then_with(|| a.name.cmp(&b.name)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.cmp(&b.name),
    }
}

#[cfg(test)]
mod tests;
