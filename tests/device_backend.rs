//! Device changes on the test bed's real libvirtd (QEMU over TCP+SASL): a network card
//! hot-added to a running machine, its link set down, and detached, each checked with
//! `virsh dumpxml` live and `--inactive`; and a refused change (a PCI address already in use)
//! that leaves both XMLs as they were.
//!
//! The machine has ACPI: without it QEMU's PCI bus takes no hot-plugged cards at all.
//! It uses a domain and a virtual network of its own (never the shared guest), removed at the
//! end however the test ends.

mod common;

use common::open_session;

use hangar::backend::domain::device_apply::{
    attach, detach, macs_in_use, update, DeviceApplyError, DeviceScope,
};
use hangar::backend::domain::device_list::{
    read_devices, DeviceClass, DeviceSettings, DiskSource, InputSettings, NicSettings, NicSource,
};
use hangar::backend::domain::devices::DeviceKey;
use hangar::backend::xml::device_xml::{generate_mac, new_device_xml, random_seed};

const NAME: &str = "hangar-devices-test";
const BOTH: DeviceScope = DeviceScope::LiveAndConfig;
const NETWORK: &str = "hangar-devnet";

const DOMAIN_XML: &str = "<domain type='qemu'>
  <name>hangar-devices-test</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <features>
    <acpi/>
  </features>
  <devices>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <memballoon model='none'/>
  </devices>
</domain>
";

const NETWORK_XML: &str = "<network>
  <name>hangar-devnet</name>
  <bridge name='hangardev0'/>
  <ip address='192.168.232.1' netmask='255.255.255.0'/>
</network>";

/// The test's domain and network, removed when dropped; one test at a time uses them.
struct Fixture {
    _turn: std::sync::MutexGuard<'static, ()>,
}

static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Fixture {
    fn start() -> Self {
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Self::remove();
        let dir = std::env::temp_dir();
        let domain = dir.join(format!("{NAME}-{}.xml", std::process::id()));
        let network = dir.join(format!("{NETWORK}-{}.xml", std::process::id()));
        std::fs::write(&domain, DOMAIN_XML).expect("write domain XML");
        std::fs::write(&network, NETWORK_XML).expect("write network XML");
        common::admin_virsh(&["net-create", network.to_str().expect("path")]);
        common::admin_virsh(&["define", domain.to_str().expect("path")]);
        let _ = std::fs::remove_file(&domain);
        let _ = std::fs::remove_file(&network);
        common::admin_virsh(&["start", NAME]);
        Self { _turn: turn }
    }

    fn remove() {
        let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
        for args in [
            ["destroy", NAME],
            ["undefine", NAME],
            ["net-destroy", NETWORK],
        ] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", &uri])
                .args(args)
                .output();
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        Self::remove();
    }
}

/// `virsh dumpxml`, live or `--inactive`.
fn dumped(inactive: bool) -> String {
    let mut args = vec!["dumpxml", NAME];
    if inactive {
        args.push("--inactive");
    }
    common::admin_virsh(&args)
}

/// The network card with this MAC in `xml`, if there is one.
fn nic(xml: &str, mac: &str) -> Option<NicSettings> {
    read_devices(xml)
        .expect("dumpxml reads")
        .into_iter()
        .find_map(|device| match device.settings {
            DeviceSettings::Nic(nic) if nic.mac == mac => Some(nic),
            _ => None,
        })
}

fn both() -> (String, String) {
    (dumped(false), dumped(true))
}

#[test]
fn a_nic_is_hot_added_changed_and_detached_and_a_refused_change_leaves_both_xmls() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let _fixture = Fixture::start();
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", NAME]).trim().to_owned();

    // Hot-add: the running machine and the saved configuration both get the card.
    let mac = generate_mac(random_seed(), &[]);
    let settings = NicSettings {
        source: NicSource::Network(NETWORK.into()),
        model: Some("virtio".into()),
        mac: mac.clone(),
        link_up: true,
    };
    let element =
        new_device_xml(&DeviceClass::Nic, &DeviceSettings::Nic(settings.clone())).expect("NIC XML");
    let applied = attach(&session, &uuid, &element, BOTH).expect("attach");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live, saved) = both();
    for xml in [&live, &saved] {
        let found = nic(xml, &mac).expect("the new card is there");
        assert_eq!(found.source, NicSource::Network(NETWORK.into()));
        assert!(found.link_up);
    }

    let in_use = macs_in_use(&session).expect("MACs in use");
    assert!(
        in_use.contains(&(mac.clone(), NAME.to_owned())),
        "{in_use:?}"
    );

    // Link down, live and saved; libvirt's address of the card stays as it was.
    let key = DeviceKey {
        element: "interface".into(),
        id: mac.clone(),
    };
    let down = NicSettings {
        link_up: false,
        ..settings.clone()
    };
    let applied = update(&session, &uuid, &key, &DeviceSettings::Nic(down), BOTH).expect("update");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live_down, saved_down) = both();
    for xml in [&live_down, &saved_down] {
        assert!(!nic(xml, &mac).expect("still there").link_up, "{xml}");
    }
    let address = |xml: &str| {
        let device = read_devices(xml)
            .expect("reads")
            .into_iter()
            .find(|d| d.key == key)
            .expect("the card");
        let start = device
            .xml
            .find("<address")
            .expect("libvirt assigned an address");
        device.xml[start..].lines().next().expect("line").to_owned()
    };
    assert_eq!(address(&live_down), address(&live));
    assert_eq!(address(&saved_down), address(&saved));

    // A refused change: a second card on the PCI slot the first one has (in the running
    // machine and in the saved configuration). Neither XML changes.
    let clash_mac = generate_mac(random_seed(), std::slice::from_ref(&mac));
    let clash = new_device_xml(
        &DeviceClass::Nic,
        &DeviceSettings::Nic(NicSettings {
            mac: clash_mac.clone(),
            ..settings.clone()
        }),
    )
    .expect("NIC XML")
    .replace(
        "</interface>",
        &format!("  {}\n</interface>", address(&live_down).trim()),
    );
    let error = attach(&session, &uuid, &clash, BOTH).expect_err("an address clash is refused");
    println!("refused: {error}");
    assert!(
        matches!(error, DeviceApplyError::Refused { .. }),
        "{error:?}"
    );
    assert!(error.message().contains("Nothing was changed"), "{error}");
    assert_eq!(both(), (live_down.clone(), saved_down.clone()));

    // A change the running machine cannot take (a card's model) after the saved
    // configuration took it: the configuration is put back, neither XML changes.
    let other_model = NicSettings {
        model: Some("e1000e".into()),
        link_up: false,
        ..settings.clone()
    };
    let error = update(
        &session,
        &uuid,
        &key,
        &DeviceSettings::Nic(other_model),
        BOTH,
    )
    .expect_err("QEMU cannot change a card's model live");
    println!("refused live: {error}");
    assert!(
        matches!(error, DeviceApplyError::Refused { .. }),
        "{error:?}"
    );
    assert!(error.message().contains("put back"), "{error}");
    assert_eq!(both(), (live_down.clone(), saved_down.clone()));

    // Detach: gone from both, or (a guest that does not let go: SeaBIOS has no ACPI
    // hot-plug driver) still in both, never in one only.
    let applied = detach(&session, &uuid, &key, BOTH).expect("detach");
    println!("detach: {applied:?}");
    let (live, saved) = both();
    if applied.waiting_for_guest {
        assert!(!applied.live && !applied.config);
        assert!(nic(&live, &mac).is_some() && nic(&saved, &mac).is_some());
    } else {
        assert!(applied.live && applied.config, "{applied:?}");
        assert!(nic(&live, &mac).is_none(), "{live}");
        assert!(nic(&saved, &mac).is_none(), "{saved}");
    }
}

/// The USB tablets in `xml`, by key.
fn tablets(xml: &str) -> Vec<DeviceKey> {
    read_devices(xml)
        .expect("dumpxml reads")
        .into_iter()
        .filter(|device| {
            matches!(&device.settings, DeviceSettings::Input(input) if input.input_type == "tablet")
        })
        .map(|device| device.key)
        .collect()
}

/// The CD-ROM's medium in `xml`.
fn medium(xml: &str) -> DiskSource {
    read_devices(xml)
        .expect("dumpxml reads")
        .into_iter()
        .find_map(|device| match device.settings {
            DeviceSettings::Disk(disk) if disk.target_dev == "sda" => Some(disk.source),
            _ => None,
        })
        .expect("the CD-ROM drive")
}

#[test]
fn a_usb_device_detaches_from_both_and_the_cdrom_medium_changes_live() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let _fixture = Fixture::start();
    let session = open_session(&login);
    let uuid = common::admin_virsh(&["domuuid", NAME]).trim().to_owned();

    // A USB tablet needs no guest to let go of it: the detach completes in both.
    let element = new_device_xml(
        &DeviceClass::Input,
        &DeviceSettings::Input(InputSettings {
            input_type: "tablet".into(),
            bus: Some("usb".into()),
        }),
    )
    .expect("input XML");
    let applied = attach(&session, &uuid, &element, BOTH).expect("attach tablet");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live, saved) = both();
    let key = tablets(&live)
        .pop()
        .expect("a tablet in the running machine");
    assert_eq!(tablets(&saved), std::slice::from_ref(&key), "{saved}");
    let applied = detach(&session, &uuid, &key, BOTH).expect("detach tablet");
    assert!(
        applied.live && applied.config && !applied.waiting_for_guest,
        "{applied:?}"
    );
    let (live, saved) = both();
    assert!(tablets(&live).is_empty(), "{live}");
    assert!(tablets(&saved).is_empty(), "{saved}");

    // Insert a medium, then eject it, live and saved.
    let iso = std::env::temp_dir().join(format!("hangar-devices-{}.iso", std::process::id()));
    std::fs::write(&iso, vec![0u8; 1024 * 1024]).expect("write an image");
    let path = iso.to_string_lossy().into_owned();
    let cdrom = DeviceKey {
        element: "disk".into(),
        id: "sda".into(),
    };
    let devices = read_devices(&dumped(true)).expect("reads");
    let Some(DeviceSettings::Disk(mut disk)) = devices
        .into_iter()
        .find(|device| device.key == cdrom)
        .map(|device| device.settings)
    else {
        panic!("no CD-ROM drive");
    };
    disk.source = DiskSource::File(path.clone());
    let applied = update(
        &session,
        &uuid,
        &cdrom,
        &DeviceSettings::Disk(disk.clone()),
        BOTH,
    )
    .expect("insert the medium");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live, saved) = both();
    assert_eq!(medium(&live), DiskSource::File(path.clone()));
    assert_eq!(medium(&saved), DiskSource::File(path));
    disk.source = DiskSource::None;
    let applied =
        update(&session, &uuid, &cdrom, &DeviceSettings::Disk(disk), BOTH).expect("eject");
    assert!(applied.live && applied.config, "{applied:?}");
    let (live, saved) = both();
    assert_eq!(
        (medium(&live), medium(&saved)),
        (DiskSource::None, DiskSource::None)
    );
    let _ = std::fs::remove_file(&iso);
}
