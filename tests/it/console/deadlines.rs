//! Issue 58 point 9, whole screens at 80×24 and 120×40 reviewed by eye: a missed
//! deadline stands out in the run's header on every screen (the run's own, else how
//! many of its steps'), and a step's detail says its deadline and where it stands.
use super::render::{act, draw, text, typed, ui};
use baton::console::{Action, UiState};
use baton::console::{Theme, fixtures};
use baton::model::{RunView, Timestamp};

type Setup = fn() -> (RunView, UiState);

/// The DAG tab with `step` focused (through the `/` filter).
fn focused(v: &RunView, step: &str) -> UiState {
    let mut u = ui();
    act(v, &mut u, &[Action::Filter]);
    typed(v, &mut u, step);
    act(v, &mut u, &[Action::Confirm]);
    u
}

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("deadline_run_missed", || {
            let v = fixtures::deadline_missed();
            let u = focused(&v, "package");
            (v, u)
        }),
        ("deadline_step_missed", || {
            let mut v = fixtures::deadline_missed();
            v.deadlines.remove(0);
            // `package`'s `at` fell at 15:10, while it ran: reported then.
            if let Some(d) = v.deadlines.first_mut() {
                d.at = Some("15:10".into());
                d.due = d.due.map(|t| Timestamp(t.0 - 660_000));
                d.missed = d.due;
            }
            let u = focused(&v, "package");
            (v, u)
        }),
    ]
}

#[test]
fn a_missed_deadline_shows_in_the_header_and_the_steps_detail() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = text(&draw(&v, &mut u, &theme, w, h));
            let header: String = t.lines().take(1).collect();
            match (name, w) {
                ("deadline_run_missed", 80) => assert!(header.contains(" run late"), "{t}"),
                ("deadline_run_missed", _) => {
                    assert!(header.contains(" deadline missed "), "{t}");
                    assert!(t.contains("deadline at 15:21 (UTC) · due 15:21:00"), "{t}");
                }
                ("deadline_step_missed", 80) => assert!(header.contains(" 1 step late"), "{t}"),
                _ => {
                    assert!(header.contains(" 1 step deadline missed "), "{t}");
                    assert!(t.contains("deadline at 15:10 (UTC) · MISSED"), "{t}");
                }
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}
