//! The device edits of tests/xml_golden_devices.rs: name (the golden file), source, change.

use hangar::backend::domain::device_list::{
    CharSettings, DeviceClass, DeviceSettings, DiskSettings, DiskSource, FilesystemSettings,
    HostdevSettings, HostdevSource, InputSettings, NicSettings, NicSource, RngSettings,
    TpmSettings, WatchdogSettings,
};
use hangar::backend::domain::devices::DeviceKey;
use hangar::backend::xml::device_xml::generate_mac;

pub enum Op {
    Add(DeviceClass, DeviceSettings),
    Edit(DeviceKey, fn(&mut DeviceSettings)),
    Remove(DeviceKey),
}

pub struct Case {
    pub name: &'static str,
    pub source: &'static str,
    pub op: Op,
    /// The edit moves the device to another bus, so libvirt's address for it must go.
    pub drops_address: bool,
}

const VIRT_MANAGER: &str = "source-virt-manager.xml";
const LIVE: &str = "source-live.xml";

fn key(element: &str, id: &str) -> DeviceKey {
    DeviceKey {
        element: element.into(),
        id: id.into(),
    }
}

fn add(name: &'static str, class: DeviceClass, settings: DeviceSettings) -> Case {
    Case {
        name,
        source: VIRT_MANAGER,
        op: Op::Add(class, settings),
        drops_address: false,
    }
}

fn edit(
    name: &'static str,
    source: &'static str,
    key: DeviceKey,
    f: fn(&mut DeviceSettings),
) -> Case {
    Case {
        name,
        source,
        op: Op::Edit(key, f),
        drops_address: false,
    }
}

fn remove(name: &'static str, key: DeviceKey) -> Case {
    Case {
        name,
        source: VIRT_MANAGER,
        op: Op::Remove(key),
        drops_address: false,
    }
}

fn disk(f: impl FnOnce(&mut DiskSettings)) -> impl FnOnce(&mut DeviceSettings) {
    move |settings| match settings {
        DeviceSettings::Disk(disk) => f(disk),
        other => panic!("not a disk: {other:?}"),
    }
}

macro_rules! settings {
    ($settings:ident, $variant:ident, $body:expr) => {
        match $settings {
            DeviceSettings::$variant(inner) => $body(inner),
            other => panic!("unexpected settings {other:?}"),
        }
    };
}

fn char(source_type: &str, target_name: Option<&str>) -> DeviceSettings {
    DeviceSettings::Char(CharSettings {
        source_type: source_type.into(),
        target_type: target_name.map(|_| "virtio".into()),
        target_name: target_name.map(Into::into),
    })
}

fn adds() -> Vec<Case> {
    let taken = vec![
        "52:54:00:6b:3c:58".to_owned(),
        "52:54:00:0a:1b:2c".to_owned(),
    ];
    vec![
        add(
            "add-disk-volume-virtio",
            DeviceClass::Disk,
            DeviceSettings::Disk(DiskSettings {
                source: DiskSource::Volume {
                    pool: "default".into(),
                    volume: "data & logs.qcow2".into(),
                },
                bus: "virtio".into(),
                target_dev: "vdb".into(),
                cache: Some("none".into()),
                discard: Some("unmap".into()),
                format: Some("qcow2".into()),
                readonly: false,
                shareable: false,
            }),
        ),
        add(
            "add-cdrom-empty-sata",
            DeviceClass::Cdrom,
            DeviceSettings::Disk(DiskSettings {
                bus: "sata".into(),
                target_dev: "sdb".into(),
                format: Some("raw".into()),
                readonly: true,
                ..DiskSettings::default()
            }),
        ),
        add(
            "add-nic-network-virtio",
            DeviceClass::Nic,
            DeviceSettings::Nic(NicSettings {
                source: NicSource::Network("lab <net>".into()),
                model: Some("virtio".into()),
                mac: generate_mac(42, &taken),
                link_up: true,
            }),
        ),
        add(
            "add-hostdev-usb-optional",
            DeviceClass::HostdevUsb,
            DeviceSettings::Hostdev(HostdevSettings {
                source: HostdevSource::UsbId {
                    vendor: "0x046d".into(),
                    product: "0xc52b".into(),
                },
                startup_policy: Some("optional".into()),
            }),
        ),
        add(
            "add-hostdev-pci",
            DeviceClass::HostdevPci,
            DeviceSettings::Hostdev(HostdevSettings {
                source: HostdevSource::Pci {
                    domain: "0x0000".into(),
                    bus: "0x0a".into(),
                    slot: "0x00".into(),
                    function: "0x1".into(),
                },
                startup_policy: None,
            }),
        ),
        add(
            "add-filesystem-virtiofs",
            DeviceClass::Filesystem,
            DeviceSettings::Filesystem(FilesystemSettings {
                source_dir: "/srv/nas/photos & films".into(),
                target_tag: "photos".into(),
                driver: Some("virtiofs".into()),
            }),
        ),
        add(
            "add-tpm-crb-2",
            DeviceClass::Tpm,
            DeviceSettings::Tpm(TpmSettings {
                model: "tpm-tis".into(),
                backend: "emulator".into(),
                version: Some("2.0".into()),
            }),
        ),
        add(
            "add-rng-virtio",
            DeviceClass::Rng,
            DeviceSettings::Rng(RngSettings {
                model: "virtio".into(),
                backend: "random".into(),
                source: Some("/dev/random".into()),
            }),
        ),
        add(
            "add-watchdog-i6300esb",
            DeviceClass::Watchdog,
            DeviceSettings::Watchdog(WatchdogSettings {
                model: "i6300esb".into(),
                action: Some("poweroff".into()),
            }),
        ),
        add(
            "add-sound-ac97",
            DeviceClass::Sound,
            DeviceSettings::Sound("ac97".into()),
        ),
        add(
            "add-video-vga",
            DeviceClass::Video,
            DeviceSettings::Video("vga".into()),
        ),
        add(
            "add-channel-guest-agent",
            DeviceClass::Channel,
            char("unix", Some("org.qemu.guest_agent.0")),
        ),
        add(
            "add-channel-vdagent",
            DeviceClass::Channel,
            char("qemu-vdagent", Some("com.redhat.spice.0")),
        ),
        add(
            "add-input-keyboard-virtio",
            DeviceClass::Input,
            DeviceSettings::Input(InputSettings {
                input_type: "keyboard".into(),
                bus: Some("virtio".into()),
            }),
        ),
        add("add-serial-pty", DeviceClass::Serial, char("pty", None)),
        add(
            "add-console-pty-virtio",
            DeviceClass::Console,
            DeviceSettings::Char(CharSettings {
                source_type: "pty".into(),
                target_type: Some("virtio".into()),
                target_name: None,
            }),
        ),
    ]
}

fn edits() -> Vec<Case> {
    let mut cases = vec![
        edit(
            "edit-disk-cache-discard-shareable",
            VIRT_MANAGER,
            key("disk", "vda"),
            |s| {
                disk(|d| {
                    d.cache = Some("writeback".into());
                    d.discard = Some("ignore".into());
                    d.shareable = true;
                })(s)
            },
        ),
        edit(
            "edit-disk-volume-source",
            VIRT_MANAGER,
            key("disk", "vda"),
            |s| {
                disk(|d| {
                    d.source = DiskSource::Volume {
                        pool: "fast".into(),
                        volume: "fedora-web.qcow2".into(),
                    }
                })(s)
            },
        ),
        edit(
            "edit-cdrom-change-medium",
            VIRT_MANAGER,
            key("disk", "sda"),
            |s| disk(|d| d.source = DiskSource::File("/srv/iso/debian 13 & more.iso".into()))(s),
        ),
        edit("edit-cdrom-eject", VIRT_MANAGER, key("disk", "sda"), |s| {
            disk(|d| d.source = DiskSource::None)(s)
        }),
        edit(
            "edit-cdrom-live-eject-keeps-alias",
            LIVE,
            key("disk", "hdc"),
            |s| disk(|d| d.source = DiskSource::None)(s),
        ),
        edit(
            "edit-nic-bridge-model-link-down",
            VIRT_MANAGER,
            key("interface", "52:54:00:6b:3c:58"),
            |s| {
                settings!(s, Nic, |n: &mut NicSettings| {
                    n.source = NicSource::Bridge("br0".into());
                    n.model = Some("e1000e".into());
                    n.link_up = false;
                })
            },
        ),
        edit(
            "edit-nic-direct-macvtap",
            VIRT_MANAGER,
            key("interface", "52:54:00:0a:1b:2c"),
            |s| {
                settings!(s, Nic, |n: &mut NicSettings| {
                    n.source = NicSource::Direct {
                        device: "enp3s0".into(),
                        mode: "bridge".into(),
                    };
                })
            },
        ),
        edit(
            "edit-nic-live-link-down-keeps-alias",
            LIVE,
            key("interface", "52:54:00:5e:71:0c"),
            |s| settings!(s, Nic, |n: &mut NicSettings| n.link_up = false),
        ),
        edit(
            "edit-hostdev-usb-not-optional",
            VIRT_MANAGER,
            key("hostdev", "usb:0x0781:0x5581"),
            |s| {
                settings!(s, Hostdev, |h: &mut HostdevSettings| h.startup_policy =
                    None)
            },
        ),
        edit(
            "edit-hostdev-pci-other-function",
            VIRT_MANAGER,
            key("hostdev", "pci:0x0000:0x03:0x00.0x0"),
            |s| {
                settings!(s, Hostdev, |h: &mut HostdevSettings| {
                    h.source = HostdevSource::Pci {
                        domain: "0x0000".into(),
                        bus: "0x03".into(),
                        slot: "0x00".into(),
                        function: "0x1".into(),
                    }
                })
            },
        ),
        edit(
            "edit-filesystem-folder-and-tag",
            VIRT_MANAGER,
            key("filesystem", "media"),
            |s| {
                settings!(s, Filesystem, |f: &mut FilesystemSettings| {
                    f.source_dir = "/srv/nas/music".into();
                    f.target_tag = "music".into();
                })
            },
        ),
        edit("edit-tpm-tis", VIRT_MANAGER, key("tpm", "#0"), |s| {
            settings!(s, Tpm, |t: &mut TpmSettings| t.model = "tpm-tis".into())
        }),
        edit("edit-rng-source", VIRT_MANAGER, key("rng", "#0"), |s| {
            settings!(s, Rng, |r: &mut RngSettings| r.source =
                Some("/dev/hwrng".into()))
        }),
        edit(
            "edit-watchdog-model-action",
            VIRT_MANAGER,
            key("watchdog", "#0"),
            |s| {
                settings!(s, Watchdog, |w: &mut WatchdogSettings| {
                    w.model = "i6300esb".into();
                    w.action = Some("pause".into());
                })
            },
        ),
        edit("edit-sound-ac97", VIRT_MANAGER, key("sound", "#0"), |s| {
            *s = DeviceSettings::Sound("ac97".into())
        }),
        edit(
            "edit-video-qxl-to-virtio",
            VIRT_MANAGER,
            key("video", "#0"),
            |s| *s = DeviceSettings::Video("virtio".into()),
        ),
        edit(
            "edit-channel-vdagent-name",
            VIRT_MANAGER,
            key("channel", "com.redhat.spice.1"),
            |s| {
                settings!(s, Char, |c: &mut CharSettings| c.target_name =
                    Some("org.example.tool.0".into()))
            },
        ),
    ];
    let mut bus_change = edit(
        "edit-disk-bus-virtio-to-sata",
        VIRT_MANAGER,
        key("disk", "vda"),
        |s| {
            disk(|d| {
                d.bus = "sata".into();
                d.target_dev = "sdb".into();
                d.readonly = true;
            })(s)
        },
    );
    bus_change.drops_address = true;
    cases.push(bus_change);
    cases
}

fn removes() -> Vec<Case> {
    vec![
        remove("remove-disk", key("disk", "vda")),
        remove("remove-cdrom", key("disk", "sda")),
        remove("remove-nic", key("interface", "52:54:00:6b:3c:58")),
        remove("remove-hostdev-usb", key("hostdev", "usb:0x0781:0x5581")),
        remove(
            "remove-hostdev-pci",
            key("hostdev", "pci:0x0000:0x03:0x00.0x0"),
        ),
        remove("remove-filesystem", key("filesystem", "media")),
        remove("remove-tpm", key("tpm", "#0")),
        remove("remove-rng", key("rng", "#0")),
        remove("remove-watchdog", key("watchdog", "#0")),
        remove("remove-sound", key("sound", "#0")),
        remove("remove-video", key("video", "#0")),
        remove(
            "remove-channel-guest-agent",
            key("channel", "org.qemu.guest_agent.0"),
        ),
        remove("remove-input-mouse", key("input", "#1")),
        remove("remove-serial", key("serial", "#0")),
        remove("remove-console", key("console", "#0")),
    ]
}

pub fn all() -> Vec<Case> {
    let mut cases = adds();
    cases.extend(edits());
    cases.extend(removes());
    cases
}
