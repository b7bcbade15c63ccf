//! Issue 45 point 6, snapshots at 80×24 and 120×40 reviewed by eye: clocks stop with
//! the engine (the Runs tab's `took` of an interrupted run), the running step says its
//! timeout and when it fires, a failed run never reads `failed 0%`, a rejected run reads
//! rejected in the Runs tab and its strip, and the Audit tab never cuts an action's
//! name.
use super::render::{act, draw, text, typed, ui};
use baton::console::{Action, Tab, UiState};
use baton::console::{Theme, fixtures};
use baton::model::view::AuditView;
use baton::model::{AuditAction, RunState, RunView, StepState};

type Setup = fn() -> (RunView, UiState);

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("runs_interrupted_took_stops", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Runs)]);
            (v, u)
        }),
        ("dag_detail_running_timeout", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "package");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("header_failed_by_rejection", || {
            let mut v = fixtures::finished_failed();
            // Failed by a rejection: no judged step failed.
            v.health.failed_share = Some(0.0);
            for s in &mut v.steps {
                if s.state == StepState::Failed {
                    s.state = StepState::Succeeded;
                }
            }
            if let Some(s) = v.steps.iter_mut().find(|s| s.id == "deploy-prod") {
                s.state = StepState::Rejected;
            }
            v.state = RunState::Failed;
            (v, ui())
        }),
        // Issue 76 point 2: a run whose gate was rejected reads rejected in the Runs
        // tab's row and its workflow's strip (`⊘`), not failed.
        ("runs_rejected", || {
            let v = fixtures::release();
            let mut u = ui();
            let mut runs = fixtures::runs();
            runs[2].rejected = true;
            u.set_runs(std::sync::Arc::new(
                runs.into_iter().map(std::sync::Arc::new).collect(),
            ));
            act(&v, &mut u, &[Action::GoTab(Tab::Runs)]);
            (v, u)
        }),
        // Issue 76 point 2: an ask's dialog is worded as an ask's: `x` says the asker
        // hears no (its step goes on), and an answered ask is no longer open as an ask.
        ("ask_reject_dialog", || {
            let v = fixtures::release();
            let mut u = ui();
            u.waiting = std::sync::Arc::new(asks());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting), Action::Reject]);
            (v, u)
        }),
        ("ask_answered_dialog", || {
            let v = fixtures::release();
            let mut u = ui();
            u.waiting = std::sync::Arc::new(asks());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting), Action::Approve]);
            // Answered elsewhere meanwhile: the inbox no longer lists it.
            u.waiting = std::sync::Arc::new(Vec::new());
            (v, u)
        }),
        ("audit_saga", || {
            let mut v = fixtures::release();
            let last = v.audit[v.audit.len() - 1].clone();
            for (action, step) in [
                (AuditAction::CompensationStarted, "deploy-staging"),
                (AuditAction::CompensationFinished, "deploy-staging"),
            ] {
                v.audit.push(AuditView {
                    at: last.at,
                    actor: "engine".into(),
                    action,
                    step: Some(step.into()),
                    reason: None,
                    details: "./deploy.sh rollback staging".into(),
                });
            }
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Audit)]);
            (v, u)
        }),
    ]
}

#[test]
fn clocks_and_words_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let (v, mut u) = setup();
            let t = text(&draw(&v, &mut u, &theme, w, h));
            match name {
                "runs_interrupted_took_stops" => {
                    let row = t
                        .lines()
                        .find(|l| l.contains("nightly-etl") && l.contains("interrupted"))
                        .unwrap_or("");
                    assert!(row.contains("48.0s"), "{row}");
                }
                "dag_detail_running_timeout" => assert!(t.contains("10m00s · fires at"), "{t}"),
                "header_failed_by_rejection" => {
                    assert!(!t.contains("failed 0%") && !t.contains("fail 0%"), "{t}")
                }
                "audit_saga" => assert!(t.contains("compensation_started "), "{t}"),
                "ask_reject_dialog" => {
                    assert!(t.contains("the asker hears no"), "{t}");
                    assert!(!t.contains("will not run") && !t.contains("gate"), "{t}");
                    assert!(t.contains("ask-01JXR9AS"), "{t}");
                }
                "ask_answered_dialog" => {
                    assert!(t.contains("this ask is no longer open"), "{t}");
                    assert!(!t.contains("gate is no longer open"), "{t}");
                }
                "runs_rejected" => {
                    let row = t.lines().find(|l| l.contains("01JXQY8A")).unwrap_or("");
                    assert!(row.contains("⊘ rejected") && !row.contains("failed"), "{t}");
                    let strip = t
                        .lines()
                        .find(|l| {
                            l.trim_start_matches(['│', ' ']).starts_with("release")
                                && !l.contains("01J")
                        })
                        .unwrap_or("");
                    assert!(strip.contains('⊘') && !strip.contains('✘'), "{t}");
                }
                _ => {}
            }
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// What waits on `carol`, the first item a store ask (`baton ask`, no run) of hers to
/// answer.
fn asks() -> Vec<baton::model::inbox::Waiting> {
    let mut items = fixtures::waiting();
    let id = format!("{}01JXR9ASKASKASKASKASKASK", baton::model::ask::ID_PREFIX);
    let w = &mut items[0];
    w.kind = baton::model::inbox::WaitKind::Ask;
    w.run_id = id.clone();
    w.workflow = "ask by agent".into();
    w.ask = Some(id);
    w.commands.retain(|c| !c.starts_with("baton push-back"));
    items
}
