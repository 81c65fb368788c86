//! The identifiers osinfo-db gives for an install medium's ISO image, and matching them
//! against an image's own the way libosinfo does: every identifier the medium gives must match.

use regex::RegexBuilder;
use roxmltree::Node;

use super::iso::IsoIdentity;

/// One `<media><iso>` of osinfo-db. Each identifier is a GLib (PCRE) regular expression,
/// unanchored unless it says so and case-sensitive; `None` is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaIds {
    pub volume_id: Option<String>,
    pub system_id: Option<String>,
    pub publisher_id: Option<String>,
    pub application_id: Option<String>,
    /// Bytes; the image's volume must be exactly this big.
    pub volume_size: Option<u64>,
}

/// How specific a matching medium is: the length of its volume-id pattern, then of its other
/// patterns. Compared in that order, a longer volume pattern wins as it did when only labels
/// were matched, and among equal ones the medium that checks more wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    volume_pattern: usize,
    other_patterns: usize,
}

impl MediaIds {
    /// The `<iso>` of a `<media>`; `None` when it gives no identifier (libosinfo skips those).
    pub fn parse(iso: Node) -> Option<Self> {
        let text = |name: &str| {
            iso.children()
                .find(|node| node.has_tag_name(name))
                .and_then(|node| node.text())
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let ids = Self {
            volume_id: text("volume-id"),
            system_id: text("system-id"),
            publisher_id: text("publisher-id"),
            application_id: text("application-id"),
            volume_size: text("volume-size")
                .and_then(|size| size.parse::<u64>().ok())
                .filter(|size| *size > 0),
        };
        (ids != Self::default()).then_some(ids)
    }

    /// Whether `iso` is this medium: every identifier given matches (an identifier the image
    /// leaves empty matches no pattern), and the volume size is the same when one is given.
    pub fn matches(&self, iso: &IsoIdentity) -> Option<Specificity> {
        if self.volume_size.is_some_and(|size| size != iso.volume_size) {
            return None;
        }
        let pairs = [
            (&self.volume_id, &iso.volume_id),
            (&self.system_id, &iso.system_id),
            (&self.publisher_id, &iso.publisher_id),
            (&self.application_id, &iso.application_id),
        ];
        let all_match = pairs.iter().all(|(pattern, value)| {
            pattern
                .as_deref()
                .map_or(true, |pattern| pattern_matches(pattern, value))
        });
        let length = |pattern: &Option<String>| pattern.as_deref().map_or(0, str::len);
        all_match.then(|| Specificity {
            volume_pattern: length(&self.volume_id),
            other_patterns: pairs[1..].iter().map(|(pattern, _)| length(pattern)).sum(),
        })
    }
}

/// The few patterns that use features the `regex` crate lacks (look-ahead) never match.
fn pattern_matches(pattern: &str, value: &str) -> bool {
    !value.is_empty()
        && RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .is_ok_and(|regex| regex.is_match(value))
}
