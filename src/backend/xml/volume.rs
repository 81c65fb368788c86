//! Storage volumes: the disk image a new virtual machine gets.

use super::Element;

/// The on-disk format of a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeFormat {
    /// Grows as the guest writes and supports snapshots; only in file-based (dir, netfs) pools.
    #[default]
    Qcow2,
    /// The bytes as the guest sees them; the only format of LVM, disk and iSCSI pools.
    Raw,
}

impl VolumeFormat {
    /// The name libvirt and QEMU use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qcow2 => "qcow2",
            Self::Raw => "raw",
        }
    }
}

/// The `<volume>` that `virStorageVolCreateXML` creates: `size_gib` of capacity, allocated
/// as the guest writes (qcow2) or as the pool decides (raw).
pub fn volume_xml(name: &str, size_gib: u64, format: VolumeFormat) -> String {
    Element::new("volume")
        .child(Element::with_text("name", name))
        .child(Element::with_text("capacity", size_gib).attr("unit", "GiB"))
        .child(Element::new("target").child(Element::new("format").attr("type", format.as_str())))
        .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_are_escaped() {
        assert_eq!(
            volume_xml("a&b.qcow2", 20, VolumeFormat::Qcow2),
            "<volume>\n  <name>a&amp;b.qcow2</name>\n  <capacity unit=\"GiB\">20</capacity>\n  \
             <target>\n    <format type=\"qcow2\"/>\n  </target>\n</volume>\n"
        );
    }
}
