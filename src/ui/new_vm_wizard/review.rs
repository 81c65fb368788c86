//! The last page: a summary, the XML (editable), and Create, which uploads a local ISO
//! as a job (listed in the Jobs popover, its progress shown here, cancellable), then defines and starts the machine on the host.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::{gettext, ngettext};
use gtk::glib;
use zeroize::Zeroizing;

use super::NewVmWizard;
use crate::backend::create::{self, NewVolume};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::jobs::upload::{upload_work, UploadSpec};
use crate::backend::libvirt::session::HostSession;
use crate::backend::new_vm_form::{memory_label, source_label, NewVmForm, SourceKind, Upload};
use crate::backend::xml::domain::{
    review_xml, unmask_review_xml, DomainType, Firmware, InstallSource, NetworkChoice, NewVmSpec,
    StorageChoice,
};
use crate::i18n::gettext_f;
use crate::model::{Host, JobItem, JobList, JobOutcome};

/// What Create sends to the host's worker.
struct CreateJob {
    spec: NewVmSpec,
    /// The user's own XML, defined instead of the spec's (with the real VNC password).
    xml: Option<Zeroizing<String>>,
    upload: Option<Upload>,
    volume: Option<NewVolume>,
    start: bool,
}

impl NewVmWizard {
    pub(super) fn connect_review_signals(&self) {
        let imp = self.imp();
        imp.xml_view.buffer().connect_changed(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| {
                let imp = wizard.imp();
                if !imp.filling.get() {
                    imp.xml_edited.set(true);
                    imp.reset_xml_button.set_visible(true);
                }
            }
        ));
        imp.reset_xml_button.connect_clicked(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |_| {
                wizard.imp().xml_edited.set(false);
                wizard.show_generated_xml();
            }
        ));
        imp.cancel_upload_button.connect_clicked(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            move |button| {
                if let Some(cancelled) = wizard.imp().busy.borrow().as_ref() {
                    cancelled.store(true, Ordering::Relaxed);
                    button.set_sensitive(false);
                }
                if let Some(job) = wizard.imp().upload_job.borrow().as_ref() {
                    job.cancel();
                }
            }
        ));
    }

    pub(super) fn enter_review_page(&self) {
        let imp = self.imp();
        self.read();
        imp.failure_group.set_visible(false);
        let form = imp.form.borrow().clone();
        let mut rows = imp.summary_rows.borrow_mut();
        for row in rows.drain(..) {
            imp.summary_group.remove(&row);
        }
        for (title, value) in summary(&form) {
            let row = adw::ActionRow::builder()
                .title(title.as_str())
                .subtitle(value.as_str())
                .use_markup(false)
                .build();
            row.add_css_class("property");
            imp.summary_group.add(&row);
            rows.push(row);
        }
        drop(rows);
        if !imp.xml_edited.get() {
            self.show_generated_xml();
        }
    }

    fn show_generated_xml(&self) {
        let imp = self.imp();
        let spec = imp.form.borrow().spec();
        let text = match review_xml(&spec) {
            Ok(xml) => xml,
            Err(error) => error.to_string(),
        };
        imp.filling.set(true);
        imp.xml_view.buffer().set_text(text.trim_end());
        imp.filling.set(false);
        imp.reset_xml_button.set_visible(false);
    }

    /// Uploads (if needed), defines and starts the machine on the host's worker; the wizard
    /// closes when it is there, or says why not and keeps every answer.
    pub(super) fn create(&self) {
        let imp = self.imp();
        self.refresh();
        let Some(host) = self.host() else { return };
        if imp.busy.borrow().is_some() || !self.page_is_complete(super::WizardPage::Review) {
            return;
        }
        let form = imp.form.borrow().clone();
        let buffer = imp.xml_view.buffer();
        let spec = form.spec();
        let job = CreateJob {
            xml: imp.xml_edited.get().then(|| {
                let edited = buffer.text(&buffer.start_iter(), &buffer.end_iter(), false);
                unmask_review_xml(&edited, &spec)
            }),
            spec,
            upload: form.upload(),
            volume: form.new_volume(),
            start: imp.start_switch.is_active(),
        };
        let cancelled = Arc::new(AtomicBool::new(false));
        self.set_busy(Some(cancelled.clone()), job.upload.as_ref());
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            async move {
                let uploaded = match &job.upload {
                    Some(upload) => match wizard.upload_as_job(&host, upload).await {
                        Ok(path) => Some(path),
                        Err(error) => {
                            wizard.finish(Err(error), cancelled.load(Ordering::Relaxed));
                            return;
                        }
                    },
                    None => None,
                };
                let result = host
                    .run(move |session| create_on_host(session, &job, uploaded.as_deref()))
                    .await;
                wizard.finish(result, false);
            }
        ));
    }

    /// Uploads the ISO as a job (its own connection, listed in the Jobs popover) while this
    /// page shows its progress; the volume's path once it is there.
    async fn upload_as_job(&self, host: &Host, upload: &Upload) -> Result<String, BackendError> {
        let file = Path::new(&upload.local_path)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| upload.volume.clone());
        let title = gettext_f(
            "Uploading {file} to {host}",
            &[("file", &file), ("host", &host.name())],
        );
        let spec = UploadSpec {
            local: upload.local_path.clone().into(),
            pool: upload.pool.clone(),
            volume: upload.volume.clone(),
            iso: true,
        };
        let item = JobList::get().start(host, &title, upload_work(spec));
        self.imp().upload_job.replace(Some(item.clone()));
        let (ended, end) = async_channel::bounded(1);
        let handlers = [
            item.connect_fraction_notify(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |item| wizard.show_upload_progress(item)
            )),
            item.connect_status_notify(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |item| wizard.show_upload_progress(item)
            )),
            item.connect_ended(move |_| {
                let _ = ended.try_send(());
            }),
        ];
        if item.outcome().is_none() {
            let _ = end.recv().await;
        }
        for handler in handlers {
            item.disconnect(handler);
        }
        self.imp().upload_job.replace(None);
        match item.outcome() {
            Some(JobOutcome::Finished(path)) => Ok(path),
            Some(JobOutcome::Failed(reason)) => {
                Err(BackendError::new(ErrorKind::InvalidInput, reason))
            }
            Some(JobOutcome::Cancelled) | None => {
                if let Some(cancelled) = self.imp().busy.borrow().as_ref() {
                    cancelled.store(true, Ordering::Relaxed);
                }
                Err(BackendError::new(
                    ErrorKind::Other,
                    gettext("the upload was cancelled"),
                ))
            }
        }
    }

    fn finish(&self, result: Result<String, BackendError>, cancelled: bool) {
        let imp = self.imp();
        self.set_busy(None, None);
        match result {
            Ok(uuid) => {
                self.emit_created(&uuid);
                self.close();
            }
            Err(error) => {
                let message = if cancelled {
                    gettext("Upload cancelled. Nothing was left on the host.")
                } else {
                    error.user_message()
                };
                imp.failure_row.set_title(&message);
                imp.failure_group.set_visible(true);
                self.refresh();
            }
        }
    }

    fn set_busy(&self, cancelled: Option<Arc<AtomicBool>>, upload: Option<&Upload>) {
        let imp = self.imp();
        let busy = cancelled.is_some();
        imp.busy.replace(cancelled);
        imp.back_button.set_sensitive(!busy);
        imp.xml_view.set_editable(!busy);
        imp.create_button.set_sensitive(!busy);
        show_busy(&imp.create_button, busy);
        imp.failure_group.set_visible(false);
        imp.upload_group.set_visible(upload.is_some());
        imp.cancel_upload_button.set_sensitive(true);
        imp.upload_progress.set_fraction(0.0);
        if let Some(upload) = upload {
            imp.upload_row.set_title(&gettext_f(
                "Uploading “{volume}” to “{pool}”",
                &[("volume", &upload.volume), ("pool", &upload.pool)],
            ));
            imp.upload_row.set_subtitle("");
        }
    }

    fn show_upload_progress(&self, job: &JobItem) {
        let imp = self.imp();
        imp.upload_progress.set_fraction(job.fraction());
        if job.fraction() >= 1.0 {
            imp.upload_row
                .set_subtitle(&gettext("Uploaded. Creating the machine…"));
            imp.cancel_upload_button.set_sensitive(false);
        } else {
            imp.upload_row.set_subtitle(&job.status());
        }
    }
}

/// Runs on the host's worker once the upload job is done: define (and start). An uploaded
/// image is removed again when the machine cannot be created, so a failure leaves nothing
/// behind.
fn create_on_host(
    session: &HostSession,
    job: &CreateJob,
    uploaded: Option<&str>,
) -> Result<String, BackendError> {
    let result = match &job.xml {
        Some(xml) => create::create_vm_from_xml(session, xml, job.volume.as_ref(), job.start),
        None => create::create_vm(session, &job.spec, job.volume.as_ref(), job.start),
    };
    if let (Err(_), Some(path)) = (&result, uploaded) {
        let _ = create::delete_volume(session, path);
    }
    result
}

/// The review's lines: what the machine will be, in words.
fn summary(form: &NewVmForm) -> Vec<(String, String)> {
    let spec = form.spec();
    let processors = ngettext("{count} processor", "{count} processors", spec.vcpus)
        .replace("{count}", &spec.vcpus.to_string());
    vec![
        (gettext("Name"), spec.name.clone()),
        (gettext("Operating system"), spec.os.name.clone()),
        (gettext("Install from"), install_summary(form, &spec)),
        (
            gettext("Memory and processors"),
            format!("{}, {processors}", memory_label(spec.memory_mib)),
        ),
        (gettext("Disk"), storage_summary(&spec.storage)),
        (gettext("Network"), network_summary(&spec.network)),
        (gettext("Firmware"), firmware_summary(&spec)),
        (gettext("Run with"), accelerator_summary(spec.domain_type)),
        (gettext("Console"), console_summary(&spec)),
    ]
}

fn install_summary(form: &NewVmForm, spec: &NewVmSpec) -> String {
    let detail = match &spec.install {
        InstallSource::IsoVolume { pool, volume, .. } => format!("{pool} / {volume}"),
        InstallSource::LocalIso { path, pool, volume } => gettext_f(
            "{path}, uploaded to “{pool}” as “{volume}”",
            &[("path", path), ("pool", pool), ("volume", volume)],
        ),
        InstallSource::NetworkTree { url } => url.clone(),
        InstallSource::ImportDisk { path, .. } => path.clone(),
        InstallSource::Pxe => return source_label(SourceKind::Pxe),
    };
    format!("{}: {detail}", source_label(form.source))
}

fn storage_summary(storage: &StorageChoice) -> String {
    match storage {
        StorageChoice::NewVolume {
            pool,
            name,
            size_gib,
            ..
        } => gettext_f(
            "New {size} GiB disk “{name}” in “{pool}”",
            &[
                ("size", &size_gib.to_string()),
                ("name", name),
                ("pool", pool),
            ],
        ),
        StorageChoice::ExistingVolume { path, .. } => path.clone(),
        StorageChoice::None => gettext("None"),
    }
}

fn network_summary(network: &NetworkChoice) -> String {
    match network {
        NetworkChoice::Virtual { name } => gettext_f("Virtual network “{name}”", &[("name", name)]),
        NetworkChoice::Bridge { name } => gettext_f("Bridge “{name}”", &[("name", name)]),
        NetworkChoice::Macvtap { device } => {
            gettext_f("Host interface “{device}” (macvtap)", &[("device", device)])
        }
        NetworkChoice::None => gettext("None"),
    }
}

fn firmware_summary(spec: &NewVmSpec) -> String {
    let firmware = match spec.firmware {
        Firmware::Bios => gettext("BIOS"),
        Firmware::Uefi { secure_boot: false } => gettext("UEFI"),
        Firmware::Uefi { secure_boot: true } => gettext("UEFI with Secure Boot"),
    };
    if spec.tpm {
        format!("{firmware}, {}", gettext("TPM 2.0"))
    } else {
        firmware
    }
}

fn accelerator_summary(domain_type: DomainType) -> String {
    match domain_type {
        DomainType::Kvm => gettext("KVM"),
        DomainType::Qemu => gettext("QEMU emulation"),
    }
}

fn console_summary(spec: &NewVmSpec) -> String {
    let listen = &spec.console.listen;
    if spec.console.password.is_some() {
        gettext_f("VNC on {address}, with a password", &[("address", listen)])
    } else {
        gettext_f("VNC on {address}", &[("address", listen)])
    }
}

/// A spinner and “Creating…” on the button while the host works, its label afterwards.
fn show_busy(button: &gtk::Button, busy: bool) {
    if !busy {
        button.set_label(&gettext("Create"));
        return;
    }
    let spinner = gtk::Spinner::new();
    spinner.start();
    let content = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    content.append(&spinner);
    content.append(&gtk::Label::new(Some(&gettext("Creating…"))));
    button.set_child(Some(&content));
}
