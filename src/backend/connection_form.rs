//! The add/edit host form: what the user typed, its checks, and the libvirt URI it makes.

use std::fmt::Write as _;

use gettextrs::gettext;

use super::store::SavedConnection;
use super::uri::{self, ConnectionUri};
use crate::i18n::gettext_f;
use fields::{
    check_host, check_keyfile, check_port, check_username, is_path_safe, is_unreserved,
    percent_decode, percent_encode,
};

const TCP_PORT: u16 = 16509;
const TLS_PORT: u16 = 16514;
const SSH_PORT: u16 = 22;
const MAX_NAME_CHARS: usize = 100;
/// SASL mechanisms that also encrypt the connection after the login, not only the password.
const ENCRYPTING_SASL_MECHANISMS: &[&str] = &["DIGEST-MD5", "GSSAPI"];
/// SASL mechanisms that send the password itself as it is.
const CLEARTEXT_SASL_MECHANISMS: &[&str] = &["PLAIN", "LOGIN"];

/// Which hypervisor driver to talk to, in the order of the form's drop-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hypervisor {
    #[default]
    Qemu,
    Test,
}

impl Hypervisor {
    pub const ALL: [Self; 2] = [Self::Qemu, Self::Test];

    fn driver(self) -> &'static str {
        match self {
            Self::Qemu => "qemu",
            Self::Test => "test",
        }
    }

    /// The path of the driver's machine-wide instance on a remote host.
    fn remote_path(self) -> &'static str {
        match self {
            Self::Qemu => "/system",
            Self::Test => "/default",
        }
    }

    fn from_driver(driver: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.driver() == driver)
    }
}

/// How to reach the host, in the order of the form's drop-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    LocalSystem,
    LocalSession,
    #[default]
    TcpSasl,
    Ssh,
    Tls,
    Custom,
}

impl Transport {
    pub const ALL: [Self; 6] = [
        Self::LocalSystem,
        Self::LocalSession,
        Self::TcpSasl,
        Self::Ssh,
        Self::Tls,
        Self::Custom,
    ];

    pub fn is_local(self) -> bool {
        matches!(self, Self::LocalSystem | Self::LocalSession)
    }

    /// Crosses the network, so the form asks for a host (and maybe a login).
    pub fn is_remote(self) -> bool {
        matches!(self, Self::TcpSasl | Self::Ssh | Self::Tls)
    }

    /// The port libvirt uses when the URI names none; the form leaves it out of the URI.
    pub fn default_port(self) -> Option<u16> {
        match self {
            Self::TcpSasl => Some(TCP_PORT),
            Self::Tls => Some(TLS_PORT),
            Self::Ssh => Some(SSH_PORT),
            _ => None,
        }
    }

    fn scheme_suffix(self) -> Option<&'static str> {
        match self {
            Self::TcpSasl => Some("tcp"),
            Self::Tls => Some("tls"),
            Self::Ssh => Some("ssh"),
            _ => None,
        }
    }

    fn from_scheme_suffix(suffix: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|transport| transport.scheme_suffix() == Some(suffix))
    }
}

/// The form fields a problem can be shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Host,
    Port,
    Username,
    CustomUri,
    Name,
    KeyFile,
}

/// One problem with one field, as a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl FieldError {
    fn new(field: Field, message: String) -> Self {
        Self { field, message }
    }
}

/// What the add/edit host form holds, as typed.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionForm {
    pub hypervisor: Hypervisor,
    pub transport: Transport,
    pub host: String,
    pub port: String,
    pub username: String,
    pub ssh_keyfile: String,
    pub custom_uri: String,
    /// Empty means the address's short name (`uri::display_name`).
    pub name: String,
    pub autoconnect: bool,
    pub remember_password: bool,
}

impl Default for ConnectionForm {
    fn default() -> Self {
        Self {
            hypervisor: Hypervisor::Qemu,
            transport: Transport::TcpSasl,
            host: String::new(),
            port: String::new(),
            username: String::new(),
            ssh_keyfile: String::new(),
            custom_uri: String::new(),
            name: String::new(),
            autoconnect: true,
            remember_password: true,
        }
    }
}

/// The address as typed may hold a password (which the form refuses): never printed.
impl std::fmt::Debug for ConnectionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionForm")
            .field("hypervisor", &self.hypervisor)
            .field("transport", &self.transport)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("ssh_keyfile", &self.ssh_keyfile)
            .field("custom_uri", &uri::redact_password(&self.custom_uri))
            .field("name", &self.name)
            .field("autoconnect", &self.autoconnect)
            .field("remember_password", &self.remember_password)
            .finish()
    }
}

impl ConnectionForm {
    /// The libvirt URI the form describes, or every problem in the fields it is made from.
    pub fn uri(&self) -> Result<String, Vec<FieldError>> {
        match self.transport {
            Transport::LocalSystem | Transport::LocalSession => Ok(self.local_uri()),
            Transport::Custom => self.checked_custom_uri().map_err(|error| vec![error]),
            Transport::TcpSasl | Transport::Ssh | Transport::Tls => self.remote_uri(),
        }
    }

    /// Every problem in the form, the URI's and the others, in field order.
    pub fn errors(&self) -> Vec<FieldError> {
        let mut errors = self.uri().err().unwrap_or_default();
        if self.transport == Transport::Custom {
            errors.extend(check_username(&self.username).err());
        }
        errors.extend(self.name_error());
        errors
    }

    /// The name the host will be shown as: the one typed, or the address's short name.
    pub fn name_for(&self, uri: &str) -> String {
        match self.name.trim() {
            "" => uri::display_name(uri),
            name => name.to_owned(),
        }
    }

    /// True when the form asks for a user name (and maybe a password).
    pub fn uses_login(&self) -> bool {
        match self.transport {
            Transport::Custom => {
                ConnectionUri::parse(&self.custom_uri).is_ok_and(|parsed| !parsed.is_local())
            }
            transport => transport.is_remote(),
        }
    }

    /// True when a password can be typed: `ssh` logs in with keys or its own prompt.
    pub fn uses_password(&self) -> bool {
        match self.transport {
            Transport::Ssh => false,
            Transport::Custom => {
                self.uses_login()
                    && ConnectionUri::parse(&self.custom_uri).is_ok_and(|parsed| {
                        !matches!(parsed.transport.as_deref(), Some("ssh" | "ext"))
                    })
            }
            transport => transport.is_remote(),
        }
    }

    /// The form as it is saved, or every problem that stops it being saved.
    pub fn to_saved(&self, id: String) -> Result<SavedConnection, Vec<FieldError>> {
        let errors = self.errors();
        if !errors.is_empty() {
            return Err(errors);
        }
        let uri = self.uri()?;
        Ok(SavedConnection {
            id,
            name: self.name_for(&uri),
            username: self.saved_username(),
            uri,
            autoconnect: self.autoconnect,
            remember_password: self.remember_password,
        })
    }

    /// The form showing `saved`; addresses the choices cannot describe become a custom URI.
    pub fn from_saved(saved: &SavedConnection) -> Self {
        let mut form =
            Self::representing(&saved.uri).unwrap_or_else(|| Self::custom(saved.uri.trim()));
        if form.username.is_empty() && form.uses_login() {
            form.username = saved.username.clone().unwrap_or_default();
        }
        // A name equal to the default keeps following the address when the user edits it.
        if saved.name != uri::display_name(&saved.uri) {
            form.name = saved.name.clone();
        }
        form.autoconnect = saved.autoconnect;
        form.remember_password = saved.remember_password;
        form
    }

    /// One sentence when the connection would let others on the network read or use it.
    pub fn security_warning(&self) -> Option<String> {
        match self.transport {
            Transport::Custom => custom_uri_warning(self.custom_uri.trim()),
            // The TCP choice logs in with SASL, which the daemon sets to DIGEST-MD5 or GSSAPI
            // by default: both encrypt the connection after the login.
            _ => None,
        }
    }

    fn local_uri(&self) -> String {
        match (self.hypervisor, self.transport) {
            (Hypervisor::Test, _) => "test:///default".to_owned(),
            (Hypervisor::Qemu, Transport::LocalSession) => "qemu:///session".to_owned(),
            (Hypervisor::Qemu, _) => "qemu:///system".to_owned(),
        }
    }

    fn checked_custom_uri(&self) -> Result<String, FieldError> {
        let text = self.custom_uri.trim();
        if text.is_empty() {
            return Err(FieldError::new(
                Field::CustomUri,
                gettext("Enter a libvirt address, such as qemu+ssh://host/system."),
            ));
        }
        match ConnectionUri::parse(text) {
            Ok(_) => Ok(text.to_owned()),
            Err(error) => Err(FieldError::new(Field::CustomUri, error.user_message())),
        }
    }

    fn remote_uri(&self) -> Result<String, Vec<FieldError>> {
        let host = check_host(&self.host);
        let port = check_port(&self.port);
        let user = check_username(&self.username);
        let keyfile = self.checked_keyfile();
        match (host, port, user, keyfile) {
            (Ok(host), Ok(port), Ok(user), Ok(keyfile)) => {
                Ok(self.build_remote_uri(&host, port, user.as_deref(), keyfile.as_deref()))
            }
            (host, port, user, keyfile) => Err([host.err(), port.err(), user.err(), keyfile.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }

    fn checked_keyfile(&self) -> Result<Option<String>, FieldError> {
        if self.transport == Transport::Ssh {
            check_keyfile(&self.ssh_keyfile)
        } else {
            Ok(None)
        }
    }

    /// `driver+transport://[user@]host[:port]/path[?ssh options]`, from checked parts.
    fn build_remote_uri(
        &self,
        host: &str,
        port: Option<u16>,
        user: Option<&str>,
        keyfile: Option<&str>,
    ) -> String {
        let suffix = self.transport.scheme_suffix().unwrap_or("tcp");
        let mut uri = format!("{}+{suffix}://", self.hypervisor.driver());
        if let Some(user) = user {
            // libvirt rejects a literal '@' in the user name; it decodes %40 back.
            let _ = write!(uri, "{}@", percent_encode(user, is_unreserved));
        }
        uri.push_str(host);
        if let Some(port) = port.filter(|port| Some(*port) != self.transport.default_port()) {
            let _ = write!(uri, ":{port}");
        }
        uri.push_str(self.hypervisor.remote_path());
        if self.transport == Transport::Ssh {
            // No terminal to ask on: ssh must fail rather than wait for an invisible prompt.
            uri.push_str("?no_tty=1");
            if let Some(keyfile) = keyfile {
                let _ = write!(uri, "&keyfile={}", percent_encode(keyfile, is_path_safe));
            }
        }
        uri
    }

    fn name_error(&self) -> Option<FieldError> {
        (self.name.trim().chars().count() > MAX_NAME_CHARS).then(|| {
            FieldError::new(
                Field::Name,
                gettext("A name can be at most 100 characters long."),
            )
        })
    }

    /// The user name for the login when the URI cannot carry it (custom addresses).
    fn saved_username(&self) -> Option<String> {
        let username = self.username.trim();
        (self.transport == Transport::Custom && self.uses_login() && !username.is_empty())
            .then(|| username.to_owned())
    }

    fn custom(uri: &str) -> Self {
        Self {
            transport: Transport::Custom,
            custom_uri: uri.to_owned(),
            ..Self::default()
        }
    }

    /// The form whose choices produce `uri` (up to default ports), if there is one.
    fn representing(uri: &str) -> Option<Self> {
        let parsed = ConnectionUri::parse(uri).ok()?;
        let hypervisor = Hypervisor::from_driver(&parsed.driver)?;
        let form = match parsed.transport.as_deref() {
            None => Self::local(hypervisor, &parsed)?,
            Some(suffix) => {
                let transport = Transport::from_scheme_suffix(suffix)?;
                Self::remote(hypervisor, transport, &parsed)?
            }
        };
        // A host the form would reject (say, with an underscore) stays a custom URI.
        form.uri().ok()?;
        Some(form)
    }

    fn local(hypervisor: Hypervisor, parsed: &ConnectionUri) -> Option<Self> {
        if parsed.host.is_some() || parsed.user.is_some() || parsed.query.is_some() {
            return None;
        }
        let transport = match (hypervisor, parsed.path.as_str()) {
            (Hypervisor::Qemu, "/system") | (Hypervisor::Test, "/default") => {
                Transport::LocalSystem
            }
            (Hypervisor::Qemu, "/session") => Transport::LocalSession,
            _ => return None,
        };
        Some(Self {
            hypervisor,
            transport,
            ..Self::default()
        })
    }

    fn remote(
        hypervisor: Hypervisor,
        transport: Transport,
        parsed: &ConnectionUri,
    ) -> Option<Self> {
        if parsed.path != hypervisor.remote_path() {
            return None;
        }
        let ssh_keyfile = match transport {
            Transport::Ssh => ssh_keyfile_from_query(parsed.query.as_deref())?,
            _ if parsed.query.is_some() => return None,
            _ => String::new(),
        };
        let username = match &parsed.user {
            Some(user) => percent_decode(user)?,
            None => String::new(),
        };
        let port = parsed
            .port
            .filter(|port| Some(*port) != transport.default_port())
            .map(|port| port.to_string())
            .unwrap_or_default();
        Some(Self {
            hypervisor,
            transport,
            host: parsed.host.clone()?,
            port,
            username,
            ssh_keyfile,
            ..Self::default()
        })
    }
}

/// The host as it goes into the URI (IPv6 in brackets), or why it cannot.
fn ssh_keyfile_from_query(query: Option<&str>) -> Option<String> {
    let mut keyfile = String::new();
    for (name, value) in query_params(query)? {
        match (name.as_str(), value.as_str()) {
            ("no_tty", "1") => {}
            ("keyfile", _) => keyfile = value,
            _ => return None,
        }
    }
    Some(keyfile)
}

/// `a=1&b=2` as decoded pairs; `None` if an escape is broken.
fn query_params(query: Option<&str>) -> Option<Vec<(String, String)>> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn custom_uri_warning(uri: &str) -> Option<String> {
    let parsed = ConnectionUri::parse(uri).ok()?;
    let params = query_params(parsed.query.as_deref()).unwrap_or_default();
    let param = |wanted: &str| {
        params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
    };
    let skips_verification = param("no_verify").is_some_and(|value| value != "0");
    match parsed.transport.as_deref() {
        Some("tcp") => param("auth").and_then(tcp_auth_warning),
        Some("tls" | "ssh" | "libssh" | "libssh2") if skips_verification => Some(gettext(
            "Hangar will not check the host’s identity, so another machine on the network could pretend to be it.",
        )),
        _ => None,
    }
}

/// Plain TCP is only private when a SASL mechanism that encrypts is used.
fn tcp_auth_warning(auth: &str) -> Option<String> {
    let auth = auth.to_ascii_uppercase();
    if auth == "NONE" || auth == "POLKIT" {
        return Some(gettext(
            "This connection has no login and no encryption: anyone on the network can use this host.",
        ));
    }
    let mechanism = auth.strip_prefix("SASL.")?;
    if ENCRYPTING_SASL_MECHANISMS.contains(&mechanism) {
        None
    } else if CLEARTEXT_SASL_MECHANISMS.contains(&mechanism) {
        Some(gettext_f(
            "The {mechanism} login sends the password unencrypted: anyone on the network can read it and then use this host.",
            &[("mechanism", mechanism)],
        ))
    } else {
        Some(gettext_f(
            "The {mechanism} login does not encrypt the connection: anyone on the network can read what passes between Hangar and the host.",
            &[("mechanism", mechanism)],
        ))
    }
}

mod fields;
#[cfg(test)]
mod tests;
