//! The details page's backend on the test bed's real libvirtd (QEMU over TCP+SASL): edits
//! applied live and to the saved config, each checked with `virsh dumpxml` (live and
//! `--inactive`), and a change made from outside while edits wait, which Apply reports
//! instead of overwriting.
//!
//! It uses a domain of its own (the shared guest has no balloon and no boot devices), and
//! undefines it at the end. Its display starts with a password: QEMU changes a VNC password
//! live only on a display started with one.

mod common;

use common::open_session;

use std::time::Instant;

use hangar::backend::domain::apply::{apply, read_config_xml, ApplyError};
use hangar::backend::domain::devices::DeviceKey;
use hangar::backend::domain::fields::Field;
use hangar::backend::domain::model::{BootOrder, DomainModel, VncPassword};

const NAME: &str = "hangar-settings-test";
const MIB: u64 = 1024;

const DOMAIN_XML: &str = "<domain type='qemu'>
  <name>hangar-settings-test</name>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <boot dev='cdrom'/>
  </os>
  <devices>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sdb' bus='sata'/>
      <readonly/>
    </disk>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='start1'/>
    <memballoon model='virtio'/>
  </devices>
</domain>
";

/// Stops and undefines the test's domain when the test ends, however it ends.
struct OwnDomain;

impl OwnDomain {
    fn define_and_start() -> Self {
        Self::remove();
        let file = std::env::temp_dir().join(format!("{NAME}-{}.xml", std::process::id()));
        std::fs::write(&file, DOMAIN_XML).expect("write domain XML");
        common::admin_virsh(&["define", file.to_str().expect("path")]);
        let _ = std::fs::remove_file(&file);
        common::admin_virsh(&["start", NAME]);
        Self
    }

    fn remove() {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        for args in [["destroy", NAME], ["undefine", NAME]] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        }
    }
}

impl Drop for OwnDomain {
    fn drop(&mut self) {
        Self::remove();
    }
}

/// What `virsh dumpxml` says, read into the model: the live XML or the saved config.
fn dumped(inactive: bool) -> DomainModel {
    let mut args = vec!["dumpxml", "--security-info", NAME];
    if inactive {
        args.push("--inactive");
    }
    DomainModel::from_xml(&common::admin_virsh(&args)).expect("dumpxml reads")
}

fn password(model: &DomainModel) -> VncPassword {
    model.vnc.as_ref().expect("vnc").password.clone()
}

fn cdrom(id: &str) -> DeviceKey {
    DeviceKey {
        element: "disk".into(),
        id: id.into(),
    }
}

#[test]
fn edits_apply_live_and_to_the_config_and_outside_changes_are_never_overwritten() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let _domain = OwnDomain::define_and_start();
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", NAME]).trim().to_owned();

    // Title, description, memory (live and config), vCPUs (config), boot order, password.
    let opened = read_config_xml(&session, &uuid).expect("config XML");
    let mut edited = DomainModel::from_xml(&opened).expect("model");
    edited.title = "Settings & <test>".into();
    edited.description = "Two\nlines".into();
    edited.memory_kib = 96 * MIB;
    edited.max_vcpus = 4;
    edited.vcpus = 1;
    edited.boot_order = BootOrder::PerDevice(vec![cdrom("sdb"), cdrom("sda")]);
    edited.vnc.as_mut().expect("vnc").password = VncPassword::Set("hangar1".to_owned().into());
    let started = Instant::now();
    let applied = apply(&session, &uuid, &opened, &edited).expect("apply");
    println!("apply took {:?}: {applied:?}", started.elapsed());
    assert!(applied.live_failures.is_empty(), "{applied:?}");
    for field in [
        Field::Title,
        Field::Description,
        Field::Memory,
        Field::VncPassword,
    ] {
        assert!(applied.live.contains(&field), "{field:?} not live");
    }
    for field in [Field::MaxVcpus, Field::BootOrder] {
        assert!(applied.after_shutdown.contains(&field), "{field:?}");
    }
    let (live, saved) = (dumped(false), dumped(true));
    for model in [&live, &saved] {
        assert_eq!(model.title, "Settings & <test>");
        assert_eq!(model.description, "Two\nlines");
        assert_eq!(
            password(model),
            VncPassword::Set("hangar1".to_owned().into())
        );
    }
    // QEMU took the balloon target (the live call succeeded, above); the live XML shows
    // what the guest gave back, and this guest (SeaBIOS, no OS) has no balloon driver.
    assert_eq!(saved.memory_kib, 96 * MIB);
    println!(
        "live memory: {} KiB (target {} KiB)",
        live.memory_kib,
        96 * MIB
    );
    assert_eq!((saved.max_vcpus, live.max_vcpus), (4, 2));
    assert_eq!(
        saved.boot_order,
        BootOrder::PerDevice(vec![cdrom("sdb"), cdrom("sda")])
    );
    assert_eq!(live.boot_order, BootOrder::ByClass(vec!["cdrom".into()]));

    // Clearing the password, live and saved.
    let opened = read_config_xml(&session, &uuid).expect("config XML");
    let mut edited = DomainModel::from_xml(&opened).expect("model");
    edited.vnc.as_mut().expect("vnc").password = VncPassword::None;
    apply(&session, &uuid, &opened, &edited).expect("clear password");
    assert_eq!(password(&dumped(true)), VncPassword::None);
    assert_eq!(password(&dumped(false)), VncPassword::None);

    // The maximum memory changes from outside while the page has its own edit of it.
    let opened = read_config_xml(&session, &uuid).expect("config XML");
    let mut edited = DomainModel::from_xml(&opened).expect("model");
    edited.max_memory_kib = 192 * MIB;
    common::admin_virsh(&["setmaxmem", NAME, "160M", "--config"]);
    match apply(&session, &uuid, &opened, &edited) {
        Err(ApplyError::Conflict(outside)) => assert_eq!(outside.conflicts, [Field::MaxMemory]),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        dumped(true).max_memory_kib,
        160 * MIB,
        "the outside change stays"
    );

    // An edit of another field goes onto the re-read config and keeps the outside change.
    let mut edited = DomainModel::from_xml(&opened).expect("model");
    edited.title = "After".into();
    let applied = apply(&session, &uuid, &opened, &edited).expect("apply title");
    assert_eq!(applied.kept_outside_changes, [Field::MaxMemory]);
    let saved = dumped(true);
    assert_eq!(
        (saved.title.as_str(), saved.max_memory_kib),
        ("After", 160 * MIB)
    );
}
