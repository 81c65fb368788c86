//! The XML section: the domain's saved config as text, saved whole after libvirt validates
//! it, with a diff of what changes shown first (`backend::domain::xml_editor`).
//!
//! The editor compares against the XML it last showed (`opened`). When the page reads the
//! domain again while the user has unsaved edits, their text stays and the newer XML is
//! offered instead of replacing it; saving over a change made elsewhere is refused by the
//! backend and handled the same way.

use std::cell::{Cell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;
use sourceview5::prelude::*;

use super::xml_review;
use crate::backend::domain::xml_editor::{InvalidXml, Saved, XmlEditor, XmlSaveError};
use crate::backend::error::BackendError;
use crate::i18n::gettext_f;
use crate::model::Domain;

/// The tag marking the line libvirt's parser stopped at.
const ERROR_LINE_TAG: &str = "error-line";

/// What a save came back with: the outcome, and the config as stored afterwards.
type SaveResult = Result<(Result<Saved, XmlSaveError>, String), BackendError>;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/xml.ui")]
    pub struct XmlSection {
        #[template_child]
        pub(super) view: TemplateChild<sourceview5::View>,
        #[template_child]
        pub(super) outside_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub(super) outside_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) load_current_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) message_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub(super) message_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) discard_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) review_button: TemplateChild<gtk::Button>,
        pub(super) buffer: RefCell<Option<sourceview5::Buffer>>,
        pub(super) domain: RefCell<Option<Domain>>,
        /// The saved XML the text is compared with and saved over.
        pub(super) opened: RefCell<Option<String>>,
        /// A newer saved XML, offered while the user's edits are kept.
        pub(super) outside: RefCell<Option<String>>,
        pub(super) saving: Cell<bool>,
        /// Set while the text is replaced from code, so it does not count as an edit.
        pub(super) loading: Cell<bool>,
        pub(super) saved: RefCell<Vec<Box<dyn Fn()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for XmlSection {
        const NAME: &'static str = "HangarXmlSection";
        type Type = super::XmlSection;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            sourceview5::init();
            sourceview5::View::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for XmlSection {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().setup();
        }
    }

    impl WidgetImpl for XmlSection {}
    impl BoxImpl for XmlSection {}
}

glib::wrapper! {
    pub struct XmlSection(ObjectSubclass<imp::XmlSection>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl XmlSection {
    /// The domain whose XML is edited (saving runs on its host's worker).
    pub fn set_domain(&self, domain: &Domain) {
        self.imp().domain.replace(Some(domain.clone()));
    }

    /// Shows the saved config as the page read it. Unsaved edits are kept: the newer XML
    /// is then offered beside them rather than dropping them.
    pub fn show_xml(&self, config_xml: &str) {
        let imp = self.imp();
        let opened = imp.opened.borrow().clone();
        let edited = opened.as_ref().is_some_and(|opened| *opened != self.text());
        if !edited {
            self.load(config_xml);
        } else if opened.as_deref() == Some(config_xml) {
            self.hide_outside();
        } else {
            self.offer_outside(
                config_xml,
                &gettext(
                    "The saved XML changed while you edited it. Your text is kept; load the current XML to see the change (your edits are then dropped).",
                ),
            );
        }
    }

    /// Calls `saved` after the XML was saved, so the page reads the domain again.
    pub fn connect_saved(&self, saved: impl Fn() + 'static) {
        self.imp().saved.borrow_mut().push(Box::new(saved));
    }

    fn setup(&self) {
        let imp = self.imp();
        let buffer = sourceview5::Buffer::new(None);
        buffer.set_language(
            sourceview5::LanguageManager::default()
                .language("xml")
                .as_ref(),
        );
        buffer.set_highlight_matching_brackets(true);
        let error_tag = gtk::TextTag::builder()
            .name(ERROR_LINE_TAG)
            .paragraph_background("rgba(224, 27, 36, 0.25)")
            .build();
        buffer.tag_table().add(&error_tag);
        imp.view.set_buffer(Some(&buffer));
        imp.buffer.replace(Some(buffer.clone()));
        let style = adw::StyleManager::default();
        follow_dark(&buffer, style.is_dark());
        style.connect_dark_notify(glib::clone!(
            #[weak]
            buffer,
            move |style| follow_dark(&buffer, style.is_dark())
        ));
        buffer.connect_changed(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.edited()
        ));
        imp.review_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.review()
        ));
        imp.discard_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.discard()
        ));
        imp.load_current_button.connect_clicked(glib::clone!(
            #[weak(rename_to = section)]
            self,
            move |_| section.load_current()
        ));
    }

    fn buffer(&self) -> Option<sourceview5::Buffer> {
        self.imp().buffer.borrow().clone()
    }

    /// The text in the editor.
    fn text(&self) -> String {
        self.buffer()
            .map(|buffer| {
                let (start, end) = buffer.bounds();
                buffer.text(&start, &end, true).to_string()
            })
            .unwrap_or_default()
    }

    /// Shows `xml` as the saved config, dropping edits and offers of a newer one.
    fn load(&self, xml: &str) {
        let imp = self.imp();
        imp.opened.replace(Some(xml.to_owned()));
        self.hide_outside();
        if self.text() != xml {
            if let Some(buffer) = self.buffer() {
                imp.loading.set(true);
                buffer.begin_irreversible_action();
                buffer.set_text(xml);
                buffer.end_irreversible_action();
                buffer.place_cursor(&buffer.start_iter());
                imp.loading.set(false);
            }
        }
        self.update_buttons();
    }

    fn edited(&self) {
        if self.imp().loading.get() {
            return;
        }
        self.clear_error_line();
        self.show_message(None, false);
        self.update_buttons();
    }

    fn update_buttons(&self) {
        let imp = self.imp();
        let edited = imp.opened.borrow().as_deref() != Some(self.text().as_str());
        let idle = !imp.saving.get();
        imp.review_button.set_sensitive(edited && idle);
        imp.discard_button
            .set_sensitive((edited || imp.outside.borrow().is_some()) && idle);
        imp.view.set_editable(idle);
    }

    /// Back to the saved XML: the newest one known.
    fn discard(&self) {
        if self.imp().outside.borrow().is_some() {
            self.load_current();
            return;
        }
        let opened = self.imp().opened.borrow().clone();
        if let Some(opened) = opened {
            self.load(&opened);
        }
        self.show_message(None, false);
    }

    fn load_current(&self) {
        let current = self.imp().outside.take();
        if let Some(current) = current {
            self.load(&current);
        }
        self.show_message(None, false);
    }

    fn offer_outside(&self, current_xml: &str, why: &str) {
        let imp = self.imp();
        imp.outside.replace(Some(current_xml.to_owned()));
        imp.outside_label.set_label(why);
        imp.outside_revealer.set_visible(true);
        imp.outside_revealer.set_reveal_child(true);
        self.update_buttons();
    }

    fn hide_outside(&self) {
        let imp = self.imp();
        imp.outside.replace(None);
        imp.outside_revealer.set_reveal_child(false);
        // Hidden at once: a folded revealer would still take the box's spacing.
        imp.outside_revealer.set_visible(false);
    }

    /// Shows `text` under the editor, as an error or as a confirmation; `None` hides it.
    fn show_message(&self, text: Option<&str>, error: bool) {
        let label = &self.imp().message_label;
        label.set_label(text.unwrap_or_default());
        label.set_css_classes(if error { &["error"] } else { &["success"] });
        let revealer = &self.imp().message_revealer;
        revealer.set_visible(text.is_some());
        revealer.set_reveal_child(text.is_some());
    }

    /// Shows the diff of the edits; its Save saves them.
    fn review(&self) {
        let Some(opened) = self.imp().opened.borrow().clone() else {
            return;
        };
        let text = self.text();
        let diff = XmlEditor::with_xml("", opened).diff(&text);
        let parent = self.root().and_downcast::<gtk::Window>();
        xml_review::present(
            parent.as_ref(),
            &diff,
            glib::clone!(
                #[weak(rename_to = section)]
                self,
                move || section.save(text)
            ),
        );
    }

    fn save(&self, text: String) {
        let imp = self.imp();
        let Some(domain) = imp.domain.borrow().clone() else {
            return;
        };
        let Some(host) = domain.host() else {
            self.show_message(
                Some(&gettext(
                    "The XML was not saved: the host is not connected.",
                )),
                true,
            );
            return;
        };
        let Some(opened) = imp.opened.borrow().clone() else {
            return;
        };
        let uuid = domain.uuid();
        imp.saving.set(true);
        self.show_message(Some(&gettext("Saving…")), false);
        self.update_buttons();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = section)]
            self,
            async move {
                let result = host
                    .run(move |session| {
                        let mut editor = XmlEditor::with_xml(&uuid, opened);
                        let outcome = editor.save(session, &text);
                        Ok((outcome, editor.opened_xml().to_owned()))
                    })
                    .await;
                section.imp().saving.set(false);
                section.saved(result);
            }
        ));
    }

    fn saved(&self, result: SaveResult) {
        match result {
            Ok((Ok(_), stored_xml)) => {
                self.load(&stored_xml);
                self.show_message(Some(&gettext("XML saved.")), false);
                for saved in self.imp().saved.borrow().iter() {
                    saved();
                }
            }
            Ok((Err(XmlSaveError::ChangedOutside { current_xml }), _)) => {
                self.show_message(None, false);
                self.offer_outside(
                    &current_xml,
                    &gettext(
                        "Nothing was saved: the virtual machine was changed elsewhere while you edited its XML. Your text is kept; load the current XML to see the change (your edits are then dropped).",
                    ),
                );
            }
            Ok((Err(error @ XmlSaveError::Invalid(InvalidXml { line, .. })), _)) => {
                self.update_buttons();
                self.show_message(Some(&error.to_string()), true);
                if let Some(line) = line {
                    self.mark_line(line);
                }
            }
            Ok((Err(XmlSaveError::Host(error)), _)) | Err(error) => {
                self.update_buttons();
                self.show_message(
                    Some(&gettext_f(
                        "The XML was not saved. {reason}",
                        &[("reason", &error.user_message())],
                    )),
                    true,
                );
            }
        }
    }

    /// Puts the cursor on 1-based `line` and marks it until the next edit.
    fn mark_line(&self, line: u32) {
        let Some(buffer) = self.buffer() else { return };
        let Ok(index) = i32::try_from(line.saturating_sub(1)) else {
            return;
        };
        let Some(start) = buffer.iter_at_line(index) else {
            return;
        };
        let mut end = start;
        end.forward_line();
        buffer.apply_tag_by_name(ERROR_LINE_TAG, &start, &end);
        buffer.place_cursor(&start);
        let view = &self.imp().view;
        view.scroll_to_mark(&buffer.get_insert(), 0.1, false, 0.0, 0.0);
        view.grab_focus();
    }

    fn clear_error_line(&self) {
        if let Some(buffer) = self.buffer() {
            let (start, end) = buffer.bounds();
            buffer.remove_tag_by_name(ERROR_LINE_TAG, &start, &end);
        }
    }
}

/// Colours the XML with GtkSourceView's Adwaita scheme matching the light or dark style.
fn follow_dark(buffer: &sourceview5::Buffer, dark: bool) {
    let id = if dark { "Adwaita-dark" } else { "Adwaita" };
    let schemes = sourceview5::StyleSchemeManager::default();
    if let Some(scheme) = schemes.scheme(id).or_else(|| schemes.scheme("classic")) {
        buffer.set_style_scheme(Some(&scheme));
    }
}
