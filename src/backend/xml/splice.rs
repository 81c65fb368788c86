//! Edits to an existing XML document that keep every byte outside the edited spans.
//!
//! libvirt and virt-manager write XML Hangar does not fully model (unknown devices, other
//! tools' metadata, attributes of newer libvirt versions). Re-serialising a parsed document
//! would reorder, re-quote or drop them, so edits here are replacements of byte ranges of the
//! original text, found through roxmltree's positions, applied back to front.

use std::ops::Range;

use roxmltree::Node;

/// Escapes text for an attribute value or element content (both quote kinds, so the value
/// can sit between either).
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Replacements of byte ranges in one document, applied together by [`Splicer::finish`].
pub(crate) struct Splicer<'input> {
    text: &'input str,
    /// The document quotes attributes with `"`: new markup follows it.
    double_quotes: bool,
    /// (range, replacement, order of recording): inserts at one spot keep their order.
    edits: Vec<(Range<usize>, String, usize)>,
}

/// Two edits touched the same bytes: a bug in a builder, never the user's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlappingEdits;

impl<'input> Splicer<'input> {
    pub(crate) fn new(text: &'input str) -> Self {
        Self {
            text,
            double_quotes: first_attribute_quote(text) == Some('"'),
            edits: Vec::new(),
        }
    }

    /// Replaces `range` with `replacement`: markup whose attributes are delimited by `'`
    /// and whose values and text went through [`escape`] (so every `'` in it is a
    /// delimiter, changed to `"` in documents that use those).
    pub(crate) fn replace(&mut self, range: Range<usize>, replacement: impl Into<String>) {
        let order = self.edits.len();
        let mut replacement = replacement.into();
        if self.double_quotes {
            replacement = replacement.replace('\'', "\"");
        }
        self.edits.push((range, replacement, order));
    }

    pub(crate) fn insert(&mut self, at: usize, text: impl Into<String>) {
        self.replace(at..at, text);
    }

    /// The edited document, or an error when two edits overlap.
    pub(crate) fn finish(mut self) -> Result<String, OverlappingEdits> {
        self.edits
            .sort_by_key(|(range, _, order)| (range.start, range.end, *order));
        let mut output = String::with_capacity(self.text.len() + 256);
        let mut copied_to = 0;
        for (range, replacement, _) in &self.edits {
            if range.start < copied_to {
                return Err(OverlappingEdits);
            }
            output.push_str(&self.text[copied_to..range.start]);
            output.push_str(replacement);
            copied_to = range.end;
        }
        output.push_str(&self.text[copied_to..]);
        Ok(output)
    }

    /// Sets attribute `name` of `element`, keeping its quote character when it exists, else
    /// adding it at the end of the start tag.
    pub(crate) fn set_attribute(&mut self, element: Node, name: &str, value: &str) {
        match element
            .attributes()
            .find(|attribute| attribute.name() == name)
        {
            Some(attribute) => self.replace(attribute.range_value(), escape(value)),
            None => {
                let at = start_tag_attributes_end(self.text, element);
                self.insert(at, format!(" {name}='{}'", escape(value)));
            }
        }
    }

    pub(crate) fn remove_attribute(&mut self, element: Node, name: &str) {
        if let Some(attribute) = element.attributes().find(|a| a.name() == name) {
            let range = attribute.range();
            // Take the white space before it too, so no double spaces remain.
            let start = self.text[..range.start].trim_end().len();
            self.replace(start..range.end, "");
        }
    }

    /// Replaces the content of `element` with escaped `text`; `<x/>` becomes `<x>text</x>`.
    pub(crate) fn set_text(&mut self, element: Node, text: &str) {
        self.set_content(element, escape(text));
    }

    /// Replaces the content of `element` with `markup`, already escaped.
    pub(crate) fn set_content(&mut self, element: Node, markup: String) {
        let range = element.range();
        let tag = &self.text[range.clone()];
        let start_end = start_tag_end(self.text, element);
        if tag.ends_with("/>") && start_end == range.end {
            let name = qualified_name(self.text, element);
            let slash = self.text[..range.end - 1].trim_end().len() - 1;
            self.replace(slash..range.end, format!(">{markup}</{name}>"));
        } else {
            let end_tag_start = range.start + tag.rfind("</").unwrap_or(tag.len());
            self.replace(start_end..end_tag_start, markup);
        }
    }

    /// Removes `element` with the white space before it on its line.
    pub(crate) fn remove_element(&mut self, element: Node) {
        let range = element.range();
        let before = &self.text[..range.start];
        let trimmed = before.trim_end_matches([' ', '\t']);
        let start = if trimmed.ends_with('\n') {
            trimmed.len() - 1
        } else {
            range.start
        };
        self.replace(start..range.end, "");
    }

    /// Replaces `element` as a whole with `markup`.
    pub(crate) fn replace_element(&mut self, element: Node, markup: &str) {
        self.replace(element.range(), markup);
    }

    /// The indentation `parent`'s children have (or would have).
    pub(crate) fn child_indent_of(&self, parent: Node) -> String {
        child_indent(self.text, parent)
    }

    /// Adds `markup` as the last child of `parent`, indented like its children.
    pub(crate) fn append_child(&mut self, parent: Node, markup: &str) {
        let indent = child_indent(self.text, parent);
        let range = parent.range();
        let tag = &self.text[range.clone()];
        let start_end = start_tag_end(self.text, parent);
        if start_end == range.end {
            // `<parent/>`: open it up.
            let own = line_indent(self.text, range.start);
            let name = qualified_name(self.text, parent);
            let slash = self.text[..range.end - 1].trim_end().len() - 1;
            self.replace(
                slash..range.end,
                format!(">\n{indent}{markup}\n{own}</{name}>"),
            );
            return;
        }
        let end_tag_start = range.start + tag.rfind("</").unwrap_or(tag.len());
        let content = &self.text[start_end..end_tag_start];
        let last_child_end = content.trim_end().len() + start_end;
        self.insert(last_child_end, format!("\n{indent}{markup}"));
    }

    /// Adds `markup` as a sibling right after `sibling`, on a line of its own.
    pub(crate) fn insert_after(&mut self, sibling: Node, markup: &str) {
        let indent = line_indent(self.text, sibling.range().start);
        self.insert(sibling.range().end, format!("\n{indent}{markup}"));
    }

    /// Adds `markup` as a sibling right before `sibling`, on a line of its own.
    pub(crate) fn insert_before(&mut self, sibling: Node, markup: &str) {
        let start = sibling.range().start;
        let indent = line_indent(self.text, start);
        self.insert(start, format!("{markup}\n{indent}"));
    }
}

/// The quote character of the document's first attribute.
fn first_attribute_quote(text: &str) -> Option<char> {
    let document = roxmltree::Document::parse(text).ok()?;
    let element = document.descendants().find(|n| n.attributes().len() > 0)?;
    let attribute = element.attributes().next()?;
    text[..attribute.range_value().start].chars().last()
}

/// Where the start tag of `element` ends (just after its `>`).
fn start_tag_end(text: &str, element: Node) -> usize {
    let range = element.range();
    let mut quote = None;
    for (offset, character) in text[range.clone()].char_indices() {
        match (quote, character) {
            (None, '"' | '\'') => quote = Some(character),
            (Some(open), _) if open == character => quote = None,
            (None, '>') => return range.start + offset + 1,
            _ => {}
        }
    }
    range.end
}

/// Where a new attribute goes: before `>` or `/>` of the start tag, after the last one.
fn start_tag_attributes_end(text: &str, element: Node) -> usize {
    let end = start_tag_end(text, element) - 1;
    let before = &text[..end];
    let before = before.strip_suffix('/').unwrap_or(before);
    before.trim_end().len()
}

/// The element's name as written, with its prefix.
fn qualified_name(text: &str, element: Node) -> String {
    let start = element.range().start + 1;
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The white space that starts the line holding `position`.
fn line_indent(text: &str, position: usize) -> String {
    let line_start = text[..position].rfind('\n').map_or(0, |at| at + 1);
    text[line_start..position]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The indentation of `parent`'s children: that of its first child element, else its own
/// plus two spaces.
fn child_indent(text: &str, parent: Node) -> String {
    match parent.children().find(Node::is_element) {
        Some(child) => line_indent(text, child.range().start),
        None => format!("{}  ", line_indent(text, parent.range().start)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(xml: &str, change: impl Fn(&mut Splicer, roxmltree::Node)) -> String {
        let document = roxmltree::Document::parse(xml).expect("test XML");
        let mut splicer = Splicer::new(xml);
        change(&mut splicer, document.root_element());
        splicer.finish().expect("no overlap")
    }

    fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
        node.children()
            .find(|child| child.has_tag_name(name))
            .expect("child")
    }

    #[test]
    fn attributes_keep_their_quotes_and_neighbours() {
        let xml = "<a x=\"1\"  y='2' z = \"3\"/>";
        let out = edit(xml, |s, a| {
            s.set_attribute(a, "y", "<&>");
            s.remove_attribute(a, "z");
            s.set_attribute(a, "new", "v");
        });
        assert_eq!(out, "<a x=\"1\"  y='&lt;&amp;&gt;' new=\"v\"/>");
        let out = edit("<a x='1'/>", |s, a| s.set_attribute(a, "new", "it's"));
        assert_eq!(out, "<a x='1' new='it&apos;s'/>");
    }

    #[test]
    fn text_replaces_content_and_opens_empty_elements() {
        let xml = "<d>\n  <t a='1'>old</t>\n  <e/>\n  <f></f>\n</d>";
        let out = edit(xml, |s, d| {
            s.set_text(child(d, "t"), "new & <ok>");
            s.set_text(child(d, "e"), "x");
            s.set_text(child(d, "f"), "y");
        });
        assert_eq!(
            out,
            "<d>\n  <t a='1'>new &amp; &lt;ok&gt;</t>\n  <e>x</e>\n  <f>y</f>\n</d>"
        );
    }

    #[test]
    fn elements_are_removed_with_their_line_and_appended_indented() {
        let xml = "<d>\n    <a/>\n    <b>t</b>\n</d>";
        let out = edit(xml, |s, d| {
            s.remove_element(child(d, "a"));
            // Both insert at the end of <b>: they keep the order they were recorded in.
            s.insert_after(child(d, "b"), "<b2/>");
            s.append_child(d, "<c/>");
        });
        assert_eq!(out, "<d>\n    <b>t</b>\n    <b2/>\n    <c/>\n</d>");
        let out = edit("<d>\n  <os/>\n</d>", |s, d| {
            s.append_child(child(d, "os"), "<x/>")
        });
        assert_eq!(out, "<d>\n  <os>\n    <x/>\n  </os>\n</d>");
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let xml = "<a>text</a>";
        let document = roxmltree::Document::parse(xml).expect("xml");
        let mut splicer = Splicer::new(xml);
        splicer.set_text(document.root_element(), "x");
        splicer.replace_element(document.root_element(), "<b/>");
        assert_eq!(splicer.finish(), Err(OverlappingEdits));
    }
}
