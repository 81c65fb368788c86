//! A new virtual network: what the wizard asks, its checks, and the `<network>` XML it defines.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use gettextrs::gettext;

use super::{object_name_problem, Element, FieldError};
use crate::i18n::gettext_f;

/// Linux limits interface names to 15 bytes.
const MAX_INTERFACE_NAME_LEN: usize = 15;
const MAX_USABLE_IPV4_PREFIX: u8 = 30;

/// How the network reaches the outside.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// Guests reach out through the host's address; nothing reaches in.
    #[default]
    Nat,
    /// Traffic is routed through `device` (any interface when empty); the LAN needs a route
    /// back to the subnet.
    Routed { device: String },
    /// Guests reach each other and the host only.
    Isolated,
    /// Like routed, but libvirt adds no firewall rules at all.
    Open,
}

impl NetworkMode {
    fn forward_mode(&self) -> Option<&'static str> {
        match self {
            Self::Nat => Some("nat"),
            Self::Routed { .. } => Some("route"),
            Self::Isolated => None,
            Self::Open => Some("open"),
        }
    }
}

/// An IPv4 subnet: any address in it and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Subnet {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Subnet {
    fn mask(self) -> u32 {
        match self.prefix {
            0 => 0,
            prefix => u32::MAX << (32 - u32::from(prefix.min(32))),
        }
    }

    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & self.mask())
    }

    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !self.mask())
    }

    pub fn contains(self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == u32::from(self.network())
    }

    /// True when `address` can be given to a machine: not the network or broadcast address.
    fn has_host(self, address: Ipv4Addr) -> bool {
        self.contains(address) && address != self.network() && address != self.broadcast()
    }

    pub fn overlaps(self, other: Ipv4Subnet) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }
}

impl fmt::Display for Ipv4Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

/// The network's IPv4 side: the host's address on it (the guests' gateway) and DHCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Config {
    pub address: Ipv4Addr,
    pub prefix: u8,
    /// The first and last address DHCP hands out; `None` turns DHCP off.
    pub dhcp: Option<(Ipv4Addr, Ipv4Addr)>,
}

impl Ipv4Config {
    pub fn subnet(&self) -> Ipv4Subnet {
        Ipv4Subnet {
            address: self.address,
            prefix: self.prefix,
        }
    }

    /// `192.168.N.1/24`, DHCP from .128 to .254, on the first N from 100 that overlaps
    /// none of `taken`.
    pub fn suggested(taken: &[Ipv4Subnet]) -> Self {
        let third = (100..=254)
            .chain(0..100)
            .find(|third| {
                let subnet = Ipv4Subnet {
                    address: Ipv4Addr::new(192, 168, *third, 0),
                    prefix: 24,
                };
                !taken.iter().any(|other| other.overlaps(subnet))
            })
            .unwrap_or(100);
        Self {
            address: Ipv4Addr::new(192, 168, third, 1),
            prefix: 24,
            dhcp: Some((
                Ipv4Addr::new(192, 168, third, 128),
                Ipv4Addr::new(192, 168, third, 254),
            )),
        }
    }
}

/// The network's IPv6 side: the host's address on it and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Config {
    pub address: Ipv6Addr,
    pub prefix: u8,
}

/// Everything the new-network wizard asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    pub mode: NetworkMode,
    /// Needed for NAT and routed networks; an isolated or open one can be plain Ethernet.
    pub ipv4: Option<Ipv4Config>,
    pub ipv6: Option<Ipv6Config>,
    /// Start with the host; not part of the XML, the caller sets it after defining.
    pub autostart: bool,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            mode: NetworkMode::Nat,
            ipv4: Some(Ipv4Config::suggested(&[])),
            ipv6: None,
            autostart: true,
        }
    }
}

/// A network already on the host, for the duplicate and overlap checks. Other subnets the
/// host is on (its LAN) can be passed the same way, named after their interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingNetwork {
    pub name: String,
    pub subnet: Option<Ipv4Subnet>,
}

/// The wizard fields a problem can be shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkField {
    Name,
    Device,
    Ipv4Address,
    Ipv4Prefix,
    DhcpStart,
    DhcpEnd,
    Ipv6Address,
    Ipv6Prefix,
}

pub type NetworkFieldError = FieldError<NetworkField>;

/// Every problem in the spec, including clashes with the host's other networks.
pub fn validate_network(
    spec: &NetworkSpec,
    existing: &[ExistingNetwork],
) -> Vec<NetworkFieldError> {
    let mut errors = Vec::new();
    let mut check = |field, problem: Option<String>| {
        if let Some(message) = problem {
            errors.push(NetworkFieldError::new(field, message));
        }
    };
    check(NetworkField::Name, object_name_problem(&spec.name));
    check(NetworkField::Name, duplicate_problem(&spec.name, existing));
    if let NetworkMode::Routed { device } = &spec.mode {
        check(NetworkField::Device, interface_name_problem(device));
    }
    match &spec.ipv4 {
        Some(ipv4) => ipv4_errors(ipv4, existing, &mut check),
        None => check(NetworkField::Ipv4Address, missing_ipv4_problem(&spec.mode)),
    }
    if let Some(ipv6) = &spec.ipv6 {
        check(
            NetworkField::Ipv6Address,
            ipv6_address_problem(ipv6.address),
        );
        check(NetworkField::Ipv6Prefix, ipv6_prefix_problem(ipv6.prefix));
    }
    errors
}

/// The `<network>` XML for `virNetworkDefineXML`, or every problem in the spec.
pub fn network_xml(spec: &NetworkSpec) -> Result<String, Vec<NetworkFieldError>> {
    let errors = validate_network(spec, &[]);
    if !errors.is_empty() {
        return Err(errors);
    }
    let network = Element::new("network")
        .child(Element::with_text("name", &spec.name))
        .children(forward_element(&spec.mode))
        // libvirt picks a free virbrN name; no spanning-tree delay for guests to wait out.
        .child(Element::new("bridge").attr("stp", "on").attr("delay", 0))
        .children(spec.ipv4.as_ref().map(ipv4_element))
        .children(spec.ipv6.as_ref().map(ipv6_element));
    Ok(network.render())
}

fn duplicate_problem(name: &str, existing: &[ExistingNetwork]) -> Option<String> {
    existing
        .iter()
        .any(|network| network.name == name)
        .then(|| {
            gettext_f(
                "There is already a network named “{name}” on this host.",
                &[("name", name)],
            )
        })
}

/// Empty means any interface.
fn interface_name_problem(device: &str) -> Option<String> {
    let bad_char = |c: char| c == '/' || c.is_whitespace() || c.is_control();
    (device.len() > MAX_INTERFACE_NAME_LEN || device.chars().any(bad_char))
        .then(|| gettext("Enter the name of a network interface on the host, such as eth0."))
}

fn missing_ipv4_problem(mode: &NetworkMode) -> Option<String> {
    matches!(mode, NetworkMode::Nat | NetworkMode::Routed { .. })
        .then(|| gettext("NAT and routed networks need an IPv4 address."))
}

fn ipv4_errors(
    ipv4: &Ipv4Config,
    existing: &[ExistingNetwork],
    check: &mut impl FnMut(NetworkField, Option<String>),
) {
    if ipv4.prefix == 0 || ipv4.prefix > MAX_USABLE_IPV4_PREFIX {
        let max = MAX_USABLE_IPV4_PREFIX.to_string();
        let message = gettext_f(
            "The prefix length must be from 1 to {max}.",
            &[("max", &max)],
        );
        check(NetworkField::Ipv4Prefix, Some(message));
        return;
    }
    let subnet = ipv4.subnet();
    check(NetworkField::Ipv4Address, gateway_problem(subnet));
    check(NetworkField::Ipv4Address, overlap_problem(subnet, existing));
    if let Some((start, end)) = ipv4.dhcp {
        check(
            NetworkField::DhcpStart,
            range_address_problem(subnet, start),
        );
        check(NetworkField::DhcpEnd, range_address_problem(subnet, end));
        check(NetworkField::DhcpEnd, range_order_problem(start, end));
        check(
            NetworkField::DhcpStart,
            gateway_in_range_problem(ipv4.address, start, end),
        );
    }
}

fn gateway_problem(subnet: Ipv4Subnet) -> Option<String> {
    (!subnet.has_host(subnet.address))
        .then(|| gettext("The address cannot be the first or the last one of its subnet."))
}

fn overlap_problem(subnet: Ipv4Subnet, existing: &[ExistingNetwork]) -> Option<String> {
    let clash = existing.iter().find_map(|network| {
        let other = network.subnet?;
        other.overlaps(subnet).then_some((network, other))
    })?;
    let (network, other) = clash;
    Some(gettext_f(
        "The subnet overlaps {subnet} of “{name}”.",
        &[("subnet", &other.to_string()), ("name", &network.name)],
    ))
}

fn range_address_problem(subnet: Ipv4Subnet, address: Ipv4Addr) -> Option<String> {
    (!subnet.has_host(address)).then(|| {
        gettext_f(
            "The address must be inside {subnet}, not its first or last one.",
            &[("subnet", &subnet.to_string())],
        )
    })
}

fn range_order_problem(start: Ipv4Addr, end: Ipv4Addr) -> Option<String> {
    (start > end).then(|| gettext("The range must end after it starts."))
}

fn gateway_in_range_problem(gateway: Ipv4Addr, start: Ipv4Addr, end: Ipv4Addr) -> Option<String> {
    (start <= gateway && gateway <= end)
        .then(|| gettext("The range cannot include the network’s own address."))
}

fn ipv6_address_problem(address: Ipv6Addr) -> Option<String> {
    (address.is_unspecified() || address.is_multicast() || address.is_loopback())
        .then(|| gettext("Enter an IPv6 address for the host on this network."))
}

fn ipv6_prefix_problem(prefix: u8) -> Option<String> {
    (prefix == 0 || prefix > 128).then(|| gettext("The prefix length must be from 1 to 128."))
}

fn forward_element(mode: &NetworkMode) -> Option<Element> {
    let device = match mode {
        NetworkMode::Routed { device } if !device.is_empty() => Some(device.as_str()),
        _ => None,
    };
    let forward = Element::new("forward").attr("mode", mode.forward_mode()?);
    Some(forward.attr_if("dev", device))
}

fn ipv4_element(ipv4: &Ipv4Config) -> Element {
    let dhcp = ipv4.dhcp.map(|(start, end)| {
        Element::new("dhcp").child(Element::new("range").attr("start", start).attr("end", end))
    });
    Element::new("ip")
        .attr("address", ipv4.address)
        .attr("prefix", ipv4.prefix)
        .children(dhcp)
}

fn ipv6_element(ipv6: &Ipv6Config) -> Element {
    Element::new("ip")
        .attr("family", "ipv6")
        .attr("address", ipv6.address)
        .attr("prefix", ipv6.prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    fn spec() -> NetworkSpec {
        NetworkSpec {
            name: "lab".to_owned(),
            ipv4: Some(Ipv4Config {
                address: ip("10.0.5.1"),
                prefix: 24,
                dhcp: Some((ip("10.0.5.100"), ip("10.0.5.200"))),
            }),
            ..NetworkSpec::default()
        }
    }

    fn fields(errors: &[NetworkFieldError]) -> Vec<NetworkField> {
        errors.iter().map(|error| error.field).collect()
    }

    fn with_ipv4(address: &str, prefix: u8, dhcp: Option<(&str, &str)>) -> NetworkSpec {
        NetworkSpec {
            ipv4: Some(Ipv4Config {
                address: ip(address),
                prefix,
                dhcp: dhcp.map(|(start, end)| (ip(start), ip(end))),
            }),
            ..spec()
        }
    }

    #[test]
    fn subnet_math() {
        let subnet = Ipv4Subnet {
            address: ip("192.168.1.77"),
            prefix: 26,
        };
        assert_eq!(subnet.network(), ip("192.168.1.64"));
        assert_eq!(subnet.broadcast(), ip("192.168.1.127"));
        assert_eq!(subnet.to_string(), "192.168.1.64/26");
        assert!(subnet.contains(ip("192.168.1.100")));
        assert!(!subnet.contains(ip("192.168.1.128")));
        let wide = Ipv4Subnet {
            address: ip("192.168.0.0"),
            prefix: 16,
        };
        assert!(wide.overlaps(subnet) && subnet.overlaps(wide));
        let next = Ipv4Subnet {
            address: ip("192.168.1.128"),
            prefix: 26,
        };
        assert!(!subnet.overlaps(next));
    }

    #[test]
    fn a_good_spec_passes() {
        assert_eq!(validate_network(&spec(), &[]), vec![]);
        assert_eq!(
            validate_network(
                &NetworkSpec {
                    name: "n".into(),
                    ..NetworkSpec::default()
                },
                &[]
            ),
            vec![]
        );
    }

    #[test]
    fn dhcp_range_must_sit_inside_the_subnet_in_order() {
        let outside = with_ipv4("10.0.5.1", 24, Some(("10.0.4.10", "10.0.4.20")));
        assert_eq!(
            fields(&validate_network(&outside, &[])),
            vec![NetworkField::DhcpStart, NetworkField::DhcpEnd]
        );
        let reversed = with_ipv4("10.0.5.1", 24, Some(("10.0.5.200", "10.0.5.100")));
        assert_eq!(
            fields(&validate_network(&reversed, &[])),
            vec![NetworkField::DhcpEnd]
        );
        let gateway_inside = with_ipv4("10.0.5.150", 24, Some(("10.0.5.100", "10.0.5.200")));
        assert_eq!(
            fields(&validate_network(&gateway_inside, &[])),
            vec![NetworkField::DhcpStart]
        );
    }

    #[test]
    fn gateway_and_prefix_are_checked() {
        let network_address = with_ipv4("10.0.5.0", 24, None);
        assert_eq!(
            fields(&validate_network(&network_address, &[])),
            vec![NetworkField::Ipv4Address]
        );
        for prefix in [0, 31, 32, 33] {
            let spec = with_ipv4("10.0.5.1", prefix, None);
            assert_eq!(
                fields(&validate_network(&spec, &[])),
                vec![NetworkField::Ipv4Prefix],
                "/{prefix}"
            );
        }
    }

    #[test]
    fn clashes_with_the_host_are_reported() {
        let existing = [
            ExistingNetwork {
                name: "lab".to_owned(),
                subnet: None,
            },
            ExistingNetwork {
                name: "default".to_owned(),
                subnet: Some(Ipv4Subnet {
                    address: ip("10.0.0.1"),
                    prefix: 16,
                }),
            },
        ];
        let errors = validate_network(&spec(), &existing);
        assert_eq!(
            fields(&errors),
            vec![NetworkField::Name, NetworkField::Ipv4Address]
        );
        assert!(
            errors[1].message.contains("10.0.0.0/16"),
            "{}",
            errors[1].message
        );
    }

    #[test]
    fn nat_needs_ipv4_but_isolated_does_not() {
        let mut spec = NetworkSpec {
            ipv4: None,
            ..spec()
        };
        assert_eq!(
            fields(&validate_network(&spec, &[])),
            vec![NetworkField::Ipv4Address]
        );
        spec.mode = NetworkMode::Isolated;
        let xml = network_xml(&spec).unwrap();
        assert!(!xml.contains("<forward") && !xml.contains("<ip"));
    }

    #[test]
    fn routed_device_is_optional_but_checked() {
        let mut spec = NetworkSpec {
            mode: NetworkMode::Routed {
                device: String::new(),
            },
            ..spec()
        };
        assert!(network_xml(&spec)
            .unwrap()
            .contains("<forward mode=\"route\"/>"));
        spec.mode = NetworkMode::Routed {
            device: "eth0/1".to_owned(),
        };
        assert_eq!(
            fields(&validate_network(&spec, &[])),
            vec![NetworkField::Device]
        );
    }

    #[test]
    fn ipv6_is_checked() {
        let spec = NetworkSpec {
            ipv6: Some(Ipv6Config {
                address: Ipv6Addr::UNSPECIFIED,
                prefix: 0,
            }),
            ..spec()
        };
        assert_eq!(
            fields(&validate_network(&spec, &[])),
            vec![NetworkField::Ipv6Address, NetworkField::Ipv6Prefix]
        );
    }

    #[test]
    fn suggestions_avoid_taken_subnets() {
        let taken = [Ipv4Subnet {
            address: ip("192.168.100.0"),
            prefix: 23,
        }];
        let suggested = Ipv4Config::suggested(&taken);
        assert_eq!(suggested.address, ip("192.168.102.1"));
        assert_eq!(
            suggested.dhcp,
            Some((ip("192.168.102.128"), ip("192.168.102.254")))
        );
    }
}
