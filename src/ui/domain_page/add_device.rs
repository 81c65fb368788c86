//! The Add Device dialog of the Devices section: a list of device kinds down the side and
//! the chosen kind's form, filled from the host's lists (`backend::host::choices`, read on
//! the host's worker when the dialog opens). Add attaches the device to the running machine
//! and the saved configuration where the kind allows, to the saved configuration alone
//! while the machine is off; a device the running machine cannot take is offered to the
//! saved settings only. Errors stay in the dialog as sentences; success closes it.

mod disk;
mod hostdev;
mod nic;
mod other;
mod rows;

use std::cell::RefCell;
use std::rc::Rc;

use adw::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::domain::device_apply::{DeviceApplyError, DeviceScope};
use crate::backend::domain::device_list::{read_devices, DeviceSettings};
use crate::backend::domain::reading::DomainReading;
use crate::backend::host::choices::{read_choices, HostChoices};
use crate::backend::host::new_device::{add_device, NewDevice};
use crate::model::Domain;

/// What the forms know about the domain.
pub(super) struct Context {
    pub name: String,
    pub shared_memory: bool,
    /// The disk targets in use (`vda`, `sda`), saved and live.
    pub targets: Vec<String>,
}

impl Context {
    fn new(domain: &Domain, reading: &DomainReading) -> Self {
        let mut targets = Vec::new();
        for xml in [Some(&reading.config_xml), reading.live_xml.as_ref()]
            .into_iter()
            .flatten()
        {
            for device in read_devices(xml).unwrap_or_default() {
                if let DeviceSettings::Disk(disk) = device.settings {
                    if !targets.contains(&disk.target_dev) {
                        targets.push(disk.target_dev);
                    }
                }
            }
        }
        Self {
            name: domain.name(),
            shared_memory: reading.config.shared_memory,
            targets,
        }
    }
}

/// One kind's form.
pub(super) trait Form {
    fn widget(&self) -> gtk::Widget;
    /// Fills the lists from the host's choices (read after the dialog opens).
    fn show_choices(&self, _choices: &HostChoices) {}
    /// The device as the form describes it, or a sentence saying what is missing.
    fn device(&self, choices: &HostChoices) -> Result<NewDevice, String>;
}

struct Kind {
    id: &'static str,
    label: String,
    form: Rc<dyn Form>,
}

fn kinds(context: &Rc<Context>) -> Vec<Kind> {
    let kind = |id, label: String, form: Rc<dyn Form>| Kind { id, label, form };
    vec![
        kind("disk", gettext("Disk"), disk::DiskForm::new(context, false)),
        kind(
            "cdrom",
            gettext("CD-ROM"),
            disk::DiskForm::new(context, true),
        ),
        kind("nic", gettext("Network Card"), nic::NicForm::new()),
        kind(
            "usb",
            gettext("USB Device"),
            hostdev::HostdevForm::new(true),
        ),
        kind(
            "pci",
            gettext("PCI Device"),
            hostdev::HostdevForm::new(false),
        ),
        kind(
            "filesystem",
            gettext("Shared Folder"),
            other::FolderForm::new(context),
        ),
        kind("tpm", gettext("TPM"), other::TpmForm::new()),
        kind(
            "rng",
            gettext("Random Number Generator"),
            other::RngForm::new(),
        ),
        kind("watchdog", gettext("Watchdog"), other::WatchdogForm::new()),
        kind("sound", gettext("Sound"), other::SoundForm::new()),
        kind(
            "channel",
            gettext("Guest Agent Channel"),
            other::ChannelForm::new(),
        ),
    ]
}

struct Dialog {
    window: adw::Window,
    add_button: gtk::Button,
    spinner: gtk::Spinner,
    error_revealer: gtk::Revealer,
    error_label: gtk::Label,
    config_only_button: gtk::Button,
    kinds_list: gtk::ListBox,
    kinds: Vec<Kind>,
    choices: RefCell<Option<HostChoices>>,
    domain: Domain,
    /// The machine ran when the dialog opened: a device it refuses can still be saved.
    running: bool,
    done: Box<dyn Fn()>,
}

/// Opens the dialog over `parent` for `domain` as `reading` shows it; `done` runs after a
/// device was added.
pub fn present(
    parent: &impl IsA<gtk::Widget>,
    domain: &Domain,
    reading: &DomainReading,
    done: impl Fn() + 'static,
) {
    let builder =
        gtk::Builder::from_resource("/io/github/hangarvm/Hangar/domain_page/add_device.ui");
    let (
        Some(window),
        Some(add_button),
        Some(cancel_button),
        Some(spinner),
        Some(error_revealer),
        Some(error_label),
        Some(config_only_button),
        Some(kinds_list),
        Some(forms),
        Some(title),
    ) = (
        builder.object::<adw::Window>("window"),
        builder.object::<gtk::Button>("add_button"),
        builder.object::<gtk::Button>("cancel_button"),
        builder.object::<gtk::Spinner>("spinner"),
        builder.object::<gtk::Revealer>("error_revealer"),
        builder.object::<gtk::Label>("error_label"),
        builder.object::<gtk::Button>("config_only_button"),
        builder.object::<gtk::ListBox>("kinds"),
        builder.object::<gtk::Stack>("forms"),
        builder.object::<adw::WindowTitle>("window_title"),
    )
    else {
        return;
    };
    window.set_transient_for(
        parent
            .as_ref()
            .root()
            .and_downcast::<gtk::Window>()
            .as_ref(),
    );
    title.set_subtitle(&domain.name());
    let context = Rc::new(Context::new(domain, reading));
    let kinds = kinds(&context);
    for kind in &kinds {
        let label = gtk::Label::builder().label(&kind.label).xalign(0.0).build();
        kinds_list.append(&label);
        forms.add_named(&kind.form.widget(), Some(kind.id));
    }
    let dialog = Rc::new(Dialog {
        window: window.clone(),
        add_button: add_button.clone(),
        spinner,
        error_revealer,
        error_label,
        config_only_button: config_only_button.clone(),
        kinds_list: kinds_list.clone(),
        kinds,
        choices: RefCell::new(None),
        domain: domain.clone(),
        running: reading.live.is_some(),
        done: Box::new(done),
    });
    kinds_list.connect_row_selected(glib::clone!(
        #[weak]
        dialog,
        #[weak]
        forms,
        move |_, row| {
            let Some(kind) = row.and_then(|row| dialog.kinds.get(row.index().max(0) as usize))
            else {
                return;
            };
            forms.set_visible_child_name(kind.id);
            dialog.show_error(None, false);
        }
    ));
    kinds_list.select_row(kinds_list.row_at_index(0).as_ref());
    cancel_button.connect_clicked(glib::clone!(
        #[weak]
        window,
        move |_| window.close()
    ));
    add_button.connect_clicked(glib::clone!(
        #[weak]
        dialog,
        move |_| dialog.add(DeviceScope::LiveAndConfig)
    ));
    config_only_button.connect_clicked(glib::clone!(
        #[weak]
        dialog,
        move |_| dialog.add(DeviceScope::ConfigOnly)
    ));
    let escape = gtk::Shortcut::new(
        gtk::ShortcutTrigger::parse_string("Escape"),
        Some(gtk::CallbackAction::new(|widget, _| {
            if let Some(window) = widget.downcast_ref::<gtk::Window>() {
                window.close();
            }
            glib::Propagation::Stop
        })),
    );
    let shortcuts = gtk::ShortcutController::new();
    shortcuts.add_shortcut(escape);
    window.add_controller(shortcuts);
    // The dialog owns itself while it is open.
    let kept = RefCell::new(Some(dialog.clone()));
    window.connect_destroy(move |_| {
        kept.borrow_mut().take();
    });
    crate::ui::a11y::name_controls(&window);
    window.set_default_widget(Some(&add_button));
    window.present();
    dialog.read_choices();
}

impl Dialog {
    fn read_choices(self: &Rc<Self>) {
        let Some(host) = self.domain.host() else {
            return;
        };
        self.busy(true);
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            async move {
                let read = host.run(read_choices).await;
                dialog.busy(false);
                let choices = match read {
                    Ok(choices) => choices,
                    Err(error) => {
                        dialog.show_error(
                            Some(&crate::i18n::gettext_f(
                                "The host’s storage, networks and devices could not be read: {reason}",
                                &[("reason", &error.user_message())],
                            )),
                            false,
                        );
                        HostChoices::default()
                    }
                };
                for kind in &dialog.kinds {
                    kind.form.show_choices(&choices);
                }
                dialog.choices.replace(Some(choices));
                crate::ui::a11y::name_controls(&dialog.window);
            }
        ));
    }

    fn busy(&self, busy: bool) {
        self.spinner.set_spinning(busy);
        self.add_button.set_sensitive(!busy);
        self.config_only_button.set_sensitive(!busy);
        self.kinds_list.set_sensitive(!busy);
    }

    fn show_error(&self, message: Option<&str>, offer_config_only: bool) {
        self.error_label.set_label(message.unwrap_or_default());
        self.error_revealer.set_reveal_child(message.is_some());
        self.config_only_button.set_visible(offer_config_only);
    }

    fn current(&self) -> Option<&Kind> {
        let row = self.kinds_list.selected_row()?;
        self.kinds.get(row.index().max(0) as usize)
    }

    fn add(self: &Rc<Self>, scope: DeviceScope) {
        let Some(kind) = self.current() else { return };
        let Some(host) = self.domain.host() else {
            return;
        };
        let device = {
            let choices = self.choices.borrow();
            kind.form
                .device(choices.as_ref().unwrap_or(&HostChoices::default()))
        };
        let device = match device {
            Ok(device) => device,
            Err(message) => {
                self.show_error(Some(&message), false);
                return;
            }
        };
        self.show_error(None, false);
        self.busy(true);
        let uuid = self.domain.uuid();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = dialog)]
            self,
            async move {
                let result = host
                    .run(move |session| Ok(add_device(session, &uuid, &device, scope)))
                    .await;
                dialog.busy(false);
                match result {
                    Ok(Ok(_applied)) => {
                        dialog.window.close();
                        (dialog.done)();
                    }
                    Ok(Err(error)) => dialog.refused(&error, scope),
                    Err(error) => dialog.show_error(Some(&error.user_message()), false),
                }
            }
        ));
    }

    fn refused(&self, error: &DeviceApplyError, scope: DeviceScope) {
        // The running machine refused (it cannot take this kind, or its bus no hot-plug):
        // the saved settings can still take it.
        let refused_live = error.cannot_change_live()
            || (self.running && matches!(error, DeviceApplyError::Refused { .. }));
        let offer = scope == DeviceScope::LiveAndConfig && refused_live;
        let mut message = error.message();
        if offer {
            message.push(' ');
            message.push_str(&gettext(
                "You can add it to the saved settings only: the machine gets it after it shuts down and starts again.",
            ));
        }
        self.show_error(Some(&message), offer);
    }
}
