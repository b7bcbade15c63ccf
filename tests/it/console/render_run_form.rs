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

/// The form and the diff at any size, from a cell to a wide screen: never a panic, and
/// the form's hints and the diff's position line stay on a screen that fits a console.
#[test]
fn the_form_and_the_diff_draw_at_any_size() {
    let theme = baton::console::Theme::load("default")
        .unwrap_or_else(|_| baton::console::Theme::monochrome());
    for (name, setup) in scenarios() {
        for (w, h) in [(1u16, 1u16), (20, 5), (60, 15), (80, 24), (300, 100)] {
            let (v, mut u) = setup();
            let b = super::render::draw(&v, &mut u, &theme, w, h);
            assert_eq!((b.area.width, b.area.height), (w, h), "{name} at {w}×{h}");
            let t = super::render::text(&b);
            if (w, h) == (60, 15) && name == "run_form" {
                assert!(t.contains("Enter start"), "{name} at {w}×{h}:\n{t}");
            }
            if (w, h) == (60, 15) && name == "runs_diff" {
                assert!(t.contains("lines 1–"), "{name} at {w}×{h}:\n{t}");
            }
        }
    }
}
