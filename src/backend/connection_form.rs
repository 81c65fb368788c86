//! The add/edit host form: what the user typed, its checks, and the libvirt URI it makes.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use gettextrs::gettext;

use super::store::SavedConnection;
use super::uri::{self, ConnectionUri};
use crate::i18n::gettext_f;

const TCP_PORT: u16 = 16509;
const TLS_PORT: u16 = 16514;
const SSH_PORT: u16 = 22;
const MAX_NAME_CHARS: usize = 100;
const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
fn check_host(text: &str) -> Result<String, FieldError> {
    let host = text.trim();
    let invalid = |message: String| Err(FieldError::new(Field::Host, message));
    if host.is_empty() {
        return invalid(gettext("Enter the host’s name or IP address."));
    }
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    if unbracketed.contains(':') {
        return match unbracketed.parse::<Ipv6Addr>() {
            Ok(_) => Ok(format!("[{unbracketed}]")),
            Err(_) => invalid(gettext_f(
                "“{host}” is not a valid IPv6 address.",
                &[("host", host)],
            )),
        };
    }
    if host
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b'.')
    {
        return match host.parse::<Ipv4Addr>() {
            Ok(_) => Ok(host.to_owned()),
            Err(_) => invalid(gettext_f(
                "“{host}” is not a valid IPv4 address.",
                &[("host", host)],
            )),
        };
    }
    if is_dns_name(host) {
        Ok(host.to_owned())
    } else {
        invalid(gettext_f(
            "“{host}” is not a host name: use letters, digits, hyphens and dots, as in nas.example.org.",
            &[("host", host)],
        ))
    }
}

fn is_dns_name(host: &str) -> bool {
    // One trailing dot marks a fully qualified name.
    let name = host.strip_suffix('.').unwrap_or(host);
    name.len() <= MAX_HOST_LEN && name.split('.').all(is_dns_label)
}

fn is_dns_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// The port, `None` when left empty.
fn check_port(text: &str) -> Result<Option<u16>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    // Digits only: Rust's integer parser would also take "+22".
    let digits_only = text.bytes().all(|byte| byte.is_ascii_digit());
    match digits_only.then(|| uri::parse_port(text)) {
        Some(Ok(port)) => Ok(Some(port)),
        _ => Err(FieldError::new(
            Field::Port,
            gettext("The port must be a number from 1 to 65535."),
        )),
    }
}

/// The user name, `None` when left empty.
fn check_username(text: &str) -> Result<Option<String>, FieldError> {
    let username = text.trim();
    if username.is_empty() {
        return Ok(None);
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(FieldError::new(
            Field::Username,
            gettext("A user name cannot contain spaces or “/”."),
        ));
    }
    Ok(Some(username.to_owned()))
}

/// The SSH key file, `None` when left empty. `ssh` itself expands a leading `~/`.
fn check_keyfile(text: &str) -> Result<Option<String>, FieldError> {
    let path = text.trim();
    if path.is_empty() {
        return Ok(None);
    }
    let is_full_path = path.starts_with('/') || path.starts_with("~/");
    if !is_full_path || path.chars().any(char::is_control) {
        return Err(FieldError::new(
            Field::KeyFile,
            gettext("The key file must be a full path, such as ~/.ssh/id_ed25519."),
        ));
    }
    Ok(Some(path.to_owned()))
}

/// The key file named by the options `uri()` writes for SSH; `None` for any other option.
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

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_path_safe(byte: u8) -> bool {
    is_unreserved(byte) || byte == b'/'
}

fn percent_encode(text: &str, keep: fn(u8) -> bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if keep(byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// Undoes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(transport: Transport, host: &str) -> ConnectionForm {
        ConnectionForm {
            transport,
            host: host.to_owned(),
            ..ConnectionForm::default()
        }
    }

    fn custom(uri: &str) -> ConnectionForm {
        ConnectionForm {
            transport: Transport::Custom,
            custom_uri: uri.to_owned(),
            ..ConnectionForm::default()
        }
    }

    fn error_fields(form: &ConnectionForm) -> Vec<Field> {
        form.errors().into_iter().map(|error| error.field).collect()
    }

    fn saved(uri: &str) -> SavedConnection {
        SavedConnection {
            id: "id-1".to_owned(),
            name: uri::display_name(uri),
            uri: uri.to_owned(),
            username: None,
            autoconnect: false,
            remember_password: false,
        }
    }

    #[test]
    fn defaults_to_tcp_with_sasl_remembering_and_connecting() {
        let form = ConnectionForm::default();
        assert_eq!(form.hypervisor, Hypervisor::Qemu);
        assert_eq!(form.transport, Transport::TcpSasl);
        assert!(form.autoconnect);
        assert!(form.remember_password);
        assert_eq!(error_fields(&form), vec![Field::Host]);
    }

    #[test]
    fn local_choices_need_no_fields() {
        let mut form = ConnectionForm {
            transport: Transport::LocalSystem,
            ..ConnectionForm::default()
        };
        assert_eq!(form.uri(), Ok("qemu:///system".to_owned()));
        form.transport = Transport::LocalSession;
        assert_eq!(form.uri(), Ok("qemu:///session".to_owned()));
        form.hypervisor = Hypervisor::Test;
        assert_eq!(form.uri(), Ok("test:///default".to_owned()));
        assert!(!form.uses_login());
        assert!(form.errors().is_empty());
    }

    #[test]
    fn tcp_and_tls_leave_out_their_default_ports() {
        let mut form = remote(Transport::TcpSasl, "nas.local");
        assert_eq!(form.uri(), Ok("qemu+tcp://nas.local/system".to_owned()));
        form.port = "16509".to_owned();
        assert_eq!(form.uri(), Ok("qemu+tcp://nas.local/system".to_owned()));
        form.port = "16514".to_owned();
        assert_eq!(
            form.uri(),
            Ok("qemu+tcp://nas.local:16514/system".to_owned())
        );
        form.transport = Transport::Tls;
        assert_eq!(form.uri(), Ok("qemu+tls://nas.local/system".to_owned()));
        form.port = "16509".to_owned();
        assert_eq!(
            form.uri(),
            Ok("qemu+tls://nas.local:16509/system".to_owned())
        );
        form.hypervisor = Hypervisor::Test;
        form.port.clear();
        assert_eq!(form.uri(), Ok("test+tls://nas.local/default".to_owned()));
    }

    #[test]
    fn ipv6_hosts_are_bracketed_whether_typed_with_brackets_or_not() {
        for host in ["fe80::1", "[fe80::1]", " fe80::1 "] {
            let mut form = remote(Transport::TcpSasl, host);
            form.port = "1234".to_owned();
            assert_eq!(
                form.uri(),
                Ok("qemu+tcp://[fe80::1]:1234/system".to_owned())
            );
        }
        for host in ["fe80::zz", "[::1", "::1]", "1:2:3"] {
            assert_eq!(
                error_fields(&remote(Transport::TcpSasl, host)),
                [Field::Host]
            );
        }
    }

    #[test]
    fn ipv4_and_dns_names_are_checked() {
        for host in [
            "192.168.1.10",
            "nas",
            "kvm-1.example.org",
            "example.org.",
            "0a.b",
        ] {
            assert!(remote(Transport::TcpSasl, host).uri().is_ok(), "{host}");
        }
        let longest_label = "a".repeat(63);
        assert!(remote(Transport::TcpSasl, &longest_label).uri().is_ok());
        let longest_name = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ];
        assert!(remote(Transport::TcpSasl, &longest_name.join("."))
            .uri()
            .is_ok());
        let too_long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62),
        ];
        let bad_hosts = [
            "999.1.1.1".to_owned(),
            "1.2.3".to_owned(),
            "a".repeat(64),
            too_long.join("."),
            "-nas".to_owned(),
            "nas-".to_owned(),
            "my_host".to_owned(),
            "a..b".to_owned(),
            "nas/x".to_owned(),
            "".to_owned(),
            "   ".to_owned(),
        ];
        for host in bad_hosts {
            let errors = remote(Transport::TcpSasl, &host).errors();
            assert_eq!(errors.len(), 1, "{host}");
            assert_eq!(errors[0].field, Field::Host);
        }
    }

    #[test]
    fn host_errors_name_the_host() {
        let errors = remote(Transport::TcpSasl, "my_host").errors();
        assert!(errors[0].message.contains("“my_host”"));
        let errors = remote(Transport::TcpSasl, "300.1.1.1").errors();
        assert!(errors[0].message.contains("IPv4"));
    }

    #[test]
    fn ports_must_be_1_to_65535() {
        let mut form = remote(Transport::TcpSasl, "h");
        for (port, valid) in [
            ("", true),
            ("1", true),
            ("65535", true),
            (" 2222 ", true),
            ("0", false),
            ("65536", false),
            ("abc", false),
            ("+22", false),
            ("-1", false),
            ("99999999999999999999", false),
        ] {
            form.port = port.to_owned();
            let fields = error_fields(&form);
            assert_eq!(fields.is_empty(), valid, "{port:?}");
            if !valid {
                assert_eq!(fields, [Field::Port]);
            }
        }
        form.port = "1".to_owned();
        assert_eq!(form.uri(), Ok("qemu+tcp://h:1/system".to_owned()));
        form.port = "65535".to_owned();
        assert_eq!(form.uri(), Ok("qemu+tcp://h:65535/system".to_owned()));
    }

    #[test]
    fn user_names_may_hold_at_signs_escaped_for_libvirt() {
        let mut form = remote(Transport::TcpSasl, "h");
        form.username = "admin".to_owned();
        assert_eq!(form.uri(), Ok("qemu+tcp://admin@h/system".to_owned()));
        form.username = "me@example.org".to_owned();
        assert_eq!(
            form.uri(),
            Ok("qemu+tcp://me%40example.org@h/system".to_owned())
        );
        for bad in ["a b", "a/b", "tab\there"] {
            form.username = bad.to_owned();
            assert_eq!(error_fields(&form), [Field::Username], "{bad:?}");
        }
    }

    #[test]
    fn ssh_never_prompts_and_escapes_the_key_file() {
        let mut form = remote(Transport::Ssh, "h");
        form.username = "root".to_owned();
        assert_eq!(
            form.uri(),
            Ok("qemu+ssh://root@h/system?no_tty=1".to_owned())
        );
        form.port = "22".to_owned();
        form.ssh_keyfile = "/home/me/my keys/id_ed25519+1".to_owned();
        assert_eq!(
            form.uri(),
            Ok(
                "qemu+ssh://root@h/system?no_tty=1&keyfile=/home/me/my%20keys/id_ed25519%2B1"
                    .to_owned()
            )
        );
        form.port = "2222".to_owned();
        form.ssh_keyfile = "~/.ssh/id_rsa".to_owned();
        assert_eq!(
            form.uri(),
            Ok("qemu+ssh://root@h:2222/system?no_tty=1&keyfile=~/.ssh/id_rsa".to_owned())
        );
        form.ssh_keyfile = "id_rsa".to_owned();
        assert_eq!(error_fields(&form), [Field::KeyFile]);
        assert!(!form.uses_password());
    }

    #[test]
    fn the_key_file_only_matters_for_ssh() {
        let mut form = remote(Transport::TcpSasl, "h");
        form.ssh_keyfile = "relative".to_owned();
        assert_eq!(form.uri(), Ok("qemu+tcp://h/system".to_owned()));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let form = ConnectionForm {
            host: "bad host".to_owned(),
            port: "0".to_owned(),
            username: "a b".to_owned(),
            name: "n".repeat(101),
            ..ConnectionForm::default()
        };
        assert_eq!(
            error_fields(&form),
            [Field::Host, Field::Port, Field::Username, Field::Name]
        );
    }

    #[test]
    fn custom_uris_are_taken_as_typed_when_libvirt_could_use_them() {
        let form = custom(" qemu+tcp://h/system?auth=sasl.gssapi ");
        assert_eq!(
            form.uri(),
            Ok("qemu+tcp://h/system?auth=sasl.gssapi".to_owned())
        );
        let errors = custom("bogus://h/system").errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, Field::CustomUri);
        assert!(errors[0].message.contains("bogus"));
        assert_eq!(
            error_fields(&custom("qemu+pigeon://h/x")),
            [Field::CustomUri]
        );
        assert_eq!(error_fields(&custom("")), [Field::CustomUri]);
        assert_eq!(error_fields(&custom("words")), [Field::CustomUri]);
    }

    #[test]
    fn custom_uris_ask_for_a_login_only_when_remote() {
        assert!(!custom("qemu:///system").uses_login());
        assert!(!custom("not a uri").uses_login());
        assert!(custom("qemu+tls://h/system").uses_password());
        let ssh = custom("qemu+ssh://h/system");
        assert!(ssh.uses_login() && !ssh.uses_password());
        let mut bad_user = custom("qemu+tcp://h/system");
        bad_user.username = "a b".to_owned();
        assert_eq!(error_fields(&bad_user), [Field::Username]);
    }

    #[test]
    fn names_default_to_the_short_name_and_have_a_limit() {
        let mut form = remote(Transport::TcpSasl, "nas.local");
        let saved = form.to_saved("x".to_owned()).expect("valid");
        assert_eq!(saved.name, "nas.local");
        form.name = "n".repeat(100);
        assert!(form.errors().is_empty());
        form.name = "n".repeat(101);
        assert_eq!(error_fields(&form), [Field::Name]);
        assert!(form.to_saved("x".to_owned()).is_err());
        form.name = "  Home server  ".to_owned();
        let saved = form.to_saved("x".to_owned()).expect("valid");
        assert_eq!(saved.name, "Home server");
    }

    #[test]
    fn saving_keeps_the_id_and_switches() {
        let form = ConnectionForm {
            host: "h".to_owned(),
            username: "admin".to_owned(),
            autoconnect: false,
            ..ConnectionForm::default()
        };
        let saved = form.to_saved("abc".to_owned()).expect("valid");
        assert_eq!(saved.id, "abc");
        assert_eq!(saved.uri, "qemu+tcp://admin@h/system");
        assert_eq!(saved.username, None, "the URI carries the user");
        assert!(!saved.autoconnect);
        assert!(saved.remember_password);
    }

    #[test]
    fn reads_back_what_the_choices_can_describe() {
        let form =
            ConnectionForm::from_saved(&saved("qemu+tcp://me%40example.org@[::1]:16509/system"));
        assert_eq!(form.transport, Transport::TcpSasl);
        assert_eq!(form.host, "::1");
        assert_eq!(form.port, "", "the default port is left empty");
        assert_eq!(form.username, "me@example.org");
        assert_eq!(form.name, "", "a default name keeps following the address");

        let form = ConnectionForm::from_saved(&saved(
            "qemu+ssh://root@h:2222/system?no_tty=1&keyfile=/k%20k",
        ));
        assert_eq!(form.transport, Transport::Ssh);
        assert_eq!(form.port, "2222");
        assert_eq!(form.ssh_keyfile, "/k k");

        let form = ConnectionForm::from_saved(&saved("qemu+ssh://h/system"));
        assert_eq!(form.transport, Transport::Ssh);
        assert_eq!(form.uri(), Ok("qemu+ssh://h/system?no_tty=1".to_owned()));

        let form = ConnectionForm::from_saved(&saved("test:///default"));
        assert_eq!(
            (form.hypervisor, form.transport),
            (Hypervisor::Test, Transport::LocalSystem)
        );
        let form = ConnectionForm::from_saved(&saved("qemu:///session"));
        assert_eq!(form.transport, Transport::LocalSession);
    }

    #[test]
    fn anything_else_becomes_a_custom_uri() {
        for uri in [
            "qemu+tcp://h/system?auth=sasl.PLAIN",
            "qemu+tcp://h/session",
            "qemu+ssh://h/system?no_tty=1&sshauth=agent",
            "qemu+libssh://h/system",
            "qemu+unix:///system",
            "lxc:///system",
            "test:///tmp/fixture.xml",
            "qemu+tcp://my_host/system",
            "qemu+tcp://bad%zzuser@h/system",
            "not a uri at all",
        ] {
            let mut saved = saved(uri);
            saved.username = Some("sasl-user".to_owned());
            let form = ConnectionForm::from_saved(&saved);
            assert_eq!(form.transport, Transport::Custom, "{uri}");
            assert_eq!(form.custom_uri, uri);
        }
        let mut saved = saved("qemu+tcp://h/system?auth=sasl.GSSAPI");
        saved.username = Some("sasl-user".to_owned());
        let form = ConnectionForm::from_saved(&saved);
        assert_eq!(form.username, "sasl-user");
        let again = form.to_saved(saved.id.clone()).expect("valid");
        assert_eq!(again, saved);
    }

    #[test]
    fn a_separate_user_name_moves_into_the_uri() {
        let mut saved = saved("qemu+tcp://h/system");
        saved.username = Some("admin".to_owned());
        let form = ConnectionForm::from_saved(&saved);
        assert_eq!(form.username, "admin");
        assert_eq!(form.uri(), Ok("qemu+tcp://admin@h/system".to_owned()));
    }

    #[test]
    fn forms_survive_saving_and_reading_back() {
        let forms = [
            ConnectionForm {
                transport: Transport::LocalSystem,
                ..ConnectionForm::default()
            },
            ConnectionForm {
                transport: Transport::LocalSession,
                name: "Mine".to_owned(),
                autoconnect: false,
                ..ConnectionForm::default()
            },
            ConnectionForm {
                hypervisor: Hypervisor::Test,
                transport: Transport::LocalSystem,
                ..ConnectionForm::default()
            },
            ConnectionForm {
                host: "nas.local".to_owned(),
                username: "me@example.org".to_owned(),
                port: "16510".to_owned(),
                remember_password: false,
                ..ConnectionForm::default()
            },
            ConnectionForm {
                transport: Transport::Tls,
                host: "fe80::1".to_owned(),
                port: "443".to_owned(),
                name: "TLS box".to_owned(),
                ..ConnectionForm::default()
            },
            ConnectionForm {
                transport: Transport::Ssh,
                host: "10.0.0.2".to_owned(),
                username: "root".to_owned(),
                ssh_keyfile: "/home/me/.ssh/key with spaces%".to_owned(),
                ..ConnectionForm::default()
            },
            ConnectionForm {
                hypervisor: Hypervisor::Test,
                transport: Transport::Ssh,
                host: "h".to_owned(),
                port: "2222".to_owned(),
                ..ConnectionForm::default()
            },
            ConnectionForm {
                transport: Transport::Custom,
                custom_uri: "qemu+tcp://h/system?auth=sasl.PLAIN".to_owned(),
                username: "sasl".to_owned(),
                name: "Custom".to_owned(),
                ..ConnectionForm::default()
            },
        ];
        for form in forms {
            let saved = form.to_saved("id".to_owned()).expect("valid");
            assert_eq!(ConnectionForm::from_saved(&saved), form, "{}", saved.uri);
        }
    }

    #[test]
    fn warns_when_tcp_goes_unencrypted() {
        assert_eq!(remote(Transport::TcpSasl, "h").security_warning(), None);
        for uri in [
            "qemu+tcp://h/system",
            "qemu+tcp://h/system?auth=sasl",
            "qemu+tcp://h/system?auth=sasl.DIGEST-MD5",
            "qemu+tcp://h/system?auth=sasl.gssapi",
            "qemu+tls://h/system",
            "qemu+ssh://h/system?auth=none",
            "qemu:///system",
            "broken",
        ] {
            assert_eq!(custom(uri).security_warning(), None, "{uri}");
        }
        let plain = custom("qemu+tcp://h/system?auth=sasl.PLAIN").security_warning();
        assert!(plain.is_some_and(|text| text.contains("PLAIN") && text.contains("password")));
        let scram = custom("qemu+tcp://h/system?auth=sasl.SCRAM-SHA-256").security_warning();
        assert!(scram.is_some_and(|text| text.contains("SCRAM-SHA-256")));
        for uri in [
            "qemu+tcp://h/system?auth=none",
            "qemu+tcp://h/system?auth=polkit",
            "qemu+tls://h/system?no_verify=1",
            "qemu+ssh://h/system?no_verify=1",
        ] {
            assert!(custom(uri).security_warning().is_some(), "{uri}");
        }
    }

    #[test]
    fn percent_escapes_round_trip() {
        let text = "a b@c/é%";
        let encoded = percent_encode(text, is_unreserved);
        assert_eq!(encoded, "a%20b%40c%2F%C3%A9%25");
        assert_eq!(percent_decode(&encoded).as_deref(), Some(text));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%+1"), None);
        assert_eq!(percent_decode("%FF"), None, "not UTF-8");
    }
}
