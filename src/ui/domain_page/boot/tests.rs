//! The boot section's mapping of orders to devices, its labels and firmware choices.

use super::*;

fn device(element: &str, id: &str, kind: DeviceKind, source: Option<&str>) -> BootDevice {
    BootDevice {
        key: DeviceKey {
            element: element.to_owned(),
            id: id.to_owned(),
        },
        kind,
        bus: None,
        source: source.map(str::to_owned),
        mac: None,
        boot_order: None,
        readonly: false,
        shareable: false,
    }
}

fn devices() -> Vec<BootDevice> {
    vec![
        device("disk", "vda", DeviceKind::Disk, Some("/img/a.qcow2")),
        device("disk", "sdb", DeviceKind::Cdrom, Some("/iso/debian.iso")),
        device("disk", "vdb", DeviceKind::Disk, None),
        device(
            "interface",
            "52:54:00:00:00:01",
            DeviceKind::Nic,
            Some("default"),
        ),
    ]
}

fn ids(keys: &[DeviceKey]) -> Vec<&str> {
    keys.iter().map(|key| key.id.as_str()).collect()
}

#[test]
fn class_orders_try_the_first_device_of_each_class() {
    let classes = |c: &[&str]| BootOrder::ByClass(c.iter().map(|s| s.to_string()).collect());
    let devices = devices();
    let tried = tried_devices(&classes(&["cdrom", "hd", "network"]), &devices);
    assert_eq!(ids(&tried), ["sdb", "vda", "52:54:00:00:00:01"]);
    assert_eq!(ids(&tried_devices(&classes(&[]), &devices)), ["vda"]);
    assert_eq!(
        ids(&tried_devices(&classes(&["fd", "hd"]), &devices)),
        ["vda"]
    );
}

#[test]
fn per_device_orders_drop_unknown_and_repeated_devices() {
    let devices = devices();
    let key = |id: &str| devices.iter().find(|d| d.key.id == id).unwrap().key.clone();
    let mut gone = key("vda");
    gone.id = "vdz".to_owned();
    let order = BootOrder::PerDevice(vec![key("vdb"), gone, key("sdb"), key("vdb")]);
    assert_eq!(ids(&tried_devices(&order, &devices)), ["vdb", "sdb"]);
}

#[test]
fn labels_name_kind_target_and_file() {
    let devices = devices();
    assert_eq!(device_label(&devices[1]), "CD-ROM sdb · debian.iso");
    assert_eq!(device_label(&devices[2]), "Disk vdb");
    assert_eq!(
        device_label(&devices[3]),
        "Network Card 52:54:00:00:00:01 · default"
    );
    let other = device("hostdev", "#4", DeviceKind::Other("hostdev".into()), None);
    assert_eq!(device_label(&other), "Host Device");
    assert_eq!(device_detail(&devices[0]), "/img/a.qcow2");
}

#[test]
fn firmware_offers_the_hosts_choices_and_the_current_one() {
    let bios_only = FirmwareChoices {
        bios: true,
        uefi: false,
        uefi_secure_boot: false,
    };
    let secure = Firmware::Uefi { secure_boot: true };
    assert_eq!(
        firmware_offered(secure, Some(bios_only)),
        [Firmware::Bios, secure]
    );
    assert_eq!(firmware_offered(Firmware::Bios, None), [Firmware::Bios]);
    let all = FirmwareChoices {
        bios: true,
        uefi: true,
        uefi_secure_boot: true,
    };
    assert_eq!(firmware_offered(Firmware::Bios, Some(all)).len(), 3);
}
