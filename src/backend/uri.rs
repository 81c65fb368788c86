//! libvirt connection addresses: parsing, checks before connecting, and names for the sidebar.

use std::path::Path;

use gettextrs::gettext;

use super::error::{BackendError, ErrorKind};
use super::password::REDACTED;

/// Hypervisor drivers libvirt knows, by URI scheme prefix.
const KNOWN_DRIVERS: &[&str] = &[
    "qemu",
    "test",
    "lxc",
    "xen",
    "libxl",
    "ch",
    "bhyve",
    "vbox",
    "esx",
    "vpx",
    "gsx",
    "hyperv",
    "vz",
    "openvz",
    "vmwareplayer",
    "vmwarews",
    "vmwarefusion",
];

/// Ways to reach a remote daemon (`driver+transport://`).
const KNOWN_TRANSPORTS: &[&str] = &["tcp", "tls", "ssh", "libssh", "libssh2", "unix", "ext"];

/// The parts of a libvirt URI such as `qemu+tcp://admin@host:16509/system?auth=sasl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionUri {
    pub driver: String,
    pub transport: Option<String>,
    pub user: Option<String>,
    /// Host name or address; IPv6 literals without their brackets.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: String,
    pub query: Option<String>,
}

impl ConnectionUri {
    /// Parses `uri`, rejecting what libvirt could not use, with the reason.
    pub fn parse(uri: &str) -> Result<Self, BackendError> {
        let invalid = |reason: String| BackendError::new(ErrorKind::InvalidInput, reason);
        let uri = uri.trim();
        if uri.contains(['\0', ' ', '\n']) {
            return Err(invalid(gettext(
                "A connection address cannot contain spaces or control characters.",
            )));
        }
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Err(invalid(gettext(
                "A connection address looks like qemu:///system or qemu+tcp://host/system.",
            )));
        };
        let (driver, transport) = match scheme.split_once('+') {
            Some((driver, transport)) => (driver, Some(transport)),
            None => (scheme, None),
        };
        check_scheme(driver, transport)?;
        let (authority, path_and_query) = match rest.find('/') {
            Some(index) => rest.split_at(index),
            None => (rest, ""),
        };
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (path_and_query, None),
        };
        let (user, host, port) = parse_authority(authority)?;
        Ok(Self {
            driver: driver.to_owned(),
            transport: transport.map(str::to_owned),
            user,
            host,
            port,
            path: path.to_owned(),
            query,
        })
    }

    /// True for a libvirt test driver fixture file opened in-process (`test:///path/file.xml`).
    pub fn is_test_fixture(&self) -> bool {
        self.driver == "test" && self.transport.is_none() && self.path != "/default"
    }

    /// True when the address points at this machine without a network hop.
    pub fn is_local(&self) -> bool {
        self.host.is_none() && matches!(self.transport.as_deref(), None | Some("unix"))
    }
}

fn check_scheme(driver: &str, transport: Option<&str>) -> Result<(), BackendError> {
    if !KNOWN_DRIVERS.contains(&driver) {
        let message = gettext(
            "“{driver}” is not a hypervisor Hangar can connect to. Addresses start with qemu://, qemu+tcp://, qemu+ssh://, qemu+tls:// or test://.",
        )
        .replace("{driver}", driver);
        return Err(BackendError::new(ErrorKind::UnknownDriver, message));
    }
    if let Some(transport) = transport {
        if !KNOWN_TRANSPORTS.contains(&transport) {
            let message = gettext(
                "“{transport}” is not a way to reach a host. Use tcp, tls, ssh, libssh or unix.",
            )
            .replace("{transport}", transport);
            return Err(BackendError::new(ErrorKind::UnknownDriver, message));
        }
    }
    Ok(())
}

/// `uri` with the password it carries (`scheme://user:password@host/…`) taken out, or `None`
/// when it carries none. Passwords belong in the keyring, never in an address that is shown
/// and saved.
pub fn without_password(uri: &str) -> Option<String> {
    let (scheme, user, after_userinfo) = split_password(uri)?;
    let user_part = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    Some(format!("{scheme}://{user_part}{after_userinfo}"))
}

/// `uri` as it may be printed: a password in it replaced by `<redacted>`.
pub fn redact_password(uri: &str) -> String {
    match split_password(uri) {
        Some((scheme, user, after_userinfo)) => {
            format!("{scheme}://{user}:{REDACTED}@{after_userinfo}")
        }
        None => uri.to_owned(),
    }
}

/// The scheme, the user and what follows the user info, when the user info holds a password.
fn split_password(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    // The host follows the last '@', as in `parse_authority`.
    let (userinfo, _host) = rest[..authority_end].rsplit_once('@')?;
    let (user, _password) = userinfo.split_once(':')?;
    Some((scheme, user, &rest[userinfo.len() + 1..]))
}

type Authority = (Option<String>, Option<String>, Option<u16>);

fn parse_authority(authority: &str) -> Result<Authority, BackendError> {
    if authority.is_empty() {
        return Ok((None, None, None));
    }
    // libvirt wants an '@' inside the user name percent-encoded; accept a literal one too,
    // since the host always follows the last '@'.
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, _)) if user.contains(':') => {
            return Err(BackendError::new(
                ErrorKind::InvalidInput,
                gettext(
                    "A connection address cannot hold a password (user:password@). Remove it: Hangar asks for the password when it connects and keeps it in the keyring.",
                ),
            ));
        }
        Some((user, host_port)) => (Some(percent_decode(user)), host_port),
        None => (None, authority),
    };
    let (host, port) = split_host_port(host_port)?;
    if host.is_empty() {
        return Err(BackendError::new(
            ErrorKind::InvalidInput,
            gettext("The host name is missing."),
        ));
    }
    Ok((user, Some(host), port))
}

fn split_host_port(host_port: &str) -> Result<(String, Option<u16>), BackendError> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(BackendError::new(
                ErrorKind::InvalidInput,
                gettext("An IPv6 address must be closed with “]”."),
            ));
        };
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host.to_owned(), port))
}

/// Decodes `%XX` escapes; anything malformed stays as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Parses a TCP port, 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16, BackendError> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(BackendError::new(
            ErrorKind::InvalidInput,
            gettext("The port must be a number from 1 to 65535."),
        )),
    }
}

/// Checks what can be checked before handing `uri` to libvirt, so mistakes get a clear reason.
pub fn check_before_connecting(uri: &str) -> Result<ConnectionUri, BackendError> {
    let parsed = ConnectionUri::parse(uri)?;
    if parsed.is_test_fixture() {
        check_fixture_file(Path::new(&parsed.path))?;
    }
    Ok(parsed)
}

fn check_fixture_file(path: &Path) -> Result<(), BackendError> {
    let reason = if !path.is_absolute() {
        gettext("The test driver needs an absolute path to its fixture file.")
    } else if !path.is_file() {
        gettext("The fixture file {path} does not exist.")
    } else if std::fs::File::open(path).is_err() {
        gettext("The fixture file {path} cannot be read.")
    } else {
        return Ok(());
    };
    Err(BackendError::new(
        ErrorKind::InvalidInput,
        reason.replace("{path}", &path.display().to_string()),
    ))
}

/// The address that opens a test driver fixture file.
pub fn test_fixture_uri(path: &Path) -> String {
    format!("test://{}", path.display())
}

/// A short name for a connection, for the sidebar.
pub fn display_name(uri: &str) -> String {
    let Ok(parsed) = ConnectionUri::parse(uri) else {
        return uri.to_owned();
    };
    let kind = driver_label(&parsed.driver);
    match (&parsed.host, parsed.driver.as_str()) {
        (Some(host), _) => host.clone(),
        (None, "test") if parsed.is_test_fixture() => gettext("Test host"),
        (None, "qemu") if parsed.path == "/session" => gettext("Local user session"),
        (None, _) => gettext("Local {kind}").replace("{kind}", &kind),
    }
}

/// The hypervisor's human name (“QEMU/KVM”).
pub fn driver_label(driver: &str) -> String {
    match driver {
        "qemu" => "QEMU/KVM".to_owned(),
        "test" => gettext("Test driver"),
        "lxc" => "LXC".to_owned(),
        "xen" | "libxl" => "Xen".to_owned(),
        "ch" => "Cloud Hypervisor".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_tcp_sasl_address() {
        let uri = ConnectionUri::parse("qemu+tcp://admin@nas.local:16509/system?auth=sasl")
            .expect("valid");
        assert_eq!(uri.driver, "qemu");
        assert_eq!(uri.transport.as_deref(), Some("tcp"));
        assert_eq!(uri.user.as_deref(), Some("admin"));
        assert_eq!(uri.host.as_deref(), Some("nas.local"));
        assert_eq!(uri.port, Some(16509));
        assert_eq!(uri.path, "/system");
        assert_eq!(uri.query.as_deref(), Some("auth=sasl"));
        assert!(!uri.is_local());
    }

    #[test]
    fn parses_ipv6_and_users_with_at_signs() {
        let uri =
            ConnectionUri::parse("qemu+ssh://me@example.org@[fe80::1]:2222/system").expect("valid");
        assert_eq!(uri.user.as_deref(), Some("me@example.org"));
        assert_eq!(uri.host.as_deref(), Some("fe80::1"));
        assert_eq!(uri.port, Some(2222));
        let encoded =
            ConnectionUri::parse("qemu+tcp://me%40example.org@host/system").expect("valid");
        assert_eq!(encoded.user.as_deref(), Some("me@example.org"));
    }

    #[test]
    fn local_addresses_have_no_host() {
        let uri = ConnectionUri::parse("qemu:///system").expect("valid");
        assert!(uri.is_local());
        assert_eq!(display_name("qemu:///system"), "Local QEMU/KVM");
        assert_eq!(display_name("qemu+tcp://kvm1/system"), "kvm1");
    }

    #[test]
    fn rejects_unknown_schemes_with_a_reason() {
        let error = ConnectionUri::parse("bogus://host/system").expect_err("invalid");
        assert_eq!(error.kind, ErrorKind::UnknownDriver);
        assert!(error.user_message().contains("bogus"));
        let error = ConnectionUri::parse("qemu+pigeon://host/system").expect_err("invalid");
        assert!(error.user_message().contains("pigeon"));
    }

    #[test]
    fn rejects_bad_ports_and_shapes() {
        assert!(ConnectionUri::parse("qemu+tcp://host:0/system").is_err());
        assert!(ConnectionUri::parse("qemu+tcp://host:70000/system").is_err());
        assert!(ConnectionUri::parse("qemu+tcp://[::1/system").is_err());
        assert!(ConnectionUri::parse("just some words").is_err());
        assert!(ConnectionUri::parse("qemu+tcp://@/system").is_err());
    }

    #[test]
    fn fixture_paths_are_checked_before_libvirt_sees_them() {
        let error = check_before_connecting("test:///no/such/fixture.xml").expect_err("missing");
        assert!(error.user_message().contains("/no/such/fixture.xml"));
        assert!(check_before_connecting("test:///default").is_ok());
    }

    #[test]
    fn refuses_a_password_in_the_address_without_repeating_it() {
        let error =
            ConnectionUri::parse("qemu+tcp://admin:hunter2@nas/system").expect_err("refused");
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert!(error.user_message().contains("user:password@"));
        assert!(!format!("{error:?} {}", error.user_message()).contains("hunter2"));
    }

    #[test]
    fn strips_the_password_and_keeps_the_rest() {
        let strip = |uri| without_password(uri);
        assert_eq!(
            strip("qemu+tcp://admin:pw@nas.local:16509/system?auth=sasl").as_deref(),
            Some("qemu+tcp://admin@nas.local:16509/system?auth=sasl")
        );
        assert_eq!(
            strip("qemu+ssh://:pw@[fe80::1]:2222/system").as_deref(),
            Some("qemu+ssh://[fe80::1]:2222/system")
        );
        assert_eq!(
            strip("qemu+tcp://me@example.org:p@ss@host/system").as_deref(),
            Some("qemu+tcp://me@example.org@host/system")
        );
        assert_eq!(strip("qemu+tcp://admin@[::1]:16509/system"), None);
        assert_eq!(strip("qemu:///system"), None);
        assert_eq!(strip("test:///path/with:colon@sign.xml"), None);
        assert_eq!(
            redact_password("qemu+tcp://admin:pw@nas/system"),
            "qemu+tcp://admin:<redacted>@nas/system"
        );
        assert_eq!(redact_password("qemu:///system"), "qemu:///system");
    }
}
