//! Issue 58 point 1, snapshots at 80×24 and 120×40 (and ASCII at 80×24) reviewed by
//! eye: a frozen running step (`❄ frozen`), a step held before it started (`⏯ held`)
//! and a fork's reused steps (`⇐ reused`) each have their own look in the graph, the
//! list, the detail pane and the Timeline; a frozen step's clocks stop and its timeout
//! says what the engine keeps. Point 2: `P` asks for a reason and a confirm, saying
//! what the hold does to the step.
use super::render::{act, draw, draw_with, text, typed, ui};
use baton::console::{Action, Tab, UiState};
use baton::console::{Theme, fixtures};
use baton::model::RunView;

type Setup = fn() -> (RunView, UiState);

fn on_step(id: &str, list: bool) -> (RunView, UiState) {
    let v = fixtures::held_frozen_reused();
    let mut u = ui();
    if list {
        act(&v, &mut u, &[Action::ToggleGraph]);
    }
    act(&v, &mut u, &[Action::Filter]);
    typed(&v, &mut u, id);
    act(&v, &mut u, &[Action::Confirm]);
    (v, u)
}

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("looks_graph", || (fixtures::held_frozen_reused(), ui())),
        ("looks_list", || {
            let v = fixtures::held_frozen_reused();
            let mut u = ui();
            act(&v, &mut u, &[Action::ToggleGraph]);
            (v, u)
        }),
        ("looks_detail_frozen", || on_step("package", false)),
        ("looks_detail_thawed", || on_step("sbom", false)),
        ("looks_detail_reused", || on_step("build", false)),
        ("hold_dialog_confirming", || {
            let (mut v, mut u) = on_step("sbom", false);
            if let Some(s) = v.steps.iter_mut().find(|s| s.id == "sbom") {
                s.actions.hold = true;
            }
            act(&v, &mut u, &[Action::Hold]);
            typed(&v, &mut u, "HSM is down");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("looks_timeline", || {
            let v = fixtures::held_frozen_reused();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Timeline), Action::Top]);
            (v, u)
        }),
    ]
}

/// What each scenario must say, whatever the size.
fn check(name: &str, t: &str) {
    let has = |s: &str| assert!(t.contains(s), "{name}: `{s}` missing:\n{t}");
    match name {
        "looks_graph" => {
            has("❄ package");
            has("⇐ build");
        }
        "looks_list" => {
            has("❄ frozen");
            has("⇐ reused");
            has("⏯ held");
        }
        "looks_detail_frozen" => {
            has("❄ frozen");
            // Ran +3m11s to +4m10s, frozen since: the run clock stopped at 59s.
            has("ran 59.0s · frozen 2m50s");
            // Wrapped in the narrow pane beside the graph: said in two parts.
            has("stopped while frozen,");
            has("9m01s left");
            assert!(!t.contains("running for"), "{name}:\n{t}");
            assert_eq!(t.matches("alice: waiting on the HSM fix").count(), 1, "{t}");
        }
        "looks_detail_thawed" => {
            // Started +5m, 5m timeout, frozen 44 s: fires at +10m44s, not +10m.
            has("running for 1m16s");
            has("frozen 44.0s)");
            has("3m44s)");
        }
        "looks_detail_reused" => has("reused"),
        "looks_timeline" => has("❄ frozen"),
        "hold_dialog_confirming" => {
            has("Hold sbom");
            has("it is frozen");
            has("HSM is down");
            has("Enter again to record it");
        }
        _ => {}
    }
}

#[test]
fn held_frozen_and_reused_steps_look_apart() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = text(&draw(&v, &mut u, &theme, w, h));
            if w == 120 || name != "looks_list" {
                check(name, &t);
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// In ASCII the graph's looks stay apart: frozen `F`, reused `R`, held `|`, running `>`.
#[test]
fn held_frozen_and_reused_steps_look_apart_in_ascii() {
    let theme = Theme::load("default").unwrap();
    let caps = baton::console::Caps {
        ascii: true,
        ..Default::default()
    };
    let config = baton::console::ConsoleConfig::with_theme(theme).on(caps);
    let (v, mut u) = scenarios()[0].1();
    let t = text(&draw_with(&v, &mut u, &config, 80, 24));
    assert!(t.is_ascii(), "{t}");
    for look in ["F package", "R build", "| publish", "> sbom", "F frozen"] {
        assert!(t.contains(look), "{look}:\n{t}");
    }
    insta::assert_snapshot!("looks_graph_ascii_80x24", t);
}

/// Issue 58 point 4: at 120 columns the header keeps the whole budget (its label goes
/// before a figure does), and a run that ended shows no pace or time left.
#[test]
fn the_header_keeps_the_whole_budget_and_no_pace_once_the_run_ended() {
    use baton::model::RunState;
    use baton::model::burn::Burn;
    let theme = Theme::load("default").unwrap();
    let mut v = fixtures::release();
    if let Some(b) = v.budget.as_mut() {
        b.cost = Some((3.75, 25.0));
        b.calls = Some((1, 500));
        b.tokens = Some((18250, 500_000));
        b.burn = vec![Burn {
            dimension: "tokens".into(),
            per_minute: 600.0,
            left_ms: Some(40_000),
        }];
    }
    let mut u = ui();
    u.driven = std::sync::Arc::new(vec![v.run_id.clone()]);
    let header = |v: &RunView, u: &mut UiState| {
        let t = text(&draw(v, u, &theme, 120, 40));
        t.lines().next().unwrap_or_default().to_string()
    };
    let h = header(&v, &mut u);
    assert!(
        h.contains("$3.75/$25.00 · 1/500 calls · 18250/500000 tok"),
        "the whole budget: {h}"
    );
    assert!(!h.contains('…'), "{h}");
    v.state = RunState::Succeeded;
    v.finished_at = Some(v.now);
    let h = header(&v, &mut ui());
    assert!(h.contains("18250/500000 tok"), "{h}");
    assert!(
        !h.contains("tok/min") && !h.contains("left"),
        "no pace: {h}"
    );
}

/// Issue 58 point 4: on an interrupted run whose engine stopped as its gate opened, the
/// gate's opening is said as the record has it, not "opened 0ms ago" on the stopped
/// clock.
#[test]
fn an_interrupted_gate_says_when_it_opened_from_the_record() {
    use baton::model::RunState;
    let theme = Theme::load("default").unwrap();
    let mut v = fixtures::release();
    v.state = RunState::Interrupted;
    v.engine_gone_at = Some(v.gates[0].opened_at);
    let mut u = ui();
    act(&v, &mut u, &[Action::GoTab(Tab::Approvals)]);
    let t = text(&draw(&v, &mut u, &theme, 120, 40));
    assert!(!t.contains("opened 0ms ago"), "{t}");
    let opened = u.wall(v.gates[0].opened_at, v.now);
    assert!(
        t.contains(&format!("opened {opened}, no engine since {opened}")),
        "{t}"
    );
}
