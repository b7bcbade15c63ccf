//! The console on terminals nobody here chose (issue 28 points 5 and 6): footers at
//! 80×24 and ASCII-only drawing.
use super::render::{act, draw, draw_with, scenarios, text, ui};
use baton::console::{Action, Tab};
use baton::console::{Theme, fixtures};

/// Issue 28 point 6: at 80×24 (and at the smallest size drawn) every tab keeps `? help`
/// and `q quit` in its footer, and every entry there is whole: its keys and words as the
/// keymap has them, never a word cut.
#[test]
fn every_tab_keeps_help_and_quit_in_a_footer_of_whole_entries() {
    let theme = Theme::monochrome();
    let config = baton::console::ConsoleConfig::with_theme(theme.clone());
    for (w, h) in [(80u16, 24u16), (60, 15)] {
        for &tab in Tab::ALL {
            for v in [fixtures::release(), fixtures::release_two_gates()] {
                let mut u = ui();
                act(&v, &mut u, &[Action::GoTab(tab)]);
                let b = draw(&v, &mut u, &theme, w, h);
                let t = text(&b);
                let footer = t.lines().last().unwrap_or_default();
                assert!(
                    footer.contains("? help") && footer.contains("q quit"),
                    "{tab:?} at {w}x{h}: {footer:?}\n{t}"
                );
                let offered = |c, a: &_| baton::console::offered(&u, &v, c, a);
                let hints = config.keys.hints(u.context(), offered);
                for entry in footer.trim().split("  ") {
                    let (keys, what) = entry.split_once(' ').unwrap_or((entry, ""));
                    assert!(
                        hints.iter().any(|(k, d)| *k == keys
                            && d.split(' ').next() == what.split(' ').next()
                            && d.starts_with(what)),
                        "{tab:?} at {w}x{h}: `{entry}` is not a whole hint of {hints:?}"
                    );
                }
            }
        }
    }
}

/// Issue 28 point 5: with ASCII only (a non-UTF-8 locale, `ascii = true`) every view and
/// dialog is drawn in ASCII, its columns where they were.
#[test]
fn ascii_only_draws_every_view_in_ascii() {
    let theme = Theme::load("default").unwrap();
    let caps = baton::console::Caps {
        ascii: true,
        ..Default::default()
    };
    let config = baton::console::ConsoleConfig::with_theme(theme.clone()).on(caps);
    for (name, setup) in scenarios() {
        let (v, mut u) = setup();
        let b = draw_with(&v, &mut u, &config, 80, 24);
        let t = text(&b);
        assert!(t.is_ascii(), "{name}:\n{t}");
        let (v, mut u) = setup();
        let unicode = text(&draw(&v, &mut u, &theme, 80, 24));
        // Same rows, and each as wide: one ASCII character for each drawn symbol.
        assert_eq!(t.lines().count(), unicode.lines().count(), "{name}");
    }
    let (v, mut u) = (fixtures::release(), ui());
    let t = text(&draw_with(&v, &mut u, &config, 80, 24));
    assert!(t.starts_with(" * release"), "{t}");
    assert!(t.contains("+----") && t.contains("^v/jk"), "{t}");
}
