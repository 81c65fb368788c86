//! What the guest agent inside a running machine reports: OS, hostname, time zone, users
//! and file systems with their use (`virDomainGetGuestInfo`).
//!
//! Without an agent (none configured, not started in the guest, or the machine is off) the
//! call fails with a libvirt code that says which; all of them become
//! [`ErrorKind::GuestAgentUnavailable`], which the page shows as the agent's state.

use virt::sys;

use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::ffi::{guest_info_params, TypedValue, GUEST_INFO_GROUPS};
use crate::backend::libvirt::session::HostSession;

/// The guest's operating system as the agent names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestOs {
    /// `fedora`, `ubuntu`, `mswindows`.
    pub id: Option<String>,
    /// `Fedora Linux 40 (Workstation Edition)`.
    pub pretty_name: Option<String>,
    pub version: Option<String>,
    pub kernel_release: Option<String>,
    /// `x86_64`.
    pub machine: Option<String>,
}

/// The guest's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestTimezone {
    pub name: Option<String>,
    /// Seconds east of UTC.
    pub offset_seconds: Option<i64>,
}

/// A user logged in to the guest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestUser {
    pub name: String,
    /// Windows domain, when there is one.
    pub domain: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub login_time_ms: Option<u64>,
}

/// A mounted file system and how full it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestFilesystem {
    pub mountpoint: String,
    /// The device name in the guest (`sda1`, `dm-0`).
    pub name: Option<String>,
    /// `ext4`, `xfs`, `NTFS`.
    pub fstype: Option<String>,
    pub total_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
}

/// Everything the agent reported; a group the guest's agent does not support stays empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestInfo {
    pub os: GuestOs,
    pub hostname: Option<String>,
    pub timezone: GuestTimezone,
    pub users: Vec<GuestUser>,
    pub filesystems: Vec<GuestFilesystem>,
}

/// Asks the guest agent of the domain with `uuid` (one libvirt call).
pub fn guest_info(session: &HostSession, uuid: &str) -> Result<GuestInfo, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    let params = guest_info_params(&domain, GUEST_INFO_GROUPS)
        .map_err(|error| classify(BackendError::from(error)))?;
    Ok(GuestInfo::from_params(&params))
}

/// The libvirt codes that mean "no agent to ask", by libvirt's error numbers: not
/// connected (not running in the guest), not configured (no agent channel), or the machine
/// is not running.
fn classify(error: BackendError) -> BackendError {
    let no_agent = [
        sys::VIR_ERR_AGENT_UNRESPONSIVE,
        sys::VIR_ERR_ARGUMENT_UNSUPPORTED,
        sys::VIR_ERR_OPERATION_INVALID,
        sys::VIR_ERR_OPERATION_UNSUPPORTED,
        sys::VIR_ERR_AGENT_COMMAND_TIMEOUT,
    ];
    if no_agent.iter().any(|code| error.is_libvirt(*code)) {
        error.with_kind(ErrorKind::GuestAgentUnavailable)
    } else {
        error
    }
}

impl GuestInfo {
    /// Reads libvirt's typed parameters (`os.pretty-name`, `user.0.name`, `fs.1.used-bytes`…).
    pub fn from_params(params: &[(String, TypedValue)]) -> Self {
        let params = Params(params);
        Self {
            os: GuestOs {
                id: params.text("os.id"),
                pretty_name: params.text("os.pretty-name").or(params.text("os.name")),
                version: params.text("os.version"),
                kernel_release: params.text("os.kernel-release"),
                machine: params.text("os.machine"),
            },
            hostname: params.text("hostname"),
            timezone: GuestTimezone {
                name: params.text("timezone.name"),
                offset_seconds: params.signed("timezone.offset"),
            },
            users: (0..params.count("user.count"))
                .filter_map(|index| read_user(&params, index))
                .collect(),
            filesystems: (0..params.count("fs.count"))
                .filter_map(|index| read_filesystem(&params, index))
                .collect(),
        }
    }
}

fn read_user(params: &Params, index: u64) -> Option<GuestUser> {
    Some(GuestUser {
        name: params.text(&format!("user.{index}.name"))?,
        domain: params.text(&format!("user.{index}.domain")),
        login_time_ms: params.unsigned(&format!("user.{index}.login-time")),
    })
}

fn read_filesystem(params: &Params, index: u64) -> Option<GuestFilesystem> {
    Some(GuestFilesystem {
        mountpoint: params.text(&format!("fs.{index}.mountpoint"))?,
        name: params.text(&format!("fs.{index}.name")),
        fstype: params.text(&format!("fs.{index}.fstype")),
        total_bytes: params.unsigned(&format!("fs.{index}.total-bytes")),
        used_bytes: params.unsigned(&format!("fs.{index}.used-bytes")),
    })
}

/// Looks typed parameters up by field name; a few dozen at most, so a linear search.
struct Params<'a>(&'a [(String, TypedValue)]);

impl Params<'_> {
    fn get(&self, key: &str) -> Option<&TypedValue> {
        self.0
            .iter()
            .find(|(field, _)| field == key)
            .map(|(_, value)| value)
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            TypedValue::String(text) if !text.is_empty() => Some(text.clone()),
            _ => None,
        }
    }

    fn unsigned(&self, key: &str) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    fn signed(&self, key: &str) -> Option<i64> {
        match *self.get(key)? {
            TypedValue::Int(value) => Some(value),
            TypedValue::UInt(value) => i64::try_from(value).ok(),
            _ => None,
        }
    }

    /// A `*.count` field, bounded so a broken report cannot make us loop for long.
    fn count(&self, key: &str) -> u64 {
        self.unsigned(key).unwrap_or(0).min(4096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::error::LibvirtCode;

    fn text(field: &str, value: &str) -> (String, TypedValue) {
        (field.into(), TypedValue::String(value.into()))
    }

    fn number(field: &str, value: u64) -> (String, TypedValue) {
        (field.into(), TypedValue::UInt(value))
    }

    #[test]
    fn a_full_report_is_read_into_its_parts() {
        let params = vec![
            number("user.count", 1),
            text("user.0.name", "alice"),
            number("user.0.login-time", 1_700_000_000_000),
            text("os.id", "fedora"),
            text("os.name", "Fedora Linux"),
            text("os.pretty-name", "Fedora Linux 40 (Workstation Edition)"),
            text("os.kernel-release", "6.8.5-301.fc40.x86_64"),
            text("os.machine", "x86_64"),
            ("timezone.offset".into(), TypedValue::Int(-18000)),
            text("timezone.name", "EST"),
            text("hostname", "web1"),
            number("fs.count", 2),
            text("fs.0.name", "vda1"),
            text("fs.0.mountpoint", "/"),
            text("fs.0.fstype", "xfs"),
            number("fs.0.total-bytes", 20 << 30),
            number("fs.0.used-bytes", 5 << 30),
            text("fs.1.mountpoint", "/boot"),
        ];
        let info = GuestInfo::from_params(&params);
        assert_eq!(info.hostname.as_deref(), Some("web1"));
        assert_eq!(
            info.os.pretty_name.as_deref(),
            Some("Fedora Linux 40 (Workstation Edition)")
        );
        assert_eq!(info.os.id.as_deref(), Some("fedora"));
        assert_eq!(info.timezone.offset_seconds, Some(-18000));
        assert_eq!(info.timezone.name.as_deref(), Some("EST"));
        assert_eq!(info.users.len(), 1);
        assert_eq!(info.users[0].name, "alice");
        assert_eq!(info.users[0].login_time_ms, Some(1_700_000_000_000));
        assert_eq!(info.filesystems.len(), 2);
        assert_eq!(info.filesystems[0].used_bytes, Some(5 << 30));
        assert_eq!(info.filesystems[0].total_bytes, Some(20 << 30));
        assert_eq!(info.filesystems[1].mountpoint, "/boot");
        assert_eq!(info.filesystems[1].total_bytes, None);
    }

    #[test]
    fn missing_groups_and_broken_entries_stay_empty() {
        let params = vec![number("fs.count", 3), text("fs.2.mountpoint", "/data")];
        let info = GuestInfo::from_params(&params);
        assert_eq!(info.hostname, None);
        assert_eq!(info.os, GuestOs::default());
        assert!(info.users.is_empty());
        assert_eq!(info.filesystems.len(), 1);
        assert_eq!(info.filesystems[0].mountpoint, "/data");
        assert_eq!(GuestInfo::from_params(&[]), GuestInfo::default());
    }

    #[test]
    fn the_pretty_name_falls_back_to_the_name() {
        let info = GuestInfo::from_params(&[text("os.name", "Microsoft Windows")]);
        assert_eq!(info.os.pretty_name.as_deref(), Some("Microsoft Windows"));
    }

    fn libvirt_error(number: u32) -> BackendError {
        BackendError {
            kind: ErrorKind::Other,
            detail: "anything".into(),
            libvirt: Some(LibvirtCode {
                number: number as i32,
                domain: sys::VIR_FROM_QEMU as i32,
            }),
        }
    }

    #[test]
    fn no_agent_is_its_own_kind_by_libvirt_code() {
        for code in [
            sys::VIR_ERR_AGENT_UNRESPONSIVE,
            sys::VIR_ERR_ARGUMENT_UNSUPPORTED,
            sys::VIR_ERR_OPERATION_INVALID,
        ] {
            assert_eq!(
                classify(libvirt_error(code)).kind,
                ErrorKind::GuestAgentUnavailable
            );
        }
        assert_eq!(
            classify(libvirt_error(sys::VIR_ERR_NO_DOMAIN)).kind,
            ErrorKind::Other
        );
    }
}
