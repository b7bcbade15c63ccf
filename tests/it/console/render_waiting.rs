//! The console's snapshot scenarios of what waits across runs, the schedules, notices
//! and the budget dialog (registered in `render::scenarios`, snapshot under its names).
use super::render::{Setup, act, typed, ui};
use baton::console::{Action, Tab, fixtures};
use std::sync::Arc;

/// What waits across runs, the schedules, notices and the budget dialog.
pub(super) fn waiting_and_schedules_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        // Issue 28: what waits on the operator across runs, and its dialogs.
        ("waiting", || {
            let v = fixtures::release();
            let mut u = ui();
            u.waiting = Arc::new(fixtures::waiting());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting)]);
            (v, u)
        }),
        ("waiting_mark_dialog", || {
            let v = fixtures::release();
            let mut u = ui();
            u.waiting = Arc::new(fixtures::waiting());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting), Action::Down]);
            act(&v, &mut u, &[Action::Mark]);
            typed(&v, &mut u, "rolled back by hand");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        // Issue 27: what `baton serve` serves, a file that does not load, a decision.
        ("schedules", || {
            let v = fixtures::release();
            let mut u = ui();
            u.schedules = Arc::new(fixtures::schedules());
            act(&v, &mut u, &[Action::GoTab(Tab::Schedules)]);
            (v, u)
        }),
        ("schedules_load_error", || {
            let v = fixtures::release();
            let mut u = ui();
            u.schedules = Arc::new(fixtures::schedules());
            act(
                &v,
                &mut u,
                &[
                    Action::GoTab(Tab::Schedules),
                    Action::Down,
                    Action::Down,
                    Action::Down,
                ],
            );
            (v, u)
        }),
        ("schedule_pause_dialog", || {
            let v = fixtures::release();
            let mut u = ui();
            u.schedules = Arc::new(fixtures::schedules());
            act(&v, &mut u, &[Action::GoTab(Tab::Schedules), Action::Down]);
            act(&v, &mut u, &[Action::Pause]);
            typed(&v, &mut u, "freeze before the audit");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("refused_held", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::Bottom, Action::Approve]);
            (v, u)
        }),
        ("notices", || {
            let next = fixtures::release();
            let last = &next.audit[next.audit.len() - 1];
            let row = baton::session::News {
                id: 1,
                run_id: next.run_id.clone(),
                at: last.at,
                actor: "bob".into(),
                action: baton::model::AuditAction::Rejected,
                step: last.step.clone(),
                reason: Some("not on a Friday".into()),
                details: "{}".into(),
            };
            let mut u = ui();
            u.note_news(&[row]);
            act(&next, &mut u, &[Action::Notices]);
            (next, u)
        }),
        ("budget_dialog", || {
            let v = fixtures::budget_exhausted();
            let mut u = ui();
            act(
                &v,
                &mut u,
                &[Action::GoTab(Tab::Approvals), Action::Down, Action::Approve],
            );
            typed(&v, &mut u, "5");
            act(&v, &mut u, &[Action::Down]);
            typed(&v, &mut u, "200");
            act(&v, &mut u, &[Action::Down]);
            typed(&v, &mut u, "release day, approved by finance");
            (v, u)
        }),
    ]
}
