//! Disks hot-added to a running machine on the test bed's real libvirtd (QEMU over
//! TCP+SASL) and detached, each step checked with `virsh dumpxml` live and `--inactive`:
//! a new qcow2 volume of the test bed's pool on virtio (whose unplug needs the guest, which
//! this firmware-only machine may never give: then both XMLs keep it, never one) and one on
//! USB (which needs no guest: gone from both).
//!
//! The machine and the volumes are the test's own, removed at the end however it ends.

mod common;

use common::open_session;

use hangar::backend::domain::device_apply::{attach, detach, DeviceScope};
use hangar::backend::domain::device_list::{
    read_devices, DeviceClass, DeviceSettings, DiskSettings, DiskSource,
};
use hangar::backend::domain::devices::DeviceKey;
use hangar::backend::xml::device_xml::new_device_xml;

const NAME: &str = "hangar-disks-test";
const VOLUMES: [&str; 2] = ["hangar-disks-test-a.qcow2", "hangar-disks-test-b.qcow2"];
const BOTH: DeviceScope = DeviceScope::LiveAndConfig;

const DOMAIN_XML: &str = "<domain type='qemu'>
  <name>hangar-disks-test</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <features>
    <acpi/>
  </features>
  <devices>
    <controller type='usb' model='qemu-xhci'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <memballoon model='none'/>
  </devices>
</domain>
";

/// The test's domain and volumes, removed when dropped.
struct Fixture {
    pool: String,
}

impl Fixture {
    fn start(pool: &str) -> Self {
        Self::remove(pool);
        for volume in VOLUMES {
            common::admin_virsh(&["vol-create-as", pool, volume, "16M", "--format", "qcow2"]);
        }
        let file = std::env::temp_dir().join(format!("{NAME}-{}.xml", std::process::id()));
        std::fs::write(&file, DOMAIN_XML).expect("write domain XML");
        common::admin_virsh(&["define", file.to_str().expect("path")]);
        let _ = std::fs::remove_file(&file);
        common::admin_virsh(&["start", NAME]);
        Self {
            pool: pool.to_owned(),
        }
    }

    fn remove(pool: &str) {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        let mut calls: Vec<Vec<&str>> = vec![vec!["destroy", NAME], vec!["undefine", NAME]];
        for volume in VOLUMES {
            calls.push(vec!["vol-delete", "--pool", pool, volume]);
        }
        for args in calls {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        Self::remove(&self.pool);
    }
}

/// `virsh dumpxml` live and `--inactive`.
fn both() -> (String, String) {
    (
        common::admin_virsh(&["dumpxml", NAME]),
        common::admin_virsh(&["dumpxml", "--inactive", NAME]),
    )
}

/// The disk `target` of `xml`, if there is one.
fn disk(xml: &str, target: &str) -> Option<DiskSettings> {
    read_devices(xml)
        .expect("dumpxml reads")
        .into_iter()
        .find_map(|device| match device.settings {
            DeviceSettings::Disk(disk) if device.key.id == target => Some(disk),
            _ => None,
        })
}

fn new_disk(pool: &str, volume: &str, bus: &str, target: &str) -> String {
    new_device_xml(
        &DeviceClass::Disk,
        &DeviceSettings::Disk(DiskSettings {
            source: DiskSource::Volume {
                pool: pool.to_owned(),
                volume: volume.to_owned(),
            },
            bus: bus.to_owned(),
            target_dev: target.to_owned(),
            format: Some("qcow2".to_owned()),
            ..DiskSettings::default()
        }),
    )
    .expect("disk XML")
}

#[test]
fn a_new_volume_is_hot_added_as_a_disk_and_detached() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
    let _fixture = Fixture::start(&pool);
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", NAME]).trim().to_owned();

    // virtio: hot-added to the running machine and the saved configuration.
    let element = new_disk(&pool, VOLUMES[0], "virtio", "vdb");
    let applied = attach(&session, &uuid, &element, BOTH).expect("attach a virtio disk");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live, saved) = both();
    for xml in [&live, &saved] {
        let found = disk(xml, "vdb").expect("the new disk is there");
        assert_eq!(
            found.source,
            DiskSource::Volume {
                pool: pool.clone(),
                volume: VOLUMES[0].into()
            },
            "{xml}"
        );
        assert_eq!(found.format.as_deref(), Some("qcow2"));
    }
    let blk = common::admin_virsh(&["domblklist", NAME]);
    assert!(blk.contains("vdb"), "QEMU has the disk: {blk}");

    let key = DeviceKey {
        element: "disk".into(),
        id: "vdb".into(),
    };
    let applied = detach(&session, &uuid, &key, BOTH).expect("detach the virtio disk");
    println!("virtio detach: {applied:?}");
    let (live, saved) = both();
    if applied.waiting_for_guest {
        // No OS answers the unplug request: both still have it, never one alone.
        assert!(!applied.live && !applied.config);
        assert!(disk(&live, "vdb").is_some() && disk(&saved, "vdb").is_some());
    } else {
        assert!(applied.live && applied.config, "{applied:?}");
        assert!(disk(&live, "vdb").is_none(), "{live}");
        assert!(disk(&saved, "vdb").is_none(), "{saved}");
    }

    // USB: the unplug needs no guest, the disk goes from both at once.
    let element = new_disk(&pool, VOLUMES[1], "usb", "sdb");
    let applied = attach(&session, &uuid, &element, BOTH).expect("attach a USB disk");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live, saved) = both();
    assert!(disk(&live, "sdb").is_some(), "{live}");
    assert!(disk(&saved, "sdb").is_some(), "{saved}");
    let key = DeviceKey {
        element: "disk".into(),
        id: "sdb".into(),
    };
    let applied = detach(&session, &uuid, &key, BOTH).expect("detach the USB disk");
    assert!(
        applied.live && applied.config && !applied.waiting_for_guest,
        "{applied:?}"
    );
    let (live, saved) = both();
    assert!(disk(&live, "sdb").is_none(), "{live}");
    assert!(disk(&saved, "sdb").is_none(), "{saved}");
    // The volume is still in the pool: a detach never deletes.
    let volumes = common::admin_virsh(&["vol-list", &pool]);
    assert!(volumes.contains(VOLUMES[1]), "{volumes}");
}
