//! Disk resize on the test bed's real libvirtd (QEMU over TCP+SASL): the shared guest's
//! qcow2 data disk grows while it runs (`virsh domblkinfo` shows it), a shrink is refused
//! with a sentence and changes nothing, and a shut-off domain's volume grows through its
//! pool (`virsh vol-info`). The shared guest's disk gets its size back at the end.

mod common;

use common::open_session;

use hangar::backend::domain::disk_resize::{disk_capacity, resize_disk, ResizeError};

const MIB: u64 = 1 << 20;
const OWN: &str = "hangar-resize-test";
const OWN_VOLUME: &str = "hangar-resize-test.qcow2";

/// A `Name: N` line of virsh's `--bytes` output.
fn field(output: &str, name: &str) -> u64 {
    output
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {output}"))
}

/// The disk's size as `virsh domblkinfo` reports it, in bytes.
fn blk_capacity(domain: &str) -> u64 {
    field(
        &common::admin_virsh(&["domblkinfo", domain, "vda"]),
        "Capacity",
    )
}

/// Puts the shared guest's disk back to 64 MiB however the test ends (QEMU shrinks a
/// qcow2 on request; the disk is empty).
struct GuestDiskSize(String);

impl Drop for GuestDiskSize {
    fn drop(&mut self) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        let _ = std::process::Command::new("virsh")
            .args(["-q", "-c", &uri, "blockresize", &self.0, "vda", "64M"])
            .output();
    }
}

#[test]
fn the_running_guests_disk_grows_and_never_shrinks() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let _restore = GuestDiskSize(guest.clone());
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", &guest]).trim().to_owned();
    assert_eq!(
        blk_capacity(&guest),
        64 * MIB,
        "the test bed's disk starts at 64 MiB"
    );
    assert_eq!(disk_capacity(&session, &uuid, "vda"), Ok(64 * MIB));

    let grown = resize_disk(&session, &uuid, "vda", 96 * MIB).expect("grow while running");
    assert!(grown.live);
    assert_eq!((grown.before, grown.after), (64 * MIB, 96 * MIB));
    assert_eq!(
        blk_capacity(&guest),
        96 * MIB,
        "virsh domblkinfo shows the new size"
    );

    let live = common::admin_virsh(&["dumpxml", &guest]);
    let saved = common::admin_virsh(&["dumpxml", "--inactive", &guest]);
    let refused = resize_disk(&session, &uuid, "vda", 32 * MIB).expect_err("shrink");
    assert_eq!(
        refused,
        ResizeError::Shrink {
            current: 96 * MIB,
            requested: 32 * MIB
        }
    );
    let sentence = refused.to_string();
    assert!(
        sentence.starts_with("Disks can only grow") && sentence.contains("96 MiB"),
        "{sentence}"
    );
    assert_eq!(
        blk_capacity(&guest),
        96 * MIB,
        "a refused shrink changes nothing"
    );
    assert_eq!(common::admin_virsh(&["dumpxml", &guest]), live);
    assert_eq!(
        common::admin_virsh(&["dumpxml", "--inactive", &guest]),
        saved
    );

    // Back to the test bed's size for the other tests (QEMU shrinks the empty qcow2).
    common::admin_virsh(&["blockresize", &guest, "vda", "64M"]);
    assert_eq!(blk_capacity(&guest), 64 * MIB);
}

/// A shut-off domain of the test's own whose disk is a volume of the test bed's pool, and
/// a second one whose disk is a plain file in no pool; both removed at the end.
struct OwnDomain {
    outside: std::path::PathBuf,
}

impl OwnDomain {
    fn define(pool: &str, pool_dir: &str) -> Self {
        Self::remove(pool);
        common::admin_virsh(&[
            "vol-create-as",
            pool,
            OWN_VOLUME,
            "32M",
            "--format",
            "qcow2",
        ]);
        let outside = std::env::temp_dir().join(format!("{OWN}-{}.raw", std::process::id()));
        std::fs::write(&outside, vec![0u8; MIB as usize]).expect("plain image");
        let xml = format!(
            "<domain type='qemu'><name>{OWN}</name><memory unit='MiB'>64</memory>\
             <os><type arch='x86_64'>hvm</type></os><devices>\
             <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{pool_dir}/{OWN_VOLUME}'/><target dev='vda' bus='virtio'/></disk>\
             <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vdb' bus='virtio'/></disk>\
             </devices></domain>",
            outside.display()
        );
        let file = std::env::temp_dir().join(format!("{OWN}-{}.xml", std::process::id()));
        std::fs::write(&file, xml).expect("domain XML");
        common::admin_virsh(&["define", file.to_str().expect("path")]);
        let _ = std::fs::remove_file(&file);
        Self { outside }
    }

    fn remove(pool: &str) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        for args in [
            vec!["undefine", OWN],
            vec!["vol-delete", "--pool", pool, OWN_VOLUME],
        ] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        }
    }
}

impl Drop for OwnDomain {
    fn drop(&mut self) {
        let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
        Self::remove(&pool);
        let _ = std::fs::remove_file(&self.outside);
    }
}

#[test]
fn a_shut_off_domains_volume_grows_through_its_pool() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
    let pool_dir = common::testbed_var("HANGAR_TEST_POOL_DIR").expect("pool dir");
    let own = OwnDomain::define(&pool, &pool_dir);
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", OWN]).trim().to_owned();
    let vol_info = || common::admin_virsh(&["vol-info", "--bytes", "--pool", &pool, OWN_VOLUME]);
    assert_eq!(field(&vol_info(), "Capacity"), 32 * MIB);

    let grown = resize_disk(&session, &uuid, "vda", 48 * MIB).expect("grow while off");
    assert!(!grown.live);
    assert_eq!(grown.after, 48 * MIB);
    assert_eq!(
        field(&vol_info(), "Capacity"),
        48 * MIB,
        "virsh vol-info shows it"
    );

    let refused = resize_disk(&session, &uuid, "vda", 16 * MIB).expect_err("shrink");
    assert!(matches!(refused, ResizeError::Shrink { .. }), "{refused}");
    assert_eq!(field(&vol_info(), "Capacity"), 48 * MIB);

    // A plain file in no pool cannot be resized while off, and the reason says so.
    let refused = resize_disk(&session, &uuid, "vdb", 2 * MIB).expect_err("not in a pool");
    assert!(matches!(refused, ResizeError::NotInPool(_)), "{refused}");
    assert!(refused
        .to_string()
        .contains("none of the host’s storage pools"));
    assert_eq!(
        std::fs::metadata(&own.outside).expect("image").len(),
        MIB,
        "the file is left as it was"
    );
}
