//! Names the wizard proposes: the machine's, its disk's and an upload's, made new among
//! those taken, and a disk image's format from its name.

use crate::backend::xml::domain::OsChoice;
use crate::backend::xml::volume::VolumeFormat;

/// A machine name from the system's short id (`fedora39`, else `vm`), numbered to be new.
pub fn default_vm_name(os: &OsChoice, taken: &[String]) -> String {
    let base = if os.short_id.is_empty() || os.short_id == OsChoice::GENERIC_SHORT_ID {
        "vm"
    } else {
        os.short_id.as_str()
    };
    (1..)
        .map(|n| match n {
            1 => base.to_owned(),
            n => format!("{base}-{n}"),
        })
        .find(|name| !taken.contains(name))
        .unwrap_or_default()
}

/// `name`, or `stem-2.ext`, `stem-3.ext` … when taken.
pub fn unique_file_name(name: &str, taken: &[String]) -> String {
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, Some(extension)),
        _ => (name, None),
    };
    (1..)
        .map(|n| match (n, extension) {
            (1, _) => name.to_owned(),
            (n, Some(extension)) => format!("{stem}-{n}.{extension}"),
            (n, None) => format!("{stem}-{n}"),
        })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_default()
}

/// A disk image's format as its name says; raw when it says nothing.
pub fn format_from_path(path: &str) -> VolumeFormat {
    let lower = path.to_lowercase();
    if lower.ends_with(".qcow2") || lower.ends_with(".qcow") {
        VolumeFormat::Qcow2
    } else {
        VolumeFormat::Raw
    }
}
