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
use secret_service::Error as ServiceError;

use super::password::Password;
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
pub fn store_password(key: &str, label: &str, password: &Password) -> Result<(), SecretError> {
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
    let stored = match entry.set_password(password.expose()) {
        // Several items for one key (made by another program): keep a single one.
        Err(KeyringError::Ambiguous(duplicates)) => {
            delete_each(&duplicates).and_then(|()| entry.set_password(password.expose()))
        }
        other => other,
    };
    stored.map_err(map_error)
}

/// The password saved under `key`; `None` when there is none.
pub fn lookup_password(key: &str) -> Result<Option<Password>, SecretError> {
    let entry = entry_for(key)?;
    let found = match entry.get_password() {
        Err(KeyringError::Ambiguous(duplicates)) => match duplicates.first() {
            Some(first) => first.get_password(),
            None => Err(KeyringError::NoEntry),
        },
        other => other,
    };
    match found {
        Ok(password) => Ok(Some(Password::from(password))),
        Err(KeyringError::NoEntry) => Ok(None),
        // Removed between the search and the read (by Seahorse, say): there is none.
        Err(error) if cause_of(&error) == Some(Cause::NoSuchObject) => Ok(None),
        Err(error) => Err(map_error(error)),
    }
}

/// Forgets the password saved under `key`; fine when there is none.
pub fn delete_password(key: &str) -> Result<(), SecretError> {
    let entry = entry_for(key)?;
    match entry.delete_credential() {
        Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
        Err(KeyringError::Ambiguous(duplicates)) => delete_each(&duplicates).map_err(map_error),
        Err(error) if cause_of(&error) == Some(Cause::NoSuchObject) => Ok(()),
        Err(error) => Err(map_error(error)),
    }
}

/// The key a domain's VNC password is saved under (the console and the details page).
pub fn vnc_password_key(domain_uuid: &str) -> String {
    format!("vnc:{domain_uuid}")
}

/// The keyring item's label for the VNC password of the console or domain `name`.
pub fn vnc_password_label(name: &str) -> String {
    gettext_f("Hangar: VNC password for {name}", &[("name", name)])
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
        Err(error) => Err(match cause_of(error) {
            Some(cause) => cause.error(),
            None => unavailable(gettext_f(
                "The keyring could not be opened ({detail}).",
                &[("detail", &error.to_string())],
            )),
        }),
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
    if let Some(cause) = cause_of(&error) {
        return cause.error();
    }
    match error {
        // keyring's word for a locked collection or a dismissed unlock prompt.
        KeyringError::NoStorageAccess(_) => Cause::Locked.error(),
        KeyringError::PlatformFailure(inner) => failed(&inner.to_string()),
        KeyringError::BadEncoding(_) => {
            SecretError::Failed(gettext("The saved password is not valid text."))
        }
        KeyringError::BadDataFormat(..) => SecretError::Failed(gettext(
            "The keyring returned a password Hangar cannot read.",
        )),
        other => failed(&other.to_string()),
    }
}

/// What went wrong with the keyring, told by the error's type and its D-Bus error name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// No session bus to talk to (none running, or its address is wrong).
    NoSessionBus,
    /// The bus is there, but nothing owns `org.freedesktop.secrets`.
    NoSecretService,
    Locked,
    /// The unlock prompt was dismissed or went away.
    NotUnlocked,
    AccessDenied,
    /// The item or collection is gone.
    NoSuchObject,
    NoAnswer,
}

impl Cause {
    fn error(self) -> SecretError {
        match self {
            Self::NoSessionBus => {
                unavailable(gettext("Hangar cannot reach the desktop session bus."))
            }
            Self::NoSecretService => unavailable(gettext(
                "No keyring service (Secret Service) is running in this session.",
            )),
            Self::Locked => unavailable(gettext("The keyring is locked.")),
            Self::NotUnlocked => unavailable(gettext("The keyring was not unlocked.")),
            Self::AccessDenied => unavailable(gettext("The keyring refused Hangar access.")),
            Self::NoSuchObject => {
                SecretError::Failed(gettext("The keyring item or collection no longer exists."))
            }
            Self::NoAnswer => SecretError::Failed(gettext("The keyring did not answer in time.")),
        }
    }
}

/// The secret-service crate's error reaches us boxed inside keyring's; its variants and the
/// D-Bus error names inside them tell the causes apart.
fn cause_of(error: &KeyringError) -> Option<Cause> {
    match error {
        KeyringError::NoStorageAccess(inner) | KeyringError::PlatformFailure(inner) => {
            service_cause(inner.downcast_ref::<ServiceError>()?)
        }
        KeyringError::NoDefaultStore => Some(Cause::NoSessionBus),
        _ => None,
    }
}

fn service_cause(error: &ServiceError) -> Option<Cause> {
    match error {
        ServiceError::Unavailable => Some(Cause::NoSessionBus),
        // `NoResult`: a locked collection that would not list its items.
        ServiceError::Locked | ServiceError::NoResult => Some(Cause::Locked),
        ServiceError::Prompt | ServiceError::PromptDisconnected => Some(Cause::NotUnlocked),
        ServiceError::Zbus(error) => zbus_cause(error),
        ServiceError::ZbusFdo(error) => fdo_cause(error),
        _ => None,
    }
}

fn zbus_cause(error: &zbus::Error) -> Option<Cause> {
    match error {
        zbus::Error::MethodError(name, _, _) => dbus_name_cause(name.as_str()),
        zbus::Error::FDO(error) => fdo_cause(error),
        zbus::Error::Address(_)
        | zbus::Error::Connection(..)
        | zbus::Error::Handshake(_)
        | zbus::Error::InterfaceNotFound => Some(Cause::NoSessionBus),
        _ => None,
    }
}

fn fdo_cause(error: &zbus::fdo::Error) -> Option<Cause> {
    match error {
        zbus::fdo::Error::ZBus(error) => zbus_cause(error),
        other => dbus_name_cause(zbus::DBusError::name(other).as_str()),
    }
}

/// Names from the D-Bus and Secret Service specifications.
fn dbus_name_cause(name: &str) -> Option<Cause> {
    match name {
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => Some(Cause::NoSecretService),
        "org.freedesktop.DBus.Error.Disconnected" | "org.freedesktop.DBus.Error.NoServer" => {
            Some(Cause::NoSessionBus)
        }
        "org.freedesktop.Secret.Error.IsLocked" => Some(Cause::Locked),
        "org.freedesktop.Secret.Error.NoSuchObject"
        | "org.freedesktop.DBus.Error.UnknownObject" => Some(Cause::NoSuchObject),
        "org.freedesktop.DBus.Error.AccessDenied" | "org.freedesktop.DBus.Error.AuthFailed" => {
            Some(Cause::AccessDenied)
        }
        "org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout" => {
            Some(Cause::NoAnswer)
        }
        _ => None,
    }
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

    fn platform(error: ServiceError) -> KeyringError {
        KeyringError::PlatformFailure(Box::new(error))
    }

    fn no_access(error: ServiceError) -> KeyringError {
        KeyringError::NoStorageAccess(Box::new(error))
    }

    /// A real D-Bus error reply, as the bus or the keyring daemon sends it.
    fn method_error(name: &str) -> ServiceError {
        let call = zbus::Message::method_call("/org/freedesktop/secrets", "GetSecrets")
            .and_then(|builder| builder.build(&()))
            .expect("a method call");
        let reply = zbus::Message::error(&call.header(), name)
            .and_then(|builder| builder.build(&("some English text, not read",)))
            .expect("an error reply");
        ServiceError::Zbus(zbus::Error::from(reply))
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
        let no_bus = "Hangar cannot reach the desktop session bus.";
        assert_unavailable(map_error(platform(ServiceError::Unavailable)), no_bus);
        let bad_address = ServiceError::Zbus(zbus::Error::Address("unix:path=/nope".into()));
        assert_unavailable(map_error(platform(bad_address)), no_bus);
        assert_unavailable(map_error(KeyringError::NoDefaultStore), no_bus);
        let disconnected = method_error("org.freedesktop.DBus.Error.Disconnected");
        assert_unavailable(map_error(platform(disconnected)), no_bus);
    }

    #[test]
    fn missing_secret_service_is_unavailable() {
        let reply = method_error("org.freedesktop.DBus.Error.ServiceUnknown");
        assert_unavailable(map_error(platform(reply)), "No keyring service");
        let fdo = ServiceError::ZbusFdo(zbus::fdo::Error::ServiceUnknown("x".into()));
        assert_unavailable(map_error(platform(fdo)), "No keyring service");
        let boxed = ServiceError::Zbus(zbus::Error::FDO(Box::new(
            zbus::fdo::Error::NameHasNoOwner("x".into()),
        )));
        assert_unavailable(map_error(platform(boxed)), "No keyring service");
    }

    #[test]
    fn locked_and_declined_are_unavailable() {
        let locked = "The keyring is locked.";
        assert_unavailable(map_error(no_access(ServiceError::Locked)), locked);
        assert_unavailable(map_error(no_access(ServiceError::NoResult)), locked);
        let is_locked = method_error("org.freedesktop.Secret.Error.IsLocked");
        assert_unavailable(map_error(platform(is_locked)), locked);
        let declined = "The keyring was not unlocked.";
        assert_unavailable(map_error(no_access(ServiceError::Prompt)), declined);
        let closed = platform(ServiceError::PromptDisconnected);
        assert_unavailable(map_error(closed), declined);
        let denied = method_error("org.freedesktop.DBus.Error.AccessDenied");
        assert_unavailable(map_error(platform(denied)), "The keyring refused");
    }

    #[test]
    fn errors_are_told_apart_by_name_not_text() {
        // The English text of another cause must not matter.
        let call = zbus::Message::method_call("/", "Get")
            .and_then(|builder| builder.build(&()))
            .expect("a method call");
        let reply =
            zbus::Message::error(&call.header(), "org.freedesktop.Secret.Error.NoSuchObject")
                .and_then(|builder| builder.build(&("object locked; prompt dismissed",)))
                .expect("an error reply");
        let error = platform(ServiceError::Zbus(zbus::Error::from(reply)));
        assert_eq!(cause_of(&error), Some(Cause::NoSuchObject));
        assert!(matches!(map_error(error), SecretError::Failed(_)));
        let timeout = platform(method_error("org.freedesktop.DBus.Error.NoReply"));
        assert_eq!(
            map_error(timeout),
            SecretError::Failed("The keyring did not answer in time.".to_owned())
        );
    }

    #[test]
    fn other_failures_keep_their_detail() {
        let error = platform(ServiceError::Crypto("bad padding"));
        assert_eq!(
            map_error(error),
            SecretError::Failed(
                "The keyring reported an error: Crypto error: bad padding".to_owned()
            )
        );
        let unknown = platform(method_error("org.example.Weird"));
        assert!(matches!(map_error(unknown), SecretError::Failed(_)));
    }

    #[test]
    fn errors_never_carry_the_password() {
        let secret = "hunter2-secret";
        let undecodable = KeyringError::BadEncoding(secret.as_bytes().to_vec());
        let malformed = KeyringError::BadDataFormat(
            secret.as_bytes().to_vec(),
            Box::new(ServiceError::Crypto("bad")),
        );
        for error in [map_error(undecodable), map_error(malformed)] {
            assert!(matches!(error, SecretError::Failed(_)));
            assert!(!format!("{error} {error:?}").contains(secret));
        }
    }
}
