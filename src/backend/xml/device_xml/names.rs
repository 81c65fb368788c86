//! Names a new device needs: a MAC address and a disk target (`vdb`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// A seed for [`generate_mac`] that differs between calls and processes.
pub fn random_seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// One step of xorshift64*: enough spread for three bytes of a MAC address.
fn next(state: &mut u64) -> u64 {
    let mut x = (*state).max(1);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A MAC address `52:54:00:xx:xx:xx` (QEMU's prefix) from `seed`, none of `taken`
/// (compared without case).
pub fn generate_mac(seed: u64, taken: &[String]) -> String {
    let mut state = seed;
    loop {
        let bytes = next(&mut state).to_be_bytes();
        let mac = format!(
            "52:54:00:{:02x}:{:02x}:{:02x}",
            bytes[0], bytes[1], bytes[2]
        );
        if !taken.iter().any(|used| used.eq_ignore_ascii_case(&mac)) {
            return mac;
        }
    }
}

/// The prefix of target names on `bus`.
fn prefix(bus: &str) -> &'static str {
    match bus {
        "virtio" => "vd",
        "ide" => "hd",
        "fdc" => "fd",
        "xen" => "xvd",
        // sata, scsi, usb
        _ => "sd",
    }
}

/// `a`, …, `z`, `aa`, `ab`, … as the kernel numbers disks.
fn suffix(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8_lossy(&letters).into_owned()
}

/// The first free target name on `bus` (`vda`, `vdb`, … or `sda`, …), given the targets
/// the domain's disks use.
pub fn next_target_dev(bus: &str, taken: &[String]) -> String {
    let prefix = prefix(bus);
    (0..)
        .map(|index| format!("{prefix}{}", suffix(index)))
        .find(|name| !taken.iter().any(|used| used == name))
        .unwrap_or_else(|| format!("{prefix}a"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_qemu_ones_repeatable_by_seed_and_never_taken() {
        let mac = generate_mac(7, &[]);
        assert!(mac.starts_with("52:54:00:"), "{mac}");
        assert_eq!(mac.len(), 17);
        assert_eq!(generate_mac(7, &[]), mac);
        let other = generate_mac(7, &[mac.to_uppercase()]);
        assert_ne!(other, mac);
        assert_ne!(generate_mac(random_seed(), &[]), generate_mac(8, &[]));
    }

    #[test]
    fn targets_are_the_first_free_name_on_the_bus() {
        let taken = ["vda".to_owned(), "vdc".to_owned(), "sda".to_owned()];
        assert_eq!(next_target_dev("virtio", &taken), "vdb");
        assert_eq!(next_target_dev("sata", &taken), "sdb");
        assert_eq!(next_target_dev("ide", &taken), "hda");
        let many: Vec<String> = (0..26).map(|i| format!("sd{}", suffix(i))).collect();
        assert_eq!(next_target_dev("scsi", &many), "sdaa");
        assert_eq!(suffix(27), "ab");
    }
}
