//! The `<domainsnapshot>` given to `virDomainSnapshotCreateXML`: the name and description
//! the user typed, where the memory goes and, for each disk, whether it is snapshotted inside
//! its qcow2 image (internal), into a new overlay file (external) or not at all.

use super::Element;

/// Where a snapshot keeps the disks' and memory's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnapshotMode {
    /// Inside each qcow2 image (`qemu-img snapshot`, `savevm`): one file, easy to revert.
    Internal,
    /// New overlay files on top of the images, the memory in a file of its own.
    External,
}

impl SnapshotMode {
    /// The value of libvirt's `snapshot` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
        }
    }
}

/// What happens to the guest's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemorySnapshot {
    /// Disk only (`snapshot='no'`).
    None,
    /// Saved inside the first qcow2 image.
    Internal,
    /// Saved to this file on the host.
    External(String),
}

/// What happens to one disk, named by its target (`vda`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSnapshot {
    pub target: String,
    /// `None` leaves the disk out (CD-ROMs, read-only and shared disks).
    pub mode: Option<SnapshotMode>,
}

/// Everything one new snapshot is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSpec {
    pub name: String,
    /// Empty for none.
    pub description: String,
    pub memory: MemorySnapshot,
    pub disks: Vec<DiskSnapshot>,
}

/// The snapshot's XML; libvirt names external overlays itself (`image.NAME` beside each image).
pub fn snapshot_xml(spec: &SnapshotSpec) -> String {
    let mut root = Element::new("domainsnapshot").child(Element::with_text("name", &spec.name));
    if !spec.description.is_empty() {
        root = root.child(Element::with_text("description", &spec.description));
    }
    root = root.child(match &spec.memory {
        MemorySnapshot::None => Element::new("memory").attr("snapshot", "no"),
        MemorySnapshot::Internal => Element::new("memory").attr("snapshot", "internal"),
        MemorySnapshot::External(file) => Element::new("memory")
            .attr("snapshot", "external")
            .attr("file", file),
    });
    if !spec.disks.is_empty() {
        root = root.child(
            Element::new("disks").children(spec.disks.iter().map(|disk| {
                Element::new("disk")
                    .attr("name", &disk.target)
                    .attr("snapshot", disk.mode.map_or("no", SnapshotMode::as_str))
            })),
        );
    }
    root.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_escaped_and_empty_descriptions_left_out() {
        let spec = SnapshotSpec {
            name: "before <upgrade> & \"reboot\"".into(),
            description: String::new(),
            memory: MemorySnapshot::None,
            disks: vec![],
        };
        let xml = snapshot_xml(&spec);
        assert!(!xml.contains("<description"), "{xml}");
        let parsed = roxmltree::Document::parse(&xml).expect("well-formed");
        let name = parsed
            .descendants()
            .find(|node| node.has_tag_name("name"))
            .and_then(|node| node.text());
        assert_eq!(name, Some(spec.name.as_str()));
    }
}
