//! Issue 45 point 7 (and 6's last clock), snapshots at 80×24 and 120×40 reviewed by
//! eye: `/` on the Waiting, Approvals, Errors, Audit and Schedules tabs with the one
//! syntax, the help searched, and the Waiting tab's clock of a run no engine drives
//! standing still.
use super::render::{act, draw, text, typed, ui};
use baton::console::{Action, Tab, UiState};
use baton::console::{Theme, fixtures};
use baton::model::{RunView, Timestamp};
use std::sync::Arc;

type Setup = fn() -> (RunView, UiState);

fn on(tab: Tab, filter: &str) -> (RunView, UiState) {
    let v = fixtures::release_two_gates();
    let mut u = ui();
    u.waiting = Arc::new(fixtures::waiting());
    u.schedules = Arc::new(fixtures::schedules());
    act(&v, &mut u, &[Action::GoTab(tab), Action::Filter]);
    typed(&v, &mut u, filter);
    act(&v, &mut u, &[Action::Confirm]);
    (v, u)
}

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        // The interrupted run's budget: its wait stopped where its engine was last seen.
        ("waiting_filtered_no_engine", || {
            on(Tab::Waiting, "wf:nightly")
        }),
        ("approvals_filtered", || on(Tab::Approvals, "page")),
        ("errors_filtered", || on(Tab::Errors, "state:timeout")),
        ("audit_filtered", || on(Tab::Audit, "state:approval")),
        ("schedules_filtered", || on(Tab::Schedules, "state:paused")),
        ("schedules_filter_typing", || {
            let (v, mut u) = on(Tab::Schedules, "");
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "state:pa");
            (v, u)
        }),
        ("help_searched", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Help, Action::Filter]);
            typed(&v, &mut u, "filter");
            act(&v, &mut u, &[Action::Confirm, Action::Down]);
            (v, u)
        }),
    ]
}

#[test]
fn filtered_lists_and_the_searched_help_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = text(&draw(&v, &mut u, &theme, w, h));
            let matched = |n: usize| t.contains(&format!("({n} match)"));
            match name {
                "waiting_filtered_no_engine" => {
                    assert!(matched(1) && t.contains("no engine since"), "{t}")
                }
                "approvals_filtered" => assert!(matched(1) && !t.contains("⏸ deploy-prod"), "{t}"),
                "errors_filtered" | "audit_filtered" | "schedules_filtered" => {
                    assert!(t.contains("match)") && t.contains("/state:"), "{t}")
                }
                "schedules_filter_typing" => assert!(t.contains("/state:pa▏"), "{t}"),
                "help_searched" => {
                    assert!(t.contains("/filter (") && !t.contains("DAG tab"), "{t}");
                    assert!(t.contains("▸ Esc"), "the second line is selected:\n{t}");
                }
                _ => {}
            }
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// Issue 45 point 6: on a run no engine drives, the Waiting tab's wait is the same ten
/// minutes later (it stopped with the engine), while a driven run's goes on.
#[test]
fn the_waiting_clock_of_a_run_no_engine_drives_stands_still() {
    let theme = Theme::load("default").unwrap();
    let detail = |minutes: i64, filter: &str| {
        let (v, mut u) = on(Tab::Waiting, filter);
        u.now = Some(Timestamp(v.now.0 + minutes * 60_000));
        let t = text(&draw(&v, &mut u, &theme, 120, 40));
        t.lines()
            .find(|l| l.contains("│waiting"))
            .unwrap_or_default()
            .to_string()
    };
    let (now, later) = (detail(0, "wf:nightly"), detail(10, "wf:nightly"));
    assert!(
        now.contains("3.0s until") && now.contains("no engine since"),
        "{now}"
    );
    assert_eq!(now, later, "the wait of an undriven run does not grow");
    let (now, later) = (detail(0, "deploy"), detail(10, "deploy"));
    assert_ne!(now, later, "a driven run's wait goes on: {now}");
}
