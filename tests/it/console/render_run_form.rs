//! Snapshots of the run form (issue 58 point 6) and the Runs tab's diff of two runs
//! (point 8), drawn with the render module's scenarios: the session's answers (the
//! workflow's params, two runs' differences) as `fixtures` gives them.
use super::render::{Setup, act, typed, ui};
use baton::console::{Action, Tab, fixtures};
use baton::model::Refusal;

/// The form of release.toml, as the session answers `n` on its schedule.
fn form_read() -> Action {
    Action::RunFormRead {
        file: "/srv/baton/workflows/release.toml".into(),
        result: Ok(fixtures::run_form()),
    }
}

pub(super) fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        // A version against its pattern, said under the field as typed; the secret
        // token typed shows as dots.
        ("run_form", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[form_read()]);
            typed(&v, &mut u, "v1.4");
            act(&v, &mut u, &[Action::Down, Action::Down, Action::Down]);
            typed(&v, &mut u, "hunter2");
            (v, u)
        }),
        // A file that does not load: its error held on screen, no form.
        ("run_form_not_loading", || {
            let v = fixtures::release();
            let mut u = ui();
            let answer = Action::RunFormRead {
                file: "deploy.toml".into(),
                result: Err(Refusal::CannotApply {
                    why: "deploy.toml:7:1: error: unknown field `stpe`\n  = hint: did you mean `step`?".into(),
                }),
            };
            act(&v, &mut u, &[answer]);
            (v, u)
        }),
        // `D` on the failed release run: marked (◆), the hint says what D does next.
        ("runs_diff_marked", || {
            let v = fixtures::release();
            let mut u = ui();
            act(
                &v,
                &mut u,
                &[
                    Action::GoTab(Tab::Runs),
                    Action::Down,
                    Action::Down,
                    Action::Diff,
                    Action::Up,
                ],
            );
            (v, u)
        }),
        // …and `D` on the running one: what changed, workflow text then params.
        ("runs_diff", || {
            let v = fixtures::release();
            let mut u = ui();
            let d = fixtures::runs_diff();
            let answer = Action::Diffed {
                a: d.a.clone(),
                b: d.b.clone(),
                result: Ok(d),
            };
            act(&v, &mut u, &[Action::GoTab(Tab::Runs), answer]);
            (v, u)
        }),
    ]
}
