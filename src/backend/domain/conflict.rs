//! Before writing, the page re-reads the domain: someone else (virsh, virt-manager, another
//! Hangar) may have changed it since the page opened. Hangar never overwrites that silently.

use super::fields::{changed_fields, Field};
use super::model::{DomainModel, ModelError};

/// What changed from outside while the page was open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutsideChanges {
    /// The XML differs at all (also in parts the page does not show).
    pub xml_changed: bool,
    /// Fields the page shows whose values changed from outside.
    pub changed_fields: Vec<Field>,
    /// Of those, the ones the user edited too: writing would lose one of the two changes.
    pub conflicts: Vec<Field>,
}

impl OutsideChanges {
    /// Nothing the user edited was touched from outside: the edits can be written onto the
    /// re-read XML, keeping the outside change.
    pub fn can_apply(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// Compares the XML the page opened with (`opened_xml`) to the XML re-read just before
/// writing (`current_xml`), for the fields the user changed in `edited`.
pub fn check(
    opened_xml: &str,
    edited: &DomainModel,
    current_xml: &str,
) -> Result<OutsideChanges, ModelError> {
    if opened_xml == current_xml {
        return Ok(OutsideChanges::default());
    }
    let opened = DomainModel::from_xml(opened_xml)?;
    let current = DomainModel::from_xml(current_xml)?;
    let edited_fields = changed_fields(&opened, edited);
    let outside = changed_fields(&opened, &current);
    let conflicts = outside
        .iter()
        .copied()
        .filter(|field| edited_fields.contains(field) && !field.same_in(edited, &current))
        .collect();
    Ok(OutsideChanges {
        xml_changed: true,
        changed_fields: outside,
        conflicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENED: &str = "<domain type='kvm'><name>a</name>\
        <memory unit='KiB'>2097152</memory><currentMemory unit='KiB'>2097152</currentMemory>\
        <vcpu>2</vcpu></domain>";

    fn edited(change: impl FnOnce(&mut DomainModel)) -> DomainModel {
        let mut model = DomainModel::from_xml(OPENED).expect("model");
        change(&mut model);
        model
    }

    #[test]
    fn unchanged_xml_is_no_conflict() {
        let model = edited(|m| m.title = "new".into());
        let result = check(OPENED, &model, OPENED).expect("check");
        assert_eq!(result, OutsideChanges::default());
        assert!(result.can_apply());
    }

    #[test]
    fn the_same_field_changed_outside_is_a_conflict() {
        let model = edited(|m| m.max_memory_kib = 4 * 1024 * 1024);
        let current = OPENED.replace("<memory unit='KiB'>2097152", "<memory unit='KiB'>3145728");
        let result = check(OPENED, &model, &current).expect("check");
        assert_eq!(result.conflicts, [Field::MaxMemory]);
        assert!(!result.can_apply());
    }

    #[test]
    fn other_fields_changed_outside_are_reported_but_not_conflicts() {
        let model = edited(|m| m.title = "web".into());
        let current = OPENED.replace("<vcpu>2</vcpu>", "<vcpu>4</vcpu>");
        let result = check(OPENED, &model, &current).expect("check");
        assert!(result.xml_changed);
        assert_eq!(result.changed_fields, [Field::Vcpus, Field::MaxVcpus]);
        assert!(result.can_apply());
    }

    #[test]
    fn both_sides_making_the_same_change_is_no_conflict() {
        let model = edited(|m| m.max_vcpus = 4);
        let current = OPENED.replace("<vcpu>2</vcpu>", "<vcpu current='2'>4</vcpu>");
        let result = check(OPENED, &model, &current).expect("check");
        assert!(result.can_apply(), "{result:?}");
    }

    #[test]
    fn unreadable_xml_is_an_error() {
        let model = edited(|_| {});
        assert!(check(OPENED, &model, "<domain").is_err());
    }
}
