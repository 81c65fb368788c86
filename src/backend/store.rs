//! Saved connections: settings in `$XDG_CONFIG_HOME/hangar/connections.toml`, never secrets.

use serde::{Deserialize, Serialize};

/// One saved host. Passwords are not here: they live in the Secret Service (see `secrets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConnection {
    /// Stable identifier, also the key of the connection's secret in the keyring.
    pub id: String,
    /// The name shown in the sidebar.
    pub name: String,
    /// The libvirt URI, without the password.
    pub uri: String,
    /// The SASL user name, when the URI does not carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Connect when Hangar starts.
    #[serde(default)]
    pub autoconnect: bool,
    /// Keep the password in the keyring after a successful login.
    #[serde(default)]
    pub remember_password: bool,
}
