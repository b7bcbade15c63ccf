use super::*;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn every_binding_is_in_the_help_and_every_key_resolves_to_it() {
    let map = Keymap::defaults();
    let help = map.help_sections(|_, _| true);
    for b in bindings() {
        let section = help.iter().find(|(t, _)| *t == b.context.title()).unwrap();
        assert!(
            section.1.iter().any(|(_, d, _)| *d == b.description),
            "{} missing from help",
            b.description
        );
        for k in b.keys {
            let ev = KeyEvent::new(k.code, k.mods);
            let got = map.action_for(b.context, &ev);
            // The first binding of a key in a context wins; it must be this one or
            // an earlier one with the same action.
            let first = bindings()
                .find(|x| x.context == b.context && x.keys.contains(k))
                .unwrap();
            assert_eq!(
                got,
                Some(first.action.clone()),
                "{:?} in {:?}",
                k,
                b.context
            );
        }
    }
}

#[test]
fn no_key_is_bound_twice_in_one_context() {
    for a in bindings() {
        for b in bindings() {
            if std::ptr::eq(a, b) || a.context != b.context {
                continue;
            }
            for k in a.keys {
                assert!(!b.keys.contains(k), "{k:?} twice in {:?}", a.context);
            }
        }
    }
}

#[test]
fn footer_hints_come_from_the_table() {
    let map = Keymap::defaults();
    let h = map.hints(Context::Tab(Tab::Approvals), |_, _| true);
    assert!(h.iter().any(|(l, _)| *l == "a"));
    assert!(h.iter().any(|(l, _)| *l == "q"), "globals follow");
    let d = map.hints(Context::GateDialog, |_, _| true);
    assert!(d.iter().any(|(l, _)| *l == "Alt-Enter"));
    assert!(!d.iter().any(|(l, _)| *l == "q"), "no globals in a modal");
    for (label, _) in h {
        assert!(bindings().any(|b| b.label == label));
    }
    let none = map.hints(Context::Tab(Tab::Approvals), |_, a| *a != Action::Approve);
    assert!(
        !none.iter().any(|(l, _)| *l == "a"),
        "not offered, not shown"
    );
}

#[test]
fn text_contexts_pass_other_keys_through_and_modals_block_globals() {
    let map = Keymap::defaults();
    let ev = key(KeyCode::Char('q'));
    assert_eq!(
        map.action_for(Context::GateDialog, &ev),
        Some(Action::Key(ev))
    );
    assert_eq!(
        map.action_for(Context::Tab(Tab::Dag), &ev),
        Some(Action::Quit)
    );
    assert_eq!(
        map.action_for(Context::Confirm, &key(KeyCode::Char('1'))),
        None
    );
    let alt = KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT);
    assert_eq!(
        map.action_for(Context::GateDialog, &alt),
        Some(Action::NewLine)
    );
    let shift_r = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
    assert_eq!(
        map.action_for(Context::Tab(Tab::Runs), &shift_r),
        Some(Action::Resume)
    );
    let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(
        map.action_for(Context::Tab(Tab::Audit), &backtab),
        Some(Action::PrevTab)
    );
}

/// The footer offers only what a key does here: with `h`/`l` moving across the graph's
/// layers (`[keys]`, health moved to `i`: a global key is not taken silently), the
/// graph's footer no longer says `h health`; every view says `i health`.
#[test]
fn a_global_key_a_view_takes_for_itself_is_not_offered_there() {
    let keys = |specs: &[&str]| specs.iter().map(|s| parse_key(s).unwrap()).collect();
    let map = Keymap::with_overrides(&[
        ("left".into(), keys(&["left", "H", "h"])),
        ("right".into(), keys(&["right", "L", "l"])),
        ("log".into(), keys(&["o"])),
        ("health".into(), keys(&["i"])),
    ])
    .unwrap();
    let says = |ctx| {
        map.hints(ctx, |_, _| true)
            .iter()
            .map(|(l, d)| format!("{l} {d}"))
            .collect::<Vec<_>>()
    };
    assert!(
        !says(Context::Tab(Tab::Dag))
            .iter()
            .any(|h| h.starts_with("h ")),
        "{:?}",
        says(Context::Tab(Tab::Dag))
    );
    assert!(
        says(Context::Tab(Tab::Errors))
            .iter()
            .any(|h| h.starts_with("i ")),
        "{:?}",
        says(Context::Tab(Tab::Errors))
    );
    // With the defaults, `h` is health on the graph too.
    let defaults = Keymap::defaults();
    assert!(
        defaults
            .hints(Context::Tab(Tab::Dag), |_, _| true)
            .iter()
            .any(|(l, _)| *l == "h")
    );
}
