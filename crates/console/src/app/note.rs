//! `n` (issue 76 point 4): a note on the highlighted run (Runs, Waiting) or step (DAG),
//! on record under the OS account as `baton note` records it (the service calls the
//! same `session::note::add`). The dialog names what the note is on; the text is typed
//! as a reason is, then Enter twice.
use super::actions::{Action, Request};
use super::dialogs::Dialog;
use super::runs::short_id;
use super::state::UiState;
use super::update::{ReasonStep, reason_step, toast};
use baton_model::{Refusal, RunSummary, RunView};

/// A note being written: on what, the text typed, then Enter twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteDialog {
    /// The run the note is on (its whole id).
    pub run_id: String,
    /// The step it is on; `None` the run.
    pub step: Option<String>,
    /// What it is on, for the title: `step deploy of run 01JXR3T5 (release)`.
    pub target: String,
    pub text: String,
    /// Enter was pressed once: the next Enter records it.
    pub confirming: bool,
    pub error: Option<String>,
}

impl NoteDialog {
    fn new(run_id: &str, step: Option<&str>, target: String) -> NoteDialog {
        NoteDialog {
            run_id: run_id.to_string(),
            step: step.map(str::to_string),
            target,
            text: String::new(),
            confirming: false,
            error: None,
        }
    }
}

/// `run 01JXR3T5 (release)`, with the labels that tell it apart from other runs of
/// its workflow, else the params (secrets are never in a summary's params).
pub(super) fn run_named(ui: &UiState, run_id: &str, workflow: &str) -> String {
    let mut named = format!("run {} ({workflow})", short_id(run_id, &ui.run_ids));
    let row: Option<&RunSummary> = ui.runs.iter().find(|r| r.id == run_id).map(|r| &**r);
    let apart = row.map(|r| match r.labels.is_empty() {
        false => &r.labels,
        true => &r.params,
    });
    if let Some(kv) = apart.filter(|kv| !kv.is_empty()) {
        let said: Vec<String> = kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
        named.push_str(&format!(
            " · {}",
            baton_model::sanitize::one_line(&said.join(" "))
        ));
    }
    named
}

/// `n` on the Runs tab: a note on the highlighted run.
pub(super) fn on_run(ui: &mut UiState, r: Option<&RunSummary>) -> Vec<Request> {
    match r {
        Some(r) => {
            let target = run_named(ui, &r.id, &r.workflow);
            open(ui, NoteDialog::new(&r.id, None, target))
        }
        None => nothing(ui),
    }
}

/// `n` on the Waiting tab: a note on the selected item's run (an ask of no run has
/// none to note).
pub(super) fn on_waiting(ui: &mut UiState, w: &baton_model::inbox::Waiting) -> Vec<Request> {
    if w.ask.as_ref() == Some(&w.run_id) {
        toast(
            ui,
            format!("✘ {} is an ask of no run: there is no run to note", w.step),
            false,
        );
        return Vec::new();
    }
    let target = run_named(ui, &w.run_id, &w.workflow);
    open(ui, NoteDialog::new(&w.run_id, None, target))
}

/// `n` on the DAG tab: a note on the focused step of the run on screen.
pub(super) fn on_step(ui: &mut UiState, view: &RunView, i: usize) -> Vec<Request> {
    let Some(s) = view.steps.get(i).filter(|_| !view.run_id.is_empty()) else {
        return nothing(ui);
    };
    let target = format!(
        "step {} of {}",
        s.id,
        run_named(ui, &view.run_id, &view.workflow)
    );
    open(ui, NoteDialog::new(&view.run_id, Some(&s.id), target))
}

fn nothing(ui: &mut UiState) -> Vec<Request> {
    toast(ui, "✘ nothing selected: no run or step to note", false);
    Vec::new()
}

fn open(ui: &mut UiState, d: NoteDialog) -> Vec<Request> {
    ui.dialog = Some(Dialog::Note(Box::new(d)));
    Vec::new()
}

/// A key in the dialog: the text typed; Enter asks once more, then records it.
pub(super) fn note_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Note(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let required = "the note is empty: write what it should say, it goes on the audit chain";
    match reason_step(
        &mut d.text,
        &mut d.error,
        &mut d.confirming,
        action,
        required.to_string(),
    ) {
        ReasonStep::Stay => Vec::new(),
        ReasonStep::Close => {
            ui.dialog = None;
            Vec::new()
        }
        ReasonStep::Send => {
            let d = *d.clone();
            ui.dialog = None;
            ui.pending += 1;
            toast(ui, format!("… note on {}: sent", d.target), true);
            vec![Request::Note {
                run_id: d.run_id,
                step: d.step,
                text: d.text.trim().to_string(),
            }]
        }
    }
}

/// The service's answer: the note is on record (as whom), or why not.
pub(super) fn noted(
    ui: &mut UiState,
    run_id: &str,
    step: Option<&str>,
    result: Result<String, Refusal>,
) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    ui.log_answer(
        super::action_log::Kind::Note,
        Some(run_id),
        super::action_log::Answer::of(&result),
    );
    let on = match step {
        Some(s) => format!("step {s} of run {}", short_id(run_id, &ui.run_ids)),
        None => format!("run {}", short_id(run_id, &ui.run_ids)),
    };
    match result {
        Ok(by) => toast(ui, format!("✔ noted on {on} as {by}"), true),
        Err(e) => toast(ui, format!("✘ note on {on}: {e}"), false),
    }
    Vec::new()
}
