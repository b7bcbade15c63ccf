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
                by_viewer: false,
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

/// Issue 57 point 2: child runs on the desk, in the header and in a step's detail.
pub(super) fn child_run_scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        // Issue 57 point 2: a child run's gate on the desk, marked `↳`, its detail
        // naming the parent run and step.
        ("waiting_child", || {
            let v = fixtures::release();
            let mut u = ui();
            let mut items = fixtures::waiting();
            items[0].workflow = "deploy".into();
            items[0].parent = Some(baton::model::view::ParentLink {
                run: "01JXR2A7PQ4M6N8R0T2V4X6Z8B".into(),
                step: "ship".into(),
                attempt: 1,
            });
            u.waiting = Arc::new(items);
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting)]);
            (v, u)
        }),
        // A child run's header names its parent; a child-run step's detail its child.
        ("child_run_links", || {
            let mut v = fixtures::release();
            v.parent = Some(baton::model::view::ParentLink {
                run: "01JXQZ0M3D5E7F9G1H2J3K4L5M".into(),
                step: "release".into(),
                attempt: 2,
            });
            if let Some(s) = v.steps.iter_mut().find(|s| s.id == "deploy-staging") {
                s.action = "workflow deploy.toml".into();
                s.child_run = Some("01JXQY8A1B2C3D4E5F6G7H8J9K".into());
            }
            let mut u = ui();
            act(&v, &mut u, &[Action::Filter]);
            typed(&v, &mut u, "deploy-staging");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
    ]
}

/// A child run's header names its parent run and step, where it fits (issue 57 point 2).
#[test]
fn a_child_runs_header_names_its_parent() {
    use baton::console::Theme;
    let theme = Theme::monochrome();
    let mut v = fixtures::release();
    v.parent = Some(baton::model::view::ParentLink {
        run: "01JXQZ0M3D5E7F9G1H2J3K4L5M".into(),
        step: "release".into(),
        attempt: 2,
    });
    let mut u = ui();
    let t = super::screen::text(&super::screen::draw(&v, &mut u, &theme, 120, 40));
    let header = t.lines().next().unwrap_or_default();
    assert!(header.contains("child of 01JXQZ0M/release"), "{header}");
}
