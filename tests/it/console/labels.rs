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
                    if w == 200 {
                        let item = t.lines().find(|l| l.contains("deploy-prod")).unwrap_or("");
                        assert!(item.contains("team=infra ticket=OPS-137"), "{t}");
                        let mark = t.lines().find(|l| l.contains(" docs ")).unwrap_or("");
                        assert!(mark.contains("ticket=OPS-136"), "{t}");
                    }
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
