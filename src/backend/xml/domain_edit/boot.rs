//! The `<os>` element's settings and each device's `<boot order>`: boot order, boot menu,
//! firmware and direct kernel boot.

use gettextrs::gettext;
use roxmltree::Node;

use super::{append_children, insert_after_last_of, set_optional_text, EditError};
use crate::backend::domain::devices::{bootable_nodes, device_key};
use crate::backend::domain::fields::Field;
use crate::backend::domain::model::{child, BootOrder, DomainModel, Firmware};
use crate::backend::xml::splice::{escape, Splicer};

pub(super) fn write(
    splicer: &mut Splicer,
    root: Node,
    edited: &DomainModel,
    fields: &[Field],
) -> Result<(), EditError> {
    let os_fields = [
        Field::BootMenu,
        Field::Firmware,
        Field::KernelBoot,
        Field::BootOrder,
    ];
    if !fields.iter().any(|field| os_fields.contains(field)) {
        return Ok(());
    }
    let Some(os) = child(root, "os") else {
        return Err(EditError::Unsupported {
            field: fields[0],
            reason: gettext("The XML has no <os> element."),
        });
    };
    // Elements appended to <os> all at once (it may be self-closing in odd XML).
    let mut new_os_children = Vec::new();
    if fields.contains(&Field::BootOrder) {
        write_boot_order(splicer, root, os, &edited.boot_order);
    }
    if fields.contains(&Field::BootMenu) {
        match (child(os, "bootmenu"), edited.boot_menu) {
            (Some(menu), on) => {
                splicer.set_attribute(menu, "enable", if on { "yes" } else { "no" })
            }
            (None, true) => new_os_children.push("<bootmenu enable='yes'/>".to_owned()),
            (None, false) => {}
        }
    }
    if fields.contains(&Field::Firmware) {
        write_firmware(splicer, root, os, edited.firmware);
    }
    if fields.contains(&Field::KernelBoot) {
        let kernel = &edited.kernel_boot;
        let before_kernel = ["type", "firmware", "loader", "nvram"];
        set_optional_text(splicer, os, "kernel", &kernel.kernel, &before_kernel);
        let before_initrd = ["type", "firmware", "loader", "nvram", "kernel"];
        set_optional_text(splicer, os, "initrd", &kernel.initrd, &before_initrd);
        let before_cmdline = ["type", "firmware", "loader", "nvram", "kernel", "initrd"];
        set_optional_text(splicer, os, "cmdline", &kernel.cmdline, &before_cmdline);
    }
    append_children(splicer, os, &new_os_children);
    Ok(())
}

/// Per-device order replaces `<os><boot dev>` (libvirt refuses both), as virt-manager does.
fn write_boot_order(splicer: &mut Splicer, root: Node, os: Node, order: &BootOrder) {
    let class_boots: Vec<Node> = os.children().filter(|n| n.has_tag_name("boot")).collect();
    let devices = child(root, "devices");
    let bootable: Vec<Node> = devices.into_iter().flat_map(bootable_nodes).collect();
    match order {
        BootOrder::PerDevice(keys) => {
            for boot in class_boots {
                splicer.remove_element(boot);
            }
            for (index, device) in bootable.into_iter().enumerate() {
                let key = device_key(device, index);
                let wanted = keys.iter().position(|k| *k == key).map(|p| p + 1);
                set_device_order(splicer, device, wanted);
            }
        }
        BootOrder::ByClass(classes) => {
            for device in bootable {
                set_device_order(splicer, device, None);
            }
            let unchanged = class_boots.len() == classes.len()
                && class_boots
                    .iter()
                    .zip(classes)
                    .all(|(b, c)| b.attribute("dev") == Some(c));
            if unchanged {
                return;
            }
            for boot in &class_boots {
                splicer.remove_element(*boot);
            }
            let anchors = [
                "type", "firmware", "loader", "nvram", "kernel", "initrd", "cmdline", "dtb",
            ];
            // Inserts at one spot keep the order they are recorded in.
            for class in classes {
                let markup = format!("<boot dev='{}'/>", escape(class));
                insert_after_last_of(splicer, os, &anchors, &markup);
            }
        }
    }
}

fn set_device_order(splicer: &mut Splicer, device: Node, wanted: Option<usize>) {
    let boot = child(device, "boot");
    match (boot, wanted) {
        (Some(boot), Some(order)) => {
            if boot.attribute("order") != Some(order.to_string().as_str()) {
                splicer.set_attribute(boot, "order", &order.to_string());
            }
        }
        (Some(boot), None) => splicer.remove_element(boot),
        (None, Some(order)) => {
            let markup = format!("<boot order='{order}'/>");
            // libvirt writes <boot> before the device's alias and address.
            match device
                .children()
                .find(|n| n.has_tag_name("alias") || n.has_tag_name("address"))
            {
                Some(next) => splicer.insert_before(next, &markup),
                None => append_children(splicer, device, &[markup]),
            }
        }
        (None, None) => {}
    }
}

/// BIOS, or UEFI chosen by libvirt's firmware auto-selection (`<os firmware='efi'>`) with
/// the secure-boot feature on or off. A hand-picked loader and NVRAM go: they belong to the
/// old firmware.
fn write_firmware(splicer: &mut Splicer, root: Node, os: Node, firmware: Firmware) {
    for name in ["loader", "nvram"] {
        if let Some(element) = child(os, name) {
            splicer.remove_element(element);
        }
    }
    let existing = child(os, "firmware");
    let Firmware::Uefi { secure_boot } = firmware else {
        splicer.remove_attribute(os, "firmware");
        if let Some(existing) = existing {
            splicer.remove_element(existing);
        }
        return;
    };
    splicer.set_attribute(os, "firmware", "efi");
    let enabled = if secure_boot { "yes" } else { "no" };
    let indent = splicer.child_indent_of(os);
    let markup = format!(
        "<firmware>\n{indent}  <feature enabled='{enabled}' name='secure-boot'/>\n{indent}  \
         <feature enabled='{enabled}' name='enrolled-keys'/>\n{indent}</firmware>"
    );
    match existing {
        Some(existing) => splicer.replace_element(existing, &markup),
        None => insert_after_last_of(splicer, os, &["type"], &markup),
    }
    if secure_boot {
        ensure_smm(splicer, root);
    }
}

/// Secure Boot needs System Management Mode, so the guest cannot write the firmware's vars.
fn ensure_smm(splicer: &mut Splicer, root: Node) {
    match child(root, "features") {
        Some(features) => match child(features, "smm") {
            Some(smm) => {
                if smm.attribute("state") == Some("off") {
                    splicer.set_attribute(smm, "state", "on");
                }
            }
            None => append_children(splicer, features, &["<smm state='on'/>".to_owned()]),
        },
        None => {
            let indent = splicer.child_indent_of(root);
            let markup = format!("<features>\n{indent}  <smm state='on'/>\n{indent}</features>");
            insert_after_last_of(splicer, root, &["os", "idmap"], &markup);
        }
    }
}
