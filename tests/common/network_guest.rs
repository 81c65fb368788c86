//! A second test bed guest on a NAT network of its own, so it gets a DHCP lease: its iPXE
//! firmware asks for an address at boot (there is nothing else to boot).

use std::path::PathBuf;
use std::time::Duration;

use super::{admin_virsh, wait_for};

pub const NETWORK: &str = "hangar-ips";
pub const GUEST: &str = "hangar-ip-guest";
pub const TITLE: &str = "Lease test web server";
/// The network's prefix, for checking that an address came from its DHCP server.
pub const SUBNET_PREFIX: &str = "192.168.231.";

const NETWORK_XML: &str = "<network>
  <name>hangar-ips</name>
  <forward mode='nat'/>
  <bridge name='hangarip0'/>
  <ip address='192.168.231.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.231.100' end='192.168.231.200'/></dhcp>
  </ip>
</network>";

const GUEST_XML: &str = "<domain type='qemu'>
  <name>hangar-ip-guest</name>
  <title>Lease test web server</title>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='network'/></os>
  <devices>
    <interface type='network'><source network='hangar-ips'/><model type='e1000'/></interface>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <memballoon model='none'/>
  </devices>
</domain>";

/// The transient network and guest; both are destroyed when dropped, also after a failure.
pub struct NetworkGuest {
    /// Holds the XML files given to virsh.
    dir: PathBuf,
}

impl NetworkGuest {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("hangar-net-guest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a directory for the guest's XML");
        let fixture = Self { dir };
        admin_virsh(&["net-create", &fixture.write("network.xml", NETWORK_XML)]);
        admin_virsh(&["create", &fixture.write("guest.xml", GUEST_XML)]);
        fixture
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write XML");
        path.to_string_lossy().into_owned()
    }

    /// The address the network's DHCP server gave the guest, once it did.
    pub fn leased_address(&self, timeout: Duration) -> Option<String> {
        wait_for(timeout, || {
            let leases = admin_virsh(&["net-dhcp-leases", NETWORK]);
            let address = leases
                .split_whitespace()
                .find(|word| word.starts_with(SUBNET_PREFIX))
                .and_then(|address| address.split('/').next())
                .map(str::to_owned);
            if address.is_none() {
                std::thread::sleep(Duration::from_millis(500));
            }
            address
        })
    }

    pub fn uuid(&self) -> String {
        admin_virsh(&["domuuid", GUEST]).trim().to_owned()
    }
}

impl Drop for NetworkGuest {
    fn drop(&mut self) {
        // Not admin_virsh: a failed clean-up must not panic while a test already fails.
        let uri = super::testbed_var("HANGAR_TEST_UNIX_URI").unwrap_or_default();
        for args in [["destroy", GUEST], ["net-destroy", NETWORK]] {
            let _ = std::process::Command::new("virsh")
                .arg("-c")
                .arg(&uri)
                .args(args)
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
