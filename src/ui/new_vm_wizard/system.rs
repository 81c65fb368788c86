//! The second page: the operating system, recognised from a local ISO's identifiers where it
//! can be, else searched in osinfo-db; choosing one sets the hardware it wants.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::NewVmWizard;
use crate::backend::osinfo::{self, IsoIdentity, OsEntry};
use crate::i18n::gettext_f;

/// Rows shown at once; building thousands would make typing in the search slow.
const SHOWN_SYSTEMS: usize = 40;

impl NewVmWizard {
    pub(super) fn connect_system_signals(&self) {
        self.imp().os_search.connect_search_changed(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| wizard.fill_os_list()
        ));
        // Named from the start: GTK 4.8 exposes the pages not shown yet too, and a row
        // without a title would be a nameless list item to a screen reader.
        self.show_chosen_os();
    }

    /// Recognises the system from a new ISO image, and fills the list the first time.
    pub(super) fn enter_system_page(&self) {
        let imp = self.imp();
        let iso = imp.form.borrow().iso_identity().cloned();
        if iso != *imp.detected_iso.borrow() {
            imp.detected_iso.replace(iso.clone());
            if let Some(iso) = iso {
                self.detect_system(&iso);
            }
        }
        if imp.os_list.first_child().is_none() {
            self.fill_os_list();
        }
        self.show_chosen_os();
    }

    /// Recognises the system from every identifier of the ISO image, off the main thread
    /// (it compiles osinfo's patterns); the notes name its label.
    fn detect_system(&self, iso: &IsoIdentity) {
        let Some(catalog) = self.imp().catalog.borrow().clone() else {
            return;
        };
        let wizard = self.downgrade();
        let iso = iso.clone();
        glib::spawn_future_local(async move {
            let detected = {
                let iso = iso.clone();
                gio::spawn_blocking(move || osinfo::detect_from_iso(&iso, &catalog).cloned())
                    .await
                    .ok()
                    .flatten()
            };
            let Some(wizard) = wizard.upgrade() else {
                return;
            };
            // The user went back and chose another image meanwhile: that one decides.
            if wizard.imp().detected_iso.borrow().as_ref() != Some(&iso) {
                return;
            }
            wizard.show_detection(&iso, detected.as_ref());
            wizard.show_chosen_os();
        });
    }

    fn show_detection(&self, iso: &IsoIdentity, detected: Option<&OsEntry>) {
        let label = iso.volume_id.as_str();
        match detected {
            Some(entry) => {
                self.choose_os(entry);
                self.imp().os_note.replace(gettext_f(
                    "Recognised from the ISO image’s label “{label}”",
                    &[("label", label)],
                ));
            }
            None => {
                self.imp().os_note.replace(gettext_f(
                    "Not recognised from the ISO image’s label “{label}”: choose it below, or keep the generic settings.",
                    &[("label", label)],
                ));
            }
        }
    }

    fn fill_os_list(&self) {
        let imp = self.imp();
        let Some(catalog) = imp.catalog.borrow().clone() else {
            return;
        };
        let list = &imp.os_list;
        while let Some(row) = list.first_child() {
            list.remove(&row);
        }
        let query = imp.os_search.text();
        let found: Vec<&OsEntry> = osinfo::search(&catalog, &query)
            .into_iter()
            .filter(|entry| !entry.is_generic())
            .collect();
        // Generic fits any system, so it always comes first.
        let generic = catalog
            .iter()
            .find(|entry| entry.is_generic())
            .cloned()
            .unwrap_or_else(OsEntry::generic);
        list.append(&self.os_row(&generic));
        let shown: Vec<&OsEntry> = found.iter().take(SHOWN_SYSTEMS).copied().collect();
        for entry in &shown {
            list.append(&self.os_row(entry));
        }
        let more = if found.len() > shown.len() {
            gettext_f(
                "Showing {shown} of {count}. Type more of the name to find the others.",
                &[
                    ("shown", &shown.len().to_string()),
                    ("count", &found.len().to_string()),
                ],
            )
        } else if found.is_empty() {
            gettext("No system matches. The generic settings suit most systems.")
        } else {
            String::new()
        };
        imp.os_more_label.set_label(&more);
        imp.os_more_label.set_visible(!more.is_empty());
    }

    fn os_row(&self, entry: &OsEntry) -> adw::ActionRow {
        let subtitle = if entry.is_generic() {
            gettext("For systems not in the list")
        } else {
            entry.short_id.clone()
        };
        let row = adw::ActionRow::builder()
            .title(entry.name.as_str())
            .subtitle(subtitle.as_str())
            .use_markup(false)
            .activatable(true)
            .build();
        let short_id = entry.short_id.clone();
        row.connect_activated(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| {
                let catalog = wizard.imp().catalog.borrow().clone();
                let entry = catalog
                    .as_ref()
                    .and_then(|catalog| catalog.iter().find(|e| e.short_id == short_id));
                if let Some(entry) = entry {
                    wizard.choose_os(entry);
                    wizard
                        .imp()
                        .os_note
                        .replace(gettext("Chosen from the list"));
                    wizard.show_chosen_os();
                }
            }
        ));
        row
    }

    /// Takes the system and the hardware it wants; a suggested name follows it.
    fn choose_os(&self, entry: &OsEntry) {
        let has_uefi = self.facts().has_uefi;
        self.imp().form.borrow_mut().apply_os(entry, has_uefi);
        self.fill_hardware();
        self.suggest_name();
    }

    fn show_chosen_os(&self) {
        let imp = self.imp();
        let os = imp.form.borrow().os.clone();
        imp.chosen_os_row.set_title(&os.name);
        imp.chosen_os_row.set_subtitle(&imp.os_note.borrow());
    }
}
