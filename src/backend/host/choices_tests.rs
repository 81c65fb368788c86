use super::*;

const USB_STICK: &str = "<device>
  <name>usb_3_2</name>
  <path>/sys/devices/pci0000:00/0000:00:14.0/usb3/3-2</path>
  <devnode type='dev'>/dev/bus/usb/003/002</devnode>
  <parent>usb_usb3</parent>
  <driver>
    <name>usb</name>
  </driver>
  <capability type='usb_device'>
    <bus>3</bus>
    <device>2</device>
    <product id='0x5591'>Ultra Flair</product>
    <vendor id='0x0781'>SanDisk Corp.</vendor>
  </capability>
</device>";

const ROOT_HUB: &str = "<device>
  <name>usb_usb3</name>
  <capability type='usb_device'>
    <bus>3</bus>
    <device>1</device>
    <product id='0x0003'>3.0 root hub</product>
    <vendor id='0x1d6b'>Linux Foundation</vendor>
  </capability>
</device>";

const GPU: &str = "<device>
  <name>pci_0000_01_00_0</name>
  <path>/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0</path>
  <parent>pci_0000_00_01_0</parent>
  <driver>
    <name>vfio-pci</name>
  </driver>
  <capability type='pci'>
    <class>0x030000</class>
    <domain>0</domain>
    <bus>1</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x2484'>GA104 [GeForce RTX 3070]</product>
    <vendor id='0x10de'>NVIDIA Corporation</vendor>
    <iommuGroup number='14'>
      <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
      <address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>
    </iommuGroup>
  </capability>
</device>";

const NAMELESS_PCI: &str = "<device>
  <name>pci_0000_00_1f_3</name>
  <capability type='pci'>
    <domain>0</domain>
    <bus>0</bus>
    <slot>31</slot>
    <function>3</function>
    <product id='0xa348'/>
    <vendor id='0x8086'/>
  </capability>
</device>";

#[test]
fn usb_devices_read_with_names_driver_and_address() {
    let stick = parse_node_device(USB_STICK).expect("a USB device");
    assert_eq!(stick.bus, HostDeviceBus::Usb);
    assert_eq!(stick.name, "usb_3_2");
    assert_eq!(stick.title(), "SanDisk Corp. · Ultra Flair");
    assert_eq!(stick.driver.as_deref(), Some("usb"));
    assert_eq!(stick.address, [3, 2]);
    assert_eq!(stick.address_text(), "003:002");
    assert_eq!(stick.iommu_group, None);
    assert_eq!(
        stick.source(),
        HostdevSource::UsbId {
            vendor: "0x0781".into(),
            product: "0x5591".into()
        }
    );
    assert_eq!(parse_node_device(ROOT_HUB), None, "root hubs are left out");
}

#[test]
fn pci_functions_read_with_iommu_group_and_ids_when_nameless() {
    let gpu = parse_node_device(GPU).expect("a PCI function");
    assert_eq!(gpu.bus, HostDeviceBus::Pci);
    assert_eq!(gpu.iommu_group, Some(14));
    assert_eq!(gpu.driver.as_deref(), Some("vfio-pci"));
    assert_eq!(gpu.address_text(), "0000:01:00.0");
    assert_eq!(
        gpu.source(),
        HostdevSource::Pci {
            domain: "0x0000".into(),
            bus: "0x01".into(),
            slot: "0x00".into(),
            function: "0x0".into()
        }
    );
    let audio = parse_node_device(NAMELESS_PCI).expect("a PCI function without names");
    assert_eq!(audio.title(), "0x8086 · 0xa348");
    assert_eq!(audio.address_text(), "0000:00:1f.3");
    assert_eq!(audio.driver, None);
    assert_eq!(
        parse_node_device("<device><name>net_lo</name><capability type='net'/></device>"),
        None
    );
    assert_eq!(parse_node_device("not xml"), None);
}

#[test]
fn devices_are_marked_with_the_domains_that_have_them() {
    let mut devices = vec![
        parse_node_device(USB_STICK).expect("usb"),
        parse_node_device(GPU).expect("pci"),
        parse_node_device(NAMELESS_PCI).expect("pci"),
    ];
    let by_id = "<domain><name>nas</name><devices>
      <hostdev mode='subsystem' type='usb'><source><vendor id='0x0781'/><product id='0x5591'/></source></hostdev>
    </devices></domain>";
    let by_address = "<domain><name>gaming</name><devices>
      <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>
      <hostdev mode='subsystem' type='usb'><source><address bus='3' device='2'/></source></hostdev>
    </devices></domain>";
    let domains = [
        ("nas".to_owned(), by_id.to_owned()),
        // The running machine and its saved config name it twice: once is enough.
        ("nas".to_owned(), by_id.to_owned()),
        ("gaming".to_owned(), by_address.to_owned()),
    ];
    mark_users(&mut devices, &domains);
    assert_eq!(devices[0].used_by, ["nas", "gaming"]);
    assert_eq!(devices[1].used_by, ["gaming"]);
    assert!(devices[2].used_by.is_empty());
}

#[test]
fn interfaces_read_as_bridges_or_nics_without_the_loopback() {
    let bridge = parse_interface(
        "<interface type='bridge' name='br0'><mac address='aa:bb:cc:dd:ee:ff'/><bridge><interface type='ethernet' name='eno1'/></bridge></interface>",
    )
    .expect("a bridge");
    assert_eq!(bridge.name, "br0");
    assert_eq!(bridge.kind, InterfaceKind::Bridge);
    assert_eq!(bridge.mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
    let nic = parse_interface("<interface type='ethernet' name='eno1'/>").expect("a NIC");
    assert_eq!(nic.kind, InterfaceKind::Ethernet);
    let bond = parse_interface("<interface type='bond' name='bond0'/>").expect("a bond");
    assert_eq!(bond.kind, InterfaceKind::Other);
    assert_eq!(
        parse_interface("<interface type='ethernet' name='lo'/>"),
        None
    );
}
