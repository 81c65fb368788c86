//! Changes to an existing domain's XML: the edited fields of a [`DomainModel`] written into
//! the XML it was read from, every byte outside the edited elements kept as it was.
//!
//! The details page edits a copy of the model; `apply_edits(xml, &edited, &fields)` gives the
//! XML to define. Each field's builder touches only its own elements and attributes (see
//! [`Field`]); unknown elements, attributes, comments and formatting stay untouched, so a
//! domain written by virt-manager or virt-install round-trips.

use std::fmt;

use gettextrs::gettext;
use roxmltree::Node;

use super::splice::{OverlappingEdits, Splicer};
use crate::backend::domain::fields::{changed_fields, Field};
use crate::backend::domain::model::{child, DomainModel, ModelError};

mod boot;
mod general;
mod validate;
mod vnc;

#[cfg(test)]
mod tests;

/// Why edits cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The original XML does not read as a domain.
    Model(ModelError),
    /// The edited value is not acceptable: a sentence for the user, next to the field.
    Invalid { field: Field, message: String },
    /// The XML holds something this editor does not change safely (edit it as XML).
    Unsupported { field: Field, reason: String },
    /// Two builders touched the same bytes: a bug.
    Overlap,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Model(error) => error.fmt(f),
            Self::Invalid { message, .. } => f.write_str(message),
            Self::Unsupported { reason, .. } => f.write_str(reason),
            Self::Overlap => f.write_str(&gettext(
                "Hangar could not combine these changes. Apply them one at a time.",
            )),
        }
    }
}

impl std::error::Error for EditError {}

impl From<ModelError> for EditError {
    fn from(error: ModelError) -> Self {
        Self::Model(error)
    }
}

impl From<OverlappingEdits> for EditError {
    fn from(_: OverlappingEdits) -> Self {
        Self::Overlap
    }
}

/// Writes every field where `edited` differs from the model of `original_xml`.
pub fn write_changes(original_xml: &str, edited: &DomainModel) -> Result<String, EditError> {
    let original = DomainModel::from_xml(original_xml)?;
    apply_edits(original_xml, edited, &changed_fields(&original, edited))
}

/// Writes `fields` of `edited` into `original_xml`, leaving everything else as it is.
pub fn apply_edits(
    original_xml: &str,
    edited: &DomainModel,
    fields: &[Field],
) -> Result<String, EditError> {
    let document = roxmltree::Document::parse(original_xml)
        .map_err(|error| ModelError::Syntax(error.to_string()))?;
    let root = document.root_element();
    if !root.has_tag_name("domain") {
        return Err(ModelError::NotADomain(root.tag_name().name().to_owned()).into());
    }
    for field in fields {
        validate::check(*field, edited)?;
    }
    let mut splicer = Splicer::new(original_xml);
    let has = |field: Field| fields.contains(&field);
    if has(Field::Title) {
        general::write_title(&mut splicer, root, &edited.title);
    }
    if has(Field::Description) {
        general::write_description(&mut splicer, root, &edited.description);
    }
    if has(Field::MaxMemory) || has(Field::Memory) {
        general::write_memory(
            &mut splicer,
            root,
            edited,
            has(Field::MaxMemory),
            has(Field::Memory),
        );
    }
    if has(Field::Vcpus) || has(Field::MaxVcpus) {
        general::write_vcpus(&mut splicer, root, edited)?;
    }
    if has(Field::CpuMode) || has(Field::Topology) {
        general::write_cpu(
            &mut splicer,
            root,
            edited,
            has(Field::CpuMode),
            has(Field::Topology),
        );
    }
    if has(Field::SharedMemory) {
        general::write_shared_memory(&mut splicer, root, edited.shared_memory);
    }
    boot::write(&mut splicer, root, edited, fields)?;
    vnc::write(&mut splicer, root, edited, fields)?;
    let written = splicer.finish()?;
    // A builder must never produce XML that does not parse: check before anyone defines it.
    roxmltree::Document::parse(&written).map_err(|_| EditError::Overlap)?;
    Ok(written)
}

/// Inserts `markup` after the last present element of `anchors` (children of `parent`), or
/// as `parent`'s first child position when none is there.
pub(super) fn insert_after_last_of(
    splicer: &mut Splicer,
    parent: Node,
    anchors: &[&str],
    markup: &str,
) {
    let anchor = parent
        .children()
        .rev()
        .find(|node| node.is_element() && anchors.contains(&node.tag_name().name()));
    match anchor {
        Some(anchor) => splicer.insert_after(anchor, markup),
        None => match parent.children().find(Node::is_element) {
            Some(first) => splicer.insert_before(first, markup),
            None => splicer.append_child(parent, markup),
        },
    }
}

/// Sets `element`'s text when there is some, removes it when empty, or adds it after the
/// last of `anchors` when missing.
pub(super) fn set_optional_text(
    splicer: &mut Splicer,
    parent: Node,
    name: &str,
    text: &str,
    anchors: &[&str],
) {
    match (child(parent, name), text.is_empty()) {
        (Some(element), true) => splicer.remove_element(element),
        (Some(element), false) => splicer.set_text(element, text),
        (None, true) => {}
        (None, false) => {
            let markup = format!("<{name}>{}</{name}>", super::splice::escape(text));
            insert_after_last_of(splicer, parent, anchors, &markup);
        }
    }
}

/// Children to add to `parent`, all at once: a self-closing parent can be opened only once.
pub(super) fn append_children(splicer: &mut Splicer, parent: Node, children: &[String]) {
    if children.is_empty() {
        return;
    }
    let indent = splicer.child_indent_of(parent);
    splicer.append_child(parent, &children.join(&format!("\n{indent}")));
}
