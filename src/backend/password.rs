//! A password held in memory: wiped when dropped, never printed.
//!
//! Every password Hangar holds (typed in a dialog, read from the keyring, read from a
//! domain's secure XML) lives in a [`Password`] from where it enters until the call that
//! needs it. `Debug` prints `<redacted>`, and there is no `Display`, so a password cannot end
//! up in a log line, an error or a panic message by accident.

use std::fmt;

use zeroize::Zeroizing;

/// What `Debug` prints instead of a password.
pub const REDACTED: &str = "<redacted>";

/// A secret string, zeroed in memory when dropped. Cloning makes a second zeroizing copy.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Copies the text of a password entry; the caller's buffer is its own to clear.
    pub fn from_text(text: &str) -> Self {
        let mut owned = String::with_capacity(text.len());
        owned.push_str(text);
        Self(Zeroizing::new(owned))
    }

    /// The password itself, for the few calls that must hand it on: libvirt's credential
    /// callback (copied straight into the buffer libvirt asks for), the keyring, the VNC
    /// handshake and the `passwd` attribute of a new domain's XML.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `None` for an empty password (an entry left blank).
    pub fn non_empty(self) -> Option<Self> {
        (!self.is_empty()).then_some(self)
    }
}

/// Takes over the string's buffer without copying it; it is zeroed when the password drops.
impl From<String> for Password {
    fn from(text: String) -> Self {
        Self(Zeroizing::new(text))
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self::from_text(text)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let password = Password::from_text("hunter2-known");
        assert_eq!(format!("{password:?}"), REDACTED);
        assert_eq!(
            format!("{:#?}", Some(password.clone())),
            "Some(\n    <redacted>,\n)"
        );
        assert_eq!(password.expose(), "hunter2-known");
    }

    #[test]
    fn empty_entries_are_no_password() {
        assert_eq!(Password::from_text("").non_empty(), None);
        assert!(Password::from(String::from("x")).non_empty().is_some());
    }
}
