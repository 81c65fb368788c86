//! Where to reach a domain's VNC console from this machine, decided from its XML and the
//! connection: a socket from libvirt (local), the host's address (remote, listening widely),
//! an ssh tunnel (remote over ssh, listening locally), or a reason it cannot be reached.

use std::os::fd::OwnedFd;

use gettextrs::gettext;
use virt::sys;
use zeroize::Zeroizing;

use super::domain::model::{DomainModel, VncPassword};
use super::error::BackendError;
use super::libvirt::ffi;
use super::libvirt::session::HostSession;
use super::password::Password;
use super::uri::ConnectionUri;
use crate::i18n::gettext_f;
use crate::vnc::target::VncGraphics;

/// How to open the byte stream that carries RFB.
#[derive(Debug)]
pub enum ConsoleEndpoint {
    Tcp {
        host: String,
        port: u16,
    },
    /// Already connected, from `virDomainOpenGraphicsFD`.
    Socket(OwnedFd),
    /// `ssh [-p PORT] [-i KEY] [USER@]HOST -W TARGET:TARGET_PORT`, its stdio as the stream.
    SshTunnel {
        destination: String,
        ssh_port: Option<u16>,
        keyfile: Option<String>,
        target_host: String,
        target_port: u16,
    },
}

/// What the console tab needs to connect, or why it can't.
#[derive(Debug)]
pub enum ConsoleTarget {
    Ready {
        endpoint: ConsoleEndpoint,
        /// From the secure XML, when this connection may read it.
        password: Option<Password>,
        /// Whether the server asks for a password at all.
        needs_password: bool,
        /// A warning when anyone on the network can open this console.
        warning: Option<String>,
    },
    NotRunning,
    NoVnc,
    /// A sentence saying why and what to change.
    Unreachable(String),
}

/// Works out how to reach the console of the domain with `uuid` on `session`'s host.
pub fn resolve(
    session: &HostSession,
    uri: &ConnectionUri,
    uuid: &str,
) -> Result<ConsoleTarget, BackendError> {
    let domain = session.connection().lookup_domain_by_uuid_string(uuid)?;
    if !domain.is_active()? {
        return Ok(ConsoleTarget::NotRunning);
    }
    if uri.driver == "test" {
        return Ok(ConsoleTarget::Unreachable(gettext(
            "The demo host’s virtual machines are simulated: they have no screen to show.",
        )));
    }
    // The secure XML carries the VNC password; read-only connections may not ask for it.
    let xml = Zeroizing::new(
        domain
            .xml_desc(sys::VIR_DOMAIN_XML_SECURE)
            .or_else(|_| domain.xml_desc(0))?,
    );
    let model = DomainModel::from_xml(&xml)
        .map_err(|error| BackendError::new(super::error::ErrorKind::Other, error.to_string()))?;
    let Some(settings) = model.vnc.as_ref() else {
        return Ok(ConsoleTarget::NoVnc);
    };
    let graphics = VncGraphics::from_settings(settings);
    let password = match &settings.password {
        VncPassword::Set(password) => Some(password.clone()),
        VncPassword::None => None,
    };
    let needs_password = graphics.has_password;
    let warning =
        (graphics.listens_on_all_addresses() && !needs_password).then(open_to_network_warning);
    let endpoint = if uri.is_local() {
        match ffi::open_graphics_fd(&domain) {
            Ok(socket) => ConsoleEndpoint::Socket(socket),
            Err(_) => match local_tcp(&graphics) {
                Some(endpoint) => endpoint,
                None => return Ok(unreachable_local()),
            },
        }
    } else {
        match remote_endpoint(uri, &graphics) {
            Ok(endpoint) => endpoint,
            Err(reason) => return Ok(ConsoleTarget::Unreachable(reason)),
        }
    };
    Ok(ConsoleTarget::Ready {
        endpoint,
        password,
        needs_password,
        warning,
    })
}

/// What the console and the details page say about a VNC display that listens on all
/// addresses without a password.
pub fn open_to_network_warning() -> String {
    gettext(
        "Anyone on the network can open this console: it listens on all addresses and has no password. Set a VNC password for this virtual machine.",
    )
}

fn local_tcp(graphics: &VncGraphics) -> Option<ConsoleEndpoint> {
    let port = graphics.port?;
    let host = match graphics.listen.as_deref() {
        None | Some("0.0.0.0") | Some("::") => "127.0.0.1".to_owned(),
        Some(address) => address.to_owned(),
    };
    Some(ConsoleEndpoint::Tcp { host, port })
}

fn unreachable_local() -> ConsoleTarget {
    ConsoleTarget::Unreachable(gettext(
        "The console has no port yet. Wait until the virtual machine has started.",
    ))
}

fn is_loopback(address: &str) -> bool {
    address.starts_with("127.") || address == "::1" || address == "localhost"
}

/// A remote host: connect straight to a widely listening console, tunnel a local one over
/// ssh, or explain what to change.
fn remote_endpoint(uri: &ConnectionUri, graphics: &VncGraphics) -> Result<ConsoleEndpoint, String> {
    let host = uri.host.clone().unwrap_or_default();
    let Some(port) = graphics.port else {
        return Err(gettext(
            "The console has no port yet. Wait until the virtual machine has started.",
        ));
    };
    let listen = graphics
        .listen
        .clone()
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let local_only = graphics.socket.is_some() || is_loopback(&listen);
    if !local_only {
        let target = if graphics.listens_on_all_addresses() {
            host
        } else {
            listen
        };
        return Ok(ConsoleEndpoint::Tcp { host: target, port });
    }
    if uri.transport.as_deref() == Some("ssh") {
        let destination = match &uri.user {
            Some(user) => format!("{user}@{host}"),
            None => host,
        };
        return Ok(ConsoleEndpoint::SshTunnel {
            destination,
            ssh_port: uri.port,
            keyfile: query_value(uri, "keyfile"),
            target_host: "127.0.0.1".to_owned(),
            target_port: port,
        });
    }
    Err(gettext_f(
        "This console only listens on {host} itself, so it cannot be reached over this connection. Set vnc_listen = \"0.0.0.0\" in the host’s /etc/libvirt/qemu.conf (or the virtual machine’s listen address), or connect to the host with SSH.",
        &[("host", &host)],
    ))
}

fn query_value(uri: &ConnectionUri, key: &str) -> Option<String> {
    uri.query.as_deref()?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == key).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graphics(listen: &str, port: u16) -> VncGraphics {
        VncGraphics {
            port: Some(port),
            listen: Some(listen.to_owned()),
            socket: None,
            has_password: false,
        }
    }

    fn uri(text: &str) -> ConnectionUri {
        ConnectionUri::parse(text).expect("valid uri")
    }

    #[test]
    fn wide_listeners_are_reached_at_the_hosts_address() {
        let endpoint = remote_endpoint(
            &uri("qemu+tcp://nas.local/system"),
            &graphics("0.0.0.0", 5901),
        );
        assert!(
            matches!(endpoint, Ok(ConsoleEndpoint::Tcp { ref host, port: 5901 }) if host == "nas.local")
        );
        let endpoint = remote_endpoint(&uri("qemu+tcp://[fd00::2]/system"), &graphics("::", 5900));
        assert!(matches!(endpoint, Ok(ConsoleEndpoint::Tcp { ref host, .. }) if host == "fd00::2"));
    }

    #[test]
    fn local_listeners_go_through_ssh_or_are_explained() {
        let endpoint = remote_endpoint(
            &uri("qemu+ssh://me@kvm:2222/system?no_tty=1&keyfile=/k"),
            &graphics("127.0.0.1", 5902),
        );
        let Ok(ConsoleEndpoint::SshTunnel {
            destination,
            ssh_port,
            keyfile,
            target_port,
            ..
        }) = endpoint
        else {
            panic!("expected a tunnel");
        };
        assert_eq!(
            (
                destination.as_str(),
                ssh_port,
                keyfile.as_deref(),
                target_port
            ),
            ("me@kvm", Some(2222), Some("/k"), 5902)
        );
        let reason = remote_endpoint(&uri("qemu+tcp://kvm/system"), &graphics("127.0.0.1", 5902))
            .expect_err("unreachable");
        assert!(reason.contains("vnc_listen"));
    }
}
