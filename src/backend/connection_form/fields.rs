//! Checks and encodings for single fields of the connection form.

use gettextrs::gettext;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Field, FieldError};
use crate::backend::uri;
use crate::i18n::gettext_f;

pub(super) const MAX_HOST_LEN: usize = 253;
pub(super) const MAX_LABEL_LEN: usize = 63;

pub(super) fn check_host(text: &str) -> Result<String, FieldError> {
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

pub(super) fn is_dns_name(host: &str) -> bool {
    // One trailing dot marks a fully qualified name.
    let name = host.strip_suffix('.').unwrap_or(host);
    name.len() <= MAX_HOST_LEN && name.split('.').all(is_dns_label)
}

pub(super) fn is_dns_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// The port, `None` when left empty.
pub(super) fn check_port(text: &str) -> Result<Option<u16>, FieldError> {
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
pub(super) fn check_username(text: &str) -> Result<Option<String>, FieldError> {
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
pub(super) fn check_keyfile(text: &str) -> Result<Option<String>, FieldError> {
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
pub(super) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

pub(super) fn is_path_safe(byte: u8) -> bool {
    is_unreserved(byte) || byte == b'/'
}

pub(super) fn percent_encode(text: &str, keep: fn(u8) -> bool) -> String {
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
pub(super) fn percent_decode(text: &str) -> Option<String> {
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
