//! The wizard's widgets and its form: filling one from the other, the choices the host
//! offers, and which rows apply to the answers so far.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;

use super::NewVmWizard;
use crate::backend::new_vm_form::{
    default_vm_name, memory_label, DiskKind, NetworkKind, PoolVolume, SourceKind,
};
use crate::backend::xml::domain::{DomainType, VmField};
use crate::i18n::gettext_f;
use crate::ui::password_entry::read_password;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

impl NewVmWizard {
    /// The rows and buttons that stand for each field, marked when it has a problem.
    pub(super) fn field_widgets(&self) -> Vec<(VmField, Vec<gtk::Widget>)> {
        let imp = self.imp();
        let widgets = |list: &[&gtk::Widget]| list.iter().map(|w| (*w).clone()).collect();
        vec![
            (
                VmField::InstallSource,
                widgets(&[
                    imp.local_iso_row.upcast_ref(),
                    imp.url_row.upcast_ref(),
                    imp.import_row.upcast_ref(),
                ]),
            ),
            (VmField::Memory, widgets(&[imp.memory_row.upcast_ref()])),
            (VmField::Vcpus, widgets(&[imp.vcpus_row.upcast_ref()])),
            (
                VmField::Disk,
                widgets(&[
                    imp.existing_disk_row.upcast_ref(),
                    imp.disk_pool_row.upcast_ref(),
                ]),
            ),
            (
                VmField::DiskSize,
                widgets(&[imp.disk_size_row.upcast_ref()]),
            ),
            (VmField::Name, widgets(&[imp.name_row.upcast_ref()])),
            (
                VmField::Network,
                widgets(&[
                    imp.network_row.upcast_ref(),
                    imp.network_device_row.upcast_ref(),
                ]),
            ),
            (
                VmField::ConsoleListen,
                widgets(&[imp.vnc_listen_row.upcast_ref()]),
            ),
            (
                VmField::ConsolePassword,
                widgets(&[imp.vnc_password_row.upcast_ref()]),
            ),
        ]
    }

    pub(super) fn connect_field_signals(&self) {
        let imp = self.imp();
        let typed_fields: [(&adw::EntryRow, VmField); 8] = [
            (&imp.local_iso_row, VmField::InstallSource),
            (&imp.url_row, VmField::InstallSource),
            (&imp.import_row, VmField::InstallSource),
            (&imp.existing_disk_row, VmField::Disk),
            (&imp.name_row, VmField::Name),
            (&imp.network_device_row, VmField::Network),
            (&imp.vnc_listen_row, VmField::ConsoleListen),
            (imp.vnc_password_row.upcast_ref(), VmField::ConsolePassword),
        ];
        for (row, field) in typed_fields {
            row.connect_changed(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |_| wizard.field_changed(field)
            ));
        }
        let spins = [
            (&imp.memory_spin, VmField::Memory),
            (&imp.vcpus_spin, VmField::Vcpus),
            (&imp.disk_size_spin, VmField::DiskSize),
        ];
        for (spin, field) in spins {
            spin.connect_value_changed(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |_| wizard.field_changed(field)
            ));
        }
        let combos = [
            &imp.iso_volume_row,
            &imp.upload_pool_row,
            &imp.disk_pool_row,
            &imp.network_row,
            &imp.firmware_row,
            &imp.domain_type_row,
        ];
        for combo in combos {
            combo.connect_selected_notify(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |_| wizard.refresh()
            ));
        }
        let checks = [
            &imp.source_pool_check,
            &imp.source_local_check,
            &imp.source_url_check,
            &imp.source_import_check,
            &imp.source_pxe_check,
            &imp.disk_new_check,
            &imp.disk_existing_check,
            &imp.disk_none_check,
        ];
        for check in checks {
            check.connect_toggled(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |check| {
                    if check.is_active() {
                        wizard.refresh();
                    }
                }
            ));
        }
    }

    fn field_changed(&self, field: VmField) {
        if !self.imp().filling.get() {
            self.imp().touched.borrow_mut().insert(field);
        }
        self.refresh();
    }

    /// The pools, networks, firmware and accelerators the host offers, and its totals.
    pub(super) fn fill_choices(&self) {
        let imp = self.imp();
        let facts = self.facts();
        let active_pools: Vec<&str> = facts
            .pools
            .iter()
            .filter(|pool| pool.active)
            .map(|pool| pool.name.as_str())
            .collect();
        imp.filling.set(true);
        for row in [&imp.iso_pool_row, &imp.upload_pool_row, &imp.disk_pool_row] {
            row.set_model(Some(&gtk::StringList::new(&active_pools)));
        }
        self.fill_network_choices();
        let mut firmware = vec![gettext("BIOS")];
        if facts.has_uefi {
            firmware.push(gettext("UEFI"));
        }
        set_strings(&imp.firmware_row, &firmware);
        let mut accelerators = Vec::new();
        if facts.has_kvm {
            accelerators.push(gettext("KVM"));
        }
        accelerators.push(gettext("QEMU emulation"));
        set_strings(&imp.domain_type_row, &accelerators);
        imp.filling.set(false);

        let cpus = facts.cpus.max(1);
        imp.vcpus_spin.set_range(1.0, f64::from(cpus));
        imp.memory_row.set_subtitle(&gettext_f(
            "of {size} on the host",
            &[("size", &memory_label(facts.memory_mib))],
        ));
        imp.vcpus_row.set_subtitle(
            &ngettext(
                "of {count} processor on the host",
                "of {count} processors on the host",
                cpus,
            )
            .replace("{count}", &cpus.to_string()),
        );
        if !facts.has_uefi {
            imp.firmware_row
                .set_subtitle(&gettext("This host has no UEFI firmware."));
        }
        if !facts.has_kvm {
            imp.domain_type_row.set_subtitle(&gettext(
                "This host has no hardware acceleration: the machine is emulated, which is slow.",
            ));
        }
    }

    /// Writes the whole form into the widgets.
    pub(super) fn fill(&self) {
        let imp = self.imp();
        let form = imp.form.borrow().clone();
        imp.filling.set(true);
        let source_check = match form.source {
            SourceKind::PoolIso => &imp.source_pool_check,
            SourceKind::LocalIso => &imp.source_local_check,
            SourceKind::Url => &imp.source_url_check,
            SourceKind::Import => &imp.source_import_check,
            SourceKind::Pxe => &imp.source_pxe_check,
        };
        source_check.set_active(true);
        if let Some(chosen) = &form.pool_iso {
            select_string(&imp.iso_pool_row, &chosen.pool);
        }
        self.fill_iso_volumes();
        if let Some(chosen) = &form.pool_iso {
            select_string(&imp.iso_volume_row, &chosen.volume);
        }
        imp.local_iso_row.set_text(&form.local_iso_path);
        select_string(&imp.upload_pool_row, &form.upload_pool);
        imp.url_row.set_text(&form.url);
        imp.import_row.set_text(&form.import_path);
        let disk_check = match form.disk {
            DiskKind::New => &imp.disk_new_check,
            DiskKind::Existing => &imp.disk_existing_check,
            DiskKind::None => &imp.disk_none_check,
        };
        disk_check.set_active(true);
        select_string(&imp.disk_pool_row, &form.disk_pool);
        imp.existing_disk_row.set_text(&form.existing_disk_path);
        imp.name_row.set_text(&form.name);
        self.select_network(form.network, &form.virtual_network);
        imp.domain_type_row.set_selected(u32::from(
            form.domain_type == DomainType::Qemu && self.facts().has_kvm,
        ));
        imp.vnc_listen_row.set_text(&form.vnc_listen);
        imp.vnc_password_row.set_text(form.vnc_password.expose());
        imp.filling.set(false);
        self.fill_hardware();
    }

    /// Writes what the operating system decides: memory, processors, disk size, firmware.
    pub(super) fn fill_hardware(&self) {
        let imp = self.imp();
        let form = imp.form.borrow().clone();
        imp.filling.set(true);
        imp.memory_spin.set_value(form.memory_mib as f64);
        imp.vcpus_spin.set_value(f64::from(form.vcpus));
        imp.disk_size_spin.set_value(form.disk_size_gib as f64);
        imp.firmware_row.set_selected(u32::from(form.uefi));
        imp.filling.set(false);
        self.refresh();
    }

    /// The ISO volumes of the pool chosen on the first page.
    pub(super) fn fill_iso_volumes(&self) {
        let imp = self.imp();
        let pool = selected_string(&imp.iso_pool_row);
        let facts = self.facts();
        let volumes: Vec<&str> = facts
            .pools
            .iter()
            .filter(|candidate| candidate.name == pool)
            .flat_map(|candidate| candidate.volumes.iter())
            .filter(|volume| volume.is_iso())
            .map(|volume| volume.name.as_str())
            .collect();
        let filling = imp.filling.replace(true);
        imp.iso_volume_row
            .set_model(Some(&gtk::StringList::new(&volumes)));
        imp.filling.set(filling);
        let note = volumes
            .is_empty()
            .then(|| gettext("No ISO images in this pool."));
        imp.iso_volume_row
            .set_subtitle(note.as_deref().unwrap_or(""));
    }

    /// Offers a name from the system's short id, unless the user typed their own.
    pub(super) fn suggest_name(&self) {
        let imp = self.imp();
        let current = imp.name_row.text();
        if !current.is_empty() && current != *imp.suggested_name.borrow() {
            return;
        }
        let os = imp.form.borrow().os.clone();
        let name = default_vm_name(&os, &self.facts().domain_names);
        imp.suggested_name.replace(name.clone());
        imp.filling.set(true);
        imp.name_row.set_text(&name);
        imp.filling.set(false);
        self.refresh();
    }

    /// Reads every widget into the form.
    pub(super) fn read(&self) {
        let imp = self.imp();
        // Spin buttons keep typed digits until told to take them.
        for spin in [&imp.memory_spin, &imp.vcpus_spin, &imp.disk_size_spin] {
            spin.update();
        }
        let source = self.chosen_source();
        let disk = self.chosen_disk();
        let pool_iso = self.chosen_pool_iso();
        let network = self.chosen_network();
        let mut form = imp.form.borrow_mut();
        form.source = source;
        form.pool_iso = pool_iso;
        form.local_iso_path = imp.local_iso_row.text().into();
        form.upload_pool = selected_string(&imp.upload_pool_row);
        form.url = imp.url_row.text().into();
        form.import_path = imp.import_row.text().into();
        form.memory_mib = imp.memory_spin.value() as u64;
        form.vcpus = imp.vcpus_spin.value() as u32;
        form.disk = disk;
        form.disk_pool = selected_string(&imp.disk_pool_row);
        form.disk_size_gib = imp.disk_size_spin.value() as u64;
        form.existing_disk_path = imp.existing_disk_row.text().into();
        form.name = imp.name_row.text().into();
        let device: String = imp.network_device_row.text().into();
        match network {
            Some((NetworkKind::Bridge, _)) => form.bridge = device,
            Some((NetworkKind::Macvtap, _)) => form.macvtap_device = device,
            _ => {}
        }
        if let Some((kind, name)) = network {
            form.network = kind;
            form.virtual_network = name;
        }
        form.uefi = imp.firmware_row.selected() == 1;
        // KVM is offered first, and only where the host has it.
        let has_kvm = imp
            .facts
            .borrow()
            .as_ref()
            .is_some_and(|facts| facts.has_kvm);
        form.domain_type = if has_kvm && imp.domain_type_row.selected() == 0 {
            DomainType::Kvm
        } else {
            DomainType::Qemu
        };
        form.vnc_listen = imp.vnc_listen_row.text().into();
        form.vnc_password = read_password(&*imp.vnc_password_row);
    }

    fn chosen_source(&self) -> SourceKind {
        let imp = self.imp();
        let checks = [
            (&imp.source_pool_check, SourceKind::PoolIso),
            (&imp.source_local_check, SourceKind::LocalIso),
            (&imp.source_url_check, SourceKind::Url),
            (&imp.source_import_check, SourceKind::Import),
            (&imp.source_pxe_check, SourceKind::Pxe),
        ];
        checks
            .into_iter()
            .find(|(check, _)| check.is_active())
            .map_or(SourceKind::default(), |(_, kind)| kind)
    }

    fn chosen_disk(&self) -> DiskKind {
        let imp = self.imp();
        if imp.disk_existing_check.is_active() {
            DiskKind::Existing
        } else if imp.disk_none_check.is_active() {
            DiskKind::None
        } else {
            DiskKind::New
        }
    }

    fn chosen_pool_iso(&self) -> Option<PoolVolume> {
        let imp = self.imp();
        let pool = selected_string(&imp.iso_pool_row);
        let volume = selected_string(&imp.iso_volume_row);
        let facts = imp.facts.borrow();
        let path = facts
            .as_ref()?
            .pools
            .iter()
            .find(|candidate| candidate.name == pool)?
            .volumes
            .iter()
            .find(|candidate| candidate.name == volume)?
            .path
            .clone();
        Some(PoolVolume { pool, volume, path })
    }

    /// Shows the rows that apply to the answers, with what the host has to say about them.
    pub(super) fn show_relevant_rows(&self) {
        let imp = self.imp();
        let form = imp.form.borrow().clone();
        imp.pool_iso_group
            .set_visible(form.source == SourceKind::PoolIso);
        imp.local_iso_group
            .set_visible(form.source == SourceKind::LocalIso);
        imp.url_group.set_visible(form.source == SourceKind::Url);
        imp.import_group
            .set_visible(form.source == SourceKind::Import);
        self.show_source_note(&form);

        let importing = form.source == SourceKind::Import;
        imp.disk_choice_group.set_sensitive(!importing);
        let disk_note =
            importing.then(|| gettext("The imported disk image is the machine’s disk."));
        imp.disk_choice_group.set_description(disk_note.as_deref());
        let disk = form.disk_choice();
        imp.new_disk_group.set_visible(disk == DiskKind::New);
        imp.existing_disk_group
            .set_visible(disk == DiskKind::Existing);
        let free = self
            .facts()
            .pools
            .iter()
            .find(|pool| pool.name == form.disk_pool)
            .map(|pool| pool.available_bytes as f64 / GIB);
        let free_note =
            free.map(|gib| gettext_f("{size} GiB free", &[("size", &format!("{gib:.1}"))]));
        imp.disk_pool_row
            .set_subtitle(free_note.as_deref().unwrap_or(""));
        self.show_network_rows(&form);
    }
}

/// The text of a combo row's chosen item; empty when there is none.
pub(super) fn selected_string(row: &adw::ComboRow) -> String {
    row.selected_item()
        .and_downcast::<gtk::StringObject>()
        .map(|item| item.string().into())
        .unwrap_or_default()
}

/// Chooses the item with this text, if the row has one.
pub(super) fn select_string(row: &adw::ComboRow, text: &str) {
    let Some(model) = row.model() else { return };
    let position = (0..model.n_items()).find(|&index| {
        model
            .item(index)
            .and_downcast::<gtk::StringObject>()
            .is_some_and(|item| item.string() == text)
    });
    if let Some(position) = position {
        row.set_selected(position);
    }
}

pub(super) fn set_strings(row: &adw::ComboRow, strings: &[String]) {
    let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
    row.set_model(Some(&gtk::StringList::new(&strings)));
}
