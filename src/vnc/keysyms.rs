//! X keysyms, the only way keys travel over plain RFB: from GDK key values, from characters
//! ("Type clipboard text"), and the key combinations a desktop would otherwise catch.

use gettextrs::gettext;

pub const BACKSPACE: u32 = 0xff08;
pub const TAB: u32 = 0xff09;
pub const RETURN: u32 = 0xff0d;
pub const ESCAPE: u32 = 0xff1b;
pub const PRINT: u32 = 0xff61;
pub const DELETE: u32 = 0xffff;
pub const F1: u32 = 0xffbe;
pub const SHIFT_L: u32 = 0xffe1;
pub const CONTROL_L: u32 = 0xffe3;
pub const ALT_L: u32 = 0xffe9;
pub const ALT_R: u32 = 0xffea;
pub const SUPER_L: u32 = 0xffeb;

/// GDK's value for keys it could not name.
const GDK_VOID_SYMBOL: u32 = 0xff_ffff;
const ISO_LEFT_TAB: u32 = 0xfe20;
const META_L: u32 = 0xffe7;
const META_R: u32 = 0xffe8;
/// Keysyms for characters outside Latin-1 are this plus the code point.
const UNICODE_KEYSYM_BASE: u32 = 0x0100_0000;

/// The keysym to send for a GDK key value; `None` for keys GDK could not name.
///
/// GDK key values are X keysyms (both come from xkbcommon or X11), so most pass through.
/// The exceptions are ones that QEMU's keysym-to-scancode tables do not know.
pub fn keysym_from_keyval(keyval: u32) -> Option<u32> {
    match keyval {
        0 | GDK_VOID_SYMBOL => None,
        // Shift+Tab: Shift is already held, the key is Tab.
        ISO_LEFT_TAB => Some(TAB),
        // Shift+Alt gives Meta on many layouts; the key pressed was Alt.
        META_L => Some(ALT_L),
        META_R => Some(ALT_R),
        // Latin-1 characters have their own keysyms, which every server understands.
        unicode if unicode > UNICODE_KEYSYM_BASE && unicode - UNICODE_KEYSYM_BASE < 0x100 => {
            Some(unicode - UNICODE_KEYSYM_BASE)
        }
        other => Some(other),
    }
}

/// The keysym that types `character`; `None` for control characters with no key.
pub fn keysym_from_char(character: char) -> Option<u32> {
    let code = u32::from(character);
    match character {
        '\n' | '\r' => Some(RETURN),
        '\t' => Some(TAB),
        '\u{8}' => Some(BACKSPACE),
        '\u{1b}' => Some(ESCAPE),
        _ if character.is_control() => None,
        // Printable Latin-1 keysyms are the code point itself.
        _ if code < 0x100 => Some(code),
        _ => Some(UNICODE_KEYSYM_BASE + code),
    }
}

/// Whether a US keyboard needs Shift for `character`. QEMU turns keysyms into scancodes
/// without adding Shift itself (it even lower-cases A-Z), so typing "A" must hold Shift;
/// X servers find the right key either way.
pub fn needs_shift(character: char) -> bool {
    character.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(character)
}

/// One key press or release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyStroke {
    pub keysym: u32,
    pub down: bool,
}

impl KeyStroke {
    pub fn press(keysym: u32) -> Self {
        Self { keysym, down: true }
    }

    pub fn release(keysym: u32) -> Self {
        Self {
            keysym,
            down: false,
        }
    }
}

/// The presses and releases that type `text`; characters without a key are skipped.
pub fn strokes_for_text(text: &str) -> Vec<KeyStroke> {
    let mut strokes = Vec::with_capacity(text.len() * 2);
    for character in text.chars() {
        let Some(keysym) = keysym_from_char(character) else {
            continue;
        };
        let keysyms: &[u32] = if needs_shift(character) {
            &[SHIFT_L, keysym]
        } else {
            &[keysym]
        };
        strokes.extend(strokes_for_chord(keysyms));
    }
    strokes
}

/// Presses `keysyms` in order, then releases them in reverse, like a person would.
pub fn strokes_for_chord(keysyms: &[u32]) -> Vec<KeyStroke> {
    let presses = keysyms.iter().copied().map(KeyStroke::press);
    let releases = keysyms.iter().rev().copied().map(KeyStroke::release);
    presses.chain(releases).collect()
}

/// Key combinations the local desktop would catch before the guest sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCombo {
    CtrlAltDelete,
    CtrlAltBackspace,
    /// Ctrl+Alt+F1 … F12 (virtual terminals); the number is 1 to 12.
    CtrlAltF(u8),
    PrintScreen,
}

impl KeyCombo {
    /// Every combination, in menu order.
    pub fn all() -> Vec<KeyCombo> {
        let mut combos = vec![KeyCombo::CtrlAltDelete, KeyCombo::CtrlAltBackspace];
        combos.extend((1..=12).map(KeyCombo::CtrlAltF));
        combos.push(KeyCombo::PrintScreen);
        combos
    }

    /// The keys held together, in pressing order.
    pub fn keysyms(self) -> Vec<u32> {
        match self {
            KeyCombo::CtrlAltDelete => vec![CONTROL_L, ALT_L, DELETE],
            KeyCombo::CtrlAltBackspace => vec![CONTROL_L, ALT_L, BACKSPACE],
            KeyCombo::CtrlAltF(number) => {
                let number = u32::from(number.clamp(1, 12));
                vec![CONTROL_L, ALT_L, F1 + number - 1]
            }
            KeyCombo::PrintScreen => vec![PRINT],
        }
    }

    pub fn strokes(self) -> Vec<KeyStroke> {
        strokes_for_chord(&self.keysyms())
    }

    /// A name for menus.
    pub fn label(self) -> String {
        match self {
            KeyCombo::CtrlAltDelete => gettext("Ctrl+Alt+Delete"),
            KeyCombo::CtrlAltBackspace => gettext("Ctrl+Alt+Backspace"),
            KeyCombo::CtrlAltF(number) => {
                crate::i18n::gettext_f("Ctrl+Alt+F{number}", &[("number", &number.to_string())])
            }
            KeyCombo::PrintScreen => gettext("Print Screen"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdk_keyvals_pass_through_except_the_special_ones() {
        assert_eq!(keysym_from_keyval(0x61), Some(0x61)); // a
        assert_eq!(keysym_from_keyval(0xff0d), Some(RETURN));
        assert_eq!(keysym_from_keyval(0xffe3), Some(CONTROL_L));
        assert_eq!(keysym_from_keyval(0xfe20), Some(TAB));
        assert_eq!(keysym_from_keyval(0xffe7), Some(ALT_L));
        assert_eq!(keysym_from_keyval(0x0100_00e9), Some(0xe9)); // é
        assert_eq!(keysym_from_keyval(0x0100_20ac), Some(0x0100_20ac)); // €
        assert_eq!(keysym_from_keyval(0xff_ffff), None);
        assert_eq!(keysym_from_keyval(0), None);
    }

    #[test]
    fn characters_become_keysyms() {
        assert_eq!(keysym_from_char('h'), Some(0x68));
        assert_eq!(keysym_from_char('A'), Some(0x41));
        assert_eq!(keysym_from_char('é'), Some(0xe9));
        assert_eq!(keysym_from_char('€'), Some(0x0100_20ac));
        assert_eq!(keysym_from_char('\n'), Some(RETURN));
        assert_eq!(keysym_from_char('\t'), Some(TAB));
        assert_eq!(keysym_from_char('\u{7}'), None);
    }

    #[test]
    fn typing_holds_shift_where_a_us_keyboard_needs_it() {
        let strokes = strokes_for_text("hI!\u{7}");
        let expected = vec![
            KeyStroke::press(0x68),
            KeyStroke::release(0x68),
            KeyStroke::press(SHIFT_L),
            KeyStroke::press(0x49),
            KeyStroke::release(0x49),
            KeyStroke::release(SHIFT_L),
            KeyStroke::press(SHIFT_L),
            KeyStroke::press(0x21),
            KeyStroke::release(0x21),
            KeyStroke::release(SHIFT_L),
        ];
        assert_eq!(strokes, expected);
    }

    #[test]
    fn combos_press_in_order_and_release_in_reverse() {
        let strokes = KeyCombo::CtrlAltDelete.strokes();
        assert_eq!(
            strokes,
            vec![
                KeyStroke::press(CONTROL_L),
                KeyStroke::press(ALT_L),
                KeyStroke::press(DELETE),
                KeyStroke::release(DELETE),
                KeyStroke::release(ALT_L),
                KeyStroke::release(CONTROL_L),
            ]
        );
        assert_eq!(KeyCombo::CtrlAltF(1).keysyms()[2], 0xffbe);
        assert_eq!(KeyCombo::CtrlAltF(12).keysyms()[2], 0xffc9);
        assert_eq!(KeyCombo::PrintScreen.keysyms(), vec![PRINT]);
        assert_eq!(KeyCombo::all().len(), 15);
        assert_eq!(KeyCombo::CtrlAltF(7).label(), "Ctrl+Alt+F7");
    }
}
