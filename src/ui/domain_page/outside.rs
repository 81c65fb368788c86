//! Changes made elsewhere while the page is open: the host reports a new definition (an
//! event), and the page reads the domain again without losing the user's edits.

use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;
use gtk::prelude::*;

use super::DomainPage;
use crate::backend::domain::conflict;
use crate::backend::domain::model::DomainModel;
use crate::backend::domain::reading::{read_domain, DomainReading};
use crate::backend::error::BackendError;
use crate::model::Domain;

impl DomainPage {
    /// Reads the domain again whenever its host reports that its definition changed.
    pub(super) fn follow_definition(&self, domain: &Domain) {
        let Some(host) = domain.host() else { return };
        let uuid = domain.uuid();
        let handler = host.connect_local(
            "domain-definition-changed",
            false,
            glib::clone!(
                #[weak(rename_to = page)]
                self,
                #[upgrade_or]
                None,
                move |values| {
                    let changed = values.get(1).and_then(|value| value.get::<String>().ok());
                    if changed.as_deref() == Some(uuid.as_str()) {
                        page.changed_elsewhere();
                    }
                    None
                }
            ),
        );
        self.imp().host_handler.replace(Some((host, handler)));
    }

    /// The domain changed outside the page. Without edits the page just shows it; with
    /// edits, they stay, and a field changed both here and there shows the new value and
    /// says so.
    fn changed_elsewhere(&self) {
        if self.imp().applying.get() {
            return;
        }
        if self.edited_fields().is_empty() {
            self.reload(None);
            return;
        }
        let Some(domain) = self.domain() else { return };
        let Some(host) = domain.host() else { return };
        let Some(edited) = self.edited() else { return };
        let Some(opened_xml) = self.imp().opened.borrow().as_ref().map(|o| o.xml.clone()) else {
            return;
        };
        let uuid = domain.uuid();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = page)]
            self,
            async move {
                let reading = host.run(move |session| read_domain(session, &uuid)).await;
                page.show_outside_change(reading, &opened_xml, edited);
            }
        ));
    }

    fn show_outside_change(
        &self,
        reading: Result<DomainReading, BackendError>,
        opened_xml: &str,
        edited: DomainModel,
    ) {
        let outside = reading
            .as_ref()
            .ok()
            .and_then(|reading| conflict::check(opened_xml, &edited, &reading.config_xml).ok());
        let conflicts = outside.map(|o| o.conflicts).unwrap_or_default();
        if !conflicts.is_empty() {
            self.show_notice(Some(&changed_elsewhere_notice()));
        }
        self.show_reading(reading, Some((edited, conflicts)));
    }
}

pub(super) fn changed_elsewhere_notice() -> String {
    gettext(
        "The virtual machine was changed elsewhere while this page was open. Its new values are shown; check them and apply again.",
    )
}
