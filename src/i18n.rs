//! Translation set-up, and a small helper for strings with named placeholders.

use gettextrs::{bind_textdomain_codeset, bindtextdomain, setlocale, textdomain, LocaleCategory};

use crate::config;

/// Binds the app's text domain; without it every string shows in English, which is fine.
pub fn init() {
    // SAFETY: runs first thing in main, before any other thread exists.
    unsafe {
        setlocale(LocaleCategory::LcAll, "");
    }
    let _ = bindtextdomain(config::GETTEXT_PACKAGE, config::locale_dir());
    let _ = bind_textdomain_codeset(config::GETTEXT_PACKAGE, "UTF-8");
    let _ = textdomain(config::GETTEXT_PACKAGE);
}

/// Translates `msgid` and fills `{name}` placeholders, so translators can move them.
pub fn gettext_f(msgid: &str, args: &[(&str, &str)]) -> String {
    let mut text = gettextrs::gettext(msgid);
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}
