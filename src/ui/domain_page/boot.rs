//! The Boot section: boot order over disks, CD-ROMs and network cards, the boot menu,
//! firmware (from the host's domain capabilities) and direct kernel boot.
//!
//! A boot order by device class (`<os><boot dev='hd'/>`) is shown as the devices the
//! machine would try (the first disk for `hd`, ...); it is written per device once the user
//! changes it. While the machine runs, every setting here waits for its next start, and
//! says so.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::Shown;
use crate::backend::domain::capabilities::{DomainCapabilities, FirmwareChoices};
use crate::backend::domain::fields::Field;
use crate::backend::domain::model::{
    BootDevice, BootOrder, DeviceKey, DeviceKind, DomainModel, Firmware, KernelBoot,
};
use crate::i18n::gettext_f;
use crate::ui::a11y;

/// The mark of a setting a running machine takes on only at its next start
/// ([`Field::needs_shutdown`]): the same words wherever the page shows one.
pub fn after_shutdown_note() -> String {
    gettext("Takes effect after the virtual machine shuts down")
}

/// One device of the boot order, as a row with a check and Move Up/Down buttons.
struct OrderRow {
    key: DeviceKey,
    row: adw::ActionRow,
    check: gtk::CheckButton,
    up: gtk::Button,
    down: gtk::Button,
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/boot.ui")]
    pub struct BootSection {
        #[template_child]
        pub(super) firmware_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub(super) boot_menu_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) boot_menu_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub(super) order_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub(super) kernel_row: TemplateChild<adw::ExpanderRow>,
        #[template_child]
        pub(super) kernel_entry: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) initrd_entry: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) cmdline_entry: TemplateChild<adw::EntryRow>,
        /// Whether `show` ran: before, `read_into` leaves the model alone.
        pub(super) shown: Cell<bool>,
        /// The firmware the combo row offers, in its order.
        pub(super) firmware_choices: RefCell<Vec<Firmware>>,
        /// The device rows, top to bottom.
        pub(super) rows: RefCell<Vec<OrderRow>>,
        /// The row saying there is nothing to order, while it is shown.
        pub(super) placeholder: RefCell<Option<adw::ActionRow>>,
        /// The boot order shown, and the devices it tries: an unchanged order is written
        /// back as it was (by class stays by class).
        pub(super) shown_order: RefCell<(BootOrder, Vec<DeviceKey>)>,
        /// The after-shutdown note while the machine runs.
        pub(super) order_note: RefCell<Option<String>>,
        pub(super) edited: RefCell<Option<Rc<dyn Fn()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for BootSection {
        const NAME: &'static str = "HangarBootSection";
        type Type = super::BootSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for BootSection {}
    impl WidgetImpl for BootSection {}
    impl BoxImpl for BootSection {}
}

glib::wrapper! {
    pub struct BootSection(ObjectSubclass<imp::BootSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl BootSection {
    /// Shows the values of `shown`; editable fields get them too (dropping unapplied edits).
    pub fn show(&self, shown: &Shown) {
        let (imp, model) = (self.imp(), shown.model);
        let running = shown.live.is_some();
        let note = |field: Field| (running && field.needs_shutdown()).then(after_shutdown_note);
        imp.shown.set(true);
        self.show_firmware(model.firmware, shown.capabilities, running);
        imp.boot_menu_switch.set_active(model.boot_menu);
        imp.boot_menu_row.set_subtitle(
            &note(Field::BootMenu)
                .unwrap_or_else(|| gettext("Lets you pick the device to start from at start-up")),
        );
        imp.order_note.replace(note(Field::BootOrder));
        self.show_order(model);
        let kernel = &model.kernel_boot;
        imp.kernel_entry.set_text(&kernel.kernel);
        imp.initrd_entry.set_text(&kernel.initrd);
        imp.cmdline_entry.set_text(&kernel.cmdline);
        // Open when in use; left as the user put it otherwise.
        if !kernel.kernel.is_empty() {
            imp.kernel_row.set_expanded(true);
        }
        imp.kernel_row
            .set_subtitle(&note(Field::KernelBoot).unwrap_or_else(|| {
                gettext(
                    "Starts a kernel and initrd from the host instead of the guest’s boot loader",
                )
            }));
    }

    /// Writes the edited values into `model`.
    pub fn read_into(&self, model: &mut DomainModel) {
        let imp = self.imp();
        if !imp.shown.get() {
            return;
        }
        let firmware = imp
            .firmware_choices
            .borrow()
            .get(imp.firmware_row.selected() as usize)
            .copied();
        if let Some(firmware) = firmware {
            model.firmware = firmware;
        }
        model.boot_menu = imp.boot_menu_switch.is_active();
        let checked: Vec<DeviceKey> = imp
            .rows
            .borrow()
            .iter()
            .filter(|row| row.check.is_active())
            .map(|row| row.key.clone())
            .collect();
        let (shown_order, shown_keys) = &*imp.shown_order.borrow();
        model.boot_order = if checked == *shown_keys {
            shown_order.clone()
        } else {
            BootOrder::PerDevice(checked)
        };
        let text = |entry: &adw::EntryRow| entry.text().trim().to_owned();
        model.kernel_boot = KernelBoot {
            kernel: text(&imp.kernel_entry),
            initrd: text(&imp.initrd_entry),
            cmdline: text(&imp.cmdline_entry),
        };
    }

    /// Calls `changed` whenever the user edits a value.
    pub fn connect_edited(&self, changed: impl Fn() + Clone + 'static) {
        let imp = self.imp();
        imp.edited.replace(Some(Rc::new(changed.clone())));
        let on_switch = changed.clone();
        imp.boot_menu_switch
            .connect_active_notify(move |_| on_switch());
        let on_firmware = changed.clone();
        imp.firmware_row
            .connect_selected_notify(move |_| on_firmware());
        for entry in [&imp.kernel_entry, &imp.initrd_entry, &imp.cmdline_entry] {
            let changed = changed.clone();
            entry.connect_changed(move |_| changed());
        }
    }

    fn emit_edited(&self) {
        let edited = self.imp().edited.borrow().clone();
        if let Some(edited) = edited {
            edited();
        }
    }

    /// Offers the firmware the host has for this machine (and the current one, whatever it
    /// is), changeable only while it is shut off.
    fn show_firmware(
        &self,
        current: Firmware,
        capabilities: Option<&DomainCapabilities>,
        running: bool,
    ) {
        let imp = self.imp();
        let choices = capabilities
            .map(|capabilities| capabilities.firmware)
            .filter(|choices| choices.bios || choices.uefi || choices.uefi_secure_boot);
        let offered = firmware_offered(current, choices);
        let labels: Vec<String> = offered.iter().map(|f| firmware_label(*f)).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let selected = offered.iter().position(|f| *f == current).unwrap_or(0);
        imp.firmware_choices.replace(offered);
        imp.firmware_row
            .set_model(Some(&gtk::StringList::new(&labels)));
        imp.firmware_row.set_selected(selected as u32);
        imp.firmware_row.set_sensitive(!running);
        let subtitle = if running {
            gettext("Firmware can be changed while the virtual machine is shut off")
        } else if choices.is_none() {
            gettext("The host did not say which firmware it offers")
        } else {
            String::new()
        };
        imp.firmware_row.set_subtitle(&subtitle);
    }

    /// One row per bootable device: those in the boot order first, in its order, then the
    /// others as the XML lists them.
    fn show_order(&self, model: &DomainModel) {
        let imp = self.imp();
        let tried = tried_devices(&model.boot_order, &model.boot_devices);
        imp.shown_order
            .replace((model.boot_order.clone(), tried.clone()));
        for old in imp.rows.take() {
            imp.order_group.remove(&old.row);
        }
        if let Some(placeholder) = imp.placeholder.take() {
            imp.order_group.remove(&placeholder);
        }
        let mut devices: Vec<&BootDevice> = tried
            .iter()
            .filter_map(|key| model.boot_devices.iter().find(|d| d.key == *key))
            .collect();
        devices.extend(
            model
                .boot_devices
                .iter()
                .filter(|device| !tried.contains(&device.key)),
        );
        let rows: Vec<OrderRow> = devices
            .into_iter()
            .map(|device| self.order_row(device, tried.contains(&device.key)))
            .collect();
        if rows.is_empty() {
            let placeholder = adw::ActionRow::builder()
                .title(gettext("No disks, CD-ROMs or network cards"))
                .build();
            imp.order_group.add(&placeholder);
            imp.placeholder.replace(Some(placeholder));
        }
        imp.rows.replace(rows);
        self.place_rows();
    }

    fn order_row(&self, device: &BootDevice, checked: bool) -> OrderRow {
        let label = device_label(device);
        let row = adw::ActionRow::builder()
            .use_markup(false)
            .title(&label)
            .subtitle(device_detail(device))
            .build();
        let check = gtk::CheckButton::builder()
            .active(checked)
            .valign(gtk::Align::Center)
            .build();
        // The row names its check (libadwaita labels an activatable widget by the title).
        row.add_prefix(&check);
        row.set_activatable_widget(Some(&check));
        let button = |icon: &str, name: String, delta: isize| {
            let button = gtk::Button::builder()
                .icon_name(icon)
                .valign(gtk::Align::Center)
                .tooltip_text(&name)
                .css_classes(["flat"])
                .build();
            a11y::set_label(&button, &name);
            let key = device.key.clone();
            button.connect_clicked(glib::clone!(
                #[weak(rename_to = section)]
                self,
                move |_| section.move_row(&key, delta)
            ));
            row.add_suffix(&button);
            button
        };
        let up = button(
            "go-up-symbolic",
            gettext_f("Move {device} up", &[("device", &label)]),
            -1,
        );
        let down = button(
            "go-down-symbolic",
            gettext_f("Move {device} down", &[("device", &label)]),
            1,
        );
        check.connect_toggled(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| {
                section.update_order_state();
                section.emit_edited();
            }
        ));
        OrderRow {
            key: device.key.clone(),
            row,
            check,
            up,
            down,
        }
    }

    /// Moves the row of `key` one place up (`delta` -1) or down (1), keeping the keyboard
    /// focus on its button (or the other one at the ends).
    fn move_row(&self, key: &DeviceKey, delta: isize) {
        let imp = self.imp();
        {
            let mut rows = imp.rows.borrow_mut();
            let Some(from) = rows.iter().position(|row| row.key == *key) else {
                return;
            };
            let Some(to) = from.checked_add_signed(delta).filter(|to| *to < rows.len()) else {
                return;
            };
            rows.swap(from, to);
        }
        self.place_rows();
        let buttons = imp
            .rows
            .borrow()
            .iter()
            .find(|row| row.key == *key)
            .map(|row| (row.up.clone(), row.down.clone()));
        if let Some((up, down)) = buttons {
            let (pressed, other) = if delta < 0 { (up, down) } else { (down, up) };
            if pressed.is_sensitive() {
                pressed.grab_focus();
            } else {
                other.grab_focus();
            }
        }
        self.emit_edited();
    }

    /// Puts the rows into the group in their order.
    fn place_rows(&self) {
        let imp = self.imp();
        let rows: Vec<adw::ActionRow> = imp.rows.borrow().iter().map(|r| r.row.clone()).collect();
        for row in &rows {
            if row.parent().is_some() {
                imp.order_group.remove(row);
            }
        }
        for row in &rows {
            imp.order_group.add(row);
        }
        self.update_order_state();
    }

    /// The ends' buttons go grey; the group says how the order works, or what waits.
    fn update_order_state(&self) {
        let imp = self.imp();
        let rows = imp.rows.borrow();
        for (index, row) in rows.iter().enumerate() {
            row.up.set_sensitive(index > 0);
            row.down.set_sensitive(index + 1 < rows.len());
        }
        let none_checked = !rows.is_empty() && !rows.iter().any(|row| row.check.is_active());
        let description = match imp.order_note.borrow().clone() {
            Some(note) => note,
            None if none_checked => {
                gettext("With no device checked, the machine starts from its first disk")
            }
            None => gettext("Checked devices are tried from top to bottom"),
        };
        imp.order_group.set_description(Some(&description));
    }
}

/// The firmware the row offers: the host's choices plus the current firmware; only the
/// current one when the host did not say.
fn firmware_offered(current: Firmware, choices: Option<FirmwareChoices>) -> Vec<Firmware> {
    let Some(choices) = choices else {
        return vec![current];
    };
    [
        Firmware::Bios,
        Firmware::Uefi { secure_boot: false },
        Firmware::Uefi { secure_boot: true },
    ]
    .into_iter()
    .filter(|firmware| {
        *firmware == current
            || match firmware {
                Firmware::Bios => choices.bios,
                Firmware::Uefi { secure_boot: false } => choices.uefi,
                Firmware::Uefi { secure_boot: true } => choices.uefi_secure_boot,
            }
    })
    .collect()
}

fn firmware_label(firmware: Firmware) -> String {
    match firmware {
        Firmware::Bios => gettext("BIOS"),
        Firmware::Uefi { secure_boot: false } => gettext("UEFI"),
        Firmware::Uefi { secure_boot: true } => gettext("UEFI with Secure Boot"),
    }
}

/// The devices the machine tries, first to last. A class order tries the first device of
/// each class (`hd` the first disk); no order at all is libvirt's default, `hd`.
fn tried_devices(order: &BootOrder, devices: &[BootDevice]) -> Vec<DeviceKey> {
    let known = |key: &DeviceKey| devices.iter().any(|device| device.key == *key);
    let mut tried: Vec<DeviceKey> = Vec::new();
    match order {
        BootOrder::PerDevice(keys) => {
            for key in keys {
                if known(key) && !tried.contains(key) {
                    tried.push(key.clone());
                }
            }
        }
        BootOrder::ByClass(classes) => {
            let default = ["hd".to_owned()];
            let classes = if classes.is_empty() {
                &default[..]
            } else {
                classes
            };
            for class in classes {
                let first = devices
                    .iter()
                    .find(|device| class_of(&device.kind) == Some(class.as_str()));
                if let Some(device) = first.filter(|d| !tried.contains(&d.key)) {
                    tried.push(device.key.clone());
                }
            }
        }
    }
    tried
}

/// The `<boot dev>` class that starts from a device of this kind.
fn class_of(kind: &DeviceKind) -> Option<&'static str> {
    match kind {
        DeviceKind::Disk | DeviceKind::Lun => Some("hd"),
        DeviceKind::Cdrom => Some("cdrom"),
        DeviceKind::Floppy => Some("fd"),
        DeviceKind::Nic => Some("network"),
        DeviceKind::Other(_) => None,
    }
}

/// What a user calls the device: kind, target (or MAC address) and the source's file
/// name, "CD-ROM sdb · debian.iso".
fn device_label(device: &BootDevice) -> String {
    let mut label = match &device.kind {
        DeviceKind::Disk => gettext("Disk"),
        DeviceKind::Cdrom => gettext("CD-ROM"),
        DeviceKind::Floppy => gettext("Floppy Disk"),
        DeviceKind::Lun => gettext("SCSI LUN"),
        DeviceKind::Nic => gettext("Network Card"),
        DeviceKind::Other(element) => match element.as_str() {
            "hostdev" => gettext("Host Device"),
            "redirdev" => gettext("Redirected USB Device"),
            "filesystem" => gettext("Shared Folder"),
            other => other.to_owned(),
        },
    };
    if !device.key.id.starts_with('#') {
        label.push(' ');
        label.push_str(&device.key.id);
    }
    if let Some(name) = device.source.as_deref().and_then(source_name) {
        label.push_str(" · ");
        label.push_str(name);
    }
    label
}

/// The last part of a path or `pool/volume`; a network's name as it is.
fn source_name(source: &str) -> Option<&str> {
    source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
}

/// The row's second line: the whole source path and the bus or model.
fn device_detail(device: &BootDevice) -> String {
    let path = device
        .source
        .as_deref()
        .filter(|source| source.contains('/'));
    path.into_iter()
        .chain(device.bus.as_deref())
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests;
