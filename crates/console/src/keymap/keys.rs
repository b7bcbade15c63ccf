//! Keys: how the config writes them (`ctrl-c`, `pgdn`), how the footer and the help show
//! them (`Ctrl-c`, `PgDn`), and whether a terminal's key event is one of them. Every
//! named key is one variant of [`Named`], its spellings derived from its attributes.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use strum::{EnumMessage, IntoEnumIterator};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// A character key with no modifier (`k('y')`).
pub(super) const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

/// A character key with Ctrl (`ctrl('d')`).
pub(super) const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

/// Any other key with no modifier.
pub(super) const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

pub(super) const ALT_ENTER: Key = Key {
    code: KeyCode::Enter,
    mods: KeyModifiers::ALT,
};

impl Key {
    pub(super) fn matches(self, ev: &KeyEvent) -> bool {
        // Shift is part of the character for Char keys ('R') and of BackTab.
        let mods = match ev.code {
            KeyCode::Char(_) | KeyCode::BackTab => ev.modifiers - KeyModifiers::SHIFT,
            _ => ev.modifiers,
        };
        self.code == ev.code && self.mods == mods
    }
}

/// The keys with a name: the config's spelling (`to_string`, case-insensitive), the
/// other spellings it accepts (`serialize`), and the label on screen (`message`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumMessage,
    strum::EnumIter,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
enum Named {
    #[strum(to_string = "enter", serialize = "return", message = "Enter")]
    Enter,
    #[strum(to_string = "esc", serialize = "escape", message = "Esc")]
    Esc,
    #[strum(message = "Tab")]
    Tab,
    #[strum(to_string = "shift-tab", serialize = "backtab", message = "S-Tab")]
    BackTab,
    #[strum(message = "Space")]
    Space,
    #[strum(message = "↑")]
    Up,
    #[strum(message = "↓")]
    Down,
    #[strum(message = "←")]
    Left,
    #[strum(message = "→")]
    Right,
    #[strum(to_string = "pgup", serialize = "pageup", message = "PgUp")]
    PageUp,
    #[strum(to_string = "pgdn", serialize = "pagedown", message = "PgDn")]
    PageDown,
    #[strum(message = "Home")]
    Home,
    #[strum(message = "End")]
    End,
    #[strum(message = "Backspace")]
    Backspace,
    #[strum(to_string = "delete", serialize = "del", message = "Delete")]
    Delete,
    #[strum(to_string = "insert", serialize = "ins", message = "Insert")]
    Insert,
}

impl Named {
    fn code(self) -> KeyCode {
        match self {
            Named::Enter => KeyCode::Enter,
            Named::Esc => KeyCode::Esc,
            Named::Tab => KeyCode::Tab,
            Named::BackTab => KeyCode::BackTab,
            Named::Space => KeyCode::Char(' '),
            Named::Up => KeyCode::Up,
            Named::Down => KeyCode::Down,
            Named::Left => KeyCode::Left,
            Named::Right => KeyCode::Right,
            Named::PageUp => KeyCode::PageUp,
            Named::PageDown => KeyCode::PageDown,
            Named::Home => KeyCode::Home,
            Named::End => KeyCode::End,
            Named::Backspace => KeyCode::Backspace,
            Named::Delete => KeyCode::Delete,
            Named::Insert => KeyCode::Insert,
        }
    }

    fn of(code: KeyCode) -> Option<Named> {
        Named::iter().find(|n| n.code() == code)
    }
}

/// A key the config names that is none (the config's reader says what would be right).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a key")]
pub(crate) struct NotAKey(pub String);

/// A key as the config writes it: `y`, `R`, `ctrl-c`, `alt-enter`, `shift-tab`, `f5`,
/// `pgdn`, `space`.
pub(crate) fn parse_key(spec: &str) -> Result<Key, NotAKey> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = spec;
    loop {
        let l = rest.to_ascii_lowercase();
        let (m, n) = if l.starts_with("ctrl-") {
            (KeyModifiers::CONTROL, 5)
        } else if l.starts_with("alt-") {
            (KeyModifiers::ALT, 4)
        } else if l.starts_with("shift-") && l != "shift-tab" {
            (KeyModifiers::SHIFT, 6)
        } else {
            break;
        };
        mods |= m;
        rest = &rest[n..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() && c != ' ' => {
            if mods.contains(KeyModifiers::SHIFT) {
                mods -= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_ascii_uppercase())
            } else {
                KeyCode::Char(c)
            }
        }
        _ => match rest.parse::<Named>() {
            Ok(named) => named.code(),
            Err(_) => match function_key(rest) {
                Some(n) => KeyCode::F(n),
                None => return Err(NotAKey(spec.to_string())),
            },
        },
    };
    Ok(Key { code, mods })
}

/// `f1`…`f12`.
fn function_key(s: &str) -> Option<u8> {
    let n: u8 = s.strip_prefix(['f', 'F'])?.parse().ok()?;
    (1..=12).contains(&n).then_some(n)
}

/// A key as the config would write it (`ctrl-c`, `R`, `pgdn`).
pub(crate) fn key_spec(k: Key) -> String {
    let base = match (Named::of(k.code), k.code) {
        (Some(named), _) => <&str>::from(named).to_string(),
        (None, KeyCode::Char(c)) => c.to_string(),
        (None, KeyCode::F(n)) => format!("f{n}"),
        (None, other) => format!("{other:?}").to_ascii_lowercase(),
    };
    with_mods(k.mods, "ctrl-", "alt-") + &base
}

/// A key as the footer and the help show it (`Ctrl-c`, `PgDn`, `↑`).
pub(crate) fn key_name(k: Key) -> String {
    let base = match (Named::of(k.code), k.code) {
        (Some(named), _) => named.get_message().unwrap_or_default().to_string(),
        (None, KeyCode::Char(c)) => c.to_string(),
        (None, other) => format!("{other:?}"),
    };
    with_mods(k.mods, "Ctrl-", "Alt-") + &base
}

fn with_mods(mods: KeyModifiers, ctrl: &str, alt: &str) -> String {
    let mut out = String::new();
    if mods.contains(KeyModifiers::CONTROL) {
        out.push_str(ctrl);
    }
    if mods.contains(KeyModifiers::ALT) {
        out.push_str(alt);
    }
    out
}

/// Every key of a binding spelled out (`↑ k`), for the help.
pub(crate) fn keys_text(keys: &[Key]) -> String {
    keys.iter()
        .map(|k| key_name(*k))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_key_reads_back_as_it_is_written_and_has_a_label() {
        for n in Named::iter() {
            let key = code(n.code());
            assert_eq!(parse_key(&key_spec(key)), Ok(key), "{n:?}");
            assert!(n.get_message().is_some(), "{n:?} has no label");
        }
        assert_eq!(parse_key("Return"), Ok(code(KeyCode::Enter)));
        assert_eq!(parse_key("PageDown"), Ok(code(KeyCode::PageDown)));
        assert_eq!(parse_key("f12"), Ok(code(KeyCode::F(12))));
        assert!(parse_key("f13").is_err() && parse_key("hyper-z").is_err());
        let ctrl_c = parse_key("ctrl-c").unwrap_or(k('x'));
        assert_eq!(
            (key_spec(ctrl_c), key_name(ctrl_c)),
            ("ctrl-c".into(), "Ctrl-c".into())
        );
        assert_eq!(parse_key("shift-r"), Ok(k('R')));
        assert_eq!(key_name(code(KeyCode::PageDown)), "PgDn");
        assert_eq!(key_name(code(KeyCode::Char(' '))), "Space");
    }
}
