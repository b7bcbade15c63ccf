//! Issue 58 point 9, whole screens at 80×24 and 120×40 reviewed by eye: a missed
//! deadline stands out in the run's header on every screen (the run's own and how
//! many of its steps', neither hiding the other), a step's detail says its deadline
//! and where it stands, and on a run no engine drives a deadline whose time the wall
//! clock passed says so (reported on resume), never `(in 4.0s)` from the stopped clock.
use super::render::{act, draw, text, typed, ui};
use baton::console::{Action, UiState};
use baton::console::{Theme, fixtures};
use baton::model::{RunState, RunView, Timestamp, liveness};

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
        ("deadline_run_and_steps_missed", || {
            let mut v = fixtures::deadline_missed();
            // `package`'s and `sbom`'s fell too, while they ran: neither is hidden.
            if let Some(d) = v.deadlines.get_mut(1) {
                d.due = d.due.map(|t| Timestamp(t.0 - 660_000));
                d.missed = d.due;
            }
            let mut sbom = v.deadlines[1].clone();
            sbom.step = Some("sbom".into());
            v.deadlines.push(sbom);
            let u = focused(&v, "package");
            (v, u)
        }),
        ("deadline_passed_no_engine", || {
            let (mut v, u) = interrupted();
            // `package`'s fell at 15:13:20, after its engine was gone too.
            if let Some(d) = v.deadlines.get_mut(1) {
                d.at = Some("15:13:20".into());
                d.due = Some(Timestamp(v.now.0 - 20_000));
            }
            (v, u)
        }),
    ]
}

/// `deadline_missed()` whose engine was killed 4m00s in (at 15:10:40), before the
/// run's `within` (5m) fell at 15:11:40: nobody reported it. The view's wall clock is
/// 15:13:40; `package`'s deadline (15:21) is still ahead.
fn interrupted() -> (RunView, UiState) {
    let mut v = fixtures::deadline_missed();
    v.state = RunState::Interrupted;
    if let Some(d) = v.deadlines.first_mut() {
        d.missed = None;
    }
    let gone = Timestamp(v.now.0 - 180_000);
    liveness::stop_clocks(&mut v, gone);
    let u = focused(&v, "package");
    (v, u)
}

#[test]
fn a_deadline_ahead_of_a_run_no_engine_drives_counts_on_the_wall_clock() {
    let theme = Theme::load("default").unwrap();
    let (v, mut u) = interrupted();
    let t = text(&draw(&v, &mut u, &theme, 80, 24));
    // 7m20s from the wall clock (15:13:40), not 10m20s from where the engine stopped.
    assert!(t.contains("due 15:21:00 (in 7m20s)"), "{t}");
    assert!(t.contains("due 15:11:40 passed"), "{t}");
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
                ("deadline_run_and_steps_missed", 80) => {
                    assert!(header.contains(" run + 2 steps late "), "{t}");
                }
                ("deadline_run_and_steps_missed", _) => {
                    assert!(header.contains(" deadline missed · 2 steps late "), "{t}");
                }
                ("deadline_passed_no_engine", 80) => {
                    assert!(header.contains("due 15:11:40 passed"), "{t}");
                    assert!(!t.contains("(in "), "the wall clock passed it: {t}");
                }
                ("deadline_passed_no_engine", _) => {
                    assert!(
                        header.contains("deadline 15:11:40 passed: reported on resume"),
                        "{t}"
                    );
                    // The pane beside the graph wraps it.
                    assert!(t.contains("· due 15:13:20 │"), "{t}");
                    assert!(t.contains("passed while no engine ran:"), "{t}");
                }
                _ => {
                    assert!(header.contains(" 1 step deadline missed "), "{t}");
                    assert!(t.contains("deadline at 15:10 (UTC) · MISSED"), "{t}");
                }
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}
