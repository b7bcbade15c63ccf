//! Issue 76 point 4, snapshots at 80×24 and 200×60 reviewed by eye: the note dialog
//! (`n`) naming the run or step it is on, the `✎` mark of a run with notes in the Runs
//! and Waiting tabs, and a run's notes under its Audit tab's decisions.
use super::render::{act, typed, ui};
use baton::console::{Action, Tab, Theme, UiState, fixtures};
use baton::model::note::NoteView;
use baton::model::{RunView, Timestamp};
use std::sync::Arc;

type Setup = fn() -> (RunView, UiState);

const RUNNING: &str = "01JXR3T5";
const FAILED: &str = "01JXQY8A";

/// The fixture's runs with notes on the running release (1) and the failed one (3).
fn noted(u: &mut UiState) {
    let mut runs = fixtures::runs();
    runs[0].notes = 1;
    runs[2].notes = 3;
    u.set_runs(Arc::new(runs.into_iter().map(Arc::new).collect()));
}

/// The release fixture with notes on the run and its `deploy-prod` step, one long and
/// one holding a terminal escape (shown without it).
fn with_notes() -> RunView {
    let mut v = fixtures::release();
    let at = |s: i64| Timestamp(v.started_at.map_or(0, |t| t.0) + s * 1000);
    v.notes = vec![
        NoteView {
            at: at(95),
            by: "carol".into(),
            step: None,
            text: "looked at: the DNS flake again, ticket OPS-42".into(),
        },
        NoteView {
            at: at(300),
            by: "dave".into(),
            step: Some("deploy-prod".into()),
            text: "waits on the change board\x1b[2J; the window opens at 14:00 and closes at 16:00, whoever approves it should say so in the channel first".into(),
        },
    ];
    v
}

fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("runs_noted", || {
            let v = fixtures::release();
            let mut u = ui();
            noted(&mut u);
            act(
                &v,
                &mut u,
                &[Action::GoTab(Tab::Runs), Action::Down, Action::Down],
            );
            (v, u)
        }),
        ("waiting_noted", || {
            let v = fixtures::release();
            let mut u = ui();
            noted(&mut u);
            u.waiting = Arc::new(fixtures::waiting());
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting)]);
            (v, u)
        }),
        ("note_dialog_run", || {
            let v = fixtures::release();
            let mut u = ui();
            act(
                &v,
                &mut u,
                &[Action::GoTab(Tab::Runs), Action::Down, Action::Down],
            );
            act(&v, &mut u, &[Action::Note]);
            typed(&v, &mut u, "looked at: the DNS flake again");
            (v, u)
        }),
        ("note_dialog_step_confirm", || {
            let v = fixtures::release();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Dag), Action::Note]);
            typed(&v, &mut u, "rolled back by hand at 14:02");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        ("audit_notes", || {
            let v = with_notes();
            let mut u = ui();
            act(&v, &mut u, &[Action::GoTab(Tab::Audit)]);
            (v, u)
        }),
    ]
}

#[test]
fn notes_are_written_named_marked_and_listed_at_two_sizes() {
    let theme = Theme::load("default").unwrap();
    for (name, setup) in scenarios() {
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let (v, mut u) = setup();
            let t = super::screen::snap(name, &v, &mut u, &theme, w, h);
            let row = |id: &str| t.lines().find(|l| l.contains(id)).unwrap_or("");
            let said = t.replace(['│', '\n'], " ");
            let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
            match name {
                "runs_noted" => {
                    assert!(row(RUNNING).contains("✎ release"), "{t}");
                    assert!(row(FAILED).contains("✎ release"), "{t}");
                    assert!(!row("01JXQX7Z").contains('✎'), "{t}");
                    assert!(said.contains("✎ 3 notes: the Audit tab lists them"), "{t}");
                }
                "waiting_noted" => {
                    let gate = t.lines().find(|l| l.contains("deploy-prod")).unwrap_or("");
                    assert!(gate.contains("✎ release"), "{t}");
                    assert!(said.contains("notes ✎ 1 note on the run"), "{t}");
                }
                "note_dialog_run" => {
                    assert!(
                        said.contains(&format!("Note on run {FAILED} (release)")),
                        "{t}"
                    );
                    assert!(said.contains("Recorded as carol (your OS account)."), "{t}");
                    assert!(said.contains("note looked at: the DNS flake again"), "{t}");
                }
                "note_dialog_step_confirm" => {
                    assert!(said.contains("Enter again to record it"), "{t}");
                    assert!(said.contains(&format!("of run {RUNNING} (release)")), "{t}");
                }
                "audit_notes" => {
                    assert!(t.contains("Notes · 2"), "{t}");
                    assert!(!t.contains('\x1b'), "{t:?}");
                    let step = row("waits on the change board");
                    assert!(step.contains("dave") && step.contains("deploy-prod"), "{t}");
                    assert!(row("DNS flake").contains("(run)"), "{t}");
                }
                _ => {}
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t);
        }
    }
}
