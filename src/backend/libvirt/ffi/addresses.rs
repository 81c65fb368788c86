//! Guest IP addresses: a virtual network's DHCP leases and a guest agent's report.
//!
//! The `virt` crate has no lease call, and its interface-address call frees the strings but
//! not the records; these wrappers free what libvirt hands back with libvirt's own functions.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use virt::domain::Domain;
use virt::network::Network;
use virt::sys;

use super::LibvirtError;

/// One DHCP lease: the guest's MAC address and the address it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Lower case, as libvirt writes MACs in domain XML.
    pub mac: String,
    pub address: String,
}

/// The current DHCP leases of one active virtual network (one call).
pub fn dhcp_leases(network: &Network) -> Result<Vec<Lease>, LibvirtError> {
    let mut leases: *mut sys::virNetworkDHCPLeasePtr = ptr::null_mut();
    // SAFETY: a NULL mac asks for every lease; libvirt allocates the array on success.
    let count =
        unsafe { sys::virNetworkGetDHCPLeases(network.as_ptr(), ptr::null(), &mut leases, 0) };
    if count < 0 {
        return Err(LibvirtError::last());
    }
    let mut found = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        // SAFETY: libvirt returned `count` valid lease pointers; each is read, then freed once.
        unsafe {
            let lease = *leases.add(index);
            let mac = text((*lease).mac);
            let address = text((*lease).ipaddr);
            if let (Some(mac), Some(address)) = (mac, address) {
                found.push(Lease {
                    mac: mac.to_ascii_lowercase(),
                    address,
                });
            }
            sys::virNetworkDHCPLeaseFree(lease);
        }
    }
    free_array(leases as *mut c_void);
    Ok(found)
}

/// The addresses the guest agent reports for the guest's network cards (one call), without
/// loopback and link-local ones, IPv4 first.
pub fn agent_addresses(domain: &Domain) -> Result<Vec<String>, LibvirtError> {
    let mut interfaces: *mut sys::virDomainInterfacePtr = ptr::null_mut();
    let source = sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT;
    // SAFETY: libvirt allocates the array on success and writes how many entries it has.
    let count =
        unsafe { sys::virDomainInterfaceAddresses(domain.as_ptr(), &mut interfaces, source, 0) };
    if count < 0 {
        return Err(LibvirtError::last());
    }
    let mut ipv4 = Vec::new();
    let mut ipv6 = Vec::new();
    for index in 0..count as usize {
        // SAFETY: `count` valid interface pointers, each with `naddrs` addresses; freed once.
        unsafe {
            let interface = *interfaces.add(index);
            for slot in 0..(*interface).naddrs as usize {
                let entry = (*interface).addrs.add(slot);
                let Some(address) = text((*entry).addr) else {
                    continue;
                };
                if (*entry).type_ == sys::VIR_IP_ADDR_TYPE_IPV4 as c_int {
                    ipv4.push(address);
                } else {
                    ipv6.push(address);
                }
            }
            sys::virDomainInterfaceFree(interface);
        }
    }
    free_array(interfaces as *mut c_void);
    ipv4.extend(ipv6);
    ipv4.retain(|address| is_reachable(address));
    Ok(ipv4)
}

/// Loopback and link-local addresses tell the user nothing about how to reach the guest.
fn is_reachable(address: &str) -> bool {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => !v4.is_loopback() && !v4.is_link_local(),
        Ok(std::net::IpAddr::V6(v6)) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
        Err(_) => false,
    }
}

/// # Safety
/// `pointer` is NULL or a NUL-terminated string that stays valid during the call.
unsafe fn text(pointer: *const c_char) -> Option<String> {
    if pointer.is_null() {
        return None;
    }
    Some(CStr::from_ptr(pointer).to_string_lossy().into_owned())
}

/// Frees an array libvirt allocated with the C allocator (NULL is fine).
fn free_array(array: *mut c_void) {
    // SAFETY: libvirt documents that the caller frees these arrays with free().
    unsafe { libc::free(array) };
}

#[cfg(test)]
mod tests {
    use super::is_reachable;

    #[test]
    fn only_addresses_a_user_can_reach_are_kept() {
        assert!(is_reachable("192.168.122.10"));
        assert!(is_reachable("2001:db8::5"));
        assert!(!is_reachable("127.0.0.1"));
        assert!(!is_reachable("::1"));
        assert!(!is_reachable("169.254.3.4"));
        assert!(!is_reachable("fe80::1"));
        assert!(!is_reachable("not an address"));
    }
}
