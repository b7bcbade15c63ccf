//! The Timeline tab's bindings (issue 45 point 8): its description's keys
//! (`app::tabs`), which [`super::bindings::bindings`] gives after the main table's to
//! the keymap, the footer and the help alike.
use super::Context;
use super::bindings::Binding;
use super::keys::{code, k};
use crate::app::{Action, Tab};
use crossterm::event::KeyCode::{Down, End, Enter, Esc, Home, PageDown, PageUp, Up};

macro_rules! t {
    ([$($key:expr),+], $label:expr, $action:expr, $desc:expr, $hint:expr) => {
        Binding { context: Context::Tab(Tab::Timeline), keys: &[$($key),+], label: $label, action: $action, description: $desc, hint: $hint }
    };
}

pub(crate) static TIMELINE: &[Binding] = &[
    t!(
        [code(Up), k('k')],
        "↑↓/jk",
        Action::Up,
        "select the step above",
        true
    ),
    t!(
        [code(Down), k('j')],
        "↑↓/jk",
        Action::Down,
        "select the step below",
        false
    ),
    t!([code(PageUp)], "PgUp/PgDn", Action::PageUp, "page up", true),
    t!(
        [code(PageDown)],
        "PgUp/PgDn",
        Action::PageDown,
        "page down",
        false
    ),
    t!(
        [code(Home), k('g')],
        "g/G",
        Action::Top,
        "first step",
        false
    ),
    t!(
        [code(End), k('G')],
        "g/G",
        Action::Bottom,
        "last step",
        false
    ),
    t!(
        [code(Enter), k('l')],
        "l/Enter",
        Action::Log,
        "full-screen log of the step",
        true
    ),
    t!([k('/')], "/", Action::Filter, super::bindings::FILTER, true),
    t!(
        [code(Esc)],
        "Esc",
        Action::Back,
        super::bindings::FOLLOW,
        false
    ),
];
