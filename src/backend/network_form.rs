//! The new-network form as typed, and the `NetworkSpec` it stands for: addresses are parsed
//! here, so a typo is reported on its own field before the spec's own checks run. Kept apart
//! from the dialog so it is tested without GTK.

use std::net::{Ipv4Addr, Ipv6Addr};

use gettextrs::gettext;

use super::xml::network::{
    validate_network, ExistingNetwork, Ipv4Config, Ipv4Subnet, Ipv6Config, NetworkField,
    NetworkFieldError, NetworkMode, NetworkSpec,
};
use super::xml::FieldError;
use crate::i18n::gettext_f;

/// A unique local address: private, like 192.168.x.y is for IPv4.
const DEFAULT_IPV6_ADDRESS: &str = "fd00::1";
/// SLAAC and router advertisements need a /64.
const DEFAULT_IPV6_PREFIX: u8 = 64;
const MAX_DHCP_IPV4_PREFIX: u8 = 30;

/// The modes in the order of the form's drop-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModeChoice {
    #[default]
    Nat,
    Routed,
    Isolated,
    Open,
}

impl ModeChoice {
    pub const ALL: [Self; 4] = [Self::Nat, Self::Routed, Self::Isolated, Self::Open];

    /// Only a routed network asks which interface it goes out through.
    pub fn has_device(self) -> bool {
        self == Self::Routed
    }
}

/// What the new-network form holds; texts exactly as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkForm {
    pub name: String,
    pub mode: ModeChoice,
    /// The routed network's outgoing interface; empty means any.
    pub device: String,
    pub ipv4_address: String,
    pub ipv4_prefix: String,
    pub dhcp: bool,
    pub dhcp_start: String,
    pub dhcp_end: String,
    pub ipv6: bool,
    pub ipv6_address: String,
    pub ipv6_prefix: String,
    pub autostart: bool,
}

impl Default for NetworkForm {
    fn default() -> Self {
        Self::suggested(&[])
    }
}

impl NetworkForm {
    /// An empty form whose IPv4 side is a free /24 with DHCP, clear of `taken`.
    pub fn suggested(taken: &[Ipv4Subnet]) -> Self {
        let mut form = Self {
            name: String::new(),
            mode: ModeChoice::Nat,
            device: String::new(),
            ipv4_address: String::new(),
            ipv4_prefix: String::new(),
            dhcp: true,
            dhcp_start: String::new(),
            dhcp_end: String::new(),
            ipv6: false,
            ipv6_address: DEFAULT_IPV6_ADDRESS.to_owned(),
            ipv6_prefix: DEFAULT_IPV6_PREFIX.to_string(),
            autostart: true,
        };
        form.set_ipv4(&Ipv4Config::suggested(taken));
        form
    }

    /// Writes `config` into the IPv4 fields (DHCP range included, when it has one).
    pub fn set_ipv4(&mut self, config: &Ipv4Config) {
        self.ipv4_address = config.address.to_string();
        self.ipv4_prefix = config.prefix.to_string();
        if let Some((start, end)) = config.dhcp {
            self.dhcp_start = start.to_string();
            self.dhcp_end = end.to_string();
        }
    }

    /// The spec the form stands for, or the fields whose text is not an address or number.
    pub fn to_spec(&self) -> Result<NetworkSpec, Vec<NetworkFieldError>> {
        let mut errors = Vec::new();
        let ipv4_address = parse_ipv4(&self.ipv4_address, NetworkField::Ipv4Address, &mut errors);
        let ipv4_prefix = parse_prefix(&self.ipv4_prefix, NetworkField::Ipv4Prefix, &mut errors);
        let dhcp = if self.dhcp {
            let start = parse_ipv4(&self.dhcp_start, NetworkField::DhcpStart, &mut errors);
            let end = parse_ipv4(&self.dhcp_end, NetworkField::DhcpEnd, &mut errors);
            start.zip(end)
        } else {
            None
        };
        let ipv6 = if self.ipv6 {
            let address = parse_ipv6(&self.ipv6_address, &mut errors);
            let prefix = parse_prefix(&self.ipv6_prefix, NetworkField::Ipv6Prefix, &mut errors);
            address
                .zip(prefix)
                .map(|(address, prefix)| Ipv6Config { address, prefix })
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let ipv4 = ipv4_address
            .zip(ipv4_prefix)
            .map(|(address, prefix)| Ipv4Config {
                address,
                prefix,
                dhcp,
            });
        Ok(NetworkSpec {
            name: self.name.trim().to_owned(),
            mode: self.mode(),
            ipv4,
            ipv6,
            autostart: self.autostart,
        })
    }

    /// Every problem: unreadable fields first; once all read, the spec's own checks.
    pub fn errors(&self, existing: &[ExistingNetwork]) -> Vec<NetworkFieldError> {
        match self.to_spec() {
            Ok(spec) => validate_network(&spec, existing),
            Err(errors) => errors,
        }
    }

    fn mode(&self) -> NetworkMode {
        match self.mode {
            ModeChoice::Nat => NetworkMode::Nat,
            ModeChoice::Routed => NetworkMode::Routed {
                device: self.device.trim().to_owned(),
            },
            ModeChoice::Isolated => NetworkMode::Isolated,
            ModeChoice::Open => NetworkMode::Open,
        }
    }
}

/// A DHCP range for the subnet of `address`/`prefix`: its upper half, or the lower half
/// when the network's own address is up there. `None` for subnets too small to share.
pub fn default_dhcp_range(address: Ipv4Addr, prefix: u8) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if prefix == 0 || prefix > MAX_DHCP_IPV4_PREFIX {
        return None;
    }
    let subnet = Ipv4Subnet { address, prefix };
    let first = u32::from(subnet.network());
    let last = u32::from(subnet.broadcast());
    let middle = first + (last - first).div_ceil(2);
    let gateway = u32::from(address);
    let (start, end) = if gateway >= middle {
        (first + 1, middle - 1)
    } else {
        (middle, last - 1)
    };
    Some((Ipv4Addr::from(start), Ipv4Addr::from(end)))
}

fn parse_ipv4(
    text: &str,
    field: NetworkField,
    errors: &mut Vec<NetworkFieldError>,
) -> Option<Ipv4Addr> {
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            gettext("Enter an IPv4 address, such as 192.168.100.1."),
        ));
    }
    parsed
}

fn parse_ipv6(text: &str, errors: &mut Vec<NetworkFieldError>) -> Option<Ipv6Addr> {
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            NetworkField::Ipv6Address,
            gettext("Enter an IPv6 address, such as fd00::1."),
        ));
    }
    parsed
}

/// A prefix length as typed, with or without the leading “/”.
fn parse_prefix(
    text: &str,
    field: NetworkField,
    errors: &mut Vec<NetworkFieldError>,
) -> Option<u8> {
    let text = text.trim();
    let parsed = text.strip_prefix('/').unwrap_or(text).parse().ok();
    if parsed.is_none() {
        let example = match field {
            NetworkField::Ipv6Prefix => "64",
            _ => "24",
        };
        errors.push(FieldError::new(
            field,
            gettext_f(
                "Enter the prefix length as a number, such as {example}.",
                &[("example", example)],
            ),
        ));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    fn fields(errors: &[NetworkFieldError]) -> Vec<NetworkField> {
        errors.iter().map(|error| error.field).collect()
    }

    fn lab() -> NetworkForm {
        NetworkForm {
            name: " lab ".to_owned(),
            ..NetworkForm::suggested(&[])
        }
    }

    #[test]
    fn the_suggested_form_is_a_valid_nat_network() {
        let spec = lab().to_spec().unwrap();
        assert_eq!(spec.name, "lab");
        assert_eq!(spec.mode, NetworkMode::Nat);
        assert_eq!(
            spec.ipv4,
            Some(Ipv4Config {
                address: ip("192.168.100.1"),
                prefix: 24,
                dhcp: Some((ip("192.168.100.128"), ip("192.168.100.254"))),
            })
        );
        assert_eq!(spec.ipv6, None);
        assert!(spec.autostart);
        assert_eq!(lab().errors(&[]), vec![]);
    }

    #[test]
    fn typos_are_reported_on_their_own_fields() {
        let form = NetworkForm {
            ipv4_address: "192.168.1".to_owned(),
            ipv4_prefix: "/x".to_owned(),
            dhcp_end: "end".to_owned(),
            ipv6: true,
            ipv6_address: "fd00:::1".to_owned(),
            ..lab()
        };
        assert_eq!(
            fields(&form.errors(&[])),
            vec![
                NetworkField::Ipv4Address,
                NetworkField::Ipv4Prefix,
                NetworkField::DhcpEnd,
                NetworkField::Ipv6Address
            ]
        );
    }

    #[test]
    fn switched_off_parts_are_left_out() {
        let form = NetworkForm {
            mode: ModeChoice::Routed,
            device: " eth0 ".to_owned(),
            dhcp: false,
            dhcp_start: "not read".to_owned(),
            ipv6: true,
            ipv6_prefix: "/64".to_owned(),
            ..lab()
        };
        let spec = form.to_spec().unwrap();
        assert_eq!(
            spec.mode,
            NetworkMode::Routed {
                device: "eth0".into()
            }
        );
        assert_eq!(spec.ipv4.and_then(|ipv4| ipv4.dhcp), None);
        assert_eq!(
            spec.ipv6,
            Some(Ipv6Config {
                address: "fd00::1".parse().unwrap(),
                prefix: 64
            })
        );
    }

    #[test]
    fn clashes_come_from_the_spec_checks() {
        let existing = [ExistingNetwork {
            name: "default".to_owned(),
            subnet: Some(Ipv4Subnet {
                address: ip("192.168.100.1"),
                prefix: 24,
            }),
        }];
        assert_eq!(
            fields(&lab().errors(&existing)),
            vec![NetworkField::Ipv4Address]
        );
        let taken: Vec<Ipv4Subnet> = existing.iter().filter_map(|n| n.subnet).collect();
        assert_eq!(NetworkForm::suggested(&taken).ipv4_address, "192.168.101.1");
    }

    #[test]
    fn dhcp_ranges_stay_inside_and_avoid_the_gateway() {
        assert_eq!(
            default_dhcp_range(ip("10.0.0.1"), 24),
            Some((ip("10.0.0.128"), ip("10.0.0.254")))
        );
        assert_eq!(
            default_dhcp_range(ip("10.0.0.200"), 24),
            Some((ip("10.0.0.1"), ip("10.0.0.127")))
        );
        assert_eq!(
            default_dhcp_range(ip("172.16.5.9"), 16),
            Some((ip("172.16.128.0"), ip("172.16.255.254")))
        );
        assert_eq!(
            default_dhcp_range(ip("10.0.0.1"), 30),
            Some((ip("10.0.0.2"), ip("10.0.0.2")))
        );
        assert_eq!(default_dhcp_range(ip("10.0.0.1"), 31), None);
        assert_eq!(default_dhcp_range(ip("10.0.0.1"), 0), None);
    }
}
