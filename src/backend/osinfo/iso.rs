//! What an ISO 9660 image says about itself in its primary volume descriptor: the identifiers
//! osinfo-db's install media are recognised by.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use gettextrs::gettext;

use crate::i18n::gettext_f;

/// ISO 9660 puts its first volume descriptor in sector 16 of 2048 bytes.
const ISO_DESCRIPTOR_OFFSET: usize = 16 * 2048;
const ISO_SECTOR_BYTES: usize = 2048;
/// How much of an image `identity_from_bytes` needs, for reading it over a stream.
pub const ISO_IDENTITY_BYTES: usize = ISO_DESCRIPTOR_OFFSET + ISO_SECTOR_BYTES;

/// Where the primary volume descriptor keeps each identifier (ECMA-119 8.4).
const SYSTEM_ID: Range<usize> = 8..40;
const VOLUME_ID: Range<usize> = 40..72;
const PUBLISHER_ID: Range<usize> = 318..446;
const APPLICATION_ID: Range<usize> = 574..702;
/// The little-endian halves of the both-endian block count and block size.
const VOLUME_BLOCKS: Range<usize> = 80..84;
const BLOCK_BYTES: Range<usize> = 128..130;

/// The identifiers of an ISO 9660 image, each without its padding; empty when not set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IsoIdentity {
    pub system_id: String,
    /// The volume label.
    pub volume_id: String,
    pub publisher_id: String,
    pub application_id: String,
    /// The volume's size in bytes, as the descriptor states it.
    pub volume_size: u64,
}

/// Why a file's ISO 9660 identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsoError {
    /// The file could not be opened or read.
    Unreadable(String),
    /// No ISO 9660 primary volume descriptor: not a CD or DVD image.
    NotIso,
}

impl fmt::Display for IsoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(detail) => f.write_str(&gettext_f(
                "The file cannot be read: {detail}.",
                &[("detail", detail)],
            )),
            Self::NotIso => f.write_str(&gettext("The file is not an ISO image.")),
        }
    }
}

impl std::error::Error for IsoError {}

/// The identity of the ISO 9660 image at `path`, which also proves the file is one.
pub fn iso9660_identity(path: &Path) -> Result<IsoIdentity, IsoError> {
    let unreadable = |error: io::Error| IsoError::Unreadable(error.to_string());
    let mut file = File::open(path).map_err(unreadable)?;
    let mut sector = vec![0; ISO_SECTOR_BYTES];
    file.seek(SeekFrom::Start(ISO_DESCRIPTOR_OFFSET as u64))
        .map_err(unreadable)?;
    match file.read_exact(&mut sector) {
        Ok(()) => identity_from_descriptor(&sector),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Err(IsoError::NotIso),
        Err(error) => Err(unreadable(error)),
    }
}

/// The same from the image's first `ISO_IDENTITY_BYTES` bytes, such as a downloaded volume's.
pub fn identity_from_bytes(image_start: &[u8]) -> Result<IsoIdentity, IsoError> {
    image_start
        .get(ISO_DESCRIPTOR_OFFSET..ISO_IDENTITY_BYTES)
        .ok_or(IsoError::NotIso)
        .and_then(identity_from_descriptor)
}

/// A primary volume descriptor is type 1, `CD001`, version 1.
fn identity_from_descriptor(sector: &[u8]) -> Result<IsoIdentity, IsoError> {
    let is_primary = sector.len() == ISO_SECTOR_BYTES
        && sector[0] == 1
        && &sector[1..6] == b"CD001"
        && sector[6] == 1;
    if !is_primary {
        return Err(IsoError::NotIso);
    }
    let number = |range: Range<usize>| {
        sector[range]
            .iter()
            .rev()
            .fold(0u64, |value, byte| value << 8 | u64::from(*byte))
    };
    Ok(IsoIdentity {
        system_id: identifier(&sector[SYSTEM_ID]),
        volume_id: identifier(&sector[VOLUME_ID]),
        publisher_id: identifier(&sector[PUBLISHER_ID]),
        application_id: identifier(&sector[APPLICATION_ID]),
        volume_size: number(VOLUME_BLOCKS) * number(BLOCK_BYTES),
    })
}

/// A fixed-width field as libosinfo reads it: up to the first NUL, trailing spaces dropped.
fn identifier(field: &[u8]) -> String {
    let end = field
        .iter()
        .position(|byte| *byte == 0)
        .unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).trim_end().to_owned()
}
