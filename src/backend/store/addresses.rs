//! Passwords found in saved addresses: taken out when the file is loaded.

use super::{ConnectionStore, SavedConnection};
use crate::backend::uri;
use crate::i18n::gettext_f;

impl ConnectionStore {
    /// Takes passwords out of the saved addresses (written by hand, or by an old tool) and
    /// rewrites the file without them; one sentence per connection for the user.
    pub(super) fn remove_passwords(&self, connections: &mut [SavedConnection]) -> Vec<String> {
        let path = self.path.display().to_string();
        let mut notices: Vec<String> = connections
            .iter_mut()
            .filter_map(|saved| {
                saved.uri = uri::without_password(&saved.uri)?;
                Some(gettext_f(
                    "The saved address of “{name}” held a password; Hangar took it out of {path}. It asks for the password when it connects and can keep it in the keyring.",
                    &[("name", &saved.name), ("path", &path)],
                ))
            })
            .collect();
        if !notices.is_empty() {
            if let Err(error) = self.save(connections) {
                let still_there = gettext_f("The password is still in {path}.", &[("path", &path)]);
                notices.push(format!("{still_there} {}", error.user_message()));
            }
        }
        notices
    }
}
