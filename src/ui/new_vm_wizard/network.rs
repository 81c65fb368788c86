//! The network choice: the host's virtual networks (a stopped one can be started from
//! here), a bridge, a macvtap device, or none.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use super::fields::set_strings;
use super::NewVmWizard;
use crate::backend::new_vm_form::{NetworkKind, NewVmForm};
use crate::i18n::gettext_f;

impl NewVmWizard {
    pub(super) fn connect_network_signals(&self) {
        self.imp()
            .start_network_button
            .connect_clicked(glib::clone!(
                #[weak(rename_to = wizard)]
                self,
                move |_| wizard.start_network()
            ));
    }

    /// The host's virtual networks, marked when stopped, then the other kinds of link.
    pub(super) fn fill_network_choices(&self) {
        let imp = self.imp();
        let facts = self.facts();
        let mut choices: Vec<(NetworkKind, String)> = Vec::new();
        let mut labels = Vec::new();
        for network in &facts.networks {
            choices.push((NetworkKind::Virtual, network.name.clone()));
            labels.push(if network.active {
                network.name.clone()
            } else {
                gettext_f("{name} (not running)", &[("name", &network.name)])
            });
        }
        let others = [
            (NetworkKind::Bridge, gettext("Bridge on the host")),
            (NetworkKind::Macvtap, gettext("Host interface (macvtap)")),
            (NetworkKind::None, gettext("No network")),
        ];
        for (kind, label) in others {
            choices.push((kind, String::new()));
            labels.push(label);
        }
        imp.network_choices.replace(choices);
        set_strings(&imp.network_row, &labels);
    }

    pub(super) fn select_network(&self, kind: NetworkKind, name: &str) {
        let imp = self.imp();
        let position = imp
            .network_choices
            .borrow()
            .iter()
            .position(|(choice, choice_name)| {
                *choice == kind && (kind != NetworkKind::Virtual || choice_name == name)
            });
        if let Some(position) = position.and_then(|p| u32::try_from(p).ok()) {
            imp.network_row.set_selected(position);
        }
    }

    /// The kind of link and the virtual network's name, as chosen.
    pub(super) fn chosen_network(&self) -> Option<(NetworkKind, String)> {
        let imp = self.imp();
        let index = usize::try_from(imp.network_row.selected()).ok()?;
        imp.network_choices.borrow().get(index).cloned()
    }

    pub(super) fn show_network_rows(&self, form: &NewVmForm) {
        let imp = self.imp();
        let device_title = match form.network {
            NetworkKind::Bridge => Some(gettext("Bridge name, such as br0")),
            NetworkKind::Macvtap => Some(gettext("Host interface, such as eth0")),
            NetworkKind::Virtual | NetworkKind::None => None,
        };
        imp.network_device_row.set_visible(device_title.is_some());
        if let Some(title) = device_title {
            imp.network_device_row.set_title(&title);
        }
        let stopped = form.network == NetworkKind::Virtual
            && self
                .facts()
                .networks
                .iter()
                .any(|network| network.name == form.virtual_network && !network.active);
        imp.network_stopped_row.set_visible(stopped);
        if stopped {
            imp.network_stopped_row.set_title(&gettext_f(
                "The network “{name}” is not running. The machine cannot start until it is.",
                &[("name", &form.virtual_network)],
            ));
        }
    }

    /// Starts the chosen virtual network on the host, then shows it as running.
    fn start_network(&self) {
        let Some(host) = self.host() else { return };
        let name = self.imp().form.borrow().virtual_network.clone();
        let button = self.imp().start_network_button.get();
        button.set_sensitive(false);
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = wizard)]
            self,
            async move {
                let job_name = name.clone();
                let result = host
                    .run(move |session| {
                        session
                            .connection()
                            .lookup_network_by_name(&job_name)?
                            .create()?;
                        Ok(())
                    })
                    .await;
                button.set_sensitive(true);
                let imp = wizard.imp();
                match result {
                    Ok(()) => {
                        if let Some(facts) = imp.facts.borrow_mut().as_mut() {
                            for network in &mut facts.networks {
                                if network.name == name {
                                    network.active = true;
                                }
                            }
                        }
                        imp.filling.set(true);
                        wizard.fill_network_choices();
                        wizard.select_network(NetworkKind::Virtual, &name);
                        imp.filling.set(false);
                        imp.network_stopped_row.set_subtitle("");
                        wizard.refresh();
                    }
                    Err(error) => imp.network_stopped_row.set_subtitle(&error.user_message()),
                }
            }
        ));
    }
}
