//! The XML section: the domain's saved config as text, saved back whole after libvirt
//! validates it (`VIR_DOMAIN_DEFINE_VALIDATE`), never over someone else's change.
//!
//! Saving re-reads the config just before writing; if it is no longer the text the editor
//! was opened with, nothing is written and the new text is handed back, so the page can
//! say so and show it. Invalid XML is refused with libvirt's reason (and the line, when the
//! text is not even well-formed); libvirt writes nothing then.

use std::fmt;

use gettextrs::gettext;
use virt::sys;

use super::apply::read_config_xml;
use super::xml_diff::{line_diff, DiffLine};
use crate::backend::error::{BackendError, ErrorKind};
use crate::backend::libvirt::session::HostSession;
use crate::i18n::gettext_f;

/// Unchanged lines shown around each change in the diff before saving.
pub const DIFF_CONTEXT_LINES: usize = 3;

/// One domain's config XML as the editor opened it.
#[derive(Debug, Clone)]
pub struct XmlEditor {
    uuid: String,
    opened_xml: String,
}

/// Why the XML was not saved.
#[derive(Debug, Clone)]
pub enum XmlSaveError {
    /// The saved config changed since the editor opened it: here it is now.
    ChangedOutside { current_xml: String },
    /// libvirt (or the editor, for a changed or missing UUID) refused the XML.
    Invalid(InvalidXml),
    /// Anything else: the connection, permissions, the domain is gone.
    Host(BackendError),
}

/// An XML text refused as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidXml {
    /// libvirt's reason, as libvirt wrote it.
    pub reason: String,
    /// 1-based line of the first well-formedness error, when there is one.
    pub line: Option<u32>,
    /// libvirt's error, when libvirt refused it.
    pub libvirt: Option<BackendError>,
}

/// What saving did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The text was the one opened: nothing to write.
    Unchanged,
    /// libvirt accepted and stored the new config.
    Written,
}

impl XmlEditor {
    /// Reads the domain's saved config (with secrets when this connection may read them).
    pub fn open(session: &HostSession, uuid: &str) -> Result<Self, BackendError> {
        Ok(Self::with_xml(uuid, read_config_xml(session, uuid)?))
    }

    /// An editor over config XML read elsewhere with [`read_config_xml`].
    pub fn with_xml(uuid: &str, opened_xml: String) -> Self {
        Self {
            uuid: uuid.to_owned(),
            opened_xml,
        }
    }

    /// The text the editor shows and compares against before saving.
    pub fn opened_xml(&self) -> &str {
        &self.opened_xml
    }

    /// What saving `new_xml` would change, `diff -u` style.
    pub fn diff(&self, new_xml: &str) -> Vec<DiffLine> {
        line_diff(&self.opened_xml, new_xml, DIFF_CONTEXT_LINES)
    }

    /// Saves `new_xml` as the domain's config. On success the editor holds the config as
    /// libvirt stored it (libvirt adds defaults and reorders), ready for the next edit.
    pub fn save(&mut self, session: &HostSession, new_xml: &str) -> Result<Saved, XmlSaveError> {
        let current_xml = read_config_xml(session, &self.uuid).map_err(XmlSaveError::Host)?;
        if current_xml != self.opened_xml {
            return Err(XmlSaveError::ChangedOutside { current_xml });
        }
        if new_xml == self.opened_xml {
            return Ok(Saved::Unchanged);
        }
        let line = first_syntax_error_line(new_xml);
        if line.is_none() {
            self.check_same_domain(new_xml)?;
        }
        let flags = sys::VIR_DOMAIN_DEFINE_VALIDATE;
        match session.connection().define_domain_xml_flags(new_xml, flags) {
            Ok(_) => {}
            Err(error) => return Err(refusal(BackendError::from(error), line)),
        }
        self.opened_xml = read_config_xml(session, &self.uuid).map_err(XmlSaveError::Host)?;
        Ok(Saved::Written)
    }

    /// The XML must keep this domain's UUID: without it libvirt would define a second
    /// machine (or refuse with a confusing name clash) instead of changing this one.
    fn check_same_domain(&self, new_xml: &str) -> Result<(), XmlSaveError> {
        let uuid = uuid_of(new_xml);
        if uuid.as_deref().map(str::to_ascii_lowercase) == Some(self.uuid.to_ascii_lowercase()) {
            return Ok(());
        }
        let reason = gettext_f(
            "The XML must keep the virtual machine’s UUID {uuid}: change the machine, not replace it.",
            &[("uuid", &self.uuid)],
        );
        Err(XmlSaveError::Invalid(InvalidXml {
            reason,
            line: None,
            libvirt: None,
        }))
    }
}

/// The line of the first well-formedness error, from the XML parser's position (libvirt
/// puts it only inside its message text).
fn first_syntax_error_line(xml: &str) -> Option<u32> {
    roxmltree::Document::parse(xml)
        .err()
        .map(|error| error.pos().row)
}

fn uuid_of(xml: &str) -> Option<String> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let uuid = document
        .root_element()
        .children()
        .find(|node| node.has_tag_name("uuid"))?;
    Some(uuid.text()?.trim().to_owned())
}

/// libvirt's XML codes mean "this text is refused"; anything else is a host failure.
fn refusal(error: BackendError, line: Option<u32>) -> XmlSaveError {
    let xml_codes = [
        sys::VIR_ERR_XML_ERROR,
        sys::VIR_ERR_XML_DETAIL,
        sys::VIR_ERR_XML_INVALID_SCHEMA,
        sys::VIR_ERR_CONFIG_UNSUPPORTED,
        sys::VIR_ERR_INVALID_ARG,
        sys::VIR_ERR_OPERATION_INVALID,
        sys::VIR_ERR_NO_SUPPORT,
    ];
    if xml_codes.iter().any(|code| error.is_libvirt(*code)) {
        let error = error.with_kind(ErrorKind::InvalidInput);
        XmlSaveError::Invalid(InvalidXml {
            reason: error.detail.trim().to_owned(),
            line,
            libvirt: Some(error),
        })
    } else {
        XmlSaveError::Host(error)
    }
}

impl fmt::Display for XmlSaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::ChangedOutside { .. } => gettext(
                "The virtual machine’s settings were changed elsewhere while you edited its XML. Nothing was saved; the editor shows the new XML.",
            ),
            Self::Invalid(InvalidXml {
                reason,
                line: Some(line),
                ..
            }) => gettext_f(
                "The XML was not saved. Line {line}: {reason}",
                &[("line", &line.to_string()), ("reason", reason)],
            ),
            Self::Invalid(InvalidXml { reason, .. }) => gettext_f(
                "The XML was not saved: {reason}",
                &[("reason", reason)],
            ),
            Self::Host(error) => error.user_message(),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for XmlSaveError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::error::LibvirtCode;

    #[test]
    fn the_line_of_a_syntax_error_is_found() {
        let xml = "<domain>\n  <vcpu>1</vcp>\n</domain>";
        assert_eq!(first_syntax_error_line(xml), Some(2));
        assert_eq!(first_syntax_error_line("<domain/>"), None);
    }

    #[test]
    fn the_uuid_is_read() {
        let xml =
            "<domain><name>a</name><uuid> 2556c43b-d4c5-4933-9a37-5aede64311c7 </uuid></domain>";
        assert_eq!(
            uuid_of(xml).as_deref(),
            Some("2556c43b-d4c5-4933-9a37-5aede64311c7")
        );
        assert_eq!(uuid_of("<domain/>"), None);
    }

    #[test]
    fn a_changed_uuid_is_refused_before_libvirt() {
        let editor = XmlEditor::with_xml("2556c43b-d4c5-4933-9a37-5aede64311c7", String::new());
        let other = "<domain><uuid>00000000-0000-0000-0000-000000000001</uuid></domain>";
        assert!(matches!(
            editor.check_same_domain(other),
            Err(XmlSaveError::Invalid(InvalidXml { libvirt: None, .. }))
        ));
        assert!(editor.check_same_domain("<domain/>").is_err());
        let same = "<domain><uuid>2556C43B-D4C5-4933-9A37-5AEDE64311C7</uuid></domain>";
        assert!(editor.check_same_domain(same).is_ok());
    }

    #[test]
    fn schema_errors_are_refusals_and_lost_connections_are_not() {
        let error = |number: u32| BackendError {
            kind: ErrorKind::Other,
            detail: "reason ".into(),
            libvirt: Some(LibvirtCode {
                number: number as i32,
                domain: sys::VIR_FROM_DOMAIN as i32,
            }),
        };
        let refused = refusal(error(sys::VIR_ERR_XML_INVALID_SCHEMA), Some(4));
        let XmlSaveError::Invalid(invalid) = &refused else {
            panic!("not a refusal: {refused:?}");
        };
        assert_eq!(invalid.reason, "reason");
        assert_eq!(invalid.line, Some(4));
        assert!(refused.to_string().contains("Line 4: reason"));
        assert!(matches!(
            refusal(error(sys::VIR_ERR_INVALID_CONN), None),
            XmlSaveError::Host(_)
        ));
    }

    #[test]
    fn the_diff_compares_with_the_opened_text() {
        let editor = XmlEditor::with_xml("u", "<domain>\n<vcpu>1</vcpu>\n</domain>\n".into());
        let diff = editor.diff("<domain>\n<vcpu>2</vcpu>\n</domain>\n");
        let texts: Vec<String> = diff.iter().map(DiffLine::to_text).collect();
        assert_eq!(
            texts,
            [
                " <domain>",
                "-<vcpu>1</vcpu>",
                "+<vcpu>2</vcpu>",
                " </domain>"
            ]
        );
    }
}
