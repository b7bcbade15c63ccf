//! Snapshots at 80×24 and 200×60 of the fork form (issue 76 point 7): `F` on a finished
//! run with params opens the core's plan with the params as fields, each from the run's
//! recorded value; a changed one says what it was; a secret is typed again, never drawn.
use super::render::{act, typed, ui};
use baton::console::{Action, Theme, UiState, fixtures};
use baton::model::RunView;

/// `F` on unit-tests of the finished release run, the session's answer with its
/// params, then `moves`.
fn fork_form(moves: &[Action], text: &str) -> (RunView, UiState) {
    let v = fixtures::finished_failed();
    let mut u = ui();
    u.follow = false;
    u.selected = v.step_index("unit-tests").unwrap();
    let answer = Action::ForkPlanned {
        run_id: v.run_id.clone(),
        step: "unit-tests".into(),
        result: Ok(Box::new(fixtures::fork_with_params(&v.run_id))),
    };
    act(&v, &mut u, &[Action::Fork, answer]);
    act(&v, &mut u, moves);
    typed(&v, &mut u, text);
    (v, u)
}

/// A view and the console's state over it, made when its snapshot is taken.
type Scenario = Box<dyn Fn() -> (RunView, UiState)>;

fn backspace() -> Action {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE))
}

#[test]
fn snapshots_of_the_fork_form_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    let scenarios: Vec<(&str, Scenario)> = vec![
        ("fork_form", Box::new(|| fork_form(&[], ""))),
        // version changed to one its pattern refuses: said under it as typed.
        (
            "fork_form_changed_wrong",
            Box::new(|| fork_form(&[backspace(), backspace()], "x")),
        ),
        // The secret typed again: drawn as dots.
        (
            "fork_form_secret_typed",
            Box::new(|| fork_form(&[Action::Up], "hunter2")),
        ),
    ];
    for (name, setup) in &scenarios {
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let (v, mut u) = setup();
            let t = super::render::snap(name, &v, &mut u, &theme, w, h);
            assert!(!t.contains("hunter2"), "{name}: the secret drawn\n{t}");
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}

/// What the form says, whatever the size: the run it forks (id, workflow, state), each
/// recorded value in its field, the secret said not carried.
#[test]
fn the_fork_form_names_the_run_and_holds_its_values() {
    let theme = Theme::load("default").unwrap();
    let (v, mut u) = fork_form(&[], "");
    let s = super::render::text(&super::render::draw(&v, &mut u, &theme, 200, 60));
    assert!(
        s.contains(&format!(
            "Fork run {} of release from unit-tests",
            &v.run_id[..8]
        )),
        "{s}"
    );
    assert!(s.contains("[1.4.2"), "{s}");
    assert!(s.contains("‹ staging ›"), "{s}");
    assert!(
        s.contains("not stored, so not carried: type it again"),
        "{s}"
    );
    assert!(
        s.contains("Runs again: unit-tests, package, deploy-staging"),
        "{s}"
    );
}
