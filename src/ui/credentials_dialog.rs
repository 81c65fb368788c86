//! Asks for a host's user name and password while its worker waits for the answer.

use std::cell::RefCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::login::{CredentialPrompt, PromptAnswer};

use super::password_entry::take_password;
use crate::i18n::gettext_f;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/credentials_dialog.ui")]
    pub struct CredentialsDialog {
        #[template_child]
        pub(super) username_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub(super) password_row: TemplateChild<adw::PasswordEntryRow>,
        #[template_child]
        pub(super) remember_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) remember_switch: TemplateChild<gtk::Switch>,
        pub(super) prompt: RefCell<Option<CredentialPrompt>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for CredentialsDialog {
        const NAME: &'static str = "HangarCredentialsDialog";
        type Type = super::CredentialsDialog;
        type ParentType = adw::MessageDialog;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for CredentialsDialog {
        fn constructed(&self) {
            self.parent_constructed();
            crate::ui::a11y::name_controls(&*self.obj());
        }

        fn dispose(&self) {
            // Closing the window any way at all must release the waiting worker.
            if let Some(prompt) = self.prompt.take() {
                prompt.answer(None);
            }
        }
    }

    impl WidgetImpl for CredentialsDialog {}
    impl WindowImpl for CredentialsDialog {}
    impl MessageDialogImpl for CredentialsDialog {
        fn response(&self, response: &str) {
            self.obj().finish(response == "connect");
            self.parent_response(response);
        }
    }
}

glib::wrapper! {
    pub struct CredentialsDialog(ObjectSubclass<imp::CredentialsDialog>)
        @extends gtk::Widget, gtk::Window, adw::MessageDialog,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::Root,
                    gtk::ShortcutManager;
}

impl CredentialsDialog {
    /// A dialog answering `prompt`; present it, and the worker gets the answer on close.
    pub fn new(parent: &impl IsA<gtk::Window>, prompt: CredentialPrompt) -> Self {
        let dialog: Self = glib::Object::builder()
            .property("transient-for", parent)
            .build();
        dialog.show_prompt(&prompt);
        dialog.imp().prompt.replace(Some(prompt));
        dialog
    }

    fn show_prompt(&self, prompt: &CredentialPrompt) {
        let imp = self.imp();
        self.set_heading(Some(&gettext_f(
            "Log In to {host}",
            &[("host", &prompt.host_name)],
        )));
        let body = match &prompt.reason {
            Some(reason) => format!("{reason} {}", gettext("Try again.")),
            None => gettext("The host asks for a user name and password."),
        };
        self.set_body(&body);
        let username = prompt.username.clone().unwrap_or_default();
        imp.username_row.set_text(&username);
        imp.remember_row.set_visible(prompt.offer_remember);
        imp.remember_switch
            .set_active(prompt.offer_remember && prompt.remember_default);
        let focus: gtk::Widget = if username.is_empty() {
            imp.username_row.get().upcast()
        } else {
            imp.password_row.get().upcast()
        };
        focus.grab_focus();
    }

    fn finish(&self, connect: bool) {
        let imp = self.imp();
        let Some(prompt) = imp.prompt.take() else {
            return;
        };
        // The typed password does not linger in the widget once handed over (or dismissed).
        let password = take_password(&*imp.password_row);
        let answer = connect.then(|| PromptAnswer {
            username: imp.username_row.text().to_string(),
            password,
            remember: imp.remember_switch.is_active(),
        });
        prompt.answer(answer);
    }
}
