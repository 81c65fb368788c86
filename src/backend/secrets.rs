//! Passwords in the desktop keyring (the Secret Service), never in a file.
//!
//! Each item has the attributes `service` = the app ID and `username` = a key (a saved
//! connection's id, or for a console password `vnc:<domain uuid>`, or `vnc:HOST:PORT` for a
//! console opened by address), so `secret-tool search --all service io.github.hangarvm.Hangar`
//! lists them. Every call talks D-Bus and may wait for an unlock prompt: run it off the GTK
//! main thread.
//!
//! No password is ever put in an error, a log line or a `Debug` output here.

use std::collections::HashMap;

use gettextrs::gettext;
use keyring_core::Error as KeyringError;

use crate::config::APP_ID;
use crate::i18n::gettext_f;

/// Why a password could not be stored, read or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// There is no keyring to use (no session bus, no Secret Service, locked, or the user
    /// declined to unlock it). Hangar then asks for the password on each connect.
    Unavailable(String),
    /// The keyring is there but the operation failed.
    Failed(String),
}

impl SecretError {
    /// A sentence or two for the user.
    pub fn user_message(&self) -> &str {
        match self {
            Self::Unavailable(message) | Self::Failed(message) => message,
        }
    }
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.user_message())
    }
}

impl std::error::Error for SecretError {}

/// Saves `password` under `key`, replacing any earlier one. `label` is what keyring
/// managers (Seahorse) show, e.g. from `connection_label`; it is set when the item is made.
pub fn store_password(key: &str, label: &str, password: &str) -> Result<(), SecretError> {
    let label = if label.trim().is_empty() {
        connection_label(None, None)
    } else {
        label.to_owned()
    };
    let modifiers = HashMap::from([("label", label.as_str())]);
    ensure_store_started()?;
    check_key(key)?;
    let entry =
        keyring_core::Entry::new_with_modifiers(APP_ID, key, &modifiers).map_err(map_error)?;
    let stored = match entry.set_password(password) {
        // Several items for one key (made by another program): keep a single one.
        Err(KeyringError::Ambiguous(duplicates)) => {
            delete_each(&duplicates).and_then(|()| entry.set_password(password))
        }
        other => other,
    };
    stored.map_err(map_error)
}

/// The password saved under `key`; `None` when there is none.
pub fn lookup_password(key: &str) -> Result<Option<String>, SecretError> {
    let entry = entry_for(key)?;
    match entry.get_password() {
        Ok(password) => Ok(Some(password)),
        Err(KeyringError::NoEntry) => Ok(None),
        Err(KeyringError::Ambiguous(duplicates)) => duplicates
            .first()
            .map(keyring_core::Entry::get_password)
            .transpose()
            .map_err(map_error),
        Err(error) => Err(map_error(error)),
    }
}

/// Forgets the password saved under `key`; fine when there is none.
pub fn delete_password(key: &str) -> Result<(), SecretError> {
    let entry = entry_for(key)?;
    match entry.delete_credential() {
        Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
        Err(KeyringError::Ambiguous(duplicates)) => delete_each(&duplicates).map_err(map_error),
        Err(error) => Err(map_error(error)),
    }
}

/// The keyring item's label for a connection's password, naming the user and the host.
pub fn connection_label(user: Option<&str>, host: Option<&str>) -> String {
    match (given(user), given(host)) {
        (Some(user), Some(host)) => gettext_f(
            // Translators: the label of a saved password, shown in Passwords and Keys.
            "Hangar: password for {user} on {host}",
            &[("user", user), ("host", host)],
        ),
        (None, Some(host)) => gettext_f("Hangar: password for {host}", &[("host", host)]),
        (Some(user), None) => gettext_f(
            "Hangar: password for {user} on this computer",
            &[("user", user)],
        ),
        (None, None) => gettext("Hangar: password on this computer"),
    }
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

fn entry_for(key: &str) -> Result<keyring_core::Entry, SecretError> {
    ensure_store_started()?;
    check_key(key)?;
    keyring_core::Entry::new(APP_ID, key).map_err(map_error)
}

/// An empty key would match items with an empty user name: a caller's mistake.
fn check_key(key: &str) -> Result<(), SecretError> {
    if key.is_empty() {
        return Err(SecretError::Failed(gettext(
            "The password has no name to be saved under.",
        )));
    }
    Ok(())
}

/// keyring connects once per process; when that failed, it stays failed until restart.
fn ensure_store_started() -> Result<(), SecretError> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(error) => Err(unavailable(known_cause(&error.to_string()).unwrap_or_else(
            || {
                gettext_f(
                    "The keyring could not be opened ({detail}).",
                    &[("detail", &error.to_string())],
                )
            },
        ))),
    }
}

fn delete_each(entries: &[keyring_core::Entry]) -> Result<(), KeyringError> {
    entries
        .iter()
        .try_for_each(|entry| match entry.delete_credential() {
            Err(KeyringError::NoEntry) => Ok(()),
            other => other,
        })
}

/// Never formats the password-carrying variants (`BadEncoding`, `BadDataFormat`).
fn map_error(error: KeyringError) -> SecretError {
    match error {
        KeyringError::NoStorageAccess(inner) => unavailable(access_cause(&inner.to_string())),
        KeyringError::PlatformFailure(inner) => {
            let detail = inner.to_string();
            match known_cause(&detail) {
                Some(cause) => unavailable(cause),
                None => failed(&detail),
            }
        }
        KeyringError::NoDefaultStore => unavailable(gettext("The keyring could not be opened.")),
        KeyringError::BadEncoding(_) => {
            SecretError::Failed(gettext("The saved password is not valid text."))
        }
        KeyringError::BadDataFormat(..) => SecretError::Failed(gettext(
            "The keyring returned a password Hangar cannot read.",
        )),
        other => failed(&other.to_string()),
    }
}

/// The secret-service crate's error reaches us boxed inside keyring's, as a type we cannot
/// name (it is not our dependency), so its text is what tells the causes apart.
fn known_cause(detail: &str) -> Option<String> {
    let has = |needle: &str| detail.contains(needle);
    if has("no secret service provider or dbus session found")
        || has("Failed to connect to address")
        || has("address error")
        || has("D-Bus handshake failed")
    {
        Some(gettext("Hangar cannot reach the desktop session bus."))
    } else if has("ServiceUnknown") || has("org.freedesktop.secrets") || has("NameHasNoOwner") {
        Some(gettext(
            "No keyring service (Secret Service) is running in this session.",
        ))
    } else if has("prompt") {
        Some(gettext("The keyring was not unlocked."))
    } else if has("object locked") {
        Some(gettext("The keyring is locked."))
    } else {
        None
    }
}

/// `NoStorageAccess` means locked, or an unlock prompt that was dismissed.
fn access_cause(detail: &str) -> String {
    known_cause(detail).unwrap_or_else(|| gettext("The keyring is locked."))
}

fn unavailable(cause: String) -> SecretError {
    let consequence = gettext("Hangar will ask for the password each time it connects.");
    SecretError::Unavailable(format!("{cause} {consequence}"))
}

fn failed(detail: &str) -> SecretError {
    SecretError::Failed(gettext_f(
        "The keyring reported an error: {detail}",
        &[("detail", detail)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(text: &str) -> keyring_core::error::PlatformError {
        Box::new(std::io::Error::other(text.to_owned()))
    }

    fn assert_unavailable(error: SecretError, cause: &str) {
        match error {
            SecretError::Unavailable(message) => {
                assert!(message.starts_with(cause), "{message}");
                assert!(message.ends_with("each time it connects."), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn labels_name_user_and_host() {
        assert_eq!(
            connection_label(Some("admin"), Some("nas.local")),
            "Hangar: password for admin on nas.local"
        );
        assert_eq!(
            connection_label(None, Some("nas.local")),
            "Hangar: password for nas.local"
        );
        assert_eq!(
            connection_label(Some("admin"), Some(" ")),
            "Hangar: password for admin on this computer"
        );
        assert_eq!(
            connection_label(Some(""), None),
            "Hangar: password on this computer"
        );
    }

    #[test]
    fn no_session_bus_is_unavailable() {
        let error = KeyringError::PlatformFailure(boxed(
            "no secret service provider or dbus session found",
        ));
        assert_unavailable(
            map_error(error),
            "Hangar cannot reach the desktop session bus.",
        );
        let missing_socket = KeyringError::PlatformFailure(boxed(
            "zbus error: Failed to connect to address `unix:path=/run/user/1000/bus`: No such file or directory (os error 2)",
        ));
        assert_unavailable(
            map_error(missing_socket),
            "Hangar cannot reach the desktop session bus.",
        );
    }

    #[test]
    fn missing_secret_service_is_unavailable() {
        let error = KeyringError::PlatformFailure(boxed(
            "zbus error: org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files",
        ));
        assert_unavailable(map_error(error), "No keyring service");
    }

    #[test]
    fn locked_and_declined_are_unavailable() {
        let locked = KeyringError::NoStorageAccess(boxed("SS Error: object locked"));
        assert_unavailable(map_error(locked), "The keyring is locked.");
        let declined = KeyringError::NoStorageAccess(boxed("SS error: prompt dismissed"));
        assert_unavailable(map_error(declined), "The keyring was not unlocked.");
        let closed = KeyringError::PlatformFailure(boxed(
            "SS error: connection closed before prompt completed",
        ));
        assert_unavailable(map_error(closed), "The keyring was not unlocked.");
        let no_result =
            KeyringError::NoStorageAccess(boxed("SS error: result not returned from SS API"));
        assert_unavailable(map_error(no_result), "The keyring is locked.");
    }

    #[test]
    fn other_failures_keep_their_detail() {
        let error = KeyringError::PlatformFailure(boxed("zbus error: I/O error: broken pipe"));
        assert_eq!(
            map_error(error),
            SecretError::Failed(
                "The keyring reported an error: zbus error: I/O error: broken pipe".to_owned()
            )
        );
    }

    #[test]
    fn errors_never_carry_the_password() {
        let secret = "hunter2-secret";
        let undecodable = KeyringError::BadEncoding(secret.as_bytes().to_vec());
        let malformed = KeyringError::BadDataFormat(secret.as_bytes().to_vec(), boxed("bad"));
        for error in [map_error(undecodable), map_error(malformed)] {
            assert!(matches!(error, SecretError::Failed(_)));
            assert!(!format!("{error} {error:?}").contains(secret));
        }
    }
}
