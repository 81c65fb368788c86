//! The first page: where the system comes from. A local file is checked to be an ISO image
//! off the main thread, and its label kept to recognise the system.

use std::path::Path;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::{gio, glib};

use super::NewVmWizard;
use crate::backend::new_vm_form::{LocalIsoCheck, NewVmForm, SourceKind};
use crate::backend::osinfo;
use crate::backend::xml::host_path_problem;
use crate::i18n::gettext_f;

impl NewVmWizard {
    pub(super) fn connect_source_signals(&self) {
        let imp = self.imp();
        imp.iso_pool_row.connect_selected_notify(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| {
                if !wizard.imp().filling.get() {
                    wizard.fill_iso_volumes();
                    wizard.refresh();
                }
            }
        ));
        imp.local_iso_row.connect_changed(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| wizard.check_local_iso()
        ));
        imp.choose_iso_button.connect_clicked(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| wizard.choose_iso_file()
        ));
    }

    /// Reads the chosen file's ISO 9660 label on a worker thread; a later change of the path
    /// makes this answer stale, and it is dropped.
    fn check_local_iso(&self) {
        let imp = self.imp();
        let serial = imp.iso_check_serial.get() + 1;
        imp.iso_check_serial.set(serial);
        let path = imp.local_iso_row.text().trim().to_owned();
        let early = if path.is_empty() {
            Some(LocalIsoCheck::NotChecked)
        } else {
            host_path_problem(&path).map(LocalIsoCheck::Problem)
        };
        if let Some(check) = early {
            self.set_local_iso_check(check);
            return;
        }
        self.set_local_iso_check(LocalIsoCheck::Checking);
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            async move {
                let result =
                    gio::spawn_blocking(move || osinfo::iso9660_identity(Path::new(&path))).await;
                if wizard.imp().iso_check_serial.get() != serial {
                    return;
                }
                let check = match result {
                    Ok(Ok(identity)) => LocalIsoCheck::Iso(identity),
                    Ok(Err(error)) => LocalIsoCheck::Problem(error.to_string()),
                    Err(_) => LocalIsoCheck::Problem(gettext("The file could not be checked.")),
                };
                wizard.set_local_iso_check(check);
            }
        ));
    }

    fn set_local_iso_check(&self, check: LocalIsoCheck) {
        self.imp().form.borrow_mut().local_iso_check = check;
        self.refresh();
    }

    fn choose_iso_file(&self) {
        let chooser = gtk::FileChooserNative::new(
            Some(&gettext("Choose an ISO Image")),
            Some(self),
            gtk::FileChooserAction::Open,
            Some(&gettext("_Open")),
            Some(&gettext("_Cancel")),
        );
        chooser.set_modal(true);
        let filter = gtk::FileFilter::new();
        filter.set_name(Some(&gettext("ISO images")));
        filter.add_mime_type("application/x-cd-image");
        filter.add_suffix("iso");
        chooser.add_filter(&filter);
        chooser.connect_response(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |chooser, response| {
                let path = chooser.file().and_then(|file| file.path());
                if let (gtk::ResponseType::Accept, Some(path)) = (response, path) {
                    let imp = wizard.imp();
                    imp.local_iso_row.set_text(&path.to_string_lossy());
                    imp.touched
                        .borrow_mut()
                        .insert(crate::backend::xml::domain::VmField::InstallSource);
                }
                wizard.imp().chooser.take();
            }
        ));
        chooser.show();
        self.imp().chooser.replace(Some(chooser));
    }

    /// What the first page says under the choices: a check in progress, the ISO's label,
    /// or what a choice needs.
    pub(super) fn show_source_note(&self, form: &NewVmForm) {
        let note = match (form.source, &form.local_iso_check) {
            (SourceKind::LocalIso, LocalIsoCheck::Checking) => gettext("Reading the file…"),
            (SourceKind::LocalIso, LocalIsoCheck::Iso(identity))
                if !identity.volume_id.is_empty() =>
            {
                gettext_f(
                    "An ISO image labelled “{label}”. It is uploaded as “{volume}”.",
                    &[
                        ("label", &identity.volume_id),
                        ("volume", &form.upload_volume_name()),
                    ],
                )
            }
            (SourceKind::LocalIso, LocalIsoCheck::Iso(_)) => gettext_f(
                "An ISO image. It is uploaded as “{volume}”.",
                &[("volume", &form.upload_volume_name())],
            ),
            (SourceKind::PoolIso, _) if form.pool_iso.is_none() => gettext(
                "Choose a pool with an ISO image, or upload one from this computer with “Local ISO file”.",
            ),
            (SourceKind::Pxe, _) => gettext(
                "The machine boots from its network card: connect it to a network with a PXE server on the “Name and Devices” page.",
            ),
            _ => String::new(),
        };
        let label = &self.imp().source_note;
        label.set_label(&note);
        label.set_visible(!note.is_empty());
    }
}
