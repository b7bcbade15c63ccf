//! The quit dialog names the runs this console drives as the session says them when it
//! is drawn: a run that ends while it is open leaves it, and once none is left it says so.
use super::*;
use crate::fixtures;
use std::sync::Arc;

#[test]
fn the_quit_dialog_names_the_runs_driven_when_it_is_drawn() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    let other = ui
        .runs
        .iter()
        .find(|r| r.id != v.run_id)
        .map(|r| r.id.clone())
        .unwrap_or_default();
    let short = |ui: &UiState, id: &str| short_id(id, &ui.run_ids).to_string();
    ui.set_driven(Arc::new(vec![v.run_id.clone(), other.clone()]));
    update(&mut ui, &v, Action::Quit);
    let s = super::run_form_qa_tests::screen(&mut ui, &v, 100, 30);
    let (mine, theirs) = (short(&ui, &v.run_id), short(&ui, &other));
    assert!(s.contains("Quit while this console drives"), "{s}");
    let dialog: String = s.lines().filter(|l| l.contains('│')).collect();
    assert!(
        dialog.contains(&mine) && dialog.contains(&theirs),
        "both runs:\n{s}"
    );
    // The run on screen ends: the same dialog, drawn again, names the other only.
    ui.set_driven(Arc::new(vec![other.clone()]));
    let s = super::run_form_qa_tests::screen(&mut ui, &v, 100, 30);
    let dialog: String = s.lines().filter(|l| l.contains('│')).collect();
    assert!(
        dialog.contains(&theirs) && !dialog.contains(&mine),
        "the run that ended left it:\n{s}"
    );
    ui.set_driven(Arc::new(Vec::new()));
    let s = super::run_form_qa_tests::screen(&mut ui, &v, 100, 30);
    assert!(s.contains("drives no run any more"), "{s}");
}
