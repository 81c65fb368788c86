//! Why a snapshot action failed: a refusal before anything changed, or libvirt's own words
//! followed by one sentence on what to do, chosen by libvirt's error code (never its text).

use std::fmt;

use gettextrs::gettext;
use virt::sys;

use super::snapshot_plan::PlanError;
use crate::backend::error::{BackendError, ErrorKind};

/// Why a snapshot action failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The name cannot be used: the sentence says why.
    BadName(String),
    /// Refused before anything changed.
    Plan(PlanError),
    /// libvirt refused or failed: its words, then what to do.
    Libvirt(BackendError),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName(reason) => f.write_str(reason),
            Self::Plan(refusal) => refusal.fmt(f),
            Self::Libvirt(error) => f.write_str(&libvirt_message(error)),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl From<BackendError> for SnapshotError {
    fn from(error: BackendError) -> Self {
        Self::Libvirt(error)
    }
}

impl From<virt::error::Error> for SnapshotError {
    fn from(error: virt::error::Error) -> Self {
        Self::Libvirt(error.into())
    }
}

impl From<PlanError> for SnapshotError {
    fn from(refusal: PlanError) -> Self {
        Self::Plan(refusal)
    }
}

/// libvirt's message, then one sentence on what to do, chosen by libvirt's error code.
pub fn libvirt_message(error: &BackendError) -> String {
    let Some(code) = error.libvirt else {
        return error.user_message();
    };
    if matches!(
        error.kind,
        ErrorKind::ConnectionLost | ErrorKind::Unreachable
    ) {
        return error.user_message();
    }
    let advice = match code.number as u32 {
        sys::VIR_ERR_NO_DOMAIN_SNAPSHOT => gettext(
            "The snapshot no longer exists (it was deleted elsewhere); reload the list.",
        ),
        sys::VIR_ERR_NO_DOMAIN => gettext("The virtual machine no longer exists on the host."),
        sys::VIR_ERR_SNAPSHOT_REVERT_RISKY => gettext(
            "The machine changed since the snapshot was taken in a way libvirt will not revert over while it runs; shut the machine down and revert again.",
        ),
        sys::VIR_ERR_OPERATION_UNSUPPORTED
        | sys::VIR_ERR_CONFIG_UNSUPPORTED
        | sys::VIR_ERR_NO_SUPPORT => gettext(
            "This host’s libvirt or QEMU cannot do this for this machine’s snapshots. Shut the machine down and try again; external snapshots can be reverted and deleted only with libvirt 9.7 or later on the host, so update libvirt there if it is older.",
        ),
        sys::VIR_ERR_OPERATION_INVALID => gettext(
            "The machine is not in a state that allows this now (a job may be running, or it is starting or stopping); wait a moment and try again.",
        ),
        sys::VIR_ERR_AGENT_UNRESPONSIVE => gettext(
            "The guest agent did not answer, so the file systems could not be frozen; check that qemu-guest-agent runs in the guest, or try again.",
        ),
        sys::VIR_ERR_INVALID_DOMAIN_SNAPSHOT | sys::VIR_ERR_XML_ERROR | sys::VIR_ERR_INVALID_ARG => {
            gettext("Check the snapshot’s name and description, then try again.")
        }
        sys::VIR_ERR_OPERATION_DENIED | sys::VIR_ERR_AUTH_FAILED | sys::VIR_ERR_ACCESS_DENIED => {
            gettext("Your account on the host may not do this; log in with one that may manage this machine.")
        }
        _ => gettext(
            "Check the free space in the machine’s storage pool and the host’s libvirt log (journalctl -u libvirtd or virtqemud), then try again.",
        ),
    };
    let words = error.detail.trim_end();
    if words.ends_with(['.', '!', '?', '。']) {
        format!("{words} {advice}")
    } else {
        format!("{words}. {advice}")
    }
}
