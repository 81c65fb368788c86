//! The command line: Hangar's options (named as virt-manager's where they overlap) and the
//! parsing of their values.

use gettextrs::gettext;
use gtk::glib;
use gtk::prelude::*;

use crate::i18n::gettext_f;

/// One option: long name, short letter, value name (`None` for a switch) and help text.
type OptionSpec = (&'static str, u8, Option<&'static str>, String);

fn options() -> Vec<OptionSpec> {
    vec![
        (
            "demo",
            0,
            None,
            gettext("Open the demo host (libvirt's test driver, no server needed)"),
        ),
        (
            "connect",
            b'c',
            Some("URI"),
            gettext("Connect to the host at URI, e.g. qemu+tcp://server/system"),
        ),
        (
            "show-domain-console",
            0,
            Some("NAME"),
            gettext(
                "Open the console of the virtual machine NAME on the host given with --connect",
            ),
        ),
        (
            "show-domain-editor",
            0,
            Some("NAME"),
            gettext(
                "Open the details of the virtual machine NAME on the host given with --connect",
            ),
        ),
        (
            "show-domain-creator",
            0,
            None,
            gettext("Open the new virtual machine wizard for the host given with --connect"),
        ),
        (
            "show-host-summary",
            0,
            None,
            gettext("Show the summary of the host given with --connect"),
        ),
        (
            "vnc",
            0,
            Some("HOST:PORT"),
            gettext("Open the VNC console at HOST:PORT"),
        ),
        ("version", 0, None, gettext("Show the version and exit")),
    ]
}

pub(super) fn add_options(app: &impl IsA<gtk::gio::Application>) {
    for (name, short, value, help) in options() {
        let arg = if value.is_some() {
            glib::OptionArg::String
        } else {
            glib::OptionArg::None
        };
        app.add_main_option(
            name,
            glib::Char::from(short),
            glib::OptionFlags::NONE,
            arg,
            &help,
            value,
        );
    }
}

/// `HOST:PORT` from `--vnc`: a name or an IPv4 address, or an IPv6 address in brackets
/// (`[::1]:5900`).
pub(super) fn parse_vnc_address(text: &str) -> Result<(String, u16), String> {
    let invalid = || {
        gettext_f(
            "“{address}” is not a VNC address: give HOST:PORT, such as 127.0.0.1:5900 or [::1]:5900.",
            &[("address", text)],
        )
    };
    let (host, port) = text.trim().rsplit_once(':').ok_or_else(invalid)?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(invalid)?;
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.strip_suffix(']').ok_or_else(invalid)?,
        // An IPv6 address without brackets cannot be told apart from its port.
        None if host.contains([':', '[', ']']) => return Err(invalid()),
        None => host,
    };
    if host.is_empty() {
        return Err(invalid());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::parse_vnc_address;

    #[test]
    fn vnc_addresses_from_the_command_line() {
        let parsed = |text| parse_vnc_address(text).ok();
        let address = |host: &str, port| Some((host.to_owned(), port));
        assert_eq!(parsed("127.0.0.1:5900"), address("127.0.0.1", 5900));
        assert_eq!(parsed("nas.local:5901"), address("nas.local", 5901));
        assert_eq!(parsed("[::1]:5902"), address("::1", 5902));
        assert_eq!(parsed("[fe80::1%eth0]:5900"), address("fe80::1%eth0", 5900));
        for wrong in [
            "",
            "host",
            "host:",
            ":5900",
            "host:0",
            "host:65536",
            "::1:5900",
            "[::1:5900",
            "[]:5900",
        ] {
            assert_eq!(parsed(wrong), None, "{wrong:?}");
        }
    }
}
