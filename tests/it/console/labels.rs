//! Issue 76 point 3, snapshots at 80×24 and 200×60 reviewed by eye: the Runs and
//! Waiting tabs show what tells runs of one workflow apart (their labels, or else the
//! params that differ), `/` filters by a label (`KEY=VALUE` whole, or a bare word),
//! and a run's dialogs name it with its labels.
use super::render::{act, typed, ui};
use baton::console::{Action, Tab, UiState};
use baton::console::{Theme, fixtures};
use baton::model::RunView;
use std::sync::Arc;

type Setup = fn() -> (RunView, UiState);

const RUNNING: &str = "01JXR3T5";
const FAILED: &str = "01JXQY8A";

/// The fixture's runs: the running release labelled (`team=infra ticket=OPS-137`, and
/// its param `ticket`), the failed release with no label but another `ticket`.
fn labelled(u: &mut UiState) {
    let mut runs = fixtures::runs();
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    runs[0].labels = pairs(&[("team", "infra"), ("ticket", "OPS-137")]);
    runs[0].params = pairs(&[("ticket", "OPS-137"), ("env", "prod")]);
    runs[2].params = pairs(&[("ticket", "OPS-136"), ("env", "prod")]);
    u.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
}

/// Three runs of `release` for three tickets, each labelled `team=infra ticket=…`,
/// and the gate `deploy-prod` open on two of them (the third ran before them).
fn three_tickets(u: &mut UiState) {
    let mut runs = fixtures::runs();
    let first = runs[0].clone();
    for (k, ticket) in ["OPS-137", "OPS-138", "OPS-139"].into_iter().enumerate() {
        let mut r = first.clone();
        r.id = format!("01JXR{k}T5K9QZ8W2M4N6P7A1B3C");
        r.labels = [("team", "infra"), ("ticket", ticket)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        runs.push(r);
    }
    u.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
    let gate = fixtures::waiting()
        .into_iter()
        .find(|w| w.step == "deploy-prod")
        .unwrap();
    let gates = (1..=2).map(|k| {
        let mut g = gate.clone();
        g.run_id = format!("01JXR{k}T5K9QZ8W2M4N6P7A1B3C");
        for c in &mut g.commands {
            *c = c.replace(&gate.run_id, &g.run_id);
        }
        g
    });
    u.waiting = Arc::new(gates.collect());
}

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("runs_labelled", || {
            let v = fixtures::release();
            let mut u = ui();
            labelled(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Runs)]);
            (v, u)
        }),
        ("runs_label_filter", || {
            let v = fixtures::release();
            let mut u = ui();
            labelled(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Runs), Action::Filter]);
            typed(&v, &mut u, "ticket=ops-136");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("runs_cancel_names_labels", || {
            let v = fixtures::release();
            let mut u = ui();
            labelled(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Runs), Action::CancelRun]);
            (v, u)
        }),
        ("waiting_labelled", || {
            let v = fixtures::release();
            let mut u = ui();
            labelled(&mut u);
            u.waiting = Arc::new(fixtures::waiting());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting)]);
            (v, u)
        }),
        ("waiting_three_tickets", || {
            let v = fixtures::release();
            let mut u = ui();
            three_tickets(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting)]);
            (v, u)
        }),
        ("waiting_three_tickets_filter", || {
            let v = fixtures::release();
            let mut u = ui();
            three_tickets(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting), Action::Filter]);
            typed(&v, &mut u, "ticket=ops-139");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("waiting_label_filter", || {
            let v = fixtures::release();
            let mut u = ui();
            labelled(&mut u);
            u.waiting = Arc::new(fixtures::waiting());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting), Action::Filter]);
            typed(&v, &mut u, "infra");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
    ]
}

/// The rows of a tab's list (those naming a run id).
fn rows(t: &str) -> Vec<&str> {
    t.lines().filter(|l| l.contains("01JX")).collect()
}

#[test]
fn runs_and_waiting_tell_runs_apart_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let (v, mut u) = setup();
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            let row = |id: &str| rows(&t).into_iter().find(|l| l.contains(id)).unwrap_or("");
            match name {
                "runs_labelled" => {
                    assert!(t.contains("labels"), "{t}");
                    assert!(row(RUNNING).contains("team=infra"), "{t}");
                    // No label: the param that differs (not `env`, the same in both).
                    assert!(row(FAILED).contains("ticket=OPS-136"), "{t}");
                    assert!(!row(FAILED).contains("env=prod"), "{t}");
                    if w == 200 {
                        assert!(row(RUNNING).contains("team=infra ticket=OPS-137"), "{t}");
                        assert!(row(RUNNING).contains("running"), "{t}");
                    }
                }
                "runs_label_filter" => {
                    assert!(t.contains("(1 match)"), "{t}");
                    assert!(!row(FAILED).is_empty(), "{t}");
                    assert!(row(RUNNING).is_empty(), "OPS-137 is not OPS-136: {t}");
                }
                "runs_cancel_names_labels" => {
                    let said = t.replace(['│', '\n'], " ");
                    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
                    assert!(
                        said.contains(
                            "Cancel run 01JXR3T5 (release, team=infra ticket=OPS-137, running"
                        ),
                        "{t}"
                    );
                }
                "waiting_labelled" => {
                    // The detail names the selected item's run with its labels at any
                    // width; the list has a column where there is room.
                    assert!(t.contains("release · running · team=infra"), "{t}");
                    // The list's column at 80 columns too.
                    assert!(row(RUNNING).contains("team=infra"), "{t}");
                    assert!(row(FAILED).contains("ticket=OPS-136"), "{t}");
                    if w == 200 {
                        assert!(row(RUNNING).contains("team=infra ticket=OPS-137"), "{t}");
                    }
                }
                "waiting_three_tickets" => {
                    // At every width each gate's row names its own ticket: the label
                    // all three share comes last, so a cut cell keeps the ticket.
                    assert!(t.contains("labels"), "{t}");
                    assert!(row("01JXR1T5").contains("ticket=OPS-138"), "{t}");
                    assert!(row("01JXR2T5").contains("ticket=OPS-139"), "{t}");
                    assert!(row("01JXR1T5").contains("deploy-"), "{t}");
                    for r in rows(&t) {
                        assert!(r.chars().count() <= w as usize, "{t}");
                    }
                }
                "waiting_three_tickets_filter" => {
                    assert!(t.contains("(1 match)"), "{t}");
                    assert!(row("01JXR1T5").is_empty(), "{t}");
                    assert!(row("01JXR2T5").contains("ticket=OPS-139"), "{t}");
                }
                "waiting_label_filter" => {
                    assert!(t.contains("(1 match)"), "{t}");
                    assert!(
                        t.contains("deploy-prod") && !t.contains("nightly-etl"),
                        "{t}"
                    );
                }
                _ => {}
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}
