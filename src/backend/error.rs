//! Errors from the backend, each mapped to one plain sentence for the user.

use gettextrs::gettext;
use virt::sys;

use super::libvirt::ffi::LibvirtError;

/// What went wrong, in the terms the user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host rejected the user name or password.
    AuthFailed,
    /// The login was given up while answering its questions (the user closed them).
    AuthCancelled,
    /// The host refused the login in a way no password can change (polkit without an agent,
    /// a missing Kerberos ticket): trying again by itself would only fail again.
    AuthUnavailable,
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
    /// No guest agent answers in the virtual machine (none configured, not started in the
    /// guest, or the machine is off).
    GuestAgentUnavailable,
    /// Anything else libvirt reported.
    Other,
}

/// Which libvirt error it was: `virErrorNumber` and `virErrorDomain`, as libvirt numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibvirtCode {
    pub number: i32,
    pub domain: i32,
}

/// A backend failure: its kind, the technical detail behind it and, when libvirt raised it,
/// libvirt's own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub kind: ErrorKind,
    pub detail: String,
    pub libvirt: Option<LibvirtCode>,
}

impl BackendError {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            libvirt: None,
        }
    }

    /// The same failure seen as another kind (e.g. a refusal that never asked for a password).
    pub fn with_kind(self, kind: ErrorKind) -> Self {
        Self { kind, ..self }
    }

    /// Whether libvirt raised it with this `virErrorNumber`.
    pub fn is_libvirt(&self, number: u32) -> bool {
        self.libvirt
            .is_some_and(|code| code.number == number as i32)
    }

    /// One sentence (or two) the user can read and act on.
    pub fn user_message(&self) -> String {
        match self.kind {
            ErrorKind::AuthFailed => gettext("The host did not accept the user name or password."),
            ErrorKind::AuthCancelled => gettext("The login was cancelled."),
            ErrorKind::AuthUnavailable => self.unavailable_login_message(),
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
            ErrorKind::GuestAgentUnavailable => gettext(
                "No guest agent answers in this virtual machine. It reports only while the machine runs, with a guest agent channel and qemu-guest-agent started in the guest.",
            ),
            ErrorKind::Other => {
                format!("{} {}", gettext("The host reported an error:"), self.detail)
            }
        }
    }
}

impl BackendError {
    /// Why a login that asked nothing failed, by libvirt's code, and what to do.
    fn unavailable_login_message(&self) -> String {
        let polkit = self.libvirt.is_some_and(|code| {
            code.domain == sys::VIR_FROM_POLKIT as i32
                || code.number == sys::VIR_ERR_AUTH_UNAVAILABLE as i32
        });
        if polkit {
            gettext(
                "The host lets you in only after polkit confirms it, and no polkit authentication agent is running to ask you. Start one (your desktop normally does) or use an account the host allows, then press Retry.",
            )
        } else {
            gettext(
                "The host refused the login without asking for a password (for example, a Kerberos ticket is missing or expired). Fix that, then press Retry.",
            )
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
        let libvirt = Some(LibvirtCode {
            number: error.code,
            domain: error.domain,
        });
        if let Some(hint) = ssh_hint(&error) {
            return Self { libvirt, ..hint };
        }
        Self {
            kind: kind_of_libvirt_error(error.code, error.domain),
            detail: error.message,
            libvirt,
        }
    }
}

/// A hint for failures of the ssh transport, which reach libvirt only as the ssh client's
/// stderr text (libvirt reads it from the pipe and reports a generic socket or ssh error).
fn ssh_hint(error: &LibvirtError) -> Option<BackendError> {
    let from_transport = matches!(
        error.domain as u32,
        sys::VIR_FROM_RPC | sys::VIR_FROM_SSH | sys::VIR_FROM_LIBSSH
    );
    if !from_transport {
        return None;
    }
    hint_from_ssh_client_stderr(&error.message)
}

/// The one place that reads another program's English: the ssh client says why it failed
/// (unknown host key, key passphrase, rejected keys) only in text on its stderr, which
/// libvirt copies into its message; no code tells these apart. Matches OpenSSH's wording.
fn hint_from_ssh_client_stderr(message: &str) -> Option<BackendError> {
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

/// The kind of a libvirt error, from its `virErrorNumber` and `virErrorDomain` only.
fn kind_of_libvirt_error(code: i32, domain: i32) -> ErrorKind {
    match code as u32 {
        // polkit's "access denied by policy": no password the user could type changes it.
        sys::VIR_ERR_AUTH_FAILED if domain == sys::VIR_FROM_POLKIT as i32 => {
            ErrorKind::AuthUnavailable
        }
        sys::VIR_ERR_AUTH_FAILED => ErrorKind::AuthFailed,
        sys::VIR_ERR_AUTH_CANCELLED => ErrorKind::AuthCancelled,
        sys::VIR_ERR_AUTH_UNAVAILABLE => ErrorKind::AuthUnavailable,
        sys::VIR_ERR_SYSTEM_ERROR | sys::VIR_ERR_RPC | sys::VIR_ERR_NO_CONNECT => {
            ErrorKind::Unreachable
        }
        sys::VIR_ERR_INVALID_CONN => ErrorKind::ConnectionLost,
        sys::VIR_ERR_NO_DOMAIN | sys::VIR_ERR_NO_NETWORK | sys::VIR_ERR_NO_STORAGE_POOL => {
            ErrorKind::NotFound
        }
        sys::VIR_ERR_NO_SUPPORT => ErrorKind::Unsupported,
        sys::VIR_ERR_AGENT_UNRESPONSIVE => ErrorKind::GuestAgentUnavailable,
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
            domain: sys::VIR_FROM_REMOTE as i32,
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
            domain: sys::VIR_FROM_RPC as i32,
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
            domain: sys::VIR_FROM_RPC as i32,
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
            domain: sys::VIR_FROM_RPC as i32,
            message: "unable to connect to server at '127.0.0.1:1': Connection refused".into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::Unreachable);
        assert!(error.user_message().contains("Connection refused."));
    }

    #[test]
    fn polkit_without_an_agent_says_so_whatever_libvirt_wrote() {
        let error: BackendError = LibvirtError {
            code: sys::VIR_ERR_AUTH_UNAVAILABLE as i32,
            domain: sys::VIR_FROM_POLKIT as i32,
            message: "any text at all".into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::AuthUnavailable);
        assert_eq!(
            error.libvirt,
            Some(LibvirtCode {
                number: sys::VIR_ERR_AUTH_UNAVAILABLE as i32,
                domain: sys::VIR_FROM_POLKIT as i32,
            })
        );
        assert!(error.user_message().contains("polkit"), "{error}");
        assert!(!error.user_message().contains("any text"));
    }

    #[test]
    fn polkit_denial_and_cancelled_logins_are_not_rejected_passwords() {
        let denied =
            kind_of_libvirt_error(sys::VIR_ERR_AUTH_FAILED as i32, sys::VIR_FROM_POLKIT as i32);
        assert_eq!(denied, ErrorKind::AuthUnavailable);
        let cancelled = kind_of_libvirt_error(
            sys::VIR_ERR_AUTH_CANCELLED as i32,
            sys::VIR_FROM_REMOTE as i32,
        );
        assert_eq!(cancelled, ErrorKind::AuthCancelled);
    }

    #[test]
    fn ssh_words_from_elsewhere_are_not_read() {
        // The same text in an error that does not come from the transport stays as it is.
        let error: BackendError = LibvirtError {
            code: sys::VIR_ERR_INTERNAL_ERROR as i32,
            domain: sys::VIR_FROM_QEMU as i32,
            message: "Permission denied (publickey)".into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::Other);
    }
}
