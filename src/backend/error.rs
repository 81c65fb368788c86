//! Errors from the backend, each mapped to one plain sentence for the user.

use gettextrs::gettext;
use virt::sys;

use super::libvirt::ffi::LibvirtError;

/// What went wrong, in the terms the user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host rejected the user name or password.
    AuthFailed,
    /// Nothing answered at the address, or the network failed.
    Unreachable,
    /// The address names a hypervisor driver that libvirt does not have.
    UnknownDriver,
    /// The address or another input cannot be used as it is.
    InvalidInput,
    /// The connection ended while in use.
    ConnectionLost,
    /// The object no longer exists on the host.
    NotFound,
    /// The host cannot do this.
    Unsupported,
    /// Anything else libvirt reported.
    Other,
}

/// A backend failure: its kind and the technical detail behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub kind: ErrorKind,
    pub detail: String,
}

impl BackendError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// One sentence (or two) the user can read and act on.
    pub fn user_message(&self) -> String {
        match self.kind {
            ErrorKind::AuthFailed => gettext("The host did not accept the user name or password."),
            ErrorKind::Unreachable => format!(
                "{} {}",
                gettext("Could not reach the host."),
                capitalise(&self.detail)
            ),
            ErrorKind::UnknownDriver | ErrorKind::InvalidInput => capitalise(&self.detail),
            ErrorKind::ConnectionLost => gettext("The connection to the host was lost."),
            ErrorKind::NotFound => format!(
                "{} {}",
                gettext("It no longer exists on the host."),
                capitalise(&self.detail)
            ),
            ErrorKind::Unsupported => format!(
                "{} {}",
                gettext("The host does not support this."),
                capitalise(&self.detail)
            ),
            ErrorKind::Other => {
                format!("{} {}", gettext("The host reported an error:"), self.detail)
            }
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.user_message())
    }
}

impl std::error::Error for BackendError {}

impl From<LibvirtError> for BackendError {
    fn from(error: LibvirtError) -> Self {
        if let Some(explained) = explain_ssh_failure(&error.message) {
            return explained;
        }
        Self::new(kind_of_libvirt_code(error.code), error.message)
    }
}

/// ssh's own words, relayed by libvirt, turned into what the user can do about them.
fn explain_ssh_failure(message: &str) -> Option<BackendError> {
    let sentence = if message.contains("Host key verification failed")
        || message.contains("authenticity of host")
    {
        gettext(
            "This computer does not know the host’s ssh key yet. Connect once with “ssh” in a terminal to check and accept the key, then try again.",
        )
    } else if message.contains("passphrase") {
        gettext(
            "Your ssh key needs its passphrase. Add the key to your ssh agent (ssh-add) or choose a key without a passphrase, then try again.",
        )
    } else if message.contains("Permission denied (publickey") {
        gettext(
            "The host did not accept any of your ssh keys. Check the user name and that your public key is in the host’s authorized_keys.",
        )
    } else {
        return None;
    };
    // Not `AuthFailed`: asking for the password again would not help.
    Some(BackendError::new(ErrorKind::InvalidInput, sentence))
}

impl From<virt::error::Error> for BackendError {
    fn from(error: virt::error::Error) -> Self {
        LibvirtError::from(error).into()
    }
}

fn kind_of_libvirt_code(code: i32) -> ErrorKind {
    match code as u32 {
        sys::VIR_ERR_AUTH_FAILED | sys::VIR_ERR_AUTH_CANCELLED | sys::VIR_ERR_AUTH_UNAVAILABLE => {
            ErrorKind::AuthFailed
        }
        sys::VIR_ERR_SYSTEM_ERROR | sys::VIR_ERR_RPC | sys::VIR_ERR_NO_CONNECT => {
            ErrorKind::Unreachable
        }
        sys::VIR_ERR_INVALID_CONN => ErrorKind::ConnectionLost,
        sys::VIR_ERR_NO_DOMAIN | sys::VIR_ERR_NO_NETWORK | sys::VIR_ERR_NO_STORAGE_POOL => {
            ErrorKind::NotFound
        }
        sys::VIR_ERR_NO_SUPPORT => ErrorKind::Unsupported,
        sys::VIR_ERR_INVALID_ARG | sys::VIR_ERR_XML_ERROR | sys::VIR_ERR_XML_DETAIL => {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Other,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(chars).collect();
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failure_reads_as_a_sentence() {
        let error: BackendError = LibvirtError {
            code: sys::VIR_ERR_AUTH_FAILED as i32,
            message: "authentication failed: authentication failed".into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::AuthFailed);
        assert!(error.user_message().ends_with('.'));
        assert!(!error.user_message().contains("authentication failed:"));
    }

    #[test]
    fn ssh_trouble_says_what_to_do() {
        let error: BackendError = LibvirtError {
            code: sys::VIR_ERR_SYSTEM_ERROR as i32,
            message: "Cannot recv data: Host key verification failed.: Connection reset by peer"
                .into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert!(error
            .user_message()
            .contains("does not know the host’s ssh key"));
        let error: BackendError = LibvirtError {
            code: sys::VIR_ERR_SYSTEM_ERROR as i32,
            message: "Cannot recv data: user@h: Permission denied (publickey,password).".into(),
        }
        .into();
        assert!(error
            .user_message()
            .contains("did not accept any of your ssh keys"));
    }

    #[test]
    fn unreachable_keeps_the_reason() {
        let error: BackendError = LibvirtError {
            code: sys::VIR_ERR_SYSTEM_ERROR as i32,
            message: "unable to connect to server at '127.0.0.1:1': Connection refused".into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::Unreachable);
        assert!(error.user_message().contains("Connection refused."));
    }
}
