//! Issue 45 point 8, the Timeline tab: snapshots at 80×24, 120×40 and in ASCII, reviewed
//! by eye, of the release run (a retried step, a timed-out attempt waiting for its
//! retry, an open gate, running steps), an interrupted run whose clocks stopped, and the
//! selection kept on its step.
use super::render::{act, draw, draw_with, text, typed, ui};
use baton::console::{Action, Tab, UiState};
use baton::console::{Theme, fixtures};
use baton::model::{RunState, RunView, Timestamp};

type Setup = fn() -> (RunView, UiState);

fn on_timeline(v: &RunView) -> UiState {
    let mut u = ui();
    act(v, &mut u, &[Action::GoTab(Tab::Timeline)]);
    u
}

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("timeline", || {
            let v = fixtures::release();
            let u = on_timeline(&v);
            (v, u)
        }),
        ("timeline_retried_selected", || {
            // unit-tests (failed once, retried) selected: its spans in words below.
            let v = fixtures::release();
            let mut u = on_timeline(&v);
            act(
                &v,
                &mut u,
                &[Action::Top, Action::Down, Action::Down, Action::Down],
            );
            (v, u)
        }),
        ("timeline_interrupted", || {
            // The engine gave its last sign of life at +6m40s: the axis and the
            // running bars end there, not at the clock (+7m, or any later).
            let mut v = fixtures::release();
            v.state = RunState::Interrupted;
            baton::model::liveness::stop_clocks(&mut v, Timestamp(fixtures::T0 + 400_000));
            let mut u = on_timeline(&v);
            u.now = Some(Timestamp(fixtures::T0 + 3_600_000));
            (v, u)
        }),
        ("timeline_filtered_wall_clock", || {
            let v = fixtures::release();
            let mut u = on_timeline(&v);
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "deploy");
            act(&v, &mut u, &[Action::Confirm, Action::ToggleTime]);
            (v, u)
        }),
    ]
}

#[test]
fn the_timeline_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = text(&draw(&v, &mut u, &theme, w, h));
            assert!(t.contains("8 Time"), "the tab is on the tab line: {t}");
            assert!(
                t.contains("░ queued") && t.contains("▓ failed attempt"),
                "{t}"
            );
            match name {
                "timeline_retried_selected" => assert!(
                    t.contains("unit-tests  queued 1.0s · #1 57.0s ✘ · backoff 15.0s"),
                    "{t}"
                ),
                "timeline_interrupted" => assert!(t.contains("6m40s"), "{t}"),
                "timeline_filtered_wall_clock" => {
                    assert!(t.contains("15:06:40") && !t.contains("unit-tests"), "{t}")
                }
                _ => {}
            }
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// ASCII only: every cell kind keeps its own character (queued `-`, gate `=`, ran `#`,
/// failed `x`, backoff `.`, a running attempt's head `>`), so the chart reads without
/// colour or Unicode.
#[test]
fn the_timeline_in_ascii() {
    let theme = Theme::load("default").unwrap();
    let caps = baton::console::Caps {
        ascii: true,
        ..Default::default()
    };
    let config = baton::console::ConsoleConfig::with_theme(theme).on(caps);
    let v = fixtures::release();
    let mut u = on_timeline(&v);
    act(
        &v,
        &mut u,
        &[Action::Top, Action::Down, Action::Down, Action::Down],
    );
    let t = text(&draw_with(&v, &mut u, &config, 80, 24));
    assert!(t.is_ascii(), "{t}");
    for legend in ["- queued", "= gate", "x failed attempt", ". retry backoff"] {
        assert!(t.contains(legend), "{legend}: {t}");
    }
    let t = super::render::snap_with("timeline_ascii", &v, &mut u, &config, 80, 24);
    assert!(t.is_ascii(), "{t}");
    insta::assert_snapshot!("timeline_ascii_80x24", t);
}
