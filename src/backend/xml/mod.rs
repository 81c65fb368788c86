//! The XML libvirt is given to create virtual machines, volumes, storage pools and networks,
//! from plain descriptions the creation wizards fill in, with the checks behind their fields.
//!
//! Everything here is pure: no libvirt calls, no files, so it is tested without a host.

use std::io;

use gettextrs::gettext;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

pub mod device_xml;
pub mod domain;
pub mod domain_edit;
pub mod network;
pub mod pool;
pub mod snapshot;
pub(crate) mod splice;
pub mod volume;

/// One problem with one field of a wizard, as a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError<F> {
    pub field: F,
    pub message: String,
}

impl<F> FieldError<F> {
    pub(crate) fn new(field: F, message: String) -> Self {
        Self { field, message }
    }
}

/// Why a libvirt object name (virtual machine, volume, pool, network) cannot be used.
pub(crate) fn object_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some(gettext("Enter a name."))
    } else if name.contains('/') {
        Some(gettext("A name cannot contain “/”."))
    } else if name.starts_with('.') {
        Some(gettext("A name cannot start with “.”."))
    } else {
        control_character_problem(name)
    }
}

/// XML cannot carry most control characters, and libvirt refuses line breaks in names.
pub(crate) fn control_character_problem(text: &str) -> Option<String> {
    text.chars()
        .any(char::is_control)
        .then(|| gettext("It cannot contain line breaks or other control characters."))
}

/// Why a path on the host cannot be used: libvirt wants absolute paths.
pub(crate) fn host_path_problem(path: &str) -> Option<String> {
    if path.trim().is_empty() {
        Some(gettext("Enter a path."))
    } else if !path.starts_with('/') {
        Some(gettext("The path must start with “/”."))
    } else {
        control_character_problem(path)
    }
}

/// Why a host name or IP address cannot be used.
pub(crate) fn host_name_problem(host: &str) -> Option<String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if host.is_empty() {
        Some(gettext("Enter a host name or address."))
    } else if !host.chars().all(valid_char) {
        Some(gettext("This is not a valid host name or address."))
    } else {
        None
    }
}

/// One XML element under construction. `render` escapes every attribute value and text, so
/// names and paths typed by the user cannot change the document's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    name: &'static str,
    attributes: Vec<(&'static str, String)>,
    text: Option<String>,
    children: Vec<Element>,
}

impl Element {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            attributes: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    pub(crate) fn attr(mut self, name: &'static str, value: impl ToString) -> Self {
        self.attributes.push((name, value.to_string()));
        self
    }

    pub(crate) fn attr_if(self, name: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.attr(name, value),
            None => self,
        }
    }

    pub(crate) fn text(mut self, text: impl ToString) -> Self {
        self.text = Some(text.to_string());
        self
    }

    pub(crate) fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    pub(crate) fn children(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children.extend(children);
        self
    }

    /// An element holding only text: `<name>text</name>`.
    pub(crate) fn with_text(name: &'static str, text: impl ToString) -> Self {
        Self::new(name).text(text)
    }

    /// The element as an indented document ending with a line break.
    pub(crate) fn render(&self) -> String {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        // A Vec's io::Write never fails, so there is no error to report.
        let _ = self.write_to(&mut writer);
        let mut xml = String::from_utf8_lossy(&writer.into_inner()).into_owned();
        xml.push('\n');
        xml
    }

    fn write_to(&self, writer: &mut Writer<Vec<u8>>) -> io::Result<()> {
        let mut start = BytesStart::new(self.name);
        for (name, value) in &self.attributes {
            start.push_attribute((*name, value.as_str()));
        }
        if self.text.is_none() && self.children.is_empty() {
            return writer.write_event(Event::Empty(start));
        }
        writer.write_event(Event::Start(start))?;
        if let Some(text) = &self.text {
            writer.write_event(Event::Text(BytesText::new(text)))?;
        }
        for child in &self.children {
            child.write_to(writer)?;
        }
        writer.write_event(Event::End(BytesEnd::new(self.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_escapes_attributes_and_text() {
        let xml = Element::new("disk")
            .attr("name", "a \"b\" & 'c' <d>")
            .child(Element::with_text("name", "web & \"db\" <α>"))
            .render();
        assert_eq!(
            xml,
            "<disk name=\"a &quot;b&quot; &amp; &apos;c&apos; &lt;d&gt;\">\n  \
             <name>web &amp; &quot;db&quot; &lt;α&gt;</name>\n</disk>\n"
        );
        let parsed = roxmltree::Document::parse(&xml).unwrap();
        let root = parsed.root_element();
        assert_eq!(root.attribute("name"), Some("a \"b\" & 'c' <d>"));
        assert_eq!(
            root.first_element_child().unwrap().text(),
            Some("web & \"db\" <α>")
        );
    }

    #[test]
    fn empty_elements_close_themselves() {
        assert_eq!(Element::new("acpi").render(), "<acpi/>\n");
    }

    #[test]
    fn object_names_follow_libvirt_rules() {
        assert!(object_name_problem("web & \"db\" <α>").is_none());
        assert!(object_name_problem("").is_some());
        assert!(object_name_problem("  ").is_some());
        assert!(object_name_problem("a/b").is_some());
        assert!(object_name_problem(".hidden").is_some());
        assert!(object_name_problem("two\nlines").is_some());
    }

    #[test]
    fn host_paths_must_be_absolute() {
        assert!(host_path_problem("/var/lib/libvirt/images/a b.iso").is_none());
        assert!(host_path_problem("images/a.iso").is_some());
        assert!(host_path_problem("").is_some());
    }

    #[test]
    fn host_names_allow_names_and_addresses() {
        assert!(host_name_problem("nas.local").is_none());
        assert!(host_name_problem("192.168.1.5").is_none());
        assert!(host_name_problem("fd00::5").is_none());
        assert!(host_name_problem("").is_some());
        assert!(host_name_problem("nas local").is_some());
        assert!(host_name_problem("a/b").is_some());
    }
}
