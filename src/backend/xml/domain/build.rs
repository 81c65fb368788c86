//! The `<domain>` document, element by element.

use super::*;

/// An ISO image's address split the way libvirt's network disks want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HttpSource {
    pub(super) protocol: &'static str,
    pub(super) host: String,
    pub(super) port: u16,
    /// The path, still percent-encoded: QEMU puts it back into a URL as it is.
    pub(super) path: String,
    pub(super) query: Option<String>,
}

/// Splits `http(s)://host[:port]/path[?query]`; no user names, no fragments.
pub(super) fn parse_http_url(url: &str) -> Option<HttpSource> {
    let (protocol, port, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("https", 443, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        ("http", 80, rest)
    } else {
        return None;
    };
    let (authority, path_and_query) = rest.split_at(rest.find('/')?);
    let (host, port) = split_host_port(authority, port)?;
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (path_and_query, None),
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '#';
    if path.len() < 2 || url.chars().any(bad_char) {
        return None;
    }
    Some(HttpSource {
        protocol,
        host,
        port,
        path: path.to_owned(),
        query,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the host comes back without brackets.
pub(super) fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => port.parse().ok().filter(|port| *port > 0)?,
        None => default_port,
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    (!host.is_empty() && host.chars().all(valid)).then(|| (host.to_owned(), port))
}

pub(super) fn title_element(title: &str) -> Option<Element> {
    (!title.is_empty()).then(|| Element::with_text("title", title))
}

/// libosinfo's record of the guest system, which virt-manager and GNOME Boxes read too.
pub(super) fn metadata_element(os: &OsChoice) -> Option<Element> {
    if os.id.is_empty() {
        return None;
    }
    let libosinfo = Element::new("libosinfo:libosinfo")
        .attr("xmlns:libosinfo", LIBOSINFO_NAMESPACE)
        .child(Element::new("libosinfo:os").attr("id", &os.id));
    Some(Element::new("metadata").child(libosinfo))
}

pub(super) fn os_element(spec: &NewVmSpec) -> Element {
    let os_type = Element::with_text("type", "hvm")
        .attr("arch", &spec.arch)
        .attr("machine", &spec.machine);
    match spec.firmware {
        Firmware::Bios => Element::new("os").child(os_type),
        Firmware::Uefi { secure_boot } => Element::new("os")
            .attr("firmware", "efi")
            .child(os_type)
            .child(firmware_features(secure_boot)),
    }
}

/// Naming secure boot either way makes libvirt pick an OVMF build with or without it.
pub(super) fn firmware_features(secure_boot: bool) -> Element {
    let enabled = if secure_boot { "yes" } else { "no" };
    let feature = |name| {
        Element::new("feature")
            .attr("enabled", enabled)
            .attr("name", name)
    };
    Element::new("firmware")
        .child(feature("secure-boot"))
        .child(feature("enrolled-keys"))
}

pub(super) fn features_element(spec: &NewVmSpec) -> Element {
    let secure_boot = matches!(spec.firmware, Firmware::Uefi { secure_boot: true });
    Element::new("features")
        .child(Element::new("acpi"))
        .child(Element::new("apic"))
        .children(spec.os.is_windows().then(hyperv_element))
        // Secure boot firmware keeps its variables in SMM-protected flash.
        .children(secure_boot.then(|| Element::new("smm").attr("state", "on")))
}

/// The Hyper-V enlightenments that make Windows fast and stable under KVM.
pub(super) fn hyperv_element() -> Element {
    let on = |name| Element::new(name).attr("state", "on");
    Element::new("hyperv")
        .attr("mode", "custom")
        .child(on("relaxed"))
        .child(on("vapic"))
        .child(on("spinlocks").attr("retries", 8191))
}

/// KVM guests get the host's processor; emulation keeps QEMU's default model.
pub(super) fn cpu_element(domain_type: DomainType) -> Option<Element> {
    (domain_type == DomainType::Kvm).then(|| {
        Element::new("cpu")
            .attr("mode", "host-passthrough")
            .attr("check", "none")
            .attr("migratable", "on")
    })
}

/// Windows keeps the hardware clock in local time; everything else in UTC.
pub(super) fn clock_element(os: &OsChoice) -> Element {
    if os.is_windows() {
        Element::new("clock").attr("offset", "localtime").child(
            Element::new("timer")
                .attr("name", "hypervclock")
                .attr("present", "yes"),
        )
    } else {
        Element::new("clock").attr("offset", "utc")
    }
}

pub(super) fn devices_element(spec: &NewVmSpec, http_source: Option<HttpSource>) -> Element {
    let disks = disk_devices(spec, http_source);
    let boot_disks = disks
        .iter()
        .filter(|disk| disk.boot_order.is_some())
        .count();
    let pxe_boot_order = u32::try_from(boot_disks + 1).unwrap_or(u32::MAX);
    Element::new("devices")
        .children(disk_elements(disks))
        .child(
            Element::new("controller")
                .attr("type", "usb")
                .attr("model", "qemu-xhci"),
        )
        .children(interface_element(spec, pxe_boot_order))
        .child(guest_agent_channel())
        // An absolute pointer keeps the VNC cursor where the user's is.
        .child(
            Element::new("input")
                .attr("type", "tablet")
                .attr("bus", "usb"),
        )
        .child(graphics_element(&spec.console))
        .child(video_element(&spec.os))
        .child(Element::new("console").attr("type", "pty"))
        .children(spec.tpm.then(tpm_element))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DiskDeviceKind {
    Disk,
    Cdrom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DiskSource {
    File(String),
    Volume { pool: String, volume: String },
    Http(HttpSource),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DiskDevice {
    kind: DiskDeviceKind,
    source: DiskSource,
    format: VolumeFormat,
    bus: DiskBus,
    boot_order: Option<u32>,
}

/// Hard disks first, then the install CD-ROM. The first hard disk boots first: while it is
/// empty the firmware falls through to the CD-ROM (or network), and once the system is
/// installed the machine boots it without the installer starting again.
pub(super) fn disk_devices(spec: &NewVmSpec, http_source: Option<HttpSource>) -> Vec<DiskDevice> {
    let mut disks: Vec<DiskDevice> = imported_disk(spec)
        .into_iter()
        .chain(storage_disk(spec))
        .collect();
    disks.extend(install_cdrom(&spec.install, http_source));
    let mut next_order = 1;
    for (index, disk) in disks.iter_mut().enumerate() {
        let boots = index == 0 || disk.kind == DiskDeviceKind::Cdrom;
        if boots {
            disk.boot_order = Some(next_order);
            next_order += 1;
        }
    }
    disks
}

pub(super) fn imported_disk(spec: &NewVmSpec) -> Option<DiskDevice> {
    let InstallSource::ImportDisk { path, format } = &spec.install else {
        return None;
    };
    Some(hard_disk(
        DiskSource::File(path.clone()),
        *format,
        spec.disk_bus,
    ))
}

pub(super) fn storage_disk(spec: &NewVmSpec) -> Option<DiskDevice> {
    match &spec.storage {
        StorageChoice::NewVolume {
            pool, name, format, ..
        } => {
            let source = DiskSource::Volume {
                pool: pool.clone(),
                volume: name.clone(),
            };
            Some(hard_disk(source, *format, spec.disk_bus))
        }
        StorageChoice::ExistingVolume { path, format } => Some(hard_disk(
            DiskSource::File(path.clone()),
            *format,
            spec.disk_bus,
        )),
        StorageChoice::None => None,
    }
}

pub(super) fn hard_disk(source: DiskSource, format: VolumeFormat, bus: DiskBus) -> DiskDevice {
    DiskDevice {
        kind: DiskDeviceKind::Disk,
        source,
        format,
        bus,
        boot_order: None,
    }
}

pub(super) fn install_cdrom(
    install: &InstallSource,
    http_source: Option<HttpSource>,
) -> Option<DiskDevice> {
    let source = match install {
        InstallSource::IsoVolume { path, .. } => DiskSource::File(path.clone()),
        InstallSource::LocalIso { pool, volume, .. } => DiskSource::Volume {
            pool: pool.clone(),
            volume: volume.clone(),
        },
        InstallSource::NetworkTree { .. } => DiskSource::Http(http_source?),
        InstallSource::ImportDisk { .. } | InstallSource::Pxe => return None,
    };
    Some(DiskDevice {
        kind: DiskDeviceKind::Cdrom,
        source,
        format: VolumeFormat::Raw,
        bus: DiskBus::Sata,
        boot_order: None,
    })
}

/// Each bus names its disks in order: vda, vdb, … and sda, sdb, …
pub(super) fn disk_elements(disks: Vec<DiskDevice>) -> Vec<Element> {
    let mut used: HashMap<&'static str, u8> = HashMap::new();
    disks
        .into_iter()
        .map(|disk| {
            let prefix = disk.bus.device_prefix();
            let index = used.entry(prefix).or_insert(0);
            let target = format!("{prefix}{}", char::from(b'a' + *index));
            *index += 1;
            disk_element(disk, &target)
        })
        .collect()
}

pub(super) fn disk_element(disk: DiskDevice, target: &str) -> Element {
    let (source_type, source) = source_element(disk.source);
    let device = match disk.kind {
        DiskDeviceKind::Disk => "disk",
        DiskDeviceKind::Cdrom => "cdrom",
    };
    let driver = Element::new("driver")
        .attr("name", "qemu")
        .attr("type", disk.format.as_str())
        // Lets a thin qcow2 image shrink when the guest frees space.
        .attr_if(
            "discard",
            (disk.kind == DiskDeviceKind::Disk).then_some("unmap"),
        );
    Element::new("disk")
        .attr("type", source_type)
        .attr("device", device)
        .child(driver)
        .child(source)
        .child(
            Element::new("target")
                .attr("dev", target)
                .attr("bus", disk.bus.as_str()),
        )
        .children((disk.kind == DiskDeviceKind::Cdrom).then(|| Element::new("readonly")))
        .children(
            disk.boot_order
                .map(|order| Element::new("boot").attr("order", order)),
        )
}

pub(super) fn source_element(source: DiskSource) -> (&'static str, Element) {
    match source {
        DiskSource::File(path) => ("file", Element::new("source").attr("file", path)),
        DiskSource::Volume { pool, volume } => (
            "volume",
            Element::new("source")
                .attr("pool", pool)
                .attr("volume", volume),
        ),
        DiskSource::Http(http) => (
            "network",
            Element::new("source")
                .attr("protocol", http.protocol)
                .attr("name", http.path)
                .attr_if("query", http.query)
                .child(
                    Element::new("host")
                        .attr("name", http.host)
                        .attr("port", http.port),
                ),
        ),
    }
}

pub(super) fn interface_element(spec: &NewVmSpec, pxe_boot_order: u32) -> Option<Element> {
    let (interface_type, source) = match &spec.network {
        NetworkChoice::Virtual { name } => {
            ("network", Element::new("source").attr("network", name))
        }
        NetworkChoice::Bridge { name } => ("bridge", Element::new("source").attr("bridge", name)),
        NetworkChoice::Macvtap { device } => (
            "direct",
            Element::new("source")
                .attr("dev", device)
                .attr("mode", "bridge"),
        ),
        NetworkChoice::None => return None,
    };
    let boot = (spec.install == InstallSource::Pxe)
        .then(|| Element::new("boot").attr("order", pxe_boot_order));
    Some(
        Element::new("interface")
            .attr("type", interface_type)
            .child(source)
            .child(Element::new("model").attr("type", spec.nic_model.as_str()))
            .children(boot),
    )
}

/// Lets libvirt ask a guest with qemu-guest-agent for its addresses and shut it down cleanly.
pub(super) fn guest_agent_channel() -> Element {
    Element::new("channel").attr("type", "unix").child(
        Element::new("target")
            .attr("type", "virtio")
            .attr("name", "org.qemu.guest_agent.0"),
    )
}

pub(super) fn graphics_element(console: &ConsoleSpec) -> Element {
    Element::new("graphics")
        .attr("type", "vnc")
        .attr("port", -1)
        .attr("autoport", "yes")
        .attr("listen", &console.listen)
        .attr_if("passwd", console.password())
}

/// Linux drives virtio-gpu out of the box; other systems get a plain VGA card they all know.
pub(super) fn video_element(os: &OsChoice) -> Element {
    let model = if os.family == "linux" {
        "virtio"
    } else {
        "vga"
    };
    Element::new("video").child(Element::new("model").attr("type", model))
}

pub(super) fn tpm_element() -> Element {
    Element::new("tpm").attr("model", "tpm-crb").child(
        Element::new("backend")
            .attr("type", "emulator")
            .attr("version", "2.0"),
    )
}
